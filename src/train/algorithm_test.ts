/**
 * End-to-end tests of the trainer, as a user drives it: `new PPOConfig()...build()`, `train()`,
 * weights, mapping, fixed policies, rollout bookkeeping and bad input. Every run is small (a few
 * envs, short fragments, tiny MLPs) so each test takes well under two seconds.
 */

import assert from "node:assert/strict";
import type { PolicySpec } from "./settings.ts";
import { PPOConfig } from "../algorithms/ppo_config.ts";
import type { PPOHyperparams } from "../algorithms/ppo.ts";
import type { ActorCriticModel } from "../policy/model.ts";
import {
  type Algorithm,
  checkLearningAchieved,
  MIN_EPISODES_FOR_REWARD,
  rewardReached,
  shouldStop,
  type TrainResult,
} from "./algorithm.ts";
import {
  ACTIVE,
  ALIVE,
  type BatchedEnv,
  groupOfSlot,
  SlotEnv,
  type SlotGroup,
  SPAWNED,
  TERMINATED,
  TRUNCATED,
} from "../env/batched.ts";
import { BatchedEnvWrapper } from "../env/wrapper.ts";
import { fromDictEnv } from "../env/from_dict.ts";
import { moveInMaze, Nim, ScriptedDictEnv, Walkers } from "../env/_test_envs.ts";
import type { DoneDict } from "../env/multi_agent.ts";
import {
  createWindyMaze,
  WINDY_MAZE_ACTION_SPACE,
  WINDY_MAZE_OBS_SPACE,
} from "../envs/windy_maze.ts";
import {
  createHierarchicalWindyMaze,
  HIGH_LEVEL_ACTION_SPACE,
  HIGH_LEVEL_OBS_SPACE,
  LOW_LEVEL_OBS_SPACE,
} from "../envs/hierarchical_windy_maze.ts";
import { Box, Discrete } from "../spaces.ts";
import type { SampleBatch } from "../rollout/buffer.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

/** Records what the wrapped env does, step by step, without changing it. */
class SpyEnv extends BatchedEnvWrapper {
  /** Every agent appearance, in the order the env flagged them (reset and steps). */
  readonly spawns: { agentId: string; env: number }[] = [];
  /** Every truncated agent: its group and a copy of its final observation. */
  readonly truncations: { group: number; finalObs: Float32Array }[] = [];
  /** Terminated agents per group. */
  readonly terminations: number[];
  readonly rewardByGroup: number[];
  constructor(inner: BatchedEnv) {
    super(inner);
    this.terminations = inner.groups.map(() => 0);
    this.rewardByGroup = inner.groups.map(() => 0);
  }
  get groups(): readonly SlotGroup[] {
    return this.inner.groups;
  }
  reset(seed?: number): void {
    this.inner.reset(seed);
    this.#record();
  }
  step(): void {
    this.inner.step();
    this.#record();
  }
  #record(): void {
    for (let s = 0; s < this.numSlots; s++) {
      const f = this.flags[s]!, gi = groupOfSlot(this, s), g = this.groups[gi]!;
      const row = s - g.slotOffset, o = g.observationSpace.flatSize;
      this.rewardByGroup[gi]! += this.rew[s]!;
      if (f & TERMINATED) this.terminations[gi]!++;
      if (f & TRUNCATED) {
        this.truncations.push({ group: gi, finalObs: g.finalObs.slice(row * o, row * o + o) });
      }
      if (f & SPAWNED) {
        this.spawns.push({ agentId: this.agentId(s), env: Math.floor(row / g.slotsPerEnv) });
      }
    }
  }
}

const HIGH = "high_level_policy", LOW = "low_level_policy";
const hierMapping = (agentId: string) => agentId.startsWith("low_level_") ? LOW : HIGH;

/** The hierarchical windy maze, small: 4 envs × 64 steps per iteration, tiny MLPs. */
function hierConfig(
  seed: number,
  policies: Record<string, PolicySpec<PPOHyperparams>> = {
    [HIGH]: { config: { gamma: 0.9 } },
    [LOW]: { config: { gamma: 0 } },
  },
): PPOConfig {
  return new PPOConfig()
    .environment(({ numEnvs, seed }) => createHierarchicalWindyMaze(numEnvs, { seed }))
    .envRunners({ numEnvs: 4, rolloutFragmentLength: 64 })
    .training({ hidden: [16], numEpochs: 2, minibatchSize: 64 })
    .multiAgent({ policies, policyMappingFn: hierMapping })
    .debugging({ seed });
}

/** The flat windy maze, small. */
function flatConfig(seed: number, numEnvs = 2, fragment = 32): PPOConfig {
  return new PPOConfig()
    .environment(({ numEnvs, seed }) => createWindyMaze(numEnvs, { seed }))
    .envRunners({ numEnvs, rolloutFragmentLength: fragment })
    .training({ hidden: [16], numEpochs: 2, minibatchSize: 64 })
    .debugging({ seed });
}

/** Builds, runs `fn`, and always frees the models. */
async function withAlgo<T>(
  config: PPOConfig,
  fn: (algo: Algorithm) => T | Promise<T>,
): Promise<T> {
  const algo = await config.build();
  try {
    return await fn(algo);
  } finally {
    algo.dispose();
  }
}

/** A result without its wall-clock fields. */
function timeless(r: TrainResult): Record<string, unknown> {
  const {
    time_this_iter_s: _a,
    time_total_s: _b,
    sample_time_s: _c,
    learn_time_s: _d,
    env_steps_per_s: _e,
    ...rest
  } = r;
  return rest;
}

/** A policy's index (its position in the config's `policies`). */
function policyIndex(algo: Algorithm, id: string): number {
  const p = algo.policyIds.indexOf(id);
  assert.ok(p >= 0, `no policy ${id}`);
  return p;
}

/**
 * Asserts `promise` rejects with an error of `type` whose message contains every `part`. It
 * takes the promise, not a thunk: a call that throws instead of rejecting fails the test.
 */
async function rejectsWith(
  promise: Promise<unknown>,
  type: new (...args: never[]) => Error,
  ...parts: string[]
): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof type, `expected a ${type.name}, got ${caught}`);
  for (const p of parts) {
    assert.ok(caught.message.includes(p), `message ${JSON.stringify(caught.message)} lacks ${p}`);
  }
  return caught;
}

/** Same as {@linkcode rejectsWith} for a synchronous call. */
function throwsWith(
  fn: () => unknown,
  type: new (...args: never[]) => Error,
  ...parts: string[]
): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${e}`);
    for (const p of parts) {
      assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} lacks ${p}`);
    }
    return true;
  });
}

function changed(a: Float32Array[], b: Float32Array[]): boolean {
  return a.some((w, i) => w.some((x, k) => x !== b[i]![k]));
}

const nimEnv = (numEnvs: number, seed: number) =>
  fromDictEnv(() => new Nim(7), numEnvs, {
    seed,
    groups: [{
      name: "players",
      slotsPerEnv: 2,
      observationSpace: new Discrete(8),
      actionSpace: new Discrete(3),
    }],
  });

const walkersEnv = (numEnvs: number, seed: number) =>
  fromDictEnv(() => new Walkers(2, 40), numEnvs, {
    seed,
    groups: [
      {
        name: "walkers",
        slotsPerEnv: 2,
        observationSpace: new Box(0, 10, [1]),
        actionSpace: new Discrete(2),
        match: (id) => id.startsWith("w_"),
      },
      {
        name: "watcher",
        slotsPerEnv: 1,
        observationSpace: new Discrete(3),
        actionSpace: new Discrete(2),
        match: (id) => id === "watcher",
      },
    ],
  });

// ---------------------------------------------------------------------------------------------
// Results, overrides, determinism

Deno.test("train: RLlib result names and counters, per-policy overrides reach each learner", async () => {
  await withAlgo(
    hierConfig(1, {
      [HIGH]: {
        config: { gamma: 0.9, lambda: 0.8, lr: 1e-3, entropyCoeff: 0.05, hidden: [8] },
      },
      [LOW]: { config: { gamma: 0, lr: 6e-3, hidden: [16, 16] } },
    }).training({ entropyCoeff: 0.01 }),
    async (algo) => {
      const r1 = await algo.train();
      const r2 = await algo.train();
      for (
        const k of [
          "episode_reward_mean",
          "episode_reward_min",
          "episode_reward_max",
          "episode_len_mean",
          "episodes_this_iter",
          "episodes_total",
          "policy_reward_mean",
          "policy_reward_min",
          "policy_reward_max",
          "training_iteration",
          "timesteps_total",
          "num_env_steps_sampled",
          "num_agent_steps_sampled",
          "time_this_iter_s",
          "time_total_s",
          "info",
        ]
      ) assert.ok(k in r2, `result lacks ${k}`);
      assert.equal(r1.training_iteration, 1);
      assert.equal(r2.training_iteration, 2);
      assert.equal(r1.timesteps_total, 4 * 64);
      assert.equal(r2.timesteps_total, 2 * 4 * 64);
      assert.equal(r2.num_env_steps_sampled, r2.timesteps_total);
      assert.ok(r2.time_total_s >= r2.time_this_iter_s && r2.time_this_iter_s > 0);
      // High-level agents act once per goal, low-level agents every base step.
      const [hi, lo] = [HIGH, LOW].map((id) => algo.collector.agentSteps[policyIndex(algo, id)]!);
      assert.ok(hi! > 0 && lo! > 10 * hi!, `agent steps ${hi} ${lo}`);
      assert.equal(r2.num_agent_steps_sampled, hi! + lo!);
      assert.deepEqual(Object.keys(r2.info.learner).sort(), [HIGH, LOW]);
      const stats = (id: string) => r2.info.learner[id]!.learner_stats;
      for (
        const k of ["total_loss", "policy_loss", "vf_loss", "vf_explained_var", "kl", "entropy"]
      ) {
        assert.ok(Number.isFinite(stats(LOW)[k as "kl"]), `${k}`);
      }
      // Per-policy lr and entropy coefficient; the shared value where not overridden.
      assert.equal(stats(HIGH).cur_lr, 1e-3);
      assert.equal(stats(LOW).cur_lr, 6e-3);
      assert.equal(stats(HIGH).entropy_coeff, 0.05);
      assert.equal(stats(LOW).entropy_coeff, 0.01);
      assert.deepEqual((algo.getModel(HIGH) as ActorCriticModel).hidden, [8]);
      assert.deepEqual((algo.getModel(LOW) as ActorCriticModel).hidden, [16, 16]);
      assert.deepEqual(algo.getModel(LOW)!.weightSpecs[0]!.shape, [
        LOW_LEVEL_OBS_SPACE.flatSize,
        16,
      ]);
      // num_agent_steps_trained is the closed rows of this fragment.
      const lowBuf = algo.collector.buffer(policyIndex(algo, LOW))!;
      assert.equal(r2.info.learner[LOW]!.num_agent_steps_trained, lowBuf.closedCount);
      // Per policy: RLlib's per-agent-episode mean, and the per-episode module sum.
      for (const k of ["module_episode_returns_mean", "module_episode_returns_min"] as const) {
        assert.deepEqual(Object.keys(r2[k]).sort(), Object.keys(r2.policy_reward_mean).sort(), k);
      }
    },
  );
});

/**
 * GAE recomputed from a sample batch alone, one agent trajectory at a time (rows grouped by
 * episode and agent id): the successor value is V(new_obs) (0 after termination), the
 * successor advantage that of the agent's next row in the batch, when it follows at once.
 */
function referenceAdvantages(
  b: SampleBatch,
  model: ActorCriticModel,
  gamma: number,
  lambda: number,
): Float64Array {
  const O = model.obsSize;
  const v = new Float32Array(b.count);
  model.values(b.new_obs, b.count, v);
  const adv = new Float64Array(b.count);
  const nextOf = new Map<string, number>();
  for (let i = b.count - 1; i >= 0; i--) {
    const key = `${b.eps_id[i]}/${b.agent_ids[i]}`;
    const n = nextOf.get(key);
    // The agent's next row continues this one when its observation is this row's new_obs.
    const continues = n !== undefined && b.terminateds[i] === 0 && b.truncateds[i] === 0 &&
      b.obs.subarray(n * O, n * O + O).every((x, k) => x === b.new_obs[i * O + k]);
    const nextValue = b.terminateds[i] === 1 ? 0 : v[i]!;
    const delta = b.rewards[i]! + gamma * nextValue - b.vf_preds![i]!;
    adv[i] = delta + (continues ? gamma * lambda * adv[n!]! : 0);
    nextOf.set(key, i);
  }
  return adv;
}

Deno.test("train: per-policy gamma and lambda are the ones GAE uses", async () => {
  const gamma = 0.9, lambda = 0.8;
  await withAlgo(
    hierConfig(2, {
      [HIGH]: { config: { gamma, lambda } },
      [LOW]: { config: { gamma: 0 } },
    }),
    async (algo) => {
      await algo.train();
      const { policy_batches: pb } = await algo.sample();
      // gamma 0: every low-level value target is the transition's own reward.
      const low = pb[LOW]!;
      let nonzero = 0;
      for (let i = 0; i < low.count; i++) {
        if (low.rewards[i] !== 0) nonzero++;
        assert.ok(Math.abs(low.value_targets![i]! - low.rewards[i]!) < 1e-6, `row ${i}`);
      }
      assert.ok(low.count > 100 && nonzero > 10, `closed ${low.count}, rewarded ${nonzero}`);
      // High level: GAE with its own gamma 0.9 and lambda 0.8 (not the shared 0.99 / 0.95).
      const high = pb[HIGH]!;
      const ref = referenceAdvantages(high, algo.getModel(HIGH) as ActorCriticModel, gamma, lambda);
      for (let i = 0; i < high.count; i++) {
        assert.ok(
          Math.abs(high.advantages![i]! - ref[i]!) < 1e-4,
          `row ${i}: ${high.advantages![i]} vs ${ref[i]}`,
        );
        assert.ok(
          Math.abs(high.value_targets![i]! - (high.advantages![i]! + high.vf_preds![i]!)) < 1e-5,
        );
      }
      assert.ok(high.count >= 4, `high-level rows: ${high.count}`);
      // The shared 0.99 / 0.95 would give other advantages.
      const other = referenceAdvantages(high, algo.getModel(HIGH) as ActorCriticModel, 0.99, 0.95);
      assert.ok(other.some((x, i) => Math.abs(x - high.advantages![i]!) > 1e-3));
    },
  );
});

Deno.test("train: same seed, same results and weights; another seed differs", async () => {
  const runTwo = (seed: number) =>
    withAlgo(hierConfig(seed), async (algo) => {
      const results = [timeless(await algo.train()), timeless(await algo.train())];
      return { results, hi: algo.getWeights(HIGH), lo: algo.getWeights(LOW) };
    });
  const a = await runTwo(3), b = await runTwo(3), c = await runTwo(4);
  assert.deepEqual(a.results, b.results);
  assert.deepEqual(a.hi, b.hi);
  assert.deepEqual(a.lo, b.lo);
  // The learners really ran (a run of no-ops would be trivially reproducible).
  const stats = a.results[1]!.info as TrainResult["info"];
  assert.ok(stats.learner[LOW]!.learner_stats.grad_gnorm! > 0);
  assert.ok(changed(a.lo, c.lo) && changed(a.hi, c.hi), "seed 4 gave seed 3's weights");
  assert.notDeepEqual(a.results, c.results);
});

Deno.test("computeSingleAction between iterations does not change what training does", async () => {
  const run = (evaluate: boolean) =>
    withAlgo(flatConfig(5), async (algo) => {
      await algo.train();
      if (evaluate) {
        for (let i = 0; i < 5; i++) {
          algo.computeSingleAction([[1, 1], i % 4], { explore: true });
        }
      }
      await algo.train();
      return algo.getWeights("default_policy");
    });
  assert.deepEqual(await run(true), await run(false));
});

// ---------------------------------------------------------------------------------------------
// Which policies learn; frozen copies and weights

Deno.test("policiesToTrain as a list: a policy not in it keeps its weights exactly", async () => {
  await withAlgo(
    hierConfig(6).multiAgent({
      policies: {
        // Declared spaces: built before any agent appears, so its initial weights are readable.
        [HIGH]: { observationSpace: HIGH_LEVEL_OBS_SPACE, actionSpace: HIGH_LEVEL_ACTION_SPACE },
        [LOW]: { config: { gamma: 0 } },
      },
      policyMappingFn: hierMapping,
      policiesToTrain: [LOW],
    }),
    async (algo) => {
      const hi0 = algo.getWeights(HIGH);
      await algo.train();
      const lo1 = algo.getWeights(LOW);
      const r = await algo.train();
      assert.deepEqual(algo.getWeights(HIGH), hi0);
      assert.ok(changed(algo.getWeights(LOW), lo1), "the trained policy did not change");
      assert.deepEqual(Object.keys(r.info.learner), [LOW]);
      assert.equal(algo.collector.buffer(policyIndex(algo, HIGH)), undefined, "frozen records");
      // The frozen policy still acts.
      assert.ok(algo.collector.agentSteps[policyIndex(algo, HIGH)]! > 0);
    },
  );
});

Deno.test("policiesToTrain as a predicate", async () => {
  await withAlgo(
    hierConfig(7).multiAgent({
      policies: { [HIGH]: { config: { gamma: 0.9 } }, [LOW]: { config: { gamma: 0 } } },
      policyMappingFn: hierMapping,
      policiesToTrain: (id) => id === HIGH,
    }),
    async (algo) => {
      await algo.train();
      const lo1 = algo.getWeights(LOW), hi1 = algo.getWeights(HIGH);
      await algo.train();
      const r = await algo.train();
      assert.deepEqual(algo.getWeights(LOW), lo1);
      assert.ok(changed(algo.getWeights(HIGH), hi1));
      assert.deepEqual(Object.keys(r.info.learner), [HIGH]);
    },
  );
});

Deno.test("self-play: copyWeights snapshots the learner into a frozen ppo policy", async () => {
  await withAlgo(
    new PPOConfig()
      .environment(({ numEnvs, seed }) => nimEnv(numEnvs, seed))
      .envRunners({ numEnvs: 8, rolloutFragmentLength: 32 })
      .training({ hidden: [16], numEpochs: 2, minibatchSize: 64 })
      .multiAgent({
        policies: { main: {}, frozen: {} },
        policyMappingFn: (id) => id === "p1" ? "main" : "frozen",
        policiesToTrain: ["main"],
      })
      .debugging({ seed: 8 }),
    async (algo) => {
      await algo.train();
      assert.ok(changed(algo.getWeights("main"), algo.getWeights("frozen")));
      algo.copyWeights("main", "frozen");
      const snapshot = algo.getWeights("frozen");
      assert.deepEqual(snapshot, algo.getWeights("main"));
      const r = await algo.train();
      await algo.train();
      assert.deepEqual(algo.getWeights("frozen"), snapshot, "the frozen copy changed");
      assert.ok(changed(algo.getWeights("main"), snapshot), "main stopped learning");
      assert.deepEqual(Object.keys(r.info.learner), ["main"]);
      // getWeights returns copies: changing one changes nothing.
      snapshot[0]![0] = 1234;
      assert.notEqual(algo.getWeights("frozen")[0]![0], 1234);
    },
  );
});

Deno.test("setWeights/copyWeights/getWeights: bad input is refused and changes nothing", async () => {
  await withAlgo(
    hierConfig(9, {
      [HIGH]: { config: { hidden: [8] } },
      [LOW]: {},
      scripted: { policyClass: () => 0 },
    }),
    async (algo) => {
      throwsWith(() => algo.getWeights(HIGH), Error, HIGH, "no model");
      await algo.train();
      const w = algo.getWeights(LOW);
      const specs = algo.getModel(LOW)!.weightSpecs;
      throwsWith(
        () => algo.setWeights(LOW, w.slice(1)),
        RangeError,
        `expected ${w.length} arrays`,
        `got ${w.length - 1}`,
      );
      const short = w.map((a, i) => i === 2 ? a.slice(1) : a);
      throwsWith(
        () => algo.setWeights(LOW, short),
        RangeError,
        specs[2]!.name,
        `[${specs[2]!.shape.join(", ")}]`,
        `got ${w[2]!.length - 1}`,
      );
      const nan = w.map((a, i) => i === 1 ? a.map((x, k) => k === 3 ? NaN : x) : a);
      throwsWith(() => algo.setWeights(LOW, nan), RangeError, specs[1]!.name, "NaN");
      // Different hidden sizes: the shapes differ.
      throwsWith(() => algo.copyWeights(LOW, HIGH), RangeError, "needs", "got");
      assert.deepEqual(algo.getWeights(LOW), w, "a refused setWeights changed the weights");
      throwsWith(() => algo.getWeights("nope"), RangeError, `"nope"`, `"${HIGH}"`, `"scripted"`);
      throwsWith(() => algo.getWeights("scripted"), Error, `"scripted"`, "no model");
      // A good setWeights round-trips exactly.
      const doubled = w.map((a) => a.map((x) => 2 * x));
      algo.setWeights(LOW, doubled);
      assert.deepEqual(algo.getWeights(LOW), doubled);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Policy mapping

Deno.test("policyMappingFn: called once per agent, when it first appears, with its episode", async () => {
  let spy: SpyEnv | undefined;
  const calls: { agentId: string; episodeId: number; envIndex: number }[] = [];
  await withAlgo(
    new PPOConfig()
      .environment(({ numEnvs, seed }) =>
        spy = new SpyEnv(createHierarchicalWindyMaze(numEnvs, { seed }))
      )
      .envRunners({ numEnvs: 3, rolloutFragmentLength: 150 })
      .multiAgent({
        policies: { hi: { policyClass: "random" }, lo: { policyClass: "random" } },
        policyMappingFn: (agentId, episode) => {
          calls.push({ agentId, episodeId: episode.episodeId, envIndex: episode.envIndex });
          return agentId.startsWith("low_level_") ? "lo" : "hi";
        },
      })
      .debugging({ seed: 10 }),
    async (algo) => {
      assert.equal(calls.length, 0, "called before any agent appeared");
      const r1 = await algo.train();
      const r2 = await algo.train();
      assert.ok(r1.episodes_total + r2.episodes_this_iter >= 3, "need finished episodes");
      // Exactly one call per appearance, in the order the env spawned the agents.
      assert.deepEqual(
        calls.map((c) => [c.agentId, c.envIndex]),
        spy!.spawns.map((s) => [s.agentId, s.env]),
      );
      // Per episode: high_level_agent once, then low_level_1, low_level_2, ... each once.
      const byEpisode = new Map<number, typeof calls>();
      for (const c of calls) {
        if (!byEpisode.has(c.episodeId)) byEpisode.set(c.episodeId, []);
        byEpisode.get(c.episodeId)!.push(c);
      }
      assert.ok(byEpisode.size >= 6, `${byEpisode.size} episodes`);
      const envOfEpisode = new Map<number, number>();
      for (const [id, cs] of byEpisode) {
        assert.deepEqual(
          cs.map((c) => c.agentId),
          ["high_level_agent", ...cs.slice(1).map((_, n) => `low_level_${n + 1}`)],
          `episode ${id}`,
        );
        assert.ok(cs.length > 2);
        assert.equal(new Set(cs.map((c) => c.envIndex)).size, 1, "an episode spans envs");
        envOfEpisode.set(id, cs[0]!.envIndex);
      }
      // Every env ran several episodes, each with a new id.
      for (let e = 0; e < 3; e++) {
        const ids = [...envOfEpisode].filter(([, env]) => env === e).map(([id]) => id);
        assert.ok(ids.length >= 2, `env ${e} saw episodes ${ids}`);
      }
      assert.equal(calls.filter((c) => c.agentId === "high_level_agent").length, byEpisode.size);
    },
  );
});

Deno.test("policyMappingFn: an unknown policy id names the agent, the id and the known ids", async () => {
  await withAlgo(
    hierConfig(11).multiAgent({
      policies: { [HIGH]: {}, [LOW]: {} },
      policyMappingFn: (id) => id.startsWith("low_level_") ? "low_policy" : HIGH,
    }),
    async (algo) => {
      await rejectsWith(
        algo.train(),
        RangeError,
        `"low_policy"`,
        `"low_level_1"`,
        `"${HIGH}"`,
        `"${LOW}"`,
      );
    },
  );
});

Deno.test("one policy shared by both players of a dict env", async () => {
  const mapped = new Set<string>();
  await withAlgo(
    new PPOConfig()
      .environment(({ numEnvs, seed }) => nimEnv(numEnvs, seed))
      .envRunners({ numEnvs: 4, rolloutFragmentLength: 40 })
      .training({ hidden: [16], numEpochs: 2, minibatchSize: 64 })
      .multiAgent({
        policies: { shared: {} },
        policyMappingFn: (id) => (mapped.add(id), "shared"),
      })
      .debugging({ seed: 12 }),
    async (algo) => {
      const r = await algo.train();
      assert.deepEqual([...mapped].sort(), ["p1", "p2"]);
      // One agent acts per Nim step: every action of both players went through the policy.
      assert.equal(r.num_agent_steps_sampled, 4 * 40);
      assert.equal(algo.collector.agentSteps[0], 4 * 40);
      const buf = algo.collector.buffer(0)!;
      assert.equal(buf.size, 4 * 40, "one row per action");
      // Both players' rewards go to the shared policy: its per-episode sum is the episode's
      // return, and its per-agent mean (RLlib's policy_reward_mean) is half of it: two players.
      assert.ok(r.episodes_total > 10);
      assert.ok(Math.abs(r.module_episode_returns_mean.shared! - r.episode_reward_mean) < 1e-9);
      assert.ok(Math.abs(r.policy_reward_mean.shared! - r.episode_reward_mean / 2) < 1e-9);
      assert.ok(r.info.learner.shared!.num_agent_steps_trained > 100);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Spaces

Deno.test("spaces: inferred from the first agent when omitted", async () => {
  await withAlgo(hierConfig(13), async (algo) => {
    assert.equal(algo.getPolicy(HIGH), undefined);
    throwsWith(
      () => algo.computeSingleAction([[1, 1], 0], { policyId: HIGH }),
      Error,
      HIGH,
      "no spaces",
    );
    // Two policies and no "default_policy": the caller must say which.
    throwsWith(() => algo.computeSingleAction([[1, 1], 0]), RangeError, "opts.policyId", LOW);
    await algo.train();
    const hi = algo.getModel(HIGH) as ActorCriticModel, lo = algo.getModel(LOW) as ActorCriticModel;
    assert.equal(hi.obsSize, HIGH_LEVEL_OBS_SPACE.flatSize);
    assert.equal(hi.actionSpace.toString(), "Discrete(4)");
    assert.equal(lo.obsSize, LOW_LEVEL_OBS_SPACE.flatSize);
    assert.equal(lo.actionSpace.toString(), "Discrete(2)");
    const a = algo.computeSingleAction([[1, 1], 2], { policyId: HIGH });
    assert.ok(HIGH_LEVEL_ACTION_SPACE.contains(a));
  });
});

Deno.test("spaces: a declared space that differs from the agent's names policy, agent and both", async () => {
  await withAlgo(
    hierConfig(14, {
      [HIGH]: {},
      [LOW]: { observationSpace: WINDY_MAZE_OBS_SPACE, actionSpace: WINDY_MAZE_ACTION_SPACE },
    }),
    async (algo) => {
      await rejectsWith(
        algo.train(),
        RangeError,
        `"${LOW}"`,
        `"low_level_1"`,
        WINDY_MAZE_OBS_SPACE.toString(),
        LOW_LEVEL_OBS_SPACE.toString(),
      );
    },
  );
  await withAlgo(
    hierConfig(14, { [HIGH]: { actionSpace: new Discrete(3) }, [LOW]: {} }),
    async (algo) => {
      await rejectsWith(
        algo.train(),
        RangeError,
        `"${HIGH}"`,
        `"high_level_agent"`,
        "action space",
        "Discrete(3)",
        "Discrete(4)",
      );
    },
  );
});

Deno.test("spaces: agents of two groups with different spaces cannot share a policy", async () => {
  await withAlgo(
    new PPOConfig()
      .environment(({ numEnvs, seed }) => walkersEnv(numEnvs, seed))
      .envRunners({ numEnvs: 2, rolloutFragmentLength: 20 })
      .multiAgent({ policies: { everyone: {} }, policyMappingFn: () => "everyone" })
      .debugging({ seed: 15 }),
    async (algo) => {
      // Whichever agent came first gave the policy its spaces; the message says which.
      const e = await rejectsWith(
        algo.train(),
        RangeError,
        `"everyone"`,
        "inferred from agent",
        "Box(0, 10, [1])",
        "Discrete(3)",
      );
      assert.ok(!e.message.includes("declares"), e.message);
      assert.match(e.message, /agent "(watcher|w_\d+)".*agent "(watcher|w_\d+)"/);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Fixed policies

Deno.test("fixed policies: random and scripted act, are never trained and have no model", async () => {
  let scriptedCalls = 0;
  const goals = new Set<number>(), rowSizes = new Set<number>();
  await withAlgo(
    hierConfig(16, {
      [HIGH]: { policyClass: "random" },
      [LOW]: {
        policyClass: (obs) => {
          scriptedCalls++;
          rowSizes.add(obs.length);
          goals.add(obs.subarray(6).indexOf(1)); // the goal, one-hot after the flat obs
          return 1; // always move with the wind
        },
      },
    }),
    async (algo) => {
      // 4 × 64 steps: the first episodes (about 208 steps) end.
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await algo.train());
      const [hi, lo] = [HIGH, LOW].map((id) => policyIndex(algo, id));
      for (const r of results) assert.deepEqual(r.info.learner, {});
      const r2 = results[3]!;
      assert.equal(scriptedCalls, algo.collector.agentSteps[lo!]);
      assert.ok(scriptedCalls > 400);
      assert.deepEqual([...rowSizes], [LOW_LEVEL_OBS_SPACE.flatSize]);
      // The random high level picked every goal.
      assert.deepEqual([...goals].sort(), [0, 1, 2, 3]);
      assert.ok(algo.collector.agentSteps[hi!]! > 4);
      for (const id of [HIGH, LOW]) {
        assert.equal(algo.getModel(id), undefined);
        assert.equal(algo.collector.buffer(policyIndex(algo, id)), undefined);
        throwsWith(() => algo.getWeights(id), Error, "no model");
      }
      assert.ok(r2.episodes_total > 0 && Number.isFinite(r2.policy_reward_mean[LOW]!));
    },
  );
});

Deno.test("fixed policies: a scripted low level under a learning high level", async () => {
  const created: string[] = [];
  await withAlgo(
    hierConfig(17, {
      [HIGH]: { config: { gamma: 0.9 } },
      [LOW]: {
        policyClass: {
          create: (obsSpace, actSpace) => {
            created.push(`${obsSpace} -> ${actSpace}`);
            return {
              obsSize: obsSpace.flatSize,
              actSize: actSpace.packedSize,
              act: (_obs, rows, _rng, _explore, actions) => {
                actions.fill(1, 0, rows);
              },
            };
          },
        },
      },
    }),
    async (algo) => {
      const w0 = (await algo.train(), algo.getWeights(HIGH));
      const r = await algo.train();
      assert.deepEqual(created, [`${LOW_LEVEL_OBS_SPACE} -> Discrete(2)`]);
      assert.deepEqual(Object.keys(r.info.learner), [HIGH]);
      assert.ok(changed(algo.getWeights(HIGH), w0));
    },
  );
});

Deno.test("fixed policies: a scripted function returning the wrong number of values", async () => {
  await withAlgo(
    hierConfig(18, { [HIGH]: { policyClass: "random" }, [LOW]: { policyClass: () => [1, 0] } }),
    async (algo) => {
      await rejectsWith(
        algo.train(),
        RangeError,
        "returned 2 numbers",
        "expected 1",
        "Discrete(2)",
      );
    },
  );
  await withAlgo(
    hierConfig(18, { [HIGH]: { policyClass: "random" }, [LOW]: { policyClass: () => 5 } }),
    async (algo) => {
      await rejectsWith(algo.train(), RangeError, "low_level_1", "5", "Discrete(2)");
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Rollout bookkeeping

Deno.test("rollout: a truncated agent bootstraps with V(final observation)", async () => {
  let spy: SpyEnv | undefined;
  const N = 2;
  await withAlgo(
    flatConfig(19, N, 230).environment(({ numEnvs, seed }) =>
      spy = new SpyEnv(createWindyMaze(numEnvs, { seed }))
    ),
    async (algo) => {
      // One fragment, no update: the model is the one that acted.
      const b = (await algo.sample()).policy_batches.default_policy!;
      const model = algo.getModel("default_policy") as ActorCriticModel;
      assert.equal(spy!.terminations[0], 0, "pick a seed where nobody reaches the finish");
      assert.equal(spy!.truncations.length, N);
      // One agent per env, acting every step: row t·N + e is env e's step t; the last step of
      // each env is still open, so N·229 rows are closed.
      assert.equal(b.count, N * 229);
      for (let t = 0; t < 229; t++) {
        for (let e = 0; e < N; e++) {
          const i = t * N + e;
          assert.equal(b.truncateds[i], t === 199 ? 1 : 0, `row ${i}`);
          assert.equal(b.terminateds[i], 0);
          assert.equal(b.t[i], t < 200 ? t : t - 200, `t of row ${i}`);
          assert.equal(b.eps_id[i], t < 200 ? e : N + e, `eps_id of row ${i}`);
        }
      }
      const finals = new Float32Array(N * 6);
      spy!.truncations.forEach((t, k) => finals.set(t.finalObs, k * 6));
      const v = new Float32Array(N);
      model.values(finals, N, v);
      for (let e = 0; e < N; e++) {
        const i = 199 * N + e, o = b.obs.subarray(i * 6, i * 6 + 6);
        // The final observation is this row's position moved by this row's action.
        const wind = o.subarray(2).indexOf(1);
        const [r, c] = b.actions[i] === 1 ? moveInMaze(o[0]!, o[1]!, wind) : [o[0]!, o[1]!];
        assert.deepEqual([finals[e * 6], finals[e * 6 + 1]], [r, c]);
        assert.deepEqual(b.new_obs.subarray(i * 6, i * 6 + 6), finals.subarray(e * 6, e * 6 + 6));
        // GAE bootstraps the truncated row with V(final obs): the trajectory ends there.
        const expected = b.rewards[i]! + 0.99 * v[e]! - b.vf_preds![i]!;
        assert.ok(Math.abs(b.advantages![i]! - expected) < 1e-5, `${b.advantages![i]} ${expected}`);
        assert.notEqual(v[e], 0);
      }
    },
  );
});

Deno.test("rollout: agents appearing and ending mid-episode; every reward lands in one row", async () => {
  let spy: SpyEnv | undefined;
  await withAlgo(
    new PPOConfig()
      .environment(({ numEnvs, seed }) => spy = new SpyEnv(walkersEnv(numEnvs, seed)))
      // Fragments of 4 steps: the watcher acts every 3rd step, so it often waits across a cut,
      // and walkers that end are held until their episode ends.
      .envRunners({ numEnvs: 3, rolloutFragmentLength: 4 })
      .training({ hidden: [8], numEpochs: 1, minibatchSize: 128 })
      .multiAgent({
        policies: { walker: {}, watcher: {} },
        policyMappingFn: (id) => id === "watcher" ? "watcher" : "walker",
      })
      .debugging({ seed: 20 }),
    async (algo) => {
      const sums: Record<string, { rows: number; rew: number; term: number; trunc: number }> = {
        walker: { rows: 0, rew: 0, term: 0, trunc: 0 },
        watcher: { rows: 0, rew: 0, term: 0, trunc: 0 },
      };
      for (let f = 0; f < 40; f++) {
        const { policy_batches } = await algo.sample();
        for (const [id, b] of Object.entries(policy_batches)) {
          const s = sums[id]!;
          s.rows += b.count;
          for (let i = 0; i < b.count; i++) {
            s.rew += b.rewards[i]!;
            s.term += b.terminateds[i]!;
            s.trunc += b.truncateds[i]!;
          }
        }
      }
      const env = spy!;
      assert.ok(env.spawns.filter((s) => s.agentId !== "watcher").length > 10);
      for (const [id, g] of [["walker", 0], ["watcher", 1]] as const) {
        const p = policyIndex(algo, id), buf = algo.collector.buffer(p)!;
        // Rows not closed yet: the open ones and the held ones of episodes still running.
        let pendingRows = 0, pendingRew = 0;
        for (let i = 0; i < buf.size; i++) {
          if (buf.closed(i)) continue;
          pendingRows++;
          pendingRew += buf.rewards[i]!;
        }
        // Every action is one row, closed once or still pending; every reward is in one row.
        assert.equal(sums[id]!.rows + pendingRows, algo.collector.agentSteps[p], `${id} rows`);
        assert.ok(
          Math.abs(sums[id]!.rew + pendingRew - env.rewardByGroup[g]!) < 1e-3,
          `${id}: ${sums[id]!.rew} + ${pendingRew} vs ${env.rewardByGroup[g]}`,
        );
      }
      assert.ok(sums.walker!.term > 5, "walkers arrived");
      assert.ok(sums.watcher!.trunc >= 3, "watchers were truncated");
      assert.ok(env.rewardByGroup[1]! > 0, "the watcher was paid while waiting");
      // And both policies train on it.
      const r = await algo.train();
      assert.deepEqual(Object.keys(r.info.learner).sort(), ["walker", "watcher"]);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// NaN

/** One agent per env on a line; env 1 emits observation `bad` at step `nanAt`. */
class NanEnv extends SlotEnv {
  #t = 0;
  readonly nanAt: number;
  readonly bad: number;
  constructor(numEnvs: number, nanAt: number, bad = NaN) {
    super(numEnvs, [{
      name: "liners",
      slotsPerEnv: 1,
      observationSpace: new Box(-10, 10, [2]),
      actionSpace: new Discrete(2),
    }]);
    this.nanAt = nanAt;
    this.bad = bad;
  }
  agentId(slot: number): string {
    return `liner_${slot}`;
  }
  reset(): void {
    this.#t = 0;
    this.groups[0]!.obs.fill(0);
    this.flags.fill(SPAWNED | ACTIVE | ALIVE);
  }
  step(): void {
    this.#t++;
    const obs = this.groups[0]!.obs;
    for (let e = 0; e < this.numEnvs; e++) {
      obs[2 * e] = (this.#t % 7) - 3;
      obs[2 * e + 1] = this.groups[0]!.act[e]!;
      this.rew[e] = this.groups[0]!.act[e]!;
      this.flags[e] = ACTIVE | ALIVE;
    }
    if (this.#t === this.nanAt) obs[2 * 1 + 1] = this.bad;
  }
}

Deno.test("NaN observation: train() throws naming the agent and NaN", async () => {
  await withAlgo(
    new PPOConfig()
      .environment(({ numEnvs }) => new NanEnv(numEnvs, 40))
      .envRunners({ numEnvs: 3, rolloutFragmentLength: 16 }),
    async (algo) => {
      await algo.train();
      await algo.train(); // steps 1..32 are clean
      await rejectsWith(algo.train(), RangeError, `"liner_1"`, "NaN", "Box(-10, 10, [2])");
    },
  );
  // Infinity too: the message promises finite values.
  await withAlgo(
    new PPOConfig()
      .environment(({ numEnvs }) => new NanEnv(numEnvs, 3, -Infinity))
      .envRunners({ numEnvs: 3, rolloutFragmentLength: 16 }),
    async (algo) => {
      await rejectsWith(algo.train(), RangeError, `"liner_1"`, "-Infinity", "flat index 1");
    },
  );
});

Deno.test("NaN loss: train() throws naming the policy and the last good weights remain", async () => {
  await withAlgo(
    flatConfig(21).multiAgent({
      policies: {
        default_policy: {
          observationSpace: WINDY_MAZE_OBS_SPACE,
          actionSpace: WINDY_MAZE_ACTION_SPACE,
        },
      },
      policyMappingFn: () => "default_policy",
    }),
    async (algo) => {
      await algo.train();
      // A value head scaled up so far that its gradient overflows float32.
      const specs = algo.getModel("default_policy")!.weightSpecs;
      const k = specs.findIndex((s) => s.name === "vf/out/kernel");
      assert.ok(k >= 0);
      const huge = algo.getWeights("default_policy").map((w, i) => i === k ? w.map(() => 1e30) : w);
      algo.setWeights("default_policy", huge);
      const e = await rejectsWith(algo.train(), Error, `"default_policy"`, "restored");
      assert.match(e.message, /(loss|grad_gnorm|weights).* (is|are) (not finite|NaN|-?Infinity)/);
      assert.deepEqual(algo.getWeights("default_policy"), huge);
      assert.equal(algo.iteration, 1);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// computeSingleAction

Deno.test("computeSingleAction: a valid action; greedy is the argmax; it explores by default; bad input names the policy", async () => {
  await withAlgo(
    flatConfig(22).multiAgent({
      policies: {
        default_policy: {
          observationSpace: WINDY_MAZE_OBS_SPACE,
          actionSpace: WINDY_MAZE_ACTION_SPACE,
        },
        rnd: { policyClass: "random" },
      },
      policyMappingFn: () => "default_policy",
    }),
    async (algo) => {
      await algo.train();
      const model = algo.getModel("default_policy") as ActorCriticModel;
      const logits = new Float32Array(2), value = new Float32Array(1);
      const seen = new Set<unknown>();
      for (let wind = 0; wind < 4; wind++) {
        const obs = [Float32Array.of(1, 3), wind];
        const a = algo.computeSingleAction(obs, { explore: false });
        assert.ok(WINDY_MAZE_ACTION_SPACE.contains(a), `action ${a}`);
        for (let i = 0; i < 3; i++) {
          assert.equal(algo.computeSingleAction(obs, { explore: false }), a);
        }
        const row = new Float32Array(6);
        WINDY_MAZE_OBS_SPACE.flatten(obs, row);
        model.forward(row, 1, logits, value);
        assert.equal(a, logits[1]! > logits[0]! ? 1 : 0);
        for (let i = 0; i < 50; i++) seen.add(algo.computeSingleAction(obs, { explore: true }));
      }
      assert.deepEqual([...seen].sort(), [0, 1], "exploring never sampled both actions");
      // RLlib's default: explore. The fresh policy is near uniform, so both actions appear.
      const byDefault = new Set<unknown>();
      for (let i = 0; i < 50; i++) byDefault.add(algo.computeSingleAction([[1, 3], 0]));
      assert.deepEqual([...byDefault].sort(), [0, 1], "the default does not explore");
      throwsWith(
        () => algo.computeSingleAction([[1, 1], 7]),
        RangeError,
        `"default_policy"`,
        "7",
        "[0, 3]",
      );
      throwsWith(
        () => algo.computeSingleAction([[1, 1], 0], { policyId: "nope" }),
        RangeError,
        `"nope"`,
        `"default_policy"`,
      );
      // A fixed policy with inferred spaces has none until an agent maps to it.
      throwsWith(() => algo.computeSingleAction([[1, 1], 0], { policyId: "rnd" }), Error, `"rnd"`);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Stop criteria

Deno.test("stop criteria: any one stops; the reward counts only over a full window", () => {
  const result = (iter: number, steps: number, reward: number, episodes: number) =>
    ({
      training_iteration: iter,
      timesteps_total: steps,
      episode_reward_mean: reward,
      episodes_in_window: episodes,
    }) as TrainResult;
  const full = MIN_EPISODES_FOR_REWARD;
  assert.equal(MIN_EPISODES_FOR_REWARD, 100);
  assert.ok(shouldStop(result(5, 100, 0, 0), { training_iteration: 5 }));
  assert.ok(!shouldStop(result(4, 100, 0, 0), { training_iteration: 5 }));
  assert.ok(shouldStop(result(1, 5000, 0, 0), { timesteps_total: 4096 }));
  assert.ok(!shouldStop(result(1, 4000, 0, 0), { timesteps_total: 4096 }));
  assert.ok(shouldStop(result(1, 1, 80, full), { episode_reward_mean: 80 }));
  assert.ok(!shouldStop(result(1, 1, 79.9, full), { episode_reward_mean: 80 }));
  // A few lucky first episodes do not count.
  assert.ok(!shouldStop(result(1, 1, 100, full - 1), { episode_reward_mean: 80 }));
  assert.ok(!shouldStop(result(1, 1, NaN, 0), { episode_reward_mean: 80 }));
  assert.ok(!rewardReached(result(1, 1, 100, 3), 80));
  // Any criterion: iterations reached although the reward was not.
  const stop = { training_iteration: 3, timesteps_total: 10_000, episode_reward_mean: 80 };
  assert.ok(shouldStop(result(3, 10, 0, full), stop));
  assert.ok(!shouldStop(result(2, 10, 0, full), stop));
  assert.ok(!shouldStop(result(2, 10, 0, full), {}), "no criteria: never stop");

  checkLearningAchieved([result(1, 1, 10, full), result(2, 2, 85, full)], 80);
  assert.throws(
    () => checkLearningAchieved([result(1, 1, 95, 10), result(2, 2, 60, full)], 80),
    (e: unknown) =>
      e instanceof Error && e.message.includes("60") && e.message.includes(">= 80") &&
      !e.message.includes("95"),
  );
});

// ---------------------------------------------------------------------------------------------
// Schedules and sample batches

Deno.test("lr schedule: applied before each fragment is sampled, from the steps sampled before it", async () => {
  // 2 envs × 32 steps = 64 env steps per iteration; lr anneals from 1e-2 to 0 over 256 steps.
  await withAlgo(
    flatConfig(3).training({ lr: 1e-2, lrFinal: 0, lrAnnealTimesteps: 256 }),
    async (algo) => {
      const lrs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await algo.train();
        lrs.push(r.info.learner.default_policy!.learner_stats.cur_lr!);
      }
      // Iteration k (from 0) samples after 64·k steps: lr = 1e-2 · (1 − 64k/256).
      lrs.forEach((lr, k) =>
        assert.ok(Math.abs(lr - 1e-2 * Math.max(0, 1 - (64 * k) / 256)) < 1e-12, `iter ${k}: ${lr}`)
      );
    },
  );
});

Deno.test("sample(): PPO's columns on a scripted episode, by hand", async () => {
  // One env; agent "a" acts at every step and sees [t]; it is paid t+1 after its t-th action;
  // the episode is truncated after 3 steps (so its last row bootstraps with V([3])).
  const script = [1, 2, 3].map((k) => ({
    obs: { a: [k] },
    rewards: { a: k },
    truncateds: { __all__: k === 3 } as DoneDict,
  }));
  await withAlgo(
    new PPOConfig()
      .environment(() =>
        fromDictEnv(() => new ScriptedDictEnv({ a: [0] }, script), 1, {
          groups: [{
            name: "all",
            observationSpace: new Box(0, 99, [1]),
            actionSpace: new Discrete(2),
          }],
        })
      )
      .envRunners({ numEnvs: 1, rolloutFragmentLength: 3 })
      .training({ hidden: [4], gamma: 0.5, lambda: 0.5 })
      .debugging({ seed: 31 }),
    async (algo) => {
      const mb = await algo.sample();
      assert.equal(mb.env_steps, 3);
      assert.equal(mb.agent_steps, 3);
      const b = mb.policy_batches.default_policy!;
      assert.equal(b.count, 3);
      assert.deepEqual(Array.from(b.obs), [0, 1, 2]);
      assert.deepEqual(Array.from(b.new_obs), [1, 2, 3]);
      assert.deepEqual(Array.from(b.rewards), [1, 2, 3]);
      assert.deepEqual(Array.from(b.truncateds), [0, 0, 1]);
      assert.deepEqual(Array.from(b.t), [0, 1, 2]);
      assert.deepEqual(b.agent_ids, ["a", "a", "a"]);
      const model = algo.getModel("default_policy") as ActorCriticModel;
      const obs = Float32Array.of(0, 1, 2, 3);
      const logits = new Float32Array(8), v = new Float32Array(4);
      model.forward(obs, 4, logits, v);
      for (let i = 0; i < 3; i++) {
        const z = [logits[2 * i]!, logits[2 * i + 1]!];
        const lse = Math.log(Math.exp(z[0]!) + Math.exp(z[1]!));
        assert.ok(Math.abs(b.action_logp![i]! - (z[b.actions[i]!]! - lse)) < 1e-5, `logp ${i}`);
        assert.ok(Math.abs(b.vf_preds![i]! - v[i]!) < 1e-6, `vf_preds ${i}`);
      }
      // GAE by hand with γ = λ = 0.5, V([3]) bootstrapping the truncation.
      const d = [0, 1, 2].map((i) => b.rewards[i]! + 0.5 * v[i + 1]! - v[i]!);
      const a2 = d[2]!, a1 = d[1]! + 0.25 * a2, a0 = d[0]! + 0.25 * a1;
      [a0, a1, a2].forEach((a, i) => {
        assert.ok(
          Math.abs(b.advantages![i]! - a) < 1e-5,
          `advantage ${i}: ${b.advantages![i]} vs ${a}`,
        );
        assert.ok(Math.abs(b.value_targets![i]! - (a + v[i]!)) < 1e-5, `value target ${i}`);
      });
      // sample() does not learn: the weights are the ones that acted.
      const w = algo.getWeights("default_policy");
      await algo.sample();
      assert.deepEqual(algo.getWeights("default_policy"), w);
    },
  );
});
