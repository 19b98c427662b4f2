/**
 * One env runner, whatever carries its messages: {@linkcode RunnerCore} builds a trainer of its
 * own from the user's runner config (an `AlgorithmConfig`, or a function of `runnerArgs`
 * returning one) with what the trainer sends (envs per runner, fragment length, env config,
 * training params, per-policy overrides, backend, seed, per-runner env and sampling seeds),
 * samples one post-processed fragment per request (PPO: GAE, V(final obs) included) with the
 * weights it is sent, and saves or restores its state (a checkpoint of its own trainer). The Web
 * Worker (`worker.ts`) and the HTTP runner (`http_runner.ts`, e.g. in workerd) both drive one.
 * No `Deno.*`: Web APIs only.
 *
 * @module
 */

import { copySampleBatch } from "../rollout/buffer.ts";
import { Algorithm } from "../train/algorithm.ts";
import { spaceFromJSON, spaceToJSON } from "../train/checkpoint.ts";
import { MemoryStorage } from "../train/storage.ts";
import type { AlgorithmConfig } from "../train/config.ts";
import {
  type AlgorithmSettings,
  DEFAULT_CHECKPOINT,
  DEFAULT_EVALUATION,
} from "../train/settings.ts";
import { takeNewEpisodes } from "./metrics.ts";
import {
  batchTransferables,
  envSignature,
  type FragmentMessage,
  type InitMessage,
  packBatch,
  type PolicySpaces,
  type PolicyUpdate,
  type SampleMessage,
} from "./protocol.ts";
import type { PolicyMappingFn } from "../rollout/collector.ts";

/**
 * What a runner builds from: an `AlgorithmConfig`, or a function (sync or async) of the
 * trainer's `runnerArgs` returning one (the `config` export of a runner module). The argument
 * is typed `never` so that a function of any argument type fits: it receives the trainer's
 * `runnerArgs` as they are.
 */
export type RunnerConfigSource =
  | AlgorithmConfig<object>
  | ((args: never) => AlgorithmConfig<object> | Promise<AlgorithmConfig<object>>);

/** Options of {@linkcode RunnerCore.create}. */
export interface RunnerCoreOptions {
  /** Names the config's origin in errors (the module URL, or "the HTTP runner's config"). */
  source: string;
  /**
   * The backend this runner runs its model copies on, instead of the trainer's (a remote runner
   * chooses its own: it only runs inference). Default: the trainer's.
   */
  backend?: { backend: "wasm" | "cpu"; threads: number };
}

/** One env runner's trainer and what it answers. */
export class RunnerCore {
  /** The runner's own trainer (its envs, collector and model copies). */
  readonly algo: Algorithm;
  /** The version of the weights it last sampled with (undefined: none yet). */
  weightsVersion: number | undefined;
  readonly #config: unknown;
  readonly #source: string;

  private constructor(algo: Algorithm, config: unknown, source: string) {
    this.algo = algo;
    this.#config = config;
    this.#source = source;
  }

  /**
   * Builds the runner's trainer: the config's env creator, mapping, `policiesToTrain` and policy
   * classes, with everything else from the trainer's init message.
   * @param m the trainer's init message
   * @param config the runner config (or the module's `config` export)
   * @param opts where the config comes from, the backend
   * @returns the runner
   * @throws {TypeError} when `config` is not a config; {RangeError} when it runs another
   *   algorithm or declares other policies than the trainer
   */
  static async create(
    m: Omit<InitMessage, "type">,
    config: unknown,
    opts: RunnerCoreOptions,
  ): Promise<RunnerCore> {
    const cfg = typeof config === "function"
      ? await (config as (args: unknown) => unknown)(m.runnerArgs)
      : config;
    const base = (cfg as { config?: AlgorithmSettings<object> } | undefined)?.config;
    if (base === undefined || typeof base !== "object" || base.family === undefined) {
      throw new TypeError(
        `${opts.source} must export \`config\`: an AlgorithmConfig (e.g. new PPOConfig()...) or a function returning one`,
      );
    }
    if (base.family.name !== m.family) {
      throw new RangeError(
        `${opts.source} configures ${base.family.name}, the trainer runs ${m.family}`,
      );
    }
    const ids = Object.keys(base.multiAgent.policies);
    if (ids.join("\0") !== m.policyIds.join("\0")) {
      throw new RangeError(
        `${opts.source} declares policies [${ids.join(", ")}], the trainer [${
          m.policyIds.join(", ")
        }] (same ids, same order)`,
      );
    }
    const policies: AlgorithmSettings<object>["multiAgent"]["policies"] = {};
    for (const id of ids) {
      policies[id] = { ...base.multiAgent.policies[id], config: m.policyConfigs[id] };
    }
    const settings: AlgorithmSettings<object> = {
      ...base,
      envConfig: m.envConfig,
      numEnvs: m.numEnvs,
      rolloutFragmentLength: m.rolloutFragmentLength,
      training: m.training as AlgorithmSettings<object>["training"],
      multiAgent: { ...base.multiAgent, policies },
      backend: opts.backend ?? m.backend,
      seed: m.seed,
      evaluation: { ...DEFAULT_EVALUATION, evaluationConfig: { explore: false } },
      checkpoint: { ...DEFAULT_CHECKPOINT },
      envRunners: undefined,
    };
    const algo = await Algorithm.create(settings, {
      envSeed: m.envSeed,
      collectorSeed: m.collectorSeed,
    });
    const env = envSignature(algo.env);
    if (m.env !== undefined && env !== m.env) {
      algo.dispose();
      throw new RangeError(
        `${opts.source} builds another env than the trainer's: the runner's is a ${env}, the trainer's a ${m.env}`,
      );
    }
    const core = new RunnerCore(algo, config, opts.source);
    try {
      for (const u of m.policyUpdates ?? []) await core.updatePolicies(u);
    } catch (e) {
      algo.dispose();
      throw e;
    }
    return core;
  }

  /**
   * Adds or removes a policy as the trainer did (`Algorithm.addPolicy`/`removePolicy`): the
   * added policy is built from its spaces (or from its first agent's), its weights arrive with
   * the next sample request; with `mapping`, the runner's new policy mapping is that of its
   * config rebuilt from the new `runnerArgs`.
   * @param u the update
   * @throws {TypeError} when the mapping must change but the runner's config is not a function
   *   of `runnerArgs`; {RangeError} from `addPolicy`/`removePolicy`
   */
  async updatePolicies(u: PolicyUpdate): Promise<void> {
    let policyMappingFn: PolicyMappingFn | undefined;
    if (u.mapping !== null) {
      if (typeof this.#config !== "function") {
        throw new TypeError(
          `${this.#source} exports \`config\` as a config, not as a function of runnerArgs: the runner cannot rebuild its policy mapping for the new runnerArgs of ${
            u.add !== undefined ? `addPolicy("${u.add.policyId}")` : `removePolicy("${u.remove}")`
          }`,
        );
      }
      const cfg = await (this.#config as (args: unknown) => unknown)(u.mapping.runnerArgs);
      const fn = (cfg as { config?: AlgorithmSettings<object> } | undefined)?.config?.multiAgent
        ?.policyMappingFn;
      if (typeof fn !== "function") {
        throw new TypeError(
          `${this.#source}: config(runnerArgs) returned no AlgorithmConfig with a policyMappingFn`,
        );
      }
      policyMappingFn = fn;
    }
    const a = this.algo;
    if (u.add !== undefined) {
      const x = u.add;
      a.addPolicy(x.policyId, {
        observationSpace: x.observationSpace === null
          ? undefined
          : spaceFromJSON(x.observationSpace),
        actionSpace: x.actionSpace === null ? undefined : spaceFromJSON(x.actionSpace),
        ...(x.config !== undefined ? { config: x.config } : {}),
        ...(x.policyClass !== undefined ? { policyClass: x.policyClass } : {}),
      }, { policyMappingFn, policiesToTrain: u.policiesToTrain });
    }
    if (u.remove !== undefined) a.removePolicy(u.remove, { policyMappingFn });
  }

  /**
   * Samples one fragment: builds policies first built on the trainer, loads the weights, lets
   * the learners' schedules see the step count, collects, post-processes each trained policy's
   * rows with the runner's model copy, and takes the fragment's finished episodes.
   * @param m the request
   * @returns the fragment and the buffers to transfer
   * @throws {RangeError} when the request omits weights of a version this runner does not hold
   */
  sample(m: SampleMessage): { msg: FragmentMessage; transfer: ArrayBuffer[] } {
    const a = this.algo;
    const t0 = performance.now();
    if (m.weightsOmitted === true && m.weightsVersion !== this.weightsVersion) {
      throw new RangeError(
        `sample request ${m.id} omits the weights of version ${m.weightsVersion}, this runner holds version ${this.weightsVersion}`,
      );
    }
    const ids = a.policyIds;
    ids.forEach((id, p) => {
      const sp = m.spaces[p];
      if (sp !== null && sp !== undefined && a.getPolicy(id) === undefined) {
        a.adoptPolicy(
          id,
          spaceFromJSON(sp.observationSpace),
          spaceFromJSON(sp.actionSpace),
          sp.inferredFrom ?? undefined,
        );
      }
      const w = m.weights[p];
      if (w !== null && w !== undefined) a.getModel(id)?.setFlatWeights(w);
    });
    if (m.weightsVersion !== undefined) this.weightsVersion = m.weightsVersion;
    for (const id of ids) a.getLearner(id)?.beforeSample(m.timesteps);
    const c = a.collector;
    const env0 = c.envSteps;
    const agents0 = Array.from(c.agentSteps);
    c.collect();
    const transfer: ArrayBuffer[] = [];
    const batches = ids.map((id, p) => {
      const buf = c.buffer(p);
      const learner = a.getLearner(id);
      if (learner === undefined || buf === undefined) return null;
      learner.postprocess(buf);
      const b = packBatch(copySampleBatch(buf.compact()));
      b.learnerColumns = learner.takePostprocessed?.() ?? null;
      transfer.push(...batchTransferables(b));
      return b;
    });
    const built = ids.map((id): PolicySpaces | null => {
      const s = a.policySpaces(id);
      return s === undefined ? null : {
        observationSpace: spaceToJSON(s.observationSpace),
        actionSpace: spaceToJSON(s.actionSpace),
        inferredFrom: s.inferredFrom ?? null,
      };
    });
    const episodes = takeNewEpisodes(c.getState(false), ids.length);
    c.takeIterationCounts();
    return {
      msg: {
        type: "fragment",
        id: m.id,
        envSteps: c.envSteps - env0,
        agentSteps: Array.from(c.agentSteps, (n, p) => n - agents0[p]!),
        batches,
        built,
        episodes,
        customMetrics: a.takeCustomMetricSums(),
        seconds: (performance.now() - t0) / 1000,
      },
      transfer,
    };
  }

  /**
   * The runner's state: a checkpoint of its own trainer (envs, collector, random streams).
   * @returns the checkpoint's bytes
   */
  async save(): Promise<Uint8Array> {
    const storage = new MemoryStorage();
    await this.algo.save({ storage, path: "runner.ckpt" });
    return (await storage.read("runner.ckpt"))!;
  }

  /**
   * Restores a state from {@linkcode RunnerCore.save}.
   * @param bytes the checkpoint's bytes
   */
  async restore(bytes: Uint8Array): Promise<void> {
    const storage = new MemoryStorage();
    await storage.write("runner.ckpt", bytes);
    await this.algo.restore({ storage, path: "runner.ckpt" });
    this.weightsVersion = undefined;
  }

  /** Frees the runner's models and envs. */
  dispose(): void {
    this.algo.dispose();
  }
}
