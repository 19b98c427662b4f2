import assert from "node:assert/strict";
import { Adam, clipGlobalNorm, guardUpdate, NonFiniteError } from "./adam.ts";

const near = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

/** Adam written out by hand for one parameter (torch.optim.Adam's update). */
function handAdam(
  w: number,
  grads: number[],
  lr: number,
  b1: number,
  b2: number,
  eps: number,
): number[] {
  let m = 0, v = 0;
  const out: number[] = [];
  grads.forEach((g, i) => {
    const t = i + 1;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const mHat = m / (1 - b1 ** t), vHat = v / (1 - b2 ** t);
    w = w - lr * mHat / (Math.sqrt(vHat) + eps);
    out.push(w);
  });
  return out;
}

Deno.test("Adam: three steps equal the hand-computed bias-corrected updates", () => {
  const h = { lr: 0.05, beta1: 0.8, beta2: 0.9, epsilon: 1e-3, gradClip: null };
  const adam = new Adam(2);
  const w = new Float32Array([1, -2]);
  const grads = [[0.3, -4], [-0.1, 2], [0.7, 0.5]];
  const e0 = handAdam(1, grads.map((g) => g[0]!), h.lr, h.beta1, h.beta2, h.epsilon);
  const e1 = handAdam(-2, grads.map((g) => g[1]!), h.lr, h.beta1, h.beta2, h.epsilon);
  grads.forEach((g, i) => {
    adam.step(w, Float32Array.from(g), h);
    near(w[0]!, e0[i]!, 1e-6, `w0 after step ${i + 1}`);
    near(w[1]!, e1[i]!, 1e-6, `w1 after step ${i + 1}`);
  });
  // Without bias correction the first step would move w0 by lr·(1−β1)·g/((1−β2)^½·|g|+ε),
  // about 0.0316 here, not 0.05: the hand values pin the correction.
  near(1 - e0[0]!, 0.05 * 0.3 / (0.3 + 1e-3), 1e-9, "first step size");
  assert.equal(adam.steps, 3);
});

Deno.test("Adam: global-norm clipping scales the whole gradient as clip_grad_norm_", () => {
  const g = Float32Array.from([3, 4]); // norm 5
  const [norm, scale] = clipGlobalNorm(g, 1);
  near(norm, 5, 1e-12, "norm");
  near(scale, 1 / (5 + 1e-6), 1e-12, "scale");
  assert.deepEqual(clipGlobalNorm(g, 10), [5, 1]);
  assert.deepEqual(clipGlobalNorm(g, null), [5, 1]);
  // With β1 = β2 = 0 a step is lr·g/(|g|+ε) per coordinate: clipping changes the ratio
  // between coordinates only through ε, so use a large ε to see the scale.
  const h = { lr: 1, beta1: 0, beta2: 0, epsilon: 10, gradClip: 1 };
  const w = new Float32Array(2);
  const returned = new Adam(2).step(w, g, h);
  near(returned, 5, 1e-6, "step returns the norm before clipping");
  const c = [3 / (5 + 1e-6), 4 / (5 + 1e-6)];
  near(w[0]!, -c[0]! / (c[0]! + 10), 1e-6, "clipped w0");
  near(w[1]!, -c[1]! / (c[1]! + 10), 1e-6, "clipped w1");
  const unclipped = new Float32Array(2);
  new Adam(2).step(unclipped, g, { ...h, gradClip: null });
  near(unclipped[0]!, -3 / 13, 1e-6, "unclipped w0");
});

Deno.test("Adam: a non-finite gradient changes nothing; state round trip; size checks", () => {
  const adam = new Adam(2);
  const w = Float32Array.from([1, 1]);
  const h = { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, gradClip: 0.5 };
  adam.step(w, Float32Array.from([1, 1]), h);
  const before = Float32Array.from(w), state = adam.getState();
  assert.ok(Number.isNaN(adam.step(w, Float32Array.from([NaN, 1]), h)));
  assert.deepEqual(w, before);
  assert.deepEqual(adam.getState(), state);
  const copy = new Adam(2);
  copy.setState(state);
  const w2 = Float32Array.from(w);
  adam.step(w, Float32Array.from([0.2, -0.2]), h);
  copy.step(w2, Float32Array.from([0.2, -0.2]), h);
  assert.deepEqual(w, w2);
  assert.throws(
    () => copy.setState({ step: 1, m: new Float64Array(3), v: new Float64Array(3) }),
    /3 moments/,
  );
  assert.throws(() => adam.step(new Float32Array(3), new Float32Array(3), h), /over 2 parameters/);
});

Deno.test("guardUpdate restores weights and optimiser state when the update throws", () => {
  const w = Float32Array.from([1, 2]);
  const model = {
    numParams: 2,
    getFlatWeights: (out: Float32Array) => (out.set(w), out),
    setFlatWeights: (f: ArrayLike<number>) => w.set(Array.from(f)),
  };
  const adam = new Adam(2);
  const h = { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, gradClip: null };
  assert.throws(
    () =>
      guardUpdate('update of policy "p"', model, adam, () => {
        adam.step(w, Float32Array.from([1, 1]), h);
        throw new NonFiniteError("the loss is NaN at epoch 2");
      }),
    /^Error: update of policy "p": the loss is NaN at epoch 2; the weights from before this update were restored$/,
  );
  assert.deepEqual(Array.from(w), [1, 2]);
  assert.equal(adam.steps, 0);
  // Other errors are rethrown as they are, after the same restore.
  assert.throws(() =>
    guardUpdate("u", model, adam, () => {
      w[0] = 9;
      throw new TypeError("boom");
    }), TypeError);
  assert.equal(w[0], 1);
  assert.equal(guardUpdate("u", model, adam, () => 42), 42);
});
