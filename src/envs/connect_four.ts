/**
 * Connect Four (6 rows x 7 columns), turn-based, as a batched WASM env
 * ({@linkcode createConnectFour}), with the legal-action mask in the observation (RLlib's
 * convention: a Dict `{action_mask, observations}`). The rules and the facts live in
 * `assembly/connect_four.ts`; the constants below are read from the facts the build wrote into
 * the generated module, not copied.
 *
 * Also here: {@linkcode TurnBasedWasmEnv}, the batched env class of the turn-based board games
 * (Tic-Tac-Toe uses it too), which turns the kit's "illegal action" error into one that names
 * the player, the move and the legal moves.
 *
 * Rules:
 * - Agents `player1` (moves first) and `player2`, RLlib's ids for its two-player examples
 *   (`TicTacToe`, `RockPaperScissors`); slot 0 and slot 1 of each env. Only the player to move
 *   is in the observations (ACTIVE); `player1` appears at reset, `player2` at its first turn.
 * - Observation: `{action_mask: Box(0, 1, [7]), observations: Box(0, 1, [6, 7, 2])}`, flattened
 *   as `[action_mask (7), observations (84)]` (Dict keys sorted). `action_mask[c]` is 1 when
 *   column `c` is not full. `observations[r][c]` is `[own, opponent]`: the board from the
 *   point of view of the observing player (plane 0 its own pieces, plane 1 its opponent's), so
 *   one policy can play both seats. Row 0 is the top row; pieces fall towards row 5.
 * - Action: Discrete(7), the column. A full column is illegal: by default `step` throws a
 *   `RangeError` naming the player, the column and the legal columns, and nothing changes;
 *   with `illegalMove: "forfeit"` the mover gets -1, its opponent +1 (when it has already
 *   appeared, i.e. not on the very first move) and the game ends.
 * - Four in a row wins: winner +1, loser -1. The loser's reward is published at the step the
 *   game ends, while it waits (a deferred reward: it closes the loser's last transition). A
 *   full board is a draw: 0 for both. Every game end is a termination (no time limit).
 * - Episode metrics (`episodeMetrics`, {@linkcode CONNECT_FOUR_METRIC_NAMES}): `player1_win`,
 *   `player2_win`, `draw` (0 or 1), `moves`, `forfeit`.
 *
 * @module
 */

import { Box, Dict, Discrete, formatValue } from "../spaces.ts";
import { ACTIVE } from "../env/batched.ts";
import { WasmBatchedEnv, type WasmEnvDescriptor } from "../env/wasm.ts";
import {
  CONNECT_FOUR_FACTS,
  type CONNECT_FOUR_VARIANTS,
  connectFourWasmBytes,
} from "./_generated/connect_four_wasm.ts";

const FACTS = CONNECT_FOUR_FACTS;

/** Number of board rows. */
export const CONNECT_FOUR_ROWS: number = FACTS.ROWS;
/** Number of board columns (and of actions). */
export const CONNECT_FOUR_COLS: number = FACTS.COLS;
/** Pieces in a row that win. */
export const CONNECT_FOUR_CONNECT: number = FACTS.CONNECT;
/** Reward of the winner. */
export const CONNECT_FOUR_WIN_REWARD: number = FACTS.WIN_REWARD;
/** Reward of the loser (published when the game ends). */
export const CONNECT_FOUR_LOSS_REWARD: number = FACTS.LOSS_REWARD;
/** Reward of both players in a draw. */
export const CONNECT_FOUR_DRAW_REWARD: number = FACTS.DRAW_REWARD;
/** Reward of a player whose illegal move forfeits the game (`illegalMove: "forfeit"`). */
export const CONNECT_FOUR_FORFEIT_PENALTY: number = FACTS.FORFEIT_PENALTY;
/** Reward of the opponent of a player who forfeits (`illegalMove: "forfeit"`). */
export const CONNECT_FOUR_FORFEIT_REWARD: number = FACTS.FORFEIT_REWARD;
/**
 * The episode metrics, in the columns of `episodeMetrics.values`: `player1_win`,
 * `player2_win`, `draw` (1 or 0, so their means are rates), `moves` (moves played, an illegal
 * one that forfeits included) and `forfeit` (1 when an illegal move ended the game).
 */
export const CONNECT_FOUR_METRIC_NAMES: readonly string[] = FACTS.METRIC_NAMES.split(",");

/** The two agent ids, by slot: `player1` moves first. */
export const CONNECT_FOUR_AGENT_IDS: readonly string[] = ["player1", "player2"];

/**
 * Observation space: `action_mask` (1 for a column that is not full) and `observations`, the
 * board as `[row][col][own, opponent]` from the observing player's point of view, row 0 on top.
 */
export const CONNECT_FOUR_OBS_SPACE: Dict = new Dict({
  action_mask: new Box(0, 1, [FACTS.COLS]),
  observations: new Box(0, 1, [FACTS.ROWS, FACTS.COLS, 2]),
});
/** Action space: the column to drop a piece in. */
export const CONNECT_FOUR_ACTION_SPACE: Discrete = new Discrete(FACTS.COLS);

/** What an illegal move does: throw (default) or lose the game. */
export type IllegalMoveMode = "error" | "forfeit";

/** Options of {@linkcode createConnectFour}. */
export interface ConnectFourOptions {
  /** Env `i` is seeded from `(seed, i)`; a non-negative safe integer (default 0). */
  seed?: number;
  /**
   * `"error"` (default): `step` throws a `RangeError` naming the player, the move and the
   * legal moves, and nothing changes. `"forfeit"`: the mover gets
   * {@linkcode CONNECT_FOUR_FORFEIT_PENALTY} (-1), its opponent
   * {@linkcode CONNECT_FOUR_FORFEIT_REWARD} (+1, when it has already appeared) and the game
   * ends (terminated).
   */
  illegalMove?: IllegalMoveMode;
  /** A compiled module of the matching build (see {@linkcode connectFourModule}). */
  module?: WebAssembly.Module;
}

/**
 * Checks an `illegalMove` option.
 * @param mode the option's value
 * @returns the mode, `"error"` when undefined
 * @throws {RangeError} naming the value and the expected ones
 */
export function illegalMoveMode(mode: unknown): IllegalMoveMode {
  if (mode === undefined || mode === "error" || mode === "forfeit") return mode ?? "error";
  throw new RangeError(
    `illegalMove must be "error" or "forfeit", got ${formatValue(mode)}`,
  );
}

/**
 * The loader's descriptor of a Connect Four module: one group `player` (2 slots per env:
 * `player1`, `player2`), its spaces and the metric names. Its `name` is `connect_four` or, for
 * the forfeit build, `connect_four_forfeit`.
 * @param options `illegalMove`
 * @returns the descriptor
 */
export function connectFourDescriptor(
  options: Pick<ConnectFourOptions, "illegalMove"> = {},
): WasmEnvDescriptor {
  const mode = illegalMoveMode(options.illegalMove);
  return {
    name: mode === "forfeit" ? "connect_four_forfeit" : "connect_four",
    groups: [{
      name: "player",
      observationSpace: CONNECT_FOUR_OBS_SPACE,
      actionSpace: CONNECT_FOUR_ACTION_SPACE,
      agentId: (j) => CONNECT_FOUR_AGENT_IDS[j]!,
    }],
    metrics: CONNECT_FOUR_METRIC_NAMES,
    competitive: true,
  };
}

const compiled = new Map<IllegalMoveMode, WebAssembly.Module>();

/**
 * The compiled Connect Four module (compiled from the inlined bytes on first use, then cached):
 * the plain build, or the `forfeit` build for `illegalMove: "forfeit"`.
 * @param options `illegalMove`
 * @returns the module
 */
export function connectFourModule(
  options: Pick<ConnectFourOptions, "illegalMove"> = {},
): WebAssembly.Module {
  const mode = illegalMoveMode(options.illegalMove);
  let m = compiled.get(mode);
  if (m === undefined) {
    const variant: keyof typeof CONNECT_FOUR_VARIANTS | undefined = mode === "forfeit"
      ? "forfeit"
      : undefined;
    m = new WebAssembly.Module(connectFourWasmBytes(variant) as BufferSource);
    compiled.set(mode, m);
  }
  return m;
}

/**
 * A batched turn-based board game with a legal-action mask (its group 0's observation is a
 * Dict whose `action_mask` comes first in the flat row): a {@linkcode WasmBatchedEnv} whose
 * `step` reports an illegal move with the player, the move and the legal moves.
 */
export class TurnBasedWasmEnv extends WasmBatchedEnv {
  readonly #describe: (move: number) => string;
  readonly #why: string;

  /**
   * Instantiates a game module (prefer the games' factories, e.g.
   * {@linkcode createConnectFour}).
   * @param module the compiled module
   * @param descriptor its descriptor (group 0 observes `{action_mask, ...}`, acts Discrete)
   * @param numEnvs number of envs
   * @param seed env `i` is seeded from `(seed, i)` (default 0)
   * @param describe names a move in messages, e.g. `(c) => \`column ${c}\``
   * @param why why a move is illegal, e.g. `"is full"`
   */
  constructor(
    module: WebAssembly.Module,
    descriptor: WasmEnvDescriptor,
    numEnvs: number,
    seed: number | undefined,
    describe: (move: number) => string,
    why: string,
  ) {
    const g = descriptor.groups[0];
    const obs = g?.observationSpace, act = g?.actionSpace;
    if (
      !(obs instanceof Dict) || obs.keys[0] !== "action_mask" || !(act instanceof Discrete) ||
      obs.spaces.action_mask!.flatSize !== act.n
    ) {
      throw new RangeError(
        `TurnBasedWasmEnv "${descriptor.name}": group 0 must observe a Dict whose first key is "action_mask" (as long as its Discrete action space), got ${obs} and ${act}`,
      );
    }
    super(module, descriptor, numEnvs, seed);
    this.#describe = describe;
    this.#why = why;
  }

  /**
   * Advances every env (see {@linkcode WasmBatchedEnv.step}). An illegal move throws a
   * `RangeError` naming the player, the env, the move and the legal moves; nothing changes.
   */
  override step(): void {
    try {
      super.step();
    } catch (e) {
      if (e instanceof RangeError && e.message.startsWith("Illegal action")) {
        throw this.#illegalMoveError(e);
      }
      throw e;
    }
  }

  /** Finds the illegal move the kit refused (the first one in slot order) and explains it. */
  #illegalMoveError(cause: RangeError): RangeError {
    const g = this.groups[0]!;
    const n = (g.actionSpace as Discrete).n;
    const size = g.observationSpace.flatSize;
    for (let s = 0; s < g.slotsPerEnv * this.numEnvs; s++) {
      const i = Math.floor(s / g.slotsPerEnv);
      if ((this.flags[g.slotOffset + s]! & ACTIVE) === 0 || this.stepMask[i] === 0) continue;
      const a = g.act[s]!;
      if (!(Number.isInteger(a) && a >= 0 && a < n) || g.obs[s * size + a] === 1) continue;
      const legal: number[] = [];
      for (let k = 0; k < n; k++) if (g.obs[s * size + k] === 1) legal.push(k);
      const mode = '(or create the env with illegalMove: "forfeit" to make it lose the game)';
      return new RangeError(
        `Illegal move by agent "${
          this.agentId(g.slotOffset + s)
        }" in env ${i} of ${this.descriptor.name}: ${
          this.#describe(a)
        } ${this.#why}; legal moves: ${legal.join(", ")} ${mode}`,
        { cause },
      );
    }
    return cause;
  }
}

/**
 * Creates `numEnvs` Connect Four games as one batched slot env: one group `player` with slots
 * `2i` (`player1`) and `2i + 1` (`player2`) of env `i`, only the player to move ACTIVE,
 * auto-reset, `episodeMetrics` (see {@linkcode CONNECT_FOUR_METRIC_NAMES}).
 *
 * @example Drop pieces into the first open column until a game ends
 * ```ts
 * import { createConnectFour } from "./connect_four.ts";
 * const env = createConnectFour(4, { seed: 1 });
 * env.reset();
 * const g = env.groups[0]!;
 * const size = g.observationSpace.flatSize;
 * while (env.envDone.every((d) => d === 0)) {
 *   // Every row starts with the action mask; only ACTIVE rows are read.
 *   for (let s = 0; s < 8; s++) g.act[s] = g.obs.subarray(s * size, s * size + 7).indexOf(1);
 *   env.step();
 * }
 * ```
 *
 * @param numEnvs number of envs
 * @param options seed, `illegalMove` and module
 * @returns the env; call `reset` before `step`
 */
export function createConnectFour(
  numEnvs: number,
  options: ConnectFourOptions = {},
): TurnBasedWasmEnv {
  const descriptor = connectFourDescriptor(options);
  return new TurnBasedWasmEnv(
    options.module ?? connectFourModule(options),
    descriptor,
    numEnvs,
    options.seed,
    (c) => `column ${c}`,
    "is full",
  );
}

/**
 * A text picture of a Connect Four observation row: `X` the observing player's pieces, `O` its
 * opponent's, `.` empty, row 0 on top, then the column numbers.
 * @param row a flat observation row (91 numbers)
 * @returns six lines of seven cells and a line of column numbers
 */
export function renderConnectFour(row: ArrayLike<number>): string {
  const R = FACTS.ROWS, C = FACTS.COLS;
  const lines: string[] = [];
  for (let r = 0; r < R; r++) {
    let line = "";
    for (let c = 0; c < C; c++) {
      const o = C + (r * C + c) * 2;
      line += row[o] === 1 ? "X" : row[o + 1] === 1 ? "O" : ".";
    }
    lines.push(line);
  }
  lines.push(Array.from({ length: C }, (_, c) => c).join(""));
  return lines.join("\n");
}
