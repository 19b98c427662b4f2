/**
 * Trains the chicken yard (the RLlib tutorial's two robots): one high-level policy picks a
 * chicken, one low-level policy walks there, shared by both robots. Prints a progress line per
 * iteration and an evaluation line every `--eval-every` iterations, and writes to `--out`:
 * `results.jsonl` (one RLlib-shaped result per iteration), `curves.svg` (per-policy rewards and
 * episode length), `evaluation.svg` (reach rate, moves ratio, dot ratio) and checkpoints
 * (`checkpoints/`, every `--checkpoint-every` iterations and at the end).
 *
 * ```sh
 * deno run -A examples/chicken_yard/train.ts                 # until the targets are met
 * deno run -A examples/chicken_yard/train.ts --any           # the tutorial's "any chicken" rule
 * deno run -A examples/chicken_yard/train.ts --continuous    # 2-D velocities
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type EvaluationResult, svgLineChart, type TrainResult } from "@coop/rl";
import { appendLine, ensureDir, FileStorage, writeFileAtomic } from "@coop/rl/runtime";
import { chickenYardConfig, TARGETS, targetsMet } from "./config.ts";

const HELP = `Usage: deno run -A examples/chicken_yard/train.ts [options]

  --seed N               random seed (default 0)
  --num-envs N           yards stepped in one batch (default 256)
  --stop-timesteps N     stop after N env steps (default 4000000)
  --stop-minutes M       stop after M minutes of training (default 5)
  --keep-going           do not stop when an evaluation meets the targets
  --eval-every N         evaluate every N iterations (default 10; 0: never)
  --eval-episodes N      episodes per evaluation (default 200)
  --checkpoint-every N   save a checkpoint every N iterations (default 20), and at the end
  --any                  arriving at any chicken ends a robot (the tutorial's rule)
  --continuous           low-level actions are velocities Box(-0.03, 0.03, [2])
  --as-test              exit 1 unless an evaluation met the targets (reach >= ${TARGETS.reach},
                         moves ratio <= ${TARGETS.moves}, dot ratio >= ${TARGETS.dot})
  --out DIR              results, curves and checkpoints (default runs/chicken_yard-seed<N>)
  --quiet                no progress lines
  -h, --help             this help`;

/** Options of one run, parsed from the command line. */
export interface TrainOptions {
  /** Seed. */
  seed: number;
  /** Yards per batch. */
  numEnvs: number;
  /** Env steps to stop at. */
  stopTimesteps: number;
  /** Minutes to stop at. */
  stopMinutes: number;
  /** Stop at the first evaluation that meets the targets. */
  stopAtTargets: boolean;
  /** Evaluate every this many iterations (0: never). */
  evalEvery: number;
  /** Episodes per evaluation. */
  evalEpisodes: number;
  /** Checkpoint every this many iterations (0: only at the end). */
  checkpointEvery: number;
  /** The tutorial's "any chicken" rule. */
  any: boolean;
  /** Continuous low-level actions. */
  continuous: boolean;
  /** Fail unless the targets were met. */
  asTest: boolean;
  /** Output directory. */
  out: string;
  /** Print progress. */
  verbose: boolean;
}

function int(name: string, v: string | undefined, dflt: number, min = 0): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new RangeError(`--${name} must be an integer >= ${min}, got "${v}"`);
  }
  return n;
}

/**
 * Parses the command line.
 * @param argv the arguments
 * @returns the options, or null when help was asked for
 */
export function parseTrainOptions(argv: string[]): TrainOptions | null {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      seed: { type: "string" },
      "num-envs": { type: "string" },
      "stop-timesteps": { type: "string" },
      "stop-minutes": { type: "string" },
      "keep-going": { type: "boolean", default: false },
      "eval-every": { type: "string" },
      "eval-episodes": { type: "string" },
      "checkpoint-every": { type: "string" },
      any: { type: "boolean", default: false },
      continuous: { type: "boolean", default: false },
      "as-test": { type: "boolean", default: false },
      out: { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (v.help) return null;
  const seed = int("seed", v.seed, 0);
  const minutes = v["stop-minutes"] === undefined ? 5 : Number(v["stop-minutes"]);
  if (!(minutes > 0)) {
    throw new RangeError(`--stop-minutes must be a number > 0, got "${v["stop-minutes"]}"`);
  }
  return {
    seed,
    numEnvs: int("num-envs", v["num-envs"], 256, 1),
    stopTimesteps: int("stop-timesteps", v["stop-timesteps"], 4_000_000, 1),
    stopMinutes: minutes,
    stopAtTargets: !v["keep-going"],
    evalEvery: int("eval-every", v["eval-every"], 10),
    evalEpisodes: int("eval-episodes", v["eval-episodes"], 200, 1),
    checkpointEvery: int("checkpoint-every", v["checkpoint-every"], 20),
    any: v.any!,
    continuous: v.continuous!,
    asTest: v["as-test"]!,
    out: v.out ?? `runs/chicken_yard-seed${seed}`,
    verbose: !v.quiet,
  };
}

const f = (x: number | undefined, d = 3) =>
  x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d);

/** What a run produced. */
export interface TrainSummary {
  /** Every iteration's result. */
  results: TrainResult[];
  /** Every evaluation, with the iteration and env steps it followed. */
  evaluations: { iteration: number; timesteps: number; seconds: number; e: EvaluationResult }[];
  /** The first evaluation that met the targets, if any. */
  metAt: { iteration: number; timesteps: number; seconds: number } | null;
  /** The path of the last checkpoint, relative to `out`. */
  checkpoint: string;
}

/**
 * Trains until the targets are met (or a limit), writing results, curves and checkpoints.
 * @param o the options
 * @returns the results and evaluations
 */
export async function train(o: TrainOptions): Promise<TrainSummary> {
  const log = o.verbose ? console.log : () => {};
  await ensureDir(o.out);
  const storage = new FileStorage(o.out);
  const algo = await chickenYardConfig({
    seed: o.seed,
    numEnvs: o.numEnvs,
    targetMode: o.any ? "any" : "target",
    lowAction: o.continuous ? "continuous" : "discrete",
  }).checkpointing({
    storage,
    checkpointDir: "checkpoints",
    checkpointFreq: o.checkpointEvery,
    checkpointAtEnd: true,
    numToKeep: 3,
  }).build();
  log(
    `coop: PPO on the chicken yard (${o.any ? "any chicken" : "chosen chicken"}, ${
      o.continuous ? "continuous" : "8-direction"
    } moves), seed ${o.seed}, ${o.numEnvs} yards, backend ${algo.backend.name}`,
  );
  const jsonl = `${o.out}/results.jsonl`;
  await writeFileAtomic(jsonl, "");
  const results: TrainResult[] = [];
  const evaluations: TrainSummary["evaluations"] = [];
  let metAt: TrainSummary["metAt"] = null;
  let checkpoint = "";
  try {
    for (;;) {
      const r = await algo.train();
      results.push(r);
      if (r.checkpoint !== undefined) checkpoint = r.checkpoint;
      const pol = (id: string) => f(r.policy_reward_mean[id]);
      log(
        `iter ${String(r.training_iteration).padStart(3)} | steps ${
          String(r.timesteps_total).padStart(8)
        } | reward ${f(r.episode_reward_mean)} | len ${f(r.episode_len_mean, 1)} | high ${
          pol("high_level_policy")
        } low ${pol("low_level_policy")} | ${Math.round(r.env_steps_per_s)} steps/s | ${
          f(r.time_total_s, 1)
        } s`,
      );
      let stop = r.timesteps_total >= o.stopTimesteps || r.time_total_s >= o.stopMinutes * 60;
      let line: Record<string, unknown> = r as unknown as Record<string, unknown>;
      if (o.evalEvery > 0 && r.training_iteration % o.evalEvery === 0) {
        const e = await algo.evaluate({ episodes: o.evalEpisodes });
        const m = e.custom_metrics;
        const at = {
          iteration: r.training_iteration,
          timesteps: r.timesteps_total,
          seconds: r.time_total_s,
        };
        evaluations.push({ ...at, e });
        line = { ...line, evaluation: e };
        const met = targetsMet(m);
        if (met && metAt === null) metAt = at;
        log(
          `  eval: reach ${f(m.reach_rate_mean)} | moves/min ${f(m.moves_ratio_mean)} | dot/best ${
            f(m.dot_ratio_mean)
          } | len ${f(e.episode_len_mean, 1)}${met ? " | targets met" : ""}`,
        );
        if (met && o.stopAtTargets) stop = true;
      }
      await appendLine(jsonl, JSON.stringify(line));
      if (stop) break;
    }
  } finally {
    const last = await algo.stop();
    if (last !== undefined) checkpoint = last;
  }
  await writeCurves(o, results, evaluations);
  log(
    `done: ${results.length} iterations, ${results.at(-1)!.timesteps_total} env steps, ${
      f(results.at(-1)!.time_total_s, 1)
    } s; ${
      metAt === null
        ? "targets not met"
        : `targets met at ${metAt.timesteps} env steps, ${f(metAt.seconds, 1)} s`
    }; checkpoint ${o.out}/${checkpoint}`,
  );
  return { results, evaluations, metAt, checkpoint };
}

async function writeCurves(
  o: TrainOptions,
  results: TrainResult[],
  evaluations: TrainSummary["evaluations"],
): Promise<void> {
  const at = (pick: (r: TrainResult) => number | undefined) =>
    results.map((r) => [r.timesteps_total, pick(r) ?? NaN] as const);
  await writeFileAtomic(
    `${o.out}/curves.svg`,
    svgLineChart([
      {
        label: "policy_reward_mean[high_level_policy]",
        points: at((r) => r.policy_reward_mean.high_level_policy),
      },
      {
        label: "policy_reward_mean[low_level_policy]",
        points: at((r) => r.policy_reward_mean.low_level_policy),
      },
      { label: "episode_len_mean / 100", points: at((r) => r.episode_len_mean / 100) },
    ], { title: `PPO, chicken yard, seed ${o.seed}`, xLabel: "env steps", yLabel: "reward" }),
  );
  if (evaluations.length === 0) return;
  const ev = (k: string) =>
    evaluations.map((e) => [e.timesteps, e.e.custom_metrics[k] ?? NaN] as const);
  await writeFileAtomic(
    `${o.out}/evaluation.svg`,
    svgLineChart([
      { label: "reach_rate", points: ev("reach_rate_mean") },
      { label: "dot_ratio", points: ev("dot_ratio_mean") },
      {
        label: "moves_ratio / 2",
        points: ev("moves_ratio_mean").map(([x, y]) => [x, y / 2] as const),
      },
    ], { title: "greedy evaluation", xLabel: "env steps", yLabel: "ratio" }),
  );
}

/**
 * The command-line entry point.
 * @param argv the arguments
 * @returns the exit code
 */
export async function main(argv: string[]): Promise<number> {
  let o: TrainOptions | null;
  try {
    o = parseTrainOptions(argv);
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (o === null) {
    console.log(HELP);
    return 0;
  }
  const s = await train(o);
  if (o.asTest && s.metAt === null) {
    console.error("the targets were not met");
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
