import assert from "node:assert/strict";
import { ACTIVE } from "../env/batched.ts";
import type { BatchPolicy } from "../policy/policy.ts";
import { Pcg32 } from "../rng.ts";
import {
  CONNECT_FOUR_ACTION_SPACE,
  CONNECT_FOUR_OBS_SPACE,
  createConnectFour,
  type TurnBasedWasmEnv,
} from "./connect_four.ts";
import { createTicTacToe, TIC_TAC_TOE_ACTION_SPACE, TIC_TAC_TOE_OBS_SPACE } from "./tic_tac_toe.ts";
import { createRockPaperScissors } from "./rock_paper_scissors.ts";
import {
  actionMaskOffset,
  ConnectFourHeuristicPolicy,
  LegalRandomPolicy,
  RpsAlwaysSamePolicy,
  RpsBeatLastPolicy,
  TicTacToeMinimaxPolicy,
  ticTacToeValue,
} from "./opponents.ts";

/** A Connect Four row: `own`/`opp` as [row, col] cells (row 0 on top), mask from the board. */
function c4Row(own: [number, number][], opp: [number, number][]): Float32Array {
  const row = new Float32Array(91);
  for (const [r, c] of own) row[7 + (r * 7 + c) * 2] = 1;
  for (const [r, c] of opp) row[7 + (r * 7 + c) * 2 + 1] = 1;
  for (let c = 0; c < 7; c++) row[c] = row[7 + c * 2] === 1 || row[7 + c * 2 + 1] === 1 ? 0 : 1;
  return row;
}

function acts(policy: BatchPolicy, row: Float32Array, draws: number, seed = 1): Set<number> {
  const rng = new Pcg32(seed, 0);
  const out = new Float32Array(1);
  const seen = new Set<number>();
  for (let k = 0; k < draws; k++) {
    policy.act(row, 1, rng, true, out);
    seen.add(out[0]!);
  }
  return seen;
}

/**
 * Plays `games` games of a turn-based env, `first` as player1 and `second` as player2, with
 * `n` envs at once; returns player1's wins, draws and losses.
 */
function match(
  env: TurnBasedWasmEnv,
  first: BatchPolicy,
  second: BatchPolicy,
  games: number,
  seed: number,
): { wins: number; draws: number; losses: number } {
  const g = env.groups[0]!, n = env.numEnvs, size = g.observationSpace.flatSize;
  const rng = new Pcg32(seed, 3);
  const rows = [new Float32Array(n * size), new Float32Array(n * size)];
  const out = new Float32Array(n);
  const slots: number[][] = [[], []];
  const result = { wins: 0, draws: 0, losses: 0 };
  let played = 0;
  env.reset(seed);
  while (played < games) {
    for (let j = 0; j < 2; j++) {
      slots[j]!.length = 0;
      for (let i = 0; i < n; i++) {
        const s = 2 * i + j;
        if ((env.flags[s]! & ACTIVE) === 0) continue;
        rows[j]!.set(g.obs.subarray(s * size, s * size + size), slots[j]!.length * size);
        slots[j]!.push(s);
      }
      (j === 0 ? first : second).act(rows[j]!, slots[j]!.length, rng, true, out);
      slots[j]!.forEach((s, k) => (g.act[s] = out[k]!));
    }
    env.step();
    for (let i = 0; i < n && played < games; i++) {
      if (env.envDone[i] !== 1) continue;
      played++;
      const r = env.rew[2 * i]!;
      if (r > 0) result.wins++;
      else if (r < 0) result.losses++;
      else result.draws++;
    }
  }
  return result;
}

Deno.test("LegalRandomPolicy: only legal actions, each of them; refuses an empty mask", () => {
  assert.equal(actionMaskOffset(CONNECT_FOUR_OBS_SPACE, CONNECT_FOUR_ACTION_SPACE), 0);
  const p = new LegalRandomPolicy(CONNECT_FOUR_OBS_SPACE, CONNECT_FOUR_ACTION_SPACE);
  const row = c4Row([], []);
  row[2] = 0;
  row[5] = 0;
  assert.deepEqual([...acts(p, row, 200)].sort(), [0, 1, 3, 4, 6]);
  assert.throws(
    () => p.act(new Float32Array(91), 1, new Pcg32(1), true, new Float32Array(1)),
    /LegalRandomPolicy: observation row 0 has no legal action in its action_mask/,
  );
  assert.throws(
    () => new LegalRandomPolicy(TIC_TAC_TOE_OBS_SPACE, CONNECT_FOUR_ACTION_SPACE),
    /expected a Discrete action space of 9 actions/,
  );
});

Deno.test("ConnectFourHeuristicPolicy: takes a win, else blocks, else plays at random", () => {
  const p = new ConnectFourHeuristicPolicy();
  // Horizontal win at column 3 on the bottom row.
  const win = c4Row([[5, 0], [5, 1], [5, 2]], [[4, 0], [4, 1], [4, 2]]);
  assert.deepEqual([...acts(p, win, 50)], [3]);
  // Both a vertical win (column 6) and a block (column 3): the win first.
  const both = c4Row([[5, 6], [4, 6], [3, 6], [5, 4]], [[5, 0], [5, 1], [5, 2]]);
  assert.deepEqual([...acts(p, both, 50)], [6]);
  // Only a block: the opponent's bottom row 0-2 needs column 3.
  const block = c4Row([[4, 0], [4, 1]], [[5, 0], [5, 1], [5, 2]]);
  assert.deepEqual([...acts(p, block, 50)], [3]);
  // Two winning columns: either, at random.
  const two = c4Row([[5, 1], [5, 2], [5, 3]], [[4, 1], [4, 2]]);
  assert.deepEqual([...acts(p, two, 100)].sort(), [0, 4]);
  // Nothing to win or block: every legal column, never a full one.
  const full = c4Row([[0, 5], [2, 5], [4, 5]], [[1, 5], [3, 5], [5, 5]]);
  assert.deepEqual([...acts(p, full, 300)].sort(), [0, 1, 2, 3, 4, 6]);
});

Deno.test("ConnectFourHeuristicPolicy beats a random player from either seat", () => {
  const env = createConnectFour(64, { seed: 1 });
  const h = new ConnectFourHeuristicPolicy();
  const r = new LegalRandomPolicy(CONNECT_FOUR_OBS_SPACE, CONNECT_FOUR_ACTION_SPACE);
  const asFirst = match(env, h, r, 300, 1);
  const asSecond = match(env, r, h, 300, 2);
  assert.ok(asFirst.wins >= 240, `as player1: ${JSON.stringify(asFirst)}`);
  assert.ok(asSecond.losses >= 240, `as player2: ${JSON.stringify(asSecond)}`);
});

Deno.test("TicTacToeMinimaxPolicy: game values, wins, blocks, random among optimal moves", () => {
  const empty = new Float32Array(27).fill(1, 0, 9);
  assert.equal(ticTacToeValue(empty), 0, "a draw under perfect play");
  const p = new TicTacToeMinimaxPolicy();
  // Every first move draws: the tie-break spreads over all nine.
  assert.equal(acts(p, empty, 400).size, 9);
  const row = (own: number[], opp: number[]) => {
    const r = new Float32Array(27);
    for (let k = 0; k < 9; k++) r[k] = own.includes(k) || opp.includes(k) ? 0 : 1;
    for (const k of own) r[9 + 2 * k] = 1;
    for (const k of opp) r[9 + 2 * k + 1] = 1;
    return r;
  };
  // Own 0, 1 and opponent 3, 4: win at 2 (not the block at 5).
  assert.deepEqual([...acts(p, row([0, 1], [3, 4]), 50)], [2]);
  assert.equal(ticTacToeValue(row([0, 1], [3, 4])), 1);
  // Opponent threatens 0-1-2: only the block at 2 holds.
  assert.deepEqual([...acts(p, row([4], [0, 1]), 50)], [2]);
  // A lost position (the opponent forks whatever happens): every move is as bad.
  assert.equal(ticTacToeValue(row([1], [0, 4])), -1);
  // After a corner opening, only the centre holds the draw for the second player.
  assert.deepEqual([...acts(p, row([], [0]), 50)], [4]);
});

Deno.test("TicTacToeMinimaxPolicy never loses to a random player, and draws against itself", () => {
  const env = createTicTacToe(64, { seed: 1 });
  const m = new TicTacToeMinimaxPolicy();
  const r = new LegalRandomPolicy(TIC_TAC_TOE_OBS_SPACE, TIC_TAC_TOE_ACTION_SPACE);
  const asFirst = match(env, m, r, 500, 1);
  const asSecond = match(env, r, m, 500, 2);
  assert.equal(asFirst.losses, 0, JSON.stringify(asFirst));
  assert.equal(asSecond.wins, 0, JSON.stringify(asSecond));
  assert.ok(asFirst.wins > 400 && asSecond.losses > 250);
  assert.deepEqual(match(env, m, m, 200, 3), { wins: 0, draws: 200, losses: 0 });
});

Deno.test("RPS heuristics: always the same move, beat the opponent's last move", () => {
  const env = createRockPaperScissors(32, { seed: 1 });
  env.reset();
  const g = env.groups[0]!;
  const same = new RpsAlwaysSamePolicy(), beat = new RpsBeatLastPolicy();
  const rng = new Pcg32(4, 0);
  const rows = [new Float32Array(32 * 8), new Float32Array(32 * 8)];
  const out = [new Float32Array(32), new Float32Array(32)];
  const firstMoves = new Set<number>();
  let prev: Float32Array | undefined;
  for (let t = 0; t < 30; t++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < 32; i++) {
        rows[j]!.set(g.obs.subarray((2 * i + j) * 8, (2 * i + j + 1) * 8), i * 8);
      }
    }
    same.act(rows[0]!, 32, rng, true, out[0]!);
    beat.act(rows[1]!, 32, rng, true, out[1]!);
    for (let i = 0; i < 32; i++) {
      const round = t % 10;
      if (round === 0) firstMoves.add(out[0]![i]!);
      else {
        assert.equal(out[0]![i], prev![2 * i], "the same move all match");
        assert.equal(out[1]![i], (prev![2 * i]! + 1) % 3, "beats player1's last move");
      }
      g.act[2 * i] = out[0]![i]!;
      g.act[2 * i + 1] = out[1]![i]!;
    }
    prev = g.act.slice();
    env.step();
  }
  assert.equal(firstMoves.size, 3, "a random move at the first round");
  // Beat-last always beats always-same after the first round: 9 of 10 rounds.
  const m = env.episodeMetrics!.values;
  for (let i = 0; i < 32; i++) assert.ok(m[3 * i + 1]! >= 0.9 - 1e-6, `env ${i}: ${m[3 * i + 1]}`);
});
