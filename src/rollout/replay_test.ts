import assert from "node:assert/strict";
import { ReplayBuffer } from "./replay.ts";
import { Pcg32 } from "../rng.ts";

const f = (xs: number[]) => Float32Array.from(xs);

/** Adds transitions whose every field encodes `id` (obs [id, −id], action id, ...). */
function addIds(rb: ReplayBuffer, ids: number[]): void {
  rb.add(
    ids.length,
    f(ids.flatMap((i) => [i, -i])),
    f(ids),
    f(ids.map((i) => 10 * i)),
    f(ids.flatMap((i) => [i + 0.5, 0])),
    f(ids.map((i) => i / 100)),
  );
}

function idsOf(rb: ReplayBuffer): number[] {
  return Array.from(rb.actions.subarray(0, rb.size));
}

Deno.test("replay: the ring wraps around, overwriting the oldest, every column in step", () => {
  const rb = new ReplayBuffer(4, 2, 1);
  addIds(rb, [1, 2, 3]);
  assert.equal(rb.size, 3);
  assert.equal(rb.nextIndex, 3);
  assert.deepEqual(idsOf(rb), [1, 2, 3]);
  addIds(rb, [4, 5, 6]);
  assert.equal(rb.size, 4);
  assert.equal(rb.nextIndex, 2);
  assert.equal(rb.added, 6);
  assert.deepEqual(idsOf(rb), [5, 6, 3, 4], "5 and 6 replaced 1 and 2");
  for (let i = 0; i < 4; i++) {
    const id = rb.actions[i]!;
    assert.deepEqual(Array.from(rb.obs.subarray(2 * i, 2 * i + 2)), [id, -id]);
    assert.deepEqual(Array.from(rb.nextObs.subarray(2 * i, 2 * i + 2)), [id + 0.5, 0]);
    assert.equal(rb.rewards[i], 10 * id);
    assert.equal(rb.discounts[i], Math.fround(id / 100));
  }
  // More than the capacity in one call: the last four stay.
  addIds(rb, [7, 8, 9, 10, 11, 12]);
  assert.deepEqual(idsOf(rb).sort((a, b) => a - b), [9, 10, 11, 12]);
  assert.equal(rb.nextIndex, 0);
});

Deno.test("replay: uniform sampling with replacement, reproducible from the stream", () => {
  const rb = new ReplayBuffer(10, 2, 1);
  addIds(rb, [0, 1, 2, 3, 4]);
  const n = 20000;
  const b = rb.sample(n, new Pcg32(3));
  const ref = new Pcg32(3);
  const counts = [0, 0, 0, 0, 0];
  for (let k = 0; k < n; k++) {
    const i = b.indices[k]!;
    assert.equal(i, ref.nextInt(5), "row rng.nextInt(size), in order");
    assert.equal(b.actions[k], i);
    assert.equal(b.obs[2 * k + 1], -i);
    assert.equal(b.nextObs[2 * k], i + 0.5);
    assert.equal(b.rewards[k], 10 * i);
    counts[i]!++;
  }
  for (const c of counts) assert.ok(Math.abs(c / n - 0.2) < 0.015, `${counts}`);
  const again = rb.sample(7, new Pcg32(3));
  assert.deepEqual(Array.from(again.indices.subarray(0, 7)), Array.from(b.indices.subarray(0, 7)));
});

Deno.test("replay: state round trip (filled rows only), and clear errors", () => {
  const rb = new ReplayBuffer(5, 2, 1);
  addIds(rb, [1, 2, 3]);
  const s = rb.getState();
  assert.equal(s.obs.length, 6, "only the filled rows are saved");
  const rb2 = new ReplayBuffer(5, 2, 1);
  addIds(rb2, [9, 9, 9, 9, 9, 9]);
  rb2.setState(s);
  assert.equal(rb2.size, 3);
  assert.equal(rb2.nextIndex, 3);
  assert.deepEqual(idsOf(rb2), [1, 2, 3]);
  addIds(rb, [4]);
  addIds(rb2, [4]);
  assert.deepEqual(rb2.getState(), rb.getState());
  assert.deepEqual(rb.sample(9, new Pcg32(1)).indices, rb2.sample(9, new Pcg32(1)).indices);
  assert.throws(() => new ReplayBuffer(4, 2, 1).setState(s), /capacity 5.*capacity 4/);
  assert.throws(() => new ReplayBuffer(0, 2, 1), /capacity must be an integer >= 1, got 0/);
  assert.throws(() => new ReplayBuffer(3, 2, 1).sample(1, new Pcg32(1)), /the buffer is empty/);
  assert.throws(
    () => rb.add(1, f([1, NaN]), f([0]), f([0]), f([0, 0]), f([1])),
    /obs\[1\] \(row 0\) is NaN, expected a finite number; nothing was added/,
  );
  assert.throws(
    () => rb.add(2, f([1, 2]), f([0]), f([0]), f([0, 0]), f([1])),
    /obs holds 2 floats, expected 2 rows × 2/,
  );
  assert.equal(rb.added, 4);
});
