import assert from "node:assert/strict";
import fc from "fast-check";
import { Box, Dict, Discrete, MultiDiscrete, type Space, spacesEqual, Tuple } from "./spaces.ts";
import { Pcg32 } from "./rng.ts";

const maze = new Tuple([new Box(0, 100, [2]), new Discrete(4)]);
const nested = new Dict({
  robot_position: new Box(0, 1, [2]),
  chicken: new Discrete(3, 1),
  moves: new MultiDiscrete([2, 3]),
  pair: new Tuple([new Discrete(2), new Box([-1, -2], [1, 2], [2])]),
});
const unbounded = new Box(-Infinity, Infinity, [3]);
const spaces: Space[] = [new Discrete(5), maze, nested, unbounded, new MultiDiscrete([4, 1, 2])];

function toPlain(v: unknown): unknown {
  if (v instanceof Float32Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(toPlain);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x)]));
  }
  return v;
}

Deno.test("sizes of flat (one-hot) and packed encodings", () => {
  assert.equal(maze.flatSize, 6);
  assert.equal(maze.packedSize, 3);
  assert.equal(new Tuple([maze, new Discrete(4)]).flatSize, 10);
  assert.equal(nested.flatSize, 3 + 5 + 2 + (2 + 2));
  assert.equal(nested.packedSize, 1 + 2 + 2 + (1 + 2));
});

Deno.test("samples are members; flatten/unflatten and pack/unpack round-trip", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
      const rng = new Pcg32(seed, 1);
      for (const s of spaces) {
        const x = s.sample(rng);
        assert.equal(s.explain(x), undefined, `${s}: ${s.explain(x)}`);
        const flat = new Float32Array(s.flatSize + 2);
        s.flatten(x, flat, 2);
        assert.deepEqual(toPlain(s.unflatten(flat, 2)), toPlain(x));
        const packed = new Float32Array(s.packedSize + 1);
        s.pack(x, packed, 1);
        assert.deepEqual(toPlain(s.unpack(packed, 1)), toPlain(x));
      }
    }),
    { numRuns: 100 },
  );
});

Deno.test("the same seed samples the same values", () => {
  const a = nested.sample(new Pcg32(5, 2)), b = nested.sample(new Pcg32(5, 2));
  assert.deepEqual(toPlain(a), toPlain(b));
});

Deno.test("flatten writes one-hots for discrete parts, in sorted Dict key order", () => {
  const row = new Float32Array(6);
  maze.flatten([[1, 7], 2], row);
  assert.deepEqual(Array.from(row), [1, 7, 0, 0, 1, 0]);
  const d = new Dict({ b: new Discrete(2), a: new Box(0, 1, [1]) });
  assert.deepEqual(d.keys, ["a", "b"]);
  const r2 = new Float32Array(3);
  d.flatten({ b: 1, a: [0.5] }, r2);
  assert.deepEqual(Array.from(r2), [0.5, 0, 1]);
});

Deno.test("explain names the value and what was expected", () => {
  assert.match(new Discrete(2).explain(2)!, /integer in \[0, 1\] for Discrete\(2\), got 2/);
  assert.match(new Discrete(2).explain(NaN)!, /got NaN/);
  assert.match(new Discrete(2).explain(0.5)!, /got 0.5/);
  assert.match(maze.explain([[1, 101], 0])!, /component 0: .*element 1 in \[0, 100\].*got 101/);
  assert.match(maze.explain([[1, NaN], 0])!, /got NaN/);
  assert.match(maze.explain([[1, 1]])!, /array of 2/);
  assert.match(nested.explain({})!, /missing key "chicken"/);
  const ok = nested.sample(new Pcg32(1));
  assert.match(nested.explain({ ...ok, extra: 1 })!, /unexpected key "extra"/);
  assert.match(new MultiDiscrete([2, 3]).explain([1, 3])!, /element 1 in \[0, 2\].*got 3/);
  assert.equal(new Discrete(3, 1).contains(0), false);
  assert.equal(new Discrete(3, 1).contains(3), true);
});

Deno.test("constructors refuse bad definitions", () => {
  assert.throws(() => new Discrete(0), /positive integer, got 0/);
  assert.throws(() => new Box(1, 0, [1]), /low <= high/);
  assert.throws(() => new Box(0, 1, [0]), /positive integers/);
  assert.throws(() => new Box([0, 0], 1, [3]), /low must have 3 elements, got 2/);
  assert.throws(() => new MultiDiscrete([]), /positive integers/);
  assert.throws(() => new Tuple([]), /at least one/);
  assert.throws(() => new Dict({}), /at least one/);
});

Deno.test("toString and spacesEqual describe structure", () => {
  assert.equal(maze.toString(), "Tuple(Box(0, 100, [2]), Discrete(4))");
  assert.ok(spacesEqual(maze, new Tuple([new Box(0, 100, [2]), new Discrete(4)])));
  assert.ok(!spacesEqual(maze, new Tuple([new Box(0, 10, [2]), new Discrete(4)])));
  assert.equal(unbounded.toString(), "Box(-Infinity, Infinity, [3])");
});

Deno.test("unbounded and half-bounded Box samples are finite and in bounds", () => {
  const half = new Box(0, Infinity, [2]);
  const rng = new Pcg32(9);
  for (let i = 0; i < 1000; i++) {
    const x = half.sample(rng), y = unbounded.sample(rng);
    assert.ok(half.contains(x) && x.every(Number.isFinite));
    assert.ok(unbounded.contains(y) && y.every(Number.isFinite));
  }
});
