/// <reference lib="webworker" />
/**
 * The training side of the browser page: trains the hierarchical windy maze with PPO (the same
 * config as `examples/hierarchical.ts`) in a Web Worker and, after every iteration, posts the
 * result and the path of one greedy episode played through the dict face (RLlib's API), so the
 * page can draw the learning curve and the maze live.
 *
 * Messages in: `{ type: "train", seed, backend, threads, stopReward, maxSteps }`. Messages out:
 * `{ type: "iteration", ... }` per iteration, then `{ type: "done", ... }`, or
 * `{ type: "error", message }`.
 *
 * @module
 */

import {
  createHierarchicalWindyMaze,
  DictEnv,
  initBackend,
  PPOConfig,
  rewardReached,
  type SpaceValue,
} from "@coop/rl";

/** The page's request. */
interface TrainRequest {
  type: "train";
  seed: number;
  backend: "wasm" | "cpu";
  /** tfjs's WASM threads (1: the single-threaded SIMD build; more: the threaded build). */
  threads: number;
  stopReward: number;
  maxSteps: number;
}

/** The `[row, col]` in a windy maze observation (the low level's wraps the high level's). */
function position(o: unknown): ArrayLike<number> {
  let x = o as unknown[];
  while (typeof x[0] !== "number") x = x[0] as unknown[];
  return x as unknown as ArrayLike<number>;
}

/** Plays one greedy episode of a one-maze dict env and returns the cells it visited. */
function greedyPath(
  algo: {
    computeSingleAction(obs: unknown, o: { policyId: string; explore: boolean }): SpaceValue;
  },
  seed: number,
): [number, number][] {
  const env = new DictEnv(createHierarchicalWindyMaze(1, { seed }));
  let { obs } = env.reset({ seed });
  const path: [number, number][] = [];
  for (let t = 0; t < 1000; t++) {
    const actions: Record<string, SpaceValue> = {};
    for (const [id, o] of Object.entries(obs)) {
      const pos = position(o);
      const last = path.at(-1);
      if (last === undefined || last[0] !== pos[0] || last[1] !== pos[1]) {
        path.push([pos[0]!, pos[1]!]);
      }
      const policyId = id.startsWith("low_level_") ? "low_level_policy" : "high_level_policy";
      actions[id] = algo.computeSingleAction(o, { policyId, explore: false });
    }
    const r = env.step(actions);
    if (r.terminateds.__all__ || r.truncateds.__all__) {
      for (const o of Object.values(r.obs)) {
        const pos = position(o);
        path.push([pos[0]!, pos[1]!]);
      }
      break;
    }
    obs = r.obs;
  }
  return path;
}

async function train(req: TrainRequest): Promise<void> {
  const numEnvs = 64;
  if (req.backend === "wasm") {
    // tfjs's WASM binaries, served by serve.ts beside the page.
    await initBackend({
      backend: "wasm",
      wasm: new URL("/tfjs/", self.location.href),
      threads: req.threads,
    });
  }
  // examples/hierarchical.ts's configuration, written out: that module imports node:util and
  // the Deno file helpers, which a browser bundle cannot load.
  const algo = await new PPOConfig()
    .environment(({ numEnvs, seed }) => createHierarchicalWindyMaze(numEnvs, { seed }))
    .envRunners({ numEnvs, rolloutFragmentLength: Math.ceil(4096 / numEnvs) })
    .resources({ backend: req.backend, threads: req.threads })
    .debugging({ seed: req.seed })
    .training({ entropyCoeff: 0.01 })
    .multiAgent({
      policies: {
        high_level_policy: { config: { gamma: 0.9, numEpochs: 30, minibatchSize: 128 } },
        low_level_policy: { config: { gamma: 0.0, lr: 6e-3 } },
      },
      policyMappingFn: (id) =>
        id.startsWith("low_level_") ? "low_level_policy" : "high_level_policy",
    })
    .build();
  const t0 = performance.now();
  try {
    for (;;) {
      const r = await algo.train();
      const seconds = (performance.now() - t0) / 1000;
      const reached = rewardReached(r, req.stopReward);
      postMessage({
        type: "iteration",
        iteration: r.training_iteration,
        steps: r.num_env_steps_sampled,
        reward: r.episode_reward_mean,
        seconds,
        trainSeconds: r.time_total_s,
        stepsPerSecond: r.env_steps_per_s,
        backend: algo.backend,
        path: greedyPath(algo, r.training_iteration),
      });
      if (reached || r.num_env_steps_sampled >= req.maxSteps) {
        postMessage({ type: "done", reached, seconds, steps: r.num_env_steps_sampled });
        return;
      }
    }
  } finally {
    algo.dispose();
  }
}

self.onmessage = (e: MessageEvent<TrainRequest>) => {
  if (e.data.type !== "train") return;
  train(e.data).catch((err) => postMessage({ type: "error", message: String(err?.stack ?? err) }));
};
