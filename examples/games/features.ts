/**
 * Board features for the games example: an env wrapper that appends fixed (not learned)
 * features to the `observations` of a masked board observation (`{action_mask, observations}`),
 * and a policy adapter that hands a fixed opponent the plain rows it was written for.
 *
 * Connect Four's features ({@linkcode connectFourFeatures}), from the mover's point of view:
 * - `seat` (1): 1 when the mover is the second player (its opponent has one piece more);
 * - `moves` (1): pieces on the board / 42;
 * - `playable` (42): 1 on the cell where a piece dropped in its column would land;
 * - `own threats` (42): 1 on an empty cell that would complete four of the mover's pieces;
 * - `opponent threats` (42): the same for the opponent's pieces.
 *
 * Tic-Tac-Toe's ({@linkcode ticTacToeFeatures}): the seat and both players' threats.
 *
 * An MLP over the raw board learns these slowly (each is a product of several inputs); a
 * convolutional network would learn the threat maps as its first layers. The wrapper computes
 * them in the env, so the model, its checkpoints and the algorithms are unchanged; the policy
 * still learns every move (the features say where four would be completed, not what to play).
 *
 * @module
 */

import {
  type BatchedEnv,
  BatchedEnvWrapper,
  type BatchPolicy,
  Box,
  Dict,
  type Pcg32,
  type SlotGroup,
  type Space,
} from "@coop/rl";

const ROWS = 6, COLS = 7, CELLS = ROWS * COLS;
const ACTIVE = 1, TERMINATED = 4, TRUNCATED = 8;

/** Features appended to the `observations` of each row of a masked board observation. */
export interface BoardFeatures {
  /** Number of features. */
  readonly size: number;
  /**
   * Writes the features of one row.
   * @param row the flat observation (`action_mask` then `observations`)
   * @param at the row's offset in `row`
   * @param out written: `size` floats from `outAt`
   * @param outAt offset in `out`
   */
  write(row: Float32Array, at: number, out: Float32Array, outAt: number): void;
}

// The 69 lines of four cells of a 6 × 7 board (cell = row * 7 + col), 4 cells each.
const LINES: Int32Array = (() => {
  const cells: number[] = [];
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) {
      for (const [dr, dc] of [[0, 1], [1, 0], [1, 1], [1, -1]] as const) {
        const r3 = r + 3 * dr, c3 = c + 3 * dc;
        if (r3 < 0 || r3 >= ROWS || c3 < 0 || c3 >= COLS) continue;
        for (let k = 0; k < 4; k++) cells.push((r + k * dr) * COLS + c + k * dc);
      }
    }
  }
  return Int32Array.from(cells);
})();

/**
 * Connect Four's features (see the module doc): 128 floats per row.
 * @returns the features, for {@linkcode withBoardFeatures}
 */
export function connectFourFeatures(): BoardFeatures {
  // Per cell: 0 empty, 1 the mover's piece, 2 the opponent's.
  const board = new Int32Array(CELLS);
  return {
    size: 2 + 3 * CELLS,
    write(row: Float32Array, at: number, out: Float32Array, o: number): void {
      let nOwn = 0, nOpp = 0;
      for (let k = 0; k < CELLS; k++) {
        const p = at + COLS + 2 * k;
        const x = row[p] === 1 ? 1 : row[p + 1] === 1 ? 2 : 0;
        board[k] = x;
        if (x === 1) nOwn++;
        else if (x === 2) nOpp++;
      }
      out[o] = nOpp > nOwn ? 1 : 0;
      out[o + 1] = (nOwn + nOpp) / CELLS;
      for (let k = o + 2; k < o + 2 + 3 * CELLS; k++) out[k] = 0;
      for (let c = 0; c < COLS; c++) {
        // Row 0 is the top: the landing cell is the lowest empty one.
        for (let r = ROWS - 1; r >= 0; r--) {
          if (board[r * COLS + c] === 0) {
            out[o + 2 + r * COLS + c] = 1;
            break;
          }
        }
      }
      for (let l = 0; l < LINES.length; l += 4) {
        const a = board[LINES[l]!]!, b = board[LINES[l + 1]!]!;
        const c = board[LINES[l + 2]!]!, d = board[LINES[l + 3]!]!;
        // Three of one player's pieces and an empty cell: a = 1, 2 → sum 3 or 6 with one 0.
        const zeros = (a === 0 ? 1 : 0) + (b === 0 ? 1 : 0) + (c === 0 ? 1 : 0) + (d === 0 ? 1 : 0);
        if (zeros !== 1) continue;
        const sum = a + b + c + d;
        if (sum !== 3 && sum !== 6) continue;
        const empty = a === 0
          ? LINES[l]!
          : b === 0
          ? LINES[l + 1]!
          : c === 0
          ? LINES[l + 2]!
          : LINES[l + 3]!;
        out[o + 2 + (sum === 3 ? CELLS : 2 * CELLS) + empty] = 1;
      }
    },
  };
}

const TTT_LINES: Int32Array = Int32Array.from([
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  0,
  3,
  6,
  1,
  4,
  7,
  2,
  5,
  8,
  0,
  4,
  8,
  2,
  4,
  6,
]);

/**
 * Tic-Tac-Toe's features, from the mover's point of view: `seat` (1 when the mover is the
 * second player), then per cell `own threats` (9: an empty cell that completes three of the
 * mover's pieces) and `opponent threats` (9); 19 floats per row.
 * @returns the features, for {@linkcode withBoardFeatures}
 */
export function ticTacToeFeatures(): BoardFeatures {
  const board = new Int32Array(9);
  return {
    size: 19,
    write(row: Float32Array, at: number, out: Float32Array, o: number): void {
      let nOwn = 0, nOpp = 0;
      for (let k = 0; k < 9; k++) {
        const p = at + 9 + 2 * k;
        const x = row[p] === 1 ? 1 : row[p + 1] === 1 ? 2 : 0;
        board[k] = x;
        if (x === 1) nOwn++;
        else if (x === 2) nOpp++;
      }
      out[o] = nOpp > nOwn ? 1 : 0;
      for (let k = o + 1; k < o + 19; k++) out[k] = 0;
      for (let l = 0; l < TTT_LINES.length; l += 3) {
        const a = board[TTT_LINES[l]!]!, b = board[TTT_LINES[l + 1]!]!;
        const c = board[TTT_LINES[l + 2]!]!;
        const zeros = (a === 0 ? 1 : 0) + (b === 0 ? 1 : 0) + (c === 0 ? 1 : 0);
        const sum = a + b + c;
        if (zeros !== 1 || (sum !== 2 && sum !== 4)) continue;
        const empty = a === 0 ? TTT_LINES[l]! : b === 0 ? TTT_LINES[l + 1]! : TTT_LINES[l + 2]!;
        out[o + 1 + (sum === 2 ? 0 : 9) + empty] = 1;
      }
    },
  };
}

/** The observation space with `size` more floats of `observations` (flattened). */
function widened(space: Space, size: number): Dict {
  if (
    !(space instanceof Dict) || space.keys.length !== 2 || space.keys[0] !== "action_mask" ||
    space.keys[1] !== "observations"
  ) {
    throw new RangeError(`withBoardFeatures: expected {action_mask, observations}, got ${space}`);
  }
  const inner = space.spaces.observations!;
  return new Dict({
    action_mask: space.spaces.action_mask!,
    observations: new Box(0, 1, [inner.flatSize + size]),
  });
}

/**
 * Wraps a turn-based board env (one group observing `{action_mask, observations}`) so every
 * observation and final observation row ends with `features` (see the module doc). Rewards,
 * flags, actions and metrics are the inner env's own buffers.
 */
export class BoardFeaturesEnv extends BatchedEnvWrapper {
  /** The appended features. */
  readonly features: BoardFeatures;
  readonly #groups: SlotGroup[];

  /**
   * Wraps an env (a fixed layout: one group).
   * @param inner the env
   * @param features the features to append
   */
  constructor(inner: BatchedEnv, features: BoardFeatures) {
    super(inner);
    this.features = features;
    this.#groups = inner.groups.map((g) => {
      const space = widened(g.observationSpace, features.size);
      const rows = inner.numEnvs * g.slotsPerEnv;
      return {
        name: g.name,
        slotsPerEnv: g.slotsPerEnv,
        slotOffset: g.slotOffset,
        observationSpace: space,
        actionSpace: g.actionSpace,
        obs: new Float32Array(rows * space.flatSize),
        finalObs: new Float32Array(rows * space.flatSize),
        act: g.act,
      };
    });
  }
  /** The groups, with widened observations (actions are the inner env's). */
  get groups(): readonly SlotGroup[] {
    return this.#groups;
  }
  /**
   * Resets every env.
   * @param seed reseeds the inner env
   */
  reset(seed?: number): void {
    this.inner.reset(seed);
    this.#update();
  }
  /** Steps the inner env and recomputes the rows. */
  step(): void {
    this.inner.step();
    this.#update();
  }

  #update(): void {
    const flags = this.inner.flags, f = this.features;
    this.inner.groups.forEach((g, gi) => {
      const out = this.#groups[gi]!;
      const I = g.observationSpace.flatSize, O = out.observationSpace.flatSize;
      const rows = this.inner.numEnvs * g.slotsPerEnv;
      for (let r = 0; r < rows; r++) {
        const src = r * I, dst = r * O, fl = flags[g.slotOffset + r]!;
        // Only the rows of agents asked to act are read (a waiting agent's row is rewritten
        // when its turn comes).
        if ((fl & ACTIVE) !== 0) {
          for (let k = 0; k < I; k++) out.obs[dst + k] = g.obs[src + k]!;
          f.write(g.obs, src, out.obs, dst + I);
        }
        if ((fl & (TERMINATED | TRUNCATED)) !== 0) {
          for (let k = 0; k < I; k++) out.finalObs[dst + k] = g.finalObs[src + k]!;
          f.write(g.finalObs, src, out.finalObs, dst + I);
        }
      }
    });
  }
}

/**
 * Appends board features to an env's observations (see {@linkcode BoardFeaturesEnv}).
 * @param env the env
 * @param features the features, or null for the env itself
 * @returns the wrapped env
 */
export function withBoardFeatures(env: BatchedEnv, features: BoardFeatures | null): BatchedEnv {
  return features === null ? env : new BoardFeaturesEnv(env, features);
}

/**
 * A policy written for the plain rows, fed the first `inner.obsSize` floats of each widened row
 * (a fixed opponent in an env wrapped by {@linkcode withBoardFeatures}).
 * @param inner the policy of plain rows
 * @param features the features appended to its rows, or null (then `inner` itself)
 * @returns the policy of widened rows
 */
export function plainRows(inner: BatchPolicy, features: BoardFeatures | null): BatchPolicy {
  if (features === null) return inner;
  const I = inner.obsSize, O = I + features.size;
  let buf = new Float32Array(0);
  return {
    obsSize: O,
    actSize: inner.actSize,
    act(obs: Float32Array, rows: number, rng: Pcg32, explore: boolean, out: Float32Array) {
      if (buf.length < rows * I) buf = new Float32Array(rows * I);
      for (let r = 0; r < rows; r++) {
        for (let k = 0; k < I; k++) buf[r * I + k] = obs[r * O + k]!;
      }
      inner.act(buf.subarray(0, rows * I), rows, rng, explore, out);
    },
  };
}
