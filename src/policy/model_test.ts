import assert from "node:assert/strict";
import { initBackend } from "./backend.ts";
import { type Activation, ActorCriticModel } from "./model.ts";
import { Box, Discrete, MultiDiscrete, type Space, Tuple } from "../spaces.ts";
import { Pcg32 } from "../rng.ts";

function assertAlmostEquals(actual: number, expected: number, tol: number, msg = ""): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} vs ${expected} (tol ${tol}) ${msg}`);
}

function assertThrows(fn: () => unknown, cls: ErrorConstructor, includes: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert.ok(
      (e as Error).message.includes(includes),
      `"${(e as Error).message}" lacks "${includes}"`,
    );
    return true;
  });
}

function assertEquals(actual: unknown, expected: unknown, msg?: string): void {
  assert.deepEqual(actual, expected, msg);
}

/** Splits a flat weight vector into the model's weight arrays (views, any precision). */
function split(model: ActorCriticModel, flat: Float64Array): Float64Array[] {
  let off = 0;
  return model.weightSpecs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    off += n;
    return flat.subarray(off - n, off);
  });
}

/** Float64 reference of the model: the plain tanh/relu MLP over `ws` (default: its weights). */
function reference(
  model: ActorCriticModel,
  obs: ArrayLike<number>,
  rows: number,
  ws: ArrayLike<number>[] = model.getWeights(),
) {
  const act = (z: number) => model.activation === "tanh" ? Math.tanh(z) : Math.max(0, z);
  const towers = model.vfShareLayers ? 1 : 2;
  const per = ws.length / towers;
  const outs: Float64Array[] = [];
  for (let t = 0; t < towers; t++) {
    let h = Float64Array.from({ length: rows * model.obsSize }, (_, i) => obs[i]!);
    let width = model.obsSize;
    for (let l = 0; l < per / 2; l++) {
      const W = ws[t * per + 2 * l]!, b = ws[t * per + 2 * l + 1]!;
      const m = b.length, last = l === per / 2 - 1;
      const next = new Float64Array(rows * m);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < m; j++) {
          let z = b[j]!;
          for (let i = 0; i < width; i++) z += h[r * width + i]! * W[i * m + j]!;
          next[r * m + j] = last ? z : act(z);
        }
      }
      h = next;
      width = m;
    }
    outs.push(h);
  }
  const L = model.logitsSize;
  const logits = new Float64Array(rows * L), values = new Float64Array(rows);
  const w0 = model.vfShareLayers ? L + 1 : L;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < L; j++) logits[r * L + j] = outs[0]![r * w0 + j]!;
    values[r] = model.vfShareLayers ? outs[0]![r * w0 + L]! : outs[1]![r]!;
  }
  return { logits, values };
}

function randomObs(n: number, seed: number): Float32Array {
  const rng = new Pcg32(seed, 3);
  return Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
}

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`[${backend}] same seed gives identical weights and actions`, async () => {
    await initBackend({ backend });
    const space = new Discrete(4);
    const a = new ActorCriticModel({ obsSize: 5, actionSpace: space, seed: 42 });
    const b = new ActorCriticModel({ obsSize: 5, actionSpace: space, seed: 42 });
    const c = new ActorCriticModel({ obsSize: 5, actionSpace: space, seed: 43 });
    assertEquals(a.getWeights(), b.getWeights());
    assert(a.getFlatWeights().some((v, i) => v !== c.getFlatWeights()[i]), "seeds 42, 43 differ");
    const rows = 64, obs = randomObs(rows * 5, 1);
    const out = () => ({
      act: new Float32Array(rows),
      logp: new Float32Array(rows),
      v: new Float32Array(rows),
    });
    const oa = out(), ob = out();
    a.act(obs, rows, new Pcg32(9), true, oa.act, { action_logp: oa.logp, vf_preds: oa.v });
    b.act(obs, rows, new Pcg32(9), true, ob.act, { action_logp: ob.logp, vf_preds: ob.v });
    assertEquals(oa, ob);
    for (const x of oa.act) assert(Number.isInteger(x) && x >= 0 && x < 4);
    a.dispose();
    b.dispose();
    c.dispose();
  });

  Deno.test(`[${backend}] init: orthogonal kernels, zero biases, small policy output`, async () => {
    await initBackend({ backend });
    const m = new ActorCriticModel({ obsSize: 7, actionSpace: new Discrete(5), seed: 3 });
    const names = m.weightSpecs.map((s) => s.name);
    assertEquals(names, [
      "pi/dense_0/kernel",
      "pi/dense_0/bias",
      "pi/dense_1/kernel",
      "pi/dense_1/bias",
      "pi/out/kernel",
      "pi/out/bias",
      "vf/dense_0/kernel",
      "vf/dense_0/bias",
      "vf/dense_1/kernel",
      "vf/dense_1/bias",
      "vf/out/kernel",
      "vf/out/bias",
    ]);
    const ws = m.getWeights();
    assertEquals(m.numParams, ws.reduce((a, w) => a + w.length, 0));
    // dense_1 is 64×64: columns orthogonal with norm √2.
    const W = ws[2]!;
    for (const [j, k] of [[0, 0], [0, 1], [5, 9]] as const) {
      let dot = 0;
      for (let i = 0; i < 64; i++) dot += W[i * 64 + j]! * W[i * 64 + k]!;
      assertAlmostEquals(dot, j === k ? 2 : 0, 1e-4);
    }
    // 7×64 kernel: orthonormal rows times √2.
    const W0 = ws[0]!;
    let n0 = 0;
    for (let j = 0; j < 64; j++) n0 += W0[j]! ** 2;
    assertAlmostEquals(n0, 2, 1e-4);
    for (const i of [1, 3, 5, 7, 9, 11]) assert(ws[i]!.every((v) => v === 0), "biases are 0");
    assert(ws[4]!.every((v) => Math.abs(v) <= 0.01 + 1e-6), "policy output gain 0.01");
    m.dispose();
  });

  Deno.test(`[${backend}] argmax mode takes the most likely action, logp from log-softmax`, async () => {
    await initBackend({ backend });
    const m = new ActorCriticModel({ obsSize: 3, actionSpace: new Discrete(5, 10), seed: 5 });
    // Make the policy output decisive so argmax is well separated.
    const ws = m.getWeights();
    const rng = new Pcg32(1);
    ws[4] = ws[4]!.map(() => rng.nextFloat() * 4 - 2);
    m.setWeights(ws);
    const rows = 32, obs = randomObs(rows * 3, 2);
    const act = new Float32Array(rows), logp = new Float32Array(rows), v = new Float32Array(rows);
    m.act(obs, rows, new Pcg32(1), false, act, { action_logp: logp, vf_preds: v });
    const logits = new Float32Array(rows * 5), values = new Float32Array(rows);
    m.forward(obs, rows, logits, values);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(logits.subarray(r * 5, r * 5 + 5));
      const best = row.indexOf(Math.max(...row));
      assertEquals(act[r], 10 + best, "Discrete start is added");
      const lse = Math.log(row.reduce((a, z) => a + Math.exp(z), 0));
      assertAlmostEquals(logp[r]!, row[best]! - lse, 1e-5);
      assertAlmostEquals(v[r]!, values[r]!, 1e-6);
    }
    m.dispose();
  });

  Deno.test(`[${backend}] MultiDiscrete: one head per element, logp sums the heads`, async () => {
    await initBackend({ backend });
    const space = new MultiDiscrete([3, 2, 4]);
    const m = new ActorCriticModel({ obsSize: 6, actionSpace: space, seed: 8, hidden: [16] });
    assertEquals(m.actSize, 3);
    assertEquals(m.logitsSize, 9);
    const rows = 50, obs = randomObs(rows * 6, 4);
    const act = new Float32Array(rows * 3), logp = new Float32Array(rows);
    const v = new Float32Array(rows);
    m.act(obs, rows, new Pcg32(2), true, act, { action_logp: logp, vf_preds: v });
    const logits = new Float32Array(rows * 9), values = new Float32Array(rows);
    m.forward(obs, rows, logits, values);
    for (let r = 0; r < rows; r++) {
      const a = Array.from(act.subarray(r * 3, r * 3 + 3));
      assert(space.contains(a), `row ${r}: ${a}`);
      let expect = 0, off = 0;
      for (let h = 0; h < 3; h++) {
        const n = space.nvec[h]!;
        const z = Array.from(logits.subarray(r * 9 + off, r * 9 + off + n));
        expect += z[a[h]!]! - Math.log(z.reduce((s, x) => s + Math.exp(x), 0));
        off += n;
      }
      assertAlmostEquals(logp[r]!, expect, 1e-5);
    }
    m.dispose();
  });

  Deno.test(`[${backend}] sampling follows the softmax`, async () => {
    await initBackend({ backend });
    const m = new ActorCriticModel({ obsSize: 2, actionSpace: new Discrete(3), seed: 1 });
    const ws = m.getWeights();
    ws[5] = Float32Array.from([0, 1, -1]); // policy output bias → probs ∝ e^0, e^1, e^-1
    m.setWeights(ws.map((w, i) => i === 4 ? w.map(() => 0) : w));
    const rows = 6000, obs = new Float32Array(rows * 2);
    const act = new Float32Array(rows), logp = new Float32Array(rows), v = new Float32Array(rows);
    m.act(obs, rows, new Pcg32(11), true, act, { action_logp: logp, vf_preds: v });
    const z = 1 + Math.E + 1 / Math.E;
    const counts = [0, 0, 0];
    for (const a of act) counts[a]!++;
    [1 / z, Math.E / z, 1 / Math.E / z].forEach((p, k) => {
      assertAlmostEquals(counts[k]! / rows, p, 0.02);
    });
    m.dispose();
  });

  for (const activation of ["tanh", "relu"] as Activation[]) {
    for (const share of [false, true]) {
      Deno.test(`[${backend}] ${activation}, vfShareLayers ${share}: forward and gradients match a float64 reference`, async () => {
        await initBackend({ backend });
        const space: Space = new MultiDiscrete([3, 2]);
        const m = new ActorCriticModel({
          obsSize: 4,
          actionSpace: space,
          hidden: [8, 6],
          activation,
          vfShareLayers: share,
          seed: 17,
        });
        // Bigger output weights than the init, so every weight has a visible gradient.
        const rngW = new Pcg32(5);
        m.setFlatWeights(m.getFlatWeights().map((w) => w + (rngW.nextFloat() - 0.5) * 0.6));
        const rows = 5, obs = randomObs(rows * 4, 6);
        const L = m.logitsSize;
        const logits = new Float32Array(rows * L), values = new Float32Array(rows);
        m.forward(obs, rows, logits, values);
        const ref = reference(m, obs, rows);
        for (let k = 0; k < rows * L; k++) assertAlmostEquals(logits[k]!, ref.logits[k]!, 2e-5);
        for (let r = 0; r < rows; r++) assertAlmostEquals(values[r]!, ref.values[r]!, 2e-5);

        // A nonlinear loss of both outputs: Σ c·logits² / 2 + Σ (v − t)² / 2.
        const rngC = new Pcg32(7);
        const c = Float64Array.from({ length: rows * L }, () => rngC.nextFloat() - 0.5);
        const target = Float64Array.from({ length: rows }, () => rngC.nextFloat());
        const lossOf = (lg: ArrayLike<number>, vs: ArrayLike<number>) => {
          let s = 0;
          for (let k = 0; k < rows * L; k++) s += c[k]! * lg[k]! ** 2 / 2;
          for (let r = 0; r < rows; r++) s += (vs[r]! - target[r]!) ** 2 / 2;
          return s;
        };
        const grad = new Float32Array(m.numParams);
        m.computeGradients(obs, rows, (lg, vs, dL, dV) => {
          for (let k = 0; k < rows * L; k++) dL[k] = c[k]! * lg[k]!;
          for (let r = 0; r < rows; r++) dV[r] = vs[r]! - target[r]!;
        }, grad);
        // Central differences of the float64 reference.
        const flat = Float64Array.from(m.getFlatWeights());
        const evalAt = (w: Float64Array) => {
          const r = reference(m, obs, rows, split(m, w));
          return lossOf(r.logits, r.values);
        };
        const eps = 1e-5;
        let maxErr = 0;
        for (let k = 0; k < m.numParams; k++) {
          const save = flat[k]!;
          flat[k] = save + eps;
          const up = evalAt(flat);
          flat[k] = save - eps;
          const down = evalAt(flat);
          flat[k] = save;
          const fd = (up - down) / (2 * eps);
          maxErr = Math.max(maxErr, Math.abs(fd - grad[k]!) / Math.max(1, Math.abs(fd)));
        }
        assert(maxErr < 1e-4, `max relative gradient error ${maxErr}`);
        m.dispose();
      });
    }
  }

  Deno.test(`[${backend}] values() and a frozen copy via getWeights/setWeights`, async () => {
    await initBackend({ backend });
    const opts = { obsSize: 3, actionSpace: new Discrete(2), seed: 4 };
    const m = new ActorCriticModel(opts);
    const frozen = new ActorCriticModel({ ...opts, seed: 99 });
    frozen.setWeights(m.getWeights());
    const rows = 10, obs = randomObs(rows * 3, 8);
    const v1 = new Float32Array(rows), v2 = new Float32Array(rows);
    m.values(obs, rows, v1);
    frozen.values(obs, rows, v2);
    assertEquals(v1, v2);
    const lg = new Float32Array(rows * 2), vv = new Float32Array(rows);
    m.forward(obs, rows, lg, vv);
    assertEquals(v1, vv);
    assertThrows(() => frozen.setWeights(m.getWeights().slice(1)), RangeError, "expected 12");
    const bad = m.getWeights();
    bad[2] = new Float32Array(3);
    assertThrows(() => frozen.setWeights(bad), RangeError, "pi/dense_1/kernel");
    const nan = m.getFlatWeights();
    nan[5] = NaN;
    assertThrows(() => frozen.setFlatWeights(nan), RangeError, "not finite");
    m.dispose();
    frozen.dispose();
    assertThrows(
      () => m.values(obs, rows, v1),
      Error,
      "disposed",
    );
  });
}

Deno.test("act reads only the first rows of a longer buffer, as rows change between calls", async () => {
  await initBackend();
  const m = new ActorCriticModel({ obsSize: 3, actionSpace: new Discrete(4), seed: 6 });
  const big = randomObs(40 * 3, 12);
  const out = (n: number) => [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  for (const rows of [40, 10, 10, 25, 1, 40]) {
    const [a1, l1, v1] = out(rows), [a2, l2, v2] = out(rows);
    m.act(big, rows, new Pcg32(rows), true, a1!, { action_logp: l1!, vf_preds: v1! });
    m.act(big.slice(0, rows * 3), rows, new Pcg32(rows), true, a2!, {
      action_logp: l2!,
      vf_preds: v2!,
    });
    assertEquals([a1, l1, v1], [a2, l2, v2], `rows ${rows}`);
  }
  m.dispose();
});

Deno.test("unsupported action spaces and bad options are clear errors", async () => {
  await initBackend();
  assertThrows(
    () => new ActorCriticModel({ obsSize: 3, actionSpace: new Box(-1, 1, [2]) }),
    RangeError,
    "supports Discrete and MultiDiscrete action spaces (categorical heads), got Box(-1, 1, [2])",
  );
  assertThrows(
    () =>
      new ActorCriticModel({
        obsSize: 3,
        actionSpace: new Tuple([new Discrete(2), new Discrete(3)]),
      }),
    RangeError,
    "got Tuple(Discrete(2), Discrete(3))",
  );
  assertThrows(
    () => new ActorCriticModel({ obsSize: 0, actionSpace: new Discrete(2) }),
    RangeError,
    "obsSize must be a positive integer, got 0",
  );
  assertThrows(
    () => new ActorCriticModel({ obsSize: 2, actionSpace: new Discrete(2), hidden: [64, 0] }),
    RangeError,
    "hidden[1] must be a positive integer, got 0",
  );
  assertThrows(
    () =>
      new ActorCriticModel({
        obsSize: 2,
        actionSpace: new Discrete(2),
        activation: "gelu" as Activation,
      }),
    RangeError,
    `activation must be "tanh" or "relu", got "gelu"`,
  );
  const m = new ActorCriticModel({ obsSize: 2, actionSpace: new Discrete(2) });
  const out = new Float32Array(4);
  assertThrows(
    () =>
      m.act(new Float32Array(3), 2, new Pcg32(), true, out, { action_logp: out, vf_preds: out }),
    RangeError,
    "obs holds 3 floats, expected at least 2 rows × 2",
  );
  m.dispose();
});
