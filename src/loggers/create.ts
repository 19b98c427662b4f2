/**
 * The loggers by name, as a config names them: {@linkcode createLoggersWith} builds them over
 * a {@linkcode LogDir} and a {@linkcode ConsoleSink} (Web-standard; the Deno version that
 * writes into a run directory is `createLoggers` in `src/runtime/log_files.ts`).
 *
 * @module
 */

import { type LogDir, type Logger, MultiLogger } from "./logger.ts";
import { ConsoleLogger, type ConsoleSink, type ProgressBar } from "./console.ts";
import { JsonlLogger } from "./jsonl.ts";
import { CsvLogger, RayJsonLogger } from "./ray.ts";
import { TensorBoardLogger } from "./tensorboard_logger.ts";

/** The loggers a config can name. */
export const LOGGER_NAMES = ["console", "jsonl", "json", "csv", "tensorboard"] as const;

/**
 * A logger's name: `console` (progress line), `jsonl` (`results.jsonl`), `json` (Ray Tune's
 * `result.json`), `csv` (Ray Tune's `progress.csv`), `tensorboard` (event files).
 */
export type LoggerName = typeof LOGGER_NAMES[number];

/** What {@linkcode createLoggersWith} writes to. */
export interface LoggerIO {
  /** The run directory (file loggers). */
  dir: LogDir;
  /** The console (the `console` logger; default: text is dropped). */
  console?: ConsoleSink;
  /** The console's live bar when the sink is a terminal. */
  bar?: ProgressBar;
  /** Wall clock in milliseconds (default `Date.now`). */
  now?: () => number;
  /** The host part of TensorBoard file names (default `coop`). */
  hostname?: string;
}

/**
 * The named loggers over `io`, fanned out by one {@linkcode MultiLogger} (in the order given;
 * a name given twice is an error, and so is an unknown one).
 *
 * @example
 * ```ts
 * import { MemoryLogDir } from "./logger.ts";
 * import { createLoggersWith } from "./create.ts";
 * const dir = new MemoryLogDir();
 * const log = createLoggersWith(["jsonl", "csv"], { dir });
 * await log.start();
 * await log.logResult({ training_iteration: 1 });
 * await log.close();
 * if ((await dir.list()).join() !== "progress.csv,results.jsonl") throw new Error("files");
 * ```
 *
 * @param names the loggers
 * @param io directory, console, bar, clock
 * @returns one logger calling them all
 */
export function createLoggersWith(names: readonly string[], io: LoggerIO): MultiLogger {
  const seen = new Set<string>();
  const now = io.now ?? Date.now;
  const loggers: Logger[] = names.map((n) => {
    if (seen.has(n)) throw new RangeError(`logger "${n}" is named twice`);
    seen.add(n);
    switch (n as LoggerName) {
      case "console":
        return new ConsoleLogger(io.console ?? { isTerminal: false, write: () => {} }, {
          bar: io.bar,
        });
      case "jsonl":
        return new JsonlLogger(io.dir);
      case "json":
        return new RayJsonLogger(io.dir, { now });
      case "csv":
        return new CsvLogger(io.dir, { now });
      case "tensorboard":
        return new TensorBoardLogger(io.dir, {
          now: () => now() / 1000,
          hostname: io.hostname,
        });
      default:
        throw new RangeError(
          `unknown logger "${n}"; expected one of ${LOGGER_NAMES.map((x) => `"${x}"`).join(", ")}`,
        );
    }
  });
  return new MultiLogger(loggers);
}
