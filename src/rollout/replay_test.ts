import assert from "node:assert/strict";
import fc from "fast-check";
import { ReplayBuffer, SumTree } from "./replay.ts";
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

// ---------------------------------------------------------------------------------------------
// Prioritized replay: the sum tree, proportional sampling, importance weights.

/** Brute force: the first leaf whose prefix sum exceeds `mass` (past the total: the last > 0). */
function bruteFind(leaves: readonly number[], mass: number): number {
  let acc = 0, lastPositive = 0;
  for (let i = 0; i < leaves.length; i++) {
    if (leaves[i]! > 0) lastPositive = i;
    acc += leaves[i]!;
    if (leaves[i]! > 0 && mass < acc) return i;
  }
  return lastPositive;
}

Deno.test("sum tree: total, min, get and find match a brute-force reference (fast-check, exact integers)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }).chain((cap) =>
        fc.tuple(
          fc.constant(cap),
          fc.array(fc.tuple(fc.nat(cap - 1), fc.nat(1000)), { minLength: 1, maxLength: 80 }),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), {
            minLength: 1,
            maxLength: 10,
          }),
        )
      ),
      ([cap, sets, fracs]) => {
        const t = new SumTree(cap);
        const leaves = new Array<number>(cap).fill(0), isSet = new Array<boolean>(cap).fill(false);
        for (const [i, v] of sets) {
          t.set(i, v);
          leaves[i] = v;
          isSet[i] = true;
          const total = leaves.reduce((a, b) => a + b, 0);
          assert.equal(t.total, total);
          const setVals = leaves.filter((_, j) => isSet[j]);
          assert.equal(t.min, Math.min(...setVals));
          assert.equal(t.get(i), v);
          if (total === 0) continue;
          // Integer masses hit the boundaries between leaves exactly; fractions fall inside.
          for (const u of fracs) {
            for (const mass of [Math.floor(u * total), u * total]) {
              assert.equal(t.find(mass), bruteFind(leaves, mass), `mass ${mass} of ${leaves}`);
            }
          }
          assert.equal(t.find(total), bruteFind(leaves, total), "at the total: last non-zero");
        }
      },
    ),
    { seed: 7, numRuns: 300 },
  );
});

Deno.test("sum tree: float leaves — the found leaf brackets the mass, the tree depends only on its leaves", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 1e-6, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 64 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { minLength: 1 }),
      (vals, fracs) => {
        const t = new SumTree(vals.length), u = new SumTree(vals.length);
        // t: set in order, then overwritten in reverse; u: the final leaves set once.
        vals.forEach((v, i) => t.set(i, v * 2));
        for (let i = vals.length - 1; i >= 0; i--) t.set(i, vals[i]!);
        vals.forEach((v, i) => u.set(i, v));
        assert.equal(t.total, u.total, "same leaves, same bits");
        const total = vals.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(t.total - total) <= 1e-9 * total);
        for (const f of fracs) {
          const mass = f * t.total, i = t.find(mass);
          assert.equal(i, u.find(mass));
          const before = vals.slice(0, i).reduce((a, b) => a + b, 0);
          const tol = 1e-9 * total;
          assert.ok(before <= mass + tol && mass < before + vals[i]! + tol, `${mass} in leaf ${i}`);
        }
      },
    ),
    { seed: 11, numRuns: 200 },
  );
  assert.throws(() => new SumTree(4).set(4, 1), /index must be an integer in \[0, 4\), got 4/);
  assert.throws(() => new SumTree(4).set(0, -1), /value must be a finite number >= 0, got -1/);
  assert.equal(new SumTree(3).min, Infinity);
});

Deno.test("prioritized replay: sampling frequencies are proportional to p^α (chi-square, fixed seed)", () => {
  const alpha = 0.6, rb = new ReplayBuffer(8, 2, 1, { prioritized: true, alpha });
  addIds(rb, [0, 1, 2, 3, 4]);
  const pr = [1, 2, 3, 4, 5];
  rb.updatePriorities(5, [0, 1, 2, 3, 4], pr);
  const w = pr.map((p) => p ** alpha), sum = w.reduce((a, b) => a + b, 0);
  const rng = new Pcg32(5), counts = [0, 0, 0, 0, 0];
  const batches = 2000, B = 16, n = batches * B;
  for (let k = 0; k < batches; k++) {
    const b = rb.sample(B, rng, 0.4);
    for (let r = 0; r < B; r++) {
      const i = b.indices[r]!;
      counts[i]!++;
      assert.equal(b.actions[r], i, "the row's columns come with it");
      assert.equal(b.obs[2 * r + 1], -i);
    }
  }
  let chi2 = 0;
  for (let i = 0; i < 5; i++) {
    const e = n * w[i]! / sum;
    chi2 += (counts[i]! - e) ** 2 / e;
    assert.ok(Math.abs(rb.probability(i) - w[i]! / sum) < 1e-15);
  }
  // 4 degrees of freedom: P(χ² > 18.47) = 0.001. Sampling ∝ p (α ignored) gives χ² ≈ 1000.
  assert.ok(chi2 < 18.47, `χ² = ${chi2}, counts ${counts}`);
  // Reproducible from the stream.
  const a = Array.from(rb.sample(9, new Pcg32(1)).indices);
  assert.deepEqual(Array.from(rb.sample(9, new Pcg32(1)).indices), a);
});

Deno.test("prioritized replay: importance weights (N·P(i))^−β / max by hand", () => {
  const rb = new ReplayBuffer(4, 2, 1, { prioritized: true, alpha: 0.5 });
  addIds(rb, [0, 1, 2]);
  rb.updatePriorities(3, [0, 1, 2], [1, 4, 9]);
  // p^α = 1, 2, 3; P = 1/6, 2/6, 3/6; N = 3; β = 0.5: (N·P)^−β = (1/2)^−½, 1, (3/2)^−½;
  // the max is row 0's √2: weights 1, 1/√2, (1/3)^½.
  const want = [1, 1 / Math.SQRT2, Math.sqrt(1 / 3)];
  const b = rb.sample(64, new Pcg32(2), 0.5);
  const seen = new Set<number>();
  for (let r = 0; r < 64; r++) {
    const i = b.indices[r]!;
    seen.add(i);
    assert.ok(Math.abs(b.weights[r]! - want[i]!) < 1e-12, `row ${i}: ${b.weights[r]}`);
  }
  assert.equal(seen.size, 3);
  // β = 0: all 1; β = 1: (p_min / p_i)^1.
  const b0 = rb.sample(8, new Pcg32(2), 0);
  assert.ok(b0.weights.subarray(0, 8).every((x) => x === 1));
  const b1 = rb.sample(8, new Pcg32(2), 1);
  for (let r = 0; r < 8; r++) {
    assert.ok(Math.abs(b1.weights[r]! - 1 / (b1.indices[r]! + 1)) < 1e-12);
  }
  // Uniform buffers: weight 1.
  const u = new ReplayBuffer(4, 2, 1);
  addIds(u, [0, 1]);
  assert.deepEqual(Array.from(u.sample(3, new Pcg32(1)).weights), [1, 1, 1]);
  assert.throws(
    () => rb.sample(1, new Pcg32(1), 1.5),
    /beta must be a number in \[0, 1\], got 1.5/,
  );
});

Deno.test("prioritized replay: new rows get the max priority, updates set |δ|+ε as given, undo, state round trip bit for bit", () => {
  const rb = new ReplayBuffer(4, 2, 1, { prioritized: true, alpha: 0.6 });
  addIds(rb, [0, 1]);
  assert.equal(rb.priority(0), 1, "the first rows: priority 1");
  rb.updatePriorities(3, [0, 1, 0], [0.5, 3, 0.25]);
  assert.equal(rb.priority(0), 0.25, "a row listed twice keeps the last");
  assert.equal(rb.priority(1), 3);
  assert.equal(rb.maxPriority, 3);
  addIds(rb, [2, 3, 4]); // 4 overwrites row 0
  assert.equal(rb.priority(2), 3);
  assert.equal(rb.priority(0), 3, "an overwritten row gets the max priority too");
  rb.updatePriorities(1, [1], [0.1]);
  assert.equal(rb.maxPriority, 3, "the max never decreases (RLlib)");
  assert.ok(Math.abs(rb.probability(1) - 0.1 ** 0.6 / (3 * 3 ** 0.6 + 0.1 ** 0.6)) < 1e-15);
  // Undo in reverse order.
  const before = rb.getState();
  rb.updatePriorities(3, [2, 3, 2], [7, 8, 9]);
  rb.restorePriorities(3, [2, 3, 2], [3, 3, 7], 3);
  assert.deepEqual(rb.getState(), before);
  // Round trip: same priorities, same tree (same draws).
  const s = rb.getState();
  assert.deepEqual(Array.from(s.priorities!), [3, 0.1, 3, 3]);
  const rb2 = new ReplayBuffer(4, 2, 1, { prioritized: true, alpha: 0.6 });
  rb2.setState(s);
  assert.deepEqual(rb2.getState(), s);
  const d1 = rb.sample(32, new Pcg32(4), 0.7),
    i1 = Array.from(d1.indices),
    w1 = Array.from(d1.weights);
  const d2 = rb2.sample(32, new Pcg32(4), 0.7);
  assert.deepEqual(Array.from(d2.indices), i1);
  assert.deepEqual(Array.from(d2.weights), w1);
  // A uniform buffer's state (no priorities): every row gets 1.
  const u = new ReplayBuffer(4, 2, 1);
  addIds(u, [5, 6]);
  const rb3 = new ReplayBuffer(4, 2, 1, { prioritized: true });
  rb3.setState(u.getState());
  assert.equal(rb3.priority(1), 1);
  assert.equal(rb3.maxPriority, 1);
  // Errors, checked before any change.
  assert.throws(
    () => rb.updatePriorities(2, [1, 2], [0.5, 0]),
    /priority 0 of row 2 \(entry 1\) must be a finite number > 0/,
  );
  assert.equal(rb.priority(1), 0.1, "nothing changed");
  assert.throws(() => rb.updatePriorities(1, [9], [1]), /row 9 \(entry 0\) is not held/);
  assert.throws(() => u.updatePriorities(1, [0], [1]), /not prioritized/);
  assert.throws(() => u.priority(0), /not prioritized/);
  assert.throws(
    () => new ReplayBuffer(4, 2, 1, { alpha: -1 }),
    /alpha must be a finite number >= 0, got -1/,
  );
});
