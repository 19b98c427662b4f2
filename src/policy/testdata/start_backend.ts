/**
 * Starts a backend in a fresh process and prints the result as one JSON line; the backend tests
 * run it as a subprocess (with or without read permission, with threads).
 * Usage: `deno run [perms] start_backend.ts <wasm|cpu> <threads>`.
 *
 * @module
 */
import { initBackend, tf } from "../backend.ts";

try {
  const info = await initBackend({
    backend: (Deno.args[0] ?? "wasm") as "wasm" | "cpu",
    threads: Number(Deno.args[1] ?? 1),
  });
  const y = tf.tidy(() => Array.from(tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync()));
  console.log(JSON.stringify({ info, y }));
} catch (e) {
  console.log(JSON.stringify({ error: (e as Error).message }));
}
