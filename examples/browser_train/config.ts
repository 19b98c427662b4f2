/**
 * The browser page's training config: `examples/hierarchical.ts`'s configuration, written out
 * (that module imports node:util and the Deno file helpers, which a browser bundle cannot load).
 * The training worker builds from {@linkcode mazeConfig}; each env runner worker
 * (`runner_worker.ts`) serves {@linkcode config}, from which a runner takes the env creator, the
 * mapping and the policies (the rest comes from the trainer).
 *
 * @module
 */

import { createHierarchicalWindyMaze, PPOConfig } from "@coop/rl";

/**
 * The hierarchical windy maze with the seed script's two policies.
 * @param o seed, backend, tfjs threads, envs per runner and runners (default 1); an iteration
 *   samples about 4096 env steps in all
 * @returns the config
 */
export function mazeConfig(
  o: { seed: number; backend: "wasm" | "cpu"; threads: number; numEnvs: number; runners?: number },
): PPOConfig {
  const total = o.numEnvs * (o.runners ?? 1);
  return new PPOConfig()
    .environment(({ numEnvs, seed }) => createHierarchicalWindyMaze(numEnvs, { seed }))
    .envRunners({ numEnvs: o.numEnvs, rolloutFragmentLength: Math.ceil(4096 / total) })
    .resources({ backend: o.backend, threads: o.threads })
    .debugging({ seed: o.seed })
    .training({ entropyCoeff: 0.01 })
    .multiAgent({
      policies: {
        high_level_policy: {
          config: { gamma: 0.9, numEpochs: 30, minibatchSize: 128, vfShareLayers: true },
        },
        low_level_policy: {
          config: { gamma: 0.0, lr: 6e-3, numEpochs: 4, vfShareLayers: true },
        },
      },
      policyMappingFn: (id) =>
        id.startsWith("low_level_") ? "low_level_policy" : "high_level_policy",
    });
}

/**
 * What an env runner builds from.
 * @returns the config
 */
export function config(): PPOConfig {
  return mazeConfig({ seed: 0, backend: "wasm", threads: 1, numEnvs: 64 });
}
