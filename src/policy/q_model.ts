/**
 * {@linkcode QPolicy}: DQN's learning policy, an epsilon-greedy policy over a Q-network. The
 * network is an {@linkcode ActorCriticModel} with `head: "q"` (one tower `q`, one linear
 * output per action of a Discrete action space, no value function), so it runs its forward
 * pass in tfjs and has the same hand-written backward pass (`computeGradients`) as PPO's
 * model, and the same action masking: with a masked observation space (a Dict of
 * `"action_mask"` and `"observations"`) the network sees only `observations`, illegal actions'
 * Q-values read as `MASKED_LOGIT`, and neither the greedy choice nor the random one ever
 * picks an illegal action.
 *
 * @module
 */

import { type Activation, ActorCriticModel, type OutputLoss, type WeightSpec } from "./model.ts";
import {
  type ActionMaskLayout,
  countLegal,
  noLegalActionError,
  type PolicyExtras,
} from "./policy.ts";
import type { LearningPolicy } from "../train/learner.ts";
import type { ObservationFeature } from "./features.ts";
import type { Pcg32 } from "../rng.ts";
import { Discrete, type Space } from "../spaces.ts";
import type { ExtraColumn } from "../rollout/buffer.ts";

/** Options of {@linkcode QPolicy}. */
export interface QPolicyOptions {
  /** The observation space (a masked one enables action masking). */
  observationSpace: Space;
  /** A Discrete action space. */
  actionSpace: Space;
  /** Hidden layer widths (default `[64, 64]`). */
  hidden?: readonly number[];
  /** Hidden activation (default `"relu"`). */
  activation?: Activation;
  /** Encoder width per Dict/Tuple component (see `ActorCriticModel`; default 0). */
  encoderSize?: number;
  /** Relational features (see `features.ts`; default none). */
  features?: readonly ObservationFeature[];
  /** Seed of the initial weights (default 0). */
  seed?: number;
}

/**
 * Epsilon-greedy over a Q-network (see the module doc). `act` with `explore` false takes the
 * greedy action (the first of equal Q-values); with `explore` true it draws one
 * `rng.nextFloat()` per row and, below {@linkcode QPolicy.epsilon}, a uniformly random legal
 * action (`rng.nextInt(legal count)`), so a run is reproducible from the collector's stream.
 *
 * @example
 * ```ts
 * import { initBackend } from "./backend.ts";
 * import { QPolicy } from "./q_model.ts";
 * import { Box, Dict, Discrete } from "../spaces.ts";
 * import { Pcg32 } from "../rng.ts";
 * await initBackend({ backend: "cpu" });
 * const obsSpace = new Dict({ action_mask: new Box(0, 1, [3]), observations: new Box(0, 1, [2]) });
 * const q = new QPolicy({ observationSpace: obsSpace, actionSpace: new Discrete(3), seed: 1 });
 * q.epsilon = 1; // always random: still only legal actions
 * const act = new Float32Array(1);
 * q.act(new Float32Array([0, 1, 0, 0.5, 0.5]), 1, new Pcg32(3), true, act);
 * if (act[0] !== 1) throw new Error("action 1 is the only legal one");
 * q.dispose();
 * ```
 */
export class QPolicy implements LearningPolicy {
  /** The Q-network. */
  readonly model: ActorCriticModel;
  /** Flat observation size this policy reads per row. */
  readonly obsSize: number;
  /** Packed action size: 1. */
  readonly actSize = 1;
  /** Number of actions `n` (Q-values per row). */
  readonly numActions: number;
  /** The Discrete action space's `start`. */
  readonly actionStart: number;
  /** The action-mask layout, or null. */
  readonly actionMask: ActionMaskLayout | null;
  /** It writes no extra outputs. */
  readonly extraOutputs: readonly ExtraColumn[] = [];
  /** The options it was built with (a target network is built from them). */
  readonly options: Readonly<QPolicyOptions>;
  #epsilon = 0;
  #q = new Float32Array(0);
  #v = new Float32Array(0);

  /**
   * Builds the Q-network.
   * @param options spaces, shape and seed
   * @throws {RangeError} on an action space other than Discrete, or a bad model option
   */
  constructor(options: QPolicyOptions) {
    const { observationSpace, actionSpace } = options;
    if (!(actionSpace instanceof Discrete)) {
      throw new RangeError(
        `QPolicy (DQN) needs a Discrete action space, got ${String(actionSpace)}`,
      );
    }
    this.options = Object.freeze({ ...options });
    this.model = new ActorCriticModel({
      observationSpace,
      actionSpace,
      hidden: options.hidden ?? [64, 64],
      activation: options.activation ?? "relu",
      encoderSize: options.encoderSize ?? 0,
      features: options.features ?? [],
      seed: options.seed ?? 0,
      head: "q",
    });
    this.obsSize = this.model.obsSize;
    this.numActions = actionSpace.n;
    this.actionStart = actionSpace.start;
    this.actionMask = this.model.actionMask;
  }

  /** The exploration rate of `act` with `explore` true, in [0, 1]. */
  get epsilon(): number {
    return this.#epsilon;
  }

  /** @param e a number in [0, 1] */
  set epsilon(e: number) {
    if (typeof e !== "number" || !(e >= 0 && e <= 1)) {
      throw new RangeError(`QPolicy epsilon must be a number in [0, 1], got ${String(e)}`);
    }
    this.#epsilon = e;
  }

  /** Names and shapes of the Q-network's weight arrays (`q/dense_0/kernel`, ...). */
  get weightSpecs(): readonly WeightSpec[] {
    return this.model.weightSpecs;
  }

  /** Number of weights in the flat layout. */
  get numParams(): number {
    return this.model.numParams;
  }

  /**
   * Q-values of `rows` rows (illegal actions of a masked row: `MASKED_LOGIT`).
   * @param obs `rows × obsSize` floats
   * @param rows number of rows
   * @param out `rows × numActions` floats written
   */
  qValues(obs: Float32Array, rows: number, out: Float32Array): void {
    if (this.#v.length < rows) this.#v = new Float32Array(rows);
    this.model.forward(obs, rows, out, this.#v);
  }

  /**
   * Gradient of a loss on the Q-values with respect to every weight (see
   * `ActorCriticModel.computeGradients`; the loss's `values` are zeros and `dValues` is ignored).
   * @param obs `rows × obsSize` floats
   * @param rows number of rows (≥ 1)
   * @param loss reads the Q-values (as logits), writes d loss / d Q
   * @param gradOut `numParams` floats written
   */
  computeGradients(obs: Float32Array, rows: number, loss: OutputLoss, gradOut: Float32Array): void {
    this.model.computeGradients(obs, rows, loss, gradOut);
  }

  /**
   * Epsilon-greedy actions (see the class doc).
   * @param obs observation rows
   * @param rows number of rows
   * @param rng stream for exploration
   * @param explore epsilon-greedy (true) or greedy (false)
   * @param actionsOut `rows` actions written (`start + index`)
   * @param extras `action_logp` gets the log-probability of the action under the
   *   epsilon-greedy distribution when given
   * @throws {RangeError} on a masked row with no legal action
   */
  act(
    obs: Float32Array,
    rows: number,
    rng: Pcg32,
    explore: boolean,
    actionsOut: Float32Array,
    extras?: PolicyExtras,
  ): void {
    if (rows === 0) return;
    const n = this.numActions, O = this.obsSize, m = this.actionMask;
    if (this.#q.length < rows * n) this.#q = new Float32Array(rows * n);
    const q = this.#q;
    this.qValues(obs, rows, q);
    const eps = explore ? this.#epsilon : 0, logp = extras?.action_logp;
    for (let r = 0; r < rows; r++) {
      const legal = m === null ? n : countLegal(obs, O, r, m, "QPolicy.act");
      if (legal === 0) throw noLegalActionError("QPolicy.act", r);
      const mb = m === null ? 0 : r * O + m.maskOffset;
      let best = -1, max = -Infinity;
      for (let j = 0; j < n; j++) {
        if (m !== null && obs[mb + j] === 0) continue;
        if (best < 0 || q[r * n + j]! > max) {
          max = q[r * n + j]!;
          best = j;
        }
      }
      let a = best;
      if (eps > 0 && rng.nextFloat() < eps) {
        let k = rng.nextInt(legal);
        for (a = 0;; a++) if ((m === null || obs[mb + a] === 1) && k-- === 0) break;
      }
      actionsOut[r] = this.actionStart + a;
      if (logp !== undefined) {
        logp[r] = Math.log(eps / legal + (a === best ? 1 - eps : 0));
      }
    }
  }

  /**
   * Copies of the weight arrays, in `weightSpecs` order.
   * @returns one array per kernel and bias
   */
  getWeights(): Float32Array[] {
    return this.model.getWeights();
  }

  /**
   * Replaces the weights.
   * @param weights one array per kernel and bias, in `weightSpecs` order and sizes
   */
  setWeights(weights: readonly ArrayLike<number>[]): void {
    this.model.setWeights(weights);
  }

  /**
   * The weights in the flat layout.
   * @param out optional destination of `numParams` floats
   * @returns `out`, or a new array
   */
  getFlatWeights(out?: Float32Array): Float32Array {
    return this.model.getFlatWeights(out);
  }

  /**
   * Replaces all weights from the flat layout.
   * @param flat `numParams` finite floats
   */
  setFlatWeights(flat: ArrayLike<number>): void {
    this.model.setFlatWeights(flat);
  }

  /** Frees the Q-network's tensors. */
  dispose(): void {
    this.model.dispose();
  }
}
