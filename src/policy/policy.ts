/**
 * The batched policy interface the rollout calls, and the fixed (non-learning) policies:
 * {@linkcode RandomPolicy} and {@linkcode ScriptedPolicy}. Learning policies are
 * `ActorCriticModel`s (see `model.ts`), which implement the same interface.
 *
 * @module
 */

import type { Pcg32 } from "../rng.ts";
import { Discrete, MultiDiscrete, type Space } from "../spaces.ts";

/**
 * A policy evaluated on a batch of rows: one call per policy per env step, over every agent
 * routed to it.
 */
export interface BatchPolicy {
  /** Flat observation size this policy reads per row. */
  readonly obsSize: number;
  /** Packed action size this policy writes per row. */
  readonly actSize: number;
  /**
   * Computes actions for `rows` rows of `obsSize` floats.
   * @param obs observation rows (only the first `rows * obsSize` floats are read)
   * @param rows number of rows
   * @param rng random stream for sampling
   * @param explore sample (true) or take the most likely action (false)
   * @param actionsOut packed actions, `rows * actSize` floats written
   * @param logpOut log-probability of each chosen action, `rows` floats written
   * @param valuesOut value estimate of each row (0 for policies without one), `rows` written
   */
  act(
    obs: Float32Array,
    rows: number,
    rng: Pcg32,
    explore: boolean,
    actionsOut: Float32Array,
    logpOut: Float32Array,
    valuesOut: Float32Array,
  ): void;
  /**
   * Value estimates of `rows` observation rows (for bootstrapping truncated episodes).
   * @param obs observation rows
   * @param rows number of rows
   * @param out `rows` values written
   */
  values(obs: Float32Array, rows: number, out: Float32Array): void;
}

function discreteHeads(space: Space, who: string): number[] {
  if (space instanceof Discrete) return [space.n];
  if (space instanceof MultiDiscrete) return [...space.nvec];
  throw new RangeError(
    `${who} supports Discrete and MultiDiscrete action spaces, got ${space.toString()}`,
  );
}

/**
 * Uniformly random actions over a Discrete or MultiDiscrete action space; value 0.
 *
 * @example
 * ```ts
 * import { RandomPolicy } from "./policy.ts";
 * import { Discrete } from "../spaces.ts";
 * import { Pcg32 } from "../rng.ts";
 * const p = new RandomPolicy(3, new Discrete(4));
 * const act = new Float32Array(2), logp = new Float32Array(2), v = new Float32Array(2);
 * p.act(new Float32Array(6), 2, new Pcg32(1), true, act, logp, v);
 * ```
 */
export class RandomPolicy implements BatchPolicy {
  /** Flat observation size this policy reads per row. */
  readonly obsSize: number;
  /** Packed action size this policy writes per row. */
  readonly actSize: number;
  readonly #heads: number[];
  readonly #logp: number;
  /**
   * Creates a uniformly random policy.
   * @param obsSize flat observation size
   * @param actionSpace a Discrete or MultiDiscrete space
   */
  constructor(obsSize: number, actionSpace: Space) {
    this.#heads = discreteHeads(actionSpace, "RandomPolicy");
    this.obsSize = obsSize;
    this.actSize = this.#heads.length;
    this.#logp = -this.#heads.reduce((a, n) => a + Math.log(n), 0);
  }
  /** Computes actions for `rows` rows of `obsSize` floats (see {@linkcode BatchPolicy.act}). */
  act(
    _obs: Float32Array,
    rows: number,
    rng: Pcg32,
    _explore: boolean,
    actionsOut: Float32Array,
    logpOut: Float32Array,
    valuesOut: Float32Array,
  ): void {
    const h = this.#heads;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < h.length; j++) actionsOut[r * h.length + j] = rng.nextInt(h[j]!);
      logpOut[r] = this.#logp;
      valuesOut[r] = 0;
    }
  }
  /**
   * Value estimates of `rows` observation rows (see {@linkcode BatchPolicy.values}).
   * @param _obs observation rows
   * @param rows number of rows
   * @param out `rows` values written
   */
  values(_obs: Float32Array, rows: number, out: Float32Array): void {
    out.fill(0, 0, rows);
  }
}

/**
 * A hand-written policy: `fn(obsRow, rng)` returns the packed action(s) for one row. `obsRow`
 * is a reused copy of the row (valid only during the call), so the function allocates nothing
 * unless it wants to.
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
  /** Computes actions for `rows` rows of `obsSize` floats (see {@linkcode BatchPolicy.act}). */
  act(
    obs: Float32Array,
    rows: number,
    rng: Pcg32,
    _explore: boolean,
    actionsOut: Float32Array,
    logpOut: Float32Array,
    valuesOut: Float32Array,
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
      logpOut[r] = 0;
      valuesOut[r] = 0;
    }
  }
  /**
   * Value estimates of `rows` observation rows (see {@linkcode BatchPolicy.values}).
   * @param _obs observation rows
   * @param rows number of rows
   * @param out `rows` values written
   */
  values(_obs: Float32Array, rows: number, out: Float32Array): void {
    out.fill(0, 0, rows);
  }
}
