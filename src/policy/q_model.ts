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
 * **Dueling** (`dueling: true`, Wang et al. 2016; RLlib's DQN default, RLHive's Rainbow): the
 * network is an `ActorCriticModel` whose one shared tower ends in two linear streams, `n`
 * advantages `A(s, ·)` and a state value `V(s)` (the `head: "actor-critic"` model with
 * `vfShareLayers`: weights `shared/...`, the advantages initialised small), and
 * `Q(s, a) = V(s) + A(s, a) − mean_b A(s, b)`. With an action mask the mean runs over the row's
 * **legal** actions only: the outputs of illegal actions are not Q-values of anything (the model
 * writes `MASKED_LOGIT` over them and gives them no gradient), so letting them into the mean
 * would shift every legal Q-value by untrained numbers; over the legal ones, `V(s)` is exactly
 * the mean of the legal Q-values, as in the unmasked case. A row with no legal action (a final
 * observation) has all Q-values `MASKED_LOGIT`. The backward pass is the chain rule on top of the
 * model's: `dV = Σ_a dQ_a`, `dA_a = dQ_a − Σ_b dQ_b / |legal|` (legal `a`). The greedy action is
 * the argmax of the advantages, so an exported dueling policy acts greedily with
 * `explore: false` (the export sees an actor-critic head).
 *
 * **Distributional, C51** (`numAtoms` K > 1, Bellemare et al. 2017; RLlib's `num_atoms`, RLHive's
 * Rainbow): each action's return is a categorical distribution over K atoms
 * `z_k = vMin + k·(vMax − vMin)/(K − 1)`, `p(s, a) = softmax_k(logits(s, a, ·))`, and
 * `Q(s, a) = Σ_k z_k p_k(s, a)`. The network is a `head: "q"` `ActorCriticModel` with `n·K`
 * outputs (`(n + 1)·K` with dueling: per atom, `logit(a, k) = V_k + A(a, k) − mean_b A(b, k)`,
 * the mean over legal actions) built over the `observations` part of a masked observation;
 * this class applies the mask itself (illegal actions: Q `MASKED_LOGIT`, no distribution, no
 * gradient). {@linkcode QPolicy.logProbs} gives the distributions and
 * {@linkcode QPolicy.computeDistributionalGradients} back-propagates a loss on their logits.
 * `exportPolicy` does not support a C51 network (it would read the atoms' logits as actions);
 * restore one with `policyFromCheckpoint` instead.
 *
 * **Noisy nets** (`noisy: true`, Fortunato et al. 2018, factorised Gaussian noise; RLlib's
 * `noisy`, RLHive's Rainbow): every dense layer's weights are `μ + σ ⊙ ε` with learned `μ` (the
 * network's usual weights) and `σ` (initialised to `noisySigma0 / √fan_in`), and
 * `ε_ij = f(x_i)·f(y_j)`, `ε_bias_j = f(y_j)` for fresh standard normals `x` (one per input) and
 * `y` (one per output), `f(u) = sign(u)·√|u|`. The flat weights are `[μ …, σ …]` (σ named
 * `<layer>/kernel_sigma`, `<layer>/bias_sigma`), so Adam, target updates, rollbacks and
 * checkpoints treat σ as weights. `act` with `explore` draws one noise sample per call from its
 * stream (after it, the network is back on `μ`); `explore` false acts on `μ`. The learner draws
 * the noise of its passes with {@linkcode QPolicy.sampleNoise} from its stream; the gradient of
 * σ is the gradient of the weight times ε. Outside these calls the network holds `μ`, so an
 * export is the mean network.
 *
 * @module
 */

import { type Activation, ActorCriticModel, type OutputLoss, type WeightSpec } from "./model.ts";
import {
  type ActionMaskLayout,
  actionMaskLayout,
  countLegal,
  MASKED_LOGIT,
  noLegalActionError,
  type PolicyExtras,
} from "./policy.ts";
import type { LearningPolicy } from "../train/learner.ts";
import type { ObservationFeature } from "./features.ts";
import type { Pcg32 } from "../rng.ts";
import { Discrete, type Space } from "../spaces.ts";
import type { ExtraColumn } from "../rollout/buffer.ts";

const EMPTY = new Float32Array(0);

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
  /** Dueling streams: `Q = V + A − mean(A)`, the mean over legal actions (default false). */
  dueling?: boolean;
  /** Atoms K of a distributional (C51) Q-network (integer ≥ 1; default 1: not distributional). */
  numAtoms?: number;
  /** The smallest atom (default −10; C51 only). */
  vMin?: number;
  /** The largest atom (default 10, > `vMin`; C51 only). */
  vMax?: number;
  /** Noisy dense layers, factorised Gaussian (default false). */
  noisy?: boolean;
  /** σ₀ of noisy layers: σ starts at `σ₀ / √fan_in` (default 0.5, > 0). */
  noisySigma0?: number;
}

/**
 * A loss on the distributions of a C51 {@linkcode QPolicy} (see
 * {@linkcode QPolicy.computeDistributionalGradients}).
 */
export type DistributionalLoss = (
  /** `[rows × n × K]` log-probabilities of each legal action's atoms (0 for illegal actions). */
  logProbs: Float64Array,
  /** `[rows × n × K]` d loss / d logit of each action's atoms, written (zeros on entry). */
  dLogits: Float64Array,
) => void;

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
  /** Dueling streams (see the module doc). */
  readonly dueling: boolean;
  /** Atoms K per action (1: not distributional). */
  readonly numAtoms: number;
  /** The atoms' values `z_k` (`[K]`; `[0]` when K = 1). */
  readonly atoms: Float64Array;
  /** Noisy layers (see the module doc). */
  readonly noisy: boolean;
  /** Noisy nets: μ (the model's layout). */
  readonly #mu: Float32Array;
  /** Noisy nets: σ (the model's layout). */
  readonly #sigma: Float32Array;
  /** Noisy nets: the current ε (all 0 when the model holds μ). */
  readonly #eps: Float32Array;
  /** Noisy nets: μ + σ ⊙ ε, uploaded. */
  readonly #noisyW: Float32Array;
  /** Noisy nets: the model's gradient (d loss / d weight). */
  readonly #gW: Float32Array;
  #noiseOn = false;
  #z = new Float64Array(0);
  readonly #specs: readonly WeightSpec[];
  #epsilon = 0;
  #raw = new Float32Array(0);
  #inner = new Float32Array(0);
  #logp = new Float64Array(0);
  #off = new Float64Array(0);
  #dLogits = new Float64Array(0);
  #distLoss: DistributionalLoss | null = null;
  readonly #distBackward: OutputLoss;
  #q = new Float32Array(0);
  #v = new Float32Array(0);
  #dq = new Float32Array(0);
  #dv = new Float32Array(0);
  #userLoss: OutputLoss | null = null;
  #gradObs: Float32Array = EMPTY;
  #gradRows = 0;
  readonly #duelingLoss: OutputLoss;

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
    const dueling = options.dueling ?? false;
    if (typeof dueling !== "boolean") {
      throw new RangeError(`QPolicy dueling must be true or false, got ${String(dueling)}`);
    }
    const K = options.numAtoms ?? 1, vMin = options.vMin ?? -10, vMax = options.vMax ?? 10;
    if (typeof K !== "number" || !Number.isInteger(K) || K < 1) {
      throw new RangeError(`QPolicy numAtoms must be an integer >= 1, got ${String(K)}`);
    }
    if (
      typeof vMin !== "number" || typeof vMax !== "number" || !Number.isFinite(vMin) ||
      !Number.isFinite(vMax) || !(vMin < vMax)
    ) {
      throw new RangeError(
        `QPolicy vMin and vMax must be finite numbers with vMin < vMax, got ${String(vMin)} and ${
          String(vMax)
        }`,
      );
    }
    const noisy = options.noisy ?? false, sigma0 = options.noisySigma0 ?? 0.5;
    if (typeof noisy !== "boolean") {
      throw new RangeError(`QPolicy noisy must be true or false, got ${String(noisy)}`);
    }
    if (typeof sigma0 !== "number" || !(sigma0 > 0 && sigma0 < Infinity)) {
      throw new RangeError(`QPolicy noisySigma0 must be a finite number > 0, got ${sigma0}`);
    }
    this.options = Object.freeze({ ...options });
    this.dueling = dueling;
    this.numAtoms = K;
    this.atoms = new Float64Array(K);
    for (let k = 0; k < K && K > 1; k++) this.atoms[k] = vMin + (k * (vMax - vMin)) / (K - 1);
    const mask = actionMaskLayout(observationSpace, actionSpace, "QPolicy");
    const common = {
      hidden: options.hidden ?? [64, 64],
      activation: options.activation ?? "relu",
      encoderSize: options.encoderSize ?? 0,
      features: options.features ?? [],
      seed: options.seed ?? 0,
    };
    this.model = K === 1
      ? new ActorCriticModel({
        observationSpace,
        actionSpace,
        ...common,
        ...(dueling ? { head: "actor-critic", vfShareLayers: true } : { head: "q" }),
      })
      : new ActorCriticModel({
        observationSpace: mask === null ? observationSpace : mask.observations,
        actionSpace: new Discrete((actionSpace.n + (dueling ? 1 : 0)) * K),
        ...common,
        head: "q",
      });
    this.#duelingLoss = (adv, values, dAdv, dValues) =>
      this.#duelingBackward(adv, values, dAdv, dValues);
    this.#distBackward = (raw, _values, dRaw) => this.#distributionalBackward(raw, dRaw);
    this.obsSize = observationSpace.flatSize;
    this.numActions = actionSpace.n;
    this.actionStart = actionSpace.start;
    this.actionMask = mask;
    this.noisy = noisy;
    const P = noisy ? this.model.numParams : 0;
    this.#mu = noisy ? this.model.getFlatWeights() : EMPTY;
    this.#sigma = new Float32Array(P);
    this.#eps = new Float32Array(P);
    this.#noisyW = new Float32Array(P);
    this.#gW = new Float32Array(P);
    const specs = this.model.weightSpecs;
    if (noisy) {
      // Each dense layer is a kernel [in × out] then its bias [out].
      let off = 0;
      for (let i = 0; i < specs.length; i += 2) {
        const k = specs[i]!, b = specs[i + 1]!, fanIn = k.shape[0]!, size = fanIn * k.shape[1]!;
        if (k.shape.length !== 2 || b === undefined || b.shape[0] !== k.shape[1]) {
          throw new Error(`QPolicy noisy: "${k.name}" is not a dense kernel followed by its bias`);
        }
        this.#sigma.fill(sigma0 / Math.sqrt(fanIn), off, off + size + k.shape[1]!);
        off += size + k.shape[1]!;
      }
    }
    this.#specs = noisy
      ? [
        ...specs,
        ...specs.map((w) => ({
          name: w.name.replace(/(kernel|bias)$/, "$1_sigma"),
          shape: w.shape,
        })),
      ]
      : specs;
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

  /**
   * Names and shapes of the Q-network's weight arrays (`q/dense_0/kernel`, ...; noisy nets: then
   * every σ, `q/dense_0/kernel_sigma`, ...).
   */
  get weightSpecs(): readonly WeightSpec[] {
    return this.#specs;
  }

  /** Number of weights in the flat layout (noisy nets: μ and σ). */
  get numParams(): number {
    return this.noisy ? 2 * this.model.numParams : this.model.numParams;
  }

  /**
   * Noisy nets: draws a factorised noise sample ε (per dense layer, one standard normal per input
   * and per output, Box–Muller on `rng.nextFloat()` pairs, layer by layer) and puts the network
   * on `μ + σ ⊙ ε` until the next `setFlatWeights`, `clearNoise` or noisy `act`; gradients taken
   * meanwhile include σ's (`dσ = dW ⊙ ε`). Nothing happens on a network without noise.
   * @param rng the stream
   */
  sampleNoise(rng: Pcg32): void {
    if (!this.noisy) return;
    const specs = this.model.weightSpecs, eps = this.#eps;
    let off = 0;
    for (let i = 0; i < specs.length; i += 2) {
      const n = specs[i]!.shape[0]!, m = specs[i]!.shape[1]!;
      this.#normals(n, rng, 0); // f(x) into #z[0, n), then f(y) into #z[n, n + m)
      this.#normals(m, rng, n);
      const z = this.#z;
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < m; b++) eps[off + a * m + b] = z[a]! * z[n + b]!;
      }
      for (let b = 0; b < m; b++) eps[off + n * m + b] = z[n + b]!;
      off += n * m + m;
    }
    const w = this.#noisyW, mu = this.#mu, sigma = this.#sigma;
    for (let k = 0; k < w.length; k++) w[k] = mu[k]! + sigma[k]! * eps[k]!;
    this.model.setFlatWeights(w);
    this.#noiseOn = true;
  }

  /** Noisy nets: back to the mean weights μ (ε = 0). */
  clearNoise(): void {
    if (!this.noisy || !this.#noiseOn) return;
    this.#eps.fill(0);
    this.model.setFlatWeights(this.#mu);
    this.#noiseOn = false;
  }

  /** `count` values f(u) = sign(u)·√|u| of standard normals into `#z[at …]` (pairs: Box–Muller). */
  #normals(count: number, rng: Pcg32, at: number): void {
    if (this.#z.length < at + count + 1) {
      const z = new Float64Array(2 * (at + count + 1));
      z.set(this.#z);
      this.#z = z;
    }
    const z = this.#z;
    for (let k = 0; k < count; k += 2) {
      const u = 1 - rng.nextFloat(), v = rng.nextFloat();
      const r = Math.sqrt(-2 * Math.log(u));
      const g1 = r * Math.cos(2 * Math.PI * v), g2 = r * Math.sin(2 * Math.PI * v);
      z[at + k] = Math.sign(g1) * Math.sqrt(Math.abs(g1));
      if (k + 1 < count) z[at + k + 1] = Math.sign(g2) * Math.sqrt(Math.abs(g2));
    }
  }

  /** Noisy nets: maps the model's gradient `#gW` into `[dμ, dσ = dW ⊙ ε]`. */
  #noisyGrad(gradOut: Float32Array): void {
    const P = this.model.numParams, g = this.#gW, eps = this.#eps;
    if (gradOut.length !== 2 * P) {
      throw new RangeError(`gradOut holds ${gradOut.length} floats, expected ${2 * P}`);
    }
    gradOut.set(g);
    for (let k = 0; k < P; k++) gradOut[P + k] = g[k]! * eps[k]!;
  }

  /**
   * Q-values of `rows` rows (illegal actions of a masked row: `MASKED_LOGIT`).
   * @param obs `rows × obsSize` floats
   * @param rows number of rows
   * @param out `rows × numActions` floats written
   */
  qValues(obs: Float32Array, rows: number, out: Float32Array): void {
    if (this.#v.length < rows) this.#v = new Float32Array(rows);
    if (this.numAtoms > 1) {
      const logp = this.logProbs(obs, rows), n = this.numActions, K = this.numAtoms;
      const z = this.atoms, m = this.actionMask, O = this.obsSize;
      for (let r = 0; r < rows; r++) {
        const mb = m === null ? 0 : r * O + m.maskOffset;
        for (let a = 0; a < n; a++) {
          if (m !== null && obs[mb + a] === 0) {
            out[r * n + a] = MASKED_LOGIT;
            continue;
          }
          let q = 0;
          const base = (r * n + a) * K;
          for (let k = 0; k < K; k++) q += z[k]! * Math.exp(logp[base + k]!);
          out[r * n + a] = q;
        }
      }
      return;
    }
    this.model.forward(obs, rows, out, this.#v);
    if (this.dueling) this.#combine(obs, rows, out, this.#v, out);
  }

  /**
   * C51: the log-probabilities of every legal action's atoms (see the module doc).
   * @param obs `rows × obsSize` floats
   * @param rows number of rows
   * @returns `[rows × n × K]` log-probabilities (0 for illegal actions), reused by the next call
   * @throws {Error} when the network is not distributional
   */
  logProbs(obs: Float32Array, rows: number): Float64Array {
    if (this.numAtoms === 1) throw new Error("QPolicy.logProbs needs numAtoms > 1 (C51)");
    const W = (this.numActions + (this.dueling ? 1 : 0)) * this.numAtoms;
    if (this.#raw.length < rows * W) this.#raw = new Float32Array(rows * W);
    if (this.#v.length < rows) this.#v = new Float32Array(rows);
    this.model.forward(this.#innerObs(obs, rows), rows, this.#raw, this.#v);
    return this.#logSoftmax(obs, rows, this.#raw);
  }

  /** The `observations` part of masked rows (the C51 model's input), else `obs` itself. */
  #innerObs(obs: Float32Array, rows: number): Float32Array {
    const m = this.actionMask;
    if (m === null) return obs;
    const I = m.obsSize, O = this.obsSize;
    if (this.#inner.length < rows * I) this.#inner = new Float32Array(rows * I);
    const inner = this.#inner;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < I; j++) inner[r * I + j] = obs[r * O + m.obsOffset + j]!;
    }
    return inner;
  }

  /**
   * C51: per legal action, the atoms' logits (dueling: `V_k + A(a, k) − mean_b A(b, k)` over
   * legal `b`) and their log-softmax, into `#logp`.
   */
  #logSoftmax(obs: Float32Array, rows: number, raw: Float32Array): Float64Array {
    const n = this.numActions, K = this.numAtoms, m = this.actionMask, O = this.obsSize;
    const W = (n + (this.dueling ? 1 : 0)) * K;
    if (this.#logp.length < rows * n * K) this.#logp = new Float64Array(rows * n * K);
    if (this.#off.length < K) this.#off = new Float64Array(K);
    const logp = this.#logp, off = this.#off;
    for (let r = 0; r < rows; r++) {
      const mb = m === null ? 0 : r * O + m.maskOffset, rb = r * W;
      let legal = 0;
      for (let a = 0; a < n; a++) if (m === null || obs[mb + a] !== 0) legal++;
      if (this.dueling) {
        // offset_k = V_k − mean over legal b of A(b, k)
        for (let k = 0; k < K; k++) {
          let sum = 0;
          for (let b = 0; b < n; b++) {
            if (m === null || obs[mb + b] !== 0) sum += raw[rb + b * K + k]!;
          }
          off[k] = legal === 0 ? 0 : raw[rb + n * K + k]! - sum / legal;
        }
      }
      for (let a = 0; a < n; a++) {
        const base = (r * n + a) * K;
        if (m !== null && obs[mb + a] === 0) {
          logp.fill(0, base, base + K);
          continue;
        }
        let max = -Infinity;
        for (let k = 0; k < K; k++) {
          const x = raw[rb + a * K + k]! + (this.dueling ? off[k]! : 0);
          logp[base + k] = x;
          if (x > max) max = x;
        }
        let se = 0;
        for (let k = 0; k < K; k++) se += Math.exp(logp[base + k]! - max);
        const lse = max + Math.log(se);
        for (let k = 0; k < K; k++) logp[base + k] = logp[base + k]! - lse;
      }
    }
    return logp;
  }

  /**
   * C51: the gradient of a loss on the atoms' distributions with respect to every weight. The
   * loss gets each legal action's log-probabilities and writes d loss / d logit per action and
   * atom (for the cross-entropy `−Σ_k m_k log p_k` of one action: `p_k − m_k`); this chains it
   * through the dueling combination (`dV_k = Σ_a dL(a, k)`, `dA(a, k) = dL(a, k) − mean_b dL(b, k)`
   * over legal actions) and the network. Illegal actions get no gradient.
   * @param obs `rows × obsSize` floats
   * @param rows number of rows (≥ 1)
   * @param loss reads log-probabilities, writes d loss / d logits
   * @param gradOut `numParams` floats written
   * @throws {Error} when the network is not distributional
   */
  computeDistributionalGradients(
    obs: Float32Array,
    rows: number,
    loss: DistributionalLoss,
    gradOut: Float32Array,
  ): void {
    if (this.numAtoms === 1) {
      throw new Error("QPolicy.computeDistributionalGradients needs numAtoms > 1 (C51)");
    }
    this.#distLoss = loss;
    this.#gradObs = obs;
    this.#gradRows = rows;
    try {
      const g = this.noisy ? this.#gW : gradOut;
      this.model.computeGradients(this.#innerObs(obs, rows), rows, this.#distBackward, g);
      if (this.noisy) this.#noisyGrad(gradOut);
    } finally {
      this.#distLoss = null;
      this.#gradObs = EMPTY;
    }
  }

  /** C51 backward step: the caller's loss on the log-probabilities, then the chain rule. */
  #distributionalBackward(raw: Float32Array, dRaw: Float32Array): void {
    const obs = this.#gradObs, rows = this.#gradRows, n = this.numActions, K = this.numAtoms;
    const m = this.actionMask, O = this.obsSize, W = (n + (this.dueling ? 1 : 0)) * K;
    const logp = this.#logSoftmax(obs, rows, raw);
    if (this.#dLogits.length < rows * n * K) this.#dLogits = new Float64Array(rows * n * K);
    const dL = this.#dLogits.subarray(0, rows * n * K).fill(0);
    this.#distLoss!(logp, dL);
    for (let r = 0; r < rows; r++) {
      const mb = m === null ? 0 : r * O + m.maskOffset, rb = r * W;
      let legal = 0;
      for (let a = 0; a < n; a++) if (m === null || obs[mb + a] !== 0) legal++;
      for (let k = 0; k < K; k++) {
        let sum = 0;
        for (let a = 0; a < n; a++) {
          if (m !== null && obs[mb + a] === 0) continue;
          sum += dL[(r * n + a) * K + k]!;
        }
        const mean = legal === 0 ? 0 : sum / legal;
        for (let a = 0; a < n; a++) {
          const legalA = m === null || obs[mb + a] !== 0;
          const d = legalA ? dL[(r * n + a) * K + k]! : 0;
          dRaw[rb + a * K + k] = !legalA ? 0 : this.dueling ? d - mean : d;
        }
        if (this.dueling) dRaw[rb + n * K + k] = sum;
      }
    }
  }

  /**
   * Dueling: `q = V + A − mean(A)` per row, the mean over legal actions (see the module doc);
   * `adv` may be `q`. Illegal actions (and every action of a row with none legal) get
   * `MASKED_LOGIT`.
   */
  #combine(
    obs: Float32Array,
    rows: number,
    adv: Float32Array,
    v: Float32Array,
    q: Float32Array,
  ): void {
    const n = this.numActions, m = this.actionMask, O = this.obsSize;
    for (let r = 0; r < rows; r++) {
      const mb = m === null ? 0 : r * O + m.maskOffset;
      let sum = 0, legal = 0;
      for (let j = 0; j < n; j++) {
        if (m !== null && obs[mb + j] === 0) continue;
        sum += adv[r * n + j]!;
        legal++;
      }
      const base = legal === 0 ? 0 : v[r]! - sum / legal;
      for (let j = 0; j < n; j++) {
        q[r * n + j] = m !== null && obs[mb + j] === 0 ? MASKED_LOGIT : base + adv[r * n + j]!;
      }
    }
  }

  /**
   * Dueling backward step: the caller's loss on `Q`, then `dV = Σ dQ`, `dA = dQ − Σ dQ / |legal|`
   * over each row's legal actions.
   */
  #duelingBackward(
    adv: Float32Array,
    values: Float32Array,
    dAdv: Float32Array,
    dValues: Float32Array,
  ): void {
    const obs = this.#gradObs, rows = this.#gradRows, n = this.numActions;
    const m = this.actionMask, O = this.obsSize;
    if (this.#q.length < rows * n) this.#q = new Float32Array(rows * n);
    if (this.#dq.length < rows * n) this.#dq = new Float32Array(rows * n);
    if (this.#dv.length < rows) this.#dv = new Float32Array(rows);
    const q = this.#q.subarray(0, rows * n), dq = this.#dq.subarray(0, rows * n);
    this.#combine(obs, rows, adv, values, q);
    dq.fill(0);
    const zeros = this.#dv.subarray(0, rows).fill(0);
    this.#userLoss!(q, zeros, dq, zeros);
    for (let r = 0; r < rows; r++) {
      const mb = m === null ? 0 : r * O + m.maskOffset;
      let sum = 0, legal = 0;
      for (let j = 0; j < n; j++) {
        if (m !== null && obs[mb + j] === 0) continue;
        sum += dq[r * n + j]!;
        legal++;
      }
      dValues[r] = sum;
      const mean = legal === 0 ? 0 : sum / legal;
      for (let j = 0; j < n; j++) {
        dAdv[r * n + j] = m !== null && obs[mb + j] === 0 ? 0 : dq[r * n + j]! - mean;
      }
    }
  }

  /**
   * Gradient of a loss on the Q-values with respect to every weight (see
   * `ActorCriticModel.computeGradients`; the loss's `values` are zeros and `dValues` is ignored).
   * @param obs `rows × obsSize` floats
   * @param rows number of rows (≥ 1)
   * @param loss reads the Q-values (as logits), writes d loss / d Q
   * @param gradOut `numParams` floats written
   * @throws {Error} on a C51 network (see {@linkcode QPolicy.computeDistributionalGradients})
   */
  computeGradients(obs: Float32Array, rows: number, loss: OutputLoss, gradOut: Float32Array): void {
    if (this.numAtoms > 1) {
      throw new Error(
        "QPolicy.computeGradients: a C51 network learns through computeDistributionalGradients",
      );
    }
    const g = this.noisy ? this.#gW : gradOut;
    if (!this.dueling) {
      this.model.computeGradients(obs, rows, loss, g);
      if (this.noisy) this.#noisyGrad(gradOut);
      return;
    }
    this.#userLoss = loss;
    this.#gradObs = obs;
    this.#gradRows = rows;
    try {
      this.model.computeGradients(obs, rows, this.#duelingLoss, g);
      if (this.noisy) this.#noisyGrad(gradOut);
    } finally {
      this.#userLoss = null;
      this.#gradObs = EMPTY;
    }
  }

  /**
   * Epsilon-greedy actions (see the class doc).
   * @param obs observation rows
   * @param rows number of rows
   * @param rng stream for exploration
   * @param explore epsilon-greedy (true; noisy nets: on one noise sample drawn from `rng` first)
   *   or greedy (false; noisy nets: on μ)
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
    if (this.noisy) {
      if (explore) this.sampleNoise(rng);
      else this.clearNoise();
      try {
        this.qValues(obs, rows, q);
      } finally {
        this.clearNoise();
      }
    } else this.qValues(obs, rows, q);
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
    if (!this.noisy) return this.model.getWeights();
    const flat = this.getFlatWeights();
    let off = 0;
    return this.#specs.map((s) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      off += n;
      return flat.slice(off - n, off);
    });
  }

  /**
   * Replaces the weights.
   * @param weights one array per kernel and bias, in `weightSpecs` order and sizes
   */
  setWeights(weights: readonly ArrayLike<number>[]): void {
    if (!this.noisy) {
      this.model.setWeights(weights);
      return;
    }
    if (weights.length !== this.#specs.length) {
      throw new RangeError(
        `setWeights expected ${this.#specs.length} arrays, got ${weights.length}`,
      );
    }
    const flat = new Float32Array(this.numParams);
    let off = 0;
    this.#specs.forEach((s, i) => {
      const n = s.shape.reduce((a, b) => a * b, 1), w = weights[i]!;
      if (w.length !== n) {
        throw new RangeError(`setWeights: "${s.name}" needs ${n} values, got ${w.length}`);
      }
      for (let k = 0; k < n; k++) flat[off + k] = w[k]!;
      off += n;
    });
    this.setFlatWeights(flat);
  }

  /**
   * The weights in the flat layout.
   * @param out optional destination of `numParams` floats
   * @returns `out`, or a new array
   */
  getFlatWeights(out?: Float32Array): Float32Array {
    if (!this.noisy) return this.model.getFlatWeights(out);
    const P = this.model.numParams;
    if (out !== undefined && out.length !== 2 * P) {
      throw new RangeError(`getFlatWeights: out holds ${out.length}, expected ${2 * P}`);
    }
    const o = out ?? new Float32Array(2 * P);
    o.set(this.#mu);
    o.set(this.#sigma, P);
    return o;
  }

  /**
   * Replaces all weights from the flat layout.
   * @param flat `numParams` finite floats
   */
  setFlatWeights(flat: ArrayLike<number>): void {
    if (!this.noisy) {
      this.model.setFlatWeights(flat);
      return;
    }
    const P = this.model.numParams;
    if (flat.length !== 2 * P) {
      throw new RangeError(`setFlatWeights expected ${2 * P} values (μ and σ), got ${flat.length}`);
    }
    for (let k = 0; k < 2 * P; k++) {
      if (!Number.isFinite(flat[k])) {
        throw new RangeError(`Weight ${k} (${k < P ? "μ" : "σ"}) is not finite: ${flat[k]}`);
      }
    }
    for (let k = 0; k < P; k++) {
      this.#mu[k] = flat[k]!;
      this.#sigma[k] = flat[P + k]!;
    }
    this.#eps.fill(0);
    this.#noiseOn = false;
    this.model.setFlatWeights(this.#mu);
  }

  /** Frees the Q-network's tensors. */
  dispose(): void {
    this.model.dispose();
  }
}
