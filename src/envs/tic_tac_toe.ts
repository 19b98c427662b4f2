/**
 * Tic-Tac-Toe (3 x 3), turn-based, as a batched WASM env ({@linkcode createTicTacToe}), with
 * the legal-action mask in the observation (RLlib's convention: a Dict
 * `{action_mask, observations}`). The rules and the facts live in `assembly/tic_tac_toe.ts`.
 *
 * Rules:
 * - Agents `player1` (moves first, X) and `player2` (O), RLlib's ids; slot 0 and slot 1 of each
 *   env. Only the player to move is ACTIVE; `player1` appears at reset, `player2` at its first
 *   turn.
 * - Observation: `{action_mask: Box(0, 1, [9]), observations: Box(0, 1, [3, 3, 2])}`,
 *   flattened as `[action_mask (9), observations (18)]`. `action_mask[k]` is 1 when cell
 *   `k = row * 3 + col` is empty; `observations[r][c]` is `[own, opponent]` from the observing
 *   player's point of view; row 0 on top.
 * - Action: Discrete(9), the cell `row * 3 + col`. An occupied cell is illegal: by default
 *   `step` throws a `RangeError` naming the player, the cell and the legal cells, and nothing
 *   changes; with `illegalMove: "forfeit"` the mover gets -1, its opponent +1 (when it has
 *   appeared) and the game ends.
 * - Three in a row wins: winner +1, loser -1 (published at the step the game ends, while the
 *   loser waits); a full board is a draw, 0 for both; terminated.
 * - Episode metrics: `player1_win`, `player2_win`, `draw`, `moves`, `forfeit`.
 *
 * @module
 */

import { Box, Dict, Discrete } from "../spaces.ts";
import type { WasmEnvDescriptor } from "../env/wasm.ts";
import { type IllegalMoveMode, illegalMoveMode, TurnBasedWasmEnv } from "./connect_four.ts";
import {
  TIC_TAC_TOE_FACTS,
  type TIC_TAC_TOE_VARIANTS,
  ticTacToeWasmBytes,
} from "./_generated/tic_tac_toe_wasm.ts";

const FACTS = TIC_TAC_TOE_FACTS;

/** Number of rows (and columns) of the board. */
export const TIC_TAC_TOE_SIZE: number = FACTS.SIZE;
/** Number of cells (and of actions). */
export const TIC_TAC_TOE_CELLS: number = FACTS.CELLS;
/** Reward of the winner. */
export const TIC_TAC_TOE_WIN_REWARD: number = FACTS.WIN_REWARD;
/** Reward of the loser (published when the game ends). */
export const TIC_TAC_TOE_LOSS_REWARD: number = FACTS.LOSS_REWARD;
/** Reward of both players in a draw. */
export const TIC_TAC_TOE_DRAW_REWARD: number = FACTS.DRAW_REWARD;
/** Reward of a player whose illegal move forfeits the game (`illegalMove: "forfeit"`). */
export const TIC_TAC_TOE_FORFEIT_PENALTY: number = FACTS.FORFEIT_PENALTY;
/** Reward of the opponent of a player who forfeits (`illegalMove: "forfeit"`). */
export const TIC_TAC_TOE_FORFEIT_REWARD: number = FACTS.FORFEIT_REWARD;
/** The 8 winning lines, each as its 3 cells (`row * 3 + col`). */
export const TIC_TAC_TOE_LINES: readonly (readonly number[])[] = FACTS.LINES.map((mask) =>
  Array.from({ length: FACTS.CELLS }, (_, k) => k).filter((k) => (mask >> k) & 1)
);
/**
 * The episode metrics, in the columns of `episodeMetrics.values`: `player1_win`,
 * `player2_win`, `draw`, `moves`, `forfeit` (as in Connect Four).
 */
export const TIC_TAC_TOE_METRIC_NAMES: readonly string[] = FACTS.METRIC_NAMES.split(",");

/** The two agent ids, by slot: `player1` (X) moves first. */
export const TIC_TAC_TOE_AGENT_IDS: readonly string[] = ["player1", "player2"];

/** Observation space: `action_mask` (1 for an empty cell) and the board as `[row][col][own, opponent]`. */
export const TIC_TAC_TOE_OBS_SPACE: Dict = new Dict({
  action_mask: new Box(0, 1, [FACTS.CELLS]),
  observations: new Box(0, 1, [FACTS.SIZE, FACTS.SIZE, 2]),
});
/** Action space: the cell `row * 3 + col`. */
export const TIC_TAC_TOE_ACTION_SPACE: Discrete = new Discrete(FACTS.CELLS);

/** Options of {@linkcode createTicTacToe}. */
export interface TicTacToeOptions {
  /** Env `i` is seeded from `(seed, i)`; a non-negative safe integer (default 0). */
  seed?: number;
  /**
   * `"error"` (default): an illegal move throws and changes nothing; `"forfeit"`: the mover
   * gets -1, its opponent +1 (when it has appeared), and the game ends.
   */
  illegalMove?: IllegalMoveMode;
  /** A compiled module of the matching build (see {@linkcode ticTacToeModule}). */
  module?: WebAssembly.Module;
}

/**
 * The loader's descriptor of a Tic-Tac-Toe module: one group `player` (`player1`, `player2`),
 * its spaces and metric names; `name` is `tic_tac_toe` or `tic_tac_toe_forfeit`.
 * @param options `illegalMove`
 * @returns the descriptor
 */
export function ticTacToeDescriptor(
  options: Pick<TicTacToeOptions, "illegalMove"> = {},
): WasmEnvDescriptor {
  const mode = illegalMoveMode(options.illegalMove);
  return {
    name: mode === "forfeit" ? "tic_tac_toe_forfeit" : "tic_tac_toe",
    groups: [{
      name: "player",
      observationSpace: TIC_TAC_TOE_OBS_SPACE,
      actionSpace: TIC_TAC_TOE_ACTION_SPACE,
      agentId: (j) => TIC_TAC_TOE_AGENT_IDS[j]!,
    }],
    metrics: TIC_TAC_TOE_METRIC_NAMES,
    competitive: true,
  };
}

const compiled = new Map<IllegalMoveMode, WebAssembly.Module>();

/**
 * The compiled Tic-Tac-Toe module (cached): the plain build, or the `forfeit` build.
 * @param options `illegalMove`
 * @returns the module
 */
export function ticTacToeModule(
  options: Pick<TicTacToeOptions, "illegalMove"> = {},
): WebAssembly.Module {
  const mode = illegalMoveMode(options.illegalMove);
  let m = compiled.get(mode);
  if (m === undefined) {
    const variant: keyof typeof TIC_TAC_TOE_VARIANTS | undefined = mode === "forfeit"
      ? "forfeit"
      : undefined;
    m = new WebAssembly.Module(ticTacToeWasmBytes(variant) as BufferSource);
    compiled.set(mode, m);
  }
  return m;
}

/**
 * Creates `numEnvs` Tic-Tac-Toe games as one batched slot env: one group `player` with slots
 * `2i` (`player1`) and `2i + 1` (`player2`) of env `i`, only the player to move ACTIVE,
 * auto-reset, `episodeMetrics`.
 *
 * @example Play the centre, then the first empty cell
 * ```ts
 * import { createTicTacToe } from "./tic_tac_toe.ts";
 * const env = createTicTacToe(1);
 * env.reset();
 * const g = env.groups[0]!;
 * g.act[0] = 4; // player1 takes the centre
 * env.step();
 * g.act[1] = g.obs.subarray(27, 36).indexOf(1); // player2's first empty cell
 * env.step();
 * ```
 *
 * @param numEnvs number of envs
 * @param options seed, `illegalMove` and module
 * @returns the env; call `reset` before `step`
 */
export function createTicTacToe(
  numEnvs: number,
  options: TicTacToeOptions = {},
): TurnBasedWasmEnv {
  return new TurnBasedWasmEnv(
    options.module ?? ticTacToeModule(options),
    ticTacToeDescriptor(options),
    numEnvs,
    options.seed,
    (k) => `cell ${k} (row ${Math.floor(k / FACTS.SIZE)}, col ${k % FACTS.SIZE})`,
    "is taken",
  );
}

/**
 * A text picture of a Tic-Tac-Toe observation row: `X` the observing player's marks, `O` its
 * opponent's, `.` empty, row 0 on top.
 * @param row a flat observation row (27 numbers)
 * @returns three lines of three cells
 */
export function renderTicTacToe(row: ArrayLike<number>): string {
  const lines: string[] = [];
  for (let r = 0; r < FACTS.SIZE; r++) {
    let line = "";
    for (let c = 0; c < FACTS.SIZE; c++) {
      const o = FACTS.CELLS + (r * FACTS.SIZE + c) * 2;
      line += row[o] === 1 ? "X" : row[o + 1] === 1 ? "O" : ".";
    }
    lines.push(line);
  }
  return lines.join("\n");
}
