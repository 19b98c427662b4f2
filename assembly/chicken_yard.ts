/**
 * The chicken yard (DeUmbra's RLlib tutorial "two robots in a chicken yard") on the env kit
 * (`_kit.ts`): `N` yards batched in linear memory. This file holds the rules and the facts; the
 * kit runs the slot protocol. src/envs/chicken_yard.ts is the TypeScript side.
 *
 * The yard is the unit square, (0, 0) top left, y down. At reset (draws from the env's PCG32
 * stream, each a float `(next() >>> 8) * 2^-24` in [0, 1), in this order): the 10 chickens'
 * positions `(x, y)`, their OCEAN vectors (5 uniform numbers each, divided by their Euclidean
 * norm), then robot 1's position and OCEAN vector, then robot 2's. Chickens never move. State is
 * float64; observations are its float32 rounding.
 *
 * Groups (slot `j` of a group is robot `j + 1`), 2 slots per env each:
 * - 0 `high` (`robot_{j+1}_high`): observation (77 f32) the flat `Dict` with sorted keys
 *   `chicken_oceans` [10, 5], `chicken_positions` [10, 2], `robot_ocean` [5],
 *   `robot_position` [2]; action Discrete(10): the chicken to befriend.
 * - 1 `low` (`robot_{j+1}_low`): observation (32 f32) `chicken_positions` [10, 2],
 *   `robot_position` [2], `target` (Discrete(10) one-hot: the chosen chicken); action
 *   Discrete(8), 0 N, 1 NE, 2 E, 3 SE, 4 S, 5 SW, 6 W, 7 NW: each axis moves by -0.03, 0 or
 *   +0.03 (N is y - 0.03); variants `continuous`: Box(-0.03, 0.03, [2]), a velocity `(vx, vy)`
 *   with each number in [-0.03, 0.03] as float32 (anything else, NaN included, is refused by
 *   the kit). The position is clamped to [0, 1] after every move.
 *
 * Timeline (the tutorial's), with `t` the env's step count (the decision step is t = 1):
 * - reset: both high agents act (they alone are in the observations).
 * - t = 1, the decision: each robot records its high agent's chicken and moves nothing. A robot
 *   already at its chicken (variants `any`: at any chicken) ends at once: its high agent gets
 *   the dot product of the robot's and that chicken's OCEAN vectors and terminates; it never
 *   gets a low agent. Every other robot spawns its low agent (seq 0) and its high agent waits
 *   (ALIVE, not ACTIVE). When both robots ended here, so does the episode.
 * - t > 1: every robot still searching moves by its low agent's action. One now at its chosen
 *   chicken (variants `any`: at any chicken; the lowest-numbered one when several, as the
 *   tutorial's loop) ends: its low agent gets ARRIVAL_REWARD (instead of STEP_REWARD), its high
 *   agent the dot product with that chicken, both terminate and the robot drops out. A robot
 *   passing another chicken goes on in the plain build. Otherwise, at t = TIMEOUT the robot
 *   times out: TIMEOUT_REWARD to both its agents (instead of STEP_REWARD), both TERMINATED (the
 *   -1 is the outcome, as in the tutorial, not a cut-off; a robot arriving at t = TIMEOUT
 *   arrives); before that its low agent gets STEP_REWARD. The episode ends (TERMINATED,
 *   `__all__`) at the step when no robot is left searching.
 * - "At a chicken" is `dx * dx + dy * dy < CLOSENESS_THRESHOLD^2` in float64.
 *
 * Episode metrics (`METRIC_NAMES`, written when the episode ends):
 * - `reach_rate`: robots that reached their chosen chicken (variants `any`: any chicken) / 2;
 * - `moves_ratio`: mean over the robots that reached one of moves taken / fewest moves that
 *   could have reached that chicken from the robot's start position (NaN when none reached; a
 *   robot that reached it without moving counts 1). Fewest moves: discrete moves, the smallest
 *   `m` such that a lattice point `(x0 + 0.03 * i, y0 + 0.03 * j)` (float64, as written),
 *   `max(|i|, |j|) <= m`, is at the chicken; continuous moves, the smallest `m` such
 *   that a point of the square `|x - x0|, |y - y0| <= 0.03 m` is (clamping to the yard never
 *   matters: the nearest point of that square to a chicken lies in the yard);
 * - `dot_ratio`: mean over both robots of (dot with its chosen chicken) / (best dot over the 10
 *   chickens) (1 when the best is 0);
 * - `episode_steps`: the env's step count at the end (the decision included).
 *
 * Build variants (the `@variant` lines below; src/envs/chicken_yard.ts picks one): `any`
 * (arrival at any chicken), `continuous` (velocity actions), `any_continuous` (both).
 *
 * Observation rows: with the kit's `updateObs`, only what moves is rewritten after a step: the
 * robot's position in both its rows (alive or not) and, at the decision step, the `target` in
 * the low row of a robot that ended there (no low agent spawned in it); the chickens, OCEAN
 * vectors and targets are written at reset, when an agent spawns (the kit calls `writeObs`) and
 * for final observations. So the rows of every slot always show the robot's current position
 * and target (all zeros before the decision), which the TypeScript `render` reads.
 */

import { Kit, KitEnv, Pcg32, RUNNING, TERMINATED } from "./_kit";

export * from "./_abi";
export * from "./_abi_metrics";

// @variant any TARGET_ANY=1
// @variant continuous LOW_CONTINUOUS=1
// @variant any_continuous TARGET_ANY=1 LOW_CONTINUOUS=1

/** Number of chickens in a yard. */
export const NUM_CHICKENS: i32 = 10;
/** Number of OCEAN personality features of a chicken or a robot. */
export const NUM_OCEAN_FEATURES: i32 = 5;
/** Number of robots in a yard. */
export const NUM_ROBOTS: i32 = 2;
/** A robot is at a chicken when their Euclidean distance is below this. */
export const CLOSENESS_THRESHOLD: f64 = 0.03;
/** A discrete move changes each axis by this much; continuous moves stay within it per axis. */
export const MOVE_AMOUNT: f64 = 0.03;
/** Low-level reward of a searching robot's step that neither arrives nor times out. */
export const STEP_REWARD: f64 = -0.001;
/** Low-level reward of a robot's arrival at its chicken. */
export const ARRIVAL_REWARD: f64 = 1;
/** Reward of both agents of a robot still searching at step TIMEOUT. */
export const TIMEOUT_REWARD: f64 = -1;
/** The env step (the decision step counts as 1) at which every searching robot times out. */
export const TIMEOUT: i32 = 1000;
/** Number of discrete low-level moves. */
export const NUM_DIRECTIONS: i32 = 8;
/** `[dx, dy]` of each discrete move, flattened: 0 N, 1 NE, 2 E, 3 SE, 4 S, 5 SW, 6 W, 7 NW. */
export const DIRECTIONS: StaticArray<i32> = [0, -1, 1, -1, 1, 0, 1, 1, 0, 1, -1, 1, -1, 0, -1, -1];
/**
 * High-level observation row width: `chicken_oceans`, `chicken_positions`, `robot_ocean`,
 * `robot_position`, flat.
 */
export const HIGH_OBS_SIZE: i32 = 77;
/** Low-level observation row width (`chicken_positions`, `robot_position`, `target` one-hot). */
export const LOW_OBS_SIZE: i32 = 32;
/** The episode metrics, comma-separated, in the order of their columns. */
export const METRIC_NAMES: string = "reach_rate,moves_ratio,dot_ratio,episode_steps";

// The build constants of the variants (`--use TARGET_ANY=1` etc., see the @variant lines).
const ANY: bool = isDefined(TARGET_ANY);
const CONTINUOUS: bool = isDefined(LOW_CONTINUOUS);

const HIGH: i32 = 0;
const LOW: i32 = 1;
const CLOSE2: f64 = CLOSENESS_THRESHOLD * CLOSENESS_THRESHOLD;
const C2: i32 = NUM_CHICKENS * 2;
const CO: i32 = NUM_CHICKENS * NUM_OCEAN_FEATURES;
// Offsets (f32s) in the observation rows (Dict keys sorted).
const H_CHICKEN_POS: usize = <usize> CO;
const H_ROBOT_OCEAN: usize = H_CHICKEN_POS + <usize> C2;
const H_ROBOT_POS: usize = H_ROBOT_OCEAN + <usize> NUM_OCEAN_FEATURES;
const L_ROBOT_POS: usize = <usize> C2;
const L_TARGET: usize = L_ROBOT_POS + 2;
// Robot phases.
const DECIDING: i32 = 0;
const SEARCHING: i32 = 1;
const REACHED: i32 = 2;
const TIMED_OUT: i32 = 3;
// Bound of the fewest-moves searches (34 always suffice in the unit square).
const LATTICE_LIMIT: i32 = 64;

// dx and dy of each discrete move in float64 (DIRECTIONS * MOVE_AMOUNT).
const DX: usize = memory.data(NUM_DIRECTIONS * 8, 16);
const DY: usize = memory.data(NUM_DIRECTIONS * 8, 16);

let tablesBuilt: bool = false;
// Per env: hot state.
let pos: usize = 0; // f64 x4: x, y of robot 1, x, y of robot 2
let tgt: usize = 0; // f64 x4: x, y of each robot's chosen chicken
let ints: usize = 0; // i32 x8: step count, phase x2, target x2, moves x2, unused
// Per env: the yard.
let chick: usize = 0; // f64 x20: x, y per chicken
let chickOcean: usize = 0; // f64 x50: OCEAN per chicken
let robotOcean: usize = 0; // f64 x10: OCEAN per robot
let start: usize = 0; // f64 x4: each robot's position at the decision
let ratios: usize = 0; // f64 x4: dot ratio x2, moves ratio x2

function buildTables(): void {
  for (let d = 0; d < NUM_DIRECTIONS; d++) {
    store<f64>(DX + (<usize> d << 3), <f64> unchecked(DIRECTIONS[2 * d]) * MOVE_AMOUNT);
    store<f64>(DY + (<usize> d << 3), <f64> unchecked(DIRECTIONS[2 * d + 1]) * MOVE_AMOUNT);
  }
  tablesBuilt = true;
}

function nextFloat(rng: usize): f64 {
  return <f64> (Pcg32.next(rng) >>> 8) * 5.9604644775390625e-8;
}

/** Draws `NUM_OCEAN_FEATURES` uniform numbers at `p` (f64) and divides them by their norm. */
function drawOcean(rng: usize, p: usize): void {
  let s: f64 = 0;
  for (let k = 0; k < NUM_OCEAN_FEATURES; k++) {
    const v = nextFloat(rng);
    store<f64>(p + (<usize> k << 3), v);
    s += v * v;
  }
  const n = Math.sqrt(s);
  if (n > 0) {
    for (let k = 0; k < NUM_OCEAN_FEATURES; k++) {
      const q = p + (<usize> k << 3);
      store<f64>(q, load<f64>(q) / n);
    }
  }
}

/** Dot product of robot `j`'s and chicken `c`'s OCEAN vectors in env `i`. */
function dot(i: i32, j: i32, c: i32): f64 {
  const r = robotOcean + ((<usize> (i * NUM_ROBOTS + j) * NUM_OCEAN_FEATURES) << 3);
  const h = chickOcean + ((<usize> (i * NUM_CHICKENS + c) * NUM_OCEAN_FEATURES) << 3);
  let s: f64 = 0;
  for (let k = 0; k < NUM_OCEAN_FEATURES; k++) {
    s += load<f64>(r + (<usize> k << 3)) * load<f64>(h + (<usize> k << 3));
  }
  return s;
}

/** Whether the point `(x, y)` is at the chicken `(cx, cy)`. */
function near(x: f64, y: f64, cx: f64, cy: f64): bool {
  const dx = x - cx;
  const dy = y - cy;
  return dx * dx + dy * dy < CLOSE2;
}

/**
 * The chicken robot `j` of env `i` is at now, or -1: its chosen one (variants `any`: the
 * lowest-numbered one within reach).
 */
function arrivedAt(i: i32, j: i32): i32 {
  const pj = pos + ((<usize> (i * NUM_ROBOTS + j)) << 4);
  const x = load<f64>(pj);
  const y = load<f64>(pj, 8);
  if (ANY) {
    const c0 = chick + ((<usize> (i * NUM_CHICKENS)) << 4);
    for (let c = 0; c < NUM_CHICKENS; c++) {
      const pc = c0 + (<usize> c << 4);
      if (near(x, y, load<f64>(pc), load<f64>(pc, 8))) return c;
    }
    return -1;
  }
  const pt = tgt + ((<usize> (i * NUM_ROBOTS + j)) << 4);
  return near(x, y, load<f64>(pt), load<f64>(pt, 8))
    ? load<i32>(ints + ((<usize> i) << 5) + ((<usize> (3 + j)) << 2))
    : -1;
}

/** Fewest moves from `(x0, y0)` to the chicken `(cx, cy)` (see the module doc). */
function fewestMoves(x0: f64, y0: f64, cx: f64, cy: f64): i32 {
  if (CONTINUOUS) {
    const ax = Math.abs(cx - x0);
    const ay = Math.abs(cy - y0);
    for (let m = 0; m < LATTICE_LIMIT; m++) {
      const r = MOVE_AMOUNT * <f64> m;
      const ex = Math.max(ax - r, 0);
      const ey = Math.max(ay - r, 0);
      if (ex * ex + ey * ey < CLOSE2) return m;
    }
    return LATTICE_LIMIT;
  }
  let bx = Infinity;
  let by = Infinity;
  for (let m = 0; m < LATTICE_LIMIT; m++) {
    const r = MOVE_AMOUNT * <f64> m;
    const xa = x0 + r - cx;
    const xb = x0 + -r - cx;
    const ya = y0 + r - cy;
    const yb = y0 + -r - cy;
    bx = Math.min(bx, Math.min(xa * xa, xb * xb));
    by = Math.min(by, Math.min(ya * ya, yb * yb));
    if (bx + by < CLOSE2) return m;
  }
  return LATTICE_LIMIT;
}

/** `v` clamped to [0, 1], branch-free. */
function clamp01(v: f64): f64 {
  const w = select<f64>(0, v, v < 0);
  return select<f64>(1, w, w > 1);
}

/** Writes the float32 copies of `n` float64s at `from` to `to`. */
function copyF32(to: usize, from: usize, n: i32): void {
  for (let k = 0; k < n; k++) {
    store<f32>(to + (<usize> k << 2), <f32> load<f64>(from + (<usize> k << 3)));
  }
}

/** The chicken yard's hooks (see `_kit.ts`); never instantiated. */
// deno-lint-ignore no-unused-vars -- bound by `Kit.bind<ChickenYard>()` (a type argument)
class ChickenYard extends KitEnv<ChickenYard> {
  groups(): i32 {
    return 2;
  }
  slots(_g: i32): i32 {
    return NUM_ROBOTS;
  }
  obsSize(g: i32): i32 {
    return g == HIGH ? HIGH_OBS_SIZE : LOW_OBS_SIZE;
  }
  actSize(g: i32): i32 {
    return CONTINUOUS && g == LOW ? 2 : 1;
  }
  /** High: Discrete(10); low: Discrete(8), or real numbers (0) in the continuous variants. */
  actions(g: i32): i32 {
    return g == HIGH ? NUM_CHICKENS : CONTINUOUS ? 0 : NUM_DIRECTIONS;
  }
  actionLow(_g: i32): f32 {
    return <f32> -MOVE_AMOUNT;
  }
  actionHigh(_g: i32): f32 {
    return <f32> MOVE_AMOUNT;
  }
  metrics(): i32 {
    return 4;
  }
  /** The kit's loops over the 2 x 2 slots written out: about 20% faster steps. */
  unrolled(): bool {
    return true;
  }
  layout(n: i32): void {
    const u = <u64> n;
    pos = Kit.alloc(u << 5);
    tgt = Kit.alloc(u << 5);
    ints = Kit.alloc(u << 5);
    chick = Kit.alloc((u * <u64> C2) << 3);
    chickOcean = Kit.alloc((u * <u64> CO) << 3);
    robotOcean = Kit.alloc((u * <u64> (NUM_ROBOTS * NUM_OCEAN_FEATURES)) << 3);
    start = Kit.alloc(u << 5);
    ratios = Kit.alloc(u << 5);
    if (!tablesBuilt) buildTables();
  }
  /** A new yard: chickens, then robot 1, then robot 2; both high agents act first. */
  reset(i: i32): void {
    const rng = this.rng(i);
    const pc = chick + ((<usize> (i * C2)) << 3);
    for (let k = 0; k < C2; k++) store<f64>(pc + (<usize> k << 3), nextFloat(rng));
    const po = chickOcean + ((<usize> (i * CO)) << 3);
    for (let c = 0; c < NUM_CHICKENS; c++) {
      drawOcean(rng, po + ((<usize> (c * NUM_OCEAN_FEATURES)) << 3));
    }
    for (let j = 0; j < NUM_ROBOTS; j++) {
      const pj = pos + ((<usize> (i * NUM_ROBOTS + j)) << 4);
      store<f64>(pj, nextFloat(rng));
      store<f64>(pj, nextFloat(rng), 8);
      drawOcean(rng, robotOcean + ((<usize> ((i * NUM_ROBOTS + j) * NUM_OCEAN_FEATURES)) << 3));
    }
    const q = ints + ((<usize> i) << 5);
    store<i32>(q, 0);
    for (let j = 0; j < NUM_ROBOTS; j++) {
      store<i32>(q + ((<usize> (1 + j)) << 2), DECIDING);
      store<i32>(q + ((<usize> (3 + j)) << 2), -1);
      store<i32>(q + ((<usize> (5 + j)) << 2), 0);
      this.spawn(HIGH, i, j, 0);
    }
  }
  step(i: i32): u8 {
    const q = ints + ((<usize> i) << 5);
    const t = load<i32>(q) + 1;
    store<i32>(q, t);
    if (t == 1) return this.decide(i);
    // The kit ends the timed-out robots' agents with the episode.
    return this.search(i, 0, t) + this.search(i, 1, t) == 0 ? TERMINATED : RUNNING;
  }
  /** Moves robot `j` if it is searching, ends or pays it; 1 when it is still searching. */
  @inline
  search(i: i32, j: i32, t: i32): i32 {
    const q = ints + ((<usize> i) << 5);
    const qp = q + ((<usize> (1 + j)) << 2);
    if (load<i32>(qp) != SEARCHING) return 0;
    const pj = pos + ((<usize> (i * NUM_ROBOTS + j)) << 4);
    let vx: f64;
    let vy: f64;
    if (CONTINUOUS) {
      const a = this.act(LOW, i, j);
      vx = <f64> load<f32>(a);
      vy = <f64> load<f32>(a, 4);
    } else {
      const d = (<usize> this.action(LOW, i, j)) << 3;
      vx = load<f64>(DX + d);
      vy = load<f64>(DY + d);
    }
    const x = clamp01(load<f64>(pj) + vx);
    const y = clamp01(load<f64>(pj, 8) + vy);
    store<f64>(pj, x);
    store<f64>(pj, y, 8);
    const qm = q + ((<usize> (5 + j)) << 2);
    store<i32>(qm, load<i32>(qm) + 1);
    let c = -1;
    if (ANY) {
      c = arrivedAt(i, j);
    } else {
      const pt = tgt + ((<usize> (i * NUM_ROBOTS + j)) << 4);
      if (near(x, y, load<f64>(pt), load<f64>(pt, 8))) {
        c = load<i32>(q + ((<usize> (3 + j)) << 2));
      }
    }
    if (c >= 0) {
      this.reward(LOW, i, j, <f32> ARRIVAL_REWARD);
      this.arrive(i, j, c);
      this.endAgent(LOW, i, j, TERMINATED);
      return 0;
    }
    if (t >= TIMEOUT) {
      store<i32>(qp, TIMED_OUT);
      this.reward(LOW, i, j, <f32> TIMEOUT_REWARD);
      this.reward(HIGH, i, j, <f32> TIMEOUT_REWARD);
      return 0;
    }
    this.reward(LOW, i, j, <f32> STEP_REWARD);
    return 1;
  }
  /** The decision step: record the chickens, end robots already there, spawn the others. */
  decide(i: i32): u8 {
    const q = ints + ((<usize> i) << 5);
    let searching = 0;
    for (let j = 0; j < NUM_ROBOTS; j++) {
      const c = this.action(HIGH, i, j);
      const r = <usize> (i * NUM_ROBOTS + j);
      store<i32>(q + ((<usize> (3 + j)) << 2), c);
      const pc = chick + ((<usize> (i * NUM_CHICKENS + c)) << 4);
      const pt = tgt + (r << 4);
      store<f64>(pt, load<f64>(pc));
      store<f64>(pt, load<f64>(pc, 8), 8);
      const pj = pos + (r << 4);
      store<f64>(start + (r << 4), load<f64>(pj));
      store<f64>(start + (r << 4), load<f64>(pj, 8), 8);
      let best: f64 = 0;
      for (let k = 0; k < NUM_CHICKENS; k++) best = Math.max(best, dot(i, j, k));
      store<f64>(
        ratios + ((<usize> i) << 5) + ((<usize> j) << 3),
        best > 0 ? dot(i, j, c) / best : 1,
      );
      const at = arrivedAt(i, j);
      if (at >= 0) {
        this.arrive(i, j, at);
      } else {
        store<i32>(q + ((<usize> (1 + j)) << 2), SEARCHING);
        this.setActive(HIGH, i, j, false);
        this.spawn(LOW, i, j, 0);
        searching++;
      }
    }
    return searching == 0 ? TERMINATED : RUNNING;
  }
  /** Robot `j` is at chicken `c`: pays and ends its high agent, records the moves ratio. */
  arrive(i: i32, j: i32, c: i32): void {
    const q = ints + ((<usize> i) << 5);
    const r = <usize> (i * NUM_ROBOTS + j);
    store<i32>(q + ((<usize> (1 + j)) << 2), REACHED);
    this.reward(HIGH, i, j, <f32> dot(i, j, c));
    const ps = start + (r << 4);
    const pc = chick + ((<usize> (i * NUM_CHICKENS + c)) << 4);
    const fewest = fewestMoves(load<f64>(ps), load<f64>(ps, 8), load<f64>(pc), load<f64>(pc, 8));
    const moves = load<i32>(q + ((<usize> (5 + j)) << 2));
    const pr = ratios + ((<usize> i) << 5) + ((<usize> (2 + j)) << 3);
    store<f64>(pr, fewest == 0 ? 1 : <f64> moves / <f64> fewest);
    this.endAgent(HIGH, i, j, TERMINATED);
  }
  writeMetrics(i: i32, p: usize): void {
    const q = ints + ((<usize> i) << 5);
    const r0 = ratios + ((<usize> i) << 5);
    let reached = 0;
    let moves: f64 = 0;
    let dots: f64 = 0;
    for (let j = 0; j < NUM_ROBOTS; j++) {
      dots += load<f64>(r0 + (<usize> j << 3));
      if (load<i32>(q + ((<usize> (1 + j)) << 2)) == REACHED) {
        reached++;
        moves += load<f64>(r0 + ((<usize> (2 + j)) << 3));
      }
    }
    store<f32>(p, <f32> (<f64> reached / <f64> NUM_ROBOTS));
    store<f32>(p, reached == 0 ? NaN : <f32> (moves / <f64> reached), 4);
    store<f32>(p, <f32> (dots / <f64> NUM_ROBOTS), 8);
    store<f32>(p, <f32> load<i32>(q), 12);
  }
  writeObs(i: i32, g: i32, j: i32, p: usize): void {
    const pc = chick + ((<usize> (i * C2)) << 3);
    const pj = pos + ((<usize> (i * NUM_ROBOTS + j)) << 4);
    if (g == HIGH) {
      copyF32(p, chickOcean + ((<usize> (i * CO)) << 3), CO);
      copyF32(p + (H_CHICKEN_POS << 2), pc, C2);
      copyF32(
        p + (H_ROBOT_OCEAN << 2),
        robotOcean + ((<usize> ((i * NUM_ROBOTS + j) * NUM_OCEAN_FEATURES)) << 3),
        NUM_OCEAN_FEATURES,
      );
      copyF32(p + (H_ROBOT_POS << 2), pj, 2);
    } else {
      copyF32(p, pc, C2);
      copyF32(p + (L_ROBOT_POS << 2), pj, 2);
      this.writeTarget(i, j, p);
    }
  }
  /**
   * After a step: the robot's position; at the decision step, the target in the low row of a
   * robot that ended there (a spawned low agent's row gets `writeObs` from the kit).
   */
  updateObs(i: i32, g: i32, j: i32, p: usize): void {
    const pj = pos + ((<usize> (i * NUM_ROBOTS + j)) << 4);
    const at = p + ((g == HIGH ? H_ROBOT_POS : L_ROBOT_POS) << 2);
    store<f32>(at, <f32> load<f64>(pj));
    store<f32>(at, <f32> load<f64>(pj, 8), 4);
    if (g == LOW) {
      const q = ints + ((<usize> i) << 5);
      if (load<i32>(q) == 1 && load<i32>(q + ((<usize> (1 + j)) << 2)) == REACHED) {
        this.writeTarget(i, j, p);
      }
    }
  }
  /** The `target` one-hot of robot `j`'s low row at `p` (zeros before the decision). */
  writeTarget(i: i32, j: i32, p: usize): void {
    const c = load<i32>(ints + ((<usize> i) << 5) + ((<usize> (3 + j)) << 2));
    const pt = p + (L_TARGET << 2);
    for (let k = 0; k < NUM_CHICKENS; k++) store<f32>(pt + (<usize> k << 2), k == c ? 1 : 0);
  }
}

Kit.bind<ChickenYard>();
