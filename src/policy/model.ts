/**
 * {@linkcode ActorCriticModel}: the MLP actor-critic of a learning policy, built from a flat
 * observation size (or an observation space) and a Discrete, MultiDiscrete or Box action space.
 *
 * Shapes: `B` rows, `O` flat observation size, `H` hidden width, `L` logits (the sum of the
 * heads' sizes; `2D` for a Box), `K` heads (one per action element; one float each in the
 * packed actions), `D` elements of a Box action, `C` components of a Dict/Tuple observation,
 * `E` encoder width.
 *
 * Architecture:
 * - Each tower (actor and critic, or one shared tower with `vfShareLayers`) is an MLP over the
 *   flat observation: `hidden` layers of `activation`, then a linear output.
 * - Encoders (RLlib's complex-input network): with `encoderSize` E > 0 and a Dict or Tuple
 *   observation space, each tower first encodes every leaf component of the observation (a
 *   nested Dict/Tuple is walked down to its leaves) with its own dense layer of E units
 *   (`activation`), concatenates the `C` encodings and runs `hidden` on them. It runs as one
 *   fused layer with a block-diagonal `[O × C·E]` kernel: the flat layout holds only the
 *   blocks (`pi/encoder/<key>/kernel` `[size of <key> × E]` and `.../bias` `[E]`), the entries
 *   outside them are zeros on the device and never receive a gradient (only the blocks are
 *   read back). One op per tower instead of `C` slices, matmuls and a concat.
 * - Heads: Discrete → one categorical; MultiDiscrete → one categorical per element; Box →
 *   a diagonal Gaussian (`src/policy/gaussian.ts`): the policy output holds the `D` means, a
 *   state-independent learned log-std (`pi/log_std`, `[D]`, initialised to `initialLogStd`)
 *   is a weight of its own, and each sample `u ~ N(mean, exp(log_std)²)` is squashed into the
 *   Box's bounds, `a = low + (tanh(u) + 1) / 2 · (high − low)` (unbounded elements are not
 *   squashed). Log-probabilities include the tanh Jacobian and are computed from the stored
 *   float32 action (as the loss recomputes them); the greedy action is the squashed mean.
 *   For the loss, the "logits" of a Box head are its `D` means then its `D` log-stds per row.
 * - Action masking (RLlib's convention, {@linkcode actionMaskLayout}): with an observation
 *   space that is a Dict of exactly `"action_mask"` (one 0/1 per action of a Discrete action
 *   space) and `"observations"`, the towers encode only `observations` (encoders and features
 *   are built against it); every output for an illegal action is replaced by
 *   {@linkcode MASKED_LOGIT} (−1e9) in `forward` and in `computeGradients` (whose gradient for
 *   it is 0: it does not depend on the weights), so a softmax gives it probability exactly 0
 *   and log-probabilities and entropies are those of the distribution over the legal actions;
 *   `act` samples and takes the argmax over legal actions only and refuses a row with none.
 * - `head: "q"` builds a Q-network (DQN, `q_model.ts`): one tower named `q` with one linear
 *   output per action of a Discrete action space (its "logits" are Q-values) and no value
 *   function.
 *
 * How it runs (sized for the small models of this project, where the cost of a tfjs op call
 * matters as much as the arithmetic):
 * - The weights live in one flat `Float32Array` in JS (the "true" parameters, in the order of
 *   {@linkcode ActorCriticModel.weightSpecs}); tfjs holds derived copies, uploaded after each
 *   change. Optimisers update the flat array in JS (see `src/algorithms/ppo.ts`).
 * - A forward pass is one fused `matMul + bias (+ activation)` per layer. tfjs has no fused
 *   tanh and its separate tanh kernel is slow on WASM (0.66 ms for 512×64, against 0.10 ms for
 *   sigmoid), so a tanh layer runs as a fused *sigmoid* layer on rescaled weights: with
 *   `tanh(z) = 2σ(2z) − 1`, the layer outputs `s = σ(2z)` and the next layer takes `s` instead
 *   of `h = 2s − 1` by using `2W` and `b − colsum(W)`. The uploaded copies carry these factors;
 *   the model is mathematically the tanh MLP (the tests match a float64 reference to 2e-5).
 * - Sampling, log-probabilities and entropies are computed in JS (float64) from the logits read
 *   back once per pass; each categorical head covers its own block of logits, a Gaussian head
 *   reads its means and takes the log-std from the flat weights (it is never uploaded).
 * - Training uses {@linkcode ActorCriticModel.computeGradients}: a forward pass, the caller's
 *   loss on the read-back outputs (it returns d loss / d outputs), then a hand-written backward
 *   pass of about 16 tfjs ops per tower (explicit transposes: tfjs's transposed `matMul` is
 *   ~8× slower on WASM), read back as one gradient in the flat layout. No tfjs autodiff is
 *   involved, so the WASM backend's incomplete gradient coverage does not matter. A whole
 *   minibatch step runs 63 tfjs kernels (counted with `tf.profile` for two 2-hidden-layer
 *   towers); tfjs's Adam alone would add about ten kernels per weight array (12 here). An
 *   encoder layer adds one fused matmul to a tower's forward pass and about seven kernels to
 *   its backward pass (the first hidden layer now needs its input gradient), whatever `C`;
 *   the block-diagonal product does `C`× the arithmetic of the blocks themselves, the price of
 *   one op instead of `C` (timings in `bench/ppo_bench.ts`). The log-std's gradient is summed
 *   in JS.
 *
 * @example Build, act, read the weights
 * ```ts
 * import { initBackend } from "./backend.ts";
 * import { ActorCriticModel } from "./model.ts";
 * import { Discrete } from "../spaces.ts";
 * import { Pcg32 } from "../rng.ts";
 * await initBackend({ backend: "cpu" });
 * const model = new ActorCriticModel({ obsSize: 3, actionSpace: new Discrete(2), seed: 1 });
 * const act = new Float32Array(2), logp = new Float32Array(2), v = new Float32Array(2);
 * model.act(new Float32Array([1, 0, 0, 0, 1, 0]), 2, new Pcg32(7), true, act, {
 *   action_logp: logp,
 *   vf_preds: v,
 * });
 * model.dispose();
 * ```
 *
 * @module
 */

import { activeBackend, tf } from "./backend.ts";
import {
  type ActionMaskLayout,
  actionMaskLayout,
  type BatchPolicy,
  countLegal,
  MASKED_LOGIT,
  noLegalActionError,
  type PolicyExtras,
} from "./policy.ts";
import type { ExtraColumn } from "../rollout/buffer.ts";
import { Pcg32 } from "../rng.ts";
import { Box, Dict, Discrete, MultiDiscrete, type Space, Tuple } from "../spaces.ts";
import { SquashedGaussian } from "./gaussian.ts";
import { type CompiledFeatures, compileFeatures, type ObservationFeature } from "./features.ts";

/** Hidden-layer activation of an {@linkcode ActorCriticModel}. */
export type Activation = "tanh" | "relu";

/** Options of {@linkcode ActorCriticModel}. */
export interface ActorCriticOptions {
  /**
   * Flat observation size `O` (the observation space's `flatSize`); may be left out when
   * `observationSpace` is given.
   */
  obsSize?: number;
  /**
   * The observation space (its `flatSize` must equal `obsSize` when both are given). Needed
   * for encoders: the model reads the components of a Dict or Tuple from it.
   */
  observationSpace?: Space;
  /**
   * Action space: Discrete (one categorical head), MultiDiscrete (one categorical head per
   * element) or Box (a diagonal Gaussian, squashed into the bounds; see the module doc).
   */
  actionSpace: Space;
  /** Hidden layer widths (default `[64, 64]`; `[]` makes linear heads). */
  hidden?: readonly number[];
  /** Hidden activation (default `"tanh"`). */
  activation?: Activation;
  /**
   * Share the hidden layers between policy and value (RLlib's `vf_share_layers`; default false:
   * a separate value network of the same shape).
   */
  vfShareLayers?: boolean;
  /**
   * Width `E` of one encoder per leaf component of a Dict or Tuple `observationSpace` (see the
   * module doc; default 0: none). Ignored for other observation spaces, as RLlib uses its
   * complex-input network only for Dict and Tuple spaces.
   */
  encoderSize?: number;
  /** Initial log standard deviation of a Box action space's Gaussian head (default 0). */
  initialLogStd?: number;
  /**
   * Relational features of a Dict `observationSpace` appended to the flat observation before the
   * first layer (see `features.ts`; default none).
   */
  features?: readonly ObservationFeature[];
  /**
   * `"actor-critic"` (default): policy logits and a value function. `"q"`: one tower `q` with
   * one output per action (Q-values; Discrete action spaces), no value function: `values()`
   * throws, `forward`/`act` write 0 as the value, `vfShareLayers` is ignored.
   */
  head?: "actor-critic" | "q";
  /** Seed of the PCG32 stream that draws the initial weights (default 0). */
  seed?: number;
}

/** Name and shape of one weight array, in {@linkcode ActorCriticModel.getWeights} order. */
export interface WeightSpec {
  /**
   * E.g. `"pi/dense_0/kernel"`, `"vf/out/bias"`, `"shared/out/kernel"`,
   * `"pi/encoder/chicken_oceans/kernel"`, `"pi/log_std"`.
   */
  readonly name: string;
  /** `[in, out]` for kernels, `[out]` for biases and the log-std. */
  readonly shape: readonly number[];
}

/**
 * The caller's loss in {@linkcode ActorCriticModel.computeGradients}: reads the outputs of a
 * forward pass and writes the derivative of the (scalar) loss with respect to each of them.
 * Arrays are reused between calls and are valid only during the call.
 */
export type OutputLoss = (
  /** `[B × L]` logits, heads side by side (a Box head: `D` means, then `D` log-stds). */
  logits: Float32Array,
  /** `[B]` value estimates. */
  values: Float32Array,
  /** `[B × L]` zeroed on entry: write d loss / d logits. */
  dLogits: Float32Array,
  /** `[B]` zeroed on entry: write d loss / d values. */
  dValues: Float32Array,
) => void;

type LayerKind = "tanh" | "relu" | "linear";

/**
 * A block of a layer's kernel that holds weights: rows `[rowOff, rowOff + rows)` × columns
 * `[colOff, colOff + cols)`, stored row-major at `offW`, its bias (`cols`) at `offB`. A dense
 * layer is one block; an encoder layer one block per component (zeros elsewhere).
 */
interface Block {
  readonly rowOff: number;
  readonly rows: number;
  readonly colOff: number;
  readonly cols: number;
  readonly offW: number;
  readonly offB: number;
  /** Orthogonal-init gain per output column group of the block: `[columns, gain][]`. */
  readonly gains: ReadonlyArray<readonly [number, number]>;
}

interface Layer {
  readonly inSize: number;
  readonly outSize: number;
  readonly kind: LayerKind;
  /** The layer's input is a tanh layer's output, held on device as `s = (h + 1) / 2`. */
  readonly inputTanh: boolean;
  /** Where the kernel's weights live in the flat layout. */
  readonly blocks: readonly Block[];
  /** Device copies (see the module doc): forward kernel and bias, scaled backward kernelᵀ. */
  wFwd: tf.Tensor2D | null;
  bFwd: tf.Tensor1D | null;
  wBwdT: tf.Tensor2D | null;
}

interface Tower {
  readonly name: string;
  readonly layers: Layer[];
}

const FUSED: Record<LayerKind, "sigmoid" | "relu" | "linear"> = {
  tanh: "sigmoid",
  relu: "relu",
  linear: "linear",
};

function checkPositiveInt(what: string, x: unknown): asserts x is number {
  if (typeof x !== "number" || !Number.isInteger(x) || x < 1) {
    throw new RangeError(`${what} must be a positive integer, got ${String(x)}`);
  }
}

/** One leaf component of a Dict/Tuple observation: its name and range of the flat row. */
interface Component {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

/**
 * The leaf components of a Dict or Tuple space in flat-encoding order (Dict keys sorted,
 * nested paths joined with "."), or [] for any other space.
 */
function components(space: Space): Component[] {
  const out: Component[] = [];
  const walk = (s: Space, name: string, offset: number): void => {
    if (s instanceof Dict || s instanceof Tuple) {
      const parts: Array<[string, Space]> = s instanceof Dict
        ? s.keys.map((k) => [k, s.spaces[k]!])
        : s.spaces.map((c, i) => [String(i), c]);
      let o = offset;
      for (const [k, c] of parts) {
        walk(c, name === "" ? k : `${name}.${k}`, o);
        o += c.flatSize;
      }
    } else out.push({ name, offset, size: s.flatSize });
  };
  if (space instanceof Dict || space instanceof Tuple) walk(space, "", 0);
  return out;
}

/**
 * An MLP actor-critic over flat observations with categorical or diagonal Gaussian heads, and
 * optional per-component encoders (see the module doc). Implements {@linkcode BatchPolicy}, so
 * the rollout calls it like any fixed policy. Needs `await initBackend()` first.
 *
 * Weights start orthogonal (PCG32 normals, Gram–Schmidt) with gain √2 on encoder and hidden
 * layers, 0.01 on the policy output and 1 on the value output, biases 0 (CleanRL's PPO init),
 * the log-std at `initialLogStd`, so the same seed gives the same weights and, with the same
 * `rng`, the same actions.
 *
 * @example MultiDiscrete heads
 * ```ts
 * import { initBackend } from "./backend.ts";
 * import { ActorCriticModel } from "./model.ts";
 * import { MultiDiscrete } from "../spaces.ts";
 * import { Pcg32 } from "../rng.ts";
 * await initBackend({ backend: "cpu" });
 * const m = new ActorCriticModel({ obsSize: 4, actionSpace: new MultiDiscrete([3, 2]) });
 * const act = new Float32Array(2);
 * m.act(new Float32Array(4), 1, new Pcg32(1), false, act);
 * // act = [argmax of head 0 (0..2), argmax of head 1 (0..1)]
 * m.dispose();
 * ```
 *
 * @example Encoders per Dict component, Gaussian head for a Box action
 * ```ts
 * import { initBackend } from "./backend.ts";
 * import { ActorCriticModel } from "./model.ts";
 * import { Box, Dict } from "../spaces.ts";
 * import { Pcg32 } from "../rng.ts";
 * await initBackend({ backend: "cpu" });
 * const m = new ActorCriticModel({
 *   observationSpace: new Dict({ chicken_oceans: new Box(0, 1, [10, 5]), fox: new Box(0, 1, [2]) }),
 *   actionSpace: new Box(-1, 1, [2]),
 *   encoderSize: 16,
 *   initialLogStd: -0.5,
 * });
 * const spec = m.weightSpecs.find((w) => w.name === "pi/encoder/chicken_oceans/kernel");
 * if (spec?.shape.join() !== "50,16") throw new Error("one 50 × 16 encoder per component");
 * const act = new Float32Array(2);
 * m.act(new Float32Array(52), 1, new Pcg32(1), true, act);
 * if (!act.every((a) => a >= -1 && a <= 1)) throw new Error("squashed into the bounds");
 * m.dispose();
 * ```
 */
export class ActorCriticModel implements BatchPolicy {
  /** Flat observation size this policy reads per row. */
  readonly obsSize: number;
  /** Width of the towers' input: `obsSize` plus the relational features. */
  readonly inputSize: number;
  /** The relational features appended to the observation (see `features.ts`). */
  readonly features: readonly ObservationFeature[];
  /** Packed action floats per row: the number of heads `K`, or `D` for a Box. */
  readonly actSize: number;
  /** Categories per categorical head (empty for a Box action space). */
  readonly heads: readonly number[];
  /**
   * Total logits `L` per row: the sum of {@linkcode ActorCriticModel.heads}, or `2D` for a Box
   * (`D` means, then `D` log-stds).
   */
  readonly logitsSize: number;
  /** The observation space, when it was given. */
  readonly observationSpace: Space | undefined;
  /**
   * Encoder width `E`, or 0 when the towers read the flat observation directly (encoders are
   * built only for a Dict or Tuple observation space).
   */
  readonly encoderSize: number;
  /** Hidden layer widths. */
  readonly hidden: readonly number[];
  /** Hidden activation. */
  readonly activation: Activation;
  /** Whether policy and value share the hidden layers. */
  readonly vfShareLayers: boolean;
  /** The action space the model was built for. */
  readonly actionSpace: Space;
  /** Names and shapes of the weight arrays, in {@linkcode ActorCriticModel.getWeights} order. */
  readonly weightSpecs: readonly WeightSpec[];
  /** Total number of weights (length of the flat layout). */
  readonly numParams: number;
  /** The extra outputs `act` writes: `action_logp` and `vf_preds` (a `"q"` head: `action_logp`). */
  readonly extraOutputs: readonly ExtraColumn[];
  /** The model's head: `"actor-critic"` or `"q"` (see {@linkcode ActorCriticOptions.head}). */
  readonly head: "actor-critic" | "q";
  /** Where the action mask lies in an observation row, or null when not masked. */
  readonly actionMask: ActionMaskLayout | null;

  readonly #headOff: Int32Array;
  readonly #headStart: Float64Array;
  /** The Gaussian head of a Box action space, or null (categorical heads). */
  readonly #gauss: SquashedGaussian | null;
  /** Policy columns of the policy tower's output: `L`, or `D` means for a Box. */
  readonly #piCols: number;
  /** Offset of the log-std (`D` floats) in the flat weights (Box only). */
  readonly #logStdOff: number;
  readonly #towers: Tower[];
  /** The policy tower and the column of its output where the logits start (0). */
  readonly #piTower: Tower;
  /** The tower whose output holds the value, and the value's column in it. */
  readonly #vfTower: Tower;
  /** The value's column in the value tower's output; −1 for a `"q"` head (no value). */
  readonly #vfCol: number;
  /** One tower computes every output (shared layers, or a `"q"` head). */
  readonly #oneTower: boolean;
  #maskBuf = new Float32Array(0);
  readonly #flat: Float32Array;
  #disposed = false;
  // Scratch for training (grown as needed).
  #logits = new Float32Array(0);
  #values = new Float32Array(0);
  #dLogits = new Float32Array(0);
  #dValues = new Float32Array(0);
  #dOut = new Float32Array(0);

  /**
   * Builds the model and draws its initial weights.
   * @param options sizes or observation space, action space, encoders, hidden layers,
   *   activation, sharing, initial log-std and seed
   * @throws {RangeError} on a bad size, activation or log-std, an observation size that does
   *   not match the observation space, encoders without an observation space, or an action
   *   space other than Discrete, MultiDiscrete and Box (or a Box with a half-bounded element)
   * @throws {Error} when no backend was started with `initBackend()`
   */
  constructor(options: ActorCriticOptions) {
    const { actionSpace, observationSpace } = options;
    const obsSize = options.obsSize ?? observationSpace?.flatSize;
    const hidden = [...(options.hidden ?? [64, 64])];
    const activation = options.activation ?? "tanh";
    const share = options.vfShareLayers ?? false;
    const seed = options.seed ?? 0;
    const encoderSize = options.encoderSize ?? 0;
    const initialLogStd = options.initialLogStd ?? 0;
    const head = options.head ?? "actor-critic";
    checkPositiveInt("ActorCriticModel obsSize", obsSize);
    if (observationSpace !== undefined && observationSpace.flatSize !== obsSize) {
      throw new RangeError(
        `ActorCriticModel obsSize ${obsSize} differs from the flat size ${observationSpace.flatSize} of the observation space ${observationSpace}`,
      );
    }
    hidden.forEach((h, i) => checkPositiveInt(`ActorCriticModel hidden[${i}]`, h));
    if (activation !== "tanh" && activation !== "relu") {
      throw new RangeError(
        `ActorCriticModel activation must be "tanh" or "relu", got ${JSON.stringify(activation)}`,
      );
    }
    if (!Number.isInteger(encoderSize) || encoderSize < 0) {
      throw new RangeError(
        `ActorCriticModel encoderSize must be an integer >= 0, got ${String(encoderSize)}`,
      );
    }
    if (encoderSize > 0 && observationSpace === undefined) {
      throw new RangeError(
        "ActorCriticModel encoderSize needs the observationSpace (its Dict/Tuple components)",
      );
    }
    if (typeof initialLogStd !== "number" || !Number.isFinite(initialLogStd)) {
      throw new RangeError(
        `ActorCriticModel initialLogStd must be a finite number, got ${String(initialLogStd)}`,
      );
    }
    let heads: number[], starts: number[];
    let gauss: SquashedGaussian | null = null;
    if (actionSpace instanceof Discrete) {
      heads = [actionSpace.n];
      starts = [actionSpace.start];
    } else if (actionSpace instanceof MultiDiscrete) {
      heads = [...actionSpace.nvec];
      starts = heads.map(() => 0);
    } else if (actionSpace instanceof Box) {
      heads = [];
      starts = [];
      gauss = new SquashedGaussian(actionSpace, "ActorCriticModel");
    } else {
      throw new RangeError(
        `ActorCriticModel supports Discrete and MultiDiscrete action spaces (categorical heads) ` +
          `and Box (a diagonal Gaussian), got ${String(actionSpace)}; flatten Tuple/Dict ` +
          `actions into a MultiDiscrete or a Box`,
      );
    }
    if (head !== "actor-critic" && head !== "q") {
      throw new RangeError(
        `ActorCriticModel head must be "actor-critic" or "q", got ${JSON.stringify(head)}`,
      );
    }
    if (head === "q" && !(actionSpace instanceof Discrete)) {
      throw new RangeError(
        `ActorCriticModel head "q" (one Q-value per action) needs a Discrete action space, got ${
          String(actionSpace)
        }`,
      );
    }
    if (activeBackend() === undefined) {
      throw new Error("Start a tfjs backend with `await initBackend()` before building a model");
    }
    // A masked observation: the towers see only its "observations" part.
    const mask = actionMaskLayout(observationSpace, actionSpace, "ActorCriticModel");
    const seen = mask === null ? observationSpace : mask.observations;
    const seenSize = mask === null ? obsSize : mask.obsSize;
    const features = [...(options.features ?? [])];
    if (features.length > 0 && seen === undefined) {
      throw new RangeError("ActorCriticModel features need the observationSpace (a Dict)");
    }
    const feat = features.length > 0
      ? compileFeatures(seen!, features, "ActorCriticModel features")
      : null;
    const F = feat === null ? 0 : feat.size;
    const inputSize = seenSize + F;
    const comps = seen === undefined || encoderSize === 0 ? [] : components(seen);
    if (comps.length > 0 && F > 0) comps.push({ name: "features", offset: seenSize, size: F });
    const E = comps.length > 0 ? encoderSize : 0;
    this.obsSize = obsSize;
    this.inputSize = inputSize;
    this.features = features;
    this.#feat = feat;
    this.actionMask = mask;
    this.head = head;
    this.extraOutputs = head === "q" ? ["action_logp"] : ["action_logp", "vf_preds"];
    this.observationSpace = observationSpace;
    this.encoderSize = E;
    this.actionSpace = actionSpace;
    this.heads = heads;
    this.#gauss = gauss;
    const D = gauss === null ? 0 : gauss.size;
    this.actSize = gauss === null ? heads.length : D;
    this.logitsSize = gauss === null ? heads.reduce((a, b) => a + b, 0) : 2 * D;
    this.#piCols = gauss === null ? this.logitsSize : D;
    this.hidden = hidden;
    this.activation = activation;
    this.vfShareLayers = head === "q" ? false : share;
    this.#oneTower = share || head === "q";
    this.#headOff = new Int32Array(heads.length);
    for (let h = 1; h < heads.length; h++) this.#headOff[h] = this.#headOff[h - 1]! + heads[h - 1]!;
    this.#headStart = Float64Array.from(starts);

    // Layout: tower by tower, layer by layer (an encoder layer: component by component),
    // kernel then bias; then the log-std of a Gaussian head.
    const specs: WeightSpec[] = [];
    let off = 0;
    const tower = (name: string, outs: ReadonlyArray<readonly [number, number]>): Tower => {
      const layers: Layer[] = [];
      let first = inputSize;
      if (E > 0) {
        const blocks = comps.map((c, k): Block => {
          specs.push({ name: `${name}/encoder/${c.name}/kernel`, shape: [c.size, E] });
          specs.push({ name: `${name}/encoder/${c.name}/bias`, shape: [E] });
          const b: Block = {
            rowOff: c.offset,
            rows: c.size,
            colOff: k * E,
            cols: E,
            offW: off,
            offB: off + c.size * E,
            gains: [[E, Math.SQRT2]],
          };
          off += c.size * E + E;
          return b;
        });
        first = comps.length * E;
        layers.push({
          inSize: inputSize,
          outSize: first,
          kind: activation,
          inputTanh: false,
          blocks,
          wFwd: null,
          bFwd: null,
          wBwdT: null,
        });
      }
      const sizes = [first, ...hidden];
      const outSize = outs.reduce((a, [n]) => a + n, 0);
      for (let l = 0; l <= hidden.length; l++) {
        const last = l === hidden.length;
        const inSize = sizes[l]!, out = last ? outSize : hidden[l]!;
        const lname = last ? "out" : `dense_${l}`;
        specs.push({ name: `${name}/${lname}/kernel`, shape: [inSize, out] });
        specs.push({ name: `${name}/${lname}/bias`, shape: [out] });
        layers.push({
          inSize,
          outSize: out,
          kind: last ? "linear" : activation,
          inputTanh: (l > 0 || E > 0) && activation === "tanh",
          blocks: [{
            rowOff: 0,
            rows: inSize,
            colOff: 0,
            cols: out,
            offW: off,
            offB: off + inSize * out,
            gains: last ? outs : [[out, Math.SQRT2]],
          }],
          wFwd: null,
          bFwd: null,
          wBwdT: null,
        });
        off += inSize * out + out;
      }
      return { name, layers };
    };
    const P = this.#piCols;
    if (head === "q") {
      const t = tower("q", [[P, 1]]);
      this.#towers = [t];
      this.#piTower = t;
      this.#vfTower = t;
      this.#vfCol = -1;
    } else if (share) {
      const t = tower("shared", [[P, 0.01], [1, 1]]);
      this.#towers = [t];
      this.#piTower = t;
      this.#vfTower = t;
      this.#vfCol = P;
    } else {
      const pi = tower("pi", [[P, 0.01]]), vf = tower("vf", [[1, 1]]);
      this.#towers = [pi, vf];
      this.#piTower = pi;
      this.#vfTower = vf;
      this.#vfCol = 0;
    }
    this.#logStdOff = off;
    if (gauss !== null) {
      specs.push({ name: "pi/log_std", shape: [D] });
      off += D;
    }
    this.weightSpecs = specs;
    this.numParams = off;
    this.#flat = new Float32Array(off);
    this.#initWeights(seed);
    this.#flat.fill(initialLogStd, this.#logStdOff, off);
    this.#upload();
  }

  /** Orthogonal kernels (per output column group of each block), zero biases, in layout order. */
  #initWeights(seed: number): void {
    const rng = new PcgNormal(seed);
    for (const t of this.#towers) {
      for (const layer of t.layers) {
        for (const b of layer.blocks) {
          let col = 0;
          for (const [cols, gain] of b.gains) {
            const q = orthogonal(b.rows, cols, rng);
            for (let i = 0; i < b.rows; i++) {
              for (let j = 0; j < cols; j++) {
                this.#flat[b.offW + i * b.cols + col + j] = gain * q[i * cols + j]!;
              }
            }
            col += cols;
          }
          this.#flat.fill(0, b.offB, b.offB + b.cols);
        }
      }
    }
  }

  /** Recomputes and uploads the device copies of every layer from the flat weights. */
  #upload(): void {
    const w = this.#flat;
    for (const t of this.#towers) {
      for (const layer of t.layers) {
        const { inSize: n, outSize: m, inputTanh } = layer;
        const outScale = layer.kind === "tanh" ? 2 : 1;
        const inScale = inputTanh ? 2 : 1;
        const fw = new Float32Array(n * m), fb = new Float32Array(m);
        const bw = new Float32Array(n * m);
        const bwScale = inputTanh ? 4 : 1;
        for (const { rowOff, rows, colOff, cols, offW, offB } of layer.blocks) {
          for (let j = 0; j < cols; j++) {
            let colsum = 0;
            const c = colOff + j;
            for (let i = 0; i < rows; i++) {
              const v = w[offW + i * cols + j]!;
              colsum += v;
              fw[(rowOff + i) * m + c] = outScale * inScale * v;
              bw[c * n + rowOff + i] = bwScale * v;
            }
            fb[c] = outScale * (w[offB + j]! - (inputTanh ? colsum : 0));
          }
        }
        layer.wFwd?.dispose();
        layer.bFwd?.dispose();
        layer.wBwdT?.dispose();
        layer.wFwd = tf.tensor2d(fw, [n, m]);
        layer.bFwd = tf.tensor1d(fb);
        // The first layer's input gradient is never needed.
        layer.wBwdT = layer === t.layers[0] ? null : tf.tensor2d(bw, [m, n]);
      }
    }
  }

  #checkIn(obs: Float32Array, rows: number): void {
    if (this.#disposed) throw new Error("ActorCriticModel was disposed");
    if (!Number.isInteger(rows) || rows < 0) {
      throw new RangeError(`rows must be a non-negative integer, got ${rows}`);
    }
    if (obs.length < rows * this.obsSize) {
      throw new RangeError(
        `obs holds ${obs.length} floats, expected at least ${rows} rows × ${this.obsSize}`,
      );
    }
  }

  #checkOut(name: string, arr: Float32Array, rows: number, per: number): void {
    if (arr.length < rows * per) {
      throw new RangeError(`${name} holds ${arr.length} floats, expected at least ${rows * per}`);
    }
  }

  /** Runs the towers on `rows` rows; returns each tower's layer outputs (inside a tidy). */
  #forwardTowers(x: tf.Tensor2D, towers: readonly Tower[]): tf.Tensor2D[][] {
    return towers.map((t) => {
      const acts: tf.Tensor2D[] = [x];
      let a = x;
      for (const layer of t.layers) {
        a = tf.fused.matMul({
          a,
          b: layer.wFwd!,
          bias: layer.bFwd!,
          activation: FUSED[layer.kind],
        }) as tf.Tensor2D;
        acts.push(a);
      }
      return acts;
    });
  }

  readonly #feat: CompiledFeatures | null;
  #featBuf = new Float32Array(0);

  // Inference (act, values, forward) without per-call JS allocations: the inputs and outputs
  // of the pass go through these fields, and the tidy callback and matMul arguments are reused.
  #inObs: Float32Array = new Float32Array(0);
  #inView: Float32Array = new Float32Array(0);
  #inRows = 0;
  #inPolicy = true;
  #outPi: Float32Array = new Float32Array(0);
  #outVf: Float32Array = new Float32Array(0);
  readonly #mmArgs: {
    a: tf.Tensor2D;
    b: tf.Tensor2D;
    bias: tf.Tensor1D;
    activation: "sigmoid" | "relu" | "linear";
  } = { a: null!, b: null!, bias: null!, activation: "linear" };
  readonly #inferFn = (): void => {
    const x = tf.tensor2d(this.#inView, [this.#inRows, this.inputSize]);
    if (this.#inPolicy || this.#oneTower) {
      this.#outPi = this.#towerOutput(this.#piTower, x).dataSync() as Float32Array;
    }
    this.#outVf = this.#oneTower
      ? this.#outPi
      : this.#towerOutput(this.#vfTower, x).dataSync() as Float32Array;
  };

  #towerOutput(t: Tower, x: tf.Tensor2D): tf.Tensor2D {
    const args = this.#mmArgs, layers = t.layers;
    let a = x;
    for (let l = 0; l < layers.length; l++) {
      const layer = layers[l]!;
      args.a = a;
      args.b = layer.wFwd!;
      args.bias = layer.bFwd!;
      args.activation = FUSED[layer.kind];
      a = tf.fused.matMul(args) as tf.Tensor2D;
    }
    return a;
  }

  /**
   * The towers' input for `rows` observation rows: the rows themselves, or (with relational
   * features) the augmented rows in a reused scratch buffer.
   */
  #input(obs: Float32Array, rows: number): Float32Array {
    const feat = this.#feat, mask = this.actionMask;
    if (mask !== null) {
      // Only the "observations" part of each row.
      const O = this.obsSize, S = mask.obsSize, off = mask.obsOffset;
      if (this.#maskBuf.length < rows * S) this.#maskBuf = new Float32Array(rows * S);
      for (let r = 0; r < rows; r++) {
        this.#maskBuf.set(obs.subarray(r * O + off, r * O + off + S), r * S);
      }
      obs = this.#maskBuf;
      if (feat === null) {
        return obs.length === rows * S ? obs : obs.subarray(0, rows * S);
      }
    } else if (feat === null) {
      const n = rows * this.obsSize;
      return obs.length === n ? obs : obs.subarray(0, n);
    }
    const n = rows * this.inputSize;
    if (this.#featBuf.length < n) this.#featBuf = new Float32Array(n);
    feat.apply(obs, rows, this.#featBuf);
    return this.#featBuf.length === n ? this.#featBuf : this.#featBuf.subarray(0, n);
  }

  /** One inference pass; results in `#outPi` / `#outVf` (strides: the towers' output widths). */
  #infer(obs: Float32Array, rows: number, needPolicy: boolean): void {
    if (this.#feat !== null || this.actionMask !== null) {
      this.#inView = this.#input(obs, rows);
      this.#inObs = this.#inView;
      this.#inRows = rows;
      this.#inPolicy = needPolicy;
      tf.tidy(this.#inferFn);
      return;
    }
    const n = rows * this.obsSize;
    if (obs.length === n) this.#inView = obs;
    else if (obs !== this.#inObs || this.#inView.length !== n) this.#inView = obs.subarray(0, n);
    this.#inObs = obs;
    this.#inRows = rows;
    this.#inPolicy = needPolicy;
    tf.tidy(this.#inferFn);
  }

  get #piStride(): number {
    return this.#piTower.layers[this.#piTower.layers.length - 1]!.outSize;
  }

  get #vfStride(): number {
    return this.#vfTower.layers[this.#vfTower.layers.length - 1]!.outSize;
  }

  /**
   * Raw outputs for `rows` observation rows: logits (heads side by side; a Box head: `D` means,
   * then `D` log-stds; a `"q"` head: Q-values) and values (0 for a `"q"` head). With an action
   * mask, illegal actions' logits are {@linkcode MASKED_LOGIT} (a row may have no legal action
   * here: a final observation often has none).
   * @param obs `rows × obsSize` floats
   * @param rows number of rows
   * @param logitsOut `rows × logitsSize` floats written
   * @param valuesOut `rows` floats written
   */
  forward(obs: Float32Array, rows: number, logitsOut: Float32Array, valuesOut: Float32Array): void {
    this.#checkIn(obs, rows);
    this.#checkOut("logitsOut", logitsOut, rows, this.logitsSize);
    this.#checkOut("valuesOut", valuesOut, rows, 1);
    if (rows === 0) return;
    this.#infer(obs, rows, true);
    const L = this.logitsSize, P = this.#piCols, pi = this.#outPi, vf = this.#outVf;
    const ps = this.#piStride, vs = this.#vfStride, col = this.#vfCol;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < P; j++) logitsOut[r * L + j] = pi[r * ps + j]!;
      for (let j = P; j < L; j++) logitsOut[r * L + j] = this.#flat[this.#logStdOff + j - P]!;
      valuesOut[r] = col < 0 ? 0 : vf[r * vs + col]!;
    }
    if (this.actionMask !== null) this.#maskLogits(obs, rows, logitsOut);
  }

  /**
   * Writes {@linkcode MASKED_LOGIT} over the logits of illegal actions (checks the masks' values;
   * a row with no legal action is left all masked: the caller decides).
   */
  #maskLogits(obs: Float32Array, rows: number, logits: Float32Array): void {
    const m = this.actionMask!, O = this.obsSize, L = this.logitsSize;
    for (let r = 0; r < rows; r++) {
      countLegal(obs, O, r, m, "ActorCriticModel");
      const base = r * O + m.maskOffset;
      for (let j = 0; j < L; j++) if (obs[base + j] === 0) logits[r * L + j] = MASKED_LOGIT;
    }
  }

  /**
   * Samples (or, with `explore` false, takes the most likely) actions for `rows` rows, with one
   * forward pass. Categorical heads draw one `rng.nextFloat()` per head per row, in row order,
   * when exploring. A Box head draws standard normals with Box–Muller in row-major element
   * order (two `rng.nextFloat()` per pair of normals, both used; an odd one left at the end of
   * the call is dropped), and writes `low + (tanh(mean + exp(log_std)·z) + 1) / 2 · (high −
   * low)` (the squashed mean when not exploring). With an action mask, the softmax, the sample and the argmax
   * cover each row's legal actions only (still one `rng.nextFloat()` per row), and a row with
   * no legal action throws a `RangeError`. Allocates nothing beyond what tfjs allocates
   * for the pass (and a view of `obs` when it is longer than `rows` rows and differs from the
   * previous call's).
   * @param obs `rows × obsSize` floats
   * @param rows number of rows
   * @param rng stream for sampling
   * @param explore sample (true) or take the most likely action (false: the argmax of each
   *   categorical head, the squashed mean of a Gaussian)
   * @param actionsOut `rows × actSize` packed actions written (Discrete: `start + index`)
   * @param extras when given, `action_logp` receives the log-probabilities of the chosen actions
   *   (sum over heads; a Box: the density of the stored float32 action, tanh Jacobian included)
   *   and `vf_preds` the value estimates, `rows` floats each
   */
  act(
    obs: Float32Array,
    rows: number,
    rng: Pcg32,
    explore: boolean,
    actionsOut: Float32Array,
    extras?: PolicyExtras,
  ): void {
    this.#checkIn(obs, rows);
    this.#checkOut("actionsOut", actionsOut, rows, this.actSize);
    const logpOut = extras?.action_logp, valuesOut = extras?.vf_preds;
    if (logpOut !== undefined) this.#checkOut("action_logp", logpOut, rows, 1);
    if (valuesOut !== undefined) this.#checkOut("vf_preds", valuesOut, rows, 1);
    if (rows === 0) return;
    this.#infer(obs, rows, true);
    if (this.#gauss !== null) {
      this.#actGaussian(this.#gauss, rows, rng, explore, actionsOut, logpOut, valuesOut);
      return;
    }
    if (this.actionMask !== null) {
      this.#actMasked(obs, rows, rng, explore, actionsOut, logpOut, valuesOut);
      return;
    }
    const K = this.actSize, heads = this.heads, headOff = this.#headOff;
    const starts = this.#headStart, vfCol = this.#vfCol;
    const pi = this.#outPi, vf = this.#outVf, ps = this.#piStride, vs = this.#vfStride;
    for (let r = 0; r < rows; r++) {
      let logp = 0;
      for (let h = 0; h < K; h++) {
        const n = heads[h]!, base = r * ps + headOff[h]!;
        let max = -Infinity, arg = 0;
        for (let j = 0; j < n; j++) {
          const z = pi[base + j]!;
          if (z > max) {
            max = z;
            arg = j;
          }
        }
        let sum = 0;
        for (let j = 0; j < n; j++) sum += Math.exp(pi[base + j]! - max);
        let k = arg;
        if (explore) {
          // Inverse CDF; categories whose probability underflows to 0 are never chosen.
          const u = rng.nextFloat() * sum;
          let acc = 0;
          for (let j = 0; j < n; j++) {
            const e = Math.exp(pi[base + j]! - max);
            if (e > 0) k = j;
            acc += e;
            if (acc > u) break;
          }
        }
        if (logpOut !== undefined) logp += pi[base + k]! - max - Math.log(sum);
        actionsOut[r * K + h] = starts[h]! + k;
      }
      if (logpOut !== undefined) logpOut[r] = logp;
      if (valuesOut !== undefined) valuesOut[r] = vfCol < 0 ? 0 : vf[r * vs + vfCol]!;
    }
  }

  /**
   * The masked branch of {@linkcode ActorCriticModel.act} (one Discrete head): the softmax, the
   * argmax and the sample cover the legal actions only (one `rng.nextFloat()` per row when
   * exploring, as unmasked).
   */
  #actMasked(
    obs: Float32Array,
    rows: number,
    rng: Pcg32,
    explore: boolean,
    actionsOut: Float32Array,
    logpOut: Float32Array | undefined,
    valuesOut: Float32Array | undefined,
  ): void {
    const m = this.actionMask!, O = this.obsSize, n = this.heads[0]!, start = this.#headStart[0]!;
    const pi = this.#outPi, vf = this.#outVf, ps = this.#piStride, vs = this.#vfStride;
    const vfCol = this.#vfCol;
    for (let r = 0; r < rows; r++) {
      if (countLegal(obs, O, r, m, "ActorCriticModel.act") === 0) {
        throw noLegalActionError("ActorCriticModel.act", r);
      }
      const mb = r * O + m.maskOffset, base = r * ps;
      let max = -Infinity, arg = -1;
      for (let j = 0; j < n; j++) {
        if (obs[mb + j] === 0) continue;
        const z = pi[base + j]!;
        if (z > max) {
          max = z;
          arg = j;
        }
      }
      let sum = 0;
      for (let j = 0; j < n; j++) if (obs[mb + j] !== 0) sum += Math.exp(pi[base + j]! - max);
      let k = arg;
      if (explore) {
        const u = rng.nextFloat() * sum;
        let acc = 0;
        for (let j = 0; j < n; j++) {
          if (obs[mb + j] === 0) continue;
          const e = Math.exp(pi[base + j]! - max);
          if (e > 0) k = j;
          acc += e;
          if (acc > u) break;
        }
      }
      if (logpOut !== undefined) logpOut[r] = pi[base + k]! - max - Math.log(sum);
      actionsOut[r] = start + k;
      if (valuesOut !== undefined) valuesOut[r] = vfCol < 0 ? 0 : vf[r * vs + vfCol]!;
    }
  }

  /** The Box branch of {@linkcode ActorCriticModel.act}, after the forward pass. */
  #actGaussian(
    g: SquashedGaussian,
    rows: number,
    rng: Pcg32,
    explore: boolean,
    actionsOut: Float32Array,
    logpOut: Float32Array | undefined,
    valuesOut: Float32Array | undefined,
  ): void {
    const D = this.actSize, flat = this.#flat, so = this.#logStdOff, vfCol = this.#vfCol;
    const pi = this.#outPi, vf = this.#outVf, ps = this.#piStride, vs = this.#vfStride;
    let spare = NaN;
    for (let r = 0; r < rows; r++) {
      for (let d = 0; d < D; d++) {
        let u = pi[r * ps + d]!;
        if (explore) {
          let z: number;
          if (spare === spare) {
            z = spare;
            spare = NaN;
          } else {
            const u1 = 1 - rng.nextFloat(), u2 = rng.nextFloat();
            const rad = Math.sqrt(-2 * Math.log(u1));
            z = rad * Math.cos(2 * Math.PI * u2);
            spare = rad * Math.sin(2 * Math.PI * u2);
          }
          u += Math.exp(flat[so + d]!) * z;
        }
        actionsOut[r * D + d] = g.squash(d, u);
      }
      // From the stored (float32) action, as the loss will recompute it.
      if (logpOut !== undefined) logpOut[r] = g.logProb(pi, r * ps, flat, so, actionsOut, r * D);
      if (valuesOut !== undefined) valuesOut[r] = vfCol < 0 ? 0 : vf[r * vs + vfCol]!;
    }
  }

  /**
   * Value estimates of `rows` rows (with separate networks, only the value network runs).
   * @param obs `rows × obsSize` floats
   * @param rows number of rows
   * @param out `rows` values written
   */
  values(obs: Float32Array, rows: number, out: Float32Array): void {
    if (this.#vfCol < 0) {
      throw new Error(
        `ActorCriticModel with head "q" has no value function; values() needs "actor-critic"`,
      );
    }
    this.#checkIn(obs, rows);
    this.#checkOut("out", out, rows, 1);
    if (rows === 0) return;
    this.#infer(obs, rows, false);
    const vf = this.#outVf, vs = this.#vfStride, col = this.#vfCol;
    for (let r = 0; r < rows; r++) out[r] = vf[r * vs + col]!;
  }

  /**
   * A forward pass on `rows` rows, the caller's `loss` on its outputs, and the backward pass:
   * writes the gradient of the loss with respect to every weight into `gradOut` (flat layout,
   * {@linkcode ActorCriticModel.numParams} floats). The weights do not change. With an action mask,
   * the loss sees {@linkcode MASKED_LOGIT} for illegal actions and their derivatives are
   * dropped (a constant has no gradient). A `"q"` head's values are 0 and `dValues` is ignored.
   * @param obs `rows × obsSize` floats
   * @param rows number of rows (at least 1)
   * @param loss reads logits and values, writes d loss / d logits and d loss / d values
   * @param gradOut `numParams` floats written
   */
  computeGradients(obs: Float32Array, rows: number, loss: OutputLoss, gradOut: Float32Array): void {
    this.#checkIn(obs, rows);
    if (rows < 1) throw new RangeError(`computeGradients needs at least 1 row, got ${rows}`);
    if (gradOut.length !== this.numParams) {
      throw new RangeError(`gradOut holds ${gradOut.length} floats, expected ${this.numParams}`);
    }
    const L = this.logitsSize, P = this.#piCols, O = this.inputSize;
    if (this.#logits.length < rows * L) {
      this.#logits = new Float32Array(rows * L);
      this.#dLogits = new Float32Array(rows * L);
      this.#values = new Float32Array(rows);
      this.#dValues = new Float32Array(rows);
      this.#dOut = new Float32Array(rows * (L + 1));
    }
    const logits = this.#logits.subarray(0, rows * L), values = this.#values.subarray(0, rows);
    const dLogits = this.#dLogits.subarray(0, rows * L), dValues = this.#dValues.subarray(0, rows);
    const view = this.#input(obs, rows);
    tf.tidy(() => {
      const x = tf.tensor2d(view, [rows, O]);
      const acts = this.#forwardTowers(x, this.#towers);
      // Read the outputs into contiguous logits/values.
      this.#towers.forEach((t, ti) => {
        const out = acts[ti]![t.layers.length]!.dataSync();
        const w = t.layers[t.layers.length - 1]!.outSize;
        if (t === this.#piTower) {
          for (let r = 0; r < rows; r++) {
            for (let j = 0; j < P; j++) logits[r * L + j] = out[r * w + j]!;
            for (let j = P; j < L; j++) logits[r * L + j] = this.#flat[this.#logStdOff + j - P]!;
          }
        }
        if (t === this.#vfTower && this.#vfCol >= 0) {
          for (let r = 0; r < rows; r++) values[r] = out[r * w + this.#vfCol]!;
        }
      });
      if (this.#vfCol < 0) values.fill(0);
      if (this.actionMask !== null) this.#maskLogits(obs, rows, logits);
      dLogits.fill(0);
      dValues.fill(0);
      loss(logits, values, dLogits, dValues);
      // A masked logit is a constant: no gradient flows through it.
      if (this.actionMask !== null) {
        const m = this.actionMask, O = this.obsSize;
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < L; j++) {
            if (obs[r * O + m.maskOffset + j] === 0) dLogits[r * L + j] = 0;
          }
        }
      }
      // The log-std is one weight per element, shared by all rows: its gradient is the sum.
      for (let j = P; j < L; j++) {
        let g = 0;
        for (let r = 0; r < rows; r++) g += dLogits[r * L + j]!;
        gradOut[this.#logStdOff + j - P] = g;
      }
      // aᵀb products: tfjs's transposed matMul is ~8× slower than an explicit transpose on WASM
      // (and faster on cpu, where a transpose is a slow JS loop).
      const explicit = tf.getBackend() === "wasm";
      const mmT = (a: tf.Tensor2D, b: tf.Tensor2D) =>
        (explicit ? tf.matMul(tf.transpose(a), b) : tf.matMul(a, b, true, false)) as tf.Tensor2D;
      // Bias gradients as 1ᵀdz: a [1 × B] product is 3–10× faster than tf.sum(dz, 0).
      const ones = tf.ones([1, rows]) as tf.Tensor2D;
      const xT = explicit ? tf.transpose(x) : null; // shared by the towers' first layers
      const ctx = { x, xT, ones, mmT };
      this.#towers.forEach((t, ti) => {
        const w = t.layers[t.layers.length - 1]!.outSize;
        const d = this.#dOut.subarray(0, rows * w);
        for (let r = 0; r < rows; r++) {
          if (t === this.#piTower) {
            for (let j = 0; j < P; j++) d[r * w + j] = dLogits[r * L + j]!;
          }
          if (t === this.#vfTower && this.#vfCol >= 0) d[r * w + this.#vfCol] = dValues[r]!;
        }
        this.#backward(t, acts[ti]!, ctx, tf.tensor2d(d, [rows, w]), gradOut);
      });
    });
  }

  /** Backward pass through one tower, from d loss / d output to the flat gradient. */
  #backward(
    t: Tower,
    acts: tf.Tensor2D[],
    ctx: {
      x: tf.Tensor2D;
      xT: tf.Tensor2D | null;
      ones: tf.Tensor2D;
      mmT: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;
    },
    dOut: tf.Tensor2D,
    gradOut: Float32Array,
  ): void {
    let dz = dOut;
    for (let l = t.layers.length - 1; l >= 0; l--) {
      const layer = t.layers[l]!;
      const input = acts[l]!;
      // dW = inputᵀdz, or its transpose dzᵀinput when dz is the narrower matrix (the output
      // layer), which makes the transpose cheaper.
      const transposed = l > 0 && layer.outSize < layer.inSize;
      const dW = l === 0 && ctx.xT !== null
        ? tf.matMul(ctx.xT, dz)
        : transposed
        ? ctx.mmT(dz, input)
        : ctx.mmT(input, dz);
      const db = tf.matMul(ctx.ones, dz);
      if (l > 0) {
        // d loss / d (previous layer's pre-activation); wBwdT carries the 4 of tanh' = 4s(1−s).
        const dh = tf.matMul(dz, layer.wBwdT!);
        dz = layer.inputTanh
          ? tf.mul(dh, tf.sub(input, tf.square(input)))
          : tf.mul(dh, tf.step(input));
      }
      const gW = dW.dataSync(), gb = db.dataSync();
      const { inSize: n, outSize: m } = layer;
      // The device input of a layer after tanh is s = (h + 1) / 2, so hᵀdz = 2 sᵀdz − 1·colsum(dz).
      const a = layer.inputTanh ? 2 : 1;
      // Only the blocks are weights: the zeros around an encoder's blocks get no gradient.
      for (const { rowOff, rows, colOff, cols, offW, offB } of layer.blocks) {
        for (let j = 0; j < cols; j++) gradOut[offB + j] = gb[colOff + j]!;
        for (let i = 0; i < rows; i++) {
          const gi = rowOff + i;
          for (let j = 0; j < cols; j++) {
            const gj = colOff + j;
            const g = transposed ? gW[gj * n + gi]! : gW[gi * m + gj]!;
            gradOut[offW + i * cols + j] = layer.inputTanh ? a * g - gb[gj]! : g;
          }
        }
      }
    }
  }

  /**
   * The policy tower as plain arrays, for inference without tfjs (`exportPolicy`): each layer's
   * activation, sizes and dense blocks with their true (unscaled) weights, and a Gaussian head's
   * log-std. A shared tower's output also holds the value (after the policy columns).
   * @returns copies of the layers and the log-std (null for categorical heads)
   */
  policyTower(): {
    layers: {
      activation: "tanh" | "relu" | "linear";
      inSize: number;
      outSize: number;
      blocks: {
        rowOff: number;
        rows: number;
        colOff: number;
        cols: number;
        kernel: Float32Array;
        bias: Float32Array;
      }[];
    }[];
    logStd: Float32Array | null;
  } {
    const f = this.#flat;
    return {
      layers: this.#piTower.layers.map((l) => ({
        activation: l.kind,
        inSize: l.inSize,
        outSize: l.outSize,
        blocks: l.blocks.map((b) => ({
          rowOff: b.rowOff,
          rows: b.rows,
          colOff: b.colOff,
          cols: b.cols,
          kernel: f.slice(b.offW, b.offW + b.rows * b.cols),
          bias: f.slice(b.offB, b.offB + b.cols),
        })),
      })),
      logStd: this.#gauss === null
        ? null
        : f.slice(this.#logStdOff, this.#logStdOff + this.#gauss.size),
    };
  }

  /**
   * Copies of the weight arrays, in {@linkcode ActorCriticModel.weightSpecs} order (for
   * checkpoints and frozen copies).
   * @returns one `Float32Array` per kernel and bias
   */
  getWeights(): Float32Array[] {
    let off = 0;
    return this.weightSpecs.map((s) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const w = this.#flat.slice(off, off + n);
      off += n;
      return w;
    });
  }

  /**
   * Replaces the weights (arrays in {@linkcode ActorCriticModel.weightSpecs} order and sizes).
   * @param weights one array per kernel and bias
   * @throws {RangeError} when the count or a size differs, or a weight is not finite
   */
  setWeights(weights: readonly ArrayLike<number>[]): void {
    if (weights.length !== this.weightSpecs.length) {
      throw new RangeError(
        `setWeights expected ${this.weightSpecs.length} arrays, got ${weights.length}`,
      );
    }
    const flat = new Float32Array(this.numParams);
    let off = 0;
    this.weightSpecs.forEach((s, i) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const w = weights[i]!;
      if (w.length !== n) {
        throw new RangeError(
          `setWeights: "${s.name}" needs ${n} values (shape [${
            s.shape.join(", ")
          }]), got ${w.length}`,
        );
      }
      for (let k = 0; k < n; k++) flat[off + k] = w[k]!;
      off += n;
    });
    this.setFlatWeights(flat);
  }

  /**
   * The weights in the flat layout (all of {@linkcode ActorCriticModel.getWeights}, concatenated).
   * @param out optional destination of `numParams` floats
   * @returns `out`, or a new array
   */
  getFlatWeights(out?: Float32Array): Float32Array {
    if (out === undefined) return this.#flat.slice();
    if (out.length !== this.numParams) {
      throw new RangeError(`getFlatWeights: out holds ${out.length}, expected ${this.numParams}`);
    }
    out.set(this.#flat);
    return out;
  }

  /**
   * Replaces all weights from the flat layout and uploads them.
   * @param flat `numParams` floats
   * @throws {RangeError} on a wrong length or a non-finite weight
   */
  setFlatWeights(flat: ArrayLike<number>): void {
    if (this.#disposed) throw new Error("ActorCriticModel was disposed");
    if (flat.length !== this.numParams) {
      throw new RangeError(`setFlatWeights expected ${this.numParams} values, got ${flat.length}`);
    }
    for (let k = 0; k < flat.length; k++) {
      if (!Number.isFinite(flat[k])) {
        throw new RangeError(`Weight ${k} (${this.#nameOf(k)}) is not finite: ${flat[k]}`);
      }
    }
    this.#flat.set(flat);
    this.#upload();
  }

  #nameOf(k: number): string {
    let off = 0;
    for (const s of this.weightSpecs) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (k < off + n) return `${s.name}[${k - off}]`;
      off += n;
    }
    return "?";
  }

  /** Frees the model's tensors; the model cannot be used afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const t of this.#towers) {
      for (const layer of t.layers) {
        layer.wFwd?.dispose();
        layer.bFwd?.dispose();
        layer.wBwdT?.dispose();
        layer.wFwd = layer.bFwd = layer.wBwdT = null;
      }
    }
  }
}

/** Standard normals from a PCG32 stream (Box–Muller, both outputs used). */
class PcgNormal {
  readonly #rng: Pcg32;
  #spare = NaN;
  /** @param seed model seed; the weight-init stream is 0x1417, apart from the env streams */
  constructor(seed: number) {
    this.#rng = new Pcg32(seed, 0x1417);
  }
  next(): number {
    if (!Number.isNaN(this.#spare)) {
      const s = this.#spare;
      this.#spare = NaN;
      return s;
    }
    const u = 1 - this.#rng.nextFloat(), v = this.#rng.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/**
 * A `rows × cols` matrix (row-major) with orthonormal columns (rows ≥ cols) or rows (rows <
 * cols): Gram–Schmidt on PCG32 normals, as `torch.nn.init.orthogonal_` does with QR.
 */
function orthogonal(rows: number, cols: number, rng: PcgNormal): Float64Array {
  const tall = rows >= cols;
  const n = tall ? rows : cols, k = tall ? cols : rows; // k orthonormal vectors of length n
  const q = new Float64Array(k * n);
  for (let v = 0; v < k; v++) {
    for (;;) {
      for (let i = 0; i < n; i++) q[v * n + i] = rng.next();
      // Modified Gram–Schmidt, twice for stability.
      for (let pass = 0; pass < 2; pass++) {
        for (let u = 0; u < v; u++) {
          let dot = 0;
          for (let i = 0; i < n; i++) dot += q[v * n + i]! * q[u * n + i]!;
          for (let i = 0; i < n; i++) q[v * n + i]! -= dot * q[u * n + i]!;
        }
      }
      let norm = 0;
      for (let i = 0; i < n; i++) norm += q[v * n + i]! ** 2;
      norm = Math.sqrt(norm);
      if (norm > 1e-6) {
        for (let i = 0; i < n; i++) q[v * n + i]! /= norm;
        break;
      }
    }
  }
  // Vector v is column v (tall) or row v (wide) of the result.
  const out = new Float64Array(rows * cols);
  for (let v = 0; v < k; v++) {
    for (let i = 0; i < n; i++) {
      if (tall) out[i * cols + v] = q[v * n + i]!;
      else out[v * cols + i] = q[v * n + i]!;
    }
  }
  return out;
}
