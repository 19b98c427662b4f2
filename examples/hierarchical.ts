/**
 * Hierarchical training on the windy maze: RLlib's `hierarchical_training.py`, in TypeScript.
 *
 * The agent observes its position and the wind direction and either stands still or moves with
 * the wind. Hierarchically (the default), a high-level agent picks a direction goal and a fresh
 * `low_level_{n}` agent executes it for up to 25 steps, rewarded for moving in that direction;
 * `--flat` trains one agent on the flat maze instead.
 *
 * ```sh
 * deno run -A examples/hierarchical.ts                 # hierarchical, gets ~110 reward
 * deno run -A examples/hierarchical.ts --flat
 * deno run -A examples/hierarchical.ts --as-test --stop-reward 80
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  checkLearningAchieved,
  type HierarchyTimeline,
  shouldStop,
  type StopCriteria,
  svgLineChart,
  type TrainResult,
} from "@coop/rl";
import { appendLine, ensureDir, rssMb, writeFileAtomic } from "@coop/rl/runtime";
import { exampleConfig } from "./hierarchical_config.ts";

export { exampleConfig };

const HELP = `Usage: deno run -A examples/hierarchical.ts [options]

  --flat                 train one agent on the flat windy maze
  --timeline T           alternating (default: the high level's decision is an env step of
                         its own, as RLlib's env) or overlapping (it shares the env step of the
                         low level's first action)
  --stop-iters N         stop after N training iterations (default 200)
  --stop-timesteps N     stop after N env steps (default 100000)
  --stop-reward R        stop when the mean reward of the last 100 episodes reaches R
  --as-test              exit non-zero unless --stop-reward was reached
  --seed N               random seed (default 0)
  --num-envs N           envs stepped in one batch (default 64)
  --backend wasm|cpu     tfjs backend (default wasm)
  --out DIR              where to write results.jsonl and curve.svg (default runs/<mode>-seed<N>)
  --quiet                no progress lines
  -h, --help             this help`;

/** Options of one run, parsed from the command line. */
export interface ExampleOptions {
  /** Train on the flat maze. */
  flat: boolean;
  /** The hierarchy's timeline. */
  timeline: HierarchyTimeline;
  /** Stop criteria. */
  stop: StopCriteria;
  /** Fail unless the stop reward was reached. */
  asTest: boolean;
  /** Seed. */
  seed: number;
  /** Envs per batch. */
  numEnvs: number;
  /** tfjs backend. */
  backend: "wasm" | "cpu";
  /** Output directory, or null for none. */
  out: string | null;
  /** Print progress lines. */
  verbose: boolean;
}

function intArg(name: string, v: string | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(`--${name} must be an integer >= ${min}, got "${v}"`);
  }
  return n;
}

/**
 * Parses the command line.
 * @param argv the arguments
 * @returns the options, or null when help was asked for
 */
export function parseOptions(argv: string[]): ExampleOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      flat: { type: "boolean", default: false },
      timeline: { type: "string" },
      "stop-iters": { type: "string" },
      "stop-timesteps": { type: "string" },
      "stop-reward": { type: "string" },
      "as-test": { type: "boolean", default: false },
      seed: { type: "string" },
      "num-envs": { type: "string" },
      backend: { type: "string" },
      out: { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return null;
  const stop: StopCriteria = {
    training_iteration: intArg("stop-iters", values["stop-iters"], 200),
    timesteps_total: intArg("stop-timesteps", values["stop-timesteps"], 100000),
  };
  if (values["stop-reward"] !== undefined) {
    const r = Number(values["stop-reward"]);
    if (!Number.isFinite(r)) {
      throw new RangeError(`--stop-reward must be a number, got "${values["stop-reward"]}"`);
    }
    stop.episode_reward_mean = r;
  }
  if (values["as-test"] && stop.episode_reward_mean === undefined) {
    throw new RangeError("--as-test needs --stop-reward R: the reward the run must reach");
  }
  const backend = values.backend ?? "wasm";
  if (backend !== "wasm" && backend !== "cpu") {
    throw new RangeError(`--backend must be "wasm" or "cpu", got "${backend}"`);
  }
  const flat = values.flat!;
  const timeline = values.timeline ?? "alternating";
  if (timeline !== "alternating" && timeline !== "overlapping") {
    throw new RangeError(`--timeline must be "alternating" or "overlapping", got "${timeline}"`);
  }
  const seed = intArg("seed", values.seed, 0, 0);
  return {
    flat,
    timeline,
    stop,
    asTest: values["as-test"]!,
    seed,
    numEnvs: intArg("num-envs", values["num-envs"], 64),
    backend,
    out: values.out ?? `runs/${flat ? "flat" : "hierarchical"}-seed${seed}`,
    verbose: !values.quiet,
  };
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "  -  ";
}

/** Summary of a finished run. */
export interface RunSummary {
  /** Every iteration's result. */
  results: TrainResult[];
  /** Peak resident memory sampled after each iteration, MB. */
  peakRssMb: number;
}

/**
 * Trains until a stop criterion is met, printing a progress line per iteration and writing
 * `results.jsonl` and `curve.svg` to `o.out`.
 * @param o the options
 * @returns the results
 */
export async function run(o: ExampleOptions): Promise<RunSummary> {
  const algo = await exampleConfig(o).build();
  const mode = o.flat ? "flat" : "hierarchical";
  const log = o.verbose ? console.log : () => {};
  log(
    `coop: PPO on the ${mode} windy maze, seed ${o.seed}, ${o.numEnvs} envs, backend ${algo.backend.name} (SIMD ${
      algo.backend.simd ? "on" : "off"
    }, ${algo.backend.threads} thread${algo.backend.threads === 1 ? "" : "s"})`,
  );
  let jsonl: string | null = null;
  if (o.out !== null) {
    await ensureDir(o.out);
    jsonl = `${o.out}/results.jsonl`;
    await writeFileAtomic(jsonl, "");
  }
  const results: TrainResult[] = [];
  let peak = rssMb();
  try {
    for (;;) {
      const r = await algo.train();
      results.push(r);
      peak = Math.max(peak, rssMb());
      if (jsonl !== null) await appendLine(jsonl, JSON.stringify(r));
      const pol = Object.entries(r.policy_reward_mean)
        .map(([id, v]) => `${id.replace(/_policy$/, "")} ${fmt(v)}`).join(" ");
      log(
        `iter ${String(r.training_iteration).padStart(3)} | steps ${
          String(r.timesteps_total).padStart(7)
        } | reward ${fmt(r.episode_reward_mean).padStart(6)} (min ${
          fmt(r.episode_reward_min, 0)
        } max ${fmt(r.episode_reward_max, 0)}) | len ${fmt(r.episode_len_mean, 0)}${
          pol ? ` | ${pol}` : ""
        } | ${Math.round(r.env_steps_per_s)} steps/s | ${fmt(r.time_total_s)} s`,
      );
      if (shouldStop(r, o.stop)) break;
    }
  } finally {
    algo.dispose();
  }
  const last = results.at(-1)!;
  const best = Math.max(...results.map((r) => r.episode_reward_mean).filter(Number.isFinite));
  if (o.out !== null) {
    const series = [{
      label: "episode_reward_mean",
      points: results.map((r) => [r.timesteps_total, r.episode_reward_mean] as const),
    }];
    for (const id of Object.keys(last.policy_reward_mean)) {
      series.push({
        label: `policy_reward_mean[${id}]`,
        points: results.map((r) => [r.timesteps_total, r.policy_reward_mean[id] ?? NaN] as const),
      });
    }
    await writeFileAtomic(
      `${o.out}/curve.svg`,
      svgLineChart(series, {
        title: `PPO, ${mode} windy maze, seed ${o.seed}`,
        xLabel: "env steps",
        yLabel: "mean episode reward",
      }),
    );
  }
  log(
    `done: ${last.training_iteration} iterations, ${last.timesteps_total} env steps, ${
      fmt(last.time_total_s)
    } s (${Math.round(last.timesteps_total / last.time_total_s)} env steps/s), reward ${
      fmt(last.episode_reward_mean)
    } (best ${fmt(best)}), peak RSS ${Math.round(peak)} MB${
      o.out !== null ? `; wrote ${o.out}/results.jsonl and ${o.out}/curve.svg` : ""
    }`,
  );
  return { results, peakRssMb: peak };
}

/**
 * The command-line entry point.
 * @param argv the arguments
 * @returns the process exit code
 */
export async function main(argv: string[]): Promise<number> {
  let o: ExampleOptions | null;
  try {
    o = parseOptions(argv);
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (o === null) {
    console.log(HELP);
    return 0;
  }
  const { results } = await run(o);
  if (o.asTest) {
    try {
      checkLearningAchieved(results, o.stop.episode_reward_mean!);
    } catch (e) {
      console.error((e as Error).message);
      return 1;
    }
    console.log(`ok: reached ${o.stop.episode_reward_mean}`);
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
