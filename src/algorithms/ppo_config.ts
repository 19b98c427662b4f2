/**
 * {@linkcode PPOConfig}: the fluent PPO configuration (RLlib's `PPOConfig`).
 *
 * @module
 */

import { AlgorithmConfig } from "../train/config.ts";
import { PPO, type PPOHyperparams } from "./ppo.ts";

/**
 * Fluent PPO configuration: {@linkcode AlgorithmConfig} with PPO's hyperparameters
 * (`PPOHyperparams`) in `.training()`, starting from `PPO_TRAINING_DEFAULTS`.
 *
 * @example Hierarchical windy maze, as in RLlib's example
 * ```ts
 * import { PPOConfig } from "./ppo_config.ts";
 * import { createHierarchicalWindyMaze } from "../envs/hierarchical_windy_maze.ts";
 * const algo = await new PPOConfig()
 *   .environment(({ numEnvs, seed }) => createHierarchicalWindyMaze(numEnvs, { seed }))
 *   .envRunners({ numEnvs: 8, rolloutFragmentLength: 32 })
 *   .training({ entropyCoeff: 0.01 })
 *   .multiAgent({
 *     policies: {
 *       high_level_policy: { config: { gamma: 0.9 } },
 *       low_level_policy: { config: { gamma: 0.0 } },
 *     },
 *     policyMappingFn: (id) => id.startsWith("low_level_") ? "low_level_policy" : "high_level_policy",
 *   })
 *   .build();
 * const result = await algo.train();
 * if (result.timesteps_total !== 256) throw new Error("one fragment of 8 envs x 32 steps");
 * algo.dispose();
 * ```
 */
export class PPOConfig extends AlgorithmConfig<PPOHyperparams> {
  /** A PPO config with the trainer's PPO defaults. */
  constructor() {
    super(PPO);
  }
}
