import assert from "node:assert/strict";
import { initBackend } from "./backend.ts";
import { QPolicy } from "./q_model.ts";
import { MASKED_LOGIT } from "./policy.ts";
import type { OutputLoss } from "./model.ts";
import { Box, Dict, Discrete } from "../spaces.ts";
import { Pcg32 } from "../rng.ts";

await initBackend({ backend: "cpu" });

const maskedSpace = new Dict({
  action_mask: new Box(0, 1, [3]),
  observations: new Box(-5, 5, [2]),
});

/** A linear dueling Q-network (`hidden: []`) on 2 observation floats and 3 actions, set by hand. */
function handNet(masked: boolean): QPolicy {
  const q = new QPolicy({
    observationSpace: masked ? maskedSpace : new Box(-5, 5, [2]),
    actionSpace: new Discrete(3),
    hidden: [],
    dueling: true,
  });
  assert.deepEqual(
    q.weightSpecs.map((s) => `${s.name} ${s.shape}`),
    ["shared/out/kernel 2,4", "shared/out/bias 4"],
    "one linear layer: 3 advantage columns, then the value column",
  );
  // Columns A0, A1, A2, V.
  q.setWeights([
    [1, 0, 2, 0.5, /**/ 0, 1, -1, 1],
    [0.1, 0.2, 0.3, 1],
  ]);
  return q;
}

/** One observation row: the mask (when masked) and the observations, at the layout's offsets. */
function row(q: QPolicy, x: number[], mask?: number[]): Float32Array {
  const o = new Float32Array(q.obsSize), m = q.actionMask;
  if (m === null) o.set(x);
  else {
    o.set(mask!, m.maskOffset);
    o.set(x, m.obsOffset);
  }
  return o;
}

const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol;

Deno.test("dueling: Q = V + A − mean(A) by hand; masked: the mean runs over the legal actions", () => {
  const q = handNet(false);
  // x = [1, 2]: A = [1.1, 2.2, 0.3], V = 0.5 + 2 + 1 = 3.5, mean A = 1.2.
  const out = new Float32Array(3);
  q.qValues(row(q, [1, 2]), 1, out);
  [3.4, 4.5, 2.6].forEach((want, j) => assert.ok(close(out[j]!, want), `${out}`));
  q.dispose();

  const m = handNet(true);
  const out2 = new Float32Array(6);
  const obs = new Float32Array([...row(m, [1, 2], [1, 0, 1]), ...row(m, [1, 2], [0, 0, 0])]);
  m.qValues(obs, 2, out2);
  // Legal 0 and 2: mean A = (1.1 + 0.3) / 2 = 0.7; Q = [3.9, masked, 3.1]; V is their mean.
  assert.ok(close(out2[0]!, 3.9) && close(out2[2]!, 3.1), `${out2}`);
  assert.equal(out2[1], MASKED_LOGIT);
  assert.ok(close((out2[0]! + out2[2]!) / 2, 3.5), "V = the mean of the legal Q-values");
  assert.deepEqual(Array.from(out2.subarray(3)), [MASKED_LOGIT, MASKED_LOGIT, MASKED_LOGIT]);
  m.dispose();
});

Deno.test("dueling: the gradient reaches both streams (by hand, and against finite differences)", () => {
  for (const masked of [false, true]) {
    const q = handNet(masked);
    const mask = masked ? [1, 0, 1] : undefined;
    const obs = row(q, [1, 2], mask);
    // L = Σ_a c_a Q_a over the legal actions.
    const c = [0.5, -2, 3];
    const legal = masked ? [0, 2] : [0, 1, 2];
    const loss: OutputLoss = (Q, _v, dQ) => {
      for (const a of legal) dQ[a] = c[a]!;
      assert.ok(Q.length >= 3);
    };
    const g = new Float32Array(q.numParams);
    q.computeGradients(obs, 1, loss, g);
    // Bias of V (index 8 + 3): Σ c over legal; bias of A_a: c_a − mean(c over legal).
    const sum = legal.reduce((s, a) => s + c[a]!, 0), mean = sum / legal.length;
    assert.ok(close(g[11]!, sum), `dV ${g[11]} vs ${sum}`);
    for (let a = 0; a < 3; a++) {
      const want = legal.includes(a) ? c[a]! - mean : 0;
      assert.ok(close(g[8 + a]!, want), `masked ${masked}: dA${a} ${g[8 + a]} vs ${want}`);
      // kernel[i][a] = x_i · dA_a, kernel[i][V] = x_i · dV
      assert.ok(close(g[a]!, 1 * want) && close(g[4 + a]!, 2 * want));
    }
    assert.ok(close(g[3]!, sum) && close(g[7]!, 2 * sum));
    q.dispose();
  }
  // A hidden layer: the shared trunk gets gradient from both streams; matches finite differences.
  const q = new QPolicy({
    observationSpace: maskedSpace,
    actionSpace: new Discrete(3),
    hidden: [6],
    dueling: true,
    seed: 3,
  });
  const w0 = q.getFlatWeights();
  const obs = new Float32Array([
    ...row(q, [0.3, -0.7], [1, 1, 0]),
    ...row(q, [-1.2, 0.4], [0, 1, 1]),
  ]);
  const actions = [1, 2], ys = [0.4, -0.3];
  const lossOf = (Q: ArrayLike<number>) =>
    actions.reduce((s, a, r) => s + 0.5 * (Q[r * 3 + a]! - ys[r]!) ** 2, 0);
  const g = new Float32Array(q.numParams);
  q.computeGradients(obs, 2, (Q, _v, dQ) => {
    actions.forEach((a, r) => dQ[r * 3 + a] = Q[r * 3 + a]! - ys[r]!);
  }, g);
  const Qb = new Float32Array(6), h = 1e-2;
  let checked = 0;
  for (let k = 0; k < q.numParams; k++) {
    const w = Float32Array.from(w0);
    w[k] = w0[k]! + h;
    q.setFlatWeights(w);
    q.qValues(obs, 2, Qb);
    const up = lossOf(Qb);
    w[k] = w0[k]! - h;
    q.setFlatWeights(w);
    q.qValues(obs, 2, Qb);
    const fd = (up - lossOf(Qb)) / (2 * h);
    assert.ok(Math.abs(fd - g[k]!) < 2e-3, `weight ${k}: ${g[k]} vs finite difference ${fd}`);
    if (Math.abs(g[k]!) > 1e-4) checked++;
  }
  const specs = q.weightSpecs.map((s) => s.name);
  assert.deepEqual(specs, [
    "shared/dense_0/kernel",
    "shared/dense_0/bias",
    "shared/out/kernel",
    "shared/out/bias",
  ]);
  // The out bias: [A0, A1, A2, V] at the end of the layout; V's and A's entries are non-zero.
  const n = q.numParams;
  assert.ok(Math.abs(g[n - 1]!) > 1e-4, "V stream");
  assert.ok(Math.abs(g[n - 3]!) > 1e-4 && Math.abs(g[n - 2]!) > 1e-4, "A stream");
  assert.ok(checked > 20, `${checked} non-zero gradient entries`);
  q.dispose();
});

Deno.test("dueling: masked actions are never chosen, greedy or random, even with the largest advantage", () => {
  const q = handNet(true);
  // Action 1 has by far the largest advantage for x = [0, 5]: A = [0.1, 5.2, -4.7].
  const rng = new Pcg32(9), rows = 200;
  const obs = new Float32Array(rows * q.obsSize), act = new Float32Array(rows);
  const masks: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const mask = [0, 1, 2].map(() => rng.nextInt(2));
    if (!mask.includes(1)) mask[rng.nextInt(3)] = 1;
    masks.push(mask);
    obs.set(row(q, [0, 5], mask), r * q.obsSize);
  }
  for (const eps of [0, 0.5, 1]) {
    q.epsilon = eps;
    q.act(obs, rows, new Pcg32(eps * 10), eps > 0, act);
    for (let r = 0; r < rows; r++) {
      const a = act[r]!, mask = masks[r]!;
      assert.equal(mask[a], 1, `row ${r} (mask ${mask}) got illegal action ${a} with ε ${eps}`);
      if (eps === 0) {
        // Greedy: the legal action of largest advantage (1, else 0, else 2).
        assert.equal(a, mask[1] ? 1 : mask[0] ? 0 : 2);
      }
    }
  }
  q.dispose();
  assert.throws(
    () =>
      new QPolicy({
        observationSpace: maskedSpace,
        actionSpace: new Discrete(3),
        dueling: 1 as unknown as boolean,
      }),
    /dueling must be true or false, got 1/,
  );
});

// ---------------------------------------------------------------------------------------------
// C51: distributions over atoms.

/** A linear C51 network (`hidden: []`, 3 atoms −1, 0, 1, 2 actions) with hand-set biases. */
function c51Net(masked: boolean, dueling: boolean, bias: number[]): QPolicy {
  const q = new QPolicy({
    observationSpace: masked
      ? new Dict({ action_mask: new Box(0, 1, [2]), observations: new Box(-5, 5, [2]) })
      : new Box(-5, 5, [2]),
    actionSpace: new Discrete(2),
    hidden: [],
    dueling,
    numAtoms: 3,
    vMin: -1,
    vMax: 1,
  });
  const W = (2 + (dueling ? 1 : 0)) * 3;
  assert.deepEqual(q.weightSpecs.map((s) => `${s.name} ${s.shape}`), [
    `q/out/kernel 2,${W}`,
    `q/out/bias ${W}`,
  ]);
  q.setWeights([new Array(2 * W).fill(0), bias]);
  return q;
}

const softmax = (x: number[]) => {
  const e = x.map((v) => Math.exp(v - Math.max(...x))), s = e.reduce((a, b) => a + b);
  return e.map((v) => v / s);
};

Deno.test("C51: Q = Σ z·softmax(logits) by hand; dueling per atom, the mean over legal actions; masked rows", () => {
  const ln = Math.log;
  // Plain: action 0 logits [0, 0, 0] → uniform, Q 0; action 1 [0, ln 2, ln 5] → 1/8, 2/8, 5/8: Q ½.
  const q = c51Net(false, false, [0, 0, 0, 0, ln(2), ln(5)]);
  assert.deepEqual(Array.from(q.atoms), [-1, 0, 1]);
  const out = new Float32Array(2);
  q.qValues(new Float32Array([0.3, -0.2]), 1, out);
  assert.ok(close(out[0]!, 0) && close(out[1]!, 0.5), `${out}`);
  const lp = q.logProbs(new Float32Array([0.3, -0.2]), 1);
  [1 / 8, 2 / 8, 5 / 8].forEach((p, k) => assert.ok(close(Math.exp(lp[3 + k]!), p)));
  q.dispose();

  // Dueling: A0 = [0, 0, 0], A1 = [0, ln 2, ln 5], V = [1, 2, 3].
  const A0 = [0, 0, 0], A1 = [0, ln(2), ln(5)], V = [1, 2, 3];
  const d = c51Net(true, true, [...A0, ...A1, ...V]);
  const m = d.actionMask!;
  const row = (mask: number[]) => {
    const o = new Float32Array(d.obsSize);
    o.set(mask, m.maskOffset);
    o.set([0.1, 0.2], m.obsOffset);
    return o;
  };
  const qOf = (logits: number[]) => softmax(logits).reduce((s, p, k) => s + p * (k - 1), 0);
  const both = new Float32Array(2), only1 = new Float32Array(2);
  d.qValues(row([1, 1]), 1, both);
  const mean = [0, 1, 2].map((k) => (A0[k]! + A1[k]!) / 2);
  const want0 = qOf([0, 1, 2].map((k) => V[k]! + A0[k]! - mean[k]!));
  const want1 = qOf([0, 1, 2].map((k) => V[k]! + A1[k]! - mean[k]!));
  assert.ok(close(both[0]!, want0) && close(both[1]!, want1), `${both} vs ${want0}, ${want1}`);
  // Only action 1 legal: the mean is A1 itself, so its logits are V.
  d.qValues(row([0, 1]), 1, only1);
  assert.equal(only1[0], MASKED_LOGIT);
  assert.ok(close(only1[1]!, qOf(V)), `${only1[1]} vs ${qOf(V)}`);
  d.dispose();
  assert.throws(
    () =>
      new QPolicy({
        observationSpace: new Box(0, 1, [1]),
        actionSpace: new Discrete(2),
        numAtoms: 3,
        vMin: 1,
        vMax: 1,
      }),
    /vMin and vMax must be finite numbers with vMin < vMax, got 1 and 1/,
  );
  assert.throws(
    () =>
      new QPolicy({
        observationSpace: new Box(0, 1, [1]),
        actionSpace: new Discrete(2),
        numAtoms: 0,
      }),
    /numAtoms must be an integer >= 1, got 0/,
  );
});

Deno.test("C51: the cross-entropy gradient through dueling atoms and a hidden layer matches finite differences; illegal actions get none", () => {
  const space = new Dict({ action_mask: new Box(0, 1, [3]), observations: new Box(-5, 5, [2]) });
  for (const dueling of [false, true]) {
    const q = new QPolicy({
      observationSpace: space,
      actionSpace: new Discrete(3),
      hidden: [5],
      dueling,
      numAtoms: 4,
      vMin: -2,
      vMax: 2,
      seed: 4,
    });
    const m = q.actionMask!, K = 4;
    const obs = new Float32Array(2 * q.obsSize);
    [[1, 1, 0], [0, 1, 1]].forEach((mask, r) => {
      obs.set(mask, r * q.obsSize + m.maskOffset);
      obs.set(r === 0 ? [0.4, -0.9] : [-0.3, 1.1], r * q.obsSize + m.obsOffset);
    });
    const acts = [0, 2], targets = [[0.1, 0.2, 0.3, 0.4], [0.7, 0, 0, 0.3]];
    const ce = (lp: Float64Array) =>
      acts.reduce(
        (s, a, r) => s - targets[r]!.reduce((t, mk, k) => t + mk * lp[(r * 3 + a) * K + k]!, 0),
        0,
      );
    const g = new Float32Array(q.numParams);
    q.computeDistributionalGradients(obs, 2, (lp, dL) => {
      acts.forEach((a, r) => {
        for (let k = 0; k < K; k++) {
          dL[(r * 3 + a) * K + k] = Math.exp(lp[(r * 3 + a) * K + k]!) - targets[r]![k]!;
        }
      });
    }, g);
    // h small enough not to cross a ReLU kink (1e-2 does for two weights here).
    const w0 = q.getFlatWeights(), h = 1e-3;
    let nonZero = 0;
    for (let k = 0; k < q.numParams; k++) {
      const w = Float32Array.from(w0);
      w[k] = w0[k]! + h;
      q.setFlatWeights(w);
      const up = ce(q.logProbs(obs, 2));
      w[k] = w0[k]! - h;
      q.setFlatWeights(w);
      const fd = (up - ce(q.logProbs(obs, 2))) / (2 * h);
      assert.ok(Math.abs(fd - g[k]!) < 2e-3, `dueling ${dueling}, weight ${k}: ${g[k]} vs ${fd}`);
      if (Math.abs(g[k]!) > 1e-4) nonZero++;
    }
    // The output bias: K atoms per action (then K for V with dueling). Without dueling only
    // the taken actions' atoms (0 and 2) get gradient; with dueling action 1's too (the mean
    // over legal actions), and V's atoms.
    const W = (3 + (dueling ? 1 : 0)) * K, biasOff = q.numParams - W;
    for (let k = 0; k < K; k++) {
      assert.ok(Math.abs(g[biasOff + k]!) > 1e-4 && Math.abs(g[biasOff + 2 * K + k]!) > 1e-4);
      assert.equal(Math.abs(g[biasOff + K + k]!) > 1e-4, dueling, `action 1, atom ${k}`);
      if (dueling) assert.ok(Math.abs(g[biasOff + 3 * K + k]!) > 1e-4, "V atoms");
    }
    assert.ok(nonZero > 20, `${nonZero}`);
    q.dispose();
  }
});

Deno.test("C51: masked actions are never chosen, greedy or random", () => {
  // Action 0's distribution sits on the top atom (Q ≈ 1); it is illegal in every row.
  const q = c51Net(true, true, [0, 0, 20, 0, 0, 0, 0, 0, 0]);
  const m = q.actionMask!, rows = 50, obs = new Float32Array(rows * q.obsSize);
  for (let r = 0; r < rows; r++) {
    obs.set([0, 1], r * q.obsSize + m.maskOffset);
    obs.set([r / 50, -r / 50], r * q.obsSize + m.obsOffset);
  }
  const act = new Float32Array(rows);
  for (const eps of [0, 1]) {
    q.epsilon = eps;
    q.act(obs, rows, new Pcg32(1), eps > 0, act);
    assert.ok(act.every((a) => a === 1), `ε ${eps}: ${act}`);
  }
  // Unmasked, action 0 is the greedy one.
  const open = new Float32Array(q.obsSize);
  open.set([1, 1], m.maskOffset);
  q.epsilon = 0;
  q.act(open, 1, new Pcg32(1), false, act);
  assert.equal(act[0], 0);
  q.dispose();
});

// ---------------------------------------------------------------------------------------------
// Noisy nets: μ + σ ⊙ ε, factorised Gaussian ε.

/** f(u) = sign(u)·√|u| of standard normals drawn as `sampleNoise` does (Box–Muller pairs). */
function fNormals(rng: Pcg32, count: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < count; k += 2) {
    const u = 1 - rng.nextFloat(), v = rng.nextFloat(), r = Math.sqrt(-2 * Math.log(u));
    for (const g of [r * Math.cos(2 * Math.PI * v), r * Math.sin(2 * Math.PI * v)]) {
      if (out.length < count) out.push(Math.sign(g) * Math.sqrt(Math.abs(g)));
    }
  }
  return out;
}

Deno.test("noisy: Q with μ + σ ⊙ f(x)f(y)ᵀ by hand, σ₀/√fan_in at first, [μ, σ] flat, μ when not exploring", () => {
  const q = new QPolicy({
    observationSpace: new Box(-5, 5, [2]),
    actionSpace: new Discrete(3),
    hidden: [],
    noisy: true,
    noisySigma0: 0.4,
  });
  assert.deepEqual(q.weightSpecs.map((s) => `${s.name} ${s.shape}`), [
    "q/out/kernel 2,3",
    "q/out/bias 3",
    "q/out/kernel_sigma 2,3",
    "q/out/bias_sigma 3",
  ]);
  assert.equal(q.numParams, 18);
  const sigma0 = q.getWeights()[2]!;
  assert.ok(sigma0.every((s) => close(s, 0.4 / Math.SQRT2)), "σ₀ / √fan_in");
  const muK = [1, 0, 2, 0, 1, -1], muB = [0.1, 0.2, 0.3];
  const sK = [0.5, 0.1, 0.2, 0.3, 0.4, 0.6], sB = [0.05, 0.1, 0.15];
  q.setWeights([muK, muB, sK, sB]);
  assert.deepEqual(Array.from(q.getFlatWeights()), [...muK, ...muB, ...sK, ...sB].map(Math.fround));
  const x = [1, 2], obs = new Float32Array(x), out = new Float32Array(3);
  const qOf = (K: number[], b: number[]) =>
    [0, 1, 2].map((j) => x[0]! * K[j]! + x[1]! * K[3 + j]! + b[j]!);
  q.qValues(obs, 1, out);
  qOf(muK, muB).forEach((v, j) => assert.ok(close(out[j]!, v), "μ before any noise"));
  // The noise: 2 input values, then 3 output values.
  q.sampleNoise(new Pcg32(11));
  const ref = new Pcg32(11), fx = fNormals(ref, 2), fy = fNormals(ref, 3);
  const K = muK.map((m, k) => m + sK[k]! * fx[Math.floor(k / 3)]! * fy[k % 3]!);
  const b = muB.map((m, j) => m + sB[j]! * fy[j]!);
  q.qValues(obs, 1, out);
  qOf(K, b).forEach((v, j) => assert.ok(close(out[j]!, v), `noisy ${out} vs ${qOf(K, b)}`));
  assert.deepEqual(
    Array.from(q.getFlatWeights()),
    [...muK, ...muB, ...sK, ...sB].map(Math.fround),
    "the flat weights stay [μ, σ]",
  );
  q.clearNoise();
  q.qValues(obs, 1, out);
  qOf(muK, muB).forEach((v, j) => assert.ok(close(out[j]!, v), "cleared: μ"));
  // act: exploring draws the noise from its stream (greedy on the noisy Q); not exploring is
  // greedy on μ; either way the network is back on μ afterwards.
  const argmax = (v: number[]) => v.indexOf(Math.max(...v));
  const act = new Float32Array(1), picks = new Set<number>();
  for (let s = 0; s < 40; s++) {
    q.act(obs, 1, new Pcg32(s), true, act);
    const r2 = new Pcg32(s), gx = fNormals(r2, 2), gy = fNormals(r2, 3);
    const Ks = muK.map((m, k) => m + sK[k]! * gx[Math.floor(k / 3)]! * gy[k % 3]!);
    assert.equal(act[0], argmax(qOf(Ks, muB.map((m, j) => m + sB[j]! * gy[j]!))), `seed ${s}`);
    picks.add(act[0]!);
  }
  assert.ok(picks.size >= 2, "the noise explores");
  q.qValues(obs, 1, out);
  qOf(muK, muB).forEach((v, j) => assert.ok(close(out[j]!, v), "after an exploring act: μ"));
  q.act(obs, 1, new Pcg32(1), false, act);
  assert.equal(act[0], argmax(qOf(muK, muB)));
  q.qValues(obs, 1, out);
  qOf(muK, muB).forEach((v, j) => assert.ok(close(out[j]!, v), "after act: μ"));
  q.dispose();
  assert.throws(
    () =>
      new QPolicy({
        observationSpace: new Box(0, 1, [1]),
        actionSpace: new Discrete(2),
        noisy: true,
        noisySigma0: 0,
      }),
    /noisySigma0 must be a finite number > 0, got 0/,
  );
});

Deno.test("noisy: dσ = dW ⊙ ε and dμ = dW match finite differences (dueling, C51, hidden layers)", () => {
  const space = new Dict({ action_mask: new Box(0, 1, [3]), observations: new Box(-5, 5, [2]) });
  for (const numAtoms of [1, 3]) {
    const q = new QPolicy({
      observationSpace: space,
      actionSpace: new Discrete(3),
      hidden: [4],
      dueling: true,
      noisy: true,
      numAtoms,
      vMin: -1,
      vMax: 1,
      seed: 2,
    });
    const m = q.actionMask!, obs = new Float32Array(2 * q.obsSize);
    [[1, 1, 0], [0, 1, 1]].forEach((mask, r) => {
      obs.set(mask, r * q.obsSize + m.maskOffset);
      obs.set(r === 0 ? [0.4, -0.9] : [-0.3, 1.1], r * q.obsSize + m.obsOffset);
    });
    const acts = [1, 2], K = numAtoms;
    const tgt = [[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]];
    // Loss: ½(Q − 1)² of the taken actions, or their cross-entropy to `tgt` (C51).
    const lossAt = (): number => {
      q.sampleNoise(new Pcg32(5));
      let s = 0;
      if (K === 1) {
        const Q = new Float32Array(6);
        q.qValues(obs, 2, Q);
        acts.forEach((a, r) => s += 0.5 * (Q[r * 3 + a]! - 1) ** 2);
      } else {
        const lp = q.logProbs(obs, 2);
        acts.forEach((a, r) => tgt[r]!.forEach((t, k) => s -= t * lp[(r * 3 + a) * K + k]!));
      }
      return s;
    };
    const g = new Float32Array(q.numParams);
    q.sampleNoise(new Pcg32(5));
    if (K === 1) {
      q.computeGradients(obs, 2, (Q, _v, dQ) => {
        acts.forEach((a, r) => dQ[r * 3 + a] = Q[r * 3 + a]! - 1);
      }, g);
    } else {
      q.computeDistributionalGradients(obs, 2, (lp, dL) => {
        acts.forEach((a, r) =>
          tgt[r]!.forEach((t, k) =>
            dL[(r * 3 + a) * K + k] = Math.exp(lp[(r * 3 + a) * K + k]!) - t
          )
        );
      }, g);
    }
    const w0 = q.getFlatWeights(), h = 1e-3, P = q.numParams / 2;
    let sigmaNonZero = 0;
    for (let k = 0; k < q.numParams; k++) {
      const w = Float32Array.from(w0);
      w[k] = w0[k]! + h;
      q.setFlatWeights(w);
      const up = lossAt();
      w[k] = w0[k]! - h;
      q.setFlatWeights(w);
      const fd = (up - lossAt()) / (2 * h);
      assert.ok(
        Math.abs(fd - g[k]!) < 3e-3,
        `K ${K}, ${k < P ? "μ" : "σ"} ${k % P}: ${g[k]} vs ${fd}`,
      );
      if (k >= P && Math.abs(g[k]!) > 1e-4) sigmaNonZero++;
    }
    assert.ok(sigmaNonZero > 10, `σ gets gradient (${sigmaNonZero})`);
    q.dispose();
  }
});
