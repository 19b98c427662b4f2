/**
 * A training run for the checkpoint tests, meant to run as its own process:
 *
 * ```sh
 * deno run -A src/train/testdata/resume_run.ts <env> straight <iters>
 * deno run -A src/train/testdata/resume_run.ts <env> first <iters> <dir>   # train, save
 * deno run -A src/train/testdata/resume_run.ts <env> second <iters> <dir>  # restore, train
 * ```
 *
 * `<env>`: `maze` (the hierarchical windy maze, two PPO policies), `relay` (the relay test env:
 * held rows, one declared and one inferred policy, periodic evaluation) or `dict` (a dict env,
 * restored by the re-seed rule). It prints one JSON line: every result without its wall-clock
 * fields, and every learning policy's weights (as hex) and learner state.
 *
 * @module
 */

import { PPOConfig } from "../../algorithms/ppo_config.ts";
import { createHierarchicalWindyMaze } from "../../envs/hierarchical_windy_maze.ts";
import { fromDictEnv } from "../../env/from_dict.ts";
import { WALKER_GROUPS, Walkers } from "../../env/_test_envs.ts";
import { Box, Discrete } from "../../spaces.ts";
import { FileStorage } from "../../runtime/files.ts";
import type { Algorithm, TrainResult } from "../algorithm.ts";
import { RelayEnv } from "./relay_env.ts";

/** The configs the checkpoint tests run. */
export function resumeConfig(env: string): PPOConfig {
  const small = { hidden: [16], numEpochs: 2, minibatchSize: 64, entropyCoeff: 0.01 };
  if (env === "maze") {
    return new PPOConfig()
      .environment(({ numEnvs, seed }) => createHierarchicalWindyMaze(numEnvs, { seed }))
      .envRunners({ numEnvs: 8, rolloutFragmentLength: 40 })
      .training(small)
      .multiAgent({
        policies: {
          high_level_policy: { config: { gamma: 0.9 } },
          low_level_policy: { config: { gamma: 0 } },
        },
        policyMappingFn: (id) =>
          id.startsWith("low_level_") ? "low_level_policy" : "high_level_policy",
      })
      .debugging({ seed: 3 });
  }
  if (env === "relay") {
    return new PPOConfig()
      .environment(({ numEnvs, seed }) => new RelayEnv(numEnvs, seed))
      .envRunners({ numEnvs: 6, rolloutFragmentLength: 7 })
      .training(small)
      .multiAgent({
        policies: {
          first: { observationSpace: new Box(0, 100, [2]), actionSpace: new Discrete(3) },
          second: { config: { lr: 1e-3 } },
        },
        policyMappingFn: (id) => id === "runner_0" ? "first" : "second",
      })
      .evaluation({ evaluationInterval: 2, evaluationDuration: 5 })
      .debugging({ seed: 5 });
  }
  if (env === "dict") {
    return new PPOConfig()
      .environment(({ numEnvs, seed }) =>
        fromDictEnv(() => new Walkers(), numEnvs, { groups: WALKER_GROUPS, seed })
      )
      .envRunners({ numEnvs: 4, rolloutFragmentLength: 9 })
      .training(small)
      .multiAgent({
        policies: ["watcher", "walker"],
        policyMappingFn: (id) => id === "watcher" ? "watcher" : "walker",
      })
      .debugging({ seed: 2 });
  }
  throw new RangeError(`Unknown env "${env}", expected maze, relay or dict`);
}

/** A result without its wall-clock fields and checkpoint path. */
export function timeless(r: TrainResult): Record<string, unknown> {
  const {
    time_this_iter_s: _a,
    time_total_s: _b,
    sample_time_s: _c,
    learn_time_s: _d,
    env_steps_per_s: _e,
    checkpoint: _f,
    ...rest
  } = r;
  if (rest.evaluation !== undefined) {
    const { time_s: _g, ...ev } = rest.evaluation;
    return { ...rest, evaluation: ev };
  }
  return rest;
}

/** Every learning policy's weights and learner state, as JSON-friendly values. */
export function snapshot(algo: Algorithm): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const id of algo.policyIds) {
    const m = algo.getModel(id);
    if (m === undefined) continue;
    const w = m.getFlatWeights();
    const state = algo.getLearner(id)?.getState?.() as Record<string, unknown> | undefined;
    out[id] = {
      weights: hex(w),
      learner: state === undefined ? null : Object.fromEntries(
        Object.entries(state).map(([k, v]) => [k, ArrayBuffer.isView(v) ? hex(v) : v]),
      ),
    };
  }
  return out;
}

function hex(a: ArrayBufferView): string {
  return Array.from(
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** JSON with NaN and infinities as strings (so they compare). */
export function stringify(x: unknown): string {
  return JSON.stringify(x, (_k, v) => typeof v === "number" && !Number.isFinite(v) ? String(v) : v);
}

if (import.meta.main) {
  const [env, mode, itersArg, dir] = Deno.args;
  const iters = Number(itersArg);
  const algo = await resumeConfig(env!).checkpointing(
    dir === undefined ? {} : { storage: new FileStorage(dir) },
  ).build();
  const results: Record<string, unknown>[] = [];
  let restored: unknown = null;
  if (mode === "second") restored = await algo.restore();
  for (let i = 0; i < iters; i++) results.push(timeless(await algo.train()));
  let saved: string | null = null;
  if (mode === "first") saved = await algo.save();
  console.log(stringify({ results, policies: snapshot(algo), saved, restored }));
  algo.dispose();
}
