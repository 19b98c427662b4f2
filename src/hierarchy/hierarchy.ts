/**
 * The reusable hierarchy helper: "a higher agent issues a goal; a fresh lower agent with a new
 * id executes it for up to k steps or until the episode ends; rewards are routed per level".
 *
 * {@linkcode Hierarchy} wraps a base {@linkcode BatchedEnv} that has one slot group of one slot
 * per env and a `stepMask`, and is itself a {@linkcode BatchedEnv} with one slot group per level
 * (one slot per env each). With two levels it behaves exactly like RLlib's
 * `HierarchicalWindyMazeEnv`:
 *
 * - reset: only the top agent is ACTIVE; it sees the base observation.
 * - A top action (a goal) spawns a fresh bottom agent (`low_level_1`, `low_level_2`, ...:
 *   `n` counts that level's spawns in the episode) that is SPAWNED|ACTIVE|ALIVE, sees the base
 *   observation followed by the goal and gets reward 0; the top agent waits (ALIVE); the base env
 *   is not stepped in that call (its `stepMask` entry is 0).
 * - Each bottom action steps the base env once; the bottom agent gets its level's reward.
 * - After `horizon` steps the bottom agent is TERMINATED and the top agent is ACTIVE again, with
 *   the rewards it accumulated since it last acted (the base rewards by default) and the current
 *   base observation.
 * - When the base episode ends, every agent ends (TERMINATED, or TRUNCATED when the base episode
 *   was truncated) with its reward (the top agent: the accumulated base rewards), `envDone` is
 *   set and the env is reset at once (the base env auto-resets; the top agent is SPAWNED again).
 *
 * With three levels (top, mid, bottom), a top goal spawns a mid agent, whose goals spawn bottom
 * agents; a mid agent ends after `horizon` goals (when the last bottom agent it spawned ends) and
 * control returns to the top.
 *
 * Two timelines (RLlib's hierarchy doc, `001`), chosen with {@linkcode HierarchyOptions.timeline}:
 * - `"alternating"` (default; RLlib's `HierarchicalWindyMazeEnv`): a higher level's decision is
 *   an env step of its own in which the base env does not move; the lower agents then act. With
 *   a horizon of 25, steps 0, 26, 52, ... are decisions and the base moves in the others.
 * - `"overlapping"`: a decision costs no env step: it falls in the env step of the lower agent's
 *   first action, so the high level acts at t = 0, 25, 50, ... in the same env steps where
 *   `low_level_1`, `low_level_2`, ... take their first actions. The decision is still its own
 *   `step()` call (a lower agent must see its goal before it acts), but that call leaves
 *   {@linkcode Hierarchy.envStepped} at 0, so trainers count neither an env step nor episode
 *   length for it, and the rows of the decision and of the first low-level action share `t`.
 * Agent ids, observations and reward routing are the same in both. Steps of all N envs happen in one call: envs where a higher level
 * acts are masked out of the base step. Every action is validated before anything changes.
 * No per-agent objects are made per step: state lives in typed arrays and agent ids are cached
 * strings. Over a base env that can save its state (the WASM envs can), the hierarchy can too
 * (`saveState`/`loadState`: its typed arrays and the base env's state), for checkpoints.
 *
 * @module
 */

import {
  ACTIVE,
  ALIVE,
  type BatchedEnv,
  SlotEnv,
  type SlotGroup,
  SPAWNED,
  TERMINATED,
  TRUNCATED,
  unpackState,
} from "../env/batched.ts";
import { explainPacked, packedToFlat, packedValid } from "../env/_rows.ts";
import { Discrete, type Space, spacesEqual, Tuple } from "../spaces.ts";

/**
 * A level's reward for one base step, called once per level (alive in that env) per base step,
 * with numbers and typed arrays only (no per-step allocation). The result is added to the
 * level's pending reward, delivered when that level's agent next acts or ends (the bottom agent:
 * at once).
 *
 * @param env the env index
 * @param prevObs base observations before the step: env `env`'s flat row starts at `obsOffset`
 * @param obs base observations after the step (the final observation when the episode ended),
 *   same layout
 * @param obsOffset `env * base obs flatSize`
 * @param goals the packed goals of every non-bottom level, env-major: the goal this level is
 *   executing (the packed action of the level above) starts at `goalOffset`
 * @param goalOffset index of this level's goal in `goals`, or -1 for the top level
 * @param baseReward the base env's reward of this step
 * @returns the level's reward for this step
 */
export type LevelReward = (
  env: number,
  prevObs: Float32Array,
  obs: Float32Array,
  obsOffset: number,
  goals: Float32Array,
  goalOffset: number,
  baseReward: number,
) => number;

/** How decisions and lower actions share env steps (see the module doc). */
export type HierarchyTimeline = "alternating" | "overlapping";

/** Options of a {@linkcode Hierarchy}. */
export interface HierarchyOptions {
  /**
   * `"alternating"` (default): a higher level's decision is an env step of its own;
   * `"overlapping"`: it falls in the env step of the lower agent's first action.
   */
  timeline?: HierarchyTimeline;
}

/** Declares one level of a {@linkcode Hierarchy}, top level first. */
export interface LevelSpec {
  /** Level name, used as its slot group name, e.g. `"high"` or `"low"`. */
  name: string;
  /**
   * The agent id rule: a fixed id for the top level (`"high_level_agent"`); for lower levels a
   * template with `{n}` (`"low_level_{n}"`) or a function of `n`, where `n` counts that level's
   * spawns in the episode from 1.
   */
  agentId: string | ((n: number) => string);
  /** The goal space of a non-bottom level (its action space); the bottom uses the base's. */
  actionSpace?: Space;
  /** Lower levels: most actions an agent of this level takes before it terminates. */
  horizon?: number;
  /** Per-step reward of this level; default: the base reward. */
  reward?: LevelReward;
}

/** The tag of a {@linkcode Hierarchy}'s saved state. */
const HIERARCHY_STATE = "Hierarchy";

interface Level {
  name: string;
  idOf: (n: number) => string;
  ids: string[];
  actionSpace: Space;
  horizon: number;
  reward: LevelReward | undefined;
  group: SlotGroup;
  obsSize: number;
  actSize: number;
}

/**
 * A hierarchical env over a base batched env (see the module doc for the rules).
 *
 * @example Two levels over a base env
 * ```ts
 * import { Discrete } from "../spaces.ts";
 * import { createWindyMaze } from "../envs/windy_maze.ts";
 * import { Hierarchy } from "./hierarchy.ts";
 * const env = new Hierarchy(createWindyMaze(64), [
 *   { name: "high", agentId: "high_level_agent", actionSpace: new Discrete(4) },
 *   { name: "low", agentId: "low_level_{n}", horizon: 25 },
 * ]);
 * env.reset(1);
 * env.groups[0]!.act.fill(2); // every high-level agent: goal south
 * env.step(); // spawns low_level_1 in every env; the base env does not move
 * if (env.agentId(64) !== "low_level_1") throw new Error("fresh low-level agent");
 * ```
 */
export class Hierarchy extends SlotEnv {
  /** The wrapped base env. */
  readonly base: BatchedEnv;
  /** The timeline (see the module doc). */
  readonly timeline: HierarchyTimeline;
  /**
   * `[N]` 1 when the last `step` advanced env `i` by an env step: the base env moved, or (in the
   * `"alternating"` timeline) a higher level decided; 0 for a masked env and for an
   * `"overlapping"` decision.
   */
  readonly envStepped: Uint8Array;
  readonly #levels: Level[];
  readonly #baseObsSize: number;
  /** Packed goals of all non-bottom levels, `[N, G]`. */
  readonly #goals: Float32Array;
  readonly #goalSize: number;
  /** Offset of level l's goal within a goals row (packed). */
  readonly #goalOff: Int32Array;
  /** Offset of level m's goal within an obs row of a lower level (flat). */
  readonly #goalFlatOff: Int32Array;
  /** `[L, N]` spawns of the level in the episode. */
  readonly #spawns: Int32Array;
  /** `[L, N]` the `n` of the agent last in the slot (for `agentId`). */
  readonly #idN: Int32Array;
  /** `[L, N]` actions taken by the level's current agent. */
  readonly #steps: Int32Array;
  /** `[L, N]` reward accumulated for the level's current agent, not yet delivered. */
  readonly #pending: Float64Array;
  /** `[N]` the level that acts next. */
  readonly #active: Int32Array;
  readonly #prevObs: Float32Array;
  readonly #curObs: Float32Array;
  // Per level, flattened for the hot loop.
  readonly #discreteN: Int32Array;
  readonly #actBufs: Float32Array[];
  readonly #actSizes: Int32Array;
  readonly #obsBufs: Float32Array[];
  readonly #obsSizes: Int32Array;
  readonly #rewardFns: (LevelReward | undefined)[];
  readonly #horizons: Float64Array;
  #ready = false;
  /**
   * The whole state as bytes (every slot buffer, goals, spawn counts, steps, pending rewards,
   * the acting levels, and the base env's `saveState`), for checkpoints. Present only when the
   * base env has `saveState` and `loadState`.
   */
  readonly saveState?: () => Uint8Array;
  /**
   * Restores a state from {@linkcode Hierarchy.saveState} on a hierarchy built the same way
   * (same levels, same base env and number of envs). Throws a `RangeError` naming what does
   * not fit, and changes nothing then. Present only when the base env has `saveState` and
   * `loadState`.
   */
  readonly loadState?: (state: Uint8Array) => void;

  /**
   * Builds the hierarchy over `base`; call `reset` before `step`.
   * @param base a batched env with one slot group of one slot per env, and a `stepMask`
   * @param levels the levels, top first (two or more)
   * @param options the timeline
   */
  constructor(base: BatchedEnv, levels: readonly LevelSpec[], options: HierarchyOptions = {}) {
    const timeline = options.timeline ?? "alternating";
    if (timeline !== "alternating" && timeline !== "overlapping") {
      throw new RangeError(
        `Hierarchy timeline must be "alternating" or "overlapping", got ${
          JSON.stringify(timeline)
        }`,
      );
    }
    if (base.groups.length !== 1 || base.groups[0]!.slotsPerEnv !== 1) {
      throw new RangeError(
        `Hierarchy needs a base env with one slot group of one slot per env, got groups ${
          base.groups.map((g) => `"${g.name}" (${g.slotsPerEnv} per env)`).join(", ")
        }`,
      );
    }
    if (base.stepMask === undefined) {
      throw new RangeError("Hierarchy needs a base env with a stepMask, got none");
    }
    if (levels.length < 2) {
      throw new RangeError(`Hierarchy needs at least two levels, got ${levels.length}`);
    }
    const names = new Set<string>();
    for (const l of levels) {
      if (names.has(l.name)) {
        throw new RangeError(`Level names must be unique, got "${l.name}" twice`);
      }
      names.add(l.name);
    }
    const baseGroup = base.groups[0]!;
    const baseObs = baseGroup.observationSpace;
    const N = base.numEnvs;
    const L = levels.length;
    const bottom = L - 1;
    const actionSpaces: Space[] = levels.map((l, i) => {
      if (i < bottom) {
        if (l.actionSpace === undefined) {
          throw new RangeError(`Level "${l.name}" needs an actionSpace (its goal space), got none`);
        }
        return l.actionSpace;
      }
      if (l.actionSpace !== undefined && !spacesEqual(l.actionSpace, baseGroup.actionSpace)) {
        throw new RangeError(
          `The bottom level "${l.name}" acts in the base env: expected actionSpace ${baseGroup.actionSpace}, got ${l.actionSpace}`,
        );
      }
      return baseGroup.actionSpace;
    });
    const horizons = levels.map((l, i) => {
      if (i === 0) {
        if (l.horizon !== undefined && l.horizon !== Infinity) {
          throw new RangeError(
            `The top level "${l.name}" ends only with the episode: expected no horizon, got ${l.horizon}`,
          );
        }
        return Infinity;
      }
      if (l.horizon === undefined || !Number.isInteger(l.horizon) || l.horizon < 1) {
        throw new RangeError(
          `Level "${l.name}" needs a horizon, a positive integer, got ${l.horizon}`,
        );
      }
      return l.horizon;
    });
    const obsSpaces: Space[] = levels.map((_, i) =>
      i === 0 ? baseObs : new Tuple([baseObs, ...actionSpaces.slice(0, i)])
    );
    super(
      N,
      levels.map((l, i) => ({
        name: l.name,
        slotsPerEnv: 1,
        observationSpace: obsSpaces[i]!,
        actionSpace: actionSpaces[i]!,
      })),
    );
    this.base = base;
    this.timeline = timeline;
    this.envStepped = new Uint8Array(N);
    this.#levels = levels.map((l, i) => {
      const rule = l.agentId;
      let idOf: (n: number) => string;
      if (typeof rule === "function") idOf = rule;
      else if (rule.includes("{n}")) idOf = (n) => rule.replaceAll("{n}", String(n));
      else if (i === 0) idOf = () => rule;
      else {
        throw new RangeError(
          `Level "${l.name}" needs a fresh id per agent: expected an agentId template with "{n}" or a function, got "${rule}"`,
        );
      }
      return {
        name: l.name,
        idOf,
        ids: [],
        actionSpace: actionSpaces[i]!,
        horizon: horizons[i]!,
        reward: l.reward,
        group: this.groups[i]!,
        obsSize: obsSpaces[i]!.flatSize,
        actSize: actionSpaces[i]!.packedSize,
      };
    });
    this.#baseObsSize = baseObs.flatSize;
    const goalOff = new Int32Array(L);
    const goalFlatOff = new Int32Array(L);
    let g = 0, gf = 0;
    for (let i = 0; i < bottom; i++) {
      goalOff[i] = g;
      goalFlatOff[i] = gf;
      g += actionSpaces[i]!.packedSize;
      gf += actionSpaces[i]!.flatSize;
    }
    this.#goalOff = goalOff;
    this.#goalFlatOff = goalFlatOff;
    this.#goalSize = g;
    this.#goals = new Float32Array(N * g);
    this.#spawns = new Int32Array(L * N);
    this.#idN = new Int32Array(L * N);
    this.#steps = new Int32Array(L * N);
    this.#pending = new Float64Array(L * N);
    this.#active = new Int32Array(N);
    this.#prevObs = new Float32Array(N * this.#baseObsSize);
    this.#curObs = new Float32Array(N * this.#baseObsSize);
    const lvs = this.#levels;
    this.#discreteN = Int32Array.from(
      lvs,
      (lv) =>
        lv.actionSpace instanceof Discrete && lv.actionSpace.start === 0 ? lv.actionSpace.n : 0,
    );
    this.#actBufs = lvs.map((lv) => lv.group.act);
    this.#actSizes = Int32Array.from(lvs, (lv) => lv.actSize);
    this.#obsBufs = lvs.map((lv) => lv.group.obs);
    this.#obsSizes = Int32Array.from(lvs, (lv) => lv.obsSize);
    this.#rewardFns = lvs.map((lv) => lv.reward);
    this.#horizons = Float64Array.from(lvs, (lv) => lv.horizon);
    if (typeof base.saveState === "function" && typeof base.loadState === "function") {
      this.saveState = () => this.#save();
      this.loadState = (state) => this.#load(state);
    }
  }

  /** The arrays of the hierarchy's own state, in saved order. */
  #stateArrays(ready: Uint8Array): ArrayBufferView[] {
    return [
      this.envStepped,
      this.#goals,
      this.#spawns,
      this.#idN,
      this.#steps,
      this.#pending,
      this.#active,
      this.#prevObs,
      this.#curObs,
      ready,
    ];
  }

  #save(): Uint8Array {
    const base = this.base.saveState!();
    const ready = Uint8Array.of(this.#ready ? 1 : 0);
    return this.saveSlotState(HIERARCHY_STATE, [...this.#stateArrays(ready), base]);
  }

  #load(state: Uint8Array): void {
    const parts = unpackState(HIERARCHY_STATE, state);
    const base = parts.at(-1);
    if (base === undefined) throw new RangeError("The hierarchy state has no base env state");
    // Check the hierarchy's own arrays without changing anything, let the base env check and
    // load its state, then load the hierarchy's.
    const ready = new Uint8Array(1);
    const extra = [...this.#stateArrays(ready), new Uint8Array(base.length)];
    const scratch = this.saveSlotState(HIERARCHY_STATE, extra);
    const sizes = unpackState(HIERARCHY_STATE, scratch).map((p) => p.length);
    const have = parts.map((p) => p.length);
    if (sizes.length !== have.length || sizes.some((n, i) => n !== have[i])) {
      throw new RangeError(
        `The hierarchy state does not fit this hierarchy (other levels, spaces or number of envs): array sizes ${
          JSON.stringify(have.slice(0, -1))
        }, expected ${JSON.stringify(sizes.slice(0, -1))}`,
      );
    }
    this.base.loadState!(base);
    this.loadSlotState(HIERARCHY_STATE, state, extra);
    this.#ready = ready[0] === 1;
  }

  /** Number of levels. */
  get numLevels(): number {
    return this.#levels.length;
  }

  /**
   * The level of a slot (0 = top).
   * @param slot a global slot index
   * @returns the level index
   */
  levelOf(slot: number): number {
    return Math.floor(slot / this.numEnvs);
  }

  /**
   * The level that acts next in an env.
   * @param env env index
   * @returns the level index (0 = top)
   */
  activeLevel(env: number): number {
    return this.#active[env]!;
  }

  /**
   * The id of the agent now (or last) in a slot; cached per `n`, so no allocation per step.
   * @param slot a global slot index
   * @returns the agent id
   */
  agentId(slot: number): string {
    const N = this.numEnvs;
    const l = Math.floor(slot / N);
    const lv = this.#levels[l];
    if (lv === undefined || slot < 0 || !Number.isInteger(slot)) {
      throw new RangeError(`Slot must be an integer in [0, ${this.numSlots}), got ${slot}`);
    }
    const n = Math.max(1, this.#idN[slot]!);
    return lv.ids[n] ?? (lv.ids[n] = lv.idOf(n));
  }

  /**
   * Resets every env: only the top agent of each env is SPAWNED|ACTIVE|ALIVE.
   * @param seed when given, the base env reseeds env `i` from `(seed, i)`
   */
  reset(seed?: number): void {
    this.base.reset(seed);
    const N = this.numEnvs, L = this.#levels.length;
    this.flags.fill(0);
    this.rew.fill(0);
    this.envDone.fill(0);
    this.envTruncated.fill(0);
    this.envStepped.fill(0);
    this.#goals.fill(0);
    for (const lv of this.#levels) {
      lv.group.obs.fill(0);
      lv.group.finalObs.fill(0);
    }
    this.#steps.fill(0);
    this.#pending.fill(0);
    for (let l = 1; l < L; l++) this.#spawns.fill(0, l * N, (l + 1) * N);
    for (let i = 0; i < N; i++) this.#startEpisode(i);
    this.#ready = true;
  }

  /** Top agent starts a new episode in env i (base already reset). */
  #startEpisode(i: number): void {
    const N = this.numEnvs;
    this.#active[i] = 0;
    this.#spawns[i] = 1;
    this.#idN[i] = 1;
    this.flags[i]! |= SPAWNED | ACTIVE | ALIVE;
    const O = this.#baseObsSize;
    const src = this.base.groups[0]!.obs, dst = this.#levels[0]!.group.obs;
    for (let k = i * O; k < i * O + O; k++) dst[k] = src[k]!;
    for (let l = 1; l < this.#levels.length; l++) {
      this.#spawns[l * N + i] = 0;
      this.#steps[l * N + i] = 0;
      this.#pending[l * N + i] = 0;
    }
    this.#steps[i] = 0;
    this.#pending[i] = 0;
  }

  /** Writes level l's observation row (or final observation row) of env i from a base row. */
  #writeObs(l: number, i: number, dst: Float32Array, src: Float32Array, srcOff: number): void {
    const lv = this.#levels[l]!;
    const O = this.#baseObsSize;
    const o = i * lv.obsSize;
    for (let k = 0; k < O; k++) dst[o + k] = src[srcOff + k]!;
    const gRow = i * this.#goalSize;
    for (let m = 0; m < l; m++) {
      packedToFlat(
        this.#levels[m]!.actionSpace,
        this.#goals,
        gRow + this.#goalOff[m]!,
        dst,
        o + O + this.#goalFlatOff[m]!,
      );
    }
  }

  /**
   * Advances every env whose `stepMask` entry is 1 by one step of its acting level (see the
   * module doc). Throws a `RangeError` naming the agent, the value and the expected space when
   * an action is invalid, or an `Error` before `reset`; nothing changes then.
   */
  step(): void {
    if (!this.#ready) throw new Error("Cannot step before reset: call reset() first");
    const N = this.numEnvs;
    const levels = this.#levels;
    const L = levels.length;
    const bottom = L - 1;
    const mask = this.stepMask;
    const active = this.#active, steps = this.#steps, pending = this.#pending;
    const discreteN = this.#discreteN, actBufs = this.#actBufs, actSizes = this.#actSizes;
    // 1. Validate every action before changing anything.
    for (let i = 0; i < N; i++) {
      if (mask[i] === 0) continue;
      const l = active[i]!;
      const dn = discreteN[l]!, buf = actBufs[l]!;
      if (dn > 0) {
        const v = buf[i]!;
        if (v >= 0 && v < dn && Number.isInteger(v)) continue;
      } else if (packedValid(levels[l]!.actionSpace, buf, i * actSizes[l]!)) continue;
      const why = explainPacked(levels[l]!.actionSpace, buf, i * actSizes[l]!);
      throw new RangeError(
        `Invalid action for agent "${this.agentId(l * N + i)}" in env ${i}: ${why}`,
      );
    }
    const base = this.base;
    const baseMask = base.stepMask!;
    const baseGroup = base.groups[0]!;
    const baseObs = baseGroup.obs, baseAct = baseGroup.act;
    const baseActSize = baseGroup.actionSpace.packedSize;
    const O = this.#baseObsSize;
    const flags = this.flags, rew = this.rew, envDone = this.envDone;
    const envTruncated = this.envTruncated;
    const goals = this.#goals, G = this.#goalSize, goalOff = this.#goalOff;
    const prev = this.#prevObs, cur = this.#curObs;
    const stepped = this.envStepped, decisionTicks = this.timeline === "alternating" ? 1 : 0;
    let stepBase = false;
    // 2. Higher levels set goals and spawn; bottom actions go to the base env.
    for (let i = 0; i < N; i++) {
      envDone[i] = 0;
      envTruncated[i] = 0;
      const keep = mask[i] === 0 ? ACTIVE | ALIVE : ALIVE;
      for (let s = i; s < L * N; s += N) {
        rew[s] = 0;
        flags[s]! &= keep;
      }
      if (mask[i] === 0) {
        baseMask[i] = 0;
        stepped[i] = 0;
        continue;
      }
      const l = active[i]!;
      const act = actBufs[l]!, as = actSizes[l]!;
      if (l < bottom) {
        baseMask[i] = 0;
        stepped[i] = decisionTicks;
        const a = i * as, g = i * G + goalOff[l]!;
        for (let k = 0; k < as; k++) goals[g + k] = act[a + k]!;
        steps[l * N + i]!++;
        const c = l + 1, cs = c * N + i;
        const n = ++this.#spawns[cs]!;
        this.#idN[cs] = n;
        steps[cs] = 0;
        pending[cs] = 0;
        this.#writeObs(c, i, levels[c]!.group.obs, baseObs, i * O);
        flags[cs] = SPAWNED | ACTIVE | ALIVE;
        active[i] = c;
      } else {
        baseMask[i] = 1;
        stepped[i] = 1;
        stepBase = true;
        const o = i * O;
        for (let k = 0; k < O; k++) prev[o + k] = baseObs[o + k]!;
        const a = i * as, b = i * baseActSize;
        for (let k = 0; k < baseActSize; k++) baseAct[b + k] = act[a + k]!;
      }
    }
    if (!stepBase) return;
    base.step();
    // 3. Route the base step's outcome to the levels.
    const baseFinal = baseGroup.finalObs, baseRew = base.rew, baseDone = base.envDone;
    const rewardFns = this.#rewardFns, horizons = this.#horizons;
    const obsBufs = this.#obsBufs, obsSizes = this.#obsSizes;
    for (let i = 0; i < N; i++) {
      if (baseMask[i] === 0) continue;
      const done = baseDone[i] === 1;
      const src = done ? baseFinal : baseObs;
      const o = i * O;
      for (let k = 0; k < O; k++) cur[o + k] = src[o + k]!;
      const br = baseRew[i]!;
      for (let l = 0; l < L; l++) {
        const fn = rewardFns[l];
        pending[l * N + i]! += fn === undefined
          ? br
          : fn(i, prev, cur, o, goals, l === 0 ? -1 : i * G + goalOff[l - 1]!, br);
      }
      steps[bottom * N + i]!++;
      if (done) {
        const trunc = base.envTruncated[i] === 1;
        const end = trunc ? TRUNCATED : TERMINATED;
        for (let l = 0; l < L; l++) {
          const s = l * N + i;
          flags[s] = end;
          rew[s] = pending[s]!;
          pending[s] = 0;
          this.#writeObs(l, i, levels[l]!.group.finalObs, cur, o);
        }
        envDone[i] = 1;
        envTruncated[i] = trunc ? 1 : 0;
        this.#startEpisode(i);
        continue;
      }
      for (let l = 0; l < L; l++) {
        const lo = i * obsSizes[l]!, obsBuf = obsBufs[l]!;
        for (let k = 0; k < O; k++) obsBuf[lo + k] = cur[o + k]!;
      }
      let l = bottom;
      while (l > 0 && steps[l * N + i]! >= horizons[l]!) {
        const s = l * N + i;
        flags[s] = TERMINATED;
        rew[s] = pending[s]!;
        pending[s] = 0;
        const size = obsSizes[l]!, fin = levels[l]!.group.finalObs, ob = obsBufs[l]!;
        for (let k = i * size; k < (i + 1) * size; k++) fin[k] = ob[k]!;
        l--;
      }
      const s = l * N + i;
      flags[s] = ACTIVE | ALIVE;
      rew[s] = pending[s]!;
      pending[s] = 0;
      active[i] = l;
    }
  }
}
