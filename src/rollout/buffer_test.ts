import assert from "node:assert/strict";
import {
  copySampleBatch,
  ENDED_TERMINATED,
  ENDED_TRUNCATED,
  LINKED,
  OPEN,
  TrajectoryBuffer,
} from "./buffer.ts";

/** Appends a row whose observation is `[tag]`, action `[tag % 2]`, vf_preds `value`. */
function pushRow(buf: TrajectoryBuffer, value: number, tag: number, id = "a", t = 0): number {
  return buf.push(
    new Float32Array([tag]),
    new Float32Array([tag % 2]),
    [new Float32Array([value])],
    0,
    t,
    7,
    3,
    id,
  );
}

function link(buf: TrajectoryBuffer, from: number, to: number): void {
  buf.state[from] = LINKED;
  buf.next[from] = to;
}

Deno.test("compact: closed rows in order with RLlib's columns; new_obs from the next row or the final one", () => {
  const buf = new TrajectoryBuffer(1, 1, 8, ["vf_preds"]);
  const a0 = pushRow(buf, 0.5, 10, "a", 0);
  const b0 = pushRow(buf, 1.5, 20, "b", 0);
  const a1 = pushRow(buf, 2.5, 11, "a", 1);
  const b1 = pushRow(buf, 3.5, 21, "b", 1);
  const a2 = pushRow(buf, 4.5, 12, "a", 2);
  link(buf, a0, a1);
  link(buf, a1, a2); // a2 stays OPEN
  link(buf, b0, b1);
  buf.state[b1] = ENDED_TRUNCATED;
  buf.newObs[b1] = 22;
  buf.infos[b1] = { why: "time" };
  buf.rewards.set([1, 2, 3, 4, 5]);
  const b = buf.compact();
  assert.equal(b.count, 4);
  assert.deepEqual(Array.from(b.obs.subarray(0, 4)), [10, 20, 11, 21]);
  assert.deepEqual(Array.from(b.new_obs.subarray(0, 4)), [11, 21, 12, 22]);
  assert.deepEqual(Array.from(b.actions.subarray(0, 4)), [0, 0, 1, 1]);
  assert.deepEqual(Array.from(b.rewards.subarray(0, 4)), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(b.terminateds.subarray(0, 4)), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(b.truncateds.subarray(0, 4)), [0, 0, 0, 1]);
  assert.deepEqual(Array.from(b.t.subarray(0, 4)), [0, 0, 1, 1]);
  assert.deepEqual(Array.from(b.eps_id.subarray(0, 4)), [7, 7, 7, 7]);
  assert.deepEqual(Array.from(b.agent_index.subarray(0, 4)), [3, 3, 3, 3]);
  assert.deepEqual(b.agent_ids, ["a", "b", "a", "b"]);
  assert.deepEqual(b.infos[3], { why: "time" });
  assert.deepEqual(Array.from(b.vf_preds!.subarray(0, 4)), [0.5, 1.5, 2.5, 3.5]);
  assert.equal(b.advantages, undefined);
  // A copy is trimmed and independent.
  const c = copySampleBatch(b);
  assert.equal(c.obs.length, 4);
  assert.equal(c.vf_preds!.length, 4);
  b.obs[0] = -1;
  assert.equal(c.obs[0], 10);
  // A column added later (post-processing) is compacted too.
  buf.column("advantages").set([9, 8, 7, 6]);
  assert.deepEqual(Array.from(buf.compact().advantages!.subarray(0, 4)), [9, 8, 7, 6]);
});

Deno.test("held rows: an ended row held for late rewards is neither compacted nor dropped", () => {
  const buf = new TrajectoryBuffer(1, 1, 8, ["vf_preds"]);
  const r0 = pushRow(buf, 1, 10);
  buf.state[r0] = ENDED_TERMINATED;
  buf.held[r0] = 1;
  assert.equal(buf.closed(r0), false);
  assert.equal(buf.compact().count, 0);
  const pending = new Int32Array([r0]), slotPolicy = new Int32Array([0]);
  buf.carryOpen(pending, slotPolicy, 0);
  assert.equal(buf.size, 1, "the held row moves to the next fragment");
  assert.equal(buf.state[0], ENDED_TERMINATED);
  buf.rewards[0] = buf.rewards[0]! + 2; // a late reward
  buf.held[0] = 0; // the episode ended
  const b = buf.compact();
  assert.equal(b.count, 1);
  assert.equal(b.rewards[0], 2);
  assert.equal(b.terminateds[0], 1);
});

Deno.test("carryOpen moves open rows to the front, with every column, and remaps pending slots", () => {
  const buf = new TrajectoryBuffer(1, 1, 16, ["vf_preds"]);
  const r0 = pushRow(buf, 1, 10);
  const r1 = pushRow(buf, 2, 11);
  const r2 = pushRow(buf, 3, 12, "z", 5);
  buf.state[r0] = ENDED_TERMINATED;
  link(buf, r1, r2);
  buf.rewards[r2] = 5; // reward accumulated so far by the open transition
  const pending = new Int32Array([r2, -1]);
  const slotPolicy = new Int32Array([0, -1]);
  buf.carryOpen(pending, slotPolicy, 0);
  assert.equal(buf.size, 1);
  assert.equal(pending[0], 0);
  assert.equal(buf.obs[0], 12);
  assert.equal(buf.column("vf_preds")[0], 3);
  assert.equal(buf.rewards[0], 5);
  assert.equal(buf.state[0], OPEN);
  assert.equal(buf.t[0], 5);
  assert.equal(buf.ids[0], "z");
});

Deno.test("capacity: push beyond it throws a clear error; ensureCapacity keeps the rows", () => {
  const buf = new TrajectoryBuffer(1, 1, 1, ["vf_preds"]);
  pushRow(buf, 4, 9);
  assert.throws(() => pushRow(buf, 0, 0), /full at 1 rows/);
  buf.ensureCapacity(3);
  assert.equal(buf.capacity, 3);
  pushRow(buf, 5, 10);
  assert.deepEqual(Array.from(buf.obs), [9, 10, 0]);
  assert.deepEqual(Array.from(buf.column("vf_preds")), [4, 5, 0]);
});

Deno.test("openRows/loadRows: the rows not closed, copied out and back, as carryOpen keeps them", () => {
  const buf = new TrajectoryBuffer(1, 1, 8, ["vf_preds"]);
  const a0 = pushRow(buf, 0.5, 10, "a", 0);
  const b0 = pushRow(buf, 1.5, 20, "b", 0);
  const a1 = pushRow(buf, 2.5, 11, "a", 1); // OPEN
  const c0 = pushRow(buf, 3.5, 30, "c", 1); // ended, held for late rewards
  link(buf, a0, a1);
  buf.state[b0] = ENDED_TERMINATED; // closed
  buf.state[c0] = ENDED_TRUNCATED;
  buf.held[c0] = 1;
  buf.newObs[c0] = 31;
  buf.rewards[c0] = 0.25;
  buf.infos[c0] = { late: true };
  buf.column("advantages")[a1] = 9;
  const { rows, remap } = buf.openRows();
  assert.deepEqual(Array.from(remap), [-1, -1, 0, 1]);
  assert.equal(buf.size, 4, "openRows changed the buffer");
  const copy = new TrajectoryBuffer(1, 1, 2, ["vf_preds"]);
  copy.loadRows(rows);
  const pending = new Int32Array([a1, c0]), policy = new Int32Array([0, 0]);
  buf.carryOpen(pending, policy, 0);
  assert.deepEqual(Array.from(pending), [0, 1]);
  for (const b of [buf, copy]) {
    assert.equal(b.size, 2);
    assert.deepEqual(Array.from(b.obs.subarray(0, 2)), [11, 30]);
    assert.deepEqual(Array.from(b.state.subarray(0, 2)), [OPEN, ENDED_TRUNCATED]);
    assert.deepEqual(Array.from(b.held.subarray(0, 2)), [0, 1]);
    assert.deepEqual(Array.from(b.next.subarray(0, 2)), [-1, -1]);
    assert.equal(b.newObs[1], 31);
    assert.equal(b.rewards[1], 0.25);
    assert.deepEqual(b.ids.slice(0, 2), ["a", "c"]);
    assert.deepEqual(b.infos[1], { late: true });
    assert.deepEqual(Array.from(b.column("vf_preds").subarray(0, 2)), [2.5, 3.5]);
    assert.equal(b.column("advantages")[0], 9);
  }
  assert.ok(copy.capacity >= 2);
  assert.throws(() => new TrajectoryBuffer(2, 1, 4).loadRows(rows), RangeError);
});
