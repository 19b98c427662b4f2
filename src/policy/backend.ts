/**
 * The one place that loads tfjs and picks its backend. Everything else imports `tf` from here,
 * so the whole program shares one tfjs instance (one engine, one backend, one tensor registry).
 *
 * Backends:
 * - `"wasm"` (default): tfjs's WebAssembly backend (XNNPACK), SIMD build when the runtime
 *   validates SIMD (Deno and current browsers do).
 * - `"cpu"`: tfjs's plain-JS backend. Slow on matrix products (a 512×64×64 product takes
 *   ≈ 4.5 ms against ≈ 0.25 ms on WASM) but needs no `.wasm` file: the fallback.
 *
 * Loading the `.wasm` file: under Deno (and Node) tfjs takes its Node code path, because Deno
 * defines `process`. The backend's Node bundle resolves its own directory (`__dirname`) and
 * reads `tfjs-backend-wasm-simd.wasm` next to it with `fs.readFileSync`: from
 * `node_modules/.deno/@tensorflow+tfjs-backend-wasm@4.22.0/...` when `deno.json` says
 * `"nodeModulesDir": "auto"` (filled by `deno install` or on the first run), or from the global
 * npm cache otherwise. Nothing is fetched at run time and no `setWasmPaths` call is needed;
 * the process only needs read permission for that file (`--allow-read`, or narrowed to
 * `--allow-read=node_modules`). When loading fails, {@linkcode initBackend} throws an error
 * that says why and how to choose `cpu` instead.
 *
 * Threads (measured on the 2-core machine this project targets, Deno 2.9.6, tfjs 4.22):
 * tfjs disables its threaded build under Node-like runtimes (`WASM_HAS_MULTITHREAD_SUPPORT` is
 * false when `IS_NODE`). Forcing the flag alone fails: emscripten spawns its pthread workers
 * through `worker_threads.Worker` with a `blob:` URL, which Deno rejects (`ERR_WORKER_PATH`).
 * With the shims in {@linkcode initBackend} (worker source passed as `eval` code, the main
 * script handed over as text, `os.cpus()` widened because tfjs caps its pool at half the
 * logical cores, i.e. 1 here) the threaded SIMD build starts (≈ 300 ms instead of ≈ 8 ms) and
 * runs with 2 threads. Measured with `bench/ppo_bench.ts` (7→64→64→5 tanh actor-critic),
 * 1 thread → 2 threads, quiet machine:
 * - `act` on 64 rows 0.21 → 0.34 ms; on 1024 rows 1.58 → 0.89 ms;
 * - one PPO minibatch step on 512 rows 3.6 → 4.0 ms; on 1024 rows 6.6 → 5.7 ms;
 * - a 256×256×256 product 1.29 → 0.72 ms.
 * Its timings are also unstable when the two cores are shared: one run, with another process
 * busy, measured 8.95 ms for `act` on 64 rows and 31.5 ms per minibatch step; one run of the
 * whole training loop (flat windy maze, 64 envs) made 2,600 env steps/s against ≈ 27,000
 * single-threaded. So the default stays single-threaded; `threads: 2` is an opt-in for large
 * batches on an otherwise idle machine.
 *
 * @example Default backend (needs --allow-read)
 * ```ts
 * import { initBackend, tf } from "./backend.ts";
 * const info = await initBackend(); // { name: "wasm", simd: true, threads: 1 }
 * const y = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 4])).dataSync());
 * if (y[0] !== 3) throw new Error("matMul");
 * ```
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import * as tfWasm from "@tensorflow/tfjs-backend-wasm";

export { tf };

/** Names of the supported tfjs backends. */
export type BackendName = "wasm" | "cpu";

/** Options of {@linkcode initBackend}. */
export interface BackendOptions {
  /** `"wasm"` (default; SIMD) or `"cpu"` (plain JS, the fallback). */
  backend?: BackendName;
  /**
   * Threads of the WASM backend's XNNPACK pool (default 1). More than 1 starts tfjs's threaded
   * SIMD build through Node's `worker_threads` (Deno and Node only); see the module doc for
   * what it gains. Ignored by `cpu`. Fixed once the WASM backend has started (omit it then to
   * accept the running count).
   */
  threads?: number;
}

/** What {@linkcode initBackend} started. */
export interface BackendInfo {
  /** The active backend. */
  readonly name: BackendName;
  /** Whether the WASM build in use has SIMD (always false for `cpu`). */
  readonly simd: boolean;
  /** Threads running tfjs kernels (1 for `cpu`). */
  readonly threads: number;
}

const started = new Map<BackendName, Promise<BackendInfo>>();
let wasmThreads = 0;
let active: BackendInfo | undefined;

/**
 * Starts a tfjs backend and makes it the active one. Idempotent: a second call with the same
 * options returns the same info object. A call naming the other backend switches to it
 * (tensors made before move when next used; build models after the switch).
 *
 * @example The plain-JS fallback
 * ```ts
 * import { initBackend } from "./backend.ts";
 * const info = await initBackend({ backend: "cpu" });
 * if (info.name !== "cpu") throw new Error("cpu expected");
 * ```
 *
 * @param options backend name and WASM threads
 * @returns the backend's name, whether it uses SIMD, and its thread count
 * @throws {RangeError} on an unknown backend name or a bad thread count
 * @throws {Error} when the WASM backend cannot load (the message says why and how to pick
 *   `cpu`), or when `threads` differs from the running WASM backend's
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  const name = options.backend ?? "wasm";
  const threads = options.threads ?? (name === "wasm" && wasmThreads !== 0 ? wasmThreads : 1);
  if (name !== "wasm" && name !== "cpu") {
    throw new RangeError(`Backend must be "wasm" or "cpu", got ${JSON.stringify(name)}`);
  }
  if (!Number.isInteger(threads) || threads < 1 || threads > 8) {
    throw new RangeError(`Backend threads must be an integer in [1, 8], got ${threads}`);
  }
  if (name === "wasm" && wasmThreads !== 0 && wasmThreads !== threads) {
    throw new Error(
      `The WASM backend already runs with ${wasmThreads} thread(s); threads can only be chosen ` +
        `before it starts, got ${threads}`,
    );
  }
  let pending = started.get(name);
  if (pending === undefined) {
    if (name === "wasm") wasmThreads = threads;
    pending = name === "wasm" ? startWasm(threads) : startCpu();
    started.set(name, pending);
    pending.catch(() => {
      // Let a later call retry (e.g. after granting the permission).
      started.delete(name);
      if (name === "wasm") wasmThreads = 0;
    });
  }
  const info = await pending;
  if (tf.getBackend() !== name) {
    if (!(await tf.setBackend(name))) throw new Error(`Could not switch tfjs to backend "${name}"`);
  }
  active = info;
  return info;
}

/**
 * The backend {@linkcode initBackend} made active last, or undefined before the first call.
 * Models check it so that a missing `await initBackend()` is reported clearly.
 * @returns the active backend's info
 */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

/** Runs `fn` with console.warn/error captured; returns its result and the captured lines. */
async function captureConsole<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const warn = console.warn, error = console.error;
  const keep = (...args: unknown[]) => {
    lines.push(args.map((a) => (a instanceof Error ? a.stack ?? a.message : String(a))).join(" "));
  };
  console.warn = keep;
  console.error = keep;
  try {
    return { value: await fn(), lines };
  } finally {
    console.warn = warn;
    console.error = error;
  }
}

/** Replays captured lines, minus the tfjs-node advertisement (wrong advice under Deno). */
function replay(lines: string[]): void {
  for (const l of lines) if (!l.includes("tfjs-node")) console.warn(l);
}

async function startCpu(): Promise<BackendInfo> {
  const { value: ok, lines } = await captureConsole(async () => {
    const ok = await tf.setBackend("cpu");
    // The cpu backend prints its advertisement on the first tensor; let it happen here.
    if (ok) tf.tensor1d([0]).dispose();
    return ok;
  });
  replay(lines);
  if (!ok) throw new Error(`Could not start the tfjs cpu backend: ${lines.join("; ")}`);
  return Object.freeze({ name: "cpu" as const, simd: false, threads: 1 });
}

async function startWasm(threads: number): Promise<BackendInfo> {
  const { value: ok, lines } = await captureConsole(() => {
    if (threads > 1) return withThreadedWasmShims(threads, () => tf.setBackend("wasm"));
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    return tf.setBackend("wasm");
  });
  if (!ok) {
    const reason = lines.find((l) =>
      /NotCapable|Requires read access|ENOENT|no such file/.test(l)
    ) ??
      lines.find((l) => !l.startsWith("Initialization of backend")) ?? "unknown error";
    const short = reason.split("\n")[0]!.replace(/^.*?Aborted\(/, "").replace(/\)+$/, "");
    const err = new Error(
      `Could not start the tfjs WASM backend: ${short}. The backend reads its .wasm file from ` +
        `node_modules (@tensorflow/tfjs-backend-wasm/dist): run with --allow-read (and run ` +
        `\`deno install\` once if node_modules is missing)` +
        (threads > 1 ? `, or use threads: 1` : "") +
        `, or choose the plain-JS backend with --backend cpu (initBackend({ backend: "cpu" }))`,
      { cause: lines.join("\n") },
    );
    throw err;
  }
  replay(lines);
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean;
  return Object.freeze({ name: "wasm" as const, simd, threads: tfWasm.getThreadsCount() });
}

/**
 * Starts tfjs's threaded SIMD build under Deno/Node. tfjs's emscripten glue, on its Node path,
 * creates pthread workers with `new worker_threads.Worker(blobUrl)` and hands them the main
 * script as a `Blob`; Deno accepts neither. The shims, active only while the backend starts:
 * - `Blob`/`URL.createObjectURL` remember the text of the string blobs tfjs creates;
 * - the `Worker` that the glue installs on `globalThis` is replaced by a subclass that runs that
 *   text with `{ eval: true }` (after making the worker globals the glue assigns writable) and
 *   passes the main script as text instead of a `Blob`;
 * - `os.cpus()` reports `2 × threads` cores, because tfjs caps its pool at half the cores;
 * - the workers are `unref`'d (and `ref` made a no-op) so that XNNPACK's pool threads, which
 *   never return, do not keep the process alive.
 * All of it is undone afterwards; the started workers keep running.
 */
async function withThreadedWasmShims<T>(threads: number, fn: () => Promise<T>): Promise<T> {
  const { Worker: NodeWorker } = await import("node:worker_threads");
  const os = (await import("node:os")).default as { cpus: () => unknown[] };
  const texts = new Map<string, string>();
  const OrigBlob = globalThis.Blob;
  class TextBlob extends OrigBlob {
    readonly source: string | undefined;
    constructor(parts?: BlobPart[], opts?: BlobPropertyBag) {
      super(parts, opts);
      this.source = parts?.every((p) => typeof p === "string") ? parts.join("") : undefined;
    }
  }
  const origCreate = URL.createObjectURL;
  const prefix = `for (const k of ["self", "location", "postMessage", "importScripts", "Worker",
    "performance", "require"]) {
  try { Object.defineProperty(globalThis, k, { value: globalThis[k], writable: true,
    configurable: true }); } catch (_) { /* keep */ }
}
globalThis.require$$0 = require("fs"); globalThis.require$$1 = require("path");
globalThis.require$$4 = require("os"); globalThis.commonjsGlobal = globalThis;
`;
  const suffix = `
;(function () { const orig = globalThis.importScripts;
  globalThis.importScripts = function (f) {
    if (typeof f === "string" && f.startsWith("code:")) { (0, eval)(f.slice(5)); return; }
    return orig(f);
  }; })();`;
  class EvalWorker extends NodeWorker {
    constructor(url: string | URL) {
      const source = texts.get(String(url));
      if (source === undefined) throw new Error(`Unexpected tfjs worker URL ${String(url)}`);
      super(prefix + source + suffix, { eval: true });
      // Pool workers must not keep the process alive once the program is done; emscripten
      // calls ref() while a pthread runs, and XNNPACK's pool threads run for ever.
      this.unref();
    }
    override ref(): void {}
    // deno-lint-ignore no-explicit-any
    override postMessage(msg: unknown, transfer?: any): void {
      const m = msg as { urlOrBlob?: unknown } | null;
      if (m !== null && typeof m === "object" && m.urlOrBlob instanceof TextBlob) {
        msg = { ...m, urlOrBlob: "code:" + m.urlOrBlob.source };
      }
      super.postMessage(msg, transfer);
    }
  }
  const workerDesc = Object.getOwnPropertyDescriptor(globalThis, "Worker");
  let installed: unknown;
  const origCpus = os.cpus;
  globalThis.Blob = TextBlob as typeof Blob;
  URL.createObjectURL = (obj: Blob) => {
    const url = origCreate(obj);
    if (obj instanceof TextBlob && obj.source !== undefined) texts.set(url, obj.source);
    return url;
  };
  Object.defineProperty(globalThis, "Worker", {
    configurable: true,
    get: () => installed ?? workerDesc?.value,
    set: (v) => {
      installed = v === NodeWorker ? EvalWorker : v;
    },
  });
  const cpu0 = origCpus()[0];
  os.cpus = () => new Array(2 * threads).fill(cpu0);
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  tfWasm.setThreadsCount(threads);
  try {
    return await fn();
  } finally {
    os.cpus = origCpus;
    URL.createObjectURL = origCreate;
    globalThis.Blob = OrigBlob;
    if (workerDesc) Object.defineProperty(globalThis, "Worker", workerDesc);
  }
}
