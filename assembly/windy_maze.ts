/**
 * The windy maze (RLlib's `WindyMazeEnv`), `N` instances batched in linear memory.
 *
 * Map (8 rows x 9 columns, `#` wall), start S = (1, 1), finish F = (6, 1):
 * ```
 * #########
 * #S      #
 * ####### #
 *       # #
 *       # #
 * ####### #
 * #F      #
 * #########
 * ```
 * One slot group `agent` with one slot per env (slot `i` is env `i`).
 * - Observation row (6 f32): `[row, col, wind one-hot x4]`, the flat encoding of
 *   `Tuple(Box(0, 100, [2]), Discrete(4))`; wind 0 north (row-1), 1 east (col+1), 2 south
 *   (row+1), 3 west (col-1).
 * - Action row (1 f32): 0 stay, 1 move one cell in the wind's direction (into a wall or off the
 *   map: no move). Any other value (NaN included) makes `step` fail with E_BAD_ACTION and change
 *   nothing.
 * - Step: apply the action, count the step, draw a new wind `nextInt(4)` from the env's PCG32;
 *   at F: reward 100 and terminated; else truncated when the count reached 200.
 * - Reset: position S, wind `nextInt(4)`, count 0.
 * - Auto-reset: an ended env gets TERMINATED or TRUNCATED, its reward, its last observation in
 *   finalObs, envDone (and envTruncated), then it resets at once: obs holds the new episode's
 *   first observation and the slot is SPAWNED|ACTIVE|ALIVE. A step with stepMask[i] = 0 leaves
 *   env i as it is (flags ACTIVE|ALIVE, reward 0, action not read).
 *
 * State is struct-of-arrays: cell index (row * 9 + col), wind and step count as i32 arrays, and
 * the PCG32 streams; lookup tables give the next cell per (cell, wind) and the obs words.
 */

import {
  ACTIVE,
  ALIVE,
  clearError,
  E_LAYOUT,
  E_NOT_INIT,
  E_NOT_RESET,
  E_OK,
  Layout,
  layoutAlloc,
  layoutBegin,
  layoutCommit,
  layoutGroup,
  Pcg32,
  setActionError,
  SPAWNED,
  TERMINATED,
  TRUNCATED,
} from "./_common";

export {
  abiVersion,
  agentSeqPtr,
  envDonePtr,
  envTruncatedPtr,
  errorSlot,
  errorValue,
  flagsPtr,
  groupActPtr,
  groupActSize,
  groupFinalObsPtr,
  groupObsPtr,
  groupObsSize,
  groupSlotOffset,
  groupSlotsPerEnv,
  numEnvs,
  numGroups,
  numSlots,
  rewPtr,
  stepMaskPtr,
} from "./_common";

const ROWS: i32 = 8;
const COLS: i32 = 9;
const CELLS: i32 = ROWS * COLS;
const START: i32 = 1 * COLS + 1;
const FINISH: i32 = 6 * COLS + 1;
const MAX_STEPS: i32 = 200;
const GOAL_REWARD: f32 = 100;
const OBS_SIZE: i32 = 6;

// 1 = wall, row-major.
// deno-fmt-ignore
const WALLS: usize = memory.data<u8>([
  1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 0, 0, 0, 0, 0, 0, 0, 1,
  1, 1, 1, 1, 1, 1, 1, 0, 1,
  0, 0, 0, 0, 0, 0, 1, 0, 1,
  0, 0, 0, 0, 0, 0, 1, 0, 1,
  1, 1, 1, 1, 1, 1, 1, 0, 1,
  1, 0, 0, 0, 0, 0, 0, 0, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1,
]);
// next[cell * 4 + wind]: the cell after moving with the wind (u8).
const NEXT: usize = memory.data(CELLS * 4, 16);
// pos[cell]: the two f32 words (row, col) of the observation, as one u64.
const POS: usize = memory.data(CELLS * 8, 16);
// oneHot[wind]: the four f32 words of the wind's one-hot, as two u64.
const ONE_HOT: usize = memory.data(4 * 16, 16);

let tablesBuilt: bool = false;
let wasReset: bool = false;
let cells: usize = 0;
let winds: usize = 0;
let counts: usize = 0;

function buildTables(): void {
  for (let c: i32 = 0; c < CELLS; c++) {
    const r = c / COLS;
    const k = c % COLS;
    store<f32>(POS + (<usize> c << 3), <f32> r);
    store<f32>(POS + (<usize> c << 3), <f32> k, 4);
    for (let w: i32 = 0; w < 4; w++) {
      const nr = w == 0 ? r - 1 : w == 2 ? r + 1 : r;
      const nk = w == 1 ? k + 1 : w == 3 ? k - 1 : k;
      let to = c;
      if (nr >= 0 && nr < ROWS && nk >= 0 && nk < COLS) {
        const n = nr * COLS + nk;
        if (load<u8>(WALLS + <usize> n) == 0) to = n;
      }
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

class Obs {
  /** Writes the observation row of (cell, wind) at `p`. */
  @inline
  static write(p: usize, cell: i32, wind: i32): void {
    const oh = ONE_HOT + (<usize> wind << 4);
    store<u64>(p, load<u64>(POS + (<usize> cell << 3)));
    store<u64>(p, load<u64>(oh), 8);
    store<u64>(p, load<u64>(oh, 8), 16);
  }
}

/**
 * Allocates and seeds `numEnvs` mazes: the host loader calls it once, right after checking
 * `abiVersion`, then builds its views from the pointer getters. Env `i`'s stream is seeded as
 * `pcg32_srandom(seed, i)` with `seed = seedHi * 2^32 + seedLo`. The envs need a `reset` before
 * the first `step`. Memory grows here only.
 * @returns E_OK, E_BAD_NUM_ENVS or E_OUT_OF_MEMORY
 */
export function init(numEnvs: i32, seedLo: u32, seedHi: u32): i32 {
  wasReset = false;
  let rc = layoutBegin(numEnvs);
  if (rc != E_OK) return rc;
  if (layoutGroup(1, OBS_SIZE, 1) < 0) return E_LAYOUT;
  const n = <u64> numEnvs;
  cells = layoutAlloc(n << 2);
  winds = layoutAlloc(n << 2);
  counts = layoutAlloc(n << 2);
  Pcg32.alloc(numEnvs);
  rc = layoutCommit();
  if (rc != E_OK) return rc;
  if (!tablesBuilt) buildTables();
  const seed = (<u64> seedHi << 32) | <u64> seedLo;
  for (let i: i32 = 0; i < numEnvs; i++) Pcg32.seed(Pcg32.at(i), seed, <u64> i);
  return E_OK;
}

/**
 * Resets every env (position S, wind drawn, count 0) and flags every slot
 * SPAWNED|ACTIVE|ALIVE, clearing rewards and episode flags; the host's `reset(seed?)` calls it.
 * With `reseed = 1` env `i` is first reseeded as `pcg32_srandom(seed, i)`, `seed = seedHi *
 * 2^32 + seedLo`; with `reseed = 0` each stream continues. Does nothing before `init`.
 */
export function reset(seedLo: u32, seedHi: u32, reseed: i32): void {
  if (!Layout.ready()) return;
  const n = Layout.numEnvs();
  const seed = (<u64> seedHi << 32) | <u64> seedLo;
  const obs = Layout.obs(0);
  const rew = Layout.rew();
  const flags = Layout.flags();
  const done = Layout.envDone();
  const trunc = Layout.envTruncated();
  clearError();
  for (let i: i32 = 0; i < n; i++) {
    const p = Pcg32.at(i);
    if (reseed != 0) Pcg32.seed(p, seed, <u64> i);
    const wind = <i32> Pcg32.nextInt(p, 4);
    const o4 = <usize> i << 2;
    store<i32>(cells + o4, START);
    store<i32>(winds + o4, wind);
    store<i32>(counts + o4, 0);
    Obs.write(obs + <usize> i * 24, START, wind);
    store<f32>(rew + o4, 0);
    store<u8>(flags + <usize> i, SPAWNED | ACTIVE | ALIVE);
    store<u8>(done + <usize> i, 0);
    store<u8>(trunc + <usize> i, 0);
  }
  wasReset = true;
}

/**
 * Advances every env whose stepMask entry is 1 by one step, reading its action row; the host's
 * `step()` calls it once per batch step after writing the actions. All actions of stepped envs
 * are validated first: on an invalid one (not 0 or 1, NaN included) nothing changes and the
 * first bad slot and value are left in `errorSlot`/`errorValue`.
 * @returns E_OK, E_NOT_INIT, E_NOT_RESET or E_BAD_ACTION
 */
export function step(): i32 {
  if (!Layout.ready()) return E_NOT_INIT;
  if (!wasReset) return E_NOT_RESET;
  clearError();
  const n = Layout.numEnvs();
  const act = Layout.act(0);
  const mask = Layout.stepMask();

  // Validate first (branch-free), then find the first bad action only when there is one.
  let bad: i32 = 0;
  for (let i: i32 = 0; i < n; i++) {
    const a = load<f32>(act + (<usize> i << 2));
    const m = <i32> load<u8>(mask + <usize> i);
    bad |= m & <i32> !(<i32> (a == 0) | <i32> (a == 1));
  }
  if (bad != 0) {
    for (let i: i32 = 0; i < n; i++) {
      const a = load<f32>(act + (<usize> i << 2));
      if (load<u8>(mask + <usize> i) != 0 && !(a == 0 || a == 1)) {
        return setActionError(i, <f64> a);
      }
    }
  }

  const obs = Layout.obs(0);
  const finalObs = Layout.finalObs(0);
  const rew = Layout.rew();
  const flags = Layout.flags();
  const done = Layout.envDone();
  const trunc = Layout.envTruncated();
  for (let i: i32 = 0; i < n; i++) {
    const o4 = <usize> i << 2;
    const ui = <usize> i;
    if (load<u8>(mask + ui) == 0) {
      store<f32>(rew + o4, 0);
      store<u8>(flags + ui, ACTIVE | ALIVE);
      store<u8>(done + ui, 0);
      store<u8>(trunc + ui, 0);
      continue;
    }
    let cell = load<i32>(cells + o4);
    if (load<f32>(act + o4) != 0) {
      cell = <i32> load<u8>(NEXT + <usize> ((cell << 2) | load<i32>(winds + o4)));
    }
    const count = load<i32>(counts + o4) + 1;
    const p = Pcg32.at(i);
    let wind = <i32> Pcg32.nextInt(p, 4);
    const o24 = ui * 24;
    if (cell == FINISH || count >= MAX_STEPS) {
      const atF = cell == FINISH;
      Obs.write(finalObs + o24, cell, wind);
      store<f32>(rew + o4, atF ? GOAL_REWARD : 0);
      store<u8>(flags + ui, (atF ? TERMINATED : TRUNCATED) | SPAWNED | ACTIVE | ALIVE);
      store<u8>(done + ui, 1);
      store<u8>(trunc + ui, atF ? 0 : 1);
      cell = START;
      wind = <i32> Pcg32.nextInt(p, 4);
      store<i32>(counts + o4, 0);
    } else {
      store<f32>(rew + o4, 0);
      store<u8>(flags + ui, ACTIVE | ALIVE);
      store<u8>(done + ui, 0);
      store<u8>(trunc + ui, 0);
      store<i32>(counts + o4, count);
    }
    store<i32>(cells + o4, cell);
    store<i32>(winds + o4, wind);
    Obs.write(obs + o24, cell, wind);
  }
  return E_OK;
}
