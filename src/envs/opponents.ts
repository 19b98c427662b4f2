/**
 * Fixed opponents for the built-in games, as {@linkcode BatchPolicy} implementations that read
 * the games' observation rows (legal-action mask included) and write no extra outputs:
 *
 * - {@linkcode LegalRandomPolicy}: uniformly random among the legal actions of any env with an
 *   `action_mask` observation (RLlib's convention).
 * - {@linkcode ConnectFourHeuristicPolicy}: one-ply lookahead: take a winning move, else block
 *   the opponent's immediate win, else a uniformly random legal move.
 * - {@linkcode TicTacToeMinimaxPolicy}: perfect play (a full game-tree solve, computed once and
 *   memoized), uniformly random among the optimal moves.
 * - {@linkcode RpsAlwaysSamePolicy} and {@linkcode RpsBeatLastPolicy}: RLlib's
 *   `AlwaysSameHeuristic` (a random move at the first round, then the same move all match) and
 *   `BeatLastHeuristic` (the move that beats the opponent's last one; random at the first round).
 *
 * Every random choice draws from the `rng` the caller passes to `act`, so runs are reproducible.
 * None of them imports TensorFlow.js.
 *
 * @module
 */

import { type BatchPolicy, noLegalActionError, RandomPolicy } from "../policy/policy.ts";
import type { Pcg32 } from "../rng.ts";
import { Dict, Discrete, type Space } from "../spaces.ts";
import {
  CONNECT_FOUR_ACTION_SPACE,
  CONNECT_FOUR_COLS,
  CONNECT_FOUR_CONNECT,
  CONNECT_FOUR_OBS_SPACE,
  CONNECT_FOUR_ROWS,
} from "./connect_four.ts";
import { TIC_TAC_TOE_CELLS, TIC_TAC_TOE_LINES, TIC_TAC_TOE_OBS_SPACE } from "./tic_tac_toe.ts";
import { RPS_NO_MOVE, RPS_NUM_MOVES, RPS_OBS_SPACE } from "./rock_paper_scissors.ts";

/**
 * The offset of the `action_mask` component in the flat observation rows of `obsSpace` (Dict
 * keys are sorted), checked against a Discrete action space of the same size.
 * @param obsSpace a Dict observation space with an `action_mask` component
 * @param actionSpace a Discrete action space with as many actions as the mask has numbers
 * @returns the offset
 * @throws {RangeError} naming what does not fit
 */
export function actionMaskOffset(obsSpace: Space, actionSpace: Space): number {
  if (!(obsSpace instanceof Dict) || obsSpace.spaces.action_mask === undefined) {
    throw new RangeError(
      `expected a Dict observation space with an "action_mask" component, got ${obsSpace}`,
    );
  }
  const mask = obsSpace.spaces.action_mask;
  if (!(actionSpace instanceof Discrete) || actionSpace.n !== mask.flatSize) {
    throw new RangeError(
      `expected a Discrete action space of ${mask.flatSize} actions (the size of "action_mask" ${mask}), got ${actionSpace}`,
    );
  }
  let offset = 0;
  for (const k of obsSpace.keys) {
    if (k === "action_mask") break;
    offset += obsSpace.spaces[k]!.flatSize;
  }
  return offset;
}

function noLegalMove(who: string, row: number): never {
  throw noLegalActionError(who, row);
}

/**
 * Uniformly random among the legal actions: those whose `action_mask` entry is 1 (RLlib's
 * masking convention: the observation is a Dict `{action_mask, ...}` and the action space a
 * Discrete of the mask's size).
 *
 * @example
 * ```ts
 * import { LegalRandomPolicy } from "./opponents.ts";
 * import { CONNECT_FOUR_ACTION_SPACE, CONNECT_FOUR_OBS_SPACE } from "./connect_four.ts";
 * import { Pcg32 } from "../rng.ts";
 * const p = new LegalRandomPolicy(CONNECT_FOUR_OBS_SPACE, CONNECT_FOUR_ACTION_SPACE);
 * const row = new Float32Array(91);
 * row[5] = 1; // only column 5 is open
 * const out = new Float32Array(1);
 * p.act(row, 1, new Pcg32(1), true, out);
 * if (out[0] !== 5) throw new Error("only column 5 is legal");
 * ```
 */
export class LegalRandomPolicy extends RandomPolicy {
  /**
   * Creates the policy.
   * @param obsSpace a Dict observation space with an `action_mask` component
   * @param actionSpace the Discrete action space
   * @throws {RangeError} when the spaces are not a masked Dict and a Discrete of its size
   */
  constructor(obsSpace: Space, actionSpace: Space) {
    actionMaskOffset(obsSpace, actionSpace);
    super(obsSpace, actionSpace, "LegalRandomPolicy");
  }
}

const C4_ROWS = CONNECT_FOUR_ROWS, C4_COLS = CONNECT_FOUR_COLS, C4_WIN = CONNECT_FOUR_CONNECT;
// [dRow, dCol] of the four line directions.
const C4_DIRS: readonly (readonly [number, number])[] = [[0, 1], [1, 0], [1, 1], [1, -1]];

/**
 * Whether a piece of `plane` (0 own, 1 opponent) dropped at `(r, c)` of the Connect Four
 * board in `obs` (row offset `o`, the action mask first) makes four in a row.
 */
function c4Wins(obs: Float32Array, o: number, plane: number, r: number, c: number): boolean {
  const at = (rr: number, cc: number) =>
    rr >= 0 && rr < C4_ROWS && cc >= 0 && cc < C4_COLS &&
    obs[o + C4_COLS + (rr * C4_COLS + cc) * 2 + plane] === 1;
  for (const [dr, dc] of C4_DIRS) {
    let n = 1;
    for (let k = 1; k < C4_WIN && at(r + k * dr, c + k * dc); k++) n++;
    for (let k = 1; k < C4_WIN && at(r - k * dr, c - k * dc); k++) n++;
    if (n >= C4_WIN) return true;
  }
  return false;
}

/** The row a piece dropped in column `c` lands on (row 0 on top), or -1 when it is full. */
function c4Landing(obs: Float32Array, o: number, c: number): number {
  for (let r = C4_ROWS - 1; r >= 0; r--) {
    const cell = o + C4_COLS + (r * C4_COLS + c) * 2;
    if (obs[cell] !== 1 && obs[cell + 1] !== 1) return r;
  }
  return -1;
}

/**
 * Connect Four's one-ply lookahead heuristic (the "heuristic" opponent): a winning move
 * when there is one, else a move that blocks the opponent's immediate win, else a uniformly
 * random legal move (ties among several winning or blocking moves are broken uniformly at
 * random too). Reads the row of the player to move (`[action_mask, own, opponent]`, see
 * `createConnectFour`); plays either seat.
 */
export class ConnectFourHeuristicPolicy implements BatchPolicy {
  /** Flat observation size this policy reads per row (91). */
  readonly obsSize: number = CONNECT_FOUR_OBS_SPACE.flatSize;
  /** Packed action size this policy writes per row (1). */
  readonly actSize = 1;
  readonly #wins = new Int32Array(C4_COLS);
  readonly #blocks = new Int32Array(C4_COLS);
  readonly #legal = new Int32Array(C4_COLS);

  /** Creates the policy (checks the Connect Four spaces agree). */
  constructor() {
    actionMaskOffset(CONNECT_FOUR_OBS_SPACE, CONNECT_FOUR_ACTION_SPACE);
  }

  /**
   * Picks one move per row (see {@linkcode BatchPolicy.act}).
   * @param obs observation rows of the players to move
   * @param rows number of rows
   * @param rng random stream for the ties and the random moves
   * @param _explore ignored
   * @param actionsOut columns written
   * @throws {RangeError} when a row's mask allows no move
   */
  act(
    obs: Float32Array,
    rows: number,
    rng: Pcg32,
    _explore: boolean,
    actionsOut: Float32Array,
  ): void {
    const wins = this.#wins, blocks = this.#blocks, legal = this.#legal;
    for (let row = 0; row < rows; row++) {
      const o = row * this.obsSize;
      let nw = 0, nb = 0, nl = 0;
      for (let c = 0; c < C4_COLS; c++) {
        if (obs[o + c] !== 1) continue;
        legal[nl++] = c;
        const r = c4Landing(obs, o, c);
        if (r < 0) continue;
        if (c4Wins(obs, o, 0, r, c)) wins[nw++] = c;
        else if (c4Wins(obs, o, 1, r, c)) blocks[nb++] = c;
      }
      if (nl === 0) noLegalMove("ConnectFourHeuristicPolicy", row);
      actionsOut[row] = nw > 0
        ? wins[rng.nextInt(nw)]!
        : nb > 0
        ? blocks[rng.nextInt(nb)]!
        : legal[rng.nextInt(nl)]!;
    }
  }
}

// Tic-Tac-Toe solved once: a state is the board from the mover's point of view in base 3
// (cell k: 0 empty, 1 own, 2 opponent), 3^9 states.
const TTT_STATES = 3 ** TIC_TAC_TOE_CELLS;
const POW3 = Array.from({ length: TIC_TAC_TOE_CELLS }, (_, k) => 3 ** k);
let tttValue: Int8Array | undefined; // -1 loss, 0 draw, 1 win for the mover; 2 not computed
let tttBest: Uint16Array | undefined; // bitmask of the optimal cells

function tttLine(state: number, who: number): boolean {
  return TIC_TAC_TOE_LINES.some((line) =>
    line.every((k) => Math.floor(state / POW3[k]!) % 3 === who)
  );
}

/** The game value for the player to move in `state`, memoized with its optimal moves. */
function tttSolve(state: number): number {
  const value = tttValue!, best = tttBest!;
  if (value[state] !== 2) return value[state]!;
  // The opponent's last move may have ended the game: its line, or a full board.
  let v: number;
  let moves = 0;
  if (tttLine(state, 2)) v = -1;
  else {
    // After the mover plays k, the opponent moves: swap own and opponent.
    let swapped = 0;
    for (let k = 0; k < TIC_TAC_TOE_CELLS; k++) {
      const x = Math.floor(state / POW3[k]!) % 3;
      swapped += (x === 0 ? 0 : 3 - x) * POW3[k]!;
    }
    v = -2;
    let any = false;
    for (let k = 0; k < TIC_TAC_TOE_CELLS; k++) {
      if (Math.floor(state / POW3[k]!) % 3 !== 0) continue;
      any = true;
      const w = -tttSolve(swapped + 2 * POW3[k]!);
      if (w > v) {
        v = w;
        moves = 1 << k;
      } else if (w === v) moves |= 1 << k;
    }
    if (!any) v = 0;
  }
  value[state] = v;
  best[state] = moves;
  return v;
}

function tttTables(): Uint16Array {
  if (tttBest === undefined) {
    tttValue = new Int8Array(TTT_STATES).fill(2);
    tttBest = new Uint16Array(TTT_STATES);
    tttSolve(0); // every position reachable from the empty board, either player to move
  }
  return tttBest;
}

/**
 * The game value of a Tic-Tac-Toe position for the player to move under perfect play: 1 win,
 * 0 draw, -1 loss.
 * @param row an observation row of the player to move (27 numbers: mask, then
 *   `[row][col][own, opponent]`)
 * @returns the value
 */
export function ticTacToeValue(row: ArrayLike<number>): number {
  tttTables();
  return tttValue![tttState(row, 0)]!;
}

function tttState(obs: ArrayLike<number>, o: number): number {
  let state = 0;
  for (let k = 0; k < TIC_TAC_TOE_CELLS; k++) {
    const cell = o + TIC_TAC_TOE_CELLS + 2 * k;
    if (obs[cell] === 1) state += POW3[k]!;
    else if (obs[cell + 1] === 1) state += 2 * POW3[k]!;
  }
  return state;
}

/**
 * A perfect Tic-Tac-Toe player: every position reachable from the empty board is solved once
 * (negamax over the 3^9 encodings, memoized; a few milliseconds, shared by every instance) and
 * the policy plays uniformly at random among the moves of the best game value (win over draw
 * over loss). Reads the row of the player to move; plays either seat.
 */
export class TicTacToeMinimaxPolicy implements BatchPolicy {
  /** Flat observation size this policy reads per row (27). */
  readonly obsSize: number = TIC_TAC_TOE_OBS_SPACE.flatSize;
  /** Packed action size this policy writes per row (1). */
  readonly actSize = 1;
  readonly #best: Uint16Array = tttTables();

  /**
   * Picks one optimal move per row (see {@linkcode BatchPolicy.act}).
   * @param obs observation rows of the players to move
   * @param rows number of rows
   * @param rng random stream for breaking ties among optimal moves
   * @param _explore ignored
   * @param actionsOut cells written
   * @throws {RangeError} when a row has no legal move or is not a reachable position
   */
  act(
    obs: Float32Array,
    rows: number,
    rng: Pcg32,
    _explore: boolean,
    actionsOut: Float32Array,
  ): void {
    for (let row = 0; row < rows; row++) {
      const o = row * this.obsSize;
      let moves = this.#best[tttState(obs, o)]!;
      // Only the legal cells (a position the solve did not reach has none recorded).
      let mask = 0;
      for (let k = 0; k < TIC_TAC_TOE_CELLS; k++) if (obs[o + k] === 1) mask |= 1 << k;
      if (mask === 0) noLegalMove("TicTacToeMinimaxPolicy", row);
      moves &= mask;
      if (moves === 0) moves = mask; // unreachable or finished position: any legal cell
      let count = 0;
      for (let m = moves; m !== 0; m &= m - 1) count++;
      let pick = rng.nextInt(count);
      for (let k = 0; k < TIC_TAC_TOE_CELLS; k++) {
        if ((moves >> k) & 1 && pick-- === 0) {
          actionsOut[row] = k;
          break;
        }
      }
    }
  }
}

const RPS_OWN = RPS_NUM_MOVES + 1; // offset of own_last_move in the row (after the opponent's)

function rpsLast(obs: Float32Array, o: number, who: string, row: number): number {
  for (let k = 0; k <= RPS_NUM_MOVES; k++) if (obs[o + k] === 1) return k;
  throw new RangeError(
    `${who}: observation row ${row} holds no one-hot move at offset ${o % (2 * RPS_OWN)}`,
  );
}

/**
 * RLlib's `AlwaysSameHeuristic` for repeated Rock-Paper-Scissors: a uniformly random move at
 * the first round of a match, then that same move every round (read back from the row's
 * `own_last_move`, so the policy keeps no state).
 */
export class RpsAlwaysSamePolicy implements BatchPolicy {
  /** Flat observation size this policy reads per row (8). */
  readonly obsSize: number = RPS_OBS_SPACE.flatSize;
  /** Packed action size this policy writes per row (1). */
  readonly actSize = 1;
  /**
   * Picks one move per row (see {@linkcode BatchPolicy.act}).
   * @param obs observation rows
   * @param rows number of rows
   * @param rng random stream for the first round's move
   * @param _explore ignored
   * @param actionsOut moves written
   */
  act(
    obs: Float32Array,
    rows: number,
    rng: Pcg32,
    _explore: boolean,
    actionsOut: Float32Array,
  ): void {
    for (let r = 0; r < rows; r++) {
      const own = rpsLast(obs, r * this.obsSize + RPS_OWN, "RpsAlwaysSamePolicy", r);
      actionsOut[r] = own === RPS_NO_MOVE ? rng.nextInt(RPS_NUM_MOVES) : own;
    }
  }
}

/**
 * RLlib's `BeatLastHeuristic` for repeated Rock-Paper-Scissors: the move that beats the
 * opponent's last move (paper after rock, scissors after paper, rock after scissors); a
 * uniformly random move at the first round.
 */
export class RpsBeatLastPolicy implements BatchPolicy {
  /** Flat observation size this policy reads per row (8). */
  readonly obsSize: number = RPS_OBS_SPACE.flatSize;
  /** Packed action size this policy writes per row (1). */
  readonly actSize = 1;
  /**
   * Picks one move per row (see {@linkcode BatchPolicy.act}).
   * @param obs observation rows
   * @param rows number of rows
   * @param rng random stream for the first round's move
   * @param _explore ignored
   * @param actionsOut moves written
   */
  act(
    obs: Float32Array,
    rows: number,
    rng: Pcg32,
    _explore: boolean,
    actionsOut: Float32Array,
  ): void {
    for (let r = 0; r < rows; r++) {
      const opp = rpsLast(obs, r * this.obsSize, "RpsBeatLastPolicy", r);
      actionsOut[r] = opp === RPS_NO_MOVE ? rng.nextInt(RPS_NUM_MOVES) : (opp + 1) % RPS_NUM_MOVES;
    }
  }
}
