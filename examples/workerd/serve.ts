/**
 * Runs the policy endpoint (`worker.ts`) in workerd on loopback: exports the two policies of a
 * hierarchical windy maze checkpoint (or of a short training run when none is given), bundles
 * the worker, writes a workerd config with the env's WASM and the policies as bindings and no
 * outbound network, and starts `workerd serve`.
 *
 * ```sh
 * deno run -A examples/workerd/serve.ts --checkpoint runs/x/checkpoints/checkpoint_000010.ckpt
 * deno run -A examples/workerd/serve.ts --processes 2   # one workerd per core, one port
 * curl -s 'http://127.0.0.1:8787/episode?seed=3'
 * curl -s 'http://127.0.0.1:8787/act?policyId=low_level_policy&obs=%5B%5B%5B3,1%5D,2%5D,1%5D'
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { prepareWorkerd } from "./prepare.ts";
import { spawnWorkerd } from "./reuse_port.ts";

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    checkpoint: { type: "string" },
    port: { type: "string", default: "8787" },
    processes: { type: "string", default: "1" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (v.help) {
  console.log(
    "Usage: deno run -A examples/workerd/serve.ts [--checkpoint FILE] [--port N (default 8787)] [--processes N (default 1; workerd uses one core per process)]",
  );
  Deno.exit(0);
}
const processes = Number(v.processes);
if (!Number.isInteger(processes) || processes < 1) {
  console.error(`--processes must be an integer ≥ 1, got "${v.processes}"`);
  Deno.exit(2);
}
const dir = await Deno.makeTempDir({ prefix: "coop-workerd-" });
const { config } = await prepareWorkerd(dir, Number(v.port), v.checkpoint);
console.log(
  `workerd serving at http://127.0.0.1:${v.port}/ with ${processes} process(es) (config ${config})`,
);
const children = spawnWorkerd(config, Number(v.port), processes);
Deno.addSignalListener("SIGINT", () => {
  for (const c of children) c.kill("SIGTERM");
});
const statuses = await Promise.all(children.map((c) => c.status));
Deno.exit(statuses.find((st) => st.code !== 0)?.code ?? 0);
