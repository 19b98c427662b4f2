/**
 * CartPole (Gymnasium's `CartPole-v1`) on the env kit (`_kit.ts`): `N` carts batched in linear
 * memory. This file holds the rules and the facts only; the kit runs the slot protocol. The
 * multi-agent version (RLlib's `MultiAgentCartPole`) is built on the TypeScript side from
 * `N * numAgents` of these envs (src/env/make_multi_agent.ts).
 *
 * One slot group `agent` with one slot per env (slot `i` is env `i`), acting at every step.
 * - Observation row (4 f32): `[x, x_dot, theta, theta_dot]`, the state rounded to f32.
 * - Action row (1 f32): Discrete(2): 0 pushes the cart left (-FORCE_MAG), 1 right.
 * - Step, in Gymnasium's order: with `c = cos(theta)`, `s = sin(theta)`,
 *   `temp = (force + POLEMASS_LENGTH * theta_dot^2 * s) / TOTAL_MASS`,
 *   `theta_acc = (GRAVITY * s - c * temp) / (LENGTH * (4/3 - MASSPOLE * c^2 / TOTAL_MASS))`,
 *   `x_acc = temp - POLEMASS_LENGTH * theta_acc * c / TOTAL_MASS`; then the explicit Euler
 *   update `x += TAU * x_dot; x_dot += TAU * x_acc; theta += TAU * theta_dot;
 *   theta_dot += TAU * theta_acc` (every right-hand side reads the old state). Reward 1 at every
 *   step, the terminal one included; terminated when `|x| > X_THRESHOLD` or `|theta| >
 *   THETA_THRESHOLD` (strictly), else truncated when the step count reached MAX_STEPS
 *   (Gymnasium's `TimeLimit` of v1; a step both terminal and the 500th is a termination).
 * - Reset: the four state numbers uniform in `[-RESET_BOUND, RESET_BOUND)`, each from a 53-bit
 *   uniform double made of two PCG32 draws (`(a >> 5) * 2^26 + (b >> 6)) / 2^53`, numpy's
 *   construction), as `low + (high - low) * u`.
 *
 * The state is f64, as Gymnasium's (numpy float64); only the observation is rounded to f32.
 * f64 costs nothing here (scalar WASM f64 math is as fast as f32) and keeps the trajectories
 * Gymnasium's to the last bit of the f32 observation for hundreds of steps.
 */

import { Kit, KitEnv, Pcg32, RUNNING, TERMINATED, TRUNCATED } from "./_kit";

export * from "./_abi";

/** Gravity (m/s²). */
export const GRAVITY: f64 = 9.8;
/** Mass of the cart (kg). */
export const MASSCART: f64 = 1.0;
/** Mass of the pole (kg). */
export const MASSPOLE: f64 = 0.1;
/** Cart plus pole (kg), computed as Gymnasium does (`masspole + masscart`). */
export const TOTAL_MASS: f64 = MASSPOLE + MASSCART;
/** Half the pole's length (m), Gymnasium's `length`. */
export const LENGTH: f64 = 0.5;
/** `MASSPOLE * LENGTH`. */
export const POLEMASS_LENGTH: f64 = MASSPOLE * LENGTH;
/** Magnitude of the force an action applies (N). */
export const FORCE_MAG: f64 = 10.0;
/** Seconds between state updates. */
export const TAU: f64 = 0.02;
/** The pole angle beyond which the episode terminates: 12° in radians, `12 * 2 * π / 360`. */
export const THETA_THRESHOLD: f64 = 12 * 2 * Math.PI / 360;
/** The cart position beyond which the episode terminates. */
export const X_THRESHOLD: f64 = 2.4;
/** Episodes are truncated after this many steps (CartPole-v1). */
export const MAX_STEPS: i32 = 500;
/** Reward of every step, the terminal one included. */
export const STEP_REWARD: f32 = 1;
/** The initial state is uniform in `[-RESET_BOUND, RESET_BOUND)^4`. */
export const RESET_BOUND: f64 = 0.05;
/** Observation row width: `[x, x_dot, theta, theta_dot]`. */
export const OBS_SIZE: i32 = 4;

const FOUR_THIRDS: f64 = 4.0 / 3.0;

let states: usize = 0; // f64 x 4 per env: x, x_dot, theta, theta_dot
let counts: usize = 0; // i32 per env: steps in the episode

/** The cart's hooks (see `_kit.ts`); never instantiated. */
// deno-lint-ignore no-unused-vars -- bound by `Kit.bind<CartPole>()` (a type argument)
class CartPole extends KitEnv<CartPole> {
  /** Observation row width of the one group. */
  obsSize(_g: i32): i32 {
    return OBS_SIZE;
  }
  /** Actions are Discrete(2): 0 left, 1 right. */
  actions(_g: i32): i32 {
    return 2;
  }
  /** One agent per env, acting at every step for the whole episode (the kit spawns it). */
  fixedAgents(): bool {
    return true;
  }
  /** Per-env state: four f64 and the step count. */
  layout(n: i32): void {
    states = Kit.alloc(<u64> n << 5);
    counts = Kit.alloc(<u64> n << 2);
  }
  /** The four state numbers uniform in [-RESET_BOUND, RESET_BOUND), count 0. */
  @inline
  reset(i: i32): void {
    const p = states + (<usize> i << 5);
    const rng = this.rng(i);
    const range = RESET_BOUND - -RESET_BOUND;
    store<f64>(p, -RESET_BOUND + range * Pcg32.nextDouble(rng));
    store<f64>(p, -RESET_BOUND + range * Pcg32.nextDouble(rng), 8);
    store<f64>(p, -RESET_BOUND + range * Pcg32.nextDouble(rng), 16);
    store<f64>(p, -RESET_BOUND + range * Pcg32.nextDouble(rng), 24);
    store<i32>(counts + (<usize> i << 2), 0);
  }
  /** One Euler step of Gymnasium's equations (see the module doc). */
  @inline
  step(i: i32): u8 {
    const p = states + (<usize> i << 5);
    const x = load<f64>(p);
    const xDot = load<f64>(p, 8);
    const theta = load<f64>(p, 16);
    const thetaDot = load<f64>(p, 24);
    const force = select<f64>(FORCE_MAG, -FORCE_MAG, this.action(0, i, 0) != 0);
    const c = Math.cos(theta);
    const s = Math.sin(theta);
    const temp = (force + POLEMASS_LENGTH * (thetaDot * thetaDot) * s) / TOTAL_MASS;
    const thetaAcc = (GRAVITY * s - c * temp) /
      (LENGTH * (FOUR_THIRDS - MASSPOLE * (c * c) / TOTAL_MASS));
    const xAcc = temp - POLEMASS_LENGTH * thetaAcc * c / TOTAL_MASS;
    const nx = x + TAU * xDot;
    const nTheta = theta + TAU * thetaDot;
    store<f64>(p, nx);
    store<f64>(p, xDot + TAU * xAcc, 8);
    store<f64>(p, nTheta, 16);
    store<f64>(p, thetaDot + TAU * thetaAcc, 24);
    const o4 = counts + (<usize> i << 2);
    const count = load<i32>(o4) + 1;
    store<i32>(o4, count);
    this.reward(0, i, 0, STEP_REWARD);
    const out = (nx < -X_THRESHOLD) | (nx > X_THRESHOLD) | (nTheta < -THETA_THRESHOLD) |
      (nTheta > THETA_THRESHOLD);
    if (out) return TERMINATED;
    return count >= MAX_STEPS ? TRUNCATED : RUNNING;
  }
  /** The state rounded to f32. */
  @inline
  writeObs(i: i32, _g: i32, _j: i32, p: usize): void {
    const q = states + (<usize> i << 5);
    store<f32>(p, <f32> load<f64>(q));
    store<f32>(p, <f32> load<f64>(q, 8), 4);
    store<f32>(p, <f32> load<f64>(q, 16), 8);
    store<f32>(p, <f32> load<f64>(q, 24), 12);
  }
}

Kit.bind<CartPole>();
