/**
 * Serves the browser training page on loopback: bundles `main.ts`, `worker.ts` and
 * `runner_worker.ts` (`?runners=N`) with the
 * package's own code and serves them with cross-origin isolation (COOP/COEP), so tfjs's
 * threaded WASM can run there. Open the printed address and press "train"; `?autostart`,
 * `&backend=wasm|cpu`, `&seed=N`, `&stopReward=R`.
 *
 * ```sh
 * deno run -A examples/browser_train/serve.ts       # http://127.0.0.1:8001/
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { TFJS_WASM_FILES } from "@coop/rl";
import { bundleForBrowser, serveFiles, TYPES } from "../_web.ts";

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "8001" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (v.help) {
  console.log(`Usage: deno run -A examples/browser_train/serve.ts [--port N (0: any free)]`);
  Deno.exit(0);
}

const here = new URL("./", import.meta.url);
const [main, worker, runnerWorker] = await bundleForBrowser([
  new URL("main.ts", here),
  new URL("worker.ts", here),
  new URL("runner_worker.ts", here),
]);
const server = serveFiles(
  {
    "/index.html": { body: await Deno.readFile(new URL("index.html", here)), type: TYPES.html },
    "/main.js": { body: main!, type: TYPES.js },
    "/worker.js": { body: worker!, type: TYPES.js },
    "/runner_worker.js": { body: runnerWorker!, type: TYPES.js },
    // tfjs's WASM binaries from the installed npm package (the worker points the backend here).
    ...Object.fromEntries(
      await Promise.all(TFJS_WASM_FILES.map(async (f) => [`/tfjs/${f}`, {
        body: await Deno.readFile(
          new URL(`../../node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`, import.meta.url),
        ),
        type: TYPES.wasm,
      }])),
    ),
  },
  Number(v.port),
  {
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
  },
  (url) => console.log(`browser training page at ${url}`),
);
await server.finished;
