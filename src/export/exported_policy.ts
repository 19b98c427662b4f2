/**
 * A trained policy as one self-contained artefact that runs without TensorFlow.js: a JSON
 * document (spaces, model shape, the policy tower's weights as base64 float32) and this small
 * plain-TypeScript inference module (`@coop/rl/policy`). It computes the policy tower exactly as
 * {@linkcode ActorCriticModel} defines it (encoders, hidden layers, relational features, action
 * masks, categorical or squashed-Gaussian heads) in float64 on float32 weights, one observation
 * at a time, with no per-call allocation beyond the result.
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
import { Box, Discrete, MultiDiscrete, type Space, type SpaceValue } from "../spaces.ts";
import { spaceFromJSON, type SpaceJSON, spaceToJSON } from "../train/checkpoint.ts";

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

  /**
   * Loads a decoded artefact.
   * @param data the decoded artefact
   * @param seed seed of the sampling stream (explore)
   */
  constructor(data: ExportedPolicyData, seed = 0) {
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
  }

  /**
   * Parses and loads an artefact.
   * @param text the JSON text written by `exportPolicy`
   * @param seed seed of the sampling stream
   * @returns the policy
   */
  static fromJSON(text: string, seed = 0): ExportedPolicy {
    return new ExportedPolicy(exportedPolicyFromJSON(text), seed);
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
        const { rowOff, rows, colOff, cols, wt, b: bias } = b;
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
          out[colOff + c] = l.act === 0 ? Math.tanh(s) : l.act === 1 ? (s > 0 ? s : 0) : s;
        }
      }
      x = out;
    }
    const out = this.#acts.at(-1)!;
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
