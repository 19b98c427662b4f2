import assert from "node:assert/strict";
import fc from "fast-check";
import { Pcg32 } from "./rng.ts";

const M64 = (1n << 64n) - 1n;
const MUL = 6364136223846793005n;

/** The reference PCG32 (pcg32_srandom_r / pcg32_random_r) with BigInt, for comparison. */
class RefPcg32 {
  state = 0n;
  inc = 0n;
  constructor(seed: bigint, stream: bigint) {
    this.inc = ((stream << 1n) | 1n) & M64;
    this.next();
    this.state = (this.state + seed) & M64;
    this.next();
  }
  next(): number {
    const old = this.state;
    this.state = (old * MUL + this.inc) & M64;
    const xorshifted = Number((((old >> 18n) ^ old) >> 27n) & 0xffffffffn);
    const rot = Number(old >> 59n);
    return ((xorshifted >>> rot) | (xorshifted << ((32 - rot) & 31))) >>> 0;
  }
}

Deno.test("PCG32 matches the reference demo output for (42, 54)", () => {
  const r = new Pcg32(42, 54);
  const got = Array.from({ length: 6 }, () => r.nextU32().toString(16));
  assert.deepEqual(got, ["a15c02b7", "7b47f409", "ba1d3330", "83d2f293", "bfa4784b", "cbed606e"]);
});

Deno.test("PCG32 equals a BigInt reference for any 53-bit seed and stream", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: 0, max: 2 ** 52 - 1 }),
      (seed, stream) => {
        const a = new Pcg32(seed, stream);
        const b = new RefPcg32(BigInt(seed), BigInt(stream));
        for (let i = 0; i < 20; i++) assert.equal(a.nextU32(), b.next());
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("nextInt stays in range and is roughly uniform; nextFloat is in [0, 1)", () => {
  const r = new Pcg32(7, 3);
  const counts = new Array<number>(6).fill(0);
  for (let i = 0; i < 60000; i++) {
    const k = r.nextInt(6);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 6);
    counts[k]!++;
  }
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `count ${c}`);
  for (let i = 0; i < 10000; i++) {
    const f = r.nextFloat();
    assert.ok(f >= 0 && f < 1 && Math.fround(f) === f);
  }
});

Deno.test("getState/setState resumes the stream exactly; bad input is refused", () => {
  const a = new Pcg32(123, 9);
  a.nextU32();
  const saved = a.getState();
  const next = [a.nextU32(), a.nextU32()];
  const b = new Pcg32();
  b.setState(saved);
  assert.deepEqual([b.nextU32(), b.nextU32()], next);
  assert.throws(() => b.setState([1, 2, 3]), /four unsigned 32-bit integers/);
  assert.throws(() => new Pcg32(-1), /Seed must be a non-negative safe integer, got -1/);
  assert.throws(() => new Pcg32(0, 1.5), /Stream must be a non-negative safe integer, got 1.5/);
});
