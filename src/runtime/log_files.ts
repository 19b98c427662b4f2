/**
 * The Deno side of the loggers: {@linkcode FileLogDir} (a run directory on disk: appends with
 * one write each through a handle opened with O_APPEND, atomic replacement through
 * `writeFileAtomic`), the console on `Deno.stdout` with a live `cli-progress` bar when it is a
 * terminal ({@linkcode stdoutSink}, {@linkcode cliProgressBar}), {@linkcode createLoggers} (the
 * loggers named in a config, writing into a run directory) and {@linkcode writeReport} (the
 * run's HTML report from its `results.jsonl`).
 *
 * @module
 */

import cliProgress from "cli-progress";
import process from "node:process";
import { createRequire } from "node:module";
import { writeFileAtomic } from "./files.ts";
import type {
  HasIteration,
  IterationRef,
  LogDir,
  Logger,
  MultiLogger,
  ResultLike,
  RunMeta,
} from "../loggers/logger.ts";
import type { ConsoleSink, ProgressBar } from "../loggers/console.ts";
import { createLoggersWith, LOGGER_NAMES, type LoggerName } from "../loggers/create.ts";
import { buildReport, type ReportAssets, runLogsFromText } from "../loggers/report.ts";
import { EVALUATION_JSONL, RESULTS_JSONL } from "../loggers/jsonl.ts";
import { RESULT_JSON } from "../loggers/ray.ts";

// The types of this module's signatures, for users who import only this module.
export type {
  ConsoleSink,
  HasIteration,
  IterationRef,
  LogDir,
  Logger,
  LoggerName,
  MultiLogger,
  ProgressBar,
  ReportAssets,
  ResultLike,
  RunMeta,
};
export { LOGGER_NAMES };

/** Options of {@linkcode FileLogDir}. */
export interface FileLogDirOptions {
  /**
   * Fsync after every append (survives a power loss, not only a kill; slower). Default false:
   * an append that returned is in the OS's page cache, which a killed process does not lose.
   */
  sync?: boolean;
}

/**
 * A {@linkcode LogDir} on disk. The directory is created on the first write. Needs
 * `--allow-read` and `--allow-write` for it.
 *
 * @example
 * ```ts ignore
 * import { FileLogDir } from "./log_files.ts";
 * const dir = new FileLogDir("runs/maze");
 * await dir.append("results.jsonl", new TextEncoder().encode('{"training_iteration":1}\n'));
 * await dir.close();
 * ```
 */
export class FileLogDir implements LogDir {
  /** The directory. */
  readonly root: string;
  readonly #sync: boolean;
  readonly #open = new Map<string, Deno.FsFile>();
  #made = false;

  /**
   * A run directory at `root`.
   * @param root the directory
   * @param opts fsync after appends
   */
  constructor(root: string, opts: FileLogDirOptions = {}) {
    this.root = root.replace(/\/+$/, "") || ".";
    this.#sync = opts.sync ?? false;
  }

  #path(name: string): string {
    if (name === "" || name.includes("/") || name.includes("\\") || name === "..") {
      throw new RangeError(`A log file name must be a plain file name, got "${name}"`);
    }
    return `${this.root}/${name}`;
  }

  async #mkdir(): Promise<void> {
    if (this.#made) return;
    await Deno.mkdir(this.root, { recursive: true });
    this.#made = true;
  }

  /**
   * Reads a file.
   * @param name the file
   * @returns its bytes, or undefined when it does not exist
   */
  async read(name: string): Promise<Uint8Array | undefined> {
    try {
      return await Deno.readFile(this.#path(name));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  }

  /**
   * Appends bytes through the file's O_APPEND handle, in one write when the OS takes it whole
   * (the loop only continues a short write).
   * @param name the file
   * @param data whole lines (records)
   */
  async append(name: string, data: Uint8Array): Promise<void> {
    let f = this.#open.get(name);
    if (f === undefined) {
      await this.#mkdir();
      f = await Deno.open(this.#path(name), { append: true, create: true });
      this.#open.set(name, f);
    }
    let off = 0;
    while (off < data.length) off += await f.write(data.subarray(off));
    if (this.#sync) await f.sync();
  }

  /**
   * Replaces a file atomically (temporary file, fsync, rename).
   * @param name the file
   * @param data the new content
   */
  async replace(name: string, data: Uint8Array): Promise<void> {
    this.#open.get(name)?.close();
    this.#open.delete(name);
    await this.#mkdir();
    await writeFileAtomic(this.#path(name), data);
  }

  /**
   * Lists the directory's files (not temporary files of atomic writes).
   * @returns names, sorted
   */
  async list(): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(this.root)) {
        if (e.isFile && !e.name.includes(".tmp-")) out.push(e.name);
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    return out.sort();
  }

  /** Closes the open handles (a later append opens its file again). */
  close(): Promise<void> {
    for (const f of this.#open.values()) f.close();
    this.#open.clear();
    return Promise.resolve();
  }
}

/**
 * The console sink on `Deno.stdout`; `isTerminal` is `Deno.stdout.isTerminal()`.
 * @returns the sink
 */
export function stdoutSink(): ConsoleSink {
  const enc = new TextEncoder();
  return {
    isTerminal: Deno.stdout.isTerminal(),
    write: (text: string) => {
      const b = enc.encode(text);
      let off = 0;
      while (off < b.length) off += Deno.stdout.writeSync(b.subarray(off));
    },
  };
}

/** A writable stream as `cli-progress` uses it. */
export interface BarStream {
  /** Whether it is a terminal. */
  isTTY?: boolean;
  /** Its width in columns. */
  columns?: number;
  /**
   * Writes text.
   * @param text the text
   */
  write(text: string): unknown;
}

/**
 * A live progress bar drawn by the npm package `cli-progress` (a `MultiBar` with one bar, whose
 * `log` prints whole lines above the bar): `████░░░░ 42% | ETA 65s | <line>`, redrawn at most 5
 * times a second, cut to the terminal's width. Its ETA comes from the pace of the last 20
 * updates. On a stream that is not a terminal it draws nothing.
 * @param stream where it draws (default `process.stdout`)
 * @returns the bar
 */
export function cliProgressBar(stream: BarStream = process.stdout): ProgressBar {
  const multi = new cliProgress.MultiBar({
    format: "{bar} {percentage}% | ETA {eta_formatted} | {line}",
    barsize: 20,
    etaBuffer: 20,
    fps: 5,
    hideCursor: true,
    linewrap: false,
    forceRedraw: true, // a line logged above erases the bar: draw it again even if unchanged
    stream,
  }, cliProgress.Presets.shades_classic);
  // deno-lint-ignore no-explicit-any
  let bar: any;
  let active = false;
  return {
    start: (total, value, payload) => {
      bar = multi.create(total, value, payload);
      active = stream.isTTY === true;
    },
    update: (value, payload) => bar?.update(value, payload),
    log: (line) => multi.log(`${line}\n`),
    stop: () => {
      if (!active) return;
      multi.update(); // flushes the lines logged since the last redraw
      multi.stop();
      active = false;
    },
  };
}

/** Options of {@linkcode createLoggers}. */
export interface CreateLoggersOptions {
  /** The console (default {@linkcode stdoutSink}). */
  console?: ConsoleSink;
  /** The live bar (default {@linkcode cliProgressBar} when the console is a terminal). */
  bar?: ProgressBar;
  /** Fsync every append. */
  sync?: boolean;
  /** Wall clock in milliseconds (default `Date.now`): Tune's `date`, TensorBoard's times. */
  now?: () => number;
}

/**
 * The loggers named in a config, writing into `runDir`, as one {@linkcode MultiLogger}:
 * `console`, `jsonl` (`results.jsonl`, `evaluation.jsonl`), `json` (Ray Tune's
 * `result.json`), `csv` (Ray Tune's `progress.csv`), `tensorboard` (`events.out.tfevents.*`).
 *
 * @example
 * ```ts ignore
 * import { createLoggers } from "./log_files.ts";
 * const log = createLoggers(["console", "jsonl", "csv", "json", "tensorboard"], "runs/x");
 * await log.start({ name: "x", totalSteps: 200_000 }); // resume: { resumeFromIteration: k }
 * // for each iteration: await log.logResult(await algo.train()); then save the checkpoint
 * await log.close();
 * ```
 *
 * @param names the loggers
 * @param runDir the run directory
 * @param opts console, bar, fsync
 * @returns the loggers
 */
export function createLoggers(
  names: readonly LoggerName[],
  runDir: string,
  opts: CreateLoggersOptions = {},
): MultiLogger {
  const sink = opts.console ?? stdoutSink();
  let hostname = "coop";
  try {
    hostname = Deno.hostname();
  } catch {
    // No --allow-sys: keep the default.
  }
  const bar = opts.bar ??
    (sink.isTerminal && names.includes("console") ? cliProgressBar() : undefined);
  return createLoggersWith(names, {
    dir: new FileLogDir(runDir, { sync: opts.sync }),
    console: sink,
    bar,
    hostname,
    now: opts.now,
  });
}

/**
 * Ray Tune's process facts for {@linkcode RunMeta.host}: the pid and the host name (when
 * `--allow-sys` permits it).
 * @returns pid and host name
 */
export function hostFacts(): NonNullable<RunMeta["host"]> {
  const out: NonNullable<RunMeta["host"]> = { pid: Deno.pid };
  try {
    out.hostname = Deno.hostname();
  } catch {
    // No --allow-sys.
  }
  return out;
}

/**
 * uPlot's script and style sheet, read from the installed npm package `uplot`.
 * @returns the assets to inline
 */
export async function uplotAssets(): Promise<ReportAssets> {
  let main: string;
  try {
    main = createRequire(import.meta.url).resolve("uplot");
  } catch {
    main = new URL(import.meta.resolve("uplot")).pathname;
  }
  const dist = main.slice(0, main.lastIndexOf("/"));
  return {
    script: await Deno.readTextFile(`${dist}/uPlot.iife.min.js`),
    style: await Deno.readTextFile(`${dist}/uPlot.min.css`),
  };
}

/**
 * Writes `<runDir>/report.html` (or `out`): one self-contained page with every curve of the
 * run, from its `results.jsonl` (else Ray Tune's `result.json`) and `evaluation.jsonl`.
 * @param runDir the run directory
 * @param opts the output file, the page title (default: the directory's name), uPlot's files
 * (default {@linkcode uplotAssets}: read from the installed npm package, which needs a
 * `node_modules` directory, `"nodeModulesDir": "auto"`)
 * @returns the path written
 */
export async function writeReport(
  runDir: string,
  opts: { out?: string; title?: string; assets?: ReportAssets } = {},
): Promise<string> {
  const dir = new FileLogDir(runDir);
  const dec = (b: Uint8Array | undefined) =>
    b === undefined ? undefined : new TextDecoder().decode(b);
  const results = dec(await dir.read(RESULTS_JSONL)) ?? dec(await dir.read(RESULT_JSON));
  if (results === undefined) {
    throw new Error(`${runDir}: no ${RESULTS_JSONL} or ${RESULT_JSON} to report on`);
  }
  const logs = runLogsFromText(results, dec(await dir.read(EVALUATION_JSONL)));
  const title = opts.title ?? (runDir.replace(/\/+$/, "").split("/").pop() || runDir);
  const html = buildReport(logs, opts.assets ?? await uplotAssets(), { title });
  const out = opts.out ?? `${runDir.replace(/\/+$/, "")}/report.html`;
  await writeFileAtomic(out, html);
  return out;
}
