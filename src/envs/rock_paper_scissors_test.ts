import assert from "node:assert/strict";
import { ACTIVE, ALIVE, SPAWNED, TERMINATED } from "../env/batched.ts";
import { checkEnv } from "../env/check_env.ts";
import { DictEnv } from "../env/dict_face.ts";
import { Pcg32 } from "../rng.ts";
import {
  createRockPaperScissors,
  RPS_AGENT_IDS,
  RPS_METRIC_NAMES,
  RPS_NO_MOVE,
  RPS_OBS_SPACE,
  RPS_PAPER,
  RPS_ROCK,
  RPS_ROUNDS,
  RPS_SCISSORS,
} from "./rock_paper_scissors.ts";

const NEW = SPAWNED | ACTIVE | ALIVE;

function oneHot(k: number): number[] {
  return [0, 1, 2, 3].map((x) => (x === k ? 1 : 0));
}

Deno.test("rock-paper-scissors: RLlib's facts and spaces", () => {
  assert.equal(RPS_ROUNDS, 10);
  assert.deepEqual([RPS_ROCK, RPS_PAPER, RPS_SCISSORS, RPS_NO_MOVE], [0, 1, 2, 3]);
  assert.deepEqual(RPS_AGENT_IDS, ["player1", "player2"]);
  assert.equal(RPS_OBS_SPACE.flatSize, 8);
  assert.deepEqual(RPS_METRIC_NAMES, ["player1_win_rate", "player2_win_rate", "tie_rate"]);
});

Deno.test("rock-paper-scissors: scoring every pair, the last moves observed, 10 rounds", () => {
  const env = createRockPaperScissors(1);
  env.reset();
  const g = env.groups[0]!;
  assert.deepEqual(Array.from(env.flags), [NEW, NEW]);
  assert.deepEqual(Array.from(g.obs), [...oneHot(3), ...oneHot(3), ...oneHot(3), ...oneHot(3)]);
  // [player1, player2] -> player1's reward: paper beats rock, scissors beat paper, rock beats
  // scissors.
  const rounds: [number, number, number][] = [
    [0, 0, 0],
    [1, 0, 1],
    [0, 1, -1],
    [2, 1, 1],
    [1, 2, -1],
    [0, 2, 1],
    [2, 0, -1],
    [1, 1, 0],
    [2, 2, 0],
    [1, 0, 1],
  ];
  rounds.forEach(([a, b, r], t) => {
    g.act.set([a, b]);
    env.step();
    assert.deepEqual(Array.from(env.rew), [r, r === 0 ? 0 : -r], `round ${t + 1}`);
    const last = t === RPS_ROUNDS - 1;
    assert.equal(env.envDone[0], last ? 1 : 0);
    const rows = last ? g.finalObs : g.obs;
    // player1 sees [player2's move, its own]; player2 the other way round.
    assert.deepEqual(Array.from(rows), [...oneHot(b), ...oneHot(a), ...oneHot(a), ...oneHot(b)]);
    assert.deepEqual(
      Array.from(env.flags),
      last ? [TERMINATED | NEW, TERMINATED | NEW] : [
        ACTIVE | ALIVE,
        ACTIVE | ALIVE,
      ],
    );
  });
  assert.deepEqual(Array.from(env.episodeMetrics!.values), [0.4, 0.3, 0.3].map(Math.fround));
  // Auto-reset: no last move again.
  assert.deepEqual(Array.from(g.obs), [...oneHot(3), ...oneHot(3), ...oneHot(3), ...oneHot(3)]);
  g.act.set([3, 0]);
  assert.throws(() => env.step(), /Invalid action for agent "player1".*Discrete\(3\)/);
});

Deno.test("rock-paper-scissors: checkEnv passes on both faces", () => {
  const r = checkEnv(createRockPaperScissors(8, { seed: 1 }), { steps: 200, seed: 3 });
  assert.ok(r.episodes > 100 && r.episodes <= 160, `${r.episodes} episodes`); // some envs held
  assert.equal(r.agentSteps, 200 * 16);
  const d = checkEnv(new DictEnv(createRockPaperScissors(1)), { steps: 100, seed: 2 });
  assert.equal(d.episodes, 10);
});

Deno.test("rock-paper-scissors: batched matches are independent and deterministic", () => {
  const env = createRockPaperScissors(64, { seed: 5 });
  env.reset();
  const rng = new Pcg32(3, 0);
  const totals = new Float64Array(128);
  for (let t = 0; t < 30; t++) {
    for (let s = 0; s < 128; s++) env.groups[0]!.act[s] = rng.nextInt(3);
    env.step();
    for (let s = 0; s < 128; s++) totals[s]! += env.rew[s]!;
    for (let i = 0; i < 64; i++) assert.equal(env.envDone[i], (t + 1) % 10 === 0 ? 1 : 0);
  }
  // Zero-sum, and random play wins about as often as it loses.
  for (let i = 0; i < 64; i++) assert.equal(totals[2 * i]! + totals[2 * i + 1]!, 0);
  const sum = totals.filter((_, s) => s % 2 === 0).reduce((a, b) => a + b);
  assert.ok(Math.abs(sum) < 150, `player1's total ${sum}`);
});
