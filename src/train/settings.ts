/**
 * What a trainer is built from, whatever the algorithm: the env creator, how experience is
 * collected, the multi-agent part (policies, mapping, which learn, per-policy overrides),
 * periodic evaluation, checkpoints, the backend and the seed; and the checks that name the first
 * bad field. The fluent builders
 * (`AlgorithmConfig`, `PPOConfig`) fill an {@linkcode AlgorithmSettings}.
 *
 * @module
 */

import { type Callbacks, validateCallbacks } from "./callbacks.ts";
import type { BatchedEnv } from "../env/batched.ts";
import type { PolicyMappingFn } from "../rollout/collector.ts";
import type { BatchPolicy } from "../policy/policy.ts";
import type { Pcg32 } from "../rng.ts";
import type { Space } from "../spaces.ts";
import type { AlgorithmFamily, ModelParams } from "./learner.ts";
import type { CheckpointStorage } from "./storage.ts";
import { encodeMessage } from "../runners/codec.ts";

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

/** A scripted policy: the packed action for one flat observation row. */
export type ScriptedFn = (obsRow: Float32Array, rng: Pcg32) => number | ArrayLike<number>;

/** Declares one policy (RLlib's `PolicySpec`); `P` is the algorithm's params. */
export interface PolicySpec<P extends object = object> {
  /**
   * Omitted: the algorithm's learning policy; `"random"`: uniform random actions; a function: a
   * scripted policy; an object with `create`: any {@linkcode BatchPolicy}.
   */
  policyClass?: "random" | ScriptedFn | {
    create(observationSpace: Space, actionSpace: Space): BatchPolicy;
  };
  /** Observation space; inferred from the first agent mapped to the policy when omitted. */
  observationSpace?: Space;
  /** Action space; inferred likewise. */
  actionSpace?: Space;
  /** Per-policy overrides of the algorithm's params and the model shape (`gamma`, `hidden`, ...). */
  config?: Partial<P & ModelParams>;
}

/** Which policies learn: a list of ids or a predicate (RLlib's `policies_to_train`). */
export type PoliciesToTrain = readonly string[] | ((policyId: string) => boolean);

/** The multi-agent part of a config, shared by every algorithm. */
export interface MultiAgentParams<P extends object = object> {
  /**
   * Policies by id, or a list or set of ids (each then a default learning policy with spaces
   * inferred, as RLlib allows).
   */
  policies: Record<string, PolicySpec<P>> | readonly string[] | ReadonlySet<string>;
  /** Maps each new agent to a policy id. */
  policyMappingFn: PolicyMappingFn;
  /** Which policies learn (default: every learning policy). */
  policiesToTrain?: PoliciesToTrain;
}

/** Which tfjs backend runs the models. */
export interface BackendParams {
  /** `"wasm"` (default; SIMD) or `"cpu"` (plain JS). */
  backend: "wasm" | "cpu";
  /** Threads for the WASM backend (1 = single-threaded). */
  threads: number;
}

/** Periodic evaluation (RLlib's `evaluation_interval`, `evaluation_duration`, ...). */
export interface EvaluationParams {
  /**
   * Evaluate after every this many `train()` calls (the result then carries `evaluation`);
   * 0, the default, never.
   */
  evaluationInterval: number;
  /** Episodes per evaluation (default 10; RLlib's `evaluation_duration` in episodes). */
  evaluationDuration: number;
  /** Envs an evaluation steps at once; default the smaller of `evaluationDuration` and `numEnvs`. */
  evaluationNumEnvs: number | null;
  /** Overrides for evaluation: `explore` (default false: the most likely actions). */
  evaluationConfig: { explore: boolean };
}

/** Checkpoints (RLlib's `checkpoint_frequency`, `checkpoint_at_end`, `num_to_keep`). */
export interface CheckpointParams {
  /** Where checkpoints are written; required by `save()` without a storage argument. */
  storage: CheckpointStorage | undefined;
  /** The directory of the checkpoints in the storage (default `"checkpoints"`). */
  checkpointDir: string;
  /** Save after every this many `train()` calls; 0, the default, never. */
  checkpointFreq: number;
  /** Save when the run ends, at `algo.stop()` (default false). */
  checkpointAtEnd: boolean;
  /** Keep only the newest this many checkpoints of `checkpointDir`; null, the default, all. */
  numToKeep: number | null;
}

/** Everything a trainer needs; `P` is the algorithm's params (PPO's hyperparameters, ...). */
export interface AlgorithmSettings<P extends object = object> {
  /** The algorithm. */
  family: AlgorithmFamily<P>;
  /** The env creator. */
  env: EnvCreator | undefined;
  /** The env config passed to the creator. */
  envConfig: Record<string, unknown>;
  /** Env instances stepped in one batch. */
  numEnvs: number;
  /** Step calls per env per training iteration (train batch ≈ numEnvs × this). */
  rolloutFragmentLength: number;
  /** The algorithm's params and the model shape, shared by all policies. */
  training: P & ModelParams;
  /** Policies (always by id here), mapping and which to train. */
  multiAgent: MultiAgentParams<P> & { policies: Record<string, PolicySpec<P>> };
  /** Backend selection. */
  backend: BackendParams;
  /** Seed: same seed, same episodes, weights and metrics. */
  seed: number;
  /** Periodic evaluation. */
  evaluation: EvaluationParams;
  /** Checkpoints. */
  checkpoint: CheckpointParams;
  /** User code called during training and evaluation (RLlib's callbacks). */
  callbacks?: Callbacks;
  /**
   * Parallel env runners (Web Workers); unset, or one runner without `overlap`, samples on the
   * main thread as always.
   */
  envRunners?: EnvRunnerParams;
}

/**
 * Env runners in Web Workers (RLlib's `num_env_runners`; `numEnvs` is then the envs of each
 * runner, RLlib's `num_envs_per_env_runner`). A closure cannot cross into a worker, so each
 * runner builds its env, policies and mapping from {@linkcode EnvRunnerParams.runnerModule}.
 */
export interface EnvRunnerParams {
  /**
   * Runners (workers). 1 (the default) samples on the main thread, exactly as without runners,
   * unless `overlap` is set, which then uses one worker.
   */
  numEnvRunners: number;
  /**
   * The module each runner imports (an absolute URL string, e.g.
   * `new URL("./my_config.ts", import.meta.url).href`). It exports `config`: an
   * `AlgorithmConfig`, or a function (sync or async) of {@linkcode EnvRunnerParams.runnerArgs}
   * returning one. The runner takes from it what cannot be sent (the env creator, the mapping,
   * `policiesToTrain`, policy classes); `numEnvs`, `rolloutFragmentLength`, `envConfig`, the
   * training params, per-policy overrides, the backend and the seed come from the trainer.
   */
  runnerModule: string | undefined;
  /**
   * The worker script each runner runs instead of the package's own (an absolute URL string): an
   * entry of one's own that calls `serveEnvRunner(config)` with the config it imports, bundled
   * on its own. For where a worker cannot import `runnerModule` at run time (a browser page's
   * bundles); `runnerModule` is then not needed. Default: the package's worker.
   */
  runnerWorker: string | undefined;
  /** Passed to the module's `config` when it is a function (structured-cloneable). */
  runnerArgs: unknown;
  /**
   * Sample the next fragment with the previous weights while the learner updates (RLlib's
   * async sampling, one update stale; results report `weights_staleness`, and learners are told:
   * PPO learns such a batch with the decoupled objective, see `PPOBatch.weightsStaleness`).
   */
  overlap: boolean;
  /**
   * Base URLs of remote env runners (HTTP runners, `httpRunner` of `src/runners/http_runner.ts`,
   * e.g. workerd processes or Cloudflare Workers), one runner each, instead of Web Workers:
   * `numEnvRunners` is then their number (leave it unset), `runnerModule` is not used (each
   * runner serves the config it was bundled with) and `runnerArgs` reach that config. A runner
   * that fails or times out is dropped and its fragment re-issued to another (see
   * `src/runners/remote_pool.ts`).
   */
  remoteRunners: string[] | undefined;
  /**
   * How long one request to a remote runner may take before it counts as lost, in ms (a runner
   * samples its re-issued requests after its own, so allow two fragments' time). With `overlap`
   * the clock runs while the learner updates and timers fire only after the update: keep it
   * above an update's duration.
   */
  remoteTimeoutMs: number;
  /**
   * How long after a remote runner was lost the trainer tries to restart it (RLlib's
   * `restart_failed_env_runners` with `delay_between_env_runner_restarts_s`), in ms; it is
   * re-initialised in the background when a fragment is next requested and used again once it
   * answers. `null` (or `Infinity`): a lost runner stays lost until a checkpoint is restored.
   */
  remoteRestartDelayMs: number | null;
  /**
   * Restart a runner whose own code fails (an env error, a bad action, an uncaught error in
   * its worker) instead of failing the run (RLlib's `restart_failed_env_runners`; default false:
   * an error in the env is usually a bug, and it is reported at once with the runner's message).
   * Web Workers: the runner is replaced at once by a fresh worker (the seeds of its next
   * generation, the policies added since, the current weights) and sent again the requests it had
   * not answered, so the iteration still gathers every runner's fragment. Remote runners: it
   * counts as lost (its fragment re-issued to another, restarted after `remoteRestartDelayMs`).
   * A lost remote runner (a transport failure) is restarted whatever this says.
   */
  restartFailedEnvRunners: boolean;
  /**
   * Restarts allowed in all before a failure fails the run (Web Workers) or a lost runner stays
   * lost (remote runners); RLlib's `max_num_env_runner_restarts`, default 1000. An error that
   * recurs in every new runner is reported only once they are used up: set a few to hear of a
   * bug sooner.
   */
  maxEnvRunnerRestarts: number;
}

/**
 * The env runner defaults: one runner on the main thread, no overlap, no remote runners
 * (a remote request may take 30 s).
 */
export const DEFAULT_ENV_RUNNERS: Readonly<EnvRunnerParams> = Object.freeze({
  numEnvRunners: 1,
  runnerModule: undefined,
  runnerWorker: undefined,
  runnerArgs: undefined,
  overlap: false,
  remoteRunners: undefined,
  remoteTimeoutMs: 30_000,
  remoteRestartDelayMs: 60_000,
  restartFailedEnvRunners: false,
  maxEnvRunnerRestarts: 1000,
});

/**
 * Whether a config samples in env runners (more than one runner, `overlap`, or remote runners).
 * @param c the settings
 * @returns true when env runners (Web Workers or remote runners) sample
 */
export function usesWorkers<P extends object>(c: AlgorithmSettings<P>): boolean {
  const r = c.envRunners;
  return r !== undefined && (r.numEnvRunners > 1 || r.overlap || usesRemoteRunners(c));
}

/**
 * Whether a config samples in remote (HTTP) env runners.
 * @param c the settings
 * @returns true when `envRunners.remoteRunners` is set
 */
export function usesRemoteRunners<P extends object>(c: AlgorithmSettings<P>): boolean {
  return c.envRunners?.remoteRunners !== undefined;
}

/**
 * Families runner-safe by name (PPO: its post-processing writes only the batch's columns); others
 * declare `samplesInRunners` (DQN).
 */
const RUNNER_FAMILIES = ["PPO"];

function validateEnvRunners<P extends object>(c: AlgorithmSettings<P>): void {
  const r = c.envRunners;
  if (r === undefined) return;
  positiveInt("envRunners.numEnvRunners", r.numEnvRunners);
  if (typeof r.overlap !== "boolean") {
    throw new RangeError(`envRunners.overlap must be a boolean, got ${JSON.stringify(r.overlap)}`);
  }
  if (typeof r.restartFailedEnvRunners !== "boolean") {
    throw new RangeError(
      `envRunners.restartFailedEnvRunners must be a boolean, got ${
        JSON.stringify(r.restartFailedEnvRunners)
      }`,
    );
  }
  const m = r.maxEnvRunnerRestarts;
  if (!(Number.isInteger(m) && m >= 0)) {
    throw new RangeError(
      `envRunners.maxEnvRunnerRestarts must be an integer >= 0, got ${JSON.stringify(m)}`,
    );
  }
  const remote = r.remoteRunners !== undefined;
  if (remote) validateRemoteRunners(r);
  if (!usesWorkers(c)) return;
  if (r.runnerWorker !== undefined) {
    let ok = typeof r.runnerWorker === "string";
    try {
      if (ok) new URL(r.runnerWorker);
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new RangeError(
        `envRunners.runnerWorker must be an absolute URL of a worker script (new URL("./runner_worker.js", location.href).href), got ${
          JSON.stringify(r.runnerWorker)
        }`,
      );
    }
    if (remote) {
      throw new RangeError(
        "envRunners.runnerWorker is for Web Worker runners; remote runners serve their own code: leave one of them unset",
      );
    }
  }
  // Each remote runner serves the config it was bundled with, and a runner worker of one's own
  // the config it imports: no module to import.
  const imports = !remote && r.runnerWorker === undefined;
  if (imports && (typeof r.runnerModule !== "string" || r.runnerModule === "")) {
    throw new RangeError(
      `envRunners.runnerModule is needed with numEnvRunners ${r.numEnvRunners}${
        r.overlap ? " and overlap" : ""
      }: a worker cannot receive the env creator (a closure), so give the URL of a module ` +
        `exporting \`config\` (an AlgorithmConfig or a function returning one), e.g. ` +
        `new URL("./my_config.ts", import.meta.url).href (or a runnerWorker serving its config)`,
    );
  }
  if (imports) {
    try {
      new URL(r.runnerModule!);
    } catch {
      throw new RangeError(
        `envRunners.runnerModule must be an absolute URL (new URL("./x.ts", import.meta.url).href), got ${
          JSON.stringify(r.runnerModule)
        }`,
      );
    }
  }
  if (!RUNNER_FAMILIES.includes(c.family.name) && c.family.samplesInRunners !== true) {
    throw new RangeError(
      `envRunners: ${c.family.name} cannot sample in env runners: its family does not declare ` +
        `samplesInRunners (its learners must keep nothing between postprocess and learn, or carry ` +
        `it with takePostprocessed/putPostprocessed); ${
          RUNNER_FAMILIES.join(", ")
        } and families that declare it run with numEnvRunners > 1, overlap or remote runners`,
    );
  }
  const ck = c.checkpoint as CheckpointParams | undefined;
  if (r.overlap && ck !== undefined && (ck.checkpointFreq > 0 || ck.checkpointAtEnd)) {
    throw new RangeError(
      "envRunners: checkpoints (checkpointFreq, checkpointAtEnd) are not supported with overlap yet " +
        "(a fragment is always in flight); turn overlap off to checkpoint",
    );
  }
  if (remote) {
    try {
      encodeMessage([r.runnerArgs, c.envConfig, c.training]);
    } catch (e) {
      throw new RangeError(
        `envRunners: runnerArgs, envConfig and the training params must be plain data (JSON values and typed arrays) to reach remote runners: ${
          (e as Error).message
        }`,
      );
    }
    return;
  }
  try {
    structuredClone([r.runnerArgs, c.envConfig, c.training]);
  } catch (e) {
    throw new RangeError(
      `envRunners: runnerArgs, envConfig and the training params must be structured-cloneable to reach the workers: ${
        (e as Error).message
      }`,
    );
  }
}

function validateRemoteRunners(r: EnvRunnerParams): void {
  const urls = r.remoteRunners as unknown;
  if (!Array.isArray(urls) || urls.length === 0) {
    throw new RangeError(
      `envRunners.remoteRunners must be a non-empty list of runner URLs (e.g. ["http://127.0.0.1:9101"]), got ${
        JSON.stringify(urls)
      }`,
    );
  }
  const seen = new Map<string, number>();
  urls.forEach((u: unknown, i) => {
    let url: URL | undefined;
    try {
      url = typeof u === "string" ? new URL(u) : undefined;
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
      throw new RangeError(
        `envRunners.remoteRunners[${i}] must be an absolute http(s) URL of a runner (e.g. "http://127.0.0.1:9101"), got ${
          JSON.stringify(u)
        }`,
      );
    }
    const key = url.href.replace(/\/$/, "");
    const j = seen.get(key);
    if (j !== undefined) {
      throw new RangeError(
        `envRunners.remoteRunners[${i}] repeats remoteRunners[${j}] (${key}): each URL is one runner holding its own envs, so list each once`,
      );
    }
    seen.set(key, i);
  });
  if (r.numEnvRunners !== 1 && r.numEnvRunners !== urls.length) {
    throw new RangeError(
      `envRunners.numEnvRunners is ${r.numEnvRunners} with ${urls.length} remoteRunners: the remote runners are the runners (one per URL); leave numEnvRunners unset`,
    );
  }
  positiveInt("envRunners.remoteTimeoutMs", r.remoteTimeoutMs);
  const d = r.remoteRestartDelayMs;
  if (d !== null && !(typeof d === "number" && d >= 0)) {
    throw new RangeError(
      `envRunners.remoteRestartDelayMs must be a number of ms ≥ 0 (or null: never restart), got ${
        String(d)
      }`,
    );
  }
}

/** The evaluation defaults: off, 10 episodes, greedy. */
export const DEFAULT_EVALUATION: Readonly<EvaluationParams> = Object.freeze({
  evaluationInterval: 0,
  evaluationDuration: 10,
  evaluationNumEnvs: null,
  evaluationConfig: Object.freeze({ explore: false }),
});

/** The checkpoint defaults: no storage, `"checkpoints"`, no periodic or final save, keep all. */
export const DEFAULT_CHECKPOINT: Readonly<CheckpointParams> = Object.freeze({
  storage: undefined,
  checkpointDir: "checkpoints",
  checkpointFreq: 0,
  checkpointAtEnd: false,
  numToKeep: null,
});

/** The default single-agent setup: one "default_policy" for every agent. */
export const DEFAULT_POLICY_ID = "default_policy";

/**
 * The policies of a `multiAgent` call by id: a list or set of ids becomes default specs.
 * @param policies a record, list or set
 * @returns policies by id
 */
export function policiesById<P extends object>(
  policies: MultiAgentParams<P>["policies"],
): Record<string, PolicySpec<P>> {
  if (Array.isArray(policies) || policies instanceof Set) {
    const out: Record<string, PolicySpec<P>> = {};
    for (const id of policies as Iterable<unknown>) {
      if (typeof id !== "string") {
        throw new RangeError(
          `multiAgent.policies: a list or set of policy ids must hold strings, got ${
            JSON.stringify(id)
          }`,
        );
      }
      out[id] = {};
    }
    return out;
  }
  return policies as Record<string, PolicySpec<P>>;
}

/**
 * The entries whose value is not undefined: an undefined override means "keep the value".
 * @param p an object
 * @returns its defined entries
 */
export function definedOnly<T extends object>(p: T): Partial<T> {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function positiveInt(field: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`${field} must be a positive integer, got ${JSON.stringify(v)}`);
  }
}

/**
 * Whether a policy spec is the algorithm's learning policy.
 * @param spec the spec
 * @returns true when it has no `policyClass`
 */
export function learns(spec: PolicySpec<object>): boolean {
  return spec.policyClass === undefined;
}

/**
 * Splits params into the algorithm's part and the model shape, after checking every key.
 * @param family the algorithm
 * @param t the params (algorithm and model)
 * @param where where they come from, for errors
 * @returns the algorithm's resolved params and the model params
 */
export function splitParams<P extends object>(
  family: AlgorithmFamily<P>,
  t: P & ModelParams,
  where = "training",
): { params: P; model: ModelParams } {
  for (const k of Object.keys(t)) {
    if (!(k in family.defaults)) {
      throw new RangeError(
        `${where}: unknown training param "${k}", expected one of ${
          Object.keys(family.defaults).join(", ")
        }`,
      );
    }
  }
  const { hidden, activation, vfShareLayers, encoderSize, initialLogStd, features, ...rest } = t;
  let params: P;
  try {
    params = family.resolve(rest as unknown as Partial<P>);
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
  if (typeof encoderSize !== "number" || !Number.isInteger(encoderSize) || encoderSize < 0) {
    throw new RangeError(
      `${where}.encoderSize must be an integer >= 0, got ${JSON.stringify(encoderSize)}`,
    );
  }
  if (typeof initialLogStd !== "number" || !Number.isFinite(initialLogStd)) {
    throw new RangeError(
      `${where}.initialLogStd must be a finite number, got ${JSON.stringify(initialLogStd)}`,
    );
  }
  if (
    !Array.isArray(features) ||
    !features.every((f) =>
      typeof f === "object" && f !== null &&
      ((f.kind === "gather" && typeof f.index === "string" && typeof f.rows === "string") ||
        (f.kind === "dot" && typeof f.rows === "string" && typeof f.vector === "string"))
    )
  ) {
    throw new RangeError(
      `${where}.features must be a list of {kind: "gather", index, rows} or {kind: "dot", rows, vector} with string keys, got ${
        JSON.stringify(features)
      }`,
    );
  }
  return {
    params,
    model: { hidden, activation, vfShareLayers, encoderSize, initialLogStd, features },
  };
}

/**
 * The params one policy trains with: the shared params with its overrides applied.
 * @param s the settings
 * @param policyId the policy
 * @returns merged params
 */
export function policyParams<P extends object>(
  s: AlgorithmSettings<P>,
  policyId: string,
): P & ModelParams {
  const spec = s.multiAgent.policies[policyId];
  return { ...s.training, ...definedOnly(spec?.config ?? {}) } as P & ModelParams;
}

/**
 * Whether a policy learns: a learning policy that `policiesToTrain` names (all, when unset).
 * @param s the settings
 * @param policyId the policy
 * @returns true when its learner updates it
 */
export function isTrained<P extends object>(s: AlgorithmSettings<P>, policyId: string): boolean {
  const spec = s.multiAgent.policies[policyId];
  if (spec === undefined || !learns(spec)) return false;
  const ptt = s.multiAgent.policiesToTrain;
  return ptt === undefined
    ? true
    : typeof ptt === "function"
    ? ptt(policyId)
    : ptt.includes(policyId);
}

/**
 * Validates a whole config; throws a `RangeError` naming the field, the value and what was
 * expected.
 * @param c the settings
 */
export function validateSettings<P extends object>(c: AlgorithmSettings<P>): void {
  if (typeof c.env !== "function") {
    throw new RangeError(
      "environment must be set to a function (ctx) => BatchedEnv, got " + typeof c.env,
    );
  }
  positiveInt("numEnvs", c.numEnvs);
  positiveInt("rolloutFragmentLength", c.rolloutFragmentLength);
  validateEnvRunners(c);
  validateCallbacks(c.callbacks);
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) {
    throw new RangeError(`seed must be a non-negative safe integer, got ${c.seed}`);
  }
  splitParams(c.family, c.training);
  const ids = Object.keys(c.multiAgent.policies);
  if (ids.length === 0) {
    throw new RangeError("multiAgent.policies must declare at least one policy");
  }
  for (const id of ids) {
    const spec = c.multiAgent.policies[id];
    if (typeof spec !== "object" || spec === null) {
      throw new RangeError(
        `multiAgent.policies.${id} must be a PolicySpec object, got ${JSON.stringify(spec)}`,
      );
    }
    const cls = spec.policyClass;
    if (
      cls !== undefined && cls !== "random" && typeof cls !== "function" &&
      !(typeof cls === "object" && cls !== null && typeof cls.create === "function")
    ) {
      throw new RangeError(
        `multiAgent.policies.${id}.policyClass must be omitted (the ${c.family.name} learning policy), "random", a function or {create}, got ${
          JSON.stringify(cls)
        }`,
      );
    }
    splitParams(c.family, policyParams(c, id), `multiAgent.policies.${id}.config`);
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
      if (!learns(c.multiAgent.policies[id]!)) {
        throw new RangeError(
          `multiAgent.policiesToTrain names "${id}", which has a policyClass and cannot learn`,
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
  const ev = c.evaluation ?? DEFAULT_EVALUATION;
  nonNegativeInt("evaluation.evaluationInterval", ev.evaluationInterval);
  positiveInt("evaluation.evaluationDuration", ev.evaluationDuration);
  if (ev.evaluationNumEnvs !== null) {
    positiveInt("evaluation.evaluationNumEnvs", ev.evaluationNumEnvs);
  }
  if (typeof ev.evaluationConfig?.explore !== "boolean") {
    throw new RangeError(
      `evaluation.evaluationConfig.explore must be a boolean, got ${
        JSON.stringify(ev.evaluationConfig?.explore)
      }`,
    );
  }
  const ck = c.checkpoint ?? DEFAULT_CHECKPOINT;
  nonNegativeInt("checkpointing.checkpointFreq", ck.checkpointFreq);
  if (typeof ck.checkpointAtEnd !== "boolean") {
    throw new RangeError(
      `checkpointing.checkpointAtEnd must be a boolean, got ${JSON.stringify(ck.checkpointAtEnd)}`,
    );
  }
  if (ck.numToKeep !== null) positiveInt("checkpointing.numToKeep", ck.numToKeep);
  if (typeof ck.checkpointDir !== "string") {
    throw new RangeError(
      `checkpointing.checkpointDir must be a string, got ${JSON.stringify(ck.checkpointDir)}`,
    );
  }
  const st = ck.storage as Partial<CheckpointStorage> | undefined;
  if (
    st !== undefined &&
    (typeof st !== "object" || st === null ||
      !(["read", "write", "list", "remove"] as const).every((m) => typeof st[m] === "function"))
  ) {
    throw new RangeError(
      "checkpointing.storage must be a CheckpointStorage (read, write, list, remove), e.g. new FileStorage(dir) or new MemoryStorage()",
    );
  }
  if ((ck.checkpointFreq > 0 || ck.checkpointAtEnd) && st === undefined) {
    throw new RangeError(
      "checkpointing.checkpointFreq and checkpointAtEnd need checkpointing.storage, e.g. new FileStorage(dir)",
    );
  }
}

function nonNegativeInt(field: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new RangeError(`${field} must be an integer >= 0, got ${JSON.stringify(v)}`);
  }
}
