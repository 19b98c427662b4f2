/**
 * The worker entry of a remote env runner for the hierarchical windy maze (bundled with its
 * config by `runners.ts`, served by workerd on loopback; `cloudflare.ts` wraps the same runner
 * in a Durable Object for Cloudflare): `httpRunner` from the package with `config.ts`'s
 * runner config. workerd compiles no WebAssembly at run time, so both the maze and tfjs's WASM
 * backend come in as Wasm modules of the worker.
 *
 * @module
 */

import { httpRunner } from "@coop/rl";
import { mazeRunnerConfig } from "./config.ts";

// The specifiers are variables so that bundlers and type checkers leave the imports to workerd
// (and wrangler), which supply the compiled modules.
const MAZE_WASM = "./windy_maze.wasm";
const TFJS_WASM = "./tfjs-backend-wasm-simd.wasm";
const maze = (await import(MAZE_WASM)).default as WebAssembly.Module;
const tfjsWasm = (await import(TFJS_WASM)).default as WebAssembly.Module;

/** The runner's `fetch` handler (the module worker's default export). */
export default httpRunner({
  source: "examples/remote_runners/config.ts",
  tfjsWasm,
  config: (args: unknown) => mazeRunnerConfig(args, maze),
});
