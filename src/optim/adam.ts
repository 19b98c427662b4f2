/**
 * The optimiser every learner shares: {@linkcode Adam} over one flat `Float32Array` of
 * parameters, with global-norm gradient clipping ({@linkcode clipGlobalNorm}), and
 * {@linkcode guardUpdate}, which rolls the weights and the optimiser state back when an update
 * turns anything non-finite.
 *
 * @module
 */

/** Adam's settings for one step. */
export interface AdamParams {
  /** Learning rate (≥ 0). */
  lr: number;
  /** β1 in [0, 1). */
  beta1: number;
  /** β2 in [0, 1). */
  beta2: number;
  /** ε (> 0), added to √v̂ as `torch.optim.Adam` does. */
  epsilon: number;
  /** Global gradient-norm clip (> 0), as `torch.nn.utils.clip_grad_norm_`; null: no clipping. */
  gradClip: number | null;
}

/** Adam's state, for checkpoints. */
export interface AdamState {
  /** Steps taken. */
  step: number;
  /** First moments. */
  m: Float64Array;
  /** Second moments. */
  v: Float64Array;
}

/**
 * The global L2 norm of `grad`, and the factor that scales it to at most `maxNorm`
 * (`torch.nn.utils.clip_grad_norm_`: `maxNorm / (norm + 1e-6)` when the norm exceeds it).
 * @param grad the gradient
 * @param maxNorm the clip, or null for none
 * @returns `[norm, scale]` (scale 1 when not clipped)
 */
export function clipGlobalNorm(grad: ArrayLike<number>, maxNorm: number | null): [number, number] {
  let sq = 0;
  for (let k = 0; k < grad.length; k++) sq += grad[k]! * grad[k]!;
  const norm = Math.sqrt(sq);
  const scale = maxNorm !== null && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  return [norm, scale];
}

/**
 * Adam (Kingma & Ba, with bias correction, as `torch.optim.Adam`) over a flat parameter array,
 * moments in float64.
 *
 * @example One step on a 2-parameter problem
 * ```ts
 * import { Adam } from "./adam.ts";
 * const adam = new Adam(2);
 * const w = new Float32Array([1, -1]);
 * adam.step(w, new Float32Array([0.5, -2]), {
 *   lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, gradClip: null,
 * });
 * // The first bias-corrected step moves each weight by about lr against its gradient's sign.
 * if (Math.abs(w[0]! - 0.9) > 1e-6 || Math.abs(w[1]! + 0.9) > 1e-6) throw new Error("step");
 * ```
 */
export class Adam {
  /** Number of parameters. */
  readonly size: number;
  #step = 0;
  readonly #m: Float64Array;
  readonly #v: Float64Array;

  /**
   * A fresh optimiser (zero moments, step 0).
   * @param size number of parameters
   */
  constructor(size: number) {
    this.size = size;
    this.#m = new Float64Array(size);
    this.#v = new Float64Array(size);
  }

  /** Steps taken. */
  get steps(): number {
    return this.#step;
  }

  /**
   * Clips `grad` to the global norm and applies one Adam step to `params`, in place. When the
   * gradient's norm is not finite, nothing changes (the caller decides what to do).
   * @param params the parameters, updated in place
   * @param grad the gradient (not modified)
   * @param h learning rate, betas, ε and clip
   * @returns the gradient's global norm before clipping
   */
  step(params: Float32Array, grad: ArrayLike<number>, h: AdamParams): number {
    if (params.length !== this.size || grad.length !== this.size) {
      throw new RangeError(
        `Adam over ${this.size} parameters got ${params.length} parameters and ${grad.length} gradients`,
      );
    }
    const [norm, scale] = clipGlobalNorm(grad, h.gradClip);
    if (!Number.isFinite(norm)) return norm;
    const m = this.#m, v = this.#v, b1 = h.beta1, b2 = h.beta2, eps = h.epsilon;
    this.#step++;
    const bc1 = 1 - b1 ** this.#step, bc2 = 1 - b2 ** this.#step;
    const stepSize = h.lr / bc1, sqrtBc2 = Math.sqrt(bc2);
    for (let k = 0; k < params.length; k++) {
      const gk = grad[k]! * scale;
      const mk = b1 * m[k]! + (1 - b1) * gk;
      const vk = b2 * v[k]! + (1 - b2) * gk * gk;
      m[k] = mk;
      v[k] = vk;
      params[k] = params[k]! - stepSize * mk / (Math.sqrt(vk) / sqrtBc2 + eps);
    }
    return norm;
  }

  /**
   * A copy of the state.
   * @returns step and moments
   */
  getState(): AdamState {
    return { step: this.#step, m: this.#m.slice(), v: this.#v.slice() };
  }

  /**
   * Restores a state from {@linkcode Adam.getState}.
   * @param s the state
   * @throws {RangeError} when its moments do not match the size
   */
  setState(s: AdamState): void {
    if (s.m.length !== this.size || s.v.length !== this.size) {
      throw new RangeError(
        `Adam state has ${s.m.length} moments, the optimiser has ${this.size} parameters`,
      );
    }
    this.#step = s.step;
    this.#m.set(s.m);
    this.#v.set(s.v);
  }
}

/** Thrown inside {@linkcode guardUpdate}'s callback to report a non-finite value. */
export class NonFiniteError extends Error {
  /**
   * Reports a non-finite value.
   * @param message what was not finite, and where
   */
  constructor(message: string) {
    super(message);
    this.name = "NonFiniteError";
  }
}

/** What {@linkcode guardUpdate} saves and restores. */
export interface Guarded {
  /** Copies the weights out (flat). */
  getFlatWeights(out: Float32Array): Float32Array;
  /** Writes the weights back (flat). */
  setFlatWeights(flat: ArrayLike<number>): void;
  /** Number of weights. */
  readonly numParams: number;
}

/**
 * Runs one update with a rollback: saves the weights and the optimiser state, runs `update`, and
 * when it throws restores both before rethrowing. A {@linkcode NonFiniteError} is rethrown as an
 * `Error` that starts with `who` and says the weights were restored.
 *
 * @example
 * ```ts
 * import { Adam, guardUpdate, NonFiniteError } from "./adam.ts";
 * const w = new Float32Array([1, 2]);
 * const model = {
 *   numParams: 2,
 *   getFlatWeights: (out: Float32Array) => (out.set(w), out),
 *   setFlatWeights: (f: ArrayLike<number>) => w.set(Array.from(f)),
 * };
 * const adam = new Adam(2);
 * try {
 *   guardUpdate("update of policy \"p\"", model, adam, () => {
 *     w[0] = NaN;
 *     throw new NonFiniteError("the loss is NaN");
 *   });
 * } catch (e) {
 *   if (w[0] !== 1 || !(e as Error).message.includes("restored")) throw e;
 * }
 * ```
 *
 * @param who names the update in error messages, e.g. `PPO update of policy "p"`
 * @param model the weights to protect
 * @param optimizer the optimiser whose state to protect
 * @param update the update
 * @returns what `update` returns
 */
export function guardUpdate<T>(
  who: string,
  model: Guarded,
  optimizer: Adam,
  update: () => T,
): T {
  const backup = model.getFlatWeights(new Float32Array(model.numParams));
  const state = optimizer.getState();
  try {
    return update();
  } catch (e) {
    optimizer.setState(state);
    model.setFlatWeights(backup);
    if (e instanceof NonFiniteError) {
      throw new Error(`${who}: ${e.message}; the weights from before this update were restored`);
    }
    throw e;
  }
}
