import assert from "node:assert/strict";
import {
  CHICKEN_YARD_HIGH_OBS_SPACE,
  CHICKEN_YARD_LOW_CONTINUOUS_ACTION_SPACE,
  CHICKEN_YARD_LOW_OBS_SPACE,
} from "../envs/chicken_yard.ts";
import { initBackend } from "../policy/backend.ts";
import { ActorCriticModel, type ActorCriticOptions } from "../policy/model.ts";
import { Pcg32 } from "../rng.ts";
import { Box, Dict, Discrete, MultiDiscrete, type Space, Tuple } from "../spaces.ts";
import { exportPolicy } from "./export.ts";
import { QPolicy } from "../policy/q_model.ts";
import {
  type ExportedKernel,
  ExportedPolicy,
  exportedPolicyKernelWasmBytes,
} from "./exported_policy.ts";

await initBackend({ backend: "wasm" });

/** A model with its weights drawn wide enough that the logits are far from uniform. */
function model(o: ActorCriticOptions): ActorCriticModel {
  const m = new ActorCriticModel(o);
  const rng = new Pcg32(9, 1);
  const w = m.getFlatWeights();
  for (let i = 0; i < w.length; i++) w[i] = (rng.nextFloat() - 0.5) * 0.8;
  m.setFlatWeights(w);
  return m;
}

function softmaxBlocks(logits: Float32Array, heads: readonly number[]): Float64Array {
  const p = new Float64Array(logits.length);
  let off = 0;
  for (const n of heads) {
    let max = -Infinity, sum = 0;
    for (let k = 0; k < n; k++) max = Math.max(max, logits[off + k]!);
    for (let k = 0; k < n; k++) sum += p[off + k] = Math.exp(logits[off + k]! - max);
    for (let k = 0; k < n; k++) p[off + k]! /= sum;
    off += n;
  }
  return p;
}

const cases: [string, ActorCriticOptions, number[]][] = [
  ["windy maze (Tuple obs, Discrete)", {
    observationSpace: new Tuple([new Box(0, 100, [2]), new Discrete(4)]),
    actionSpace: new Discrete(2),
  }, [2]],
  ["chicken yard high level (Dict, encoders, dot features)", {
    observationSpace: CHICKEN_YARD_HIGH_OBS_SPACE,
    actionSpace: new Discrete(10),
    encoderSize: 16,
    features: [{ kind: "dot", rows: "chicken_oceans", vector: "robot_ocean" }],
  }, [10]],
  ["chicken yard low level (gather feature, relu, shared tower)", {
    observationSpace: CHICKEN_YARD_LOW_OBS_SPACE,
    actionSpace: new Discrete(8),
    activation: "relu",
    vfShareLayers: true,
    features: [{ kind: "gather", index: "target", rows: "chicken_positions" }],
  }, [8]],
  ["MultiDiscrete (two heads)", {
    observationSpace: new Box(-1, 1, [5]),
    actionSpace: new MultiDiscrete([3, 4]),
  }, [3, 4]],
  ["masked Dict", {
    observationSpace: new Dict({
      action_mask: new Box(0, 1, [7]),
      observations: new Box(0, 1, [6, 7, 2]),
    }),
    actionSpace: new Discrete(7),
  }, [7]],
];

for (const [name, opts, heads] of cases) {
  for (const kernel of ["wasm", "js"] as ExportedKernel[]) {
    Deno.test(`exported policy (${kernel} kernel) = tfjs on 10,000 observations: ${name}`, () => {
      const m = model({ ...opts, seed: 3 });
      const p = ExportedPolicy.fromJSON(exportPolicy(m, "p"), 0, { kernel });
      assert.equal(p.kernel, kernel);
      const space = opts.observationSpace as Space;
      const rng = new Pcg32(4, 2);
      const N = 10_000, O = space.flatSize, L = heads.reduce((a, b) => a + b, 0);
      const flat = new Float32Array(N * O), obs: unknown[] = [];
      const masked = space instanceof Dict && "action_mask" in space.spaces;
      for (let i = 0; i < N; i++) {
        const o = space.sample(rng) as Record<string, unknown>;
        if (masked) {
          const mask = new Float32Array(7).map(() => rng.nextFloat() < 0.6 ? 1 : 0);
          mask[rng.nextInt(7)] = 1;
          o.action_mask = mask;
        }
        obs.push(o);
        space.flatten(o as never, flat, i * O);
      }
      const logits = new Float32Array(N * m.logitsSize), values = new Float32Array(N);
      m.forward(flat, N, logits, values);
      let maxDiff = 0, sameGreedy = 0;
      for (let i = 0; i < N; i++) {
        const want = softmaxBlocks(logits.subarray(i * m.logitsSize, i * m.logitsSize + L), heads);
        const got = p.actionProbabilities(obs[i]);
        for (let k = 0; k < L; k++) maxDiff = Math.max(maxDiff, Math.abs(got[k]! - want[k]!));
        const greedy = p.computeSingleAction(obs[i], { explore: false });
        const tfGreedy: number[] = [];
        let off = 0;
        heads.forEach((n) => {
          let best = 0;
          for (let k = 1; k < n; k++) if (want[off + k]! > want[off + best]!) best = k;
          tfGreedy.push(best);
          off += n;
        });
        const starts = opts.actionSpace instanceof Discrete
          ? [opts.actionSpace.start]
          : heads.map(() => 0);
        const expected = tfGreedy.map((a, h) => a + starts[h]!);
        if (
          JSON.stringify(greedy) === JSON.stringify(heads.length === 1 ? expected[0] : expected)
        ) {
          sameGreedy++;
        }
      }
      assert.ok(maxDiff <= 1e-5, `probabilities differ by ${maxDiff}`);
      assert.equal(sameGreedy, N, "greedy actions identical");
      m.dispose();
    });
  }
}

for (const kernel of ["wasm", "js"] as ExportedKernel[]) {
  Deno.test(`exported Gaussian policy (${kernel} kernel): greedy action = tfjs's squashed mean`, () => {
    const m = model({
      observationSpace: CHICKEN_YARD_LOW_OBS_SPACE,
      actionSpace: CHICKEN_YARD_LOW_CONTINUOUS_ACTION_SPACE,
      features: [{ kind: "gather", index: "target", rows: "chicken_positions" }],
      seed: 5,
    });
    const p = ExportedPolicy.fromJSON(exportPolicy(m, "low"), 0, { kernel });
    const rng = new Pcg32(1, 1);
    const space = CHICKEN_YARD_LOW_OBS_SPACE, O = space.flatSize;
    for (let i = 0; i < 200; i++) {
      const o = space.sample(rng);
      const flat = new Float32Array(O);
      space.flatten(o, flat, 0);
      const logits = new Float32Array(m.logitsSize), v = new Float32Array(1);
      m.forward(flat, 1, logits, v);
      const a = p.computeSingleAction(o, { explore: false }) as Float32Array;
      for (let d = 0; d < 2; d++) {
        const want = Math.min(0.03, Math.max(-0.03, -0.03 + (Math.tanh(logits[d]!) + 1) * 0.03));
        assert.ok(Math.abs(a[d]! - want) < 1e-6, `${a[d]} vs ${want}`);
        const s = p.computeSingleAction(o) as Float32Array;
        assert.ok(s[d]! >= -0.03 && s[d]! <= 0.03);
      }
    }
    m.dispose();
  });
}

Deno.test("the WebAssembly kernel: the default, or given precompiled (workerd), or refused", () => {
  const m = model({
    observationSpace: CHICKEN_YARD_HIGH_OBS_SPACE,
    actionSpace: new Discrete(10),
    encoderSize: 16,
    features: [{ kind: "dot", rows: "chicken_oceans", vector: "robot_ocean" }],
  });
  const text = exportPolicy(m, "high");
  const auto = ExportedPolicy.fromJSON(text);
  assert.equal(auto.kernel, "wasm");
  const module = new WebAssembly.Module(exportedPolicyKernelWasmBytes() as BufferSource);
  const pre = ExportedPolicy.fromJSON(text, 0, { kernel: module });
  assert.equal(pre.kernel, "wasm");
  const js = ExportedPolicy.fromJSON(text, 0, { kernel: "js" });
  const rng = new Pcg32(8, 8);
  for (let i = 0; i < 100; i++) {
    const o = CHICKEN_YARD_HIGH_OBS_SPACE.sample(rng);
    assert.deepEqual(pre.actionProbabilities(o), auto.actionProbabilities(o));
    const a = auto.actionProbabilities(o), b = js.actionProbabilities(o);
    for (let k = 0; k < 10; k++) assert.ok(Math.abs(a[k]! - b[k]!) < 1e-5);
  }
  // A module that is not the kernel: "auto" falls back to JS, "wasm" says why.
  const other = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  assert.throws(
    () => ExportedPolicy.fromJSON(text, 0, { kernel: other }),
    /the WebAssembly kernel cannot run here/,
  );
  m.dispose();
});

Deno.test("observations: nested arrays, flat rows and JSON give one encoding; bad ones refused", () => {
  const space = new Dict({
    grid: new Box(0, 1, [3, 2]),
    // (Finite bounds: the artefact's JSON, `spaceToJSON`, writes ±Infinity bounds as null.)
    free: new Box(-5, 5, [2]),
    pick: new Discrete(3, 1),
    pair: new Tuple([new MultiDiscrete([2, 3]), new Box(-1, 1, [1])]),
  });
  const m = model({ observationSpace: space, actionSpace: new Discrete(4) });
  const p = ExportedPolicy.fromJSON(exportPolicy(m, "p"));
  const rng = new Pcg32(5, 5);
  for (let i = 0; i < 200; i++) {
    const o = space.sample(rng) as Record<string, unknown>;
    const want = new Float32Array(space.flatSize);
    space.flatten(o as never, want, 0);
    const logits = new Float32Array(m.logitsSize), v = new Float32Array(1);
    m.forward(want, 1, logits, v);
    const expected = softmaxBlocks(logits, [4]);
    const json = JSON.parse(JSON.stringify(o, (_, x) => x instanceof Float32Array ? [...x] : x));
    const flatGrid = { ...o, grid: Float32Array.from(json.grid.flat()) };
    const flatNumbers = { ...o, grid: json.grid.flat() };
    for (const form of [o, json, flatGrid, flatNumbers]) {
      const got = p.actionProbabilities(form);
      for (let k = 0; k < 4; k++) assert.ok(Math.abs(got[k]! - expected[k]!) < 1e-5);
    }
  }
  const good = JSON.parse(JSON.stringify(
    space.sample(rng),
    (_, x) => x instanceof Float32Array ? [...x] : x,
  ));
  const bad: [unknown, RegExp][] = [
    [{ ...good, grid: [[0, 0], [0, 2], [0, 0]] }, /element \[1\]\[1\] in \[0, 1\]/],
    [{ ...good, grid: [[0, 0], [0, 0]] }, /expected 3 rows of 2 numbers/],
    [{ ...good, pick: 0 }, /key "pick": expected an integer in \[1, 3\]/],
    [{ ...good, pair: [[1, 3], [0]] }, /expected element 1 in \[0, 2\]/],
    [{ ...good, extra: 1 }, /unexpected key "extra"/],
    [{ ...good, free: [0, NaN] }, /not in Dict/],
    [{ ...good, free: [0, Infinity] }, /key "free": expected element 1 in \[-5, 5\]/],
    [{ ...good, free: new Float32Array([0, 7]) }, /key "free": expected element 1 in \[-5, 5\]/],
    [{ ...good, grid: [[0, 0], [0, 0], [0, "1"]] }, /element \[2\]\[1\]/],
  ];
  for (const [o, why] of bad) assert.throws(() => p.computeSingleAction(o), why);
  m.dispose();
});

Deno.test("a malformed observation or artefact is refused with what was expected", () => {
  const m = model({ observationSpace: CHICKEN_YARD_LOW_OBS_SPACE, actionSpace: new Discrete(8) });
  const text = exportPolicy(m, "low");
  const p = ExportedPolicy.fromJSON(text);
  assert.throws(() => p.computeSingleAction({ robot_position: [0.5, 0.5] }), /"low".*not in Dict/);
  assert.throws(() => ExportedPolicy.fromJSON("{"), /not JSON/);
  assert.throws(
    () => ExportedPolicy.fromJSON(JSON.stringify({ ...JSON.parse(text), version: 9 })),
    /expected format "coop-policy" version 1, got "coop-policy" version 9/,
  );
  m.dispose();
});

Deno.test("a distributional (C51) Q-network is refused, a plain one exports", async () => {
  await initBackend({ backend: "cpu" });
  const make = (numAtoms: number) =>
    new QPolicy({
      observationSpace: new Box(-1, 1, [3]),
      actionSpace: new Discrete(4),
      hidden: [8],
      numAtoms,
      seed: 1,
    });
  const c51 = make(5), plain = make(1);
  try {
    assert.throws(
      () => exportPolicy(c51, "c51"),
      /policy "c51" is a distributional \(C51\) Q-network \(5 atoms for each of 4 actions\).*policyFromCheckpoint/,
    );
    const p = ExportedPolicy.fromJSON(exportPolicy(plain, "plain"));
    const rng = new Pcg32(3, 0);
    for (let i = 0; i < 50; i++) {
      const obs = new Float32Array(3).map(() => rng.nextFloat() * 2 - 1);
      const q = new Float32Array(4);
      plain.qValues(obs, 1, q);
      const best = q.indexOf(Math.max(...q));
      assert.equal(p.computeSingleAction(Array.from(obs), { explore: false }), best);
    }
  } finally {
    c51.dispose();
    plain.dispose();
  }
});
