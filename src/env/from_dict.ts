/**
 * {@linkcode fromDictEnv}: makes `N` instances of a plain-TypeScript {@linkcode MultiAgentEnv}
 * into one {@linkcode BatchedEnv}, so envs written with dict semantics train with the same
 * machinery as the WASM envs (slower, but correct).
 *
 * The user declares slot groups: a name, `slotsPerEnv` (the most agents of that kind alive at
 * once in one env), the spaces, and which agent ids belong to the group (a `match` predicate per
 * group, or `groupOf(agentId)` for all). An agent takes a free slot of its group when it first
 * appears in `obs` and frees it when it ends; a slot then holds the next agent.
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
  /** Most agents of this group alive at once in one env. */
  slotsPerEnv: number;
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

const ENDED = TERMINATED | TRUNCATED;

/**
 * `N` dict envs as one batched slot env (see the module doc). Per env `i`:
 * - `reset(seed)` resets it with `{seed: deriveSeed(seed, i)}` (the first reset uses the seed
 *   of the options); agents in its `obs` are SPAWNED|ACTIVE|ALIVE in free slots of their groups.
 * - `step()` passes the ACTIVE slots' actions as `{agentId: action}` (after validating all of
 *   them), delivers every reward to the named agent's slot, acting or waiting (a reward to an
 *   agent not seen yet is held and delivered in its new slot when it appears; one that never
 *   appears in the episode is dropped), ends the agents
 *   flagged in `terminateds`/`truncateds` (final observation: the one in `obs`, else the last
 *   one seen), and on `"__all__"` ends every agent, sets `envDone` and resets the env
 *   (auto-reset, no new seed).
 * A waiting agent's observation row holds the last observation it was given.
 *
 * Errors name the env and the agent: an agent no group matches, more agents of a group than
 * its slots, an observation outside its space, a non-finite reward, a missing `"__all__"`, an
 * episode with no agent left to act. After such an error (raised by the env's own output) the
 * batch must be reset; an invalid action, checked before any env is stepped, changes nothing.
 */
export class DictBatchedEnv extends SlotEnv {
  /** The dict env instances, env `i` at index `i`. */
  readonly envs: readonly MultiAgentEnv[];
  readonly #specs: DictGroupSpec[];
  readonly #groupOf: ((agentId: string) => string) | undefined;
  readonly #seed: number;
  /** Id of the agent now (or last) in each slot. */
  readonly #ids: string[];
  /** Per env: slot of each alive agent. */
  readonly #slotOf: Map<string, number>[];
  /** Per env: rewards to agents that have no slot yet. */
  readonly #early: Map<string, number>[];
  /** Per slot: reward held for the slot's new agent, delivered at its first step. */
  readonly #carry: Float64Array;
  #everReset = false;

  /**
   * Wraps the env instances; call `reset` before `step`.
   * @param envs the env instances (one per batch entry)
   * @param opts groups, group resolution and seed
   */
  constructor(envs: readonly MultiAgentEnv[], opts: FromDictOptions) {
    if (envs.length === 0) throw new RangeError("DictBatchedEnv needs at least one env, got 0");
    if (opts.groups.length === 0) throw new RangeError("DictBatchedEnv needs at least one group");
    super(envs.length, opts.groups);
    this.envs = envs;
    this.#specs = opts.groups;
    this.#groupOf = opts.groupOf;
    this.#seed = opts.seed ?? 0;
    this.#ids = new Array(this.numSlots).fill("");
    this.#slotOf = envs.map(() => new Map());
    this.#early = envs.map(() => new Map());
    this.#carry = new Float64Array(this.numSlots);
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
    this.#carry.fill(0);
    for (let i = 0; i < this.numEnvs; i++) {
      const r = this.envs[i]!.reset(base === undefined ? {} : { seed: deriveSeed(base, i) });
      this.#slotOf[i]!.clear();
      this.#early[i]!.clear();
      this.#spawnFrom(i, r?.obs, "reset");
    }
  }

  /**
   * Steps every env whose `stepMask` entry is 1 with the actions of its ACTIVE slots.
   * Throws a `RangeError` naming the agent, the value and the expected space when an action is
   * invalid (nothing changes then), or an `Error` before `reset` or when an env misbehaves.
   */
  step(): void {
    if (!this.#everReset) throw new Error("Cannot step before reset: call reset() first");
    const N = this.numEnvs, mask = this.stepMask, flags = this.flags;
    for (const g of this.groups) {
      const sp = g.actionSpace, size = sp.packedSize;
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
        this.#forSlots(i, (s) => {
          flags[s]! &= ACTIVE | ALIVE;
          this.rew[s] = 0;
        });
        continue;
      }
      const actions: Record<string, SpaceValue> = {};
      this.#forSlots(i, (s, g, row) => {
        if ((flags[s]! & ACTIVE) !== 0) {
          actions[this.#ids[s]!] = g.actionSpace.unpack(g.act, row * g.actionSpace.packedSize);
        }
        flags[s]! &= ALIVE;
        this.rew[s] = this.#carry[s]!;
        this.#carry[s] = 0;
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

  /** Places the agents of `obs` (new ones in free slots) and marks them ACTIVE. */
  #spawnFrom(i: number, obs: Record<string, unknown> | undefined, when: string): void {
    if (typeof obs !== "object" || obs === null) {
      throw new Error(
        `Env ${i} returned obs ${formatValue(obs)} at ${when}, expected an object by agent id`,
      );
    }
    const slotOf = this.#slotOf[i]!, flags = this.flags;
    for (const id of Object.keys(obs)) {
      let s = slotOf.get(id);
      if (s === undefined) {
        const gi = this.#groupIndex(i, id);
        const g = this.groups[gi]!;
        const first = g.slotOffset + i * g.slotsPerEnv;
        s = -1;
        // Prefer a slot that did not just end, so its reward and final observation stay apart.
        for (let j = 0; j < g.slotsPerEnv && s < 0; j++) {
          if ((flags[first + j]! & (ALIVE | ENDED)) === 0) s = first + j;
        }
        for (let j = 0; j < g.slotsPerEnv && s < 0; j++) {
          if ((flags[first + j]! & ALIVE) === 0) s = first + j;
        }
        if (s < 0) {
          throw new Error(
            `Env ${i} emitted agent "${id}" at ${when}, but all ${g.slotsPerEnv} slots of group "${g.name}" are taken by ${
              Array.from({ length: g.slotsPerEnv }, (_, j) => `"${this.#ids[first + j]}"`).join(
                ", ",
              )
            }; raise slotsPerEnv`,
          );
        }
        this.#writeObs(i, id, s, obs[id], false);
        slotOf.set(id, s);
        this.#ids[s] = id;
        flags[s]! |= SPAWNED | ACTIVE | ALIVE;
        const early = this.#early[i]!.get(id);
        if (early !== undefined) {
          // Rewards earned before the agent appeared come with its first observation (held one
          // more step when the slot also carries the end of its previous agent).
          if ((flags[s]! & ENDED) !== 0) this.#carry[s]! += early;
          else this.rew[s]! += early;
          this.#early[i]!.delete(id);
        }
      } else {
        this.#writeObs(i, id, s, obs[id], false);
        flags[s]! |= ACTIVE | ALIVE;
      }
    }
  }

  #end(i: number, id: string, s: number, flag: number, obs: Record<string, unknown>): void {
    const g = this.groups[this.#groupOfSlot(s)]!;
    const size = g.observationSpace.flatSize, o = (s - g.slotOffset) * size;
    if (Object.hasOwn(obs, id)) this.#writeObs(i, id, s, obs[id], true);
    else for (let k = o; k < o + size; k++) g.finalObs[k] = g.obs[k]!;
    this.flags[s] = (this.flags[s]! & ~(ALIVE | ACTIVE)) | flag;
    this.#slotOf[i]!.delete(id);
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
    // 1. Rewards to agents in slots (acting, waiting, or ending now); others are held.
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
    for (const [d, flag] of [[terminateds, TERMINATED], [truncateds, TRUNCATED]] as const) {
      for (const id of Object.keys(d)) {
        if (id === "__all__" || d[id] !== true) continue;
        const s = slotOf.get(id);
        if (s !== undefined) this.#end(i, id, s, flag, obs);
      }
    }
    if (terminateds.__all__ || truncateds.__all__) {
      // 3a. The episode ends: every agent ends; reset at once.
      const flag = terminateds.__all__ ? TERMINATED : TRUNCATED;
      for (const [id, s] of [...slotOf]) this.#end(i, id, s, flag, obs);
      this.envDone[i] = 1;
      this.envTruncated[i] = terminateds.__all__ ? 0 : 1;
      this.#early[i]!.clear();
      const r0 = this.envs[i]!.reset({});
      this.#spawnFrom(i, r0?.obs, "auto-reset");
    } else {
      // 3b. Agents in obs act next (new ones take free slots). Ended agents may appear in obs
      // with their final observation; they do not act again.
      const live: Record<string, unknown> = {};
      for (const id of Object.keys(obs)) {
        if (terminateds[id] === true || truncateds[id] === true) continue;
        live[id] = obs[id];
      }
      this.#spawnFrom(i, live, "step");
      // 4. Rewards to agents that appeared now go to their new slots (held one step when the
      // slot also carries the end of its previous agent); to agents not yet seen, held.
      if (held !== undefined) {
        for (const [id, v] of held) {
          const s = slotOf.get(id);
          if (s === undefined) {
            const early = this.#early[i]!;
            early.set(id, (early.get(id) ?? 0) + v);
          } else if ((this.flags[s]! & ENDED) !== 0) this.#carry[s]! += v;
          else this.rew[s]! += v;
        }
      }
    }
    let acting = false;
    this.#forSlots(i, (s) => {
      if ((this.flags[s]! & ACTIVE) !== 0) acting = true;
    });
    if (!acting) {
      throw new Error(
        `Env ${i} has no agent left to act: its episode goes on ("__all__" false) but obs is empty`,
      );
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
