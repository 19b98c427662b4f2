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
 *   `train()`; `sample()` returns what was collected, per policy, as RLlib-named columns
 *   ({@linkcode SampleBatch}). Models run on TensorFlow.js's WebAssembly backend
 *   ({@linkcode initBackend}).
 * - **Evaluation**: `algo.evaluate()` runs a number of episodes on envs of its own (greedy by
 *   default) and reports RLlib's metrics plus the env's `episodeMetrics` as `custom_metrics`;
 *   `.evaluation({ evaluationInterval })` adds one to every k-th `train()` result
 *   ({@linkcode EvaluationResult}).
 * - **Checkpoints**: `algo.save()` / `algo.restore()` write and read the whole trainer (weights,
 *   optimiser and learner states, random streams, counters, the collector's rows and the env's
 *   state) through a {@linkcode CheckpointStorage} ({@linkcode MemoryStorage} here, `FileStorage`
 *   in `@coop/rl/runtime`); a restored run continues bit for bit. `.checkpointing(...)` saves
 *   every k iterations and at `algo.stop()`. {@linkcode policyFromCheckpoint} loads one policy
 *   for inference without the env.
 * - **Inference**: `algo.computeSingleAction()` and the batched `algo.computeActions()` (one
 *   forward pass), exploring by default as RLlib does ({@linkcode InferencePolicy}).
 *
 * Everything exported here is Web-standard. Entry points:
 * - `@coop/rl` (this module): everything, training included (loads TensorFlow.js);
 * - `@coop/rl/envs`: the envs, spaces, dict face, hierarchy and `checkEnv`, without
 *   TensorFlow.js;
 * - `@coop/rl/runtime`: the Deno adapter: checkpoint storage on disk (`FileStorage`), atomic
 *   writes, directories, RSS.
 *
 * Writing another algorithm: an {@linkcode AlgorithmFamily} builds {@linkcode LearningPolicy}s
 * and their {@linkcode Learner}s; the {@linkcode Collector} records rows into a
 * {@linkcode TrajectoryBuffer} per policy without knowing the algorithm; learners share
 * {@linkcode Adam} and {@linkcode guardUpdate}. {@linkcode PPO} is the worked example.
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

// Envs, spaces, the dict face, the hierarchy helper: everything of the tfjs-free entry point.
export * from "./envs.ts";
// Env-side checkpoint helpers: saved states of TypeScript envs, the re-seed rule.

// Policies, models and the tfjs backend.
export {
  type ActionMaskLayout,
  actionMaskLayout,
  type BatchPolicy,
  countLegal,
  MASKED_LOGIT,
  noLegalActionError,
  type PolicyExtras,
  RandomPolicy,
  ScriptedPolicy,
} from "./src/policy/policy.ts";
export { type DistributionalLoss, QPolicy, type QPolicyOptions } from "./src/policy/q_model.ts";
export {
  type Activation,
  ActorCriticModel,
  type ActorCriticOptions,
  type OutputLoss,
  type WeightSpec,
} from "./src/policy/model.ts";
export {
  type CompiledFeatures,
  compileFeatures,
  type ObservationFeature,
} from "./src/policy/features.ts";
export {
  activeBackend,
  type BackendInfo,
  type BackendName,
  type BackendOptions,
  initBackend,
  TFJS_WASM_FILES,
  type TfjsWasmFile,
  type TfjsWasmFiles,
  type TfjsWasmSource,
} from "./src/policy/backend.ts";

// The trainer, its config and results.
export { AlgorithmConfig } from "./src/train/config.ts";
export {
  type AlgorithmSettings,
  type BackendParams,
  type CheckpointParams,
  DEFAULT_CHECKPOINT,
  DEFAULT_ENV_RUNNERS,
  DEFAULT_EVALUATION,
  DEFAULT_POLICY_ID,
  type EnvContext,
  type EnvCreator,
  type EnvRunnerParams,
  type EvaluationParams,
  type MultiAgentParams,
  type PoliciesToTrain,
  type PolicySpec,
  type ScriptedFn,
} from "./src/train/settings.ts";
export {
  Algorithm,
  checkLearningAchieved,
  type CheckpointLocation,
  type EvaluateOptions,
  type EvaluationResult,
  MIN_EPISODES_FOR_REWARD,
  type MultiAgentBatch,
  type PolicyCheckpoint,
  type RestoreInfo,
  rewardReached,
  type RunnerSeeds,
  shouldStop,
  type StopCriteria,
  type TrainResult,
} from "./src/train/algorithm.ts";
export {
  type Callbacks,
  Episode,
  type EpisodeCallbackArgs,
  EpisodeHooks,
  validateCallbacks,
} from "./src/train/callbacks.ts";

// Remote env runners (HTTP, e.g. workerd / Cloudflare Workers).
export {
  httpRunner,
  type HttpRunnerHandler,
  type HttpRunnerOptions,
} from "./src/runners/http_runner.ts";
export type { RunnerConfigSource } from "./src/runners/core.ts";
// A runner worker of one's own (browsers: `envRunners({ runnerWorker })`).
export { serveEnvRunner } from "./src/runners/serve.ts";

// Checkpoints, storage and inference.
export { type CheckpointStorage, joinPath, MemoryStorage } from "./src/train/storage.ts";
export {
  type BoundJSON,
  CHECKPOINT_EXTENSION,
  CHECKPOINT_MAGIC,
  CHECKPOINT_VERSION,
  checkpointName,
  crc32,
  decodeCheckpoint,
  encodeCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  readCheckpoint,
  spaceFromJSON,
  type SpaceJSON,
  spaceToJSON,
} from "./src/train/checkpoint.ts";
export { type ComputeOptions, InferencePolicy } from "./src/train/inference.ts";
export {
  policyFromCheckpoint,
  type PolicyFromCheckpointOptions,
  RestoredPolicy,
} from "./src/train/policy_checkpoint.ts";
export { type Series as PlotSeries, svgLineChart } from "./src/train/plot.ts";

// PPO.
export { PPOConfig } from "./src/algorithms/ppo_config.ts";
export {
  adaptKlCoeff,
  computeGae,
  DEFAULT_PPO_HYPERPARAMS,
  type LearnerStats,
  MAX_STALE_WEIGHT,
  PPO,
  PPO_TRAINING_DEFAULTS,
  type PPOBatch,
  type PPOHyperparams,
  PPOLearner,
  type PPOLearnerState,
  ppoLoss,
  type PPOLossInput,
  type PPOLossTerms,
  resolvePPOHyperparams,
} from "./src/algorithms/ppo.ts";

// DQN.
export { DQNConfig } from "./src/algorithms/dqn_config.ts";
export {
  computeNStep,
  DEFAULT_DQN_HYPERPARAMS,
  DQN,
  DQN_TRAINING_DEFAULTS,
  type DQNHyperparams,
  DQNLearner,
  type DQNLearnerState,
  type DQNStats,
  type DQNTargetInput,
  dqnTargets,
  epsilonAt,
  type NStepTransitions,
  resolveDQNHyperparams,
} from "./src/algorithms/dqn.ts";

// The roles an algorithm plugs into, and the shared optimiser.
export {
  type AlgorithmFamily,
  DEFAULT_MODEL_PARAMS,
  type LearnContext,
  type Learner,
  type LearnerInfo,
  type LearningPolicy,
  type ModelParams,
  type PostprocessedColumns,
} from "./src/train/learner.ts";
export {
  Adam,
  type AdamParams,
  type AdamState,
  clipGlobalNorm,
  type Guarded,
  guardUpdate,
  NonFiniteError,
} from "./src/optim/adam.ts";

// Rollout: the collector and what it records.
export {
  Collector,
  type CollectorLiveState,
  type CollectorOptions,
  type CollectorState,
  type EpisodeMetrics,
  type EpisodeRef,
  type EpisodeWindow,
  type MatchRecord,
  type PolicyMappingFn,
  type RoutedPolicy,
  windowWinRates,
} from "./src/rollout/collector.ts";
export {
  type BufferRows,
  copySampleBatch,
  ENDED_TERMINATED,
  ENDED_TRUNCATED,
  EXTRA_COLUMNS,
  type ExtraColumn,
  LINKED,
  NO_INFO,
  OPEN,
  type SampleBatch,
  TrajectoryBuffer,
} from "./src/rollout/buffer.ts";
export { type ReplayBatch, ReplayBuffer, type ReplayState } from "./src/rollout/replay.ts";

// Loggers (Web-standard; the Deno files, console and `createLoggers` are in
// src/runtime/log_files.ts) and the run report.
export {
  assertNoLostLines,
  type FlattenOptions,
  flattenResult,
  type HasIteration,
  type IterationRef,
  jsonLineIteration,
  jsonWithNaN,
  type LogDir,
  type Logger,
  MemoryLogDir,
  MultiLogger,
  parseJsonLine,
  type ResultLike,
  type ResumedLines,
  resumeLineFile,
  type RunMeta,
} from "./src/loggers/logger.ts";
export {
  ConsoleLogger,
  type ConsoleLoggerOptions,
  type ConsoleSink,
  formatDuration,
  formatEvaluationLine,
  formatResultLine,
  type ProgressBar,
} from "./src/loggers/console.ts";
export { EVALUATION_JSONL, JsonlLogger, RESULTS_JSONL } from "./src/loggers/jsonl.ts";
export {
  csvCell,
  CsvLogger,
  parseCsvLine,
  PROGRESS_CSV,
  pythonNumber,
  RayJsonLogger,
  type RayLoggerOptions,
  RESULT_JSON,
} from "./src/loggers/ray.ts";
export {
  EVALUATION_ITERATION_TAG,
  ITERATION_TAG,
  resultScalars,
  resultStep,
  TensorBoardLogger,
  type TensorBoardLoggerOptions,
} from "./src/loggers/tensorboard_logger.ts";
export {
  crc32c as crc32cTfRecord,
  type DecodedEvent,
  decodeEvent,
  flattenScalars,
  maskedCrc32c,
  readTfRecords,
  TensorBoardEvents,
  tfRecord,
  type TfRecords,
} from "./src/loggers/tensorboard.ts";
export {
  createLoggersWith,
  LOGGER_NAMES,
  type LoggerIO,
  type LoggerName,
} from "./src/loggers/create.ts";
export {
  buildReport,
  type Chart,
  type ChartSeries,
  type LoggedEvaluation,
  type ReportAssets,
  reportCharts,
  type ReportOptions,
  type RunLogs,
  runLogsFromText,
} from "./src/loggers/report.ts";

// The experiment runner (config files; the Deno command line is src/runtime/run_cli.ts).
export {
  type ExperimentAlgorithm,
  type ExperimentConfig,
  ExperimentConfigError,
  type ExperimentEnv,
  experimentJsonSchema,
  type ExperimentPolicy,
  type MappingRule,
  parseExperiment,
  POLICY_CLASSES,
} from "./src/runner/schema.ts";
export {
  createExperimentEnv,
  DEFAULT_ROWS_PER_ITERATION,
  experimentAlgorithmConfig,
  experimentMapping,
} from "./src/runner/experiment.ts";
export {
  CHECKPOINT_DIR,
  CONFIG_FILE,
  RunError,
  runExperiment,
  type RunOptions,
  type RunSummary,
} from "./src/runner/run.ts";

// Policies exported without tfjs (the inference side is also the `@coop/rl/policy` entry point).
export { exportPolicy, exportPolicyData, exportPolicyFromCheckpoint } from "./src/export/export.ts";
export {
  EXPORTED_POLICY_FORMAT,
  EXPORTED_POLICY_VERSION,
  type ExportedComputeOptions,
  type ExportedLayer,
  ExportedPolicy,
  type ExportedPolicyData,
  exportedPolicyFromJSON,
  exportedPolicyToJSON,
} from "./src/export/exported_policy.ts";

// Evaluation against fixed opponents (win/draw/loss per seat).
export { playMatches, type PlayMatchesOptions, type SeatResult } from "./src/train/matches.ts";
