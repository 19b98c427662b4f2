// The runner module of the Node env runners check (`node run.mjs runners ...`): each worker
// thread imports it and builds its env and policies from `config(runnerArgs)`, as the trainer
// does. A small hierarchical windy maze setup (8 envs per runner, 64 steps, 2 epochs).
import * as coop from "@coop/rl";
import { mazeConfig } from "./maze.mjs";

/** The config the trainer and its runners build from. */
export function config(args) {
  return mazeConfig(coop, args.seed)
    .envRunners({ numEnvs: 8, rolloutFragmentLength: 64 })
    .training({ hidden: [16], numEpochs: 2 });
}
