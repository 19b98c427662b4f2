/**
 * Serves the chicken yard's browser view on loopback: bundles `web/view.ts` (the package's own
 * code, with `deno bundle --platform browser`), then serves `web/index.html`, the bundle and a
 * checkpoint written by `train.ts`. Open the printed address; `?autoplay` plays an episode at
 * once, `&seed=N` picks the yard, `&delay=MS` sets the pause between steps (default 40).
 *
 * ```sh
 * deno run -A examples/chicken_yard/train.ts        # writes runs/chicken_yard-seed0
 * deno run -A examples/chicken_yard/serve.ts        # http://127.0.0.1:8000/
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { FileStorage } from "@coop/rl/runtime";
import { bundleForBrowser, serveFiles, TYPES } from "../_web.ts";

const HELP = `Usage: deno run -A examples/chicken_yard/serve.ts [options]

  --run DIR          a train.ts output directory (default runs/chicken_yard-seed0)
  --checkpoint PATH  a checkpoint file (default: the newest in DIR/checkpoints)
  --port N           port on 127.0.0.1 (default 8000; 0 picks a free one)
  -h, --help         this help`;

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    run: { type: "string", default: "runs/chicken_yard-seed0" },
    checkpoint: { type: "string" },
    port: { type: "string", default: "8000" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (v.help) {
  console.log(HELP);
  Deno.exit(0);
}

let checkpointPath = v.checkpoint;
if (checkpointPath === undefined) {
  const names = await new FileStorage(v.run).list("checkpoints").catch(() => []);
  const newest = names.filter((p) => p.endsWith(".ckpt")).sort().at(-1);
  if (newest === undefined) {
    console.error(
      `No checkpoint in ${v.run}/checkpoints: run examples/chicken_yard/train.ts first`,
    );
    Deno.exit(1);
  }
  checkpointPath = `${v.run}/checkpoints/${newest}`;
}
const checkpoint = await Deno.readFile(checkpointPath);

const web = new URL("./web/", import.meta.url);
const [view] = await bundleForBrowser([new URL("view.ts", web)]);
const server = serveFiles(
  {
    "/index.html": { body: await Deno.readFile(new URL("index.html", web)), type: TYPES.html },
    "/view.js": { body: view!, type: TYPES.js },
    "/checkpoint.ckpt": { body: checkpoint, type: TYPES.bytes },
  },
  Number(v.port),
  {},
  (url) => console.log(`chicken yard view of ${checkpointPath} at ${url}`),
);
await server.finished;
