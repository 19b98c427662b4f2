/**
 * {@linkcode SquashedGaussian}: the diagonal Gaussian action distribution of a Box action space,
 * shared by the model (sampling and log-probabilities when acting) and the PPO loss, so that
 * both compute the same numbers from the same stored actions.
 *
 * Element `d` of an action: a latent `u ~ N(μ_d, σ_d²)` with `σ_d = exp(s_d)`; where both
 * bounds are finite it is squashed into them, `a = low + (tanh(u) + 1) / 2 · (high − low)`;
 * where both are infinite `a = u`. Half-bounded elements are refused. Then
 *
 *     log p(a) = Σ_d [log N(u_d; μ_d, σ_d) − log |da_d/du_d|],
 *     log |da/du| = log((high − low) / 2) + log(1 − tanh²(u))   (0 for an unbounded element).
 *
 * Log-probabilities are always computed from the *stored* action (the float32 the env and the
 * batch see), its latent recovered as `u = atanh(y)` with `y = 2 (a − low) / (high − low) − 1`
 * clipped to ±{@linkcode LATENT_CLIP} (|u| ≤ 7.25): the learner only has the stored action, and
 * the log-probability recorded when acting must be the one the loss recomputes.
 *
 * @module
 */

import type { Box } from "../spaces.ts";

/** Bound of |y| = |tanh(u)| when a stored action is mapped back to its latent. */
export const LATENT_CLIP = 1 - 1e-6;
/** ½ log(2π). */
export const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
/** Entropy of a standard normal, ½ (1 + log(2π)). */
export const NORMAL_ENTROPY = 0.5 + HALF_LOG_2PI;

/**
 * Per-element constants of the squashed diagonal Gaussian over a Box (see the module doc).
 */
export class SquashedGaussian {
  /** Number of action elements `D` (the Box's `packedSize`). */
  readonly size: number;
  readonly #low: Float64Array;
  readonly #high: Float64Array;
  /** (high − low) / 2, or 0 for an unbounded (identity) element. */
  readonly #half: Float64Array;
  /** log((high − low) / 2), or 0 for an unbounded element. */
  readonly #logHalf: Float64Array;

  /**
   * Precomputes the constants of `space`.
   * @param space the Box action space
   * @param who the owner, for error messages
   * @throws {RangeError} when an element is half-bounded or has `low == high`
   */
  constructor(space: Box, who = "A Gaussian head") {
    const D = space.low.length;
    this.size = D;
    this.#low = Float64Array.from(space.low);
    this.#high = Float64Array.from(space.high);
    this.#half = new Float64Array(D);
    this.#logHalf = new Float64Array(D);
    for (let d = 0; d < D; d++) {
      const lo = this.#low[d]!, hi = this.#high[d]!;
      const finite = Number.isFinite(lo) && Number.isFinite(hi);
      if (finite && hi > lo) {
        this.#half[d] = (hi - lo) / 2;
        this.#logHalf[d] = Math.log((hi - lo) / 2);
      } else if (!(lo === -Infinity && hi === Infinity)) {
        throw new RangeError(
          `${who} needs each element of a Box action space bounded on both sides (low < high; ` +
            `squashed with tanh) or on neither (unsquashed), got [${lo}, ${hi}] at element ${d} ` +
            `of ${space}`,
        );
      }
    }
  }

  /**
   * Action element `d` for latent `u`, within the bounds.
   * @param d element index
   * @param u latent value
   * @returns the action element
   */
  squash(d: number, u: number): number {
    const half = this.#half[d]!;
    if (half === 0) return u;
    const lo = this.#low[d]!, hi = this.#high[d]!;
    return Math.min(hi, Math.max(lo, lo + (Math.tanh(u) + 1) * half));
  }

  /**
   * `y = tanh(u)` of a stored action element, clipped to ±{@linkcode LATENT_CLIP} (`a` itself
   * for an unbounded element).
   * @param d element index
   * @param a stored action element
   * @returns y
   */
  #y(d: number, a: number): number {
    const y = (a - this.#low[d]!) / this.#half[d]! - 1;
    return Math.min(LATENT_CLIP, Math.max(-LATENT_CLIP, y));
  }

  /**
   * The latent `u` of a stored action element.
   * @param d element index
   * @param a stored action element
   * @returns `atanh(y)`, or `a` for an unbounded element
   */
  latent(d: number, a: number): number {
    return this.#half[d] === 0 ? a : Math.atanh(this.#y(d, a));
  }

  /**
   * `log |da/du|` at a stored action element (0 for an unbounded element).
   * @param d element index
   * @param a stored action element
   * @returns the log-Jacobian of the squash
   */
  logJacobian(d: number, a: number): number {
    if (this.#half[d] === 0) return 0;
    const y = this.#y(d, a);
    return this.#logHalf[d]! + Math.log1p(-y) + Math.log1p(y);
  }

  /**
   * log p(action) for means `mean[mOff + d]` and log-stds `logStd[sOff + d]`, summed over the
   * elements.
   * @param mean means
   * @param mOff first mean read
   * @param logStd log standard deviations
   * @param sOff first log-std read
   * @param action stored action elements
   * @param aOff first action element read
   * @returns the log-density of the action
   */
  logProb(
    mean: ArrayLike<number>,
    mOff: number,
    logStd: ArrayLike<number>,
    sOff: number,
    action: ArrayLike<number>,
    aOff: number,
  ): number {
    let lp = 0;
    for (let d = 0; d < this.size; d++) {
      const a = action[aOff + d]!, s = logStd[sOff + d]!;
      const z = (this.latent(d, a) - mean[mOff + d]!) * Math.exp(-s);
      lp += -0.5 * z * z - s - HALF_LOG_2PI - this.logJacobian(d, a);
    }
    return lp;
  }
}
