import assert from "node:assert/strict";
import { createConnectFour } from "../envs/connect_four.ts";
import {
  ConnectFourHeuristicPolicy,
  LegalRandomPolicy,
  TicTacToeMinimaxPolicy,
} from "../envs/opponents.ts";
import {
  createTicTacToe,
  TIC_TAC_TOE_ACTION_SPACE,
  TIC_TAC_TOE_OBS_SPACE,
} from "../envs/tic_tac_toe.ts";
import { playMatches } from "./matches.ts";

Deno.test("matches: minimax never loses to random, in either seat; counts add up", () => {
  const minimax = new TicTacToeMinimaxPolicy();
  const random = new LegalRandomPolicy(TIC_TAC_TOE_OBS_SPACE, TIC_TAC_TOE_ACTION_SPACE);
  for (const [first, second] of [[minimax, random], [random, minimax]]) {
    const r = playMatches({
      env: createTicTacToe(32, { seed: 1 }),
      seats: { player1: first!, player2: second! },
      games: 300,
      seed: 2,
    });
    const m = first === minimax ? r.player1! : r.player2!;
    const o = first === minimax ? r.player2! : r.player1!;
    assert.equal(m.games, 300);
    assert.equal(m.wins + m.draws + m.losses, 300);
    assert.equal(m.losses, 0, "minimax never loses");
    assert.equal(o.wins, 0);
    assert.equal(o.losses, m.wins, "one seat's wins are the other's losses");
    assert.ok(m.winRate > 0.6, `minimax wins most games: ${m.winRate}`);
  }
});

Deno.test("matches: minimax against itself always draws; heuristic beats random at Connect Four", () => {
  const minimax = new TicTacToeMinimaxPolicy();
  const self = playMatches({
    env: createTicTacToe(16, { seed: 3 }),
    seats: { player1: minimax, player2: minimax },
    games: 100,
  });
  assert.equal(self.player1!.draws, 100);
  const c4 = createConnectFour(32, { seed: 4 });
  const heuristic = new ConnectFourHeuristicPolicy();
  const random = new LegalRandomPolicy(c4.groups[0]!.observationSpace, c4.groups[0]!.actionSpace);
  const r = playMatches({
    env: c4,
    seats: { player1: heuristic, player2: random },
    games: 200,
    seed: 5,
  });
  assert.ok(r.player1!.winRate > 0.8, `heuristic vs random: ${JSON.stringify(r.player1)}`);
});

Deno.test("matches: an agent without a policy is named", () => {
  const minimax = new TicTacToeMinimaxPolicy();
  assert.throws(
    () => playMatches({ env: createTicTacToe(2), seats: { player1: minimax }, games: 1 }),
    /playMatches: agent "player2" has no policy; the seats are "player1"/,
  );
});
