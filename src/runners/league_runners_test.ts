/**
 * `addPolicy`/`removePolicy` with env runners: RLlib's self-play league (a snapshot of the
 * learner added every k iterations, `player2` playing the snapshots in odd episodes) trains in
 * Web Worker runners (with and without overlap) and in remote runners (HTTP, in-process), the
 * same seed giving the same weights; each runner rebuilds its mapping from its module's
 * `config(runnerArgs)`. Plus the refusals (a mapping without `runnerArgs`, a `policyClass`
 * function) and a checkpoint of a league restored into a fresh trainer.
 */

import assert from "node:assert/strict";
import type { Algorithm, TrainResult } from "../train/algorithm.ts";
import { MemoryStorage } from "../train/storage.ts";
import { httpRunner } from "./http_runner.ts";
import { MetricsWindow, type NewEpisodes } from "./metrics.ts";
import { config, type LeagueArgs, leagueMapping } from "./testdata/league_runner.ts";

const MODULE = new URL("./testdata/league_runner.ts", import.meta.url).href;

function local(args: LeagueArgs, overlap = false, storage?: MemoryStorage) {
  const c = config(args).envRunners({
    numEnvRunners: 2,
    overlap,
    runnerModule: MODULE,
    runnerArgs: args,
  });
  return storage === undefined ? c : c.checkpointing({ storage });
}

/** Trains `n` iterations, adding a snapshot of the learner after every second one. */
async function league(algo: Algorithm, n: number): Promise<TrainResult[]> {
  const out: TrainResult[] = [];
  for (let i = 1; i <= n; i++) {
    out.push(await algo.train());
    if (i % 2 === 0) addSnapshot(algo);
  }
  return out;
}

function addSnapshot(algo: Algorithm): string {
  const ids = algo.policyIds.filter((id) => id.startsWith("past_"));
  const id = `past_${ids.length}`;
  const args: LeagueArgs = { league: [...ids, id] };
  algo.addPolicy(id, { weightsFrom: "learner" }, {
    policyMappingFn: leagueMapping(args.league),
    runnerArgs: args,
  });
  return id;
}

function weights(a: Algorithm): Float32Array[] {
  return a.policyIds.map((id) => a.getModel(id)!.getFlatWeights());
}

Deno.test("a self-play league in 2 Web Worker runners: snapshots join, play, stay frozen; same seed, same run", async () => {
  for (const overlap of [false, true]) {
    const a = await local({ league: [] }, overlap).build();
    const b = await local({ league: [] }, overlap).build();
    try {
      const ra = await league(a, 6);
      const rb = await league(b, 6);
      assert.deepEqual(a.policyIds, ["learner", "past_0", "past_1", "past_2"]);
      assert.deepEqual(weights(a), weights(b));
      assert.deepEqual(ra.map((r) => r.policy_reward_mean), rb.map((r) => r.policy_reward_mean));
      // The runners mapped player2 to the snapshots (their agents are in the results).
      const last = ra.at(-1)!;
      for (const id of ["past_0", "past_1"]) {
        assert.ok(id in last.policy_reward_mean, `${id} played (overlap ${overlap})`);
      }
      assert.deepEqual(Object.keys(last.info.learner), ["learner"], "snapshots do not learn");
      const w = weights(a);
      assert.notDeepEqual(w[1], w[2], "snapshots of different iterations");
      assert.notDeepEqual(w[0], w[1], "the learner kept learning");
      // Frozen: a snapshot's weights are those of the learner when it was taken.
      const before = a.getModel("past_0")!.getFlatWeights();
      await a.train();
      assert.deepEqual(a.getModel("past_0")!.getFlatWeights(), before);
      // Removed for new agents: the runners take the mapping of the new league.
      a.removePolicy("past_0", {
        policyMappingFn: leagueMapping(["past_1", "past_2"]),
        runnerArgs: { league: ["past_1", "past_2"] },
      });
      await a.train();
      await a.train();
    } finally {
      a.dispose();
      b.dispose();
    }
  }
});

Deno.test("a self-play league in 2 remote runners (HTTP, in-process) trains exactly as in Web Workers", async () => {
  const handlers = [0, 1].map(() => httpRunner({ config: (a) => config(a as LeagueArgs) }));
  const realFetch = globalThis.fetch;
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    return handlers[Number(url.hostname.slice("league".length))]!.fetch(new Request(url, init));
  }) as typeof fetch;
  try {
    const remote = await config({ league: [] })
      .envRunners({
        remoteRunners: ["http://league0", "http://league1"],
        runnerArgs: { league: [] },
      })
      .build();
    const workers = await local({ league: [] }).build();
    try {
      const rr = await league(remote, 6), rw = await league(workers, 6);
      assert.deepEqual(rr.map((r) => r.policy_reward_mean), rw.map((r) => r.policy_reward_mean));
      assert.deepEqual(weights(remote), weights(workers));
      assert.ok("past_1" in rr.at(-1)!.policy_reward_mean);
    } finally {
      remote.dispose();
      workers.dispose();
    }
  } finally {
    globalThis.fetch = realFetch;
  }
});

Deno.test("addPolicy/removePolicy with runners refuse what cannot reach a runner, naming why", async () => {
  const algo = await local({ league: [] }).build();
  try {
    await algo.train();
    assert.throws(
      () =>
        algo.addPolicy("past_0", { weightsFrom: "learner" }, { policyMappingFn: () => "learner" }),
      /addPolicy "past_0" with env runners needs runnerArgs along with policyMappingFn: a function cannot be sent/,
    );
    assert.throws(
      () => algo.addPolicy("scripted", { policyClass: () => 0 }),
      /policyClass must be omitted \(a learning policy\) or "random"/,
    );
    assert.throws(
      () => algo.removePolicy("learner", { policyMappingFn: () => "learner" }),
      /removePolicy "learner" with env runners needs runnerArgs/,
    );
    assert.throws(
      () => algo.addPolicy("past_0", { weightsFrom: "learner" }, { runnerArgs: { f: () => 1 } }),
      /must be structured-cloneable to reach the runners/,
    );
    assert.deepEqual(algo.policyIds, ["learner"], "nothing was added");
  } finally {
    algo.dispose();
  }
});

Deno.test("a league's checkpoint with runners restores into a fresh trainer, bit for bit", async () => {
  const storage = new MemoryStorage();
  const a = await local({ league: [] }, false, storage).build();
  let b: Algorithm | undefined;
  try {
    await league(a, 4);
    const path = await a.save();
    const args: LeagueArgs = { league: ["past_0", "past_1"] };
    // Built as the league was at the save: the mapping and the runners' args know the snapshots.
    b = await local(args, false, storage).build();
    await b.restore({ path });
    assert.deepEqual(b.policyIds, a.policyIds);
    const ra = [await a.train(), await a.train()];
    const rb = [await b.train(), await b.train()];
    assert.deepEqual(rb.map((r) => r.policy_reward_mean), ra.map((r) => r.policy_reward_mean));
    assert.deepEqual(weights(b), weights(a));
  } finally {
    a.dispose();
    b?.dispose();
  }
});

Deno.test("MetricsWindow.addPolicy: earlier episodes had none of its agents; a runner's episodes of before the add fit", () => {
  /** Episodes, each with one agent per policy and its return. */
  const eps = (...rows: number[][]): NewEpisodes => ({
    count: rows.length,
    finished: rows.length,
    ret: Float64Array.from(rows, (r) => r.reduce((s, x) => s + x, 0)),
    len: Float64Array.from(rows, () => 3),
    polCount: Int32Array.from(rows.flat(), () => 1),
    polSum: Float64Array.from(rows.flat()),
    polMin: Float64Array.from(rows.flat()),
    polMax: Float64Array.from(rows.flat()),
  });
  const w = new MetricsWindow(["a"]);
  w.add(eps([2]));
  w.addPolicy("b");
  w.add(eps([4], [6])); // a runner's episodes sampled before it added "b"
  w.add(eps([8, 10], [0, 20]));
  const m = w.take();
  assert.deepEqual(m.policy_reward_mean, { a: 4, b: 15 });
  assert.equal(m.episodes_total, 5);
  assert.throws(() => new MetricsWindow(["a"]).add(eps([1, 2])), /Episodes of 2 policies/);
});
