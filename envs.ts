/**
 * coop's environments without the learning side: this entry point imports no TensorFlow.js, so
 * it loads fast and runs wherever WebAssembly does (Deno, Node, browsers, workerd).
 *
 * - **Spaces** ({@linkcode Discrete}, {@linkcode Box}, {@linkcode MultiDiscrete},
 *   {@linkcode Tuple}, {@linkcode Dict}) and the seeded PCG32 ({@linkcode Pcg32}).
 * - **The batched slot contract** ({@linkcode BatchedEnv}): `N` envs stepped by one call over
 *   flat typed arrays; {@linkcode SlotEnv} is the base for batched envs written in TypeScript.
 * - **WASM envs**: the generic loader ({@linkcode loadWasmEnv}, {@linkcode createWasmEnv}) and
 *   the built-in windy mazes ({@linkcode createWindyMaze}, {@linkcode createHierarchicalWindyMaze},
 *   {@linkcode WindyMazeEnv}) and the chicken yard ({@linkcode createChickenYard},
 *   {@linkcode ChickenYardEnv}, {@linkcode renderChickenYard}), and turn-based games with
 *   legal-action masks ({@linkcode createConnectFour}, {@linkcode createTicTacToe},
 *   {@linkcode createRockPaperScissors}) with fixed opponents
 *   ({@linkcode ConnectFourHeuristicPolicy}, {@linkcode TicTacToeMinimaxPolicy},
 *   {@linkcode RpsAlwaysSamePolicy}, {@linkcode RpsBeatLastPolicy}, {@linkcode LegalRandomPolicy}).
 * - **RLlib's dict face**: {@linkcode MultiAgentEnv} for plain-TypeScript envs,
 *   {@linkcode fromDictEnv} to batch them, {@linkcode DictEnv} to get the dict face of any
 *   batched env, {@linkcode checkEnv} to check an env against its spaces and protocol.
 * - **Hierarchies**: {@linkcode Hierarchy}, where a higher agent's action is a goal carried out by
 *   a fresh `low_level_{n}` agent for up to `k` steps, in either of RLlib's two timelines.
 *
 * @example Step the hierarchical windy maze through the dict face
 * ```ts
 * import { createHierarchicalWindyMaze, DictEnv, Pcg32 } from "@coop/rl/envs";
 *
 * const env = new DictEnv(createHierarchicalWindyMaze(1, { seed: 1 }));
 * const rng = new Pcg32(7);
 * let { obs } = env.reset({ seed: 1 });
 * let steps = 0, highReward = 0;
 * for (;;) {
 *   const actions: Record<string, number> = {};
 *   for (const id of Object.keys(obs)) actions[id] = env.actionSpace(id).sample(rng) as number;
 *   const r = env.step(actions);
 *   highReward += r.rewards.high_level_agent ?? 0;
 *   obs = r.obs;
 *   steps++;
 *   if (r.terminateds.__all__ || r.truncateds.__all__) break;
 * }
 * console.log(`episode over after ${steps} steps, high-level reward ${highReward}`);
 * ```
 *
 * @module
 */

// Spaces and random numbers.
export {
  Box,
  type BoxValue,
  Dict,
  Discrete,
  MultiDiscrete,
  type Space,
  spacesEqual,
  type SpaceValue,
  Tuple,
} from "./src/spaces.ts";
export { Pcg32 } from "./src/rng.ts";

// The batched slot contract.
export {
  ACTIVE,
  ALIVE,
  type BatchedEnv,
  copyParts,
  type EpisodeMetricsView,
  packState,
  SlotEnv,
  type SlotGroup,
  type SlotGroupSpec,
  SPAWNED,
  TERMINATED,
  TRUNCATED,
  unpackState,
} from "./src/env/batched.ts";

// The WASM env loader.
export {
  createWasmEnv,
  loadWasmEnv,
  WASM_ABI_VERSION,
  WASM_MAX_ENVS,
  WasmBatchedEnv,
  type WasmEnvDescriptor,
  type WasmEnvParam,
  type WasmGroupDescriptor,
  type WasmSource,
} from "./src/env/wasm.ts";

// The dict face (RLlib's MultiAgentEnv) and the adapter from plain-TypeScript dict envs.
export {
  ALL,
  type DoneDict,
  type MultiAgentDict,
  type MultiAgentEnv,
  type MultiAgentInfos,
  type ResetOptions,
  type ResetResult,
  type StepResult,
} from "./src/env/multi_agent.ts";
export { DictEnv, type DictEnvOptions } from "./src/env/dict_face.ts";
export {
  type AgentInfo,
  deriveSeed,
  DictBatchedEnv,
  type DictGroupSpec,
  fromDictEnv,
  type FromDictOptions,
  restoreSeed,
} from "./src/env/from_dict.ts";
export { checkEnv, type CheckEnvOptions, type CheckEnvReport } from "./src/env/check_env.ts";
export {
  BatchedSingleAgentEnv,
  makeMultiAgent,
  MultiAgentBatchedEnv,
  type MultiAgentBatchedOptions,
  multiAgentId,
  type SingleAgentEnv,
  type SingleAgentResetResult,
  type SingleAgentStepResult,
} from "./src/env/make_multi_agent.ts";

// The hierarchy helper.
export {
  Hierarchy,
  type HierarchyOptions,
  type HierarchyTimeline,
  type LevelReward,
  type LevelSpec,
} from "./src/hierarchy/hierarchy.ts";

// Built-in envs.
export * from "./src/envs/windy_maze.ts";
export { windyMazeWasmBytes } from "./src/envs/_generated/windy_maze_wasm.ts";
export {
  createHierarchicalWindyMaze,
  createThreeLevelWindyMaze,
  goalDirectionReward,
  type HierarchicalWindyMazeOptions,
  HIGH_LEVEL_ACTION_SPACE,
  HIGH_LEVEL_AGENT_ID,
  HIGH_LEVEL_OBS_SPACE,
  LOW_LEVEL_ACTION_SPACE,
  LOW_LEVEL_HORIZON,
  LOW_LEVEL_OBS_SPACE,
  threeLevelWindyMazeLevels,
  type ThreeLevelWindyMazeOptions,
  windyMazeLevels,
} from "./src/envs/hierarchical_windy_maze.ts";
export {
  CHICKEN_YARD_AGENT_IDS,
  CHICKEN_YARD_ARRIVAL_REWARD,
  CHICKEN_YARD_CLOSENESS_THRESHOLD,
  CHICKEN_YARD_DESCRIPTOR,
  CHICKEN_YARD_DIRECTIONS,
  CHICKEN_YARD_HIGH_ACTION_SPACE,
  CHICKEN_YARD_HIGH_OBS_SPACE,
  CHICKEN_YARD_HIGH_POLICY,
  CHICKEN_YARD_LOW_ACTION_SPACE,
  CHICKEN_YARD_LOW_CONTINUOUS_ACTION_SPACE,
  CHICKEN_YARD_LOW_OBS_SPACE,
  CHICKEN_YARD_LOW_POLICY,
  CHICKEN_YARD_METRIC_NAMES,
  CHICKEN_YARD_MOVE_AMOUNT,
  CHICKEN_YARD_NUM_CHICKENS,
  CHICKEN_YARD_NUM_OCEAN_FEATURES,
  CHICKEN_YARD_NUM_ROBOTS,
  CHICKEN_YARD_STEP_REWARD,
  CHICKEN_YARD_TIMEOUT,
  CHICKEN_YARD_TIMEOUT_REWARD,
  chickenYardDescriptor,
  ChickenYardEnv,
  chickenYardModule,
  type ChickenYardOptions,
  chickenYardPolicyMapping,
  createChickenYard,
  render as renderChickenYard,
} from "./src/envs/chicken_yard.ts";
export {
  CONNECT_FOUR_ACTION_SPACE,
  CONNECT_FOUR_AGENT_IDS,
  CONNECT_FOUR_COLS,
  CONNECT_FOUR_CONNECT,
  CONNECT_FOUR_DRAW_REWARD,
  CONNECT_FOUR_FORFEIT_PENALTY,
  CONNECT_FOUR_FORFEIT_REWARD,
  CONNECT_FOUR_LOSS_REWARD,
  CONNECT_FOUR_METRIC_NAMES,
  CONNECT_FOUR_OBS_SPACE,
  CONNECT_FOUR_ROWS,
  CONNECT_FOUR_WIN_REWARD,
  connectFourDescriptor,
  connectFourModule,
  type ConnectFourOptions,
  createConnectFour,
  type IllegalMoveMode,
  illegalMoveMode,
  renderConnectFour,
  TurnBasedWasmEnv,
} from "./src/envs/connect_four.ts";
export {
  createTicTacToe,
  renderTicTacToe,
  TIC_TAC_TOE_ACTION_SPACE,
  TIC_TAC_TOE_AGENT_IDS,
  TIC_TAC_TOE_CELLS,
  TIC_TAC_TOE_DRAW_REWARD,
  TIC_TAC_TOE_FORFEIT_PENALTY,
  TIC_TAC_TOE_FORFEIT_REWARD,
  TIC_TAC_TOE_LINES,
  TIC_TAC_TOE_LOSS_REWARD,
  TIC_TAC_TOE_METRIC_NAMES,
  TIC_TAC_TOE_OBS_SPACE,
  TIC_TAC_TOE_SIZE,
  TIC_TAC_TOE_WIN_REWARD,
  ticTacToeDescriptor,
  ticTacToeModule,
  type TicTacToeOptions,
} from "./src/envs/tic_tac_toe.ts";
export {
  createRockPaperScissors,
  rockPaperScissorsModule,
  type RockPaperScissorsOptions,
  RPS_ACTION_SPACE,
  RPS_AGENT_IDS,
  RPS_DESCRIPTOR,
  RPS_LOSS_REWARD,
  RPS_METRIC_NAMES,
  RPS_NO_MOVE,
  RPS_NUM_MOVES,
  RPS_OBS_SPACE,
  RPS_PAPER,
  RPS_ROCK,
  RPS_ROUNDS,
  RPS_SCISSORS,
  RPS_TIE_REWARD,
  RPS_WIN_REWARD,
} from "./src/envs/rock_paper_scissors.ts";
// Classic control (Gymnasium's CartPole-v1 and Pendulum-v1; `numAgents`: RLlib's
// MultiAgentCartPole and MultiAgentPendulum).
export * from "./src/envs/cartpole.ts";
export { cartpoleWasmBytes } from "./src/envs/_generated/cartpole_wasm.ts";
export * from "./src/envs/pendulum.ts";
export { pendulumWasmBytes } from "./src/envs/_generated/pendulum_wasm.ts";
// Fixed opponents for the games (BatchPolicy implementations, no TensorFlow.js).
export type { BatchPolicy, PolicyExtras } from "./src/policy/policy.ts";
export type { ExtraColumn } from "./src/rollout/buffer.ts";
export {
  actionMaskOffset,
  ConnectFourHeuristicPolicy,
  LegalRandomPolicy,
  RpsAlwaysSamePolicy,
  RpsBeatLastPolicy,
  TicTacToeMinimaxPolicy,
  ticTacToeValue,
} from "./src/envs/opponents.ts";

// Wrappers: frame stacking per agent (RLHive's stack_size) and agent groups (RLlib's
// with_agent_groups).
export { FrameStack, frameStack, newestFrame, stackedSpace } from "./src/env/frame_stack.ts";
export { BatchedEnvWrapper } from "./src/env/wrapper.ts";
export {
  type AgentGroupsOptions,
  GROUP_INFO,
  GROUP_REWARDS,
  GroupedEnv,
  withAgentGroups,
} from "./src/env/agent_groups.ts";
