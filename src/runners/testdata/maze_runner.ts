/**
 * A runner module for the env runner tests: the hierarchical windy maze with the example's
 * two policies, or with faults on request (`args.fault`): `"action"` maps the low level to a
 * scripted policy that returns an action outside its space, `"env"` makes the env's `step()`
 * throw after a few calls, `"module"` throws while the module's config is made.
 *
 * @module
 */

import { PPOConfig } from "../../algorithms/ppo_config.ts";
import { createHierarchicalWindyMaze } from "../../envs/hierarchical_windy_maze.ts";
import type { BatchedEnv } from "../../env/batched.ts";

/** What the tests pass as `runnerArgs`. */
export interface MazeRunnerArgs {
  /** The fault to inject, if any. */
  fault?: "action" | "env" | "module";
  /** Callbacks that write each episode's length into `customMetrics.len`. */
  lengthMetric?: boolean;
}

/**
 * The config the runners build from (the trainer builds from the same function).
 * @param args faults
 * @returns the config
 */
export function config(args: MazeRunnerArgs = {}): PPOConfig {
  if (args.fault === "module") throw new Error("config exploded on purpose");
  return new PPOConfig()
    .environment(({ numEnvs, seed }) => {
      const env = createHierarchicalWindyMaze(numEnvs, { seed });
      return args.fault === "env" ? failingStep(env, 5) : env;
    })
    .envRunners({ numEnvs: 8, rolloutFragmentLength: 64 })
    .callbacks(
      args.lengthMetric === true
        ? { onEpisodeEnd: ({ episode }) => void (episode.customMetrics.len = episode.length) }
        : {},
    )
    .training({ entropyCoeff: 0.01 })
    .multiAgent({
      policies: {
        // The example's settings (examples/hierarchical.ts).
        high_level_policy: {
          config: { gamma: 0.9, numEpochs: 30, minibatchSize: 128, vfShareLayers: true },
        },
        low_level_policy: args.fault === "action"
          ? { policyClass: () => 99 }
          : { config: { gamma: 0.0, lr: 6e-3, numEpochs: 4, vfShareLayers: true } },
      },
      policyMappingFn: (agentId) =>
        agentId.startsWith("low_level_") ? "low_level_policy" : "high_level_policy",
    });
}

/** The env, whose `step()` throws after `n` calls. */
function failingStep(env: BatchedEnv, n: number): BatchedEnv {
  let calls = 0;
  const step = env.step.bind(env);
  env.step = () => {
    if (++calls > n) throw new Error(`env step ${calls} failed on purpose`);
    step();
  };
  return env;
}
