/**
 * Pendulum (Gymnasium's `Pendulum-v1`, the inverted pendulum swing-up) and its multi-agent
 * version (RLlib's `MultiAgentPendulum`, `make_multi_agent("Pendulum-v1")`): a batched WASM env
 * for training ({@linkcode createPendulum}, with `numAgents` for the multi-agent version) and a
 * Gymnasium-style single env ({@linkcode PendulumEnv}). The dynamics and the facts live in
 * `assembly/pendulum.ts`; the constants below are read from the facts the build wrote into the
 * generated module, not copied.
 *
 * Rules (Gymnasium's): the torque `u` (Box(-2, 2, [1])) swings a pendulum of mass 1 and length
 * 1 under gravity 10; reward `-(angle_normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2)` from
 * the state before the step; `theta_dot += (15 sin(theta) + 3 u) * 0.05`, clipped to ±8, then
 * `theta += theta_dot * 0.05`; never terminates, truncated after 200 steps. The observation is
 * `[cos(theta), sin(theta), theta_dot]` (f32; the state is f64, as Gymnasium's); the initial
 * state is theta uniform in `[-π, π)`, theta_dot in `[-1, 1)`. Gymnasium clips an action
 * outside the Box; here it is refused (an invalid action), as for every Box of the env kit.
 *
 * @module
 */

import { Box } from "../spaces.ts";
import { createWasmEnv, type WasmBatchedEnv, type WasmEnvDescriptor } from "../env/wasm.ts";
import { BatchedSingleAgentEnv, MultiAgentBatchedEnv } from "../env/make_multi_agent.ts";
import { PENDULUM_FACTS, pendulumWasmBytes } from "./_generated/pendulum_wasm.ts";

const FACTS = PENDULUM_FACTS;

/** Largest angular speed (rad/s); theta_dot is clipped to ±PENDULUM_MAX_SPEED. */
export const PENDULUM_MAX_SPEED: number = FACTS.MAX_SPEED;
/** Largest torque. */
export const PENDULUM_MAX_TORQUE: number = FACTS.MAX_TORQUE;
/** Seconds between state updates. */
export const PENDULUM_DT: number = FACTS.DT;
/** Gravity (m/s²). */
export const PENDULUM_G: number = FACTS.G;
/** Mass (kg). */
export const PENDULUM_M: number = FACTS.M;
/** Length (m). */
export const PENDULUM_L: number = FACTS.L;
/** Episodes are truncated after this many steps (v1). */
export const PENDULUM_MAX_STEPS: number = FACTS.MAX_STEPS;
/** The initial angle is uniform in `[-PENDULUM_INIT_THETA, PENDULUM_INIT_THETA)` (π). */
export const PENDULUM_INIT_THETA: number = FACTS.INIT_THETA;
/** The initial angular speed is uniform in `[-PENDULUM_INIT_THETA_DOT, PENDULUM_INIT_THETA_DOT)`. */
export const PENDULUM_INIT_THETA_DOT: number = FACTS.INIT_THETA_DOT;

/** Observation space, Gymnasium's: `Box([-1, -1, -8], [1, 1, 8], [3])`. */
export const PENDULUM_OBS_SPACE: Box = new Box(
  [-1, -1, -FACTS.MAX_SPEED],
  [1, 1, FACTS.MAX_SPEED],
  [3],
);
/** Action space: the torque, `Box(-2, 2, [1])`. */
export const PENDULUM_ACTION_SPACE: Box = new Box(-FACTS.MAX_TORQUE, FACTS.MAX_TORQUE, [1]);

/** The agent id of the single-agent Pendulum (`createPendulum` without `numAgents`). */
export const PENDULUM_AGENT_ID = "default_agent";

/** Descriptor of the Pendulum module for the WASM loader: one group `agent`, one slot. */
export const PENDULUM_DESCRIPTOR: WasmEnvDescriptor = {
  name: "pendulum",
  groups: [{
    name: "agent",
    observationSpace: PENDULUM_OBS_SPACE,
    actionSpace: PENDULUM_ACTION_SPACE,
    agentId: () => PENDULUM_AGENT_ID,
  }],
};

let compiled: WebAssembly.Module | undefined;

/**
 * The compiled Pendulum module (compiled from the inlined bytes on first use, then cached).
 * @returns the module
 */
export function pendulumModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(pendulumWasmBytes() as BufferSource);
  return compiled;
}

/** Options of {@linkcode createPendulum} and {@linkcode PendulumEnv}. */
export interface PendulumOptions {
  /**
   * Seeds the pendulums; a non-negative safe integer (default 0). Pendulum `c` (env `c`, or
   * copy `j` of env `i` with `c = i * numAgents + j`) is seeded from `(seed, c)`.
   */
  seed?: number;
  /**
   * Makes the multi-agent version (RLlib's `MultiAgentPendulum`): `numAgents` independent
   * pendulums per env, agent ids `"0"`, `"1"`, ... (all truncated together after 200 steps).
   * Omitted: the single-agent env (agent id `"default_agent"`).
   */
  numAgents?: number;
  /** A compiled Pendulum module (default: compiled from the inlined bytes). */
  module?: WebAssembly.Module;
}

/**
 * Creates `numEnvs` Pendulums as one batched slot env: one group `"agent"`, auto-reset. Without
 * `numAgents`, one slot per env with agent id `"default_agent"` (a {@linkcode WasmBatchedEnv});
 * with it, `numAgents` slots per env, ids `"0"`, `"1"`, ... (a {@linkcode MultiAgentBatchedEnv}
 * over `numEnvs * numAgents` pendulums, stepped in one WASM call).
 *
 * @example 8 pendulums with no torque
 * ```ts
 * import { createPendulum } from "./pendulum.ts";
 * const env = createPendulum(8, { seed: 1 });
 * env.reset();
 * env.groups[0]!.act.fill(0);
 * for (let t = 0; t < 200; t++) env.step();
 * if (env.envTruncated[0] !== 1) throw new Error("truncated at step 200");
 * ```
 *
 * @param numEnvs number of envs
 * @param options seed, number of agents and module
 * @returns the env; call `reset` before `step`
 */
export function createPendulum(
  numEnvs: number,
  options: PendulumOptions = {},
): WasmBatchedEnv | MultiAgentBatchedEnv {
  const module = options.module ?? pendulumModule();
  const k = options.numAgents;
  if (k === undefined) return createWasmEnv(module, PENDULUM_DESCRIPTOR, numEnvs, options.seed);
  if (!Number.isInteger(k) || k < 1) {
    throw new RangeError(`numAgents must be a positive integer, got ${k}`);
  }
  if (!Number.isInteger(numEnvs) || numEnvs < 1) {
    throw new RangeError(`numEnvs must be a positive integer, got ${numEnvs}`);
  }
  const inner = createWasmEnv(module, PENDULUM_DESCRIPTOR, numEnvs * k, options.seed);
  return new MultiAgentBatchedEnv(inner, k, { name: "multi_agent_pendulum" });
}

/**
 * One Pendulum, Gymnasium-style: `reset({seed})` → `{obs, info}`, `step(action)` →
 * `{obs, reward, terminated, truncated, info}` with the action a one-number array (a
 * {@linkcode BatchedSingleAgentEnv} over a one-env batch; episodes match env 0 of
 * {@linkcode createPendulum} with the same seed).
 *
 * @example No torque for a whole episode
 * ```ts
 * import { PendulumEnv } from "./pendulum.ts";
 * const env = new PendulumEnv();
 * env.reset({ seed: 7 });
 * let ret = 0;
 * for (;;) {
 *   const r = env.step([0]);
 *   ret += r.reward;
 *   if (r.terminated || r.truncated) break;
 * }
 * if (!(ret < 0)) throw new Error("costs are positive");
 * ```
 */
export class PendulumEnv extends BatchedSingleAgentEnv<Float32Array, number[] | Float32Array> {
  /**
   * Creates the env; call `reset` before stepping.
   * @param options initial seed (the stream is seeded from `(seed, 0)`) and module
   */
  constructor(options: Omit<PendulumOptions, "numAgents"> = {}) {
    super(createPendulum(1, { seed: options.seed, module: options.module }), "PendulumEnv");
  }
}
