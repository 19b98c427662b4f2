/**
 * Single-observation inference: an exported policy (no tfjs; its WebAssembly SIMD kernel and its
 * plain-JS kernel) against tfjs's (`InferencePolicy` over an `ActorCriticModel`, WASM backend),
 * greedy, for the windy maze's and the chicken yard's policy shapes (the shipped configs:
 * 64×64 tanh, the chicken yard's relational features). Prints JSON: microseconds per call and
 * the speed-ups, from interleaved rounds (medians), so that a loaded machine slows all alike.
 *
 * ```sh
 * deno task bench:export
 * ```
 *
 * @module
 */

import {
  ActorCriticModel,
  Box,
  CHICKEN_YARD_HIGH_OBS_SPACE,
  CHICKEN_YARD_LOW_OBS_SPACE,
  Discrete,
  exportPolicy,
  InferencePolicy,
  initBackend,
  type ObservationFeature,
  Pcg32,
  type Space,
  Tuple,
} from "@coop/rl";
import { ExportedPolicy } from "@coop/rl/policy";

const backend = await initBackend({ backend: "wasm" });
const ROUNDS = 15, N = 500;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Microseconds per call of `f` over N calls. */
function usPerCall(f: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) f();
  return ((performance.now() - t0) * 1000) / N;
}

const cases: [string, Space, Discrete, ObservationFeature[]][] = [
  ["windy_maze", new Tuple([new Box(0, 100, [2]), new Discrete(4)]), new Discrete(2), []],
  ["chicken_yard_high", CHICKEN_YARD_HIGH_OBS_SPACE, new Discrete(10), [
    { kind: "dot", rows: "chicken_oceans", vector: "robot_ocean" },
  ]],
  ["chicken_yard_low", CHICKEN_YARD_LOW_OBS_SPACE, new Discrete(8), [
    { kind: "gather", index: "target", rows: "chicken_positions" },
  ]],
];
const out: Record<string, unknown> = {};
for (const [name, obsSpace, actionSpace, features] of cases) {
  const m = new ActorCriticModel({ observationSpace: obsSpace, actionSpace, features, seed: 1 });
  const tfjs = new InferencePolicy(name, obsSpace, actionSpace, m, new Pcg32(1));
  const text = exportPolicy(m, name);
  const wasm = ExportedPolicy.fromJSON(text, 0, { kernel: "wasm" });
  const js = ExportedPolicy.fromJSON(text, 0, { kernel: "js" });
  const obs = obsSpace.sample(new Pcg32(2));
  const runs = {
    tfjs: () => tfjs.computeSingleAction(obs, { explore: false }),
    wasm: () => wasm.computeSingleAction(obs, { explore: false }),
    js: () => js.computeSingleAction(obs, { explore: false }),
  };
  for (const f of Object.values(runs)) usPerCall(f); // warm-up (JIT, wasm tier-up)
  const t: Record<keyof typeof runs, number[]> = { tfjs: [], wasm: [], js: [] };
  const ratio: { wasm: number[]; js: number[] } = { wasm: [], js: [] };
  for (let r = 0; r < ROUNDS; r++) {
    // Interleaved, so that a busy neighbour slows all three alike.
    const tf = usPerCall(runs.tfjs), w = usPerCall(runs.wasm), j = usPerCall(runs.js);
    t.tfjs.push(tf);
    t.wasm.push(w);
    t.js.push(j);
    ratio.wasm.push(tf / w);
    ratio.js.push(tf / j);
  }
  out[name] = {
    tfjs_us_per_call: +median(t.tfjs).toFixed(2),
    exported_wasm_us_per_call: +median(t.wasm).toFixed(2),
    exported_js_us_per_call: +median(t.js).toFixed(2),
    speedup_wasm: +median(ratio.wasm).toFixed(1),
    speedup_js: +median(ratio.js).toFixed(1),
  };
  m.dispose();
}
console.log(JSON.stringify(
  {
    what: "single-observation greedy inference, exported policy (WASM SIMD and JS kernels) vs tfjs",
    how:
      `${ROUNDS} interleaved rounds of ${N} computeSingleAction calls per contender, same process; ` +
      `medians of the per-call times and of the per-round speed-ups; tfjs ${backend.name} backend ` +
      `(simd ${backend.simd}, ${backend.threads} thread)`,
    results: out,
  },
  null,
  2,
));
