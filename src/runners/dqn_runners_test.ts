/**
 * DQN in env runners (Web Workers): the runners post-process (n-step transitions) and send them
 * as learner columns with their batches; the trainer's learner adds them to its replay buffer.
 * It learns the chain and a masked turn-based game, and the same seed and runner count give
 * the same weights. Plus the pieces: learner columns concatenated in runner order, and the
 * validation of families that cannot sample in runners.
 */

import assert from "node:assert/strict";
import type { Algorithm, TrainResult } from "../train/algorithm.ts";
import { AlgorithmConfig } from "../train/config.ts";
import { DQN, type DQNLearner } from "../algorithms/dqn.ts";
import { config, type DQNRunnerArgs } from "./testdata/dqn_runner.ts";
import { concatLearnerColumns } from "./protocol.ts";
import { httpRunner } from "./http_runner.ts";

const MODULE = new URL("./testdata/dqn_runner.ts", import.meta.url).href;

function runners(args: DQNRunnerArgs, numEnvRunners = 2) {
  return config(args).envRunners({ numEnvRunners, runnerModule: MODULE, runnerArgs: args });
}

async function train(algo: Algorithm, n: number): Promise<TrainResult[]> {
  const out: TrainResult[] = [];
  for (let i = 0; i < n; i++) out.push(await algo.train());
  return out;
}

Deno.test("DQN with 2 Web Worker runners learns the chain; same seed, same weights", async () => {
  const a = await runners({ task: "chain" }).build();
  const b = await runners({ task: "chain" }).build();
  try {
    const ra = await train(a, 40), rb = await train(b, 40);
    assert.equal(ra[39]!.num_env_runners, 2);
    const wa = a.getModel("default_policy")!.getFlatWeights();
    assert.deepEqual(wa, b.getModel("default_policy")!.getFlatWeights());
    assert.deepEqual(
      ra.map((r) => r.episode_reward_mean),
      rb.map((r) => r.episode_reward_mean),
    );
    const learner = a.getLearner("default_policy") as DQNLearner;
    assert.ok(learner.gradientSteps > 0);
    // Every closed row became one replayed transition: 2 runners × 4 envs × 8 steps × 40,
    // less the rows still open (at most one per env).
    const open = 2 * 4 * 8 * 40 - learner.replay.size;
    assert.ok(open >= 0 && open <= 8, `${open} rows not in the replay buffer`);
    const ev = await a.evaluate();
    assert.equal(ev.episode_reward_mean, 1, `greedy return ${ev.episode_reward_mean}`);
    assert.equal(ev.episode_len_mean, 4, "the shortest way");
  } finally {
    a.dispose();
    b.dispose();
  }
});

Deno.test("DQN with 2 runners on Tic-Tac-Toe (masks) beats a random player; same seed, same weights", async () => {
  const args: DQNRunnerArgs = { task: "tictactoe" };
  const a = await runners(args).build();
  const b = await runners(args).build();
  try {
    const before = await a.evaluate();
    await train(a, 30);
    await train(b, 30);
    assert.deepEqual(
      a.getModel("player1")!.getFlatWeights(),
      b.getModel("player1")!.getFlatWeights(),
    );
    const after = await a.evaluate();
    const win = (e: typeof after) => e.custom_metrics.player1_win_mean!;
    assert.ok(
      win(after) > win(before) + 0.1 && win(after) > 0.75,
      `player1 wins ${win(before)} of its games before, ${win(after)} after`,
    );
  } finally {
    a.dispose();
    b.dispose();
  }
});

Deno.test("DQN with 2 remote runners (HTTP, in-process) trains exactly as 2 Web Worker runners", async () => {
  const args: DQNRunnerArgs = { task: "chain" };
  const handlers = [0, 1].map(() => httpRunner({ config: (a) => config(a as DQNRunnerArgs) }));
  const realFetch = globalThis.fetch;
  // The runners' HTTP bodies go through the codec as over a network, without one.
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const h = handlers[Number(url.hostname.slice("dqn".length))]!;
    return h.fetch(new Request(url, init));
  }) as typeof fetch;
  try {
    const remote = await config(args)
      .envRunners({ remoteRunners: ["http://dqn0", "http://dqn1"], runnerArgs: args })
      .build();
    const local = await runners(args).build();
    try {
      const rr = await train(remote, 12), rl = await train(local, 12);
      assert.deepEqual(
        rr.map((r) => [r.episode_reward_mean, r.info.learner.default_policy?.learner_stats.loss]),
        rl.map((r) => [r.episode_reward_mean, r.info.learner.default_policy?.learner_stats.loss]),
      );
      assert.ok((remote.getLearner("default_policy") as DQNLearner).gradientSteps > 0);
      assert.deepEqual(
        remote.getModel("default_policy")!.getFlatWeights(),
        local.getModel("default_policy")!.getFlatWeights(),
      );
    } finally {
      remote.dispose();
      local.dispose();
    }
  } finally {
    globalThis.fetch = realFetch;
  }
});

Deno.test("concatLearnerColumns: runner order, empty parts skipped, mismatches named", () => {
  const f = (...x: number[]) => Float32Array.from(x);
  const out = concatLearnerColumns([
    { count: 2, columns: { r: f(1, 2), o: f(1, 0) } },
    { count: 0, columns: null },
    { count: 1, columns: { r: f(3), o: f(0) } },
  ]);
  assert.deepEqual(out, { r: f(1, 2, 3), o: f(1, 0, 0) });
  assert.equal(concatLearnerColumns([{ count: 3, columns: null }]), undefined);
  assert.throws(
    () =>
      concatLearnerColumns([{ count: 1, columns: { r: f(1) } }, {
        count: 1,
        columns: { s: f(1) },
      }]),
    /runner 1 sent learner columns \[s\], runner 0 \[r\]/,
  );
});

Deno.test("validation: a family that does not declare samplesInRunners is refused with runners", () => {
  const custom = { ...DQN, name: "Custom", samplesInRunners: undefined };
  const c = new AlgorithmConfig(custom).environment(config().config.env!)
    .envRunners({ numEnvRunners: 2, runnerModule: MODULE });
  assert.throws(() => c.validate(), /Custom cannot sample in env runners.*samplesInRunners/);
  runners({ task: "chain" }).validate(); // DQN declares it
});
