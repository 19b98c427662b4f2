/**
 * The rollout collector: steps a {@linkcode BatchedEnv}, routes every acting agent slot to its
 * policy, runs one forward pass per policy over all rows routed to it, scatters the actions
 * back into the env's action views, and records per-policy {@linkcode TrajectoryBuffer} rows
 * and RLlib's episode metrics. It knows no algorithm: which extra policy outputs are recorded
 * (PPO's `action_logp` and `vf_preds`) is said per policy by whoever resolves the policies.
 *
 * The per-step path works on typed arrays only: slot → policy routing is an `Int32Array`,
 * every gather/scatter buffer is preallocated, and the policy mapping function runs only when
 * an agent first appears (its id strings are cached by the env). A layout that grows (slots on
 * demand) reallocates once, then the steady state allocates nothing again.
 *
 * Rewards follow RLlib's multi-agent rules: a reward to a waiting agent adds to its open
 * transition until it acts again; a reward to an agent that ended before its episode did (in an
 * env that holds ended agents) adds to its last transition until the episode ends; a reward
 * that arrives with an agent's first observation counts in the episode's return and the agent's
 * return but belongs to no transition.
 *
 * For checkpoints, {@linkcode Collector.getState} copies everything that carries from one
 * fragment to the next (counters, the sampling stream, the metrics window, each slot's agent,
 * the rows not closed yet, each env's episode so far) and {@linkcode Collector.setState} puts it
 * back, exactly, or, for an env whose state was not saved, keeps the counters, stream and window
 * and starts over from a reset. `onEpisodeEnd` lets evaluation count a fixed number of episodes
 * per env.
 *
 * @module
 */

import {
  ACTIVE,
  type BatchedEnv,
  type SlotGroup,
  SPAWNED,
  TERMINATED,
  TRUNCATED,
} from "../env/batched.ts";
import type { BatchPolicy, PolicyExtras } from "../policy/policy.ts";
import { Pcg32 } from "../rng.ts";
import {
  type BufferRows,
  ENDED_TERMINATED,
  ENDED_TRUNCATED,
  type ExtraColumn,
  LINKED,
  NO_INFO,
  OPEN,
  TrajectoryBuffer,
} from "./buffer.ts";

/** What the policy mapping function receives about the agent's episode (reused per env). */
export interface EpisodeRef {
  /** A number unique to the episode within this collector (RLlib's `episode.episode_id`). */
  episodeId: number;
  /** Index of the env instance the episode runs in. */
  envIndex: number;
}

/** Maps an agent to a policy id when the agent first appears (RLlib's `policy_mapping_fn`). */
export type PolicyMappingFn = (agentId: string, episode: EpisodeRef) => string;

/** A policy as the collector routes to it, resolved lazily on first use. */
export interface RoutedPolicy {
  /** The batched policy. */
  policy: BatchPolicy;
  /**
   * Record rollout rows for training: the extra policy outputs to record with each row (e.g.
   * `["action_logp", "vf_preds"]`), or false to record nothing.
   */
  record: false | { columns: readonly ExtraColumn[] };
}

/** Options of a {@linkcode Collector}. */
export interface CollectorOptions {
  /** The env to step. */
  env: BatchedEnv;
  /** Policy ids; a policy's index is its position here. */
  policyIds: readonly string[];
  /** Maps a new agent to one of `policyIds`. */
  policyMappingFn: PolicyMappingFn;
  /**
   * Returns the policy for index `p` the first time an agent of group `group` is routed to it;
   * called once per (policy, group) pair, so it is the place to build models lazily and to
   * check that the policy's spaces fit the group's.
   */
  resolvePolicy: (p: number, group: SlotGroup, agentId: string) => RoutedPolicy;
  /** Step calls per fragment (per env). */
  fragmentLength: number;
  /** Seed for the env reset and the action sampling stream. */
  seed: number;
  /** Sample actions (true) or act greedily (false). Default true. */
  explore?: boolean;
  /** Episodes kept for the smoothed episode metrics. Default 100 (RLlib's default). */
  smoothingWindow?: number;
  /**
   * Called when env `envIndex`'s episode ends (after the step that ended it, while the env's
   * buffers still describe that step, e.g. its `episodeMetrics` row); return false to leave the
   * episode out of the metrics and counts. Evaluation uses it to take a fixed number of
   * episodes per env.
   */
  onEpisodeEnd?: (envIndex: number) => boolean;
  /**
   * Called when env `envIndex`'s episode starts: after the env's reset (the first `collect`, or
   * the auto-reset in the step that ended the last episode), before its first agents are
   * mapped to policies. The episode's id is already the new one.
   */
  onEpisodeStart?: (envIndex: number) => void;
  /**
   * Called after every step that advanced env `envIndex`'s time without ending its episode
   * (RLlib's `on_episode_step`). Costs a pass over the envs per step only when set.
   */
  onEpisodeStep?: (envIndex: number) => void;
}

/**
 * The collector's state, for checkpoints ({@linkcode Collector.getState}): counters, the random
 * stream, the metrics window, the policies resolved, and, in `live`, what continues from one
 * fragment to the next (each slot's agent, the rows not closed yet, each env's episode so far),
 * which matches the env's state at the same moment.
 */
export interface CollectorState {
  /** Whether the first `collect` has reset the env. */
  started: boolean;
  /** Env steps so far. */
  envSteps: number;
  /** Agent steps so far, per policy. */
  agentSteps: Float64Array;
  /** The action sampling stream. */
  rng: number[];
  /** The next episode id. */
  nextEpisodeId: number;
  /** Episodes finished in total. */
  episodesTotal: number;
  /** Episodes finished since the last `takeIterationCounts`. */
  episodesIter: number;
  /** Episodes the metrics window holds (the smoothing window). */
  window: number;
  /** Next position in the window. */
  ringNext: number;
  /** Episodes in the window. */
  ringCount: number;
  /** The window's episode returns, lengths and per-policy counts, sums, minima and maxima. */
  ring: {
    ret: Float64Array;
    len: Float64Array;
    polCount: Int32Array;
    polSum: Float64Array;
    polMin: Float64Array;
    polMax: Float64Array;
  };
  /** The (policy, group) pairs resolved, with the agent each was first resolved for. */
  resolved: { policy: number; group: number; agentId: string }[];
  /** What continues across fragments; absent when the env's state is not saved with it. */
  live?: CollectorLiveState;
}

/** The part of a {@linkcode CollectorState} that continues across fragments. */
export interface CollectorLiveState {
  /** Slots per env of each group when saved. */
  groupSlots: Int32Array;
  /** `[S]` policy of each slot's agent (−1 none). */
  slotPolicy: Int32Array;
  /** `[S]` the agent's last row among the saved rows of its policy (−1 none). */
  pending: Int32Array;
  /** `[S]` held flags. */
  slotHeld: Uint8Array;
  /** `[S]` the agents' returns so far. */
  agentRet: Float64Array;
  /** `[S]` the agents' indices in their episodes. */
  agentIndex: Int32Array;
  /** `[S]` the agents' ids. */
  slotIds: string[];
  /** `[N]` episode ids. */
  epId: Int32Array;
  /** `[N]` episode returns so far. */
  epRet: Float64Array;
  /** `[N]` episode lengths so far. */
  epLen: Int32Array;
  /** `[N]` agents seen in each episode. */
  epAgents: Int32Array;
  /** `[N × P]` agents finished per episode and policy, their returns' sum, min and max. */
  epPolCount: Int32Array;
  /** Sums. */
  epPolSum: Float64Array;
  /** Minima. */
  epPolMin: Float64Array;
  /** Maxima. */
  epPolMax: Float64Array;
  /** Per policy, the rows not closed yet (null: the policy records nothing). */
  buffers: (BufferRows | null)[];
}

/** Smoothed episode metrics with RLlib's names. */
export interface EpisodeMetrics {
  /** Mean total reward (all agents) over the last `smoothingWindow` episodes; NaN before any. */
  episode_reward_mean: number;
  /** Minimum of those. */
  episode_reward_min: number;
  /** Maximum of those. */
  episode_reward_max: number;
  /** Mean length in env steps. */
  episode_len_mean: number;
  /**
   * Per policy, the mean return of one agent in one episode (RLlib's definition: one entry per
   * agent-episode, so eight low-level agents in an episode are eight entries), over the agents
   * of the last `smoothingWindow` episodes.
   */
  policy_reward_mean: Record<string, number>;
  /** Per policy, the minimum agent-episode return. */
  policy_reward_min: Record<string, number>;
  /** Per policy, the maximum agent-episode return. */
  policy_reward_max: Record<string, number>;
  /**
   * Per policy, the mean over episodes of the summed returns of all agents mapped to it in the
   * episode (RLlib's `module_episode_returns_mean`), over the episodes it took part in.
   */
  module_episode_returns_mean: Record<string, number>;
  /** Per policy, the minimum per-episode sum. */
  module_episode_returns_min: Record<string, number>;
  /** Per policy, the maximum per-episode sum. */
  module_episode_returns_max: Record<string, number>;
  /** Episodes finished since the last call of {@linkcode Collector.takeIterationCounts}. */
  episodes_this_iter: number;
  /** Episodes finished in total. */
  episodes_total: number;
  /** Episodes the smoothed metrics average over (up to the smoothing window). */
  episodes_in_window: number;
  /**
   * Only for competitive envs ({@linkcode BatchedEnv.competitive}: episodes are matches): per
   * policy, its wins, draws and losses against each policy it met, over the episodes of the
   * window. An episode counts when exactly two policies acted in it (each agent's return
   * compared with the other policy's mean agent return: higher wins, equal draws, lower
   * loses), or one policy acted with exactly two agents (a mirror match: both seats count, so
   * `win_rate` equals `loss_rate`). Episodes with three or more policies are left out.
   */
  win_rates?: Record<string, Record<string, MatchRecord>>;
}

/** One policy's matches against one opponent policy (see `EpisodeMetrics.win_rates`). */
export interface MatchRecord {
  /** Games (seat-games in a mirror match) counted. */
  games: number;
  /** Games won. */
  wins: number;
  /** Games drawn. */
  draws: number;
  /** Games lost. */
  losses: number;
  /** `wins / games`. */
  win_rate: number;
  /** `draws / games`. */
  draw_rate: number;
  /** `losses / games`. */
  loss_rate: number;
}

/** Per-policy scratch for one step. */
interface Route {
  routed: RoutedPolicy | undefined;
  obsSize: number;
  actSize: number;
  inObs: Float32Array;
  slots: Int32Array;
  actOut: Float32Array;
  /** Extra outputs requested from the policy, in `columns` order, and as a record. */
  extraOut: Float32Array[];
  extras: PolicyExtras | undefined;
  buffer: TrajectoryBuffer | undefined;
}

/** A policy's route before its first agent (sized on first use). */
function emptyRoute(): Route {
  return {
    routed: undefined,
    obsSize: 0,
    actSize: 0,
    inObs: new Float32Array(0),
    slots: new Int32Array(0),
    actOut: new Float32Array(0),
    extraOut: [],
    extras: undefined,
    buffer: undefined,
  };
}

/** Steps a batched env and routes agents to policies. See the module doc. */
export class Collector {
  /** The env. */
  readonly env: BatchedEnv;
  /** Policy ids (grows with {@linkcode Collector.addPolicy}). */
  policyIds: readonly string[];
  /** Step calls per fragment per env. */
  readonly fragmentLength: number;
  /** Sample (true) or act greedily (false). */
  explore: boolean;
  /** Env steps taken in total (a step call counts the envs whose time advanced). */
  envSteps = 0;
  /** Agent steps (actions taken) in total, per policy (grows with `addPolicy`). */
  agentSteps: Float64Array;

  #opts: CollectorOptions;
  readonly #rng: Pcg32;
  readonly #routes: Route[];
  readonly #policyIndex = new Map<string, number>();
  /** Policies removed by {@linkcode Collector.removePolicy}: no new agent may map to them. */
  readonly #removed = new Set<number>();
  #resolved: Uint8Array; // [P × G] pair seen
  readonly #holds: boolean;
  readonly #hasInfos: boolean;
  #layoutVersion: number;
  #groupOffsets: Int32Array;
  #groupSlots: Int32Array;
  // Per slot.
  #slotGroup: Int32Array;
  #slotRow: Int32Array;
  #slotEnv: Int32Array;
  /** Policy of the agent the slot holds (alive, or ended and held); −1 for none. */
  #slotPolicy: Int32Array;
  /** That agent's last row in its policy's buffer; −1 for none (not acted, or not recorded). */
  #pending: Int32Array;
  /** 1 when the slot's agent ended and is held until its episode ends. */
  #slotHeld: Uint8Array;
  /** The agent's return so far in its episode. */
  #agentRet: Float64Array;
  /** The agent's index in its episode. */
  #agentIndex: Int32Array;
  /** The agent's id (the env's cached string). */
  #slotIds: string[] = [];
  /** Scratch: 1 when the slot's reward of this step went to the agent it held before. */
  #took: Uint8Array;
  #counts: Int32Array;
  // Per env.
  readonly #episodes: EpisodeRef[];
  /** `[N]` each env's episode id (the same as `#episodes[e].episodeId`, typed). */
  readonly #epId: Int32Array;
  #nextEpisodeId = 0;
  readonly #epRet: Float64Array;
  readonly #epLen: Int32Array;
  readonly #epAgents: Int32Array;
  // Per env × policy: agents finished in the episode, their returns' sum, min and max.
  #epPolCount: Int32Array;
  #epPolSum: Float64Array;
  #epPolMin: Float64Array;
  #epPolMax: Float64Array;
  // Ring buffers of finished episodes.
  readonly #window: number;
  readonly #ringRet: Float64Array;
  readonly #ringLen: Float64Array;
  #ringPolCount: Int32Array;
  #ringPolSum: Float64Array;
  #ringPolMin: Float64Array;
  #ringPolMax: Float64Array;
  #ringNext = 0;
  #ringCount = 0;
  #episodesTotal = 0;
  #episodesIter = 0;
  #started = false;
  /** The seed of the first reset (replaced by a restore that could not restore the env). */
  #resetSeed: number;
  /** The agent each (policy, group) pair was first resolved for, by `p * G + g`. */
  readonly #resolvedFor = new Map<number, string>();

  /**
   * Creates a collector over `opts.env`; the env is reset (seeded) on the first `collect`.
   * @param opts see {@linkcode CollectorOptions}
   */
  constructor(opts: CollectorOptions) {
    if (!Number.isInteger(opts.fragmentLength) || opts.fragmentLength < 1) {
      throw new RangeError(
        `fragmentLength must be a positive integer, got ${opts.fragmentLength}`,
      );
    }
    if (opts.policyIds.length === 0) throw new RangeError("At least one policy id is required");
    this.#opts = opts;
    this.env = opts.env;
    this.policyIds = opts.policyIds;
    this.fragmentLength = opts.fragmentLength;
    this.explore = opts.explore ?? true;
    this.#rng = new Pcg32(opts.seed, 0x5eed);
    this.#resetSeed = opts.seed;
    opts.policyIds.forEach((id, i) => this.#policyIndex.set(id, i));
    const env = opts.env, N = env.numEnvs, P = opts.policyIds.length;
    this.#holds = env.holdsEndedAgents === true;
    this.#hasInfos = typeof env.info === "function";
    this.#layoutVersion = env.layoutVersion ?? 0;
    this.#groupOffsets = new Int32Array(0);
    this.#groupSlots = new Int32Array(0);
    this.#slotGroup = this.#slotRow = this.#slotEnv = new Int32Array(0);
    this.#slotPolicy = this.#pending = this.#agentIndex = new Int32Array(0);
    this.#slotHeld = this.#took = new Uint8Array(0);
    this.#agentRet = new Float64Array(0);
    this.#layout(undefined);
    this.#counts = new Int32Array(P);
    this.#resolved = new Uint8Array(P * env.groups.length);
    this.#routes = opts.policyIds.map(emptyRoute);
    this.agentSteps = new Float64Array(P);
    this.#episodes = Array.from({ length: N }, (_, i) => ({ episodeId: 0, envIndex: i }));
    this.#epId = new Int32Array(N);
    this.#epRet = new Float64Array(N);
    this.#epLen = new Int32Array(N);
    this.#epAgents = new Int32Array(N);
    this.#epPolCount = new Int32Array(N * P);
    this.#epPolSum = new Float64Array(N * P);
    this.#epPolMin = new Float64Array(N * P).fill(Infinity);
    this.#epPolMax = new Float64Array(N * P).fill(-Infinity);
    this.#window = opts.smoothingWindow ?? 100;
    const w = this.#window;
    this.#ringRet = new Float64Array(w);
    this.#ringLen = new Float64Array(w);
    this.#ringPolCount = new Int32Array(w * P);
    this.#ringPolSum = new Float64Array(w * P);
    this.#ringPolMin = new Float64Array(w * P);
    this.#ringPolMax = new Float64Array(w * P);
  }

  /**
   * Adds a policy while the collector runs (RLlib's `add_policy`): it gets the next index, new
   * agents may map to it from the next step, its metrics start empty. Nothing else changes:
   * agents already routed keep their policies.
   * @param policyId a new id
   * @param policyMappingFn replaces the mapping function when given
   * @returns the new policy's index
   * @throws {RangeError} when the id exists
   */
  addPolicy(policyId: string, policyMappingFn?: PolicyMappingFn): number {
    if (this.#policyIndex.has(policyId)) {
      throw new RangeError(`addPolicy: a policy "${policyId}" exists already`);
    }
    const P = this.policyIds.length, Q = P + 1, N = this.env.numEnvs, w = this.#window;
    const G = this.env.groups.length;
    const grow = <T extends Int32Array | Float64Array>(a: T, rows: number, fill: number): T => {
      const out = new (a.constructor as new (n: number) => T)(rows * Q);
      out.fill(fill);
      for (let r = 0; r < rows; r++) out.set(a.subarray(r * P, (r + 1) * P), r * Q);
      return out;
    };
    this.#epPolCount = grow(this.#epPolCount, N, 0);
    this.#epPolSum = grow(this.#epPolSum, N, 0);
    this.#epPolMin = grow(this.#epPolMin, N, Infinity);
    this.#epPolMax = grow(this.#epPolMax, N, -Infinity);
    this.#ringPolCount = grow(this.#ringPolCount, w, 0);
    this.#ringPolSum = grow(this.#ringPolSum, w, 0);
    this.#ringPolMin = grow(this.#ringPolMin, w, 0);
    this.#ringPolMax = grow(this.#ringPolMax, w, 0);
    const resolved = new Uint8Array(Q * G);
    resolved.set(this.#resolved);
    this.#resolved = resolved;
    const counts = new Int32Array(Q);
    counts.set(this.#counts);
    this.#counts = counts;
    const steps = new Float64Array(Q);
    steps.set(this.agentSteps);
    this.agentSteps = steps;
    this.#routes.push(emptyRoute());
    this.policyIds = [...this.policyIds, policyId];
    this.#policyIndex.set(policyId, P);
    if (policyMappingFn !== undefined) this.#opts = { ...this.#opts, policyMappingFn };
    return P;
  }

  /**
   * Removes a policy for new agents (RLlib's `remove_policy`): the mapping may no longer choose
   * it (an error names it), agents already routed to it finish their episodes with it, and its
   * index and past metrics stay.
   * @param policyId the policy
   * @param policyMappingFn replaces the mapping function when given
   * @throws {RangeError} when there is no such policy or it is the last one
   */
  removePolicy(policyId: string, policyMappingFn?: PolicyMappingFn): void {
    const p = this.#policyIndex.get(policyId);
    if (p === undefined || this.#removed.has(p)) {
      throw new RangeError(`removePolicy: no policy "${policyId}"`);
    }
    if (this.#removed.size + 1 >= this.policyIds.length) {
      throw new RangeError(`removePolicy: "${policyId}" is the last policy`);
    }
    this.#removed.add(p);
    if (policyMappingFn !== undefined) this.#opts = { ...this.#opts, policyMappingFn };
  }

  /**
   * Whether a policy was removed ({@linkcode Collector.removePolicy}).
   * @param p its index
   * @returns true when removed
   */
  isRemoved(p: number): boolean {
    return this.#removed.has(p);
  }

  /**
   * (Re)builds the per-slot tables from the env's layout. With `remap` (the previous layout's
   * group offsets and slots per env), per-slot state moves to the slots' new indices.
   */
  #layout(prev: { offsets: Int32Array; slots: Int32Array } | undefined): void {
    const env = this.env, S = env.numSlots, N = env.numEnvs, G = env.groups.length;
    const slotGroup = new Int32Array(S), slotRow = new Int32Array(S), slotEnv = new Int32Array(S);
    const offsets = new Int32Array(G), slots = new Int32Array(G);
    env.groups.forEach((g, gi) => {
      offsets[gi] = g.slotOffset;
      slots[gi] = g.slotsPerEnv;
      for (let r = 0; r < N * g.slotsPerEnv; r++) {
        const s = g.slotOffset + r;
        slotGroup[s] = gi;
        slotRow[s] = r;
        slotEnv[s] = Math.floor(r / g.slotsPerEnv);
      }
    });
    const slotPolicy = new Int32Array(S).fill(-1), pending = new Int32Array(S).fill(-1);
    const held = new Uint8Array(S), ret = new Float64Array(S), index = new Int32Array(S);
    const ids: string[] = new Array(S).fill("");
    if (prev !== undefined) {
      for (let gi = 0; gi < G; gi++) {
        for (let e = 0; e < N; e++) {
          for (let j = 0; j < prev.slots[gi]!; j++) {
            const s0 = prev.offsets[gi]! + e * prev.slots[gi]! + j;
            const s1 = offsets[gi]! + e * slots[gi]! + j;
            slotPolicy[s1] = this.#slotPolicy[s0]!;
            pending[s1] = this.#pending[s0]!;
            held[s1] = this.#slotHeld[s0]!;
            ret[s1] = this.#agentRet[s0]!;
            index[s1] = this.#agentIndex[s0]!;
            ids[s1] = this.#slotIds[s0]!;
          }
        }
      }
    }
    this.#slotGroup = slotGroup;
    this.#slotRow = slotRow;
    this.#slotEnv = slotEnv;
    this.#slotPolicy = slotPolicy;
    this.#pending = pending;
    this.#slotHeld = held;
    this.#agentRet = ret;
    this.#agentIndex = index;
    this.#slotIds = ids;
    this.#took = new Uint8Array(S);
    this.#groupOffsets = offsets;
    this.#groupSlots = slots;
    this.#layoutVersion = env.layoutVersion ?? 0;
    // Routes sized by S grow with it (their buffers keep their rows).
    for (const route of this.#routes ?? []) {
      if (route.routed === undefined) continue;
      this.#sizeRoute(route);
    }
  }

  #sizeRoute(route: Route): void {
    const S = this.env.numSlots;
    if (route.slots.length >= S) return;
    route.inObs = new Float32Array(S * route.obsSize);
    route.slots = new Int32Array(S);
    route.actOut = new Float32Array(S * route.actSize);
    const rec = route.routed!.record;
    if (rec !== false) {
      route.extraOut = rec.columns.map(() => new Float32Array(S));
      const extras: Partial<Record<ExtraColumn, Float32Array>> = {};
      rec.columns.forEach((c, i) => (extras[c] = route.extraOut[i]!));
      route.extras = extras;
      // Every slot may act at every step, plus the rows carried from the last fragment.
      const cap = S * (this.fragmentLength + 1);
      if (route.buffer === undefined) {
        route.buffer = new TrajectoryBuffer(route.obsSize, route.actSize, cap, rec.columns);
      } else route.buffer.ensureCapacity(cap);
    }
  }

  #relayoutIfChanged(): void {
    if ((this.env.layoutVersion ?? 0) === this.#layoutVersion) return;
    this.#layout({ offsets: this.#groupOffsets, slots: this.#groupSlots });
    const G = this.env.groups.length;
    if (this.#resolved.length !== this.policyIds.length * G) {
      throw new Error("The env's number of slot groups changed; it must stay fixed");
    }
  }

  /**
   * The trajectory buffer of policy `p`, or undefined when it records nothing (not trained, or
   * not used yet).
   * @param p policy index
   * @returns the buffer
   */
  buffer(p: number): TrajectoryBuffer | undefined {
    return this.#routes[p]!.buffer;
  }

  /**
   * Collects one fragment: `fragmentLength` step calls of every env (resetting them first on
   * the first call). Afterwards each recording policy's buffer holds the rows of this fragment
   * plus the rows carried over from the last one; the closed ones are ready to train on.
   */
  collect(): void {
    if (!this.#started) {
      this.env.reset(this.#resetSeed);
      this.#relayoutIfChanged();
      for (let i = 0; i < this.env.numEnvs; i++) {
        this.#episodes[i]!.episodeId = this.#epId[i] = this.#nextEpisodeId++;
      }
      const start = this.#opts.onEpisodeStart;
      if (start !== undefined) { for (let i = 0; i < this.env.numEnvs; i++) start(i); }
      this.#spawnPass();
      this.#started = true;
    } else {
      for (let p = 0; p < this.#routes.length; p++) {
        this.#routes[p]!.buffer?.carryOpen(this.#pending, this.#slotPolicy, p);
      }
    }
    for (let t = 0; t < this.fragmentLength; t++) this.#step();
  }

  #route(p: number, s: number): Route {
    const g = this.#slotGroup[s]!;
    const route = this.#routes[p]!;
    if (this.#resolved[p * this.env.groups.length + g] === 0) {
      this.#resolve(p, g, this.env.agentId(s));
    }
    return route;
  }

  /** Resolves policy `p` for group `g` (first seen with `agentId`) and checks it fits. */
  #resolve(p: number, g: number, agentId: string): void {
    const route = this.#routes[p]!;
    const key = p * this.env.groups.length + g;
    const group = this.env.groups[g]!;
    const routed = this.#opts.resolvePolicy(p, group, agentId);
    const id = this.policyIds[p];
    if (routed.policy.obsSize !== group.observationSpace.flatSize) {
      throw new RangeError(
        `Policy "${id}" reads ${routed.policy.obsSize} observation floats, but agent "${agentId}" of group "${group.name}" has ${group.observationSpace.toString()} (${group.observationSpace.flatSize} floats)`,
      );
    }
    if (routed.policy.actSize !== group.actionSpace.packedSize) {
      throw new RangeError(
        `Policy "${id}" writes ${routed.policy.actSize} action values, but agent "${agentId}" of group "${group.name}" expects ${group.actionSpace.toString()}`,
      );
    }
    if (routed.record !== false) {
      const can = routed.policy.extraOutputs ?? [];
      const missing = routed.record.columns.filter((c) => !can.includes(c));
      if (missing.length > 0) {
        throw new RangeError(
          `Policy "${id}" cannot write ${
            missing.map((c) => `"${c}"`).join(", ")
          }, which its algorithm records; it writes ${
            can.length === 0 ? "no extra outputs" : can.map((c) => `"${c}"`).join(", ")
          }`,
        );
      }
    }
    if (route.routed === undefined) {
      route.routed = routed;
      route.obsSize = routed.policy.obsSize;
      route.actSize = routed.policy.actSize;
      this.#sizeRoute(route);
    }
    this.#resolved[key] = 1;
    this.#resolvedFor.set(key, agentId);
  }

  #spawnPass(): void {
    const env = this.env, flags = env.flags, rew = env.rew, S = env.numSlots;
    const slotPolicy = this.#slotPolicy, took = this.#took;
    for (let s = 0; s < S; s++) {
      if ((flags[s]! & SPAWNED) === 0) {
        took[s] = 0;
        continue;
      }
      const e = this.#slotEnv[s]!;
      const agentId = env.agentId(s);
      const pid = this.#opts.policyMappingFn(agentId, this.#episodes[e]!);
      const p = this.#policyIndex.get(pid);
      if (p === undefined || this.#removed.has(p)) {
        throw new RangeError(
          `policyMappingFn returned "${pid}" for agent "${agentId}"${
            p === undefined ? "" : ", a policy that was removed"
          }, expected one of ${
            this.policyIds.filter((_, i) => !this.#removed.has(i)).map((id) => `"${id}"`).join(
              ", ",
            )
          }`,
        );
      }
      this.#route(p, s);
      slotPolicy[s] = p;
      this.#slotIds[s] = agentId;
      this.#pending[s] = -1;
      this.#slotHeld[s] = 0;
      this.#agentIndex[s] = this.#epAgents[e]!++;
      // A reward in a slot that held no agent before this step came with the new agent's first
      // observation: it counts in the returns, and no transition holds it.
      const r = took[s] === 0 ? rew[s]! : 0;
      this.#agentRet[s] = r;
      if (r !== 0) this.#epRet[e] = this.#epRet[e]! + r;
      took[s] = 0;
    }
  }

  #step(): void {
    const env = this.env, P = this.policyIds.length;
    let S = env.numSlots;
    const N = env.numEnvs;
    let flags = env.flags, groups = env.groups;
    const counts = this.#counts;
    let slotPolicy = this.#slotPolicy, pending = this.#pending;
    counts.fill(0);
    const slotEnv0 = this.#slotEnv, hasInfos = this.#hasInfos, epId = this.#epId;
    const agentIndex = this.#agentIndex, slotIds = this.#slotIds;
    const slotGroup = this.#slotGroup, slotRow = this.#slotRow;
    // Gather: copy each acting slot's observation row into its policy's input batch.
    for (let s = 0; s < S; s++) {
      if ((flags[s]! & ACTIVE) === 0) continue;
      const p = slotPolicy[s]!;
      const route = this.#routes[p]!;
      const k = counts[p]!++;
      const o = route.obsSize, src = groups[slotGroup[s]!]!.obs, row = slotRow[s]!;
      const inObs = route.inObs;
      let bad = false;
      for (let i = 0, a = row * o, b = k * o; i < o; i++) {
        const v = src[a + i]!;
        bad ||= v - v !== 0; // NaN or ±Infinity
        inObs[b + i] = v;
      }
      if (bad) this.#nanObservation(s, row, o, src);
      route.slots[k] = s;
    }
    // One forward pass per policy; scatter actions; record rows.
    const epLen = this.#epLen;
    for (let p = 0; p < P; p++) {
      const n = counts[p]!;
      if (n === 0) continue;
      const route = this.#routes[p]!;
      route.routed!.policy.act(
        route.inObs,
        n,
        this.#rng,
        this.explore,
        route.actOut,
        route.extras,
      );
      this.agentSteps[p] = this.agentSteps[p]! + n;
      const a = route.actSize, actOut = route.actOut, slots = route.slots;
      for (let k = 0; k < n; k++) {
        const s = slots[k]!;
        const dst = groups[slotGroup[s]!]!.act, row = slotRow[s]!;
        for (let j = 0; j < a; j++) dst[row * a + j] = actOut[k * a + j]!;
      }
      const buf = route.buffer;
      if (buf === undefined) continue;
      // Record one row per acting agent (the buffer's columns, hoisted), linking its last row.
      let r = buf.size;
      if (r + n > buf.capacity) {
        throw new RangeError(`Trajectory buffer is full at ${buf.capacity} rows`);
      }
      const o = route.obsSize, inObs = route.inObs, extraOut = route.extraOut;
      const bObs = buf.obs, bAct = buf.act, cols = buf.actColumnArrays, C = cols.length;
      const bRew = buf.rewards, bState = buf.state, bHeld = buf.held, bNext = buf.next;
      const bT = buf.t, bEps = buf.epsId, bIdx = buf.agentIndex, bIds = buf.ids;
      for (let i = 0, b = r * o; i < n * o; i++) bObs[b + i] = inObs[i]!;
      for (let i = 0, b = r * a; i < n * a; i++) bAct[b + i] = actOut[i]!;
      for (let c = 0; c < C; c++) {
        const from = extraOut[c]!, to = cols[c]!;
        for (let k = 0; k < n; k++) to[r + k] = from[k]!;
      }
      for (let k = 0; k < n; k++, r++) {
        const s = slots[k]!, e = slotEnv0[s]!;
        bRew[r] = 0;
        bState[r] = OPEN;
        bHeld[r] = 0;
        bNext[r] = -1;
        bT[r] = epLen[e]!;
        bEps[r] = epId[e]!;
        bIdx[r] = agentIndex[s]!;
        bIds[r] = slotIds[s]!;
        const prev = pending[s]!;
        if (prev >= 0) {
          bState[prev] = LINKED;
          bNext[prev] = r;
          if (hasInfos) buf.infos[prev] = env.info!(s) ?? NO_INFO;
        }
        pending[s] = r;
      }
      buf.size = r;
    }
    env.step();
    if ((env.layoutVersion ?? 0) !== this.#layoutVersion) {
      this.#relayoutIfChanged();
      S = env.numSlots;
      flags = env.flags;
      groups = env.groups;
      slotPolicy = this.#slotPolicy;
      pending = this.#pending;
    }
    const stepped = env.envStepped;
    if (stepped === undefined) {
      this.envSteps += N;
      for (let e = 0; e < N; e++) epLen[e]!++;
    } else {
      let steps = 0;
      for (let e = 0; e < N; e++) {
        const d = stepped[e]!;
        steps += d;
        epLen[e] = epLen[e]! + d;
      }
      this.envSteps += steps;
    }
    // Rewards and ends of the agents the slots held (before spawns: a slot may end one agent
    // and start the next).
    const rew = env.rew, epRet = this.#epRet, agentRet = this.#agentRet, took = this.#took;
    const slotEnv = this.#slotEnv, held = this.#slotHeld;
    for (let s = 0; s < S; s++) {
      const p = slotPolicy[s]!;
      if (p < 0) continue;
      took[s] = 1;
      const r = rew[s]!, f = flags[s]!;
      const pr = pending[s]!;
      if (r !== 0) {
        const e = slotEnv[s]!;
        epRet[e] = epRet[e]! + r;
        agentRet[s] = agentRet[s]! + r;
        if (pr >= 0) {
          const buf = this.#routes[p]!.buffer!;
          buf.rewards[pr] = buf.rewards[pr]! + r;
        }
      }
      if ((f & (TERMINATED | TRUNCATED)) !== 0 && held[s] === 0) {
        if (pr >= 0) {
          const route = this.#routes[p]!, buf = route.buffer!;
          buf.state[pr] = (f & TERMINATED) !== 0 ? ENDED_TERMINATED : ENDED_TRUNCATED;
          const o = route.obsSize, src = groups[this.#slotGroup[s]!]!.finalObs;
          const row = this.#slotRow[s]!;
          buf.newObs.set(src.subarray(row * o, row * o + o), pr * o);
          if (hasInfos) buf.infos[pr] = env.finalInfo?.(s) ?? NO_INFO;
          if (this.#holds) buf.held[pr] = 1;
        }
        if (this.#holds) held[s] = 1;
        else this.#finishAgent(s);
      }
    }
    // Finished episodes: release the agents held for late rewards.
    const envDone = env.envDone;
    const onStep = this.#opts.onEpisodeStep;
    for (let e = 0; e < N; e++) {
      if (envDone[e] === 0) {
        if (onStep !== undefined && (stepped === undefined || stepped[e] !== 0)) onStep(e);
        continue;
      }
      if (this.#holds) this.#releaseHeld(e);
      this.#finishEpisode(e);
    }
    this.#spawnPass();
  }

  /** Adds the agent in slot `s` to its episode's per-policy returns and forgets it. */
  #finishAgent(s: number): void {
    const p = this.#slotPolicy[s]!, e = this.#slotEnv[s]!, P = this.policyIds.length;
    const k = e * P + p, r = this.#agentRet[s]!;
    this.#epPolCount[k]!++;
    this.#epPolSum[k] = this.#epPolSum[k]! + r;
    if (r < this.#epPolMin[k]!) this.#epPolMin[k] = r;
    if (r > this.#epPolMax[k]!) this.#epPolMax[k] = r;
    this.#slotPolicy[s] = -1;
    this.#pending[s] = -1;
    this.#slotHeld[s] = 0;
  }

  /** Releases env `e`'s held agents: their last rows close, their returns are final. */
  #releaseHeld(e: number): void {
    const groups = this.env.groups;
    for (let g = 0; g < groups.length; g++) {
      const spe = this.#groupSlots[g]!, first = this.#groupOffsets[g]! + e * spe;
      for (let s = first; s < first + spe; s++) {
        if (this.#slotHeld[s] === 0) continue;
        const pr = this.#pending[s]!;
        if (pr >= 0) this.#routes[this.#slotPolicy[s]!]!.buffer!.held[pr] = 0;
        this.#finishAgent(s);
      }
    }
  }

  #nanObservation(s: number, row: number, o: number, src: Float32Array): never {
    const g = this.env.groups[this.#slotGroup[s]!]!;
    let i = 0;
    while (i < o && Number.isFinite(src[row * o + i]!)) i++;
    throw new RangeError(
      `Observation of agent "${this.env.agentId(s)}" (group "${g.name}") has ${
        src[row * o + i]
      } at flat index ${i}, expected finite values in ${g.observationSpace.toString()}`,
    );
  }

  #finishEpisode(e: number): void {
    const P = this.policyIds.length, w = this.#window, i = this.#ringNext;
    const hook = this.#opts.onEpisodeEnd;
    const counted = hook === undefined || hook(e);
    if (counted) {
      this.#ringRet[i] = this.#epRet[e]!;
      this.#ringLen[i] = this.#epLen[e]!;
    }
    for (let p = 0; p < P; p++) {
      const k = e * P + p, j = i * P + p;
      if (counted) {
        this.#ringPolCount[j] = this.#epPolCount[k]!;
        this.#ringPolSum[j] = this.#epPolSum[k]!;
        this.#ringPolMin[j] = this.#epPolMin[k]!;
        this.#ringPolMax[j] = this.#epPolMax[k]!;
      }
      this.#epPolCount[k] = 0;
      this.#epPolSum[k] = 0;
      this.#epPolMin[k] = Infinity;
      this.#epPolMax[k] = -Infinity;
    }
    if (counted) {
      this.#ringNext = (i + 1) % w;
      if (this.#ringCount < w) this.#ringCount++;
      this.#episodesTotal++;
      this.#episodesIter++;
    }
    this.#epRet[e] = 0;
    this.#epLen[e] = 0;
    this.#epAgents[e] = 0;
    this.#episodes[e]!.episodeId = this.#epId[e] = this.#nextEpisodeId++;
    this.#opts.onEpisodeStart?.(e);
  }

  /**
   * Env `e`'s episode id. Read in the episode hooks (at `onEpisodeEnd`, the episode that just
   * ended), as are {@linkcode Collector.episodeLength} and {@linkcode Collector.episodeReturn}.
   * @param e env index
   * @returns the episode's id
   */
  episodeId(e: number): number {
    return this.#epId[e]!;
  }

  /**
   * Env `e`'s episode length so far, in env steps.
   * @param e env index
   * @returns the length
   */
  episodeLength(e: number): number {
    return this.#epLen[e]!;
  }

  /**
   * Env `e`'s episode return so far, over all agents.
   * @param e env index
   * @returns the return
   */
  episodeReturn(e: number): number {
    return this.#epRet[e]!;
  }

  /**
   * Env `e`'s episode: per policy, the summed return of its agents that have finished (all of
   * them, in `onEpisodeEnd`); policies without a finished agent are left out.
   * @param e env index
   * @returns policy id → summed return
   */
  episodePolicyReturns(e: number): Record<string, number> {
    const P = this.policyIds.length, out: Record<string, number> = {};
    for (let p = 0; p < P; p++) {
      if (this.#epPolCount[e * P + p]! > 0) out[this.policyIds[p]!] = this.#epPolSum[e * P + p]!;
    }
    return out;
  }

  /**
   * A copy of the collector's state, for checkpoints (reads only). Call it between fragments.
   * @param live include what continues across fragments (each slot's agent, the rows not
   *   closed yet, each env's episode so far): only meaningful with the env's own state saved at
   *   the same moment
   * @returns the state
   */
  getState(live: boolean): CollectorState {
    const P = this.policyIds.length;
    const resolved: CollectorState["resolved"] = [];
    const G = this.env.groups.length;
    for (let key = 0; key < this.#resolved.length; key++) {
      if (this.#resolved[key] === 0) continue;
      resolved.push({
        policy: Math.floor(key / G),
        group: key % G,
        agentId: this.#resolvedFor.get(key) ?? "",
      });
    }
    const state: CollectorState = {
      started: this.#started,
      envSteps: this.envSteps,
      agentSteps: this.agentSteps.slice(),
      rng: this.#rng.getState(),
      nextEpisodeId: this.#nextEpisodeId,
      episodesTotal: this.#episodesTotal,
      episodesIter: this.#episodesIter,
      window: this.#window,
      ringNext: this.#ringNext,
      ringCount: this.#ringCount,
      ring: {
        ret: this.#ringRet.slice(),
        len: this.#ringLen.slice(),
        polCount: this.#ringPolCount.slice(),
        polSum: this.#ringPolSum.slice(),
        polMin: this.#ringPolMin.slice(),
        polMax: this.#ringPolMax.slice(),
      },
      resolved,
    };
    if (!live || !this.#started) return state;
    const pending = this.#pending.slice();
    const buffers: (BufferRows | null)[] = [];
    for (let p = 0; p < P; p++) {
      const buf = this.#routes[p]!.buffer;
      if (buf === undefined) {
        buffers.push(null);
        continue;
      }
      const { rows, remap } = buf.openRows();
      for (let s = 0; s < pending.length; s++) {
        const r = this.#pending[s]!;
        if (r >= 0 && this.#slotPolicy[s] === p) pending[s] = remap[r]!;
      }
      buffers.push(rows);
    }
    state.live = {
      groupSlots: this.#groupSlots.slice(),
      slotPolicy: this.#slotPolicy.slice(),
      pending,
      slotHeld: this.#slotHeld.slice(),
      agentRet: this.#agentRet.slice(),
      agentIndex: this.#agentIndex.slice(),
      slotIds: this.#slotIds.slice(),
      epId: this.#epId.slice(),
      epRet: this.#epRet.slice(),
      epLen: this.#epLen.slice(),
      epAgents: this.#epAgents.slice(),
      epPolCount: this.#epPolCount.slice(),
      epPolSum: this.#epPolSum.slice(),
      epPolMin: this.#epPolMin.slice(),
      epPolMax: this.#epPolMax.slice(),
      buffers,
    };
    return state;
  }

  /**
   * Restores a state from {@linkcode Collector.getState}, replacing everything. With
   * `state.live`, the env must already hold the state saved with it (same layout); the next
   * `collect` continues exactly where the saved collector stopped. Without it, the next
   * `collect` resets the env with `resetSeed` and starts new episodes (rows not closed and
   * episodes in progress at the save are gone); counters, the random stream and the metrics
   * window continue. Policies are resolved again through `resolvePolicy`.
   * @param state the state
   * @param resetSeed the seed of that reset, required without `state.live`
   * @throws {RangeError} when the state does not fit this collector or env (checked before
   *   anything changes)
   */
  setState(state: CollectorState, resetSeed?: number): void {
    const P = this.policyIds.length, N = this.env.numEnvs, G = this.env.groups.length;
    const bad = (why: string): never => {
      throw new RangeError(`Collector state does not fit: ${why}`);
    };
    if (state.agentSteps.length !== P) bad(`${state.agentSteps.length} policies, expected ${P}`);
    if (state.window !== this.#window) {
      bad(`smoothing window ${state.window}, expected ${this.#window}`);
    }
    for (const r of state.resolved) {
      if (r.policy >= P || r.group >= G) bad(`policy ${r.policy} of group ${r.group}`);
    }
    const live = state.started ? state.live : undefined;
    if (live !== undefined) {
      const S = this.env.numSlots;
      if (live.slotPolicy.length !== S) {
        bad(`${live.slotPolicy.length} slots, the env has ${S}`);
      }
      if (live.epId.length !== N) bad(`${live.epId.length} envs, expected ${N}`);
      if (live.buffers.length !== P) bad(`${live.buffers.length} buffers, expected ${P}`);
      this.env.groups.forEach((g, gi) => {
        if (live.groupSlots[gi] !== g.slotsPerEnv) {
          bad(`group "${g.name}" had ${live.groupSlots[gi]} slots per env, has ${g.slotsPerEnv}`);
        }
      });
    } else if (resetSeed === undefined && state.started) {
      bad("without the env's state a reset seed is needed");
    }
    // Counters, stream, window.
    this.envSteps = state.envSteps;
    this.agentSteps.set(state.agentSteps);
    this.#rng.setState(state.rng);
    this.#nextEpisodeId = state.nextEpisodeId;
    this.#episodesTotal = state.episodesTotal;
    this.#episodesIter = state.episodesIter;
    this.#ringNext = state.ringNext;
    this.#ringCount = state.ringCount;
    this.#ringRet.set(state.ring.ret);
    this.#ringLen.set(state.ring.len);
    this.#ringPolCount.set(state.ring.polCount);
    this.#ringPolSum.set(state.ring.polSum);
    this.#ringPolMin.set(state.ring.polMin);
    this.#ringPolMax.set(state.ring.polMax);
    // Routes: forget, then resolve the saved pairs again over the env's layout.
    this.#resolved.fill(0);
    this.#resolvedFor.clear();
    for (const route of this.#routes) {
      route.routed = undefined;
      route.obsSize = route.actSize = 0;
      route.inObs = new Float32Array(0);
      route.slots = new Int32Array(0);
      route.actOut = new Float32Array(0);
      route.extraOut = [];
      route.extras = undefined;
      route.buffer = undefined;
    }
    this.#layout(undefined);
    for (const r of state.resolved) this.#resolve(r.policy, r.group, r.agentId);
    // Per env: episodes so far (zero without the live part).
    this.#epRet.fill(0);
    this.#epLen.fill(0);
    this.#epAgents.fill(0);
    this.#epPolCount.fill(0);
    this.#epPolSum.fill(0);
    this.#epPolMin.fill(Infinity);
    this.#epPolMax.fill(-Infinity);
    if (live === undefined) {
      this.#started = false;
      if (resetSeed !== undefined) this.#resetSeed = resetSeed;
      return;
    }
    this.#started = true;
    this.#slotPolicy.set(live.slotPolicy);
    this.#pending.set(live.pending);
    this.#slotHeld.set(live.slotHeld);
    this.#agentRet.set(live.agentRet);
    this.#agentIndex.set(live.agentIndex);
    for (let s = 0; s < live.slotIds.length; s++) this.#slotIds[s] = live.slotIds[s]!;
    this.#epId.set(live.epId);
    for (let e = 0; e < N; e++) this.#episodes[e]!.episodeId = live.epId[e]!;
    this.#epRet.set(live.epRet);
    this.#epLen.set(live.epLen);
    this.#epAgents.set(live.epAgents);
    this.#epPolCount.set(live.epPolCount);
    this.#epPolSum.set(live.epPolSum);
    this.#epPolMin.set(live.epPolMin);
    this.#epPolMax.set(live.epPolMax);
    live.buffers.forEach((rows, p) => {
      if (rows === null) return;
      const buf = this.#routes[p]!.buffer;
      if (buf === undefined) {
        throw new RangeError(
          `Collector state has rows of policy "${this.policyIds[p]}", which records nothing here`,
        );
      }
      buf.loadRows(rows);
    });
  }

  /**
   * The smoothed episode metrics, and resets the per-iteration episode count.
   * @returns metrics with RLlib's names
   */
  takeIterationCounts(): EpisodeMetrics {
    const out = windowMetrics(
      {
        count: this.#ringCount,
        ret: this.#ringRet,
        len: this.#ringLen,
        polCount: this.#ringPolCount,
        polSum: this.#ringPolSum,
        polMin: this.#ringPolMin,
        polMax: this.#ringPolMax,
      },
      this.policyIds,
      this.#episodesIter,
      this.#episodesTotal,
      this.env.competitive === true,
    );
    this.#episodesIter = 0;
    return out;
  }
}

/** A window of finished episodes (ring buffers; rows `[0, count)` hold episodes). */
export interface EpisodeWindow {
  /** Episodes in the window. */
  count: number;
  /** Each episode's return. */
  ret: Float64Array;
  /** Each episode's length. */
  len: Float64Array;
  /** `[episodes × P]` agents of each policy that finished in the episode. */
  polCount: Int32Array;
  /** Their returns' sum. */
  polSum: Float64Array;
  /** Their returns' minimum. */
  polMin: Float64Array;
  /** Their returns' maximum. */
  polMax: Float64Array;
}

/**
 * RLlib's smoothed episode metrics over a window of finished episodes: episode return and length,
 * `policy_reward_*` per agent-episode, `module_episode_returns_*` per episode (shared by the
 * collector and the env runners' merged window).
 * @param w the window
 * @param policyIds the policies, in index order
 * @param episodesIter episodes finished this iteration
 * @param episodesTotal episodes finished in total
 * @param matches add `win_rates` (the env is competitive)
 * @returns the metrics
 */
export function windowMetrics(
  w: EpisodeWindow,
  policyIds: readonly string[],
  episodesIter: number,
  episodesTotal: number,
  matches = false,
): EpisodeMetrics {
  const n = w.count, P = policyIds.length;
  let sum = 0, min = Infinity, max = -Infinity, len = 0;
  for (let i = 0; i < n; i++) {
    const r = w.ret[i]!;
    sum += r;
    if (r < min) min = r;
    if (r > max) max = r;
    len += w.len[i]!;
  }
  const polMean: Record<string, number> = {};
  const polMin: Record<string, number> = {};
  const polMax: Record<string, number> = {};
  const modMean: Record<string, number> = {};
  const modMin: Record<string, number> = {};
  const modMax: Record<string, number> = {};
  for (let p = 0; p < P; p++) {
    let agents = 0, total = 0, amin = Infinity, amax = -Infinity;
    let eps = 0, emin = Infinity, emax = -Infinity;
    for (let i = 0; i < n; i++) {
      const j = i * P + p, c = w.polCount[j]!;
      if (c === 0) continue;
      const s = w.polSum[j]!;
      agents += c;
      total += s;
      amin = Math.min(amin, w.polMin[j]!);
      amax = Math.max(amax, w.polMax[j]!);
      eps++;
      emin = Math.min(emin, s);
      emax = Math.max(emax, s);
    }
    if (agents > 0) {
      const id = policyIds[p]!;
      polMean[id] = total / agents;
      polMin[id] = amin;
      polMax[id] = amax;
      modMean[id] = total / eps;
      modMin[id] = emin;
      modMax[id] = emax;
    }
  }
  return {
    episode_reward_mean: n > 0 ? sum / n : NaN,
    episode_reward_min: n > 0 ? min : NaN,
    episode_reward_max: n > 0 ? max : NaN,
    episode_len_mean: n > 0 ? len / n : NaN,
    policy_reward_mean: polMean,
    policy_reward_min: polMin,
    policy_reward_max: polMax,
    module_episode_returns_mean: modMean,
    module_episode_returns_min: modMin,
    module_episode_returns_max: modMax,
    episodes_this_iter: episodesIter,
    episodes_total: episodesTotal,
    episodes_in_window: n,
    ...(matches ? { win_rates: windowWinRates(w, policyIds) } : {}),
  };
}

/**
 * Each policy's wins, draws and losses against the policies it met in the window's episodes
 * (the rules of `EpisodeMetrics.win_rates`).
 * @param w the window
 * @param policyIds the policies, in index order
 * @returns records by policy, then by opponent policy
 */
export function windowWinRates(
  w: EpisodeWindow,
  policyIds: readonly string[],
): Record<string, Record<string, MatchRecord>> {
  const P = policyIds.length;
  // [P × P × 3]: wins, draws, losses of row policy against column policy.
  const c = new Float64Array(P * P * 3);
  const add = (p: number, q: number, sign: number) => {
    c[(p * P + q) * 3 + (sign > 0 ? 0 : sign === 0 ? 1 : 2)]!++;
  };
  for (let i = 0; i < w.count; i++) {
    let first = -1, second = -1, present = 0;
    for (let p = 0; p < P; p++) {
      if (w.polCount[i * P + p]! === 0) continue;
      if (present === 0) first = p;
      else second = p;
      present++;
    }
    if (present === 2) {
      const a = w.polSum[i * P + first]! / w.polCount[i * P + first]!;
      const b = w.polSum[i * P + second]! / w.polCount[i * P + second]!;
      add(first, second, Math.sign(a - b));
      add(second, first, Math.sign(b - a));
    } else if (present === 1 && w.polCount[i * P + first]! === 2) {
      const lo = w.polMin[i * P + first]!, hi = w.polMax[i * P + first]!;
      add(first, first, Math.sign(hi - lo));
      add(first, first, Math.sign(lo - hi));
    }
  }
  const out: Record<string, Record<string, MatchRecord>> = {};
  for (let p = 0; p < P; p++) {
    for (let q = 0; q < P; q++) {
      const k = (p * P + q) * 3;
      const wins = c[k]!, draws = c[k + 1]!, losses = c[k + 2]!, games = wins + draws + losses;
      if (games === 0) continue;
      (out[policyIds[p]!] ??= {})[policyIds[q]!] = {
        games,
        wins,
        draws,
        losses,
        win_rate: wins / games,
        draw_rate: draws / games,
        loss_rate: losses / games,
      };
    }
  }
  return out;
}
