/**
 * The chicken yard's training configuration, shared by the examples and the benchmark: both
 * robots share one high-level and one low-level PPO policy (the tutorial's mapping).
 *
 * What made it learn in minutes (measured, see `bench/chicken_yard_bench.ts`):
 * - relational features: the low level reads the position of its chosen chicken
 *   (`gather(target, chicken_positions)`), the high level how alike each chicken is to its robot
 *   (`dot(chicken_oceans, robot_ocean)`). Both are products of inputs, which an MLP learns slowly
 *   from sparse rewards; without them PPO did not learn the low level in 5 minutes;
 * - advantages normalised per batch (rewards here are ±1 and −0.001 a step: without it the
 *   updates are tiny), no KL penalty, a learning rate annealed ×0.1 over 2.5 M steps, and more
 *   epochs for the high level, which sees about one row per robot and episode.
 *
 * @module
 */

import {
  chickenYardPolicyMapping,
  createChickenYard,
  type ObservationFeature,
  PPOConfig,
} from "@coop/rl";

/** Options of {@linkcode chickenYardConfig}. */
export interface ChickenYardTrainOptions {
  /** Seed of the run. */
  seed: number;
  /** Envs stepped in one batch (2 robots each). */
  numEnvs: number;
  /** `"target"` (default) or the tutorial's `"any"`. */
  targetMode?: "target" | "any";
  /** `"discrete"` (default) 8 moves, or `"continuous"` velocities. */
  lowAction?: "discrete" | "continuous";
  /** tfjs backend. */
  backend?: "wasm" | "cpu";
}

/** The low level reads the position of its chosen chicken. */
export const LOW_FEATURES: ObservationFeature[] = [
  { kind: "gather", index: "target", rows: "chicken_positions" },
];
/** The high level reads how alike each chicken is to its robot. */
export const HIGH_FEATURES: ObservationFeature[] = [
  { kind: "dot", rows: "chicken_oceans", vector: "robot_ocean" },
];

/**
 * The PPO config of the chicken yard.
 * @param o seed, number of envs, env options, backend
 * @returns the config, ready to `.build()` (add checkpointing or evaluation as needed)
 */
export function chickenYardConfig(o: ChickenYardTrainOptions): PPOConfig {
  const shared = {
    advantageNormalization: "batch" as const,
    klCoeff: 0,
    lrFinal: 3e-4,
    lrAnnealTimesteps: 2_500_000,
  };
  return new PPOConfig()
    .environment(({ numEnvs, seed }) =>
      createChickenYard(numEnvs, {
        seed,
        targetMode: o.targetMode ?? "target",
        lowAction: o.lowAction ?? "discrete",
      })
    )
    .envRunners({ numEnvs: o.numEnvs, rolloutFragmentLength: Math.ceil(16384 / o.numEnvs) })
    .training({ ...shared, gamma: 0.99, lr: 3e-3 })
    .multiAgent({
      policies: {
        // The high level sees about one row per robot and episode: 16 epochs over them, held
        // back by RLlib's adaptive KL penalty and an entropy bonus, so that the few rows of the
        // first iterations (when robots rarely arrive) cannot collapse it.
        high_level_policy: {
          config: { features: HIGH_FEATURES, numEpochs: 16, klCoeff: 0.2, entropyCoeff: 0.01 },
        },
        low_level_policy: {
          config: {
            features: LOW_FEATURES,
            numEpochs: 4,
            // Gaussian velocities: a wider start and smaller steps (with lr 3e-3 the policy
            // narrowed onto the walls in one run of two).
            ...(o.lowAction === "continuous" ? { initialLogStd: 0, lr: 1e-3 } : {}),
          },
        },
      },
      policyMappingFn: chickenYardPolicyMapping,
    })
    .resources({ backend: o.backend ?? "wasm" })
    .debugging({ seed: o.seed });
}

/** The targets for an evaluation of the default (target, discrete) yard. */
export const TARGETS = Object.freeze({ reach: 0.99, moves: 1.2, dot: 0.97 });

/**
 * Whether an evaluation's custom metrics meet the targets.
 * @param m `custom_metrics` of an evaluation
 * @returns true when reach ≥ 0.99, moves ratio ≤ 1.2 and dot ratio ≥ 0.97
 */
export function targetsMet(m: Record<string, number>): boolean {
  return (m.reach_rate_mean ?? 0) >= TARGETS.reach &&
    (m.moves_ratio_mean ?? Infinity) <= TARGETS.moves &&
    (m.dot_ratio_mean ?? 0) >= TARGETS.dot;
}
