/**
 * `Algorithm.evaluate()` and periodic evaluation: the metrics of a fixed number of episodes on
 * envs of their own, the env's `episodeMetrics` as `custom_metrics` (NaN skipped), greedy by
 * default, and training untouched by it.
 */

import assert from "node:assert/strict";
import { PPOConfig } from "../algorithms/ppo_config.ts";
import type { Algorithm } from "./algorithm.ts";
import { Box, Discrete } from "../spaces.ts";
import { RelayEnv } from "./testdata/relay_env.ts";
import { stringify, timeless } from "./testdata/resume_run.ts";

/** Runners that always move forward (scripted: no randomness from the policy). */
function scriptedRelay(maxSteps: number): PPOConfig {
  return new PPOConfig()
    .environment(
      ({ numEnvs, seed, envConfig }) => new RelayEnv(numEnvs, seed, envConfig.maxSteps as number),
      { maxSteps },
    )
    .envRunners({ numEnvs: 4, rolloutFragmentLength: 8 })
    .multiAgent({ policies: { run: { policyClass: () => 1 } }, policyMappingFn: () => "run" });
}

/** The relay with two small PPO policies. */
function learningRelay(): PPOConfig {
  return new PPOConfig()
    .environment(({ numEnvs, seed }) => new RelayEnv(numEnvs, seed))
    .envRunners({ numEnvs: 4, rolloutFragmentLength: 8 })
    .training({ hidden: [8], numEpochs: 2, minibatchSize: 32 })
    .multiAgent({
      policies: {
        a: { observationSpace: new Box(0, 100, [2]), actionSpace: new Discrete(3) },
        b: {},
      },
      policyMappingFn: (id) => id === "runner_0" ? "a" : "b",
    })
    .debugging({ seed: 4 });
}

async function withAlgo<T>(config: PPOConfig, fn: (a: Algorithm) => Promise<T>): Promise<T> {
  const algo = await config.build();
  try {
    return await fn(algo);
  } finally {
    algo.dispose();
  }
}

/** The first `quota` episodes of each env of a relay where everyone always moves forward. */
function recount(numEnvs: number, seed: number, maxSteps: number, episodes: number) {
  const env = new RelayEnv(numEnvs, seed, maxSteps);
  env.reset(seed);
  const quota = Array.from(
    { length: numEnvs },
    (_, i) => Math.floor(episodes / numEnvs) + (i < episodes % numEnvs ? 1 : 0),
  );
  const ret = new Float64Array(numEnvs), len = new Int32Array(numEnvs);
  const rets: number[] = [], lens: number[] = [], reach: number[] = [], first: number[] = [];
  while (quota.some((q) => q > 0)) {
    env.groups[0]!.act.fill(1);
    env.step();
    for (let i = 0; i < numEnvs; i++) {
      ret[i] = ret[i]! + env.rew[2 * i]! + env.rew[2 * i + 1]!;
      len[i]!++;
      if (env.envDone[i] === 0) continue;
      if (quota[i]! > 0) {
        quota[i]!--;
        rets.push(ret[i]!);
        lens.push(len[i]!);
        reach.push(env.episodeMetrics.values[2 * i]!);
        first.push(env.episodeMetrics.values[2 * i + 1]!);
      }
      ret[i] = 0;
      len[i] = 0;
    }
  }
  const mean = (xs: number[]) => {
    const ys = xs.filter((x) => !Number.isNaN(x));
    return ys.length === 0 ? NaN : ys.reduce((a, b) => a + b, 0) / ys.length;
  };
  return { rets, lens, reach, first, mean };
}

Deno.test("evaluate: K episodes, RLlib's metrics and the env's episodeMetrics, equal to an independent recount", async () => {
  await withAlgo(scriptedRelay(6), async (algo) => {
    const ev = await algo.evaluate({ episodes: 7, numEnvs: 3, seed: 11 });
    const ref = recount(3, 11, 6, 7);
    assert.equal(ev.num_episodes, 7);
    assert.equal(ev.episodes_this_iter, 7);
    assert.equal(ev.episodes_in_window, 7);
    assert.equal(ev.seed, 11);
    assert.equal(ev.explore, false);
    const close = (a: number, b: number, what: string) =>
      assert.ok(Math.abs(a - b) < 1e-5, `${what}: ${a} vs ${b}`);
    close(ev.episode_reward_mean, ref.mean(ref.rets), "episode_reward_mean");
    close(ev.episode_len_mean, ref.mean(ref.lens), "episode_len_mean");
    close(ev.episode_reward_min, Math.min(...ref.rets), "episode_reward_min");
    close(ev.custom_metrics.reach_rate_mean!, ref.mean(ref.reach), "reach_rate_mean");
    close(ev.custom_metrics.reach_rate_max!, Math.max(...ref.reach), "reach_rate_max");
    // Some episodes had no arrival (NaN): they are skipped, not counted as 0.
    assert.ok(ref.first.some(Number.isNaN) && !ref.first.every(Number.isNaN), "want a mix");
    close(ev.custom_metrics.first_arrival_mean!, ref.mean(ref.first), "first_arrival_mean");
    assert.ok(ev.policy_reward_mean.run !== undefined);
    assert.deepEqual(Object.keys(ev.custom_metrics).sort(), [
      "first_arrival_max",
      "first_arrival_mean",
      "first_arrival_min",
      "reach_rate_max",
      "reach_rate_mean",
      "reach_rate_min",
    ]);
    // Nobody ever arrives: the metric is undefined (NaN), not 0.
    const never = await withAlgo(
      scriptedRelay(6).multiAgent({
        policies: { run: { policyClass: () => 0 } },
        policyMappingFn: () => "run",
      }),
      (b) => b.evaluate({ episodes: 3 }),
    );
    assert.ok(Number.isNaN(never.custom_metrics.first_arrival_mean!));
    assert.equal(never.custom_metrics.reach_rate_mean, 0);
  });
});

Deno.test("evaluate: training is untouched; greedy by default; deterministic for a seed", async () => {
  const plain = await withAlgo(learningRelay(), async (algo) => {
    const out = [];
    for (let i = 0; i < 4; i++) out.push(timeless(await algo.train()));
    return stringify(out);
  });
  await withAlgo(learningRelay(), async (algo) => {
    const out = [];
    let greedy = "";
    for (let i = 0; i < 4; i++) {
      out.push(timeless(await algo.train()));
      const a = await algo.evaluate({ episodes: 6, seed: 3 });
      const b = await algo.evaluate({ episodes: 6, seed: 3 });
      assert.equal(a.explore, false);
      const strip = (e: typeof a) => stringify({ ...e, time_s: 0 });
      assert.equal(strip(a), strip(b), "the same seed gives the same evaluation");
      const c = await algo.evaluate({ episodes: 6, seed: 3, explore: true });
      assert.equal(c.explore, true);
      if (i === 3) greedy = strip(a);
      algo.computeSingleAction([0, 0], { policyId: "a" });
    }
    assert.equal(stringify(out), plain, "evaluating changed what training does");
    assert.ok(greedy.length > 0);
  });
});

Deno.test("evaluation interval: every k-th train() result carries an evaluation", async () => {
  const config = learningRelay().evaluation({
    evaluationInterval: 2,
    evaluationDuration: 5,
    evaluationNumEnvs: 2,
  });
  await withAlgo(config, async (algo) => {
    const evs = [];
    for (let i = 0; i < 5; i++) evs.push((await algo.train()).evaluation);
    assert.deepEqual(evs.map((e) => e?.num_episodes), [undefined, 5, undefined, 5, undefined]);
    assert.ok(evs[1]!.custom_metrics.reach_rate_mean !== undefined);
    assert.notEqual(evs[1]!.seed, evs[3]!.seed, "each evaluation sees other episodes");
  });
  assert.throws(
    () => learningRelay().evaluation({ evaluationInterval: -1 }).validate(),
    /evaluation.evaluationInterval must be an integer >= 0/,
  );
  assert.throws(
    () => learningRelay().evaluation({ evaluationDuration: 0 }).validate(),
    /evaluation.evaluationDuration must be a positive integer/,
  );
  await withAlgo(learningRelay(), async (algo) => {
    await assert.rejects(algo.evaluate({ episodes: 0 }), /episodes must be a positive integer/);
  });
});
