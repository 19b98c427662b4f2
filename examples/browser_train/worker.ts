/// <reference lib="webworker" />
/**
 * The training side of the browser page: trains the hierarchical windy maze with PPO (the same
 * config as `examples/hierarchical.ts`) in a Web Worker and, after every iteration, posts the
 * result and the path of one greedy episode played through the dict face (RLlib's API), so the
 * page can draw the learning curve and the maze live.
 *
 * With `runners` > 1 it samples in that many env runners (`runner_worker.ts`, Web Workers nested
 * in this one), 64 envs split between them, and learns here.
 *
 * Messages in: `{ type: "train", seed, backend, threads, runners, stopReward, maxSteps }`.
 * Messages out:
 * `{ type: "iteration", ... }` per iteration, then `{ type: "done", ... }`, or
 * `{ type: "error", message }`.
 *
 * @module
 */

import {
  createHierarchicalWindyMaze,
  DictEnv,
  initBackend,
  rewardReached,
  type SpaceValue,
} from "@coop/rl";
import { mazeConfig } from "./config.ts";

/** The page's request. */
interface TrainRequest {
  type: "train";
  seed: number;
  backend: "wasm" | "cpu";
  /** tfjs's WASM threads (1: the single-threaded SIMD build; more: the threaded build). */
  threads: number;
  /** Env runners (1: sample in this worker). */
  runners: number;
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
  const runners = Math.max(1, req.runners);
  const c = mazeConfig({
    seed: req.seed,
    backend: req.backend,
    threads: req.threads,
    numEnvs: numEnvs / runners,
    runners,
  });
  if (runners > 1) {
    c.envRunners({
      numEnvRunners: runners,
      runnerWorker: new URL("/runner_worker.js", self.location.href).href,
    });
  }
  const algo = await c.build();
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
        runners: r.num_env_runners ?? 1,
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
