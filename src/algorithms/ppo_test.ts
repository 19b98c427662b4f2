import assert from "node:assert/strict";
import { initBackend } from "../policy/backend.ts";
import { ActorCriticModel, type OutputLoss } from "../policy/model.ts";
import {
  adaptKlCoeff,
  computeGae,
  DEFAULT_PPO_HYPERPARAMS,
  MAX_STALE_WEIGHT,
  PPO,
  PPO_TRAINING_DEFAULTS,
  type PPOBatch,
  PPOLearner,
  ppoLoss,
  type PPOLossInput,
  resolvePPOHyperparams,
} from "./ppo.ts";
import {
  ENDED_TERMINATED,
  ENDED_TRUNCATED,
  LINKED,
  OPEN,
  type SampleBatch,
  TrajectoryBuffer,
} from "../rollout/buffer.ts";
import { Box, Dict, Discrete, MultiDiscrete } from "../spaces.ts";
import { Pcg32 } from "../rng.ts";

function near(actual: number, expected: number, tol: number, what = ""): void {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: ${actual} vs expected ${expected} (tol ${tol})`,
  );
}

const f32 = (xs: number[]) => Float32Array.from(xs);

/** Checks `ppoLoss`'s logit gradients for `p` against central finite differences (step 1e-3). */
function logitGradientsMatchFD(p: PPOLossInput, tol: number): void {
  const dL = new Float32Array(p.logits.length), dV = new Float32Array(p.rows);
  ppoLoss(p, dL, dV);
  const eps = 1e-3;
  for (let k = 0; k < dL.length; k++) {
    const up = p.logits.slice(), down = p.logits.slice();
    up[k]! += eps;
    down[k]! -= eps;
    const fd =
      (ppoLoss({ ...p, logits: up }).totalLoss - ppoLoss({ ...p, logits: down }).totalLoss) /
      (2 * eps);
    near(dL[k]!, fd, tol, `dLogits[${k}]`);
  }
}
const entropyOf = (ps: number[]) => -ps.reduce((s, p) => s + p * Math.log(p), 0);
const softmax = (zs: number[]) => {
  const e = zs.map(Math.exp), s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

/**
 * Four rows, Discrete(3), chosen so that each case of the clipped surrogate and of the value
 * clipping appears once. ε = 0.2, value clip 0.5.
 */
function tinyBatch(): PPOLossInput {
  const p1 = softmax([0, 0, 0]), p2 = softmax([Math.log(2), 0, 0]);
  const p3 = softmax([0, Math.log(3), 0]), p4 = softmax([1, 2, 3]);
  return {
    rows: 4,
    heads: [3],
    headStarts: [0],
    logits: f32([0, 0, 0, Math.log(2), 0, 0, 0, Math.log(3), 0, 1, 2, 3]),
    values: f32([1, 2, 2, 0.2]),
    actions: f32([0, 1, 1, 2]),
    // ratios 1.5, 0.5, 0.7, 1.1
    oldLogp: f32([
      Math.log(p1[0]! / 1.5),
      Math.log(p2[1]! / 0.5),
      Math.log(p3[1]! / 0.7),
      Math.log(p4[2]! / 1.1),
    ]),
    advantages: f32([2, 1, -1, -0.5]),
    returns: f32([2, 1.2, 3, 1]),
    oldValues: f32([1, 1, 1, 0]),
    clipParam: 0.2,
    vfClipParam: 0.5,
    vfLossCoeff: 0.5,
    entropyCoeff: 0.01,
    klCoeff: 0,
  };
}

Deno.test("ppoLoss matches a hand computation: clipping on both sides, entropy, value clip", () => {
  const t = ppoLoss(tinyBatch());
  // Surrogates: row 0 A>0, ratio 1.5 → clipped 1.2·2; row 1 A>0, ratio 0.5 → unclipped 0.5·1;
  // row 2 A<0, ratio 0.7 → clipped 0.8·(−1); row 3 A<0, ratio 1.1 → unclipped 1.1·(−0.5).
  near(t.policyLoss, -(2.4 + 0.5 - 0.8 - 0.55) / 4, 1e-6, "policy_loss");
  near(t.clipFrac, 3 / 4, 0, "clip_frac");
  // Values: row 0 plain 1; row 1 unclipped 0.8² > clipped 0.3²; row 2 clipped (1.5−3)² wins;
  // row 3 inside the clip range 0.8².
  near(t.vfLoss, (1 + 0.64 + 2.25 + 0.64) / 4, 1e-6, "vf_loss");
  const ent = (entropyOf(softmax([0, 0, 0])) + entropyOf([0.5, 0.25, 0.25]) +
    entropyOf([0.2, 0.6, 0.2]) + entropyOf(softmax([1, 2, 3]))) / 4;
  near(t.entropy, ent, 1e-6, "entropy");
  const kl = [1.5, 0.5, 0.7, 1.1].reduce((s, r) => s + r - 1 - Math.log(r), 0) / 4;
  near(t.kl, kl, 1e-6, "kl");
  near(t.totalLoss, t.policyLoss + 0.5 * t.vfLoss - 0.01 * t.entropy, 1e-12, "total_loss");
  // Explained variance of returns [2, 1.2, 3, 1] by values [1, 2, 2, 0.2].
  const R = [2, 1.2, 3, 1], V = [1, 2, 2, 0.2];
  const v = (xs: number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
  };
  near(t.explainedVar, 1 - v(R.map((r, i) => r - V[i]!)) / v(R), 1e-6, "explained var");
});

Deno.test("ppoLoss gradients: zero where clipped, and equal to finite differences", () => {
  const p = tinyBatch();
  const dL = new Float32Array(12), dV = new Float32Array(4);
  ppoLoss(p, dL, dV);
  // Row 0 (clipped surrogate): only the entropy bonus moves its logits.
  const p1 = softmax([0, 0, 0]);
  for (let j = 0; j < 3; j++) {
    near(dL[j]!, 0.01 / 4 * p1[j]! * (Math.log(p1[j]!) + Math.log(3)), 1e-7, `row 0 logit ${j}`);
  }
  // Row 2's value is clipped beyond the range: no value gradient; row 1: 0.5·2·0.8/4.
  near(dV[2]!, 0, 0, "clipped value gradient");
  near(dV[1]!, 0.5 * 2 * 0.8 / 4, 1e-7, "row 1 value gradient");
  const loss = (lg: Float32Array, vs: Float32Array) =>
    ppoLoss({ ...p, logits: lg, values: vs }).totalLoss;
  const eps = 1e-3;
  for (let k = 0; k < 12; k++) {
    const up = p.logits.slice(), down = p.logits.slice();
    up[k]! += eps;
    down[k]! -= eps;
    near(dL[k]!, (loss(up, p.values) - loss(down, p.values)) / (2 * eps), 2e-4, `dLogits[${k}]`);
  }
  for (let r = 0; r < 4; r++) {
    const up = p.values.slice(), down = p.values.slice();
    up[r]! += eps;
    down[r]! -= eps;
    near(dV[r]!, (loss(p.logits, up) - loss(p.logits, down)) / (2 * eps), 2e-4, `dValues[${r}]`);
  }
});

Deno.test("ppoLoss: MultiDiscrete heads add log-probs and entropies; KL penalty gradient", () => {
  const p: PPOLossInput = {
    rows: 1,
    heads: [2, 3],
    headStarts: [0, 0],
    logits: f32([0.3, -0.2, 1, 0, -1]),
    values: f32([0]),
    actions: f32([1, 0]),
    oldLogp: f32([-1.2]),
    advantages: f32([0.7]),
    returns: f32([0]),
    oldValues: f32([0]),
    clipParam: 10,
    vfClipParam: null,
    vfLossCoeff: 1,
    entropyCoeff: 0.1,
    klCoeff: 0.3,
  };
  const pa = softmax([0.3, -0.2]), pb = softmax([1, 0, -1]);
  const logp = Math.log(pa[1]!) + Math.log(pb[0]!);
  const ratio = Math.exp(logp + 1.2);
  const t = ppoLoss(p);
  near(t.policyLoss, -ratio * 0.7, 1e-6, "policy");
  near(t.entropy, entropyOf(pa) + entropyOf(pb), 1e-6, "entropy");
  near(t.kl, ratio - 1 - Math.log(ratio), 1e-6, "kl");
  near(t.totalLoss, t.policyLoss - 0.1 * t.entropy + 0.3 * t.kl, 1e-12, "total");
  logitGradientsMatchFD(p, 1e-4);
});

Deno.test("ppoLoss, decoupled (a stale batch): ratio, clip and KL against proxLogp, rows weighted by min(π_prox/π_old, cap)", () => {
  const p = tinyBatch();
  const dPlain = new Float32Array(12), vPlain = new Float32Array(4);
  const plain = ppoLoss(p, dPlain, vPlain);
  // The proximal policy equal to the sampling one: the plain objective, gradients included.
  const same = new Float32Array(12), vSame = new Float32Array(4);
  assert.deepEqual(ppoLoss({ ...p, proxLogp: p.oldLogp.slice() }, same, vSame), plain);
  assert.deepEqual(same, dPlain);
  assert.deepEqual(vSame, vPlain);

  // logp of each row's action under the current logits, written out on request.
  const logp = new Float32Array(4);
  ppoLoss({ ...p, logpOut: logp });
  const ratios = [1.5, 0.5, 0.7, 1.1];
  for (let r = 0; r < 4; r++) {
    near(logp[r]!, p.oldLogp[r]! + Math.log(ratios[r]!), 1e-6, `logp ${r}`);
  }

  // Proximal ratios 1.0, 0.9, 1.3, 1.1 and proximal/sampling weights 1.5, 0.5/0.9, 0.7/1.3 and
  // 1.1/1.1 = 1; a fifth case, a weight of 4, is capped (row 0 with prox 6× the sampling prob).
  const proxRatio = [1.0, 0.9, 1.3, 1.1];
  const proxLogp = Float32Array.from(logp, (l, r) => l - Math.log(proxRatio[r]!));
  const w = proxRatio.map((q, r) => Math.min(ratios[r]! / q, MAX_STALE_WEIGHT));
  assert.equal(w[0], 1.5);
  const t = ppoLoss({ ...p, proxLogp });
  // Row 0 A>0 r 1.0 → 1.0·2; row 1 A>0 r 0.9 → 0.9·1; row 2 A<0 r 1.3 → max(1.3, 1.2)·(−1)
  // = unclipped −1.3; row 3 A<0 r 1.1 → −0.55.
  const objs = [2, 0.9, -1.3, -0.55];
  near(t.policyLoss, -objs.reduce((a, o, r) => a + w[r]! * o, 0) / 4, 1e-6, "policy_loss");
  near(t.clipFrac, 1 / 4, 0, "clip_frac (row 2 only)");
  const kl = proxRatio.reduce((a, q, r) => a + w[r]! * (q - 1 - Math.log(q)), 0) / 4;
  near(t.kl, kl, 1e-6, "kl against the proximal policy");
  near(t.vfLoss, plain.vfLoss, 1e-12, "the value loss does not change");
  const capped = Float32Array.from(proxLogp);
  capped[0] = p.oldLogp[0]! + Math.log(4);
  const t4 = ppoLoss({ ...p, proxLogp: capped });
  const r0 = Math.exp(logp[0]! - capped[0]!); // 1.5 / 4, unclipped at A > 0: min(r, 0.8)·A
  near(
    t4.policyLoss,
    -(MAX_STALE_WEIGHT * Math.min(r0, 0.8) * 2 +
      objs.slice(1).reduce((a, o, i) => a + w[i + 1]! * o, 0)) / 4,
    1e-6,
    "capped weight",
  );

  // Gradients equal finite differences of the decoupled loss.
  logitGradientsMatchFD({ ...p, klCoeff: 0.3, proxLogp }, 2e-4);
});

/** A batch from the model's own actions on random one-hot contexts, rewarded when a == ctx. */
function banditBatch(
  model: ActorCriticModel,
  rows: number,
  rng: Pcg32,
): PPOBatch & { correct: number } {
  const obs = new Float32Array(rows * 2), ctx = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    ctx[r] = rng.nextInt(2);
    obs[r * 2 + ctx[r]!] = 1;
  }
  const actions = new Float32Array(rows), logp = new Float32Array(rows);
  const values = new Float32Array(rows);
  model.act(obs, rows, rng, true, actions, { action_logp: logp, vf_preds: values });
  const returns = new Float32Array(rows), advantages = new Float32Array(rows);
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    returns[r] = actions[r] === ctx[r] ? 1 : 0;
    correct += returns[r]!;
    advantages[r] = returns[r]! - values[r]!;
  }
  return {
    count: rows,
    obs,
    actions,
    action_logp: logp,
    vf_preds: values,
    value_targets: returns,
    advantages,
    correct,
  };
}

Deno.test("a training step on the WASM backend runs, changes the weights, reports RLlib stats", async () => {
  const info = await initBackend({ backend: "wasm" });
  assert.equal(info.name, "wasm");
  const model = new ActorCriticModel({ obsSize: 2, actionSpace: new Discrete(2), seed: 1 });
  const learner = new PPOLearner(model, { lr: 1e-3, minibatchSize: 32 }, "bandit");
  const before = model.getFlatWeights();
  const stats = learner.update(banditBatch(model, 64, new Pcg32(3)));
  const after = model.getFlatWeights();
  assert.ok(after.some((w, i) => w !== before[i]), "weights changed");
  assert.deepEqual(Object.keys(stats).sort(), [
    "clip_frac",
    "cur_lr",
    "entropy",
    "entropy_coeff",
    "grad_gnorm",
    "kl",
    "kl_coeff",
    "num_minibatches",
    "policy_loss",
    "total_loss",
    "vf_explained_var",
    "vf_loss",
  ]);
  for (const [k, v] of Object.entries(stats)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
  assert.equal(stats.num_minibatches, 4 * 2);
  assert.equal(stats.cur_lr, 1e-3);
  assert.ok(stats.grad_gnorm > 0);
  model.dispose();
});

Deno.test("PPOLearner: a stale batch is learned against the policy the update starts from", async () => {
  await initBackend({ backend: "wasm" });
  const model = new ActorCriticModel({ obsSize: 2, actionSpace: new Discrete(2), seed: 1 });
  const batch = banditBatch(model, 64, new Pcg32(3));
  // Sampled by a policy that took every action 1.5× less often than the current one does.
  const sampled = { ...batch, action_logp: batch.action_logp.map((l) => l - Math.log(1.5)) };
  const one = { numEpochs: 1, minibatchSize: 64, lr: 1e-9 };
  const before = model.getFlatWeights();
  // On-policy reading: every ratio is 1.5, outside the clip range.
  const fresh = new PPOLearner(model, one, "bandit").update(sampled);
  near(fresh.clip_frac, 1, 0, "fresh clip_frac");
  model.setFlatWeights(before);
  // Stale: the ratios are taken against the current policy (1 at the update's only step).
  const learner = new PPOLearner(model, one, "bandit");
  const stale = learner.learn(
    { ...sampled, agent_ids: [], infos: [] } as unknown as SampleBatch,
    new Pcg32(1),
    { weightsStaleness: 1 },
  )!.learner_stats;
  near(stale.clip_frac!, 0, 0, "stale clip_frac");
  near(stale.kl!, 0, 1e-6, "stale kl");
  // And the same learner without a context reads the batch as on-policy again.
  model.setFlatWeights(before);
  const again = learner.learn(
    { ...sampled, agent_ids: [], infos: [] } as unknown as SampleBatch,
    new Pcg32(1),
  )!;
  near(again.learner_stats.clip_frac!, 1, 0, "no context clip_frac");
  model.dispose();
});

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`[${backend}] PPO learns a contextual bandit to > 90% within 300 updates`, async () => {
    await initBackend({ backend });
    const model = new ActorCriticModel({ obsSize: 2, actionSpace: new Discrete(2), seed: 7 });
    const learner = new PPOLearner(
      model,
      {
        lr: 1e-3,
        numEpochs: 2,
        minibatchSize: 64,
      },
      "bandit",
      7,
    );
    const rng = new Pcg32(11);
    let updates = 0, acc = 0;
    for (; updates < 300; updates++) {
      const batch = banditBatch(model, 64, rng);
      acc = batch.correct / 64;
      if (acc > 0.9) break;
      learner.update(batch);
    }
    assert.ok(acc > 0.9, `sampled accuracy ${acc} after ${updates} updates`);
    // The greedy policy is right in both contexts.
    const act = new Float32Array(2), logp = new Float32Array(2), v = new Float32Array(2);
    model.act(f32([1, 0, 0, 1]), 2, rng, false, act, { action_logp: logp, vf_preds: v });
    assert.deepEqual(Array.from(act), [0, 1]);
    console.log(`  ${backend}: ${acc} correct after ${updates} updates`);
    model.dispose();
  });
}

Deno.test("same seeds give identical updates; a bad batch changes nothing", async () => {
  await initBackend();
  const make = () => {
    const m = new ActorCriticModel({ obsSize: 2, actionSpace: new Discrete(2), seed: 2 });
    return { m, l: new PPOLearner(m, { minibatchSize: 16 }, "twin", 5) };
  };
  const a = make(), b = make();
  const batch = banditBatch(a.m, 40, new Pcg32(1));
  const sa = a.l.update(batch), sb = b.l.update(batch);
  assert.deepEqual(sa, sb);
  assert.deepEqual(a.m.getFlatWeights(), b.m.getFlatWeights());
  assert.equal(sa.num_minibatches, 4 * 3, "40 rows / 16 → 3 minibatches of 14, 13, 13");

  const w = a.m.getFlatWeights();
  const nan = { ...batch, advantages: batch.advantages.slice() };
  nan.advantages[3] = NaN;
  assert.throws(() => a.l.update(nan), {
    message: 'PPO update of policy "twin": batch.advantages[3] is NaN; nothing was changed',
  });
  const badAct = { ...batch, actions: batch.actions.slice() };
  badAct.actions[5] = 2;
  assert.throws(() => a.l.update(badAct), {
    name: "RangeError",
    message: 'PPO update of policy "twin": batch.actions[5] (row 5, head 0) is 2, expected an ' +
      "integer in [0, 1]",
  });
  assert.throws(() => a.l.update({ ...batch, count: 0 }), { name: "RangeError" });
  assert.deepEqual(a.m.getFlatWeights(), w);
  a.m.dispose();
  b.m.dispose();
});

Deno.test("NaN guard: a non-finite loss or gradient restores the weights and optimiser state", async () => {
  await initBackend();
  const make = (activation: "tanh" | "relu") => {
    const m = new ActorCriticModel({
      obsSize: 2,
      actionSpace: new Discrete(2),
      seed: 3,
      activation,
    });
    const h = { minibatchSize: 8, vfClipParam: null, vfLossCoeff: 8 };
    return { m, l: new PPOLearner(m, h, "guarded", 1) };
  };
  for (const activation of ["relu", "tanh"] as const) {
    const a = make(activation), twin = make(activation);
    const good = banditBatch(a.m, 16, new Pcg32(4));
    a.l.update(good, new Pcg32(1));
    twin.l.update(good, new Pcg32(1));
    const w = a.m.getFlatWeights();

    // relu: huge observations overflow the hidden activations; tanh: huge returns overflow
    // d loss / d value (8 · 2 · (v − 3e38) / 8 is beyond float32). Either way the gradient is
    // not finite.
    const bad = activation === "relu"
      ? { ...good, obs: good.obs.map(() => 3e38) }
      : { ...good, value_targets: good.value_targets.map(() => 3e38) };
    assert.throws(
      () => a.l.update(bad, new Pcg32(2)),
      (e: Error) => {
        assert.match(
          e.message,
          /^PPO update of policy "guarded": (policy_loss|vf_loss|entropy|kl|total_loss|grad_gnorm) is (NaN|-?Infinity) at epoch 1, minibatch 1; the weights from before this update were restored$/,
        );
        if (activation === "tanh") assert.match(e.message, /grad_gnorm/);
        return true;
      },
    );
    assert.deepEqual(a.m.getFlatWeights(), w, "weights restored");
    // The optimiser state is restored too: the next good update matches the twin's exactly.
    a.l.update(good, new Pcg32(9));
    twin.l.update(good, new Pcg32(9));
    assert.deepEqual(a.m.getFlatWeights(), twin.m.getFlatWeights());
    a.m.dispose();
    twin.m.dispose();
  }
});

Deno.test("NaN guard names the loss term that is not finite", async () => {
  await initBackend();
  /** A model whose first logit turns NaN after `after` gradient passes. */
  class Poisoned extends ActorCriticModel {
    after = Infinity;
    override computeGradients(
      obs: Float32Array,
      rows: number,
      loss: OutputLoss,
      gradOut: Float32Array,
    ): void {
      const poison = this.after-- <= 0;
      super.computeGradients(obs, rows, (lg, v, dL, dV) => {
        if (poison) lg[0] = NaN;
        loss(lg, v, dL, dV);
      }, gradOut);
    }
  }
  const m = new Poisoned({ obsSize: 2, actionSpace: new Discrete(2), seed: 1 });
  const l = new PPOLearner(m, { minibatchSize: 8, numEpochs: 2 }, "low_level_policy");
  const batch = banditBatch(m, 16, new Pcg32(5));
  const w = m.getFlatWeights();
  m.after = 3; // the 4th minibatch step (epoch 2, minibatch 2) fails
  assert.throws(() => l.update(batch), {
    message: 'PPO update of policy "low_level_policy": policy_loss is NaN at epoch 2, ' +
      "minibatch 2; the weights from before this update were restored",
  });
  assert.deepEqual(m.getFlatWeights(), w);
  m.dispose();
});

Deno.test("bad hyperparameters are RangeErrors naming the field, value and expectation", async () => {
  await initBackend();
  const model = new ActorCriticModel({ obsSize: 2, actionSpace: new MultiDiscrete([2, 2]) });
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ lr: -1 }, 'PPO hyperparameter "lr" must be a finite number > 0, got -1'],
    [{ lr: NaN }, 'PPO hyperparameter "lr" must be a finite number > 0, got NaN'],
    [{ minibatchSize: 0 }, 'PPO hyperparameter "minibatchSize" must be an integer >= 1, got 0'],
    [{ numEpochs: 1.5 }, 'PPO hyperparameter "numEpochs" must be an integer >= 1, got 1.5'],
    [{ clipParam: 0 }, 'PPO hyperparameter "clipParam" must be a finite number > 0, got 0'],
    [{ vfClipParam: -1 }, 'PPO hyperparameter "vfClipParam" must be null or a number > 0, got -1'],
    [{ gamma: 1.5 }, 'PPO hyperparameter "gamma" must be a number in [0, 1], got 1.5'],
    [{ lambda: -0.1 }, 'PPO hyperparameter "lambda" must be a number in [0, 1], got -0.1'],
    [{ gradClip: 0 }, 'PPO hyperparameter "gradClip" must be null or a finite number > 0, got 0'],
    [
      { entropyCoeff: -0.01 },
      'PPO hyperparameter "entropyCoeff" must be a finite number >= 0, got -0.01',
    ],
    [
      { vfLossCoeff: Infinity },
      'PPO hyperparameter "vfLossCoeff" must be a finite number >= 0, got Infinity',
    ],
    [{ adamBeta2: 1 }, 'PPO hyperparameter "adamBeta2" must be a number in [0, 1), got 1'],
    [
      { advantageNormalization: "global" },
      'PPO hyperparameter "advantageNormalization" must be "minibatch", "batch" or "none", got "global"',
    ],
    [
      { lrFinal: 1e-5 },
      'PPO hyperparameter "lrAnnealTimesteps" must be an integer >= 1 when lrFinal is set, got 0',
    ],
    [{ learningRate: 1 }, 'Unknown PPO hyperparameter "learningRate", expected one of lr, lrFinal'],
  ];
  for (const [h, msg] of cases) {
    assert.throws(() => new PPOLearner(model, h), (e: Error) => {
      assert.ok(e instanceof RangeError, `${JSON.stringify(h)}: ${e}`);
      assert.ok(e.message.startsWith(msg), `"${e.message}" should start with "${msg}"`);
      return true;
    });
  }
  assert.deepEqual(resolvePPOHyperparams({ lr: undefined }), { ...DEFAULT_PPO_HYPERPARAMS });
  model.dispose();
});

Deno.test("learning-rate schedule: linear from lr to lrFinal; setLearningRate; state round trip", async () => {
  await initBackend();
  const model = new ActorCriticModel({ obsSize: 2, actionSpace: new Discrete(2) });
  const l = new PPOLearner(model, { lr: 1e-3, lrFinal: 0, lrAnnealTimesteps: 1000 });
  assert.equal(l.learningRate, 1e-3);
  near(l.setTimesteps(250), 7.5e-4, 1e-15);
  near(l.setTimesteps(5000), 0, 0);
  l.setLearningRate(2e-4);
  assert.equal(l.learningRate, 2e-4);
  assert.throws(() => l.setLearningRate(-1), RangeError);
  const constant = new PPOLearner(model, { lr: 5e-4 });
  assert.equal(constant.setTimesteps(1e6), 5e-4);
  const s = l.getState();
  const copy = new PPOLearner(model);
  copy.setState(s);
  assert.deepEqual(copy.getState(), s);
  model.dispose();
});

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

Deno.test("computeGae over interleaved agents matches the per-trajectory reference", () => {
  const rng = new Pcg32(7, 1);
  const gamma = 0.9, lambda = 0.8;
  const buf = new TrajectoryBuffer(1, 1, 64, ["vf_preds"]);
  // A: 4 transitions, terminated. B: 3, truncated with bootstrap 2.5. C: 2 closed then an open
  // one (fragment end). D: 2, terminated but held (its episode goes on): not closed yet.
  const traj = { A: [] as number[], B: [] as number[], C: [] as number[], D: [] as number[] };
  const order = ["A", "B", "C", "D", "A", "B", "C", "A", "B", "D", "A", "C"] as const;
  const vals: Record<string, number[]> = { A: [], B: [], C: [], D: [] };
  const rews: Record<string, number[]> = { A: [], B: [], C: [], D: [] };
  for (const who of order) {
    const v = Math.round(rng.nextFloat() * 100) / 10;
    const r = buf.push(f32([0]), f32([0]), [f32([v])], 0, 0, 0, 0, who);
    const prev = traj[who].at(-1);
    if (prev !== undefined) {
      buf.state[prev] = LINKED;
      buf.next[prev] = r;
    }
    traj[who].push(r);
    vals[who]!.push(v);
  }
  for (const who of ["A", "B", "C", "D"] as const) {
    for (const r of traj[who]) {
      const rw = Math.round(rng.nextFloat() * 20 - 10);
      buf.rewards[r] = rw;
      rews[who]!.push(rw);
    }
  }
  buf.state[traj.A.at(-1)!] = ENDED_TERMINATED;
  buf.state[traj.B.at(-1)!] = ENDED_TRUNCATED;
  buf.state[traj.D.at(-1)!] = ENDED_TERMINATED;
  buf.held[traj.D.at(-1)!] = 1;
  assert.equal(buf.state[traj.C.at(-1)!], OPEN);
  const boot = new Float32Array(64);
  boot[traj.B.at(-1)!] = 2.5;
  computeGae(buf, gamma, lambda, boot);
  const adv = buf.column("advantages"), ret = buf.column("value_targets");
  const expA = referenceGae(rews.A!, vals.A!, 0, gamma, lambda);
  const expB = referenceGae(rews.B!, vals.B!, 2.5, gamma, lambda);
  // C's last row is open, D's held: their predecessors bootstrap from its value and stop there.
  const expC = referenceGae(rews.C!.slice(0, 2), vals.C!.slice(0, 2), vals.C![2]!, gamma, lambda);
  const expD = referenceGae(rews.D!.slice(0, 1), vals.D!.slice(0, 1), vals.D![1]!, gamma, lambda);
  traj.A.forEach((r, i) => near(adv[r]!, expA[i]!, 1e-4, `A ${i}`));
  traj.B.forEach((r, i) => near(adv[r]!, expB[i]!, 1e-4, `B ${i}`));
  traj.C.slice(0, 2).forEach((r, i) => near(adv[r]!, expC[i]!, 1e-4, `C ${i}`));
  near(adv[traj.D[0]!]!, expD[0]!, 1e-4, "D 0");
  // The batch: the 10 closed rows, value targets = advantages + values.
  const b = buf.compact();
  assert.equal(b.count, order.length - 2);
  for (let k = 0; k < b.count; k++) {
    near(b.value_targets![k]!, b.advantages![k]! + b.vf_preds![k]!, 1e-5, `row ${k}`);
  }
  assert.equal(ret.length, 64);
});

Deno.test("adaptKlCoeff is RLlib's rule: ×1.5 above 2·target, ×0.5 below target/2", () => {
  assert.equal(adaptKlCoeff(0.2, 0.021, 0.01), 0.2 * 1.5);
  assert.equal(adaptKlCoeff(0.2, 0.02, 0.01), 0.2, "at 2·target: unchanged");
  assert.equal(adaptKlCoeff(0.2, 0.005, 0.01), 0.2, "at target/2: unchanged");
  assert.equal(adaptKlCoeff(0.2, 0.0049, 0.01), 0.1);
  assert.equal(adaptKlCoeff(0, 1, 0.01), 0, "a zero coefficient stays zero");
});

Deno.test("a PPO update adapts its KL coefficient by the update's mean KL", async () => {
  await initBackend();
  for (const [lr, dir] of [[3e-2, "up"], [1e-6, "down"]] as const) {
    const model = new ActorCriticModel({ obsSize: 2, actionSpace: new Discrete(3), seed: 4 });
    const l = new PPOLearner(model, { lr, klCoeff: 0.3, klTarget: 0.01, numEpochs: 6 }, "k", 2);
    const b = banditBatch(model, 256, new Pcg32(dir === "up" ? 1 : 2));
    const stats = l.update(b);
    assert.equal(stats.kl_coeff, 0.3, "the stats report the coefficient the update used");
    assert.equal(l.klCoeff, adaptKlCoeff(0.3, stats.kl, 0.01));
    if (dir === "up") assert.ok(l.klCoeff > 0.3, `kl ${stats.kl} should have raised it`);
    else assert.ok(l.klCoeff < 0.3, `kl ${stats.kl} should have lowered it`);
    model.dispose();
  }
});

Deno.test("a PPO minibatch step is the shared Adam applied to the clipped loss gradient", async () => {
  await initBackend();
  const model = new ActorCriticModel({ obsSize: 2, actionSpace: new Discrete(3), seed: 8 });
  const h = {
    lr: 0.01,
    numEpochs: 1,
    minibatchSize: 64,
    gradClip: 0.05,
    advantageNormalization: "none" as const,
    adamBeta1: 0.8,
    adamBeta2: 0.95,
    adamEpsilon: 1e-4,
  };
  const learner = new PPOLearner(model, h, "adam", 1);
  const b = banditBatch(model, 64, new Pcg32(3));
  // The gradient of the PPO loss at the current weights, on the whole batch (one minibatch;
  // the shuffle only permutes rows, which the loss's mean ignores).
  const grad = new Float32Array(model.numParams);
  model.computeGradients(b.obs, 64, (logits, values, dL, dV) => {
    ppoLoss(
      {
        rows: 64,
        heads: [3],
        headStarts: [0],
        logits,
        values,
        actions: b.actions,
        oldLogp: b.action_logp,
        advantages: b.advantages,
        returns: b.value_targets,
        oldValues: b.vf_preds,
        clipParam: 0.2,
        vfClipParam: 10,
        vfLossCoeff: 0.5,
        entropyCoeff: 0,
        klCoeff: 0,
      },
      dL,
      dV,
    );
  }, grad);
  let sq = 0;
  for (const g of grad) sq += g * g;
  const norm = Math.sqrt(sq);
  assert.ok(norm > h.gradClip, `the test needs a clipped step (norm ${norm})`);
  const scale = h.gradClip / (norm + 1e-6);
  const before = model.getFlatWeights();
  const stats = learner.update(b);
  near(stats.grad_gnorm, norm, 1e-4 * norm, "grad_gnorm is the norm before clipping");
  const after = model.getFlatWeights();
  // First Adam step: m̂ = g', v̂ = g'², so Δw = −lr·g'/(|g'| + ε), with g' the clipped gradient.
  for (let k = 0; k < grad.length; k++) {
    const g = grad[k]! * scale;
    near(after[k]! - before[k]!, -h.lr * g / (Math.abs(g) + h.adamEpsilon), 2e-6, `w[${k}]`);
  }
  assert.equal(learner.optimizer.steps, 1);
  model.dispose();
});

// ---- Continuous actions: the Gaussian head ----

const box = new Box([-1, 0], [1, 4], [2]);

/**
 * Three rows of a Box(−1..1, 0..4) action; the old log-probs give ratios 1.5 (row 0: clipped,
 * A > 0), 0.9 and 1.1 (unclipped). ε = 0.2.
 */
function gaussianBatch(): PPOLossInput {
  const p = gaussianBatchAt([0, 0, 0]);
  const ratios = [1.5, 0.9, 1.1];
  return { ...p, oldLogp: f32(ratios.map((q, r) => gaussianRow(p, r).logp - Math.log(q))) };
}

function gaussianBatchAt(oldLogp: number[]): PPOLossInput {
  return {
    rows: 3,
    heads: [],
    headStarts: [],
    gaussian: box,
    // Per row: means (2), then log-stds (2).
    logits: f32([0.2, -0.3, -0.5, 0.1, -1, 0.4, 0.3, -0.2, 0.5, 1.5, -0.2, -0.7]),
    values: f32([0.5, -1, 0.3]),
    actions: f32([0.3, 1.2, -0.9, 3.9, 0.05, 2]),
    oldLogp: f32(oldLogp),
    advantages: f32([1, -0.5, 0.7]),
    returns: f32([1, 0, 0.2]),
    oldValues: f32([0.4, -0.5, 0.3]),
    clipParam: 0.2,
    vfClipParam: 0.3,
    vfLossCoeff: 0.5,
    entropyCoeff: 0.05,
    klCoeff: 0.2,
  };
}

/** The test's own float64 log-density and entropy estimate of one row. */
function gaussianRow(p: PPOLossInput, r: number): { logp: number; ent: number } {
  let logp = 0, ent = 0;
  for (let d = 0; d < 2; d++) {
    const lo = box.low[d]!, hi = box.high[d]!, a = p.actions[r * 2 + d]!;
    const mean = p.logits[r * 4 + d]!, s = p.logits[r * 4 + 2 + d]!;
    const y = 2 * (a - lo) / (hi - lo) - 1;
    const u = Math.atanh(y);
    const jac = Math.log((hi - lo) / 2) + Math.log(1 - Math.tanh(u) ** 2);
    logp += -((u - mean) ** 2) / (2 * Math.exp(2 * s)) - s - 0.5 * Math.log(2 * Math.PI) - jac;
    ent += s + 0.5 * (1 + Math.log(2 * Math.PI)) + jac;
  }
  return { logp, ent };
}

Deno.test("ppoLoss, Gaussian head: log-probs with the tanh Jacobian, entropy estimate, terms", () => {
  const p = gaussianBatch();
  const t = ppoLoss(p);
  let pol = 0, ent = 0, kl = 0, clipped = 0;
  for (let r = 0; r < 3; r++) {
    const g = gaussianRow(p, r);
    const ratio = Math.exp(g.logp - p.oldLogp[r]!), A = p.advantages[r]!;
    pol -= Math.min(ratio * A, Math.min(Math.max(ratio, 0.8), 1.2) * A);
    if (Math.abs(ratio - 1) > 0.2) clipped++;
    ent += g.ent;
    kl += ratio - 1 - Math.log(ratio);
  }
  near(t.policyLoss, pol / 3, 1e-6, "policy_loss");
  near(t.entropy, ent / 3, 1e-6, "entropy");
  near(t.kl, kl / 3, 1e-6, "kl");
  near(t.clipFrac, clipped / 3, 0, "clip_frac");
  assert.equal(clipped, 1, "row 0 is clipped");
  near(
    t.totalLoss,
    t.policyLoss + 0.5 * t.vfLoss - 0.05 * t.entropy + 0.2 * t.kl,
    1e-12,
    "total_loss",
  );
});

Deno.test("ppoLoss, Gaussian head: derivatives w.r.t. means and log-stds equal finite differences", () => {
  for (const entropyCoeff of [0, 0.05]) {
    const p = { ...gaussianBatch(), entropyCoeff };
    const dL = new Float32Array(12), dV = new Float32Array(3);
    ppoLoss(p, dL, dV);
    const loss = (lg: Float32Array) => ppoLoss({ ...p, logits: lg }).totalLoss;
    const eps = 1e-3;
    for (let k = 0; k < 12; k++) {
      const up = p.logits.slice(), down = p.logits.slice();
      up[k]! += eps;
      down[k]! -= eps;
      near(
        dL[k]!,
        (loss(up) - loss(down)) / (2 * eps),
        2e-4,
        `dLogits[${k}] (c_H ${entropyCoeff})`,
      );
    }
    // The entropy bonus moves only the log-stds, by −c_H / M each.
    const q = { ...p, entropyCoeff: entropyCoeff + 1 }, dq = new Float32Array(12);
    ppoLoss(q, dq, new Float32Array(3));
    for (let k = 0; k < 12; k++) {
      near(dq[k]! - dL[k]!, k % 4 >= 2 ? -1 / 3 : 0, 1e-6, `entropy part of dLogits[${k}]`);
    }
  }
});

Deno.test("PPOLearner, Box actions: rejects actions outside the bounds, nothing changes", async () => {
  await initBackend();
  const model = new ActorCriticModel({ obsSize: 2, actionSpace: box, seed: 1, hidden: [8] });
  const learner = new PPOLearner(model, { minibatchSize: 4 }, "cont");
  const rows = 4, obs = new Float32Array(rows * 2).fill(0.5);
  const actions = new Float32Array(rows * 2), logp = new Float32Array(rows);
  const v = new Float32Array(rows);
  model.act(obs, rows, new Pcg32(1), true, actions, { action_logp: logp, vf_preds: v });
  const batch = {
    count: rows,
    obs,
    actions,
    action_logp: logp,
    vf_preds: v,
    advantages: f32([1, -1, 0.5, 0]),
    value_targets: f32([1, 0, 0, 1]),
  };
  const w = model.getFlatWeights();
  const bad = { ...batch, actions: actions.slice() };
  bad.actions[5] = 4.5;
  assert.throws(() => learner.update(bad), {
    name: "RangeError",
    message: 'PPO update of policy "cont": batch.actions[5] (row 2, element 1) is 4.5, expected ' +
      "a number in [0, 4] for Box([-1, 0], [1, 4], [2])",
  });
  bad.actions[5] = NaN;
  assert.throws(() => learner.update(bad), { message: /batch.actions\[5\] is NaN/ });
  assert.deepEqual(model.getFlatWeights(), w);
  // At the weights that acted, the recomputed log-probs equal the recorded ones: ratio 1.
  const stats = learner.update(batch);
  near(stats.kl, 0, 1e-3, "first-step KL");
  assert.ok(model.getFlatWeights().some((x, i) => x !== w[i]), "a valid batch trains");
  model.dispose();
});

Deno.test("[wasm] PPO learns a continuous 'move to the target' bandit", async () => {
  await initBackend({ backend: "wasm" });
  const space = new Box(-1, 1, [2]);
  const model = new ActorCriticModel({
    obsSize: 2,
    actionSpace: space,
    seed: 1,
    hidden: [32, 32],
    initialLogStd: -0.5,
  });
  const learner = new PPOLearner(model, { lr: 3e-3, numEpochs: 4, minibatchSize: 64 }, "c", 1);
  const rng = new Pcg32(11);
  /** Targets in [−0.8, 0.8]²; reward −‖a − target‖². */
  const batch = (rows: number, explore: boolean) => {
    const obs = Float32Array.from({ length: rows * 2 }, () => rng.nextFloat() * 1.6 - 0.8);
    const actions = new Float32Array(rows * 2), logp = new Float32Array(rows);
    const v = new Float32Array(rows);
    model.act(obs, rows, rng, explore, actions, { action_logp: logp, vf_preds: v });
    const ret = new Float32Array(rows), adv = new Float32Array(rows);
    let err = 0;
    for (let r = 0; r < rows; r++) {
      const e0 = actions[2 * r]! - obs[2 * r]!, e1 = actions[2 * r + 1]! - obs[2 * r + 1]!;
      ret[r] = -(e0 * e0 + e1 * e1);
      adv[r] = ret[r]! - v[r]!;
      err += (Math.abs(e0) + Math.abs(e1)) / 2;
    }
    const b = { count: rows, obs, actions, action_logp: logp, vf_preds: v };
    return { ...b, advantages: adv, value_targets: ret, err: err / rows };
  };
  const reward0 = batch(256, true).value_targets.reduce((a, x) => a + x, 0) / 256;
  let updates = 0, greedyErr = 1, reward = reward0;
  for (; updates < 150; updates++) {
    const b = batch(256, true);
    reward = b.value_targets.reduce((a, x) => a + x, 0) / 256;
    greedyErr = batch(256, false).err;
    if (greedyErr < 0.05 && reward > -0.05) break;
    learner.update(b);
  }
  const logStd = model.getWeights().at(-1)!;
  console.log(
    `  greedy |a − target| ${greedyErr.toFixed(3)}, sampled reward ${reward.toFixed(3)} ` +
      `(from ${reward0.toFixed(3)}), log-std [${Array.from(logStd, (x) => x.toFixed(2))}] ` +
      `after ${updates} updates`,
  );
  assert.ok(greedyErr < 0.05, `greedy error ${greedyErr} after ${updates} updates`);
  assert.ok(reward > -0.05, `sampled reward ${reward} after ${updates} updates`);
  assert.ok(logStd.every((s) => s < -1), "the policy narrowed its std to aim");
  model.dispose();
});

Deno.test("PPO.createPolicy passes the observation space, encoderSize and initialLogStd", async () => {
  await initBackend();
  const obs = new Dict({ chicken_oceans: new Box(0, 1, [10, 5]), fox: new Discrete(4) });
  const m = PPO.createPolicy(
    obs,
    new Box(-1, 1, [3]),
    { ...PPO_TRAINING_DEFAULTS, hidden: [16], encoderSize: 8, initialLogStd: -1.5 },
    1,
  );
  assert.equal(m.encoderSize, 8);
  const shapes = Object.fromEntries(m.weightSpecs.map((s) => [s.name, s.shape]));
  assert.deepEqual(shapes["pi/encoder/chicken_oceans/kernel"], [50, 8]);
  assert.deepEqual(shapes["vf/encoder/fox/kernel"], [4, 8]);
  assert.deepEqual(shapes["pi/dense_0/kernel"], [16, 16]);
  assert.deepEqual(shapes["pi/out/kernel"], [16, 3]);
  assert.deepEqual(Array.from(m.getWeights().at(-1)!), [-1.5, -1.5, -1.5]);
  m.dispose();
  // The defaults (encoderSize 0) keep the flat MLP.
  const flat = PPO.createPolicy(obs, new Discrete(2), PPO_TRAINING_DEFAULTS, 1);
  assert.equal(flat.weightSpecs[0]!.name, "pi/dense_0/kernel");
  assert.deepEqual(flat.weightSpecs[0]!.shape, [54, 64]);
  flat.dispose();
});

Deno.test("ppoLoss, Gaussian head: an unbounded element is a plain Gaussian", () => {
  const p: PPOLossInput = {
    rows: 2,
    heads: [],
    headStarts: [],
    gaussian: new Box(-Infinity, Infinity, [1]),
    logits: f32([0.5, -0.2, -1, 0.3]),
    values: f32([0, 0]),
    actions: f32([1.7, -2.5]),
    oldLogp: f32([-1.5, -4]),
    advantages: f32([0.4, -0.9]),
    returns: f32([0, 0]),
    oldValues: f32([0, 0]),
    clipParam: 10,
    vfClipParam: null,
    vfLossCoeff: 0,
    entropyCoeff: 0.1,
    klCoeff: 0,
  };
  const logN = (a: number, m: number, s: number) =>
    -((a - m) ** 2) / (2 * Math.exp(2 * s)) - s - 0.5 * Math.log(2 * Math.PI);
  const lp = [logN(1.7, 0.5, -0.2), logN(-2.5, -1, 0.3)];
  const t = ppoLoss(p);
  near(t.policyLoss, -(Math.exp(lp[0]! + 1.5) * 0.4 - Math.exp(lp[1]! + 4) * 0.9) / 2, 1e-6, "pol");
  near(t.entropy, (-0.2 + 0.3) / 2 + 0.5 * (1 + Math.log(2 * Math.PI)), 1e-6, "entropy");
  const dL = new Float32Array(4);
  ppoLoss(p, dL, new Float32Array(2));
  const eps = 1e-3;
  for (let k = 0; k < 4; k++) {
    const up = p.logits.slice(), down = p.logits.slice();
    up[k]! += eps;
    down[k]! -= eps;
    const fd =
      (ppoLoss({ ...p, logits: up }).totalLoss - ppoLoss({ ...p, logits: down }).totalLoss) /
      (up[k]! - down[k]!); // the float32 step actually taken
    near(dL[k]!, fd, 1e-4 * Math.max(1, Math.abs(fd)), `dLogits[${k}]`);
  }
});
