/**
 * Env runner benchmark (issue 11): sampling throughput and seconds to a mean reward of 80 with
 * sampling on the main thread (1 runner), in 1 worker with overlap, and in 2 workers without
 * and with overlap. The same total of envs in every mode but `2w` (`numEnvs` is per
 * runner, so 2 runners get half each). Each measurement is a fresh subprocess printing one JSON line:
 *
 * - `{"bench": "sampling", "env", "mode", "env_steps_per_s", ...}`: `algo.sample()` (collect and
 *   post-process, no learning) after two warm-up fragments, for the hierarchical windy maze (64
 *   envs × 64 steps) and the chicken yard (256 yards × 64 steps);
 * - `{"bench": "maze", "mode", "seed", "steps_to_80", "seconds_to_80", "env_steps_per_s", ...}`:
 *   the hierarchical windy maze with the example's settings (`examples/hierarchical.ts`), until
 *   the mean over the last 100 episodes reaches 80 (or 160k env steps), seeds 0-2;
 *   `seconds_to_80` is the trainer's clock (`time_total_s`), i.e. wall time inside `train()`.
 *
 * This module is also the runners' module: it exports `config(args)`, which the workers import
 * (the measurement code runs only under `import.meta.main`).
 *
 * ```sh
 * deno task bench:runners                    # everything
 * deno task bench:runners --one maze 2 0     # one run: maze, mode "2", seed 0
 * deno task bench:runners --one sampling chicken 2
 * ```
 *
 * Modes: `local` (main thread), `1o` (1 worker, overlap), `2` (2 workers), `2o` (2 workers,
 * overlap), all with the same envs in total; `2w` (sampling only): 2 workers with the full
 * `numEnvs` each (RLlib's meaning of `num_envs_per_env_runner`: twice the envs in total).
 *
 * @module
 */

import { exampleConfig } from "../examples/hierarchical.ts";
import { chickenYardConfig } from "../examples/chicken_yard/config.ts";
import { type PPOConfig, rewardReached } from "@coop/rl";

/** What the workers (and the trainer) build the config from. */
export interface BenchArgs {
  /** Which env. */
  env: "maze" | "chicken";
  /** Seed. */
  seed: number;
  /** Envs per runner. */
  numEnvs: number;
}

/**
 * The config of a run (exported for the runners).
 * @param a env, seed, envs per runner
 * @returns the config
 */
export function config(a: BenchArgs): PPOConfig {
  return a.env === "maze"
    ? exampleConfig({ flat: false, seed: a.seed, numEnvs: a.numEnvs, backend: "wasm" })
    : chickenYardConfig({ seed: a.seed, numEnvs: a.numEnvs });
}

const MODES = ["local", "1o", "2", "2o", "2w"] as const;
type Mode = typeof MODES[number];
const TOTAL_ENVS = { maze: 64, chicken: 256 } as const;
const FRAGMENT = 64;

function build(env: "maze" | "chicken", mode: Mode, seed: number) {
  const runners = mode === "local" || mode === "1o" ? 1 : 2;
  const numEnvs = mode === "2w" ? TOTAL_ENVS[env] : TOTAL_ENVS[env] / runners;
  const args: BenchArgs = { env, seed, numEnvs };
  const c = config(args).envRunners({ numEnvs, rolloutFragmentLength: FRAGMENT });
  if (mode !== "local") {
    c.envRunners({
      numEnvRunners: runners,
      overlap: mode.endsWith("o"),
      runnerModule: import.meta.url,
      runnerArgs: args,
    });
  }
  return c.build();
}

async function sampling(env: "maze" | "chicken", mode: Mode): Promise<void> {
  const algo = await build(env, mode, 0);
  try {
    for (let i = 0; i < 2; i++) await algo.sample();
    let steps = 0;
    const t0 = performance.now();
    const n = env === "maze" ? 10 : 12;
    for (let i = 0; i < n; i++) steps += (await algo.sample()).env_steps;
    const s = (performance.now() - t0) / 1000;
    console.log(JSON.stringify({
      bench: "sampling",
      env,
      mode,
      env_steps_per_s: Math.round(steps / s),
      env_steps: steps,
      seconds: +s.toFixed(2),
    }));
  } finally {
    algo.dispose();
  }
}

async function maze(mode: Mode, seed: number): Promise<void> {
  const algo = await build("maze", mode, seed);
  let to80: [number, number] | null = null;
  let last;
  let sample = 0, learn = 0;
  try {
    while (true) {
      const r = await algo.train();
      last = r;
      sample += r.sample_time_s;
      learn += r.learn_time_s;
      if (rewardReached(r, 80)) {
        to80 = [r.timesteps_total, r.time_total_s];
        break;
      }
      if (r.timesteps_total >= 160_000) break;
    }
  } finally {
    algo.dispose();
  }
  console.log(JSON.stringify({
    bench: "maze",
    mode,
    seed,
    steps_to_80: to80?.[0] ?? null,
    seconds_to_80: to80 === null ? null : +to80[1].toFixed(2),
    env_steps_per_s: Math.round(last.timesteps_total / last.time_total_s),
    iterations: last.training_iteration,
    waiting_for_samples_s: +sample.toFixed(2),
    learning_s: +learn.toFixed(2),
    final_reward: +last.episode_reward_mean.toFixed(2),
    weights_staleness: last.weights_staleness ?? 0,
  }));
}

function modeArg(v: string | undefined): Mode {
  if (!(MODES as readonly string[]).includes(v ?? "")) {
    throw new RangeError(`mode must be one of ${MODES.join(", ")}, got "${v}"`);
  }
  return v as Mode;
}

if (import.meta.main) {
  const args = Deno.args;
  if (args[0] === "--one") {
    if (args[1] === "sampling") {
      const env = args[2];
      if (env !== "maze" && env !== "chicken") {
        throw new RangeError(`env must be "maze" or "chicken", got "${env}"`);
      }
      await sampling(env, modeArg(args[3]));
    } else if (args[1] === "maze") {
      await maze(modeArg(args[2]), Number(args[3] ?? 0));
    } else {
      throw new RangeError(`--one sampling <env> <mode> | --one maze <mode> <seed>`);
    }
  } else {
    const runs: string[][] = [];
    for (const env of ["maze", "chicken"]) {
      for (const mode of ["local", "2", "2w"]) runs.push(["sampling", env, mode]);
    }
    for (const seed of ["0", "1", "2"]) {
      for (const mode of ["local", "1o", "2", "2o"]) runs.push(["maze", mode, seed]);
    }
    for (const run of runs) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", import.meta.filename!, "--one", ...run],
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      if (!out.success) throw new Error(`bench run ${run.join(" ")} failed`);
    }
  }
}
