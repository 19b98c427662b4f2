/**
 * {@linkcode fromDictEnv}: makes `N` instances of a plain-TypeScript {@linkcode MultiAgentEnv}
 * into one {@linkcode BatchedEnv}, so envs written with dict semantics train with the same
 * machinery as the WASM envs (slower, but correct).
 *
 * The user declares slot groups: a name, the spaces, and which agent ids belong to the group (a
 * `match` predicate per group, or `groupOf(agentId)` for all). Slots grow on demand: an agent
 * takes a slot of its group that no agent of the current episode has used, and the group gains
 * slots when none is left (this allocates; once the most agents an episode needs have slots, the
 * steady state does not). `slotsPerEnv` is only a starting size.
 *
 * @module
 */

import {
  ACTIVE,
  ALIVE,
  SlotEnv,
  type SlotGroup,
  SPAWNED,
  TERMINATED,
  TRUNCATED,
} from "./batched.ts";
import { explainPacked, packedValid } from "./_rows.ts";
import type { MultiAgentEnv, StepResult } from "./multi_agent.ts";
import { Pcg32 } from "../rng.ts";
import { formatValue, type Space, type SpaceValue } from "../spaces.ts";

/** One slot group of a {@linkcode DictBatchedEnv}. */
export interface DictGroupSpec {
  /** Group name. */
  name: string;
  /**
   * Slots per env to start with (default 1); the group grows when an episode has more agents of
   * this kind, so this never has to be guessed.
   */
  slotsPerEnv?: number;
  /** Observation space of the group's agents. */
  observationSpace: Space;
  /** Action space of the group's agents. */
  actionSpace: Space;
  /** Whether an agent id belongs to this group (first matching group wins). */
  match?: (agentId: string) => boolean;
}

/** Options of {@linkcode fromDictEnv}. */
export interface FromDictOptions {
  /** The slot groups, in slot order. */
  groups: DictGroupSpec[];
  /**
   * Names the group of an agent id; takes precedence over the groups' `match`. Without either,
   * an env with a single group puts every agent in it.
   */
  groupOf?: (agentId: string) => string;
  /** Env `i` is reset with a seed derived from `(seed, i)` (default 0). */
  seed?: number;
  /**
   * Each episode is a match between its agents, the higher return winning: results then carry
   * `win_rates` (see {@linkcode BatchedEnv.competitive}; default false).
   */
  competitive?: boolean;
}

/**
 * The seed env `index` of a batch is reset with, derived from the batch seed.
 * @param seed the batch seed, a non-negative safe integer
 * @param index env index
 * @returns an unsigned 32-bit seed
 */
export function deriveSeed(seed: number, index: number): number {
  return new Pcg32(seed, index).nextU32();
}

/**
 * The seed a trainer resets a batched env with when it restores a checkpoint that does not
 * hold the env's state (an env without `saveState`, such as every {@linkcode DictBatchedEnv}:
 * its user envs are plain objects that cannot be snapshot). Derived from the run's seed and
 * the iteration the checkpoint was taken at, so restoring the same checkpoint twice gives the
 * same episodes. See {@linkcode DictBatchedEnv} for what such a restore keeps and drops.
 *
 * @example
 * ```ts
 * import { restoreSeed } from "./from_dict.ts";
 * if (restoreSeed(0, 5) !== restoreSeed(0, 5) || restoreSeed(0, 5) === restoreSeed(0, 6)) {
 *   throw new Error("one seed per (seed, iteration)");
 * }
 * ```
 *
 * @param seed the run's seed, a non-negative safe integer
 * @param iteration training iterations done when the checkpoint was saved
 * @returns an unsigned 32-bit seed for `reset(seed)`
 */
export function restoreSeed(seed: number, iteration: number): number {
  return new Pcg32(seed, 0x2e5eed00 + iteration).nextU32();
}

/** An agent's info, as the env gave it. */
export type AgentInfo = Readonly<Record<string, unknown>>;

/**
 * `N` dict envs as one batched slot env (see the module doc), with RLlib's semantics. Per env
 * `i`:
 * - `reset(seed)` resets it with `{seed: deriveSeed(seed, i)}` (the first reset uses the seed
 *   of the options); agents in its `obs` are SPAWNED|ACTIVE|ALIVE in free slots of their groups.
 * - `step()` passes the ACTIVE slots' actions as `{agentId: action}` (after validating all of
 *   them; an env with no ACTIVE agent is stepped with `{}`), delivers every reward to the named
 *   agent's slot, acting or waiting, ends the agents flagged in `terminateds`/`truncateds`
 *   (final observation: the one in `obs`, else the last one seen), and on `"__all__"` ends every
 *   agent, sets `envDone` and resets the env (auto-reset, no new seed).
 * - An agent that ended keeps its slot until the episode ends (`holdsEndedAgents`): a later
 *   reward to it arrives in that slot. A reward to an agent not seen yet in the episode is held
 *   and delivered with its first observation (which the trainer counts in the returns, in no
 *   transition); if the agent never appears, it counts nowhere.
 * - `info(slot)` / `finalInfo(slot)` return the env's per-agent infos.
 * A waiting agent's observation row holds the last observation it was given.
 *
 * Errors name the env and the agent: an agent no group matches, an observation outside its
 * space, a non-finite reward, a missing `"__all__"`, an old-gym `dones` dict. After such an error
 * (raised by the env's own output) the batch must be reset; an invalid action, checked before any
 * env is stepped, changes nothing.
 *
 * Checkpoints: the user envs are plain objects whose state cannot be copied, so this class has
 * no `saveState`, and restoring a checkpoint cannot continue its episodes exactly. The
 * re-seed rule instead: on restore the trainer resets every env with
 * `restoreSeed(seed, iteration)` (the run's seed, the iteration saved) and starts new episodes;
 * the rows that were not closed at the save (waiting agents' last transitions, ended agents held
 * for late rewards) and the episodes in progress are dropped, while weights, optimiser and
 * learner states, counters, random streams and the metrics window are restored. The run goes on
 * deterministically from there, but it is not bit-identical to one that was never interrupted.
 */
export class DictBatchedEnv extends SlotEnv {
  /** The dict env instances, env `i` at index `i`. */
  readonly envs: readonly MultiAgentEnv[];
  /** Ended agents keep their slots until their episode ends (late rewards reach them). */
  readonly holdsEndedAgents = true;
  /** Each episode is a match (the options' `competitive`). */
  readonly competitive: boolean;
  /** `[N]` 1 for the envs the last `step` advanced (those not masked), 0 after `reset`. */
  readonly envStepped: Uint8Array;
  readonly #specs: DictGroupSpec[];
  readonly #groupOf: ((agentId: string) => string) | undefined;
  readonly #seed: number;
  /** Id of the agent now (or last, in this episode) in each slot; "" for a free slot. */
  #ids: string[];
  /** 1 when an agent of the current episode has used the slot. */
  #used: Uint8Array;
  /** Info with each slot's current observation, and with its ended agent's final one. */
  #infos: (AgentInfo | undefined)[];
  #finalInfos: (AgentInfo | undefined)[];
  /** Per env: slot of each agent of the episode, alive or ended. */
  readonly #slotOf: Map<string, number>[];
  /** Per env: agents of the episode that ended. */
  readonly #ended: Set<string>[];
  /** Per env: rewards to agents that have no slot yet. */
  readonly #early: Map<string, number>[];
  #everReset = false;

  /**
   * Wraps the env instances; call `reset` before `step`.
   * @param envs the env instances (one per batch entry)
   * @param opts groups, group resolution and seed
   */
  constructor(envs: readonly MultiAgentEnv[], opts: FromDictOptions) {
    if (envs.length === 0) throw new RangeError("DictBatchedEnv needs at least one env, got 0");
    if (opts.groups.length === 0) throw new RangeError("DictBatchedEnv needs at least one group");
    super(envs.length, opts.groups.map((g) => ({ ...g, slotsPerEnv: g.slotsPerEnv ?? 1 })));
    this.envs = envs;
    this.envStepped = new Uint8Array(envs.length);
    this.#specs = opts.groups;
    this.#groupOf = opts.groupOf;
    this.#seed = opts.seed ?? 0;
    this.competitive = opts.competitive === true;
    this.#ids = new Array(this.numSlots).fill("");
    this.#used = new Uint8Array(this.numSlots);
    this.#infos = new Array(this.numSlots).fill(undefined);
    this.#finalInfos = new Array(this.numSlots).fill(undefined);
    this.#slotOf = envs.map(() => new Map());
    this.#ended = envs.map(() => new Set());
    this.#early = envs.map(() => new Map());
  }

  /**
   * The id of the agent now in a slot (or the last one that was, once it ended).
   * @param slot a global slot index
   * @returns the agent id, `""` for a slot never used
   */
  agentId(slot: number): string {
    const id = this.#ids[slot];
    if (id === undefined) {
      throw new RangeError(`Slot must be an integer in [0, ${this.numSlots}), got ${slot}`);
    }
    return id;
  }

  /**
   * The info the env gave with the current observation of the slot's agent.
   * @param slot a global slot index
   * @returns the info, or undefined when the env gave none
   */
  info(slot: number): AgentInfo | undefined {
    return this.#infos[slot];
  }

  /**
   * The info the env gave with the final observation of the agent that ended in the slot at
   * the last step.
   * @param slot a global slot index
   * @returns the info, or undefined when the env gave none
   */
  finalInfo(slot: number): AgentInfo | undefined {
    return this.#finalInfos[slot];
  }

  /**
   * Resets every env.
   * @param seed env `i` is reset with `deriveSeed(seed, i)`; without it the first reset uses the
   *   options' seed and later ones continue each env's random stream
   */
  reset(seed?: number): void {
    const base = seed ?? (this.#everReset ? undefined : this.#seed);
    this.#everReset = true;
    this.flags.fill(0);
    this.rew.fill(0);
    this.envDone.fill(0);
    this.envTruncated.fill(0);
    this.envStepped.fill(0);
    this.#ids.fill("");
    this.#used.fill(0);
    this.#infos.fill(undefined);
    this.#finalInfos.fill(undefined);
    for (let i = 0; i < this.numEnvs; i++) {
      const r = this.envs[i]!.reset(base === undefined ? {} : { seed: deriveSeed(base, i) });
      this.#startEpisode(i);
      if (typeof r !== "object" || r === null) {
        throw new Error(
          `Env ${i} reset returned ${formatValue(r)}, expected {obs, infos}`,
        );
      }
      this.#spawnFrom(i, r.obs, r.infos, "reset");
    }
  }

  /**
   * Steps every env whose `stepMask` entry is 1 with the actions of its ACTIVE slots (an env
   * with none is stepped with `{}`). Throws a `RangeError` naming the agent, the value and the
   * expected space when an action is invalid (nothing changes then), or an `Error` before
   * `reset` or when an env misbehaves.
   */
  step(): void {
    if (!this.#everReset) throw new Error("Cannot step before reset: call reset() first");
    const N = this.numEnvs, mask = this.stepMask;
    for (const g of this.groups) {
      const sp = g.actionSpace, size = sp.packedSize, flags = this.flags;
      for (let r = 0; r < N * g.slotsPerEnv; r++) {
        const s = g.slotOffset + r;
        if ((flags[s]! & ACTIVE) === 0 || mask[Math.floor(r / g.slotsPerEnv)] === 0) continue;
        if (!packedValid(sp, g.act, r * size)) {
          throw new RangeError(
            `Invalid action for agent "${this.#ids[s]}" in env ${Math.floor(r / g.slotsPerEnv)}: ${
              explainPacked(sp, g.act, r * size)
            }`,
          );
        }
      }
    }
    for (let i = 0; i < N; i++) {
      this.envDone[i] = 0;
      this.envTruncated[i] = 0;
      if (mask[i] === 0) {
        this.envStepped[i] = 0;
        this.#forSlots(i, (s) => {
          this.flags[s]! &= ACTIVE | ALIVE;
          this.rew[s] = 0;
        });
        continue;
      }
      this.envStepped[i] = 1;
      const actions: Record<string, SpaceValue> = {};
      this.#forSlots(i, (s, g, row) => {
        if ((this.flags[s]! & ACTIVE) !== 0) {
          actions[this.#ids[s]!] = g.actionSpace.unpack(g.act, row * g.actionSpace.packedSize);
        }
        this.flags[s]! &= ALIVE;
        this.rew[s] = 0;
        this.#finalInfos[s] = undefined;
      });
      this.#apply(i, this.envs[i]!.step(actions));
    }
  }

  #forSlots(i: number, fn: (slot: number, group: SlotGroup, row: number) => void): void {
    for (const g of this.groups) {
      for (let j = 0; j < g.slotsPerEnv; j++) {
        const row = i * g.slotsPerEnv + j;
        fn(g.slotOffset + row, g, row);
      }
    }
  }

  #startEpisode(i: number): void {
    this.#forSlots(i, (s) => (this.#used[s] = 0));
    this.#slotOf[i]!.clear();
    this.#ended[i]!.clear();
    this.#early[i]!.clear();
  }

  #groupIndex(i: number, id: string): number {
    if (this.#groupOf !== undefined) {
      const name = this.#groupOf(id);
      const gi = this.groups.findIndex((g) => g.name === name);
      if (gi < 0) {
        throw new Error(
          `Env ${i} emitted agent "${id}": groupOf returned "${name}", expected one of ${
            this.groups.map((g) => `"${g.name}"`).join(", ")
          }`,
        );
      }
      return gi;
    }
    for (let gi = 0; gi < this.#specs.length; gi++) {
      if (this.#specs[gi]!.match?.(id)) return gi;
    }
    if (this.#specs.length === 1 && this.#specs[0]!.match === undefined) return 0;
    throw new Error(
      `Env ${i} emitted agent "${id}", which no group matches; groups: ${
        this.groups.map((g) => `"${g.name}"`).join(", ")
      }`,
    );
  }

  #writeObs(i: number, id: string, s: number, value: unknown, final: boolean): void {
    const g = this.groups[this.#groupOfSlot(s)]!;
    const why = g.observationSpace.explain(value);
    if (why !== undefined) {
      throw new Error(`Env ${i} emitted an invalid observation for agent "${id}": ${why}`);
    }
    const size = g.observationSpace.flatSize;
    g.observationSpace.flatten(
      value as SpaceValue,
      final ? g.finalObs : g.obs,
      (s - g.slotOffset) * size,
    );
  }

  #groupOfSlot(s: number): number {
    const gs = this.groups;
    for (let gi = gs.length - 1; gi >= 0; gi--) if (s >= gs[gi]!.slotOffset) return gi;
    return 0;
  }

  /** A slot of group `gi` in env `i` no agent of the current episode has used; grows if none. */
  #freeSlot(i: number, gi: number): number {
    let g = this.groups[gi]!;
    let first = g.slotOffset + i * g.slotsPerEnv;
    for (let j = 0; j < g.slotsPerEnv; j++) {
      const s = first + j;
      if (this.#used[s] === 0) return s;
    }
    const old = g.slotsPerEnv;
    const remap = this.growGroup(gi, old * 2);
    const move = <T>(a: T[], fill: T): T[] => {
      const b = new Array<T>(this.numSlots).fill(fill);
      for (let s = 0; s < remap.length; s++) b[remap[s]!] = a[s]!;
      return b;
    };
    this.#ids = move(this.#ids, "");
    const used = new Uint8Array(this.numSlots);
    for (let s = 0; s < remap.length; s++) used[remap[s]!] = this.#used[s]!;
    this.#used = used;
    this.#infos = move(this.#infos, undefined);
    this.#finalInfos = move(this.#finalInfos, undefined);
    for (const m of this.#slotOf) for (const [id, s] of m) m.set(id, remap[s]!);
    g = this.groups[gi]!;
    first = g.slotOffset + i * g.slotsPerEnv;
    return first + old;
  }

  /** Places the agents of `obs` (new ones in free slots) and marks them ACTIVE. */
  #spawnFrom(i: number, obs: unknown, infos: unknown, when: string): void {
    if (typeof obs !== "object" || obs === null) {
      throw new Error(
        `Env ${i} returned obs ${formatValue(obs)} at ${when}, expected an object by agent id`,
      );
    }
    const o = obs as Record<string, unknown>;
    const inf = (typeof infos === "object" && infos !== null ? infos : {}) as Record<
      string,
      unknown
    >;
    const slotOf = this.#slotOf[i]!;
    for (const id of Object.keys(o)) {
      let s = slotOf.get(id);
      if (this.#ended[i]!.has(id)) {
        throw new Error(
          `Env ${i} emitted an observation for agent "${id}" at ${when}, but that agent ended earlier in the episode; ids are not reused within an episode`,
        );
      }
      const info = inf[id] as AgentInfo | undefined;
      if (s === undefined) {
        s = this.#freeSlot(i, this.#groupIndex(i, id));
        this.#writeObs(i, id, s, o[id], false);
        slotOf.set(id, s);
        this.#ids[s] = id;
        this.#used[s] = 1;
        this.flags[s]! |= SPAWNED | ACTIVE | ALIVE;
        const early = this.#early[i]!.get(id);
        if (early !== undefined) {
          // Rewards earned before the agent appeared come with its first observation.
          this.rew[s]! += early;
          this.#early[i]!.delete(id);
        }
      } else {
        this.#writeObs(i, id, s, o[id], false);
        this.flags[s]! |= ACTIVE | ALIVE;
      }
      this.#infos[s] = info;
    }
  }

  #end(i: number, id: string, s: number, flag: number, r: StepResult): void {
    const g = this.groups[this.#groupOfSlot(s)]!;
    const size = g.observationSpace.flatSize, o = (s - g.slotOffset) * size;
    if (Object.hasOwn(r.obs, id)) this.#writeObs(i, id, s, r.obs[id], true);
    else for (let k = o; k < o + size; k++) g.finalObs[k] = g.obs[k]!;
    this.flags[s] = (this.flags[s]! & ~(ALIVE | ACTIVE)) | flag;
    this.#finalInfos[s] = (r.infos as Record<string, AgentInfo | undefined> | undefined)?.[id];
    this.#infos[s] = undefined;
    this.#ended[i]!.add(id);
  }

  #apply(i: number, r: StepResult): void {
    if (typeof r !== "object" || r === null) {
      throw new Error(
        `Env ${i} step returned ${
          formatValue(r)
        }, expected {obs, rewards, terminateds, truncateds, infos}`,
      );
    }
    const { obs, rewards, terminateds, truncateds } = r;
    if ("dones" in r && terminateds === undefined) {
      throw new Error(
        `Env ${i} step returned a "dones" dict (the old gym API): return "terminateds" and "truncateds" dicts instead, each with "__all__" (Gymnasium's API, RLlib's MultiAgentEnv)`,
      );
    }
    for (const [key, d] of [["terminateds", terminateds], ["truncateds", truncateds]] as const) {
      if (typeof d !== "object" || d === null || typeof d.__all__ !== "boolean") {
        throw new Error(
          `Env ${i} step returned ${key} ${
            formatValue(d)
          }, expected an object with a boolean "__all__"`,
        );
      }
    }
    if (typeof obs !== "object" || obs === null) {
      throw new Error(
        `Env ${i} step returned obs ${formatValue(obs)}, expected an object by agent id`,
      );
    }
    const slotOf = this.#slotOf[i]!;
    // 1. Rewards to agents of the episode (acting, waiting, ending now or ended earlier); the
    // others are held until the agent appears.
    let held: [string, number][] | undefined;
    for (const id of Object.keys(rewards ?? {})) {
      const v = rewards[id];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new Error(
          `Env ${i} emitted reward ${formatValue(v)} for agent "${id}", expected a finite number`,
        );
      }
      const s = slotOf.get(id);
      if (s !== undefined) this.rew[s]! += v;
      else (held ??= []).push([id, v]);
    }
    // 2. Agents that end.
    const ended = this.#ended[i]!;
    for (const [d, flag] of [[terminateds, TERMINATED], [truncateds, TRUNCATED]] as const) {
      for (const id of Object.keys(d)) {
        if (id === "__all__" || d[id] !== true || ended.has(id)) continue;
        const s = slotOf.get(id);
        if (s !== undefined) this.#end(i, id, s, flag, r);
      }
    }
    if (terminateds.__all__ || truncateds.__all__) {
      // 3a. The episode ends: every agent ends; reset at once.
      const flag = terminateds.__all__ ? TERMINATED : TRUNCATED;
      for (const [id, s] of slotOf) if (!ended.has(id)) this.#end(i, id, s, flag, r);
      this.envDone[i] = 1;
      this.envTruncated[i] = terminateds.__all__ ? 0 : 1;
      // The new episode's agents may take any slot: what the old agents left in a slot (end
      // flags, reward, final observation and info) stays apart from the new agent's.
      this.#startEpisode(i);
      const r0 = this.envs[i]!.reset({});
      if (typeof r0 !== "object" || r0 === null) {
        throw new Error(`Env ${i} reset returned ${formatValue(r0)}, expected {obs, infos}`);
      }
      this.#spawnFrom(i, r0.obs, r0.infos, "auto-reset");
    } else {
      // 3b. Agents in obs act next (new ones take free slots). Ended agents may appear in obs
      // with their final observation; they do not act again.
      const live: Record<string, unknown> = {};
      for (const id of Object.keys(obs)) {
        if (terminateds[id] === true || truncateds[id] === true) continue;
        live[id] = obs[id];
      }
      this.#spawnFrom(i, live, r.infos, "step");
      // 4. Rewards to agents that appeared now come with their first observation; to agents
      // not yet seen, held.
      if (held !== undefined) {
        for (const [id, v] of held) {
          const s = slotOf.get(id);
          if (s !== undefined) this.rew[s]! += v;
          else {
            const early = this.#early[i]!;
            early.set(id, (early.get(id) ?? 0) + v);
          }
        }
      }
    }
  }
}

/**
 * Makes `numEnvs` instances of a dict env into one batched env (see {@linkcode DictBatchedEnv}).
 *
 * @example A batch of a turn-based game
 * ```ts
 * import { Discrete } from "../spaces.ts";
 * import type { MultiAgentEnv } from "./multi_agent.ts";
 * import { fromDictEnv } from "./from_dict.ts";
 * const space = new Discrete(2);
 * const make = (): MultiAgentEnv => {
 *   let t = 0;
 *   return {
 *     observationSpace: () => space,
 *     actionSpace: () => space,
 *     reset: () => ((t = 0), { obs: { p1: 0 }, infos: {} }),
 *     step: () => {
 *       t++;
 *       const next = t % 2 === 0 ? "p1" : "p2";
 *       return {
 *         obs: { [next]: t % 2 }, rewards: { p1: 0, p2: 0 },
 *         terminateds: { __all__: t === 6 }, truncateds: { __all__: false }, infos: {},
 *       };
 *     },
 *   };
 * };
 * const env = fromDictEnv(make, 4, {
 *   groups: [{ name: "players", slotsPerEnv: 2, observationSpace: space, actionSpace: space }],
 * });
 * env.reset(1);
 * env.step();
 * if (env.agentId(1) !== "p2") throw new Error("p2 takes the second slot");
 * ```
 *
 * @param make creates env `i`
 * @param numEnvs number of envs
 * @param opts groups, group resolution and seed
 * @returns the batched env; call `reset` before `step`
 */
export function fromDictEnv(
  make: (index: number) => MultiAgentEnv,
  numEnvs: number,
  opts: FromDictOptions,
): DictBatchedEnv {
  if (!Number.isInteger(numEnvs) || numEnvs < 1) {
    throw new RangeError(`numEnvs must be a positive integer, got ${numEnvs}`);
  }
  return new DictBatchedEnv(Array.from({ length: numEnvs }, (_, i) => make(i)), opts);
}
