/**
 * DQN on the shared roles, RLHive's default agent: {@linkcode DQN} is the algorithm family the
 * trainer plugs in (it records no extra column, builds `QPolicy`s and {@linkcode DQNLearner}s).
 *
 * - **Transitions** come from the collector's rows as they are: a row closes when its agent acts
 *   again (LINKED), ends, or (held) its episode ends, with every reward published meanwhile
 *   summed into it — RLHive's `TransitionInfo` semantics for turn-based games, where a player's
 *   reward arrives after the opponent moves. {@linkcode computeNStep} turns each closed row into
 *   an n-step transition by following its agent's LINKED rows (post-processing); DQN adds no
 *   line to the collector.
 * - **Replay**: a `ReplayBuffer` per policy (ring buffer, uniform sampling with the trainer's
 *   PCG32 stream), filled in `learn`; updates start once it holds `learningStarts` transitions.
 * - **Env runners**: a runner's learner post-processes; its n-step transitions reach the
 *   trainer's learner as columns of the batch (`takePostprocessed` / `putPostprocessed`:
 *   n-step reward, γᵏ, and the offset of the row whose `new_obs` is the bootstrap observation),
 *   so DQN samples in Web Workers and remote runners.
 * - **Updates**: `trainingIntensity` replayed rows per collected row (RLlib's meaning), so a
 *   fragment of `k` rows buys `trainingIntensity · k / trainBatchSize` gradient steps (the
 *   fraction carries over). Each step: a uniform batch, targets
 *   `y = R + γᵏ · Q_target(s', a*)` ({@linkcode dqnTargets}: `a*` the argmax of the online
 *   network with `doubleQ`, of the target network without; over the legal actions of `s'` only
 *   with an action mask; no bootstrap after a termination, a bootstrap from the final
 *   observation after a truncation), the Huber loss of `Q(s, a) − y` (mean over the batch,
 *   `huberDelta` 1 is PyTorch's `SmoothL1Loss`), the model's hand-written backward pass, and an
 *   Adam step with global-norm clipping (`src/optim/adam.ts`); `guardUpdate` restores the
 *   weights, the optimiser and the target network when anything turns non-finite.
 * - **Prioritized replay** (`prioritizedReplay`, RLlib's and RLHive's Rainbow part): the buffer
 *   samples rows ∝ `p^α` (`prioritizedReplayAlpha`) from a sum tree, each row's Huber loss is
 *   multiplied by its importance weight `(N·P(i))^−β / max` (β from `prioritizedReplayBeta`,
 *   linearly to 1 over `prioritizedReplayBetaTimesteps` env steps, {@linkcode betaAt}), and after
 *   each gradient step the batch's rows get priority `|δ| + prioritizedReplayEps` (δ from before
 *   the step); new rows get the largest priority so far. The priorities are in checkpoints and
 *   roll back with a failed update.
 * - **Dueling** (`dueling`): the Q-network is `V + A − mean(A)` (mean over legal actions; see
 *   `src/policy/q_model.ts`).
 * - **Distributional, C51** (`numAtoms` > 1, `vMin`, `vMax`): the network gives each legal
 *   action a categorical distribution on the atoms; the target is {@linkcode c51Targets}'s
 *   projection of the target network's distribution of `a*` (`a*` as for the plain targets:
 *   online argmax with `doubleQ`, over legal actions), the loss the cross-entropy (weighted by
 *   the importance weights with prioritized replay, whose priorities are then the cross-entropy
 *   + ε, as RLlib's), and `mean_td_error` the gap between the expected values.
 * - **Noisy nets** (`noisy`): every dense layer is `μ + σ ⊙ ε` with factorised Gaussian ε; the
 *   learner draws one noise sample per network and gradient step from the sampling stream, the
 *   collector one per `act` call from its stream (so runs stay reproducible and resumable), and
 *   σ is learned with μ.
 * - **Target network**: every `targetUpdateFreq` gradient steps,
 *   `θ_target ← τ·θ + (1 − τ)·θ_target` (`tau` 1: a hard copy).
 * - **Exploration**: epsilon-greedy in the policy's `act` with the collector's stream; epsilon
 *   goes linearly from `epsilonInitial` to `epsilonFinal` over `epsilonTimesteps` env steps,
 *   set before each fragment ({@linkcode epsilonAt}).
 *
 * @example Train DQN on a two-armed bandit
 * ```ts
 * import { DQNConfig } from "./dqn_config.ts";
 * import { fromDictEnv } from "../env/from_dict.ts";
 * import { Box, Discrete } from "../spaces.ts";
 * import type { MultiAgentEnv, StepResult } from "../env/multi_agent.ts";
 * const obs = new Box(0, 1, [1]), act = new Discrete(2);
 * class Bandit implements MultiAgentEnv {
 *   readonly possibleAgents = ["a"];
 *   observationSpace() { return obs; }
 *   actionSpace() { return act; }
 *   reset() { return { obs: { a: [1] }, infos: {} }; }
 *   step(a: Record<string, unknown>): StepResult {
 *     return {
 *       obs: { a: [1] }, rewards: { a: a.a === 1 ? 1 : 0 }, infos: {},
 *       terminateds: { a: true, __all__: true }, truncateds: { __all__: false },
 *     };
 *   }
 * }
 * const algo = await new DQNConfig()
 *   .environment(({ numEnvs }) => fromDictEnv(() => new Bandit(), numEnvs, {
 *     groups: [{ name: "a", observationSpace: obs, actionSpace: act }],
 *   }))
 *   .envRunners({ numEnvs: 4, rolloutFragmentLength: 8 })
 *   .training({ learningStarts: 16, trainBatchSize: 16, trainingIntensity: 1, hidden: [8] })
 *   .resources({ backend: "cpu" })
 *   .build();
 * const r = await algo.train();
 * // 4 envs × 8 steps = 32 one-step episodes; 32 replayed rows per 32 collected: 2 steps of 16
 * if (r.info.learner.default_policy?.learner_stats.num_grad_steps !== 2) throw new Error("steps");
 * algo.dispose();
 * ```
 *
 * @module
 */

import { QPolicy } from "../policy/q_model.ts";
import type { ActionMaskLayout } from "../policy/policy.ts";
import { Pcg32 } from "../rng.ts";
import type { Space } from "../spaces.ts";
import { Adam, guardUpdate, NonFiniteError } from "../optim/adam.ts";
import {
  ENDED_TERMINATED,
  ENDED_TRUNCATED,
  LINKED,
  type SampleBatch,
  type TrajectoryBuffer,
} from "../rollout/buffer.ts";
import { type ReplayBatch, ReplayBuffer, type ReplayState } from "../rollout/replay.ts";
import {
  type AlgorithmFamily,
  DEFAULT_MODEL_PARAMS,
  type Learner,
  type LearnerInfo,
  type ModelParams,
  type PostprocessedColumns,
  withDefaults,
} from "../train/learner.ts";

const EMPTY64 = new Float64Array(0);

/** DQN hyperparameters (RLlib's and RLHive's names in camelCase). */
export interface DQNHyperparams {
  /** Adam learning rate (> 0). */
  lr: number;
  /** Discount γ in [0, 1]. */
  gamma: number;
  /** Steps `n` of the n-step return (integer ≥ 1). */
  nStep: number;
  /** Double Q-learning: the online network picks the bootstrap action, the target net rates it. */
  doubleQ: boolean;
  /** Transitions the replay buffer holds (integer ≥ 1). */
  replayCapacity: number;
  /** Transitions in the replay buffer before updates start (integer ≥ 0; RLHive's `min_replay_history`). */
  learningStarts: number;
  /** Transitions per gradient step (integer ≥ 1). */
  trainBatchSize: number;
  /**
   * Replayed transitions per collected one (> 0, RLlib's `training_intensity`): a fragment of
   * `k` rows buys `trainingIntensity · k / trainBatchSize` gradient steps (RLHive's default,
   * one step of 32 per env step, is 32).
   */
  trainingIntensity: number;
  /** Gradient steps between target-network updates (integer ≥ 1). */
  targetUpdateFreq: number;
  /** Target update weight τ in (0, 1]: 1 copies the online weights, less is Polyak averaging. */
  tau: number;
  /** Epsilon of the first fragment, in [0, 1]. */
  epsilonInitial: number;
  /** Epsilon after `epsilonTimesteps` env steps, in [0, 1]. */
  epsilonFinal: number;
  /** Env steps of the linear epsilon decay (integer ≥ 0; 0: `epsilonFinal` from the start). */
  epsilonTimesteps: number;
  /** Huber loss threshold κ (> 0): quadratic within ±κ, linear outside. */
  huberDelta: number;
  /** Global gradient-norm clip (> 0); null disables it. */
  gradClip: number | null;
  /** Adam β1 in [0, 1). */
  adamBeta1: number;
  /** Adam β2 in [0, 1). */
  adamBeta2: number;
  /** Adam ε (> 0). */
  adamEpsilon: number;
  /**
   * Dueling Q-network: `Q = V + A − mean(A)`, the mean over the legal actions of a masked row
   * (`src/policy/q_model.ts`). Default false (RLHive's DQN; RLlib's default is true).
   */
  dueling: boolean;
  /**
   * Prioritized experience replay (Schaul et al.): rows drawn with probability ∝ `p^α`, the loss
   * weighted by importance weights, priorities `|δ| + prioritizedReplayEps` after each step.
   * Default false (uniform replay).
   */
  prioritizedReplay: boolean;
  /** Priority exponent α ≥ 0 (0.6; 0 samples uniformly). */
  prioritizedReplayAlpha: number;
  /** Importance-sampling exponent β in [0, 1] at the start (0.4). */
  prioritizedReplayBeta: number;
  /**
   * Env steps over which β goes linearly from `prioritizedReplayBeta` to 1 (integer ≥ 0; 0, the
   * default, keeps β constant, as RLlib does).
   */
  prioritizedReplayBetaTimesteps: number;
  /** ε added to `|δ|` for a new priority (> 0; 1e-6), so no row's probability is 0. */
  prioritizedReplayEps: number;
  /**
   * Atoms of distributional DQN (C51; integer ≥ 1, RLlib's `num_atoms`): 1, the default, is
   * plain DQN; K > 1 learns a categorical return distribution on K atoms from `vMin` to `vMax`
   * with the projected target and a cross-entropy loss.
   */
  numAtoms: number;
  /** The smallest atom of C51 (finite, < `vMax`; −10). */
  vMin: number;
  /** The largest atom of C51 (finite, > `vMin`; 10). */
  vMax: number;
  /**
   * Noisy nets (factorised Gaussian noise on every dense layer, `src/policy/q_model.ts`; default
   * false). Exploration then comes from the noise: set `epsilonInitial` and `epsilonFinal` to 0
   * for noise alone (RLlib's and RLHive's Rainbow).
   */
  noisy: boolean;
  /** σ₀ of noisy layers (> 0; 0.5): σ starts at `σ₀ / √fan_in`. */
  noisySigma0: number;
}

/** The DQN defaults (RLHive's DQN where it fits batched collection). */
export const DEFAULT_DQN_HYPERPARAMS: Readonly<DQNHyperparams> = Object.freeze({
  lr: 1e-3,
  gamma: 0.99,
  nStep: 1,
  doubleQ: true,
  replayCapacity: 50_000,
  learningStarts: 1000,
  trainBatchSize: 32,
  trainingIntensity: 8,
  targetUpdateFreq: 500,
  tau: 1,
  epsilonInitial: 1,
  epsilonFinal: 0.05,
  epsilonTimesteps: 10_000,
  huberDelta: 1,
  gradClip: 10,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  dueling: false,
  prioritizedReplay: false,
  prioritizedReplayAlpha: 0.6,
  prioritizedReplayBeta: 0.4,
  prioritizedReplayBetaTimesteps: 0,
  prioritizedReplayEps: 1e-6,
  numAtoms: 1,
  vMin: -10,
  vMax: 10,
  noisy: false,
  noisySigma0: 0.5,
});

/**
 * Fills in defaults and checks every hyperparameter.
 *
 * @example
 * ```ts
 * import { resolveDQNHyperparams } from "./dqn.ts";
 * if (resolveDQNHyperparams({ nStep: 3 }).doubleQ !== true) throw new Error("default");
 * ```
 *
 * @param overrides any subset (undefined values mean "default")
 * @returns the complete hyperparameters
 * @throws {RangeError} naming the field, its value and what is expected
 */
export function resolveDQNHyperparams(overrides: Partial<DQNHyperparams> = {}): DQNHyperparams {
  const { h, bad } = withDefaults("DQN", DEFAULT_DQN_HYPERPARAMS, overrides);
  const num = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
  const int = (x: unknown, min: number) => Number.isInteger(x) && (x as number) >= min;
  if (!num(h.lr) || h.lr <= 0) bad("lr", "a finite number > 0");
  if (!num(h.gamma) || h.gamma < 0 || h.gamma > 1) bad("gamma", "a number in [0, 1]");
  if (!int(h.nStep, 1)) bad("nStep", "an integer >= 1");
  if (typeof h.doubleQ !== "boolean") bad("doubleQ", "true or false");
  if (!int(h.replayCapacity, 1)) bad("replayCapacity", "an integer >= 1");
  if (!int(h.learningStarts, 0)) bad("learningStarts", "an integer >= 0");
  if (!int(h.trainBatchSize, 1)) bad("trainBatchSize", "an integer >= 1");
  if (!num(h.trainingIntensity) || h.trainingIntensity <= 0) {
    bad("trainingIntensity", "a finite number > 0");
  }
  if (!int(h.targetUpdateFreq, 1)) bad("targetUpdateFreq", "an integer >= 1");
  if (!num(h.tau) || h.tau <= 0 || h.tau > 1) bad("tau", "a number in (0, 1]");
  for (const f of ["epsilonInitial", "epsilonFinal"] as const) {
    if (!num(h[f]) || h[f] < 0 || h[f] > 1) bad(f, "a number in [0, 1]");
  }
  if (!int(h.epsilonTimesteps, 0)) bad("epsilonTimesteps", "an integer >= 0");
  if (!num(h.huberDelta) || h.huberDelta <= 0) bad("huberDelta", "a finite number > 0");
  if (h.gradClip !== null && (!num(h.gradClip) || h.gradClip <= 0)) {
    bad("gradClip", "null or a finite number > 0");
  }
  if (!num(h.adamBeta1) || h.adamBeta1 < 0 || h.adamBeta1 >= 1) {
    bad("adamBeta1", "a number in [0, 1)");
  }
  if (!num(h.adamBeta2) || h.adamBeta2 < 0 || h.adamBeta2 >= 1) {
    bad("adamBeta2", "a number in [0, 1)");
  }
  if (!num(h.adamEpsilon) || h.adamEpsilon <= 0) bad("adamEpsilon", "a finite number > 0");
  if (typeof h.dueling !== "boolean") bad("dueling", "true or false");
  if (typeof h.prioritizedReplay !== "boolean") bad("prioritizedReplay", "true or false");
  if (!num(h.prioritizedReplayAlpha) || h.prioritizedReplayAlpha < 0) {
    bad("prioritizedReplayAlpha", "a finite number >= 0");
  }
  if (!num(h.prioritizedReplayBeta) || h.prioritizedReplayBeta < 0 || h.prioritizedReplayBeta > 1) {
    bad("prioritizedReplayBeta", "a number in [0, 1]");
  }
  if (!int(h.prioritizedReplayBetaTimesteps, 0)) {
    bad("prioritizedReplayBetaTimesteps", "an integer >= 0");
  }
  if (!num(h.prioritizedReplayEps) || h.prioritizedReplayEps <= 0) {
    bad("prioritizedReplayEps", "a finite number > 0");
  }
  if (!int(h.numAtoms, 1)) bad("numAtoms", "an integer >= 1 (1: not distributional)");
  if (!num(h.vMin)) bad("vMin", "a finite number");
  if (!num(h.vMax) || h.vMax <= h.vMin) bad("vMax", `a finite number > vMin (${h.vMin})`);
  if (typeof h.noisy !== "boolean") bad("noisy", "true or false");
  if (!num(h.noisySigma0) || h.noisySigma0 <= 0) bad("noisySigma0", "a finite number > 0");
  return h;
}

/**
 * The linear epsilon schedule: `epsilonInitial` at 0 env steps, `epsilonFinal` from
 * `epsilonTimesteps` on.
 *
 * @example
 * ```ts
 * import { epsilonAt } from "./dqn.ts";
 * const h = { epsilonInitial: 1, epsilonFinal: 0.1, epsilonTimesteps: 100 };
 * if (Math.abs(epsilonAt(h, 50) - 0.55) > 1e-12 || epsilonAt(h, 500) !== 0.1) throw new Error();
 * ```
 *
 * @param h the schedule's hyperparameters
 * @param timesteps env steps sampled so far
 * @returns epsilon
 */
export function epsilonAt(
  h: Pick<DQNHyperparams, "epsilonInitial" | "epsilonFinal" | "epsilonTimesteps">,
  timesteps: number,
): number {
  if (h.epsilonTimesteps === 0) return h.epsilonFinal;
  const frac = Math.max(0, timesteps) / h.epsilonTimesteps;
  if (frac >= 1) return h.epsilonFinal;
  return h.epsilonInitial + (h.epsilonFinal - h.epsilonInitial) * frac;
}

/**
 * Prioritized replay's importance-sampling exponent: `prioritizedReplayBeta` at 0 env steps,
 * linearly to 1 at `prioritizedReplayBetaTimesteps` (constant when that is 0).
 *
 * @example
 * ```ts
 * import { betaAt } from "./dqn.ts";
 * const h = { prioritizedReplayBeta: 0.4, prioritizedReplayBetaTimesteps: 100 };
 * if (Math.abs(betaAt(h, 50) - 0.7) > 1e-12 || betaAt(h, 200) !== 1) throw new Error();
 * if (betaAt({ ...h, prioritizedReplayBetaTimesteps: 0 }, 1e6) !== 0.4) throw new Error();
 * ```
 *
 * @param h the schedule's hyperparameters
 * @param timesteps env steps sampled so far
 * @returns β in [0, 1]
 */
export function betaAt(
  h: Pick<DQNHyperparams, "prioritizedReplayBeta" | "prioritizedReplayBetaTimesteps">,
  timesteps: number,
): number {
  if (h.prioritizedReplayBetaTimesteps === 0) return h.prioritizedReplayBeta;
  const frac = Math.max(0, timesteps) / h.prioritizedReplayBetaTimesteps;
  if (frac >= 1) return 1;
  return h.prioritizedReplayBeta + (1 - h.prioritizedReplayBeta) * frac;
}

/** N-step transitions of one fragment, compact, in the order of its closed rows. */
export interface NStepTransitions {
  /** Transitions. */
  count: number;
  /** `[count × O]` observations. */
  obs: Float32Array;
  /** `[count × A]` packed actions. */
  actions: Float32Array;
  /** `[count]` Σ_{i<k} γⁱ rᵢ over the `k` rows followed. */
  rewards: Float32Array;
  /** `[count × O]` the observation to bootstrap from. */
  nextObs: Float32Array;
  /** `[count]` γᵏ, or 0 when the agent terminated within the `k` rows. */
  discounts: Float32Array;
  /** `[count]` the number of rows `k` followed (1 … n). */
  steps: Int32Array;
  /**
   * `[count]` the index, among the fragment's closed rows (the compact batch's rows), of the row
   * whose `new_obs` is the bootstrap observation: the last row followed (its final observation
   * when it ended, else its successor's observation), so `nextObs` row `k` is `new_obs` row
   * `boot[k]` of `TrajectoryBuffer.compact()`'s batch (`boot[k] ≥ k`).
   */
  boot: Int32Array;
}

/** Each buffer row's index among the closed rows (scratch of {@linkcode computeNStep}). */
let closedIndex = new Int32Array(0);

/**
 * Makes one n-step transition per closed row of a fragment (in row order, as
 * `TrajectoryBuffer.compact` lists them). From row `i` it follows the agent's LINKED rows
 * (`next`) and sums `γʲ·rewards` over up to `n` rows; it stops early at a row that
 * terminated (discount 0: no bootstrap), was truncated (bootstrap from its final observation
 * with γᵏ), or whose successor is not closed yet (the fragment's end, or a held row: bootstrap
 * from that successor's observation with γᵏ, a shorter return, as RLlib's n-step does at a
 * batch's end). After `n` rows it bootstraps from the next row's observation with γⁿ.
 *
 * @example One agent, three rows, the last one terminated
 * ```ts
 * import { ENDED_TERMINATED, LINKED, TrajectoryBuffer } from "../rollout/buffer.ts";
 * import { computeNStep } from "./dqn.ts";
 * const buf = new TrajectoryBuffer(1, 1, 3);
 * for (let i = 0; i < 3; i++) buf.push(Float32Array.of(i), Float32Array.of(0), [], 0, i, 0, 0, "a");
 * buf.state.set([LINKED, LINKED, ENDED_TERMINATED]);
 * buf.next.set([1, 2, -1]);
 * buf.rewards.set([1, 2, 4]);
 * const t = computeNStep(buf, 0.5, 2);
 * // row 0: 1 + 0.5·2, bootstrap from row 2's observation with 0.25
 * if (t.rewards[0] !== 2 || t.nextObs[0] !== 2 || t.discounts[0] !== 0.25) throw new Error();
 * // row 1: 2 + 0.5·4, terminated: no bootstrap
 * if (t.rewards[1] !== 4 || t.discounts[1] !== 0) throw new Error();
 * ```
 *
 * @param buf the fragment's rows
 * @param gamma γ
 * @param n steps (≥ 1)
 * @param out reused output (grown as needed)
 * @returns the transitions
 */
export function computeNStep(
  buf: TrajectoryBuffer,
  gamma: number,
  n: number,
  out?: NStepTransitions,
): NStepTransitions {
  const O = buf.obsSize, A = buf.actSize, cap = buf.capacity;
  if (out === undefined || out.rewards.length < cap) {
    out = {
      count: 0,
      obs: new Float32Array(cap * O),
      actions: new Float32Array(cap * A),
      rewards: new Float32Array(cap),
      nextObs: new Float32Array(cap * O),
      discounts: new Float32Array(cap),
      steps: new Int32Array(cap),
      boot: new Int32Array(cap),
    };
  }
  const { state, next, rewards } = buf;
  if (closedIndex.length < buf.size) closedIndex = new Int32Array(cap);
  for (let i = 0, c = 0; i < buf.size; i++) closedIndex[i] = buf.closed(i) ? c++ : -1;
  let k = 0;
  for (let i = 0; i < buf.size; i++) {
    if (!buf.closed(i)) continue;
    let ret = 0, disc = 1, j = i, steps = 0, boot: Float32Array = buf.obs, bootRow = -1;
    for (;;) {
      ret += disc * rewards[j]!;
      disc *= gamma;
      steps++;
      const st = state[j]!;
      if (st === ENDED_TERMINATED) {
        disc = 0;
        boot = buf.newObs;
        bootRow = j;
        break;
      }
      if (st === ENDED_TRUNCATED) {
        boot = buf.newObs;
        bootRow = j;
        break;
      }
      if (st !== LINKED) throw new Error(`computeNStep: closed row ${j} has state ${st}`);
      const nx = next[j]!;
      if (steps === n || !buf.closed(nx)) {
        boot = buf.obs;
        bootRow = nx;
        break;
      }
      j = nx;
    }
    // Element loops, not `subarray` views: no object per row.
    for (let c = 0; c < O; c++) {
      out.obs[k * O + c] = buf.obs[i * O + c]!;
      out.nextObs[k * O + c] = boot[bootRow * O + c]!;
    }
    for (let c = 0; c < A; c++) out.actions[k * A + c] = buf.act[i * A + c]!;
    out.rewards[k] = ret;
    out.discounts[k] = disc;
    out.steps[k] = steps;
    out.boot[k] = closedIndex[j]!;
    k++;
  }
  out.count = k;
  return out;
}

/** Inputs of {@linkcode dqnTargets}. */
export interface DQNTargetInput {
  /** Rows `B`. */
  rows: number;
  /** Actions `n` (Q-values per row). */
  numActions: number;
  /** `[B]` (n-step) rewards. */
  rewards: ArrayLike<number>;
  /** `[B]` bootstrap factors (0: no bootstrap). */
  discounts: ArrayLike<number>;
  /** `[B × n]` the target network's Q-values of the bootstrap observations. */
  nextQTarget: ArrayLike<number>;
  /** `[B × n]` the online network's, for double Q (null: plain DQN's max of the target net). */
  nextQOnline: ArrayLike<number> | null;
  /** The bootstrap observations (`[B × obsSize]`), read for their action masks. */
  nextObs?: ArrayLike<number>;
  /** Floats per observation row (with `mask`). */
  obsSize?: number;
  /** The action-mask layout, or null/absent: every action is legal. */
  mask?: ActionMaskLayout | null;
}

/**
 * DQN's targets `y = R + d · Q_target(s', a*)` with `a* = argmax_a Q_online(s', a)` (double Q)
 * or `argmax_a Q_target(s', a)` (plain), the argmax over the legal actions of `s'` only when
 * masked (the first of equal values); rows with `d` = 0 are not bootstrapped (their Q-values
 * are not read).
 *
 * @example Double Q by hand
 * ```ts
 * import { dqnTargets } from "./dqn.ts";
 * const y = new Float64Array(1);
 * dqnTargets({
 *   rows: 1, numActions: 2, rewards: [1], discounts: [0.5],
 *   nextQTarget: [10, 2], nextQOnline: [0, 1], // online picks action 1, the target rates it 2
 * }, y);
 * if (y[0] !== 2) throw new Error("1 + 0.5 · 2");
 * ```
 *
 * @param p rewards, discounts, Q-values and masks
 * @param out `[B]` targets written
 * @throws {RangeError} when a row to bootstrap has no legal action
 */
export function dqnTargets(p: DQNTargetInput, out: Float64Array | Float32Array): void {
  const { rows, numActions: n, rewards, discounts, nextQTarget, nextQOnline } = p;
  const m = p.mask ?? null, O = p.obsSize ?? 0, obs = p.nextObs;
  const pick = nextQOnline ?? nextQTarget;
  for (let r = 0; r < rows; r++) {
    const d = discounts[r]!;
    if (d === 0) {
      out[r] = rewards[r]!;
      continue;
    }
    let best = -1, max = -Infinity;
    for (let j = 0; j < n; j++) {
      if (m !== null && obs![r * O + m.maskOffset + j] !== 1) continue;
      const q = pick[r * n + j]!;
      if (best < 0 || q > max) {
        max = q;
        best = j;
      }
    }
    if (best < 0) {
      throw new RangeError(
        `DQN target of row ${r}: its bootstrap observation has no legal action (action_mask all 0) but the transition did not terminate; an env must terminate an agent that has no move`,
      );
    }
    out[r] = rewards[r]! + d * nextQTarget[r * n + best]!;
  }
}

/** Inputs of {@linkcode c51Targets}. */
export interface C51TargetInput {
  /** Rows `B`. */
  rows: number;
  /** Actions `n`. */
  numActions: number;
  /** `[K]` the atoms `z_k`, evenly spaced from `vMin` to `vMax` (K ≥ 2). */
  atoms: ArrayLike<number>;
  /** `[B]` (n-step) rewards. */
  rewards: ArrayLike<number>;
  /** `[B]` bootstrap factors (0: no bootstrap). */
  discounts: ArrayLike<number>;
  /** `[B × n × K]` the target network's log-probabilities of the bootstrap observations. */
  nextLogProbs: ArrayLike<number>;
  /**
   * `[B × n]` the Q-values that pick `a*` in `s'`: the online network's (double Q) or the target
   * network's.
   */
  nextQ: ArrayLike<number>;
  /** The bootstrap observations (`[B × obsSize]`), read for their action masks. */
  nextObs?: ArrayLike<number>;
  /** Floats per observation row (with `mask`). */
  obsSize?: number;
  /** The action-mask layout, or null/absent: every action is legal. */
  mask?: ActionMaskLayout | null;
}

/**
 * C51's projected target distribution (Bellemare et al., Algorithm 1): with `a*` the argmax of
 * `nextQ` over the legal actions of `s'` (the first of equal values), each atom `z_j` of
 * `p(s', a*)` moves to `Tz_j = clip(R + d·z_j, vMin, vMax)` and its probability is split between
 * the two neighbouring atoms in proportion to closeness (all of it to one atom when `Tz_j` hits
 * one). A row with `d` = 0 (terminated) puts all its mass at `clip(R)`; a row whose reward or
 * discount is not finite gets NaN (so the loss is not finite and the update rolls back).
 *
 * @example Three atoms −1, 0, 1 by hand
 * ```ts
 * import { c51Targets } from "./dqn.ts";
 * const m = new Float64Array(3);
 * c51Targets({
 *   rows: 1, numActions: 1, atoms: [-1, 0, 1], rewards: [0.5], discounts: [0.5],
 *   nextLogProbs: [0.2, 0.3, 0.5].map(Math.log), nextQ: [0],
 * }, m);
 * // Tz = 0, 0.5, 1: 0.2 to atom 0 (z = 0), 0.3 split in halves, 0.5 to atom 1
 * if (Math.abs(m[1]! - 0.35) > 1e-12 || Math.abs(m[2]! - 0.65) > 1e-12 || m[0] !== 0) throw new Error();
 * ```
 *
 * @param inp the batch
 * @param out `[B × K]` target probabilities written
 * @throws {RangeError} when a bootstrapped row's `s'` has no legal action
 */
export function c51Targets(inp: C51TargetInput, out: Float64Array): void {
  const { rows, numActions: n, atoms: z, rewards, discounts, nextLogProbs: lp, nextQ } = inp;
  const K = z.length, vMin = z[0]!, vMax = z[K - 1]!, dz = (vMax - vMin) / (K - 1);
  const mask = inp.mask ?? null, O = inp.obsSize ?? 0, nextObs = inp.nextObs;
  out.fill(0, 0, rows * K);
  const place = (r: number, tz: number, p: number) => {
    const c = tz < vMin ? vMin : tz > vMax ? vMax : tz;
    let b = (c - vMin) / dz;
    if (b > K - 1) b = K - 1;
    const l = Math.floor(b), u = Math.ceil(b);
    if (l === u) out[r * K + l] = out[r * K + l]! + p;
    else {
      out[r * K + l] = out[r * K + l]! + p * (u - b);
      out[r * K + u] = out[r * K + u]! + p * (b - l);
    }
  };
  for (let r = 0; r < rows; r++) {
    const d = discounts[r]!, R = rewards[r]!;
    if (!Number.isFinite(R) || !Number.isFinite(d)) {
      out.fill(NaN, r * K, r * K + K); // a corrupted row: the loss turns non-finite
      continue;
    }
    if (d === 0) {
      place(r, R, 1);
      continue;
    }
    let best = -1, max = -Infinity;
    for (let a = 0; a < n; a++) {
      if (mask !== null && nextObs !== undefined && nextObs[r * O + mask.maskOffset + a] !== 1) {
        continue;
      }
      const q = nextQ[r * n + a]!;
      if (best < 0 || q > max) {
        max = q;
        best = a;
      }
    }
    if (best < 0) {
      throw new RangeError(
        `C51 target of row ${r}: its bootstrap observation has no legal action (action_mask all 0) but the transition did not terminate; an env must terminate an agent that has no move`,
      );
    }
    const base = (r * n + best) * K;
    for (let j = 0; j < K; j++) place(r, R + d * z[j]!, Math.exp(lp[base + j]!));
  }
}

/** Statistics of one DQN `learn` call, averaged over its gradient steps (RLlib-like names). */
export interface DQNStats {
  /** Mean Huber loss (C51: mean cross-entropy to the projected target), importance-weighted. */
  loss: number;
  /** Mean Q(s, a) of the sampled transitions. */
  mean_q: number;
  /** Mean target y (C51: the projected target's expected value). */
  mean_target: number;
  /** Mean |Q(s, a) − y|. */
  mean_td_error: number;
  /** Mean global gradient norm before clipping. */
  grad_gnorm: number;
  /** Learning rate. */
  cur_lr: number;
  /** Epsilon of the fragment just collected. */
  cur_epsilon: number;
  /** Gradient steps taken in this call. */
  num_grad_steps: number;
  /** Gradient steps taken so far. */
  num_grad_steps_total: number;
  /** Target-network updates so far. */
  num_target_updates: number;
  /** Transitions in the replay buffer. */
  replay_size: number;
  /** Prioritized replay only: the importance-sampling exponent β of this call. */
  cur_beta?: number;
  /** Prioritized replay only: the mean importance weight of the sampled rows. */
  mean_is_weight?: number;
}

/** A {@linkcode DQNLearner}'s state, for checkpoints. */
export interface DQNLearnerState {
  /** Adam steps taken. */
  step: number;
  /** Adam first moments. */
  m: Float64Array;
  /** Adam second moments. */
  v: Float64Array;
  /** The target network's flat weights. */
  target: Float32Array;
  /** Gradient steps taken. */
  gradSteps: number;
  /** Target-network updates made. */
  targetUpdates: number;
  /** Replayed rows owed short of a whole gradient step (carried between fragments). */
  owed: number;
  /** Env steps sampled when the epsilon was last set. */
  timesteps: number;
  /** The policy's current epsilon. */
  epsilon: number;
  /** The replay buffer's contents. */
  replay: ReplayState;
  /** The learner's own stream (used by `update` when given none). */
  rng: [number, number, number, number];
}

/**
 * Updates one {@linkcode QPolicy} with DQN, and is its {@linkcode Learner} (see the module
 * doc): n-step transitions in `postprocess`, replay and gradient steps in `learn`, the epsilon
 * schedule in `beforeSample`. Owns the replay buffer, the target network and the Adam state.
 */
export class DQNLearner implements Learner {
  /** The online Q-network (the acting policy). */
  readonly policy: QPolicy;
  /** The target network. */
  readonly target: QPolicy;
  /** The replay buffer. */
  readonly replay: ReplayBuffer;
  /** The optimiser. */
  readonly optimizer: Adam;
  /** Policy id, for error messages. */
  readonly policyId: string;
  /** The resolved hyperparameters. */
  readonly hyperparams: Readonly<DQNHyperparams>;
  readonly #rng: Pcg32;
  #timesteps = 0;
  #gradSteps = 0;
  #targetUpdates = 0;
  #owed = 0;
  #pending: NStepTransitions | undefined;
  #pendingCount = -1;
  /** Transitions rebuilt from a runner's columns (`putPostprocessed`), for the next `learn`. */
  #put: NStepTransitions | undefined;
  #putCount = -1;
  readonly #params: Float32Array;
  readonly #grad: Float32Array;
  readonly #targetFlat: Float32Array;
  #qNext = new Float32Array(0);
  #qOnline = new Float32Array(0);
  #y = new Float64Array(0);
  /** `|δ| + ε` of the last batch's rows (prioritized replay). */
  #prio = new Float64Array(0);
  /** C51's projected targets `[B × K]`. */
  #m = new Float64Array(0);
  /** Undo log of one `update` call's priority changes: rows and their earlier priorities. */
  #undoRows = new Int32Array(0);
  #undoPrio = new Float64Array(0);

  /**
   * Creates a learner with an empty replay buffer, a fresh Adam state and a target network
   * that starts as a copy of the policy.
   * @param policy the Q-network to train
   * @param hyperparams overrides of {@linkcode DEFAULT_DQN_HYPERPARAMS}
   * @param policyId the policy's id, for error messages (default `"default_policy"`)
   * @param seed seed of the stream `update` uses when given none (default 0)
   * @throws {RangeError} on a bad hyperparameter
   */
  constructor(
    policy: QPolicy,
    hyperparams: Partial<DQNHyperparams> = {},
    policyId = "default_policy",
    seed = 0,
  ) {
    this.hyperparams = Object.freeze(resolveDQNHyperparams(hyperparams));
    this.policy = policy;
    this.policyId = policyId;
    const h0 = this.hyperparams, o = policy.options;
    if (
      policy.numAtoms !== h0.numAtoms ||
      (h0.numAtoms > 1 && ((o.vMin ?? -10) !== h0.vMin || (o.vMax ?? 10) !== h0.vMax))
    ) {
      throw new RangeError(
        `DQN hyperparameters numAtoms ${h0.numAtoms}, vMin ${h0.vMin}, vMax ${h0.vMax} differ from the Q-network of policy "${policyId}" (numAtoms ${policy.numAtoms}, vMin ${o.vMin}, vMax ${o.vMax}); build the QPolicy with the same options`,
      );
    }
    if (policy.noisy !== h0.noisy || (h0.noisy && (o.noisySigma0 ?? 0.5) !== h0.noisySigma0)) {
      throw new RangeError(
        `DQN hyperparameters noisy ${h0.noisy}, noisySigma0 ${h0.noisySigma0} differ from the Q-network of policy "${policyId}" (noisy ${policy.noisy}, noisySigma0 ${o.noisySigma0}); build the QPolicy with the same options`,
      );
    }
    if (policy.dueling !== this.hyperparams.dueling) {
      throw new RangeError(
        `DQN hyperparameter "dueling" is ${this.hyperparams.dueling} but the Q-network of policy "${policyId}" is ${
          policy.dueling ? "" : "not "
        }dueling; build the QPolicy with the same dueling option`,
      );
    }
    this.target = new QPolicy(policy.options);
    this.target.setFlatWeights(policy.getFlatWeights());
    this.replay = new ReplayBuffer(this.hyperparams.replayCapacity, policy.obsSize, 1, {
      prioritized: this.hyperparams.prioritizedReplay,
      alpha: this.hyperparams.prioritizedReplayAlpha,
    });
    this.optimizer = new Adam(policy.numParams);
    this.#params = new Float32Array(policy.numParams);
    this.#grad = new Float32Array(policy.numParams);
    this.#targetFlat = this.target.getFlatWeights();
    this.#rng = new Pcg32(seed, 0xd9);
    policy.epsilon = epsilonAt(this.hyperparams, 0);
  }

  /** Gradient steps taken so far. */
  get gradientSteps(): number {
    return this.#gradSteps;
  }

  /** Target-network updates made so far. */
  get targetUpdates(): number {
    return this.#targetUpdates;
  }

  /**
   * Sets the policy's epsilon for the fragment about to be collected ({@linkcode epsilonAt}).
   * @param timesteps env steps sampled so far
   */
  beforeSample(timesteps: number): void {
    this.#timesteps = timesteps;
    this.policy.epsilon = epsilonAt(this.hyperparams, timesteps);
  }

  /**
   * Makes the fragment's n-step transitions ({@linkcode computeNStep}); `learn` adds them to the
   * replay buffer (so `Algorithm.sample()`, which does not learn, leaves the buffer alone).
   * @param buffer the policy's rows
   */
  postprocess(buffer: TrajectoryBuffer): void {
    const h = this.hyperparams;
    this.#pending = computeNStep(buffer, h.gamma, h.nStep, this.#pending);
    this.#checkActions(this.#pending);
    this.#pendingCount = this.#pending.count;
  }

  #checkActions(t: NStepTransitions): void {
    const n = this.policy.numActions, s = this.policy.actionStart;
    for (let i = 0; i < t.count; i++) {
      const a = t.actions[i]! - s;
      if (!Number.isInteger(a) || a < 0 || a >= n) {
        throw new RangeError(
          `DQN policy "${this.policyId}": action ${
            t.actions[i]
          } of transition ${i} is not in [${s}, ${s + n - 1}]`,
        );
      }
    }
  }

  /**
   * The fragment's n-step transitions as columns of its batch, for an env runner to send (see
   * `Learner.takePostprocessed`): `nstep_rewards` (Σ γⁱ rᵢ), `nstep_discounts` (γᵏ, 0 after a
   * termination) and `nstep_boot_offset` (`boot[k] − k`: the bootstrap observation is the
   * `new_obs` of the row that many rows further on, which concatenating batches keeps). The
   * observations and actions are the batch's own.
   * @returns the columns (copies)
   * @throws {Error} when `postprocess` did not run since the last `learn`
   */
  takePostprocessed(): PostprocessedColumns {
    const t = this.#pending;
    if (t === undefined || this.#pendingCount < 0) {
      throw new Error(
        `DQN learner of policy "${this.policyId}": takePostprocessed before postprocess(buffer)`,
      );
    }
    const k = t.count, off = new Float32Array(k);
    for (let i = 0; i < k; i++) off[i] = t.boot[i]! - i;
    return {
      nstep_rewards: t.rewards.slice(0, k),
      nstep_discounts: t.discounts.slice(0, k),
      nstep_boot_offset: off,
    };
  }

  /**
   * The trainer's side of {@linkcode DQNLearner.takePostprocessed}: the next `learn` adds these
   * transitions (the batch's observations and actions, the bootstrap observations read from its
   * `new_obs`) instead of those of a `postprocess` call.
   * @param columns `nstep_rewards`, `nstep_discounts`, `nstep_boot_offset`, `[count]` each
   * @param count the rows of the batch `learn` will get
   * @throws {RangeError} when a column is missing, has another length, or an offset leaves the
   *   batch
   */
  putPostprocessed(columns: PostprocessedColumns, count: number): void {
    const names = ["nstep_rewards", "nstep_discounts", "nstep_boot_offset"] as const;
    for (const name of names) {
      const c = columns[name];
      if (c === undefined || c.length !== count) {
        throw new RangeError(
          `DQN learner of policy "${this.policyId}": column ${name} has ${c?.length} rows, the batch ${count}`,
        );
      }
    }
    const off = columns.nstep_boot_offset!;
    for (let i = 0; i < count; i++) {
      const o = off[i]!;
      if (!Number.isInteger(o) || o < 0 || i + o >= count) {
        throw new RangeError(
          `DQN learner of policy "${this.policyId}": row ${i}'s bootstrap offset ${o} leaves the batch of ${count} rows`,
        );
      }
    }
    this.#put = {
      count,
      obs: new Float32Array(0),
      actions: new Float32Array(0),
      rewards: columns.nstep_rewards!,
      nextObs: new Float32Array(0),
      discounts: columns.nstep_discounts!,
      steps: new Int32Array(0),
      boot: Int32Array.from(off, (o, i) => i + o),
    };
    this.#putCount = count;
  }

  /**
   * Adds the post-processed fragment to the replay buffer and takes the gradient steps it
   * buys (none before `learningStarts`).
   * @param batch the fragment's closed rows (the same rows `postprocess` saw)
   * @param rng the trainer's stream: replay sampling
   * @returns the statistics, or undefined when no gradient step was taken
   * @throws {Error} when `postprocess` did not see this fragment
   */
  learn(batch: SampleBatch, rng: Pcg32): LearnerInfo | undefined {
    if (this.#put !== undefined) return this.#learnPut(batch, rng);
    const t = this.#pending;
    if (t === undefined || this.#pendingCount !== batch.count) {
      throw new Error(
        `DQN learner of policy "${this.policyId}": the batch has ${batch.count} rows but postprocess saw ${
          Math.max(0, this.#pendingCount)
        }; call postprocess(buffer) on the fragment before learn`,
      );
    }
    this.replay.add(t.count, t.obs, t.actions, t.rewards, t.nextObs, t.discounts);
    this.#pendingCount = -1;
    return this.#afterAdd(t.count, rng);
  }

  /** `learn` from transitions given by `putPostprocessed`. */
  #learnPut(batch: SampleBatch, rng: Pcg32): LearnerInfo | undefined {
    const p = this.#put!, k = batch.count, O = this.policy.obsSize;
    this.#put = undefined;
    this.#pendingCount = -1;
    if (this.#putCount !== k) {
      throw new Error(
        `DQN learner of policy "${this.policyId}": the batch has ${k} rows but putPostprocessed was given ${this.#putCount}`,
      );
    }
    const nextObs = new Float32Array(k * O);
    for (let i = 0; i < k; i++) {
      const b = p.boot[i]!;
      for (let c = 0; c < O; c++) nextObs[i * O + c] = batch.new_obs[b * O + c]!;
    }
    const t = { ...p, obs: batch.obs, actions: batch.actions, nextObs };
    this.#checkActions(t);
    this.replay.add(k, t.obs, t.actions, t.rewards, t.nextObs, t.discounts);
    return this.#afterAdd(k, rng);
  }

  /** Gradient steps bought by `count` new transitions (none before `learningStarts`). */
  #afterAdd(count: number, rng: Pcg32): LearnerInfo | undefined {
    const h = this.hyperparams;
    if (this.replay.size === 0 || this.replay.size < h.learningStarts) return undefined;
    // Replayed rows owed, carried between fragments (exact for integer intensities).
    this.#owed += h.trainingIntensity * count;
    const steps = Math.floor(this.#owed / h.trainBatchSize);
    this.#owed -= steps * h.trainBatchSize;
    if (steps === 0) return undefined;
    const stats = this.update(steps, rng);
    return {
      learner_stats: stats as unknown as Record<string, number>,
      num_agent_steps_trained: steps * h.trainBatchSize,
    };
  }

  /**
   * `steps` gradient steps on batches drawn from the replay buffer, with a rollback: when a
   * loss, gradient or weight turns non-finite, the weights, the optimiser, the target network,
   * the counters and the replay's priorities return to what they were before the call, and it
   * throws.
   * @param steps gradient steps (≥ 1)
   * @param rng the sampling stream (default: the learner's own)
   * @returns the statistics averaged over the steps
   * @throws {RangeError} when the replay buffer is empty
   */
  update(steps: number, rng: Pcg32 = this.#rng): DQNStats {
    if (this.replay.size === 0) {
      throw new RangeError(`DQN update of policy "${this.policyId}": the replay buffer is empty`);
    }
    const target = this.#targetFlat.slice();
    const counters = [this.#gradSteps, this.#targetUpdates];
    const maxPriority = this.replay.maxPriority;
    const undo = { count: 0 };
    try {
      return guardUpdate(
        `DQN update of policy "${this.policyId}"`,
        this.policy,
        this.optimizer,
        () => this.#update(steps, rng, undo),
      );
    } catch (e) {
      this.#targetFlat.set(target);
      this.target.setFlatWeights(target);
      [this.#gradSteps, this.#targetUpdates] = counters as [number, number];
      if (this.replay.prioritized) {
        this.replay.restorePriorities(undo.count, this.#undoRows, this.#undoPrio, maxPriority);
      }
      throw e;
    }
  }

  #update(steps: number, rng: Pcg32, undo: { count: number }): DQNStats {
    const h = this.hyperparams, policy = this.policy, B = h.trainBatchSize;
    const n = policy.numActions, start = policy.actionStart;
    if (this.#qNext.length < B * n) {
      this.#qNext = new Float32Array(B * n);
      this.#qOnline = new Float32Array(B * n);
      this.#y = new Float64Array(B);
      this.#prio = new Float64Array(B);
    }
    const per = this.replay.prioritized, replay = this.replay, prio = this.#prio;
    if (per && this.#undoRows.length < steps * B) {
      this.#undoRows = new Int32Array(steps * B);
      this.#undoPrio = new Float64Array(steps * B);
    }
    const beta = per ? betaAt(h, this.#timesteps) : 1, eps = h.prioritizedReplayEps;
    const y = this.#y, kappa = h.huberDelta;
    policy.getFlatWeights(this.#params);
    const adam = {
      lr: h.lr,
      beta1: h.adamBeta1,
      beta2: h.adamBeta2,
      epsilon: h.adamEpsilon,
      gradClip: h.gradClip,
    };
    let batch: ReplayBatch;
    let lossSum = 0, qSum = 0, tdSum = 0, ySum = 0, gnormSum = 0, wSum = 0;
    // The Huber loss of δ = Q(s, a) − y, each row weighted by its importance weight (1 when
    // uniform), mean over the batch; |δ| + ε is the row's new priority.
    const loss = (q: Float32Array, _v: Float32Array, dQ: Float32Array): void => {
      const w = batch.weights;
      for (let r = 0; r < B; r++) {
        const a = batch.actions[r]! - start, wr = w[r]!;
        const qa = q[r * n + a]!, d = qa - y[r]!, ad = Math.abs(d);
        lossSum += wr * (ad <= kappa ? 0.5 * d * d : kappa * (ad - 0.5 * kappa)) / B;
        dQ[r * n + a] = wr * (ad <= kappa ? d : kappa * Math.sign(d)) / B;
        qSum += qa / B;
        tdSum += ad / B;
        ySum += y[r]! / B;
        wSum += wr / B;
        prio[r] = ad + eps;
      }
    };
    const K = h.numAtoms, z = policy.atoms;
    if (K > 1 && this.#m.length < B * K) this.#m = new Float64Array(B * K);
    const m = this.#m;
    // C51: the cross-entropy −Σ_k m_k log p_k(s, a) of each row, weighted by its importance
    // weight, mean over the batch; d/dlogit_k = w·(p_k − m_k)/B; the priority is the
    // cross-entropy + ε (RLlib's choice).
    const distLoss = (logp: Float64Array, dL: Float64Array): void => {
      const w = batch.weights;
      for (let r = 0; r < B; r++) {
        const a = batch.actions[r]! - start, wr = w[r]!, base = (r * n + a) * K;
        let ce = 0, qa = 0, ym = 0;
        for (let k = 0; k < K; k++) {
          const p = Math.exp(logp[base + k]!), mk = m[r * K + k]!;
          if (mk !== 0) ce -= mk * logp[base + k]!;
          qa += z[k]! * p;
          ym += z[k]! * mk;
          dL[base + k] = (wr * (p - mk)) / B;
        }
        lossSum += (wr * ce) / B;
        qSum += qa / B;
        ySum += ym / B;
        tdSum += Math.abs(qa - ym) / B;
        wSum += wr / B;
        prio[r] = ce + eps;
      }
    };
    for (let s = 0; s < steps; s++) {
      batch = replay.sample(B, rng, beta);
      // Noisy nets: one noise sample per network and step, drawn after the batch (the online
      // net's serves its double-Q pick and its gradient; setFlatWeights below clears it).
      policy.sampleNoise(rng);
      this.target.sampleNoise(rng);
      let boot = false;
      for (let r = 0; r < B && !boot; r++) boot = batch.discounts[r] !== 0;
      if (K > 1) {
        let lpT: Float64Array = EMPTY64;
        if (boot) {
          lpT = this.target.logProbs(batch.nextObs, B);
          // Double Q: the online net picks a*; else the target net's expected values.
          if (h.doubleQ) policy.qValues(batch.nextObs, B, this.#qOnline);
          else {
            for (let j = 0; j < B * n; j++) {
              let q = 0;
              for (let k = 0; k < K; k++) q += z[k]! * Math.exp(lpT[j * K + k]!);
              this.#qNext[j] = q; // illegal actions: 0, never read (c51Targets skips them)
            }
          }
        }
        c51Targets({
          rows: B,
          numActions: n,
          atoms: z,
          rewards: batch.rewards,
          discounts: batch.discounts,
          nextLogProbs: lpT,
          nextQ: h.doubleQ ? this.#qOnline : this.#qNext,
          nextObs: batch.nextObs,
          obsSize: policy.obsSize,
          mask: policy.actionMask,
        }, m);
        const before = lossSum;
        policy.computeDistributionalGradients(batch.obs, B, distLoss, this.#grad);
        if (!Number.isFinite(lossSum)) {
          throw new NonFiniteError(
            `the loss is ${lossSum - before} at gradient step ${s + 1} of ${steps}`,
          );
        }
      } else {
        if (boot) {
          this.target.qValues(batch.nextObs, B, this.#qNext);
          if (h.doubleQ) policy.qValues(batch.nextObs, B, this.#qOnline);
        }
        dqnTargets({
          rows: B,
          numActions: n,
          rewards: batch.rewards,
          discounts: batch.discounts,
          nextQTarget: this.#qNext,
          nextQOnline: h.doubleQ ? this.#qOnline : null,
          nextObs: batch.nextObs,
          obsSize: policy.obsSize,
          mask: policy.actionMask,
        }, y);
        const before = lossSum;
        policy.computeGradients(batch.obs, B, loss, this.#grad);
        if (!Number.isFinite(lossSum)) {
          throw new NonFiniteError(
            `the loss is ${lossSum - before} at gradient step ${s + 1} of ${steps}`,
          );
        }
      }
      const where = `at gradient step ${s + 1} of ${steps}`;
      const gnorm = this.optimizer.step(this.#params, this.#grad, adam);
      if (!Number.isFinite(gnorm)) throw new NonFiniteError(`grad_gnorm is ${gnorm} ${where}`);
      try {
        policy.setFlatWeights(this.#params);
      } catch (e) {
        throw new NonFiniteError(
          `the new weights are not finite ${where} (${(e as Error).message})`,
        );
      }
      if (per) {
        const base = undo.count, idx = batch.indices;
        for (let r = 0; r < B; r++) {
          this.#undoRows[base + r] = idx[r]!;
          this.#undoPrio[base + r] = replay.priority(idx[r]!);
        }
        undo.count += B;
        replay.updatePriorities(B, idx, prio);
      }
      gnormSum += gnorm;
      this.#gradSteps++;
      if (this.#gradSteps % h.targetUpdateFreq === 0) this.#updateTarget();
    }
    this.target.clearNoise();
    return {
      loss: lossSum / steps,
      mean_q: qSum / steps,
      mean_target: ySum / steps,
      mean_td_error: tdSum / steps,
      grad_gnorm: gnormSum / steps,
      cur_lr: h.lr,
      cur_epsilon: policy.epsilon,
      num_grad_steps: steps,
      num_grad_steps_total: this.#gradSteps,
      num_target_updates: this.#targetUpdates,
      replay_size: this.replay.size,
      ...(per ? { cur_beta: beta, mean_is_weight: wSum / steps } : {}),
    };
  }

  /** θ_target ← τ·θ + (1 − τ)·θ_target (τ = 1: a copy). */
  #updateTarget(): void {
    const tau = this.hyperparams.tau, t = this.#targetFlat, p = this.#params;
    if (tau === 1) t.set(p);
    else for (let k = 0; k < t.length; k++) t[k] = tau * p[k]! + (1 - tau) * t[k]!;
    this.target.setFlatWeights(t);
    this.#targetUpdates++;
  }

  /**
   * The whole state (copies), for checkpoints: Adam, the target network, the counters, the
   * epsilon and the replay buffer's filled rows.
   * @returns the state
   */
  getState(): DQNLearnerState {
    const a = this.optimizer.getState();
    return {
      step: a.step,
      m: a.m,
      v: a.v,
      target: this.#targetFlat.slice(),
      gradSteps: this.#gradSteps,
      targetUpdates: this.#targetUpdates,
      owed: this.#owed,
      timesteps: this.#timesteps,
      epsilon: this.policy.epsilon,
      replay: this.replay.getState(),
      rng: this.#rng.getState(),
    };
  }

  /**
   * Restores a state from {@linkcode DQNLearner.getState}.
   * @param s the state
   * @throws {RangeError} when it does not fit this policy's sizes or the replay capacity
   */
  setState(s: DQNLearnerState): void {
    const n = this.optimizer.size;
    if (s.m.length !== n || s.v.length !== n || s.target.length !== n) {
      throw new RangeError(
        `DQN learner state of policy "${this.policyId}" has ${s.m.length} moments and ${s.target.length} target weights, the Q-network has ${n} weights`,
      );
    }
    this.replay.setState(s.replay);
    this.optimizer.setState({ step: s.step, m: s.m, v: s.v });
    this.#targetFlat.set(s.target);
    this.target.setFlatWeights(s.target);
    this.#gradSteps = s.gradSteps;
    this.#targetUpdates = s.targetUpdates;
    this.#owed = s.owed;
    this.#timesteps = s.timesteps;
    this.policy.epsilon = s.epsilon;
    this.#rng.setState(s.rng);
  }

  /** Frees the target network (the policy is disposed by its owner). */
  dispose(): void {
    this.target.dispose();
  }
}

/**
 * The trainer's DQN defaults: {@linkcode DEFAULT_DQN_HYPERPARAMS} and a 64×64 ReLU MLP
 * (`vfShareLayers` and `initialLogStd` do not apply to a Q-network).
 */
export const DQN_TRAINING_DEFAULTS: Readonly<DQNHyperparams & ModelParams> = Object.freeze({
  ...DEFAULT_DQN_HYPERPARAMS,
  ...DEFAULT_MODEL_PARAMS,
  activation: "relu" as const,
});

/**
 * DQN as an {@linkcode AlgorithmFamily}: records no extra column, builds `QPolicy`s (Discrete
 * action spaces, masked observations welcome) and {@linkcode DQNLearner}s. `DQNConfig` plugs
 * it in.
 */
export const DQN: AlgorithmFamily<DQNHyperparams, QPolicy> = Object.freeze({
  name: "DQN",
  defaults: DQN_TRAINING_DEFAULTS,
  samplesInRunners: true,
  resolve: (overrides: Partial<DQNHyperparams>) => resolveDQNHyperparams(overrides),
  recordColumns: Object.freeze([] as const),
  createPolicy(
    observationSpace: Space,
    actionSpace: Space,
    params: DQNHyperparams & ModelParams,
    seed: number,
  ): QPolicy {
    return new QPolicy({
      observationSpace,
      actionSpace,
      hidden: params.hidden,
      activation: params.activation,
      encoderSize: params.encoderSize,
      features: params.features,
      seed,
      dueling: params.dueling,
      numAtoms: params.numAtoms,
      vMin: params.vMin,
      vMax: params.vMax,
      noisy: params.noisy,
      noisySigma0: params.noisySigma0,
    });
  },
  createLearner(
    policy: QPolicy,
    params: DQNHyperparams,
    policyId: string,
    seed: number,
  ): DQNLearner {
    return new DQNLearner(policy, params, policyId, seed);
  },
});
