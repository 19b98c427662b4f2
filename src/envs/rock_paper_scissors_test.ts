import assert from "node:assert/strict";
import { ACTIVE, ALIVE, SPAWNED, TERMINATED } from "../env/batched.ts";
import { checkEnv } from "../env/check_env.ts";
import { DictEnv } from "../env/dict_face.ts";
import { Pcg32 } from "../rng.ts";
import { createWasmEnv } from "../env/wasm.ts";
import { WINDY_MAZE_DESCRIPTOR } from "./windy_maze.ts";
import { windyMazeWasmBytes } from "./_generated/windy_maze_wasm.ts";
import {
  createRockPaperScissors,
  rockPaperScissorsModule,
  RPS_AGENT_IDS,
  RPS_DESCRIPTOR,
  RPS_MAX_ROUNDS,
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

Deno.test("rock-paper-scissors: the rounds option sets the episode length; bad values are refused", () => {
  for (const rounds of [1, 15, RPS_MAX_ROUNDS]) {
    const env = createRockPaperScissors(3, { seed: 2, rounds });
    env.reset();
    const g = env.groups[0]!;
    for (let t = 1; t <= rounds; t++) {
      g.act.set([1, 0, 1, 0, 1, 0]); // paper against rock
      env.step();
      assert.deepEqual(Array.from(env.envDone), t === rounds ? [1, 1, 1] : [0, 0, 0], `round ${t}`);
    }
    // Every round won by player1: the rates are fractions of `rounds` rounds.
    assert.deepEqual(Array.from(env.episodeMetrics!.values.subarray(0, 3)), [1, 0, 0]);
  }
  // 16 rounds: 4 won, 12 tied.
  const env = createRockPaperScissors(1, { rounds: 16 });
  env.reset();
  for (let t = 0; t < 16; t++) {
    env.groups[0]!.act.set(t < 4 ? [1, 0] : [2, 2]);
    env.step();
  }
  assert.equal(env.envDone[0], 1);
  assert.deepEqual(Array.from(env.episodeMetrics!.values), [0.25, 0, 0.75]);
  for (const bad of [0, 256, 2.5, NaN]) {
    assert.throws(
      () => createRockPaperScissors(1, { rounds: bad }),
      new RegExp(`parameter "rounds" must be an integer in \\[1, 255\\], got ${bad}`),
    );
  }
});

Deno.test("env parameters: unknown names, and a module refusing what its descriptor allows", () => {
  assert.throws(
    () => createWasmEnv(rockPaperScissorsModule(), RPS_DESCRIPTOR, 1, 0, { round: 3 }),
    /"rock_paper_scissors" has no parameter "round"; expected one of rounds/,
  );
  assert.throws(
    () => createWasmEnv(windyMazeWasmBytes(), WINDY_MAZE_DESCRIPTOR, 1, 0, { rounds: 3 }),
    /"windy_maze" has no parameter "rounds"; it takes none/,
  );
  // The module checks again: a descriptor promising more than it takes gets its refusal.
  const loose = {
    ...RPS_DESCRIPTOR,
    params: [{ name: "rounds", min: 1, max: 1000, integer: true, default: 10 }],
  };
  assert.throws(
    () => createWasmEnv(rockPaperScissorsModule(), loose, 1, 0, { rounds: 300 }),
    /refused parameter "rounds" = 300/,
  );
});
