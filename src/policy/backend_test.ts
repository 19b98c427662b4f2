import assert from "node:assert/strict";
import { activeBackend, initBackend, tf, TFJS_WASM_FILES } from "./backend.ts";
import { windyMazeWasmBytes } from "../envs/_generated/windy_maze_wasm.ts";

const canRun = Deno.permissions.querySync({ name: "run" }).state === "granted";

/** Runs testdata/start_backend.ts in a fresh process; returns its JSON line. */
async function startInSubprocess(
  perms: string[],
  backend: string,
  threads: number,
  ...source: string[]
): Promise<
  { info?: { name: string; simd: boolean; threads: number }; y?: number[]; error?: string }
> {
  const script = new URL("./testdata/start_backend.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...perms, script.href, backend, String(threads), ...source],
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

/** A directory holding copies of tfjs's three `.wasm` builds (and nothing else of tfjs). */
async function wasmCopies(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "coop-tfjs-wasm-" });
  const { tfjsWasmPath } = await import("../runtime/tfjs_wasm.ts");
  for (const f of TFJS_WASM_FILES) await Deno.copyFile((await tfjsWasmPath(f))!, `${dir}/${f}`);
  return dir;
}

const OK = { info: { name: "wasm", simd: true, threads: 1 }, y: [3, 3, 3, 3] };

Deno.test({
  name: "the WASM binary comes from the caller: bytes, buffer, Module, path, file: URL, record",
  ignore: !canRun,
  async fn() {
    const dir = await wasmCopies();
    try {
      // Read access to the copies only: tfjs's own loader (node_modules) would fail, so each
      // start below used the caller's binary.
      const perms = [`--allow-read=${dir}`];
      const simd = `${dir}/tfjs-backend-wasm-simd.wasm`;
      const fileUrl = new URL(`file://${simd}`).href;
      for (
        const src of [
          ["bytes", simd],
          ["buffer", simd],
          ["module", simd],
          ["path", simd],
          ["path", `${dir}/`],
          ["url", fileUrl],
          ["url", new URL(`file://${dir}/`).href],
          ["files", dir],
          // The plain build runs with the same glue.
          ["bytes", `${dir}/tfjs-backend-wasm.wasm`],
        ]
      ) {
        assert.deepEqual(await startInSubprocess(perms, "wasm", 1, ...src), OK, src.join(" "));
      }
      // The check of the permission itself: the default (node_modules) is refused here.
      const d = await startInSubprocess(perms, "wasm", 1);
      assert.match(d.error ?? "", /Requires read access to .*node_modules/);
      // Threads with the caller's threaded build.
      assert.deepEqual(
        await startInSubprocess(
          [...perms, "--allow-env", "--allow-sys"],
          "wasm",
          2,
          "path",
          `${dir}/`,
        ),
        { ...OK, info: { ...OK.info, threads: 2 } },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the WASM binary from an http URL (loopback), with no read permission at all",
  ignore: !canRun,
  async fn() {
    const dir = await wasmCopies();
    const bytes = await Deno.readFile(`${dir}/tfjs-backend-wasm-simd.wasm`);
    await Deno.remove(dir, { recursive: true });
    const served: string[] = [];
    const ac = new AbortController();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
      (req) => {
        const path = new URL(req.url).pathname;
        served.push(path);
        return path === "/wasm/tfjs-backend-wasm-simd.wasm"
          ? new Response(bytes, { headers: { "content-type": "application/wasm" } })
          : new Response("not found", { status: 404 });
      },
    );
    try {
      const base = `http://127.0.0.1:${server.addr.port}/wasm/`;
      const perms = ["--allow-net=127.0.0.1"];
      assert.deepEqual(await startInSubprocess(perms, "wasm", 1, "url", base), OK);
      assert.deepEqual(served, ["/wasm/tfjs-backend-wasm-simd.wasm"]);
      const r = await startInSubprocess(perms, "wasm", 1, "url", `${base}missing.wasm`);
      assert.match(
        r.error ?? "",
        /fetching http:\/\/127\.0\.0\.1:\d+\/wasm\/missing\.wasm failed: 404/,
      );
    } finally {
      ac.abort();
      await server.finished;
    }
  },
});

Deno.test({
  name: "a wrong WASM source is refused with a message that says what is wrong",
  ignore: !canRun,
  async fn() {
    const dir = await wasmCopies();
    try {
      const maze = `${dir}/maze.wasm`;
      await Deno.writeFile(maze, windyMazeWasmBytes());
      const perms = [`--allow-read=${dir}`, "--allow-env", "--allow-sys"];
      const cases: [number, string[], RegExp][] = [
        [1, ["wrong", maze], /not a tfjs WASM backend build \(it lacks the exports/],
        [1, ["path", `${dir}/tfjs-backend-wasm-threaded-simd.wasm`], /threaded build; it runs/],
        [2, ["path", `${dir}/tfjs-backend-wasm-simd.wasm`], /single-threaded tfjs build/],
        [1, ["files-plain", dir], /has no "tfjs-backend-wasm-simd\.wasm", the build this runtime/],
        [1, ["files-bad", dir], /Unknown tfjs WASM file "simd\.wasm"/],
        [
          1,
          ["path", `${dir}/absent.wasm`],
          /ENOENT: no such file or directory, open .*absent\.wasm/,
        ],
      ];
      for (const [threads, src, message] of cases) {
        const r = await startInSubprocess(perms, "wasm", threads, ...src);
        assert.match(r.error ?? JSON.stringify(r), message, src.join(" "));
        assert.match(r.error!, /^Could not start the tfjs WASM backend: /);
        assert.match(r.error!, /--backend cpu/);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const WORKERD = new URL(
  "../../node_modules/@cloudflare/workerd-linux-64/bin/workerd",
  import.meta.url,
);
const haveWorkerd = canRun && (() => {
  try {
    return Deno.statSync(WORKERD).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "in workerd, the backend starts from the .wasm bound as a module; bytes are refused",
  // workerd comes with `deno install` (the npm package pinned in deno.json); skipped without it.
  ignore: !haveWorkerd,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "coop-workerd-backend-" });
    const { tfjsWasmPath } = await import("../runtime/tfjs_wasm.ts");
    await Deno.copyFile(
      (await tfjsWasmPath("tfjs-backend-wasm-simd.wasm"))!,
      `${dir}/tfjs-backend-wasm-simd.wasm`,
    );
    const bundle = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--external",
        "./tfjs-backend-wasm-simd.wasm",
        "-o",
        `${dir}/worker.js`,
        new URL("./testdata/workerd_backend.ts", import.meta.url).pathname,
      ],
    }).output();
    assert.ok(bundle.success, new TextDecoder().decode(bundle.stderr));
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    await Deno.writeTextFile(
      `${dir}/config.capnp`,
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "tfjs-backend-wasm-simd.wasm", wasm = embed "tfjs-backend-wasm-simd.wasm"),
  ],
  compatibilityDate = "2024-09-01",
);
`,
    );
    const child = new Deno.Command(WORKERD, {
      args: ["serve", `${dir}/config.capnp`],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const ask = async (source: string) => {
      for (let i = 0;; i++) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/?source=${source}`);
          return await res.json();
        } catch (e) {
          if (i >= 100) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    try {
      // One isolate serves both: bytes first (refused before tfjs starts), then the module.
      const bytes = await ask("bytes");
      assert.match(
        bytes.error ?? JSON.stringify(bytes),
        /^Could not start the tfjs WASM backend: CompileError: .*disallowed by embedder/,
      );
      assert.deepEqual(await ask("module"), { ...OK, isModule: true });
    } finally {
      child.kill();
      await child.stderr.cancel();
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
