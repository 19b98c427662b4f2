/**
 * A fluent, typed PPO configuration in the spirit of RLlib's
 * `PPOConfig().environment(...).multi_agent(...).training(...)`.
 *
 * @module
 */

import type { BatchedEnv } from "../env/batched.ts";
import type { PolicyMappingFn } from "../rollout/collector.ts";
import type { BatchPolicy } from "../policy/policy.ts";
import type { Pcg32 } from "../rng.ts";
import type { Space } from "../spaces.ts";
import {
  DEFAULT_PPO_HYPERPARAMS,
  type PPOHyperparams,
  resolvePPOHyperparams,
} from "../algorithms/ppo.ts";

/** Builds the batched env the trainer steps. */
export type EnvCreator = (ctx: EnvContext) => BatchedEnv | Promise<BatchedEnv>;

/** What an {@linkcode EnvCreator} receives. */
export interface EnvContext {
  /** Number of env instances to batch. */
  numEnvs: number;
  /** Seed of the run (the trainer also reseeds on its first reset). */
  seed: number;
  /** The user's env config (RLlib's `env_config`). */
  envConfig: Record<string, unknown>;
}

/** Model shape params of a learning policy. */
export interface ModelParams {
  /** Hidden layer sizes of the actor and critic MLPs. */
  hidden: number[];
  /** Hidden activation. */
  activation: "tanh" | "relu";
  /** Share the hidden layers between actor and critic (RLlib's `vf_share_layers`). */
  vfShareLayers: boolean;
}

/**
 * Training params: every PPO hyperparameter (see {@linkcode PPOHyperparams}) and the model
 * shape. Each can be overridden per policy.
 */
export type TrainingParams = PPOHyperparams & ModelParams;

/**
 * The trainer's defaults: the learner's PPO defaults with the changes that made PPO learn the
 * windy mazes fastest over 8 seeds (measured with `deno task bench:train`): a larger learning
 * rate and more epochs (the batches are small and cheap), RLlib's adaptive KL penalty
 * (`klCoeff` 0.2, `klTarget` 0.01) to keep many epochs from over-fitting, and no advantage
 * normalisation (with sparse rewards, normalising a batch of near-zero advantages blows noise
 * up to unit scale and a policy random-walks before it ever sees a reward). A 64×64 tanh MLP.
 */
export const DEFAULT_TRAINING: Readonly<TrainingParams> = Object.freeze({
  ...DEFAULT_PPO_HYPERPARAMS,
  lr: 3e-3,
  numEpochs: 8,
  klCoeff: 0.2,
  advantageNormalization: "none" as const,
  hidden: [64, 64],
  activation: "tanh" as const,
  vfShareLayers: false,
});

/** A scripted policy: the packed action for one flat observation row. */
export type ScriptedFn = (obsRow: Float32Array, rng: Pcg32) => number | ArrayLike<number>;

/** Declares one policy (RLlib's `PolicySpec`). */
export interface PolicySpec {
  /**
   * `"ppo"` (default): a learning actor-critic; `"random"`: uniform random actions; a function:
   * a scripted policy; an object with `create`: any {@linkcode BatchPolicy}.
   */
  policyClass?: "ppo" | "random" | ScriptedFn | {
    create(observationSpace: Space, actionSpace: Space): BatchPolicy;
  };
  /** Observation space; inferred from the first agent mapped to the policy when omitted. */
  observationSpace?: Space;
  /** Action space; inferred likewise. */
  actionSpace?: Space;
  /** Per-policy overrides of the training params (`gamma`, `lr`, `hidden`, ...). */
  config?: Partial<TrainingParams>;
}

/** Which policies learn: a list of ids or a predicate (RLlib's `policies_to_train`). */
export type PoliciesToTrain = readonly string[] | ((policyId: string) => boolean);

/** The multi-agent part of the config. */
export interface MultiAgentParams {
  /** Policies by id. */
  policies: Record<string, PolicySpec>;
  /** Maps each new agent to a policy id. */
  policyMappingFn: PolicyMappingFn;
  /** Which policies learn (default: every "ppo" policy). */
  policiesToTrain?: PoliciesToTrain;
}

/** Which tfjs backend runs the models. */
export interface BackendParams {
  /** `"wasm"` (default; SIMD) or `"cpu"` (plain JS). */
  backend: "wasm" | "cpu";
  /** Threads for the WASM backend (1 = single-threaded). */
  threads: number;
}

/** Everything a trainer needs; build it with {@linkcode PPOConfig}. */
export interface AlgorithmConfig {
  /** The env creator. */
  env: EnvCreator | undefined;
  /** The env config passed to the creator. */
  envConfig: Record<string, unknown>;
  /** Env instances stepped in one batch. */
  numEnvs: number;
  /** Env steps per env per training iteration (train batch = numEnvs × this). */
  rolloutFragmentLength: number;
  /** Training params shared by all policies. */
  training: TrainingParams;
  /** Policies, mapping and which to train. */
  multiAgent: MultiAgentParams;
  /** Backend selection. */
  backend: BackendParams;
  /** Seed: same seed, same episodes, weights and metrics. */
  seed: number;
}

/** The default single-agent setup: one "default_policy" for every agent. */
export const DEFAULT_POLICY_ID = "default_policy";

/**
 * Fluent PPO configuration. Every setter returns `this`; {@linkcode PPOConfig.validate} checks
 * the whole config and names the first bad field.
 *
 * @example Hierarchical windy maze, as in RLlib's example
 * ```ts
 * import { PPOConfig } from "./config.ts";
 * import { createHierarchicalWindyMaze } from "../envs/hierarchical_windy_maze.ts";
 * const algo = await new PPOConfig()
 *   .environment(({ numEnvs, seed }) => createHierarchicalWindyMaze(numEnvs, { seed }))
 *   .envRunners({ numEnvs: 8, rolloutFragmentLength: 32 })
 *   .training({ entropyCoeff: 0.01 })
 *   .multiAgent({
 *     policies: {
 *       high_level_policy: { config: { gamma: 0.9 } },
 *       low_level_policy: { config: { gamma: 0.0 } },
 *     },
 *     policyMappingFn: (id) => id.startsWith("low_level_") ? "low_level_policy" : "high_level_policy",
 *   })
 *   .build();
 * const result = await algo.train();
 * if (result.timesteps_total !== 256) throw new Error("one fragment of 8 envs x 32 steps");
 * algo.dispose();
 * ```
 */
export class PPOConfig {
  /** The config being built. */
  readonly config: AlgorithmConfig = {
    env: undefined,
    envConfig: {},
    numEnvs: 64,
    rolloutFragmentLength: 64,
    training: { ...DEFAULT_TRAINING, hidden: [...DEFAULT_TRAINING.hidden] },
    multiAgent: {
      policies: { [DEFAULT_POLICY_ID]: {} },
      policyMappingFn: () => DEFAULT_POLICY_ID,
    },
    backend: { backend: "wasm", threads: 1 },
    seed: 0,
  };

  /**
   * Sets the env.
   * @param env creates the batched env
   * @param envConfig passed to the creator as `envConfig`
   * @returns this
   */
  environment(env: EnvCreator, envConfig: Record<string, unknown> = {}): this {
    this.config.env = env;
    this.config.envConfig = envConfig;
    return this;
  }

  /**
   * Sets how experience is collected.
   * @param p `numEnvs` (envs batched per step) and `rolloutFragmentLength` (steps per env per
   *   iteration)
   * @returns this
   */
  envRunners(p: { numEnvs?: number; rolloutFragmentLength?: number }): this {
    if (p.numEnvs !== undefined) this.config.numEnvs = p.numEnvs;
    if (p.rolloutFragmentLength !== undefined) {
      this.config.rolloutFragmentLength = p.rolloutFragmentLength;
    }
    return this;
  }

  /**
   * Overrides training params for every policy.
   * @param p the params to change
   * @returns this
   */
  training(p: Partial<TrainingParams>): this {
    Object.assign(this.config.training, definedOnly(p));
    return this;
  }

  /**
   * Declares the policies, the mapping and which policies learn.
   * @param p see {@linkcode MultiAgentParams}
   * @returns this
   */
  multiAgent(p: MultiAgentParams): this {
    this.config.multiAgent = { ...p };
    return this;
  }

  /**
   * Chooses the tfjs backend.
   * @param p `backend` ("wasm" or "cpu") and `threads`
   * @returns this
   */
  resources(p: Partial<BackendParams>): this {
    Object.assign(this.config.backend, p);
    return this;
  }

  /**
   * Sets the seed.
   * @param p `seed`
   * @returns this
   */
  debugging(p: { seed?: number }): this {
    if (p.seed !== undefined) this.config.seed = p.seed;
    return this;
  }

  /**
   * Checks every field; throws a `RangeError` naming the field, the value and what was expected.
   * @returns this
   */
  validate(): this {
    validateConfig(this.config);
    return this;
  }

  /**
   * Validates the config and builds the trainer.
   * @returns the algorithm, ready to `train()`
   */
  async build(): Promise<import("./algorithm.ts").Algorithm> {
    this.validate();
    const { Algorithm } = await import("./algorithm.ts");
    return await Algorithm.create(this.config);
  }
}

/** The entries whose value is not undefined: an undefined override means "keep the value". */
function definedOnly<T extends object>(p: T): Partial<T> {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function positiveInt(field: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`${field} must be a positive integer, got ${JSON.stringify(v)}`);
  }
}

/**
 * Validates training params (merged with defaults).
 * @param t the params
 * @param where prefix naming where they come from, e.g. `multiAgent.policies.low.config`
 */
export function validateTraining(t: TrainingParams, where = "training"): void {
  for (const k of Object.keys(t)) {
    if (!(k in DEFAULT_TRAINING)) {
      throw new RangeError(
        `${where}: unknown training param "${k}", expected one of ${
          Object.keys(DEFAULT_TRAINING).join(", ")
        }`,
      );
    }
  }
  const { hidden, activation, vfShareLayers, ...ppo } = t;
  try {
    resolvePPOHyperparams(ppo);
  } catch (e) {
    throw new RangeError(`${where}: ${(e as Error).message}`);
  }
  if (!Array.isArray(hidden) || hidden.length === 0) {
    throw new RangeError(`${where}.hidden must be a non-empty array of layer sizes`);
  }
  hidden.forEach((h, i) => positiveInt(`${where}.hidden[${i}]`, h));
  if (activation !== "tanh" && activation !== "relu") {
    throw new RangeError(
      `${where}.activation must be "tanh" or "relu", got ${JSON.stringify(activation)}`,
    );
  }
  if (typeof vfShareLayers !== "boolean") {
    throw new RangeError(`${where}.vfShareLayers must be a boolean, got ${vfShareLayers}`);
  }
}

/**
 * The params one policy trains with: the shared params with its overrides applied.
 * @param config the whole config
 * @param policyId the policy
 * @returns merged params
 */
export function policyTraining(config: AlgorithmConfig, policyId: string): TrainingParams {
  const spec = config.multiAgent.policies[policyId];
  return { ...config.training, ...definedOnly(spec?.config ?? {}) };
}

/**
 * Validates a whole config; see {@linkcode PPOConfig.validate}.
 * @param c the config
 */
export function validateConfig(c: AlgorithmConfig): void {
  if (typeof c.env !== "function") {
    throw new RangeError(
      "environment must be set to a function (ctx) => BatchedEnv, got " + typeof c.env,
    );
  }
  positiveInt("numEnvs", c.numEnvs);
  positiveInt("rolloutFragmentLength", c.rolloutFragmentLength);
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) {
    throw new RangeError(`seed must be a non-negative safe integer, got ${c.seed}`);
  }
  validateTraining(c.training);
  const ids = Object.keys(c.multiAgent.policies);
  if (ids.length === 0) {
    throw new RangeError("multiAgent.policies must declare at least one policy");
  }
  for (const id of ids) {
    const spec = c.multiAgent.policies[id]!;
    const cls = spec.policyClass ?? "ppo";
    if (
      cls !== "ppo" && cls !== "random" && typeof cls !== "function" &&
      !(typeof cls === "object" && cls !== null && typeof cls.create === "function")
    ) {
      throw new RangeError(
        `multiAgent.policies.${id}.policyClass must be "ppo", "random", a function or {create}, got ${
          JSON.stringify(cls)
        }`,
      );
    }
    validateTraining(policyTraining(c, id), `multiAgent.policies.${id}.config`);
  }
  if (typeof c.multiAgent.policyMappingFn !== "function") {
    throw new RangeError("multiAgent.policyMappingFn must be a function (agentId, episode) => id");
  }
  const ptt = c.multiAgent.policiesToTrain;
  if (Array.isArray(ptt)) {
    for (const id of ptt) {
      if (!ids.includes(id)) {
        throw new RangeError(
          `multiAgent.policiesToTrain names unknown policy "${id}", expected one of ${
            ids.map((i) => `"${i}"`).join(", ")
          }`,
        );
      }
      const cls = c.multiAgent.policies[id]!.policyClass ?? "ppo";
      if (cls !== "ppo") {
        throw new RangeError(
          `multiAgent.policiesToTrain names "${id}", whose policyClass is not "ppo" and cannot learn`,
        );
      }
    }
  } else if (ptt !== undefined && typeof ptt !== "function") {
    throw new RangeError("multiAgent.policiesToTrain must be a list of policy ids or a predicate");
  }
  if (c.backend.backend !== "wasm" && c.backend.backend !== "cpu") {
    throw new RangeError(
      `backend must be "wasm" or "cpu", got ${JSON.stringify(c.backend.backend)}`,
    );
  }
  positiveInt("threads", c.backend.threads);
}
