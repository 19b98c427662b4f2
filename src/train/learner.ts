/**
 * The roles an algorithm plugs into the trainer (Tianshou's policy / algorithm split):
 *
 * - a {@linkcode LearningPolicy} acts (obs rows → actions, plus the extra outputs its algorithm
 *   records) and holds weights;
 * - an {@linkcode AlgorithmFamily} (PPO, DQN, ...) says which extra outputs to record, builds
 *   the learning policies and their {@linkcode Learner}s, and owns its hyperparameters;
 * - a {@linkcode Learner} owns one policy's update: its post-processing of the collected rows
 *   (PPO's GAE), its buffer kind (PPO learns from the fragment; a replay buffer would keep rows
 *   across fragments) and its optimiser (the shared Adam of `src/optim/adam.ts`).
 *
 * The collector (`src/rollout/collector.ts`) gathers, routes and records rows for any of them
 * without knowing which algorithm runs.
 *
 * @module
 */

import type { BatchPolicy } from "../policy/policy.ts";
import type { WeightSpec } from "../policy/model.ts";
import type { ObservationFeature } from "../policy/features.ts";
import type { Pcg32 } from "../rng.ts";
import type { ExtraColumn, SampleBatch, TrajectoryBuffer } from "../rollout/buffer.ts";
import type { Space } from "../spaces.ts";

/** Model shape params of a learning policy, shared by every algorithm. */
export interface ModelParams {
  /** Hidden layer sizes of the MLPs. */
  hidden: number[];
  /** Hidden activation. */
  activation: "tanh" | "relu";
  /** Share the hidden layers between actor and critic (RLlib's `vf_share_layers`). */
  vfShareLayers: boolean;
  /**
   * Width of one encoder per component of a Dict or Tuple observation (RLlib's complex-input
   * network: each component encoded apart, the encodings concatenated, then `hidden`); 0 (the
   * default) feeds the flat observation to `hidden` directly.
   */
  encoderSize: number;
  /** Initial log standard deviation of the Gaussian head of a Box action space. */
  initialLogStd: number;
  /**
   * Relational features of a Dict observation appended before the first layer (`gather`: the
   * row of a `[n, d]` Box picked by a Discrete(n); `dot`: each row of a `[n, d]` Box times a
   * `[d]` Box); default none. See `src/policy/features.ts`.
   */
  features: ObservationFeature[];
}

/** The model defaults: a 64×64 tanh MLP, separate actor and critic. */
export const DEFAULT_MODEL_PARAMS: Readonly<ModelParams> = Object.freeze({
  hidden: [64, 64],
  activation: "tanh" as const,
  vfShareLayers: false,
  encoderSize: 0,
  initialLogStd: 0,
  features: [] as ObservationFeature[],
});

/** A policy that learns: it acts, and its weights can be read and replaced. */
export interface LearningPolicy extends BatchPolicy {
  /** Names and shapes of the weight arrays, in {@linkcode LearningPolicy.getWeights} order. */
  readonly weightSpecs: readonly WeightSpec[];
  /** Number of weights in the flat layout. */
  readonly numParams: number;
  /** Copies of the weight arrays. */
  getWeights(): Float32Array[];
  /** Replaces the weights (arrays in `weightSpecs` order and sizes). */
  setWeights(weights: readonly ArrayLike<number>[]): void;
  /** The weights in the flat layout. */
  getFlatWeights(out?: Float32Array): Float32Array;
  /** Replaces all weights from the flat layout. */
  setFlatWeights(flat: ArrayLike<number>): void;
  /** Frees the policy's resources. */
  dispose(): void;
}

/** What one update of one policy reports (RLlib's `info.learner[policyId]`). */
export interface LearnerInfo {
  /** The algorithm's statistics, averaged over the update (RLlib's names). */
  learner_stats: Record<string, number>;
  /** Rows the update trained on. */
  num_agent_steps_trained: number;
}

/**
 * What a learner's `postprocess` produced beyond the batch's own columns, as columns aligned
 * with the batch's rows: `[count × width]` floats per name (see `Learner.takePostprocessed`).
 */
export type PostprocessedColumns = Record<string, Float32Array>;

/** What the trainer says about a batch beside its rows (see {@linkcode Learner.learn}). */
export interface LearnContext {
  /**
   * Updates this learner made since the weights that sampled the batch: 0 on-policy, 1 with
   * env runners' `overlap` (sampled while the previous update ran).
   */
  weightsStaleness: number;
}

/** Updates one learning policy; built by its {@linkcode AlgorithmFamily}. */
export interface Learner {
  /** The policy's id. */
  readonly policyId: string;
  /**
   * Called before each fragment is sampled with the env steps sampled so far, so schedules
   * (learning rate, exploration) apply to the fragment about to be collected (CleanRL's order).
   * @param timesteps env steps sampled before this fragment
   */
  beforeSample(timesteps: number): void;
  /**
   * Adds the algorithm's columns to the closed rows of a collected fragment (PPO: GAE's
   * `advantages` and `value_targets`), before they are compacted into a batch.
   * @param buffer the policy's rows
   */
  postprocess(buffer: TrajectoryBuffer): void;
  /**
   * Learns from one fragment's batch of closed rows.
   * @param batch the post-processed rows (valid only during the call)
   * @param rng the trainer's stream for shuffling
   * @param context how stale the batch is (absent: not stale)
   * @returns the update's statistics, or undefined when it did not update
   */
  learn(batch: SampleBatch, rng: Pcg32, context?: LearnContext): LearnerInfo | undefined;
  /**
   * Optional, for learners that keep what `postprocess` computed until `learn` (DQN's n-step
   * transitions), so they can sample in env runners: called on a runner's learner right after
   * `postprocess`, it returns that data as columns aligned with the rows of the fragment's
   * compact batch (`[count × width]` floats per name; copies), which the runner sends with the
   * batch. The trainer concatenates every runner's columns in runner order, like the batches,
   * and gives them to its own learner with `putPostprocessed` before `learn`. Must not depend on
   * a row's position in the batch: positions change when runners' batches are concatenated.
   * @returns the columns, by name
   */
  takePostprocessed?(): PostprocessedColumns;
  /**
   * Optional, the trainer's side of `takePostprocessed`: the next `learn` call takes its
   * post-processed data from these columns (the runners' concatenated in runner order) instead
   * of from a `postprocess` call of this learner.
   * @param columns the columns, aligned with the batch `learn` will get
   * @param count the rows of that batch
   * @throws {RangeError} when a column is missing or its length is not a multiple of `count`
   */
  putPostprocessed?(columns: PostprocessedColumns, count: number): void;
  /**
   * Optional: the learner's whole state (optimiser moments and steps, schedules, adaptive
   * coefficients, its random stream), for checkpoints. JSON-friendly apart from typed arrays.
   * @returns the state
   */
  getState?(): unknown;
  /**
   * Optional: restores a state from `getState` (throws a `RangeError` when it does not fit).
   * @param state the state
   */
  setState?(state: unknown): void;
  /** Frees the learner's resources (not the policy's). */
  dispose(): void;
}

/**
 * An algorithm, as the trainer sees it: hyperparameters, what to record, how to build the
 * learning policies and their learners.
 */
export interface AlgorithmFamily<H extends object, M extends LearningPolicy = LearningPolicy> {
  /** The algorithm's name, e.g. `"PPO"`. */
  readonly name: string;
  /** The trainer's defaults: every hyperparameter and the model shape. */
  readonly defaults: Readonly<H & ModelParams>;
  /**
   * Fills in defaults and checks every hyperparameter (not the model params).
   * @param overrides any subset; undefined values mean "default"
   * @returns the complete hyperparameters
   * @throws {RangeError} naming the field, its value and what is expected
   */
  resolve(overrides: Partial<H>): H;
  /**
   * Optional: true when its learners can post-process in env runners (Web Workers, remote
   * runners): they keep nothing between `postprocess` and `learn`, or carry it with
   * `takePostprocessed` / `putPostprocessed`. PPO and DQN qualify; any other family without it
   * is refused with env runners.
   */
  readonly samplesInRunners?: boolean;
  /** The extra policy outputs the collector records with every row for this algorithm. */
  readonly recordColumns: readonly ExtraColumn[];
  /**
   * Builds a learning policy for these spaces.
   * @param observationSpace the policy's observation space
   * @param actionSpace its action space
   * @param params its hyperparameters and model shape
   * @param seed seed of its initial weights
   */
  createPolicy(
    observationSpace: Space,
    actionSpace: Space,
    params: H & ModelParams,
    seed: number,
  ): M;
  /**
   * Builds the learner that updates `policy`.
   * @param policy the learning policy
   * @param params its hyperparameters
   * @param policyId its id, for error messages
   * @param seed seed of the learner's own random stream
   */
  createLearner(policy: M, params: H, policyId: string, seed: number): Learner;
}

/**
 * What every algorithm's `resolve` starts with: its defaults overridden by the given fields
 * (`undefined` keeps a default; an unknown key is refused, naming the known ones), and a reporter
 * for a field whose value is not what the algorithm expects.
 *
 * @example
 * ```ts
 * import { withDefaults } from "./learner.ts";
 * const { h, bad } = withDefaults("Toy", { lr: 0.1 }, { lr: 0.5 });
 * if (h.lr !== 0.5) throw new Error("overridden");
 * if (h.lr > 1) bad("lr", "at most 1");
 * ```
 *
 * @param algorithm named in the messages, e.g. `"PPO"`
 * @param defaults every field with its default
 * @param overrides any subset
 * @returns the merged fields and the reporter
 * @throws {RangeError} on an unknown key
 */
export function withDefaults<H extends object>(
  algorithm: string,
  defaults: Readonly<H>,
  overrides: Partial<H>,
): { h: H; bad: (field: string, expected: string) => never } {
  const h = { ...defaults } as H;
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in defaults)) {
      throw new RangeError(
        `Unknown ${algorithm} hyperparameter "${k}", expected one of ${
          Object.keys(defaults).join(", ")
        }`,
      );
    }
    if (v !== undefined) (h as Record<string, unknown>)[k] = v;
  }
  const bad = (field: string, expected: string): never => {
    const v = (h as Record<string, unknown>)[field];
    throw new RangeError(
      `${algorithm} hyperparameter "${field}" must be ${expected}, got ${
        typeof v === "string" ? JSON.stringify(v) : String(v)
      }`,
    );
  };
  return { h, bad };
}
