/**
 * The env runner's message loop ({@linkcode serveEnvRunner}): what a runner worker runs. The
 * package's own worker (`worker.ts`) serves the config of the module the trainer names
 * (`runnerModule`); a worker entry of one's own serves a config it imports, which is how runners
 * work where a worker cannot import modules by URL at run time (a browser page's bundles):
 *
 * ```ts ignore
 * // runner_worker.ts, bundled on its own and named by `.envRunners({ runnerWorker })`
 * import { serveEnvRunner } from "@coop/rl";
 * import { config } from "./my_config.ts";
 * serveEnvRunner(config);
 * ```
 *
 * Once its handler is in place it says so (`listening`), and the trainer sends `init` only then.
 * On `init` the loop builds a {@linkcode RunnerCore} from the config; on `sample` the core
 * collects and post-processes one fragment, answered with compact per-policy batches (their
 * typed arrays transferred) and the fragment's finished episodes; `save` and `restore` move the
 * core's state; `policies` adds or removes a policy as the trainer did. Any error is answered
 * with its message. No `Deno.*`: Web APIs only, or Node's worker threads through
 * `src/runtime/workers.ts`.
 *
 * @module
 */

import { type RunnerConfigSource, RunnerCore } from "./core.ts";
import type { FromRunner, ToRunner } from "./protocol.ts";

interface RunnerScope {
  onmessage: ((e: MessageEvent<ToRunner>) => void) | null;
  postMessage(message: FromRunner, transfer?: Transferable[]): void;
}

/**
 * Answers the trainer's messages in this worker, one at a time, in order.
 * @param config the runner config (an `AlgorithmConfig` or a function of the trainer's
 *   `runnerArgs` returning one); without it, each `init` imports the trainer's `runnerModule`
 *   and takes its `config` export
 */
export async function serveEnvRunner(config?: RunnerConfigSource): Promise<void> {
  // Loaded lazily: only src/runtime/ touches runtime APIs (Node's worker threads here).
  const { workerScope } = await import("../runtime/workers.ts");
  // Web Workers: globalThis; Node's worker threads: parentPort behind the same API.
  const scope = await workerScope() as unknown as RunnerScope;
  let core: RunnerCore | undefined;
  let queue: Promise<void> = Promise.resolve();
  scope.onmessage = (e: MessageEvent<ToRunner>) => {
    const m = e.data;
    queue = queue.then(async () => {
      try {
        if (m.type === "init") {
          if (config !== undefined) {
            core = await RunnerCore.create(m, config, { source: "This runner worker's config" });
          } else {
            const source = `Runner module ${m.runnerModule}`;
            const mod = await import(m.runnerModule) as { config?: unknown };
            core = await RunnerCore.create(m, mod.config, { source });
          }
          scope.postMessage({ type: "ready" });
        } else if (m.type === "sample") {
          if (core === undefined) throw new Error("sample before init");
          const { msg, transfer } = core.sample(m);
          scope.postMessage(msg, transfer);
        } else if (m.type === "policies") {
          if (core === undefined) throw new Error("policies before init");
          await core.updatePolicies(m);
          scope.postMessage({ type: "state", id: m.id, bytes: new Uint8Array(0) });
        } else if (m.type === "save" || m.type === "restore") {
          if (core === undefined) throw new Error(`${m.type} before init`);
          let bytes: Uint8Array = new Uint8Array(0);
          if (m.type === "save") bytes = await core.save();
          else await core.restore(m.bytes!);
          const transfer = bytes.buffer instanceof ArrayBuffer ? [bytes.buffer] : [];
          scope.postMessage({ type: "state", id: m.id, bytes }, transfer);
        }
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        scope.postMessage({
          type: "error",
          id: m.type === "init" ? undefined : m.id,
          message: e.message,
          stack: e.stack,
        });
      }
    });
  };
  scope.postMessage({ type: "listening" });
}
