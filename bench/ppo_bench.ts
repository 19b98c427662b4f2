/**
 * Model and PPO-update timings, one JSON line per measurement.
 *
 * Model: a windy-maze-sized 7 → 64 → 64 → 5 tanh MLP with a separate value net.
 * - `forward`: `model.act` (one forward pass of both nets, read back, sampling in JS) on
 *   64 and 1024 rows;
 * - `update_step`: one PPO minibatch step (forward, loss, backward, gradient clip, Adam,
 *   weight upload) on 512 and 1024 rows, timed through `PPOLearner.update` with one epoch and
 *   one minibatch.
 * On WASM, the same two measurements (1024 and 512 rows) for the other model kinds: a Gaussian
 * head (`Box(-1, 1, [2])` actions), and the chicken yard's high-level observation (a Dict of
 * four Boxes, 77 floats) with and without encoders (`encoderSize` 16 and 64).
 * Each number is the mean over repetitions after a warm-up, in milliseconds.
 *
 * Run: `deno run --allow-read --allow-env --allow-sys bench/ppo_bench.ts` (WASM, then cpu).
 * `--threads 2` measures the threaded WASM build instead (it can only start once per process).
 *
 * @module
 */

import {
  ActorCriticModel,
  type ActorCriticOptions,
  Box,
  Dict,
  Discrete,
  initBackend,
  Pcg32,
  PPOLearner,
} from "@coop/rl";

const threadsArg = Deno.args.indexOf("--threads");
const threads = threadsArg >= 0 ? Number(Deno.args[threadsArg + 1]) : 1;
const backends = threads > 1 ? ["wasm"] as const : ["wasm", "cpu"] as const;
const OBS = 7, ACTIONS = 5;
const YARD_OBS = new Dict({
  chicken_oceans: new Box(0, 1, [10, 5]),
  chicken_positions: new Box(0, 1, [10, 2]),
  robot_ocean: new Box(0, 1, [5]),
  robot_position: new Box(0, 1, [2]),
});
/** The other model kinds, measured on WASM only. */
const OTHERS: Array<[string, ActorCriticOptions]> = [
  ["7-64-64 tanh, Gaussian Box(-1, 1, [2])", {
    obsSize: OBS,
    actionSpace: new Box(-1, 1, [2]),
    seed: 1,
  }],
  ["dict 77-64-64-10 tanh (no encoders)", {
    observationSpace: YARD_OBS,
    actionSpace: new Discrete(10),
    seed: 1,
  }],
  ["dict 77 → 4 encoders × 16 → 64-64-10 tanh", {
    observationSpace: YARD_OBS,
    actionSpace: new Discrete(10),
    encoderSize: 16,
    seed: 1,
  }],
  ["dict 77 → 4 encoders × 64 → 64-64-10 tanh", {
    observationSpace: YARD_OBS,
    actionSpace: new Discrete(10),
    encoderSize: 64,
    seed: 1,
  }],
];

/** Mean ms of `fn` over `reps` calls after `warm` warm-up calls. */
function time(fn: () => void, warm: number, reps: number): number {
  for (let i = 0; i < warm; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t0) / reps;
}

for (const backend of backends) {
  const info = await initBackend({ backend, threads });
  const model = new ActorCriticModel({ obsSize: OBS, actionSpace: new Discrete(ACTIONS), seed: 1 });
  const rng = new Pcg32(1);
  const base = {
    backend: info.name,
    simd: info.simd,
    threads: info.threads,
    model: "7-64-64-5 tanh",
  };
  const slow = backend === "cpu";

  for (const rows of [64, 1024]) {
    const obs = Float32Array.from({ length: rows * OBS }, () => rng.nextFloat());
    const act = new Float32Array(rows), logp = new Float32Array(rows), v = new Float32Array(rows);
    const ms = time(
      () => model.act(obs, rows, rng, true, act, { action_logp: logp, vf_preds: v }),
      20,
      slow ? 50 : rows > 100 ? 200 : 1000,
    );
    console.log(JSON.stringify({ bench: "forward", ...base, rows, ms: +ms.toFixed(4) }));
  }

  for (const rows of [512, 1024]) {
    const learner = new PPOLearner(model, { numEpochs: 1, minibatchSize: rows, lr: 1e-5 });
    const obs = Float32Array.from({ length: rows * OBS }, () => rng.nextFloat());
    const actions = new Float32Array(rows), logp = new Float32Array(rows);
    const values = new Float32Array(rows);
    model.act(obs, rows, rng, true, actions, { action_logp: logp, vf_preds: values });
    const batch = {
      count: rows,
      obs,
      actions,
      action_logp: logp,
      vf_preds: values,
      advantages: Float32Array.from({ length: rows }, () => rng.nextFloat() - 0.5),
      value_targets: Float32Array.from({ length: rows }, () => rng.nextFloat()),
    };
    const ms = time(() => learner.update(batch), 5, slow ? 20 : 100);
    console.log(JSON.stringify({ bench: "update_step", ...base, rows, ms: +ms.toFixed(4) }));
  }
  model.dispose();
  if (backend !== "wasm") continue;
  for (const [name, options] of OTHERS) {
    const m = new ActorCriticModel(options);
    const O = m.obsSize, K = m.actSize;
    const b = { backend: info.name, simd: info.simd, threads: info.threads, model: name };
    for (const [bench, rows] of [["forward", 1024], ["update_step", 512]] as const) {
      const obs = Float32Array.from({ length: rows * O }, () => rng.nextFloat());
      const act = new Float32Array(rows * K), logp = new Float32Array(rows);
      const v = new Float32Array(rows);
      const extras = { action_logp: logp, vf_preds: v };
      m.act(obs, rows, rng, true, act, extras);
      let ms: number;
      if (bench === "forward") ms = time(() => m.act(obs, rows, rng, true, act, extras), 20, 100);
      else {
        const learner = new PPOLearner(m, { numEpochs: 1, minibatchSize: rows, lr: 1e-5 });
        const batch = {
          count: rows,
          obs,
          actions: act,
          action_logp: logp,
          vf_preds: v,
          advantages: Float32Array.from({ length: rows }, () => rng.nextFloat() - 0.5),
          value_targets: Float32Array.from({ length: rows }, () => rng.nextFloat()),
        };
        ms = time(() => learner.update(batch), 5, 50);
      }
      console.log(JSON.stringify({ bench, ...b, rows, ms: +ms.toFixed(4) }));
    }
    m.dispose();
  }
}
