/**
 * The hierarchical windy maze (RLlib's `HierarchicalWindyMazeEnv`), built with the hierarchy
 * helper over the batched flat windy maze:
 *
 * - `high_level_agent` sees the flat observation and picks a goal direction, Discrete(4)
 *   (0 north, 1 east, 2 south, 3 west).
 * - Each goal spawns a fresh `low_level_{n}` (n = 1, 2, ... in the episode) that sees
 *   `(flat observation, goal)` (10 floats flat) and takes the flat actions (0 stay, 1 move with
 *   the wind) for at most 25 steps.
 * - Low-level reward per step: the goal cell is one step from the position before the step in
 *   the goal direction (that position itself when the move is blocked by a wall or the edge);
 *   moved onto the goal cell +1, moved elsewhere −1, did not move 0.
 * - When the flat episode ends, both agents end and `high_level_agent` gets the flat reward
 *   (100 or 0); when the 25 steps run out first, the low-level agent terminates and
 *   `high_level_agent` gets 0 and acts again.
 * - A time-out after 200 flat steps is a truncation here (Gymnasium's meaning), where RLlib's
 *   env reports it as a termination; the value of the final observation is bootstrapped.
 * - `timeline`: `"alternating"` (RLlib's env, the default) spends an env step on each high-level
 *   decision; `"overlapping"` puts the decision in the env step of the low level's first action
 *   (see `Hierarchy`).
 *
 * Also {@linkcode createThreeLevelWindyMaze}, a three-level variant used to exercise the helper.
 *
 * @module
 */

import type { BatchedEnv } from "../env/batched.ts";
import {
  Hierarchy,
  type HierarchyTimeline,
  type LevelReward,
  type LevelSpec,
} from "../hierarchy/hierarchy.ts";
import { Discrete, Tuple } from "../spaces.ts";
import {
  createWindyMaze,
  WINDY_MAZE_ACTION_SPACE,
  WINDY_MAZE_COLS,
  WINDY_MAZE_MAP,
  WINDY_MAZE_OBS_SPACE,
  WINDY_MAZE_ROWS,
  WINDY_MAZE_WIND_DELTAS,
} from "./windy_maze.ts";

/** Observation space of `high_level_agent`: the flat observation. */
export const HIGH_LEVEL_OBS_SPACE: Tuple = WINDY_MAZE_OBS_SPACE;
/** Action space of `high_level_agent`: a goal direction (0 north, 1 east, 2 south, 3 west). */
export const HIGH_LEVEL_ACTION_SPACE: Discrete = new Discrete(4);
/** Observation space of `low_level_{n}`: `(flat observation, goal)`, 10 floats flat. */
export const LOW_LEVEL_OBS_SPACE: Tuple = new Tuple([
  WINDY_MAZE_OBS_SPACE,
  HIGH_LEVEL_ACTION_SPACE,
]);
/** Action space of `low_level_{n}`: the flat actions (0 stay, 1 move with the wind). */
export const LOW_LEVEL_ACTION_SPACE: Discrete = WINDY_MAZE_ACTION_SPACE;

/** The top-level agent id. */
export const HIGH_LEVEL_AGENT_ID = "high_level_agent";
/** Steps of a low-level agent before it terminates and control returns to the high level. */
export const LOW_LEVEL_HORIZON = 25;

const OPEN = new Uint8Array(WINDY_MAZE_ROWS * WINDY_MAZE_COLS);
for (let r = 0; r < WINDY_MAZE_ROWS; r++) {
  for (let c = 0; c < WINDY_MAZE_COLS; c++) {
    OPEN[r * WINDY_MAZE_COLS + c] = WINDY_MAZE_MAP[r]![c] === "#" ? 0 : 1;
  }
}
const DR = Int32Array.from(WINDY_MAZE_WIND_DELTAS, (d) => d[0]);
const DC = Int32Array.from(WINDY_MAZE_WIND_DELTAS, (d) => d[1]);

/**
 * The goal-following reward of the windy maze (for a level executing a direction goal): the
 * goal cell is one step from the position before the step in the goal direction, or that
 * position when the move is blocked; moved onto the goal cell +1, moved elsewhere −1, did not
 * move 0. Allocation-free; a {@linkcode LevelReward}.
 */
export const goalDirectionReward: LevelReward = (
  _env,
  prevObs,
  obs,
  o,
  goals,
  g,
  _baseReward,
): number => {
  const r0 = prevObs[o]!, c0 = prevObs[o + 1]!, r1 = obs[o]!, c1 = obs[o + 1]!;
  if (r0 === r1 && c0 === c1) return 0;
  const d = goals[g]!;
  let gr = r0 + DR[d]!, gc = c0 + DC[d]!;
  if (
    gr < 0 || gr >= WINDY_MAZE_ROWS || gc < 0 || gc >= WINDY_MAZE_COLS ||
    OPEN[gr * WINDY_MAZE_COLS + gc] === 0
  ) {
    gr = r0;
    gc = c0;
  }
  return r1 === gr && c1 === gc ? 1 : -1;
};

/**
 * The two levels of the hierarchical windy maze, for {@linkcode Hierarchy} over any batched
 * windy maze (the WASM one, or another implementation of the same rules).
 * @param horizon steps of a low-level agent (default 25)
 * @returns the level specs, top first
 */
export function windyMazeLevels(horizon: number = LOW_LEVEL_HORIZON): LevelSpec[] {
  return [
    { name: "high", agentId: HIGH_LEVEL_AGENT_ID, actionSpace: HIGH_LEVEL_ACTION_SPACE },
    { name: "low", agentId: "low_level_{n}", horizon, reward: goalDirectionReward },
  ];
}

/** Options of {@linkcode createHierarchicalWindyMaze}. */
export interface HierarchicalWindyMazeOptions {
  /** Env `i` is seeded from `(seed, i)` (default 0). */
  seed?: number;
  /** Steps of a low-level agent (default 25). */
  horizon?: number;
  /**
   * `"alternating"` (default, RLlib's env): the high level's decision is an env step of its
   * own; `"overlapping"`: it falls in the env step of the low level's first action.
   */
  timeline?: HierarchyTimeline;
  /** A compiled windy maze module (default: compiled from the inlined bytes). */
  module?: WebAssembly.Module;
}

/**
 * Creates `numEnvs` hierarchical windy mazes as one batched env with groups `"high"`
 * (`high_level_agent`) and `"low"` (`low_level_{n}`), one slot each per env.
 *
 * @example
 * ```ts
 * import { createHierarchicalWindyMaze } from "./hierarchical_windy_maze.ts";
 * const env = createHierarchicalWindyMaze(2, { seed: 1 });
 * env.reset();
 * env.groups[0]!.act.fill(1); // both high-level agents: goal east
 * env.step(); // spawns low_level_1 in each env
 * if (env.agentId(2) !== "low_level_1") throw new Error("fresh id");
 * ```
 *
 * @param numEnvs number of envs
 * @param options seed, horizon and module
 * @returns the env; call `reset` before `step`
 */
export function createHierarchicalWindyMaze(
  numEnvs: number,
  options: HierarchicalWindyMazeOptions = {},
): Hierarchy {
  const base: BatchedEnv = createWindyMaze(numEnvs, {
    seed: options.seed ?? 0,
    ...(options.module === undefined ? {} : { module: options.module }),
  });
  return new Hierarchy(base, windyMazeLevels(options.horizon), { timeline: options.timeline });
}

/** Options of {@linkcode createThreeLevelWindyMaze}. */
export interface ThreeLevelWindyMazeOptions {
  /** Env `i` is seeded from `(seed, i)` (default 0). */
  seed?: number;
  /** Goals a mid-level agent issues before control returns to the top (default 3). */
  midHorizon?: number;
  /** Steps of a low-level agent (default 5). */
  lowHorizon?: number;
  /** The timeline of decisions (see {@linkcode HierarchicalWindyMazeOptions.timeline}). */
  timeline?: HierarchyTimeline;
  /** A compiled windy maze module (default: compiled from the inlined bytes). */
  module?: WebAssembly.Module;
}

/**
 * The three levels of the three-level windy maze: `top_level_agent` picks a direction
 * (Discrete(4)); each pick spawns `mid_level_{n}`, which sees `(flat obs, top goal)` and picks
 * sub-goal directions; each of those spawns `low_level_{n}`, which sees
 * `(flat obs, top goal, mid goal)` and moves. Mid and low agents are rewarded per step for
 * following their parent's direction ({@linkcode goalDirectionReward}); the top gets the flat
 * reward.
 * @param midHorizon goals per mid-level agent
 * @param lowHorizon steps per low-level agent
 * @returns the level specs, top first
 */
export function threeLevelWindyMazeLevels(midHorizon = 3, lowHorizon = 5): LevelSpec[] {
  return [
    { name: "top", agentId: "top_level_agent", actionSpace: new Discrete(4) },
    {
      name: "mid",
      agentId: "mid_level_{n}",
      actionSpace: new Discrete(4),
      horizon: midHorizon,
      reward: goalDirectionReward,
    },
    { name: "low", agentId: "low_level_{n}", horizon: lowHorizon, reward: goalDirectionReward },
  ];
}

/**
 * Creates `numEnvs` three-level windy mazes (see {@linkcode threeLevelWindyMazeLevels}).
 * @param numEnvs number of envs
 * @param options seed, horizons and module
 * @returns the env; call `reset` before `step`
 */
export function createThreeLevelWindyMaze(
  numEnvs: number,
  options: ThreeLevelWindyMazeOptions = {},
): Hierarchy {
  const base: BatchedEnv = createWindyMaze(numEnvs, {
    seed: options.seed ?? 0,
    ...(options.module === undefined ? {} : { module: options.module }),
  });
  return new Hierarchy(
    base,
    threeLevelWindyMazeLevels(options.midHorizon, options.lowHorizon),
    { timeline: options.timeline },
  );
}
