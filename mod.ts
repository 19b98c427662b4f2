/**
 * coop: hierarchical multi-agent reinforcement learning for Deno, browsers and edge runtimes.
 *
 * - **Envs** are batched: `N` instances stepped by one call over flat typed arrays (the slot
 *   contract, {@linkcode BatchedEnv}). The built-in ones are written in AssemblyScript and
 *   compiled to WebAssembly ({@linkcode createWindyMaze}, {@linkcode createHierarchicalWindyMaze},
 *   the generic loader {@linkcode loadWasmEnv}); a plain-TypeScript env with RLlib's
 *   multi-agent dict semantics ({@linkcode MultiAgentEnv}) becomes batched through
 *   {@linkcode fromDictEnv}, and any batched env gets the dict face back through
 *   {@linkcode DictEnv}. {@linkcode checkEnv} checks an env against its spaces and protocol.
 * - **Hierarchy**: {@linkcode Hierarchy} wraps a batched env into levels: a higher agent's action
 *   is a goal, carried out by a fresh `low_level_{n}` agent for up to `k` steps.
 * - **Learning**: {@linkcode PPOConfig} builds an {@linkcode Algorithm} that routes every agent to
 *   a policy ({@linkcode ActorCriticModel} trained with PPO, or a fixed
 *   {@linkcode RandomPolicy}/{@linkcode ScriptedPolicy}) and returns RLlib-shaped results from
 *   `train()`. Models run on TensorFlow.js's WebAssembly backend ({@linkcode initBackend}).
 *
 * Everything exported here is Web-standard. File helpers for Deno (atomic writes, directories,
 * RSS) live in the separate entry point `@coop/rl/runtime`.
 *
 * @example Step the hierarchical windy maze through the dict face
 * ```ts
 * import { createHierarchicalWindyMaze, DictEnv, Pcg32 } from "@coop/rl";
 *
 * const env = new DictEnv(createHierarchicalWindyMaze(1, { seed: 1 }));
 * const rng = new Pcg32(7);
 * let { obs } = env.reset({ seed: 1 });
 * let steps = 0, highReward = 0;
 * for (;;) {
 *   // One action for every agent asked to act: a goal for "high_level_agent",
 *   // a move for the current "low_level_{n}".
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
 * @example Train the hierarchical windy maze with two PPO policies (needs --allow-read)
 * ```ts
 * import { createHierarchicalWindyMaze, PPOConfig } from "@coop/rl";
 *
 * const algo = await new PPOConfig()
 *   .environment(({ numEnvs, seed }) => createHierarchicalWindyMaze(numEnvs, { seed }))
 *   .envRunners({ numEnvs: 16, rolloutFragmentLength: 32 })
 *   .training({ entropyCoeff: 0.01 })
 *   .multiAgent({
 *     policies: {
 *       high_level_policy: { config: { gamma: 0.9 } },
 *       low_level_policy: { config: { gamma: 0.0 } },
 *     },
 *     policyMappingFn: (id) =>
 *       id.startsWith("low_level_") ? "low_level_policy" : "high_level_policy",
 *   })
 *   .build();
 * try {
 *   const result = await algo.train(); // one iteration: 16 envs × 32 steps, then PPO updates
 *   const trained = Object.keys(result.info.learner); // both policies took an update
 *   console.log(`${result.timesteps_total} env steps, trained ${trained.join(", ")}`);
 * } finally {
 *   algo.dispose();
 * }
 * ```
 *
 * @module
 */

// Spaces and random numbers.
export {
  Box,
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
  allocateSlots,
  type BatchedEnv,
  groupOfSlot,
  type SlotBuffers,
  SlotEnv,
  type SlotGroup,
  type SlotGroupSpec,
  SPAWNED,
  TERMINATED,
  TRUNCATED,
} from "./src/env/batched.ts";

// The WASM env loader.
export {
  createWasmEnv,
  loadWasmEnv,
  WASM_ABI_VERSION,
  WASM_MAX_ENVS,
  WasmBatchedEnv,
  type WasmEnvDescriptor,
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
  deriveSeed,
  DictBatchedEnv,
  type DictGroupSpec,
  fromDictEnv,
  type FromDictOptions,
} from "./src/env/from_dict.ts";
export { checkEnv, type CheckEnvOptions, type CheckEnvReport } from "./src/env/check_env.ts";

// The hierarchy helper.
export { Hierarchy, type LevelReward, type LevelSpec } from "./src/hierarchy/mod.ts";

// Built-in envs.
export {
  createWindyMaze,
  WINDY_MAZE_ACTION_SPACE,
  WINDY_MAZE_AGENT_ID,
  WINDY_MAZE_COLS,
  WINDY_MAZE_DESCRIPTOR,
  WINDY_MAZE_FINISH,
  WINDY_MAZE_GOAL_REWARD,
  WINDY_MAZE_MAP,
  WINDY_MAZE_MAX_STEPS,
  WINDY_MAZE_OBS_SPACE,
  WINDY_MAZE_ROWS,
  WINDY_MAZE_START,
  WINDY_MAZE_WIND_DELTAS,
  WindyMazeEnv,
  windyMazeModule,
  type WindyMazeObs,
  type WindyMazeOptions,
  type WindyMazeResetResult,
  type WindyMazeStepResult,
} from "./src/envs/windy_maze.ts";
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

// Policies, models and the tfjs backend.
export { type BatchPolicy, RandomPolicy, ScriptedPolicy } from "./src/policy/policy.ts";
export {
  type Activation,
  ActorCriticModel,
  type ActorCriticOptions,
  type OutputLoss,
  type WeightSpec,
} from "./src/policy/model.ts";
export {
  activeBackend,
  type BackendInfo,
  type BackendName,
  type BackendOptions,
  initBackend,
} from "./src/policy/backend.ts";

// PPO.
export {
  DEFAULT_PPO_HYPERPARAMS,
  type LearnerStats,
  type PPOBatch,
  type PPOHyperparams,
  PPOLearner,
  type PPOLearnerState,
  ppoLoss,
  type PPOLossInput,
  type PPOLossTerms,
  resolvePPOHyperparams,
} from "./src/algorithms/ppo.ts";

// Rollout.
export {
  Collector,
  type CollectorOptions,
  type EpisodeMetrics,
  type EpisodeRef,
  type PolicyMappingFn,
  type RoutedPolicy,
} from "./src/rollout/collector.ts";
export {
  ENDED_TERMINATED as ROW_ENDED_TERMINATED,
  ENDED_TRUNCATED as ROW_ENDED_TRUNCATED,
  LINKED as ROW_LINKED,
  OPEN as ROW_OPEN,
  PolicyBuffer,
  type TrainBatch,
} from "./src/rollout/buffer.ts";

// The trainer.
export {
  type AlgorithmConfig,
  type BackendParams,
  DEFAULT_POLICY_ID,
  DEFAULT_TRAINING,
  type EnvContext,
  type EnvCreator,
  type ModelParams,
  type MultiAgentParams,
  type PoliciesToTrain,
  type PolicySpec,
  policyTraining,
  PPOConfig,
  type ScriptedFn,
  type TrainingParams,
  validateConfig,
  validateTraining,
} from "./src/train/config.ts";
export {
  Algorithm,
  checkLearningAchieved,
  MIN_EPISODES_FOR_REWARD,
  rewardReached,
  shouldStop,
  type StopCriteria,
  type TrainResult,
} from "./src/train/algorithm.ts";
export { type Series as PlotSeries, svgLineChart } from "./src/train/plot.ts";
