/**
 * {@linkcode DictEnv}: the dict face (RLlib's `MultiAgentEnv` semantics, see `multi_agent.ts`)
 * over any batched slot env (`batched.ts`), for users, tests and evaluation.
 *
 * @module
 */

import {
  ACTIVE,
  ALIVE,
  type BatchedEnv,
  type SlotGroup,
  SPAWNED,
  TERMINATED,
  TRUNCATED,
} from "./batched.ts";
import { decodeFlat } from "./_rows.ts";
import { formatValue, type Space, type SpaceValue } from "../spaces.ts";
import type {
  DoneDict,
  MultiAgentDict,
  MultiAgentEnv,
  MultiAgentInfos,
  ResetOptions,
  ResetResult,
  StepResult,
} from "./multi_agent.ts";

/** Options of {@linkcode DictEnv}. */
export interface DictEnvOptions {
  /**
   * Maps any agent id the env may emit to its group name, so `observationSpace(id)` and
   * `actionSpace(id)` answer for agents that are not in the env now (for example
   * `"low_level_7"`). Without it, an env with one group answers with that group's spaces and
   * other envs answer only for agents that are, or last were, in a slot.
   */
  groupOf?: (agentId: string) => string;
}

const ENDED = TERMINATED | TRUNCATED;

const NOT_RESET = 0, RUNNING = 1, ENDED_EPISODE = 2;

/**
 * The dict face over env 0 of a {@linkcode BatchedEnv}: observations come from the ACTIVE slots
 * (decoded with `observationSpace.unflatten`), rewards from every slot that got one (an agent
 * that acted, one that is asked to act next, one that ended, one that ended earlier and is paid
 * late, or any nonzero reward to a waiting agent), `terminateds`/`truncateds` from the slot
 * flags, `"__all__"` from `envDone`, and `infos` from the env's `info`/`finalInfo` when it has
 * them. A step in which no agent is asked to act while the episode goes on returns an empty
 * `obs`; the next `step({})` advances the env (RLlib's rule).
 *
 * Every action is checked before the env is touched: an action for an agent that is not asked
 * to act, a missing action, a value outside the agent's action space (NaN included), a `step`
 * before `reset` or after `"__all__"` each throw an error naming the agent, the value and what
 * was expected, and leave the env as it was. The batched env resets itself when an episode ends
 * (auto-reset); the dict face then reports the final observations of the ended agents and
 * refuses `step` until `reset`, which starts from that already reset episode unless a seed is
 * given.
 *
 * An env with more than one instance must have a `stepMask`: only env 0 is stepped. Envs whose
 * slots grow on demand are followed through `layoutVersion`.
 *
 * Observations are fresh values at every step (small Box values are `Float32Array`s over their
 * own range of a shared buffer: allocating a private buffer per value costs about 10x more in
 * Deno); result objects are fresh too, so callers may keep them.
 *
 * @example Turn the flat windy maze into a dict env
 * ```ts
 * import { createWindyMaze } from "../envs/windy_maze.ts";
 * import { DictEnv } from "./dict_face.ts";
 * const env = new DictEnv(createWindyMaze(1));
 * const { obs } = env.reset({ seed: 1 });
 * if (!("default_agent" in obs)) throw new Error("one agent");
 * const r = env.step({ default_agent: 1 });
 * if (r.rewards.default_agent !== 0 || r.terminateds.__all__) throw new Error("one step");
 * ```
 */
export class DictEnv implements MultiAgentEnv {
  /** The batched env this face drives (env 0 of it). */
  readonly env: BatchedEnv;
  readonly #groupOf: ((agentId: string) => string) | undefined;
  // Per local slot k (the slots of env 0), precomputed.
  #slot = new Int32Array(0);
  #group: SlotGroup[] = [];
  #groupIndex = new Int32Array(0);
  #j = new Int32Array(0);
  #obsOff = new Int32Array(0);
  #actOff = new Int32Array(0);
  // Agent the slot holds (alive, or ended earlier in the episode; "" when none), and whether it
  // is asked to act.
  #ids: string[] = [];
  #acting = new Uint8Array(0);
  #numActing = 0;
  #layoutVersion = -1;
  #state = NOT_RESET;

  /**
   * Puts the dict face over env 0 of `env`.
   * @param env the batched env; env 0 of it is used
   * @param opts how to resolve agent ids to groups
   */
  constructor(env: BatchedEnv, opts: DictEnvOptions = {}) {
    if (env.numEnvs > 1 && env.stepMask === undefined) {
      throw new RangeError(
        `DictEnv needs a batched env with one instance or a stepMask, got ${env.numEnvs} instances and no stepMask`,
      );
    }
    this.env = env;
    this.#groupOf = opts.groupOf;
    this.#relayout();
  }

  /** Builds the local slot tables, keeping each slot's agent across a layout change. */
  #relayout(): void {
    const env = this.env;
    if ((env.layoutVersion ?? 0) === this.#layoutVersion) return;
    const slots: number[] = [], groups: SlotGroup[] = [], gi: number[] = [], js: number[] = [];
    const obsOff: number[] = [], actOff: number[] = [];
    env.groups.forEach((g, i) => {
      for (let j = 0; j < g.slotsPerEnv; j++) {
        slots.push(g.slotOffset + j);
        groups.push(g);
        gi.push(i);
        js.push(j);
        obsOff.push(j * g.observationSpace.flatSize);
        actOff.push(j * g.actionSpace.packedSize);
      }
    });
    const ids = slots.map(() => ""), acting = new Uint8Array(slots.length);
    for (let k = 0; k < this.#ids.length; k++) {
      const n = slots.findIndex((_, m) => gi[m] === this.#groupIndex[k] && js[m] === this.#j[k]);
      ids[n] = this.#ids[k]!;
      acting[n] = this.#acting[k]!;
    }
    this.#slot = Int32Array.from(slots);
    this.#group = groups;
    this.#groupIndex = Int32Array.from(gi);
    this.#j = Int32Array.from(js);
    this.#obsOff = Int32Array.from(obsOff);
    this.#actOff = Int32Array.from(actOff);
    this.#ids = ids;
    this.#acting = acting;
    this.#layoutVersion = env.layoutVersion ?? 0;
  }

  /** Every agent id of env 0's slots now: a hint, as ids change over an episode. */
  get possibleAgents(): readonly string[] {
    this.#relayout();
    return Array.from(this.#slot, (s) => this.env.agentId(s)).filter((id) => id !== "");
  }

  /**
   * The observation space of an agent.
   * @param agentId an agent id the env emits
   * @returns the observation space of that agent's group
   */
  observationSpace(agentId: string): Space {
    return this.#groupFor(agentId).observationSpace;
  }

  /**
   * The action space of an agent.
   * @param agentId an agent id the env emits
   * @returns the action space of that agent's group
   */
  actionSpace(agentId: string): Space {
    return this.#groupFor(agentId).actionSpace;
  }

  #groupFor(agentId: string): SlotGroup {
    this.#relayout();
    const groups = this.env.groups;
    if (this.#groupOf !== undefined) {
      const name = this.#groupOf(agentId);
      const g = groups.find((x) => x.name === name);
      if (g === undefined) {
        throw new RangeError(
          `groupOf("${agentId}") returned "${name}", expected one of ${
            groups.map((x) => `"${x.name}"`).join(", ")
          }`,
        );
      }
      return g;
    }
    if (groups.length === 1) return groups[0]!;
    for (let k = 0; k < this.#slot.length; k++) {
      if (this.#ids[k] === agentId || this.env.agentId(this.#slot[k]!) === agentId) {
        return this.#group[k]!;
      }
    }
    throw new RangeError(
      `Unknown agent "${agentId}": it is not in the env now; pass groupOf to resolve any id`,
    );
  }

  #info(s: number, final: boolean): Readonly<Record<string, unknown>> | undefined {
    const env = this.env;
    return final ? env.finalInfo?.(s) : env.info?.(s);
  }

  /**
   * Starts a new episode. Without a seed, an episode that the batched env already started by
   * auto-reset is used as it is.
   * @param opts `seed` reseeds env `i` of the batched env from `(seed, i)`
   * @returns the observations of the agents that act first, and their infos
   */
  reset(opts?: ResetOptions): ResetResult {
    const env = this.env;
    const seed = opts?.seed;
    if (seed !== undefined || this.#state !== ENDED_EPISODE) env.reset(seed);
    this.#relayout();
    const mask = env.stepMask;
    if (mask !== undefined) {
      mask.fill(0);
      mask[0] = 1;
    }
    const obs: MultiAgentDict<SpaceValue> = {};
    const infos: MultiAgentInfos = {};
    const flags = env.flags;
    let acting = 0;
    for (let k = 0; k < this.#slot.length; k++) {
      const s = this.#slot[k]!;
      const f = flags[s]!;
      const id = (f & ALIVE) !== 0 ? env.agentId(s) : "";
      this.#ids[k] = id;
      if ((f & ACTIVE) !== 0) {
        const g = this.#group[k]!;
        obs[id] = decodeFlat(g.observationSpace, g.obs, this.#obsOff[k]!);
        const info = this.#info(s, false);
        if (info !== undefined) infos[id] = info;
        this.#acting[k] = 1;
        acting++;
      } else this.#acting[k] = 0;
    }
    this.#numActing = acting;
    this.#state = RUNNING;
    return { obs, infos };
  }

  /**
   * Advances the episode by one env step.
   * @param actions one action for each agent of the last `obs`, and no others (`{}` when the
   *   last `obs` was empty)
   * @returns observations of the agents that act next (final observations once `"__all__"`),
   *   rewards, end flags with `"__all__"`, infos
   */
  step(actions: MultiAgentDict<SpaceValue>): StepResult {
    this.#validate(actions);
    const env = this.env;
    let n = this.#slot.length;
    for (let k = 0; k < n; k++) {
      if (this.#acting[k] === 0) continue;
      const g = this.#group[k]!;
      g.actionSpace.pack(actions[this.#ids[k]!]!, g.act, this.#actOff[k]!);
    }
    env.step();
    this.#relayout();
    n = this.#slot.length;
    const flags = env.flags, rew = env.rew;
    const done = env.envDone[0] === 1;
    const obs: MultiAgentDict<SpaceValue> = {};
    const rewards: MultiAgentDict<number> = {};
    const terminateds = { __all__: false } as DoneDict;
    const truncateds = { __all__: false } as DoneDict;
    const infos: MultiAgentInfos = {};
    let acting = 0;
    for (let k = 0; k < n; k++) {
      const s = this.#slot[k]!;
      const f = flags[s]!;
      const acted = this.#acting[k] === 1;
      const r = rew[s]!;
      // The agent the slot held before the step (alive, or ended earlier and held): a reward
      // in the slot is its; only a slot that held nobody pays the agent spawned into it.
      const held = this.#ids[k]!;
      if ((f & ENDED) !== 0) {
        rewards[held] = r;
        terminateds[held] = (f & TERMINATED) !== 0;
        truncateds[held] = (f & TRUNCATED) !== 0;
        const info = this.#info(s, true);
        if (info !== undefined) infos[held] = info;
        if (done) {
          const g = this.#group[k]!;
          obs[held] = decodeFlat(g.observationSpace, g.finalObs, this.#obsOff[k]!);
        }
      } else if (held !== "") {
        // An agent that acted, acts next, waits and is paid, or ended earlier and is paid late.
        if (r !== 0 || ((f & SPAWNED) === 0 && (acted || (f & ACTIVE) !== 0))) rewards[held] = r;
      } else if ((f & SPAWNED) !== 0) {
        // A reward with the new agent's first observation.
        if (!done && (r !== 0 || (f & ACTIVE) !== 0)) rewards[env.agentId(s)] = r;
      }
      if (done) {
        this.#acting[k] = 0;
        continue;
      }
      if ((f & SPAWNED) !== 0) this.#ids[k] = env.agentId(s);
      else if ((f & ENDED) !== 0 && env.holdsEndedAgents !== true) this.#ids[k] = "";
      if ((f & ACTIVE) !== 0) {
        const id = this.#ids[k]!;
        const g = this.#group[k]!;
        obs[id] = decodeFlat(g.observationSpace, g.obs, this.#obsOff[k]!);
        const info = this.#info(s, false);
        if (info !== undefined) infos[id] = info;
        this.#acting[k] = 1;
        acting++;
      } else this.#acting[k] = 0;
    }
    this.#numActing = acting;
    if (done) {
      const trunc = env.envTruncated[0] === 1;
      terminateds.__all__ = !trunc;
      truncateds.__all__ = trunc;
      this.#state = ENDED_EPISODE;
    }
    return { obs, rewards, terminateds, truncateds, infos };
  }

  #validate(actions: MultiAgentDict<SpaceValue>): void {
    if (this.#state === NOT_RESET) {
      throw new Error("Cannot step before reset: call reset() first");
    }
    if (this.#state === ENDED_EPISODE) {
      throw new Error(
        `Cannot step after the episode ended ("__all__" was true): call reset() first`,
      );
    }
    if (typeof actions !== "object" || actions === null) {
      throw new TypeError(`Expected an object of actions by agent id, got ${formatValue(actions)}`);
    }
    const n = this.#slot.length;
    let matched = 0;
    for (const id in actions) {
      let k = 0;
      while (k < n && (this.#acting[k] === 0 || this.#ids[k] !== id)) k++;
      const value = actions[id];
      if (k === n) {
        throw new RangeError(
          `Agent "${id}" is not asked to act, got action ${
            formatValue(value)
          }; expected actions for ${this.#actingList()}`,
        );
      }
      const space = this.#group[k]!.actionSpace;
      const why = space.explain(value);
      if (why !== undefined) {
        throw new RangeError(`Invalid action ${formatValue(value)} for agent "${id}": ${why}`);
      }
      matched++;
    }
    if (matched !== this.#numActing) {
      for (let k = 0; k < n; k++) {
        if (this.#acting[k] === 1 && !Object.hasOwn(actions, this.#ids[k]!)) {
          throw new RangeError(
            `Missing action for agent "${this.#ids[k]}": expected a member of ${
              this.#group[k]!.actionSpace
            }, got none`,
          );
        }
      }
    }
  }

  #actingList(): string {
    const ids: string[] = [];
    for (let k = 0; k < this.#slot.length; k++) {
      if (this.#acting[k] === 1) ids.push(`"${this.#ids[k]}"`);
    }
    return ids.length === 0 ? "no agent" : ids.join(", ");
  }
}
