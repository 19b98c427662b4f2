/**
 * Action masking in the models (RLlib's convention: a Dict of `"action_mask"` and
 * `"observations"`), and the Q-network head: masked log-probabilities, entropies and their
 * gradients against finite differences of a float64 reference, sampling and greedy choices
 * that never pick an illegal action, clear errors.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { initBackend } from "./backend.ts";
import { ActorCriticModel } from "./model.ts";
import { MASKED_LOGIT, RandomPolicy } from "./policy.ts";
import { QPolicy } from "./q_model.ts";
import { ppoLoss } from "../algorithms/ppo.ts";
import { Box, Dict, Discrete, MultiDiscrete } from "../spaces.ts";
import { Pcg32 } from "../rng.ts";

const N = 5, S = 3;
const maskedSpace = new Dict({
  observations: new Box(-1, 1, [S]),
  action_mask: new Box(0, 1, [N]),
});
const O = N + S; // flat row: the mask (sorted key "action_mask" first), then the observations

/** Rows of [mask, obs]: random observations, the given masks. */
function rowsOf(masks: number[][], seed: number): Float32Array {
  const rng = new Pcg32(seed, 1);
  const out = new Float32Array(masks.length * O);
  masks.forEach((m, r) => {
    m.forEach((v, j) => out[r * O + j] = v);
    for (let j = 0; j < S; j++) out[r * O + N + j] = rng.nextFloat() * 2 - 1;
  });
  return out;
}

/**
 * Float64 forward of a model's towers on the observations part only (weights in spec order,
 * one or two towers of dense layers), the masked logits set to MASKED_LOGIT.
 */
function reference(
  m: ActorCriticModel,
  obs: Float32Array,
  rows: number,
  flat: Float64Array,
): { logits: Float64Array; values: Float64Array } {
  const act = (z: number) => m.activation === "tanh" ? Math.tanh(z) : Math.max(0, z);
  const ws: Float64Array[] = [];
  let off = 0;
  for (const s of m.weightSpecs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    ws.push(flat.subarray(off, off + n));
    off += n;
  }
  const towers = m.head === "q" || m.vfShareLayers ? 1 : 2, per = ws.length / towers;
  const outs: Float64Array[] = [];
  for (let t = 0; t < towers; t++) {
    let h = new Float64Array(rows * S), width = S;
    for (let r = 0; r < rows; r++) for (let j = 0; j < S; j++) h[r * S + j] = obs[r * O + N + j]!;
    for (let l = 0; l < per / 2; l++) {
      const W = ws[t * per + 2 * l]!, b = ws[t * per + 2 * l + 1]!, k = b.length;
      const last = l === per / 2 - 1, next = new Float64Array(rows * k);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < k; j++) {
          let z = b[j]!;
          for (let i = 0; i < width; i++) z += h[r * width + i]! * W[i * k + j]!;
          next[r * k + j] = last ? z : act(z);
        }
      }
      h = next;
      width = k;
    }
    outs.push(h);
  }
  const logits = new Float64Array(rows * N), values = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < N; j++) {
      logits[r * N + j] = obs[r * O + j] === 0 ? MASKED_LOGIT : outs[0]![r * N + j]!;
    }
    values[r] = towers === 2 ? outs[1]![r]! : 0;
  }
  return { logits, values };
}

const masks = [
  [1, 0, 1, 0, 1],
  [0, 0, 0, 1, 0],
  [1, 1, 1, 1, 1],
  [0, 1, 1, 0, 0],
];

for (const backend of ["wasm", "cpu"] as const) {
  for (const activation of ["tanh", "relu"] as const) {
    Deno.test(`[${backend}] masked ${activation} model: forward sees only "observations"; PPO's logp, entropy and gradients over legal actions match finite differences`, async () => {
      await initBackend({ backend });
      const m = new ActorCriticModel({
        observationSpace: maskedSpace,
        actionSpace: new Discrete(N),
        hidden: [6],
        activation,
        seed: 4,
      });
      assert.equal(m.obsSize, O);
      assert.equal(m.inputSize, S, "the towers read the observations only");
      assert.deepEqual(m.weightSpecs.map((s) => s.shape), [[S, 6], [6], [6, N], [N], [S, 6], [6], [
        6,
        1,
      ], [1]]);
      const rngW = new Pcg32(5);
      m.setFlatWeights(m.getFlatWeights().map((w) => w + (rngW.nextFloat() - 0.5) * 0.8));
      const rows = masks.length, obs = rowsOf(masks, 2);
      const logits = new Float32Array(rows * N), values = new Float32Array(rows);
      m.forward(obs, rows, logits, values);
      const flat = Float64Array.from(m.getFlatWeights());
      const ref = reference(m, obs, rows, flat);
      for (let k = 0; k < rows * N; k++) {
        assert.ok(Math.abs(logits[k]! - ref.logits[k]!) < 2e-5, `logit ${k}`);
      }
      // Changing the mask part alone changes only which logits are masked.
      const obs2 = obs.slice();
      obs2.fill(1, 0, N);
      const logits2 = new Float32Array(rows * N);
      m.forward(obs2, rows, logits2, values);
      for (let k = 0; k < N; k++) {
        if (masks[0]![k] === 1) assert.equal(logits2[k], logits[k]);
        else assert.notEqual(logits2[k], MASKED_LOGIT);
      }

      // PPO's loss with an entropy bonus and a KL penalty on legal stored actions.
      const actions = Float32Array.from([2, 3, 1, 2]);
      const f64 = (n: number, fn: (i: number) => number) =>
        Float64Array.from({ length: n }, (_, i) => fn(i)) as unknown as Float32Array;
      const input = {
        rows,
        heads: [N],
        headStarts: [0],
        actions,
        oldLogp: f64(rows, (i) => -1 - 0.1 * i),
        advantages: f64(rows, (i) => [1, -0.5, 2, -1][i]!),
        returns: f64(rows, (i) => 0.3 * i),
        oldValues: f64(rows, () => 0),
        clipParam: 10,
        vfClipParam: null,
        vfLossCoeff: 0.5,
        entropyCoeff: 0.3,
        klCoeff: 0.2,
      };
      const lossAt = (w: Float64Array) => {
        const r = reference(m, obs, rows, w);
        return ppoLoss({
          ...input,
          logits: r.logits as unknown as Float32Array,
          values: r.values as unknown as Float32Array,
        });
      };
      // logp and entropy of the distribution over the legal actions, by hand.
      const t0 = lossAt(flat);
      let ent = 0;
      for (let r = 0; r < rows; r++) {
        const legal = masks[r]!.flatMap((v, j) => v === 1 ? [ref.logits[r * N + j]!] : []);
        const lse = Math.log(legal.reduce((a, z) => a + Math.exp(z), 0));
        ent -= legal.reduce((a, z) => a + Math.exp(z - lse) * (z - lse), 0) / rows;
      }
      assert.ok(Math.abs(t0.entropy - ent) < 1e-9, `entropy ${t0.entropy} vs ${ent}`);
      assert.ok(t0.entropy < Math.log(N) && Number.isFinite(t0.totalLoss));
      // Row 1 has one legal action: probability 1, entropy 0.
      const one = ppoLoss({
        ...input,
        rows: 1,
        actions: Float32Array.of(3),
        logits: ref.logits.subarray(N, 2 * N) as unknown as Float32Array,
        values: ref.values.subarray(1, 2) as unknown as Float32Array,
        oldLogp: f64(1, () => 0),
      });
      assert.ok(Math.abs(one.entropy) < 1e-12 && Math.abs(one.kl) < 1e-12);

      const grad = new Float32Array(m.numParams);
      let seen: Float32Array | undefined;
      m.computeGradients(obs, rows, (lg, vs, dL, dV) => {
        seen = lg.slice();
        ppoLoss({ ...input, logits: lg, values: vs }, dL, dV);
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < N; j++) {
            if (masks[r]![j] === 0) assert.ok(dL[r * N + j] === 0, "no gradient to a masked logit");
          }
        }
      }, grad);
      for (let k = 0; k < rows * N; k++) {
        if (masks[Math.floor(k / N)]![k % N] === 0) assert.equal(seen![k], MASKED_LOGIT);
      }
      const eps = 1e-5;
      let maxErr = 0, worst = "";
      for (let k = 0; k < m.numParams; k++) {
        const save = flat[k]!;
        flat[k] = save + eps;
        const up = lossAt(flat).totalLoss;
        flat[k] = save - eps;
        const down = lossAt(flat).totalLoss;
        flat[k] = save;
        const fd = (up - down) / (2 * eps);
        const err = Math.abs(fd - grad[k]!) / Math.max(1, Math.abs(fd));
        if (err > maxErr) [maxErr, worst] = [err, `weight ${k}: ${grad[k]} vs ${fd}`];
      }
      assert.ok(maxErr < 1e-4, `max relative gradient error ${maxErr} (${worst})`);
      m.dispose();
    });
  }

  Deno.test(`[${backend}] Q head: one tower "q", no value function; Huber gradients match finite differences (masked)`, async () => {
    await initBackend({ backend });
    const q = new QPolicy({
      observationSpace: maskedSpace,
      actionSpace: new Discrete(N),
      hidden: [7, 4],
      seed: 9,
    });
    const m = q.model;
    assert.deepEqual(m.weightSpecs.map((s) => s.name), [
      "q/dense_0/kernel",
      "q/dense_0/bias",
      "q/dense_1/kernel",
      "q/dense_1/bias",
      "q/out/kernel",
      "q/out/bias",
    ]);
    assert.equal(m.activation, "relu");
    assert.throws(() => m.values(new Float32Array(O), 1, new Float32Array(1)), /no value function/);
    const rngW = new Pcg32(8);
    q.setFlatWeights(q.getFlatWeights().map((w) => w + (rngW.nextFloat() - 0.5) * 0.5));
    const rows = masks.length, obs = rowsOf(masks, 7);
    const qv = new Float32Array(rows * N);
    q.qValues(obs, rows, qv);
    const flat = Float64Array.from(q.getFlatWeights());
    const ref = reference(m, obs, rows, flat);
    for (let k = 0; k < rows * N; k++) assert.ok(Math.abs(qv[k]! - ref.logits[k]!) < 2e-5);
    const actions = [0, 3, 4, 1], y = [0.5, -2, 3, 0.1]; // some errors beyond κ = 1
    const huber = (d: number) => Math.abs(d) <= 1 ? 0.5 * d * d : Math.abs(d) - 0.5;
    const lossAt = (w: Float64Array) => {
      const r = reference(m, obs, rows, w);
      let s = 0;
      for (let i = 0; i < rows; i++) s += huber(r.logits[i * N + actions[i]!]! - y[i]!) / rows;
      return s;
    };
    const grad = new Float32Array(q.numParams);
    q.computeGradients(obs, rows, (lg, _v, dL) => {
      for (let i = 0; i < rows; i++) {
        const d = lg[i * N + actions[i]!]! - y[i]!;
        dL[i * N + actions[i]!] = (Math.abs(d) <= 1 ? d : Math.sign(d)) / rows;
      }
    }, grad);
    const eps = 1e-5;
    let maxErr = 0;
    for (let k = 0; k < q.numParams; k++) {
      const save = flat[k]!;
      flat[k] = save + eps;
      const up = lossAt(flat);
      flat[k] = save - eps;
      const down = lossAt(flat);
      flat[k] = save;
      const fd = (up - down) / (2 * eps);
      maxErr = Math.max(maxErr, Math.abs(fd - grad[k]!) / Math.max(1, Math.abs(fd)));
    }
    assert.ok(maxErr < 1e-4, `max relative gradient error ${maxErr}`);
    q.dispose();
  });
}

Deno.test("masked sampling and greedy choices never pick an illegal action (property)", async () => {
  await initBackend({ backend: "cpu" });
  const m = new ActorCriticModel({
    observationSpace: maskedSpace,
    actionSpace: new Discrete(N, 2),
    hidden: [8],
    seed: 1,
  });
  const q = new QPolicy({
    observationSpace: maskedSpace,
    actionSpace: new Discrete(N, 2),
    hidden: [8],
    seed: 1,
  });
  const rnd = new RandomPolicy(maskedSpace, new Discrete(N, 2));
  const maskArb = fc.array(fc.constantFrom(0, 1), { minLength: N, maxLength: N })
    .filter((mk) => mk.includes(1));
  fc.assert(
    fc.property(
      fc.array(maskArb, { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 0, max: 2 ** 31 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (ms, seed, eps) => {
        const rows = ms.length, obs = rowsOf(ms, seed);
        const act = new Float32Array(rows), logp = new Float32Array(rows);
        const logits = new Float32Array(rows * N), v = new Float32Array(rows);
        m.forward(obs, rows, logits, v);
        const legal = (r: number, a: number) => ms[r]![a - 2] === 1;
        for (const explore of [true, false]) {
          m.act(obs, rows, new Pcg32(seed), explore, act, { action_logp: logp });
          for (let r = 0; r < rows; r++) {
            assert.ok(legal(r, act[r]!), `model row ${r}: ${act[r]} under ${ms[r]}`);
            // logp: log-softmax over the legal logits.
            const zs = ms[r]!.flatMap((x, j) => x === 1 ? [logits[r * N + j]!] : []);
            const mx = Math.max(...zs);
            const lse = mx + Math.log(zs.reduce((a, z) => a + Math.exp(z - mx), 0));
            assert.ok(Math.abs(logp[r]! - (logits[r * N + act[r]! - 2]! - lse)) < 1e-5);
            if (!explore) assert.equal(logits[r * N + act[r]! - 2], mx, "greedy: the legal max");
          }
          q.epsilon = eps;
          q.act(obs, rows, new Pcg32(seed), explore, act);
          for (let r = 0; r < rows; r++) assert.ok(legal(r, act[r]!), `Q row ${r}`);
          rnd.act(obs, rows, new Pcg32(seed), explore, act, { action_logp: logp });
          for (let r = 0; r < rows; r++) {
            assert.ok(legal(r, act[r]!), `random row ${r}`);
            assert.ok(Math.abs(logp[r]! + Math.log(ms[r]!.filter((x) => x === 1).length)) < 1e-6);
          }
        }
      },
    ),
    { numRuns: 150 },
  );
  m.dispose();
  q.dispose();
});

Deno.test("masked random actions are uniform over the legal ones; epsilon 1 too, greedy Q is the legal argmax", async () => {
  await initBackend({ backend: "cpu" });
  const rnd = new RandomPolicy(maskedSpace, new Discrete(N));
  const q = new QPolicy({ observationSpace: maskedSpace, actionSpace: new Discrete(N), seed: 3 });
  const rows = 3000, obs = rowsOf(Array.from({ length: rows }, () => [0, 1, 0, 1, 1]), 4);
  const act = new Float32Array(rows);
  for (
    const [name, run] of [
      ["random", () => rnd.act(obs, rows, new Pcg32(2), true, act)],
      ["epsilon 1", () => {
        q.epsilon = 1;
        q.act(obs, rows, new Pcg32(2), true, act);
      }],
    ] as const
  ) {
    run();
    const counts = [0, 0, 0, 0, 0];
    for (const a of act) counts[a]!++;
    assert.equal(counts[0]! + counts[2]!, 0, name);
    for (const j of [1, 3, 4]) {
      assert.ok(Math.abs(counts[j]! / rows - 1 / 3) < 0.03, `${name}: ${counts}`);
    }
  }
  q.epsilon = 0;
  q.act(obs, 4, new Pcg32(1), true, act);
  const qv = new Float32Array(4 * N);
  q.qValues(obs, 4, qv);
  for (let r = 0; r < 4; r++) {
    const best = [1, 3, 4].reduce((b, j) => qv[r * N + j]! > qv[r * N + b]! ? j : b, 1);
    assert.equal(act[r], best);
    assert.equal(qv[r * N], MASKED_LOGIT);
  }
  q.dispose();
});

Deno.test("masking errors: no legal action, a mask value other than 0/1, malformed masked spaces", async () => {
  await initBackend({ backend: "cpu" });
  const m = new ActorCriticModel({ observationSpace: maskedSpace, actionSpace: new Discrete(N) });
  const q = new QPolicy({ observationSpace: maskedSpace, actionSpace: new Discrete(N) });
  const rnd = new RandomPolicy(maskedSpace, new Discrete(N));
  const none = rowsOf([[1, 0, 0, 0, 0], [0, 0, 0, 0, 0]], 1);
  const out = new Float32Array(2);
  for (
    const [who, p] of [["ActorCriticModel.act", m], ["QPolicy.act", q], [
      "RandomPolicy",
      rnd,
    ]] as const
  ) {
    assert.throws(
      () => p.act(none, 2, new Pcg32(1), true, out),
      (e: Error) =>
        e instanceof RangeError && e.message.startsWith(who) &&
        e.message.includes("row 1 has no legal action"),
    );
  }
  // forward() leaves a row without legal actions all masked (a final observation may be one).
  const lg = new Float32Array(2 * N);
  m.forward(none, 2, lg, new Float32Array(2));
  assert.ok(lg.subarray(N).every((x) => x === MASKED_LOGIT));
  const half = rowsOf([[1, 0.5, 0, 0, 0]], 1);
  assert.throws(
    () => m.act(half, 1, new Pcg32(1), false, out),
    /action_mask\[1\] of row 0 is 0.5, expected 0 \(illegal\) or 1 \(legal\)/,
  );
  assert.throws(
    () =>
      new ActorCriticModel({
        observationSpace: new Dict({
          action_mask: new Box(0, 1, [N]),
          observations: new Box(0, 1, [2]),
          extra: new Discrete(2),
        }),
        actionSpace: new Discrete(N),
      }),
    /exactly "action_mask" and "observations".*"action_mask", "extra", "observations"/,
  );
  assert.throws(
    () => new RandomPolicy(maskedSpace, new Discrete(N + 1)),
    /RandomPolicy: "action_mask" must be a Box in \[0, 1\] of 6 values/,
  );
  assert.throws(
    () =>
      new ActorCriticModel({ observationSpace: maskedSpace, actionSpace: new MultiDiscrete([N]) }),
    /action masking needs a Discrete action space, got MultiDiscrete/,
  );
  assert.throws(
    () => new QPolicy({ observationSpace: new Box(0, 1, [2]), actionSpace: new Box(0, 1, [1]) }),
    /QPolicy \(DQN\) needs a Discrete action space/,
  );
  m.dispose();
  q.dispose();
});

Deno.test("masked with encoders and features: the same outputs and gradients as the unmasked model of the inner space", async () => {
  await initBackend({ backend: "wasm" });
  const inner = new Dict({ idx: new Discrete(3), rows: new Box(0, 1, [3, 2]) });
  const masked = new Dict({ action_mask: new Box(0, 1, [4]), observations: inner });
  const opts = {
    actionSpace: new Discrete(4),
    encoderSize: 4,
    hidden: [5],
    features: [{ kind: "gather" as const, index: "idx", rows: "rows" }],
    seed: 6,
  };
  const a = new ActorCriticModel({ ...opts, observationSpace: masked });
  const b = new ActorCriticModel({ ...opts, observationSpace: inner });
  assert.deepEqual(a.weightSpecs, b.weightSpecs);
  assert.deepEqual(a.getFlatWeights(), b.getFlatWeights());
  const rows = 3, I = inner.flatSize, A = masked.flatSize;
  const ms = [[1, 1, 0, 1], [0, 1, 0, 0], [1, 1, 1, 1]];
  const rng = new Pcg32(3);
  const xIn = new Float32Array(rows * I), xA = new Float32Array(rows * A);
  for (let r = 0; r < rows; r++) {
    const k = rng.nextInt(3);
    const row: number[] = [0, 1, 2].map((j) => j === k ? 1 : 0);
    for (let j = 0; j < 6; j++) row.push(rng.nextFloat());
    xIn.set(row, r * I);
    xA.set([...ms[r]!, ...row], r * A);
  }
  const la = new Float32Array(rows * 4), lb = new Float32Array(rows * 4);
  const va = new Float32Array(rows), vb = new Float32Array(rows);
  a.forward(xA, rows, la, va);
  b.forward(xIn, rows, lb, vb);
  assert.deepEqual(va, vb);
  for (let k = 0; k < rows * 4; k++) {
    assert.equal(la[k], ms[Math.floor(k / 4)]![k % 4] === 1 ? lb[k] : MASKED_LOGIT);
  }
  // A loss of the legal logits and the values: identical gradients.
  const loss = (lg: Float32Array, v: Float32Array, dL: Float32Array, dV: Float32Array) => {
    for (let k = 0; k < rows * 4; k++) if (ms[Math.floor(k / 4)]![k % 4] === 1) dL[k] = lg[k]!;
    for (let r = 0; r < rows; r++) dV[r] = v[r]! - 1;
  };
  const ga = new Float32Array(a.numParams), gb = new Float32Array(b.numParams);
  a.computeGradients(xA, rows, loss, ga);
  b.computeGradients(xIn, rows, loss, gb);
  assert.deepEqual(ga, gb);
  assert.ok(ga.some((g) => g !== 0));
  a.dispose();
  b.dispose();
});
