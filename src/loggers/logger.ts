/**
 * What every logger shares: the {@linkcode Logger} interface a runner calls once per training
 * iteration, the directory adapter the file loggers write through ({@linkcode LogDir}; the
 * Deno implementation is `FileLogDir` in `src/runtime/log_files.ts`, {@linkcode MemoryLogDir}
 * is the in-memory one), the one flattening rule of nested results ({@linkcode flattenResult}:
 * `info/learner/<policy>/learner_stats/kl`), and resumable line files
 * ({@linkcode resumeLineFile}).
 *
 * Resume contract: a logger started with `resumeFromIteration: k` on a run directory keeps the
 * lines (records) of iterations `1..k` of its files and drops everything after them, including
 * a line a kill cut in half; a runner that logs the result of iteration `k` before it saves the
 * checkpoint of iteration `k` then neither duplicates nor loses a line when it resumes from that
 * checkpoint. Each line (record) is written with one append of its complete bytes, so a line is
 * on disk whole or (after a crash of the machine) as a torn tail that the next resume drops.
 *
 * @module
 */

/** RLlib's iteration counter, what every logged result has. */
export interface HasIteration {
  /** Iterations done so far (1 after the first `train()`). */
  readonly training_iteration: number;
}

/**
 * What a logger logs: a `TrainResult`, or any object with `training_iteration` (an object
 * literal with more fields, a result read back from a log).
 */
export type ResultLike = HasIteration | (HasIteration & Readonly<Record<string, unknown>>);

/** Where an evaluation run outside `train()` belongs on the run's axes. */
export interface IterationRef {
  /** The training iteration the evaluation followed. */
  training_iteration: number;
  /** Env steps sampled by training up to then (TensorBoard's step). */
  num_env_steps_sampled: number;
}

/** What a runner tells its loggers when a run starts (or resumes). */
export interface RunMeta {
  /** The run's name (Ray Tune's `trial_id` in `result.json`; default `"coop"`). */
  name?: string;
  /** Env steps the run is to sample (the console's bar and ETA). */
  totalSteps?: number;
  /** Iterations the run is to do (the console's bar when `totalSteps` is unset). */
  totalIterations?: number;
  /**
   * Resume: the iteration of the checkpoint the run continues from. Lines of later iterations
   * are dropped from the existing files; unset (or 0 with no files) starts fresh, and then a
   * log file that already holds lines is an error (nothing is overwritten).
   */
  resumeFromIteration?: number;
  /** The run's configuration (Ray Tune's `config` in `result.json`). */
  config?: unknown;
  /** Process facts Ray Tune adds to each result (`pid`, `hostname`, `node_ip`). */
  host?: { pid?: number; hostname?: string; node_ip?: string };
}

/**
 * A destination of training results. The runner calls {@linkcode Logger.start} once, then
 * {@linkcode Logger.logResult} after every iteration (awaiting it before saving that
 * iteration's checkpoint), {@linkcode Logger.logEvaluation} for evaluations run outside
 * `train()`, and {@linkcode Logger.close} at the end (also after an error).
 */
export interface Logger {
  /** Short name (`console`, `jsonl`, `csv`, `json`, `tensorboard`). */
  readonly name: string;
  /**
   * Opens the logger's files; on resume, drops what follows `meta.resumeFromIteration`.
   * @param meta the run's facts
   */
  start(meta?: RunMeta): Promise<void>;
  /**
   * Logs one iteration's result; its `evaluation` field, when present, is logged with it under
   * `evaluation/...` names.
   * @param result the result of `algo.train()` (or any object with `training_iteration`)
   */
  logResult(result: ResultLike): Promise<void>;
  /**
   * Logs an evaluation run outside `train()` (e.g. a test after training) under
   * `evaluation/...` names.
   * @param evaluation the result of `algo.evaluate()`
   * @param at the iteration it followed
   */
  logEvaluation(evaluation: object, at: IterationRef): Promise<void>;
  /** Flushes and closes. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * A directory of log files, by file name. `append` writes its bytes with one write at the end
 * of the file (O_APPEND), `replace` swaps the whole file atomically (temporary file, rename).
 */
export interface LogDir {
  /**
   * Reads a file.
   * @param name the file's name in the directory
   * @returns its bytes, or undefined when it does not exist
   */
  read(name: string): Promise<Uint8Array | undefined>;
  /**
   * Appends bytes (creating the file) with one write.
   * @param name the file's name
   * @param data the bytes, whole lines
   */
  append(name: string, data: Uint8Array): Promise<void>;
  /**
   * Replaces a file atomically (creating it).
   * @param name the file's name
   * @param data the new content
   */
  replace(name: string, data: Uint8Array): Promise<void>;
  /**
   * The files of the directory.
   * @returns file names, sorted; empty when the directory does not exist
   */
  list(): Promise<string[]>;
  /** Releases open handles (optional). */
  close?(): Promise<void>;
}

/**
 * A {@linkcode LogDir} in memory (tests, browsers).
 *
 * @example
 * ```ts
 * import { MemoryLogDir } from "./logger.ts";
 * const dir = new MemoryLogDir();
 * await dir.append("a.txt", new TextEncoder().encode("x\n"));
 * if (dir.text("a.txt") !== "x\n") throw new Error("append");
 * ```
 */
export class MemoryLogDir implements LogDir {
  /** The files. */
  readonly files: Map<string, Uint8Array> = new Map();
  /**
   * Reads a file.
   * @param name the file
   * @returns a copy of its bytes, or undefined
   */
  read(name: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.files.get(name)?.slice());
  }
  /**
   * Appends bytes.
   * @param name the file
   * @param data the bytes
   */
  append(name: string, data: Uint8Array): Promise<void> {
    const old = this.files.get(name) ?? new Uint8Array(0);
    const b = new Uint8Array(old.length + data.length);
    b.set(old);
    b.set(data, old.length);
    this.files.set(name, b);
    return Promise.resolve();
  }
  /**
   * Replaces a file.
   * @param name the file
   * @param data the bytes
   */
  replace(name: string, data: Uint8Array): Promise<void> {
    this.files.set(name, data.slice());
    return Promise.resolve();
  }
  /**
   * Lists the files.
   * @returns names, sorted
   */
  list(): Promise<string[]> {
    return Promise.resolve([...this.files.keys()].sort());
  }
  /**
   * A file as text (a test helper).
   * @param name the file
   * @returns its UTF-8 text, or undefined
   */
  text(name: string): string | undefined {
    const b = this.files.get(name);
    return b === undefined ? undefined : new TextDecoder().decode(b);
  }
}

/** Options of {@linkcode flattenResult}. */
export interface FlattenOptions {
  /** Prepended to every key, joined with `/` (default none). */
  prefix?: string;
  /** Keep only numbers (booleans become 1 and 0); for scalar summaries. Default false. */
  numericOnly?: boolean;
  /** Top-level keys to leave out (e.g. Ray's `config`). */
  exclude?: readonly string[];
}

/**
 * Flattens a nested result to `/`-joined keys, Ray Tune's `flatten_dict(result, "/")`: nested
 * plain objects are walked in key order; numbers, strings, booleans, null and arrays are leaves
 * (`numericOnly`: numbers and booleans only). The one flattening rule of every logger.
 *
 * @example
 * ```ts
 * import { flattenResult } from "./logger.ts";
 * const f = flattenResult({ a: 1, info: { learner: { p: { kl: 0.1 } } }, s: "x" });
 * if (f["info/learner/p/kl"] !== 0.1 || f.s !== "x") throw new Error("flatten");
 * ```
 *
 * @param result a result object
 * @param opts prefix, numeric-only, excluded keys
 * @returns key → leaf value, in first-seen order
 */
export function flattenResult(
  result: unknown,
  opts: FlattenOptions = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const numericOnly = opts.numericOnly ?? false;
  const exclude = new Set(opts.exclude ?? []);
  const walk = (x: unknown, path: string, top: boolean) => {
    if (typeof x === "number") out[path] = x;
    else if (typeof x === "boolean") out[path] = numericOnly ? (x ? 1 : 0) : x;
    else if (isPlainObject(x)) {
      for (const [k, v] of Object.entries(x)) {
        if (top && exclude.has(k)) continue;
        walk(v, path === "" ? k : `${path}/${k}`, false);
      }
    } else if (!numericOnly && (typeof x === "string" || x === null || Array.isArray(x))) {
      out[path] = x;
    }
  };
  walk(result, opts.prefix ?? "", true);
  return out;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x);
}

/**
 * JSON as Python's `json.dumps` writes it for Ray Tune's `result.json`: like `JSON.stringify`
 * but non-finite numbers are the bare tokens `NaN`, `Infinity` and `-Infinity` (which
 * Python's and pandas' readers accept; {@linkcode parseJsonLine} reads them back).
 *
 * @example
 * ```ts
 * import { jsonWithNaN } from "./logger.ts";
 * if (jsonWithNaN({ a: NaN, b: [1, -Infinity] }) !== '{"a":NaN,"b":[1,-Infinity]}') {
 *   throw new Error("json");
 * }
 * ```
 *
 * @param value a JSON-like value
 * @returns one line of JSON
 */
export function jsonWithNaN(value: unknown): string {
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => jsonWithNaN(v ?? null)).join(",")}]`;
  if (isPlainObject(value)) {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || typeof v === "function") continue;
      parts.push(`${JSON.stringify(k)}:${jsonWithNaN(v)}`);
    }
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * Parses one JSON line that may hold Python's `NaN`, `Infinity` and `-Infinity` tokens.
 *
 * @example
 * ```ts
 * import { parseJsonLine } from "./logger.ts";
 * const v = parseJsonLine('{"a":NaN,"s":"NaN","b":-Infinity}') as Record<string, unknown>;
 * if (!Number.isNaN(v.a) || v.s !== "NaN" || v.b !== -Infinity) throw new Error("parse");
 * ```
 *
 * @param line the text
 * @returns the value
 */
export function parseJsonLine(line: string): unknown {
  if (!/NaN|Infinity/.test(line)) return JSON.parse(line);
  // Replace the bare tokens (outside strings) with marker strings, then revive them.
  const marks = { NaN: "\u0000NaN", Infinity: "\u0000Inf", "-Infinity": "\u0000-Inf" } as const;
  let out = "";
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === "\\" ? 2 : 1;
      out += line.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const m = /^(-Infinity|Infinity|NaN)/.exec(line.slice(i, i + 9));
    if (m) {
      out += JSON.stringify(marks[m[1] as keyof typeof marks]);
      i += m[1]!.length;
      continue;
    }
    out += c;
    i++;
  }
  return JSON.parse(out, (_k, v) => {
    if (v === marks.NaN) return NaN;
    if (v === marks.Infinity) return Infinity;
    if (v === marks["-Infinity"]) return -Infinity;
    return v;
  });
}

/** What {@linkcode resumeLineFile} kept. */
export interface ResumedLines {
  /** The whole lines kept (without their line ends). */
  lines: string[];
  /** Whether the file existed. */
  existed: boolean;
  /** Lines dropped (later iterations, or a torn or unreadable tail). */
  dropped: number;
}

/**
 * Opens a line file of a run for appending: on a fresh start (`resumeFromIteration`
 * undefined) it must be absent or empty; on a resume, the lines whose iteration
 * (`iterationOf`) is at most `resumeFromIteration` are kept, up to the first line that is
 * later, unreadable or not ended by a newline, and the file is replaced atomically by them when
 * anything was dropped (a crash during that replacement leaves the old file, and the next
 * resume does the same again).
 *
 * @param dir the run directory
 * @param name the file
 * @param resumeFromIteration the checkpoint's iteration, or undefined for a fresh start
 * @param iterationOf the iteration of a line (undefined: unreadable); `index` counts lines
 * @param lineEnd the line terminator (`"\n"`, or `"\r\n"` for CSV)
 * @returns the kept lines
 */
export async function resumeLineFile(
  dir: LogDir,
  name: string,
  resumeFromIteration: number | undefined,
  iterationOf: (line: string, index: number) => number | undefined,
  lineEnd = "\n",
): Promise<ResumedLines> {
  const bytes = await dir.read(name);
  if (bytes === undefined) return { lines: [], existed: false, dropped: 0 };
  const text = new TextDecoder().decode(bytes);
  if (resumeFromIteration === undefined) {
    if (text.length > 0) {
      throw new Error(
        `${name} already holds a log; resume the run (resumeFromIteration) or use a new directory`,
      );
    }
    return { lines: [], existed: true, dropped: 0 };
  }
  const parts = text.split(lineEnd);
  const tail = parts.pop()!; // after the last line end: "" or a torn line
  const lines: string[] = [];
  for (const [i, line] of parts.entries()) {
    let it: number | undefined;
    try {
      it = iterationOf(line, i);
    } catch {
      it = undefined;
    }
    if (it === undefined || !(it <= resumeFromIteration)) break;
    lines.push(line);
  }
  const dropped = parts.length - lines.length + (tail === "" ? 0 : 1);
  if (dropped > 0) {
    await dir.replace(name, encode(lines.map((l) => l + lineEnd).join("")));
  }
  return { lines, existed: true, dropped };
}

/**
 * The iteration of a JSON line (its `training_iteration`).
 * @param line one JSON object
 * @returns the iteration, or undefined when the line is not such an object
 */
export function jsonLineIteration(line: string): number | undefined {
  const v = parseJsonLine(line) as { training_iteration?: unknown } | null;
  return typeof v?.training_iteration === "number" ? v.training_iteration : undefined;
}

/**
 * Checks that a resumed results file ends at the checkpoint's iteration: fewer lines mean the
 * process was killed after saving the checkpoint but before logging its result, and lines
 * would be lost.
 * @param name the file
 * @param lastIteration the iteration of its last kept line (0 when none)
 * @param resumeFromIteration the checkpoint's iteration
 */
export function assertNoLostLines(
  name: string,
  lastIteration: number,
  resumeFromIteration: number,
): void {
  if (lastIteration < resumeFromIteration) {
    throw new Error(
      `${name} ends at iteration ${lastIteration} but the run resumes from iteration ${resumeFromIteration}: ` +
        `results would be lost (log each iteration's result before saving its checkpoint)`,
    );
  }
}

/**
 * UTF-8 bytes of a string.
 * @param s the text
 * @returns the bytes
 */
export function encode(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/**
 * Fans every call out to several loggers, in order; `close` closes all of them even when one
 * fails (the first error is thrown after).
 *
 * @example
 * ```ts
 * import { MemoryLogDir, MultiLogger } from "./logger.ts";
 * import { JsonlLogger } from "./jsonl.ts";
 * const dir = new MemoryLogDir();
 * const log = new MultiLogger([new JsonlLogger(dir)]);
 * await log.start();
 * await log.logResult({ training_iteration: 1 });
 * await log.close();
 * if (dir.text("results.jsonl") !== '{"training_iteration":1}\n') throw new Error("multi");
 * ```
 */
export class MultiLogger implements Logger {
  /** `multi`. */
  readonly name = "multi";
  /** The loggers, in call order. */
  readonly loggers: readonly Logger[];
  /**
   * A logger calling each of `loggers`.
   * @param loggers the loggers to call
   */
  constructor(loggers: readonly Logger[]) {
    this.loggers = loggers;
  }
  /**
   * Starts every logger.
   * @param meta the run's facts
   */
  async start(meta: RunMeta = {}): Promise<void> {
    for (const l of this.loggers) await l.start(meta);
  }
  /**
   * Logs a result to every logger.
   * @param result the iteration's result
   */
  async logResult(result: ResultLike): Promise<void> {
    for (const l of this.loggers) await l.logResult(result);
  }
  /**
   * Logs an evaluation to every logger.
   * @param evaluation the evaluation result
   * @param at the iteration it followed
   */
  async logEvaluation(evaluation: object, at: IterationRef): Promise<void> {
    for (const l of this.loggers) await l.logEvaluation(evaluation, at);
  }
  /** Closes every logger. */
  async close(): Promise<void> {
    let first: unknown;
    for (const l of this.loggers) {
      try {
        await l.close();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }
}
