/**
 * RLlib's callbacks: when each is called, what the episode object reads, custom metrics in
 * training and evaluation results, and the refusals of a malformed callbacks object.
 */

import assert from "node:assert/strict";
import { PPOConfig } from "../algorithms/ppo_config.ts";
import { createWindyMaze } from "../envs/windy_maze.ts";
import { createHierarchicalWindyMaze } from "../envs/hierarchical_windy_maze.ts";
import { createTicTacToe } from "../envs/tic_tac_toe.ts";
import type { Callbacks, EpisodeCallbackArgs } from "./callbacks.ts";

const mazeConfig = (callbacks: Callbacks, numEnvs = 4) =>
  new PPOConfig()
    .environment(({ numEnvs, seed }) => createWindyMaze(numEnvs, { seed }))
    .envRunners({ numEnvs, rolloutFragmentLength: 450 })
    .training({ hidden: [16], minibatchSize: 64, numEpochs: 1 })
    .resources({ backend: "cpu" })
    .debugging({ seed: 5 })
    .callbacks(callbacks);

Deno.test("episode callbacks: one start and one end per episode, a step per other env step", async () => {
  const starts: number[] = [], ends: { id: number; len: number; ret: number }[] = [];
  let steps = 0, inits = 0, samples = 0;
  const seen = new Set<number>();
  const algo = await mazeConfig({
    onAlgorithmInit: () => void inits++,
    onEpisodeStart: ({ episode, envIndex }) => {
      assert.equal(episode.envIndex, envIndex);
      assert.equal(episode.length, 0, "starts before its first step");
      assert.deepEqual(episode.userData, {}, "fresh user data per episode");
      episode.userData.startedAs = episode.episodeId;
      starts.push(episode.episodeId);
    },
    onEpisodeStep: ({ episode }) => {
      steps++;
      assert.equal(episode.userData.startedAs, episode.episodeId);
    },
    onEpisodeEnd: ({ episode, evaluation }) => {
      assert.equal(evaluation, false);
      assert.equal(episode.userData.startedAs, episode.episodeId, "the same episode");
      assert.ok(!seen.has(episode.episodeId), "ends once");
      seen.add(episode.episodeId);
      ends.push({ id: episode.episodeId, len: episode.length, ret: episode.totalReward });
      episode.customMetrics.len = episode.length;
      episode.customMetrics.nan = NaN;
    },
    onSampleEnd: ({ samples: s }) => {
      samples++;
      const b = (s as { policy_batches: Record<string, { count: number }> }).policy_batches;
      assert.ok(b.default_policy!.count > 0);
    },
    onTrainResult: ({ result }) => {
      result.extra = 42;
    },
  }).build();
  try {
    assert.equal(inits, 1);
    const r1 = await algo.train();
    assert.equal(samples, 1);
    assert.equal((r1 as unknown as { extra: number }).extra, 42, "onTrainResult adds fields");
    assert.equal(ends.length, r1.episodes_this_iter);
    // Every env step either continues an episode (onEpisodeStep) or ends it (onEpisodeEnd).
    assert.equal(steps + ends.length, r1.num_env_steps_sampled);
    // Initial episodes plus one per end; ids in start order.
    assert.equal(starts.length, 4 + ends.length);
    const lens = ends.map((e) => e.len);
    assert.ok(
      Math.abs(r1.custom_metrics.len_mean! - lens.reduce((a, b) => a + b) / lens.length) < 1e-9,
    );
    assert.equal(r1.custom_metrics.len_min, Math.min(...lens));
    assert.equal(r1.custom_metrics.len_max, Math.max(...lens));
    assert.ok(Number.isNaN(r1.custom_metrics.nan_mean!), "NaN values are skipped");
    // The episode metrics agree with the callbacks' view of the same episodes.
    const mean = ends.reduce((a, e) => a + e.ret, 0) / ends.length;
    assert.ok(Math.abs(r1.episode_reward_mean - mean) < 1e-9);
    assert.ok(Math.abs(r1.episode_len_mean - lens.reduce((a, b) => a + b) / lens.length) < 1e-9);

    const before = ends.length;
    const r2 = await algo.train();
    const lens2 = ends.slice(before).map((e) => e.len);
    assert.equal(lens2.length, r2.episodes_this_iter, "custom metrics are per iteration");
    assert.ok(
      Math.abs(r2.custom_metrics.len_mean! - lens2.reduce((a, b) => a + b) / lens2.length) < 1e-9,
    );
  } finally {
    algo.dispose();
  }
});

Deno.test("evaluation episodes reach the callbacks flagged, with their own custom metrics", async () => {
  const calls: string[] = [];
  let evalEnds = 0;
  const algo = await mazeConfig({
    onEvaluateStart: () => void calls.push("start"),
    onEpisodeEnd: ({ episode, evaluation }: EpisodeCallbackArgs) => {
      if (evaluation) evalEnds++;
      episode.customMetrics.evaluation = evaluation ? 1 : 0;
    },
    onEvaluateEnd: ({ evaluationMetrics }) => {
      calls.push("end");
      evaluationMetrics.tag = "seen";
    },
  }).build();
  try {
    const ev = await algo.evaluate({ episodes: 6 });
    assert.deepEqual(calls, ["start", "end"]);
    assert.equal(evalEnds, 6, "only the counted episodes");
    assert.equal(ev.custom_metrics.evaluation_mean, 1);
    assert.equal((ev as unknown as { tag: string }).tag, "seen");
    const r = await algo.train();
    assert.equal(r.custom_metrics.evaluation_mean, 0, "training episodes are not flagged");
  } finally {
    algo.dispose();
  }
});

Deno.test("episode.policyRewards splits the return by policy (hierarchical maze)", async () => {
  let checked = 0;
  const algo = await new PPOConfig()
    .environment(({ numEnvs, seed }) => createHierarchicalWindyMaze(numEnvs, { seed }))
    .envRunners({ numEnvs: 4, rolloutFragmentLength: 900 })
    .multiAgent({
      policies: { hi: { policyClass: "random" }, lo: { policyClass: "random" } },
      policyMappingFn: (id) => id.startsWith("low_level_") ? "lo" : "hi",
    })
    .callbacks({
      onEpisodeEnd: ({ episode }) => {
        const pr = episode.policyRewards;
        assert.deepEqual(Object.keys(pr).sort(), ["hi", "lo"]);
        assert.ok(Math.abs(pr.hi! + pr.lo! - episode.totalReward) < 1e-9);
        checked++;
      },
    })
    .resources({ backend: "cpu" })
    .build();
  try {
    await algo.train();
    assert.ok(checked > 0, "episodes ended");
  } finally {
    algo.dispose();
  }
});

Deno.test("the env's episode metrics are in training results too", async () => {
  const algo = await new PPOConfig()
    .environment(({ numEnvs, seed }) => createTicTacToe(numEnvs, { seed }))
    .envRunners({ numEnvs: 8, rolloutFragmentLength: 20 })
    .training({ hidden: [16], minibatchSize: 64, numEpochs: 1 })
    .resources({ backend: "cpu" })
    .build();
  try {
    const r = await algo.train();
    const m = r.custom_metrics;
    assert.ok(r.episodes_this_iter > 10);
    const total = m.player1_win_mean! + m.player2_win_mean! + m.draw_mean!;
    assert.ok(Math.abs(total - 1) < 1e-9, `every game ends one way: ${total}`);
    assert.ok(m.moves_min! >= 5 && m.moves_max! <= 9);
  } finally {
    algo.dispose();
  }
});

Deno.test("a malformed callbacks object is refused naming the key", async () => {
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    mazeConfig({ onEpisodeEnds: () => {} } as any).build(),
    /callbacks.onEpisodeEnds is not a callback; expected one of onAlgorithmInit, /,
  );
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    mazeConfig({ onEpisodeEnd: 3 } as any).build(),
    /callbacks.onEpisodeEnd must be a function, got number/,
  );
  // A class instance with helper methods and fields is fine.
  class Mine implements Callbacks {
    count = 0;
    bump(): void {
      this.count++;
    }
    onEpisodeEnd(): void {
      this.bump();
    }
  }
  const mine = new Mine();
  const algo = await mazeConfig(mine).build();
  try {
    const r = await algo.train();
    assert.equal(mine.count, r.episodes_this_iter);
  } finally {
    algo.dispose();
  }
  const bad = await mazeConfig({
    onEpisodeEnd: ({ episode }) => {
      (episode.customMetrics as Record<string, unknown>).x = "high";
    },
  }).build();
  try {
    await assert.rejects(bad.train(), /episode.customMetrics.x must be a number, got string/);
  } finally {
    bad.dispose();
  }
});
