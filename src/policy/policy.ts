/**
 * The batched policy interface the rollout calls, and the fixed (non-learning) policies:
 * {@linkcode RandomPolicy} and {@linkcode ScriptedPolicy}. Learning policies are
 * `ActorCriticModel`s (see `model.ts`), which implement the same interface.
 *
 * @module
 */

import type { Pcg32 } from "../rng.ts";
import { Box, Dict, Discrete, MultiDiscrete, type Space } from "../spaces.ts";
import type { ExtraColumn } from "../rollout/buffer.ts";

/**
 * The logit (or Q-value) a model writes for an illegal action of a masked observation (see
 * {@linkcode actionMaskLayout}): so large a negative that its softmax probability is exactly 0
 * in float64 and it never wins a max, yet finite, so products with a zero probability stay 0.
 */
export const MASKED_LOGIT: number = -1e9;

/**
 * Where the legal-action mask and the observations lie in a flat row of a masked observation
 * space (RLlib's convention: a Dict of exactly `"action_mask"` and `"observations"`).
 */
export interface ActionMaskLayout {
  /** Offset of `action_mask` in a flat observation row. */
  readonly maskOffset: number;
  /** Number of actions (the mask's length, the Discrete action space's `n`). */
  readonly size: number;
  /** Offset of `observations` in a flat observation row. */
  readonly obsOffset: number;
  /** Flat size of `observations`. */
  readonly obsSize: number;
  /** The `observations` space: what a model encodes. */
  readonly observations: Space;
}

/**
 * The action-mask layout of an observation space, or null when it is not masked. An
 * observation space is masked when it is a Dict with exactly the keys `"action_mask"` and
 * `"observations"` (RLlib's convention): `action_mask` is a Box of one 0/1 per action of a
 * Discrete action space (1: legal), `observations` is what the model sees. Models and
 * policies then never sample, choose greedily or bootstrap from an illegal action.
 *
 * @example
 * ```ts
 * import { actionMaskLayout } from "./policy.ts";
 * import { Box, Dict, Discrete } from "../spaces.ts";
 * const obs = new Dict({ action_mask: new Box(0, 1, [3]), observations: new Box(-1, 1, [4]) });
 * const m = actionMaskLayout(obs, new Discrete(3), "example")!;
 * // Dict keys are encoded sorted: the mask comes first.
 * if (m.maskOffset !== 0 || m.obsOffset !== 3 || m.obsSize !== 4) throw new Error("layout");
 * ```
 *
 * @param observationSpace the observation space (undefined: not masked)
 * @param actionSpace the action space
 * @param who names the caller in error messages
 * @returns the layout, or null
 * @throws {RangeError} when the Dict has `"action_mask"` but other keys than the two, the mask
 *   is not a Box of one value per action in [0, 1], or the action space is not Discrete
 */
export function actionMaskLayout(
  observationSpace: Space | undefined,
  actionSpace: Space,
  who: string,
): ActionMaskLayout | null {
  if (!(observationSpace instanceof Dict) || !observationSpace.keys.includes("action_mask")) {
    return null;
  }
  const keys = observationSpace.keys;
  if (keys.length !== 2 || !keys.includes("observations")) {
    throw new RangeError(
      `${who}: an observation space with "action_mask" must be a Dict of exactly "action_mask" and "observations" (RLlib's convention), got keys ${
        keys.map((k) => `"${k}"`).join(", ")
      }`,
    );
  }
  if (!(actionSpace instanceof Discrete)) {
    throw new RangeError(
      `${who}: action masking needs a Discrete action space, got ${actionSpace.toString()}`,
    );
  }
  const mask = observationSpace.spaces.action_mask!;
  if (
    !(mask instanceof Box) || mask.flatSize !== actionSpace.n ||
    !mask.low.every((x) => x >= 0) || !mask.high.every((x) => x <= 1)
  ) {
    throw new RangeError(
      `${who}: "action_mask" must be a Box in [0, 1] of ${actionSpace.n} values (one per action of ${actionSpace.toString()}), got ${mask.toString()}`,
    );
  }
  const observations = observationSpace.spaces.observations!;
  let off = 0, maskOffset = 0, obsOffset = 0;
  for (const k of keys) {
    if (k === "action_mask") maskOffset = off;
    else obsOffset = off;
    off += observationSpace.spaces[k]!.flatSize;
  }
  return {
    maskOffset,
    size: actionSpace.n,
    obsOffset,
    obsSize: observations.flatSize,
    observations,
  };
}

/**
 * Checks the mask of row `r` (values 0 or 1) and counts its legal actions.
 * @param obs flat observation rows of `rowSize` floats
 * @param rowSize floats per row
 * @param r the row
 * @param m the layout
 * @param who names the caller in error messages
 * @returns the number of legal actions (may be 0)
 * @throws {RangeError} on a mask value other than 0 and 1
 */
export function countLegal(
  obs: ArrayLike<number>,
  rowSize: number,
  r: number,
  m: ActionMaskLayout,
  who: string,
): number {
  const base = r * rowSize + m.maskOffset;
  let n = 0;
  for (let j = 0; j < m.size; j++) {
    const v = obs[base + j]!;
    if (v === 1) n++;
    else if (v !== 0) {
      throw new RangeError(
        `${who}: action_mask[${j}] of row ${r} is ${v}, expected 0 (illegal) or 1 (legal)`,
      );
    }
  }
  return n;
}

/**
 * The error for a row whose mask allows no action.
 * @param who names the caller
 * @param r the row
 * @returns the error to throw
 */
export function noLegalActionError(who: string, r: number): RangeError {
  return new RangeError(
    `${who}: observation row ${r} has no legal action in its action_mask (all 0); an agent asked to act needs at least one`,
  );
}

/**
 * Per-row outputs a policy writes besides its actions, by RLlib column name (one float per row
 * each), when the algorithm asks for them: PPO asks a learning policy for `action_logp` and
 * `vf_preds`. A policy writes the ones it lists in {@linkcode BatchPolicy.extraOutputs}.
 */
export type PolicyExtras = Readonly<Partial<Record<ExtraColumn, Float32Array>>>;

/**
 * A policy evaluated on a batch of rows: one call per policy per env step, over every agent
 * routed to it. It only acts: which extra outputs are recorded, and what is learned from them,
 * is the algorithm's business.
 */
export interface BatchPolicy {
  /** Flat observation size this policy reads per row. */
  readonly obsSize: number;
  /** Packed action size this policy writes per row. */
  readonly actSize: number;
  /** The extra outputs ({@linkcode PolicyExtras}) this policy can write; none when absent. */
  readonly extraOutputs?: readonly ExtraColumn[];
  /**
   * Computes actions for `rows` rows of `obsSize` floats.
   * @param obs observation rows (only the first `rows * obsSize` floats are read)
   * @param rows number of rows
   * @param rng random stream for sampling
   * @param explore sample (true) or take the most likely action (false)
   * @param actionsOut packed actions, `rows * actSize` floats written
   * @param extras extra outputs to write, `rows` floats each (only ones in `extraOutputs`)
   */
  act(
    obs: Float32Array,
    rows: number,
    rng: Pcg32,
    explore: boolean,
    actionsOut: Float32Array,
    extras?: PolicyExtras,
  ): void;
}

/** Categories and first values of each categorical head of a Discrete/MultiDiscrete space. */
function discreteHeads(space: Space, who: string): { n: number[]; start: number[] } {
  if (space instanceof Discrete) return { n: [space.n], start: [space.start] };
  if (space instanceof MultiDiscrete) return { n: [...space.nvec], start: space.nvec.map(() => 0) };
  throw new RangeError(
    `${who} supports Discrete, MultiDiscrete and Box action spaces, got ${space.toString()}`,
  );
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Uniformly random actions over a Discrete (from its `start`), MultiDiscrete or Box action
 * space; given a masked observation space ({@linkcode actionMaskLayout}), uniform over each
 * row's legal actions (its `action_logp` then is −log(number of legal actions)). A Box is sampled as `Box.sample` does, element by element: uniform within finite
 * bounds, a standard normal where unbounded (folded into a half-bounded range). Can write
 * `action_logp` (the log-probability or log-density of the action drawn; an element with
 * `low == high` adds 0) and `vf_preds` (0).
 *
 * @example
 * ```ts
 * import { RandomPolicy } from "./policy.ts";
 * import { Discrete } from "../spaces.ts";
 * import { Pcg32 } from "../rng.ts";
 * const p = new RandomPolicy(3, new Discrete(4, 1));
 * const act = new Float32Array(2);
 * p.act(new Float32Array(6), 2, new Pcg32(1), true, act);
 * if (!act.every((a) => a >= 1 && a <= 4)) throw new Error("Discrete(4, start 1)");
 * ```
 */
export class RandomPolicy implements BatchPolicy {
  /** Flat observation size this policy reads per row. */
  readonly obsSize: number;
  /** Packed action size this policy writes per row. */
  readonly actSize: number;
  /** The extra outputs it writes: `action_logp` and `vf_preds`. */
  readonly extraOutputs: readonly ExtraColumn[] = ["action_logp", "vf_preds"];
  readonly #heads: number[];
  readonly #starts: number[];
  readonly #logp: number;
  readonly #box: Box | null;
  readonly #mask: ActionMaskLayout | null;
  readonly #name: string;
  /**
   * Creates a uniformly random policy.
   * @param observation the observation space (a masked one makes the policy sample legal
   *   actions only), or just its flat size
   * @param actionSpace a Discrete, MultiDiscrete or Box space
   * @param name named in errors (default `"RandomPolicy"`)
   * @throws {RangeError} on another action space, or a malformed masked observation space
   */
  constructor(observation: number | Space, actionSpace: Space, name = "RandomPolicy") {
    const obsSize = typeof observation === "number" ? observation : observation.flatSize;
    this.obsSize = obsSize;
    this.#name = name;
    this.#mask = typeof observation === "number"
      ? null
      : actionMaskLayout(observation, actionSpace, name);
    if (actionSpace instanceof Box) {
      this.#box = actionSpace;
      this.#heads = [];
      this.#starts = [];
      this.actSize = actionSpace.packedSize;
      // The uniform part of the log-density, the same for every action.
      let lp = 0;
      for (let i = 0; i < this.actSize; i++) {
        const lo = actionSpace.low[i]!, hi = actionSpace.high[i]!;
        if (Number.isFinite(lo) && Number.isFinite(hi) && hi > lo) lp -= Math.log(hi - lo);
      }
      this.#logp = lp;
      return;
    }
    const h = discreteHeads(actionSpace, "RandomPolicy");
    this.#box = null;
    this.#heads = h.n;
    this.#starts = h.start;
    this.actSize = this.#heads.length;
    this.#logp = -this.#heads.reduce((a, n) => a + Math.log(n), 0);
  }
  /**
   * Draws one uniform action per head per row (a Box: per element, as `Box.sample`; see
   * {@linkcode BatchPolicy.act}).
   * @param obs observation rows (read only for their action masks)
   * @param rows number of rows
   * @param rng random stream
   * @param _explore ignored: a random policy always samples
   * @param actionsOut packed actions written
   * @param extras `action_logp` and `vf_preds` written when given
   */
  act(
    obs: Float32Array,
    rows: number,
    rng: Pcg32,
    _explore: boolean,
    actionsOut: Float32Array,
    extras?: PolicyExtras,
  ): void {
    const mask = this.#mask;
    if (mask !== null) {
      const O = this.obsSize, start = this.#starts[0]!, logp = extras?.action_logp;
      for (let r = 0; r < rows; r++) {
        const n = countLegal(obs, O, r, mask, this.#name);
        if (n === 0) throw noLegalActionError(this.#name, r);
        let k = rng.nextInt(n), j = 0;
        for (const base = r * O + mask.maskOffset;; j++) {
          if (obs[base + j] === 1 && k-- === 0) break;
        }
        actionsOut[r] = start + j;
        if (logp !== undefined) logp[r] = -Math.log(n);
      }
      extras?.vf_preds?.fill(0, 0, rows);
      return;
    }
    if (this.#box !== null) {
      this.#actBox(this.#box, rows, rng, actionsOut, extras?.action_logp);
      extras?.vf_preds?.fill(0, 0, rows);
      return;
    }
    const h = this.#heads, st = this.#starts, K = h.length;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < K; j++) actionsOut[r * K + j] = st[j]! + rng.nextInt(h[j]!);
    }
    extras?.action_logp?.fill(this.#logp, 0, rows);
    extras?.vf_preds?.fill(0, 0, rows);
  }

  #actBox(
    box: Box,
    rows: number,
    rng: Pcg32,
    actionsOut: Float32Array,
    logpOut: Float32Array | undefined,
  ): void {
    const D = this.actSize, low = box.low, high = box.high;
    for (let r = 0; r < rows; r++) {
      let lp = this.#logp;
      for (let i = 0; i < D; i++) {
        const lo = low[i]!, hi = high[i]!;
        if (Number.isFinite(lo) && Number.isFinite(hi)) {
          actionsOut[r * D + i] = lo + (hi - lo) * rng.nextFloat();
          continue;
        }
        // The same draws as Box.sample: a Box–Muller normal, folded where half-bounded.
        const u = 1 - rng.nextFloat(), v = rng.nextFloat();
        const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
        const lo1 = Number.isFinite(lo), hi1 = Number.isFinite(hi);
        actionsOut[r * D + i] = lo1 ? lo + Math.abs(z) : hi1 ? hi - Math.abs(z) : z;
        lp += -0.5 * z * z - HALF_LOG_2PI + (lo1 || hi1 ? Math.LN2 : 0);
      }
      if (logpOut !== undefined) logpOut[r] = lp;
    }
  }
}

/**
 * A hand-written policy: `fn(obsRow, rng)` returns the packed action(s) for one row. `obsRow`
 * is a reused copy of the row (valid only during the call), so the function allocates nothing
 * unless it wants to. It writes no extra outputs.
 *
 * @example
 * ```ts
 * import { ScriptedPolicy } from "./policy.ts";
 * import { Discrete } from "../spaces.ts";
 * // Windy maze: always move.
 * const always = new ScriptedPolicy(6, new Discrete(2), () => 1);
 * ```
 */
export class ScriptedPolicy implements BatchPolicy {
  /** Flat observation size this policy reads per row. */
  readonly obsSize: number;
  /** Packed action size this policy writes per row. */
  readonly actSize: number;
  readonly #fn: (obsRow: Float32Array, rng: Pcg32) => number | ArrayLike<number>;
  readonly #space: Space;
  readonly #row: Float32Array;
  readonly #name: string;
  /**
   * Creates a policy that calls `fn` on every row.
   * @param obsSize flat observation size
   * @param actionSpace the action space (Discrete, MultiDiscrete or Box)
   * @param fn returns the action for one flat observation row
   * @param name the policy id, for error messages
   */
  constructor(
    obsSize: number,
    actionSpace: Space,
    fn: (obsRow: Float32Array, rng: Pcg32) => number | ArrayLike<number>,
    name = "scripted",
  ) {
    this.#name = name;
    this.obsSize = obsSize;
    this.actSize = actionSpace.packedSize;
    this.#fn = fn;
    this.#space = actionSpace;
    this.#row = new Float32Array(obsSize);
  }
  /**
   * Calls the function on every row (see {@linkcode BatchPolicy.act}).
   * @param obs observation rows
   * @param rows number of rows
   * @param rng random stream passed to the function
   * @param _explore ignored
   * @param actionsOut packed actions written
   */
  act(
    obs: Float32Array,
    rows: number,
    rng: Pcg32,
    _explore: boolean,
    actionsOut: Float32Array,
  ): void {
    const o = this.obsSize, a = this.actSize;
    const row = this.#row;
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < o; i++) row[i] = obs[r * o + i]!;
      const out = this.#fn(row, rng);
      if (typeof out === "number") {
        if (a !== 1) {
          throw new RangeError(
            `Scripted policy "${this.#name}" returned one number, expected ${a} for ${this.#space.toString()}`,
          );
        }
        actionsOut[r] = out;
      } else {
        if (out.length !== a) {
          throw new RangeError(
            `Scripted policy "${this.#name}" returned ${out.length} numbers, expected ${a} for ${this.#space.toString()}`,
          );
        }
        for (let j = 0; j < a; j++) actionsOut[r * a + j] = out[j]!;
      }
    }
  }
}
