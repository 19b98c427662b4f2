/**
 * The trainer's side of remote env runners: {@linkcode RemoteRunnerPool} initialises one HTTP
 * runner per URL (`http_runner.ts`, e.g. in workerd) with its index and seeds, and fans each
 * fragment request out to all of them.
 *
 * Failures: a runner whose request fails at the transport (connection refused or reset, an
 * HTTP status that is not the runner's own answer) or takes longer than `timeoutMs` is counted
 * lost, and its request is re-issued to a live runner, which samples
 * one more fragment from its own envs (its requests queue: a runner handles one at a time).
 * Each request carries its own id and a fragment fills its slot only once, so an answer that
 * arrives after its request was given up (late, or from a lost runner) is dropped: no fragment
 * is counted twice, none is missing. Episodes in progress on a lost runner are lost with it
 * (never counted). When every runner is lost, the request rejects naming each runner and why.
 *
 * Restarts (RLlib's `restart_failed_env_runners`): once `restartDelayMs` has passed since a
 * runner was lost, the next `sample` tries to re-initialise it in the background (`POST /init`
 * with the policies added since, as at the start); if that succeeds it is used again from the
 * following request on, with fresh envs seeded with the seeds of its next generation
 * (`runnerSeeds(seed, r, generation)`) and the current weights, else it is tried again after
 * another delay. Nothing waits for a restart; past `maxRestarts` restarts in all, lost runners
 * stay lost.
 * A failure of the runner's own code (a bad action, an env error; answered 500 with the
 * `x-coop-runner-error` header) rejects the request with the runner's message and fails the
 * pool, as with Web Workers: another runner would fail the same way. With
 * `restartOnRunnerError` it counts as a lost runner instead (re-issued, restarted later); when
 * every runner has failed, the request rejects naming each one's message.
 *
 * Checkpoints: `saveStates` saves each live runner's state (an empty state for a lost one);
 * `restoreStates` re-initialises every runner (so a runner that came back is used again) and
 * restores the states it has (a runner with an empty state starts from fresh envs).
 *
 * @module
 */

import { decodeMessage, encodeMessage } from "./codec.ts";
import type { EnvRunnerPool, RunnerInit } from "./pool.ts";
import {
  type ErrorMessage,
  type FragmentMessage,
  type InitMessage,
  type PolicySpaces,
  type PolicyUpdate,
  RUNNER_CONTENT_TYPE,
  RUNNER_ERROR_HEADER,
  runnerSeeds,
  type SampleMessage,
  type StateReply,
} from "./protocol.ts";

/** Options of {@linkcode RemoteRunnerPool.start}. */
export interface RemoteRunnerOptions {
  /** How long one request may take before its runner counts as lost, in ms. */
  timeoutMs: number;
  /**
   * How long after a runner was lost (or last failed to restart) the pool tries to restart it,
   * in ms (default `Infinity`: never).
   */
  restartDelayMs?: number;
  /**
   * Treat a failure of the runner's own code (a bad action, an env error) as a lost runner: its
   * request is re-issued to another and it is restarted like a lost one (default false: the pool
   * fails with the runner's message).
   */
  restartOnRunnerError?: boolean;
  /** Restarts allowed in all (default `Infinity`); past it a lost runner stays lost. */
  maxRestarts?: number;
  /** The `fetch` to use (default: the global one; tests pass a fake). */
  fetch?: typeof fetch;
}

/** A lost runner. */
export interface LostRunner {
  /** Its index. */
  runner: number;
  /** Its URL. */
  url: string;
  /** Why it counts as lost. */
  reason: string;
}

/** What happened to the pool's requests so far. */
export interface RemoteRunnerStats {
  /** Runners not lost. */
  healthy: number;
  /** Requests re-issued to another runner after theirs was lost. */
  reissued: number;
  /** Answers dropped because their request had been given up. */
  droppedLate: number;
  /** Lost runners restarted and used again. */
  restarts: number;
  /** The lost runners. */
  lost: LostRunner[];
}

/** A transport failure: the runner counts as lost. */
class Lost extends Error {}

/** The runner's own failure: the pool fails. */
class RunnerFailed extends Error {
  /** The runner's message alone. */
  readonly runnerMessage: string;
  constructor(message: string, runnerMessage: string) {
    super(message);
    this.runnerMessage = runnerMessage;
  }
}

interface Remote {
  url: string;
  alive: boolean;
  /** Requests are sent one at a time: the tail of its queue. */
  tail: Promise<unknown>;
  /** Requests queued or in flight. */
  load: number;
  /** The weights version it answered a fragment with. */
  version: number | undefined;
  /** When it was lost or last failed to restart (`performance.now()`). */
  lostAt: number;
  /** A restart is under way. */
  restarting: boolean;
  /** Its restarts so far: it is initialised with the seeds of this generation. */
  generation: number;
}

function trimSlash(u: string): string {
  return u.endsWith("/") ? u.slice(0, -1) : u;
}

/** A pool of remote (HTTP) env runners. */
export class RemoteRunnerPool implements EnvRunnerPool {
  /** Number of runners (fragments per `sample`, whatever runners are lost). */
  readonly numRunners: number;
  readonly #remotes: Remote[];
  readonly #init: RunnerInit;
  readonly #timeoutMs: number;
  readonly #restartDelayMs: number;
  readonly #restartOnError: boolean;
  readonly #maxRestarts: number;
  readonly #fetch: typeof fetch;
  readonly #controllers = new Set<AbortController>();
  readonly #lost: LostRunner[] = [];
  #nextId = 1;
  #version = 0;
  #reissued = 0;
  #droppedLate = 0;
  #restarts = 0;
  #failed: Error | undefined;
  #terminated = false;

  private constructor(urls: readonly string[], init: RunnerInit, opts: RemoteRunnerOptions) {
    this.numRunners = urls.length;
    this.#remotes = urls.map((u) => ({
      url: trimSlash(u),
      alive: true,
      tail: Promise.resolve(),
      load: 0,
      version: undefined,
      lostAt: 0,
      restarting: false,
      generation: 0,
    }));
    this.#init = { ...init };
    this.#timeoutMs = opts.timeoutMs;
    this.#restartDelayMs = opts.restartDelayMs ?? Infinity;
    this.#restartOnError = opts.restartOnRunnerError ?? false;
    this.#maxRestarts = opts.maxRestarts ?? Infinity;
    this.#fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /**
   * Initialises every runner (`POST /init`) and waits until each has built its env and
   * policies.
   * @param urls the runners' base URLs, one per runner
   * @param init what each is built from (the pool adds the index and the seeds)
   * @param opts the timeout, the `fetch`
   * @returns the pool
   * @throws {Error} naming the runner's URL and the reason when one cannot start
   */
  static async start(
    urls: readonly string[],
    init: RunnerInit,
    opts: RemoteRunnerOptions,
  ): Promise<RemoteRunnerPool> {
    if (urls.length === 0) throw new RangeError("RemoteRunnerPool: no runner URLs");
    const pool = new RemoteRunnerPool(urls, init, opts);
    const settled = await Promise.allSettled(pool.#remotes.map((_x, r) => pool.#initRunner(r)));
    const bad = settled.findIndex((s) => s.status === "rejected");
    if (bad >= 0) {
      pool.terminate();
      const why = (settled[bad] as PromiseRejectedResult).reason as Error;
      const message = why instanceof RunnerFailed ? why.runnerMessage : why.message;
      throw new Error(
        `Remote env runner ${bad} (${pool.#remotes[bad]!.url}) could not start: ${message}`,
      );
    }
    return pool;
  }

  /**
   * What happened so far: healthy runners, re-issued requests, dropped answers, lost runners.
   * @returns the counts
   */
  stats(): RemoteRunnerStats {
    return {
      healthy: this.#remotes.filter((x) => x.alive).length,
      reissued: this.#reissued,
      droppedLate: this.#droppedLate,
      restarts: this.#restarts,
      lost: this.#lost.map((x) => ({ ...x })),
    };
  }

  /**
   * Lost runners restarted and used again so far.
   * @returns the count
   */
  restarts(): number {
    return this.#restarts;
  }

  async #initRunner(r: number): Promise<void> {
    const msg: InitMessage = {
      type: "init",
      runner: r,
      ...runnerSeeds(this.#init.seed, r, this.#remotes[r]!.generation),
      ...this.#init,
    };
    const reply = await this.#post(r, "/init", msg);
    if ((reply as { type?: string }).type !== "ready") {
      throw new Lost(`answered ${JSON.stringify((reply as { type?: string }).type)} to /init`);
    }
    this.#remotes[r]!.version = undefined;
  }

  /**
   * Sends one message and decodes the answer, within the timeout.
   * @throws {Lost} on a transport failure or timeout; {RunnerFailed} on the runner's own error
   */
  async #post(r: number, path: string, msg: unknown): Promise<unknown> {
    const x = this.#remotes[r]!;
    const ctl = new AbortController();
    this.#controllers.add(ctl);
    let timer: ReturnType<typeof setTimeout> | undefined, timedOut = false;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new Lost(`no answer to ${path} within ${this.#timeoutMs} ms`));
        ctl.abort();
      }, this.#timeoutMs);
    });
    try {
      const answer = (async () => {
        let res: Response;
        try {
          res = await this.#fetch(`${x.url}${path}`, {
            method: "POST",
            headers: { "content-type": RUNNER_CONTENT_TYPE },
            body: encodeMessage(msg),
            signal: ctl.signal,
          });
        } catch (e) {
          throw new Lost(`${path} failed: ${(e as Error).message}`);
        }
        let body: Uint8Array;
        try {
          body = new Uint8Array(await res.arrayBuffer());
        } catch (e) {
          throw new Lost(`${path}: the answer broke off: ${(e as Error).message}`);
        }
        if (res.status === 200) return decodeMessage(body);
        let m: ErrorMessage | undefined;
        try {
          m = decodeMessage(body) as ErrorMessage;
        } catch {
          m = undefined;
        }
        if (res.status === 500 && res.headers.get(RUNNER_ERROR_HEADER) === "1" && m) {
          const err = new RunnerFailed(
            `Remote env runner ${r} (${x.url}): ${m.message}`,
            m.message,
          );
          if (m.stack !== undefined) {
            err.stack = `${err.message}\n--- in the runner ---\n${m.stack}`;
          }
          throw err;
        }
        const detail = m?.message ??
          new TextDecoder().decode(body.subarray(0, 200)).replace(/\s+/g, " ");
        throw new Lost(
          res.status === 409
            ? `lost its state (${path} answered 409: ${detail})`
            : `${path} answered HTTP ${res.status}: ${detail}`,
        );
      })();
      // An answer after the timeout is dropped (counted); a rejection then is not unhandled.
      answer.then(() => {
        if (timedOut) this.#droppedLate++;
      }, () => {});
      return await Promise.race([answer, timeout]);
    } finally {
      clearTimeout(timer);
      this.#controllers.delete(ctl);
    }
  }

  /** Queues `fn` behind the runner's other requests. */
  #enqueue<T>(r: number, fn: () => Promise<T>): Promise<T> {
    const x = this.#remotes[r]!;
    x.load++;
    const run = x.tail.then(fn, fn);
    x.tail = run.catch(() => {}).finally(() => x.load--);
    return run;
  }

  #markLost(r: number, reason: string): void {
    const x = this.#remotes[r]!;
    if (!x.alive) return;
    x.alive = false;
    x.lostAt = performance.now();
    this.#lost.push({ runner: r, url: x.url, reason });
  }

  /** Starts a restart of each lost runner whose delay has passed (see the module doc). */
  #restartLost(): void {
    const now = performance.now();
    this.#remotes.forEach((x, r) => {
      if (x.alive || x.restarting || now - x.lostAt < this.#restartDelayMs) return;
      if (this.#restarts >= this.#maxRestarts) return;
      x.restarting = true;
      this.#enqueue(r, () => {
        x.generation++;
        return this.#initRunner(r);
      }).then(() => {
        x.restarting = false;
        if (this.#terminated || this.#failed !== undefined) return;
        x.alive = true;
        this.#restarts++;
        const i = this.#lost.findIndex((l) => l.runner === r);
        if (i >= 0) this.#lost.splice(i, 1);
      }, (e: Error) => {
        x.restarting = false;
        x.lostAt = performance.now();
        if (e instanceof RunnerFailed) this.#failed ??= e;
      });
    });
  }

  #allLostError(): Error {
    return new Error(
      `All ${this.numRunners} remote env runners are lost: ${
        this.#lost.map((l) => `${l.runner} (${l.url}): ${l.reason}`).join("; ")
      }`,
    );
  }

  /** The runner for a slot: its own when alive, else the live one with the least queued. */
  #pick(slot: number): number | undefined {
    if (this.#remotes[slot]?.alive) return slot;
    let best: number | undefined;
    this.#remotes.forEach((x, r) => {
      if (x.alive && (best === undefined || x.load < this.#remotes[best]!.load)) best = r;
    });
    return best;
  }

  /**
   * Asks every runner for one fragment; a lost runner's request is re-issued to a live one.
   * @param timesteps env steps sampled so far (the learners' schedules)
   * @param weights per policy, the weights to sample with (null: unchanged); sent to a runner
   *   that does not hold them yet
   * @param spaces per policy, its spaces when built on the trainer
   * @returns `numRunners` fragments, in slot order
   */
  sample(
    timesteps: number,
    weights: (Float32Array | null)[],
    spaces: (PolicySpaces | null)[],
  ): Promise<FragmentMessage[]> {
    if (this.#terminated) return Promise.reject(new Error("The env runners were terminated"));
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    this.#restartLost();
    const version = ++this.#version;
    // Copies: the trainer may overwrite its buffers once this call returns.
    const sent = weights.map((w) => w === null ? null : w.slice());
    const none = weights.map(() => null);
    const N = this.numRunners;
    const parts: (FragmentMessage | undefined)[] = new Array(N);
    return new Promise((resolve, reject) => {
      let left = N, done = false;
      const finish = (e?: Error) => {
        if (done) return;
        done = true;
        if (e === undefined) resolve(parts as FragmentMessage[]);
        else reject(e);
      };
      const assign = (slot: number) => {
        const r = this.#pick(slot);
        if (r === undefined) return finish(this.#allLostError());
        const id = this.#nextId++;
        this.#enqueue(r, async () => {
          const x = this.#remotes[r]!;
          if (this.#terminated) throw new Error("The env runners were terminated");
          if (!x.alive) throw new Lost("lost before its turn");
          if (done) return undefined;
          const omit = x.version === version;
          const msg: SampleMessage = {
            type: "sample",
            id,
            timesteps,
            weights: omit ? none : sent,
            spaces,
            weightsVersion: version,
            weightsOmitted: omit,
          };
          const reply = await this.#post(r, "/sample", msg) as FragmentMessage;
          if (reply.type !== "fragment" || reply.id !== id) {
            throw new Lost(
              `answered ${reply.type} ${reply.id} to sample request ${id} (a mixed-up answer)`,
            );
          }
          x.version = version;
          return reply;
        }).then((reply) => {
          if (reply === undefined) return;
          if (done || parts[slot] !== undefined) {
            this.#droppedLate++;
            return;
          }
          parts[slot] = reply;
          if (--left === 0) finish();
        }, (e: Error) => {
          if (e instanceof RunnerFailed && !this.#restartOnError) {
            this.#failed ??= e;
            return finish(e);
          }
          if (this.#terminated) return finish(new Error("The env runners were terminated"));
          this.#markLost(r, e instanceof RunnerFailed ? `failed: ${e.runnerMessage}` : e.message);
          if (done || parts[slot] !== undefined) return;
          this.#reissued++;
          assign(slot);
        });
      };
      for (let slot = 0; slot < N; slot++) assign(slot);
    });
  }

  /**
   * Each runner's state (`POST /save`); a lost runner's (or one lost while saving) is empty.
   * @returns the states, in runner order
   */
  async saveStates(): Promise<Uint8Array[]> {
    if (this.#failed !== undefined) throw this.#failed;
    return await Promise.all(this.#remotes.map(async (x, r) => {
      if (!x.alive) return new Uint8Array(0);
      try {
        const reply = await this.#enqueue(r, () => this.#post(r, "/save", { type: "save", id: 0 }));
        return (reply as StateReply).bytes;
      } catch (e) {
        if (e instanceof RunnerFailed) throw e;
        this.#markLost(r, (e as Error).message);
        return new Uint8Array(0);
      }
    }));
  }

  /**
   * Re-initialises every runner and restores the states it has (an empty state: fresh envs).
   * A runner that does not answer counts as lost; when all are, this rejects.
   * @param states one per runner, in runner order
   */
  async restoreStates(states: readonly Uint8Array[]): Promise<void> {
    if (states.length !== this.numRunners) {
      throw new RangeError(`${states.length} runner states for ${this.numRunners} runners`);
    }
    this.#lost.length = 0;
    await Promise.all(this.#remotes.map(async (x, r) => {
      x.alive = true;
      try {
        await this.#enqueue(r, async () => {
          await this.#initRunner(r);
          if (states[r]!.length > 0) {
            await this.#post(r, "/restore", { type: "restore", id: 0, bytes: states[r] });
          }
        });
      } catch (e) {
        if (e instanceof RunnerFailed) throw e;
        this.#markLost(r, (e as Error).message);
      }
    }));
    if (this.#remotes.every((x) => !x.alive)) throw this.#allLostError();
  }

  /**
   * Adds or removes a policy in every live runner (queued behind its earlier requests); a
   * runner that does not answer counts as lost. The update is also kept for re-initialisations
   * (`restoreStates`), which replay every update in order.
   * @param u the update
   */
  async updatePolicies(u: PolicyUpdate): Promise<void> {
    if (this.#terminated) throw new Error("The env runners were terminated");
    if (this.#failed !== undefined) throw this.#failed;
    this.#init.policyUpdates = [...(this.#init.policyUpdates ?? []), u];
    await Promise.all(this.#remotes.map(async (x, r) => {
      if (!x.alive) return;
      try {
        await this.#enqueue(r, () => {
          if (!x.alive) throw new Lost("lost before its turn");
          return this.#post(r, "/policies", { type: "policies", id: this.#nextId++, ...u });
        });
      } catch (e) {
        if (e instanceof RunnerFailed) {
          this.#failed ??= e;
          throw e;
        }
        this.#markLost(r, (e as Error).message);
      }
    }));
    if (this.#remotes.every((x) => !x.alive)) throw this.#allLostError();
  }

  /** Aborts every request in flight; pending and later requests reject. */
  terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    for (const c of this.#controllers) c.abort();
    this.#controllers.clear();
  }
}
