import assert from "node:assert/strict";
import {
  crc32c,
  flattenScalars,
  maskedCrc32c,
  TensorBoardEvents,
  tfRecord,
} from "./tensorboard.ts";

Deno.test("crc32c: the standard check values; the TFRecord mask", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(crc32c(enc("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  const c = crc32c(enc("abc"));
  assert.equal(maskedCrc32c(enc("abc")), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
});

Deno.test("tfRecord frames a record: length, masked crc of the length, data, masked crc", () => {
  const data = new Uint8Array([1, 2, 3]);
  const r = tfRecord(data);
  const v = new DataView(r.buffer);
  assert.equal(r.length, 8 + 4 + 3 + 4);
  assert.equal(v.getUint32(0, true), 3);
  assert.equal(v.getUint32(4, true), 0);
  assert.equal(v.getUint32(8, true), maskedCrc32c(r.subarray(0, 8)));
  assert.deepEqual(Array.from(r.subarray(12, 15)), [1, 2, 3]);
  assert.equal(v.getUint32(15, true), maskedCrc32c(data));
});

Deno.test("a scalar event is the protobuf TensorBoard reads", () => {
  const tb = new TensorBoardEvents(() => 0.5);
  const r = tb.scalars(300, { loss: 2 });
  const data = r.subarray(12, r.length - 4);
  // Event: wall_time (1, double 0.5), step (2, varint 300), summary (5, bytes).
  assert.deepEqual(Array.from(data.subarray(0, 9)), [0x09, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f]);
  assert.deepEqual(Array.from(data.subarray(9, 12)), [0x10, 0xac, 0x02]);
  assert.equal(data[12], 0x2a);
  // Summary.value (1): Value{tag (1) "loss", simple_value (2, float 2)}.
  const value = [0x0a, 4, ...new TextEncoder().encode("loss"), 0x15, 0, 0, 0, 0x40];
  assert.deepEqual(Array.from(data.subarray(14)), [0x0a, value.length, ...value]);
  assert.equal(data[13], value.length + 2);
  const header = tb.header();
  assert.ok(new TextDecoder().decode(header).includes("brain.Event:2"));
  assert.throws(() => tb.scalars(-1, {}), /non-negative safe integer, got -1/);
});

Deno.test("flattenScalars: numeric leaves under /-joined tags", () => {
  assert.deepEqual(
    flattenScalars({ a: 1, b: { c: true, d: "x", e: [1] }, f: NaN }, "p"),
    { "p/a": 1, "p/b/c": 1, "p/f": NaN },
  );
});
