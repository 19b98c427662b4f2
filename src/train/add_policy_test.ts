import assert from "node:assert/strict";
import { PPOConfig } from "../algorithms/ppo_config.ts";
import { createTicTacToe } from "../envs/tic_tac_toe.ts";
import { Box, Dict, Discrete } from "../spaces.ts";
import type { EpisodeRef, PolicyMappingFn } from "../rollout/collector.ts";
import { MemoryStorage } from "./storage.ts";

const selfPlay = (id: string) => id.startsWith("player") ? "learner" : "?";
/** After the snapshot joins: player2 plays the snapshot in odd episodes. */
const league = (id: string, ep: EpisodeRef) =>
  id === "player2" && ep.episodeId % 2 === 1 ? "past_0" : "learner";

function config(mapping: PolicyMappingFn = selfPlay, storage?: MemoryStorage) {
  const c = new PPOConfig()
    .environment(({ numEnvs, seed }) => createTicTacToe(numEnvs, { seed }))
    .envRunners({ numEnvs: 8, rolloutFragmentLength: 16 })
    .training({ hidden: [32], minibatchSize: 64 })
    .multiAgent({ policies: ["learner"], policyMappingFn: mapping, policiesToTrain: ["learner"] })
    .resources({ backend: "cpu" })
    .debugging({ seed: 4 });
  return storage === undefined ? c : c.checkpointing({ storage });
}

Deno.test("addPolicy: a frozen snapshot joins the league while training runs", async () => {
  const algo = await config().build();
  try {
    await algo.train();
    const p = algo.addPolicy("past_0", { weightsFrom: "learner" }, { policyMappingFn: league });
    assert.ok(p !== undefined, "built at once: its spaces come from the learner");
    const snap = algo.getWeights("past_0");
    assert.deepEqual(snap, algo.getWeights("learner"));
    let r;
    for (let i = 0; i < 3; i++) r = await algo.train();
    assert.deepEqual(algo.getWeights("past_0"), snap, "not in policiesToTrain: frozen");
    assert.notDeepEqual(algo.getWeights("learner"), snap, "the learner kept learning");
    assert.ok("past_0" in r!.policy_reward_mean, "its agents are in the results");
    assert.ok(!("past_0" in r!.info.learner));
    assert.deepEqual(algo.policyIds, ["learner", "past_0"]);

    algo.removePolicy("past_0", { policyMappingFn: selfPlay });
    await algo.train();
    assert.throws(
      () => algo.removePolicy("learner"),
      /removePolicy: "learner" is the last policy/,
    );
  } finally {
    algo.dispose();
  }
});

Deno.test("addPolicy refuses an existing id, a bad weightsFrom and spaces that do not match", async () => {
  const algo = await config().build();
  try {
    await algo.train();
    assert.throws(() => algo.addPolicy("learner"), /addPolicy: a policy "learner" exists already/);
    assert.throws(() => algo.addPolicy("x", { weightsFrom: "nobody" }), /Unknown policy "nobody"/);
    assert.throws(
      () =>
        algo.addPolicy("x", {
          weightsFrom: "learner",
          observationSpace: new Dict({
            action_mask: new Box(0, 1, [9]),
            observations: new Box(0, 1, [9]),
          }),
        }),
      /addPolicy "x": its observation space Dict\(.*\) does not match Dict\(.*\) of "learner"/,
    );
    assert.throws(
      () => algo.addPolicy("y", { weightsFrom: "learner", actionSpace: new Discrete(4) }),
      /its action space Discrete\(4\) does not match Discrete\(9\) of "learner"/,
    );
    // A mapping to a policy that is not there is named at the next spawn.
    algo.addPolicy("past_1", { weightsFrom: "learner" }, {
      policyMappingFn: (id) => (id === "player2" ? "past_9" : "learner"),
    });
    await assert.rejects(algo.train(), /policyMappingFn returned "past_9" for agent "player2"/);
  } finally {
    algo.dispose();
  }
});

Deno.test("a checkpoint with added policies restores them in a fresh trainer, bit for bit", async () => {
  const storage = new MemoryStorage();
  const a = await config(selfPlay, storage).build();
  await a.train();
  a.addPolicy("past_0", { weightsFrom: "learner" }, { policyMappingFn: league });
  await a.train();
  const path = await a.save();
  await a.train();
  await a.train();
  const want = [a.getWeights("learner"), a.getWeights("past_0")];
  a.dispose();
  const b = await config(league, storage).build();
  try {
    await b.restore({ path });
    assert.deepEqual(b.policyIds, ["learner", "past_0"]);
    await b.train();
    await b.train();
    assert.deepEqual([b.getWeights("learner"), b.getWeights("past_0")], want);
  } finally {
    b.dispose();
  }
});
