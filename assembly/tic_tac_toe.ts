/**
 * Tic-Tac-Toe (3 x 3) on the env kit (`_kit.ts`): `N` games batched in linear memory,
 * turn-based, with the legal-action mask in the observation (RLlib's convention).
 *
 * One slot group `player` with 2 slots per env: slot 0 is `player1` (moves first, X), slot 1
 * is `player2` (O). Only the player to move is ACTIVE; the other waits (ALIVE). `player1` is
 * spawned at reset, `player2` when its first turn comes.
 * - Observation row (OBS_SIZE = 27 f32), the flat encoding of the Dict
 *   `{action_mask: Box(0, 1, [9]), observations: Box(0, 1, [3, 3, 2])}` (keys sorted):
 *   `action_mask[k]` is 1 when cell `k = row * 3 + col` is empty; `observations[r][c][0]` is 1
 *   when the cell holds a mark of the row's own player, `[r][c][1]` one of the opponent (the
 *   board from the point of view of the slot's player); row 0 is the top row. The mask lists
 *   the empty cells even when the game is over (a final observation).
 * - Action row (1 f32): the cell `row * 3 + col`, Discrete(9). An occupied cell is an illegal
 *   move: `step` fails with E_BAD_ACTION before anything changes (the `legal` hook), unless
 *   built with `ILLEGAL_FORFEIT` (variant `forfeit`): then the mover gets FORFEIT_PENALTY, the
 *   opponent (when it has appeared) FORFEIT_REWARD, and the game terminates.
 * - Three in a row (a row, a column or a diagonal) of the mover wins: the mover gets
 *   WIN_REWARD and the waiting opponent LOSS_REWARD (its deferred reward), terminated. A full
 *   board without a winner is a draw: DRAW_REWARD for both, terminated.
 * - Episode metrics (`METRIC_NAMES`): `player1_win`, `player2_win`, `draw`, `moves`,
 *   `forfeit`, as in Connect Four.
 *
 * State (8 bytes per env): the two players' 9-bit boards (u16 each), the player to move, the
 * number of moves, the last cell, the outcome and whether it was a forfeit.
 */

import { Kit, KitEnv, RUNNING, TERMINATED } from "./_kit";

export * from "./_abi";
export * from "./_abi_metrics";

// @variant forfeit ILLEGAL_FORFEIT=1

/** Number of board rows (and columns). */
export const SIZE: i32 = 3;
/** Number of cells; actions are Discrete(CELLS), the cell `row * SIZE + col`. */
export const CELLS: i32 = SIZE * SIZE;
/** Reward of the winner. */
export const WIN_REWARD: f32 = 1;
/** Reward of the loser (published when the game ends, while it waits). */
export const LOSS_REWARD: f32 = -1;
/** Reward of both players when the board is full without a winner. */
export const DRAW_REWARD: f32 = 0;
/** Reward of a player whose illegal move forfeits the game (variant `forfeit`). */
export const FORFEIT_PENALTY: f32 = -1;
/** Reward of the opponent of a player who forfeits (variant `forfeit`). */
export const FORFEIT_REWARD: f32 = 1;
/** Observation row width: the action mask (CELLS), then SIZE x SIZE x 2 planes. */
export const OBS_SIZE: i32 = CELLS * 3;
/** The winning lines as cell bitmasks: 3 rows, 3 columns, 2 diagonals. */
export const LINES: StaticArray<i32> = [7, 56, 448, 73, 146, 292, 273, 84];
/** The episode metrics, comma-separated, in the order of their columns. */
export const METRIC_NAMES: string = "player1_win,player2_win,draw,moves,forfeit";

// The build constant of the `forfeit` variant.
const FORFEIT: bool = isDefined(ILLEGAL_FORFEIT);

// Per-env record (8 bytes).
const O_BOARDS: usize = 0; // u16 x 2: marks of player1, player2 (bit row * 3 + col)
const O_TO_MOVE: usize = 4; // u8: 0 player1, 1 player2
const O_MOVES: usize = 5; // u8
const O_LAST: usize = 6; // u8: the last move's cell
const O_END: usize = 7; // u8: outcome (0 draw/running, 1 player1 won, 2 player2 won) | forfeit << 2

let games: usize = 0;

/** Whether board `b` holds a whole line. */
function hasLine(b: i32): bool {
  let won = false;
  for (let k = 0; k < 8; k++) {
    const l = unchecked(LINES[k]);
    won |= (b & l) == l;
  }
  return won;
}

/** The game's hooks (see `_kit.ts`); never instantiated. */
// deno-lint-ignore no-unused-vars -- bound by `Kit.bind<TicTacToe>()` (a type argument)
class TicTacToe extends KitEnv<TicTacToe> {
  slots(_g: i32): i32 {
    return 2;
  }
  obsSize(_g: i32): i32 {
    return OBS_SIZE;
  }
  /** Discrete(CELLS): the cell. */
  actions(_g: i32): i32 {
    return CELLS;
  }
  metrics(): i32 {
    return 5;
  }
  /** A move into an occupied cell is illegal (always allowed in the `forfeit` variant). */
  @inline
  legal(i: i32, _g: i32, _j: i32, p: usize): bool {
    if (FORFEIT) return true;
    const cell = reinterpret<i32>(load<f32>(p) + <f32> 8388608) - 0x4b000000;
    const q = games + ((<usize> i) << 3);
    return (((<i32> load<u16>(q) | <i32> load<u16>(q, 2)) >> cell) & 1) == 0;
  }
  layout(n: i32): void {
    games = Kit.alloc(<u64> n << 3);
  }
  @inline
  reset(i: i32): void {
    store<u64>(games + ((<usize> i) << 3), 0);
    this.spawn(0, i, 0, 0);
  }
  @inline
  step(i: i32): u8 {
    const q = games + ((<usize> i) << 3);
    const m = <i32> load<u8>(q + O_TO_MOVE);
    const cell = this.action(0, i, m);
    const moves = <i32> load<u8>(q + O_MOVES) + 1;
    store<u8>(q + O_MOVES, <u8> moves);
    const bp = q + O_BOARDS + ((<usize> m) << 1);
    if (FORFEIT) {
      if ((((<i32> load<u16>(q) | <i32> load<u16>(q, 2)) >> cell) & 1) != 0) {
        this.reward(0, i, m, FORFEIT_PENALTY);
        if (this.alive(0, i, 1 - m)) this.reward(0, i, 1 - m, FORFEIT_REWARD);
        store<u8>(q + O_END, <u8> ((2 - m) | 4));
        return TERMINATED;
      }
    }
    const b = <i32> load<u16>(bp) | (1 << cell);
    store<u16>(bp, <u16> b);
    store<u8>(q + O_LAST, <u8> cell);
    if (hasLine(b)) {
      this.reward(0, i, m, WIN_REWARD);
      this.reward(0, i, 1 - m, LOSS_REWARD);
      store<u8>(q + O_END, <u8> (m + 1));
      return TERMINATED;
    }
    if (moves == CELLS) {
      this.reward(0, i, 0, DRAW_REWARD);
      this.reward(0, i, 1, DRAW_REWARD);
      return TERMINATED;
    }
    this.setActive(0, i, m, false);
    if (moves == 1) this.spawn(0, i, 1, 0);
    else this.setActive(0, i, 1 - m, true);
    store<u8>(q + O_TO_MOVE, <u8> (1 - m));
    return RUNNING;
  }
  /** The full row of slot `j` (skipped for an empty slot, whose row is never read). */
  writeObs(i: i32, g: i32, j: i32, p: usize): void {
    if (!this.alive(g, i, j)) return;
    const q = games + ((<usize> i) << 3);
    const own = <i32> load<u16>(q + ((<usize> j) << 1));
    const opp = <i32> load<u16>(q + ((<usize> (1 - j)) << 1));
    for (let k = 0; k < CELLS; k++) {
      const o = (own >> k) & 1;
      const x = (opp >> k) & 1;
      const empty = 1 - (o | x);
      store<f32>(p + ((<usize> k) << 2), <f32> empty);
      store<f32>(p + ((<usize> (CELLS + 2 * k)) << 2), <f32> o);
      store<f32>(p + ((<usize> (CELLS + 2 * k + 1)) << 2), <f32> x);
    }
  }
  /** After a move: the new mark (own or opponent plane) and its mask entry. */
  @inline
  updateObs(i: i32, _g: i32, j: i32, p: usize): void {
    const q = games + ((<usize> i) << 3);
    const mover = 1 - <i32> load<u8>(q + O_TO_MOVE);
    const cell = <i32> load<u8>(q + O_LAST);
    store<f32>(p + ((<usize> cell) << 2), 0);
    store<f32>(p + ((<usize> (CELLS + 2 * cell + select(0, 1, j == mover))) << 2), 1);
  }
  writeMetrics(i: i32, p: usize): void {
    const q = games + ((<usize> i) << 3);
    const end = <i32> load<u8>(q + O_END);
    const outcome = end & 3;
    store<f32>(p, outcome == 1 ? 1 : 0);
    store<f32>(p, outcome == 2 ? 1 : 0, 4);
    store<f32>(p, outcome == 0 ? 1 : 0, 8);
    store<f32>(p, <f32> load<u8>(q + O_MOVES), 12);
    store<f32>(p, <f32> (end >> 2), 16);
  }
}

Kit.bind<TicTacToe>();
