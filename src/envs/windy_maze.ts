/**
 * The windy maze (RLlib's `WindyMazeEnv`): a batched WASM env for training
 * ({@linkcode createWindyMaze}) and a Gymnasium-style single env for users
 * ({@linkcode WindyMazeEnv}). The dynamics and the facts (map, sizes, start, finish, step limit,
 * goal reward) live in `assembly/windy_maze.ts`; the constants below are read from the facts
 * the build wrote into the generated module, not copied.
 *
 * Rules: an 8 x 9 map ({@linkcode WINDY_MAZE_MAP}); the agent starts at S = (1, 1) and must reach
 * F = (6, 1). It observes its `(row, col)` and the wind direction (0 north = row - 1, 1 east =
 * col + 1, 2 south = row + 1, 3 west = col - 1); action 0 stays, 1 moves one cell with the wind
 * (into a wall or off the map: no move). After each action the step is counted and a new wind
 * drawn uniformly; reaching F gives reward 100 and terminates; otherwise the episode is
 * truncated after 200 steps. Reset: position S, uniform wind, count 0.
 *
 * The time-out is a truncation here, as Gymnasium means it (the trainer bootstraps the value of
 * the final observation); RLlib's `WindyMazeEnv` reports it as a termination.
 *
 * @module
 */

import { Box, Discrete, Tuple } from "../spaces.ts";
import {
  BatchedSingleAgentEnv,
  type SingleAgentResetResult,
  type SingleAgentStepResult,
} from "../env/make_multi_agent.ts";
import { createWasmEnv, type WasmBatchedEnv, type WasmEnvDescriptor } from "../env/wasm.ts";
import { WINDY_MAZE_FACTS, windyMazeWasmBytes } from "./_generated/windy_maze_wasm.ts";

const FACTS = WINDY_MAZE_FACTS;

/** The map, one string per row, `#` wall, `S` start, `F` finish. */
export const WINDY_MAZE_MAP: readonly string[] = FACTS.MAP.split("\n");
/** Number of map rows. */
export const WINDY_MAZE_ROWS: number = FACTS.ROWS;
/** Number of map columns. */
export const WINDY_MAZE_COLS: number = FACTS.COLS;
/** Start cell `[row, col]`. */
export const WINDY_MAZE_START: readonly [number, number] = [FACTS.START_ROW, FACTS.START_COL];
/** Finish cell `[row, col]`. */
export const WINDY_MAZE_FINISH: readonly [number, number] = [FACTS.FINISH_ROW, FACTS.FINISH_COL];
/** Episodes are truncated after this many steps. */
export const WINDY_MAZE_MAX_STEPS: number = FACTS.MAX_STEPS;
/** Reward for reaching the finish. */
export const WINDY_MAZE_GOAL_REWARD: number = FACTS.GOAL_REWARD;
/** `[dRow, dCol]` of each wind direction: 0 north, 1 east, 2 south, 3 west. */
export const WINDY_MAZE_WIND_DELTAS: readonly (readonly [number, number])[] = [0, 1, 2, 3].map(
  (w) => [FACTS.WIND_DELTAS[2 * w]!, FACTS.WIND_DELTAS[2 * w + 1]!] as const,
);

/** Observation space: `(row, col)` as Box(0, 100, [2]) and the wind as Discrete(4). */
export const WINDY_MAZE_OBS_SPACE: Tuple = new Tuple([new Box(0, 100, [2]), new Discrete(4)]);
/** Action space: 0 stay, 1 move with the wind. */
export const WINDY_MAZE_ACTION_SPACE: Discrete = new Discrete(2);

/** The agent id of the flat windy maze's single agent. */
export const WINDY_MAZE_AGENT_ID = "default_agent";

/** Descriptor of the windy maze module for the WASM loader: one group `agent`, one slot. */
export const WINDY_MAZE_DESCRIPTOR: WasmEnvDescriptor = {
  name: "windy_maze",
  groups: [{
    name: "agent",
    observationSpace: WINDY_MAZE_OBS_SPACE,
    actionSpace: WINDY_MAZE_ACTION_SPACE,
    agentId: () => WINDY_MAZE_AGENT_ID,
  }],
};

let compiled: WebAssembly.Module | undefined;

/**
 * The compiled windy maze module (compiled from the inlined bytes on first use, then cached).
 * On workerd, pass your own module binding to {@linkcode createWindyMaze} instead.
 * @returns the module
 */
export function windyMazeModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(windyMazeWasmBytes() as BufferSource);
  return compiled;
}

/** Options of {@linkcode createWindyMaze} and {@linkcode WindyMazeEnv}. */
export interface WindyMazeOptions {
  /** Env `i` is seeded from `(seed, i)`; a non-negative safe integer (default 0). */
  seed?: number;
  /** A compiled windy maze module (default: compiled from the inlined bytes). */
  module?: WebAssembly.Module;
}

/**
 * Creates `numEnvs` windy mazes as one batched slot env: one group `"agent"` with one slot per
 * env (slot `i` is env `i`), agent id `"default_agent"`, auto-reset.
 *
 * @example Run 16 mazes that always move
 * ```ts
 * import { createWindyMaze } from "./windy_maze.ts";
 * const env = createWindyMaze(16, { seed: 1 });
 * env.reset();
 * env.groups[0]!.act.fill(1);
 * for (let t = 0; t < 300; t++) env.step();
 * ```
 *
 * @param numEnvs number of envs
 * @param options seed and module
 * @returns the env; call `reset` before `step`
 */
export function createWindyMaze(numEnvs: number, options: WindyMazeOptions = {}): WasmBatchedEnv {
  return createWasmEnv(
    options.module ?? windyMazeModule(),
    WINDY_MAZE_DESCRIPTOR,
    numEnvs,
    options.seed,
  );
}

/** A windy maze observation: `[[row, col], wind]`. */
export type WindyMazeObs = [Float32Array, number];

/** Result of {@linkcode WindyMazeEnv.reset}. */
export type WindyMazeResetResult = SingleAgentResetResult<WindyMazeObs>;

/** Result of {@linkcode WindyMazeEnv.step} (reward 100 on reaching the finish, else 0). */
export type WindyMazeStepResult = SingleAgentStepResult<WindyMazeObs>;

/**
 * One windy maze, Gymnasium-style (over a one-env {@linkcode WasmBatchedEnv}).
 * `terminated` and `truncated` are kept apart, as Gymnasium means them. After an episode ends,
 * `step` throws until `reset` is called; `reset()` without a seed then continues the random
 * stream exactly as the batched env's auto-reset does, so trajectories match env 0 of
 * {@linkcode createWindyMaze} with the same seed.
 *
 * @example Walk with the wind until the episode ends
 * ```ts
 * import { WindyMazeEnv } from "./windy_maze.ts";
 * const env = new WindyMazeEnv();
 * let { obs } = env.reset({ seed: 42 });
 * for (;;) {
 *   const r = env.step(1);
 *   obs = r.obs;
 *   if (r.terminated || r.truncated) break;
 * }
 * ```
 */
export class WindyMazeEnv extends BatchedSingleAgentEnv<WindyMazeObs, number> {
  /** Observation space, `Tuple(Box(0, 100, [2]), Discrete(4))`. */
  declare readonly observationSpace: Tuple;
  /** Action space, `Discrete(2)`. */
  declare readonly actionSpace: Discrete;
  /** The underlying one-env batched env. */
  declare readonly batched: WasmBatchedEnv;

  /**
   * Creates the env; call `reset` before stepping.
   * @param options initial seed (the env's stream is seeded from `(seed, 0)`) and module
   */
  constructor(options: WindyMazeOptions = {}) {
    super(createWindyMaze(1, options), "WindyMazeEnv");
  }
}
