/**
 * The windy maze example's training configuration (`examples/hierarchical.ts`), in a module of
 * its own that imports only the package, so a browser bundle (`examples/browser_train/`) builds
 * from the same settings as the command line.
 *
 * @module
 */

import {
  createHierarchicalWindyMaze,
  createWindyMaze,
  type HierarchyTimeline,
  PPOConfig,
} from "@coop/rl";

/**
 * The seed script's configuration: flat PPO (entropy 0.03, two hidden layers of 16 units), or
 * the two-policy hierarchy with high-level gamma 0.9, low-level gamma 0.0 and entropy
 * coefficient 0.01; both levels share their hidden layers between policy and value (RLlib's
 * `vf_share_layers`, its default model's setting), and the low level takes 4 epochs per fragment.
 * @param o flat or hierarchical, seed, envs per batch (an iteration samples about 4096 env
 *   steps), tfjs backend, the hierarchy's timeline
 * @returns the PPO config
 */
export function exampleConfig(o: {
  flat: boolean;
  seed: number;
  numEnvs: number;
  backend: "wasm" | "cpu";
  timeline?: HierarchyTimeline;
}): PPOConfig {
  const config = new PPOConfig()
    .envRunners({ numEnvs: o.numEnvs, rolloutFragmentLength: Math.ceil(4096 / o.numEnvs) })
    .resources({ backend: o.backend })
    .debugging({ seed: o.seed });
  if (o.flat) {
    return config
      .environment(({ numEnvs, seed }) => createWindyMaze(numEnvs, { seed }))
      // 16-unit layers: a third of the time per env step of 64-unit ones, at about the same env
      // steps to 80 (README, "Measured").
      .training({ entropyCoeff: 0.03, hidden: [16, 16] });
  }
  return config
    .environment(({ numEnvs, seed }) =>
      createHierarchicalWindyMaze(numEnvs, { seed, timeline: o.timeline })
    )
    .training({ entropyCoeff: 0.01 })
    .multiAgent({
      policies: {
        // The seed's gammas; the high level sees ~150 rows per iteration, so it takes more,
        // smaller minibatch passes over them, and the low level a larger step size. One tower
        // per policy (shared layers) and 4 low-level epochs halve the learner's work against
        // separate towers and 8 epochs at the same env steps to 80 (README, "Measured").
        high_level_policy: {
          config: { gamma: 0.9, numEpochs: 30, minibatchSize: 128, vfShareLayers: true },
        },
        low_level_policy: {
          config: { gamma: 0.0, lr: 6e-3, numEpochs: 4, vfShareLayers: true },
        },
      },
      policyMappingFn: (agentId) =>
        agentId.startsWith("low_level_") ? "low_level_policy" : "high_level_policy",
    });
}
