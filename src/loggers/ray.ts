/**
 * `result.json` and `progress.csv` as Ray Tune's `JsonLoggerCallback` and `CSVLoggerCallback`
 * write them, so the tools that read Tune's trial directories (pandas, `ExperimentAnalysis`)
 * read coop's runs:
 *
 * - every result gets Tune's auto-filled fields: `trial_id` (the run's name), `date`
 *   (`%Y-%m-%d_%H-%M-%S`, local time), `timestamp` (Unix seconds), `time_since_restore`,
 *   `iterations_since_restore`, `done` (false), `pid`/`hostname`/`node_ip` when the runner
 *   gives them, and in `result.json` only, `config`;
 * - `result.json` is JSON lines, one result per iteration, written as Python's `json.dump`
 *   writes them (NaN is the bare token `NaN`);
 * - `progress.csv` is Python's `csv.DictWriter` output: a header of the flattened keys (`/`
 *   separators), rows ended by `\r\n`, minimal quoting, numbers as Python prints them (`1e-05`,
 *   `nan`, `True`). Coop's rule for keys that appear after the header was written (Ray drops
 *   them): the file is rewritten once (atomically) with the new columns appended to the header
 *   and empty cells in the earlier rows, so evaluation columns that first appear at iteration 5
 *   are in the file. A missing key is an empty cell (as in Ray). Line breaks inside string
 *   values are written as spaces so that each row is one line.
 *
 * @module
 */

import {
  assertNoLostLines,
  encode,
  flattenResult,
  type IterationRef,
  jsonLineIteration,
  jsonWithNaN,
  type LogDir,
  type Logger,
  type ResultLike,
  resumeLineFile,
  type RunMeta,
} from "./logger.ts";
import { nextIteration } from "./jsonl.ts";

/** Ray Tune's JSON results file. */
export const RESULT_JSON = "result.json";
/** Ray Tune's CSV progress file. */
export const PROGRESS_CSV = "progress.csv";

/**
 * A number as Python's `repr(float)` prints it (`str(int)` for integral values, which JS
 * cannot tell from floats): `1e-05`, `0.0001`, `1.5e+16`, `nan`, `inf`.
 *
 * @example
 * ```ts
 * import { pythonNumber } from "./ray.ts";
 * const got = [1e-5, 0.25, 4096, NaN, -Infinity, 2e16].map(pythonNumber).join(" ");
 * if (got !== "1e-05 0.25 4096 nan -inf 2e+16") throw new Error(got);
 * ```
 *
 * @param x the number
 * @returns its text
 */
export function pythonNumber(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return String(x);
  const [mant, exp] = x.toExponential().split("e") as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= 16) {
    const digits = String(Math.abs(e)).padStart(2, "0");
    return `${mant}e${e < 0 ? "-" : "+"}${digits}`;
  }
  return String(x);
}

/**
 * One CSV cell as Python's `csv` module writes a value (minimal quoting).
 * @param v the value
 * @returns the cell's text
 */
export function csvCell(v: unknown): string {
  let s: string;
  if (v === undefined || v === null) s = "";
  else if (typeof v === "number") s = pythonNumber(v);
  else if (typeof v === "boolean") s = v ? "True" : "False";
  else if (typeof v === "string") s = v;
  else s = pythonRepr(v);
  s = s.replace(/[\r\n]+/g, " ");
  return /[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function pythonRepr(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pythonRepr).join(", ")}]`;
  if (typeof v === "string") return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  if (typeof v === "number") return pythonNumber(v);
  if (typeof v === "boolean") return v ? "True" : "False";
  if (v === null || v === undefined) return "None";
  return `{${
    Object.entries(v as Record<string, unknown>).map(([k, x]) =>
      `${pythonRepr(k)}: ${pythonRepr(x)}`
    )
      .join(", ")
  }}`;
}

/**
 * Splits one CSV line into cells (quotes as Python writes them).
 * @param line the line, without its end
 * @returns the cells, unquoted
 */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let cell = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new SyntaxError("unterminated quote");
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            cell += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else cell += line[i++];
      }
    } else {
      while (i < line.length && line[i] !== ",") cell += line[i++];
    }
    out.push(cell);
    if (i >= line.length) return out;
    if (line[i] !== ",") throw new SyntaxError(`expected "," at ${i}`);
    i++;
  }
}

/** Ray Tune's auto-filled result fields, kept across the iterations of one process. */
class TuneFields {
  #timeSinceRestore = 0;
  #iterationsSinceRestore = 0;
  readonly #meta: RunMeta;
  readonly #now: () => number;

  constructor(meta: RunMeta, now: () => number) {
    this.#meta = meta;
    this.#now = now;
  }

  /** The result with Tune's fields added (after the result's own). */
  fill(result: ResultLike, withConfig: boolean): Record<string, unknown> {
    const r = result as unknown as Record<string, unknown>;
    const t = typeof r.time_this_iter_s === "number" ? r.time_this_iter_s : 0;
    this.#timeSinceRestore += t;
    this.#iterationsSinceRestore++;
    const ms = this.#now();
    const d = new Date(ms);
    const p = (n: number) => String(n).padStart(2, "0");
    const date = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}-${
      p(d.getMinutes())
    }-${p(d.getSeconds())}`;
    const out: Record<string, unknown> = {
      ...r,
      timestamp: Math.floor(ms / 1000),
      done: false,
      trial_id: this.#meta.name ?? "coop",
      date,
      time_since_restore: this.#timeSinceRestore,
      iterations_since_restore: this.#iterationsSinceRestore,
    };
    const h = this.#meta.host;
    if (h?.pid !== undefined) out.pid = h.pid;
    if (h?.hostname !== undefined) out.hostname = h.hostname;
    if (h?.node_ip !== undefined) out.node_ip = h.node_ip;
    if (withConfig && this.#meta.config !== undefined) out.config = this.#meta.config;
    return out;
  }
}

/** Options of the Ray Tune loggers. */
export interface RayLoggerOptions {
  /** Wall clock in milliseconds (default `Date.now`), for `date` and `timestamp`. */
  now?: () => number;
}

/**
 * `result.json` as Ray Tune writes it: one JSON object per line and iteration, with Tune's
 * fields and `config`. An evaluation is logged as the result's `evaluation` field.
 *
 * @example
 * ```ts
 * import { MemoryLogDir } from "./logger.ts";
 * import { RayJsonLogger } from "./ray.ts";
 * const dir = new MemoryLogDir();
 * const log = new RayJsonLogger(dir, { now: () => 0 });
 * await log.start({ name: "t1" });
 * await log.logResult({ training_iteration: 1, episode_reward_mean: NaN });
 * if (!dir.text("result.json")!.startsWith('{"training_iteration":1,"episode_reward_mean":NaN,')) {
 *   throw new Error("result.json");
 * }
 * ```
 */
export class RayJsonLogger implements Logger {
  /** `json`. */
  readonly name = "json";
  readonly #dir: LogDir;
  readonly #now: () => number;
  #tune: TuneFields | undefined;
  #last = 0;

  /**
   * A logger writing into `dir`.
   * @param dir the run directory
   * @param opts the clock
   */
  constructor(dir: LogDir, opts: RayLoggerOptions = {}) {
    this.#dir = dir;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * Opens `result.json`; on resume keeps the lines up to `meta.resumeFromIteration`.
   * @param meta the run's facts
   */
  async start(meta: RunMeta = {}): Promise<void> {
    const k = meta.resumeFromIteration;
    const r = await resumeLineFile(this.#dir, RESULT_JSON, k, jsonLineIteration);
    this.#last = r.lines.length ? jsonLineIteration(r.lines.at(-1)!)! : 0;
    if (k !== undefined && r.existed) assertNoLostLines(RESULT_JSON, this.#last, k);
    this.#tune = new TuneFields(meta, this.#now);
  }

  /**
   * Appends the result with Tune's fields as one line.
   * @param result the iteration's result
   */
  async logResult(result: ResultLike): Promise<void> {
    if (this.#tune === undefined) throw new Error("RayJsonLogger: start() first");
    const it = nextIteration(RESULT_JSON, this.#last, result);
    const r = result;
    await this.#dir.append(RESULT_JSON, encode(jsonWithNaN(this.#tune.fill(r, true)) + "\n"));
    this.#last = it;
  }

  /**
   * Nothing: Tune's files have one row per iteration, and an evaluation belongs in the
   * result's `evaluation` field (where `train()` puts it with `evaluationInterval`).
   * @param _evaluation the evaluation result
   * @param _at the iteration it followed
   */
  logEvaluation(_evaluation: object, _at: IterationRef): Promise<void> {
    return Promise.resolve();
  }

  /** Closes the directory's handles. */
  async close(): Promise<void> {
    await this.#dir.close?.();
  }
}

/**
 * `progress.csv` as Ray Tune writes it (see the module doc for the rule on new keys).
 *
 * @example
 * ```ts
 * import { MemoryLogDir } from "./logger.ts";
 * import { CsvLogger } from "./ray.ts";
 * const dir = new MemoryLogDir();
 * const log = new CsvLogger(dir, { now: () => 0, tuneFields: false });
 * await log.start();
 * await log.logResult({ training_iteration: 1, info: { lr: 1e-5 } });
 * if (dir.text("progress.csv") !== "training_iteration,info/lr\r\n1,1e-05\r\n") {
 *   throw new Error("csv");
 * }
 * ```
 */
export class CsvLogger implements Logger {
  /** `csv`. */
  readonly name = "csv";
  readonly #dir: LogDir;
  readonly #now: () => number;
  readonly #tuneFields: boolean;
  #tune: TuneFields | undefined;
  #columns: string[] = [];
  #last = 0;

  /**
   * A logger writing into `dir`.
   * @param dir the run directory
   * @param opts the clock; `tuneFields: false` leaves out Tune's auto-filled fields
   */
  constructor(dir: LogDir, opts: RayLoggerOptions & { tuneFields?: boolean } = {}) {
    this.#dir = dir;
    this.#now = opts.now ?? Date.now;
    this.#tuneFields = opts.tuneFields ?? true;
  }

  /** The columns of the header, in order. */
  get columns(): readonly string[] {
    return this.#columns;
  }

  /**
   * Opens `progress.csv`; on resume keeps the header and the rows up to
   * `meta.resumeFromIteration`.
   * @param meta the run's facts
   */
  async start(meta: RunMeta = {}): Promise<void> {
    const k = meta.resumeFromIteration;
    let itCol = -1, width = 0;
    const r = await resumeLineFile(this.#dir, PROGRESS_CSV, k, (line, i) => {
      const cells = parseCsvLine(line);
      if (i === 0) {
        itCol = cells.indexOf("training_iteration");
        width = cells.length;
        return itCol < 0 ? undefined : 0;
      }
      if (cells.length !== width) return undefined;
      const it = Number(cells[itCol]);
      return Number.isSafeInteger(it) ? it : undefined;
    }, "\r\n");
    this.#columns = r.lines.length ? parseCsvLine(r.lines[0]!) : [];
    this.#last = r.lines.length > 1 ? Number(parseCsvLine(r.lines.at(-1)!)[itCol]) : 0;
    if (k !== undefined && r.existed) assertNoLostLines(PROGRESS_CSV, this.#last, k);
    this.#tune = new TuneFields(meta, this.#now);
  }

  /**
   * Appends the result's row; new keys rewrite the file with a wider header first.
   * @param result the iteration's result
   */
  async logResult(result: ResultLike): Promise<void> {
    if (this.#tune === undefined) throw new Error("CsvLogger: start() first");
    const it = nextIteration(PROGRESS_CSV, this.#last, result);
    const r = result;
    const full = this.#tuneFields ? this.#tune.fill(r, false) : r;
    const flat = flattenResult(full, { exclude: ["config"] });
    const known = new Set(this.#columns);
    const added = Object.keys(flat).filter((k) => !known.has(k));
    const row = (cols: readonly string[]) => cols.map((c) => csvCell(flat[c])).join(",") + "\r\n";
    if (this.#columns.length === 0) {
      this.#columns = added;
      await this.#dir.append(
        PROGRESS_CSV,
        encode(this.#columns.map(csvCell).join(",") + "\r\n" + row(this.#columns)),
      );
    } else if (added.length > 0) {
      // Rewrite once with the new columns; earlier rows get empty cells for them.
      const old = new TextDecoder().decode(await this.#dir.read(PROGRESS_CSV) ?? new Uint8Array());
      const lines = old.split("\r\n").filter((l, i, a) => i < a.length - 1 || l !== "");
      const columns = [...this.#columns, ...added];
      const pad = ",".repeat(added.length);
      const body = lines.slice(1).map((l) => l + pad + "\r\n").join("");
      await this.#dir.replace(
        PROGRESS_CSV,
        encode(columns.map(csvCell).join(",") + "\r\n" + body + row(columns)),
      );
      this.#columns = columns;
    } else {
      await this.#dir.append(PROGRESS_CSV, encode(row(this.#columns)));
    }
    this.#last = it;
  }

  /**
   * Nothing: Tune's files have one row per iteration, and an evaluation belongs in the
   * result's `evaluation` field (where `train()` puts it with `evaluationInterval`).
   * @param _evaluation the evaluation result
   * @param _at the iteration it followed
   */
  logEvaluation(_evaluation: object, _at: IterationRef): Promise<void> {
    return Promise.resolve();
  }

  /** Closes the directory's handles. */
  async close(): Promise<void> {
    await this.#dir.close?.();
  }
}
