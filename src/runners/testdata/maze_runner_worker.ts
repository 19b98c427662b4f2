/**
 * A runner worker of one's own for the env runner tests (`envRunners({ runnerWorker })`): it
 * serves the maze runner module's config, imported statically, as a bundled browser worker does.
 *
 * @module
 */

import { serveEnvRunner } from "../serve.ts";
import { config } from "./maze_runner.ts";

await serveEnvRunner(config);
