/**
 * A runner module for the env runner tests: the hierarchical windy maze with the example's
 * two policies, or with faults on request (`args.fault`): `"action"` maps the low level to a
 * scripted policy that returns an action outside its space, `"env"` makes the env's `step()`
 * throw after a few calls, `"module"` throws while the module's config is made; `"envOnce"`
 * and `"crashOnce"` fault only the env of runner 1's first generation (seed 0), at its 6th
 * `step()`: the one throws there, the other steps on but leaves an uncaught error in its worker.
 *
 * @module
 */

import { PPOConfig } from "../../algorithms/ppo_config.ts";
import { createHierarchicalWindyMaze } from "../../envs/hierarchical_windy_maze.ts";
import type { BatchedEnv } from "../../env/batched.ts";
import { runnerSeeds } from "../protocol.ts";

/** What the tests pass as `runnerArgs`. */
export interface MazeRunnerArgs {
  /** The fault to inject, if any. */
  fault?: "action" | "env" | "module" | "envOnce" | "crashOnce";
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
      if (args.fault === "env") return failingStep(env, 5);
      const once = seed === runnerSeeds(0, 1, 0).envSeed;
      if (args.fault === "envOnce" && once) return failingStep(env, 5);
      if (args.fault === "crashOnce" && once) return crashingStep(env, 6);
      return env;
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

/** The env, whose `n`-th `step()` leaves an error nothing catches (thrown from a timer). */
function crashingStep(env: BatchedEnv, n: number): BatchedEnv {
  let calls = 0;
  const step = env.step.bind(env);
  env.step = () => {
    if (++calls === n) {
      setTimeout(() => {
        throw new Error(`the worker crashed on purpose after env step ${n}`);
      }, 0);
    }
    step();
  };
  return env;
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
