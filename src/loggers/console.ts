/**
 * The console logger: in a terminal, one live progress line (a bar, the percentage, the ETA
 * and the latest numbers) redrawn in place; elsewhere (a pipe, a CI log) one plain line per
 * iteration. What it writes to is a {@linkcode ConsoleSink}; the bar is a
 * {@linkcode ProgressBar} (the Deno adapter in `src/runtime/log_files.ts` makes one with the
 * npm package `cli-progress`), so this module stays Web-standard.
 *
 * @module
 */

import type { IterationRef, Logger, ResultLike, RunMeta } from "./logger.ts";

/** Where console output goes. */
export interface ConsoleSink {
  /** Whether the output is a terminal (a live line) or not (plain lines). */
  readonly isTerminal: boolean;
  /**
   * Writes text as it is (line ends included).
   * @param text the text
   */
  write(text: string): void;
}

/** A live progress bar (the shape of `cli-progress`'s `SingleBar`). */
export interface ProgressBar {
  /**
   * Shows the bar.
   * @param total the value at 100 %
   * @param value the current value
   * @param payload `line`: the text shown beside the bar
   */
  start(total: number, value: number, payload: { line: string }): void;
  /**
   * Moves the bar.
   * @param value the current value
   * @param payload `line`: the text shown beside the bar
   */
  update(value: number, payload: { line: string }): void;
  /**
   * Prints a whole line above the bar (optional: without it the line is written to the sink,
   * and the bar redrawn below it on its next update).
   * @param line the line, without its newline
   */
  log?(line: string): void;
  /** Draws the bar a last time and leaves it on its own line. */
  stop(): void;
}

/** Options of {@linkcode ConsoleLogger}. */
export interface ConsoleLoggerOptions {
  /** The live bar, used when the sink is a terminal (default: a line redrawn with `\r`). */
  bar?: ProgressBar;
}

function num(x: unknown, digits = 2): string {
  if (typeof x !== "number" || Number.isNaN(x)) return "-";
  const a = Math.abs(x);
  if (a >= 1000 || Number.isInteger(x)) return Math.round(x).toString();
  if (a >= 1) return x.toFixed(digits);
  return x === 0 ? "0" : x.toPrecision(3);
}

/**
 * Seconds as `h:mm:ss` or `m:ss`.
 * @param s seconds
 * @returns the text (`-` when not finite)
 */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "-";
  const t = Math.round(s);
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(sec).padStart(2, "0")}`;
}

/**
 * The numbers of one result as one line: iteration, env steps (of the total), episode reward
 * mean [min, max], episode length, reward per policy, throughput, elapsed time.
 *
 * @example
 * ```ts
 * import { formatResultLine } from "./console.ts";
 * const line = formatResultLine({
 *   training_iteration: 3, num_env_steps_sampled: 1536, episode_reward_mean: 1.5,
 *   episode_reward_min: -1, episode_reward_max: 4, episode_len_mean: 20,
 *   policy_reward_mean: { high: 2, low: 0.25 }, env_steps_per_s: 900, time_total_s: 2,
 * }, 3072);
 * if (!line.startsWith("iter 3 | steps 1536/3072 | reward 1.50 [-1, 4]")) throw new Error(line);
 * ```
 *
 * @param result the result
 * @param totalSteps the run's env steps, if known
 * @returns the line
 */
export function formatResultLine(result: ResultLike, totalSteps?: number): string {
  const r = result as unknown as Record<string, unknown>;
  const steps = r.num_env_steps_sampled ?? r.timesteps_total;
  const parts = [
    `iter ${result.training_iteration}`,
    `steps ${num(steps)}${totalSteps !== undefined ? `/${totalSteps}` : ""}`,
    `reward ${num(r.episode_reward_mean)} [${num(r.episode_reward_min)}, ${
      num(r.episode_reward_max)
    }]`,
    `len ${num(r.episode_len_mean, 1)}`,
  ];
  const pol = r.policy_reward_mean;
  if (typeof pol === "object" && pol !== null) {
    for (const [id, v] of Object.entries(pol)) parts.push(`${id} ${num(v)}`);
  }
  if (typeof r.env_steps_per_s === "number") parts.push(`${num(r.env_steps_per_s)} steps/s`);
  if (typeof r.time_total_s === "number") parts.push(`${formatDuration(r.time_total_s)}`);
  return parts.join(" | ");
}

/**
 * An evaluation as one line.
 * @param evaluation the evaluation result
 * @param at the iteration it followed
 * @returns the line
 */
export function formatEvaluationLine(evaluation: object, at: IterationRef): string {
  const e = evaluation as Record<string, unknown>;
  const parts = [
    `eval after iter ${at.training_iteration}`,
    `${num(e.num_episodes)} episodes`,
    `reward ${num(e.episode_reward_mean)} [${num(e.episode_reward_min)}, ${
      num(e.episode_reward_max)
    }]`,
    `len ${num(e.episode_len_mean, 1)}`,
  ];
  const pol = e.policy_reward_mean;
  if (typeof pol === "object" && pol !== null) {
    for (const [id, v] of Object.entries(pol)) parts.push(`${id} ${num(v)}`);
  }
  const cm = e.custom_metrics;
  if (typeof cm === "object" && cm !== null) {
    for (const [k, v] of Object.entries(cm)) if (k.endsWith("_mean")) parts.push(`${k} ${num(v)}`);
  }
  return parts.join(" | ");
}

/**
 * Progress to the console: a live bar in a terminal, plain lines otherwise.
 *
 * @example Plain lines (not a terminal)
 * ```ts
 * import { ConsoleLogger } from "./console.ts";
 * let out = "";
 * const log = new ConsoleLogger({ isTerminal: false, write: (t) => { out += t; } });
 * await log.start({ totalSteps: 1000 });
 * await log.logResult({ training_iteration: 1, num_env_steps_sampled: 500, time_this_iter_s: 2 });
 * await log.close();
 * if (!out.includes("iter 1 | steps 500/1000") || !out.includes("ETA 0:02")) throw new Error(out);
 * ```
 */
export class ConsoleLogger implements Logger {
  /** `console`. */
  readonly name = "console";
  readonly #sink: ConsoleSink;
  readonly #bar: ProgressBar | undefined;
  #meta: RunMeta = {};
  #barStarted = false;
  #live = false;
  #prevSteps: number | undefined;
  #runSteps = 0;
  #runSeconds = 0;
  #runIterations = 0;
  #last: ResultLike | undefined;

  /**
   * A console logger writing to `sink`.
   * @param sink where the text goes
   * @param opts the live bar
   */
  constructor(sink: ConsoleSink, opts: ConsoleLoggerOptions = {}) {
    this.#sink = sink;
    this.#bar = opts.bar;
  }

  /**
   * Remembers the totals; prints a line when the run resumes.
   * @param meta the run's facts
   */
  start(meta: RunMeta = {}): Promise<void> {
    this.#meta = meta;
    if (meta.resumeFromIteration !== undefined) {
      this.#sink.write(
        `${meta.name ?? "run"}: resuming after iteration ${meta.resumeFromIteration}\n`,
      );
    }
    return Promise.resolve();
  }

  /**
   * Seconds left, from this process's pace (env steps per second, or seconds per iteration
   * when only `totalIterations` is known).
   * @param result the latest result
   * @returns seconds, or NaN when unknown
   */
  eta(result: ResultLike): number {
    const r = result as unknown as Record<string, unknown>;
    const steps = Number(r.num_env_steps_sampled ?? r.timesteps_total);
    const { totalSteps, totalIterations } = this.#meta;
    if (totalSteps !== undefined && Number.isFinite(steps) && this.#runSteps > 0) {
      return Math.max(0, totalSteps - steps) * this.#runSeconds / this.#runSteps;
    }
    if (totalIterations !== undefined && this.#runIterations > 0) {
      return Math.max(0, totalIterations - result.training_iteration) * this.#runSeconds /
        this.#runIterations;
    }
    return NaN;
  }

  #progress(result: ResultLike): { total: number; value: number } | undefined {
    const r = result as unknown as Record<string, unknown>;
    const steps = Number(r.num_env_steps_sampled ?? r.timesteps_total);
    if (this.#meta.totalSteps !== undefined && Number.isFinite(steps)) {
      return { total: this.#meta.totalSteps, value: Math.min(steps, this.#meta.totalSteps) };
    }
    if (this.#meta.totalIterations !== undefined) {
      return { total: this.#meta.totalIterations, value: result.training_iteration };
    }
    return undefined;
  }

  /**
   * Shows the iteration: updates the live line, or writes a plain line.
   * @param result the iteration's result
   */
  logResult(result: ResultLike): Promise<void> {
    const r = result as unknown as Record<string, unknown>;
    const steps = Number(r.num_env_steps_sampled ?? r.timesteps_total);
    const dt = typeof r.time_this_iter_s === "number" ? r.time_this_iter_s : 0;
    let dSteps = Number.isFinite(steps) && this.#prevSteps !== undefined
      ? steps - this.#prevSteps
      : NaN;
    if (!Number.isFinite(dSteps)) {
      const rate = typeof r.env_steps_per_s === "number" ? r.env_steps_per_s : NaN;
      dSteps = Number.isFinite(rate) ? rate * dt : Number.isFinite(steps) ? steps : 0;
    }
    if (Number.isFinite(steps)) this.#prevSteps = steps;
    this.#runSteps += dSteps;
    this.#runSeconds += dt;
    this.#runIterations++;
    this.#last = result;
    const line = formatResultLine(result, this.#meta.totalSteps);
    const progress = this.#progress(result);
    if (this.#sink.isTerminal && this.#bar !== undefined && progress !== undefined) {
      if (!this.#barStarted) this.#bar.start(progress.total, progress.value, { line });
      else this.#bar.update(progress.value, { line });
      this.#barStarted = true;
    } else if (this.#sink.isTerminal) {
      const pct = progress ? ` ${(100 * progress.value / progress.total).toFixed(1)}%` : "";
      this.#sink.write(`\r\x1b[2K${line}${pct} | ETA ${formatDuration(this.eta(result))}`);
      this.#live = true;
    } else {
      const eta = progress ? ` | ETA ${formatDuration(this.eta(result))}` : "";
      this.#sink.write(`${line}${eta}\n`);
    }
    const ev = r.evaluation;
    if (typeof ev === "object" && ev !== null) {
      this.#writeAbove(formatEvaluationLine(ev, {
        training_iteration: result.training_iteration,
        num_env_steps_sampled: Number.isFinite(steps) ? steps : 0,
      }));
    }
    return Promise.resolve();
  }

  /** Writes a whole line above the live one (or as a plain line). */
  #writeAbove(line: string): void {
    if (this.#barStarted && this.#bar!.log !== undefined) this.#bar!.log(line);
    else if (this.#sink.isTerminal) {
      this.#sink.write(`\r\x1b[2K${line}\n`);
      // The live line is redrawn by the bar's next render (or the next result).
    } else this.#sink.write(`${line}\n`);
  }

  /**
   * Writes the evaluation as a line.
   * @param evaluation the evaluation result
   * @param at the iteration it followed
   */
  logEvaluation(evaluation: object, at: IterationRef): Promise<void> {
    this.#writeAbove(formatEvaluationLine(evaluation, at));
    return Promise.resolve();
  }

  /** Stops the bar and writes a closing line. */
  close(): Promise<void> {
    if (this.#barStarted) this.#bar!.stop();
    else if (this.#live) this.#sink.write("\n");
    this.#barStarted = false;
    this.#live = false;
    const last = this.#last as unknown as Record<string, unknown> | undefined;
    if (last !== undefined) {
      this.#sink.write(
        `done: ${last.training_iteration} iterations, ${
          num(last.num_env_steps_sampled ?? last.timesteps_total)
        } env steps, ${formatDuration(Number(last.time_total_s))}\n`,
      );
      this.#last = undefined;
    }
    return Promise.resolve();
  }
}
