/**
 * The runtime adapter of the env runners' workers: Deno and browsers have Web Workers (a global
 * `Worker`; in the worker, `onmessage` and `postMessage` on `globalThis`), Node (20 and newer)
 * has `node:worker_threads` instead (a `Worker` class with `on("message")`, and `parentPort` in
 * the worker). {@linkcode startWorker} and {@linkcode workerScope} give the runner pool
 * (`src/runners/pool.ts`) and the runner (`src/runners/worker.ts`) the Web API on either: the
 * same runner code runs in both. `node:worker_threads` is imported lazily, only where there is
 * no Web Worker API (so browsers never load it).
 *
 * @module
 */

/** What a runner worker needs of its global scope (the Web Worker API). */
export interface WorkerScope {
  /** Receives the trainer's messages (`e.data`). */
  onmessage: ((e: MessageEvent) => void) | null;
  /**
   * Posts a message to the trainer.
   * @param message the message
   * @param transfer the buffers to transfer
   */
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

/** The subset of Node's `worker_threads.Worker` the adapter uses. */
interface NodeWorker {
  on(event: "message", f: (data: unknown) => void): void;
  on(event: "error", f: (e: Error) => void): void;
  on(event: "messageerror", f: (e: Error) => void): void;
  postMessage(message: unknown, transfer?: readonly Transferable[]): void;
  terminate(): Promise<number>;
}

/**
 * A Node worker thread behind the part of the Web `Worker` API the runner pool uses:
 * `onmessage` (an event with `data`), `onerror` (an event with `message` and
 * `preventDefault()`), `onmessageerror`, `postMessage(message, transfer)` and `terminate()`.
 */
class NodeWorkerAdapter {
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  onmessageerror: ((e: MessageEvent) => void) | null = null;
  readonly #w: NodeWorker;

  constructor(w: NodeWorker) {
    this.#w = w;
    w.on("message", (data) => this.onmessage?.({ data } as MessageEvent));
    w.on("error", (e) => {
      this.onerror?.({ message: e.message, error: e, preventDefault() {} } as ErrorEvent);
    });
    w.on("messageerror", (e) => this.onmessageerror?.({ data: e } as MessageEvent));
  }

  postMessage(message: unknown, transfer: Transferable[] = []): void {
    this.#w.postMessage(message, transfer);
  }

  terminate(): void {
    this.#w.terminate().catch(() => {});
  }
}

/**
 * Starts a module worker: a Web Worker (`new Worker(url, { type: "module" })`) where the
 * runtime has one, else a Node worker thread (`node:worker_threads`) behind the same API.
 * @param url the worker module's URL (a `file:` URL under Node)
 * @param opts `node: true` uses `node:worker_threads` even where a Web `Worker` exists (tests)
 * @returns the worker
 */
export async function startWorker(url: URL, opts: { node?: boolean } = {}): Promise<Worker> {
  // A Web Worker is an EventTarget; tfjs's threaded build may install Node's `Worker` (an
  // EventEmitter) on globalThis under Node, which is not one.
  const W = (globalThis as { Worker?: new (url: URL) => unknown }).Worker;
  if (typeof W === "function" && "addEventListener" in W.prototype && opts.node !== true) {
    return new Worker(url, { type: "module" });
  }
  const wt = await import("node:worker_threads");
  return new NodeWorkerAdapter(new wt.Worker(url) as unknown as NodeWorker) as unknown as Worker;
}

/**
 * The worker's side: `globalThis` where it has the Web Worker API (Deno, browsers), else (a
 * Node worker thread) an object whose `onmessage` receives `parentPort`'s messages as events
 * and whose `postMessage` posts on `parentPort`.
 * @returns the scope
 * @throws {Error} when this is neither a Web Worker nor a Node worker thread
 */
export async function workerScope(): Promise<WorkerScope> {
  const g = globalThis as unknown as Partial<WorkerScope>;
  if (typeof g.postMessage === "function") return g as WorkerScope;
  const { parentPort } = await import("node:worker_threads");
  if (parentPort === null) throw new Error("workerScope: not in a worker");
  const scope: WorkerScope = {
    onmessage: null,
    postMessage: (message, transfer) =>
      parentPort.postMessage(message, (transfer ?? []) as readonly ArrayBuffer[]),
  };
  parentPort.on("message", (data: unknown) => scope.onmessage?.({ data } as MessageEvent));
  return scope;
}
