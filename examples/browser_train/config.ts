/**
 * The browser page's training config: the windy maze example's (`examples/hierarchical_config.ts`,
 * which imports only the package, unlike `examples/hierarchical.ts`), with the page's tfjs threads
 * and env runners.
 * The training worker builds from {@linkcode mazeConfig}; each env runner worker
 * (`runner_worker.ts`) serves {@linkcode config}, from which a runner takes the env creator, the
 * mapping and the policies (the rest comes from the trainer).
 *
 * @module
 */

import type { PPOConfig } from "@coop/rl";
import { exampleConfig } from "../hierarchical_config.ts";

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
  return exampleConfig({ flat: false, seed: o.seed, numEnvs: o.numEnvs, backend: o.backend })
    .envRunners({ rolloutFragmentLength: Math.ceil(4096 / total) })
    .resources({ backend: o.backend, threads: o.threads });
}

/**
 * What an env runner builds from.
 * @returns the config
 */
export function config(): PPOConfig {
  return mazeConfig({ seed: 0, backend: "wasm", threads: 1, numEnvs: 64 });
}
