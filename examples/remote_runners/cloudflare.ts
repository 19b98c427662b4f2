/**
 * The remote runners as a Cloudflare Worker (see `wrangler.toml`): one Durable Object per
 * runner holds that runner's envs and model copies in its memory, and the Worker routes
 * `/<name>/<route>` to the object named `<name>`. A plain Worker would not do: Cloudflare runs
 * a Worker in as many isolates as it likes, so consecutive requests to one URL may reach
 * isolates that never saw its `/init`; a Durable Object is one instance per name, its requests
 * handled one place. So the trainer lists one URL per runner:
 *
 * ```ts ignore
 * const base = "https://coop-env-runner.<account>.workers.dev";
 * config.envRunners({ remoteRunners: [0, 1, 2, 3].map((i) => `${base}/runner-${i}`) });
 * ```
 *
 * An object evicted from memory (idle, or moved) loses its runner: its next request answers 409
 * and the trainer re-issues that fragment to the other runners (see
 * `src/runners/remote_pool.ts`). `runners.ts --entry cloudflare.ts` bundles this entry; the
 * tests serve it from workerd with an in-memory Durable Object namespace.
 *
 * @module
 */

import { httpRunner, type HttpRunnerHandler } from "@coop/rl";
import { mazeRunnerConfig } from "./config.ts";

// The specifiers are variables so that bundlers and type checkers leave the imports to
// wrangler (and workerd), which supply the compiled modules.
const MAZE_WASM = "./windy_maze.wasm";
const TFJS_WASM = "./tfjs-backend-wasm-simd.wasm";
const maze = (await import(MAZE_WASM)).default as WebAssembly.Module;
const tfjsWasm = (await import(TFJS_WASM)).default as WebAssembly.Module;

/** The parts of a Durable Object namespace binding this Worker uses. */
export interface RunnerNamespace {
  /**
   * The id of the object with this name.
   * @param name the runner's name
   */
  idFromName(name: string): unknown;
  /**
   * A stub of the object.
   * @param id its id
   */
  get(id: unknown): { fetch(req: Request): Promise<Response> };
}

/** The Worker's bindings (`wrangler.toml`). */
export interface Env {
  /** The `EnvRunner` Durable Objects. */
  RUNNERS: RunnerNamespace;
}

/** One env runner: a Durable Object whose memory holds the runner between requests. */
export class EnvRunner {
  readonly #runner: HttpRunnerHandler = httpRunner({
    source: "examples/remote_runners/config.ts",
    tfjsWasm,
    config: (args: unknown) => mazeRunnerConfig(args, maze),
  });

  /**
   * Answers the runner's routes (`/init`, `/sample`, `/save`, `/restore`, `/health`).
   * @param req the request, its path without the runner's name
   * @returns the answer
   */
  fetch(req: Request): Promise<Response> {
    return this.#runner.fetch(req);
  }
}

/** The Worker: routes each runner's requests to its Durable Object. */
export default {
  /**
   * Routes `/<name>/<route>` to the runner named `<name>`.
   * @param req the request
   * @param env the bindings
   * @returns the runner's answer
   */
  async fetch(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    const m = url.pathname.match(/^\/([A-Za-z0-9_-]{1,64})(\/[a-z]+)$/);
    if (m === null) {
      return Response.json({
        error: `${url.pathname}: expected /<runner name>/<init|sample|save|restore|health>`,
      }, { status: 404 });
    }
    const stub = env.RUNNERS.get(env.RUNNERS.idFromName(m[1]!));
    url.pathname = m[2]!;
    return await stub.fetch(new Request(url, req));
  },
};
