/**
 * Env runners in Web Workers, end to end: determinism per (seed, runner count), learning with
 * several runner counts, results shaped like the single-runner ones, overlap's staleness, the
 * runners' failures surfacing as rejections with their message, checkpoints refused, and
 * `dispose()` ending the workers (Deno's sanitizers fail a test that leaks one). Plus the
 * pieces: merged metrics equal one collector's, batches concatenated in runner order.
 */

import { timeless } from "../train/testdata/resume_run.ts";
import assert from "node:assert/strict";
import type { Algorithm, TrainResult } from "../train/algorithm.ts";
import { rewardReached } from "../train/algorithm.ts";
import { MemoryStorage } from "../train/storage.ts";
import { config, type MazeRunnerArgs } from "./testdata/maze_runner.ts";
import { MetricsWindow, takeNewEpisodes } from "./metrics.ts";
import { concatBatches } from "./protocol.ts";
import { parseExperiment } from "../runner/schema.ts";
import { experimentAlgorithmConfig } from "../runner/experiment.ts";
import type { SampleBatch } from "../rollout/buffer.ts";

const MODULE = new URL("./testdata/maze_runner.ts", import.meta.url).href;

/** Small and quick unless `full`: 8 envs per runner, a 16-unit MLP, 2 epochs. */
function runnersConfig(
  numEnvRunners: number,
  overlap = false,
  args: MazeRunnerArgs = {},
  full = false,
) {
  const c = config(args.fault === "module" ? {} : args);
  if (!full) {
    c.training({ hidden: [16], numEpochs: 2 }).multiAgent({
      ...c.config.multiAgent,
      policies: {
        high_level_policy: { config: { gamma: 0.9 } },
        low_level_policy: c.config.multiAgent.policies.low_level_policy!,
      },
    });
  }
  return c.envRunners({
    numEnvRunners,
    overlap,
    runnerModule: MODULE,
    runnerArgs: args,
  });
}

function weights(a: Algorithm): Float32Array[] {
  return a.policyIds.map((id) => a.getModel(id)!.getFlatWeights());
}

/** The parts of a result that do not depend on timing. */
const stable = timeless;

async function run(algo: Algorithm, iterations: number): Promise<TrainResult[]> {
  const out: TrainResult[] = [];
  try {
    for (let i = 0; i < iterations; i++) out.push(await algo.train());
  } finally {
    algo.dispose();
  }
  return out;
}

Deno.test("same seed and runner count: identical weights and metrics", async () => {
  for (const overlap of [false, true]) {
    const a = await runnersConfig(2, overlap).build();
    const b = await runnersConfig(2, overlap).build();
    const ra = await run(a, 4), rb = await run(b, 4);
    assert.deepEqual(ra.map(stable), rb.map(stable));
    assert.deepEqual(weights(a), weights(b));
    assert.ok(ra[3]!.episodes_total > 0, "episodes finished");
  }
});

Deno.test("another seed or runner count samples other episodes", async () => {
  const two = await run(await runnersConfig(2).build(), 3);
  const three = await run(await runnersConfig(3).build(), 3);
  const seeded = await run(await runnersConfig(2).debugging({ seed: 7 }).build(), 3);
  assert.equal(three[2]!.timesteps_total, two[2]!.timesteps_total * 3 / 2);
  assert.notDeepEqual(stable(two[2]!), stable(seeded[2]!));
});

Deno.test("1 and 2 runners, overlap on and off, learn the hierarchical maze (mean reward 50)", async () => {
  for (const [n, overlap] of [[1, true], [2, false], [2, true]] as const) {
    const algo = await runnersConfig(n, overlap, {}, true)
      .envRunners({ numEnvs: 64 / n, rolloutFragmentLength: 64 })
      .build();
    let reached = false, last: TrainResult | undefined;
    try {
      // Overlap costs env steps: 1 runner with overlap reached 50 at 131k with seed 0.
      while (!reached && (last?.timesteps_total ?? 0) < 160_000) {
        last = await algo.train();
        reached = rewardReached(last, 50);
      }
    } finally {
      algo.dispose();
    }
    assert.ok(
      reached,
      `${n} runners, overlap ${overlap}: mean reward ${last?.episode_reward_mean} after ${last?.timesteps_total} steps`,
    );
  }
});

Deno.test("results have the single runner's shape, plus the runners' fields", async () => {
  const [single] = await run(await config().build(), 1);
  const [multi] = await run(await runnersConfig(2).build(), 1);
  const shape = (r: object): Record<string, string> =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v]));
  const s = shape(single!), m = shape(multi!);
  for (
    const k of [
      "num_env_runners",
      "num_weight_syncs",
      "weights_staleness",
      "num_env_runner_restarts",
    ]
  ) {
    assert.equal(m[k], "number", k);
    delete m[k];
  }
  assert.deepEqual(m, s);
  assert.deepEqual(Object.keys(multi!.info.learner), Object.keys(single!.info.learner));
  assert.deepEqual(
    Object.keys(multi!.info.learner.low_level_policy!).sort(),
    Object.keys(single!.info.learner.low_level_policy!).sort(),
  );
  // Twice the envs: twice the steps of one fragment.
  assert.equal(multi!.timesteps_total, 2 * single!.timesteps_total);
});

Deno.test("numEnvRunners 1 without overlap is the main-thread path, bit for bit", async () => {
  const plain = await config().build();
  const one = await config().envRunners({ numEnvRunners: 1 }).build();
  const rp = await run(plain, 2), ro = await run(one, 2);
  assert.deepEqual(ro.map(stable), rp.map(stable));
  assert.deepEqual(weights(one), weights(plain));
  assert.equal(ro[0]!.num_env_runners, undefined);
});

Deno.test("overlap: one update stale, one weight sync per iteration plus the first", async () => {
  const rs = await run(await runnersConfig(2, true).build(), 3);
  assert.deepEqual(rs.map((r) => r.weights_staleness), [0, 1, 1]);
  assert.deepEqual(rs.map((r) => r.num_weight_syncs), [2, 3, 4]);
  const sync = await run(await runnersConfig(2, false).build(), 3);
  assert.deepEqual(sync.map((r) => r.weights_staleness), [0, 0, 0]);
  assert.deepEqual(sync.map((r) => r.num_weight_syncs), [1, 2, 3]);
});

Deno.test("overlap: each learner is told its batch is one update stale (PPO's decoupled objective)", async () => {
  for (const overlap of [true, false]) {
    const algo = await runnersConfig(2, overlap).build();
    await algo.train(); // builds the policies (spaces from the first agents)
    const seen: number[] = [];
    const learner = algo.getLearner("low_level_policy")!;
    const learn = learner.learn.bind(learner);
    learner.learn = (batch, rng, context) => {
      seen.push(context?.weightsStaleness ?? -1);
      return learn(batch, rng, context);
    };
    await run(algo, 2);
    assert.deepEqual(seen, overlap ? [1, 1] : [0, 0]);
  }
});

Deno.test("sample() gathers every runner's fragment without learning", async () => {
  const algo = await runnersConfig(2).build();
  try {
    await algo.sample();
    const before = weights(algo);
    const b = await algo.sample();
    assert.equal(b.env_steps, 2 * 8 * 64);
    assert.deepEqual(Object.keys(b.policy_batches).sort(), [
      "high_level_policy",
      "low_level_policy",
    ]);
    const low = b.policy_batches.low_level_policy!;
    assert.ok(low.count > 0);
    assert.equal(low.obs.length, low.count * (low.obs.length / low.count));
    assert.ok(low.advantages !== undefined && low.value_targets !== undefined);
    assert.deepEqual(weights(algo), before);
  } finally {
    algo.dispose();
  }
});

Deno.test("evaluation runs on the trainer's thread with runners", async () => {
  const algo = await runnersConfig(2)
    .evaluation({ evaluationInterval: 1, evaluationDuration: 4 })
    .build();
  try {
    const r = await algo.train();
    assert.equal(r.evaluation?.num_episodes, 4);
    assert.ok(Number.isFinite(r.evaluation?.episode_reward_mean));
  } finally {
    algo.dispose();
  }
});

Deno.test("a runner's bad action rejects train() with its message", async () => {
  const algo = await runnersConfig(2, false, { fault: "action" }).build();
  try {
    await assert.rejects(algo.train(), (e: Error) => {
      assert.match(e.message, /^Env runner \d: /);
      assert.match(e.message, /99/);
      return true;
    });
    // The pool stays failed: later calls reject too.
    await assert.rejects(algo.train(), /Env runner/);
  } finally {
    algo.dispose();
  }
});

Deno.test("a runner's env error rejects train() with its message (overlap too)", async () => {
  for (const overlap of [false, true]) {
    const algo = await runnersConfig(2, overlap, { fault: "env" }).build();
    try {
      await assert.rejects(algo.train(), /Env runner \d: env step 6 failed on purpose/);
    } finally {
      algo.dispose();
    }
  }
});

Deno.test("restartFailedEnvRunners: a runner whose env throws is replaced and its fragment sampled again", async () => {
  for (const overlap of [false, true]) {
    const build = () =>
      runnersConfig(2, overlap, { fault: "envOnce" })
        .envRunners({ restartFailedEnvRunners: true })
        .build();
    const a = await run(await build(), 3);
    assert.deepEqual(a.map((r) => r.num_env_runner_restarts), [1, 1, 1]);
    // Every iteration still gathers both runners' fragments.
    assert.deepEqual(a.map((r) => r.timesteps_total), [1, 2, 3].map((i) => i * 2 * 8 * 64));
    assert.ok(a.every((r) => Number.isFinite(r.info.learner.low_level_policy?.learner_stats.kl)));
    // The same failure in the same place: the same run.
    const b = await run(await build(), 3);
    assert.deepEqual(b.map(stable), a.map(stable), `overlap ${overlap}`);
  }
});

Deno.test("restartFailedEnvRunners: a worker that crashes between requests is replaced", async () => {
  const algo = await runnersConfig(2, false, { fault: "crashOnce" })
    .envRunners({ restartFailedEnvRunners: true })
    .build();
  const rs = await run(algo, 3);
  assert.deepEqual(rs.map((r) => r.timesteps_total), [1, 2, 3].map((i) => i * 2 * 8 * 64));
  assert.equal(rs.at(-1)!.num_env_runner_restarts, 1);
});

Deno.test("restartFailedEnvRunners: past maxEnvRunnerRestarts the error rejects train(); off, at once", async () => {
  const limited = await runnersConfig(2, false, { fault: "env" })
    .envRunners({ restartFailedEnvRunners: true, maxEnvRunnerRestarts: 2 })
    .build();
  try {
    await assert.rejects(
      limited.train(),
      /Env runner \d: env step 6 failed on purpose \(after 2 env runner restarts, the most allowed\)/,
    );
  } finally {
    limited.dispose();
  }
  const off = await runnersConfig(2, false, { fault: "envOnce" }).build();
  try {
    await assert.rejects(off.train(), /^Error: Env runner 1: env step 6 failed on purpose$/m);
  } finally {
    off.dispose();
  }
});

Deno.test("restartFailedEnvRunners, maxEnvRunnerRestarts: defaults, refusals, experiment files", () => {
  const v = (r: Record<string, unknown>) => () =>
    config().envRunners({ numEnvRunners: 2, runnerModule: MODULE, ...r }).validate();
  const d = v({})().config.envRunners!;
  assert.deepEqual([d.restartFailedEnvRunners, d.maxEnvRunnerRestarts], [false, 1000]);
  assert.throws(
    v({ restartFailedEnvRunners: "yes" }),
    /envRunners.restartFailedEnvRunners must be a boolean, got "yes"/,
  );
  assert.throws(
    v({ maxEnvRunnerRestarts: 1.5 }),
    /envRunners.maxEnvRunnerRestarts must be an integer >= 0, got 1.5/,
  );
  const file = JSON.parse(
    Deno.readTextFileSync(new URL("../../configs/windy_maze_hierarchical.json", import.meta.url)),
  );
  const envRunners = { numEnvRunners: 2, restartFailedEnvRunners: true, maxEnvRunnerRestarts: 5 };
  const r = experimentAlgorithmConfig(parseExperiment({ ...file, envRunners }, "t.json"))
    .validate().config.envRunners!;
  assert.deepEqual([r.restartFailedEnvRunners, r.maxEnvRunnerRestarts], [true, 5]);
  assert.throws(
    () =>
      parseExperiment(
        { ...file, envRunners: { numEnvRunners: 2, maxEnvRunnerRestarts: -1 } },
        "bad.json",
      ),
    /envRunners\.maxEnvRunnerRestarts/,
  );
});

Deno.test("a runner module that fails rejects build() and leaves no worker", async () => {
  await assert.rejects(
    runnersConfig(2, false, { fault: "module" }).build(),
    /Env runner 0 could not start: config exploded on purpose/,
  );
  await assert.rejects(
    config().envRunners({ numEnvRunners: 2, runnerModule: MODULE + "_missing.ts" }).build(),
    /Env runner 0 could not start/,
  );
});

/** Threads of this process (Linux); each worker runs on threads of its own. */
function threads(): number | undefined {
  try {
    return [...Deno.readDirSync("/proc/self/task")].length;
  } catch {
    return undefined;
  }
}

/** Waits until the process is back to `n` threads or fewer; returns the last count. */
async function threadsBackTo(n: number): Promise<number> {
  let now = threads()!;
  for (let i = 0; i < 50 && now > n; i++) {
    await new Promise((r) => setTimeout(r, 40));
    now = threads()!;
  }
  return now;
}

/** The thread count once threads of earlier tests have ended (stable over 200 ms). */
async function settledThreads(): Promise<number> {
  let last = threads()!, same = 0;
  for (let i = 0; i < 60 && same < 4; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = threads()!;
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

Deno.test({
  name: "dispose() ends the workers, after training and after a failure",
  ignore: threads() === undefined,
  fn: async () => {
    for (const args of [{}, { fault: "env" }] as MazeRunnerArgs[]) {
      const before = await settledThreads();
      const algo = await runnersConfig(3, true, args).build();
      await algo.train().catch(() => {});
      assert.ok(threads()! >= before + 3, "each worker runs threads of its own");
      algo.dispose();
      const after = await threadsBackTo(before);
      assert.ok(
        after <= before,
        `faults ${JSON.stringify(args)}: ${before} threads, ${after} after`,
      );
    }
    const before = await settledThreads();
    await runnersConfig(3, false, { fault: "module" }).build().catch(() => {});
    const after = await threadsBackTo(before);
    assert.ok(after <= before, `a failed start: ${before} threads, ${after} after`);
  },
});

Deno.test("a runner worker of one's own (runnerWorker, serveEnvRunner): the same run", async () => {
  const worker = new URL("./testdata/maze_runner_worker.ts", import.meta.url).href;
  const own = runnersConfig(2);
  own.envRunners({ runnerModule: undefined, runnerWorker: worker });
  const a = await own.build();
  const b = await runnersConfig(2).build();
  const ra = await run(a, 3), rb = await run(b, 3);
  assert.deepEqual(ra.map(stable), rb.map(stable));
  assert.deepEqual(weights(a), weights(b));
  // A worker whose config runs another algorithm is refused at build, naming it.
  const dqnWorker = new URL("./testdata/dqn_runner_worker.ts", import.meta.url).href;
  const wrong = runnersConfig(2);
  wrong.envRunners({ runnerModule: undefined, runnerWorker: dqnWorker });
  await assert.rejects(
    wrong.build(),
    /Env runner 0 could not start: This runner worker's config configures DQN, the trainer runs PPO/,
  );
});

Deno.test("config: runners need a module and cloneable settings", () => {
  assert.throws(
    () => config().envRunners({ numEnvRunners: 2, runnerWorker: "runner_worker.js" }).validate(),
    /envRunners.runnerWorker must be an absolute URL of a worker script/,
  );
  assert.throws(
    () =>
      config().envRunners({
        remoteRunners: ["http://a:1"],
        runnerWorker: "http://a:1/w.js",
      }).validate(),
    /runnerWorker is for Web Worker runners; remote runners serve their own code/,
  );
  config().envRunners({ numEnvRunners: 2, runnerWorker: "http://127.0.0.1:1/w.js" }).validate();
  assert.throws(() => config().envRunners({ numEnvRunners: 2 }).validate(), /runnerModule/);
  assert.throws(
    () => config().envRunners({ overlap: true, runnerModule: "./relative.ts" }).validate(),
    /absolute URL/,
  );
  assert.throws(() => config().envRunners({ numEnvRunners: 0 }).validate(), /numEnvRunners/);
  assert.throws(
    () => runnersConfig(2).envRunners({ runnerArgs: { f: () => 1 } }).validate(),
    /must be structured-cloneable to reach the workers/,
  );
});

Deno.test("checkpoints with runners: save, restore in a fresh trainer, same run", async () => {
  const storage = new MemoryStorage();
  const a = await runnersConfig(2).checkpointing({ storage }).build();
  const b = await runnersConfig(2).checkpointing({ storage }).build();
  try {
    await a.train();
    await a.train();
    const path = await a.save();
    const info = await b.restore({ path });
    assert.equal(info.iteration, 2);
    const ra = [await a.train(), await a.train()];
    const rb = [await b.train(), await b.train()];
    assert.deepEqual(rb.map(stable), ra.map(stable));
    assert.deepEqual(weights(b), weights(a));
  } finally {
    a.dispose();
    b.dispose();
  }
});

Deno.test("checkpoints: another runner count, or overlap, is refused", async () => {
  const storage = new MemoryStorage();
  const two = await runnersConfig(2).checkpointing({ storage }).build();
  const three = await runnersConfig(3).checkpointing({ storage }).build();
  const local = await config().checkpointing({ storage }).build();
  const overlap = await runnersConfig(2, true).checkpointing({ storage }).build();
  try {
    await two.train();
    const path = await two.save();
    await assert.rejects(three.restore({ path }), /saved with 2 env runners, this trainer has 3/);
    await assert.rejects(local.restore({ path }), /with 2 env runners, this trainer has no env/);
    await overlap.train();
    await assert.rejects(overlap.save(), /Checkpoints with envRunners overlap are not supported/);
    await assert.rejects(overlap.restore({ path }), /overlap are not supported/);
    assert.throws(
      () => runnersConfig(2, true).checkpointing({ storage, checkpointFreq: 1 }).validate(),
      /not supported with overlap/,
    );
  } finally {
    for (const x of [two, three, local, overlap]) x.dispose();
  }
});

Deno.test("merged metrics of one collector equal its own", async () => {
  const algo = await config().envRunners({ numEnvs: 4, rolloutFragmentLength: 200 }).build();
  try {
    const c = algo.collector;
    const w = new MetricsWindow(algo.policyIds);
    for (let i = 0; i < 6; i++) {
      await algo.sample();
      w.add(takeNewEpisodes(c.getState(false), algo.policyIds.length));
      assert.deepEqual(w.take(), c.takeIterationCounts());
    }
  } finally {
    algo.dispose();
  }
});

function batch(rows: number, O: number, ep: number, tag: number): SampleBatch {
  const f = (n: number) => Float32Array.from({ length: n }, (_, i) => tag + i);
  return {
    count: rows,
    obs: f(rows * O),
    new_obs: f(rows * O),
    actions: f(rows),
    rewards: f(rows),
    terminateds: new Uint8Array(rows),
    truncateds: new Uint8Array(rows).fill(1),
    t: new Int32Array(rows),
    eps_id: new Int32Array(rows).fill(ep),
    agent_index: new Int32Array(rows),
    agent_ids: Array.from({ length: rows }, (_, i) => `a${tag}_${i}`),
    infos: Array.from({ length: rows }, () => ({})),
    advantages: f(rows),
  };
}

Deno.test("concatBatches: runner order, unique episode ids, shared columns", () => {
  const out = concatBatches([batch(2, 3, 5, 100), null, batch(1, 3, 5, 200)]);
  assert.equal(out.count, 3);
  assert.deepEqual([...out.obs], [100, 101, 102, 103, 104, 105, 200, 201, 202]);
  assert.deepEqual([...out.eps_id], [15, 15, 17]);
  assert.deepEqual(out.agent_ids, ["a100_0", "a100_1", "a200_0"]);
  assert.deepEqual([...out.advantages!], [100, 101, 200]);
  assert.equal(concatBatches([null, batch(0, 3, 0, 0)]).count, 0);
  assert.throws(() => concatBatches([batch(1, 3, 0, 0), batch(1, 2, 0, 0)]), /floats per row/);
  // One runner: its batch as it is, no copy.
  const one = batch(2, 3, 5, 100);
  assert.equal(concatBatches([one]), one);
});

Deno.test("the runners' callbacks run in the workers; their custom metrics reach the results", async () => {
  const results = await run(await runnersConfig(2, false, { lengthMetric: true }).build(), 8);
  const first = results.findIndex((r) => r.episodes_this_iter > 0);
  assert.ok(first >= 0, "episodes ended");
  for (const r of results.slice(0, first)) assert.deepEqual(r.custom_metrics, {});
  const r = results[first]!;
  assert.ok(r.episodes_total <= 100, "the window holds exactly this iteration's episodes");
  // The mean length two ways: the runners' callbacks and the trainer's episode window.
  assert.ok(Math.abs(r.custom_metrics.len_mean! - r.episode_len_mean) < 1e-9);
  const m = r.custom_metrics;
  assert.ok(m.len_min! >= 1 && m.len_min! <= m.len_mean! && m.len_mean! <= m.len_max!);
});
