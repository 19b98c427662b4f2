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
 * Where the `.wasm` binary comes from ({@linkcode BackendOptions}`.wasm`): the caller can pass
 * bytes, a `URL`, a compiled `WebAssembly.Module` (workerd forbids compiling bytes at run time)
 * or a file path, for one build or per tfjs file name (plain, SIMD, threaded SIMD). tfjs itself
 * offers one hook for this, `setWasmPaths(files, usePlatformFetch = true)`, whose
 * `instantiateWasm` fetches a path through `tf.env().platform.fetch` and instantiates the bytes;
 * {@linkcode initBackend} answers placeholder paths there and instantiates the compiled module
 * (see `withCompiledWasm` below), so tfjs never reads or fetches a file itself. Without the
 * option, under Deno and Node the runtime adapter `src/runtime/tfjs_wasm.ts` reads the binary of
 * the installed `@tensorflow/tfjs-backend-wasm` (Node's module resolution: `node_modules`, e.g.
 * `node_modules/.deno/@tensorflow+tfjs-backend-wasm@4.22.0/...` when `deno.json` says
 * `"nodeModulesDir": "auto"`) with `fs`; it is the only code that reads the file system for the
 * backend, and it is imported lazily, so browsers and workerd never load it. Where that package
 * cannot be resolved (and in browsers without the option) tfjs's own loader runs (a file beside
 * tfjs's script). The process needs read permission for the file (`--allow-read`, or narrowed
 * to `--allow-read=node_modules`). When loading fails, {@linkcode initBackend} throws an error
 * that says why and how to choose `cpu` instead.
 *
 * Threads (measured on the 2-core machine this project targets, Deno 2.9.6, tfjs 4.22):
 * tfjs disables its threaded build under Node-like runtimes (`WASM_HAS_MULTITHREAD_SUPPORT` is
 * false when `IS_NODE`). Forcing the flag alone fails: emscripten spawns its pthread workers
 * through `worker_threads.Worker` with a `blob:` URL, which Deno rejects (`ERR_WORKER_PATH`).
 * With the shims in `src/runtime/tfjs_threads.ts` (worker source passed as `eval` code, the main
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
 * @example The binary from the caller (here a compiled module, as workerd binds one)
 * ```ts ignore
 * import { initBackend } from "./backend.ts";
 * import wasm from "./tfjs-backend-wasm-simd.wasm"; // workerd: a "wasm" module binding
 * await initBackend({ wasm }); // or bytes, a URL, a path, or { "tfjs-backend-wasm-simd.wasm": ... }
 * ```
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

/**
 * The builds of tfjs's WASM backend, by the file names tfjs ships in
 * `@tensorflow/tfjs-backend-wasm/dist/`: plain, SIMD (used when the runtime validates SIMD, the
 * default in Deno, Node and current browsers) and threaded SIMD (used with `threads > 1`).
 */
export type TfjsWasmFile =
  | "tfjs-backend-wasm.wasm"
  | "tfjs-backend-wasm-simd.wasm"
  | "tfjs-backend-wasm-threaded-simd.wasm";

/** tfjs's WASM file names, plain, SIMD, threaded SIMD. */
export const TFJS_WASM_FILES: readonly TfjsWasmFile[] = Object.freeze(
  [
    "tfjs-backend-wasm.wasm",
    "tfjs-backend-wasm-simd.wasm",
    "tfjs-backend-wasm-threaded-simd.wasm",
  ] as const,
);

/**
 * Where one tfjs WASM binary comes from:
 * - bytes (`Uint8Array` or `ArrayBuffer`), compiled with `WebAssembly.compile`;
 * - a compiled `WebAssembly.Module` (workerd forbids compiling bytes at run time; bind the
 *   `.wasm` file as a module there);
 * - a `URL`: `http(s):` and other URLs are fetched with `fetch`; `file:` URLs are read by the
 *   Deno/Node adapter (`src/runtime/tfjs_wasm.ts`, needs read permission);
 * - a string: a file path, read by the Deno/Node adapter.
 *
 * A URL or a string ending in `/` names a directory holding tfjs's files
 * ({@linkcode TfjsWasmFile}); the name of the build in use is appended.
 */
export type TfjsWasmSource = Uint8Array | ArrayBuffer | WebAssembly.Module | URL | string;

/** A source per tfjs WASM build; only the build the backend runs needs one. */
export type TfjsWasmFiles = { readonly [F in TfjsWasmFile]?: TfjsWasmSource };

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
  /**
   * Where the WASM backend's binary comes from (ignored by `cpu`): one source for the build the
   * backend runs (threaded SIMD with `threads > 1`, else SIMD where the runtime validates SIMD,
   * else plain), or a record of sources by tfjs file name ({@linkcode TfjsWasmFiles}). Default:
   * under Deno and Node, the file of the installed `@tensorflow/tfjs-backend-wasm`, read by the
   * runtime adapter `src/runtime/tfjs_wasm.ts`; where that package cannot be resolved (and in
   * browsers), tfjs's own loader (a file beside tfjs's script). Only the first start of the
   * backend reads it: once the WASM backend runs, later calls reuse it (omit `wasm` then).
   */
  wasm?: TfjsWasmSource | TfjsWasmFiles;
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
 * @param options backend name, WASM threads and where the WASM binary comes from
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
    pending = name === "wasm" ? startWasm(threads, options.wasm) : startCpu();
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

/** Whether Node's module resolution and `fs` are there (Deno and Node). */
function nodeLike(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof p?.versions?.node === "string";
}

/** The Deno/Node adapter that reads `.wasm` files; refused elsewhere. */
async function fileAdapter(what: string): Promise<typeof import("../runtime/tfjs_wasm.ts")> {
  if (!nodeLike()) {
    throw new Error(
      `${what} is read from the file system, which needs Deno or Node; in this runtime pass ` +
        `the binary as bytes, a fetchable URL or a compiled WebAssembly.Module`,
    );
  }
  return await import("../runtime/tfjs_wasm.ts");
}

function isFiles(w: TfjsWasmSource | TfjsWasmFiles): w is TfjsWasmFiles {
  return typeof w === "object" && !(w instanceof Uint8Array) && !(w instanceof ArrayBuffer) &&
    !(w instanceof WebAssembly.Module) && !(w instanceof URL);
}

/** Compiles one caller-supplied source of `file`. */
async function compileSource(src: TfjsWasmSource, file: TfjsWasmFile): Promise<WebAssembly.Module> {
  if (src instanceof WebAssembly.Module) return src;
  if (src instanceof Uint8Array || src instanceof ArrayBuffer) {
    return await WebAssembly.compile(src as BufferSource);
  }
  if (typeof src === "string") {
    const path = src.endsWith("/") ? src + file : src;
    const bytes = await (await fileAdapter(`"${path}"`)).readWasmFile(path);
    return await WebAssembly.compile(bytes as BufferSource);
  }
  if (src instanceof URL) {
    const url = src.href.endsWith("/") ? new URL(file, src) : src;
    if (url.protocol === "file:") {
      const bytes = await (await fileAdapter(url.href)).readWasmFile(url);
      return await WebAssembly.compile(bytes as BufferSource);
    }
    const res = await fetch(url);
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`fetching ${url.href} failed: ${res.status} ${res.statusText}`);
    }
    return await WebAssembly.compile(await res.arrayBuffer());
  }
  throw new TypeError(
    `A tfjs WASM source must be bytes, a URL, a WebAssembly.Module or a path, got ${typeof src}`,
  );
}

/**
 * The compiled binary for `file`, from the caller's `wasm` option or, without one, from the
 * installed package through the Deno/Node adapter; undefined lets tfjs load it itself.
 */
async function resolveWasm(
  wasm: TfjsWasmSource | TfjsWasmFiles | undefined,
  file: TfjsWasmFile,
): Promise<WebAssembly.Module | undefined> {
  if (wasm === undefined) {
    if (!nodeLike()) return undefined;
    const bytes = await (await import("../runtime/tfjs_wasm.ts")).readTfjsWasm(file);
    return bytes === undefined ? undefined : await WebAssembly.compile(bytes as BufferSource);
  }
  if (isFiles(wasm)) {
    for (const k of Object.keys(wasm)) {
      if (!(TFJS_WASM_FILES as readonly string[]).includes(k)) {
        throw new RangeError(
          `Unknown tfjs WASM file "${k}" in the wasm option; expected ${
            TFJS_WASM_FILES.join(", ")
          }`,
        );
      }
    }
    const src = wasm[file];
    if (src === undefined) {
      throw new RangeError(
        `the wasm option has no "${file}", the build this runtime runs (given: ${
          Object.keys(wasm).join(", ") || "none"
        })`,
      );
    }
    return await compileSource(src, file);
  }
  return await compileSource(wasm, file);
}

/**
 * Refuses a module that is not the tfjs build `file` (tfjs's glue would crash on it, outside
 * any promise the caller could catch): tfjs's kernels' entry points must be exported, and the
 * threaded build imports its (shared) memory where the others export theirs.
 */
function checkTfjsModule(module: WebAssembly.Module, file: TfjsWasmFile): void {
  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = ["init", "init_with_threads_count", "register_tensor", "dispose_data"]
    .filter((n) => !exports.has(n));
  if (missing.length > 0) {
    throw new RangeError(
      `the module given for ${file} is not a tfjs WASM backend build (it lacks the exports ` +
        `${missing.join(", ")})`,
    );
  }
  const threaded = WebAssembly.Module.imports(module).some((i) =>
    i.module === "env" && i.name === "memory" && i.kind === "memory"
  );
  if (threaded !== (file === "tfjs-backend-wasm-threaded-simd.wasm")) {
    throw new RangeError(
      threaded
        ? `the module given for ${file} is tfjs's threaded build; it runs with threads > 1 only`
        : `the module given for ${file} is a single-threaded tfjs build; threads > 1 need ` +
          `tfjs-backend-wasm-threaded-simd.wasm`,
    );
  }
}

/** The `.wasm` build tfjs picks for these threads and SIMD support. */
function wasmFile(threads: number, simd: boolean): TfjsWasmFile {
  return threads > 1
    ? "tfjs-backend-wasm-threaded-simd.wasm"
    : simd
    ? "tfjs-backend-wasm-simd.wasm"
    : "tfjs-backend-wasm.wasm";
}

async function startWasm(
  threads: number,
  wasm: TfjsWasmSource | TfjsWasmFiles | undefined,
): Promise<BackendInfo> {
  const hint =
    (wasm !== undefined
      ? ` Check the wasm option of initBackend`
      : nodeLike()
      ? ` The backend reads its .wasm file from node_modules (@tensorflow/tfjs-backend-wasm/dist): ` +
        `run with --allow-read (and run \`deno install\` once if node_modules is missing), or ` +
        `pass the binary with initBackend({ wasm })`
      : ` Without a file system, pass the binary with initBackend({ wasm }) (bytes, a URL or a ` +
        `WebAssembly.Module)`) +
    (threads > 1 ? `, or use threads: 1` : "") +
    `, or choose the plain-JS backend with --backend cpu (initBackend({ backend: "cpu" }))`;
  const simdSupported = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean;
  const file = wasmFile(threads, simdSupported);
  let module: WebAssembly.Module | undefined;
  try {
    module = await resolveWasm(wasm, file);
    if (module !== undefined) checkTfjsModule(module, file);
  } catch (e) {
    const err = e as Error;
    throw new Error(
      `Could not start the tfjs WASM backend: ${err.name}: ${err.message}.${hint}`,
      { cause: e },
    );
  }
  const start = () => {
    if (threads > 1) {
      return import("../runtime/tfjs_threads.ts").then(({ withThreadedWasmShims }) =>
        withThreadedWasmShims(tf, tfWasm, threads, () => tf.setBackend("wasm"))
      );
    }
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    return tf.setBackend("wasm");
  };
  const { value: ok, lines } = await captureConsole(() =>
    module === undefined ? start() : withCompiledWasm(module, file, start)
  );
  if (!ok) {
    const reason = lines.find((l) =>
      /NotCapable|Requires read access|ENOENT|no such file|LinkError|coop:/.test(l)
    ) ??
      lines.find((l) =>
        !l.startsWith("Initialization of backend")
      ) ?? "unknown error";
    const short = reason.split("\n")[0]!.replace(/^.*?Aborted\(/, "").replace(/\)+$/, "");
    throw new Error(`Could not start the tfjs WASM backend: ${short}.${hint}`, {
      cause: lines.join("\n"),
    });
  }
  replay(lines);
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean;
  return Object.freeze({ name: "wasm" as const, simd, threads: tfWasm.getThreadsCount() });
}

/** Prefix of the placeholder paths handed to tfjs's `setWasmPaths`. */
const WASM_PLACEHOLDER = "coop-tfjs-wasm:";
let wasmPathsSet = false;

/**
 * Runs `fn` (which starts tfjs's WASM backend) so that tfjs instantiates `module` instead of
 * loading a file. tfjs offers one hook for this: `setWasmPaths(files, usePlatformFetch = true)`
 * makes its emscripten glue call an `instantiateWasm` that fetches the path through
 * `tf.env().platform.fetch` and passes the response's bytes to `WebAssembly.instantiate`.
 * While `fn` runs, the platform's `fetch` answers the placeholder paths with a marker buffer,
 * and `WebAssembly.instantiate` instantiates the compiled module when handed that marker (so
 * nothing is compiled here: workerd allows this). Both are restored afterwards; other paths
 * and buffers pass through untouched. Pthread workers of the threaded build receive the same
 * compiled module from the glue.
 */
async function withCompiledWasm<T>(
  module: WebAssembly.Module,
  file: TfjsWasmFile,
  fn: () => Promise<T>,
): Promise<T> {
  if (!wasmPathsSet) {
    // Set once: tfjs refuses a second call after a failed start.
    const files = Object.fromEntries(TFJS_WASM_FILES.map((f) => [f, WASM_PLACEHOLDER + f]));
    tfWasm.setWasmPaths(files, true);
    wasmPathsSet = true;
  }
  const platform = tf.env().platform as unknown as Record<string, unknown> | undefined;
  if (platform === undefined) {
    throw new Error("tfjs has no platform in this runtime (tf.setPlatform first)");
  }
  const ownFetch = Object.prototype.hasOwnProperty.call(platform, "fetch");
  const origFetch = platform.fetch as (path: string, init?: unknown) => Promise<Response>;
  const origInstantiate = WebAssembly.instantiate;
  const marker = new ArrayBuffer(0);
  platform.fetch = (path: string, init?: unknown) => {
    if (typeof path !== "string" || !path.startsWith(WASM_PLACEHOLDER)) {
      return origFetch.call(platform, path, init);
    }
    if (path !== WASM_PLACEHOLDER + file) {
      console.error(`coop: tfjs asked for ${path.slice(WASM_PLACEHOLDER.length)}, ${file} given`);
    }
    return Promise.resolve({ ok: true, arrayBuffer: () => Promise.resolve(marker) });
  };
  const instantiate = (src: unknown, imports?: WebAssembly.Imports) => {
    if (src !== marker) {
      // deno-lint-ignore no-explicit-any
      return (origInstantiate as any).call(WebAssembly, src, imports);
    }
    return origInstantiate.call(WebAssembly, module, imports).then(
      (instance) => ({ instance, module }),
      (e) => {
        // tfjs's glue has no rejection handler here: report through its abort (what tfjs's
        // own fetch hook calls on a failed fetch), which fails the backend's start, and never
        // settle.
        console.error(`coop: instantiating ${file} failed: ${String(e)}`);
        try {
          (imports?.env as { a?: (msg: string) => void } | undefined)?.a?.(
            `coop: ${String(e)}`,
          );
        } catch {
          // abort() throws after reporting.
        }
        return new Promise<never>(() => {});
      },
    );
  };
  WebAssembly.instantiate = instantiate as typeof WebAssembly.instantiate;
  try {
    return await fn();
  } finally {
    WebAssembly.instantiate = origInstantiate;
    if (ownFetch) platform.fetch = origFetch;
    else delete platform.fetch;
  }
}
