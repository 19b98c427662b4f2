/**
 * Training benchmark: PPO on the flat and the hierarchical windy maze, 3 seeds each. Each run is
 * a fresh subprocess (so its peak RSS is its own) and prints one JSON line:
 * `{"mode", "seed", "env_steps_per_s", "steps_to_50", "seconds_to_50", "steps_to_80",
 * "seconds_to_80", "peak_rss_mb", "backend", ...}` (null when a threshold was not reached). A
 * threshold counts once the mean over the last 100 episodes reaches it (RLlib's smoothing window).
 *
 * ```sh
 * deno task bench:train                 # all 6 runs
 * deno task bench:train --one flat 0    # one run
 * ```
 *
 * @module
 */

import { exampleConfig } from "../examples/hierarchical.ts";
import { rewardReached } from "@coop/rl";
import { rssMb } from "@coop/rl/runtime";

const MAX_STEPS = { flat: 200_000, hierarchical: 160_000 } as const;

async function one(mode: "flat" | "hierarchical", seed: number): Promise<void> {
  const algo = await exampleConfig({ flat: mode === "flat", seed, numEnvs: 64, backend: "wasm" })
    .build();
  let peak = rssMb();
  let to50: [number, number] | null = null, to80: [number, number] | null = null;
  let last = null;
  let best = -Infinity;
  while (true) {
    const r = await algo.train();
    last = r;
    peak = Math.max(peak, rssMb());
    if (Number.isFinite(r.episode_reward_mean)) best = Math.max(best, r.episode_reward_mean);
    if (to50 === null && rewardReached(r, 50)) to50 = [r.timesteps_total, r.time_total_s];
    if (to80 === null && rewardReached(r, 80)) to80 = [r.timesteps_total, r.time_total_s];
    if (to80 !== null || r.timesteps_total >= MAX_STEPS[mode]) break;
  }
  algo.dispose();
  console.log(JSON.stringify({
    mode,
    seed,
    env_steps_per_s: Math.round(last.timesteps_total / last.time_total_s),
    steps_to_50: to50?.[0] ?? null,
    seconds_to_50: to50 === null ? null : +to50[1].toFixed(2),
    steps_to_80: to80?.[0] ?? null,
    seconds_to_80: to80 === null ? null : +to80[1].toFixed(2),
    final_reward: +last.episode_reward_mean.toFixed(2),
    best_reward: +best.toFixed(2),
    timesteps_total: last.timesteps_total,
    peak_rss_mb: Math.round(peak),
    backend: `${algo.backend.name}${algo.backend.simd ? "+simd" : ""}/${algo.backend.threads}t`,
  }));
}

if (import.meta.main) {
  const args = Deno.args;
  if (args[0] === "--one") {
    const mode = args[1];
    if (mode !== "flat" && mode !== "hierarchical") {
      throw new RangeError(`mode must be "flat" or "hierarchical", got "${mode}"`);
    }
    await one(mode, Number(args[2] ?? 0));
  } else {
    for (const mode of ["hierarchical", "flat"] as const) {
      for (const seed of [0, 1, 2]) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-read",
            "--allow-env",
            "--allow-sys",
            "--allow-write",
            import.meta.filename!,
            "--one",
            mode,
            String(seed),
          ],
          stdout: "inherit",
          stderr: "inherit",
        }).output();
        if (!out.success) throw new Error(`bench run ${mode} seed ${seed} failed`);
      }
    }
  }
}
