/**
 * The windy maze (RLlib's `WindyMazeEnv`) on the env kit (`_kit.ts`): `N` instances batched in
 * linear memory. This file holds the rules and the facts only; the kit runs the slot protocol.
 *
 * One slot group `agent` with one slot per env (slot `i` is env `i`).
 * - Observation row (6 f32): `[row, col, wind one-hot x4]`, the flat encoding of
 *   `Tuple(Box(0, 100, [2]), Discrete(4))`; wind 0 north (row-1), 1 east (col+1), 2 south
 *   (row+1), 3 west (col-1).
 * - Action row (1 f32): 0 stay, 1 move one cell in the wind's direction (into a wall or off the
 *   map: no move). Any other value (NaN included) makes `step` fail with E_BAD_ACTION and change
 *   nothing (the kit's Discrete(2) check).
 * - Step: apply the action, count the step, draw a new wind `nextInt(4)` from the env's PCG32;
 *   at F: reward 100 and terminated; else truncated when the count reached 200.
 * - Reset: position S, wind `nextInt(4)`, count 0.
 *
 * State is struct-of-arrays: cell index (row * COLS + col), wind and step count as i32 arrays;
 * lookup tables give the next cell per (cell, wind) and the obs words.
 *
 * Facts: the exported constants below are the single source of the maze's facts; the build
 * writes them into src/envs/_generated/windy_maze_wasm.ts and src/envs/windy_maze.ts reads them
 * from there.
 */

import { Kit, KitEnv, Pcg32, RUNNING, TERMINATED, TRUNCATED } from "./_kit";

export * from "./_abi";

/** The map, one line per row: `#` wall, `S` start, `F` finish, space free. */
export const MAP: string = `#########
#S      #
####### #
      # #
      # #
####### #
#F      #
#########`;
/** Number of map rows. */
export const ROWS: i32 = 8;
/** Number of map columns. */
export const COLS: i32 = 9;
/** Row of the start cell S. */
export const START_ROW: i32 = 1;
/** Column of the start cell S. */
export const START_COL: i32 = 1;
/** Row of the finish cell F. */
export const FINISH_ROW: i32 = 6;
/** Column of the finish cell F. */
export const FINISH_COL: i32 = 1;
/** Episodes are truncated after this many steps. */
export const MAX_STEPS: i32 = 200;
/** Reward for reaching the finish. */
export const GOAL_REWARD: f32 = 100;
/** Observation row width: `[row, col, wind one-hot x4]`. */
export const OBS_SIZE: i32 = 6;
/** `[dRow, dCol]` of each wind direction, flattened: 0 north, 1 east, 2 south, 3 west. */
export const WIND_DELTAS: StaticArray<i32> = [-1, 0, 0, 1, 1, 0, 0, -1];

const CELLS: i32 = ROWS * COLS;
const START: i32 = START_ROW * COLS + START_COL;
const FINISH: i32 = FINISH_ROW * COLS + FINISH_COL;

// next[cell * 4 + wind]: the cell after moving with the wind (u8).
const NEXT: usize = memory.data(CELLS * 4, 16);
// pos[cell]: the two f32 words (row, col) of the observation, as one u64.
const POS: usize = memory.data(CELLS * 8, 16);
// oneHot[wind]: the four f32 words of the wind's one-hot, as two u64.
const ONE_HOT: usize = memory.data(4 * 16, 16);

let tablesBuilt: bool = false;
let cells: usize = 0;
let winds: usize = 0;
let counts: usize = 0;

function isWall(r: i32, k: i32): bool {
  return MAP.charCodeAt(r * (COLS + 1) + k) == 35; // '#', rows end with '\n'
}

function buildTables(): void {
  for (let c: i32 = 0; c < CELLS; c++) {
    const r = c / COLS;
    const k = c % COLS;
    store<f32>(POS + (<usize> c << 3), <f32> r);
    store<f32>(POS + (<usize> c << 3), <f32> k, 4);
    for (let w: i32 = 0; w < 4; w++) {
      const nr = r + unchecked(WIND_DELTAS[2 * w]);
      const nk = k + unchecked(WIND_DELTAS[2 * w + 1]);
      let to = c;
      if (nr >= 0 && nr < ROWS && nk >= 0 && nk < COLS && !isWall(nr, nk)) to = nr * COLS + nk;
      store<u8>(NEXT + <usize> (c * 4 + w), <u8> to);
    }
  }
  for (let w: i32 = 0; w < 4; w++) {
    for (let j: i32 = 0; j < 4; j++) {
      store<f32>(ONE_HOT + <usize> (w * 16 + j * 4), j == w ? 1 : 0);
    }
  }
  tablesBuilt = true;
}

/** The maze's hooks (see `_kit.ts`); never instantiated. */
// deno-lint-ignore no-unused-vars -- bound by `Kit.bind<WindyMaze>()` (a type argument)
class WindyMaze extends KitEnv<WindyMaze> {
  /** Observation row width of the one group. */
  obsSize(_g: i32): i32 {
    return OBS_SIZE;
  }
  /** Actions are Discrete(2): 0 stay, 1 move with the wind. */
  actions(_g: i32): i32 {
    return 2;
  }
  /** One agent per env, acting at every step for the whole episode (the kit spawns it). */
  fixedAgents(): bool {
    return true;
  }
  /** Per-env state: cell, wind, step count (i32 each); builds the lookup tables once. */
  layout(n: i32): void {
    cells = Kit.alloc(<u64> n << 2);
    winds = Kit.alloc(<u64> n << 2);
    counts = Kit.alloc(<u64> n << 2);
    if (!tablesBuilt) buildTables();
  }
  /** Position S, a fresh wind, count 0. */
  @inline
  reset(i: i32): void {
    const o4 = <usize> i << 2;
    store<i32>(winds + o4, <i32> Pcg32.nextInt(this.rng(i), 4));
    store<i32>(cells + o4, START);
    store<i32>(counts + o4, 0);
  }
  /** Moves with the wind (action 1), counts the step, draws the next wind. */
  @inline
  step(i: i32): u8 {
    const o4 = <usize> i << 2;
    // Branch-free: random actions would make a branch mispredict half the time.
    const here = load<i32>(cells + o4);
    const there = <i32> load<u8>(NEXT + <usize> ((here << 2) | load<i32>(winds + o4)));
    const cell = select(there, here, this.action(0, i, 0) != 0);
    const count = load<i32>(counts + o4) + 1;
    store<i32>(cells + o4, cell);
    store<i32>(counts + o4, count);
    store<i32>(winds + o4, <i32> Pcg32.nextInt(this.rng(i), 4));
    if (cell == FINISH) {
      this.reward(0, i, 0, GOAL_REWARD);
      return TERMINATED;
    }
    return count >= MAX_STEPS ? TRUNCATED : RUNNING;
  }
  /** `[row, col, wind one-hot]` from the lookup tables. */
  @inline
  writeObs(i: i32, _g: i32, _j: i32, p: usize): void {
    const o4 = <usize> i << 2;
    const oh = ONE_HOT + (<usize> load<i32>(winds + o4) << 4);
    store<u64>(p, load<u64>(POS + (<usize> load<i32>(cells + o4) << 3)));
    store<u64>(p, load<u64>(oh), 8);
    store<u64>(p, load<u64>(oh, 8), 16);
  }
}

Kit.bind<WindyMaze>();
