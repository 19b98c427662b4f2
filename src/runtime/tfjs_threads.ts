/**
 * The adapter that starts tfjs's threaded WASM build (`initBackend({ threads: 2 })`): under
 * Deno and Node, pthread workers through Node's `worker_threads`, which tfjs's emscripten glue
 * cannot start under Deno without help; in browsers (a cross-origin isolated page or its Web
 * Worker: `SharedArrayBuffer` needs COOP/COEP) the glue's own Web Workers, with nothing to shim.
 * `src/policy/backend.ts` imports it lazily, only when more than one thread is asked for; see
 * its module doc for what threads gain.
 *
 * @module
 */

import type * as TfCoreModule from "@tensorflow/tfjs-core";
import type * as TfWasmModule from "@tensorflow/tfjs-backend-wasm";

/** The tfjs-core namespace the program uses. */
export type TfCore = typeof TfCoreModule;
/** The tfjs-backend-wasm namespace the program uses. */
export type TfWasm = typeof TfWasmModule;

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
 * @param tf the program's tfjs-core
 * @param tfWasm the program's tfjs-backend-wasm
 * @param threads the XNNPACK pool's threads
 * @param fn starts the backend (`tf.setBackend("wasm")`)
 * @returns what `fn` returns
 */
export async function withThreadedWasmShims<T>(
  tf: TfCore,
  tfWasm: TfWasm,
  threads: number,
  fn: () => Promise<T>,
): Promise<T> {
  const proc = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  if (typeof proc?.versions?.node !== "string") {
    return await startInBrowser(tf, tfWasm, threads, fn);
  }
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

/**
 * Starts the threaded build in a browser: tfjs's glue starts its pthreads as Web Workers (from a
 * page or from a dedicated worker: Chromium nests workers; the glue preallocates 8).
 */
async function startInBrowser<T>(
  tf: TfCore,
  tfWasm: TfWasm,
  threads: number,
  fn: () => Promise<T>,
): Promise<T> {
  const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown };
  if (g.crossOriginIsolated !== true || g.SharedArrayBuffer === undefined) {
    throw new Error(
      "tfjs's threaded WASM needs SharedArrayBuffer: serve the page with " +
        "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp",
    );
  }
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  tfWasm.setThreadsCount(threads);
  // tfjs caps its XNNPACK pool at half of `navigator.hardwareConcurrency` (1 thread on 2 cores,
  // whatever `setThreadsCount` says): report 2 × threads while the backend starts, as the
  // Deno/Node path does with `os.cpus()`.
  const nav = globalThis.navigator as Navigator | undefined;
  const own = nav !== undefined && Object.prototype.hasOwnProperty.call(nav, "hardwareConcurrency");
  if (nav !== undefined) {
    Object.defineProperty(nav, "hardwareConcurrency", { value: 2 * threads, configurable: true });
  }
  try {
    return await fn();
  } finally {
    if (nav !== undefined && !own) {
      delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency;
    }
  }
}
