import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeFlat, explainFlat, explainPacked } from "./_rows.ts";
import { Box, Dict, Discrete, MultiDiscrete, type Space, Tuple } from "../spaces.ts";
import { Pcg32 } from "../rng.ts";

const oceans = new Box(0, 1, [10, 5]);
const yard = new Dict({
  chicken_oceans: oceans,
  position: new Box(0, 1, [2]),
  seen: new MultiDiscrete([3, 2]),
  stack: new Tuple([new Box(-1, 1, [2, 2, 3]), new Discrete(2, 1)]),
});
const maze = new Tuple([new Box(0, 100, [2]), new Discrete(4)]);

/** The value with typed arrays as plain arrays, and the typed arrays' constructor names. */
function describe(v: unknown): unknown {
  if (v instanceof Float32Array) return { f32: Array.from(v) };
  if (Array.isArray(v)) return v.map(describe);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, describe(x)]));
  }
  return v;
}

Deno.test("decodeFlat equals unflatten, nested Box rows included, through Dict and Tuple", () => {
  const spaces: Space[] = [oceans, yard, maze, new Box(0, 1, [3, 1]), new Box(0, 1, [1, 1, 2])];
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
      const rng = new Pcg32(seed, 2);
      for (const s of spaces) {
        const row = new Float32Array(s.flatSize + 5);
        s.flatten(s.sample(rng) as never, row, 5);
        assert.deepEqual(describe(decodeFlat(s, row, 5)), describe(s.unflatten(row, 5)), `${s}`);
      }
    }),
    { numRuns: 50 },
  );
});

Deno.test("decodeFlat: rank-1 Box values stay Float32Arrays, rank 2 are row views", () => {
  const row = new Float32Array(maze.flatSize);
  maze.flatten([[3, 4], 1], row);
  const [pos] = decodeFlat(maze, row, 0) as [Float32Array, number];
  assert.ok(pos instanceof Float32Array);
  assert.deepEqual(Array.from(pos), [3, 4]);
  const r2 = Float32Array.from({ length: 50 }, (_, i) => i / 50);
  const rows = decodeFlat(oceans, r2, 0) as Float32Array[];
  assert.equal(rows.length, 10);
  assert.ok(rows.every((r) => r instanceof Float32Array && r.length === 5));
  assert.equal(rows[3]![1], r2[16]);
  assert.equal(rows[3]!.buffer, rows[4]!.buffer, "one slab");
  r2[16] = 0; // decoded values are copies, not views of the source row
  assert.equal(rows[3]![1], Math.fround(16 / 50));
});

Deno.test("explainFlat and explainPacked name a nested element by its index path", () => {
  const row = new Float32Array(yard.flatSize);
  yard.flatten(yard.sample(new Pcg32(1)) as never, row);
  assert.equal(explainFlat(yard, row, 0), undefined);
  row[3 * 5 + 1] = 2; // chicken_oceans comes first in key order
  assert.equal(
    explainFlat(yard, row, 0),
    'key "chicken_oceans": expected element [3][1] in [0, 1] for Box(0, 1, [10, 5]), got 2',
  );
  const packed = new Float32Array(50);
  packed[49] = -0.5;
  assert.equal(
    explainPacked(oceans, packed, 0),
    "expected element [9][4] in [0, 1] for Box(0, 1, [10, 5]), got -0.5",
  );
});
