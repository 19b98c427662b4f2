import assert from "node:assert/strict";
import { activeBackend, initBackend, tf } from "./backend.ts";

const canRun = Deno.permissions.querySync({ name: "run" }).state === "granted";

/** Runs testdata/start_backend.ts in a fresh process; returns its JSON line. */
async function startInSubprocess(
  perms: string[],
  backend: string,
  threads: number,
): Promise<
  { info?: { name: string; simd: boolean; threads: number }; y?: number[]; error?: string }
> {
  const script = new URL("./testdata/start_backend.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...perms, script.href, backend, String(threads)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
  return JSON.parse(text);
}

Deno.test("default backend is WASM with SIMD, single-threaded, and idempotent", async () => {
  const info = await initBackend();
  assert.deepEqual(info, { name: "wasm", simd: true, threads: 1 });
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(await initBackend(), info, "second call returns the same info");
  assert.equal(await initBackend({ backend: "wasm", threads: 1 }), info);
  assert.equal(activeBackend(), info);
  const y = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 4])).dataSync());
  assert.deepEqual(Array.from(y), new Array(8).fill(3));
});

Deno.test("cpu backend is the fallback; switching back returns the same WASM info", async () => {
  const wasm = await initBackend();
  const cpu = await initBackend({ backend: "cpu" });
  assert.deepEqual(cpu, { name: "cpu", simd: false, threads: 1 });
  assert.equal(tf.getBackend(), "cpu");
  assert.equal(activeBackend(), cpu);
  assert.equal(await initBackend({ backend: "cpu" }), cpu);
  assert.equal(await initBackend({ backend: "wasm" }), wasm);
  assert.equal(tf.getBackend(), "wasm");
});

Deno.test("bad options are RangeErrors; threads are fixed once WASM runs", async () => {
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    initBackend({ backend: "webgl" as any }),
    { name: "RangeError", message: 'Backend must be "wasm" or "cpu", got "webgl"' },
  );
  await assert.rejects(initBackend({ threads: 0 }), {
    name: "RangeError",
    message: "Backend threads must be an integer in [1, 8], got 0",
  });
  await initBackend();
  await assert.rejects(initBackend({ threads: 2 }), {
    name: "Error",
    message: /already runs with 1 thread\(s\); threads can only be chosen before it starts, got 2/,
  });
});

Deno.test({
  name: "without read permission the WASM error says why and how to pick cpu",
  ignore: !canRun,
  async fn() {
    const r = await startInSubprocess(["--allow-env", "--allow-sys"], "wasm", 1);
    assert.ok(r.error, JSON.stringify(r));
    assert.match(
      r.error,
      /Could not start the tfjs WASM backend: NotCapable: Requires read access/,
    );
    assert.match(r.error, /tfjs-backend-wasm-simd\.wasm/);
    assert.match(r.error, /--allow-read/);
    assert.match(r.error, /--backend cpu/);
    // The cpu backend needs no file.
    const c = await startInSubprocess(["--allow-env", "--allow-sys"], "cpu", 1);
    assert.deepEqual(c, { info: { name: "cpu", simd: false, threads: 1 }, y: [3, 3, 3, 3] });
  },
});

Deno.test({
  name: "threaded WASM (opt-in) starts with 2 threads and the process exits",
  ignore: !canRun,
  async fn() {
    const r = await startInSubprocess(
      ["--allow-read", "--allow-env", "--allow-sys"],
      "wasm",
      2,
    );
    assert.deepEqual(r, { info: { name: "wasm", simd: true, threads: 2 }, y: [3, 3, 3, 3] });
  },
});
