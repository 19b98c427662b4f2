/**
 * A workerd worker that starts the tfjs WASM backend from the `.wasm` bound as a module
 * (`/?source=module`) or from bytes (`/?source=bytes`, which workerd refuses to compile) and
 * answers with the backend's info and a product. `backend_test.ts` bundles it for the browser
 * platform (the `.wasm` import left external) and serves it with workerd on loopback.
 *
 * @module
 */
import { initBackend, tf } from "../backend.ts";
// @ts-ignore: workerd resolves this to the compiled module of its `wasm` binding.
import wasm from "./tfjs-backend-wasm-simd.wasm";

export default {
  async fetch(req: Request): Promise<Response> {
    const source = new URL(req.url).searchParams.get("source");
    try {
      const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
      const info = await initBackend({ wasm: source === "bytes" ? bytes : wasm });
      const y = tf.tidy(() => Array.from(tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync()));
      return Response.json({ info, y, isModule: wasm instanceof WebAssembly.Module });
    } catch (e) {
      return Response.json({ error: (e as Error).message });
    }
  },
};
