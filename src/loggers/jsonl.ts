/**
 * The JSONL logger: `results.jsonl`, one `train()` result per line exactly as returned
 * (`JSON.stringify`: NaN becomes `null`), and `evaluation.jsonl` for evaluations run outside
 * `train()`, one `{training_iteration, num_env_steps_sampled, evaluation}` per line.
 *
 * @module
 */

import {
  assertNoLostLines,
  encode,
  type IterationRef,
  jsonLineIteration,
  type LogDir,
  type Logger,
  type ResultLike,
  resumeLineFile,
  type RunMeta,
} from "./logger.ts";

/** The file of {@linkcode JsonlLogger}'s results. */
export const RESULTS_JSONL = "results.jsonl";
/** The file of {@linkcode JsonlLogger}'s evaluations run outside `train()`. */
export const EVALUATION_JSONL = "evaluation.jsonl";

/**
 * Guards the order of results: iterations must increase (a result logged twice would be a
 * duplicated line).
 * @param file the file named in the error
 * @param last the last iteration logged
 * @param result the new result
 * @returns the new result's iteration
 */
export function nextIteration(file: string, last: number, result: ResultLike): number {
  const it = result.training_iteration;
  if (!Number.isSafeInteger(it) || it <= last) {
    throw new RangeError(
      `${file}: training_iteration must increase, got ${it} after ${last} (a duplicated result?)`,
    );
  }
  return it;
}

/**
 * One JSON object per line: `results.jsonl` (every result as `train()` returned it) and
 * `evaluation.jsonl` (evaluations logged with {@linkcode JsonlLogger.logEvaluation}).
 *
 * @example
 * ```ts
 * import { MemoryLogDir } from "./logger.ts";
 * import { JsonlLogger } from "./jsonl.ts";
 * const dir = new MemoryLogDir();
 * const log = new JsonlLogger(dir);
 * await log.start();
 * await log.logResult({ training_iteration: 1, episode_reward_mean: NaN });
 * if (dir.text("results.jsonl") !== '{"training_iteration":1,"episode_reward_mean":null}\n') {
 *   throw new Error("jsonl");
 * }
 * ```
 */
export class JsonlLogger implements Logger {
  /** `jsonl`. */
  readonly name = "jsonl";
  readonly #dir: LogDir;
  #last = 0;
  #started = false;

  /**
   * A JSONL logger writing into `dir`.
   * @param dir the run directory
   */
  constructor(dir: LogDir) {
    this.#dir = dir;
  }

  /**
   * Opens the files; on resume keeps the lines up to `meta.resumeFromIteration`.
   * @param meta the run's facts
   */
  async start(meta: RunMeta = {}): Promise<void> {
    const k = meta.resumeFromIteration;
    const r = await resumeLineFile(this.#dir, RESULTS_JSONL, k, jsonLineIteration);
    this.#last = r.lines.length ? jsonLineIteration(r.lines.at(-1)!)! : 0;
    if (k !== undefined && r.existed) assertNoLostLines(RESULTS_JSONL, this.#last, k);
    await resumeLineFile(this.#dir, EVALUATION_JSONL, k, jsonLineIteration);
    this.#started = true;
  }

  /**
   * Appends the result as one line.
   * @param result the iteration's result
   */
  async logResult(result: ResultLike): Promise<void> {
    if (!this.#started) throw new Error("JsonlLogger: start() first");
    const it = nextIteration(RESULTS_JSONL, this.#last, result);
    await this.#dir.append(RESULTS_JSONL, encode(JSON.stringify(result) + "\n"));
    this.#last = it;
  }

  /**
   * Appends an evaluation to `evaluation.jsonl`.
   * @param evaluation the evaluation result
   * @param at the iteration it followed
   */
  async logEvaluation(evaluation: object, at: IterationRef): Promise<void> {
    if (!this.#started) throw new Error("JsonlLogger: start() first");
    const line = {
      training_iteration: at.training_iteration,
      num_env_steps_sampled: at.num_env_steps_sampled,
      evaluation,
    };
    await this.#dir.append(EVALUATION_JSONL, encode(JSON.stringify(line) + "\n"));
  }

  /** Closes the directory's handles. */
  async close(): Promise<void> {
    await this.#dir.close?.();
  }
}
