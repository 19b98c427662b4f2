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

import { flattenResult } from "./logger.ts";

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
   * An encoder stamping events with `now()`.
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
 * `info/learner/high_level_policy/learner_stats/kl`); booleans become 1 and 0, other
 * non-numbers are skipped. The loggers' one rule, {@linkcode flattenResult}, numbers only.
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
  return flattenResult(result, { prefix, numericOnly: true }) as Record<string, number>;
}

/** What {@linkcode readTfRecords} found in a file. */
export interface TfRecords {
  /** The records' data, in order. */
  records: Uint8Array[];
  /** The byte offset where each record starts (its length field). */
  offsets: number[];
  /** Bytes of whole, checksum-valid records from the start; a torn or corrupt tail follows. */
  validLength: number;
}

/**
 * Reads TFRecord framing: records up to the end or up to the first one that is incomplete or
 * fails its checksums (a write a crash cut short).
 *
 * @example
 * ```ts
 * import { readTfRecords, tfRecord } from "./tensorboard.ts";
 * const a = tfRecord(new Uint8Array([1, 2])), b = tfRecord(new Uint8Array([3]));
 * const bytes = new Uint8Array([...a, ...b.subarray(0, 5)]);
 * const r = readTfRecords(bytes);
 * if (r.records.length !== 1 || r.validLength !== a.length) throw new Error("read");
 * ```
 *
 * @param bytes the file's bytes
 * @returns the records and the length of the valid prefix
 */
export function readTfRecords(bytes: Uint8Array): TfRecords {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  const offsets: number[] = [];
  let off = 0;
  while (off + 12 <= bytes.length) {
    const len = view.getUint32(off, true) + view.getUint32(off + 4, true) * 4294967296;
    if (view.getUint32(off + 8, true) !== maskedCrc32c(bytes.subarray(off, off + 8))) break;
    if (off + 12 + len + 4 > bytes.length) break;
    const data = bytes.subarray(off + 12, off + 12 + len);
    if (view.getUint32(off + 12 + len, true) !== maskedCrc32c(data)) break;
    records.push(data);
    offsets.push(off);
    off += 12 + len + 4;
  }
  return { records, offsets, validLength: off };
}

/** The fields of an `Event` that {@linkcode TensorBoardEvents} writes. */
export interface DecodedEvent {
  /** Seconds since the epoch. */
  wallTime: number;
  /** The global step (0 when absent). */
  step: number;
  /** `brain.Event:2` in a file's first event. */
  fileVersion?: string;
  /** Tag → simple value of the summary's values. */
  scalars: Record<string, number>;
}

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  varint(): number {
    let v = 0, mul = 1;
    for (;;) {
      if (this.pos >= this.b.length) throw new RangeError("truncated varint");
      const x = this.b[this.pos++]!;
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 0x80;
    }
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.b.length) throw new RangeError("truncated field");
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new RangeError(`unsupported wire type ${wire}`);
  }
}

/**
 * Decodes an `Event` record's wall time, step, file version and scalar summary values (other
 * fields are skipped).
 *
 * @example
 * ```ts
 * import { decodeEvent, readTfRecords, TensorBoardEvents } from "./tensorboard.ts";
 * const tb = new TensorBoardEvents(() => 5);
 * const e = decodeEvent(readTfRecords(tb.scalars(7, { a: 0.5 })).records[0]!);
 * if (e.step !== 7 || e.scalars.a !== 0.5 || e.wallTime !== 5) throw new Error("decode");
 * ```
 *
 * @param data one record's data
 * @returns the event's fields
 */
export function decodeEvent(data: Uint8Array): DecodedEvent {
  const out: DecodedEvent = { wallTime: 0, step: 0, scalars: {} };
  const r = new Reader(data);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  while (r.pos < data.length) {
    const key = r.varint();
    const field = Math.floor(key / 8), wire = key % 8;
    if (field === 1 && wire === 1) {
      out.wallTime = dv.getFloat64(r.pos, true);
      r.pos += 8;
    } else if (field === 2 && wire === 0) out.step = r.varint();
    else if (field === 3 && wire === 2) out.fileVersion = new TextDecoder().decode(r.bytes());
    else if (field === 5 && wire === 2) {
      const s = new Reader(r.bytes());
      while (s.pos < s.b.length) {
        const k = s.varint();
        if (k !== 0x0a) {
          s.skip(k % 8);
          continue;
        }
        const v = new Reader(s.bytes());
        const vv = new DataView(v.b.buffer, v.b.byteOffset, v.b.byteLength);
        let tag = "", value = NaN;
        while (v.pos < v.b.length) {
          const kk = v.varint();
          if (kk === 0x0a) tag = new TextDecoder().decode(v.bytes());
          else if (kk === 0x15) {
            value = vv.getFloat32(v.pos, true);
            v.pos += 4;
          } else v.skip(kk % 8);
        }
        out.scalars[tag] = value;
      }
    } else r.skip(wire);
  }
  return out;
}
