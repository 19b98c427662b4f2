/**
 * `win_rates` (competitive envs): the counting rules on hand-built windows, and end to end
 * against the games' own episode metrics (who won each evaluated game, counted by the env).
 */

import assert from "node:assert/strict";
import {
  type EpisodeWindow,
  type PolicyMappingFn,
  windowMetrics,
  windowWinRates,
} from "./collector.ts";
import { PPOConfig } from "../algorithms/ppo_config.ts";
import { createTicTacToe } from "../envs/tic_tac_toe.ts";
import { createRockPaperScissors } from "../envs/rock_paper_scissors.ts";
import { createWindyMaze } from "../envs/windy_maze.ts";
import { frameStack } from "../env/frame_stack.ts";

/** A window from per-episode, per-policy agent returns (`null`: the policy did not act). */
function window(episodes: (number[] | null)[][]): EpisodeWindow {
  const n = episodes.length, P = episodes[0]!.length;
  const w: EpisodeWindow = {
    count: n,
    ret: new Float64Array(n),
    len: new Float64Array(n),
    polCount: new Int32Array(n * P),
    polSum: new Float64Array(n * P),
    polMin: new Float64Array(n * P).fill(Infinity),
    polMax: new Float64Array(n * P).fill(-Infinity),
  };
  episodes.forEach((ep, i) =>
    ep.forEach((rets, p) => {
      for (const r of rets ?? []) {
        w.polCount[i * P + p]!++;
        w.polSum[i * P + p] = w.polSum[i * P + p]! + r;
        w.polMin[i * P + p] = Math.min(w.polMin[i * P + p]!, r);
        w.polMax[i * P + p] = Math.max(w.polMax[i * P + p]!, r);
        w.ret[i] = w.ret[i]! + r;
      }
    })
  );
  return w;
}

Deno.test("windowWinRates: two policies, mirror matches, and the episodes left out", () => {
  const ids = ["learner", "random", "past"];
  const w = window([
    [[1], [-1], null], // learner beats random
    [[-1], [1], null], // random beats learner
    [[0], [0], null], // draw
    [[1], null, [-1]], // learner beats past
    [[1, -1], null, null], // mirror, decisive
    [[0, 0], null, null], // mirror, drawn
    [[1], [0], [-1]], // three policies: left out
    [[5], null, null], // one agent alone: left out
    [null, [0, 0, 0], null], // one policy, three agents: left out
  ]);
  const r = windowWinRates(w, ids);
  assert.deepEqual(Object.keys(r).sort(), ["learner", "past", "random"]);
  assert.deepEqual(r.learner!.random, {
    games: 3,
    wins: 1,
    draws: 1,
    losses: 1,
    win_rate: 1 / 3,
    draw_rate: 1 / 3,
    loss_rate: 1 / 3,
  });
  assert.equal(r.random!.learner!.wins, 1);
  assert.equal(r.random!.learner!.losses, 1);
  assert.deepEqual([r.learner!.past!.wins, r.past!.learner!.losses], [1, 1]);
  assert.deepEqual(
    [r.learner!.learner!.games, r.learner!.learner!.wins, r.learner!.learner!.draws],
    [4, 1, 2],
    "a mirror match counts both seats",
  );
  assert.equal(r.learner!.learner!.win_rate, r.learner!.learner!.loss_rate);
  assert.equal(r.random!.random, undefined, "three agents of one policy are not a match");
  assert.equal(r.random!.past, undefined, "the three-policy episode is left out");
  // A policy's mean agent return is what is compared (two agents of one side vs one other).
  // (mean 0.3 < 0.4, though the sum 0.6 is more).
  const team = windowWinRates(window([[[1, -0.4], [0.4]]]), ["team", "solo"]);
  assert.equal(team.team!.solo!.losses, 1);
  assert.equal(team.solo!.team!.wins, 1);

  assert.equal(windowMetrics(w, ids, 0, 0).win_rates, undefined, "only when asked");
  assert.deepEqual(windowMetrics(w, ids, 0, 0, true).win_rates, r);
});

const ttt = (mapping: PolicyMappingFn, policies: string[]) =>
  new PPOConfig()
    .environment(({ numEnvs, seed }) => createTicTacToe(numEnvs, { seed }))
    .envRunners({ numEnvs: 8, rolloutFragmentLength: 16 })
    .training({ hidden: [16], minibatchSize: 64 })
    .multiAgent({
      policies: Object.fromEntries(
        policies.map((p) => [p, p === "learner" ? {} : { policyClass: "random" as const }]),
      ),
      policyMappingFn: mapping,
      policiesToTrain: policies.filter((p) => p === "learner"),
    })
    .resources({ backend: "cpu" })
    .debugging({ seed: 3 });

Deno.test("win_rates in evaluate() equal the game's own count of who won", async () => {
  const algo = await ttt((id) => id === "player1" ? "a" : "b", ["a", "b"]).build();
  try {
    const ev = await algo.evaluate({ episodes: 300, explore: true, seed: 11 });
    const m = ev.custom_metrics;
    const a = ev.win_rates!.a!.b!, b = ev.win_rates!.b!.a!;
    assert.equal(a.games, 300);
    assert.ok(Math.abs(a.win_rate - m.player1_win_mean!) < 1e-12, "player1 plays a");
    assert.ok(Math.abs(a.draw_rate - m.draw_mean!) < 1e-12);
    assert.ok(Math.abs(a.loss_rate - m.player2_win_mean!) < 1e-12);
    assert.deepEqual([b.wins, b.draws, b.losses], [a.losses, a.draws, a.wins]);
    assert.ok(a.win_rate > 0.4 && a.loss_rate > 0.15, "random play: both seats win games");
  } finally {
    algo.dispose();
  }
  const mirror = await ttt(() => "a", ["a"]).build();
  try {
    const ev = await mirror.evaluate({ episodes: 200, explore: true, seed: 11 });
    const r = ev.win_rates!.a!.a!;
    assert.equal(r.games, 400, "both seats of 200 games");
    assert.ok(Math.abs(r.draw_rate - ev.custom_metrics.draw_mean!) < 1e-12);
    assert.equal(r.wins, r.losses);
  } finally {
    mirror.dispose();
  }
});

Deno.test("win_rates in train(): the learner against each opponent; none for a maze", async () => {
  const league = (id: string, ep: { episodeId: number }) =>
    id === "player1" ? "learner" : ["learner", "random", "other"][ep.episodeId % 3]!;
  const algo = await ttt(league, ["learner", "random", "other"]).build();
  try {
    let r = await algo.train();
    while (r.episodes_in_window < 100) r = await algo.train();
    const w = r.win_rates!;
    const vsRandom = w.learner!.random!, vsOther = w.learner!.other!, self = w.learner!.learner!;
    // Every window episode is one of the three pairings, about a third each.
    assert.equal(vsRandom.games + vsOther.games + self.games / 2, 100);
    for (const g of [vsRandom.games, vsOther.games]) assert.ok(g > 20 && g < 50, `${g} games`);
    assert.deepEqual([w.random!.learner!.wins, w.random!.learner!.losses], [
      vsRandom.losses,
      vsRandom.wins,
    ]);
  } finally {
    algo.dispose();
  }
  const maze = await new PPOConfig()
    .environment(({ numEnvs, seed }) => createWindyMaze(numEnvs, { seed }))
    .envRunners({ numEnvs: 4, rolloutFragmentLength: 64 })
    .resources({ backend: "cpu" })
    .build();
  try {
    const r = await maze.train();
    assert.equal(r.win_rates, undefined);
    assert.ok(!("win_rates" in r));
  } finally {
    maze.dispose();
  }
});

Deno.test("competitive passes through frame stacking; simultaneous games count too", async () => {
  const algo = await new PPOConfig()
    .environment(({ numEnvs, seed }) => frameStack(createRockPaperScissors(numEnvs, { seed }), 2))
    .envRunners({ numEnvs: 4, rolloutFragmentLength: 20 })
    .multiAgent({
      policies: { a: { policyClass: "random" }, b: { policyClass: "random" } },
      policyMappingFn: (id) => id === "player1" ? "a" : "b",
    })
    .resources({ backend: "cpu" })
    .build();
  try {
    const ev = await algo.evaluate({ episodes: 50, explore: true, seed: 1 });
    const r = ev.win_rates!.a!.b!;
    assert.equal(r.games, 50, "the frame-stacked env is still competitive");
    const b = ev.win_rates!.b!.a!;
    assert.deepEqual([b.wins, b.draws, b.losses], [r.losses, r.draws, r.wins]);
    assert.ok(r.wins > 5 && r.losses > 5, "random players: both win games");
  } finally {
    algo.dispose();
  }
});
