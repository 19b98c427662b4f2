/**
 * One env runner, the module a Web Worker runs (`new Worker(url, { type: "module" })`). On
 * `init` it imports the user's runner module and builds a {@linkcode RunnerCore} from its
 * `config` (an `AlgorithmConfig` or a function of `runnerArgs` returning one); on `sample` the
 * core collects and post-processes one fragment, answered with compact per-policy batches (their
 * typed arrays transferred) and the fragment's finished episodes; `save` and `restore` move the
 * core's state; `policies` adds or removes a policy as the trainer did. Any error is answered
 * with its message. No `Deno.*`: Web APIs only, or Node's worker threads through
 * `src/runtime/workers.ts`.
 *
 * @module
 */

import { RunnerCore } from "./core.ts";
import type { FromRunner, ToRunner } from "./protocol.ts";
import { workerScope } from "../runtime/workers.ts";

interface RunnerScope {
  onmessage: ((e: MessageEvent<ToRunner>) => void) | null;
  postMessage(message: FromRunner, transfer?: Transferable[]): void;
}

// Web Workers: globalThis; Node's worker threads: parentPort behind the same API.
const scope = await workerScope() as unknown as RunnerScope;
let core: RunnerCore | undefined;
// Messages are handled one at a time, in order.
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (e: MessageEvent<ToRunner>) => {
  const m = e.data;
  queue = queue.then(async () => {
    try {
      if (m.type === "init") {
        const source = `Runner module ${m.runnerModule}`;
        const mod = await import(m.runnerModule) as { config?: unknown };
        core = await RunnerCore.create(m, mod.config, { source });
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
