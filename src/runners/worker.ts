/**
 * One env runner, the module a Web Worker runs (`new Worker(url, { type: "module" })`). On
 * `init` it imports the user's runner module and builds a {@linkcode RunnerCore} from its
 * `config` (an `AlgorithmConfig` or a function of `runnerArgs` returning one); on `sample` the
 * core collects and post-processes one fragment, answered with compact per-policy batches (their
 * typed arrays transferred) and the fragment's finished episodes; `save` and `restore` move the
 * core's state. Any error is answered with its message. No `Deno.*`: Web APIs only.
 *
 * @module
 */

import { RunnerCore } from "./core.ts";
import type { FromRunner, ToRunner } from "./protocol.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToRunner>) => void) | null;
  postMessage(message: FromRunner, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
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
