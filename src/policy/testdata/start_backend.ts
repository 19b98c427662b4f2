/**
 * Starts a backend in a fresh process and prints the result as one JSON line; the backend tests
 * run it as a subprocess (with or without read permission, with threads, with the WASM binary
 * from each kind of source).
 * Usage: `deno run [perms] start_backend.ts <wasm|cpu> <threads> [<source kind> <where>]`, the
 * kinds: `bytes <path>`, `buffer <path>`, `module <path>`, `path <path>`, `url <url>`,
 * `files <dir path>` (a record with the SIMD build only), `files-plain <dir path>` (a record
 * without the build in use), `files-bad <dir path>` (an unknown key), `wrong <path>` (a
 * binary that is not tfjs's).
 *
 * @module
 */
import { initBackend, tf, type TfjsWasmFiles, type TfjsWasmSource } from "../backend.ts";

async function source(kind: string, where: string): Promise<TfjsWasmSource | TfjsWasmFiles> {
  switch (kind) {
    case "bytes":
    case "wrong":
      return await Deno.readFile(where);
    case "buffer":
      return (await Deno.readFile(where)).slice().buffer;
    case "module":
      return new WebAssembly.Module(await Deno.readFile(where));
    case "path":
      return where;
    case "url":
      return new URL(where);
    case "files":
      return { "tfjs-backend-wasm-simd.wasm": `${where}/tfjs-backend-wasm-simd.wasm` };
    case "files-plain":
      return { "tfjs-backend-wasm.wasm": `${where}/tfjs-backend-wasm.wasm` };
    case "files-bad":
      return { "tfjs-backend-wasm-simd.wasm": where, "simd.wasm": where } as TfjsWasmFiles;
  }
  throw new Error(`unknown source kind ${kind}`);
}

try {
  const kind = Deno.args[2];
  const info = await initBackend({
    backend: (Deno.args[0] ?? "wasm") as "wasm" | "cpu",
    threads: Number(Deno.args[1] ?? 1),
    wasm: kind === undefined ? undefined : await source(kind, Deno.args[3]!),
  });
  const y = tf.tidy(() => Array.from(tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync()));
  console.log(JSON.stringify({ info, y }));
} catch (e) {
  console.log(JSON.stringify({ error: (e as Error).message }));
}
