/**
 * Observation and action spaces, Gymnasium-style: {@linkcode Discrete}, {@linkcode Box},
 * {@linkcode MultiDiscrete}, {@linkcode Tuple} and {@linkcode Dict}.
 *
 * Two flat encodings are used on the data path:
 * - `flatten`/`unflatten` (length `flatSize`): the model input. Discrete values are one-hot,
 *   Box values are copied. Batched envs write observations in this form.
 * - `pack`/`unpack` (length `packedSize`): the action buffers. Discrete values take one float
 *   (the index), Box values are copied.
 *
 * Both encodings hold a Box's elements flat, row-major. As values, a Box of rank ≥ 2 (e.g. the
 * chicken yard's `[10, 5]` `chicken_oceans`) is accepted flat or as nested rows and decoded as
 * nested rows ({@linkcode BoxValue}); rank 1 is a `Float32Array`.
 *
 * @module
 */

import type { Pcg32 } from "./rng.ts";

/** A value of some space: a number, a number array (Box, MultiDiscrete), or nested tuples/dicts. */
export type SpaceValue = number | number[] | Float32Array | SpaceValue[] | {
  [key: string]: SpaceValue;
};

/** Common interface of every space. */
export interface Space<T extends SpaceValue = SpaceValue> {
  /** The space's kind, for switches and messages. */
  readonly kind: "discrete" | "box" | "multi_discrete" | "tuple" | "dict";
  /** Length of the one-hot flat encoding (model input). */
  readonly flatSize: number;
  /** Length of the packed encoding (action buffers). */
  readonly packedSize: number;
  /**
   * Tests membership.
   * @param x any value
   * @returns whether `x` is a member of the space
   */
  contains(x: unknown): x is T;
  /**
   * Draws a uniform (Box: uniform within bounds, or standard normal where unbounded) sample.
   * @param rng the stream to draw from
   * @returns a member of the space
   */
  sample(rng: Pcg32): T;
  /**
   * Writes the one-hot flat encoding of `x` into `out` at `offset`.
   * @param x a member of the space
   * @param out destination row
   * @param offset first index written
   */
  flatten(x: T, out: Float32Array, offset?: number): void;
  /**
   * Reads a value back from its flat encoding (Discrete: the argmax of its one-hot block).
   * @param row source row
   * @param offset first index read
   * @returns the decoded value
   */
  unflatten(row: ArrayLike<number>, offset?: number): T;
  /**
   * Writes the packed encoding of `x` into `out` at `offset`.
   * @param x a member of the space
   * @param out destination row
   * @param offset first index written
   */
  pack(x: T, out: Float32Array, offset?: number): void;
  /**
   * Reads a value back from its packed encoding.
   * @param row source row
   * @param offset first index read
   * @returns the decoded value
   */
  unpack(row: ArrayLike<number>, offset?: number): T;
  /**
   * Explains why `x` is not a member, or returns `undefined` when it is.
   * @param x any value
   * @returns a sentence naming the value and what was expected, or undefined
   */
  explain(x: unknown): string | undefined;
  /**
   * A compact description such as `Discrete(4)` or `Box(0, 100, [2])`.
   * @returns the description
   */
  toString(): string;
}

/**
 * Formats a value for an error message: numbers as themselves (NaN as `NaN`), typed arrays
 * element by element, anything else as JSON cut to 80 characters.
 * @param x any value
 * @returns a short description
 */
export function formatValue(x: unknown): string {
  if (typeof x === "number") return String(x);
  try {
    const s = JSON.stringify(
      x,
      (_k, v) => ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v,
    );
    return s === undefined ? String(x) : s.length > 80 ? s.slice(0, 77) + "..." : s;
  } catch {
    return String(x);
  }
}

/**
 * The integers `start, ..., start + n - 1`.
 *
 * @example
 * ```ts
 * import { Discrete } from "./spaces.ts";
 * const d = new Discrete(4);
 * const row = new Float32Array(4);
 * d.flatten(2, row);
 * if (row[2] !== 1 || d.unflatten(row) !== 2) throw new Error("one-hot");
 * ```
 */
export class Discrete implements Space<number> {
  /** The space's kind, for switches and messages. */
  readonly kind = "discrete" as const;
  /** Number of values. */
  readonly n: number;
  /** Smallest value. */
  readonly start: number;
  /**
   * Creates `Discrete(n, start)`.
   * @param n number of values, a positive integer
   * @param start smallest value (default 0)
   */
  constructor(n: number, start = 0) {
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`Discrete size must be a positive integer, got ${formatValue(n)}`);
    }
    if (!Number.isInteger(start)) {
      throw new RangeError(`Discrete start must be an integer, got ${formatValue(start)}`);
    }
    this.n = n;
    this.start = start;
  }
  /** Length of the one-hot flat encoding (model input). */
  get flatSize(): number {
    return this.n;
  }
  /** Length of the packed encoding (action buffers). */
  get packedSize(): number {
    return 1;
  }
  /**
   * Tests membership.
   * @param x any value
   * @returns whether `x` is a member of the space
   */
  contains(x: unknown): x is number {
    return this.explain(x) === undefined;
  }
  /**
   * Explains why `x` is not a member, or returns `undefined` when it is.
   * @param x any value
   * @returns a sentence naming the value and what was expected, or undefined
   */
  explain(x: unknown): string | undefined {
    if (
      typeof x !== "number" || !Number.isInteger(x) || x < this.start || x >= this.start + this.n
    ) {
      return `expected an integer in [${this.start}, ${this.start + this.n - 1}] for ${this}, got ${
        formatValue(x)
      }`;
    }
    return undefined;
  }
  /**
   * Draws a sample (see {@linkcode Space.sample}).
   * @param rng the stream to draw from
   * @returns a member of the space
   */
  sample(rng: Pcg32): number {
    return this.start + rng.nextInt(this.n);
  }
  /**
   * Writes the one-hot flat encoding of `x` into `out` at `offset`.
   * @param x a member of the space
   * @param out destination row
   * @param offset first index written
   */
  flatten(x: number, out: Float32Array, offset = 0): void {
    out.fill(0, offset, offset + this.n);
    out[offset + x - this.start] = 1;
  }
  /**
   * Reads a value back from its flat encoding.
   * @param row source row
   * @param offset first index read
   * @returns the decoded value
   */
  unflatten(row: ArrayLike<number>, offset = 0): number {
    let best = 0;
    for (let i = 1; i < this.n; i++) if (row[offset + i]! > row[offset + best]!) best = i;
    return this.start + best;
  }
  /**
   * Writes the packed encoding of `x` into `out` at `offset`.
   * @param x a member of the space
   * @param out destination row
   * @param offset first index written
   */
  pack(x: number, out: Float32Array, offset = 0): void {
    out[offset] = x;
  }
  /**
   * Reads a value back from its packed encoding.
   * @param row source row
   * @param offset first index read
   * @returns the decoded value
   */
  unpack(row: ArrayLike<number>, offset = 0): number {
    return row[offset]!;
  }
  /**
   * A compact description such as `Discrete(4)` or `Box(0, 100, [2])`.
   * @returns the description
   */
  toString(): string {
    return this.start === 0 ? `Discrete(${this.n})` : `Discrete(${this.n}, start=${this.start})`;
  }
}

/**
 * A value of a {@linkcode Box}: its elements flat in row-major order (a `Float32Array` or a
 * `number[]`), or, for a shape of rank ≥ 2, nested rows: shape `[10, 5]` is 10 rows of 5 numbers
 * (each row a `number[]` or a `Float32Array`), shape `[2, 10, 5]` is 2 arrays of such rows.
 */
export type BoxValue = Float32Array | number[] | BoxValue[];

/**
 * Names element `i` (row-major) of a value of `shape` in messages: `3` for rank ≤ 1, `[3][1]`
 * for rank ≥ 2 (the index path into the nested rows).
 * @param shape a Box shape
 * @param i flat element index
 * @returns the name
 */
export function boxElementName(shape: readonly number[], i: number): string {
  if (shape.length < 2) return String(i);
  let s = "", rest = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    s = `[${rest % shape[d]!}]` + s;
    rest = Math.floor(rest / shape[d]!);
  }
  return s;
}

/** `[a, b]` → `a rows of b numbers`; `[a, b, c]` → `a arrays of b rows of c numbers`. */
function describeRows(shape: readonly number[], from: number): string {
  const r = shape.length - from;
  if (r === 1) return `${shape[from]} numbers`;
  return `${shape[from]} ${r === 2 ? "rows" : "arrays"} of ${describeRows(shape, from + 1)}`;
}

const isRow = (v: unknown): v is number[] | Float32Array =>
  Array.isArray(v) || v instanceof Float32Array;

/**
 * A box of real numbers `low <= x <= high` of a fixed shape. Values ({@linkcode BoxValue}) of
 * rank ≤ 1 are `Float32Array`s (arrays of numbers are accepted); for rank ≥ 2, `contains`,
 * `flatten` and `pack` accept the elements flat or as nested rows, and `sample`, `unflatten` and
 * `unpack` return nested rows (row views of one `Float32Array` owned by the value).
 *
 * @example
 * ```ts
 * import { Box } from "./spaces.ts";
 * const b = new Box(0, 100, [2]);
 * if (!b.contains([1, 7]) || b.contains([1, 101])) throw new Error("bounds");
 * ```
 *
 * @example Rank 2: flat or nested rows in, nested rows out
 * ```ts
 * import { Box } from "./spaces.ts";
 * const oceans = new Box(0, 1, [3, 2]);
 * const row = new Float32Array(6);
 * oceans.flatten([[0, 0.5], [1, 1], [0.25, 0]], row); // or the 6 numbers flat
 * const v = oceans.unflatten(row) as Float32Array[]; // 3 Float32Arrays of 2
 * if (v.length !== 3 || v[1]![0] !== 1) throw new Error("rows");
 * if (oceans.explain([[0, 0.5], [1, 2], [0, 0]]) === undefined) throw new Error("[1][1] > 1");
 * ```
 */
export class Box implements Space<BoxValue> {
  /** The space's kind, for switches and messages. */
  readonly kind = "box" as const;
  /** Lower bounds, one per element (row-major). */
  readonly low: Float32Array;
  /** Upper bounds, one per element (row-major). */
  readonly high: Float32Array;
  /** Shape of a value. */
  readonly shape: readonly number[];
  /**
   * Creates a box of the given bounds and shape.
   * @param low lower bound, a number (broadcast) or one per element (row-major)
   * @param high upper bound, a number (broadcast) or one per element (row-major)
   * @param shape shape of a value (product of dims = number of elements)
   */
  constructor(low: number | ArrayLike<number>, high: number | ArrayLike<number>, shape: number[]) {
    if (!shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new RangeError(`Box shape must be positive integers, got ${formatValue(shape)}`);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    const bcast = (v: number | ArrayLike<number>, what: string) => {
      if (typeof v === "number") return new Float32Array(size).fill(v);
      if (v.length !== size) {
        throw new RangeError(`Box ${what} must have ${size} elements, got ${v.length}`);
      }
      return Float32Array.from(v);
    };
    this.low = bcast(low, "low");
    this.high = bcast(high, "high");
    for (let i = 0; i < size; i++) {
      if (Number.isNaN(this.low[i]) || Number.isNaN(this.high[i]) || this.low[i]! > this.high[i]!) {
        throw new RangeError(
          `Box bounds must satisfy low <= high, got low ${this.low[i]} > high ${
            this.high[i]
          } at ${i}`,
        );
      }
    }
    this.shape = [...shape];
  }
  /** Length of the one-hot flat encoding (model input). */
  get flatSize(): number {
    return this.low.length;
  }
  /** Length of the packed encoding (action buffers). */
  get packedSize(): number {
    return this.low.length;
  }
  /**
   * Tests membership.
   * @param x any value
   * @returns whether `x` is a member of the space
   */
  contains(x: unknown): x is BoxValue {
    return this.explain(x) === undefined;
  }
  /**
   * Explains why `x` is not a member, or returns `undefined` when it is. Names the element by
   * its index path for rank ≥ 2 (`element [3][1]`) and the expected shape (`10 rows of 5
   * numbers`).
   * @param x any value
   * @returns a sentence naming the value and what was expected, or undefined
   */
  explain(x: unknown): string | undefined {
    const n = this.low.length, rank = this.shape.length;
    if (rank < 2) {
      if (!isRow(x) || x.length !== n) {
        return `expected ${n} numbers for ${this}, got ${formatValue(x)}`;
      }
      return this.#explainElements(x, 0);
    }
    if (isRow(x) && (x instanceof Float32Array || x.length === 0 || !isRow(x[0]))) {
      // Flat, row-major.
      if (x.length !== n) {
        return `expected ${describeRows(this.shape, 0)} (or ${n} numbers) for ${this}, got ${
          formatValue(x)
        }`;
      }
      return this.#explainElements(x, 0);
    }
    if (!Array.isArray(x)) {
      return `expected ${describeRows(this.shape, 0)} (or ${n} numbers) for ${this}, got ${
        formatValue(x)
      }`;
    }
    return this.#explainNested(x, 0, 0, "");
  }
  #explainNested(x: unknown, dim: number, first: number, path: string): string | undefined {
    const last = dim === this.shape.length - 1, len = this.shape[dim]!;
    if (!isRow(x) || !(last || Array.isArray(x)) || x.length !== len) {
      return `expected ${describeRows(this.shape, 0)} for ${this}, got ${formatValue(x)}${
        path === "" ? "" : ` at ${path}`
      }`;
    }
    if (last) return this.#explainElements(x, first);
    const per = this.low.length / this.#prefix(dim + 1);
    for (let i = 0; i < len; i++) {
      const why = this.#explainNested(
        (x as unknown[])[i],
        dim + 1,
        first + i * per,
        `${path}[${i}]`,
      );
      if (why !== undefined) return why;
    }
    return undefined;
  }
  /** Elements per index of dimension `dim - 1` (the product of the dims before `dim`). */
  #prefix(dim: number): number {
    let p = 1;
    for (let d = 0; d < dim; d++) p *= this.shape[d]!;
    return p;
  }
  /** Checks `x.length` numbers against the bounds of elements `first, first + 1, ...`. */
  #explainElements(x: ArrayLike<unknown>, first: number): string | undefined {
    for (let i = 0; i < x.length; i++) {
      const v = x[i], k = first + i;
      // Compared as stored: a float32 (0.03 is a member of Box(-0.03, 0.03, [2])).
      const f = typeof v === "number" ? Math.fround(v) : NaN;
      if (Number.isNaN(f) || f < this.low[k]! || f > this.high[k]!) {
        return `expected element ${boxElementName(this.shape, k)} in [${f32String(this.low[k]!)}, ${
          f32String(this.high[k]!)
        }] for ${this}, got ${formatValue(v)}`;
      }
    }
    return undefined;
  }
  /**
   * Draws a sample (see {@linkcode Space.sample}): element by element in row-major order, uniform
   * where both bounds are finite, else a standard normal (folded into a half-bounded range).
   * @param rng the stream to draw from
   * @returns a member of the space (nested rows for rank ≥ 2)
   */
  sample(rng: Pcg32): BoxValue {
    const out = new Float32Array(this.low.length);
    for (let i = 0; i < out.length; i++) {
      const lo = this.low[i]!, hi = this.high[i]!;
      if (Number.isFinite(lo) && Number.isFinite(hi)) out[i] = lo + (hi - lo) * rng.nextFloat();
      else {
        // Box-Muller standard normal, shifted into a half-bounded range when needed.
        const u = 1 - rng.nextFloat(), v = rng.nextFloat();
        const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
        out[i] = Number.isFinite(lo)
          ? lo + Math.abs(z)
          : Number.isFinite(hi)
          ? hi - Math.abs(z)
          : z;
      }
    }
    return this.shape.length < 2 ? out : this.nest(out);
  }
  /**
   * Views the elements of a value, flat in row-major order, as the value's nested rows (no
   * copy: the rows are `subarray` views of `flat`). Rank ≤ 1: `flat` itself.
   * @param flat the value's elements, `flatSize` floats
   * @returns `flat` (rank ≤ 1) or nested rows of views into it
   */
  nest(flat: Float32Array): BoxValue {
    if (this.shape.length < 2) return flat;
    return nestRows(flat, this.shape, 0, 0);
  }
  /**
   * Writes the one-hot flat encoding of `x` into `out` at `offset` (the elements, row-major).
   * @param x a member of the space, flat or nested
   * @param out destination row
   * @param offset first index written
   */
  flatten(x: BoxValue, out: Float32Array, offset = 0): void {
    if (this.shape.length < 2 || x instanceof Float32Array || !isRow(x[0])) {
      const flat = x as ArrayLike<number>;
      for (let i = 0; i < this.low.length; i++) out[offset + i] = flat[i]!;
    } else writeRows(x as BoxValue[], this.shape.length - 1, out, offset);
  }
  /**
   * Reads a value back from its flat encoding.
   * @param row source row
   * @param offset first index read
   * @returns the decoded value: a `Float32Array` (rank ≤ 1) or nested rows
   */
  unflatten(row: ArrayLike<number>, offset = 0): BoxValue {
    const out = new Float32Array(this.low.length);
    for (let i = 0; i < out.length; i++) out[i] = row[offset + i]!;
    return this.shape.length < 2 ? out : this.nest(out);
  }
  /**
   * Writes the packed encoding of `x` into `out` at `offset`.
   * @param x a member of the space, flat or nested
   * @param out destination row
   * @param offset first index written
   */
  pack(x: BoxValue, out: Float32Array, offset = 0): void {
    this.flatten(x, out, offset);
  }
  /**
   * Reads a value back from its packed encoding.
   * @param row source row
   * @param offset first index read
   * @returns the decoded value: a `Float32Array` (rank ≤ 1) or nested rows
   */
  unpack(row: ArrayLike<number>, offset = 0): BoxValue {
    return this.unflatten(row, offset);
  }
  /**
   * A compact description such as `Discrete(4)` or `Box(0, 100, [2])`.
   * @returns the description
   */
  toString(): string {
    const same = (a: Float32Array) => a.every((v) => v === a[0]);
    const b = (a: Float32Array) =>
      same(a) ? f32String(a[0]!) : `[${Array.from(a, f32String).join(", ")}]`;
    return `Box(${b(this.low)}, ${b(this.high)}, [${this.shape.join(", ")}])`;
  }
}

/**
 * The shortest decimal that rounds to the float32 `x` (so a bound given as 0.03 prints as 0.03,
 * not 0.029999999329447746).
 * @param x a float32 value
 * @returns its shortest round-tripping decimal
 */
export function f32String(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  for (let p = 1; p < 10; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return String(y);
  }
  return String(x);
}

/** Nested row views of `flat` for `shape` from dimension `dim`, starting at element `off`. */
function nestRows(
  flat: Float32Array,
  shape: readonly number[],
  dim: number,
  off: number,
): BoxValue {
  const len = shape[dim]!;
  const out: BoxValue[] = new Array(len);
  if (dim === shape.length - 2) {
    const w = shape[dim + 1]!;
    for (let i = 0; i < len; i++) out[i] = flat.subarray(off + i * w, off + (i + 1) * w);
    return out;
  }
  let per = 1;
  for (let d = dim + 1; d < shape.length; d++) per *= shape[d]!;
  for (let i = 0; i < len; i++) out[i] = nestRows(flat, shape, dim + 1, off + i * per);
  return out;
}

/** Copies nested rows (`depth` levels above the rows of numbers) into `out`; returns the end. */
function writeRows(x: BoxValue[], depth: number, out: Float32Array, offset: number): number {
  let o = offset;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (depth === 1) {
      const r = v as ArrayLike<number>;
      for (let j = 0; j < r.length; j++) out[o + j] = r[j]!;
      o += r.length;
    } else o = writeRows(v as BoxValue[], depth - 1, out, o);
  }
  return o;
}

/**
 * Several discrete values, element `i` in `[0, nvec[i])`; values are `number[]`.
 *
 * @example
 * ```ts
 * import { MultiDiscrete } from "./spaces.ts";
 * const m = new MultiDiscrete([3, 2]);
 * if (m.flatSize !== 5 || m.packedSize !== 2) throw new Error("sizes");
 * ```
 */
export class MultiDiscrete implements Space<number[]> {
  /** The space's kind, for switches and messages. */
  readonly kind = "multi_discrete" as const;
  /** Number of values of each element. */
  readonly nvec: readonly number[];
  /**
   * Creates `MultiDiscrete(nvec)`.
   * @param nvec number of values of each element, positive integers
   */
  constructor(nvec: number[]) {
    if (nvec.length === 0 || !nvec.every((n) => Number.isInteger(n) && n > 0)) {
      throw new RangeError(
        `MultiDiscrete nvec must be positive integers, got ${formatValue(nvec)}`,
      );
    }
    this.nvec = [...nvec];
  }
  /** Length of the one-hot flat encoding (model input). */
  get flatSize(): number {
    return this.nvec.reduce((a, b) => a + b, 0);
  }
  /** Length of the packed encoding (action buffers). */
  get packedSize(): number {
    return this.nvec.length;
  }
  /**
   * Tests membership.
   * @param x any value
   * @returns whether `x` is a member of the space
   */
  contains(x: unknown): x is number[] {
    return this.explain(x) === undefined;
  }
  /**
   * Explains why `x` is not a member, or returns `undefined` when it is.
   * @param x any value
   * @returns a sentence naming the value and what was expected, or undefined
   */
  explain(x: unknown): string | undefined {
    if (!Array.isArray(x) || x.length !== this.nvec.length) {
      return `expected ${this.nvec.length} integers for ${this}, got ${formatValue(x)}`;
    }
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= this.nvec[i]!) {
        return `expected element ${i} in [0, ${this.nvec[i]! - 1}] for ${this}, got ${
          formatValue(v)
        }`;
      }
    }
    return undefined;
  }
  /**
   * Draws a sample (see {@linkcode Space.sample}).
   * @param rng the stream to draw from
   * @returns a member of the space
   */
  sample(rng: Pcg32): number[] {
    return this.nvec.map((n) => rng.nextInt(n));
  }
  /**
   * Writes the one-hot flat encoding of `x` into `out` at `offset`.
   * @param x a member of the space
   * @param out destination row
   * @param offset first index written
   */
  flatten(x: number[], out: Float32Array, offset = 0): void {
    let o = offset;
    for (let i = 0; i < this.nvec.length; i++) {
      out.fill(0, o, o + this.nvec[i]!);
      out[o + x[i]!] = 1;
      o += this.nvec[i]!;
    }
  }
  /**
   * Reads a value back from its flat encoding.
   * @param row source row
   * @param offset first index read
   * @returns the decoded value
   */
  unflatten(row: ArrayLike<number>, offset = 0): number[] {
    const out: number[] = [];
    let o = offset;
    for (const n of this.nvec) {
      let best = 0;
      for (let j = 1; j < n; j++) if (row[o + j]! > row[o + best]!) best = j;
      out.push(best);
      o += n;
    }
    return out;
  }
  /**
   * Writes the packed encoding of `x` into `out` at `offset`.
   * @param x a member of the space
   * @param out destination row
   * @param offset first index written
   */
  pack(x: number[], out: Float32Array, offset = 0): void {
    for (let i = 0; i < this.nvec.length; i++) out[offset + i] = x[i]!;
  }
  /**
   * Reads a value back from its packed encoding.
   * @param row source row
   * @param offset first index read
   * @returns the decoded value
   */
  unpack(row: ArrayLike<number>, offset = 0): number[] {
    return this.nvec.map((_, i) => row[offset + i]!);
  }
  /**
   * A compact description such as `Discrete(4)` or `Box(0, 100, [2])`.
   * @returns the description
   */
  toString(): string {
    return `MultiDiscrete([${this.nvec.join(", ")}])`;
  }
}

/**
 * A fixed-length sequence of spaces; values are arrays, one element per component.
 *
 * @example
 * ```ts
 * import { Box, Discrete, Tuple } from "./spaces.ts";
 * const t = new Tuple([new Box(0, 100, [2]), new Discrete(4)]);
 * const row = new Float32Array(t.flatSize);
 * t.flatten([[1, 1], 3], row);
 * // row = [1, 1, 0, 0, 0, 1]
 * ```
 */
export class Tuple implements Space<SpaceValue[]> {
  /** The space's kind, for switches and messages. */
  readonly kind = "tuple" as const;
  /** Component spaces, in order. */
  readonly spaces: readonly Space[];
  /**
   * Creates the tuple of `spaces`.
   * @param spaces the component spaces, at least one
   */
  constructor(spaces: Space[]) {
    if (spaces.length === 0) throw new RangeError("Tuple needs at least one component space");
    this.spaces = [...spaces];
  }
  /** Length of the one-hot flat encoding (model input). */
  get flatSize(): number {
    return this.spaces.reduce((a, s) => a + s.flatSize, 0);
  }
  /** Length of the packed encoding (action buffers). */
  get packedSize(): number {
    return this.spaces.reduce((a, s) => a + s.packedSize, 0);
  }
  /**
   * Tests membership.
   * @param x any value
   * @returns whether `x` is a member of the space
   */
  contains(x: unknown): x is SpaceValue[] {
    return this.explain(x) === undefined;
  }
  /**
   * Explains why `x` is not a member, or returns `undefined` when it is.
   * @param x any value
   * @returns a sentence naming the value and what was expected, or undefined
   */
  explain(x: unknown): string | undefined {
    if (!Array.isArray(x) || x.length !== this.spaces.length) {
      return `expected an array of ${this.spaces.length} for ${this}, got ${formatValue(x)}`;
    }
    for (let i = 0; i < x.length; i++) {
      const why = this.spaces[i]!.explain(x[i]);
      if (why !== undefined) return `component ${i}: ${why}`;
    }
    return undefined;
  }
  /**
   * Draws a sample (see {@linkcode Space.sample}).
   * @param rng the stream to draw from
   * @returns a member of the space
   */
  sample(rng: Pcg32): SpaceValue[] {
    return this.spaces.map((s) => s.sample(rng));
  }
  /**
   * Writes the one-hot flat encoding of `x` into `out` at `offset`.
   * @param x a member of the space
   * @param out destination row
   * @param offset first index written
   */
  flatten(x: SpaceValue[], out: Float32Array, offset = 0): void {
    let o = offset;
    for (let i = 0; i < this.spaces.length; i++) {
      this.spaces[i]!.flatten(x[i]!, out, o);
      o += this.spaces[i]!.flatSize;
    }
  }
  /**
   * Reads a value back from its flat encoding.
   * @param row source row
   * @param offset first index read
   * @returns the decoded value
   */
  unflatten(row: ArrayLike<number>, offset = 0): SpaceValue[] {
    let o = offset;
    return this.spaces.map((s) => {
      const v = s.unflatten(row, o);
      o += s.flatSize;
      return v;
    });
  }
  /**
   * Writes the packed encoding of `x` into `out` at `offset`.
   * @param x a member of the space
   * @param out destination row
   * @param offset first index written
   */
  pack(x: SpaceValue[], out: Float32Array, offset = 0): void {
    let o = offset;
    for (let i = 0; i < this.spaces.length; i++) {
      this.spaces[i]!.pack(x[i]!, out, o);
      o += this.spaces[i]!.packedSize;
    }
  }
  /**
   * Reads a value back from its packed encoding.
   * @param row source row
   * @param offset first index read
   * @returns the decoded value
   */
  unpack(row: ArrayLike<number>, offset = 0): SpaceValue[] {
    let o = offset;
    return this.spaces.map((s) => {
      const v = s.unpack(row, o);
      o += s.packedSize;
      return v;
    });
  }
  /**
   * A compact description such as `Discrete(4)` or `Box(0, 100, [2])`.
   * @returns the description
   */
  toString(): string {
    return `Tuple(${this.spaces.join(", ")})`;
  }
}

/**
 * Named component spaces; values are plain objects. Keys are kept in sorted order (as
 * Gymnasium does), so flat encodings do not depend on insertion order.
 *
 * @example
 * ```ts
 * import { Box, Dict, Discrete } from "./spaces.ts";
 * const d = new Dict({ position: new Box(0, 1, [2]), chicken: new Discrete(3) });
 * if (d.flatSize !== 5) throw new Error("size");
 * ```
 */
export class Dict implements Space<{ [key: string]: SpaceValue }> {
  /** The space's kind, for switches and messages. */
  readonly kind = "dict" as const;
  /** Component spaces by key. */
  readonly spaces: Readonly<Record<string, Space>>;
  /** Keys in encoding (sorted) order. */
  readonly keys: readonly string[];
  /**
   * Creates the dict of `spaces` (keys are sorted for the encodings).
   * @param spaces component spaces by key, at least one
   */
  constructor(spaces: Record<string, Space>) {
    const keys = Object.keys(spaces).sort();
    if (keys.length === 0) throw new RangeError("Dict needs at least one component space");
    this.keys = keys;
    this.spaces = { ...spaces };
  }
  /** Length of the one-hot flat encoding (model input). */
  get flatSize(): number {
    return this.keys.reduce((a, k) => a + this.spaces[k]!.flatSize, 0);
  }
  /** Length of the packed encoding (action buffers). */
  get packedSize(): number {
    return this.keys.reduce((a, k) => a + this.spaces[k]!.packedSize, 0);
  }
  /**
   * Tests membership.
   * @param x any value
   * @returns whether `x` is a member of the space
   */
  contains(x: unknown): x is { [key: string]: SpaceValue } {
    return this.explain(x) === undefined;
  }
  /**
   * Explains why `x` is not a member, or returns `undefined` when it is.
   * @param x any value
   * @returns a sentence naming the value and what was expected, or undefined
   */
  explain(x: unknown): string | undefined {
    if (typeof x !== "object" || x === null || Array.isArray(x) || ArrayBuffer.isView(x)) {
      return `expected an object with keys ${formatValue(this.keys)} for ${this}, got ${
        formatValue(x)
      }`;
    }
    const rec = x as Record<string, unknown>;
    for (const k of Object.keys(rec)) {
      if (!(k in this.spaces)) return `unexpected key "${k}" for ${this}`;
    }
    for (const k of this.keys) {
      if (!(k in rec)) return `missing key "${k}" for ${this}`;
      const why = this.spaces[k]!.explain(rec[k]);
      if (why !== undefined) return `key "${k}": ${why}`;
    }
    return undefined;
  }
  /**
   * Draws a sample (see {@linkcode Space.sample}).
   * @param rng the stream to draw from
   * @returns a member of the space
   */
  sample(rng: Pcg32): { [key: string]: SpaceValue } {
    const out: { [key: string]: SpaceValue } = {};
    for (const k of this.keys) out[k] = this.spaces[k]!.sample(rng);
    return out;
  }
  /**
   * Writes the one-hot flat encoding of `x` into `out` at `offset`.
   * @param x a member of the space
   * @param out destination row
   * @param offset first index written
   */
  flatten(x: { [key: string]: SpaceValue }, out: Float32Array, offset = 0): void {
    let o = offset;
    for (const k of this.keys) {
      const s = this.spaces[k]!;
      s.flatten(x[k]!, out, o);
      o += s.flatSize;
    }
  }
  /**
   * Reads a value back from its flat encoding.
   * @param row source row
   * @param offset first index read
   * @returns the decoded value
   */
  unflatten(row: ArrayLike<number>, offset = 0): { [key: string]: SpaceValue } {
    const out: { [key: string]: SpaceValue } = {};
    let o = offset;
    for (const k of this.keys) {
      const s = this.spaces[k]!;
      out[k] = s.unflatten(row, o);
      o += s.flatSize;
    }
    return out;
  }
  /**
   * Writes the packed encoding of `x` into `out` at `offset`.
   * @param x a member of the space
   * @param out destination row
   * @param offset first index written
   */
  pack(x: { [key: string]: SpaceValue }, out: Float32Array, offset = 0): void {
    let o = offset;
    for (const k of this.keys) {
      const s = this.spaces[k]!;
      s.pack(x[k]!, out, o);
      o += s.packedSize;
    }
  }
  /**
   * Reads a value back from its packed encoding.
   * @param row source row
   * @param offset first index read
   * @returns the decoded value
   */
  unpack(row: ArrayLike<number>, offset = 0): { [key: string]: SpaceValue } {
    const out: { [key: string]: SpaceValue } = {};
    let o = offset;
    for (const k of this.keys) {
      const s = this.spaces[k]!;
      out[k] = s.unpack(row, o);
      o += s.packedSize;
    }
    return out;
  }
  /**
   * A compact description such as `Discrete(4)` or `Box(0, 100, [2])`.
   * @returns the description
   */
  toString(): string {
    return `Dict(${this.keys.map((k) => `${k}: ${this.spaces[k]}`).join(", ")})`;
  }
}

/**
 * Structural equality of two spaces (same kind, sizes, bounds and components).
 * @param a a space
 * @param b another space
 * @returns whether the two describe the same set in the same encoding
 */
export function spacesEqual(a: Space, b: Space): boolean {
  return a.toString() === b.toString();
}
