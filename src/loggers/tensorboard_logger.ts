/**
 * The TensorBoard logger: an event file `events.out.tfevents.<seconds>.<host>` in the run
 * directory with one `Event` per iteration holding every numeric leaf of the result as a
 * scalar, named as Ray Tune's `TBXLoggerCallback` names them: `ray/tune/<flattened key>`, so
 * per policy `ray/tune/policy_reward_mean/<policy>` and
 * `ray/tune/info/learner/<policy>/learner_stats/kl`, the evaluation under
 * `ray/tune/evaluation/...`. The step is the env steps sampled (`num_env_steps_sampled`,
 * else `timesteps_total`, else the iteration). As in Ray, NaN values and `config`, `pid`,
 * `timestamp` and `time_total_s` are left out; unlike Ray, `ray/tune/training_iteration` is
 * kept: it is how a resume finds the events of later iterations to drop.
 *
 * @module
 */

import {
  assertNoLostLines,
  flattenResult,
  type IterationRef,
  type LogDir,
  type Logger,
  type ResultLike,
  type RunMeta,
} from "./logger.ts";
import { decodeEvent, readTfRecords, TensorBoardEvents } from "./tensorboard.ts";

/** The tag every iteration's event carries, read back on resume. */
export const ITERATION_TAG = "ray/tune/training_iteration";
/** The tag of an evaluation event's iteration ({@linkcode TensorBoardLogger.logEvaluation}). */
export const EVALUATION_ITERATION_TAG = "ray/tune/evaluation/training_iteration";

const EXCLUDED = ["config", "pid", "timestamp", "time_total_s"];

/**
 * The scalars of one result: `ray/tune/<key>` for every finite numeric leaf.
 *
 * @example
 * ```ts
 * import { resultScalars } from "./tensorboard_logger.ts";
 * const s = resultScalars({ training_iteration: 2, policy_reward_mean: { low: 1.5, high: NaN } });
 * if (s["ray/tune/policy_reward_mean/low"] !== 1.5 || "ray/tune/policy_reward_mean/high" in s) {
 *   throw new Error("scalars");
 * }
 * ```
 *
 * @param result a result
 * @param prefix the tag prefix (default `ray/tune`)
 * @returns tag → value
 */
export function resultScalars(result: object, prefix = "ray/tune"): Record<string, number> {
  const flat = flattenResult(result, { prefix, numericOnly: true, exclude: EXCLUDED });
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(flat)) if (Number.isFinite(v)) out[k] = v as number;
  return out;
}

/**
 * The TensorBoard step of a result: env steps sampled, else `timesteps_total`, else the
 * iteration.
 * @param result a result
 * @returns the step
 */
export function resultStep(result: ResultLike): number {
  const r = result as unknown as Record<string, unknown>;
  for (const k of ["num_env_steps_sampled", "timesteps_total"]) {
    const v = r[k];
    if (typeof v === "number" && Number.isSafeInteger(v) && v > 0) return v;
  }
  return result.training_iteration;
}

/** Options of {@linkcode TensorBoardLogger}. */
export interface TensorBoardLoggerOptions {
  /** Wall clock in seconds (default `Date.now() / 1000`). */
  now?: () => number;
  /** The host part of a new event file's name (default `coop`). */
  hostname?: string;
}

/**
 * Writes TensorBoard event files through a {@linkcode LogDir}; each event is one append.
 *
 * @example
 * ```ts
 * import { MemoryLogDir } from "./logger.ts";
 * import { TensorBoardLogger } from "./tensorboard_logger.ts";
 * const dir = new MemoryLogDir();
 * const tb = new TensorBoardLogger(dir, { now: () => 1700000000, hostname: "h" });
 * await tb.start();
 * await tb.logResult({ training_iteration: 1, num_env_steps_sampled: 512, episode_reward_mean: 3 });
 * if (!dir.files.has("events.out.tfevents.1700000000.h")) throw new Error("tb");
 * ```
 */
export class TensorBoardLogger implements Logger {
  /** `tensorboard`. */
  readonly name = "tensorboard";
  readonly #dir: LogDir;
  readonly #events: TensorBoardEvents;
  readonly #now: () => number;
  readonly #hostname: string;
  #file: string | undefined;
  #last = 0;

  /**
   * A TensorBoard logger writing into `dir`.
   * @param dir the run directory
   * @param opts clock and host name
   */
  constructor(dir: LogDir, opts: TensorBoardLoggerOptions = {}) {
    this.#dir = dir;
    this.#now = opts.now ?? (() => Date.now() / 1000);
    this.#events = new TensorBoardEvents(this.#now);
    this.#hostname = opts.hostname ?? "coop";
  }

  /** The event file written to (after `start`). */
  get file(): string | undefined {
    return this.#file;
  }

  /**
   * Opens the event file. Fresh start: a run directory that already has event files is an
   * error. Resume: every event file keeps its events up to iteration
   * `meta.resumeFromIteration` (and drops later ones and a torn tail); writing goes on in the
   * newest file.
   * @param meta the run's facts
   */
  async start(meta: RunMeta = {}): Promise<void> {
    const k = meta.resumeFromIteration;
    const files = (await this.#dir.list()).filter((f) => f.startsWith("events.out.tfevents."));
    if (k === undefined) {
      for (const f of files) {
        if ((await this.#dir.read(f))?.length) {
          throw new Error(`${f} already exists; resume the run or use a new directory`);
        }
      }
    }
    this.#last = 0;
    this.#file = undefined;
    if (k !== undefined) {
      for (const f of files) {
        const bytes = (await this.#dir.read(f)) ?? new Uint8Array();
        const { records, offsets, validLength } = readTfRecords(bytes);
        let keep = validLength;
        for (const [i, rec] of records.entries()) {
          const e = decodeEvent(rec);
          const it = e.scalars[ITERATION_TAG] ?? e.scalars[EVALUATION_ITERATION_TAG];
          if (it !== undefined && it > k) {
            keep = offsets[i]!;
            break;
          }
          if (e.scalars[ITERATION_TAG] !== undefined) {
            this.#last = Math.max(this.#last, e.scalars[ITERATION_TAG]!);
          }
        }
        if (keep < bytes.length) await this.#dir.replace(f, bytes.slice(0, keep));
      }
      this.#file = files.at(-1);
      if (files.length > 0) assertNoLostLines(this.#file!, this.#last, k);
    }
    if (this.#file === undefined) {
      let name = `events.out.tfevents.${Math.floor(this.#now())}.${this.#hostname}`;
      for (let i = 1; files.includes(name); i++) name += `.${i}`;
      this.#file = name;
      await this.#dir.append(name, this.#events.header());
    }
  }

  /**
   * Appends the result's scalars as one event at step = env steps sampled.
   * @param result the iteration's result
   */
  async logResult(result: ResultLike): Promise<void> {
    if (this.#file === undefined) throw new Error("TensorBoardLogger: start() first");
    const it = result.training_iteration;
    if (!(it > this.#last)) {
      throw new RangeError(
        `${this.#file}: training_iteration must increase, got ${it} after ${this.#last}`,
      );
    }
    const scalars = resultScalars(result);
    scalars[ITERATION_TAG] = it;
    await this.#dir.append(this.#file, this.#events.scalars(resultStep(result), scalars));
    this.#last = it;
  }

  /**
   * Appends an evaluation's scalars (`ray/tune/evaluation/...`) as one event.
   * @param evaluation the evaluation result
   * @param at the iteration it followed (its env steps are the step)
   */
  async logEvaluation(evaluation: object, at: IterationRef): Promise<void> {
    if (this.#file === undefined) throw new Error("TensorBoardLogger: start() first");
    const scalars = resultScalars(evaluation, "ray/tune/evaluation");
    scalars[EVALUATION_ITERATION_TAG] = at.training_iteration;
    const step = at.num_env_steps_sampled > 0 ? at.num_env_steps_sampled : at.training_iteration;
    await this.#dir.append(this.#file, this.#events.scalars(step, scalars));
  }

  /** Closes the directory's handles. */
  async close(): Promise<void> {
    await this.#dir.close?.();
  }
}
