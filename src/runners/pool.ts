/**
 * The trainer's side of the env runners: starts `numEnvRunners` module Web Workers
 * (`worker.ts`), initialises each with its index and seeds, and asks all of them for a fragment
 * at once; the answers come back in runner order. A runner's failure (its module does not load,
 * a bad action, an env error) rejects the request with the runner's message; `terminate()` ends
 * every worker. Web Workers in Deno and browsers; Node's worker threads through the runtime
 * adapter (`src/runtime/workers.ts`).
 *
 * @module
 */

import {
  type FragmentMessage,
  type FromRunner,
  type InitMessage,
  type PolicySpaces,
  type PolicyUpdate,
  runnerSeeds,
  type StateReply,
  type ToRunner,
} from "./protocol.ts";

/** What every runner is initialised with (the pool adds the index and the seeds). */
export type RunnerInit = Omit<InitMessage, "type" | "runner" | "envSeed" | "collectorSeed">;

interface Pending {
  /** The one runner asked, or undefined for all. */
  only: number | undefined;
  parts: (FragmentMessage | StateReply | undefined)[];
  left: number;
  resolve: (f: (FragmentMessage | StateReply)[]) => void;
  reject: (e: Error) => void;
}

/**
 * What the trainer asks of its env runners, wherever they run: Web Workers
 * ({@linkcode RunnerPool}) or HTTP runners (`RemoteRunnerPool` in `remote_pool.ts`).
 */
export interface EnvRunnerPool {
  /** Number of runners (fragments per `sample`). */
  readonly numRunners: number;
  /**
   * Asks for one fragment per runner, all sampled with the same weights.
   * @param timesteps env steps sampled so far (the learners' schedules)
   * @param weights per policy, the weights to sample with (null: unchanged)
   * @param spaces per policy, its spaces when built on the trainer
   * @returns `numRunners` fragments, in runner order
   */
  sample(
    timesteps: number,
    weights: (Float32Array | null)[],
    spaces: (PolicySpaces | null)[],
  ): Promise<FragmentMessage[]>;
  /**
   * Each runner's state, for checkpoints.
   * @returns the states, in runner order
   */
  saveStates(): Promise<Uint8Array[]>;
  /**
   * Restores each runner's state.
   * @param states one per runner, in runner order
   */
  restoreStates(states: readonly Uint8Array[]): Promise<void>;
  /**
   * Adds or removes a policy in every runner, after the requests sent before (and before those
   * sent after): `Algorithm.addPolicy`/`removePolicy` with runners.
   * @param u the update
   */
  updatePolicies(u: PolicyUpdate): Promise<void>;
  /** Ends the runners (or the connections to them); pending and later requests reject. */
  terminate(): void;
}

/** A pool of env runners in Web Workers. */
export class RunnerPool implements EnvRunnerPool {
  /** Number of runners. */
  readonly numRunners: number;
  readonly #workers: Worker[];
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #failed: Error | undefined;
  #terminated = false;

  private constructor(workers: Worker[]) {
    this.numRunners = workers.length;
    this.#workers = workers;
    workers.forEach((w, r) => {
      w.onmessage = (e: MessageEvent<FromRunner>) => this.#onMessage(r, e.data);
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        this.#fail(new Error(`Env runner ${r} failed: ${e.message}`));
      };
      w.onmessageerror = () => {
        this.#fail(new Error(`Env runner ${r} sent a message that could not be read`));
      };
    });
  }

  /**
   * Starts the runners and waits until each has built its env and policies.
   * @param numRunners how many
   * @param init what each is built from
   * @param runnerWorker the worker script to run (default: the package's `worker.ts`)
   * @returns the pool
   * @throws {Error} with the runner's message when one fails to start (all are terminated)
   */
  static async start(
    numRunners: number,
    init: RunnerInit,
    runnerWorker?: string,
  ): Promise<RunnerPool> {
    // The adapter is loaded lazily (the runtime rule: only src/runtime/ touches runtime APIs,
    // reached through dynamic imports so bundles for other runtimes never evaluate it).
    const { startWorker } = await import("../runtime/workers.ts");
    const workers: Worker[] = [];
    for (let r = 0; r < numRunners; r++) {
      // The literal `new URL("./worker.ts", import.meta.url)` is what the npm build rewrites
      // to its bundled worker entry (scripts/build_npm.ts).
      workers.push(
        await startWorker(
          runnerWorker === undefined
            ? new URL("./worker.ts", import.meta.url)
            : new URL(runnerWorker),
        ),
      );
    }
    const inits = workers.map((_w, r): InitMessage => ({
      type: "init",
      runner: r,
      ...runnerSeeds(init.seed, r),
      ...init,
    }));
    try {
      structuredClone(inits[0]);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw new Error(
        `Env runners: the settings cannot be sent to a worker (per-policy overrides, envConfig, training params and runnerArgs must be structured-cloneable): ${
          (e as Error).message
        }`,
      );
    }
    // Each runner says when it listens (a browser drops what reaches a module worker before its
    // handler exists); it gets its init then.
    const ready = workers.map((w, r) =>
      new Promise<void>((resolve, reject) => {
        w.onmessage = (e: MessageEvent<FromRunner>) => {
          if (e.data.type === "listening") w.postMessage(inits[r]);
          else if (e.data.type === "ready") resolve();
          else if (e.data.type === "error") {
            reject(new Error(`Env runner ${r} could not start: ${e.data.message}`));
          }
        };
        w.onerror = (e: ErrorEvent) => {
          e.preventDefault();
          reject(new Error(`Env runner ${r} could not start: ${e.message}`));
        };
      })
    );
    const settled = await Promise.allSettled(ready);
    const bad = settled.find((s) => s.status === "rejected");
    if (bad !== undefined) {
      for (const w of workers) w.terminate();
      throw (bad as PromiseRejectedResult).reason;
    }
    return new RunnerPool(workers);
  }

  /**
   * Asks every runner for one fragment, all sampling with the same weights.
   * @param timesteps env steps sampled so far (the learners' schedules)
   * @param weights per policy, the weights to sample with (null: unchanged); views of a
   *   `SharedArrayBuffer` reach every runner without a copy
   * @param spaces per policy, its spaces when built on the trainer
   * @returns the fragments, in runner order
   */
  sample(
    timesteps: number,
    weights: (Float32Array | null)[],
    spaces: (PolicySpaces | null)[],
  ): Promise<FragmentMessage[]> {
    return this.#request((id) => ({ type: "sample", id, timesteps, weights, spaces })) as Promise<
      FragmentMessage[]
    >;
  }

  /**
   * Each runner's state: a checkpoint of its own trainer (envs, collector, random streams).
   * @returns the states, in runner order
   */
  async saveStates(): Promise<Uint8Array[]> {
    const replies = await this.#request((id) => ({ type: "save", id })) as StateReply[];
    return replies.map((r) => r.bytes);
  }

  /**
   * Restores each runner's state (from {@linkcode RunnerPool.saveStates}).
   * @param states one per runner, in runner order
   */
  async restoreStates(states: readonly Uint8Array[]): Promise<void> {
    if (states.length !== this.numRunners) {
      throw new RangeError(`${states.length} runner states for ${this.numRunners} runners`);
    }
    await Promise.all(
      this.#workers.map((_w, r) =>
        this.#request((id) => ({ type: "restore", id, bytes: states[r]! }), r)
      ),
    );
  }

  /**
   * Adds or removes a policy in every runner (messages are handled in the order posted).
   * @param u the update
   */
  async updatePolicies(u: PolicyUpdate): Promise<void> {
    await this.#request((id) => ({ type: "policies", id, ...u }));
  }

  /** Posts one message (to every runner, or to one) and gathers the answers in runner order. */
  #request(
    make: (id: number) => ToRunner,
    only?: number,
  ): Promise<(FragmentMessage | StateReply)[]> {
    if (this.#terminated) return Promise.reject(new Error("The env runners were terminated"));
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    const targets = only === undefined ? this.#workers : [this.#workers[only]!];
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        only,
        parts: [],
        left: targets.length,
        resolve,
        reject,
      });
      try {
        for (const w of targets) w.postMessage(make(id));
      } catch (e) {
        this.#pending.delete(id);
        reject(e);
      }
    });
  }

  #onMessage(r: number, m: FromRunner): void {
    if (m.type === "fragment" || m.type === "state") {
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      p.parts[p.only === undefined ? r : 0] = m;
      if (--p.left === 0) {
        this.#pending.delete(m.id);
        p.resolve(p.parts as (FragmentMessage | StateReply)[]);
      }
    } else if (m.type === "error") {
      const err = new Error(`Env runner ${r}: ${m.message}`);
      if (m.stack !== undefined) err.stack = `${err.message}\n--- in the runner ---\n${m.stack}`;
      this.#fail(err);
    }
  }

  /** A runner's state is unknown after a failure: every request, now and later, rejects. */
  #fail(e: Error): void {
    this.#failed ??= e;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(e);
  }

  /** Ends every worker; pending and later requests reject. */
  terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    for (const w of this.#workers) w.terminate();
    this.#fail(new Error("The env runners were terminated"));
  }
}
