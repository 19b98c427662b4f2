import assert from "node:assert/strict";
import fc from "fast-check";
import {
  Box,
  boxElementName,
  type BoxValue,
  Dict,
  Discrete,
  f32String,
  MultiDiscrete,
  type Space,
  spacesEqual,
  Tuple,
} from "./spaces.ts";
import { Pcg32 } from "./rng.ts";

const maze = new Tuple([new Box(0, 100, [2]), new Discrete(4)]);
const nested = new Dict({
  robot_position: new Box(0, 1, [2]),
  chicken: new Discrete(3, 1),
  moves: new MultiDiscrete([2, 3]),
  pair: new Tuple([new Discrete(2), new Box([-1, -2], [1, 2], [2])]),
});
const unbounded = new Box(-Infinity, Infinity, [3]);
const oceans = new Box(0, 1, [10, 5]);
const yard = new Dict({
  chicken_oceans: oceans,
  position: new Box(0, 1, [2]),
  stack: new Tuple([
    new Box(-1, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 2, 3]),
    new Discrete(2),
  ]),
});
const spaces: Space[] = [
  new Discrete(5),
  maze,
  nested,
  unbounded,
  new MultiDiscrete([4, 1, 2]),
  oceans,
  yard,
];

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
    const x = half.sample(rng) as Float32Array, y = unbounded.sample(rng) as Float32Array;
    assert.ok(half.contains(x) && x.every(Number.isFinite));
    assert.ok(unbounded.contains(y) && y.every(Number.isFinite));
  }
});

/** The shape of a nested Box value: rank-1 rows must be Float32Arrays of the last dim. */
function assertNestedShape(v: BoxValue, shape: readonly number[], what: string): void {
  if (shape.length === 1) {
    assert.ok(v instanceof Float32Array, `${what}: a row is a Float32Array`);
    assert.equal(v.length, shape[0], `${what}: row length`);
    return;
  }
  assert.ok(Array.isArray(v), `${what}: an array of rows`);
  assert.equal(v.length, shape[0], `${what}: length`);
  (v as BoxValue[]).forEach((r, i) => assertNestedShape(r, shape.slice(1), `${what}[${i}]`));
}

/** The value's elements as nested `number[]` rows (plain arrays, no typed arrays). */
function nestPlain(flat: ArrayLike<number>, shape: readonly number[], off = 0): unknown {
  if (shape.length === 1) return Array.from({ length: shape[0]! }, (_, i) => flat[off + i]!);
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from(
    { length: shape[0]! },
    (_, i) => nestPlain(flat, shape.slice(1), off + i * per),
  );
}

const boxArb = fc.record({
  shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
  bounded: fc.boolean(),
  seed: fc.integer({ min: 0, max: 2 ** 31 }),
});

Deno.test("Box of any rank: flat and nested values in, nested rows out, round trips", () => {
  fc.assert(
    fc.property(boxArb, ({ shape, bounded, seed }) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const rng = new Pcg32(seed, 4);
      const low = Array.from({ length: n }, () => bounded ? -rng.nextFloat() * 2 : -Infinity);
      const high = low.map((l) => bounded ? l + 0.5 + rng.nextFloat() * 2 : Infinity);
      const box = new Box(low, high, shape);
      const x = box.sample(rng);
      assert.equal(box.explain(x), undefined);
      if (shape.length === 1) assert.ok(x instanceof Float32Array, "rank 1 stays a Float32Array");
      else assertNestedShape(x, shape, "sample");
      const flat = new Float32Array(n + 3);
      box.flatten(x, flat, 3);
      const elems = flat.slice(3);
      // Every accepted form is a member and encodes to the same elements.
      const forms: BoxValue[] = [elems, Array.from(elems), nestPlain(elems, shape) as BoxValue];
      if (shape.length >= 2) forms.push(box.nest(elems.slice()));
      for (const f of forms) {
        assert.equal(box.explain(f), undefined, formatForm(f));
        const out = new Float32Array(n + 1);
        box.flatten(f, out, 1);
        assert.deepEqual(out.slice(1), elems);
        const packed = new Float32Array(n);
        box.pack(f, packed);
        assert.deepEqual(packed, elems);
      }
      // Decoding gives the nested rows back (rank ≥ 2), or the Float32Array (rank 1).
      for (const v of [box.unflatten(flat, 3), box.unpack(flat, 3)]) {
        if (shape.length === 1) assert.ok(v instanceof Float32Array);
        else assertNestedShape(v, shape, "unflatten");
        assert.deepEqual(toPlain(v), toPlain(x));
      }
      // A bad element is named by its index path.
      const k = rng.nextInt(n);
      const bad = Array.from(elems);
      bad[k] = bounded ? high[k]! + 1 : NaN;
      const nestedBad = nestPlain(bad, shape) as BoxValue;
      const want = `element ${boxElementName(shape, k)} in [`;
      for (const f of [nestedBad, bad, Float32Array.from(bad)]) {
        const why = box.explain(f);
        assert.ok(why?.includes(want), `${why} names ${want}`);
      }
    }),
    { numRuns: 200 },
  );
});

function formatForm(f: BoxValue): string {
  return f instanceof Float32Array ? "Float32Array" : Array.isArray(f[0]) ? "nested" : "flat";
}

Deno.test("Box [10, 5]: explain names the index path and the expected rows", () => {
  const rows = () => Array.from({ length: 10 }, () => [0, 0.5, 1, 0.25, 0.75]);
  assert.equal(oceans.explain(rows()), undefined);
  assert.equal(oceans.explain(rows().map((r) => Float32Array.from(r))), undefined);
  assert.equal(oceans.explain(new Float32Array(50)), undefined);
  assert.equal(oceans.explain(new Array(50).fill(0.5)), undefined);
  const x = rows();
  x[3]![1] = 1.5;
  assert.equal(
    oceans.explain(x),
    "expected element [3][1] in [0, 1] for Box(0, 1, [10, 5]), got 1.5",
  );
  const flat = new Array(50).fill(0);
  flat[17] = -1;
  assert.match(oceans.explain(flat)!, /^expected element \[3\]\[2\] in \[0, 1\].* got -1$/);
  assert.match(
    oceans.explain(rows().slice(1))!,
    /^expected 10 rows of 5 numbers for Box\(0, 1, \[10, 5\]\), got \[\[/,
  );
  const short = rows();
  short[4] = [0, 0, 0, 0];
  assert.equal(
    oceans.explain(short),
    "expected 10 rows of 5 numbers for Box(0, 1, [10, 5]), got [0,0,0,0] at [4]",
  );
  const notRow = rows() as unknown[];
  notRow[9] = 0.5;
  assert.match(oceans.explain(notRow)!, /got 0.5 at \[9\]$/);
  assert.equal(
    oceans.explain(new Float32Array(49)),
    `expected 10 rows of 5 numbers (or 50 numbers) for Box(0, 1, [10, 5]), got [${
      new Array(49).fill(0).join(",").slice(0, 76)
    }...`,
  );
  assert.match(oceans.explain("ocean")!, /^expected 10 rows of 5 numbers \(or 50 numbers\)/);
  const cube = new Box(0, 1, [2, 3, 4]);
  assert.match(cube.explain([])!, /^expected 2 arrays of 3 rows of 4 numbers \(or 24 numbers\)/);
  const c = cube.sample(new Pcg32(1)) as Float32Array[][];
  c[1]![2]![3] = 7;
  assert.match(cube.explain(c)!, /^expected element \[1\]\[2\]\[3\] in \[0, 1\].* got 7$/);
  // A row of rows where numbers belong, and a Float32Array where rows of rows belong.
  assert.match(cube.explain([c[0], new Float32Array(12)])!, /got .* at \[1\]$/);
  // Rank 1 keeps its messages.
  assert.match(new Box(0, 1, [2]).explain([0, 2])!, /^expected element 1 in \[0, 1\]/);
});

Deno.test("Dict and Tuple compose nested Box rows", () => {
  const v = yard.sample(new Pcg32(3)) as Record<string, unknown>;
  assertNestedShape(v.chicken_oceans as BoxValue, [10, 5], "chicken_oceans");
  assert.ok(v.position instanceof Float32Array);
  assertNestedShape((v.stack as BoxValue[])[0]!, [2, 2, 3], "stack[0]");
  const bad = structuredClone(toPlain(v)) as Record<string, number[][]>;
  bad.chicken_oceans![3]![1] = 2;
  assert.equal(
    yard.explain(bad),
    'key "chicken_oceans": expected element [3][1] in [0, 1] for Box(0, 1, [10, 5]), got 2',
  );
  const row = new Float32Array(yard.flatSize);
  yard.flatten(v as never, row);
  assert.deepEqual(toPlain(yard.unflatten(row)), toPlain(v));
});

Deno.test("Box bounds compare and print as the float32 values they are", () => {
  const b = new Box(-0.03, 0.03, [2]);
  assert.ok(b.contains([0.03, -0.03]), "0.03 is a member of Box(-0.03, 0.03, [2])");
  assert.equal(b.toString(), "Box(-0.03, 0.03, [2])");
  assert.ok(!b.contains([0.0301, 0]));
  assert.match(
    b.explain([0.0301, 0])!,
    /in \[-0.03, 0.03\] for Box\(-0.03, 0.03, \[2\]\), got 0.0301/,
  );
  assert.equal(f32String(Math.fround(0.1)), "0.1");
  assert.equal(f32String(Infinity), "Infinity");
});
