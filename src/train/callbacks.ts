/**
 * RLlib's callbacks (`DefaultCallbacks`, `config.callbacks(...)`): user code called at points
 * of training and evaluation (an algorithm built, an episode started, stepped and ended, a
 * fragment sampled, an iteration's result, an evaluation), and per-episode custom metrics:
 * what a callback writes into `episode.customMetrics` is reported in the results'
 * `custom_metrics` as `<name>_mean`, `_min` and `_max` over the episodes of the iteration (or
 * of the evaluation), next to the env's own `episodeMetrics`.
 *
 * Episode callbacks run inside sampling, once per episode start and end (and per env step for
 * `onEpisodeStep`, only when it is set); the {@linkcode Episode} handed to them is one object
 * per env, reused from episode to episode, so the sampling loop makes no objects per step.
 *
 * @example
 * ```ts
 * import { PPOConfig, createWindyMaze } from "../../mod.ts";
 * const algo = await new PPOConfig()
 *   .environment(({ numEnvs, seed }) => createWindyMaze(numEnvs, { seed }))
 *   .envRunners({ numEnvs: 2, rolloutFragmentLength: 50 })
 *   .callbacks({
 *     onEpisodeEnd: ({ episode }) => {
 *       episode.customMetrics.long = episode.length > 20 ? 1 : 0;
 *     },
 *   })
 *   .resources({ backend: "cpu" })
 *   .build();
 * const r = await algo.train();
 * if (r.episodes_this_iter > 0 && !("long_mean" in r.custom_metrics)) throw new Error("metric");
 * algo.dispose();
 * ```
 *
 * @module
 */

import type { BatchedEnv } from "../env/batched.ts";
import type { Collector } from "../rollout/collector.ts";

/**
 * One episode as the callbacks see it (RLlib's `Episode`): read its id, env, length and
 * returns; write `customMetrics` (reported in the results) and `userData` (yours, for the
 * episode's lifetime). The object is reused for the env's next episode: keep values, not it.
 */
export class Episode {
  /** The env instance the episode runs in. */
  readonly envIndex: number;
  /** Numbers to report: `custom_metrics` gets `<name>_mean`, `_min`, `_max` over episodes. */
  customMetrics: Record<string, number> = {};
  /** Anything, for this episode (cleared when the next one starts). */
  userData: Record<string, unknown> = {};
  readonly #collector: Collector;

  /**
   * An episode view of one env of a collector (made by the trainer).
   * @param collector the collector sampling the env
   * @param envIndex the env
   */
  constructor(collector: Collector, envIndex: number) {
    this.#collector = collector;
    this.envIndex = envIndex;
  }

  /** A number unique to the episode within its sampler (RLlib's `episode_id`). */
  get episodeId(): number {
    return this.#collector.episodeId(this.envIndex);
  }
  /** Env steps so far (at `onEpisodeEnd`: the episode's length). */
  get length(): number {
    return this.#collector.episodeLength(this.envIndex);
  }
  /** The summed reward of every agent so far (RLlib's `total_reward`). */
  get totalReward(): number {
    return this.#collector.episodeReturn(this.envIndex);
  }
  /**
   * Per policy, the summed return of its agents that have finished (at `onEpisodeEnd`: all of
   * them).
   */
  get policyRewards(): Record<string, number> {
    return this.#collector.episodePolicyReturns(this.envIndex);
  }
}

/** What an episode callback is given (one object per env, reused from call to call). */
export interface EpisodeCallbackArgs {
  /** The episode. */
  episode: Episode;
  /** The batched env the episode runs in (e.g. its `episodeMetrics` at the end). */
  env: BatchedEnv;
  /** The env instance of the episode in that batch. */
  envIndex: number;
  /** True for evaluation episodes, false for training ones. */
  evaluation: boolean;
}

/**
 * User code called during training (RLlib's `DefaultCallbacks`; every method optional). The
 * algorithm is passed as `unknown`-typed `algorithm` fields to keep this module free of the
 * trainer; cast it to your `Algorithm`.
 */
export interface Callbacks {
  /** After the algorithm is built (its declared policies exist). */
  onAlgorithmInit?(args: { algorithm: unknown }): void | Promise<void>;
  /** An episode started (after the env's reset, before its agents are mapped to policies). */
  onEpisodeStart?(args: EpisodeCallbackArgs): void;
  /** An env step of an episode that goes on (only called when set: it runs per env step). */
  onEpisodeStep?(args: EpisodeCallbackArgs): void;
  /** An episode ended: its length, returns and the env's final numbers are readable. */
  onEpisodeEnd?(args: EpisodeCallbackArgs): void;
  /** A fragment was sampled and post-processed (`samples`: per trained policy, its rows). */
  onSampleEnd?(args: { algorithm: unknown; samples: unknown }): void;
  /** An iteration's result, before `train()` returns it (add fields to it here). */
  onTrainResult?(
    args: { algorithm: unknown; result: Record<string, unknown> },
  ): void | Promise<void>;
  /** An evaluation is about to run. */
  onEvaluateStart?(args: { algorithm: unknown }): void | Promise<void>;
  /** An evaluation ran; its metrics (add fields to them here). */
  onEvaluateEnd?(args: { algorithm: unknown; evaluationMetrics: Record<string, unknown> }):
    | void
    | Promise<void>;
}

const CALLBACK_NAMES = [
  "onAlgorithmInit",
  "onEpisodeStart",
  "onEpisodeStep",
  "onEpisodeEnd",
  "onSampleEnd",
  "onTrainResult",
  "onEvaluateStart",
  "onEvaluateEnd",
] as const;

/**
 * Checks a callbacks object: every known method a function, no unknown keys (a typo such as
 * `onEpisodeEnds` would otherwise never be called).
 * @param c the callbacks
 * @throws {TypeError} naming the bad key and what was expected
 */
export function validateCallbacks(c: unknown): void {
  if (c === undefined) return;
  if (c === null || typeof c !== "object") {
    throw new TypeError(`callbacks must be an object of functions, got ${String(c)}`);
  }
  // A class instance: its methods live on the prototype chain.
  const keys = new Set<string>();
  for (
    let o: object | null = c;
    o !== null && o !== Object.prototype;
    o = Object.getPrototypeOf(o)
  ) {
    for (const k of Object.getOwnPropertyNames(o)) if (k !== "constructor") keys.add(k);
  }
  for (const k of keys) {
    const v = (c as Record<string, unknown>)[k];
    if (!(CALLBACK_NAMES as readonly string[]).includes(k)) {
      if (typeof v !== "function") continue; // fields of a user's class
      if (k.startsWith("on")) {
        throw new TypeError(
          `callbacks.${k} is not a callback; expected one of ${CALLBACK_NAMES.join(", ")}`,
        );
      }
      continue; // helper methods of a user's class
    }
    if (v !== undefined && typeof v !== "function") {
      throw new TypeError(`callbacks.${k} must be a function, got ${typeof v}`);
    }
  }
}

/**
 * A collector's episode hooks for the callbacks and the custom metrics: the env's
 * `episodeMetrics` and what callbacks write into `episode.customMetrics`, aggregated over the
 * episodes that end until {@linkcode EpisodeHooks.takeCustomMetrics}.
 */
export class EpisodeHooks {
  readonly #env: BatchedEnv;
  readonly #callbacks: Callbacks | undefined;
  readonly #evaluation: boolean;
  /** Whether any episode callback is set (only they write `customMetrics`). */
  readonly #episodeCallbacks: boolean;
  /** Per env, the callbacks' argument (one object each, reused: no allocation per call). */
  #args: EpisodeCallbackArgs[] = [];
  /** name → [sum, min, max, count]; the env's metrics first, in their order. */
  #acc = new Map<string, [number, number, number, number]>();

  /**
   * Hooks for one env.
   * @param env the batched env
   * @param callbacks the user's callbacks, if any
   * @param evaluation whether these are evaluation episodes
   */
  constructor(env: BatchedEnv, callbacks: Callbacks | undefined, evaluation: boolean) {
    this.#env = env;
    this.#callbacks = callbacks;
    this.#episodeCallbacks = callbacks?.onEpisodeStart !== undefined ||
      callbacks?.onEpisodeEnd !== undefined || callbacks?.onEpisodeStep !== undefined;
    this.#evaluation = evaluation;
    this.#resetAcc();
  }

  /** Whether the collector needs the hooks at all. */
  get needed(): boolean {
    return (this.#env.episodeMetrics?.names.length ?? 0) > 0 || this.#episodeCallbacks;
  }

  /**
   * Binds the hooks to the collector they serve (its episodes are read through it).
   * @param collector the collector, built with {@linkcode EpisodeHooks.options}
   */
  attach(collector: Collector): void {
    this.#args = Array.from({ length: this.#env.numEnvs }, (_, i) => ({
      episode: new Episode(collector, i),
      env: this.#env,
      envIndex: i,
      evaluation: this.#evaluation,
    }));
  }

  /**
   * The collector options that call the hooks (`onEpisodeEnd` after `counted`, which decides
   * whether the episode counts).
   * @param counted evaluation's quota; default: every episode counts
   * @returns the options
   */
  options(counted?: (envIndex: number) => boolean): {
    onEpisodeStart?: (e: number) => void;
    onEpisodeStep?: (e: number) => void;
    onEpisodeEnd?: (e: number) => boolean;
  } {
    if (!this.needed && counted === undefined) return {};
    const cb = this.#callbacks;
    const args = (e: number): EpisodeCallbackArgs => this.#args[e]!;
    const out: ReturnType<EpisodeHooks["options"]> = {
      onEpisodeEnd: (e) => {
        if (counted !== undefined && !counted(e)) return false;
        if (cb?.onEpisodeEnd !== undefined) cb.onEpisodeEnd(args(e));
        this.#record(e);
        return true;
      },
    };
    if (this.#episodeCallbacks) {
      out.onEpisodeStart = (e) => {
        const ep = this.#args[e]?.episode;
        if (ep === undefined) return; // before attach: the collector's constructor
        ep.customMetrics = {};
        ep.userData = {};
        cb?.onEpisodeStart?.(args(e));
      };
    }
    if (cb?.onEpisodeStep !== undefined) out.onEpisodeStep = (e) => cb.onEpisodeStep!(args(e));
    return out;
  }

  #resetAcc(): void {
    this.#acc = new Map();
    for (const name of this.#env.episodeMetrics?.names ?? []) {
      this.#acc.set(name, [0, Infinity, -Infinity, 0]);
    }
  }

  #add(name: string, v: number): void {
    let a = this.#acc.get(name);
    if (a === undefined) this.#acc.set(name, a = [0, Infinity, -Infinity, 0]);
    if (Number.isNaN(v)) return;
    a[0] += v;
    if (v < a[1]) a[1] = v;
    if (v > a[2]) a[2] = v;
    a[3]++;
  }

  #record(e: number): void {
    const m = this.#env.episodeMetrics;
    if (m !== undefined) {
      const K = m.names.length;
      for (let k = 0; k < K; k++) this.#add(m.names[k]!, m.values[e * K + k]!);
    }
    const ep = this.#args[e]?.episode;
    // Without episode callbacks nobody writes custom metrics: skip the walk.
    if (ep === undefined || !this.#episodeCallbacks) return;
    for (const [name, v] of Object.entries(ep.customMetrics)) {
      if (typeof v !== "number") {
        throw new TypeError(
          `episode.customMetrics.${name} must be a number, got ${typeof v} (env ${e})`,
        );
      }
      this.#add(name, v);
    }
  }

  /**
   * The raw sums of the episodes that ended since the last call (`[sum, min, max, count]` per
   * name, to merge elsewhere with {@linkcode EpisodeHooks.mergeSums}), and starts over.
   * @returns the sums by name
   */
  takeSums(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [name, a] of this.#acc) out[name] = [...a];
    this.#resetAcc();
    return out;
  }

  /**
   * Adds sums taken elsewhere (an env runner's) to this aggregate.
   * @param sums `[sum, min, max, count]` by name
   */
  mergeSums(sums: Readonly<Record<string, readonly number[]>>): void {
    for (const [name, [sum, min, max, n]] of Object.entries(sums)) {
      let a = this.#acc.get(name);
      if (a === undefined) this.#acc.set(name, a = [0, Infinity, -Infinity, 0]);
      a[0] += sum!;
      if (min! < a[1]) a[1] = min!;
      if (max! > a[2]) a[2] = max!;
      a[3] += n!;
    }
  }

  /**
   * The custom metrics of the episodes that ended since the last call (`<name>_mean`, `_min`,
   * `_max`; NaN values skipped; NaN for an env metric no episode defined), and starts over.
   * @returns the metrics
   */
  takeCustomMetrics(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, [sum, min, max, n]] of this.#acc) {
      out[`${name}_mean`] = n > 0 ? sum / n : NaN;
      out[`${name}_min`] = n > 0 ? min : NaN;
      out[`${name}_max`] = n > 0 ? max : NaN;
    }
    this.#resetAcc();
    return out;
  }
}
