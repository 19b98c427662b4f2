/**
 * The optional episode-metrics part of the ABI (read by the loader in src/env/wasm.ts): an env
 * with the kit's `metrics()`/`writeMetrics(i, p)` hooks re-exports it next to `_abi.ts`:
 *
 * ```text
 * export * from "./_abi";
 * export * from "./_abi_metrics";
 * ```
 *
 * A separate file, so envs without metrics export exactly what they did before.
 */

import { Kit } from "./_kit";

/**
 * Address of the `f32[numEnvs * numEpisodeMetrics()]` episode metrics: row `i` describes env
 * `i`'s last finished episode (written when its `envDone` is set; NaN before the first one and
 * for a metric undefined in that episode); the host views it after `init`.
 */
export function episodeMetricsPtr(): usize {
  return Kit.metricsPtr();
}

/** Number of episode metrics per env (0 without metrics); read by the host after `init`. */
export function numEpisodeMetrics(): i32 {
  return Kit.numMetrics();
}
