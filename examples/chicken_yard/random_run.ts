/**
 * One chicken yard with random policies, printed step by step (the tutorial's demo run):
 * both robots pick a random chicken, then walk at random until they reach it or time out.
 *
 * ```sh
 * deno run examples/chicken_yard/random_run.ts                  # seed 0, up to 100 steps
 * deno run examples/chicken_yard/random_run.ts --seed 3 --steps 1000 --any
 * ```
 *
 * Prints the yard after the reset, after the robots chose, every `--every` steps and whenever
 * an agent ends; in between, a line for each step where an agent ends and a short status line
 * (each searching robot's distance to its chicken) every 10 steps.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ChickenYardEnv, Pcg32, type SpaceValue } from "@coop/rl/envs";

const HELP = `Usage: deno run examples/chicken_yard/random_run.ts [options]

  --seed N        seed of the yard and of the random actions (default 0)
  --steps N       stop after N steps if the episode has not ended (default 100)
  --any           arrival at any chicken ends a robot (the tutorial's rule); default: only the
                  chosen chicken counts
  --continuous    low-level actions are velocities Box(-0.03, 0.03, [2])
  --every N       print the yard every N steps (default 50)
  -h, --help      this help`;

function count(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got "${v}"`);
  }
  return n;
}

function rewards(r: Record<string, number>): string {
  return Object.entries(r).map(([id, v]) => `${id} ${+v.toFixed(4)}`).join(", ");
}

/** Each searching robot's distance to its chicken, from its low-level agent's observation. */
function status(obs: Record<string, SpaceValue>): string {
  return Object.entries(obs).map(([id, o]) => {
    const { robot_position: p, chicken_positions: c, target } = o as unknown as {
      robot_position: ArrayLike<number>;
      chicken_positions: ArrayLike<number | ArrayLike<number>>;
      target: number;
    };
    // Nested rows or flat numbers, whichever the Box gives.
    const flat = Array.from(c).flatMap((v) => typeof v === "number" ? [v] : Array.from(v));
    const d = Math.hypot(p[0]! - flat[2 * target]!, p[1]! - flat[2 * target + 1]!);
    return `${id} ${d.toFixed(3)} from chicken ${target}`;
  }).join(", ");
}

/**
 * Runs the demo.
 * @param args command-line arguments
 * @param print where lines go (default `console.log`)
 * @param printError where a bad argument's message goes (default `console.error`)
 * @returns the exit code: 0, or 2 for bad arguments
 */
export function main(
  args: string[],
  print: (line: string) => void = console.log,
  printError: (line: string) => void = console.error,
): number {
  let seed: number, steps: number, every: number;
  let flags: { any?: boolean; continuous?: boolean; help?: boolean };
  try {
    const { values } = parseArgs({
      args,
      options: {
        seed: { type: "string" },
        steps: { type: "string" },
        every: { type: "string" },
        any: { type: "boolean" },
        continuous: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    seed = count(values.seed, "--seed", 0);
    steps = count(values.steps, "--steps", 100);
    every = Math.max(1, count(values.every, "--every", 50));
    flags = values;
  } catch (e) {
    printError(`${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (flags.help) {
    print(HELP);
    return 0;
  }
  const env = new ChickenYardEnv({
    seed,
    targetMode: flags.any ? "any" : "target",
    lowAction: flags.continuous ? "continuous" : "discrete",
  });
  const rng = new Pcg32(seed, 1);
  let { obs } = env.reset({ seed });
  print(env.render());
  for (let t = 1; t <= steps; t++) {
    const actions: Record<string, SpaceValue> = {};
    for (const id of Object.keys(obs)) actions[id] = env.actionSpace(id).sample(rng);
    const r = env.step(actions);
    obs = r.obs;
    const ended = Object.keys(r.terminateds).filter((id) => id !== "__all__" && r.terminateds[id]);
    const over = r.terminateds.__all__ || r.truncateds.__all__;
    const end = ended.length > 0 ? `; ended ${ended.join(", ")}` : "";
    if (t === 1) {
      const chose = Object.entries(actions).map(([id, a]) => `${id} -> chicken ${a}`);
      print(`step 1: ${chose.join(", ")}${end}`);
    } else if (ended.length > 0) print(`step ${t}: ${rewards(r.rewards)}${end}`);
    else if (t % 10 === 0) print(`step ${t}: ${status(obs)}`);
    if (t === 1 || t % every === 0 || ended.length > 0 || over) print(env.render());
    if (over) {
      print(`episode over after ${t} steps`);
      break;
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(main(Deno.args));
