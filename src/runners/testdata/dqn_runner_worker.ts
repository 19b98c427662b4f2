/**
 * A runner worker of one's own serving a DQN config: a PPO trainer naming it is refused at
 * build (the env runner tests).
 *
 * @module
 */

import { serveEnvRunner } from "../serve.ts";
import { config } from "./dqn_runner.ts";

await serveEnvRunner(config);
