/**
 * The trainer's side of the env runners: starts `numEnvRunners` module Web Workers
 * (`worker.ts`), initialises each with its index and seeds, and asks all of them for a fragment
 * at once; the answers come back in runner order. A runner's failure (its module does not load,
 * a bad action, an env error, an uncaught error in the worker) rejects the request with the
 * runner's message; `terminate()` ends every worker. Web Workers in Deno and browsers; Node's
 * worker threads through the runtime adapter (`src/runtime/workers.ts`).
 *
 * Restarts (RLlib's `restart_failed_env_runners`, opt-in with `maxRestarts`): a runner that fails
 * (an error answering a sample request, or an uncaught error in its worker, between requests too) is
 * replaced by a fresh worker in its slot, initialised as at the start but with
 * the seeds of its next generation (`runnerSeeds(seed, r, generation)`: other episodes, so an
 * error that depends on the episode is not met again at once), given the policies added or
 * removed since, and sent again every request it had not answered; the request then completes
 * as if nothing had happened, with the fragment of the new worker. Episodes in progress on the
 * failed runner are lost (never counted). After `maxRestarts` restarts in all, a failure rejects
 * as without restarts. Failures of a policy update, or while saving or restoring state, are
 * never retried.
 *
 * @module
 */

import {
  type ErrorMessage,
  type FragmentMessage,
  type FromRunner,
  type InitMessage,
  type PolicySpaces,
  type PolicyUpdate,
  runnerSeeds,
  type StateReply,
  type ToRunner,
} from "./protocol.ts";

/** A request to a runner (every message but `init`: each carries its id). */
type RequestMessage = Exclude<ToRunner, InitMessage>;

/** What every runner is initialised with (the pool adds the index and the seeds). */
export type RunnerInit = Omit<InitMessage, "type" | "runner" | "envSeed" | "collectorSeed">;

interface Pending {
  /** The one runner asked, or undefined for all. */
  only: number | undefined;
  /** The message (the same for every runner asked), to send again to a restarted runner. */
  msg: RequestMessage;
  /** Which runners answered (by runner index). */
  answered: boolean[];
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
  /**
   * Runners restarted so far (replaced after a failure, or lost and back).
   * @returns the count
   */
  restarts(): number;
  /** Ends the runners (or the connections to them); pending and later requests reject. */
  terminate(): void;
}

/** Options of {@linkcode RunnerPool.start}. */
export interface RunnerPoolOptions {
  /** The worker script to run (default: the package's `worker.ts`). */
  runnerWorker?: string;
  /**
   * How many times in all a failed runner may be replaced by a fresh one (default 0: a failure
   * rejects the request and fails the pool).
   */
  maxRestarts?: number;
}

/** A pool of env runners in Web Workers. */
export class RunnerPool implements EnvRunnerPool {
  /** Number of runners. */
  readonly numRunners: number;
  readonly #workers: Worker[];
  readonly #init: RunnerInit;
  readonly #url: URL;
  readonly #maxRestarts: number;
  readonly #pending = new Map<number, Pending>();
  /** Policy updates posted so far, in order (replayed on restart). */
  readonly #updates: RequestMessage[] = [];
  /** Per runner: its generation (restarts of its slot). */
  readonly #generation: number[];
  /** Per runner: a replacement is starting; messages wait in its backlog. */
  readonly #backlog: (ToRunner[] | undefined)[];
  #restarts = 0;
  #nextId = 1;
  #failed: Error | undefined;
  #terminated = false;

  private constructor(workers: Worker[], init: RunnerInit, url: URL, maxRestarts: number) {
    this.numRunners = workers.length;
    this.#workers = workers;
    this.#init = init;
    this.#url = url;
    this.#maxRestarts = maxRestarts;
    this.#generation = workers.map(() => 0);
    this.#backlog = workers.map(() => undefined);
    workers.forEach((w, r) => this.#listen(w, r));
  }

  /**
   * Starts the runners and waits until each has built its env and policies.
   * @param numRunners how many
   * @param init what each is built from
   * @param opts the worker script, the restarts allowed
   * @returns the pool
   * @throws {Error} with the runner's message when one fails to start (all are terminated)
   */
  static async start(
    numRunners: number,
    init: RunnerInit,
    opts: RunnerPoolOptions = {},
  ): Promise<RunnerPool> {
    const maxRestarts = opts.maxRestarts ?? 0;
    if (!(Number.isInteger(maxRestarts) && maxRestarts >= 0)) {
      throw new RangeError(
        `RunnerPool: maxRestarts must be an integer >= 0, got ${opts.maxRestarts}`,
      );
    }
    const url = opts.runnerWorker === undefined
      // The literal `new URL("./worker.ts", import.meta.url)` is what the npm build rewrites
      // to its bundled worker entry (scripts/build_npm.ts).
      ? new URL("./worker.ts", import.meta.url)
      : new URL(opts.runnerWorker);
    try {
      structuredClone(RunnerPool.#initOf(init, 0, 0));
    } catch (e) {
      throw new Error(
        `Env runners: the settings cannot be sent to a worker (per-policy overrides, envConfig, training params and runnerArgs must be structured-cloneable): ${
          (e as Error).message
        }`,
      );
    }
    const workers: Worker[] = [];
    for (let r = 0; r < numRunners; r++) workers.push(await RunnerPool.#startWorker(url));
    const settled = await Promise.allSettled(
      workers.map((w, r) => RunnerPool.#handshake(w, RunnerPool.#initOf(init, r, 0), [])),
    );
    const bad = settled.find((s) => s.status === "rejected");
    if (bad !== undefined) {
      for (const w of workers) w.terminate();
      throw (bad as PromiseRejectedResult).reason;
    }
    return new RunnerPool(workers, init, url, maxRestarts);
  }

  static async #startWorker(url: URL): Promise<Worker> {
    // The adapter is loaded lazily (the runtime rule: only src/runtime/ touches runtime APIs,
    // reached through dynamic imports so bundles for other runtimes never evaluate it).
    const { startWorker } = await import("../runtime/workers.ts");
    return await startWorker(url);
  }

  static #initOf(init: RunnerInit, r: number, generation: number): InitMessage {
    return { type: "init", runner: r, ...runnerSeeds(init.seed, r, generation), ...init };
  }

  /**
   * Sends `init` once the runner listens (a browser drops what reaches a module worker before
   * its handler exists), then the policy updates to replay, and resolves when all are done.
   */
  static #handshake(w: Worker, init: InitMessage, updates: readonly ToRunner[]): Promise<void> {
    const r = init.runner;
    return new Promise<void>((resolve, reject) => {
      let left = updates.length;
      w.onmessage = (e: MessageEvent<FromRunner>) => {
        const m = e.data;
        if (m.type === "listening") w.postMessage(init);
        else if (m.type === "ready") {
          for (const u of updates) w.postMessage(u);
          if (left === 0) resolve();
        } else if (m.type === "state" && --left === 0) resolve();
        else if (m.type === "error") {
          reject(new Error(`Env runner ${r} could not start: ${m.message}`));
        }
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        reject(new Error(`Env runner ${r} could not start: ${e.message}`));
      };
    });
  }

  #listen(w: Worker, r: number): void {
    // A worker being replaced (or replaced) is not listened to: nothing it still sends counts.
    const current = () => this.#workers[r] === w && this.#backlog[r] === undefined;
    w.onmessage = (e: MessageEvent<FromRunner>) => {
      if (current()) this.#onMessage(r, e.data);
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      if (current()) this.#runnerFailed(r, undefined, `failed: ${e.message}`);
    };
    w.onmessageerror = () => {
      if (current()) this.#runnerFailed(r, undefined, "sent a message that could not be read");
    };
  }

  /**
   * Restarts so far: runners replaced by fresh ones after a failure.
   * @returns the count
   */
  restarts(): number {
    return this.#restarts;
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
    await this.#request((id) => {
      const msg: RequestMessage = { type: "policies", id, ...u };
      this.#updates.push(msg);
      return msg;
    });
  }

  /** Posts one message (to every runner, or to one) and gathers the answers in runner order. */
  #request(
    make: (id: number) => RequestMessage,
    only?: number,
  ): Promise<(FragmentMessage | StateReply)[]> {
    if (this.#terminated) return Promise.reject(new Error("The env runners were terminated"));
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    const targets = only === undefined ? this.#workers.map((_w, r) => r) : [only];
    return new Promise((resolve, reject) => {
      const msg = make(id);
      this.#pending.set(id, {
        only,
        msg,
        answered: this.#workers.map(() => false),
        parts: [],
        left: targets.length,
        resolve,
        reject,
      });
      try {
        for (const r of targets) this.#post(r, msg);
      } catch (e) {
        this.#pending.delete(id);
        reject(e);
      }
    });
  }

  /** Posts to a runner, or queues the message while its replacement starts. */
  #post(r: number, msg: ToRunner): void {
    const backlog = this.#backlog[r];
    if (backlog !== undefined) backlog.push(msg);
    else this.#workers[r]!.postMessage(msg);
  }

  #onMessage(r: number, m: FromRunner): void {
    if (m.type === "fragment" || m.type === "state") {
      const p = this.#pending.get(m.id);
      if (p === undefined || p.answered[r]) return;
      p.answered[r] = true;
      p.parts[p.only === undefined ? r : 0] = m;
      if (--p.left === 0) {
        this.#pending.delete(m.id);
        p.resolve(p.parts as (FragmentMessage | StateReply)[]);
      }
    } else if (m.type === "error") {
      this.#runnerFailed(r, m, m.message);
    }
  }

  /**
   * A runner failed (its error message, or an error event of its worker): restarted when that
   * is allowed and no state request is waiting on it, else the pool fails.
   */
  #runnerFailed(r: number, m: ErrorMessage | undefined, why: string): void {
    if (this.#failed !== undefined) return; // the pool failed already: nothing is retried
    const err = new Error(m === undefined ? `Env runner ${r} ${why}` : `Env runner ${r}: ${why}`);
    if (m?.stack !== undefined) err.stack = `${err.message}\n--- in the runner ---\n${m.stack}`;
    const waiting = [...this.#pending.values()].filter((p) =>
      (p.only === undefined || p.only === r) && !p.answered[r]
    );
    // Only sampling is retried: a failed policy update or state request would fail again.
    const failed = m?.id === undefined ? undefined : this.#pending.get(m.id);
    const notSampling = failed !== undefined && failed.msg.type !== "sample";
    const stateAsked = waiting.some((p) => p.msg.type === "save" || p.msg.type === "restore");
    if (this.#restarts >= this.#maxRestarts || stateAsked || notSampling || this.#terminated) {
      if (this.#maxRestarts > 0 && !stateAsked && !notSampling) {
        err.message += ` (after ${this.#restarts} env runner restarts, the most allowed)`;
      }
      return this.#fail(err);
    }
    this.#restarts++;
    this.#restart(r, waiting);
  }

  /** Replaces runner `r` by a fresh worker and sends it the requests it had not answered. */
  #restart(r: number, waiting: Pending[]): void {
    const old = this.#workers[r]!;
    old.terminate();
    const gen = ++this.#generation[r]!;
    const unanswered = new Set(waiting.map((p) => p.msg.id));
    // Updates it has not answered are sent again below, in order, with the other requests.
    const replay = this.#updates.filter((u) => !unanswered.has(u.id));
    const resend = waiting.sort((a, b) => a.msg.id - b.msg.id).map((p) => p.msg);
    this.#backlog[r] = resend;
    (async () => {
      let w: Worker | undefined;
      try {
        w = await RunnerPool.#startWorker(this.#url);
        if (this.#terminated) return w.terminate();
        this.#workers[r] = w;
        await RunnerPool.#handshake(w, RunnerPool.#initOf(this.#init, r, gen), replay);
      } catch (e) {
        this.#workers[r] = old; // not listened to: nothing of it is read
        w?.terminate();
        return this.#fail(
          new Error(`Env runner ${r} failed and could not be restarted: ${(e as Error).message}`),
        );
      }
      this.#listen(w, r);
      const backlog = this.#backlog[r]!;
      this.#backlog[r] = undefined;
      if (this.#terminated) return;
      for (const msg of backlog) w.postMessage(msg);
    })();
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
