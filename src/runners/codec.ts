/**
 * A binary codec for the runner messages over HTTP: plain data with typed arrays inside (a
 * fragment's batches, weights, a runner's state) becomes one `Uint8Array`, and back.
 *
 * Layout: the 4 bytes `CRM1`, the header's length (u32, little-endian), the header (UTF-8
 * JSON), zero padding to a multiple of 8, then each typed array's bytes, each starting at a
 * multiple of 8 (so decoding makes views, not copies, when the input starts at an aligned
 * offset). The header is `{ v, a, s }`: `v` the value with every typed array and special number
 * replaced by `null`, `a` the typed arrays (`[path, type, byteOffset, length]`), `s` the special
 * values by path (`NaN`, `Infinity`, `-Infinity`, `-0`, and `undefined` inside arrays). Paths
 * are lists of keys, so no key of the data can be mistaken for a marker.
 *
 * What it carries: `null`, booleans, numbers, strings, arrays, plain objects (an `undefined`
 * property is left out, as JSON does) and the numeric typed arrays (each with its own bytes;
 * several views of one buffer become separate copies). Anything else (functions, class
 * instances, `Map`, `Date`, bigints outside typed arrays, cycles) is refused with its path.
 *
 * @module
 */

const MAGIC = [0x43, 0x52, 0x4d, 0x31]; // "CRM1"

type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

type TypedArrayCtor = { new (b: ArrayBuffer, o: number, n: number): TypedArray } & {
  BYTES_PER_ELEMENT: number;
};

const TYPES: Record<string, TypedArrayCtor> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as unknown as Record<string, TypedArrayCtor>;

type Key = string | number;
type Special = "NaN" | "Infinity" | "-Infinity" | "-0" | "undefined";

interface Header {
  v: unknown;
  a: [Key[], string, number, number][];
  s: [Key[], Special][];
}

function typeName(x: ArrayBufferView): string | undefined {
  const name = Object.getPrototypeOf(x)?.constructor?.name as string | undefined;
  return name !== undefined && name in TYPES ? name : undefined;
}

function where(path: Key[]): string {
  return path.length === 0 ? "the value" : path.map((k) => `[${JSON.stringify(k)}]`).join("");
}

function special(n: number): Special | undefined {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  if (Object.is(n, -0)) return "-0";
  return undefined;
}

/**
 * Encodes a value (see the module doc for what it carries).
 * @param value the value
 * @returns its bytes
 * @throws {TypeError} naming the path of the first value it cannot carry
 */
export function encodeMessage(value: unknown): Uint8Array<ArrayBuffer> {
  const arrays: { path: Key[]; x: ArrayBufferView; type: string }[] = [];
  const specials: [Key[], Special][] = [];
  const seen = new Set<object>();
  const walk = (x: unknown, path: Key[], inArray: boolean): unknown => {
    if (x === null || typeof x === "string" || typeof x === "boolean") return x;
    if (typeof x === "number") {
      const s = special(x);
      if (s === undefined) return x;
      specials.push([path, s]);
      return null;
    }
    if (x === undefined) {
      if (inArray) specials.push([path, "undefined"]);
      return undefined;
    }
    if (typeof x !== "object") {
      throw new TypeError(
        `encodeMessage: ${where(path)} is a ${typeof x}, which cannot be sent to a runner`,
      );
    }
    if (ArrayBuffer.isView(x)) {
      const type = typeName(x);
      if (type === undefined) {
        throw new TypeError(
          `encodeMessage: ${where(path)} is a ${
            x.constructor?.name ?? "view"
          }; only numeric typed arrays can be sent`,
        );
      }
      arrays.push({ path, x, type });
      return null;
    }
    if (seen.has(x)) {
      throw new TypeError(`encodeMessage: ${where(path)} refers back to itself (a cycle)`);
    }
    seen.add(x);
    let out: unknown;
    if (Array.isArray(x)) {
      out = x.map((e, i) => walk(e, [...path, i], true));
    } else {
      const proto = Object.getPrototypeOf(x);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(
          `encodeMessage: ${where(path)} is a ${
            proto?.constructor?.name ?? "non-plain object"
          }; only plain objects, arrays and typed arrays can be sent to a runner`,
        );
      }
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(x)) {
        const w = walk(v, [...path, k], false);
        if (w !== undefined) o[k] = w;
      }
      out = o;
    }
    seen.delete(x);
    return out;
  };
  const v = walk(value, [], false);
  const header: Header = { v: v === undefined ? null : v, a: [], s: specials };
  if (v === undefined) specials.push([[], "undefined"]);
  let offset = 0;
  for (const { path, x, type } of arrays) {
    header.a.push([path, type, offset, x.byteLength / TYPES[type]!.BYTES_PER_ELEMENT]);
    offset += Math.ceil(x.byteLength / 8) * 8;
  }
  const head = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((8 + head.length) / 8) * 8;
  const out = new Uint8Array(start + offset);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, head.length, true);
  out.set(head, 8);
  header.a.forEach(([, , at], i) => {
    const x = arrays[i]!.x;
    out.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), start + at);
  });
  return out;
}

/**
 * Decodes bytes from {@linkcode encodeMessage}. Typed arrays are views of the input's buffer
 * when it starts at a multiple of 8, else of a copy.
 * @param bytes the bytes
 * @returns the value
 * @throws {RangeError} when the bytes are not an encoded message (e.g. an HTML error page)
 */
export function decodeMessage(bytes: Uint8Array | ArrayBuffer): unknown {
  let u = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (u.length < 8 || MAGIC.some((b, i) => u[i] !== b)) {
    const text = new TextDecoder().decode(u.subarray(0, 120));
    throw new RangeError(
      `decodeMessage: not a runner message (expected the bytes "CRM1" first), got ${u.length} bytes starting ${
        JSON.stringify(text)
      }`,
    );
  }
  if (u.byteOffset % 8 !== 0 || !(u.buffer instanceof ArrayBuffer)) u = u.slice();
  const n = new DataView(u.buffer, u.byteOffset, u.byteLength).getUint32(4, true);
  if (8 + n > u.length) {
    throw new RangeError(`decodeMessage: header of ${n} bytes in a message of ${u.length} bytes`);
  }
  const header = JSON.parse(new TextDecoder().decode(u.subarray(8, 8 + n))) as Header;
  const start = Math.ceil((8 + n) / 8) * 8;
  const root = { v: header.v };
  const set = (path: Key[], x: unknown) => {
    let o = root as Record<Key, unknown>, k: Key = "v";
    for (const p of path) {
      o = o[k] as Record<Key, unknown>;
      k = p;
    }
    o[k] = x;
  };
  for (const [path, type, at, length] of header.a) {
    const C = TYPES[type];
    if (C === undefined) throw new RangeError(`decodeMessage: unknown typed array type ${type}`);
    const end = start + at + length * C.BYTES_PER_ELEMENT;
    if (end > u.length) {
      throw new RangeError(
        `decodeMessage: ${type} at ${where(path)} ends at byte ${end} of ${u.length}`,
      );
    }
    set(path, new C(u.buffer as ArrayBuffer, u.byteOffset + start + at, length));
  }
  for (const [path, s] of header.s) {
    set(path, s === "undefined" ? undefined : s === "-0" ? -0 : Number(s));
  }
  return root.v;
}
