/**
 * A trained policy as one self-contained artefact that runs without TensorFlow.js: a JSON
 * document (spaces, model shape, the policy tower's weights as base64 float32) and this small
 * inference module (`@coop/rl/policy`). It computes the policy tower exactly as
 * {@linkcode ActorCriticModel} defines it (encoders, hidden layers, relational features, action
 * masks, categorical or squashed-Gaussian heads), one observation at a time, with no per-call
 * allocation beyond the result.
 *
 * Two kernels compute the dense layers (see {@linkcode ExportedPolicyOptions}.kernel):
 * - `"wasm"` (the default where WebAssembly can be compiled): a 2.6 KB WebAssembly SIMD module
 *   (`assembly/policy_kernel.ts`, inlined in the package) that computes each layer in float32,
 *   sixteen output columns at a time in f32x4 lanes, tanh as a rational approximation, as tfjs
 *   computes in float32;
 * - `"js"`: plain TypeScript in float64 on the float32 weights, the fallback where compiling
 *   WebAssembly at run time is forbidden (workerd: pass the kernel as a precompiled
 *   `WebAssembly.Module` there, see {@linkcode exportedPolicyKernelWasmBytes}) or SIMD is missing.
 * Both give tfjs's action probabilities to within 1e-5 (measured: under 1e-6) and its greedy
 * actions (`export_test.ts` checks 10,000 observations per policy shape, each kernel). An
 * observation is checked and flattened in one pass specialised to its space (the space's own
 * `contains` and `flatten` walk it twice; they still explain what is wrong with a bad one).
 * `deno task bench:export` times both kernels against tfjs.
 *
 * Made by `exportPolicy` (`@coop/rl`, which has tfjs) from a live model or a checkpoint.
 *
 * @module
 */

import {
  type CompiledFeatures,
  compileFeatures,
  type ObservationFeature,
} from "../policy/features.ts";
import { SquashedGaussian } from "../policy/gaussian.ts";
import { type ActionMaskLayout, actionMaskLayout } from "../policy/policy.ts";
import { Pcg32 } from "../rng.ts";
import {
  Box,
  Dict,
  Discrete,
  MultiDiscrete,
  type Space,
  type SpaceValue,
  Tuple,
} from "../spaces.ts";
import { spaceFromJSON, type SpaceJSON, spaceToJSON } from "../train/checkpoint.ts";
import { policyKernelWasmBytes } from "../envs/_generated/policy_kernel_wasm.ts";

export type { ObservationFeature } from "../policy/features.ts";
export type { Pcg32 } from "../rng.ts";
export type { Space, SpaceValue } from "../spaces.ts";

/** The artefact's format tag. */
export const EXPORTED_POLICY_FORMAT = "coop-policy";
/** The artefact's format version. */
export const EXPORTED_POLICY_VERSION = 1;

/** One dense layer of the policy tower (a block-diagonal encoder layer has several blocks). */
export interface ExportedLayer {
  /** `tanh`, `relu`, or `linear` (the output layer). */
  activation: "tanh" | "relu" | "linear";
  /** Input width. */
  inSize: number;
  /** Output width. */
  outSize: number;
  /** Dense blocks: input rows `[rowOff, rowOff + rows)` to output columns `[colOff, colOff + cols)`. */
  blocks: {
    /** First input row of the block. */
    rowOff: number;
    /** Input rows. */
    rows: number;
    /** First output column. */
    colOff: number;
    /** Output columns. */
    cols: number;
    /** `[rows × cols]` row-major. */
    kernel: Float32Array;
    /** `[cols]`. */
    bias: Float32Array;
  }[];
}

/** Everything the artefact holds, decoded. */
export interface ExportedPolicyData {
  /** The policy's id in the trainer. */
  policyId: string;
  /** `"actor-critic"` (logits) or `"q"` (Q-values: actions are always the greedy ones). */
  head: "actor-critic" | "q";
  /** Observation space (what `computeSingleAction` accepts). */
  observationSpace: Space;
  /** Action space. */
  actionSpace: Space;
  /** Relational features appended to the (unmasked part of the) observation. */
  features: ObservationFeature[];
  /** The policy tower, input to output. */
  layers: ExportedLayer[];
  /** The Gaussian head's log-std (Box actions), else null. */
  logStd: Float32Array | null;
}

function b64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function unb64(s: string, what: string): Float32Array {
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    throw new RangeError(`exported policy: ${what} is not base64`);
  }
  if (bin.length % 4 !== 0) throw new RangeError(`exported policy: ${what} is not float32 data`);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

/**
 * Serialises an exported policy as the artefact's JSON text.
 * @param d the policy
 * @returns JSON text
 */
export function exportedPolicyToJSON(d: ExportedPolicyData): string {
  return JSON.stringify({
    format: EXPORTED_POLICY_FORMAT,
    version: EXPORTED_POLICY_VERSION,
    policyId: d.policyId,
    head: d.head,
    observationSpace: spaceToJSON(d.observationSpace),
    actionSpace: spaceToJSON(d.actionSpace),
    features: d.features,
    logStd: d.logStd === null ? null : b64(d.logStd),
    layers: d.layers.map((l) => ({
      ...l,
      blocks: l.blocks.map((b) => ({ ...b, kernel: b64(b.kernel), bias: b64(b.bias) })),
    })),
  });
}

/**
 * Parses an artefact written by {@linkcode exportedPolicyToJSON}.
 * @param text the JSON text
 * @returns the policy's data
 * @throws {RangeError} naming what is missing or malformed
 */
export function exportedPolicyFromJSON(text: string): ExportedPolicyData {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new RangeError(`exported policy: not JSON (${e instanceof Error ? e.message : e})`);
  }
  if (j?.format !== EXPORTED_POLICY_FORMAT || j.version !== EXPORTED_POLICY_VERSION) {
    throw new RangeError(
      `exported policy: expected format "${EXPORTED_POLICY_FORMAT}" version ${EXPORTED_POLICY_VERSION}, got ${
        JSON.stringify(j?.format)
      } version ${JSON.stringify(j?.version)}`,
    );
  }
  const layers = (j.layers as ExportedLayer[] & { blocks: { kernel: string; bias: string }[] }[])
    .map((l, i) => ({
      ...l,
      blocks: l.blocks.map((b, k) => {
        const raw = b as unknown as { kernel: string; bias: string };
        const kernel = unb64(raw.kernel, `layers[${i}].blocks[${k}].kernel`);
        const bias = unb64(raw.bias, `layers[${i}].blocks[${k}].bias`);
        if (kernel.length !== b.rows * b.cols || bias.length !== b.cols) {
          throw new RangeError(
            `exported policy: layers[${i}].blocks[${k}] holds ${kernel.length}+${bias.length} weights, expected ${b.rows}×${b.cols}+${b.cols}`,
          );
        }
        return { ...b, kernel, bias };
      }),
    }));
  return {
    policyId: String(j.policyId),
    head: j.head === "q" ? "q" : "actor-critic",
    observationSpace: spaceFromJSON(j.observationSpace as SpaceJSON),
    actionSpace: spaceFromJSON(j.actionSpace as SpaceJSON),
    features: (j.features ?? []) as ObservationFeature[],
    layers,
    logStd: j.logStd === null || j.logStd === undefined ? null : unb64(String(j.logStd), "logStd"),
  };
}

/** Which kernel computes an exported policy's dense layers (see the module doc). */
export type ExportedKernel = "wasm" | "js";

/** Options of {@linkcode ExportedPolicy}'s constructor and {@linkcode ExportedPolicy.fromJSON}. */
export interface ExportedPolicyOptions {
  /**
   * The dense layers' kernel: `"auto"` (default: the WebAssembly SIMD kernel when this runtime
   * can compile it, else plain JS), `"wasm"` (the WebAssembly kernel, or an error saying why
   * not), `"js"`, or the kernel as a precompiled `WebAssembly.Module` (for runtimes that forbid
   * compiling bytes, e.g. workerd, which binds `.wasm` modules: write
   * {@linkcode exportedPolicyKernelWasmBytes} next to the worker and import it).
   */
  kernel?: "auto" | ExportedKernel | WebAssembly.Module;
}

/**
 * The WebAssembly SIMD kernel's bytes (`assembly/policy_kernel.ts`, compiled by
 * `deno task build`), for runtimes that must receive it precompiled (workerd: a `wasm` module
 * of the worker, passed as {@linkcode ExportedPolicyOptions}.kernel).
 * @returns the `.wasm` bytes (a fresh copy)
 */
export function exportedPolicyKernelWasmBytes(): Uint8Array {
  return policyKernelWasmBytes();
}

let compiledKernel: WebAssembly.Module | Error | undefined;

/** The kernel compiled from the inlined bytes (once), or why it cannot be. */
function kernelModule(): WebAssembly.Module | Error {
  if (compiledKernel === undefined) {
    try {
      compiledKernel = new WebAssembly.Module(policyKernelWasmBytes() as BufferSource);
    } catch (e) {
      compiledKernel = e instanceof Error ? e : new Error(String(e));
    }
  }
  return compiledKernel;
}

/** The kernel's export. */
type Dense = (
  x: number,
  rows: number,
  w: number,
  b: number,
  out: number,
  cols: number,
  act: number,
) => void;

/** A policy tower laid out in the WebAssembly kernel's memory. */
interface WasmTower {
  dense: Dense;
  /** 7 numbers per block call: x, rows, w, b, out, cols, act (addresses in bytes). */
  calls: Int32Array;
  /** The first layer's input, in the kernel's memory. */
  input: Float32Array;
  /** The last layer's output, in the kernel's memory. */
  output: Float32Array;
}

/** Instantiates the kernel and lays the tower out in its memory (packed, see the kernel). */
function wasmTower(module: WebAssembly.Module, layers: ExportedLayer[]): WasmTower {
  const exports = new WebAssembly.Instance(module, {}).exports as {
    memory: WebAssembly.Memory;
    dense: Dense;
  };
  const mem = exports.memory;
  const pad4 = (n: number) => (n + 3) & ~3;
  // Allocate above everything the module owns (its static data and stack).
  let top = mem.buffer.byteLength;
  const alloc = (floats: number) => {
    const at = top;
    top += pad4(floats) * 4;
    return at;
  };
  const inputAt = alloc(layers[0]!.inSize);
  const outAt = layers.map((l) => alloc(l.outSize));
  const calls: number[] = [];
  const fills: [number, Float32Array][] = [];
  layers.forEach((l, i) => {
    const xAt = i === 0 ? inputAt : outAt[i - 1]!;
    const act = l.activation === "tanh" ? 0 : l.activation === "relu" ? 1 : 2;
    for (const b of l.blocks) {
      const groups = (b.cols + 3) >> 2;
      const packed = new Float32Array(groups * b.rows * 4);
      for (let r = 0; r < b.rows; r++) {
        for (let c = 0; c < b.cols; c++) {
          packed[((c >> 2) * b.rows + r) * 4 + (c & 3)] = b.kernel[r * b.cols + c]!;
        }
      }
      const bias = new Float32Array(groups * 4);
      bias.set(b.bias);
      const wAt = alloc(packed.length), bAt = alloc(bias.length);
      fills.push([wAt, packed], [bAt, bias]);
      calls.push(xAt + 4 * b.rowOff, b.rows, wAt, bAt, outAt[i]! + 4 * b.colOff, b.cols, act);
    }
  });
  const need = top - mem.buffer.byteLength;
  if (need > 0) mem.grow(Math.ceil(need / 65536));
  const buf = mem.buffer;
  for (const [at, a] of fills) new Float32Array(buf, at, a.length).set(a);
  return {
    dense: exports.dense,
    calls: Int32Array.from(calls),
    input: new Float32Array(buf, inputAt, layers[0]!.inSize),
    output: new Float32Array(buf, outAt.at(-1)!, layers.at(-1)!.outSize),
  };
}

/**
 * Writes the flat encoding of `x` at `out[off]` and returns true when `x` is certainly a member
 * of the space with finite elements; false sends the caller to the space's own (slower)
 * `contains` and `flatten`, which also say what is wrong.
 */
type FastFlatten = (x: unknown, out: Float32Array, off: number) => boolean;

/**
 * A membership test and flat encoding in one pass, specialised to the space once: the space's
 * `contains` + `flatten` walk the value twice and recompute component sizes on each call. It
 * accepts a subset of what `contains` accepts (never more): anything unusual (a Box of rank ≥ 3
 * given as nested rows, inherited Dict keys, non-finite elements) returns false.
 */
function fastFlatten(space: Space): FastFlatten {
  if (space instanceof Box) {
    const { low, high, shape } = space, n = low.length;
    const elements = (r: ArrayLike<unknown>, first: number, out: Float32Array, off: number) => {
      for (let i = 0; i < r.length; i++) {
        const v = r[i];
        if (typeof v !== "number") return false;
        const f = Math.fround(v), k = first + i;
        // Also refuses NaN and ±Infinity (f - f is NaN for them).
        if (!(f >= low[k]! && f <= high[k]! && f - f === 0)) return false;
        out[off + k] = v;
      }
      return true;
    };
    if (shape.length < 2) {
      return (x, out, off) =>
        (x instanceof Float32Array || Array.isArray(x)) && x.length === n &&
        elements(x, 0, out, off);
    }
    const rows = shape[0]!, cols = n / rows;
    return (x, out, off) => {
      if (x instanceof Float32Array) return x.length === n && elements(x, 0, out, off);
      if (!Array.isArray(x)) return false;
      const r0 = x[0];
      if (!(r0 instanceof Float32Array || Array.isArray(r0))) {
        return x.length === n && elements(x, 0, out, off); // flat numbers
      }
      if (shape.length !== 2 || x.length !== rows) return false;
      for (let i = 0; i < rows; i++) {
        const r = x[i];
        if (!(r instanceof Float32Array || Array.isArray(r)) || r.length !== cols) return false;
        if (!elements(r, i * cols, out, off)) return false;
      }
      return true;
    };
  }
  if (space instanceof Discrete) {
    const { n, start } = space;
    return (x, out, off) => {
      if (typeof x !== "number" || !Number.isInteger(x) || x < start || x >= start + n) {
        return false;
      }
      out.fill(0, off, off + n);
      out[off + x - start] = 1;
      return true;
    };
  }
  if (space instanceof MultiDiscrete) {
    const nvec = [...space.nvec], size = space.flatSize;
    return (x, out, off) => {
      if (!Array.isArray(x) || x.length !== nvec.length) return false;
      out.fill(0, off, off + size);
      let o = off;
      for (let i = 0; i < nvec.length; i++) {
        const v = x[i];
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= nvec[i]!) return false;
        out[o + v] = 1;
        o += nvec[i]!;
      }
      return true;
    };
  }
  if (space instanceof Tuple) {
    const parts = space.spaces.map(fastFlatten);
    const offs = offsets(space.spaces);
    return (x, out, off) => {
      if (!Array.isArray(x) || x.length !== parts.length) return false;
      for (let i = 0; i < parts.length; i++) {
        if (!parts[i]!(x[i], out, off + offs[i]!)) return false;
      }
      return true;
    };
  }
  if (space instanceof Dict) {
    const keys = [...space.keys], known = new Set(keys);
    const parts = keys.map((k) => fastFlatten(space.spaces[k]!));
    const offs = offsets(keys.map((k) => space.spaces[k]!));
    return (x, out, off) => {
      if (typeof x !== "object" || x === null || Array.isArray(x) || ArrayBuffer.isView(x)) {
        return false;
      }
      const own = Object.keys(x);
      if (own.length !== keys.length) return false;
      for (let i = 0; i < own.length; i++) if (!known.has(own[i]!)) return false;
      const rec = x as Record<string, unknown>;
      for (let i = 0; i < keys.length; i++) {
        if (!parts[i]!(rec[keys[i]!], out, off + offs[i]!)) return false;
      }
      return true;
    };
  }
  return () => false;
}

function offsets(spaces: readonly Space[]): number[] {
  let o = 0;
  return spaces.map((s) => {
    const at = o;
    o += s.flatSize;
    return at;
  });
}

/**
 * The plain-JS kernel: one dense block in float64 (kernel transposed, `[cols × rows]`), a small
 * function of its own so that V8 optimises it for typed arrays alone.
 */
function denseJs(
  x: Float64Array,
  rowOff: number,
  rows: number,
  wt: Float64Array,
  bias: Float64Array,
  out: Float64Array,
  colOff: number,
  cols: number,
  act: number,
): void {
  const r4 = rows & ~3;
  for (let c = 0; c < cols; c++) {
    // Four accumulators: independent multiply-adds the CPU can overlap.
    let s0 = bias[c]!, s1 = 0, s2 = 0, s3 = 0;
    const w0 = c * rows;
    let r = 0;
    for (; r < r4; r += 4) {
      s0 += x[rowOff + r]! * wt[w0 + r]!;
      s1 += x[rowOff + r + 1]! * wt[w0 + r + 1]!;
      s2 += x[rowOff + r + 2]! * wt[w0 + r + 2]!;
      s3 += x[rowOff + r + 3]! * wt[w0 + r + 3]!;
    }
    for (; r < rows; r++) s0 += x[rowOff + r]! * wt[w0 + r]!;
    const s = (s0 + s1) + (s2 + s3);
    out[colOff + c] = act === 0 ? Math.tanh(s) : act === 1 ? (s > 0 ? s : 0) : s;
  }
}

/** Options of {@linkcode ExportedPolicy.computeSingleAction}. */
export interface ExportedComputeOptions {
  /**
   * Sample (true, RLlib's default) or take the most likely action (false). A Q-network's
   * artefact always acts greedily (its exploration, epsilon, belongs to training).
   */
  explore?: boolean;
}

/**
 * Runs an exported policy without tfjs: observation in, action out.
 *
 * @example Load an artefact and act
 * ```ts ignore
 * import { ExportedPolicy } from "@coop/rl/policy";
 * const policy = ExportedPolicy.fromJSON(await Deno.readTextFile("low_level_policy.json"));
 * const action = policy.computeSingleAction(obs, { explore: false });
 * ```
 */
export class ExportedPolicy {
  /** The policy's data. */
  readonly data: ExportedPolicyData;
  /** Observation space. */
  readonly observationSpace: Space;
  /** Action space. */
  readonly actionSpace: Space;
  readonly #mask: ActionMaskLayout | null;
  readonly #feat: CompiledFeatures | null;
  readonly #heads: number[];
  readonly #starts: number[];
  readonly #gauss: SquashedGaussian | null;
  readonly #rng: Pcg32;
  readonly #flat: Float32Array;
  readonly #fast: FastFlatten;
  readonly #seen: Float32Array;
  readonly #input: Float32Array;
  readonly #acts: Float64Array[];
  /** The layers for the forward pass: float64, kernels transposed (`[cols × rows]`). */
  readonly #run: {
    act: 0 | 1 | 2;
    blocks: {
      rowOff: number;
      rows: number;
      colOff: number;
      cols: number;
      wt: Float64Array;
      b: Float64Array;
    }[];
  }[];
  readonly #x0: Float64Array;
  readonly #wasm: WasmTower | null;
  /** The WebAssembly kernel's outputs, widened (what {@linkcode outputs} returns). */
  readonly #out64: Float64Array;
  /** The kernel that computes the dense layers. */
  readonly kernel: ExportedKernel;

  /**
   * Loads a decoded artefact.
   * @param data the decoded artefact
   * @param seed seed of the sampling stream (explore)
   * @param options the kernel (default: WebAssembly SIMD where it compiles, else JS)
   * @throws {Error} when `kernel: "wasm"` is asked for and cannot be compiled or instantiated
   */
  constructor(data: ExportedPolicyData, seed = 0, options: ExportedPolicyOptions = {}) {
    this.data = data;
    this.observationSpace = data.observationSpace;
    this.actionSpace = data.actionSpace;
    const a = data.actionSpace;
    this.#mask = actionMaskLayout(data.observationSpace, a, "ExportedPolicy");
    const seen = this.#mask === null ? data.observationSpace : this.#mask.observations;
    this.#feat = data.features.length > 0
      ? compileFeatures(seen, data.features, "ExportedPolicy features")
      : null;
    if (a instanceof Discrete) {
      this.#heads = [a.n];
      this.#starts = [a.start];
      this.#gauss = null;
    } else if (a instanceof MultiDiscrete) {
      this.#heads = [...a.nvec];
      this.#starts = this.#heads.map(() => 0);
      this.#gauss = null;
    } else if (a instanceof Box) {
      this.#heads = [];
      this.#starts = [];
      this.#gauss = new SquashedGaussian(a, "ExportedPolicy");
    } else throw new RangeError(`ExportedPolicy: unsupported action space ${a}`);
    this.#rng = new Pcg32(seed, 0xe4);
    this.#flat = new Float32Array(data.observationSpace.flatSize);
    this.#fast = fastFlatten(data.observationSpace);
    this.#seen = new Float32Array(seen.flatSize);
    this.#input = new Float32Array(seen.flatSize + (this.#feat?.size ?? 0));
    const first = data.layers[0];
    if (first === undefined || first.inSize !== this.#input.length) {
      throw new RangeError(
        `ExportedPolicy: the first layer takes ${first?.inSize} inputs, the observation gives ${this.#input.length}`,
      );
    }
    this.#acts = data.layers.map((l) => new Float64Array(l.outSize));
    this.#x0 = new Float64Array(this.#input.length);
    this.#run = data.layers.map((l) => ({
      act: l.activation === "tanh" ? 0 : l.activation === "relu" ? 1 : 2,
      blocks: l.blocks.map((b) => {
        const wt = new Float64Array(b.rows * b.cols);
        for (let r = 0; r < b.rows; r++) {
          for (let c = 0; c < b.cols; c++) wt[c * b.rows + r] = b.kernel[r * b.cols + c]!;
        }
        return {
          rowOff: b.rowOff,
          rows: b.rows,
          colOff: b.colOff,
          cols: b.cols,
          wt,
          b: Float64Array.from(b.bias),
        };
      }),
    }));
    const want = options.kernel ?? "auto";
    let tower: WasmTower | null = null;
    if (want !== "js") {
      try {
        const module = want instanceof WebAssembly.Module ? want : kernelModule();
        if (module instanceof Error) throw module;
        tower = wasmTower(module, data.layers);
      } catch (e) {
        if (want !== "auto") {
          throw new Error(
            `ExportedPolicy: the WebAssembly kernel cannot run here (${
              e instanceof Error ? e.message : e
            }); pass it precompiled (kernel: WebAssembly.Module) or use kernel: "js"`,
            { cause: e },
          );
        }
      }
    }
    this.#wasm = tower;
    this.kernel = tower === null ? "js" : "wasm";
    this.#out64 = new Float64Array(data.layers.at(-1)!.outSize);
  }

  /**
   * Parses and loads an artefact.
   * @param text the JSON text written by `exportPolicy`
   * @param seed seed of the sampling stream
   * @param options the kernel (see {@linkcode ExportedPolicyOptions})
   * @returns the policy
   */
  static fromJSON(text: string, seed = 0, options: ExportedPolicyOptions = {}): ExportedPolicy {
    return new ExportedPolicy(exportedPolicyFromJSON(text), seed, options);
  }

  /**
   * The policy tower's outputs for one flat observation row (logits; a Gaussian head: means),
   * with illegal actions' logits at −1e9.
   * @param row the flat observation
   * @returns the outputs (a view, valid until the next call)
   */
  outputs(row: Float32Array): Float64Array {
    const m = this.#mask;
    let seen: Float32Array = row;
    if (m !== null) {
      this.#seen.set(row.subarray(m.obsOffset, m.obsOffset + m.obsSize));
      seen = this.#seen;
    }
    const w = this.#wasm;
    if (w !== null) return this.#outputsWasm(w, row, seen);
    const x0 = this.#x0;
    if (this.#feat !== null) {
      this.#feat.apply(seen, 1, this.#input);
      x0.set(this.#input);
    } else x0.set(seen);
    let x = x0;
    const run = this.#run;
    for (let i = 0; i < run.length; i++) {
      const l = run[i]!, out = this.#acts[i]!;
      for (const b of l.blocks) {
        denseJs(x, b.rowOff, b.rows, b.wt, b.b, out, b.colOff, b.cols, l.act);
      }
      x = out;
    }
    const out = this.#acts.at(-1)!;
    if (m !== null) {
      for (let k = 0; k < m.size; k++) if (row[m.maskOffset + k]! <= 0) out[k] = -1e9;
    }
    return out;
  }

  #outputsWasm(w: WasmTower, row: Float32Array, seen: Float32Array): Float64Array {
    if (this.#feat !== null) this.#feat.apply(seen, 1, w.input);
    else w.input.set(seen);
    const { dense, calls } = w;
    for (let i = 0; i < calls.length; i += 7) {
      dense(
        calls[i]!,
        calls[i + 1]!,
        calls[i + 2]!,
        calls[i + 3]!,
        calls[i + 4]!,
        calls[i + 5]!,
        calls[i + 6]!,
      );
    }
    const out = this.#out64, o32 = w.output, m = this.#mask;
    for (let k = 0; k < out.length; k++) out[k] = o32[k]!;
    if (m !== null) {
      for (let k = 0; k < m.size; k++) if (row[m.maskOffset + k]! <= 0) out[k] = -1e9;
    }
    return out;
  }

  /**
   * Action probabilities of a categorical policy (one block per head, each summing to 1).
   * @param obs an observation of the observation space
   * @returns the probabilities
   */
  actionProbabilities(obs: unknown): Float64Array {
    if (this.#gauss !== null) throw new RangeError("actionProbabilities: a Gaussian head");
    const out = this.outputs(this.#flatten(obs));
    const p = new Float64Array(out.length);
    let off = 0;
    for (const n of this.#heads) {
      let max = -Infinity, sum = 0;
      for (let k = 0; k < n; k++) max = Math.max(max, out[off + k]!);
      for (let k = 0; k < n; k++) sum += p[off + k] = Math.exp(out[off + k]! - max);
      for (let k = 0; k < n; k++) p[off + k]! /= sum;
      off += n;
    }
    return p;
  }

  /** A standard normal draw (Box-Muller). */
  #normal(): number {
    const u = 1 - this.#rng.nextFloat(), v = this.#rng.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  #flatten(obs: unknown): Float32Array {
    if (this.#fast(obs, this.#flat, 0)) return this.#flat;
    const s = this.observationSpace;
    if (!s.contains(obs as SpaceValue)) {
      throw new RangeError(
        `ExportedPolicy "${this.data.policyId}": the observation is not in ${s}: ${s.explain(obs)}`,
      );
    }
    s.flatten(obs as SpaceValue, this.#flat, 0);
    for (const v of this.#flat) {
      if (!Number.isFinite(v)) {
        throw new RangeError(`ExportedPolicy "${this.data.policyId}": non-finite observation`);
      }
    }
    return this.#flat;
  }

  /**
   * The action for one observation (RLlib's `compute_single_action`).
   * @param obs an observation of the observation space
   * @param opts `explore` (default true: sample)
   * @returns the action, in the action space's form
   */
  computeSingleAction(obs: unknown, opts: ExportedComputeOptions = {}): SpaceValue {
    const explore = (opts.explore ?? true) && this.data.head !== "q";
    const out = this.outputs(this.#flatten(obs));
    const g = this.#gauss;
    if (g !== null) {
      const D = g.size, a = new Float32Array(D);
      for (let d = 0; d < D; d++) {
        const u = explore ? out[d]! + Math.exp(this.data.logStd![d]!) * this.#normal() : out[d]!;
        a[d] = g.squash(d, u);
      }
      return a;
    }
    const acts: number[] = [];
    let off = 0;
    this.#heads.forEach((n, h) => {
      let best = 0;
      if (explore) {
        let max = -Infinity, sum = 0;
        for (let k = 0; k < n; k++) max = Math.max(max, out[off + k]!);
        for (let k = 0; k < n; k++) sum += Math.exp(out[off + k]! - max);
        let u = this.#rng.nextFloat() * sum;
        best = n - 1;
        for (let k = 0; k < n; k++) {
          u -= Math.exp(out[off + k]! - max);
          if (u < 0) {
            best = k;
            break;
          }
        }
      } else {
        for (let k = 1; k < n; k++) if (out[off + k]! > out[off + best]!) best = k;
      }
      acts.push(best + this.#starts[h]!);
      off += n;
    });
    return this.actionSpace instanceof Discrete ? acts[0]! : acts;
  }
}
