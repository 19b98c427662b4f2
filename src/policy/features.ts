/**
 * Relational observation features: fixed (not learned) products between components of a Dict
 * observation, appended to the flat observation before a model's first layer. They give an MLP
 * the two operations entity problems need and that an MLP learns slowly from data, because both
 * are products of inputs:
 *
 * - `gather`: the row of a Box `[n, d]` component picked by a Discrete(n) component (a pointer:
 *   "the position of the chosen chicken") → `d` features;
 * - `dot`: the dot product of each row of a Box `[n, d]` component with a Box `[d]` component
 *   (attention logits: "how alike each chicken is to this robot") → `n` features.
 *
 * They are part of the model (a policy checkpoint records them), like an attention layer without
 * weights; the observation space and the env are unchanged.
 *
 * @module
 */

import { Box, Dict, Discrete, type Space } from "../spaces.ts";

/** One relational feature over the keys of a Dict observation (see the module doc). */
export type ObservationFeature =
  | {
    /** The row of `rows` picked by `index`. */
    kind: "gather";
    /** A Discrete(n) key. */
    index: string;
    /** A Box key of shape `[n, d]`. */
    rows: string;
  }
  | {
    /** The dot product of every row of `rows` with `vector`. */
    kind: "dot";
    /** A Box key of shape `[n, d]`. */
    rows: string;
    /** A Box key of shape `[d]`. */
    vector: string;
  };

/** Features compiled against a space: what to compute from a flat observation row. */
export interface CompiledFeatures {
  /** Number of appended features. */
  readonly size: number;
  /** One name per appended feature, e.g. `gather(target, chicken_positions)[1]`. */
  readonly names: readonly string[];
  /**
   * Writes `rows` augmented rows: each flat row of `obs` (`obsSize` floats) followed by its
   * features.
   * @param obs flat observation rows
   * @param rows number of rows
   * @param out `rows × (obsSize + size)` floats written
   */
  apply(obs: Float32Array, rows: number, out: Float32Array): void;
}

/** Offset and space of a top-level key in the flat encoding of a Dict. */
function keyAt(space: Dict, key: string, who: string): { offset: number; space: Space } {
  let offset = 0;
  for (const k of space.keys) {
    if (k === key) return { offset, space: space.spaces[k]! };
    offset += space.spaces[k]!.flatSize;
  }
  throw new RangeError(
    `${who}: the observation has no key "${key}", expected one of ${
      space.keys.map((k) => `"${k}"`).join(", ")
    }`,
  );
}

function rowsBox(s: Space, key: string, who: string): [number, number] {
  if (!(s instanceof Box) || s.shape.length !== 2) {
    throw new RangeError(`${who}: "${key}" must be a Box of shape [n, d], got ${s}`);
  }
  return [s.shape[0]!, s.shape[1]!];
}

/**
 * Compiles feature specs against a Dict observation space, checking every key and shape.
 *
 * @example The chicken yard's low level: the position of the chosen chicken
 * ```ts
 * import { compileFeatures } from "./features.ts";
 * import { Box, Dict, Discrete } from "../spaces.ts";
 * const space = new Dict({
 *   chicken_positions: new Box(0, 1, [3, 2]),
 *   target: new Discrete(3),
 * });
 * const f = compileFeatures(space, [{ kind: "gather", index: "target", rows: "chicken_positions" }]);
 * const obs = Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0, 1, 0); // target 1
 * const out = new Float32Array(9 + f.size);
 * f.apply(obs, 1, out);
 * if (out[9] !== obs[2] || out[10] !== obs[3]) throw new Error("the row of chicken 1");
 * ```
 *
 * @param space the observation space (a Dict)
 * @param specs the features
 * @param who names the caller in error messages
 * @returns the compiled features
 * @throws {RangeError} naming the feature, the key and what was expected
 */
export function compileFeatures(
  space: Space,
  specs: readonly ObservationFeature[],
  who = "features",
): CompiledFeatures {
  const O = space.flatSize;
  if (specs.length === 0) {
    return { size: 0, names: [], apply: (obs, rows, out) => out.set(obs.subarray(0, rows * O)) };
  }
  if (!(space instanceof Dict)) {
    throw new RangeError(`${who} need a Dict observation space, got ${space}`);
  }
  const names: string[] = [];
  // Per feature: [kind (0 gather, 1 dot), offset A, offset B, n, d].
  const plan: number[][] = [];
  specs.forEach((f, i) => {
    const where = `${who}[${i}] (${f.kind})`;
    if (f.kind === "gather") {
      const idx = keyAt(space, f.index, where), rows = keyAt(space, f.rows, where);
      if (!(idx.space instanceof Discrete)) {
        throw new RangeError(`${where}: "${f.index}" must be a Discrete, got ${idx.space}`);
      }
      const [n, d] = rowsBox(rows.space, f.rows, where);
      if (idx.space.n !== n) {
        throw new RangeError(
          `${where}: "${f.index}" is ${idx.space} but "${f.rows}" has ${n} rows`,
        );
      }
      plan.push([0, idx.offset, rows.offset, n, d]);
      for (let j = 0; j < d; j++) names.push(`gather(${f.index}, ${f.rows})[${j}]`);
    } else if (f.kind === "dot") {
      const rows = keyAt(space, f.rows, where), vec = keyAt(space, f.vector, where);
      const [n, d] = rowsBox(rows.space, f.rows, where);
      if (!(vec.space instanceof Box) || vec.space.flatSize !== d) {
        throw new RangeError(
          `${where}: "${f.vector}" must be a Box of ${d} numbers (a row of "${f.rows}"), got ${vec.space}`,
        );
      }
      plan.push([1, rows.offset, vec.offset, n, d]);
      for (let k = 0; k < n; k++) names.push(`dot(${f.rows}[${k}], ${f.vector})`);
    } else {
      throw new RangeError(
        `${who}[${i}]: unknown kind ${
          JSON.stringify((f as { kind: unknown }).kind)
        }, expected "gather" or "dot"`,
      );
    }
  });
  const size = names.length, W = O + size;
  const P = Int32Array.from(plan.flat()), F = plan.length;
  return {
    size,
    names,
    apply(obs: Float32Array, rows: number, out: Float32Array): void {
      for (let r = 0; r < rows; r++) {
        const src = r * O, dst = r * W;
        for (let i = 0; i < O; i++) out[dst + i] = obs[src + i]!;
        let o = dst + O;
        for (let f = 0; f < F; f++) {
          const kind = P[5 * f]!, a = P[5 * f + 1]!, b = P[5 * f + 2]!;
          const n = P[5 * f + 3]!, d = P[5 * f + 4]!;
          if (kind === 0) {
            // The one-hot index at a picks row k of the rows at b.
            for (let j = 0; j < d; j++) out[o + j] = 0;
            for (let k = 0; k < n; k++) {
              const w = obs[src + a + k]!;
              if (w === 0) continue;
              for (let j = 0; j < d; j++) out[o + j] = out[o + j]! + w * obs[src + b + k * d + j]!;
            }
            o += d;
          } else {
            for (let k = 0; k < n; k++) {
              let s = 0;
              for (let j = 0; j < d; j++) s += obs[src + a + k * d + j]! * obs[src + b + j]!;
              out[o + k] = s;
            }
            o += n;
          }
        }
      }
    },
  };
}
