import assert from "node:assert/strict";
import { initBackend } from "./backend.ts";
import { type Activation, ActorCriticModel } from "./model.ts";
import { Box, Dict, Discrete, MultiDiscrete, type Space, Tuple } from "../spaces.ts";
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
    () =>
      new ActorCriticModel({
        obsSize: 3,
        actionSpace: new Tuple([new Discrete(2), new Discrete(3)]),
      }),
    RangeError,
    "supports Discrete and MultiDiscrete action spaces (categorical heads) and Box (a diagonal " +
      "Gaussian), got Tuple(Discrete(2), Discrete(3))",
  );
  assertThrows(
    () => new ActorCriticModel({ obsSize: 3, actionSpace: new Box([-1, 0], [1, Infinity], [2]) }),
    RangeError,
    "ActorCriticModel needs each element of a Box action space bounded on both sides (low < " +
      "high; squashed with tanh) or on neither (unsquashed), got [0, Infinity] at element 1",
  );
  assertThrows(
    () => new ActorCriticModel({ obsSize: 3, actionSpace: new Box(1, 1, [1]) }),
    RangeError,
    "got [1, 1] at element 0",
  );
  const dict = new Dict({ a: new Box(0, 1, [2]), b: new Discrete(3) });
  assertThrows(
    () => new ActorCriticModel({ obsSize: 3, actionSpace: new Discrete(2), encoderSize: 4 }),
    RangeError,
    "encoderSize needs the observationSpace",
  );
  assertThrows(
    () =>
      new ActorCriticModel({ obsSize: 4, observationSpace: dict, actionSpace: new Discrete(2) }),
    RangeError,
    "obsSize 4 differs from the flat size 5 of the observation space Dict(a: Box(0, 1, [2]), " +
      "b: Discrete(3))",
  );
  assertThrows(
    () =>
      new ActorCriticModel({
        observationSpace: dict,
        actionSpace: new Discrete(2),
        encoderSize: 1.5,
      }),
    RangeError,
    "encoderSize must be an integer >= 0, got 1.5",
  );
  assertThrows(
    () => new ActorCriticModel({ obsSize: 2, actionSpace: new Box(0, 1, [1]), initialLogStd: NaN }),
    RangeError,
    "initialLogStd must be a finite number, got NaN",
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

// ---- Encoders per component and the Gaussian head ----

/** The flat weights as arrays by name (views, any precision). */
function byName(model: ActorCriticModel, flat: ArrayLike<number>): Map<string, Float64Array> {
  const f = Float64Array.from(flat);
  return new Map(model.weightSpecs.map((s, i) => [s.name, split(model, f)[i]!]));
}

/**
 * Float64 reference written from the weight names alone: per tower, one dense encoder per
 * component (`comps`: name, offset, size), concatenated, then `dense_*` and `out`. The logits of
 * a Box head are its means and `pi/log_std`.
 */
function namedReference(
  model: ActorCriticModel,
  comps: ReadonlyArray<readonly [string, number, number]>,
  obs: ArrayLike<number>,
  rows: number,
  flat: ArrayLike<number> = model.getFlatWeights(),
) {
  const w = byName(model, flat);
  const get = (n: string) => {
    const a = w.get(n);
    if (a === undefined) throw new Error(`no weight ${n}`);
    return a;
  };
  const act = (z: number) => model.activation === "tanh" ? Math.tanh(z) : Math.max(0, z);
  /** `[rows × m]` = f(x[:, cols] W + b). */
  const dense = (
    x: Float64Array,
    width: number,
    off: number,
    n: number,
    name: string,
    f: boolean,
  ) => {
    const W = get(`${name}/kernel`), b = get(`${name}/bias`), m = b.length;
    assert.equal(W.length, n * m, `${name} is [${n} × ${m}]`);
    const out = new Float64Array(rows * m);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < m; j++) {
        let z = b[j]!;
        for (let i = 0; i < n; i++) z += x[r * width + off + i]! * W[i * m + j]!;
        out[r * m + j] = f ? act(z) : z;
      }
    }
    return { out, m };
  };
  const tower = (T: string) => {
    let h = Float64Array.from({ length: rows * model.obsSize }, (_, i) => obs[i]!);
    let width = model.obsSize;
    if (comps.length > 0) {
      const parts = comps.map(([name, off, size]) =>
        dense(h, width, off, size, `${T}/encoder/${name}`, true)
      );
      const total = parts.reduce((a, p) => a + p.m, 0);
      const cat = new Float64Array(rows * total);
      for (let r = 0; r < rows; r++) {
        let c = 0;
        for (const p of parts) {
          for (let j = 0; j < p.m; j++) cat[r * total + c + j] = p.out[r * p.m + j]!;
          c += p.m;
        }
      }
      h = cat;
      width = total;
    }
    for (let l = 0; w.has(`${T}/dense_${l}/kernel`); l++) {
      const d = dense(h, width, 0, width, `${T}/dense_${l}`, true);
      h = d.out;
      width = d.m;
    }
    const o = dense(h, width, 0, width, `${T}/out`, false);
    return o;
  };
  const L = model.logitsSize, gauss = model.actionSpace instanceof Box;
  const P = gauss ? L / 2 : L;
  const pi = tower(model.vfShareLayers ? "shared" : "pi");
  const vf = model.vfShareLayers ? pi : tower("vf");
  const logits = new Float64Array(rows * L), values = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < P; j++) logits[r * L + j] = pi.out[r * pi.m + j]!;
    for (let j = P; j < L; j++) logits[r * L + j] = get("pi/log_std")[j - P]!;
    values[r] = vf.out[r * vf.m + (model.vfShareLayers ? P : 0)]!;
  }
  return { logits, values };
}

/** Forward against the named reference, and the gradient against its central differences. */
function checkForwardAndGradients(
  m: ActorCriticModel,
  comps: ReadonlyArray<readonly [string, number, number]>,
  rows: number,
): void {
  const rngW = new Pcg32(5);
  m.setFlatWeights(m.getFlatWeights().map((w) => w + (rngW.nextFloat() - 0.5) * 0.6));
  const obs = randomObs(rows * m.obsSize, 6);
  const L = m.logitsSize;
  const logits = new Float32Array(rows * L), values = new Float32Array(rows);
  m.forward(obs, rows, logits, values);
  const ref = namedReference(m, comps, obs, rows);
  for (let k = 0; k < rows * L; k++) {
    assertAlmostEquals(logits[k]!, ref.logits[k]!, 2e-5, `logit ${k}`);
  }
  for (let r = 0; r < rows; r++) assertAlmostEquals(values[r]!, ref.values[r]!, 2e-5, `value ${r}`);
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
  const flat = Float64Array.from(m.getFlatWeights());
  const eps = 1e-5;
  let maxErr = 0, worst = "";
  for (let k = 0; k < m.numParams; k++) {
    const save = flat[k]!;
    flat[k] = save + eps;
    const up = namedReference(m, comps, obs, rows, flat);
    flat[k] = save - eps;
    const down = namedReference(m, comps, obs, rows, flat);
    flat[k] = save;
    const fd = (lossOf(up.logits, up.values) - lossOf(down.logits, down.values)) / (2 * eps);
    const err = Math.abs(fd - grad[k]!) / Math.max(1, Math.abs(fd));
    if (err > maxErr) {
      maxErr = err;
      worst = `weight ${k}: ${grad[k]} vs finite difference ${fd}`;
    }
  }
  assert(maxErr < 1e-4, `max relative gradient error ${maxErr} (${worst})`);
}

// A Dict with a nested Tuple: leaves in flat order a (Box [2, 3]), b.0 (Discrete 3), b.1 (Box 2).
const encObs = new Dict({
  b: new Tuple([new Discrete(3), new Box(-1, 1, [2])]),
  a: new Box(0, 1, [2, 3]),
});
const encComps = [["a", 0, 6], ["b.0", 6, 3], ["b.1", 9, 2]] as const;

for (const backend of ["wasm", "cpu"] as const) {
  for (const activation of ["tanh", "relu"] as Activation[]) {
    for (const share of [false, true]) {
      Deno.test(`[${backend}] encoders, ${activation}, vfShareLayers ${share}: forward and gradients match a float64 reference`, async () => {
        await initBackend({ backend });
        const m = new ActorCriticModel({
          observationSpace: encObs,
          actionSpace: new MultiDiscrete([3, 2]),
          encoderSize: 4,
          hidden: [5],
          activation,
          vfShareLayers: share,
          seed: 17,
        });
        checkForwardAndGradients(m, encComps, 5);
        m.dispose();
      });
      Deno.test(`[${backend}] Gaussian head, ${activation}, vfShareLayers ${share}: forward and gradients (log-std included) match a float64 reference`, async () => {
        await initBackend({ backend });
        const m = new ActorCriticModel({
          obsSize: 4,
          actionSpace: new Box([-1, 0, -Infinity], [1, 5, Infinity], [3]),
          hidden: [6, 5],
          activation,
          vfShareLayers: share,
          seed: 3,
        });
        checkForwardAndGradients(m, [], 5);
        m.dispose();
      });
    }
  }
}

Deno.test("encoders: one per leaf component, named by its key path, shapes as documented", async () => {
  await initBackend();
  const m = new ActorCriticModel({
    observationSpace: encObs,
    actionSpace: new Discrete(10),
    encoderSize: 8,
    hidden: [16],
    seed: 1,
  });
  assertEquals(m.encoderSize, 8);
  assertEquals(m.obsSize, 11);
  assertEquals(
    m.weightSpecs.map((s) => `${s.name} [${s.shape.join(", ")}]`),
    [
      "pi/encoder/a/kernel [6, 8]",
      "pi/encoder/a/bias [8]",
      "pi/encoder/b.0/kernel [3, 8]",
      "pi/encoder/b.0/bias [8]",
      "pi/encoder/b.1/kernel [2, 8]",
      "pi/encoder/b.1/bias [8]",
      "pi/dense_0/kernel [24, 16]",
      "pi/dense_0/bias [16]",
      "pi/out/kernel [16, 10]",
      "pi/out/bias [10]",
      "vf/encoder/a/kernel [6, 8]",
      "vf/encoder/a/bias [8]",
      "vf/encoder/b.0/kernel [3, 8]",
      "vf/encoder/b.0/bias [8]",
      "vf/encoder/b.1/kernel [2, 8]",
      "vf/encoder/b.1/bias [8]",
      "vf/dense_0/kernel [24, 16]",
      "vf/dense_0/bias [16]",
      "vf/out/kernel [16, 1]",
      "vf/out/bias [1]",
    ],
  );
  // Encoder kernels start orthogonal with gain √2 (6×8: orthonormal rows × √2).
  const w = m.getWeights();
  let n0 = 0;
  for (let j = 0; j < 8; j++) n0 += w[0]![j]! ** 2;
  assertAlmostEquals(n0, 2, 1e-4);
  m.dispose();
  // Encoders apply to Dict and Tuple observations only; other spaces read the flat row.
  const flatBox = new ActorCriticModel({
    observationSpace: new Box(0, 1, [3, 2]),
    actionSpace: new Discrete(2),
    encoderSize: 8,
  });
  assertEquals(flatBox.encoderSize, 0);
  assertEquals(flatBox.weightSpecs[0]!.name, "pi/dense_0/kernel");
  flatBox.dispose();
});

Deno.test("encoders: a component's encoding depends on that component only", async () => {
  await initBackend();
  // hidden [] and a linear read-out: logits = Σ_c enc_c(x_c) · W_c + b, so perturbing one
  // component changes the logits by an amount independent of the others.
  const m = new ActorCriticModel({
    observationSpace: encObs,
    actionSpace: new Discrete(3),
    encoderSize: 4,
    hidden: [],
    seed: 2,
  });
  const rows = 4, O = 11;
  const base = randomObs(rows * O, 1);
  const out = (x: Float32Array) => {
    const lg = new Float32Array(rows * 3), v = new Float32Array(rows);
    m.forward(x, rows, lg, v);
    return lg;
  };
  // Change component "a" (columns 0..5) in two contexts of the other components: same effect.
  const ctxA = base.slice(), ctxB = base.slice();
  for (let r = 0; r < rows; r++) for (let i = 6; i < O; i++) ctxB[r * O + i] = -ctxB[r * O + i]!;
  const moved = (x: Float32Array) => {
    const y = x.slice();
    for (let r = 0; r < rows; r++) for (let i = 0; i < 6; i++) y[r * O + i]! += 0.3;
    return y;
  };
  const dA = out(moved(ctxA)).map((v, k) => v - out(ctxA)[k]!);
  const dB = out(moved(ctxB)).map((v, k) => v - out(ctxB)[k]!);
  for (let k = 0; k < dA.length; k++) assertAlmostEquals(dA[k]!, dB[k]!, 1e-6, `logit ${k}`);
  assert(dA.some((d) => Math.abs(d) > 1e-4), "component a moves the logits");
  m.dispose();
});

/** Independent float64 log-density of a squashed Gaussian action (test's own formula). */
function squashedLogp(
  a: ArrayLike<number>,
  mean: ArrayLike<number>,
  logStd: ArrayLike<number>,
  low: ArrayLike<number>,
  high: ArrayLike<number>,
): number {
  let lp = 0;
  for (let d = 0; d < a.length; d++) {
    const sd = Math.exp(logStd[d]!);
    let u = a[d]!, logJac = 0;
    if (Number.isFinite(low[d]!)) {
      const y = Math.min(
        1 - 1e-6,
        Math.max(-1 + 1e-6, 2 * (a[d]! - low[d]!) / (high[d]! - low[d]!) - 1),
      );
      u = 0.5 * Math.log((1 + y) / (1 - y));
      logJac = Math.log((high[d]! - low[d]!) / 2 * (1 - Math.tanh(u) ** 2));
    }
    lp += -((u - mean[d]!) ** 2) / (2 * sd * sd) - Math.log(sd * Math.sqrt(2 * Math.PI)) - logJac;
  }
  return lp;
}

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`[${backend}] Gaussian head: same rng, same actions; in bounds; logp with the tanh Jacobian; greedy = squashed mean`, async () => {
    await initBackend({ backend });
    const space = new Box([-1, 0, -Infinity], [1, 10, Infinity], [3]);
    const make = () =>
      new ActorCriticModel({ obsSize: 4, actionSpace: space, seed: 4, initialLogStd: -0.5 });
    const m = make(), twin = make();
    assertEquals(m.actSize, 3);
    assertEquals(m.logitsSize, 6);
    assertEquals(m.heads, []);
    const spec = m.weightSpecs.at(-1)!;
    assertEquals([spec.name, spec.shape], ["pi/log_std", [3]]);
    assertEquals(Array.from(m.getWeights().at(-1)!), [-0.5, -0.5, -0.5]);
    // Bigger means than the init, so that the squash matters.
    const ws = m.getWeights();
    const rngW = new Pcg32(3);
    ws[4] = ws[4]!.map(() => rngW.nextFloat() * 2 - 1);
    m.setWeights(ws);
    twin.setWeights(ws);
    const rows = 33, obs = randomObs(rows * 4, 5);
    const run = (model: ActorCriticModel, explore: boolean, seed = 9) => {
      const act = new Float32Array(rows * 3), logp = new Float32Array(rows);
      const v = new Float32Array(rows);
      model.act(obs, rows, new Pcg32(seed), explore, act, { action_logp: logp, vf_preds: v });
      return { act, logp, v };
    };
    const a = run(m, true), b = run(twin, true);
    assertEquals(a, b, "same weights and rng: same actions");
    assert(run(m, true, 10).act.some((x, i) => x !== a.act[i]), "another rng, other actions");
    const logits = new Float32Array(rows * 6), values = new Float32Array(rows);
    m.forward(obs, rows, logits, values);
    for (let r = 0; r < rows; r++) {
      const row = a.act.subarray(r * 3, r * 3 + 3);
      assert(space.contains(Array.from(row)), `row ${r}: ${row}`);
      const mean = logits.subarray(r * 6, r * 6 + 3),
        logStd = logits.subarray(r * 6 + 3, r * 6 + 6);
      assertEquals(Array.from(logStd), [-0.5, -0.5, -0.5]);
      assertAlmostEquals(a.logp[r]!, squashedLogp(row, mean, logStd, space.low, space.high), 1e-4);
      assertEquals(a.v[r], values[r]);
    }
    const g = run(m, false);
    for (let r = 0; r < rows; r++) {
      const mean = logits.subarray(r * 6, r * 6 + 3);
      assertAlmostEquals(g.act[r * 3]!, Math.tanh(mean[0]!), 1e-6, "greedy element 0");
      assertAlmostEquals(
        g.act[r * 3 + 1]!,
        5 * (Math.tanh(mean[1]!) + 1),
        1e-5,
        "greedy element 1",
      );
      assertAlmostEquals(g.act[r * 3 + 2]!, mean[2]!, 1e-6, "unbounded: not squashed");
      const logStd = logits.subarray(r * 6 + 3, r * 6 + 6);
      const want = squashedLogp(
        g.act.subarray(r * 3, r * 3 + 3),
        mean,
        logStd,
        space.low,
        space.high,
      );
      assertAlmostEquals(g.logp[r]!, want, 1e-4);
    }
    m.dispose();
    twin.dispose();
  });
}

Deno.test("Gaussian head: sampled actions follow the density that act reports", async () => {
  await initBackend();
  // One element in [0, 2], mean 0.8 (output bias), std e^-0.3: histogram vs exp(logp).
  const m = new ActorCriticModel({
    obsSize: 1,
    actionSpace: new Box(0, 2, [1]),
    hidden: [],
    initialLogStd: -0.3,
  });
  m.setWeights([new Float32Array(1), new Float32Array([0.8]), ...m.getWeights().slice(2)]);
  const rows = 40000, obs = new Float32Array(rows);
  const act = new Float32Array(rows), logp = new Float32Array(rows);
  m.act(obs, rows, new Pcg32(1), true, act, { action_logp: logp });
  const bins = 20, width = 2 / bins, counts = new Array(bins).fill(0);
  for (const a of act) counts[Math.min(bins - 1, Math.floor(a / width))]++;
  // The density at a bin's centre: exp of the logp act reported for the sample nearest to it.
  for (let k = 2; k < bins - 2; k++) {
    const centre = (k + 0.5) * width;
    let best = 0;
    for (let i = 1; i < rows; i++) {
      if (Math.abs(act[i]! - centre) < Math.abs(act[best]! - centre)) best = i;
    }
    const density = Math.exp(logp[best]!), empirical = counts[k] / rows / width;
    assert(
      Math.abs(empirical - density) < 0.08 * density + 0.02,
      `bin ${k} (a ≈ ${centre.toFixed(2)}): ${empirical} sampled vs density ${density}`,
    );
  }
  m.dispose();
});
