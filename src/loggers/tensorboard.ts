/**
 * TensorBoard event files in plain TypeScript, no TensorFlow: {@linkcode TensorBoardEvents}
 * encodes scalar summaries as `tensorflow.Event` protobuf records in TFRecord framing, the
 * format TensorBoard's own reader (`EventAccumulator`) reads. Web-standard: it produces bytes;
 * where they go (a file, a download) is the caller's.
 *
 * Framing of one record: `uint64 length`, `uint32 masked_crc32c(length bytes)`, `data`,
 * `uint32 masked_crc32c(data)`, little-endian, where the mask is
 * `((crc >>> 15) | (crc << 17)) + 0xa282ead8`. The first record of a file is an `Event` with
 * `file_version: "brain.Event:2"`.
 *
 * @module
 */

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32C (Castagnoli) of `bytes`.
 *
 * @example The standard check value
 * ```ts
 * import { crc32c } from "./tensorboard.ts";
 * if (crc32c(new TextEncoder().encode("123456789")) !== 0xe3069283) throw new Error("crc");
 * ```
 *
 * @param bytes the data
 * @returns the checksum, an unsigned 32-bit integer
 */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC32C_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * TFRecord's masked CRC-32C.
 * @param bytes the data
 * @returns the masked checksum
 */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** A growable byte buffer with the protobuf primitives an Event needs. */
class Proto {
  #buf = new Uint8Array(64);
  #len = 0;
  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const b = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    b.set(this.#buf.subarray(0, this.#len));
    this.#buf = b;
  }
  byte(b: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = b;
  }
  varint(v: number): void {
    // Non-negative integers up to 2^53.
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }
  key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  double(field: number, v: number): void {
    this.key(field, 1);
    this.#ensure(8);
    new DataView(this.#buf.buffer).setFloat64(this.#len, v, true);
    this.#len += 8;
  }
  float(field: number, v: number): void {
    this.key(field, 5);
    this.#ensure(4);
    new DataView(this.#buf.buffer).setFloat32(this.#len, v, true);
    this.#len += 4;
  }
  int(field: number, v: number): void {
    this.key(field, 0);
    this.varint(v);
  }
  bytes(field: number, b: Uint8Array): void {
    this.key(field, 2);
    this.varint(b.length);
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }
  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }
  done(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/**
 * Frames one record as TFRecord.
 * @param data the record
 * @returns the framed bytes
 */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length >>> 0, true);
  view.setUint32(4, Math.floor(data.length / 4294967296), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/**
 * Encodes TensorBoard events: the file-version header, then scalar summaries.
 *
 * @example Three scalars of one step, as file bytes
 * ```ts
 * import { TensorBoardEvents } from "./tensorboard.ts";
 * const tb = new TensorBoardEvents(() => 1700000000);
 * const bytes = [tb.header(), tb.scalars(1, { "ray/tune/episode_reward_mean": 12.5 })];
 * if (bytes[1]!.length < 20) throw new Error("event");
 * ```
 */
export class TensorBoardEvents {
  readonly #now: () => number;
  /**
   * @param now wall time in seconds (default: `Date.now() / 1000`)
   */
  constructor(now: () => number = () => Date.now() / 1000) {
    this.#now = now;
  }

  /**
   * The first record of an event file.
   * @returns the framed `Event{wall_time, file_version: "brain.Event:2"}`
   */
  header(): Uint8Array {
    const e = new Proto();
    e.double(1, this.#now());
    e.string(3, "brain.Event:2");
    return tfRecord(e.done());
  }

  /**
   * One event holding scalar summaries. Non-finite values are written as they are (TensorBoard
   * shows NaN); tags are used as given.
   * @param step the global step (a non-negative integer, e.g. env steps sampled)
   * @param values tag → value
   * @returns the framed `Event{wall_time, step, summary{value[]}}`
   */
  scalars(step: number, values: Record<string, number>): Uint8Array {
    if (!Number.isSafeInteger(step) || step < 0) {
      throw new RangeError(`TensorBoard step must be a non-negative safe integer, got ${step}`);
    }
    const summary = new Proto();
    for (const [tag, v] of Object.entries(values)) {
      const value = new Proto();
      value.string(1, tag);
      value.float(2, v);
      summary.bytes(1, value.done());
    }
    const e = new Proto();
    e.double(1, this.#now());
    e.int(2, step);
    e.bytes(5, summary.done());
    return tfRecord(e.done());
  }
}

/**
 * The numeric leaves of a nested result, flattened to `/`-joined tags (RLlib/Tune style:
 * `info/learner/high_level_policy/learner_stats/kl`); non-numbers are skipped.
 *
 * @example
 * ```ts
 * import { flattenScalars } from "./tensorboard.ts";
 * const s = flattenScalars({ a: 1, b: { c: 2, d: "x" } }, "ray/tune");
 * if (s["ray/tune/b/c"] !== 2 || "ray/tune/b/d" in s) throw new Error("flatten");
 * ```
 *
 * @param result a result object
 * @param prefix prepended to every tag (no trailing `/`)
 * @returns tag → number
 */
export function flattenScalars(result: unknown, prefix = ""): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (x: unknown, path: string) => {
    if (typeof x === "number") out[path] = x;
    else if (typeof x === "boolean") out[path] = x ? 1 : 0;
    else if (typeof x === "object" && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x)) {
      for (const [k, v] of Object.entries(x)) walk(v, path === "" ? k : `${path}/${k}`);
    }
  };
  walk(result, prefix);
  return out;
}
