/**
 * Single-observation inference: an exported policy (plain TS, no tfjs) against tfjs's
 * (`InferencePolicy` over an `ActorCriticModel`, WASM backend), greedy, for the windy maze's
 * and the chicken yard's policy shapes. Prints JSON: microseconds per call (median of 5 runs
 * of N calls) and the speed-up.
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
const N = 2000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function time(f: () => void): number {
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) f();
    runs.push(((performance.now() - t0) * 1000) / N);
  }
  return median(runs);
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
  const exported = ExportedPolicy.fromJSON(exportPolicy(m, name));
  const obs = obsSpace.sample(new Pcg32(2));
  const tfUs = time(() => tfjs.computeSingleAction(obs, { explore: false }));
  const exUs = time(() => exported.computeSingleAction(obs, { explore: false }));
  out[name] = {
    tfjs_us_per_call: +tfUs.toFixed(2),
    exported_us_per_call: +exUs.toFixed(2),
    speedup: +(tfUs / exUs).toFixed(1),
  };
  m.dispose();
}
console.log(JSON.stringify(
  {
    what: "single-observation greedy inference, exported policy vs tfjs",
    how:
      `median of 5 runs of ${N} computeSingleAction calls each, same process, ${backend.name} backend (simd ${backend.simd}, ${backend.threads} thread)`,
    results: out,
  },
  null,
  2,
));
