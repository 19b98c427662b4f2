/**
 * Allocation-free helpers over space-encoded rows of typed arrays, shared by the dict face, the
 * dict adapter, the hierarchy helper and `checkEnv`.
 *
 * @module
 */

import {
  type Box,
  boxElementName,
  type Dict,
  type Discrete,
  f32String,
  type MultiDiscrete,
  type Space,
  type SpaceValue,
  type Tuple,
} from "../spaces.ts";

/**
 * Tests whether a packed row (the action-buffer encoding) holds a member of `space`, without
 * allocating.
 * @param space the space
 * @param row the buffer
 * @param offset first index of the encoding
 * @returns true when the encoded value is a member
 */
export function packedValid(space: Space, row: ArrayLike<number>, offset: number): boolean {
  switch (space.kind) {
    case "discrete": {
      const d = space as Discrete;
      const v = row[offset]!;
      return Number.isInteger(v) && v >= d.start && v < d.start + d.n;
    }
    case "box": {
      const b = space as Box;
      const n = b.low.length;
      for (let i = 0; i < n; i++) {
        const v = row[offset + i]!;
        if (!(v >= b.low[i]! && v <= b.high[i]!)) return false;
      }
      return true;
    }
    case "multi_discrete": {
      const m = space as MultiDiscrete;
      for (let i = 0; i < m.nvec.length; i++) {
        const v = row[offset + i]!;
        if (!(Number.isInteger(v) && v >= 0 && v < m.nvec[i]!)) return false;
      }
      return true;
    }
    case "tuple": {
      const t = space as Tuple;
      let o = offset;
      for (let i = 0; i < t.spaces.length; i++) {
        const s = t.spaces[i]!;
        if (!packedValid(s, row, o)) return false;
        o += s.packedSize;
      }
      return true;
    }
    case "dict": {
      const d = space as Dict;
      let o = offset;
      for (let i = 0; i < d.keys.length; i++) {
        const s = d.spaces[d.keys[i]!]!;
        if (!packedValid(s, row, o)) return false;
        o += s.packedSize;
      }
      return true;
    }
  }
}

/**
 * Explains why a packed row is not a member of `space` (allocates; for error paths).
 * @param space the space
 * @param row the buffer
 * @param offset first index of the encoding
 * @returns the explanation, or undefined when the row is valid
 */
export function explainPacked(
  space: Space,
  row: ArrayLike<number>,
  offset: number,
): string | undefined {
  if (packedValid(space, row, offset)) return undefined;
  const v = space.unpack(row, offset);
  return space.explain(v) ??
    `expected a member of ${space}, got a packed row ${
      JSON.stringify(Array.from({ length: space.packedSize }, (_, i) => row[offset + i]))
    }`;
}

/**
 * Writes the flat (one-hot) encoding of a packed value, without allocating.
 * @param space the space
 * @param src packed row
 * @param srcOffset first index read
 * @param dst flat row
 * @param dstOffset first index written
 */
export function packedToFlat(
  space: Space,
  src: ArrayLike<number>,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
): void {
  switch (space.kind) {
    case "discrete": {
      const d = space as Discrete;
      dst.fill(0, dstOffset, dstOffset + d.n);
      dst[dstOffset + src[srcOffset]! - d.start] = 1;
      return;
    }
    case "box": {
      const n = space.flatSize;
      for (let i = 0; i < n; i++) dst[dstOffset + i] = src[srcOffset + i]!;
      return;
    }
    case "multi_discrete": {
      const m = space as MultiDiscrete;
      let o = dstOffset;
      for (let i = 0; i < m.nvec.length; i++) {
        dst.fill(0, o, o + m.nvec[i]!);
        dst[o + src[srcOffset + i]!] = 1;
        o += m.nvec[i]!;
      }
      return;
    }
    case "tuple": {
      const t = space as Tuple;
      let si = srcOffset, di = dstOffset;
      for (let i = 0; i < t.spaces.length; i++) {
        const s = t.spaces[i]!;
        packedToFlat(s, src, si, dst, di);
        si += s.packedSize;
        di += s.flatSize;
      }
      return;
    }
    case "dict": {
      const d = space as Dict;
      let si = srcOffset, di = dstOffset;
      for (let i = 0; i < d.keys.length; i++) {
        const s = d.spaces[d.keys[i]!]!;
        packedToFlat(s, src, si, dst, di);
        si += s.packedSize;
        di += s.flatSize;
      }
      return;
    }
  }
}

/**
 * Explains why a flat row is not a valid flat encoding of a member of `space` (Discrete blocks
 * must be exact one-hots, Box elements within bounds), or returns undefined when it is.
 * @param space the space
 * @param row the buffer
 * @param offset first index of the encoding
 * @returns the explanation, or undefined
 */
export function explainFlat(
  space: Space,
  row: ArrayLike<number>,
  offset: number,
): string | undefined {
  switch (space.kind) {
    case "discrete":
      return explainOneHot((space as Discrete).n, row, offset, String(space));
    case "box": {
      const b = space as Box;
      for (let i = 0; i < b.low.length; i++) {
        const v = row[offset + i]!;
        if (!(v >= b.low[i]! && v <= b.high[i]!)) {
          return `expected element ${boxElementName(b.shape, i)} in [${f32String(b.low[i]!)}, ${
            f32String(b.high[i]!)
          }] for ${b}, got ${v}`;
        }
      }
      return undefined;
    }
    case "multi_discrete": {
      const m = space as MultiDiscrete;
      let o = offset;
      for (let i = 0; i < m.nvec.length; i++) {
        const why = explainOneHot(m.nvec[i]!, row, o, `element ${i} of ${m}`);
        if (why !== undefined) return why;
        o += m.nvec[i]!;
      }
      return undefined;
    }
    case "tuple": {
      const t = space as Tuple;
      let o = offset;
      for (let i = 0; i < t.spaces.length; i++) {
        const why = explainFlat(t.spaces[i]!, row, o);
        if (why !== undefined) return `component ${i}: ${why}`;
        o += t.spaces[i]!.flatSize;
      }
      return undefined;
    }
    case "dict": {
      const d = space as Dict;
      let o = offset;
      for (const k of d.keys) {
        const why = explainFlat(d.spaces[k]!, row, o);
        if (why !== undefined) return `key "${k}": ${why}`;
        o += d.spaces[k]!.flatSize;
      }
      return undefined;
    }
  }
}

function explainOneHot(
  n: number,
  row: ArrayLike<number>,
  offset: number,
  what: string,
): string | undefined {
  let ones = 0;
  for (let i = 0; i < n; i++) {
    const v = row[offset + i]!;
    if (v === 1) ones++;
    else if (v !== 0) ones = -1e9;
  }
  if (ones === 1) return undefined;
  return `expected a one-hot block for ${what}, got [${
    Array.from({ length: n }, (_, i) => row[offset + i]).join(", ")
  }]`;
}

// A bump allocator for small Float32Arrays: in Deno a new Float32Array with its own buffer costs
// about 10x a view onto an existing buffer, and the dict face makes one per Box observation.
const CHUNK_BYTES = 1 << 16;
let chunk = new ArrayBuffer(CHUNK_BYTES);
let chunkUsed = 0;

function newFloats(n: number): Float32Array {
  const bytes = n * 4;
  if (bytes > CHUNK_BYTES / 8) return new Float32Array(n);
  if (chunkUsed + bytes > CHUNK_BYTES) {
    chunk = new ArrayBuffer(CHUNK_BYTES);
    chunkUsed = 0;
  }
  const out = new Float32Array(chunk, chunkUsed, n);
  chunkUsed += bytes;
  return out;
}

/**
 * Decodes a flat row into a value, like `space.unflatten` (equal result) but with fewer and
 * cheaper allocations: the dict face's hot path. Small Box values are `Float32Array`s of their
 * own range of a shared 64 KiB buffer (so their `.buffer` is not private to them); a Box of rank
 * ≥ 2 is nested rows, views of such a range.
 * @param space the space
 * @param row the buffer
 * @param offset first index of the encoding
 * @returns the decoded value
 */
export function decodeFlat(space: Space, row: Float32Array, offset: number): SpaceValue {
  switch (space.kind) {
    case "discrete": {
      const d = space as Discrete;
      let best = 0;
      for (let i = 1; i < d.n; i++) if (row[offset + i]! > row[offset + best]!) best = i;
      return d.start + best;
    }
    case "box": {
      const n = space.flatSize;
      const out = newFloats(n);
      for (let i = 0; i < n; i++) out[i] = row[offset + i]!;
      const b = space as Box;
      return b.shape.length < 2 ? out : b.nest(out);
    }
    case "tuple": {
      const t = space as Tuple;
      const out: SpaceValue[] = new Array(t.spaces.length);
      let o = offset;
      for (let i = 0; i < t.spaces.length; i++) {
        const s = t.spaces[i]!;
        out[i] = decodeFlat(s, row, o);
        o += s.flatSize;
      }
      return out;
    }
    case "dict": {
      const d = space as Dict;
      const out: { [key: string]: SpaceValue } = {};
      let o = offset;
      for (let i = 0; i < d.keys.length; i++) {
        const k = d.keys[i]!, s = d.spaces[k]!;
        out[k] = decodeFlat(s, row, o);
        o += s.flatSize;
      }
      return out;
    }
    default:
      return space.unflatten(row, offset);
  }
}
