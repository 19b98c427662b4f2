/**
 * PCG32 (O'Neill's permuted congruential generator, XSH-RR 64/32), in plain TypeScript with
 * 32-bit halves so it runs without BigInt on the hot path. The AssemblyScript envs implement the
 * same generator with native u64, so a stream seeded here and there yields the same numbers.
 *
 * @module
 */

const MUL_LO = 0x4c957f2d;
const MUL_HI = 0x5851f42d;

/**
 * A seedable PCG32 stream. `new Pcg32(seed, stream)` matches `pcg32_srandom_r(seed, stream)` of
 * the reference implementation, with `seed` and `stream` taken as unsigned 53-bit integers.
 *
 * @example Same seed, same numbers
 * ```ts
 * import { Pcg32 } from "./rng.ts";
 * const a = new Pcg32(42, 0);
 * const b = new Pcg32(42, 0);
 * if (a.nextU32() !== b.nextU32()) throw new Error("not deterministic");
 * ```
 */
export class Pcg32 {
  #lo = 0;
  #hi = 0;
  #incLo = 1;
  #incHi = 0;

  /**
   * Seeds a stream.
   * @param seed initial state, a non-negative integer below 2^53
   * @param stream stream selector, a non-negative integer below 2^52 (env index in batched envs)
   */
  constructor(seed = 0, stream = 0) {
    this.seed(seed, stream);
  }

  /**
   * Re-seeds this stream in place.
   * @param seed initial state, a non-negative integer below 2^53
   * @param stream stream selector, a non-negative integer below 2^52
   */
  seed(seed: number, stream = 0): void {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`Seed must be a non-negative safe integer, got ${seed}`);
    }
    if (!Number.isSafeInteger(stream) || stream < 0) {
      throw new RangeError(`Stream must be a non-negative safe integer, got ${stream}`);
    }
    // inc = (stream << 1) | 1, as 64 bits.
    const sLo = stream >>> 0;
    const sHi = Math.floor(stream / 4294967296) >>> 0;
    this.#incLo = ((sLo << 1) | 1) >>> 0;
    this.#incHi = ((sHi << 1) | (sLo >>> 31)) >>> 0;
    this.#lo = 0;
    this.#hi = 0;
    this.nextU32();
    const lo = (this.#lo + (seed >>> 0)) >>> 0;
    const carry = lo < this.#lo ? 1 : 0;
    this.#hi = (this.#hi + (Math.floor(seed / 4294967296) >>> 0) + carry) >>> 0;
    this.#lo = lo;
    this.nextU32();
  }

  /**
   * Draws the next unsigned 32-bit integer of the stream.
   * @returns an integer in [0, 2^32)
   */
  nextU32(): number {
    const oLo = this.#lo;
    const oHi = this.#hi;
    // state = old * MUL + inc (mod 2^64), with the 32x32->64 product split into 16-bit parts.
    const a0 = oLo & 0xffff, a1 = oLo >>> 16;
    const b0 = MUL_LO & 0xffff, b1 = MUL_LO >>> 16;
    const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    let lo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    let hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(oLo, MUL_HI) +
      Math.imul(oHi, MUL_LO)) >>> 0;
    const sumLo = lo + this.#incLo;
    hi = (hi + this.#incHi + (sumLo > 0xffffffff ? 1 : 0)) >>> 0;
    lo = sumLo >>> 0;
    this.#lo = lo;
    this.#hi = hi;
    // output = rotr32(((old >> 18) ^ old) >> 27, old >> 59)
    const xLo = (((oLo >>> 18) | (oHi << 14)) ^ oLo) >>> 0;
    const xHi = ((oHi >>> 18) ^ oHi) >>> 0;
    const xorshifted = ((xLo >>> 27) | (xHi << 5)) >>> 0;
    const rot = oHi >>> 27;
    return ((xorshifted >>> rot) | (xorshifted << ((32 - rot) & 31))) >>> 0;
  }

  /**
   * Draws a float in [0, 1) with 24 random bits (exactly representable as f32).
   * @returns the float
   */
  nextFloat(): number {
    return (this.nextU32() >>> 8) * 5.9604644775390625e-8;
  }

  /**
   * Draws a double in [0, 1) with 53 random bits from two draws (numpy's construction; the rule
   * of the AssemblyScript envs' `Pcg32.nextDouble`).
   * @returns the double
   */
  nextDouble(): number {
    const a = this.nextU32() >>> 5, b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * An unbiased integer in [0, n), by rejection (the same rule as the AssemblyScript envs).
   * @param n exclusive upper bound, an integer in [1, 2^32)
   * @returns the drawn integer
   */
  nextInt(n: number): number {
    const threshold = (4294967296 - n) % n;
    for (;;) {
      const r = this.nextU32();
      if (r >= threshold) return r % n;
    }
  }

  /**
   * The generator's state, for checkpoints.
   * @returns the four 32-bit words of the state (state lo, hi, inc lo, hi)
   */
  getState(): [number, number, number, number] {
    return [this.#lo, this.#hi, this.#incLo, this.#incHi];
  }

  /**
   * Restores a state taken with {@linkcode Pcg32.getState}.
   * @param state the four words
   */
  setState(state: readonly number[]): void {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new RangeError(
        `PCG32 state must be four unsigned 32-bit integers, got ${JSON.stringify(state)}`,
      );
    }
    [this.#lo, this.#hi, this.#incLo, this.#incHi] = state as [number, number, number, number];
  }
}
