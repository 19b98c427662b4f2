/**
 * The checkpoint file format, and the helpers around it: space descriptions that survive JSON,
 * checkpoint names, finding the latest checkpoint of a directory.
 *
 * A checkpoint is one file:
 *
 * | bytes                    | content                                                       |
 * | ------------------------ | ------------------------------------------------------------- |
 * | 0–7                      | magic `COOPCKPT`                                              |
 * | 8–11                     | format version, u32 little-endian ({@linkcode CHECKPOINT_VERSION}) |
 * | 12–15                    | byte length `H` of the JSON header, u32 LE                    |
 * | 16–23                    | byte length `B` of the blob section, u64 LE                   |
 * | 24 … 24+H                | the header: UTF-8 JSON                                        |
 * | padding to 8             | zeros                                                         |
 * | B bytes                  | blobs: the typed arrays of the content, each 8-byte aligned   |
 * | last 4                   | CRC-32 (IEEE) of every byte before it, u32 LE                 |
 *
 * The header is the content with every typed array replaced by `{"$blob": i}` (the blob table
 * in the header's `blobs` gives its type, offset and length) and every non-finite number by
 * `{"$num": "NaN" | "Infinity" | "-Infinity"}`. {@linkcode decodeCheckpoint} refuses a file that
 * is not a checkpoint, was written by another format version, is shorter or longer than its
 * header says (truncated) or whose checksum does not match (corrupted), each with a message that
 * says which.
 *
 * @module
 */

import { Box, Dict, Discrete, MultiDiscrete, type Space, spacesEqual, Tuple } from "../spaces.ts";
import { type CheckpointStorage, joinPath } from "./storage.ts";

/** The first 8 bytes of every checkpoint. */
export const CHECKPOINT_MAGIC = "COOPCKPT";
/** The format version this build writes and reads. */
export const CHECKPOINT_VERSION = 1;

const PREFIX = 24;

type TypedArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint32Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array;

const CTORS: Record<string, new (n: number) => TypedArray> = {
  Float32Array,
  Float64Array,
  Int32Array,
  Uint32Array,
  Uint8Array,
  Int8Array,
  Int16Array,
  Uint16Array,
};

interface BlobEntry {
  type: string;
  offset: number;
  length: number;
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/**
 * CRC-32 (IEEE 802.3, as zip and PNG use) of some bytes.
 *
 * @example
 * ```ts
 * import { crc32 } from "./checkpoint.ts";
 * if (crc32(new TextEncoder().encode("123456789")) !== 0xcbf43926) throw new Error("crc");
 * ```
 *
 * @param bytes the bytes
 * @returns the checksum, an unsigned 32-bit integer
 */
export function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function littleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

/**
 * Encodes a content (JSON values, typed arrays anywhere in it, non-finite numbers allowed) as
 * one checkpoint file (see the module doc).
 *
 * @example Round trip
 * ```ts
 * import { decodeCheckpoint, encodeCheckpoint } from "./checkpoint.ts";
 * const bytes = encodeCheckpoint({ step: 3, w: new Float32Array([1, 2]), best: -Infinity });
 * const back = decodeCheckpoint(bytes, "test") as { w: Float32Array; best: number };
 * if (back.w[1] !== 2 || back.best !== -Infinity) throw new Error("round trip");
 * ```
 *
 * @param content the content
 * @returns the file's bytes
 */
export function encodeCheckpoint(content: unknown): Uint8Array {
  if (!littleEndian()) throw new Error("Checkpoints are written on little-endian platforms only");
  const arrays: TypedArray[] = [];
  const blobs: BlobEntry[] = [];
  let blobBytes = 0;
  const body = JSON.stringify(content, (_k, v) => {
    if (ArrayBuffer.isView(v)) {
      const a = v as TypedArray;
      const type = a.constructor.name;
      if (!(type in CTORS)) throw new TypeError(`Cannot store a ${type} in a checkpoint`);
      blobs.push({ type, offset: blobBytes, length: a.length });
      arrays.push(a);
      blobBytes += Math.ceil(a.byteLength / 8) * 8;
      return { $blob: blobs.length - 1 };
    }
    if (typeof v === "number" && !Number.isFinite(v)) return { $num: String(v) };
    return v;
  }) ?? "null";
  const json = `{"blobs":${JSON.stringify(blobs)},"content":${body}}`;
  const header = new TextEncoder().encode(json);
  const headerEnd = PREFIX + header.length;
  const blobStart = Math.ceil(headerEnd / 8) * 8;
  const total = blobStart + blobBytes + 4;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  dv.setUint32(8, CHECKPOINT_VERSION, true);
  dv.setUint32(12, header.length, true);
  dv.setUint32(16, blobBytes % 4294967296, true);
  dv.setUint32(20, Math.floor(blobBytes / 4294967296), true);
  out.set(header, PREFIX);
  arrays.forEach((a, i) => {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), blobStart + blobs[i]!.offset);
  });
  dv.setUint32(total - 4, crc32(out.subarray(0, total - 4)), true);
  return out;
}

/**
 * Decodes a checkpoint file written by {@linkcode encodeCheckpoint}, after checking it.
 * @param bytes the file's bytes
 * @param source where they come from, for messages (e.g. the path)
 * @returns the content, typed arrays restored (copies, not views of `bytes`)
 * @throws {RangeError} naming `source` and the problem: not a checkpoint, another format
 *   version, truncated or extended, checksum mismatch, unreadable header
 */
export function decodeCheckpoint(bytes: Uint8Array, source: string): unknown {
  const bad = (why: string): never => {
    throw new RangeError(`Checkpoint ${source} ${why}; nothing was restored`);
  };
  if (bytes.length < PREFIX + 4) {
    bad(`is ${bytes.length} bytes long, too short to be a coop checkpoint (truncated?)`);
  }
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== CHECKPOINT_MAGIC) {
    bad(
      `is not a coop checkpoint: it starts with ${
        JSON.stringify(magic)
      }, expected "${CHECKPOINT_MAGIC}"`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) {
    bad(
      `has format version ${version}, this build reads version ${CHECKPOINT_VERSION}`,
    );
  }
  const headerLen = dv.getUint32(12, true);
  const blobBytes = dv.getUint32(16, true) + dv.getUint32(20, true) * 4294967296;
  const blobStart = Math.ceil((PREFIX + headerLen) / 8) * 8;
  const expected = blobStart + blobBytes + 4;
  if (bytes.length !== expected) {
    bad(
      `is ${bytes.length} bytes long but its header says ${expected} (${
        bytes.length < expected ? "truncated" : "extra bytes at the end"
      })`,
    );
  }
  const stored = dv.getUint32(expected - 4, true);
  const actual = crc32(bytes.subarray(0, expected - 4));
  if (stored !== actual) {
    bad(
      `is corrupted: its CRC-32 is ${actual.toString(16)}, the file says ${stored.toString(16)}`,
    );
  }
  let parsed: { blobs: BlobEntry[]; content: unknown };
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(PREFIX, PREFIX + headerLen)));
  } catch (e) {
    return bad(`has an unreadable header (${(e as Error).message})`);
  }
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(revive);
    if (typeof v !== "object" || v === null) return v;
    const o = v as Record<string, unknown>;
    if (typeof o.$blob === "number" && Object.keys(o).length === 1) {
      const b = parsed.blobs[o.$blob];
      const Ctor = b === undefined ? undefined : CTORS[b.type];
      if (b === undefined || Ctor === undefined) return bad(`refers to a missing blob ${o.$blob}`);
      const a = new Ctor(b.length);
      const n = a.byteLength;
      if (b.offset + n > blobBytes) return bad(`has a blob beyond its blob section`);
      new Uint8Array(a.buffer).set(bytes.subarray(blobStart + b.offset, blobStart + b.offset + n));
      return a;
    }
    if (typeof o.$num === "string" && Object.keys(o).length === 1) return Number(o.$num);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) out[k] = revive(o[k]);
    return out;
  };
  return revive(parsed.content);
}

/** A Box bound as JSON: a finite number, or `"Infinity"` / `"-Infinity"` (JSON has neither). */
export type BoundJSON = number | "Infinity" | "-Infinity";

const boundToJSON = (x: number): BoundJSON =>
  x === Infinity ? "Infinity" : x === -Infinity ? "-Infinity" : x;

function boundsFromJSON(xs: unknown): number[] {
  if (!Array.isArray(xs)) throw new RangeError(`Box bounds must be an array, got ${String(xs)}`);
  return xs.map((x) => {
    if (typeof x === "number") return x;
    if (x === "Infinity") return Infinity;
    if (x === "-Infinity") return -Infinity;
    throw new RangeError(
      `A Box bound must be a number, "Infinity" or "-Infinity", got ${JSON.stringify(x)}`,
    );
  });
}

/** A space as JSON (see {@linkcode spaceToJSON}). */
export type SpaceJSON =
  | { kind: "discrete"; n: number; start: number }
  | { kind: "box"; low: BoundJSON[]; high: BoundJSON[]; shape: number[] }
  | { kind: "multi_discrete"; nvec: number[] }
  | { kind: "tuple"; spaces: SpaceJSON[] }
  | { kind: "dict"; spaces: Record<string, SpaceJSON> };

/**
 * A JSON description of a space ({@linkcode spaceFromJSON} rebuilds it); plain JSON, so
 * `JSON.stringify` keeps it (unbounded Box bounds are the strings `"Infinity"`/`"-Infinity"`).
 * @param space a Discrete, Box, MultiDiscrete, Tuple or Dict
 * @returns its description
 * @throws {RangeError} for a space of another kind, or one the description cannot rebuild
 */
export function spaceToJSON(space: Space): SpaceJSON {
  const json = toJSON(space);
  if (!spacesEqual(spaceFromJSON(json), space)) {
    throw new RangeError(`Cannot describe the space ${space.toString()} for a checkpoint`);
  }
  return json;
}

function toJSON(space: Space): SpaceJSON {
  if (space instanceof Discrete) return { kind: "discrete", n: space.n, start: space.start };
  if (space instanceof Box) {
    return {
      kind: "box",
      low: Array.from(space.low, boundToJSON),
      high: Array.from(space.high, boundToJSON),
      shape: [...space.shape],
    };
  }
  if (space instanceof MultiDiscrete) return { kind: "multi_discrete", nvec: [...space.nvec] };
  if (space instanceof Tuple) return { kind: "tuple", spaces: space.spaces.map(toJSON) };
  if (space instanceof Dict) {
    const spaces: Record<string, SpaceJSON> = {};
    for (const k of space.keys) spaces[k] = toJSON(space.spaces[k]!);
    return { kind: "dict", spaces };
  }
  throw new RangeError(`Cannot describe the space ${String(space)} for a checkpoint`);
}

/**
 * Rebuilds a space from {@linkcode spaceToJSON}'s description.
 * @param json the description
 * @returns the space
 * @throws {RangeError} on a malformed description
 */
export function spaceFromJSON(json: unknown): Space {
  const j = json as Record<string, unknown> | null;
  switch (typeof j === "object" && j !== null ? j.kind : undefined) {
    case "discrete":
      return new Discrete(j!.n as number, j!.start as number);
    case "box":
      return new Box(boundsFromJSON(j!.low), boundsFromJSON(j!.high), j!.shape as number[]);
    case "multi_discrete":
      return new MultiDiscrete(j!.nvec as number[]);
    case "tuple":
      return new Tuple((j!.spaces as unknown[]).map(spaceFromJSON));
    case "dict": {
      const s: Record<string, Space> = {};
      for (const [k, v] of Object.entries(j!.spaces as Record<string, unknown>)) {
        s[k] = spaceFromJSON(v);
      }
      return new Dict(s);
    }
  }
  throw new RangeError(`Not a space description: ${JSON.stringify(json)?.slice(0, 80)}`);
}

/** File name extension of checkpoints. */
export const CHECKPOINT_EXTENSION = ".ckpt";
const NAME = /^checkpoint_(\d+)\.ckpt$/;

/**
 * The name of the checkpoint of an iteration: `checkpoint_000042.ckpt`.
 * @param iteration training iterations done
 * @returns the file name
 */
export function checkpointName(iteration: number): string {
  return `checkpoint_${String(iteration).padStart(6, "0")}${CHECKPOINT_EXTENSION}`;
}

/**
 * The checkpoints in a directory, oldest (fewest iterations) first.
 * @param storage the storage
 * @param dir the directory
 * @returns their paths and iterations
 */
export async function listCheckpoints(
  storage: CheckpointStorage,
  dir: string,
): Promise<{ path: string; iteration: number }[]> {
  const out: { path: string; iteration: number }[] = [];
  for (const name of await storage.list(dir)) {
    const m = NAME.exec(name);
    if (m !== null) out.push({ path: joinPath(dir, name), iteration: Number(m[1]) });
  }
  return out.sort((a, b) => a.iteration - b.iteration);
}

/**
 * The path of the newest checkpoint (most iterations) in a directory.
 * @param storage the storage
 * @param dir the directory
 * @returns its path, or undefined when there is none
 */
export async function latestCheckpoint(
  storage: CheckpointStorage,
  dir: string,
): Promise<string | undefined> {
  return (await listCheckpoints(storage, dir)).at(-1)?.path;
}

/**
 * Reads and decodes a checkpoint.
 * @param storage the storage
 * @param path the checkpoint
 * @returns the content
 * @throws {Error} when the file does not exist; {@linkcode decodeCheckpoint}'s errors
 */
export async function readCheckpoint(storage: CheckpointStorage, path: string): Promise<unknown> {
  const bytes = await storage.read(path);
  if (bytes === undefined) throw new Error(`No checkpoint at "${path}"`);
  return decodeCheckpoint(bytes, `"${path}"`);
}
