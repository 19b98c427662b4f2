/**
 * Pendulum (Gymnasium's `Pendulum-v1`, the inverted pendulum swing-up) on the env kit
 * (`_kit.ts`): `N` pendulums batched in linear memory. This file holds the rules and the facts
 * only; the kit runs the slot protocol. The multi-agent version (RLlib's `MultiAgentPendulum`)
 * is built on the TypeScript side from `N * numAgents` of these envs
 * (src/env/make_multi_agent.ts).
 *
 * One slot group `agent` with one slot per env (slot `i` is env `i`), acting at every step.
 * - Observation row (3 f32): `[cos(theta), sin(theta), theta_dot]` (theta 0 is upright).
 * - Action row (1 f32): the torque, a Box(-MAX_TORQUE, MAX_TORQUE, [1]); the kit refuses a
 *   number outside (NaN included) before anything changes. Gymnasium clips instead; the clip
 *   is kept (a no-op for valid actions) so the rule reads as Gymnasium's.
 * - Step, in Gymnasium's order, from the old state: `u = clip(action)`, cost
 *   `angle_normalize(theta)^2 + 0.1 * theta_dot^2 + 0.001 * u^2` (reward: its negation), then
 *   `theta_dot' = clip(theta_dot + (3 g / (2 l) * sin(theta) + 3 / (m l^2) * u) * DT,
 *   ±MAX_SPEED)` and `theta' = theta + theta_dot' * DT`. Never terminates; truncated when the
 *   step count reached MAX_STEPS (Gymnasium's `TimeLimit` of v1).
 *   `angle_normalize(x) = ((x + π) mod 2π) - π` with Python's floored modulo.
 * - Reset: theta uniform in `[-π, π)`, theta_dot in `[-1, 1)`, each from a 53-bit uniform
 *   double made of two PCG32 draws, as `low + (high - low) * u` (numpy's `uniform`).
 *
 * The state is f64, as Gymnasium's (numpy float64), with theta's sine and cosine kept next to
 * it (each computed once per step); the torque is the f32 action widened to f64, and only the
 * observation and the reward are rounded to f32.
 */

import { Kit, KitEnv, Pcg32, RUNNING, TRUNCATED } from "./_kit";

export * from "./_abi";

/** Largest angular speed (rad/s); theta_dot is clipped to ±MAX_SPEED. */
export const MAX_SPEED: f64 = 8;
/** Largest torque; the action space is Box(-MAX_TORQUE, MAX_TORQUE, [1]). */
export const MAX_TORQUE: f32 = 2.0;
/** Seconds between state updates. */
export const DT: f64 = 0.05;
/** Gravity (m/s²), Gymnasium's default `g`. */
export const G: f64 = 10.0;
/** Mass of the pendulum (kg). */
export const M: f64 = 1.0;
/** Length of the pendulum (m). */
export const L: f64 = 1.0;
/** Episodes are truncated after this many steps (Pendulum-v1). */
export const MAX_STEPS: i32 = 200;
/** The initial angle is uniform in `[-INIT_THETA, INIT_THETA)` (π). */
export const INIT_THETA: f64 = Math.PI;
/** The initial angular speed is uniform in `[-INIT_THETA_DOT, INIT_THETA_DOT)`. */
export const INIT_THETA_DOT: f64 = 1.0;
/** Observation row width: `[cos(theta), sin(theta), theta_dot]`. */
export const OBS_SIZE: i32 = 3;

const TWO_PI: f64 = 2 * Math.PI;
const GRAVITY_TERM: f64 = 3 * G / (2 * L);
const TORQUE_TERM: f64 = 3.0 / (M * L * L);

let states: usize = 0; // f64 x 4 per env: theta, theta_dot, sin(theta), cos(theta)
let counts: usize = 0; // i32 per env: steps in the episode

/** `((x + π) mod 2π) - π`, the modulo floored as Python's (result in `[0, 2π)`). */
function angleNormalize(x: f64): f64 {
  let m = (x + Math.PI) % TWO_PI;
  if (m < 0) m += TWO_PI;
  return m - Math.PI;
}

/** The pendulum's hooks (see `_kit.ts`); never instantiated. */
// deno-lint-ignore no-unused-vars -- bound by `Kit.bind<Pendulum>()` (a type argument)
class Pendulum extends KitEnv<Pendulum> {
  /** Observation row width of the one group. */
  obsSize(_g: i32): i32 {
    return OBS_SIZE;
  }
  /** Actions are real numbers (a Box), bounded by actionLow/actionHigh. */
  actions(_g: i32): i32 {
    return 0;
  }
  /** Lowest torque. */
  actionLow(_g: i32): f32 {
    return -MAX_TORQUE;
  }
  /** Highest torque. */
  actionHigh(_g: i32): f32 {
    return MAX_TORQUE;
  }
  /** One agent per env, acting at every step for the whole episode (the kit spawns it). */
  fixedAgents(): bool {
    return true;
  }
  /** Per-env state: four f64 (theta, theta_dot and theta's sine and cosine) and the step count. */
  layout(n: i32): void {
    states = Kit.alloc(<u64> n << 5);
    counts = Kit.alloc(<u64> n << 2);
  }
  /** theta uniform in [-π, π), theta_dot in [-1, 1), count 0. */
  @inline
  reset(i: i32): void {
    const p = states + (<usize> i << 5);
    const rng = this.rng(i);
    const th = -INIT_THETA + (INIT_THETA - -INIT_THETA) * Pcg32.nextDouble(rng);
    store<f64>(p, th);
    store<f64>(p, -INIT_THETA_DOT + (INIT_THETA_DOT - -INIT_THETA_DOT) * Pcg32.nextDouble(rng), 8);
    store<f64>(p, Math.sin(th), 16);
    store<f64>(p, Math.cos(th), 24);
    store<i32>(counts + (<usize> i << 2), 0);
  }
  /** One step of Gymnasium's equations (see the module doc). */
  @inline
  step(i: i32): u8 {
    const p = states + (<usize> i << 5);
    const th = load<f64>(p);
    const thDot = load<f64>(p, 8);
    const a = <f64> load<f32>(this.act(0, i, 0));
    const u = min(max(a, -<f64> MAX_TORQUE), <f64> MAX_TORQUE);
    const n = angleNormalize(th);
    const cost = n * n + 0.1 * (thDot * thDot) + 0.001 * (u * u);
    let newThDot = thDot + (GRAVITY_TERM * load<f64>(p, 16) + TORQUE_TERM * u) * DT;
    newThDot = min(max(newThDot, -MAX_SPEED), MAX_SPEED);
    const newTh = th + newThDot * DT;
    store<f64>(p, newTh);
    store<f64>(p, newThDot, 8);
    // Each theta's sine and cosine once: this step's observation and the next step use them.
    store<f64>(p, Math.sin(newTh), 16);
    store<f64>(p, Math.cos(newTh), 24);
    this.reward(0, i, 0, <f32> -cost);
    const o4 = counts + (<usize> i << 2);
    const count = load<i32>(o4) + 1;
    store<i32>(o4, count);
    return count >= MAX_STEPS ? TRUNCATED : RUNNING;
  }
  /** `[cos(theta), sin(theta), theta_dot]` rounded to f32. */
  @inline
  writeObs(i: i32, _g: i32, _j: i32, p: usize): void {
    const q = states + (<usize> i << 5);
    store<f32>(p, <f32> load<f64>(q, 24));
    store<f32>(p, <f32> load<f64>(q, 16), 4);
    store<f32>(p, <f32> load<f64>(q, 8), 8);
  }
}

Kit.bind<Pendulum>();
