import assert from "node:assert/strict";
import { ENDED_TERMINATED, ENDED_TRUNCATED, LINKED, OPEN, PolicyBuffer } from "./buffer.ts";
import { Pcg32 } from "../rng.ts";

/** Reference GAE for one trajectory, written the textbook way. */
function referenceGae(
  rewards: number[],
  values: number[],
  lastValue: number, // V after the last transition (0 when terminated)
  gamma: number,
  lambda: number,
): number[] {
  const adv = new Array<number>(rewards.length).fill(0);
  let next = 0;
  for (let t = rewards.length - 1; t >= 0; t--) {
    const nv = t === rewards.length - 1 ? lastValue : values[t + 1]!;
    const delta = rewards[t]! + gamma * nv - values[t]!;
    next = delta + gamma * lambda * (t === rewards.length - 1 ? 0 : next);
    adv[t] = next;
  }
  return adv;
}

function pushRow(buf: PolicyBuffer, value: number, obsTag: number): number {
  const obs = new Float32Array([obsTag]);
  return buf.push(obs, new Float32Array([0]), new Float32Array([0]), new Float32Array([value]), 0);
}

Deno.test("GAE over interleaved agents matches per-trajectory reference", () => {
  const rng = new Pcg32(7, 1);
  const gamma = 0.9, lambda = 0.8;
  const buf = new PolicyBuffer(1, 1, 64);
  // Agent A: 4 transitions, terminated. Agent B: 3 transitions, truncated with bootstrap 2.5.
  // Agent C: 2 closed transitions then an open one (fragment end).
  const traj = { A: [] as number[], B: [] as number[], C: [] as number[] };
  const order = ["A", "B", "C", "A", "B", "C", "A", "B", "A", "C"] as const;
  const vals: Record<string, number[]> = { A: [], B: [], C: [] };
  const rews: Record<string, number[]> = { A: [], B: [], C: [] };
  for (const who of order) {
    const v = Math.round(rng.nextFloat() * 100) / 10;
    const r = pushRow(buf, v, traj[who].length);
    const prev = traj[who].at(-1);
    if (prev !== undefined) {
      buf.state[prev] = LINKED;
      buf.next[prev] = r;
    }
    traj[who].push(r);
    vals[who]!.push(v);
  }
  for (const who of ["A", "B", "C"] as const) {
    for (const r of traj[who]) {
      const rw = Math.round(rng.nextFloat() * 20 - 10);
      buf.rewards[r] = rw;
      rews[who]!.push(rw);
    }
  }
  buf.state[traj.A.at(-1)!] = ENDED_TERMINATED;
  buf.state[traj.B.at(-1)!] = ENDED_TRUNCATED;
  buf.bootValue[traj.B.at(-1)!] = 2.5;
  assert.equal(buf.state[traj.C.at(-1)!], OPEN);

  const batch = buf.computeGae(gamma, lambda);
  const expA = referenceGae(rews.A!, vals.A!, 0, gamma, lambda);
  const expB = referenceGae(rews.B!, vals.B!, 2.5, gamma, lambda);
  // C's last row is open: its predecessors bootstrap from its value and stop there.
  const expC = referenceGae(rews.C!.slice(0, 2), vals.C!.slice(0, 2), vals.C![2]!, gamma, lambda);
  traj.A.forEach((r, i) => assert.ok(Math.abs(buf.adv[r]! - expA[i]!) < 1e-4, `A ${i}`));
  traj.B.forEach((r, i) => assert.ok(Math.abs(buf.adv[r]! - expB[i]!) < 1e-4, `B ${i}`));
  traj.C.slice(0, 2).forEach((r, i) =>
    assert.ok(Math.abs(buf.adv[r]! - expC[i]!) < 1e-4, `C ${i}`)
  );
  // The batch holds the 9 closed rows in buffer order, returns = adv + value.
  assert.equal(batch.size, order.length - 1);
  for (let k = 0; k < batch.size; k++) {
    assert.ok(Math.abs(batch.returns[k]! - (batch.advantages[k]! + batch.values[k]!)) < 1e-5);
  }
});

Deno.test("carryOpen moves open rows to the front and remaps pending slots", () => {
  const buf = new PolicyBuffer(1, 1, 16);
  const r0 = pushRow(buf, 1, 10);
  const r1 = pushRow(buf, 2, 11);
  const r2 = pushRow(buf, 3, 12);
  buf.state[r0] = ENDED_TERMINATED;
  buf.state[r1] = LINKED;
  buf.next[r1] = r2;
  buf.rewards[r2] = 5; // reward accumulated so far by the open transition
  const pending = new Int32Array([r2, -1]);
  const slotPolicy = new Int32Array([0, -1]);
  buf.computeGae(0.99, 0.95);
  buf.carryOpen(pending, slotPolicy, 0);
  assert.equal(buf.size, 1);
  assert.equal(pending[0], 0);
  assert.equal(buf.obs[0], 12);
  assert.equal(buf.values[0], 3);
  assert.equal(buf.rewards[0], 5);
  assert.equal(buf.state[0], OPEN);
});

Deno.test("push beyond capacity throws a clear error", () => {
  const buf = new PolicyBuffer(1, 1, 1);
  pushRow(buf, 0, 0);
  assert.throws(() => pushRow(buf, 0, 0), /full at 1 rows/);
});
