/**
 * The chicken yard (DeUmbra's RLlib tutorial "two robots in a chicken yard"): two robots each
 * pick a chicken to befriend (high level) and walk to it (low level). A batched WASM env for
 * training ({@linkcode createChickenYard}), RLlib's dict API for one yard
 * ({@linkcode ChickenYardEnv}), a text picture of a yard ({@linkcode render}) and the tutorial's
 * policy mapping ({@linkcode chickenYardPolicyMapping}). The rules and the facts live in
 * `assembly/chicken_yard.ts`; the constants below are read from the facts the build wrote into
 * the generated module, not copied.
 *
 * Rules (see the AssemblyScript file for every detail):
 * - The unit square, (0, 0) top left, y down; 10 chickens that never move, each with a unit
 *   OCEAN vector (5 features); two robots, each with a random position and its own OCEAN vector.
 * - `robot_1_high`, `robot_2_high` (group `high`): observe every chicken's OCEAN vector and
 *   position and their robot's, pick a chicken, Discrete(10). `robot_1_low`, `robot_2_low`
 *   (group `low`): observe the chickens' positions, their robot's and the `target` chicken, and
 *   move: Discrete(8) (0 N, 1 NE, 2 E, 3 SE, 4 S, 5 SW, 6 W, 7 NW, 0.03 per axis) or, with
 *   `lowAction: "continuous"`, a velocity Box(-0.03, 0.03, [2]); positions are clamped to the
 *   yard.
 * - reset → both high agents act. That first step (the decision, env step 1) records their
 *   chickens, moves nothing and spawns both low agents (the high agents wait); a robot already
 *   within 0.03 of its chicken ends there (its high agent gets the dot product, no low agent).
 *   Each later step moves the searching robots; one within 0.03 of its chosen chicken
 *   (`targetMode: "any"`: of any chicken, the tutorial's rule) ends: low +1, high the dot
 *   product of the robot's and that chicken's OCEAN vectors, both TERMINATED. Otherwise the low
 *   agent gets -0.001; at env step 1000 every robot still searching gets -1 on both levels and
 *   both its agents terminate (TERMINATED: the -1 is the outcome, as in the tutorial, not a
 *   time limit to bootstrap). The episode ends when both robots are done.
 * - Episode metrics (`episodeMetrics`): `reach_rate`, `moves_ratio`, `dot_ratio`,
 *   `episode_steps` (see {@linkcode CHICKEN_YARD_METRIC_NAMES}).
 *
 * @module
 */

import { Box, Dict, Discrete, type Space, type SpaceValue } from "../spaces.ts";
import { ACTIVE, ALIVE, type BatchedEnv } from "../env/batched.ts";
import { createWasmEnv, type WasmBatchedEnv, type WasmEnvDescriptor } from "../env/wasm.ts";
import { DictEnv } from "../env/dict_face.ts";
import type {
  MultiAgentDict,
  MultiAgentEnv,
  ResetOptions,
  ResetResult,
  StepResult,
} from "../env/multi_agent.ts";
import {
  CHICKEN_YARD_FACTS,
  type CHICKEN_YARD_VARIANTS,
  chickenYardWasmBytes,
} from "./_generated/chicken_yard_wasm.ts";

const FACTS = CHICKEN_YARD_FACTS;

/** Number of chickens in a yard. */
export const CHICKEN_YARD_NUM_CHICKENS: number = FACTS.NUM_CHICKENS;
/** Number of OCEAN personality features of a chicken or a robot. */
export const CHICKEN_YARD_NUM_OCEAN_FEATURES: number = FACTS.NUM_OCEAN_FEATURES;
/** Number of robots in a yard. */
export const CHICKEN_YARD_NUM_ROBOTS: number = FACTS.NUM_ROBOTS;
/** A robot is at a chicken when their Euclidean distance is below this. */
export const CHICKEN_YARD_CLOSENESS_THRESHOLD: number = FACTS.CLOSENESS_THRESHOLD;
/** A discrete move changes each axis by this much; a continuous one by at most this much. */
export const CHICKEN_YARD_MOVE_AMOUNT: number = FACTS.MOVE_AMOUNT;
/** Low-level reward of a step that neither arrives nor times out. */
export const CHICKEN_YARD_STEP_REWARD: number = FACTS.STEP_REWARD;
/** Low-level reward of an arrival. */
export const CHICKEN_YARD_ARRIVAL_REWARD: number = FACTS.ARRIVAL_REWARD;
/** Reward of both agents of a robot still searching at the time-out. */
export const CHICKEN_YARD_TIMEOUT_REWARD: number = FACTS.TIMEOUT_REWARD;
/** The env step (the decision counts as step 1) at which every searching robot times out. */
export const CHICKEN_YARD_TIMEOUT: number = FACTS.TIMEOUT;
/** `[dx, dy]` of each discrete move: 0 N, 1 NE, 2 E, 3 SE, 4 S, 5 SW, 6 W, 7 NW (y down). */
export const CHICKEN_YARD_DIRECTIONS: readonly (readonly [number, number])[] = Array.from(
  { length: FACTS.NUM_DIRECTIONS },
  (_, d) => [FACTS.DIRECTIONS[2 * d]!, FACTS.DIRECTIONS[2 * d + 1]!] as const,
);
/**
 * The episode metrics, in the columns of `episodeMetrics.values`:
 * - `reach_rate`: fraction of the 2 robots that reached their chosen chicken (`"any"`: any);
 * - `moves_ratio`: mean over the robots that reached one of moves taken / fewest moves that
 *   could have reached that chicken from the robot's start (NaN when none reached);
 * - `dot_ratio`: mean over both robots of the chosen chicken's dot product / the best of the 10;
 * - `episode_steps`: env steps of the episode (the decision included).
 */
export const CHICKEN_YARD_METRIC_NAMES: readonly string[] = FACTS.METRIC_NAMES.split(",");

/** High-level observation: every chicken's OCEAN vector and position, the robot's own. */
export const CHICKEN_YARD_HIGH_OBS_SPACE: Dict = new Dict({
  chicken_oceans: new Box(0, 1, [FACTS.NUM_CHICKENS, FACTS.NUM_OCEAN_FEATURES]),
  chicken_positions: new Box(0, 1, [FACTS.NUM_CHICKENS, 2]),
  robot_ocean: new Box(0, 1, [FACTS.NUM_OCEAN_FEATURES]),
  robot_position: new Box(0, 1, [2]),
});
/** Low-level observation: the robot's position, the chickens' positions, its target chicken. */
export const CHICKEN_YARD_LOW_OBS_SPACE: Dict = new Dict({
  robot_position: new Box(0, 1, [2]),
  chicken_positions: new Box(0, 1, [FACTS.NUM_CHICKENS, 2]),
  target: new Discrete(FACTS.NUM_CHICKENS),
});
/** High-level action: the chicken to befriend. */
export const CHICKEN_YARD_HIGH_ACTION_SPACE: Discrete = new Discrete(FACTS.NUM_CHICKENS);
/** Low-level action (`lowAction: "discrete"`): one of 8 moves. */
export const CHICKEN_YARD_LOW_ACTION_SPACE: Discrete = new Discrete(FACTS.NUM_DIRECTIONS);
/**
 * Low-level action (`lowAction: "continuous"`): a velocity `(vx, vy)`, each within ±0.03 as
 * float32 (the bound is `Math.fround(0.03)`, slightly below the float64 `0.03`).
 */
export const CHICKEN_YARD_LOW_CONTINUOUS_ACTION_SPACE: Box = new Box(
  -FACTS.MOVE_AMOUNT,
  FACTS.MOVE_AMOUNT,
  [2],
);

/** The agent ids of a yard: both robots' high-level agents, then their low-level agents. */
export const CHICKEN_YARD_AGENT_IDS: readonly string[] = [
  "robot_1_high",
  "robot_2_high",
  "robot_1_low",
  "robot_2_low",
];
/** The tutorial's policy of the high-level agents. */
export const CHICKEN_YARD_HIGH_POLICY = "high_level_policy";
/** The tutorial's policy of the low-level agents. */
export const CHICKEN_YARD_LOW_POLICY = "low_level_policy";

/**
 * The tutorial's policy mapping: an id with `high` in it goes to `high_level_policy`, one with
 * `low` to `low_level_policy`.
 * @param agentId an agent id
 * @returns the policy id
 * @throws {RangeError} naming an id with neither (or both)
 */
export function chickenYardPolicyMapping(agentId: string): string {
  const high = agentId.includes("high"), low = agentId.includes("low");
  if (high !== low) return high ? CHICKEN_YARD_HIGH_POLICY : CHICKEN_YARD_LOW_POLICY;
  throw new RangeError(
    `chickenYardPolicyMapping: agent "${agentId}" has ${
      high ? "both" : "neither"
    } "high" and "low" in its id, expected one of them (e.g. "robot_1_high", "robot_1_low")`,
  );
}

/** Options of {@linkcode createChickenYard} and {@linkcode ChickenYardEnv}. */
export interface ChickenYardOptions {
  /** Env `i` is seeded from `(seed, i)`; a non-negative safe integer (default 0). */
  seed?: number;
  /**
   * `"target"` (default): the low level is told its chicken and only that chicken counts;
   * `"any"`: the tutorial's rule, arriving at any chicken ends the robot (the high level gets
   * the dot product with the chicken reached). Same spaces in both modes.
   */
  targetMode?: "target" | "any";
  /** `"discrete"` (default): Discrete(8) moves; `"continuous"`: Box(-0.03, 0.03, [2]). */
  lowAction?: "discrete" | "continuous";
  /**
   * A compiled module of the matching build variant (see {@linkcode chickenYardModule});
   * default: compiled from the inlined bytes. On workerd, pass your own module binding.
   */
  module?: WebAssembly.Module;
}

type Variant = keyof typeof CHICKEN_YARD_VARIANTS | "plain";

function variantOf(options: ChickenYardOptions): Variant {
  const { targetMode = "target", lowAction = "discrete" } = options;
  if (targetMode !== "target" && targetMode !== "any") {
    throw new RangeError(`targetMode must be "target" or "any", got ${JSON.stringify(targetMode)}`);
  }
  if (lowAction !== "discrete" && lowAction !== "continuous") {
    throw new RangeError(
      `lowAction must be "discrete" or "continuous", got ${JSON.stringify(lowAction)}`,
    );
  }
  const any = targetMode === "any", cont = lowAction === "continuous";
  return any && cont ? "any_continuous" : any ? "any" : cont ? "continuous" : "plain";
}

/**
 * The loader's descriptor of a chicken yard module: groups `high` and `low` (2 slots per env
 * each, slot `j` is robot `j + 1`), their spaces, the agent ids, the metric names. Its `name`
 * names the build variant (`chicken_yard`, `chicken_yard_any`, `chicken_yard_continuous`,
 * `chicken_yard_any_continuous`), so saved states of one variant do not load into another.
 * @param options `targetMode` and `lowAction`
 * @returns the descriptor
 */
export function chickenYardDescriptor(
  options: Pick<ChickenYardOptions, "targetMode" | "lowAction"> = {},
): WasmEnvDescriptor {
  const v = variantOf(options);
  return {
    name: v === "plain" ? "chicken_yard" : `chicken_yard_${v}`,
    groups: [{
      name: "high",
      observationSpace: CHICKEN_YARD_HIGH_OBS_SPACE,
      actionSpace: CHICKEN_YARD_HIGH_ACTION_SPACE,
      agentId: (j) => `robot_${j + 1}_high`,
    }, {
      name: "low",
      observationSpace: CHICKEN_YARD_LOW_OBS_SPACE,
      actionSpace: options.lowAction === "continuous"
        ? CHICKEN_YARD_LOW_CONTINUOUS_ACTION_SPACE
        : CHICKEN_YARD_LOW_ACTION_SPACE,
      agentId: (j) => `robot_${j + 1}_low`,
    }],
    metrics: CHICKEN_YARD_METRIC_NAMES,
  };
}

/** The descriptor of the default chicken yard (`targetMode: "target"`, discrete moves). */
export const CHICKEN_YARD_DESCRIPTOR: WasmEnvDescriptor = chickenYardDescriptor();

const compiled = new Map<Variant, WebAssembly.Module>();

/**
 * The compiled chicken yard module of a build variant (compiled from the inlined bytes on first
 * use, then cached): `targetMode` and `lowAction` are compiled in.
 * @param options `targetMode` and `lowAction`
 * @returns the module
 */
export function chickenYardModule(
  options: Pick<ChickenYardOptions, "targetMode" | "lowAction"> = {},
): WebAssembly.Module {
  const v = variantOf(options);
  let m = compiled.get(v);
  if (m === undefined) {
    const bytes = chickenYardWasmBytes(v === "plain" ? undefined : v);
    m = new WebAssembly.Module(bytes as BufferSource);
    compiled.set(v, m);
  }
  return m;
}

/**
 * Creates `numEnvs` chicken yards as one batched slot env: groups `high` (slots
 * `[2i, 2i + 1]` of env `i`) and `low`, agent ids `robot_{1,2}_{high,low}`, auto-reset, and
 * `episodeMetrics` (see {@linkcode CHICKEN_YARD_METRIC_NAMES}).
 *
 * @example Run 8 yards with random moves until the first episode ends
 * ```ts
 * import { createChickenYard } from "./chicken_yard.ts";
 * const env = createChickenYard(8, { seed: 1 });
 * env.reset();
 * const [high, low] = env.groups;
 * high!.act.fill(3); // every robot picks chicken 3
 * let t = 0;
 * while (env.envDone.every((d) => d === 0)) {
 *   for (let k = 0; k < low!.act.length; k++) low!.act[k] = (t * 7 + k) % 8;
 *   env.step();
 *   t++;
 * }
 * const i = env.envDone.indexOf(1);
 * const [reachRate, , , steps] = env.episodeMetrics!.values.subarray(4 * i, 4 * i + 4);
 * if (!(reachRate! >= 0 && steps! >= 1)) throw new Error("metrics of the ended episode");
 * ```
 *
 * @param numEnvs number of envs
 * @param options seed, target mode, low-level action kind, module
 * @returns the env; call `reset` before `step`
 */
export function createChickenYard(
  numEnvs: number,
  options: ChickenYardOptions = {},
): WasmBatchedEnv {
  const descriptor = chickenYardDescriptor(options);
  return createWasmEnv(
    options.module ?? chickenYardModule(options),
    descriptor,
    numEnvs,
    options.seed,
  );
}

// ---- Pictures ----

/** What a robot is doing, in a picture. */
type RobotState = "choosing" | "searching" | "reached" | "timed out";

interface RobotPicture {
  x: number;
  y: number;
  /** The chosen chicken, -1 before the decision. */
  target: number;
  state: RobotState;
}

interface YardPicture {
  chickens: [number, number][];
  robots: RobotPicture[];
  step?: number;
  ended?: boolean;
}

const H = CHICKEN_YARD_HIGH_OBS_SPACE, L = CHICKEN_YARD_LOW_OBS_SPACE;
/** Offset of `key` in the flat encoding of `space`. */
function offsetOf(space: Dict, key: string): number {
  let o = 0;
  for (const k of space.keys) {
    if (k === key) return o;
    o += space.spaces[k]!.flatSize;
  }
  throw new Error(`no key ${key}`);
}
const H_CHICKENS = offsetOf(H, "chicken_positions"), H_ROBOT = offsetOf(H, "robot_position");
const L_TARGET = offsetOf(L, "target");

function readChickens(row: Float32Array, at: number): [number, number][] {
  return Array.from(
    { length: FACTS.NUM_CHICKENS },
    (_, c) => [row[at + 2 * c]!, row[at + 2 * c + 1]!],
  );
}

function checkYard(env: BatchedEnv): void {
  const [high, low] = env.groups;
  if (
    env.groups.length !== 2 || high!.name !== "high" || low!.name !== "low" ||
    high!.slotsPerEnv !== 2 || high!.observationSpace.flatSize !== H.flatSize ||
    low!.observationSpace.flatSize !== L.flatSize
  ) {
    throw new RangeError('render() expects a chicken yard (groups "high" and "low")');
  }
}

/** The yard of env `i` now, from its observation rows (which always hold the robots' state). */
function pictureOf(env: BatchedEnv, i: number): YardPicture {
  checkYard(env);
  const high = env.groups[0]!, low = env.groups[1]!;
  const HO = H.flatSize, LO = L.flatSize;
  let occupied = 0;
  for (const g of [high, low]) {
    for (let j = 0; j < 2; j++) occupied |= env.flags[g.slotOffset + 2 * i + j]!;
  }
  // After a reset some agent always holds a slot (a yard whose robots are both done has reset).
  if ((occupied & ALIVE) === 0) throw new Error(`render(): yard ${i} has not been reset`);
  const robots = [0, 1].map((j): RobotPicture => {
    const r = 2 * i + j;
    const h = r * HO, l = r * LO;
    let target = -1;
    for (let c = 0; c < FACTS.NUM_CHICKENS; c++) if (low.obs[l + L_TARGET + c] === 1) target = c;
    const fh = env.flags[high.slotOffset + r]!, fl = env.flags[low.slotOffset + r]!;
    const state: RobotState = (fh & ACTIVE) !== 0
      ? "choosing"
      : (fl & ALIVE) !== 0
      ? "searching"
      : "reached"; // a time-out ends the episode: a done robot of a running one has arrived
    return { x: high.obs[h + H_ROBOT]!, y: high.obs[h + H_ROBOT + 1]!, target, state };
  });
  return { chickens: readChickens(high.obs, 2 * i * HO + H_CHICKENS), robots };
}

const W = 40, ROWS = 20;

function fixed(v: number): string {
  return v.toFixed(3);
}

/** The chicken robot `r` is at: its target when within reach, else the lowest-numbered one. */
function reachedChicken(p: YardPicture, r: RobotPicture): number {
  const near = (c: number) => {
    const [cx, cy] = p.chickens[c]!;
    return Math.hypot(r.x - cx, r.y - cy) < FACTS.CLOSENESS_THRESHOLD + 1e-6;
  };
  if (r.target >= 0 && near(r.target)) return r.target;
  for (let c = 0; c < p.chickens.length; c++) if (near(c)) return c;
  return r.target;
}

function drawYard(p: YardPicture): string {
  const cell = (x: number, y: number) =>
    [Math.min(W - 1, Math.floor(x * W)), Math.min(ROWS - 1, Math.floor(y * ROWS))] as const;
  const grid = Array.from({ length: ROWS }, () => Array<string>(W).fill(" "));
  p.chickens.forEach(([x, y], c) => {
    const [cx, cy] = cell(x, y);
    grid[cy]![cx] = grid[cy]![cx] === " " ? String(c) : "*";
  });
  const top = Array<string>(W).fill("-"), left = Array<string>(ROWS).fill("|");
  const mark = (a: string[], k: number, m: string) => a[k] = a[k] === "-" || a[k] === "|" ? m : "*";
  p.robots.forEach((r, j) => {
    if (r.target < 0) return;
    const [tx, ty] = cell(...p.chickens[r.target]!);
    mark(top, tx, "ab"[j]!);
    mark(left, ty, "ab"[j]!);
  });
  p.robots.forEach((r, j) => {
    const [rx, ry] = cell(r.x, r.y);
    grid[ry]![rx] = grid[ry]![rx] === "A" ? "@" : "AB"[j]!;
  });
  const lines = [`+${top.join("")}+`];
  grid.forEach((row, y) => lines.push(`${left[y]}${row.join("")}|`));
  lines.push(`+${"-".repeat(W)}+`);
  const head = [
    p.step === undefined ? "chicken yard" : `chicken yard, step ${p.step}`,
    p.ended ? " (episode over)" : "",
  ].join("");
  const legend = p.robots.map((r, j) => {
    const where = `${"AB"[j]} robot_${j + 1} (${fixed(r.x)}, ${fixed(r.y)})`;
    if (r.state === "choosing") return `${where} choosing a chicken`;
    const t = r.target, [tx, ty] = p.chickens[t]!;
    const dist = fixed(Math.hypot(r.x - tx, r.y - ty));
    if (r.state === "searching") {
      return `${where} -> chicken ${t} (${fixed(tx)}, ${fixed(ty)}), distance ${dist}`;
    }
    if (r.state === "timed out") return `${where} timed out, chicken ${t} at distance ${dist}`;
    const c = reachedChicken(p, r);
    return `${where} reached chicken ${c}${c === t ? "" : ` (chose ${t})`}`;
  });
  return [
    head,
    ...lines,
    ...legend,
    "0-9 chickens (* several), A/B robots (@ both), a/b on the border: row/column of their chicken",
  ].join("\n");
}

/**
 * A text picture of yard `envIndex` of a batched chicken yard as it stands now: a 40 x 20
 * grid, chickens as digits 0-9 (`*` where several share a cell), robots as `A` (robot 1) and
 * `B` (robot 2), the row and column of each robot's chosen chicken marked `a`/`b` on the
 * border, and a legend with each robot's position and state (choosing, searching with its
 * distance to the chicken, or reached). After an episode ends the env has already reset: this
 * shows the new yard ({@linkcode ChickenYardEnv.render} shows the ended one).
 * @param env an env from {@linkcode createChickenYard}
 * @param envIndex which yard
 * @returns the picture, lines joined with `\n`
 */
export function render(env: BatchedEnv, envIndex: number): string {
  if (!Number.isInteger(envIndex) || envIndex < 0 || envIndex >= env.numEnvs) {
    throw new RangeError(`envIndex must be an integer in [0, ${env.numEnvs}), got ${envIndex}`);
  }
  return drawYard(pictureOf(env, envIndex));
}

// ---- One yard with RLlib's dict API ----

function groupOf(agentId: string): string {
  const k = CHICKEN_YARD_AGENT_IDS.indexOf(agentId);
  if (k < 0) {
    throw new RangeError(
      `Unknown agent "${agentId}" of the chicken yard, expected one of ${
        CHICKEN_YARD_AGENT_IDS.map((id) => `"${id}"`).join(", ")
      }`,
    );
  }
  return k < 2 ? "high" : "low";
}

/**
 * One chicken yard with RLlib's `MultiAgentEnv` API (the tutorial's env): `reset({seed})` gives
 * the two high-level agents' observations; `step(actions)` gives
 * `{obs, rewards, terminateds, truncateds, infos}` with `"__all__"`. It is {@linkcode DictEnv}
 * over a one-env {@linkcode createChickenYard}, plus {@linkcode ChickenYardEnv.render}.
 *
 * @example A random episode
 * ```ts
 * import { ChickenYardEnv } from "./chicken_yard.ts";
 * import { Pcg32 } from "../rng.ts";
 * const env = new ChickenYardEnv({ targetMode: "any" });
 * const rng = new Pcg32(3);
 * let { obs } = env.reset({ seed: 3 });
 * for (let t = 0; t < 50; t++) {
 *   const actions: Record<string, unknown> = {};
 *   for (const id of Object.keys(obs)) actions[id] = env.actionSpace(id).sample(rng);
 *   const r = env.step(actions as never);
 *   obs = r.obs;
 *   if (r.terminateds.__all__) break;
 * }
 * if (!env.render().includes("robot_2")) throw new Error("a picture with a legend");
 * ```
 */
export class ChickenYardEnv implements MultiAgentEnv {
  /** Every agent id of a yard. */
  readonly possibleAgents: readonly string[] = CHICKEN_YARD_AGENT_IDS;
  /** The underlying one-env batched env. */
  readonly batched: WasmBatchedEnv;
  /** The dict face over it. */
  readonly dict: DictEnv;
  #step = 0;
  #ended = false;
  #targets = [-1, -1];
  #states: RobotState[] = ["choosing", "choosing"];

  /**
   * Creates the env; call {@linkcode ChickenYardEnv.reset} before stepping.
   * @param options seed (the yard's stream is seeded from `(seed, 0)`), target mode,
   *   low-level action kind, module
   */
  constructor(options: ChickenYardOptions = {}) {
    this.batched = createChickenYard(1, options);
    this.dict = new DictEnv(this.batched, { groupOf });
  }

  /**
   * The observation space of an agent of the yard.
   * @param agentId one of {@linkcode CHICKEN_YARD_AGENT_IDS}
   * @returns its space
   */
  observationSpace(agentId: string): Space {
    return this.dict.observationSpace(agentId);
  }

  /**
   * The action space of an agent of the yard.
   * @param agentId one of {@linkcode CHICKEN_YARD_AGENT_IDS}
   * @returns its space
   */
  actionSpace(agentId: string): Space {
    return this.dict.actionSpace(agentId);
  }

  /**
   * Starts a new yard (without a seed, the stream continues; after an episode ended the yard
   * the batched env already drew is used).
   * @param opts `seed` reseeds the yard's stream from `(seed, 0)`
   * @returns the two high-level agents' observations
   */
  reset(opts?: ResetOptions): ResetResult {
    const r = this.dict.reset(opts);
    this.#step = 0;
    this.#ended = false;
    this.#targets = [-1, -1];
    this.#states = ["choosing", "choosing"];
    return r;
  }

  /**
   * Advances the yard one step.
   * @param actions one action per agent of the last `obs`
   * @returns observations, rewards, end flags (with `"__all__"`), infos
   * @throws {RangeError} for a missing, extra or invalid action (naming the agent; nothing
   *   changes), {@linkcode Error} before `reset` or after `"__all__"`
   */
  step(actions: MultiAgentDict<SpaceValue>): StepResult {
    const r = this.dict.step(actions);
    this.#step++;
    for (let j = 0; j < 2; j++) {
      const high = `robot_${j + 1}_high`, low = `robot_${j + 1}_low`;
      if (high in actions && this.#targets[j] === -1) this.#targets[j] = actions[high] as number;
      if (r.terminateds[high] === true) {
        this.#states[j] = r.rewards[high] === FACTS.TIMEOUT_REWARD &&
            r.rewards[low] === FACTS.TIMEOUT_REWARD
          ? "timed out"
          : "reached";
      } else if (this.#states[j] === "choosing") this.#states[j] = "searching";
    }
    this.#ended = r.terminateds.__all__ || r.truncateds.__all__;
    return r;
  }

  /**
   * A text picture of the yard (see {@linkcode render}) with the step count; after the episode
   * ended, the yard as it ended (from the final observations).
   * @returns the picture
   */
  render(): string {
    if (!this.#ended) return drawYard({ ...pictureOf(this.batched, 0), step: this.#step });
    // Every high-level agent ended in this episode: its final observation holds its robot's
    // last position and the yard.
    const high = this.batched.groups[0]!, HO = H.flatSize;
    const robots = [0, 1].map((j): RobotPicture => ({
      x: high.finalObs[j * HO + H_ROBOT]!,
      y: high.finalObs[j * HO + H_ROBOT + 1]!,
      target: this.#targets[j]!,
      state: this.#states[j]!,
    }));
    return drawYard({
      chickens: readChickens(high.finalObs, H_CHICKENS),
      robots,
      step: this.#step,
      ended: true,
    });
  }
}
