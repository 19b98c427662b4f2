/**
 * Chicken-yard training benchmark: trains `examples/chicken_yard/train.ts` until a greedy
 * evaluation (200 episodes, every 10 iterations) meets the targets — low level reaches its
 * chicken in ≥ 99% of episodes in ≤ 1.2× the fewest moves, high level picks ≥ 97% of the best
 * dot product — or 5 minutes pass. Each run is a fresh subprocess and prints one JSON line:
 * `{"mode", "seed", "met", "steps_to_targets", "seconds_to_targets" (training time, evaluations
 * excluded), "wall_seconds", "reach", "moves_ratio", "dot_ratio", "env_steps_per_s",
 * "peak_rss_mb"}`.
 *
 * ```sh
 * deno task bench:chicken                      # discrete seeds 0-2, continuous seed 0
 * deno task bench:chicken --one discrete 1     # one run
 * ```
 *
 * @module
 */

import { rssMb } from "@coop/rl/runtime";
import { train } from "../examples/chicken_yard/train.ts";

async function one(mode: "discrete" | "continuous", seed: number): Promise<void> {
  const t0 = performance.now();
  let peak = rssMb();
  const timer = setInterval(() => (peak = Math.max(peak, rssMb())), 250);
  const s = await train({
    seed,
    numEnvs: 256,
    stopTimesteps: 8_000_000,
    stopMinutes: 5,
    stopAtTargets: true,
    evalEvery: 10,
    evalEpisodes: 200,
    checkpointEvery: 0,
    any: false,
    continuous: mode === "continuous",
    asTest: false,
    out: await Deno.makeTempDir({ prefix: "coop-chicken-bench-" }),
    verbose: false,
  });
  clearInterval(timer);
  const last = s.evaluations.at(-1)?.e.custom_metrics ?? {};
  const r = s.results.at(-1)!;
  console.log(JSON.stringify({
    mode,
    seed,
    met: s.metAt !== null,
    steps_to_targets: s.metAt?.timesteps ?? null,
    seconds_to_targets: s.metAt === null ? null : +s.metAt.seconds.toFixed(1),
    wall_seconds: +((performance.now() - t0) / 1000).toFixed(1),
    reach: last.reach_rate_mean ?? null,
    moves_ratio: last.moves_ratio_mean ?? null,
    dot_ratio: last.dot_ratio_mean ?? null,
    env_steps_per_s: Math.round(r.timesteps_total / r.time_total_s),
    peak_rss_mb: Math.round(peak),
  }));
}

if (import.meta.main) {
  const args = Deno.args;
  if (args[0] === "--one") {
    const mode = args[1];
    if (mode !== "discrete" && mode !== "continuous") {
      throw new RangeError(`mode must be "discrete" or "continuous", got "${mode}"`);
    }
    await one(mode, Number(args[2] ?? 0));
  } else {
    const runs: [string, number][] = [["discrete", 0], ["discrete", 1], ["discrete", 2], [
      "continuous",
      0,
    ]];
    for (const [mode, seed] of runs) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", import.meta.filename!, "--one", mode, String(seed)],
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      if (!out.success) throw new Error(`bench run ${mode} seed ${seed} failed`);
    }
  }
}
