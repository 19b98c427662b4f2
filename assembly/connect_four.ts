/**
 * Connect Four (6 rows x 7 columns) on the env kit (`_kit.ts`): `N` games batched in linear
 * memory, turn-based, with the legal-action mask in the observation (RLlib's convention).
 *
 * One slot group `player` with 2 slots per env: slot 0 is `player1` (moves first), slot 1 is
 * `player2`. Only the player to move is ACTIVE; the other waits (ALIVE). `player1` is spawned
 * at reset, `player2` when its first turn comes (RLlib's turn-based games: an agent appears
 * with its first observation).
 * - Observation row (OBS_SIZE = 91 f32), the flat encoding of the Dict
 *   `{action_mask: Box(0, 1, [7]), observations: Box(0, 1, [6, 7, 2])}` (keys sorted):
 *   `action_mask[c]` is 1 when column `c` is not full; `observations[r][c][0]` is 1 when the
 *   cell holds a piece of the row's own player, `[r][c][1]` one of the opponent (the board from
 *   the point of view of the slot's player, so one policy can play both seats); row 0 is the
 *   top row (pieces fall towards row 5). The mask lists the columns that are not full even when
 *   the game is over (a final observation), so a masked distribution over it stays defined.
 * - Action row (1 f32): the column, Discrete(7). A full column is an illegal move: `step`
 *   fails with E_BAD_ACTION before anything changes (the `legal` hook), unless built with
 *   `ILLEGAL_FORFEIT` (variant `forfeit`): then the mover gets FORFEIT_PENALTY, the opponent
 *   (when it has appeared) FORFEIT_REWARD, and the game terminates.
 * - Four in a row (vertical, horizontal or diagonal) of the mover wins: the mover gets
 *   WIN_REWARD and the waiting opponent LOSS_REWARD (its deferred reward, which closes its last
 *   transition), the episode terminates. A full board without a winner is a draw: DRAW_REWARD
 *   for both, terminated.
 * - Episode metrics (`METRIC_NAMES`): `player1_win`, `player2_win`, `draw` (1 or 0: means are
 *   rates), `moves` (moves played, the illegal one of a forfeit included), `forfeit` (1 when
 *   an illegal move ended the game).
 *
 * State (32 bytes per env): two bitboards (u64, one per player; bit `col * 7 + h` is the cell
 * `h` rows above the bottom of column `col`, bit 6 of each column stays 0 as a sentinel), the
 * column heights (u8 x 7), the player to move, the number of moves and the last move. A win is
 * found with four shift-and-mask tests on the mover's bitboard. Observation rows: after a move
 * `updateObs` writes the new piece (own or opponent plane) and the moved column's mask entry;
 * `writeObs` copies a template at reset and at `player2`'s spawn, and writes a final
 * observation as a copy of the slot's row (which the kit has not yet rewritten: it still shows
 * the position before the last move) plus that move. The TypeScript twin test compares every
 * row and final row with a full write after every move.
 */

import { Kit, KitEnv, RUNNING, TERMINATED } from "./_kit";
import { Layout } from "./_common";

export * from "./_abi";
export * from "./_abi_metrics";

// @variant forfeit ILLEGAL_FORFEIT=1

/** Number of board rows. */
export const ROWS: i32 = 6;
/** Number of board columns; actions are Discrete(COLS), the column to drop a piece in. */
export const COLS: i32 = 7;
/** Pieces in a row (vertical, horizontal or diagonal) that win. */
export const CONNECT: i32 = 4;
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
/** Observation row width: the action mask (COLS), then ROWS x COLS x 2 planes. */
export const OBS_SIZE: i32 = COLS + ROWS * COLS * 2;
/** The episode metrics, comma-separated, in the order of their columns. */
export const METRIC_NAMES: string = "player1_win,player2_win,draw,moves,forfeit";

// The build constant of the `forfeit` variant.
const FORFEIT: bool = isDefined(ILLEGAL_FORFEIT);

const CELLS: i32 = ROWS * COLS;
const H1: i32 = ROWS + 1; // bits per column, with the sentinel

// Per-env record (32 bytes).
const O_BB: usize = 0; // u64 x 2: bitboards of player1, player2
const O_HEIGHTS: usize = 16; // u8 x 7
const O_TO_MOVE: usize = 23; // u8: 0 player1, 1 player2
const O_MOVES: usize = 24; // u8: moves played
const O_END: usize = 25; // u8: outcome (0 draw/running, 1 player1 won, 2 player2 won) | forfeit << 2
// u32: what `updateObs` writes after the last move: the byte offset in a row of the new
// piece's own-plane number (bits 0-15), of its column's mask entry (bits 16-23), and that
// entry (bit 24: 1 while the column is open).
const O_UPD: usize = 28;

let games: usize = 0;

// The observation row of an empty board: the mask all ones, no pieces.
const EMPTY_ROW: usize = memory.data(OBS_SIZE << 2, 16);
let tablesBuilt: bool = false;

function buildTables(): void {
  for (let c = 0; c < COLS; c++) store<f32>(EMPTY_ROW + ((<usize> c) << 2), 1);
  tablesBuilt = true;
}

/** Whether bitboard `b` has four in a row (any direction). */
function fourInARow(b: u64): bool {
  const v = b & (b >> 1);
  const h = b & (b >> <u64> H1);
  const d1 = b & (b >> <u64> (H1 - 1));
  const d2 = b & (b >> <u64> (H1 + 1));
  return ((v & (v >> 2)) | (h & (h >> <u64> (2 * H1))) | (d1 & (d1 >> <u64> (2 * H1 - 2))) |
    (d2 & (d2 >> <u64> (2 * H1 + 2)))) != 0;
}

/** Writes the last move of the game at `q` into slot `j`'s row at `p`: its piece, its mask entry. */
function lastMove(q: usize, j: i32, p: usize): void {
  const v = load<u32>(q + O_UPD);
  // The player who just moved (own plane) is the one not to move now.
  const plane = select<usize>(4, 0, j == <i32> load<u8>(q + O_TO_MOVE));
  store<f32>(p + <usize> (v & 0xffff) + plane, 1);
  store<f32>(p + <usize> ((v >> 16) & 0xff), <f32> (v >> 24));
}

/** The game's hooks (see `_kit.ts`); never instantiated. */
// deno-lint-ignore no-unused-vars -- bound by `Kit.bind<ConnectFour>()` (a type argument)
class ConnectFour extends KitEnv<ConnectFour> {
  slots(_g: i32): i32 {
    return 2;
  }
  obsSize(_g: i32): i32 {
    return OBS_SIZE;
  }
  /** Discrete(COLS): the column. */
  actions(_g: i32): i32 {
    return COLS;
  }
  metrics(): i32 {
    return 5;
  }
  /** The kit's loops over the 2 slots written out (fewer instructions per env). */
  unrolled(): bool {
    return true;
  }
  /** A move into a full column is illegal (always allowed in the `forfeit` variant). */
  @inline
  legal(i: i32, _g: i32, _j: i32, p: usize): bool {
    if (FORFEIT) return true;
    const col = <usize> reinterpret<i32>(load<f32>(p) + <f32> 8388608) - 0x4b000000;
    return load<u8>(games + ((<usize> i) << 5) + O_HEIGHTS + col) < <u8> ROWS;
  }
  layout(n: i32): void {
    games = Kit.alloc(<u64> n << 5);
    if (!tablesBuilt) buildTables();
  }
  @inline
  reset(i: i32): void {
    const q = games + ((<usize> i) << 5);
    store<u64>(q, 0);
    store<u64>(q, 0, 8);
    store<u64>(q, 0, 16);
    store<u64>(q, 0, 24);
    this.spawn(0, i, 0, 0);
  }
  @inline
  step(i: i32): u8 {
    const q = games + ((<usize> i) << 5);
    const m = <i32> load<u8>(q + O_TO_MOVE);
    const col = this.action(0, i, m);
    const hp = q + O_HEIGHTS + <usize> col;
    const h = <i32> load<u8>(hp);
    const moves = <i32> load<u8>(q + O_MOVES) + 1;
    store<u8>(q + O_MOVES, <u8> moves);
    if (FORFEIT) {
      if (h >= ROWS) {
        this.reward(0, i, m, FORFEIT_PENALTY);
        if (this.alive(0, i, 1 - m)) this.reward(0, i, 1 - m, FORFEIT_REWARD);
        store<u8>(q + O_END, <u8> ((2 - m) | 4));
        return TERMINATED;
      }
    }
    const bp = q + O_BB + ((<usize> m) << 3);
    const b = load<u64>(bp) | (<u64> 1 << <u64> (col * H1 + h));
    store<u64>(bp, b);
    store<u8>(hp, <u8> (h + 1));
    const cell = (ROWS - 1 - h) * COLS + col;
    const open = select<u32>(1, 0, h + 1 < ROWS);
    store<u32>(q + O_UPD, ((COLS + (cell << 1)) << 2) | (col << 18) | (open << 24));
    // The other player moves next (also after the game's last move: `lastMove` reads the mover
    // as the player not to move).
    store<u8>(q + O_TO_MOVE, <u8> (1 - m));
    if (fourInARow(b)) {
      this.reward(0, i, m, WIN_REWARD);
      this.reward(0, i, 1 - m, LOSS_REWARD);
      store<u8>(q + O_END, <u8> (m + 1));
      return TERMINATED;
    }
    if (moves == CELLS) {
      if (DRAW_REWARD != 0) {
        this.reward(0, i, 0, DRAW_REWARD);
        this.reward(0, i, 1, DRAW_REWARD);
      }
      return TERMINATED;
    }
    this.setActive(0, i, m, false);
    if (moves == 1) this.spawn(0, i, 1, 0);
    else this.setActive(0, i, 1 - m, true);
    return RUNNING;
  }
  /** The full row of slot `j` (skipped for an empty slot, whose row is never read). */
  writeObs(i: i32, g: i32, j: i32, p: usize): void {
    if (!this.alive(g, i, j)) return;
    const q = games + ((<usize> i) << 5);
    const moves = <i32> load<u8>(q + O_MOVES);
    if (moves <= 1) {
      // The empty board (every column open), or player2's first view: one opponent piece.
      memory.copy(p, EMPTY_ROW, <usize> OBS_SIZE << 2);
      if (moves == 1) {
        // player1's piece, in player2's opponent plane.
        store<f32>(p + <usize> (load<u32>(q + O_UPD) & 0xffff) + ((<usize> j) << 2), 1);
      }
      return;
    }
    // A final observation (the only full write after the first move: the kit writes them
    // before it resets the env and rewrites the rows). The slot's row still holds the position
    // before the last move, so copy it and add that move.
    const row = Layout.obs(g) + ((<usize> (i * 2 + j) * <usize> OBS_SIZE) << 2);
    if (row != p) memory.copy(p, row, <usize> OBS_SIZE << 2);
    lastMove(q, j, p);
  }
  /** After a move: the new piece (own or opponent plane) and the moved column's mask entry. */
  @inline
  updateObs(i: i32, _g: i32, j: i32, p: usize): void {
    lastMove(games + ((<usize> i) << 5), j, p);
  }
  writeMetrics(i: i32, p: usize): void {
    const q = games + ((<usize> i) << 5);
    const end = <i32> load<u8>(q + O_END);
    const outcome = end & 3;
    store<f32>(p, outcome == 1 ? 1 : 0);
    store<f32>(p, outcome == 2 ? 1 : 0, 4);
    store<f32>(p, outcome == 0 ? 1 : 0, 8);
    store<f32>(p, <f32> load<u8>(q + O_MOVES), 12);
    store<f32>(p, <f32> (end >> 2), 16);
  }
}

Kit.bind<ConnectFour>();
