/**
 * The Web Worker pool's restarts, with a fake runner (`testdata/fake_runner.ts`) so the order of
 * what a replacement is sent can be seen: init with the next generation's seeds, the policy
 * updates it had answered, then the requests it had not, each once.
 */

import assert from "node:assert/strict";
import { type RunnerInit, RunnerPool } from "./pool.ts";
import { type PolicyUpdate, runnerSeeds } from "./protocol.ts";
import type { FakeFragment, FakeRunnerArgs } from "./testdata/fake_runner.ts";

const FAKE = new URL("./testdata/fake_runner.ts", import.meta.url).href;

function init(args: FakeRunnerArgs): RunnerInit {
  return {
    family: "PPO",
    runnerModule: "(runnerWorker)",
    runnerArgs: args,
    numEnvs: 1,
    rolloutFragmentLength: 1,
    envConfig: {},
    training: {},
    policyConfigs: {},
    policyIds: ["p"],
    backend: { backend: "cpu", threads: 1 },
    seed: 0,
  };
}

const add = (policyId: string): PolicyUpdate => ({
  add: { policyId, observationSpace: null, actionSpace: null },
  mapping: null,
  policiesToTrain: ["p"],
});

async function sample(pool: RunnerPool): Promise<FakeFragment[]> {
  return await pool.sample(0, [null], [null]) as unknown as FakeFragment[];
}

Deno.test("a restarted runner gets the next generation's seeds, the updates it had, then its unanswered requests once", async () => {
  const pool = await RunnerPool.start(2, init({ fail: { runner: 1, sample: 2 } }), {
    runnerWorker: FAKE,
    maxRestarts: 3,
  });
  try {
    await pool.updatePolicies(add("a"));
    const first = await sample(pool);
    assert.deepEqual(first.map((f) => f.envSeed), [0, 1].map((r) => runnerSeeds(0, r).envSeed));
    // Runner 1 fails this sample; an update is posted behind it before the failure is known.
    const second = sample(pool);
    const update = pool.updatePolicies(add("b"));
    const [parts] = await Promise.all([second, update]);
    assert.equal(pool.restarts(), 1);
    assert.deepEqual(parts.map((f) => [f.runner, f.seen]), [[0, ["a"]], [1, ["a"]]]);
    assert.equal(parts[1]!.envSeed, runnerSeeds(0, 1, 1).envSeed);
    assert.notEqual(parts[1]!.envSeed, runnerSeeds(0, 1, 0).envSeed);
    // The update it had not answered reached the new worker once, after the sample.
    const third = await sample(pool);
    assert.deepEqual(third.map((f) => f.seen), [["a", "b"], ["a", "b"]]);
  } finally {
    pool.terminate();
  }
});

Deno.test("a failed policy update is not retried, restarts allowed or not", async () => {
  const pool = await RunnerPool.start(2, init({}), { runnerWorker: FAKE, maxRestarts: 3 });
  try {
    await assert.rejects(pool.updatePolicies(add("bad")), /^Error: Env runner \d: bad policy$/m);
    assert.equal(pool.restarts(), 0);
  } finally {
    pool.terminate();
  }
});

Deno.test("without restarts a runner's failure rejects the request and every later one", async () => {
  const pool = await RunnerPool.start(2, init({ fail: { runner: 0, sample: 1 } }), {
    runnerWorker: FAKE,
  });
  try {
    await assert.rejects(sample(pool), /^Error: Env runner 0: fake failure$/m);
    await assert.rejects(pool.updatePolicies(add("a")), /Env runner 0: fake failure/);
    assert.equal(pool.restarts(), 0);
  } finally {
    pool.terminate();
  }
  await assert.rejects(
    RunnerPool.start(1, init({}), { runnerWorker: FAKE, maxRestarts: -1 }),
    /maxRestarts must be an integer >= 0, got -1/,
  );
});
