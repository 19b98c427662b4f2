/**
 * The rollout collector: steps a {@linkcode BatchedEnv}, routes every acting agent slot to its
 * policy, runs one forward pass per policy over all rows routed to it, scatters the actions
 * back into the env's action views, and records per-policy rollout rows.
 *
 * The per-step path works on typed arrays only: slot → policy routing is an `Int32Array`,
 * every gather/scatter buffer is preallocated, and the policy mapping function runs only when
 * an agent first appears (its id strings are cached by the env).
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
import type { BatchPolicy } from "../policy/policy.ts";
import { Pcg32 } from "../rng.ts";
import { ENDED_TERMINATED, ENDED_TRUNCATED, LINKED, PolicyBuffer } from "./buffer.ts";

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
  /** Whether to record rollout rows for training. */
  record: boolean;
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
  /** Env steps per fragment (per env). */
  fragmentLength: number;
  /** Seed for the env reset and the action sampling stream. */
  seed: number;
  /** Sample actions (true) or act greedily (false). Default true. */
  explore?: boolean;
  /** Episodes kept for the smoothed episode metrics. Default 100 (RLlib's default). */
  smoothingWindow?: number;
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
  /** Per-policy mean of the summed rewards of the agents mapped to it, per episode. */
  policy_reward_mean: Record<string, number>;
  /** Per-policy minimum. */
  policy_reward_min: Record<string, number>;
  /** Per-policy maximum. */
  policy_reward_max: Record<string, number>;
  /** Episodes finished since the last call of {@linkcode Collector.takeIterationCounts}. */
  episodes_this_iter: number;
  /** Episodes finished in total. */
  episodes_total: number;
  /** Episodes the smoothed metrics average over (up to the smoothing window). */
  episodes_in_window: number;
}

/** Per-policy scratch for one step. */
interface Route {
  routed: RoutedPolicy | undefined;
  obsSize: number;
  actSize: number;
  inObs: Float32Array;
  slots: Int32Array;
  actOut: Float32Array;
  logpOut: Float32Array;
  valOut: Float32Array;
  bootObs: Float32Array;
  bootRows: Int32Array;
  bootCount: number;
  buffer: PolicyBuffer | undefined;
}

/** Steps a batched env and routes agents to policies. See the module doc. */
export class Collector {
  /** The env. */
  readonly env: BatchedEnv;
  /** Policy ids. */
  readonly policyIds: readonly string[];
  /** Env steps per fragment per env. */
  readonly fragmentLength: number;
  /** Sample (true) or act greedily (false). */
  explore: boolean;
  /** Env steps taken in total (each step of N envs counts N). */
  envSteps = 0;
  /** Agent steps (actions taken) in total, per policy. */
  readonly agentSteps: Float64Array;

  readonly #opts: CollectorOptions;
  readonly #rng: Pcg32;
  readonly #routes: Route[];
  readonly #policyIndex = new Map<string, number>();
  readonly #resolved: Uint8Array; // [P × G] pair seen
  readonly #slotGroup: Int32Array;
  readonly #slotRow: Int32Array;
  readonly #slotEnv: Int32Array;
  readonly #slotPolicy: Int32Array;
  readonly #pending: Int32Array;
  readonly #counts: Int32Array;
  readonly #episodes: EpisodeRef[];
  #nextEpisodeId = 0;
  readonly #epRet: Float64Array;
  readonly #epLen: Int32Array;
  readonly #epPolRet: Float64Array;
  readonly #epPolSeen: Uint8Array;
  // Ring buffers of finished episodes.
  readonly #window: number;
  readonly #ringRet: Float64Array;
  readonly #ringLen: Float64Array;
  readonly #ringPolRet: Float64Array;
  readonly #ringPolSeen: Uint8Array;
  #ringNext = 0;
  #ringCount = 0;
  #episodesTotal = 0;
  #episodesIter = 0;
  #started = false;

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
    opts.policyIds.forEach((id, i) => this.#policyIndex.set(id, i));
    const env = opts.env, S = env.numSlots, N = env.numEnvs, P = opts.policyIds.length;
    this.#slotGroup = new Int32Array(S);
    this.#slotRow = new Int32Array(S);
    this.#slotEnv = new Int32Array(S);
    env.groups.forEach((g, gi) => {
      for (let r = 0; r < env.numEnvs * g.slotsPerEnv; r++) {
        const s = g.slotOffset + r;
        this.#slotGroup[s] = gi;
        this.#slotRow[s] = r;
        this.#slotEnv[s] = Math.floor(r / g.slotsPerEnv);
      }
    });
    this.#slotPolicy = new Int32Array(S).fill(-1);
    this.#pending = new Int32Array(S).fill(-1);
    this.#counts = new Int32Array(P);
    this.#resolved = new Uint8Array(P * env.groups.length);
    this.#routes = opts.policyIds.map(() => ({
      routed: undefined,
      obsSize: 0,
      actSize: 0,
      inObs: new Float32Array(0),
      slots: new Int32Array(S),
      actOut: new Float32Array(0),
      logpOut: new Float32Array(S),
      valOut: new Float32Array(S),
      bootObs: new Float32Array(0),
      bootRows: new Int32Array(S),
      bootCount: 0,
      buffer: undefined,
    }));
    this.agentSteps = new Float64Array(P);
    this.#episodes = Array.from({ length: N }, (_, i) => ({ episodeId: 0, envIndex: i }));
    this.#epRet = new Float64Array(N);
    this.#epLen = new Int32Array(N);
    this.#epPolRet = new Float64Array(N * P);
    this.#epPolSeen = new Uint8Array(N * P);
    this.#window = opts.smoothingWindow ?? 100;
    this.#ringRet = new Float64Array(this.#window);
    this.#ringLen = new Float64Array(this.#window);
    this.#ringPolRet = new Float64Array(this.#window * P);
    this.#ringPolSeen = new Uint8Array(this.#window * P);
  }

  /**
   * The rollout buffer of policy `p`, or undefined when it records nothing (not trained, or not
   * used yet).
   * @param p policy index
   * @returns the buffer
   */
  buffer(p: number): PolicyBuffer | undefined {
    return this.#routes[p]!.buffer;
  }

  /**
   * Collects one fragment: `fragmentLength` steps of every env (resetting them first on the
   * first call). Afterwards each recording policy's buffer holds the closed rows of this
   * fragment plus the rows carried over from the last one.
   */
  collect(): void {
    if (!this.#started) {
      this.env.reset(this.#opts.seed);
      for (let i = 0; i < this.env.numEnvs; i++) {
        this.#episodes[i]!.episodeId = this.#nextEpisodeId++;
      }
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
    const key = p * this.env.groups.length + g;
    if (this.#resolved[key] === 0) {
      const group = this.env.groups[g]!;
      const routed = this.#opts.resolvePolicy(p, group, this.env.agentId(s));
      if (routed.policy.obsSize !== group.observationSpace.flatSize) {
        throw new RangeError(
          `Policy "${
            this.policyIds[p]
          }" reads ${routed.policy.obsSize} observation floats, but agent "${
            this.env.agentId(s)
          }" of group "${group.name}" has ${group.observationSpace.toString()} (${group.observationSpace.flatSize} floats)`,
        );
      }
      if (routed.policy.actSize !== group.actionSpace.packedSize) {
        throw new RangeError(
          `Policy "${
            this.policyIds[p]
          }" writes ${routed.policy.actSize} action values, but agent "${
            this.env.agentId(s)
          }" of group "${group.name}" expects ${group.actionSpace.toString()}`,
        );
      }
      if (route.routed === undefined) {
        const S = this.env.numSlots;
        route.routed = routed;
        route.obsSize = routed.policy.obsSize;
        route.actSize = routed.policy.actSize;
        route.inObs = new Float32Array(S * route.obsSize);
        route.actOut = new Float32Array(S * route.actSize);
        route.bootObs = new Float32Array(S * route.obsSize);
        if (routed.record) {
          // Every slot may act at every step, plus the rows carried from the last fragment.
          const cap = S * (this.fragmentLength + 1);
          route.buffer = new PolicyBuffer(route.obsSize, route.actSize, cap);
        }
      }
      this.#resolved[key] = 1;
    }
    return route;
  }

  #spawnPass(): void {
    const env = this.env, flags = env.flags, S = env.numSlots, P = this.policyIds.length;
    for (let s = 0; s < S; s++) {
      if ((flags[s]! & SPAWNED) === 0) continue;
      const e = this.#slotEnv[s]!;
      const agentId = env.agentId(s);
      const pid = this.#opts.policyMappingFn(agentId, this.#episodes[e]!);
      const p = this.#policyIndex.get(pid);
      if (p === undefined) {
        throw new RangeError(
          `policyMappingFn returned "${pid}" for agent "${agentId}", expected one of ${
            this.policyIds.map((id) => `"${id}"`).join(", ")
          }`,
        );
      }
      this.#route(p, s);
      this.#slotPolicy[s] = p;
      this.#pending[s] = -1;
      this.#epPolSeen[e * P + p] = 1;
      // A reward that came with the agent's first observation (the slot did not also end an
      // agent, whose reward it would be) is the new agent's: the episode return counted it, so
      // its policy's return does too. No transition holds it: the agent has not acted yet.
      if ((flags[s]! & (TERMINATED | TRUNCATED)) === 0 && env.rew[s] !== 0) {
        this.#epPolRet[e * P + p] = this.#epPolRet[e * P + p]! + env.rew[s]!;
      }
    }
  }

  #step(): void {
    const env = this.env, S = env.numSlots, N = env.numEnvs, P = this.policyIds.length;
    const flags = env.flags, groups = env.groups;
    const counts = this.#counts, slotPolicy = this.#slotPolicy, pending = this.#pending;
    counts.fill(0);
    // Gather: copy each acting slot's observation row into its policy's input batch.
    for (let s = 0; s < S; s++) {
      if ((flags[s]! & ACTIVE) === 0) continue;
      const p = slotPolicy[s]!;
      const route = this.#routes[p]!;
      const k = counts[p]!++;
      const o = route.obsSize, src = groups[this.#slotGroup[s]!]!.obs, row = this.#slotRow[s]!;
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
        route.logpOut,
        route.valOut,
      );
      this.agentSteps[p] = this.agentSteps[p]! + n;
      const a = route.actSize, buf = route.buffer;
      for (let k = 0; k < n; k++) {
        const s = route.slots[k]!;
        const dst = groups[this.#slotGroup[s]!]!.act, row = this.#slotRow[s]!;
        for (let j = 0; j < a; j++) dst[row * a + j] = route.actOut[k * a + j]!;
        if (buf !== undefined) {
          const r = buf.push(route.inObs, route.actOut, route.logpOut, route.valOut, k);
          const prev = pending[s]!;
          if (prev >= 0) {
            buf.state[prev] = LINKED;
            buf.next[prev] = r;
          }
          pending[s] = r;
        }
      }
    }
    env.step();
    this.envSteps += N;
    const epLen = this.#epLen, epRet = this.#epRet, epPolRet = this.#epPolRet;
    for (let e = 0; e < N; e++) epLen[e]!++;
    // Rewards and ends (before spawns: a slot may end one agent and start the next).
    const rew = env.rew;
    for (let s = 0; s < S; s++) {
      const r = rew[s]!, f = flags[s]!;
      const p = slotPolicy[s]!;
      if (r !== 0) {
        const e = this.#slotEnv[s]!;
        epRet[e] = epRet[e]! + r;
        if (p >= 0) {
          epPolRet[e * P + p] = epPolRet[e * P + p]! + r;
          const pr = pending[s]!;
          if (pr >= 0) {
            const buf = this.#routes[p]!.buffer!;
            buf.rewards[pr] = buf.rewards[pr]! + r;
          }
        }
      }
      if ((f & (TERMINATED | TRUNCATED)) !== 0) {
        const pr = pending[s]!;
        if (pr >= 0) {
          const route = this.#routes[p]!;
          const buf = route.buffer!;
          if ((f & TERMINATED) !== 0) buf.state[pr] = ENDED_TERMINATED;
          else {
            buf.state[pr] = ENDED_TRUNCATED;
            const o = route.obsSize, k = route.bootCount++;
            const src = groups[this.#slotGroup[s]!]!.finalObs, row = this.#slotRow[s]!;
            for (let i = 0; i < o; i++) route.bootObs[k * o + i] = src[row * o + i]!;
            route.bootRows[k] = pr;
          }
        }
        pending[s] = -1;
        slotPolicy[s] = -1;
      }
    }
    // Bootstrap values of truncated agents, one batched pass per policy.
    for (let p = 0; p < P; p++) {
      const route = this.#routes[p]!;
      const n = route.bootCount;
      if (n === 0) continue;
      route.routed!.policy.values(route.bootObs, n, route.valOut);
      const buf = route.buffer!;
      for (let k = 0; k < n; k++) buf.bootValue[route.bootRows[k]!] = route.valOut[k]!;
      route.bootCount = 0;
    }
    // Finished episodes.
    const envDone = env.envDone;
    for (let e = 0; e < N; e++) {
      if (envDone[e] === 0) continue;
      this.#finishEpisode(e);
    }
    this.#spawnPass();
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
    this.#ringRet[i] = this.#epRet[e]!;
    this.#ringLen[i] = this.#epLen[e]!;
    for (let p = 0; p < P; p++) {
      this.#ringPolRet[i * P + p] = this.#epPolRet[e * P + p]!;
      this.#ringPolSeen[i * P + p] = this.#epPolSeen[e * P + p]!;
      this.#epPolRet[e * P + p] = 0;
      this.#epPolSeen[e * P + p] = 0;
    }
    this.#ringNext = (i + 1) % w;
    if (this.#ringCount < w) this.#ringCount++;
    this.#episodesTotal++;
    this.#episodesIter++;
    this.#epRet[e] = 0;
    this.#epLen[e] = 0;
    this.#episodes[e]!.episodeId = this.#nextEpisodeId++;
  }

  /**
   * The smoothed episode metrics, and resets the per-iteration episode count.
   * @returns metrics with RLlib's names
   */
  takeIterationCounts(): EpisodeMetrics {
    const n = this.#ringCount, P = this.policyIds.length;
    let sum = 0, min = Infinity, max = -Infinity, len = 0;
    for (let i = 0; i < n; i++) {
      const r = this.#ringRet[i]!;
      sum += r;
      if (r < min) min = r;
      if (r > max) max = r;
      len += this.#ringLen[i]!;
    }
    const polMean: Record<string, number> = {};
    const polMin: Record<string, number> = {};
    const polMax: Record<string, number> = {};
    for (let p = 0; p < P; p++) {
      let ps = 0, pn = 0, pmin = Infinity, pmax = -Infinity;
      for (let i = 0; i < n; i++) {
        if (this.#ringPolSeen[i * P + p] === 0) continue;
        const r = this.#ringPolRet[i * P + p]!;
        ps += r;
        pn++;
        if (r < pmin) pmin = r;
        if (r > pmax) pmax = r;
      }
      if (pn > 0) {
        const id = this.policyIds[p]!;
        polMean[id] = ps / pn;
        polMin[id] = pmin;
        polMax[id] = pmax;
      }
    }
    const out: EpisodeMetrics = {
      episode_reward_mean: n > 0 ? sum / n : NaN,
      episode_reward_min: n > 0 ? min : NaN,
      episode_reward_max: n > 0 ? max : NaN,
      episode_len_mean: n > 0 ? len / n : NaN,
      policy_reward_mean: polMean,
      policy_reward_min: polMin,
      policy_reward_max: polMax,
      episodes_this_iter: this.#episodesIter,
      episodes_total: this.#episodesTotal,
      episodes_in_window: n,
    };
    this.#episodesIter = 0;
    return out;
  }
}
