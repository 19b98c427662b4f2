/**
 * {@linkcode DQNConfig}: the fluent DQN configuration (RLlib's `DQNConfig`).
 *
 * @module
 */

import { AlgorithmConfig } from "../train/config.ts";
import { DQN, type DQNHyperparams } from "./dqn.ts";

/**
 * Fluent DQN configuration: {@linkcode AlgorithmConfig} with DQN's hyperparameters
 * (`DQNHyperparams`) in `.training()`, starting from `DQN_TRAINING_DEFAULTS`. The env, the
 * env runners, the multi-agent part, evaluation and checkpoints are set as for every algorithm.
 *
 * @example Two policies, n-step double DQN with Polyak target updates
 * ```ts
 * import { DQNConfig } from "./dqn_config.ts";
 * const config = new DQNConfig()
 *   .training({ nStep: 3, tau: 0.01, targetUpdateFreq: 1, epsilonTimesteps: 5000 })
 *   .multiAgent({
 *     policies: ["p1", "p2"],
 *     policyMappingFn: (id) => id === "p1" ? "p1" : "p2",
 *   });
 * if (config.config.training.nStep !== 3) throw new Error("set");
 * ```
 *
 * @example Rainbow's parts: dueling, prioritized replay, C51, noisy nets (exploring alone)
 * ```ts
 * import { DQNConfig } from "./dqn_config.ts";
 * const config = new DQNConfig().training({
 *   nStep: 3,
 *   dueling: true,
 *   prioritizedReplay: true,
 *   prioritizedReplayAlpha: 0.5,
 *   prioritizedReplayBetaTimesteps: 100_000, // β 0.4 → 1
 *   numAtoms: 51,
 *   vMin: -10,
 *   vMax: 10,
 *   noisy: true,
 *   epsilonInitial: 0,
 *   epsilonFinal: 0,
 * });
 * if (config.config.training.numAtoms !== 51) throw new Error("set");
 * ```
 */
export class DQNConfig extends AlgorithmConfig<DQNHyperparams> {
  /** A DQN config with the trainer's DQN defaults. */
  constructor() {
    super(DQN);
  }
}
