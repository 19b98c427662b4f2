/**
 * An env runner served over HTTP: {@linkcode httpRunner} makes the `fetch` handler of a worker
 * (workerd, Cloudflare Workers, or `Deno.serve`) that runs the same {@linkcode RunnerCore} as a
 * Web Worker runner. The runner config is given directly (a worker is bundled with its config;
 * nothing is imported by URL at run time), and the runner's state (its envs, collector and
 * model copies) lives in the isolate between requests.
 *
 * Routes (bodies are `codec.ts` messages, `application/x-coop-runner`):
 * - `POST /init`: an `InitMessage` → `{ type: "ready" }`. Builds (or rebuilds) the runner.
 * - `POST /sample`: a `SampleMessage` → a `FragmentMessage` (the request's `id` echoed).
 * - `POST /save` → `{ type: "state", bytes }`; `POST /restore` with `bytes` → `{ type: "state" }`.
 * - `POST /policies`: a `PoliciesMessage` (a policy added or removed while training) →
 *   `{ type: "state" }`.
 * - `GET /health` → JSON: `{ ok, initialised, runner, weightsVersion, backend, requests }`.
 *
 * A failure of the runner's own code (a bad action, an env error, a config that does not load)
 * answers 500 with an `ErrorMessage` and the header `x-coop-runner-error: 1` (the trainer fails
 * with its message); a request before `/init` (or after the isolate lost its state) answers 409
 * (the trainer counts the runner as lost); a body that is not a runner message answers 400.
 * Requests are handled one at a time, in order.
 *
 * @example A worker entry (bundle it with its config; see `examples/remote_runners/`)
 * ```ts ignore
 * import { httpRunner } from "../../src/runners/http_runner.ts";
 * import tfjsWasm from "./tfjs-backend-wasm-simd.wasm"; // a Wasm module of the worker
 * export default httpRunner({ config: (args) => myConfig(args), tfjsWasm });
 * ```
 *
 * @module
 */

import { initBackend, type TfjsWasmSource } from "../policy/backend.ts";
import { decodeMessage, encodeMessage } from "./codec.ts";
import { type RunnerConfigSource, RunnerCore } from "./core.ts";
import {
  type ErrorMessage,
  type FromRunner,
  type InitMessage,
  type PoliciesMessage,
  RUNNER_CONTENT_TYPE,
  RUNNER_ERROR_HEADER,
  type SampleMessage,
  type StateMessage,
} from "./protocol.ts";

export { RUNNER_CONTENT_TYPE, RUNNER_ERROR_HEADER };

/** Options of {@linkcode httpRunner}. */
export interface HttpRunnerOptions {
  /** The runner config, or a function of the trainer's `runnerArgs` returning it. */
  config: RunnerConfigSource;
  /**
   * The tfjs WASM backend's binary (in workerd a compiled `WebAssembly.Module`, a Wasm module
   * of the worker). Given, the runner's models run on the WASM backend; absent, on `cpu`
   * (plain JS, no binary needed), whatever backend the trainer uses: a runner only runs
   * inference, and its backend changes no count, only rounding of the sampled probabilities.
   */
  tfjsWasm?: TfjsWasmSource;
  /** Names the config in errors (default "the HTTP runner's config"). */
  source?: string;
}

/** The handler {@linkcode httpRunner} returns (a module worker's default export). */
export interface HttpRunnerHandler {
  /**
   * Answers one request.
   * @param req the request
   * @returns the answer
   */
  fetch(req: Request): Promise<Response>;
}

class NotInitialised extends Error {}

function reply(m: FromRunner, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(encodeMessage(m), {
    status,
    headers: { "content-type": RUNNER_CONTENT_TYPE, ...headers },
  });
}

/**
 * Makes the `fetch` handler of an HTTP env runner.
 * @param opts the config, the tfjs WASM binary
 * @returns the handler (export it as the worker's default)
 */
export function httpRunner(opts: HttpRunnerOptions): HttpRunnerHandler {
  const source = opts.source ?? "the HTTP runner's config";
  const backend = opts.tfjsWasm === undefined ? "cpu" : "wasm";
  let core: RunnerCore | undefined;
  let runner: number | undefined;
  let requests = 0;
  let queue: Promise<unknown> = Promise.resolve();

  const handle = async (path: string, m: Record<string, unknown>): Promise<Response> => {
    if (path === "/init") {
      const init = m as unknown as InitMessage;
      core?.dispose();
      core = undefined;
      runner = undefined;
      if (backend === "wasm") await initBackend({ backend, threads: 1, wasm: opts.tfjsWasm! });
      core = await RunnerCore.create(init, opts.config, {
        source,
        backend: { backend, threads: 1 },
      });
      runner = init.runner;
      return reply({ type: "ready" });
    }
    if (core === undefined) throw new NotInitialised(`${path.slice(1)} before init`);
    if (path === "/sample") {
      return reply(core.sample(m as unknown as SampleMessage).msg);
    }
    if (path === "/policies") {
      const pm = m as unknown as PoliciesMessage;
      await core.updatePolicies(pm);
      return reply({ type: "state", id: pm.id, bytes: new Uint8Array(0) });
    }
    const sm = m as unknown as StateMessage;
    if (path === "/save") return reply({ type: "state", id: sm.id, bytes: await core.save() });
    if (!(sm.bytes instanceof Uint8Array)) {
      throw new TypeError("restore: the message has no state bytes");
    }
    await core.restore(sm.bytes);
    return reply({ type: "state", id: sm.id, bytes: new Uint8Array(0) });
  };

  return {
    async fetch(req: Request): Promise<Response> {
      const path = new URL(req.url).pathname;
      if (req.method === "GET" && path === "/health") {
        return Response.json({
          ok: true,
          initialised: core !== undefined,
          runner: runner ?? null,
          weightsVersion: core?.weightsVersion ?? null,
          backend,
          requests,
        });
      }
      if (
        req.method !== "POST" ||
        !["/init", "/sample", "/save", "/restore", "/policies"].includes(path)
      ) {
        return Response.json({
          error:
            `${req.method} ${path}: expected POST /init, /sample, /save, /restore, /policies or GET /health`,
        }, { status: 404 });
      }
      let m: Record<string, unknown>;
      try {
        m = decodeMessage(new Uint8Array(await req.arrayBuffer())) as Record<string, unknown>;
      } catch (e) {
        // Not the trainer's message (or a broken body): the transport's problem, not the runner's.
        return Response.json({ error: `${path}: ${(e as Error).message}` }, { status: 400 });
      }
      const run = queue.then(async () => {
        requests++;
        try {
          return await handle(path, m);
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          const id = typeof m.id === "number" ? m.id : undefined;
          const msg: ErrorMessage = { type: "error", id, message: e.message, stack: e.stack };
          return e instanceof NotInitialised
            ? reply(msg, 409)
            : reply(msg, 500, { [RUNNER_ERROR_HEADER]: "1" });
        }
      });
      queue = run;
      return await run;
    },
  };
}
