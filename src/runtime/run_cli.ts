/**
 * The experiment runner's command line (`deno task run`): RLHive's `MultiAgentRunner` from a
 * config file, with command-line overrides of any field, loggers, a saving schedule, a report
 * and `--resume` after a crash.
 *
 * ```sh
 * deno task run -c configs/windy_maze_hierarchical.json
 * deno task run -c configs/chicken_yard.json --seed 3 --train-steps 200000 --run-name cy3
 * deno task run -c configs/windy_maze_flat.json --algorithm.hyperparameters.lr 0.001
 * deno task run --resume runs/cy3            # after a crash or kill -9: continue it
 * deno task run -p tic_tac_toe -a my_dqn.json -l loggers.json   # RLHive's -p/-a/-e/-l
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { LoggerName } from "../loggers/create.ts";
import { CONFIG_FILE, runExperiment } from "../runner/run.ts";
import { type ExperimentConfig, ExperimentConfigError, parseExperiment } from "../runner/schema.ts";
import type { CheckpointStorage } from "../train/storage.ts";
import { FileStorage } from "./files.ts";
import { createLoggers, hostFacts, writeReport } from "./log_files.ts";

/** The presets in the package's `configs/` directory (for `-p`). */
export const PRESETS: readonly string[] = [
  "windy_maze_flat",
  "windy_maze_hierarchical",
  "chicken_yard",
  "chicken_yard_continuous",
  "tic_tac_toe",
  "connect_four",
  "rock_paper_scissors",
  "multi_agent_cartpole",
];

const HELP = `Usage: deno task run -c <config.json> [--field value ...]
       deno task run -p <preset> [-a agent.json] [-e env.json] [-l loggers.json] [--field value ...]
       deno task run --resume <run dir> [--field value ...]

  -c, --config FILE    an experiment file (schema in configs/schema.json)
  -p, --preset-config NAME
                       one of the package's presets instead (configs/NAME.json), -c winning
                       when both are given: ${PRESETS.join(", ")}
  -a, --agent-config FILE
                       replaces the config's "algorithm" section with this file's JSON
  -e, --env-config FILE
                       replaces the config's "env" section
  -l, --logger-config FILE
                       replaces the config's "loggers" list
  --resume DIR         continue the run in DIR from its newest checkpoint (its config.json,
                       with any overrides given here)
  --out DIR            where run directories go (default runs); the run's directory is
                       DIR/<runName>, runName defaulting to the config file's name
  -h, --help           this help

Any other --name value overrides a field of the config: kebab-case or camelCase, dotted paths
for nested fields, values as JSON when they parse as JSON, else as strings:
  --seed 3  --train-steps 200000  --run-name x  --env.num-envs 32
  --algorithm.hyperparameters.lr 0.001  --loggers '["console","jsonl"]'  --saving.keep null`;

/** Where a run goes and what it starts from. */
export interface CliPlan {
  /** The validated config. */
  config: ExperimentConfig;
  /** The run directory. */
  runDir: string;
  /** Continue the run in `runDir`. */
  resume: boolean;
}

/** A command-line problem, with what was expected. */
export class CliError extends Error {
  /**
   * A command-line error.
   * @param message what was wrong and what was expected
   */
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

function camel(key: string): string {
  return key.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The runner's own flags (the rest are overrides). */
const OWN_FLAGS = [
  "-c",
  "--config",
  "-p",
  "--preset-config",
  "-a",
  "--agent-config",
  "-e",
  "--env-config",
  "-l",
  "--logger-config",
  "--resume",
  "--out",
];

/**
 * Splits `--a.b-c value` / `--a.b-c=value` pairs into dotted camelCase paths and values.
 * @param args the arguments that are not the runner's own flags
 * @returns path → value, in order
 */
export function parseOverrides(args: readonly string[]): [string[], unknown][] {
  const out: [string[], unknown][] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--") || a.length === 2) {
      throw new CliError(`unexpected argument "${a}": expected --field value (see --help)`);
    }
    let key = a.slice(2), raw: string;
    const eq = key.indexOf("=");
    if (eq >= 0) {
      raw = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else {
      if (i + 1 >= args.length) throw new CliError(`--${key}: expected a value after it`);
      raw = args[++i]!;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    const path = key.split(".").map(camel);
    if (path.some((p) => p.length === 0)) throw new CliError(`--${key}: empty field name`);
    out.push([path, value]);
  }
  return out;
}

/**
 * Applies overrides to a parsed JSON config (a copy), creating missing objects on the way.
 * @param config the file's JSON
 * @param overrides from {@linkcode parseOverrides}
 * @returns the overridden copy
 */
export function applyOverrides(config: unknown, overrides: [string[], unknown][]): unknown {
  const root = structuredClone(config) as Record<string, unknown>;
  for (const [path, value] of overrides) {
    let at: Record<string, unknown> = root;
    for (const key of path.slice(0, -1)) {
      const next = at[key];
      if (next === undefined) at[key] = {};
      else if (next === null || typeof next !== "object" || Array.isArray(next)) {
        throw new CliError(
          `--${path.join(".")}: "${key}" is ${JSON.stringify(next)} in the config, not an object`,
        );
      }
      at = at[key] as Record<string, unknown>;
    }
    at[path.at(-1)!] = value;
  }
  return root;
}

async function readJson(path: string | URL, what: string): Promise<unknown> {
  let text: string;
  try {
    text = typeof path === "string" || path.protocol === "file:"
      ? await Deno.readTextFile(path)
      : await fetch(path).then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.text();
      });
  } catch (e) {
    throw new CliError(`${path}: cannot read ${what} (${e instanceof Error ? e.message : e})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(
      `${path}: not JSON (${e instanceof Error ? e.message : e}); expected ${what} as JSON`,
    );
  }
}

/**
 * Turns the command line into a validated plan (nothing is written).
 * @param args `Deno.args`
 * @returns the plan, or undefined after printing the help
 */
export async function planFromArgs(args: readonly string[]): Promise<CliPlan | undefined> {
  const own: string[] = [], rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = a.split("=")[0]!;
    if (OWN_FLAGS.includes(name)) {
      own.push(a);
      if (!a.includes("=") && i + 1 < args.length) own.push(args[++i]!);
    } else if (a === "-h" || a === "--help") own.push(a);
    else rest.push(a);
  }
  const { values: v } = parseArgs({
    args: own,
    options: {
      config: { type: "string", short: "c" },
      "preset-config": { type: "string", short: "p" },
      "agent-config": { type: "string", short: "a" },
      "env-config": { type: "string", short: "e" },
      "logger-config": { type: "string", short: "l" },
      resume: { type: "string" },
      out: { type: "string", default: "runs" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (v.help) {
    console.log(HELP);
    return undefined;
  }
  const overrides = parseOverrides(rest);
  const shown = rest.length > 0 ? ` with overrides ${rest.join(" ")}` : "";
  if (v.resume !== undefined) {
    const given =
      (["config", "preset-config", "agent-config", "env-config", "logger-config"] as const)
        .filter((k) => v[k] !== undefined);
    if (given.length > 0) {
      throw new CliError(
        `--resume continues a run with its own config.json: drop --${given.join(", --")}`,
      );
    }
    const runDir = v.resume.replace(/\/+$/, "");
    const file = `${runDir}/${CONFIG_FILE}`;
    const json = await Deno.stat(file).then(
      () => readJson(file, "the run's config"),
      () => {
        throw new CliError(
          `--resume ${v.resume}: not a run directory (no ${CONFIG_FILE}); expected a directory written by deno task run`,
        );
      },
    );
    return {
      config: parseExperiment(applyOverrides(json, overrides), `${file}${shown}`),
      runDir,
      resume: true,
    };
  }
  const preset = v["preset-config"];
  if (v.config === undefined && preset === undefined) {
    throw new CliError(
      "expected -c <config.json>, -p <preset> or --resume <run dir> (see --help)",
    );
  }
  let json: unknown, source: string;
  if (v.config !== undefined) {
    json = await readJson(v.config, "an experiment config");
    source = v.config;
  } else {
    const name = preset!.replace(/\.json$/, "");
    if (!PRESETS.includes(name)) {
      throw new CliError(`-p ${preset}: no such preset; expected one of ${PRESETS.join(", ")}`);
    }
    json = await readJson(new URL(`../../configs/${name}.json`, import.meta.url), "a preset");
    source = `preset ${name}`;
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new CliError(`${source}: expected a JSON object (an experiment config)`);
  }
  const sections = [
    ["agent-config", "algorithm"],
    ["env-config", "env"],
    ["logger-config", "loggers"],
  ] as const;
  for (const [flag, key] of sections) {
    const file = v[flag];
    if (file === undefined) continue;
    (json as Record<string, unknown>)[key] = await readJson(file, `the config's "${key}" section`);
    source += ` with ${key} from ${file}`;
  }
  const config = parseExperiment(applyOverrides(json, overrides), `${source}${shown}`);
  const base = (v.config ?? preset!).split("/").pop()!.replace(/\.json$/, "");
  return { config, runDir: `${v.out}/${config.runName ?? base}`, resume: false };
}

/**
 * Fault injection for the kill -9 test (`COOP_FAULT_KILL_IN_SAVE=n`): the n-th checkpoint write
 * of this process writes half the file to the temporary name an atomic write uses, then the
 * process kills itself with SIGKILL before the rename.
 */
function faultyStorage(storage: FileStorage, root: string, n: number): CheckpointStorage {
  let writes = 0;
  return {
    read: (p) => storage.read(p),
    list: (p) => storage.list(p),
    remove: (p) => storage.remove(p),
    write: async (p, bytes) => {
      if (++writes === n) {
        await Deno.writeFile(`${root}/${p}.tmp-fault`, bytes.subarray(0, bytes.length >> 1));
        Deno.kill(Deno.pid, "SIGKILL");
        await new Promise(() => {});
      }
      return storage.write(p, bytes);
    },
  };
}

/**
 * Runs the command line.
 * @param args `Deno.args`
 * @returns the exit code
 */
export async function main(args: readonly string[]): Promise<number> {
  let plan: CliPlan | undefined;
  try {
    plan = await planFromArgs(args);
  } catch (e) {
    if (e instanceof CliError || e instanceof ExperimentConfigError) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (plan === undefined) return 0;
  const { config: c, runDir, resume } = plan;
  await Deno.mkdir(runDir, { recursive: true });
  const storage = new FileStorage(runDir);
  const fault = Number(Deno.env.get("COOP_FAULT_KILL_IN_SAVE") ?? 0);
  const loggers = createLoggers(c.loggers as LoggerName[], runDir);
  let stop = false;
  const onSigint = () => {
    if (stop) Deno.exit(130);
    stop = true;
    console.error("\nstopping after this iteration (Ctrl-C again to quit now)");
  };
  Deno.addSignalListener("SIGINT", onSigint);
  try {
    const s = await runExperiment(c, {
      storage,
      loggers: [loggers],
      resume,
      name: runDir.split("/").pop()!,
      host: hostFacts(),
      onIteration: () => !stop,
      ...(fault > 0 ? { checkpointStorage: faultyStorage(storage, runDir, fault) } : {}),
    });
    if (c.report && c.loggers.includes("jsonl")) await writeReport(runDir);
    console.log(
      `${
        resume ? `resumed from iteration ${s.resumedFrom}; ` : ""
      }${s.iterations} iterations, ${s.envSteps} env steps (${s.stoppedBy}); ${runDir}/${
        s.checkpoint ?? "(no checkpoint)"
      }${c.report && c.loggers.includes("jsonl") ? `; report ${runDir}/report.html` : ""}`,
    );
    return 0;
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : e}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
