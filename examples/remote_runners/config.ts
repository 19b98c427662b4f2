/**
 * The runner config of the remote runners: `examples/hierarchical.ts`'s `exampleConfig` for
 * the hierarchical windy maze, its env built from a precompiled maze module when one is given
 * (workerd compiles no WebAssembly at run time). `worker.ts` serves it over HTTP; the `config`
 * export makes this file a runner module for Web Worker runners too (`runnerModule`), which is
 * how the tests compare remote with local runners.
 *
 * @module
 */

import { createHierarchicalWindyMaze, type HierarchyTimeline, type PPOConfig } from "@coop/rl";
import { exampleConfig } from "../hierarchical.ts";

/** What the trainer may pass as `runnerArgs`. */
export interface RemoteMazeArgs {
  /** The hierarchy's timeline (default alternating). */
  timeline?: HierarchyTimeline;
}

/**
 * The runner's config: the env creator and the mapping are what a runner takes from it;
 * `numEnvs`, the seeds, the training params and the backend are the trainer's.
 * @param args the trainer's `runnerArgs`
 * @param module the maze's compiled module (default: compiled from the inlined bytes)
 * @returns the config
 */
export function mazeRunnerConfig(args: unknown, module?: WebAssembly.Module): PPOConfig {
  const { timeline } = (args ?? {}) as RemoteMazeArgs;
  return exampleConfig({ flat: false, seed: 0, numEnvs: 64, backend: "wasm", timeline })
    .environment(({ numEnvs, seed }) =>
      createHierarchicalWindyMaze(numEnvs, {
        seed,
        timeline,
        ...(module === undefined ? {} : { module }),
      })
    );
}

/**
 * The runner module's export (Web Worker runners).
 * @param args the trainer's `runnerArgs`
 * @returns the config
 */
export function config(args: unknown): PPOConfig {
  return mazeRunnerConfig(args);
}
