/**
 * CartPole (Gymnasium's `CartPole-v1`) and its multi-agent version (RLlib's
 * `MultiAgentCartPole`, `make_multi_agent("CartPole-v1")`): a batched WASM env for training
 * ({@linkcode createCartPole}, with `numAgents` for the multi-agent version) and a
 * Gymnasium-style single env ({@linkcode CartPoleEnv}). The dynamics and the facts live in
 * `assembly/cartpole.ts`; the constants below are read from the facts the build wrote into the
 * generated module, not copied.
 *
 * Rules (Gymnasium's, to the update order): a pole on a cart; action 0 pushes the cart left
 * with 10 N, 1 right; one explicit Euler step of 0.02 s per action; reward 1 per step, the
 * terminal one included; terminated when the cart leaves `[-2.4, 2.4]` or the pole leans
 * more than 12° (0.2095 rad); truncated after 500 steps. The observation is
 * `[x, x_dot, theta, theta_dot]` as f32 (the state is f64, as Gymnasium's); the initial state
 * is uniform in `[-0.05, 0.05)^4`.
 *
 * @module
 */

import { Box, Discrete } from "../spaces.ts";
import { createWasmEnv, type WasmBatchedEnv, type WasmEnvDescriptor } from "../env/wasm.ts";
import { BatchedSingleAgentEnv, MultiAgentBatchedEnv } from "../env/make_multi_agent.ts";
import { CARTPOLE_FACTS, cartpoleWasmBytes } from "./_generated/cartpole_wasm.ts";

const FACTS = CARTPOLE_FACTS;

/** Gravity (m/s²). */
export const CARTPOLE_GRAVITY: number = FACTS.GRAVITY;
/** Mass of the cart (kg). */
export const CARTPOLE_MASSCART: number = FACTS.MASSCART;
/** Mass of the pole (kg). */
export const CARTPOLE_MASSPOLE: number = FACTS.MASSPOLE;
/** Half the pole's length (m), Gymnasium's `length`. */
export const CARTPOLE_LENGTH: number = FACTS.LENGTH;
/** Magnitude of the force of an action (N). */
export const CARTPOLE_FORCE_MAG: number = FACTS.FORCE_MAG;
/** Seconds between state updates. */
export const CARTPOLE_TAU: number = FACTS.TAU;
/** The pole angle (rad) beyond which the episode terminates: 12°. */
export const CARTPOLE_THETA_THRESHOLD: number = FACTS.THETA_THRESHOLD;
/** The cart position beyond which the episode terminates. */
export const CARTPOLE_X_THRESHOLD: number = FACTS.X_THRESHOLD;
/** Episodes are truncated after this many steps (v1). */
export const CARTPOLE_MAX_STEPS: number = FACTS.MAX_STEPS;
/** The initial state is uniform in `[-CARTPOLE_RESET_BOUND, CARTPOLE_RESET_BOUND)^4`. */
export const CARTPOLE_RESET_BOUND: number = FACTS.RESET_BOUND;

const F32_MAX = 3.4028234663852886e38;
const HIGH = [2 * FACTS.X_THRESHOLD, F32_MAX, 2 * FACTS.THETA_THRESHOLD, F32_MAX];

/**
 * Observation space, Gymnasium's: `Box(-high, high, [4])` with `high = [4.8, f32 max, 0.419,
 * f32 max]` (twice the thresholds, so a final observation is inside).
 */
export const CARTPOLE_OBS_SPACE: Box = new Box(HIGH.map((h) => -h), HIGH, [4]);
/** Action space: 0 push left, 1 push right. */
export const CARTPOLE_ACTION_SPACE: Discrete = new Discrete(2);

/** The agent id of the single-agent CartPole (`createCartPole` without `numAgents`). */
export const CARTPOLE_AGENT_ID = "default_agent";

/** Descriptor of the CartPole module for the WASM loader: one group `agent`, one slot. */
export const CARTPOLE_DESCRIPTOR: WasmEnvDescriptor = {
  name: "cartpole",
  groups: [{
    name: "agent",
    observationSpace: CARTPOLE_OBS_SPACE,
    actionSpace: CARTPOLE_ACTION_SPACE,
    agentId: () => CARTPOLE_AGENT_ID,
  }],
};

let compiled: WebAssembly.Module | undefined;

/**
 * The compiled CartPole module (compiled from the inlined bytes on first use, then cached).
 * @returns the module
 */
export function cartpoleModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(cartpoleWasmBytes() as BufferSource);
  return compiled;
}

/** Options of {@linkcode createCartPole} and {@linkcode CartPoleEnv}. */
export interface CartPoleOptions {
  /**
   * Seeds the carts; a non-negative safe integer (default 0). Cart `c` (env `c`, or copy `j`
   * of env `i` with `c = i * numAgents + j`) is seeded from `(seed, c)`.
   */
  seed?: number;
  /**
   * Makes the multi-agent version (RLlib's `MultiAgentCartPole`): `numAgents` independent
   * carts per env, agent ids `"0"`, `"1"`, ...; an agent whose cart's episode ends leaves,
   * the env's episode ends when every agent has. Omitted: the single-agent env (agent id
   * `"default_agent"`).
   */
  numAgents?: number;
  /** A compiled CartPole module (default: compiled from the inlined bytes). */
  module?: WebAssembly.Module;
}

/**
 * Creates `numEnvs` CartPoles as one batched slot env: one group `"agent"`, auto-reset. Without
 * `numAgents`, one slot per env with agent id `"default_agent"` (a {@linkcode WasmBatchedEnv});
 * with it, `numAgents` slots per env, ids `"0"`, `"1"`, ... (a {@linkcode MultiAgentBatchedEnv}
 * over `numEnvs * numAgents` carts, stepped in one WASM call).
 *
 * @example RLlib's MultiAgentCartPole: 16 envs of 2 agents
 * ```ts
 * import { createCartPole } from "./cartpole.ts";
 * const env = createCartPole(16, { seed: 1, numAgents: 2 });
 * env.reset();
 * for (let t = 0; t < 100; t++) {
 *   const act = env.groups[0]!.act;
 *   for (let s = 0; s < act.length; s++) act[s] = t % 2;
 *   env.step();
 * }
 * if (env.agentId(3) !== "1") throw new Error("slot 3 is agent 1 of env 1");
 * ```
 *
 * @param numEnvs number of envs
 * @param options seed, number of agents and module
 * @returns the env; call `reset` before `step`
 */
export function createCartPole(
  numEnvs: number,
  options: CartPoleOptions = {},
): WasmBatchedEnv | MultiAgentBatchedEnv {
  const module = options.module ?? cartpoleModule();
  const k = options.numAgents;
  if (k === undefined) return createWasmEnv(module, CARTPOLE_DESCRIPTOR, numEnvs, options.seed);
  if (!Number.isInteger(k) || k < 1) {
    throw new RangeError(`numAgents must be a positive integer, got ${k}`);
  }
  if (!Number.isInteger(numEnvs) || numEnvs < 1) {
    throw new RangeError(`numEnvs must be a positive integer, got ${numEnvs}`);
  }
  const inner = createWasmEnv(module, CARTPOLE_DESCRIPTOR, numEnvs * k, options.seed);
  return new MultiAgentBatchedEnv(inner, k, { name: "multi_agent_cartpole" });
}

/**
 * One CartPole, Gymnasium-style: `reset({seed})` → `{obs, info}`, `step(action)` →
 * `{obs, reward, terminated, truncated, info}` (a {@linkcode BatchedSingleAgentEnv} over a
 * one-env batch; episodes match env 0 of {@linkcode createCartPole} with the same seed).
 * `makeMultiAgent(() => new CartPoleEnv(), n)` is RLlib's `MultiAgentCartPole` on the dict face.
 *
 * @example Push right until the pole falls
 * ```ts
 * import { CartPoleEnv } from "./cartpole.ts";
 * const env = new CartPoleEnv();
 * env.reset({ seed: 42 });
 * let steps = 0;
 * for (;;) {
 *   const r = env.step(1);
 *   steps++;
 *   if (r.terminated || r.truncated) break;
 * }
 * if (steps > 100) throw new Error("always pushing right fails fast");
 * ```
 */
export class CartPoleEnv extends BatchedSingleAgentEnv<Float32Array, number> {
  /**
   * Creates the env; call `reset` before stepping.
   * @param options initial seed (the stream is seeded from `(seed, 0)`) and module
   */
  constructor(options: Omit<CartPoleOptions, "numAgents"> = {}) {
    super(createCartPole(1, { seed: options.seed, module: options.module }), "CartPoleEnv");
  }
}
