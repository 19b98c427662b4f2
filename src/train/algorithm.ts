/**
 * The trainer: collects experience with a {@linkcode Collector}, lets each trained policy's
 * {@linkcode Learner} post-process its rows (PPO: GAE with that policy's own `gamma`/`lambda`)
 * and learn from them, and returns RLlib-shaped results from `train()`. It works with any
 * {@linkcode AlgorithmFamily}; `PPOConfig` plugs in PPO.
 *
 * @module
 */

import type { BatchedEnv, SlotGroup } from "../env/batched.ts";
import { Collector, type EpisodeMetrics, type RoutedPolicy } from "../rollout/collector.ts";
import { copySampleBatch, type SampleBatch } from "../rollout/buffer.ts";
import { type BatchPolicy, RandomPolicy, ScriptedPolicy } from "../policy/policy.ts";
import { type BackendInfo, initBackend } from "../policy/backend.ts";
import { Pcg32 } from "../rng.ts";
import { type Space, spacesEqual } from "../spaces.ts";
import type { Learner, LearnerInfo, LearningPolicy } from "./learner.ts";
import {
  type AlgorithmSettings,
  DEFAULT_POLICY_ID,
  isTrained,
  policyParams,
  type PolicySpec,
  splitParams,
  validateSettings,
} from "./settings.ts";

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
  /** The tfjs backend that ran the models. */
  backend: BackendInfo;
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

  private constructor(config: AlgorithmSettings<P>, env: BatchedEnv, backend: BackendInfo) {
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
      };
    });
    this.collector = new Collector({
      env,
      policyIds: ids,
      policyMappingFn: config.multiAgent.policyMappingFn,
      resolvePolicy: (p, group, agentId) => this.#resolve(p, group, agentId),
      fragmentLength: config.rolloutFragmentLength,
      seed: config.seed,
    });
    // Policies whose spaces are declared are built now, so they exist before any agent maps.
    this.#policies.forEach((slot, p) => {
      if (slot.obsSpace !== undefined && slot.actSpace !== undefined) this.#build(p);
    });
  }

  /**
   * Initialises the backend, builds the env and the declared policies.
   * @param config the settings (validated again here)
   * @returns the trainer
   */
  static async create<P extends object>(config: AlgorithmSettings<P>): Promise<Algorithm<P>> {
    validateSettings(config);
    const backend = await initBackend({
      backend: config.backend.backend,
      threads: config.backend.threads,
    });
    const env = await config.env!({
      numEnvs: config.numEnvs,
      seed: config.seed,
      envConfig: config.envConfig,
    });
    return new Algorithm(config, env, backend);
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
      slot.policy = new RandomPolicy(obs.flatSize, act);
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
   * trained policy. On a non-finite loss the promise rejects and the policy keeps its last good
   * weights.
   * @returns the iteration's result; a failure (a bad observation, mapping or action, a
   *   non-finite loss) rejects it rather than throwing from the call
   */
  train(): Promise<TrainResult> {
    // A failure rejects the promise instead of throwing from the call.
    return new Promise((resolve) => resolve(this.#trainOnce()));
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
      backend: this.backend,
    };
  }

  /**
   * Computes an action for one observation (RLlib's `compute_single_action`).
   * @param obs the observation, a member of the policy's observation space
   * @param opts `policyId` (default: `"default_policy"` when declared, else the only policy;
   *   required when there are several) and `explore` (default false: the most likely action)
   * @returns the action, unpacked into the policy's action space
   */
  computeSingleAction(
    obs: unknown,
    opts: { policyId?: string; explore?: boolean } = {},
  ): number | unknown {
    let id = opts.policyId;
    if (id === undefined) {
      if (this.#policies.some((p) => p.id === DEFAULT_POLICY_ID)) id = DEFAULT_POLICY_ID;
      else if (this.#policies.length === 1) id = this.#policies[0]!.id;
      else {
        throw new RangeError(
          `computeSingleAction needs opts.policyId: there are ${this.#policies.length} policies (${
            this.policyIds.map((i) => `"${i}"`).join(", ")
          }) and none is "${DEFAULT_POLICY_ID}"`,
        );
      }
    }
    const slot = this.#slot(id);
    if (slot.policy === undefined || slot.obsSpace === undefined || slot.actSpace === undefined) {
      throw new Error(
        `Policy "${id}" has no spaces yet: declare observationSpace and actionSpace in its spec, or train first`,
      );
    }
    const why = slot.obsSpace.explain(obs);
    if (why !== undefined) {
      throw new RangeError(`computeSingleAction for policy "${id}": ${why}`);
    }
    const row = new Float32Array(slot.obsSpace.flatSize);
    // deno-lint-ignore no-explicit-any
    slot.obsSpace.flatten(obs as any, row);
    const act = new Float32Array(slot.actSpace.packedSize);
    slot.policy.act(row, 1, this.#inferRng, opts.explore ?? false, act);
    return slot.actSpace.unpack(act);
  }

  /** Frees the models and learners. */
  dispose(): void {
    for (const s of this.#policies) {
      s.learner?.dispose();
      s.model?.dispose();
    }
  }
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
