/**
 * The trainer: collects experience with a {@linkcode Collector}, lets each trained policy's
 * {@linkcode Learner} post-process its rows (PPO: GAE with that policy's own `gamma`/`lambda`)
 * and learn from them, and returns RLlib-shaped results from `train()`. It works with any
 * {@linkcode AlgorithmFamily}; `PPOConfig` plugs in PPO.
 *
 * Besides training:
 * - `evaluate()` runs a number of episodes on envs of its own (greedy by default) and reports
 *   RLlib's episode metrics plus the env's `episodeMetrics` as `custom_metrics`; with
 *   `evaluationInterval` set, every k-th `train()` result carries one (`evaluation`).
 * - `save()` / `restore()` write and read a checkpoint of the whole trainer (see
 *   `checkpoint.ts` for the file format): every policy's weights, every learner's state, the
 *   iteration, counters and time, every random stream, the collector's rows and episodes in
 *   progress, and the env's state (`BatchedEnv.saveState`). Restoring into a trainer built from
 *   the same config continues bit for bit; an env that cannot save its state is reset with
 *   `restoreSeed(seed, iteration)` instead (see `DictBatchedEnv`). `checkpointFreq` saves from
 *   `train()`, `checkpointAtEnd` from `stop()`.
 * - `computeSingleAction()` / `computeActions()` run one policy on observations you give
 *   (exploring by default, as RLlib does).
 *
 * @module
 */

import { EpisodeHooks } from "./callbacks.ts";
import type { BatchedEnv, SlotGroup } from "../env/batched.ts";
import { restoreSeed } from "../env/from_dict.ts";
import {
  Collector,
  type CollectorState,
  type EpisodeMetrics,
  type PolicyMappingFn,
  type RoutedPolicy,
} from "../rollout/collector.ts";
import { copySampleBatch, type SampleBatch } from "../rollout/buffer.ts";
import { type BatchPolicy, RandomPolicy, ScriptedPolicy } from "../policy/policy.ts";
import { type BackendInfo, initBackend } from "../policy/backend.ts";
import { Pcg32 } from "../rng.ts";
import { type Space, spacesEqual, type SpaceValue } from "../spaces.ts";
import type {
  Learner,
  LearnerInfo,
  LearningPolicy,
  ModelParams,
  PostprocessedColumns,
} from "./learner.ts";
import {
  type AlgorithmSettings,
  DEFAULT_CHECKPOINT,
  DEFAULT_EVALUATION,
  DEFAULT_POLICY_ID,
  isTrained,
  type PoliciesToTrain,
  policyParams,
  type PolicySpec,
  splitParams,
  usesRemoteRunners,
  usesWorkers,
  validateSettings,
} from "./settings.ts";
import { type ComputeOptions, InferencePolicy } from "./inference.ts";
import { type CheckpointStorage, joinPath } from "./storage.ts";
import { type EnvRunnerPool, RunnerPool } from "../runners/pool.ts";
import { RemoteRunnerPool } from "../runners/remote_pool.ts";
import type { FragmentMessage, PolicySpaces, PolicyUpdate } from "../runners/protocol.ts";
import { encodeMessage } from "../runners/codec.ts";
import {
  concatBatches,
  concatLearnerColumns,
  envSignature,
  unpackBatch,
} from "../runners/protocol.ts";
import { MetricsWindow, type MetricsWindowState } from "../runners/metrics.ts";
import {
  checkpointName,
  encodeCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  readCheckpoint,
  spaceFromJSON,
  type SpaceJSON,
  spaceToJSON,
} from "./checkpoint.ts";

/** One training iteration's result, with RLlib's names. */
export interface TrainResult extends EpisodeMetrics {
  /** Iterations done so far (1 after the first `train()`). */
  training_iteration: number;
  /** Env steps sampled so far. */
  timesteps_total: number;
  /** Env steps sampled so far (RLlib's new name). */
  num_env_steps_sampled: number;
  /** Agent steps sampled so far, all policies. */
  num_agent_steps_sampled: number;
  /** Env steps per second of this iteration, sampling and learning together. */
  env_steps_per_s: number;
  /** Wall time of this iteration. */
  time_this_iter_s: number;
  /** Wall time since the first iteration started. */
  time_total_s: number;
  /** Seconds spent sampling in this iteration. */
  sample_time_s: number;
  /** Seconds spent learning in this iteration. */
  learn_time_s: number;
  /** Learner results per trained policy. */
  info: { learner: Record<string, LearnerInfo> };
  /**
   * Over the episodes that ended in this iteration: the env's `episodeMetrics` and what the
   * callbacks wrote into `episode.customMetrics`, as `<name>_mean`, `_min` and `_max` (RLlib's
   * `custom_metrics`; NaN values skipped; NaN for an env metric no episode defined).
   */
  custom_metrics: Record<string, number>;
  /** The tfjs backend that ran the models. */
  backend: BackendInfo;
  /** The evaluation run after this iteration (every `evaluationInterval`-th iteration). */
  evaluation?: EvaluationResult;
  /** The checkpoint saved after this iteration (every `checkpointFreq`-th iteration). */
  checkpoint?: string;
  /**
   * Env runners (Web Workers or remote runners) that sampled; absent when sampling ran on the
   * main thread.
   */
  num_env_runners?: number;
  /** Weight broadcasts to the env runners so far (with runners). */
  num_weight_syncs?: number;
  /**
   * Learner updates between the weights this iteration's fragment was sampled with and the
   * weights it updated: 0 without `overlap`, 1 with it (after the first iteration).
   */
  weights_staleness?: number;
  /** With remote env runners: the runners not lost so far. */
  num_healthy_env_runners?: number;
  /** With remote env runners: fragment requests re-issued to another runner so far. */
  num_fragment_reissues?: number;
  /** With env runners in workers or remote: failed or lost runners restarted so far. */
  num_env_runner_restarts?: number;
}

/**
 * Seeds that set an env runner's envs and action sampling apart from the trainer's (see
 * `runnerSeeds` in `src/runners/protocol.ts`); models are still initialised from the config's
 * seed, so every runner starts from the trainer's weights.
 */
export interface RunnerSeeds {
  /** Seed given to the env creator. */
  envSeed: number;
  /** Seed of the collector's action sampling. */
  collectorSeed: number;
}

/** The trainer's side of sampling in env runners. */
interface RunnerState {
  pool: EnvRunnerPool;
  metrics: MetricsWindow;
  envSteps: number;
  agentSteps: Float64Array;
  syncs: number;
  /** Per policy: two weight buffers (shared when the runtime allows), by version parity. */
  weights: (Float32Array[] | null)[];
  /** The overlapped request in flight and the version of the weights it samples with. */
  inflight: { fragments: Promise<FragmentMessage[]>; version: number } | undefined;
  /** Policy updates sent to the runners (`addPolicy`/`removePolicy`), awaited by the next call. */
  updates: Promise<void>[];
}

/** What {@linkcode Algorithm.evaluate} reports: RLlib's episode metrics over its episodes. */
export interface EvaluationResult extends EpisodeMetrics {
  /**
   * The env's `episodeMetrics` over the evaluated episodes, RLlib's names: `<name>_mean`,
   * `<name>_min` and `<name>_max` (NaN values, "not defined for that episode", are skipped;
   * NaN when no episode defined it).
   */
  custom_metrics: Record<string, number>;
  /** Episodes evaluated. */
  num_episodes: number;
  /** Env steps the evaluation took (including episodes beyond the count, left unfinished). */
  num_env_steps_sampled: number;
  /** Whether actions were sampled (true) or the most likely ones (false). */
  explore: boolean;
  /** The seed of the evaluation envs. */
  seed: number;
  /** Wall time of the evaluation. */
  time_s: number;
}

/** Options of {@linkcode Algorithm.evaluate}; unset ones come from the config's `evaluation`. */
export interface EvaluateOptions {
  /** Episodes to run (default `evaluationDuration`, 10). */
  episodes?: number;
  /** Sample actions (true) or take the most likely ones (default `evaluationConfig.explore`: false). */
  explore?: boolean;
  /**
   * Seed of the evaluation envs and of their action sampling (default: derived from the
   * config's seed and the iteration, so each periodic evaluation sees other episodes).
   */
  seed?: number;
  /** Envs stepped at once (default `evaluationNumEnvs`, else the smaller of `episodes` and `numEnvs`). */
  numEnvs?: number;
}

/** What {@linkcode Algorithm.restore} reports. */
export interface RestoreInfo {
  /** The checkpoint read. */
  path: string;
  /** The iteration it was saved at (now the trainer's). */
  iteration: number;
  /**
   * True when the env's state was restored (training continues bit for bit); false when the
   * env could not save or load its state and was reset with `restoreSeed(seed, iteration)`.
   */
  envRestored: boolean;
  /**
   * Settings that differ from the checkpoint's and were allowed (hyperparameters, the fragment
   * length, the seed, which policies train, the backend): the run continues with this
   * trainer's settings. Empty when the configs match.
   */
  changes: string[];
}

/** Where a checkpoint goes or comes from; unset fields come from the config's `checkpoint`. */
export interface CheckpointLocation {
  /** The storage (default: the config's `checkpointing.storage`). */
  storage?: CheckpointStorage;
  /**
   * The checkpoint's path. `save` default: `<checkpointDir>/checkpoint_<iteration>.ckpt`;
   * `restore` default: the newest checkpoint in `checkpointDir`.
   */
  path?: string;
}

/** What {@linkcode Algorithm.sample} returns: one fragment, per policy (RLlib's `MultiAgentBatch`). */
export interface MultiAgentBatch {
  /** The closed rows of each trained policy, post-processed by its learner. */
  policy_batches: Record<string, SampleBatch>;
  /** Env steps of the fragment. */
  env_steps: number;
  /** Agent steps (actions) of the fragment, all policies. */
  agent_steps: number;
}

interface PolicySlot {
  id: string;
  spec: PolicySpec<object>;
  trainable: boolean;
  obsSpace: Space | undefined;
  actSpace: Space | undefined;
  /** The agent whose spaces the policy took, when its spec did not declare them. */
  inferredFrom: string | undefined;
  policy: BatchPolicy | undefined;
  model: LearningPolicy | undefined;
  learner: Learner | undefined;
  inference: InferencePolicy | undefined;
}

/** What a checkpoint holds (see {@linkcode Algorithm.save}). */
interface AlgorithmCheckpoint {
  kind: "coop.Algorithm";
  family: string;
  fingerprint: Fingerprint;
  iteration: number;
  timeTotal: number;
  rng: number[];
  inferRng: number[];
  backend: BackendInfo;
  settings: { seed: number; rolloutFragmentLength: number };
  policies: PolicyCheckpoint[];
  collector: CollectorState;
  env: { saved: true; state: Uint8Array } | { saved: false };
  /** With env runners: each runner's own checkpoint and the trainer's side of sampling. */
  runners?: {
    numRunners: number;
    states: Uint8Array[];
    envSteps: number;
    agentSteps: Float64Array;
    syncs: number;
    metrics: MetricsWindowState;
  };
}

/** One policy in a checkpoint. */
export interface PolicyCheckpoint {
  /** The policy's id. */
  id: string;
  /** `"learning"` (the algorithm's), `"random"`, `"scripted"` or `"custom"`. */
  kind: string;
  /** Whether it was trained. */
  trainable: boolean;
  /** Whether it was built (its spaces known). */
  built: boolean;
  /** Its spaces, when built. */
  observationSpace: SpaceJSON | null;
  /** Action space. */
  actionSpace: SpaceJSON | null;
  /** The agent its spaces were inferred from, if they were. */
  inferredFrom: string | null;
  /** Its algorithm params (learning policies). */
  params: Record<string, unknown> | null;
  /** Its model shape (learning policies). */
  model: ModelParams | null;
  /** Names and shapes of its weight arrays (built learning policies). */
  weightSpecs: { name: string; shape: number[] }[] | null;
  /** Its weights in the flat layout. */
  weights: Float32Array | null;
  /** Its learner's state. */
  learner: unknown;
}

/** What must match between a checkpoint and the trainer restoring it. */
interface Fingerprint {
  numEnvs: number;
  envKind: string;
  envConfig: string;
  groups: { name: string; observationSpace: string; actionSpace: string }[];
  policies: {
    id: string;
    kind: string;
    observationSpace: string | null;
    actionSpace: string | null;
    model: ModelParams | null;
  }[];
}

function policyKind(spec: PolicySpec<object>): string {
  const cls = spec.policyClass;
  return cls === undefined
    ? "learning"
    : cls === "random"
    ? "random"
    : typeof cls === "function"
    ? "scripted"
    : "custom";
}

function sortedJSON(x: unknown): string {
  return JSON.stringify(x, (_k, v) => {
    if (typeof v === "function") return "[function]";
    if (typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
    }
    return v;
  }) ?? "undefined";
}

/** The seed of the evaluation envs after `iteration` iterations of a run seeded `seed`. */
function evaluationSeed(seed: number, iteration: number): number {
  return new Pcg32(seed, 0xe7a1_0000 + iteration).nextU32();
}

/**
 * A trainer over one batched env. Create it with an algorithm's config, e.g.
 * `new PPOConfig()....build()`.
 */
export class Algorithm<P extends object = object> {
  /** The validated settings. */
  readonly config: AlgorithmSettings<P>;
  /** The batched env. */
  readonly env: BatchedEnv;
  /** The collector routing agents to policies. */
  readonly collector: Collector;
  /** The tfjs backend in use. */
  readonly backend: BackendInfo;
  /** Iterations done. */
  iteration = 0;
  readonly #policies: PolicySlot[];
  readonly #rng: Pcg32;
  // computeSingleAction samples from its own stream: evaluating between iterations must not
  // change what the next iterations do.
  readonly #inferRng: Pcg32;
  #timeTotal = 0;
  /** The last checkpoint saved to (or restored from) the config's storage. */
  #lastCheckpoint: { iteration: number; path: string } | undefined;
  /** Env runners in workers (see `envRunners`), when used. */
  #runners: RunnerState | undefined;
  /** The training collector's episode hooks (callbacks, custom metrics). */
  readonly #hooks: EpisodeHooks;

  private constructor(
    config: AlgorithmSettings<P>,
    env: BatchedEnv,
    backend: BackendInfo,
    seeds?: RunnerSeeds,
  ) {
    this.config = config;
    this.env = env;
    this.backend = backend;
    this.#rng = new Pcg32(config.seed, 0x1ea4);
    this.#inferRng = new Pcg32(config.seed, 0x1ea5);
    const ids = Object.keys(config.multiAgent.policies);
    this.#policies = ids.map((id) => {
      const spec = config.multiAgent.policies[id]!;
      return {
        id,
        spec,
        trainable: isTrained(config, id),
        obsSpace: spec.observationSpace,
        actSpace: spec.actionSpace,
        inferredFrom: undefined,
        policy: undefined,
        model: undefined,
        learner: undefined,
        inference: undefined,
      };
    });
    this.#hooks = new EpisodeHooks(env, config.callbacks, false);
    this.collector = new Collector({
      env,
      policyIds: ids,
      policyMappingFn: config.multiAgent.policyMappingFn,
      resolvePolicy: (p, group, agentId) => this.#resolve(p, group, agentId),
      fragmentLength: config.rolloutFragmentLength,
      seed: seeds?.collectorSeed ?? config.seed,
      ...this.#hooks.options(),
    });
    this.#hooks.attach(this.collector);
    // Policies whose spaces are declared are built now, so they exist before any agent maps.
    this.#policies.forEach((slot, p) => {
      if (slot.obsSpace !== undefined && slot.actSpace !== undefined) this.#build(p);
    });
  }

  /**
   * Initialises the backend, builds the env and the declared policies, and starts the env
   * runners when the config has workers sample (`envRunners`).
   * @param config the settings (validated again here)
   * @param seeds an env runner's own env and sampling seeds (used by the runners themselves)
   * @returns the trainer
   */
  static async create<P extends object>(
    config: AlgorithmSettings<P>,
    seeds?: RunnerSeeds,
  ): Promise<Algorithm<P>> {
    validateSettings(config);
    const backend = await initBackend({
      backend: config.backend.backend,
      threads: config.backend.threads,
    });
    const env = await config.env!({
      numEnvs: config.numEnvs,
      seed: seeds?.envSeed ?? config.seed,
      envConfig: config.envConfig,
    });
    const algo = new Algorithm(config, env, backend, seeds);
    if (usesWorkers(config)) await algo.#startRunners();
    await config.callbacks?.onAlgorithmInit?.({ algorithm: algo });
    return algo;
  }

  async #startRunners(): Promise<void> {
    const c = this.config, r = c.envRunners!;
    const policyConfigs: Record<string, Record<string, unknown> | undefined> = {};
    for (const slot of this.#policies) {
      policyConfigs[slot.id] = slot.spec.config as Record<string, unknown> | undefined;
    }
    const init = {
      runnerModule: r.runnerModule ??
        (r.runnerWorker === undefined ? "(remote)" : "(runnerWorker)"),
      runnerArgs: r.runnerArgs,
      family: c.family.name,
      numEnvs: c.numEnvs,
      rolloutFragmentLength: c.rolloutFragmentLength,
      envConfig: c.envConfig,
      training: c.training as Record<string, unknown>,
      policyConfigs,
      policyIds: this.policyIds,
      backend: { ...c.backend },
      seed: c.seed,
      env: envSignature(this.env),
    };
    const pool: EnvRunnerPool = usesRemoteRunners(c)
      ? await RemoteRunnerPool.start(r.remoteRunners!, init, {
        timeoutMs: r.remoteTimeoutMs,
        restartDelayMs: r.remoteRestartDelayMs ?? Infinity,
        restartOnRunnerError: r.restartFailedEnvRunners,
        maxRestarts: r.maxEnvRunnerRestarts,
      })
      : await RunnerPool.start(Math.max(1, r.numEnvRunners), init, {
        runnerWorker: r.runnerWorker,
        maxRestarts: r.restartFailedEnvRunners ? r.maxEnvRunnerRestarts : 0,
      });
    this.#runners = {
      pool,
      metrics: Object.assign(new MetricsWindow(this.policyIds), {
        competitive: this.env.competitive === true,
      }),
      envSteps: 0,
      agentSteps: new Float64Array(this.#policies.length),
      syncs: 0,
      weights: this.#policies.map(() => null),
      inflight: undefined,
      updates: [],
    };
  }

  /**
   * The spaces of a built policy, as an env runner reports them (undefined before it is built).
   * @param policyId the policy
   * @returns its spaces and the agent they were inferred from
   */
  policySpaces(
    policyId: string,
  ): { observationSpace: Space; actionSpace: Space; inferredFrom: string | undefined } | undefined {
    const slot = this.#slot(policyId);
    if (slot.policy === undefined) return undefined;
    return {
      observationSpace: slot.obsSpace!,
      actionSpace: slot.actSpace!,
      inferredFrom: slot.inferredFrom,
    };
  }

  /**
   * Builds a policy whose spaces were found elsewhere (by an env runner, or by the trainer for
   * a runner), exactly as its first agent would have: same initial weights, same learner.
   * Nothing happens when it is built already.
   * @param policyId the policy
   * @param observationSpace its observation space
   * @param actionSpace its action space
   * @param inferredFrom the agent they were inferred from
   */
  adoptPolicy(
    policyId: string,
    observationSpace: Space,
    actionSpace: Space,
    inferredFrom?: string,
  ): void {
    const slot = this.#slot(policyId);
    if (slot.policy !== undefined) return;
    const p = this.#policies.indexOf(slot);
    slot.obsSpace = observationSpace;
    slot.actSpace = actionSpace;
    slot.inferredFrom = inferredFrom;
    this.#build(p);
  }

  #build(p: number): void {
    const slot = this.#policies[p]!;
    const cls = slot.spec.policyClass;
    const obs = slot.obsSpace!, act = slot.actSpace!;
    if (cls === undefined) {
      const family = this.config.family;
      const where = `multiAgent.policies.${slot.id}.config`;
      const merged = policyParams(this.config, slot.id);
      const { params, model } = splitParams(family, merged, where);
      const policy = family.createPolicy(
        obs,
        act,
        { ...params, ...model },
        new Pcg32(this.config.seed, 0x9000 + p).nextU32(),
      );
      slot.model = policy;
      slot.policy = policy;
      if (slot.trainable) {
        slot.learner = family.createLearner(
          policy,
          params,
          slot.id,
          new Pcg32(this.config.seed, 0xa000 + p).nextU32(),
        );
      }
    } else if (cls === "random") {
      slot.policy = new RandomPolicy(obs, act);
    } else if (typeof cls === "function") {
      slot.policy = new ScriptedPolicy(obs.flatSize, act, cls, slot.id);
    } else {
      slot.policy = cls.create(obs, act);
    }
  }

  #resolve(p: number, group: SlotGroup, agentId: string): RoutedPolicy {
    const slot = this.#policies[p]!;
    const spec = slot.spec;
    for (
      const [what, declared, actual, fromSpec] of [
        ["observation", slot.obsSpace, group.observationSpace, spec.observationSpace],
        ["action", slot.actSpace, group.actionSpace, spec.actionSpace],
      ] as const
    ) {
      if (declared !== undefined && !spacesEqual(declared, actual)) {
        const has = fromSpec !== undefined
          ? `declares ${what} space ${declared.toString()}`
          : `has ${what} space ${declared.toString()} (inferred from agent "${slot.inferredFrom}")`;
        throw new RangeError(
          `Policy "${slot.id}" ${has}, but agent "${agentId}" (group "${group.name}") has ${actual.toString()}`,
        );
      }
    }
    if (slot.policy === undefined) {
      slot.inferredFrom = agentId;
      slot.obsSpace = group.observationSpace;
      slot.actSpace = group.actionSpace;
      this.#build(p);
    }
    return {
      policy: slot.policy!,
      record: slot.learner === undefined ? false : { columns: this.config.family.recordColumns },
    };
  }

  /** Env steps sampled so far (by the env runners when they sample). */
  get envSteps(): number {
    return this.#runners?.envSteps ?? this.collector.envSteps;
  }

  /** Ids of all policies. */
  get policyIds(): string[] {
    return this.#policies.map((s) => s.id);
  }

  /**
   * The learning policy (model) behind an id (undefined for fixed policies or before it is
   * built).
   * @param policyId the policy
   * @returns the model
   */
  getModel(policyId: string): LearningPolicy | undefined {
    return this.#slot(policyId).model;
  }

  /**
   * The learner of a trained policy (undefined for policies that do not learn, or before the
   * policy is built).
   * @param policyId the policy
   * @returns the learner
   */
  getLearner(policyId: string): Learner | undefined {
    return this.#slot(policyId).learner;
  }

  /**
   * The batched policy behind an id (undefined before its first agent appeared, unless its
   * spaces were declared).
   * @param policyId the policy
   * @returns the policy
   */
  getPolicy(policyId: string): BatchPolicy | undefined {
    return this.#slot(policyId).policy;
  }

  /**
   * A copy of a learning policy's weights (for snapshots, frozen opponents and inspection).
   * @param policyId a policy with a model
   * @returns the weight arrays, in the model's `weightSpecs` order
   */
  getWeights(policyId: string): Float32Array[] {
    return this.#model(policyId).getWeights();
  }

  /**
   * Replaces a learning policy's weights, e.g. to load a snapshot into a frozen policy (one
   * that is not in `policiesToTrain`). The shapes must match the policy's model.
   * @param policyId a policy with a model
   * @param weights arrays in the model's `weightSpecs` order
   */
  setWeights(policyId: string, weights: readonly ArrayLike<number>[]): void {
    this.#model(policyId).setWeights(weights);
  }

  /**
   * Copies the weights of one learning policy into another with the same shape: the usual way
   * to freeze a snapshot of a learner as an opponent (self-play). Optimiser state is not copied.
   * @param fromId the source policy
   * @param toId the destination policy
   */
  copyWeights(fromId: string, toId: string): void {
    this.setWeights(toId, this.getWeights(fromId));
  }

  /**
   * Adds a policy while training runs (RLlib's `Algorithm.add_policy`), e.g. a frozen snapshot
   * of a learner joining a self-play league: `weightsFrom` copies another learning policy's
   * spaces and weights into it. New agents may map to it from the next step (pass the new
   * mapping as `policyMappingFn`); it trains when `policiesToTrain` (the new list or predicate,
   * else the config's) says so. Saved in checkpoints; `restore` re-adds it.
   *
   * With env runners, every runner adds it too, after the fragments requested before (its
   * weights reach them with the next request). A function cannot be sent to a runner, so a new
   * `policyMappingFn` needs `runnerArgs`: each runner rebuilds its mapping from its module's
   * `config(runnerArgs)` (e.g. `runnerArgs: { league: ["past_0"] }` with a config whose mapping
   * reads the league), and `policyClass` must be omitted or `"random"`.
   * @param policyId a new id
   * @param spec the policy (as in `multiAgent.policies`) and `weightsFrom`
   * @param opts the new mapping, which policies train, and (env runners) the runners' new
   *   `runnerArgs`
   * @returns the new policy, built when its spaces are known (declared or from `weightsFrom`)
   * @throws {RangeError} naming the problem: the id exists, `weightsFrom` is unknown or has no
   *   model, declared spaces differ from `weightsFrom`'s; with env runners, a mapping without
   *   `runnerArgs`, a `policyClass` function or object, or settings that cannot be sent
   */
  addPolicy(
    policyId: string,
    spec: PolicySpec<P> & { weightsFrom?: string } = {},
    opts: {
      policyMappingFn?: PolicyMappingFn;
      policiesToTrain?: PoliciesToTrain;
      runnerArgs?: unknown;
    } = {},
  ): BatchPolicy | undefined {
    const rs = this.#runners;
    if (rs !== undefined) {
      this.#checkRunnerUpdate(`addPolicy "${policyId}"`, spec.policyClass, spec.config, opts);
    }
    if (this.#policies.some((s) => s.id === policyId)) {
      throw new RangeError(`addPolicy: a policy "${policyId}" exists already`);
    }
    const { weightsFrom, ...rest } = spec;
    let obs = rest.observationSpace, act = rest.actionSpace;
    let source: PolicySlot | undefined;
    if (weightsFrom !== undefined) {
      source = this.#slot(weightsFrom);
      if (source.model === undefined) {
        throw new RangeError(
          `addPolicy "${policyId}": weightsFrom "${weightsFrom}" has no model (a fixed policy, or not built yet)`,
        );
      }
      for (
        const [what, declared, theirs] of [
          ["observation", obs, source.obsSpace!],
          ["action", act, source.actSpace!],
        ] as const
      ) {
        if (declared !== undefined && !spacesEqual(declared, theirs)) {
          throw new RangeError(
            `addPolicy "${policyId}": its ${what} space ${declared.toString()} does not match ${theirs.toString()} of "${weightsFrom}"`,
          );
        }
      }
      obs ??= source.obsSpace;
      act ??= source.actSpace;
      if (rest.policyClass === undefined && rest.config === undefined && source.spec.config) {
        rest.config = source.spec.config as PolicySpec<P>["config"];
      }
    }
    const ma = this.config.multiAgent as { policies: Record<string, PolicySpec<P>> } & {
      policiesToTrain?: PoliciesToTrain;
      policyMappingFn: PolicyMappingFn;
    };
    ma.policies[policyId] = { ...rest, observationSpace: obs, actionSpace: act };
    if (opts.policiesToTrain !== undefined) ma.policiesToTrain = opts.policiesToTrain;
    if (opts.policyMappingFn !== undefined) ma.policyMappingFn = opts.policyMappingFn;
    const slot: PolicySlot = {
      id: policyId,
      spec: ma.policies[policyId]! as PolicySpec<object>,
      trainable: isTrained(this.config, policyId),
      obsSpace: obs,
      actSpace: act,
      inferredFrom: undefined,
      policy: undefined,
      model: undefined,
      learner: undefined,
      inference: undefined,
    };
    this.#policies.push(slot);
    this.collector.addPolicy(policyId, opts.policyMappingFn);
    // The trainability of the others follows a new policiesToTrain too.
    if (opts.policiesToTrain !== undefined) {
      for (const s of this.#policies) s.trainable = isTrained(this.config, s.id);
    }
    if (obs !== undefined && act !== undefined) {
      this.#build(this.#policies.length - 1);
      if (source !== undefined) slot.model!.setFlatWeights(source.model!.getFlatWeights());
    }
    if (rs !== undefined) {
      rs.metrics.addPolicy(policyId);
      const steps = new Float64Array(this.#policies.length);
      steps.set(rs.agentSteps);
      rs.agentSteps = steps;
      rs.weights.push(null);
      const cls = slot.spec.policyClass;
      this.#sendUpdate(rs, {
        add: {
          policyId,
          observationSpace: obs === undefined ? null : spaceToJSON(obs),
          actionSpace: act === undefined ? null : spaceToJSON(act),
          ...(slot.spec.config !== undefined
            ? { config: slot.spec.config as Record<string, unknown> }
            : {}),
          ...(cls === "random" ? { policyClass: "random" as const } : {}),
        },
      }, opts);
    }
    return slot.policy;
  }

  /**
   * What a policy update with env runners needs: data only (the runners cannot receive
   * functions), and `runnerArgs` with a new mapping.
   */
  #checkRunnerUpdate(
    what: string,
    policyClass: unknown,
    config: unknown,
    opts: { policyMappingFn?: PolicyMappingFn; runnerArgs?: unknown },
  ): void {
    if (policyClass !== undefined && policyClass !== "random") {
      throw new RangeError(
        `${what} with env runners: policyClass must be omitted (a learning policy) or "random"; a function or object cannot be sent to the runners`,
      );
    }
    if (opts.policyMappingFn !== undefined && !("runnerArgs" in opts)) {
      throw new RangeError(
        `${what} with env runners needs runnerArgs along with policyMappingFn: a function cannot be sent to the runners, so each runner rebuilds its mapping from its module's config(runnerArgs); pass the runnerArgs whose config maps agents as policyMappingFn does (e.g. { league: ["past_0"] })`,
      );
    }
    try {
      if (usesRemoteRunners(this.config)) encodeMessage([opts.runnerArgs, config]);
      else structuredClone([opts.runnerArgs, config]);
    } catch (e) {
      throw new RangeError(
        `${what} with env runners: runnerArgs and the policy's config must be ${
          usesRemoteRunners(this.config) ? "plain data" : "structured-cloneable"
        } to reach the runners: ${(e as Error).message}`,
      );
    }
  }

  /** Sends a policy update to every runner; the next request awaits it (errors surface there). */
  #sendUpdate(
    rs: RunnerState,
    u: Pick<PolicyUpdate, "add" | "remove">,
    opts: { runnerArgs?: unknown },
  ): void {
    const update: PolicyUpdate = {
      ...u,
      mapping: "runnerArgs" in opts ? { runnerArgs: opts.runnerArgs } : null,
      policiesToTrain: this.#policies.filter((s) => s.trainable).map((s) => s.id),
    };
    const p = rs.pool.updatePolicies(update);
    p.catch(() => {}); // awaited (and thrown) by the next train() or sample()
    rs.updates.push(p);
  }

  /** Waits for the policy updates sent to the runners; throws a runner's error. */
  async #settleUpdates(rs: RunnerState): Promise<void> {
    const u = rs.updates.splice(0);
    if (u.length > 0) await Promise.all(u);
  }

  /**
   * Removes a policy for new agents (RLlib's `Algorithm.remove_policy`): the mapping may no
   * longer choose it (pass the new one as `policyMappingFn`); agents already using it finish
   * their episodes with it; it no longer learns.
   *
   * With env runners, every runner removes it too; a new mapping needs `runnerArgs`, as with
   * {@linkcode Algorithm.addPolicy}.
   * @param policyId the policy
   * @param opts the new mapping, and (env runners) the runners' new `runnerArgs`
   * @throws {RangeError} when there is no such policy, it is the last one, or (env runners) a
   *   mapping comes without `runnerArgs`
   */
  removePolicy(
    policyId: string,
    opts: { policyMappingFn?: PolicyMappingFn; runnerArgs?: unknown } = {},
  ): void {
    const rs = this.#runners;
    if (rs !== undefined) {
      this.#checkRunnerUpdate(`removePolicy "${policyId}"`, undefined, undefined, opts);
    }
    const slot = this.#slot(policyId);
    this.collector.removePolicy(policyId, opts.policyMappingFn);
    if (opts.policyMappingFn !== undefined) {
      (this.config.multiAgent as { policyMappingFn: PolicyMappingFn }).policyMappingFn =
        opts.policyMappingFn;
    }
    slot.trainable = false;
    slot.learner?.dispose();
    slot.learner = undefined;
    if (rs !== undefined) this.#sendUpdate(rs, { remove: policyId }, opts);
  }

  #model(policyId: string): LearningPolicy {
    const slot = this.#slot(policyId);
    if (slot.model === undefined) {
      throw new Error(
        `Policy "${policyId}" has no model: it has a policyClass, or no agent was mapped to it yet and its spaces were not declared`,
      );
    }
    return slot.model;
  }

  #slot(policyId: string): PolicySlot {
    const s = this.#policies.find((p) => p.id === policyId);
    if (s === undefined) {
      throw new RangeError(
        `Unknown policy "${policyId}", expected one of ${
          this.policyIds.map((i) => `"${i}"`).join(", ")
        }`,
      );
    }
    return s;
  }

  /** Schedules at the steps sampled so far, one fragment, post-processing per trained policy. */
  #collect(): void {
    const c = this.collector;
    for (const slot of this.#policies) slot.learner?.beforeSample(c.envSteps);
    c.collect();
    this.#policies.forEach((slot, p) => {
      const buf = c.buffer(p);
      if (slot.learner !== undefined && buf !== undefined) slot.learner.postprocess(buf);
    });
    const onSampleEnd = this.config.callbacks?.onSampleEnd;
    if (onSampleEnd !== undefined) {
      const batches: Record<string, SampleBatch> = {};
      this.#policies.forEach((slot, p) => {
        const buf = c.buffer(p);
        if (slot.learner !== undefined && buf !== undefined) batches[slot.id] = buf.compact();
      });
      onSampleEnd({ algorithm: this, samples: { policy_batches: batches } });
    }
  }

  /**
   * Collects one fragment with the current policies, without learning from it, and returns
   * what was collected (RLlib's `env_runner.sample()`): per trained policy, its closed rows
   * with RLlib's columns and its algorithm's (PPO: `action_logp`, `vf_preds`, `advantages`,
   * `value_targets`). The batches are copies. Rows still open at the end of the fragment close
   * in the next one and are returned (or trained on) then.
   * @returns the fragment's batches
   */
  sample(): Promise<MultiAgentBatch> {
    if (this.#runners !== undefined) return this.#sampleRunners();
    return new Promise((resolve) => {
      const c = this.collector;
      const env0 = c.envSteps;
      let agents0 = 0;
      for (const n of c.agentSteps) agents0 += n;
      this.#collect();
      const out: Record<string, SampleBatch> = {};
      this.#policies.forEach((slot, p) => {
        const buf = c.buffer(p);
        if (slot.learner !== undefined && buf !== undefined) {
          out[slot.id] = copySampleBatch(buf.compact());
        }
      });
      let agents = 0;
      for (const n of c.agentSteps) agents += n;
      resolve({ policy_batches: out, env_steps: c.envSteps - env0, agent_steps: agents - agents0 });
    });
  }

  /**
   * Runs one training iteration: one rollout fragment of every env, then one update of every
   * trained policy; then, when due, an evaluation (`evaluationInterval`, in the result's
   * `evaluation`) and a checkpoint (`checkpointFreq`, its path in `checkpoint`). On a
   * non-finite loss the promise rejects and the policy keeps its last good weights.
   * @returns the iteration's result; a failure (a bad observation, mapping or action, a
   *   non-finite loss) rejects it rather than throwing from the call
   */
  async train(): Promise<TrainResult> {
    // A failure rejects the promise instead of throwing from the call.
    const result = this.#runners !== undefined ? await this.#trainRunners() : this.#trainOnce();
    const ev = this.config.evaluation ?? DEFAULT_EVALUATION;
    if (ev.evaluationInterval > 0 && this.iteration % ev.evaluationInterval === 0) {
      result.evaluation = await this.evaluate();
    }
    const ck = this.config.checkpoint ?? DEFAULT_CHECKPOINT;
    if (ck.checkpointFreq > 0 && this.iteration % ck.checkpointFreq === 0) {
      result.checkpoint = await this.save();
    }
    await this.config.callbacks?.onTrainResult?.({
      algorithm: this,
      result: result as unknown as Record<string, unknown>,
    });
    return result;
  }

  #trainOnce(): TrainResult {
    const t0 = performance.now();
    const c = this.collector;
    const stepsBefore = c.envSteps;
    this.#collect();
    const t1 = performance.now();
    const learner: Record<string, LearnerInfo> = {};
    this.#policies.forEach((slot, p) => {
      const buf = c.buffer(p);
      if (slot.learner === undefined || buf === undefined) return;
      const info = slot.learner.learn(buf.compact(), this.#rng);
      if (info !== undefined) learner[slot.id] = info;
    });
    const t2 = performance.now();
    this.iteration++;
    const dt = (t2 - t0) / 1000;
    this.#timeTotal += dt;
    const metrics = c.takeIterationCounts();
    let agentSteps = 0;
    for (const n of c.agentSteps) agentSteps += n;
    return {
      ...metrics,
      training_iteration: this.iteration,
      timesteps_total: c.envSteps,
      num_env_steps_sampled: c.envSteps,
      num_agent_steps_sampled: agentSteps,
      env_steps_per_s: (c.envSteps - stepsBefore) / dt,
      time_this_iter_s: dt,
      time_total_s: this.#timeTotal,
      sample_time_s: (t1 - t0) / 1000,
      learn_time_s: (t2 - t1) / 1000,
      info: { learner },
      custom_metrics: this.#hooks.takeCustomMetrics(),
      backend: this.backend,
    };
  }

  /**
   * Writes every model's weights into the buffer of this version's parity (shared memory when
   * the runtime has it: one buffer reaches every runner) and counts one sync.
   */
  #publishWeights(rs: RunnerState, version: number): {
    weights: (Float32Array | null)[];
    spaces: (PolicySpaces | null)[];
  } {
    const weights = this.#policies.map((slot, p) => {
      if (slot.model === undefined) return null;
      let pair = rs.weights[p];
      if (pair === null || pair === undefined) {
        const n = slot.model.getFlatWeights().length;
        const mk = () =>
          typeof SharedArrayBuffer === "function"
            ? new Float32Array(new SharedArrayBuffer(n * 4))
            : new Float32Array(n);
        pair = rs.weights[p] = [mk(), mk()];
      }
      const view = pair[version % 2]!;
      slot.model.getFlatWeights(view);
      return view;
    });
    const spaces = this.#policies.map((slot): PolicySpaces | null =>
      slot.policy === undefined ? null : {
        observationSpace: spaceToJSON(slot.obsSpace!),
        actionSpace: spaceToJSON(slot.actSpace!),
        inferredFrom: slot.inferredFrom ?? null,
      }
    );
    rs.syncs++;
    return { weights, spaces };
  }

  #requestFragments(rs: RunnerState): Promise<FragmentMessage[]> {
    const { weights, spaces } = this.#publishWeights(rs, this.iteration);
    return rs.pool.sample(rs.envSteps, weights, spaces);
  }

  /**
   * Takes in the runners' fragments: builds policies first seen there, adds their steps and
   * episodes, and returns each recording policy's rows concatenated in runner order.
   */
  #absorb(rs: RunnerState, frags: FragmentMessage[]): {
    batches: (SampleBatch | undefined)[];
    columns: (PostprocessedColumns | undefined)[];
    envSteps: number;
  } {
    this.#policies.forEach((slot, p) => {
      if (slot.policy !== undefined) return;
      const built = frags.find((f) => f.built[p] !== null)?.built[p];
      if (built === undefined || built === null) return;
      this.adoptPolicy(
        slot.id,
        spaceFromJSON(built.observationSpace),
        spaceFromJSON(built.actionSpace),
        built.inferredFrom ?? undefined,
      );
    });
    let envSteps = 0;
    for (const f of frags) {
      envSteps += f.envSteps;
      f.agentSteps.forEach((n, p) => rs.agentSteps[p] = rs.agentSteps[p]! + n);
      rs.metrics.add(f.episodes);
      this.#hooks.mergeSums(f.customMetrics);
    }
    rs.envSteps += envSteps;
    const batches = this.#policies.map((_slot, p) => {
      const parts = frags.map((f) => {
        const b = f.batches[p];
        return b === null || b === undefined ? null : unpackBatch(b);
      });
      return parts.every((b) => b === null) ? undefined : concatBatches(parts);
    });
    // What the runners' learners post-processed beyond the rows (DQN's n-step returns).
    const columns = this.#policies.map((_slot, p) =>
      concatLearnerColumns(frags.map((f) => {
        const b = f.batches[p];
        return { count: b?.count ?? 0, columns: b?.learnerColumns };
      }))
    );
    return { batches, columns, envSteps };
  }

  async #sampleRunners(): Promise<MultiAgentBatch> {
    const rs = this.#runners!;
    await this.#settleUpdates(rs);
    const frags = await this.#requestFragments(rs);
    const { batches, envSteps } = this.#absorb(rs, frags);
    const out: Record<string, SampleBatch> = {};
    this.#policies.forEach((slot, p) => {
      const b = batches[p];
      if (slot.learner !== undefined && b !== undefined) out[slot.id] = b;
    });
    let agents = 0;
    for (const f of frags) for (const n of f.agentSteps) agents += n;
    return { policy_batches: out, env_steps: envSteps, agent_steps: agents };
  }

  /**
   * One iteration with env runners: the fragment (sampled with this iteration's weights, or,
   * with `overlap`, requested last iteration with the weights of then while the learner was
   * updating), then one update per trained policy on the runners' rows in runner order.
   */
  async #trainRunners(): Promise<TrainResult> {
    const rs = this.#runners!;
    await this.#settleUpdates(rs);
    const overlap = this.config.envRunners!.overlap;
    const t0 = performance.now();
    const stepsBefore = rs.envSteps;
    let pending = rs.inflight;
    rs.inflight = undefined;
    if (pending === undefined) {
      pending = { fragments: this.#requestFragments(rs), version: this.iteration };
    }
    const frags = await pending.fragments;
    const { batches, columns } = this.#absorb(rs, frags);
    if (overlap) {
      // The next fragment samples with the weights of now while the learner updates.
      const fragments = this.#requestFragments(rs);
      fragments.catch(() => {}); // rejections surface when the next train() awaits it
      rs.inflight = { fragments, version: this.iteration };
    }
    const t1 = performance.now();
    for (const slot of this.#policies) slot.learner?.beforeSample(stepsBefore);
    const learner: Record<string, LearnerInfo> = {};
    const context = { weightsStaleness: this.iteration - pending.version };
    this.#policies.forEach((slot, p) => {
      const batch = batches[p], cols = columns[p];
      if (slot.learner === undefined || batch === undefined) return;
      if (cols !== undefined) {
        if (slot.learner.putPostprocessed === undefined) {
          throw new Error(
            `Policy "${slot.id}": the env runners sent post-processed columns [${
              Object.keys(cols).join(", ")
            }] but its learner has no putPostprocessed`,
          );
        }
        slot.learner.putPostprocessed(cols, batch.count);
      }
      const info = slot.learner.learn(batch, this.#rng, context);
      if (info !== undefined) learner[slot.id] = info;
    });
    const t2 = performance.now();
    this.iteration++;
    const dt = (t2 - t0) / 1000;
    this.#timeTotal += dt;
    let agentSteps = 0;
    for (const n of rs.agentSteps) agentSteps += n;
    return {
      ...rs.metrics.take(),
      training_iteration: this.iteration,
      timesteps_total: rs.envSteps,
      num_env_steps_sampled: rs.envSteps,
      num_agent_steps_sampled: agentSteps,
      env_steps_per_s: (rs.envSteps - stepsBefore) / dt,
      time_this_iter_s: dt,
      time_total_s: this.#timeTotal,
      sample_time_s: (t1 - t0) / 1000,
      learn_time_s: (t2 - t1) / 1000,
      info: { learner },
      custom_metrics: this.#hooks.takeCustomMetrics(),
      backend: this.backend,
      num_env_runners: rs.pool.numRunners,
      num_weight_syncs: rs.syncs,
      weights_staleness: context.weightsStaleness,
      num_env_runner_restarts: rs.pool.restarts(),
      ...(rs.pool instanceof RemoteRunnerPool
        ? {
          num_healthy_env_runners: rs.pool.stats().healthy,
          num_fragment_reissues: rs.pool.stats().reissued,
        }
        : {}),
    };
  }

  #policyIdOf(opts: { policyId?: string }, what: string): string {
    const id = opts.policyId;
    if (id !== undefined) return id;
    if (this.#policies.some((p) => p.id === DEFAULT_POLICY_ID)) return DEFAULT_POLICY_ID;
    if (this.#policies.length === 1) return this.#policies[0]!.id;
    throw new RangeError(
      `${what} needs opts.policyId: there are ${this.#policies.length} policies (${
        this.policyIds.map((i) => `"${i}"`).join(", ")
      }) and none is "${DEFAULT_POLICY_ID}"`,
    );
  }

  #inference(id: string): InferencePolicy {
    const slot = this.#slot(id);
    if (slot.policy === undefined || slot.obsSpace === undefined || slot.actSpace === undefined) {
      throw new Error(
        `Policy "${id}" has no spaces yet: declare observationSpace and actionSpace in its spec, or train first`,
      );
    }
    return slot.inference ??= new InferencePolicy(
      id,
      slot.obsSpace,
      slot.actSpace,
      slot.policy,
      this.#inferRng,
    );
  }

  /**
   * Computes an action for one observation (RLlib's `compute_single_action`). Sampled actions
   * come from a stream of their own (saved in checkpoints), so calling this between iterations
   * does not change what training does.
   * @param obs the observation, a member of the policy's observation space
   * @param opts `policyId` (default: `"default_policy"` when declared, else the only policy;
   *   required when there are several) and `explore` (default true, as RLlib: sample from the
   *   policy's distribution; false: the most likely action)
   * @returns the action, unpacked into the policy's action space
   * @throws {RangeError} naming the policy, the key or component and what was expected, when
   *   the observation is not a member of the space or holds a non-finite number
   */
  computeSingleAction(
    obs: unknown,
    opts: { policyId?: string } & ComputeOptions = {},
  ): SpaceValue {
    return this.#inference(this.#policyIdOf(opts, "computeSingleAction"))
      .computeSingleAction(obs, opts);
  }

  /**
   * Computes actions for a batch of observations of one policy in one forward pass (RLlib's
   * `compute_actions`): a record of agent id → observation gives a record of agent id →
   * action, an array gives an array.
   * @param obs the observations
   * @param opts `policyId` and `explore` (default true), as in
   *   {@linkcode Algorithm.computeSingleAction}
   * @returns the actions, in the shape of `obs`
   * @throws {RangeError} naming the policy, the agent (or index), the key or component and what
   *   was expected, for the first malformed observation (nothing is computed then)
   */
  computeActions(
    obs: readonly unknown[],
    opts?: { policyId?: string } & ComputeOptions,
  ): SpaceValue[];
  /**
   * Computes actions for agents' observations in one forward pass: a record of agent id →
   * observation gives a record of agent id → action (see the array form above).
   * @param obs the observations by agent id
   * @param opts `policyId` and `explore` (default true)
   * @returns the actions by agent id
   */
  computeActions(
    obs: Readonly<Record<string, unknown>>,
    opts?: { policyId?: string } & ComputeOptions,
  ): Record<string, SpaceValue>;
  computeActions(
    obs: readonly unknown[] | Readonly<Record<string, unknown>>,
    opts: { policyId?: string } & ComputeOptions = {},
  ): SpaceValue[] | Record<string, SpaceValue> {
    const p = this.#inference(this.#policyIdOf(opts, "computeActions"));
    return Array.isArray(obs)
      ? p.computeActions(obs, opts)
      : p.computeActions(obs as Readonly<Record<string, unknown>>, opts);
  }

  /**
   * The custom metrics' raw sums (`[sum, min, max, count]` per name) of the training episodes
   * that ended since the last call, taken out of the next result: what an env runner sends
   * its trainer with each fragment.
   * @returns the sums by name
   */
  takeCustomMetricSums(): Record<string, number[]> {
    return this.#hooks.takeSums();
  }

  /**
   * Runs `episodes` episodes with the current policies on envs of their own, built with the
   * config's env creator and a seed of their own, and reports RLlib's episode metrics over
   * them, plus the env's `episodeMetrics` and the callbacks' `episode.customMetrics` as
   * `custom_metrics` (`<name>_mean`, `_min`, `_max`); the callbacks see these episodes with
   * `evaluation: true`. The training envs, the collector and every training random stream are untouched,
   * so evaluating does not change what training does. Env `i` of the `numEnvs` runs its share
   * of the episodes (`episodes / numEnvs`, the first `episodes % numEnvs` one more): only
   * its first episodes count, so short episodes are not favoured. Policies act greedily unless
   * `explore` is true.
   * @param opts episodes, explore, seed and envs (defaults from the config's `evaluation`)
   * @returns the metrics
   */
  async evaluate(opts: EvaluateOptions = {}): Promise<EvaluationResult> {
    const t0 = performance.now();
    const ev = this.config.evaluation ?? DEFAULT_EVALUATION;
    const K = opts.episodes ?? ev.evaluationDuration;
    if (!Number.isInteger(K) || K < 1) {
      throw new RangeError(`evaluate: episodes must be a positive integer, got ${K}`);
    }
    const explore = opts.explore ?? ev.evaluationConfig.explore;
    const wanted = opts.numEnvs ?? ev.evaluationNumEnvs ?? this.config.numEnvs;
    if (!Number.isInteger(wanted) || wanted < 1) {
      throw new RangeError(`evaluate: numEnvs must be a positive integer, got ${wanted}`);
    }
    const N = Math.min(K, wanted);
    const seed = opts.seed ?? evaluationSeed(this.config.seed, this.iteration);
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`evaluate: seed must be a non-negative safe integer, got ${seed}`);
    }
    const env = await this.config.env!({ numEnvs: N, seed, envConfig: this.config.envConfig });
    if (env.numEnvs !== N) {
      throw new RangeError(`The env creator built ${env.numEnvs} envs, evaluate asked for ${N}`);
    }
    const quota = new Int32Array(N);
    for (let i = 0; i < N; i++) quota[i] = Math.floor(K / N) + (i < K % N ? 1 : 0);
    let remaining = K;
    const cb = this.config.callbacks;
    await cb?.onEvaluateStart?.({ algorithm: this });
    const hooks = new EpisodeHooks(env, cb, true);
    const collector = new Collector({
      env,
      policyIds: this.policyIds,
      policyMappingFn: this.config.multiAgent.policyMappingFn,
      resolvePolicy: (p, group, agentId) => ({
        policy: this.#resolve(p, group, agentId).policy,
        record: false,
      }),
      fragmentLength: 1,
      seed,
      explore,
      smoothingWindow: K,
      ...hooks.options((e) => {
        if (quota[e] === 0) return false;
        quota[e]!--;
        remaining--;
        return true;
      }),
    });
    hooks.attach(collector);
    while (remaining > 0) collector.collect();
    const result: EvaluationResult = {
      ...collector.takeIterationCounts(),
      custom_metrics: hooks.takeCustomMetrics(),
      num_episodes: K,
      num_env_steps_sampled: collector.envSteps,
      explore,
      seed,
      time_s: (performance.now() - t0) / 1000,
    };
    await cb?.onEvaluateEnd?.({
      algorithm: this,
      evaluationMetrics: result as unknown as Record<string, unknown>,
    });
    return result;
  }

  #storage(storage: CheckpointStorage | undefined, what: string): CheckpointStorage {
    const st = storage ?? this.config.checkpoint?.storage;
    if (st === undefined) {
      throw new Error(
        `${what} needs a storage: pass one, or set it with .checkpointing({ storage: new FileStorage(dir) })`,
      );
    }
    return st;
  }

  #fingerprint(): Fingerprint {
    return {
      numEnvs: this.env.numEnvs,
      envKind: this.env.constructor.name,
      envConfig: sortedJSON(this.config.envConfig),
      groups: this.env.groups.map((g) => ({
        name: g.name,
        observationSpace: g.observationSpace.toString(),
        actionSpace: g.actionSpace.toString(),
      })),
      policies: this.#policies.map((slot) => {
        const kind = policyKind(slot.spec);
        return {
          id: slot.id,
          kind,
          observationSpace: slot.spec.observationSpace?.toString() ?? null,
          actionSpace: slot.spec.actionSpace?.toString() ?? null,
          model: kind === "learning"
            ? splitParams(this.config.family, policyParams(this.config, slot.id)).model
            : null,
        };
      }),
    };
  }

  /**
   * Saves a checkpoint of the whole trainer (RLlib's `algo.save()`): every policy's weights
   * and spaces, every learner's state (optimiser moments and step, KL coefficient, learning
   * rate, its random stream), the settings that must match on restore, the iteration, env and
   * agent steps, time, every random stream (the trainer's, `computeSingleAction`'s, the
   * collector's), the collector's state (each slot's agent, the rows not closed yet, episodes in
   * progress, the metrics window, episode ids) and the env's state when it has `saveState`.
   * The file is written atomically: a crash while saving leaves any previous checkpoint
   * intact. With `numToKeep`, older checkpoints of `checkpointDir` are removed afterwards.
   * Saving changes nothing in the trainer. Fixed policies are saved by kind only: a custom
   * policy's own state (`policyClass: {create}`) is not saved. With env runners, each runner's
   * own checkpoint (its envs, collector and streams) and the trainer's sampling counters and
   * metrics window are saved too; with `overlap` saving is refused (a fragment is in flight).
   *
   * @example Save, restore in another trainer, and both go on alike
   * ```ts
   * import { PPOConfig } from "../algorithms/ppo_config.ts";
   * import { createWindyMaze } from "../envs/windy_maze.ts";
   * import { MemoryStorage } from "./storage.ts";
   * const config = new PPOConfig()
   *   .environment(({ numEnvs, seed }) => createWindyMaze(numEnvs, { seed }))
   *   .envRunners({ numEnvs: 2, rolloutFragmentLength: 16 })
   *   .training({ hidden: [8], numEpochs: 1 })
   *   .checkpointing({ storage: new MemoryStorage() });
   * const a = await config.build(), b = await config.build();
   * await a.train();
   * const path = await a.save(); // "checkpoints/checkpoint_000001.ckpt"
   * await b.restore({ path });
   * await a.train();
   * await b.train();
   * const wa = a.getModel("default_policy")!.getFlatWeights();
   * const wb = b.getModel("default_policy")!.getFlatWeights();
   * if (!wa.every((w, i) => w === wb[i])) throw new Error("not the same run");
   * a.dispose();
   * b.dispose();
   * ```
   *
   * @param where the storage and path (defaults: the config's storage,
   *   `<checkpointDir>/checkpoint_<iteration>.ckpt`)
   * @returns the checkpoint's path
   */
  async save(where: CheckpointLocation = {}): Promise<string> {
    const storage = this.#storage(where.storage, "save");
    const ck = this.config.checkpoint ?? DEFAULT_CHECKPOINT;
    const path = where.path ?? joinPath(ck.checkpointDir, checkpointName(this.iteration));
    const content = this.#checkpoint();
    const rs = this.#runners;
    if (rs !== undefined) {
      if (this.config.envRunners!.overlap) throw new Error(RUNNER_OVERLAP_CHECKPOINTS);
      content.runners = {
        numRunners: rs.pool.numRunners,
        states: await rs.pool.saveStates(),
        envSteps: rs.envSteps,
        agentSteps: rs.agentSteps.slice(),
        syncs: rs.syncs,
        metrics: rs.metrics.getState(),
      };
    }
    const bytes = encodeCheckpoint(content);
    await storage.write(path, bytes);
    if (storage === this.config.checkpoint?.storage) {
      this.#lastCheckpoint = { iteration: this.iteration, path };
    }
    if (where.path === undefined && ck.numToKeep !== null) {
      const all = await listCheckpoints(storage, ck.checkpointDir);
      for (const old of all.slice(0, Math.max(0, all.length - ck.numToKeep))) {
        if (old.path !== path) await storage.remove(old.path);
      }
    }
    return path;
  }

  #checkpoint(): AlgorithmCheckpoint {
    const canSave = typeof this.env.saveState === "function" &&
      typeof this.env.loadState === "function";
    const policies = this.#policies.map((slot): PolicyCheckpoint => {
      const kind = policyKind(slot.spec);
      const built = slot.policy !== undefined;
      let params: Record<string, unknown> | null = null, model: ModelParams | null = null;
      if (kind === "learning") {
        const split = splitParams(this.config.family, policyParams(this.config, slot.id));
        params = split.params as Record<string, unknown>;
        model = split.model;
      }
      return {
        id: slot.id,
        kind,
        trainable: slot.trainable,
        built,
        observationSpace: built ? spaceToJSON(slot.obsSpace!) : null,
        actionSpace: built ? spaceToJSON(slot.actSpace!) : null,
        inferredFrom: slot.inferredFrom ?? null,
        params,
        model,
        weightSpecs: slot.model?.weightSpecs.map((w) => ({ name: w.name, shape: [...w.shape] })) ??
          null,
        weights: slot.model?.getFlatWeights() ?? null,
        learner: slot.learner?.getState?.() ?? null,
      };
    });
    return {
      kind: "coop.Algorithm",
      family: this.config.family.name,
      fingerprint: this.#fingerprint(),
      iteration: this.iteration,
      timeTotal: this.#timeTotal,
      rng: this.#rng.getState(),
      inferRng: this.#inferRng.getState(),
      backend: this.backend,
      settings: {
        seed: this.config.seed,
        rolloutFragmentLength: this.config.rolloutFragmentLength,
      },
      policies,
      collector: this.collector.getState(canSave),
      env: canSave ? { saved: true, state: this.env.saveState!() } : { saved: false },
    };
  }

  /**
   * Restores a checkpoint written by {@linkcode Algorithm.save} into this trainer, which must
   * be built from the same config (RLlib's `algo.restore()`): typically a fresh process builds
   * the trainer and restores. Everything `save` lists is replaced, so training then continues
   * exactly as the saved trainer would have (bit for bit when the env's state was saved; see
   * `DictBatchedEnv` for the re-seed rule of envs that cannot save theirs).
   *
   * The checkpoint is checked first, and refused with a `RangeError` naming what differs (and
   * nothing changed): a file that is not a checkpoint, truncated or corrupted; another
   * algorithm; another env (kind, number of envs, env config, slot groups or spaces); other
   * policies (ids, kinds, spaces); another model shape; another number of env runners (a
   * trainer with `overlap` refuses to restore). Hyperparameters, the fragment length,
   * the seed, which policies train and the backend may differ: they are listed in the result's
   * `changes`, and this trainer's settings apply from now on.
   * @param where the storage and path (defaults: the config's storage, the newest checkpoint in
   *   `checkpointDir`)
   * @returns what was restored
   */
  async restore(where: CheckpointLocation = {}): Promise<RestoreInfo> {
    const rs = this.#runners;
    if (rs !== undefined && this.config.envRunners!.overlap) {
      throw new Error(RUNNER_OVERLAP_CHECKPOINTS);
    }
    const storage = this.#storage(where.storage, "restore");
    let path = where.path;
    if (path === undefined) {
      const dir = (this.config.checkpoint ?? DEFAULT_CHECKPOINT).checkpointDir;
      path = await latestCheckpoint(storage, dir);
      if (path === undefined) throw new Error(`No checkpoint in "${dir}" to restore`);
    }
    const content = await readCheckpoint(storage, path) as AlgorithmCheckpoint;
    const saved = typeof content === "object" && content !== null
      ? content.runners?.numRunners ?? 0
      : 0;
    const here = rs?.pool.numRunners ?? 0;
    if (saved !== here) {
      const n = (k: number) => k === 0 ? "no env runners" : `${k} env runners`;
      throw new RangeError(
        `Checkpoint "${path}" does not fit this trainer: it was saved with ${
          n(saved)
        }, this trainer has ${n(here)}; nothing was restored`,
      );
    }
    this.#readdPolicies(content);
    const info = this.#restore(content, path);
    if (rs !== undefined) {
      const r = content.runners!;
      await rs.pool.restoreStates(r.states);
      rs.envSteps = r.envSteps;
      rs.agentSteps.set(r.agentSteps);
      rs.syncs = r.syncs;
      rs.metrics.setState(r.metrics);
    }
    this.#lastCheckpoint = storage === this.config.checkpoint?.storage
      ? { iteration: info.iteration, path }
      : undefined;
    return info;
  }

  /**
   * Re-adds the learning and random policies a checkpoint holds beyond this trainer's (added by
   * `addPolicy` while the saved run trained), in their order, so the checkpoint fits.
   */
  #readdPolicies(c: AlgorithmCheckpoint): void {
    if (typeof c !== "object" || c === null || !Array.isArray(c.policies)) return;
    const have = new Set(this.#policies.map((s) => s.id));
    for (const pc of c.policies) {
      if (have.has(pc.id) || !pc.built) continue;
      if (pc.kind !== "learning" && pc.kind !== "random") continue;
      const observationSpace = spaceFromJSON(pc.observationSpace);
      const actionSpace = spaceFromJSON(pc.actionSpace);
      this.addPolicy(
        pc.id,
        pc.kind === "random" ? { policyClass: "random", observationSpace, actionSpace } : {
          observationSpace,
          actionSpace,
          config: { ...pc.params, ...pc.model } as PolicySpec<P>["config"],
        },
      );
    }
  }

  #restore(c: AlgorithmCheckpoint, path: string): RestoreInfo {
    const refuse = (why: string): never => {
      throw new RangeError(
        `Checkpoint "${path}" does not fit this trainer: ${why}; nothing was restored`,
      );
    };
    if (typeof c !== "object" || c === null || c.kind !== "coop.Algorithm") {
      refuse("it is not a checkpoint of an Algorithm");
    }
    if (c.family !== this.config.family.name) {
      refuse(`it is of algorithm ${c.family}, this trainer runs ${this.config.family.name}`);
    }
    const diffs = fingerprintDiffs(c.fingerprint, this.#fingerprint());
    if (diffs.length > 0) refuse(diffs.join("; "));
    // Built policies: their spaces and model shapes.
    const spaces = c.policies.map((pc, p) => {
      const slot = this.#policies[p]!;
      if (!pc.built) return undefined;
      const obs = spaceFromJSON(pc.observationSpace), act = spaceFromJSON(pc.actionSpace);
      for (
        const [what, here, there] of [
          ["observation", slot.obsSpace, obs],
          ["action", slot.actSpace, act],
        ] as const
      ) {
        if (here !== undefined && !spacesEqual(here, there)) {
          diffs.push(
            `policy "${slot.id}" has ${what} space ${here.toString()} here, ${there.toString()} in the checkpoint`,
          );
        }
      }
      return { obs, act };
    });
    const canLoad = typeof this.env.loadState === "function";
    if (c.env.saved && !canLoad) {
      diffs.push(
        `the checkpoint holds the state of a ${c.fingerprint.envKind}, this ${this.env.constructor.name} cannot load one`,
      );
    }
    if (diffs.length > 0) refuse(diffs.join("; "));
    const changes = settingsChanges(c, this.config, this.#policies);
    this.#policies.forEach((slot) => {
      if (slot.learner !== undefined && slot.learner.setState === undefined) {
        changes.push(
          `policy "${slot.id}": its learner has no getState/setState, so its optimiser state was not restored`,
        );
      }
    });
    // Build what the checkpoint had built (its spaces), forget what it had not; check shapes.
    const fresh: PolicySlot[] = [];
    c.policies.forEach((pc, p) => {
      const slot = this.#policies[p]!;
      if (pc.built && slot.policy === undefined) fresh.push(slot);
    });
    const undo = () => fresh.forEach((slot) => this.#unbuild(slot));
    c.policies.forEach((pc, p) => {
      const slot = this.#policies[p]!;
      const sp = spaces[p];
      if (sp !== undefined && slot.policy === undefined) {
        slot.obsSpace = sp.obs;
        slot.actSpace = sp.act;
        slot.inferredFrom = pc.inferredFrom ?? undefined;
        this.#build(p);
      }
    });
    c.policies.forEach((pc, p) => {
      const model = this.#policies[p]!.model;
      if (model === undefined || pc.weightSpecs === null) return;
      const here = model.weightSpecs.map((w) => `${w.name} [${w.shape.join(", ")}]`).join(", ");
      const there = pc.weightSpecs.map((w) => `${w.name} [${w.shape.join(", ")}]`).join(", ");
      if (here !== there) {
        undo();
        refuse(`policy "${pc.id}" has weights ${here} here, ${there} in the checkpoint`);
      }
    });
    // Load the env first: it checks its state before changing anything.
    if (c.env.saved) {
      try {
        this.env.loadState!(c.env.state);
      } catch (e) {
        undo();
        refuse((e as Error).message);
      }
    }
    c.policies.forEach((pc, p) => {
      const slot = this.#policies[p]!;
      if (!pc.built) {
        if (slot.policy !== undefined && slot.spec.observationSpace === undefined) {
          this.#unbuild(slot);
        }
        return;
      }
      if (pc.weights !== null) slot.model?.setFlatWeights(pc.weights);
      if (pc.learner !== null && slot.learner?.setState !== undefined) {
        slot.learner.setState(pc.learner);
      }
      slot.inferredFrom = pc.inferredFrom ?? undefined;
    });
    this.collector.setState(
      c.collector,
      c.env.saved ? undefined : restoreSeed(this.config.seed, c.iteration),
    );
    this.iteration = c.iteration;
    this.#timeTotal = c.timeTotal;
    this.#rng.setState(c.rng);
    this.#inferRng.setState(c.inferRng);
    return { path, iteration: c.iteration, envRestored: c.env.saved, changes };
  }

  #unbuild(slot: PolicySlot): void {
    slot.learner?.dispose();
    slot.model?.dispose();
    slot.policy =
      slot.model =
      slot.learner =
      slot.inference =
        undefined;
    slot.obsSpace = slot.spec.observationSpace;
    slot.actSpace = slot.spec.actionSpace;
    slot.inferredFrom = undefined;
  }

  /**
   * Ends the run (RLlib's `algo.stop()`): saves a last checkpoint when `checkpointAtEnd` is set
   * (unless one of this iteration was saved already), then frees the models and learners.
   * @returns the last checkpoint's path, when one was saved or already existed
   */
  async stop(): Promise<string | undefined> {
    let path: string | undefined;
    try {
      if ((this.config.checkpoint ?? DEFAULT_CHECKPOINT).checkpointAtEnd) {
        path = this.#lastCheckpoint?.iteration === this.iteration
          ? this.#lastCheckpoint.path
          : await this.save();
      }
    } finally {
      this.dispose();
    }
    return path;
  }

  /** Frees the models and learners (without a final checkpoint; see {@linkcode Algorithm.stop}). */
  dispose(): void {
    this.#runners?.pool.terminate();
    for (const s of this.#policies) {
      s.learner?.dispose();
      s.model?.dispose();
    }
  }
}

/** Why a trainer with overlapping env runners neither saves nor restores. */
const RUNNER_OVERLAP_CHECKPOINTS =
  "Checkpoints with envRunners overlap are not supported yet: a fragment is always in flight " +
  "(sampled with the previous weights) and is not saved; turn overlap off to checkpoint";

/** What differs between a checkpoint's fingerprint and this trainer's, in words. */
function fingerprintDiffs(a: Fingerprint, b: Fingerprint): string[] {
  const out: string[] = [];
  if (a.envKind !== b.envKind) {
    out.push(`env is a ${b.envKind} here, a ${a.envKind} in the checkpoint`);
  }
  if (a.numEnvs !== b.numEnvs) {
    out.push(`numEnvs is ${b.numEnvs} here, ${a.numEnvs} in the checkpoint`);
  }
  if (a.envConfig !== b.envConfig) {
    out.push(`envConfig is ${b.envConfig} here, ${a.envConfig} in the checkpoint`);
  }
  const groups = (f: Fingerprint) => f.groups.map((g) => g.name).join(", ");
  if (groups(a) !== groups(b)) {
    out.push(`env slot groups are [${groups(b)}] here, [${groups(a)}] in the checkpoint`);
  } else {
    a.groups.forEach((g, i) => {
      const h = b.groups[i]!;
      for (const k of ["observationSpace", "actionSpace"] as const) {
        if (g[k] !== h[k]) {
          out.push(`env group "${g.name}" ${k} is ${h[k]} here, ${g[k]} in the checkpoint`);
        }
      }
    });
  }
  const ids = (f: Fingerprint) => f.policies.map((p) => `"${p.id}"`).join(", ");
  if (ids(a) !== ids(b)) {
    out.push(`policies are [${ids(b)}] here, [${ids(a)}] in the checkpoint`);
    return out;
  }
  a.policies.forEach((p, i) => {
    const h = b.policies[i]!;
    if (p.kind !== h.kind) {
      out.push(`policy "${p.id}" is ${h.kind} here, ${p.kind} in the checkpoint`);
    }
    for (const k of ["observationSpace", "actionSpace"] as const) {
      if (p[k] !== h[k]) {
        out.push(`policy "${p.id}" declares ${k} ${h[k]} here, ${p[k]} in the checkpoint`);
      }
    }
    if (p.model !== null && h.model !== null) {
      for (const k of Object.keys({ ...p.model, ...h.model }) as (keyof ModelParams)[]) {
        const x = JSON.stringify(p.model[k]), y = JSON.stringify(h.model[k]);
        if (x !== y) out.push(`policy "${p.id}" model ${k} is ${y} here, ${x} in the checkpoint`);
      }
    }
  });
  return out;
}

/** The allowed differences between a checkpoint's settings and this trainer's, in words. */
function settingsChanges(
  c: AlgorithmCheckpoint,
  config: AlgorithmSettings<object>,
  slots: readonly PolicySlot[],
): string[] {
  const out: string[] = [];
  if (c.settings.seed !== config.seed) out.push(`seed ${c.settings.seed} -> ${config.seed}`);
  if (c.settings.rolloutFragmentLength !== config.rolloutFragmentLength) {
    out.push(
      `rolloutFragmentLength ${c.settings.rolloutFragmentLength} -> ${config.rolloutFragmentLength}`,
    );
  }
  if (c.backend.name !== config.backend.backend) {
    out.push(`backend ${c.backend.name} -> ${config.backend.backend}`);
  }
  c.policies.forEach((pc, p) => {
    const slot = slots[p]!;
    if (pc.trainable !== slot.trainable) {
      out.push(`policy "${pc.id}" ${slot.trainable ? "now trains" : "no longer trains"}`);
    }
    if (pc.params === null || slot.spec.policyClass !== undefined) return;
    const now = splitParams(config.family, policyParams(config, pc.id)).params as Record<
      string,
      unknown
    >;
    for (const k of Object.keys({ ...pc.params, ...now })) {
      const x = JSON.stringify(pc.params[k]), y = JSON.stringify(now[k]);
      if (x !== y) out.push(`policy "${pc.id}" ${k} ${x} -> ${y}`);
    }
  });
  return out;
}

/** Stop criteria, RLlib style: training stops when any one is reached. */
export interface StopCriteria {
  /** Stop after this many iterations. */
  training_iteration?: number;
  /** Stop after this many env steps. */
  timesteps_total?: number;
  /**
   * Stop when the smoothed mean episode reward reaches this. It counts only once the smoothing
   * window is full (100 episodes), so a few lucky first episodes cannot end a run.
   */
  episode_reward_mean?: number;
}

/** Episodes the smoothed reward must average over before reward criteria count. */
export const MIN_EPISODES_FOR_REWARD = 100;

/**
 * Whether a result's smoothed reward reached `reward` over a full window of episodes.
 * @param r a result
 * @param reward the threshold
 * @returns true when reached
 */
export function rewardReached(r: TrainResult, reward: number): boolean {
  return r.episodes_in_window >= MIN_EPISODES_FOR_REWARD && r.episode_reward_mean >= reward;
}

/**
 * Whether a result meets any stop criterion.
 * @param r a result
 * @param stop the criteria
 * @returns true to stop
 */
export function shouldStop(r: TrainResult, stop: StopCriteria): boolean {
  return (stop.training_iteration !== undefined &&
    r.training_iteration >= stop.training_iteration) ||
    (stop.timesteps_total !== undefined && r.timesteps_total >= stop.timesteps_total) ||
    (stop.episode_reward_mean !== undefined && rewardReached(r, stop.episode_reward_mean));
}

/**
 * Throws when no result reached `minReward` over a full window of episodes (RLlib's
 * `check_learning_achieved`).
 * @param results the results of a run
 * @param minReward the mean episode reward to reach
 */
export function checkLearningAchieved(results: readonly TrainResult[], minReward: number): void {
  if (results.some((r) => rewardReached(r, minReward))) return;
  let best = -Infinity;
  for (const r of results) {
    if (r.episodes_in_window >= MIN_EPISODES_FOR_REWARD && r.episode_reward_mean > best) {
      best = r.episode_reward_mean;
    }
  }
  throw new Error(
    `Learning not achieved: best episode_reward_mean over ${MIN_EPISODES_FOR_REWARD} episodes was ${best}, expected >= ${minReward}`,
  );
}
