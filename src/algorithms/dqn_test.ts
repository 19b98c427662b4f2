import { timeless } from "../train/testdata/resume_run.ts";
import assert from "node:assert/strict";
import { chainConfig } from "../runners/testdata/dqn_runner.ts";
import {
  betaAt,
  c51Targets,
  computeNStep,
  DQN,
  DQNLearner,
  dqnTargets,
  epsilonAt,
  resolveDQNHyperparams,
} from "./dqn.ts";
import { DQNConfig } from "./dqn_config.ts";
import { PPOConfig } from "./ppo_config.ts";
import { ENDED_TERMINATED, ENDED_TRUNCATED, LINKED, TrajectoryBuffer } from "../rollout/buffer.ts";
import { fromDictEnv } from "../env/from_dict.ts";
import type { DoneDict, MultiAgentEnv, StepResult } from "../env/multi_agent.ts";
import { initBackend } from "../policy/backend.ts";
import { QPolicy } from "../policy/q_model.ts";
import { MASKED_LOGIT } from "../policy/policy.ts";
import { Box, Dict, Discrete, type Space, type SpaceValue } from "../spaces.ts";
import { Pcg32 } from "../rng.ts";
import { MemoryStorage } from "../train/storage.ts";
import type { Algorithm, TrainResult } from "../train/algorithm.ts";
import { FileStorage } from "../runtime/files.ts";
import { policyFromCheckpoint } from "../train/policy_checkpoint.ts";
import type { DQNHyperparams } from "./dqn.ts";
import { RelayEnv } from "../train/testdata/relay_env.ts";

const f = (xs: number[]) => Float32Array.from(xs);
const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol;

// ---------------------------------------------------------------------------------------------
// N-step returns.

Deno.test("n-step by hand: chains of LINKED rows, a termination and a truncation inside n, a cut at an open row", () => {
  // Agent a: rows 0 → 2 → 4 → 5 (terminated). Agent b: rows 1 → 3 (truncated, final obs 33).
  // Agent c: row 6 → row 7, which is still OPEN at the fragment's end.
  const buf = new TrajectoryBuffer(1, 1, 8);
  const obs = [10, 20, 11, 21, 12, 13, 30, 31];
  obs.forEach((o, i) => buf.push(f([o]), f([i % 2]), [], 0, i, 0, 0, "x"));
  buf.state.set([LINKED, LINKED, LINKED, ENDED_TRUNCATED, LINKED, ENDED_TERMINATED, LINKED, 0]);
  buf.next.set([2, 3, 4, -1, 5, -1, 7, -1]);
  buf.rewards.set([1, 2, 3, 4, 5, 6, 7, 8]);
  buf.newObs[3] = 33;
  buf.newObs[5] = 99;
  const g = 0.5;
  const t = computeNStep(buf, g, 3);
  assert.equal(t.count, 7, "row 7 is open: no transition");
  const rows = Array.from({ length: t.count }, (_, k) => ({
    obs: t.obs[k],
    r: t.rewards[k],
    next: t.nextObs[k],
    d: t.discounts[k],
    k: t.steps[k],
  }));
  assert.deepEqual(rows, [
    // a0: 1 + .5·3 + .25·5 (3 steps), bootstrap from a's row 5 observation (13) with .125
    { obs: 10, r: 1 + g * 3 + g * g * 5, next: 13, d: g ** 3, k: 3 },
    // b0: 2 + .5·4, truncated at row 3: bootstrap from its final observation with .25
    { obs: 20, r: 2 + g * 4, next: 33, d: g * g, k: 2 },
    // a1: 3 + .5·5 + .25·6, the termination inside the 3 steps: no bootstrap
    { obs: 11, r: 3 + g * 5 + g * g * 6, next: 99, d: 0, k: 3 },
    // b1: truncated at once
    { obs: 21, r: 4, next: 33, d: g, k: 1 },
    // a2: 5 + .5·6, terminated
    { obs: 12, r: 5 + g * 6, next: 99, d: 0, k: 2 },
    // a3: terminated
    { obs: 13, r: 6, next: 99, d: 0, k: 1 },
    // c0: its successor is open: a 1-step return bootstrapped from that row's observation
    { obs: 30, r: 7, next: 31, d: g, k: 1 },
  ]);
  // n = 1: every LINKED row bootstraps from its successor's observation.
  const one = computeNStep(buf, g, 1);
  assert.deepEqual(Array.from(one.nextObs.subarray(0, 7)), [11, 21, 12, 33, 13, 99, 31]);
  assert.deepEqual(Array.from(one.rewards.subarray(0, 7)), [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(Array.from(one.discounts.subarray(0, 7)), [g, g, g, g, g, 0, g]);
});

/**
 * Turn-based, deferred rewards: p1 moves, then p2, then p1, then p2, then the game ends. Each
 * move pays the mover 1 and the waiting player 10 (arriving while it waits); the end pays p1
 * +100 and p2 −100 (terminated, or truncated with `truncate`). Observation: the move number.
 */
class FourMoves implements MultiAgentEnv {
  readonly possibleAgents = ["p1", "p2"];
  readonly truncate: boolean;
  #t = 0;
  static readonly obs = new Box(0, 10, [1]);
  static readonly act = new Discrete(2);
  constructor(truncate = false) {
    this.truncate = truncate;
  }
  observationSpace(): Space {
    return FourMoves.obs;
  }
  actionSpace(): Space {
    return FourMoves.act;
  }
  reset() {
    this.#t = 0;
    return { obs: { p1: [0] }, infos: {} };
  }
  step(actions: Record<string, SpaceValue>): StepResult {
    const me = this.#t % 2 === 0 ? "p1" : "p2", other = me === "p1" ? "p2" : "p1";
    if (Object.keys(actions).join() !== me) throw new Error(`expected ${me} to move`);
    this.#t++;
    const no = { __all__: false } as DoneDict;
    if (this.#t === 4) {
      const end = { p1: true, p2: true, __all__: true } as DoneDict;
      return {
        obs: { p1: [4], p2: [4] },
        rewards: { p1: 100, p2: 1 - 100 },
        terminateds: this.truncate ? no : end,
        truncateds: this.truncate ? end : no,
        infos: {},
      };
    }
    return {
      obs: { [other]: [this.#t] },
      rewards: { [me]: 1, [other]: 10 },
      terminateds: no,
      truncateds: no,
      infos: {},
    };
  }
}

function fourMovesConfig(truncate: boolean, fragment: number, h: Partial<DQNHyperparams>) {
  return new DQNConfig()
    .environment(({ numEnvs }) =>
      fromDictEnv(() => new FourMoves(truncate), numEnvs, {
        groups: [{
          name: "players",
          slotsPerEnv: 2,
          observationSpace: FourMoves.obs,
          actionSpace: FourMoves.act,
        }],
      })
    )
    .envRunners({ numEnvs: 1, rolloutFragmentLength: fragment })
    .training({ learningStarts: 1_000_000, hidden: [4], ...h })
    .multiAgent({ policies: ["p1", "p2"], policyMappingFn: (id) => id })
    .resources({ backend: "cpu" });
}

/** The replay rows of a policy as {obs, r, next, d}, in insertion order. */
function replayRows(algo: Algorithm<DQNHyperparams>, id: string) {
  const rb = (algo.getLearner(id) as DQNLearner).replay;
  return Array.from({ length: rb.size }, (_, i) => ({
    obs: rb.obs[i],
    r: rb.rewards[i],
    next: rb.nextObs[i],
    d: rb.discounts[i],
  }));
}

Deno.test("n-step through the collector: a player's transition closes when it moves again or the game ends, with the rewards published meanwhile (RLHive's TransitionInfo)", async () => {
  const g = 0.5;
  for (const truncate of [false, true]) {
    const algo = await fourMovesConfig(truncate, 4, { gamma: g, nStep: 2 }).build();
    await algo.train();
    const end = truncate ? g : 0; // a truncation bootstraps from the final observation
    // p1 moved at 0 and 2: row 0 got 1 (its move) + 10 (p2's move); row 1: 1 + 100.
    assert.deepEqual(replayRows(algo, "p1"), [
      { obs: 0, r: 11 + g * 101, next: 4, d: end * g },
      { obs: 2, r: 101, next: 4, d: end },
    ]);
    // p2's first 10 came with its first observation: in no transition.
    assert.deepEqual(replayRows(algo, "p2"), [
      { obs: 1, r: 11 + g * -99, next: 4, d: end * g },
      { obs: 3, r: -99, next: 4, d: end },
    ]);
    algo.dispose();
  }
  // A fragment of 3 steps: p1's first row is closed, its successor (move 2) is still open: a
  // 1-step return; p2's row is open; both finish in the next fragment.
  const algo = await fourMovesConfig(false, 3, { gamma: g, nStep: 2 }).build();
  await algo.train();
  assert.deepEqual(replayRows(algo, "p1"), [{ obs: 0, r: 11, next: 2, d: g }]);
  assert.deepEqual(replayRows(algo, "p2"), []);
  await algo.train();
  assert.deepEqual(replayRows(algo, "p1").slice(1), [{ obs: 2, r: 101, next: 4, d: 0 }]);
  assert.deepEqual(replayRows(algo, "p2").slice(0, 2), [
    { obs: 1, r: 11 - g * 99, next: 4, d: 0 },
    { obs: 3, r: -99, next: 4, d: 0 },
  ]);
  algo.dispose();
});

// ---------------------------------------------------------------------------------------------
// Targets, target network, epsilon.

Deno.test("dqnTargets by hand: double Q, plain max, masked argmax over legal actions, no bootstrap after a termination", () => {
  const y = new Float64Array(3);
  const base = {
    rows: 3,
    numActions: 3,
    rewards: [1, 2, 3],
    discounts: [0.5, 0.9, 0],
    nextQTarget: [1, 5, 3, /**/ 4, 0, -2, /**/ 100, 100, 100],
    nextQOnline: [9, 0, 1, /**/ 0, 1, 2, /**/ 0, 0, 0],
  };
  dqnTargets(base, y);
  // Row 0: online argmax 0 → target 1; row 1: online argmax 2 → −2; row 2: terminal.
  assert.deepEqual(Array.from(y), [1 + 0.5 * 1, 2 + 0.9 * -2, 3]);
  dqnTargets({ ...base, nextQOnline: null }, y);
  assert.deepEqual(Array.from(y), [1 + 0.5 * 5, 2 + 0.9 * 4, 3]);
  // Masked: observation rows [mask(3), x]; row 0 allows 0 and 2, row 1 only 1, row 2 none.
  const mask = {
    maskOffset: 0,
    size: 3,
    obsOffset: 3,
    obsSize: 1,
    observations: new Box(0, 1, [1]),
  };
  const nextObs = [1, 0, 1, 0, /**/ 0, 1, 0, 0, /**/ 0, 0, 0, 0];
  dqnTargets({ ...base, nextQOnline: null, mask, nextObs, obsSize: 4 }, y);
  assert.deepEqual(Array.from(y), [1 + 0.5 * 3, 2 + 0.9 * 0, 3], "max over legal only");
  dqnTargets({ ...base, mask, nextObs, obsSize: 4 }, y);
  assert.deepEqual(Array.from(y), [1 + 0.5 * 1, 2 + 0.9 * 0, 3], "double-Q argmax over legal only");
  assert.throws(
    () => dqnTargets({ ...base, discounts: [0.5, 0.9, 0.1], mask, nextObs, obsSize: 4 }, y),
    /row 2: its bootstrap observation has no legal action .* did not terminate/,
  );
});

Deno.test("c51Targets by hand: the projection splits each atom between its neighbours, clips at vMin/vMax, terminal rows, masked a*", () => {
  const atoms = [-1, 0, 1];
  const P = (xs: number[]) => xs.map((p) => Math.log(p));
  // Next-state distributions, 2 actions per row.
  const nextLogProbs = [
    ...P([1, 1e-300, 1e-300]),
    ...P([0.2, 0.3, 0.5]), // row 0: a* = 1 (Q 0 vs 1)
    ...P([1, 1e-300, 1e-300]),
    ...P([1, 1e-300, 1e-300]), // row 1: terminal, not read
    ...P([0.5, 0.5, 1e-300]),
    ...P([0.1, 0.1, 0.8]), // row 2: clipped at vMax
    ...P([0.6, 0.4, 1e-300]),
    ...P([0, 0, 1].map((p) => p + 1e-300)), // row 3: only 0 legal
  ];
  const nextQ = [0, 1, 0, 0, 0, 1, -1, 5];
  const m = new Float64Array(12);
  const nextObs = [1, 1, 9, /**/ 1, 1, 9, /**/ 1, 1, 9, /**/ 1, 0, 9];
  const mask = {
    maskOffset: 0,
    size: 2,
    obsOffset: 2,
    obsSize: 1,
    observations: new Box(0, 9, [1]),
  };
  c51Targets({
    rows: 4,
    numActions: 2,
    atoms,
    rewards: [0.5, -0.25, 5, 0],
    discounts: [0.5, 0, 0.9, 1],
    nextLogProbs,
    nextQ,
    nextObs,
    obsSize: 3,
    mask,
  }, m);
  const want = [
    [0, 0.35, 0.65], // Tz = 0, 0.5, 1: 0.2 → z=0; 0.3 halved; 0.5 → z=1
    [0.25, 0.75, 0], // all mass at −0.25: 1/4 to −1, 3/4 to 0
    [0, 0, 1], // R = 5: every Tz clipped to 1
    [0.6, 0.4, 0], // a* = 0 (the only legal action), R 0, d 1: the distribution itself
  ];
  want.forEach((row, r) =>
    row.forEach((x, k) =>
      assert.ok(close(m[r * 3 + k]!, x, 1e-12), `row ${r}: ${m.subarray(r * 3, r * 3 + 3)}`)
    )
  );
  // Mass is conserved on random inputs.
  const rng = new Pcg32(3), K = 7, z = Array.from({ length: K }, (_, k) => -3 + k);
  for (let t = 0; t < 50; t++) {
    const p = Array.from({ length: K }, () => rng.nextFloat() + 0.01),
      s = p.reduce((a, b) => a + b);
    const out = new Float64Array(K);
    c51Targets({
      rows: 1,
      numActions: 1,
      atoms: z,
      rewards: [rng.nextFloat() * 8 - 4],
      discounts: [rng.nextFloat()],
      nextLogProbs: p.map((x) => Math.log(x / s)),
      nextQ: [0],
    }, out);
    assert.ok(close(out.reduce((a, b) => a + b), 1, 1e-12) && out.every((x) => x >= 0));
  }
  assert.throws(
    () =>
      c51Targets({
        rows: 1,
        numActions: 2,
        atoms,
        rewards: [0],
        discounts: [0.5],
        nextLogProbs: nextLogProbs.slice(0, 6),
        nextQ: [0, 0],
        nextObs: [0, 0, 0],
        obsSize: 3,
        mask,
      }, m),
    /C51 target of row 0: its bootstrap observation has no legal action/,
  );
});

/** A learner on a 2-action Q-network with a hand-filled replay buffer. */
async function learnerWith(h: Partial<DQNHyperparams>, obsSpace: Space = new Box(-1, 1, [2])) {
  await initBackend({ backend: "cpu" });
  const q = new QPolicy({
    observationSpace: obsSpace,
    actionSpace: new Discrete(obsSpace instanceof Dict ? 3 : 2),
    hidden: [5],
    seed: 2,
    dueling: h.dueling ?? false,
    noisy: h.noisy ?? false,
    numAtoms: h.numAtoms ?? 1,
    vMin: h.vMin ?? -10,
    vMax: h.vMax ?? 10,
  });
  const l = new DQNLearner(q, { learningStarts: 0, trainBatchSize: 4, lr: 0.01, ...h }, "p", 1);
  return { q, l };
}

Deno.test("target network: hard copy every k gradient steps, Polyak averaging with tau", async () => {
  const { q, l } = await learnerWith({ targetUpdateFreq: 3, tau: 1 });
  l.replay.add(
    2,
    f([0.1, 0.2, -0.3, 0.4]),
    f([0, 1]),
    f([1, -1]),
    f([0, 0, 0.5, 0.5]),
    f([0.9, 0]),
  );
  const w0 = q.getFlatWeights();
  l.update(2, new Pcg32(1));
  assert.equal(l.targetUpdates, 0);
  assert.deepEqual(l.target.getFlatWeights(), w0, "unchanged before the 3rd step");
  assert.notDeepEqual(q.getFlatWeights(), w0);
  l.update(1, new Pcg32(2));
  assert.equal(l.targetUpdates, 1);
  assert.deepEqual(l.target.getFlatWeights(), q.getFlatWeights(), "a copy at the 3rd step");
  const w3 = q.getFlatWeights();
  l.update(2, new Pcg32(3));
  assert.deepEqual(l.target.getFlatWeights(), w3);
  assert.equal(l.gradientSteps, 5);
  l.dispose();
  q.dispose();

  const p = await learnerWith({ targetUpdateFreq: 2, tau: 0.25 });
  p.l.replay.add(1, f([0.1, 0.2]), f([1]), f([1]), f([0.3, 0.4]), f([0.9]));
  const t0 = p.l.target.getFlatWeights();
  p.l.update(1, new Pcg32(1));
  assert.deepEqual(p.l.target.getFlatWeights(), t0);
  p.l.update(1, new Pcg32(1));
  const w = p.q.getFlatWeights(), want = t0.map((t, k) => 0.25 * w[k]! + 0.75 * t);
  assert.deepEqual(p.l.target.getFlatWeights(), want, "τ·θ + (1 − τ)·θ_target");
  assert.notDeepEqual(want, w);
  p.l.dispose();
  p.q.dispose();
});

Deno.test("the learner's targets: double Q picks with the online net and rates with the target net; masked next states", async () => {
  const space = new Dict({ action_mask: new Box(0, 1, [3]), observations: new Box(-1, 1, [2]) });
  for (const doubleQ of [true, false]) {
    const { q, l } = await learnerWith({ doubleQ, gamma: 0.9 }, space);
    const obs = f([1, 1, 1, 0.2, -0.4]), next = f([1, 0, 1, 0.7, 0.1]);
    l.replay.add(1, obs, f([1]), f([0.5]), next, f([0.81]));
    const qOn = new Float32Array(3), qT = new Float32Array(3), qS = new Float32Array(3);
    q.qValues(next, 1, qOn);
    q.qValues(obs, 1, qS);
    // A target network whose legal argmax differs from the online one's.
    const s0 = l.getState();
    for (let seed = 0;; seed++) {
      const rng = new Pcg32(seed);
      l.setState({ ...s0, target: s0.target.map((w) => w + (rng.nextFloat() - 0.5)) });
      l.target.qValues(next, 1, qT);
      if ((qOn[0]! >= qOn[2]!) !== (qT[0]! >= qT[2]!)) break;
    }
    const legal = [0, 2];
    const pick = doubleQ ? qOn : qT;
    const best = pick[0]! >= pick[2]! ? 0 : 2;
    const y = 0.5 + 0.81 * qT[best]!;
    const stats = l.update(1, new Pcg32(1));
    assert.ok(close(stats.mean_target, y), `${doubleQ}: ${stats.mean_target} vs ${y}`);
    assert.ok(close(stats.mean_q, qS[1]!));
    assert.ok(legal.includes(best));
    // The illegal action 1 may have any Q-value: it is never the bootstrap.
    assert.equal(qT[1], MASKED_LOGIT);
    l.dispose();
    q.dispose();
  }
});

Deno.test("epsilon: linear from initial to final over epsilonTimesteps env steps, set before each fragment", async () => {
  const h = { epsilonInitial: 0.8, epsilonFinal: 0.1, epsilonTimesteps: 40 };
  assert.equal(epsilonAt(h, 0), 0.8);
  assert.ok(close(epsilonAt(h, 10), 0.8 - 0.7 / 4, 1e-12));
  assert.equal(epsilonAt(h, 40), 0.1);
  assert.equal(epsilonAt(h, 1e9), 0.1);
  assert.equal(epsilonAt({ ...h, epsilonTimesteps: 0 }, 0), 0.1);
  const algo = await fourMovesConfig(false, 4, h).build();
  const q = algo.getModel("p1") as QPolicy | undefined;
  for (let i = 0; i < 12; i++) {
    await algo.train();
    // Set before the fragment from the env steps sampled before it (4 per fragment).
    assert.ok(close((algo.getModel("p1") as QPolicy).epsilon, epsilonAt(h, 4 * i), 1e-12));
  }
  assert.equal(q, undefined, "built on first use");
  assert.equal((algo.getModel("p2") as QPolicy).epsilon, 0.1);
  algo.dispose();
});

Deno.test("learn: no step before learningStarts, trainingIntensity·rows/batch steps after, fractions carried", async () => {
  const algo = await fourMovesConfig(false, 4, {
    learningStarts: 6,
    trainBatchSize: 3,
    trainingIntensity: 2,
  }).build();
  const steps: (number | undefined)[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await algo.train();
    steps.push(r.info.learner.p1?.learner_stats.num_grad_steps);
  }
  // p1 adds 2 rows per fragment: 2, 4 rows (< 6), then 6: 2·2/3 = 1.33 → 1, then 1.67 → 1, 2.
  assert.deepEqual(steps, [undefined, undefined, 1, 1, 2]);
  algo.dispose();
});

Deno.test("hyperparameters: defaults, and bad values named", () => {
  const h = resolveDQNHyperparams();
  assert.equal(h.nStep, 1);
  assert.equal(h.doubleQ, true);
  assert.throws(
    () => resolveDQNHyperparams({ nStep: 0 }),
    /"nStep" must be an integer >= 1, got 0/,
  );
  assert.throws(
    () => resolveDQNHyperparams({ tau: 0 }),
    /"tau" must be a number in \(0, 1\], got 0/,
  );
  assert.throws(
    () => resolveDQNHyperparams({ epsilonFinal: 2 }),
    /"epsilonFinal" must be a number in \[0, 1\], got 2/,
  );
  assert.equal(h.dueling, false);
  assert.equal(h.prioritizedReplay, false);
  assert.equal(h.prioritizedReplayAlpha, 0.6);
  assert.equal(h.prioritizedReplayBeta, 0.4);
  assert.equal(h.prioritizedReplayBetaTimesteps, 0);
  assert.equal(h.prioritizedReplayEps, 1e-6);
  for (
    const [bad, msg] of [
      [{ dueling: "yes" }, /"dueling" must be true or false, got "yes"/],
      [{ prioritizedReplay: 1 }, /"prioritizedReplay" must be true or false, got 1/],
      [{ prioritizedReplayAlpha: -0.1 }, /"prioritizedReplayAlpha" must be a finite number >= 0/],
      [
        { prioritizedReplayBeta: 1.2 },
        /"prioritizedReplayBeta" must be a number in \[0, 1\], got 1.2/,
      ],
      [
        { prioritizedReplayBetaTimesteps: 2.5 },
        /"prioritizedReplayBetaTimesteps" must be an integer >= 0, got 2.5/,
      ],
      [{ prioritizedReplayEps: 0 }, /"prioritizedReplayEps" must be a finite number > 0, got 0/],
      [{ numAtoms: 0 }, /"numAtoms" must be an integer >= 1 \(1: not distributional\), got 0/],
      [{ vMin: NaN }, /"vMin" must be a finite number, got NaN/],
      [{ vMin: 2, vMax: 1 }, /"vMax" must be a finite number > vMin \(2\), got 1/],
      [{ noisy: null }, /"noisy" must be true or false, got null/],
      [{ noisySigma0: -1 }, /"noisySigma0" must be a finite number > 0, got -1/],
    ] as const
  ) {
    assert.throws(() => resolveDQNHyperparams(bad as Partial<DQNHyperparams>), msg);
  }
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => resolveDQNHyperparams({ nstep: 3 } as any),
    /Unknown DQN hyperparameter "nstep", expected one of lr, gamma, nStep/,
  );
  assert.throws(
    () =>
      fourMovesConfig(false, 4, {}).training({ clipParam: 0.2 } as Partial<DQNHyperparams>)
        .validate(),
    /unknown training param "clipParam"/,
  );
});

Deno.test("a non-finite update restores the weights, the optimiser, the target network and the counters", async () => {
  const { q, l } = await learnerWith({ targetUpdateFreq: 1 });
  l.replay.add(1, f([0.1, 0.2]), f([1]), f([1]), f([0.3, 0.4]), f([0.9]));
  l.update(2, new Pcg32(1));
  const before = { w: q.getFlatWeights(), s: l.getState() };
  l.replay.rewards[0] = Infinity; // only a corrupted buffer can hold one: add() refuses it
  assert.throws(
    () => l.update(3, new Pcg32(1)),
    /DQN update of policy "p": .*not finite|DQN update of policy "p": the loss is/,
  );
  assert.deepEqual(q.getFlatWeights(), before.w);
  const after = l.getState();
  assert.deepEqual({ ...after, replay: null }, { ...before.s, replay: null });
  assert.deepEqual(l.target.getFlatWeights(), before.s.target);
  l.dispose();
  q.dispose();
});

// ---------------------------------------------------------------------------------------------
// Prioritized replay and dueling in the learner.

const huber = (d: number, k: number) =>
  Math.abs(d) <= k ? 0.5 * d * d : k * (Math.abs(d) - 0.5 * k);

Deno.test("prioritized replay in the learner: importance-weighted Huber loss, priorities |δ|+ε after the step, β annealed", async () => {
  for (const dueling of [false, true]) {
    const eps = 0.01, kappa = 0.3;
    const { q, l } = await learnerWith({
      dueling,
      prioritizedReplay: true,
      prioritizedReplayAlpha: 0.7,
      prioritizedReplayBeta: 0.5,
      prioritizedReplayBetaTimesteps: 100,
      prioritizedReplayEps: eps,
      doubleQ: false,
      huberDelta: kappa,
      targetUpdateFreq: 1000,
    });
    const obs = f([0.1, 0.2, -0.3, 0.4, 0.9, -0.8, 0.5, 0.5]);
    const next = f([0.3, 0.1, 0, 0, -0.2, 0.6, 0.7, 0.7]);
    l.replay.add(4, obs, f([0, 1, 1, 0]), f([1, -1, 0.5, 2]), next, f([0.9, 0, 0.9, 0.81]));
    assert.deepEqual([0, 1, 2, 3].map((i) => l.replay.priority(i)), [1, 1, 1, 1]);
    l.replay.updatePriorities(4, [0, 1, 2, 3], [0.2, 1.5, 0.7, 0.05]);
    l.beforeSample(50);
    const beta = betaAt(l.hyperparams, 50);
    assert.equal(beta, 0.75);
    // The batch the update draws (same state, same stream), and the TD errors by hand.
    const drawn = l.replay.sample(4, new Pcg32(7), beta);
    const idx = Array.from(drawn.indices.subarray(0, 4)),
      w = Array.from(drawn.weights.subarray(0, 4));
    assert.ok(new Set(idx).size >= 2 && w.some((x) => x < 1), `${idx} ${w}`);
    const Q = new Float32Array(8), QT = new Float32Array(8);
    q.qValues(obs, 4, Q);
    l.target.qValues(next, 4, QT);
    const delta = (i: number) => {
      const a = l.replay.actions[i]!, d = l.replay.discounts[i]!;
      const y = l.replay.rewards[i]! + (d === 0 ? 0 : d * Math.max(QT[2 * i]!, QT[2 * i + 1]!));
      return Q[2 * i + a]! - y;
    };
    const wantLoss = idx.reduce((s, i, r) => s + w[r]! * huber(delta(i), kappa), 0) / 4;
    // The gradient of the weighted loss, by the model's backward pass: its norm is grad_gnorm.
    const g = new Float32Array(q.numParams);
    q.computeGradients(drawn.obs.slice(0, 8), 4, (_q, _v, dQ) => {
      idx.forEach((i, r) => {
        const d = delta(i), a = l.replay.actions[i]!;
        dQ[2 * r + a] = (w[r]! * (Math.abs(d) <= kappa ? d : kappa * Math.sign(d))) / 4;
      });
    }, g);
    const wantNorm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
    const untouched = [0, 1, 2, 3].filter((i) => !idx.includes(i));
    const old = untouched.map((i) => l.replay.priority(i));
    const stats = l.update(1, new Pcg32(7));
    assert.ok(close(stats.loss, wantLoss, 1e-6), `${stats.loss} vs ${wantLoss}`);
    assert.ok(close(stats.grad_gnorm, wantNorm, 1e-5), `${stats.grad_gnorm} vs ${wantNorm}`);
    assert.equal(stats.cur_beta, 0.75);
    assert.ok(close(stats.mean_is_weight!, w.reduce((a, b) => a + b) / 4, 1e-12));
    for (const i of idx) {
      const want = Math.abs(delta(i)) + eps;
      assert.ok(
        close(l.replay.priority(i), want, 1e-5),
        `row ${i}: ${l.replay.priority(i)} vs ${want}`,
      );
    }
    assert.deepEqual(untouched.map((i) => l.replay.priority(i)), old, "rows not drawn keep theirs");
    assert.equal(l.replay.maxPriority, Math.max(1.5, ...idx.map((i) => l.replay.priority(i))));
    // β reaches 1 at prioritizedReplayBetaTimesteps and stays.
    l.beforeSample(100);
    assert.equal(l.update(1).cur_beta, 1);
    assert.equal(betaAt({ ...l.hyperparams, prioritizedReplayBetaTimesteps: 0 }, 1e9), 0.5);
    l.dispose();
    q.dispose();
  }
});

Deno.test("prioritized replay: a non-finite update also rolls back the priorities changed by its earlier steps", async () => {
  // lr 1e30: the first step's weights are finite but huge, the second step's Q-values overflow.
  const { q, l } = await learnerWith({ prioritizedReplay: true, lr: 1e30, gradClip: null });
  l.replay.add(2, f([0.1, 0.2, -0.5, 0.3]), f([1, 0]), f([1, 3]), f([0.3, 0.4, 0, 0]), f([0.9, 0]));
  const before = { w: q.getFlatWeights(), s: l.getState() };
  assert.throws(() => l.update(3, new Pcg32(1)), /at gradient step 2 of 3/);
  assert.deepEqual(q.getFlatWeights(), before.w);
  assert.deepEqual(l.getState(), before.s, "priorities and maxPriority too");
  l.dispose();
  q.dispose();
});

Deno.test("dueling: the learner refuses a Q-network built without the same dueling option", async () => {
  const { q } = await learnerWith({});
  assert.throws(
    () => new DQNLearner(q, { dueling: true }, "p"),
    /"dueling" is true but the Q-network of policy "p" is not dueling/,
  );
  q.dispose();
});

Deno.test("C51 in the learner: importance-weighted cross-entropy to the projected target, priorities CE + ε", async () => {
  for (const doubleQ of [true, false]) {
    const eps = 0.001;
    const { q, l } = await learnerWith({
      numAtoms: 5,
      vMin: -2,
      vMax: 2,
      dueling: true,
      prioritizedReplay: true,
      prioritizedReplayEps: eps,
      gamma: 0.9,
      doubleQ,
    });
    const obs = f([0.1, 0.2, -0.3, 0.4, 0.9, -0.8]), next = f([0.3, 0.1, 0, 0, -0.2, 0.6]);
    l.replay.add(3, obs, f([0, 1, 1]), f([1, -1, 0.5]), next, f([0.9, 0, 0.81]));
    l.replay.updatePriorities(3, [0, 1, 2], [1.2, 0.1, 0.9]);
    // A target network whose argmax differs from the online one's in a bootstrapped row.
    const qOn = new Float32Array(6), qT = new Float32Array(6), s0 = l.getState();
    q.qValues(next, 3, qOn);
    for (let seed = 0;; seed++) {
      const rng = new Pcg32(seed);
      l.setState({ ...s0, target: s0.target.map((x) => x + 2 * (rng.nextFloat() - 0.5)) });
      l.target.qValues(next, 3, qT);
      if ([0, 2].some((r) => (qOn[2 * r]! >= qOn[2 * r + 1]!) !== (qT[2 * r]! >= qT[2 * r + 1]!))) {
        break;
      }
    }
    const drawn = l.replay.sample(4, new Pcg32(7), 0.4);
    const idx = Array.from(drawn.indices.subarray(0, 4)),
      w = Array.from(drawn.weights.subarray(0, 4));
    assert.ok(idx.includes(0) && idx.includes(2), `${idx}`);
    // By hand: a* from the online Q-values of s' (double Q), the target net's distribution of a*,
    // projected; CE against the online distribution of (s, a).
    const lpT = Float64Array.from(l.target.logProbs(next, 3));
    const m = new Float64Array(15);
    c51Targets({
      rows: 3,
      numActions: 2,
      atoms: q.atoms,
      rewards: l.replay.rewards.subarray(0, 3),
      discounts: l.replay.discounts.subarray(0, 3),
      nextLogProbs: lpT,
      nextQ: doubleQ ? qOn : qT, // a*: online argmax, or the target net's
    }, m);
    // The gradient of the weighted CE: its norm is grad_gnorm.
    const g = new Float32Array(q.numParams);
    q.computeDistributionalGradients(drawn.obs.slice(0, 8), 4, (lp4, dL) => {
      idx.forEach((i, r) => {
        const a = l.replay.actions[i]!;
        for (let k = 0; k < 5; k++) {
          dL[(r * 2 + a) * 5 + k] =
            (w[r]! * (Math.exp(lp4[(r * 2 + a) * 5 + k]!) - m[i * 5 + k]!)) /
            4;
        }
      });
    }, g);
    const wantNorm = Math.sqrt(g.reduce((t, x) => t + x * x, 0));
    const lp = Float64Array.from(q.logProbs(obs, 3));
    const ce = (i: number) => {
      const a = l.replay.actions[i]!;
      let s = 0;
      for (let k = 0; k < 5; k++) s -= m[i * 5 + k]! * lp[(i * 2 + a) * 5 + k]!;
      return s;
    };
    const want = idx.reduce((s, i, r) => s + w[r]! * ce(i), 0) / 4;
    const stats = l.update(1, new Pcg32(7));
    assert.ok(close(stats.loss, want, 1e-5), `${stats.loss} vs ${want}`);
    assert.ok(close(stats.grad_gnorm, wantNorm, 1e-5), `${stats.grad_gnorm} vs ${wantNorm}`);
    for (const i of idx) assert.ok(close(l.replay.priority(i), ce(i) + eps, 1e-5), `row ${i}`);
    assert.ok(Number.isFinite(stats.mean_q) && Math.abs(stats.mean_q) <= 2);
    // A corrupted reward: the loss is not finite, everything rolls back.
    const st = l.getState(), w0 = q.getFlatWeights();
    l.replay.rewards[0] = NaN;
    assert.throws(() => l.update(2, new Pcg32(1)), /the loss is NaN at gradient step 1 of 2/);
    l.replay.rewards[0] = st.replay.rewards[0]!;
    assert.deepEqual(l.getState(), st, "Adam, target, counters, priorities");
    assert.deepEqual(q.getFlatWeights(), w0);
    // Plain computeGradients is refused for a C51 network; the learner checks its options.
    assert.throws(() => q.computeGradients(obs, 1, () => {}, new Float32Array(q.numParams)), /C51/);
    assert.throws(
      () => new DQNLearner(q, { numAtoms: 5, vMin: -2, vMax: 3, dueling: true }, "p"),
      /numAtoms 5, vMin -2, vMax 3 differ from the Q-network of policy "p"/,
    );
    l.dispose();
    q.dispose();
  }
});

Deno.test("noisy nets in the learner: one noise sample per network and step after the batch; σ learns; the net is back on μ", async () => {
  const { q, l } = await learnerWith({ noisy: true, doubleQ: true, gamma: 0.9, huberDelta: 10 });
  const obs = f([0.1, 0.2, -0.3, 0.4, 0.9, -0.8]), next = f([0.3, 0.1, 0, 0, -0.2, 0.6]);
  l.replay.add(3, obs, f([0, 1, 1]), f([1, -1, 0.5]), next, f([0.9, 0, 0.81]));
  // By hand, with the same draws: the batch, then the online net's noise, then the target's.
  const rng = new Pcg32(4), drawn = l.replay.sample(4, rng);
  const idx = Array.from(drawn.indices.subarray(0, 4));
  q.sampleNoise(rng);
  l.target.sampleNoise(rng);
  const Q = new Float32Array(6), QnOn = new Float32Array(6), QnT = new Float32Array(6);
  q.qValues(obs, 3, Q);
  q.qValues(next, 3, QnOn);
  l.target.qValues(next, 3, QnT);
  l.target.clearNoise();
  q.clearNoise();
  const want = idx.reduce((s, i) => {
    const a = l.replay.actions[i]!, d = l.replay.discounts[i]!;
    const best = QnOn[2 * i]! >= QnOn[2 * i + 1]! ? 0 : 1;
    const y = l.replay.rewards[i]! + (d === 0 ? 0 : d * QnT[2 * i + best]!);
    return s + 0.5 * (Q[2 * i + a]! - y) ** 2;
  }, 0) / 4;
  const w0 = q.getFlatWeights(), P = q.numParams / 2;
  const stats = l.update(1, new Pcg32(4));
  assert.ok(close(stats.loss, want, 1e-5), `${stats.loss} vs ${want}`);
  const w1 = q.getFlatWeights();
  assert.ok(w1.subarray(P).some((x, k) => x !== w0[P + k]), "σ is learned");
  // Back on μ: Q-values of the μ network (a fresh policy with the same [μ, σ], no noise drawn).
  const fresh = new QPolicy({ ...q.options });
  fresh.setFlatWeights(w1);
  const a = new Float32Array(6), b = new Float32Array(6);
  q.qValues(obs, 3, a);
  fresh.qValues(obs, 3, b);
  assert.deepEqual(a, b);
  fresh.dispose();
  assert.throws(
    () => new DQNLearner(q, { noisy: false }, "p"),
    /noisy false, noisySigma0 0.5 differ from the Q-network of policy "p" \(noisy true/,
  );
  l.dispose();
  q.dispose();
});

// ---------------------------------------------------------------------------------------------
// Learning, determinism, checkpoints.

/** Dueling + prioritized replay (β annealed), for the learning and checkpoint tests. */
export const RAINBOW: Partial<DQNHyperparams> = Object.freeze({
  dueling: true,
  prioritizedReplay: true,
  prioritizedReplayBetaTimesteps: 2000,
});

/** C51 on top of {@linkcode RAINBOW}. */
export const C51: Partial<DQNHyperparams> = Object.freeze({
  ...RAINBOW,
  numAtoms: 11,
  vMin: -1,
  vMax: 1.5,
});

/** Every part: C51, dueling, prioritized replay, noisy nets exploring alone (ε = 0). */
export const RAINBOW_NOISY: Partial<DQNHyperparams> = Object.freeze({
  ...C51,
  noisy: true,
  epsilonInitial: 0,
  epsilonFinal: 0,
});

for (
  const [name, extra] of [
    ["", {}],
    [" with dueling + prioritized replay", RAINBOW],
    [" with C51 + dueling + prioritized replay", C51],
    [" with noisy nets (ε 0) + C51 + dueling + prioritized replay", RAINBOW_NOISY],
  ] as const
) {
  Deno.test(`DQN${name} learns the chain (bootstrapping over 4 steps) within a few seconds`, async () => {
    const algo = await chainConfig(1, extra).build();
    const t0 = performance.now();
    let ev = await algo.evaluate();
    const before = ev.episode_len_mean;
    let last: TrainResult | undefined;
    for (let i = 0; i < 40; i++) last = await algo.train();
    ev = await algo.evaluate();
    const s = (performance.now() - t0) / 1000;
    assert.equal(
      ev.episode_reward_mean,
      1,
      `greedy return ${ev.episode_reward_mean} (before ${before})`,
    );
    assert.equal(ev.episode_len_mean, 4, "the shortest way");
    assert.ok(s < 30, `took ${s} s`);
    const stats = last!.info.learner.default_policy!.learner_stats;
    assert.equal(stats.cur_beta !== undefined, extra.prioritizedReplay === true);
    assert.equal((algo.getModel("default_policy") as QPolicy).dueling, extra.dueling === true);
    algo.dispose();
  });
}

Deno.test("determinism: the same seed gives the same weights and learner state; another seed differs", async () => {
  const run = async (seed: number) => {
    const algo = await chainConfig(seed).build();
    const out: number[] = [];
    for (let i = 0; i < 4; i++) out.push((await algo.train()).episode_reward_mean);
    const w = algo.getModel("default_policy")!.getFlatWeights();
    const st = (algo.getLearner("default_policy") as DQNLearner).getState();
    algo.dispose();
    return { w, st, out };
  };
  const [a, b, c] = [await run(3), await run(3), await run(4)];
  assert.ok(a.st.gradSteps > 0);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.w, c.w);
});

Deno.test("takePostprocessed/putPostprocessed (how env runners carry n-step transitions) give the same run as postprocess, bit for bit", async () => {
  const run = async (roundTrip: boolean, make: () => DQNConfig) => {
    const orig = DQNLearner.prototype.learn;
    if (roundTrip) {
      // What a runner and the trainer do: the runner's learner post-processes and takes the
      // columns; they travel (structured clone); the trainer's learner is given them.
      DQNLearner.prototype.learn = function (batch, rng) {
        const cols = structuredClone(this.takePostprocessed());
        this.putPostprocessed(cols, batch.count);
        return orig.call(this, batch, rng);
      };
    }
    try {
      const algo = await make().build();
      const results: TrainResult[] = [];
      for (let i = 0; i < 8; i++) results.push(await algo.train());
      const f = fingerprint(algo as Algorithm<DQNHyperparams>, results);
      algo.dispose();
      return f;
    } finally {
      DQNLearner.prototype.learn = orig;
    }
  };
  // The relay: held rows, turn-based transitions, two policies, n-step 3 (cut at fragment ends).
  for (const make of [() => relayConfig(), () => chainConfig(3)]) {
    const direct = await run(false, make);
    assert.equal(await run(true, make), direct);
  }
});

Deno.test("putPostprocessed refuses columns that do not fit the batch", async () => {
  await initBackend({ backend: "cpu" });
  const policy = new QPolicy({
    observationSpace: new Box(-1, 1, [2]),
    actionSpace: new Discrete(2),
    hidden: [4],
    seed: 1,
  });
  const l = new DQNLearner(policy, {});
  const f = (...x: number[]) => Float32Array.from(x);
  assert.throws(() => l.takePostprocessed(), /takePostprocessed before postprocess/);
  const ok = { nstep_rewards: f(1, 2), nstep_discounts: f(0.9, 0), nstep_boot_offset: f(0, 0) };
  assert.throws(
    () => l.putPostprocessed({ ...ok, nstep_rewards: f(1) }, 2),
    /column nstep_rewards has 1 rows, the batch 2/,
  );
  assert.throws(
    () => l.putPostprocessed({ ...ok, nstep_boot_offset: f(1, 1) }, 2),
    /row 1's bootstrap offset 1 leaves the batch of 2 rows/,
  );
  l.dispose();
  policy.dispose();
});

export function relayConfig(extra: Partial<DQNHyperparams> = {}): DQNConfig {
  return new DQNConfig()
    .environment(({ numEnvs, seed }) => new RelayEnv(numEnvs, seed))
    .envRunners({ numEnvs: 6, rolloutFragmentLength: 7 })
    .training({
      hidden: [8],
      nStep: 3,
      learningStarts: 30,
      trainBatchSize: 16,
      trainingIntensity: 3,
      targetUpdateFreq: 4,
      epsilonTimesteps: 200,
      ...extra,
    })
    .multiAgent({
      policies: {
        first: {},
        second: { config: { tau: 0.1, targetUpdateFreq: 1, doubleQ: false } },
      },
      policyMappingFn: (id) => id === "runner_0" ? "first" : "second",
    })
    .debugging({ seed: 5 });
}

for (
  const [name, extra] of [
    ["", {}],
    [", dueling + prioritized replay", RAINBOW],
    [", C51 + dueling + prioritized replay", C51],
    [", noisy nets + C51 + dueling + prioritized replay", RAINBOW_NOISY],
  ] as const
) {
  Deno.test(`checkpoint${name}: N iterations = N/2 + save + restore into a fresh trainer + N/2, bit for bit (replay, priorities, target, Adam, epsilon; held rows; two policies)`, async () => {
    const storage = new MemoryStorage();
    const n = 8;
    const straight = await relayConfig(extra).build();
    const results: unknown[] = [];
    for (let i = 0; i < n; i++) results.push(timeless(await straight.train()));
    const first = await relayConfig(extra).checkpointing({ storage }).build();
    const resumed: unknown[] = [];
    for (let i = 0; i < n / 2; i++) resumed.push(timeless(await first.train()));
    const path = await first.save();
    // One policy for inference, without the env: a Q-network with the saved weights.
    const restored = await policyFromCheckpoint(storage, path, "first", { families: [DQN] });
    assert.ok(restored.model instanceof QPolicy);
    assert.equal(restored.model.dueling, extra.dueling === true);
    assert.deepEqual(restored.model.getFlatWeights(), first.getModel("first")!.getFlatWeights());
    const greedy = restored.computeSingleAction([1, 2], { explore: false });
    assert.ok(greedy === 0 || greedy === 1 || greedy === 2);
    restored.dispose();
    first.dispose();
    const second = await relayConfig(extra).checkpointing({ storage }).build();
    const info = await second.restore({ path });
    assert.equal(info.envRestored, true);
    assert.deepEqual(info.changes, []);
    for (let i = 0; i < n / 2; i++) resumed.push(timeless(await second.train()));
    assert.deepEqual(resumed, results);
    const ls = (a: Algorithm<DQNHyperparams>, id: string) =>
      (a.getLearner(id) as DQNLearner).getState();
    for (const id of ["first", "second"]) {
      assert.deepEqual(
        second.getModel(id)!.getFlatWeights(),
        straight.getModel(id)!.getFlatWeights(),
      );
      assert.deepEqual(ls(second, id), ls(straight, id));
      const s = ls(straight, id);
      assert.ok(s.replay.size > 0 && s.targetUpdates > 0 && s.step > 0, id);
      if (extra.prioritizedReplay) {
        const p = s.replay.priorities!;
        assert.equal(p.length, s.replay.size);
        assert.ok(p.some((x) => x !== 1) && s.replay.maxPriority! > 1, `${id}: priorities updated`);
      } else assert.equal(s.replay.priorities, null);
    }
    straight.dispose();
    second.dispose();
  });
}

/** Results without wall-clock fields, weights and learner states as hex (JSON-comparable). */
export function fingerprint(algo: Algorithm<DQNHyperparams>, results: TrainResult[]): string {
  const hex = (a: ArrayBufferView) =>
    Array.from(
      new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
      (x) => x.toString(16).padStart(2, "0"),
    ).join("");
  const policies: Record<string, unknown> = {};
  for (const id of algo.policyIds) {
    const st = (algo.getLearner(id) as DQNLearner).getState();
    policies[id] = {
      weights: hex(algo.getModel(id)!.getFlatWeights()),
      state: JSON.stringify(st, (_k, v) => ArrayBuffer.isView(v) ? hex(v) : v),
    };
  }
  const timeless = results.map((r) => {
    const {
      time_this_iter_s: _a,
      time_total_s: _b,
      sample_time_s: _c,
      learn_time_s: _d,
      env_steps_per_s: _e,
      checkpoint: _f,
      ...rest
    } = r;
    return rest;
  });
  return JSON.stringify({ timeless, policies });
}

for (
  const [name, extra] of [
    ["", {}],
    [", dueling + prioritized replay", RAINBOW],
    [", C51 + dueling + prioritized replay", C51],
    [", noisy nets + C51 + dueling + prioritized replay", RAINBOW_NOISY],
  ] as const
) {
  Deno.test(`checkpoint${name}: restored in a fresh process, DQN goes on bit for bit`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "coop_dqn_resume_" });
    try {
      const straight = await relayConfig(extra).build();
      const all: TrainResult[] = [];
      for (let i = 0; i < 6; i++) all.push(await straight.train());
      const want = fingerprint(straight, all.slice(3));
      straight.dispose();
      const first = await relayConfig(extra).checkpointing({ storage: new FileStorage(dir) })
        .build();
      for (let i = 0; i < 3; i++) await first.train();
      await first.save();
      first.dispose();
      const script = await Deno.makeTempFile({ suffix: ".ts" });
      await Deno.writeTextFile(
        script,
        `import { fingerprint, relayConfig } from ${JSON.stringify(import.meta.url)};
import { FileStorage } from ${JSON.stringify(new URL("../runtime/files.ts", import.meta.url).href)};
const algo = await relayConfig(${JSON.stringify(extra)}).checkpointing({ storage: new FileStorage(${
          JSON.stringify(dir)
        }) }).build();
await algo.restore();
const results = [];
for (let i = 0; i < 3; i++) results.push(await algo.train());
console.log(fingerprint(algo, results));
algo.dispose();
`,
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--config",
          new URL("../../deno.json", import.meta.url).pathname,
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "--allow-sys",
          script,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      await Deno.remove(script);
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      assert.equal(new TextDecoder().decode(out.stdout).trim(), want);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/**
 * Two players, turn-based, masked, rewards deferred to the end: p1 then p2 each see a context
 * c ∈ {0, 1, 2} (one-hot) and a mask allowing c and one other action; the env throws on an
 * illegal action. At the end each player gets 1 when it chose c (p2: (c + 1) mod 3 when that
 * is legal — p2's contexts make it so), else 0.
 */
export class MaskedDuel implements MultiAgentEnv {
  readonly possibleAgents = ["p1", "p2"];
  static readonly obs = new Dict({
    action_mask: new Box(0, 1, [3]),
    observations: new Box(0, 1, [3]),
  });
  static readonly act = new Discrete(3);
  #rng = new Pcg32(0, 0);
  #t = 0;
  #ctx = [0, 0];
  #masks: number[][] = [];
  #hits = [0, 0];
  observationSpace(): Space {
    return MaskedDuel.obs;
  }
  actionSpace(): Space {
    return MaskedDuel.act;
  }
  #obsFor(p: number) {
    const c = this.#ctx[p]!, want = p === 0 ? c : (c + 1) % 3;
    const other = (want + 1 + this.#rng.nextInt(2)) % 3;
    const mask = [0, 0, 0];
    mask[want] = mask[other] = 1;
    this.#masks[p] = mask;
    return { action_mask: mask, observations: [0, 1, 2].map((j) => j === c ? 1 : 0) };
  }
  reset(opts?: { seed?: number }) {
    if (opts?.seed !== undefined) this.#rng.seed(opts.seed, 0);
    this.#t = 0;
    this.#ctx = [this.#rng.nextInt(3), this.#rng.nextInt(3)];
    return { obs: { p1: this.#obsFor(0) }, infos: {} };
  }
  step(actions: Record<string, SpaceValue>): StepResult {
    const p = this.#t, id = p === 0 ? "p1" : "p2";
    const a = actions[id] as number;
    if (this.#masks[p]![a] !== 1) {
      throw new RangeError(`illegal move ${a} by ${id}, legal: ${this.#masks[p]}`);
    }
    const want = p === 0 ? this.#ctx[0]! : (this.#ctx[1]! + 1) % 3;
    this.#hits[p] = a === want ? 1 : 0;
    this.#t++;
    const no = { __all__: false } as DoneDict;
    if (p === 0) {
      return {
        obs: { p2: this.#obsFor(1) },
        rewards: {},
        terminateds: no,
        truncateds: no,
        infos: {},
      };
    }
    const end = { p1: true, p2: true, __all__: true } as DoneDict;
    const fin = { action_mask: [0, 0, 0], observations: [0, 0, 0] }; // no legal move at the end
    return {
      obs: { p1: fin, p2: fin },
      rewards: { p1: this.#hits[0]!, p2: this.#hits[1]! },
      terminateds: end,
      truncateds: no,
      infos: {},
    };
  }
}

/** The env creator of `numEnvs` batched {@linkcode MaskedDuel}s, both players in one group. */
const maskedDuels = ({ numEnvs, seed }: { numEnvs: number; seed: number }) =>
  fromDictEnv(() => new MaskedDuel(), numEnvs, {
    groups: [{
      name: "players",
      slotsPerEnv: 2,
      observationSpace: MaskedDuel.obs,
      actionSpace: MaskedDuel.act,
    }],
    seed,
  });

for (
  const [name, extra] of [
    ["", {}],
    [" (dueling + prioritized replay)", RAINBOW],
    [" (C51, plain replay)", { numAtoms: 11, vMin: -1, vMax: 1.5 }],
    [" (noisy nets alone, ε 0, + dueling)", {
      noisy: true,
      dueling: true,
      epsilonInitial: 0,
      epsilonFinal: 0,
    }],
  ] as const
) {
  Deno.test(`multi-agent: two DQN policies${name} learn a masked turn-based game with deferred rewards`, async () => {
    const algo = await new DQNConfig()
      .environment(maskedDuels)
      .envRunners({ numEnvs: 16, rolloutFragmentLength: 8 })
      .training({
        hidden: [16],
        lr: 3e-3,
        learningStarts: 64,
        trainingIntensity: 2,
        targetUpdateFreq: 25,
        epsilonTimesteps: 600,
        gamma: 0.9,
        ...extra,
      })
      .multiAgent({ policies: ["p1", "p2"], policyMappingFn: (id) => id })
      .evaluation({ evaluationDuration: 60, evaluationNumEnvs: 8 })
      .debugging({ seed: 2 })
      .resources({ backend: "cpu" })
      .build();
    const first = await algo.train();
    // Random (masked) play: each player right half of the time.
    assert.ok(first.episode_reward_mean > 0.5 && first.episode_reward_mean < 1.5);
    for (let i = 0; i < 15; i++) await algo.train();
    const ev = await algo.evaluate();
    assert.equal(ev.episode_reward_mean, 2, `both players always right: ${ev.episode_reward_mean}`);
    for (const id of ["p1", "p2"]) {
      assert.ok((algo.getLearner(id) as DQNLearner).gradientSteps > 0, id);
    }
    algo.dispose();
  });
}

Deno.test('masked game: PPO learns it too (masked logits), and a "random" opponent plays legal moves only', async () => {
  const algo = await new PPOConfig()
    .environment(maskedDuels)
    .envRunners({ numEnvs: 16, rolloutFragmentLength: 8 })
    .training({ hidden: [16], lr: 3e-3, entropyCoeff: 0.01 })
    .multiAgent({
      policies: { p1: {}, p2: { policyClass: "random" } },
      policyMappingFn: (id) => id,
      policiesToTrain: ["p1"],
    })
    .evaluation({ evaluationDuration: 60, evaluationNumEnvs: 8 })
    .debugging({ seed: 1 })
    .build();
  for (let i = 0; i < 25; i++) await algo.train(); // the env throws on an illegal move
  const ev = await algo.evaluate();
  assert.equal(
    ev.policy_reward_mean.p1,
    1,
    `p1 always right: ${JSON.stringify(ev.policy_reward_mean)}`,
  );
  assert.ok(Math.abs(ev.policy_reward_mean.p2! - 0.5) < 0.2, "p2 picks one of two legal moves");
  algo.dispose();
});
