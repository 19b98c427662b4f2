/**
 * Trains the hierarchical windy maze (`examples/hierarchical.ts`'s config) through remote env
 * runners: the trainer learns, the runners (workerd processes on loopback started here with
 * `--spawn N`, or any runners given by URL, e.g. Cloudflare Workers) sample. `--kill-at I`
 * SIGKILLs one spawned runner during iteration I, while its fragment is in flight, to watch
 * the run go on with the others.
 *
 * ```sh
 * deno run -A examples/remote_runners/train.ts --spawn 3 --stop-reward 80
 * deno run -A examples/remote_runners/train.ts --spawn 3 --kill-at 5
 * deno run -A examples/remote_runners/train.ts --runners http://127.0.0.1:9101,http://127.0.0.1:9102
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { rewardReached, type TrainResult } from "@coop/rl";
import { exampleConfig } from "../hierarchical.ts";
import { type RunningRunners, startRunners } from "./runners.ts";

/** Options of {@linkcode trainRemote}. */
export interface RemoteTrainOptions {
  /** The runners' base URLs. */
  urls: string[];
  /** Envs per runner. */
  numEnvs: number;
  /** Steps per env per fragment (default 64). */
  fragmentLength?: number;
  /** Seed. */
  seed: number;
  /** Stop after this many iterations. */
  iterations: number;
  /** Stop once the mean reward reaches this. */
  stopReward?: number;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  /** Called after each iteration (e.g. to kill a runner). */
  onIteration?: (r: TrainResult) => void | Promise<void>;
  /** Print a line per iteration. */
  verbose?: boolean;
}

/**
 * Trains through the runners.
 * @param o the runners and the run
 * @returns every iteration's result
 */
export async function trainRemote(o: RemoteTrainOptions): Promise<TrainResult[]> {
  const algo = await exampleConfig({
    flat: false,
    seed: o.seed,
    numEnvs: o.numEnvs,
    backend: "wasm",
  })
    .envRunners({
      numEnvs: o.numEnvs,
      rolloutFragmentLength: o.fragmentLength ?? 64,
      remoteRunners: o.urls,
      remoteTimeoutMs: o.timeoutMs,
    })
    .build();
  const out: TrainResult[] = [];
  try {
    for (let i = 0; i < o.iterations; i++) {
      const r = await algo.train();
      out.push(r);
      if (o.verbose) {
        console.log(
          `iter ${String(r.training_iteration).padStart(3)} | steps ${
            String(r.timesteps_total).padStart(7)
          } | reward ${
            r.episode_reward_mean.toFixed(1).padStart(6)
          } | runners ${r.num_healthy_env_runners}/${r.num_env_runners} healthy, ${r.num_fragment_reissues} re-issued | ${
            Math.round(r.env_steps_per_s)
          } steps/s`,
        );
      }
      await o.onIteration?.(r);
      if (o.stopReward !== undefined && rewardReached(r, o.stopReward)) break;
    }
  } finally {
    algo.dispose();
  }
  return out;
}

if (import.meta.main) {
  const { values: v } = parseArgs({
    args: Deno.args,
    options: {
      spawn: { type: "string" },
      runners: { type: "string" },
      "num-envs": { type: "string", default: "22" },
      seed: { type: "string", default: "0" },
      "stop-iters": { type: "string", default: "40" },
      "stop-reward": { type: "string" },
      "kill-at": { type: "string" },
      "timeout-ms": { type: "string", default: "30000" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (v.help || (v.spawn === undefined) === (v.runners === undefined)) {
    console.log(
      `Usage: deno run -A examples/remote_runners/train.ts (--spawn N | --runners URL,URL...)

  --spawn N          start N workerd runners on loopback (runners.ts) and train through them
  --runners URLS     train through running runners (comma-separated base URLs)
  --num-envs N       envs per runner, 64 steps each per iteration (default 22)
  --seed N           seed (default 0)
  --stop-iters N     iterations (default 40)
  --stop-reward R    stop once the mean reward reaches R
  --kill-at I        with --spawn: SIGKILL the last runner during iteration I
  --timeout-ms T     per-request timeout (default 30000)`,
    );
    Deno.exit(v.help ? 0 : 2);
  }
  let running: RunningRunners | undefined;
  if (v.spawn !== undefined) running = await startRunners(Number(v.spawn));
  const urls = running?.urls ?? v.runners!.split(",");
  const killAt = v["kill-at"] === undefined ? undefined : Number(v["kill-at"]);
  try {
    await trainRemote({
      urls,
      numEnvs: Number(v["num-envs"]),
      seed: Number(v.seed),
      iterations: Number(v["stop-iters"]),
      stopReward: v["stop-reward"] === undefined ? undefined : Number(v["stop-reward"]),
      timeoutMs: Number(v["timeout-ms"]),
      verbose: true,
      onIteration: (r) => {
        if (running !== undefined && r.training_iteration === (killAt ?? 0) - 1) {
          // Killed a little after the next iteration's requests went out.
          const last = urls.length - 1;
          setTimeout(() => {
            console.log(`killing runner ${last} (${urls[last]})`);
            void running!.kill(last);
          }, 5);
        }
      },
    });
  } finally {
    await running?.stop();
  }
}
