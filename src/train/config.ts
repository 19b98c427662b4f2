/**
 * {@linkcode AlgorithmConfig}: the fluent, typed builder every algorithm's config extends, in
 * the spirit of RLlib's `AlgorithmConfig().environment(...).multi_agent(...).training(...)`.
 * The env, the env runners, the multi-agent part (policies, mapping, `policiesToTrain`,
 * per-policy overrides), evaluation, checkpoints, the backend and the seed are set the same
 * way for every algorithm; only `.training()` takes the algorithm's own params.
 *
 * @module
 */

import type { Callbacks } from "./callbacks.ts";
import { Algorithm } from "./algorithm.ts";
import type { AlgorithmFamily, ModelParams } from "./learner.ts";
import {
  type AlgorithmSettings,
  type BackendParams,
  type CheckpointParams,
  DEFAULT_CHECKPOINT,
  DEFAULT_ENV_RUNNERS,
  DEFAULT_EVALUATION,
  DEFAULT_POLICY_ID,
  definedOnly,
  type EnvCreator,
  type EnvRunnerParams,
  type EvaluationParams,
  type MultiAgentParams,
  policiesById,
  validateSettings,
} from "./settings.ts";

/**
 * The fluent config of an algorithm whose params are `P`. Every setter returns `this`;
 * {@linkcode AlgorithmConfig.validate} checks the whole config and names the first bad field;
 * {@linkcode AlgorithmConfig.build} makes the trainer. Subclasses (e.g. `PPOConfig`) fix the
 * algorithm.
 */
export class AlgorithmConfig<P extends object> {
  /** The settings being built. */
  readonly config: AlgorithmSettings<P>;

  /**
   * Starts from the algorithm's defaults: 64 envs × 64 steps per iteration, one
   * `"default_policy"` for every agent, the WASM backend on one thread, seed 0.
   * @param family the algorithm
   */
  constructor(family: AlgorithmFamily<P>) {
    const d = family.defaults;
    this.config = {
      family,
      env: undefined,
      envConfig: {},
      numEnvs: 64,
      rolloutFragmentLength: 64,
      training: { ...d, hidden: [...d.hidden], features: [...d.features] } as P & ModelParams,
      multiAgent: {
        policies: { [DEFAULT_POLICY_ID]: {} },
        policyMappingFn: () => DEFAULT_POLICY_ID,
      },
      backend: { backend: "wasm", threads: 1 },
      seed: 0,
      evaluation: { ...DEFAULT_EVALUATION, evaluationConfig: { explore: false } },
      checkpoint: { ...DEFAULT_CHECKPOINT },
    };
  }

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
   * @param p `numEnvs` (envs batched per step; per runner with runners) and
   *   `rolloutFragmentLength` (step calls per env per iteration); for parallel sampling in Web
   *   Workers, `numEnvRunners`, `runnerModule`, `runnerArgs` and `overlap`; in remote (HTTP)
   *   runners, `remoteRunners` (their URLs), `remoteTimeoutMs` and `remoteRestartDelayMs`; for
   *   either, `restartFailedEnvRunners` and `maxEnvRunnerRestarts` (see
   *   {@linkcode EnvRunnerParams})
   * @returns this
   */
  envRunners(
    p: { numEnvs?: number; rolloutFragmentLength?: number } & Partial<EnvRunnerParams>,
  ): this {
    const { numEnvs, rolloutFragmentLength, ...runners } = p;
    if (numEnvs !== undefined) this.config.numEnvs = numEnvs;
    if (rolloutFragmentLength !== undefined) {
      this.config.rolloutFragmentLength = rolloutFragmentLength;
    }
    const given = definedOnly(runners);
    if (Object.keys(given).length > 0) {
      this.config.envRunners = {
        ...(this.config.envRunners ?? DEFAULT_ENV_RUNNERS),
        ...given,
      };
    }
    return this;
  }

  /**
   * Overrides the algorithm's params and the model shape for every policy; an undefined value
   * keeps the current one.
   * @param p the params to change
   * @returns this
   */
  training(p: Partial<P & ModelParams>): this {
    Object.assign(this.config.training, definedOnly(p));
    return this;
  }

  /**
   * Declares the policies (by id, or a list or set of ids), the mapping and which policies
   * learn.
   * @param p see {@linkcode MultiAgentParams}
   * @returns this
   */
  multiAgent(p: MultiAgentParams<P>): this {
    this.config.multiAgent = { ...p, policies: policiesById(p.policies) };
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
   * Sets the callbacks (RLlib's `.callbacks(...)`): an object, or an instance of your class,
   * with any of `onAlgorithmInit`, `onEpisodeStart`, `onEpisodeStep`, `onEpisodeEnd`,
   * `onSampleEnd`, `onTrainResult`, `onEvaluateStart`, `onEvaluateEnd` (see `Callbacks`).
   * Env runners in workers take the callbacks of their runner module's config.
   * @param c the callbacks
   * @returns this
   */
  callbacks(c: Callbacks): this {
    this.config.callbacks = c;
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
   * Sets periodic evaluation (RLlib's `.evaluation(...)`): every `evaluationInterval`-th
   * `train()` result then carries `evaluation`, the metrics of `evaluationDuration` episodes on
   * envs of their own (see `Algorithm.evaluate`).
   * @param p `evaluationInterval` (0: never), `evaluationDuration` (episodes),
   *   `evaluationNumEnvs` (envs stepped at once) and `evaluationConfig.explore` (default false)
   * @returns this
   */
  evaluation(
    p: Partial<Omit<EvaluationParams, "evaluationConfig">> & {
      evaluationConfig?: Partial<EvaluationParams["evaluationConfig"]>;
    },
  ): this {
    const { evaluationConfig, ...rest } = p;
    Object.assign(this.config.evaluation, definedOnly(rest));
    if (evaluationConfig !== undefined) {
      Object.assign(this.config.evaluation.evaluationConfig, definedOnly(evaluationConfig));
    }
    return this;
  }

  /**
   * Sets checkpoints: where they go (`storage`, `checkpointDir`), how often `train()` saves one
   * (`checkpointFreq`), whether `algo.stop()` saves a last one (`checkpointAtEnd`) and how many
   * to keep (`numToKeep`).
   * @param p the checkpoint params to change
   * @returns this
   */
  checkpointing(p: Partial<CheckpointParams>): this {
    const { storage, ...rest } = p;
    Object.assign(this.config.checkpoint, definedOnly(rest));
    if ("storage" in p) this.config.checkpoint.storage = storage;
    return this;
  }

  /**
   * Checks every field; throws a `RangeError` naming the field, the value and what was expected.
   * @returns this
   */
  validate(): this {
    validateSettings(this.config);
    return this;
  }

  /**
   * Validates the config and builds the trainer.
   * @returns the algorithm, ready to `train()`
   */
  async build(): Promise<Algorithm<P>> {
    this.validate();
    return await Algorithm.create(this.config);
  }
}
