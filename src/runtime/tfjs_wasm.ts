/**
 * The Deno/Node adapter of the tfjs WASM backend: the only code of coop that reads tfjs's
 * `.wasm` binaries from the file system. `initBackend` (in `src/policy/backend.ts`, which is
 * Web-standard) imports it lazily, and only under runtimes that have Node's module resolution
 * and `fs` (Deno and Node), to read the default binary from the installed
 * `@tensorflow/tfjs-backend-wasm` package, or a `.wasm` file the caller names by path or
 * `file:` URL. Browsers and workerd never load it: there the caller passes bytes, a URL or a
 * compiled `WebAssembly.Module`.
 *
 * @example Read the SIMD build next to the installed tfjs-backend-wasm
 * ```ts
 * import { readTfjsWasm } from "./tfjs_wasm.ts";
 * const bytes = await readTfjsWasm("tfjs-backend-wasm-simd.wasm");
 * if (bytes === undefined || !WebAssembly.validate(bytes)) throw new Error("not found");
 * ```
 *
 * @module
 */

// Node's modules are imported where they are used, not at the top: a bundler that inlines
// this lazily imported module (`deno bundle` for browsers) would otherwise hoist static
// `node:` imports to the top of a browser bundle, which then fails to load.

/** The package whose `dist/` holds tfjs's `.wasm` binaries. */
const TFJS_WASM_PACKAGE = "@tensorflow/tfjs-backend-wasm";

/**
 * Where the installed `@tensorflow/tfjs-backend-wasm` keeps one of its binaries, found with
 * Node's module resolution from this module (a local checkout, Deno's `node_modules`, an npm
 * install) and then from the working directory.
 * @param file one of tfjs's file names, e.g. `"tfjs-backend-wasm-simd.wasm"`
 * @returns the absolute path, or undefined when the package cannot be resolved from here
 *   (or this runtime has no Node module resolution)
 */
export async function tfjsWasmPath(file: string): Promise<string | undefined> {
  const { createRequire } = await import("node:module");
  const { pathToFileURL } = await import("node:url");
  const { cwd } = await import("node:process");
  const bases = [import.meta.url, pathToFileURL(`${cwd()}/`).href];
  for (const base of bases) {
    if (!base.startsWith("file:")) continue;
    try {
      const pkg = createRequire(base).resolve(`${TFJS_WASM_PACKAGE}/package.json`);
      return pkg.slice(0, pkg.length - "package.json".length) + "dist/" + file;
    } catch {
      // Not resolvable from this base; try the next one.
    }
  }
  return undefined;
}

/**
 * Reads one of tfjs's `.wasm` binaries from the installed `@tensorflow/tfjs-backend-wasm`
 * (see {@linkcode tfjsWasmPath}). Needs read permission for it under Deno.
 * @param file one of tfjs's file names, e.g. `"tfjs-backend-wasm-simd.wasm"`
 * @returns the bytes, or undefined when the package cannot be resolved from here
 * @throws {Error} when the package resolves but the file cannot be read (permission, missing)
 */
export async function readTfjsWasm(file: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const path = await tfjsWasmPath(file);
  return path === undefined ? undefined : await readWasmFile(path);
}

/**
 * Reads a `.wasm` file by path or `file:` URL.
 * @param path a file path or a `file:` URL
 * @returns the file's bytes
 */
export async function readWasmFile(path: string | URL): Promise<Uint8Array<ArrayBuffer>> {
  const { fileURLToPath } = await import("node:url");
  const { readFile } = await import("node:fs/promises");
  const p = path instanceof URL ? fileURLToPath(path) : path;
  const buf = await readFile(p);
  return new Uint8Array(buf.buffer as ArrayBuffer, buf.byteOffset, buf.byteLength);
}
