/**
 * The messages between the trainer (main thread) and its env runners (Web Workers, or remote
 * runners over HTTP), and the helpers both sides share: seeds per runner, concatenating
 * per-policy batches in runner order, and the transfer list of a batch. Plain data and typed
 * arrays only, so the same protocol works with Deno's and browsers' `Worker`, Node's worker
 * threads, and HTTP bodies (`codec.ts`).
 *
 * @module
 */

import type { BatchedEnv } from "../env/batched.ts";
import { EXTRA_COLUMNS, NO_INFO, type SampleBatch } from "../rollout/buffer.ts";
import { Pcg32 } from "../rng.ts";
import type { SpaceJSON } from "../train/checkpoint.ts";
import type { PostprocessedColumns } from "../train/learner.ts";
import type { NewEpisodes } from "./metrics.ts";

/** A policy's spaces, as the other side needs them to build it. */
export interface PolicySpaces {
  /** Observation space. */
  observationSpace: SpaceJSON;
  /** Action space. */
  actionSpace: SpaceJSON;
  /** The agent the spaces were inferred from, if they were. */
  inferredFrom: string | null;
}

/** The content type of runner messages over HTTP (`codec.ts` bodies). */
export const RUNNER_CONTENT_TYPE = "application/x-coop-runner";

/** The HTTP header marking an answer as the runner's own error (not the transport's). */
export const RUNNER_ERROR_HEADER = "x-coop-runner-error";

/** What the trainer sends a runner once. */
export interface InitMessage {
  /** Message kind. */
  type: "init";
  /** This runner's index (0-based). */
  runner: number;
  /** The trainer's algorithm (the runner's config must run the same). */
  family: string;
  /** The module exporting `config`. */
  runnerModule: string;
  /** Passed to `config` when it is a function. */
  runnerArgs: unknown;
  /** Envs of this runner. */
  numEnvs: number;
  /** Step calls per env per fragment. */
  rolloutFragmentLength: number;
  /** The env config. */
  envConfig: Record<string, unknown>;
  /** The training params (all policies). */
  training: Record<string, unknown>;
  /** Per-policy overrides, by policy id. */
  policyConfigs: Record<string, Record<string, unknown> | undefined>;
  /** The policy ids, in the trainer's order (the runner's config must declare the same). */
  policyIds: string[];
  /** The backend. */
  backend: { backend: "wasm" | "cpu"; threads: number };
  /** The run's seed (model initialisation). */
  seed: number;
  /** Seed of this runner's envs (env `i` is seeded from `(envSeed, i)`). */
  envSeed: number;
  /** Seed of this runner's action sampling. */
  collectorSeed: number;
  /**
   * The trainer's env, as {@linkcode envSignature} describes it: a runner whose env differs (a
   * remote runner serving another env, a stale deployment) refuses to start, naming both.
   */
  env?: string;
  /**
   * Policies added or removed since the trainer started (`addPolicy`/`removePolicy`), applied
   * in order once the runner is built: a remote runner re-initialised by `restore()` catches up.
   */
  policyUpdates?: PolicyUpdate[];
}

/**
 * A policy added to or removed from a running trainer (`Algorithm.addPolicy`/`removePolicy`),
 * as its env runners apply it. A function cannot be sent, so a runner that must change its
 * policy mapping rebuilds it from its module's `config(runnerArgs)` with the new `runnerArgs`.
 */
export interface PolicyUpdate {
  /** The policy added (its spaces: null when not known yet, inferred from its first agent). */
  add?: {
    /** Its id. */
    policyId: string;
    /** Its observation space. */
    observationSpace: SpaceJSON | null;
    /** Its action space. */
    actionSpace: SpaceJSON | null;
    /** Its per-policy overrides. */
    config?: Record<string, unknown>;
    /** `"random"`, or absent for a learning policy. */
    policyClass?: "random";
  };
  /** The policy removed (for new agents). */
  remove?: string;
  /**
   * The new `runnerArgs`: the runner calls its module's `config(runnerArgs)` and takes that
   * config's `policyMappingFn`; null keeps the runner's mapping.
   */
  mapping: { runnerArgs: unknown } | null;
  /** The policies that train after the update (the runner records rows for these). */
  policiesToTrain: string[];
}

/** The trainer adds or removes a policy ({@linkcode PolicyUpdate}); answered by a `StateReply`. */
export interface PoliciesMessage extends PolicyUpdate {
  /** Message kind. */
  type: "policies";
  /** Request id (echoed). */
  id: number;
}

/** The trainer asks for one fragment. */
export interface SampleMessage {
  /** Message kind. */
  type: "sample";
  /** Request id (echoed). */
  id: number;
  /** Env steps sampled so far by all runners (schedules, `beforeSample`). */
  timesteps: number;
  /** Per policy (trainer's order): the weights to sample with, or null to keep the runner's. */
  weights: (Float32Array | null)[];
  /** Per policy: its spaces when built on the trainer (null: not built there). */
  spaces: (PolicySpaces | null)[];
  /** The version of `weights` (remote runners: the runner remembers the one it holds). */
  weightsVersion?: number;
  /**
   * True when `weights` are left out because the runner already holds `weightsVersion` (a
   * runner holding another version answers with an error).
   */
  weightsOmitted?: boolean;
}

/** The trainer asks for a runner's state (a checkpoint of its trainer) or gives one back. */
export interface StateMessage {
  /** Message kind: `"save"` answers with the state, `"restore"` loads `bytes`. */
  type: "save" | "restore";
  /** Request id (echoed). */
  id: number;
  /** The state to restore (a checkpoint file's bytes). */
  bytes?: Uint8Array;
}

/** What the trainer can send a runner. */
export type ToRunner = InitMessage | SampleMessage | StateMessage | PoliciesMessage;

/** A runner is ready. */
export interface ReadyMessage {
  /** Message kind. */
  type: "ready";
}

/**
 * A runner worker listens: its first message, sent once its message handler is in place. The
 * trainer sends `init` only then, because a browser drops the messages that reach a module
 * worker while its top-level `await`s run (before it has a handler).
 */
export interface ListeningMessage {
  /** Message kind. */
  type: "listening";
}

/** One runner's fragment, post-processed. */
export interface FragmentMessage {
  /** Message kind. */
  type: "fragment";
  /** The request's id. */
  id: number;
  /** Env steps of the fragment. */
  envSteps: number;
  /** Agent steps of the fragment, per policy. */
  agentSteps: number[];
  /** Per policy: its closed, post-processed rows (null: the policy records nothing here). */
  batches: (PackedBatch | null)[];
  /** Per policy: its spaces when built on the runner. */
  built: (PolicySpaces | null)[];
  /** The episodes finished in the fragment. */
  episodes: NewEpisodes;
  /**
   * The custom metrics of the fragment's finished episodes (the env's episode metrics and
   * what the runner's callbacks wrote), as `[sum, min, max, count]` per name.
   */
  customMetrics: Record<string, number[]>;
  /** Seconds the runner spent sampling and post-processing. */
  seconds: number;
}

/** A runner failed (a bad action, an env error, a module that does not load...). */
export interface ErrorMessage {
  /** Message kind. */
  type: "error";
  /** The request that failed (undefined: initialisation or an uncaught error). */
  id: number | undefined;
  /** The error's message. */
  message: string;
  /** The error's stack, when known. */
  stack: string | undefined;
}

/** A runner's answer to a {@linkcode StateMessage} (or, empty, to a {@linkcode PoliciesMessage}). */
export interface StateReply {
  /** Message kind. */
  type: "state";
  /** The request's id. */
  id: number;
  /** The runner's state (`"save"`), or empty (`"restore"` done). */
  bytes: Uint8Array;
}

/** What a runner can send the trainer. */
export type FromRunner =
  | ListeningMessage
  | ReadyMessage
  | FragmentMessage
  | StateReply
  | ErrorMessage;

/**
 * What a runner and its trainer must agree on about the env: its class and its slot groups
 * with their spaces.
 * @param env the env
 * @returns a one-line description
 */
export function envSignature(env: BatchedEnv): string {
  return `${env.constructor.name} with groups [${
    env.groups.map((g) => `${g.name}: ${g.observationSpace} → ${g.actionSpace}`).join("; ")
  }]`;
}

/**
 * The seeds of runner `r` of a run seeded `seed`. As on the main thread, where the env and the
 * collector both take the run's seed, both take the runner's seed: the collector's first reset
 * seeds env `i` of the runner from `(runnerSeed, i)`, a function of `(seed, r, i)`, and its
 * action sampling starts from `runnerSeed`. A runner restarted after a failure takes the seed of
 * its next generation (the next number of the same stream), so it plays other episodes.
 * @param seed the run's seed
 * @param runner the runner's index
 * @param generation 0 for the runner started with the run, k after its k-th restart
 * @returns the env and action-sampling seeds
 */
export function runnerSeeds(
  seed: number,
  runner: number,
  generation = 0,
): { envSeed: number; collectorSeed: number } {
  const stream = new Pcg32(seed, 0x7e00_0000 + runner);
  let runnerSeed = stream.nextU32();
  for (let g = 0; g < generation; g++) runnerSeed = stream.nextU32();
  return { envSeed: runnerSeed, collectorSeed: runnerSeed };
}

/**
 * A {@linkcode SampleBatch} as a runner sends it: agent ids as indices into a table of the
 * distinct ids, and infos only when some row has one, so structured cloning copies few objects.
 */
export interface PackedBatch extends Omit<SampleBatch, "agent_ids" | "infos"> {
  /** The distinct agent ids. */
  agentIdTable: string[];
  /** `[count]` each row's index into `agentIdTable`. */
  agentIdIndex: Int32Array;
  /** `[count]` infos (null: none for that row), or null when no row has one. */
  infos: (Readonly<Record<string, unknown>> | null)[] | null;
  /**
   * What the runner's learner post-processed beyond the batch's columns (its
   * `takePostprocessed`, e.g. DQN's n-step returns), rows aligned with the batch; absent or null
   * when its learner keeps nothing.
   */
  learnerColumns?: PostprocessedColumns | null;
}

/**
 * Packs a batch for sending (see {@linkcode PackedBatch}); its typed arrays are shared.
 * @param b the batch (arrays trimmed to `count`, e.g. from `copySampleBatch`)
 * @returns the packed batch
 */
export function packBatch(b: SampleBatch): PackedBatch {
  const { agent_ids, infos, ...rest } = b;
  const table: string[] = [], index = new Map<string, number>();
  const agentIdIndex = new Int32Array(b.count);
  for (let i = 0; i < b.count; i++) {
    const id = agent_ids[i]!;
    let k = index.get(id);
    if (k === undefined) {
      k = table.length;
      table.push(id);
      index.set(id, k);
    }
    agentIdIndex[i] = k;
  }
  const anyInfo = infos.some((x, i) => i < b.count && x !== NO_INFO);
  return {
    ...rest,
    agentIdTable: table,
    agentIdIndex,
    infos: anyInfo ? infos.slice(0, b.count).map((x) => x === NO_INFO ? null : x) : null,
  };
}

/**
 * Unpacks a batch a runner sent.
 * @param p the packed batch
 * @returns the batch (typed arrays shared with `p`)
 */
export function unpackBatch(p: PackedBatch): SampleBatch {
  const { agentIdTable, agentIdIndex, infos, learnerColumns: _, ...rest } = p;
  const agent_ids = new Array<string>(p.count);
  for (let i = 0; i < p.count; i++) agent_ids[i] = agentIdTable[agentIdIndex[i]!]!;
  return {
    ...rest,
    agent_ids,
    infos: infos === null ? new Array(p.count).fill(NO_INFO) : infos.map((x) => x ?? NO_INFO),
  };
}

/**
 * The typed arrays' buffers of a batch, to transfer rather than copy.
 * @param b a batch whose arrays own their buffers (e.g. from `copySampleBatch`)
 * @returns the buffers
 */
export function batchTransferables(b: PackedBatch): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const arrays: ArrayBufferView[] = [
    b.obs,
    b.new_obs,
    b.actions,
    b.rewards,
    b.terminateds,
    b.truncateds,
    b.t,
    b.eps_id,
    b.agent_index,
    b.agentIdIndex,
  ];
  for (const c of EXTRA_COLUMNS) {
    const col = b[c];
    if (col !== undefined) arrays.push(col);
  }
  for (const col of Object.values(b.learnerColumns ?? {})) arrays.push(col);
  for (const a of arrays) {
    if (a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  }
  return [...out];
}

/**
 * Concatenates one policy's batches in runner order. Episode ids become `id × runners + r`, so
 * they stay unique across runners. One runner's batch is returned as it is (its ids are already
 * `id × 1 + 0`): the trainer owns the batch it unpacked, and copying it would only keep the
 * runner waiting longer.
 * @param parts per runner, its batch (null or empty: nothing from that runner)
 * @returns one batch (count 0 when every part is empty)
 */
export function concatBatches(parts: readonly (SampleBatch | null)[]): SampleBatch {
  const R = parts.length;
  if (R === 1 && parts[0] !== null && parts[0] !== undefined) return parts[0];
  const live = parts.map((b, r) => ({ b, r })).filter((x) => x.b !== null && x.b.count > 0) as {
    b: SampleBatch;
    r: number;
  }[];
  const n = live.reduce((s, x) => s + x.b.count, 0);
  const width = (f: (b: SampleBatch) => Float32Array) =>
    live.length === 0 ? 0 : f(live[0]!.b).length / live[0]!.b.count;
  const O = width((b) => b.obs), A = width((b) => b.actions);
  const out: SampleBatch = {
    count: n,
    obs: new Float32Array(n * O),
    new_obs: new Float32Array(n * O),
    actions: new Float32Array(n * A),
    rewards: new Float32Array(n),
    terminateds: new Uint8Array(n),
    truncateds: new Uint8Array(n),
    t: new Int32Array(n),
    eps_id: new Int32Array(n),
    agent_index: new Int32Array(n),
    agent_ids: [],
    infos: [],
  };
  const cols = EXTRA_COLUMNS.filter((c) => live.length > 0 && live.every((x) => x.b[c]));
  for (const c of cols) out[c] = new Float32Array(n);
  let at = 0;
  for (const { b, r } of live) {
    const k = b.count;
    if (b.obs.length !== k * O || b.actions.length !== k * A) {
      throw new RangeError(
        `concatBatches: runner ${r}'s batch has ${b.obs.length / k} observation and ${
          b.actions.length / k
        } action floats per row, runner ${live[0]!.r}'s ${O} and ${A}`,
      );
    }
    out.obs.set(b.obs, at * O);
    out.new_obs.set(b.new_obs, at * O);
    out.actions.set(b.actions, at * A);
    out.rewards.set(b.rewards, at);
    out.terminateds.set(b.terminateds, at);
    out.truncateds.set(b.truncateds, at);
    out.t.set(b.t, at);
    for (let i = 0; i < k; i++) out.eps_id[at + i] = b.eps_id[i]! * R + r;
    out.agent_index.set(b.agent_index, at);
    for (let i = 0; i < k; i++) {
      out.agent_ids.push(b.agent_ids[i]!);
      out.infos.push(b.infos[i]!);
    }
    for (const c of cols) out[c]!.set(b[c]!, at);
    at += k;
  }
  return out;
}

/**
 * Concatenates one policy's learner columns (`PackedBatch.learnerColumns`) in runner order, as
 * {@linkcode concatBatches} does its rows: parts whose batch is empty are skipped, and every
 * other part must carry the same column names with the same floats per row.
 * @param parts per runner, its batch's row count and learner columns
 * @returns the columns, or undefined when no part with rows has any
 * @throws {RangeError} when parts with rows disagree on the columns
 */
export function concatLearnerColumns(
  parts: readonly { count: number; columns: PostprocessedColumns | null | undefined }[],
): PostprocessedColumns | undefined {
  const live = parts.map((p, r) => ({ ...p, r })).filter((p) => p.count > 0);
  const first = live[0];
  if (first === undefined) return undefined;
  const names = Object.keys(first.columns ?? {}).sort();
  for (const p of live) {
    const these = Object.keys(p.columns ?? {}).sort();
    if (these.join("\0") !== names.join("\0")) {
      throw new RangeError(
        `concatLearnerColumns: runner ${p.r} sent learner columns [${
          these.join(", ")
        }], runner ${first.r} [${names.join(", ")}]`,
      );
    }
  }
  if (names.length === 0) return undefined;
  const n = live.reduce((s, p) => s + p.count, 0);
  const out: PostprocessedColumns = {};
  for (const name of names) {
    const w = first.columns![name]!.length / first.count;
    const col = new Float32Array(n * w);
    let at = 0;
    for (const p of live) {
      const c = p.columns![name]!;
      if (c.length !== p.count * w) {
        throw new RangeError(
          `concatLearnerColumns: runner ${p.r}'s column ${name} has ${
            c.length / p.count
          } floats per row, runner ${first.r}'s ${w}`,
        );
      }
      col.set(c, at * w);
      at += p.count;
    }
    out[name] = col;
  }
  return out;
}
