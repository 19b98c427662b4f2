/**
 * Agent groups (RLlib's `MultiAgentEnv.with_agent_groups`): several agents of a dict env act as
 * one logical agent. A group's observation is the Tuple of its members' observations, its action
 * the Tuple of their actions (split back to the members), its reward the sum of theirs (the
 * individual ones in `infos[group]._group_rewards`), its members' infos in
 * `infos[group]._group_info`, and it is terminated (truncated) when all its members are. Agents
 * in no group pass through unchanged.
 *
 * As in RLlib, a group appears in a step's `obs` only with every member: a step that shows some
 * members of a group but not all is an error naming the group and the missing agents.
 *
 * @module
 */

import { type Space, type SpaceValue, Tuple } from "../spaces.ts";
import type {
  MultiAgentDict,
  MultiAgentEnv,
  MultiAgentInfos,
  ResetOptions,
  ResetResult,
  StepResult,
} from "./multi_agent.ts";

/** The info key with a group's individual rewards (RLlib's `GROUP_REWARDS`). */
export const GROUP_REWARDS = "_group_rewards";
/** The info key with a group's members' infos (RLlib's `GROUP_INFO`). */
export const GROUP_INFO = "_group_info";

/** Options of {@linkcode withAgentGroups}. */
export interface AgentGroupsOptions {
  /** Observation space of each group (default: the Tuple of its members' spaces). */
  observationSpaces?: Record<string, Space>;
  /** Action space of each group (default: the Tuple of its members' spaces). */
  actionSpaces?: Record<string, Space>;
}

/**
 * A dict env whose agents are grouped (see the module doc).
 *
 * @example Two agents as one
 * ```ts
 * import { withAgentGroups } from "./agent_groups.ts";
 * import type { MultiAgentEnv } from "./multi_agent.ts";
 * import { Discrete } from "../spaces.ts";
 * const base: MultiAgentEnv = {
 *   observationSpace: () => new Discrete(2),
 *   actionSpace: () => new Discrete(2),
 *   reset: () => ({ obs: { a: 0, b: 1 }, infos: {} }),
 *   step: (act) => ({
 *     obs: { a: 1, b: 0 },
 *     rewards: { a: act.a as number, b: act.b as number },
 *     terminateds: { __all__: true, a: true, b: true },
 *     truncateds: { __all__: false },
 *     infos: {},
 *   }),
 * };
 * const env = withAgentGroups(base, { team: ["a", "b"] });
 * const { obs } = env.reset();
 * if (JSON.stringify(obs) !== '{"team":[0,1]}') throw new Error("grouped");
 * const r = env.step({ team: [1, 1] });
 * if (r.rewards.team !== 2 || !r.terminateds.team) throw new Error("summed, ended");
 * ```
 */
export class GroupedEnv implements MultiAgentEnv {
  /** The env whose agents are grouped. */
  readonly env: MultiAgentEnv;
  /** Member agent ids by group id. */
  readonly groups: Readonly<Record<string, readonly string[]>>;
  readonly #groupOf = new Map<string, string>();
  readonly #opts: AgentGroupsOptions;

  /**
   * Groups the agents of `env`.
   * @param env the dict env
   * @param groups member agent ids by group id (each agent in at most one group)
   * @param opts the groups' spaces (default: Tuples of the members')
   */
  constructor(
    env: MultiAgentEnv,
    groups: Record<string, readonly string[]>,
    opts: AgentGroupsOptions = {},
  ) {
    for (const [g, members] of Object.entries(groups)) {
      if (members.length === 0) throw new RangeError(`agent group "${g}" has no members`);
      for (const a of members) {
        const other = this.#groupOf.get(a);
        if (other !== undefined) {
          throw new RangeError(`agent "${a}" is in two groups, "${other}" and "${g}"`);
        }
        this.#groupOf.set(a, g);
      }
    }
    for (const g of Object.keys(groups)) {
      if (this.#groupOf.has(g)) {
        throw new RangeError(`agent group "${g}" has the id of an agent; choose another group id`);
      }
    }
    this.env = env;
    this.groups = groups;
    this.#opts = opts;
  }

  /** The possible agents after grouping (when the env lists its own). */
  get possibleAgents(): readonly string[] | undefined {
    const base = this.env.possibleAgents;
    if (base === undefined) return undefined;
    const out: string[] = [];
    for (const a of base) {
      const g = this.#groupOf.get(a) ?? a;
      if (!out.includes(g)) out.push(g);
    }
    return out;
  }

  /**
   * A group's observation space (the Tuple of its members'), or an ungrouped agent's.
   * @param agentId a group id or an agent id
   * @returns the space
   */
  observationSpace(agentId: string): Space {
    const members = this.groups[agentId];
    if (members === undefined) return this.env.observationSpace(agentId);
    return this.#opts.observationSpaces?.[agentId] ??
      new Tuple(members.map((a) => this.env.observationSpace(a)));
  }

  /**
   * A group's action space (the Tuple of its members'), or an ungrouped agent's.
   * @param agentId a group id or an agent id
   * @returns the space
   */
  actionSpace(agentId: string): Space {
    const members = this.groups[agentId];
    if (members === undefined) return this.env.actionSpace(agentId);
    return this.#opts.actionSpaces?.[agentId] ??
      new Tuple(members.map((a) => this.env.actionSpace(a)));
  }

  /**
   * Resets the env and groups its first observations.
   * @param opts the seed
   * @returns grouped observations and infos
   */
  reset(opts?: ResetOptions): ResetResult {
    const r = this.env.reset(opts);
    return { obs: this.#groupObs(r.obs, "reset"), infos: this.#groupInfos(r.infos) };
  }

  /**
   * Splits each group's action to its members, steps the env and groups the result.
   * @param actions by group id or ungrouped agent id
   * @returns the grouped step
   */
  step(actions: MultiAgentDict<SpaceValue>): StepResult {
    const flat: MultiAgentDict<SpaceValue> = {};
    for (const [id, a] of Object.entries(actions)) {
      const members = this.groups[id];
      if (members === undefined) {
        flat[id] = a;
        continue;
      }
      if (!Array.isArray(a) || a.length !== members.length) {
        throw new RangeError(
          `agent group "${id}": expected an array of ${members.length} actions (one per member: ${
            members.join(", ")
          }), got ${JSON.stringify(a)}`,
        );
      }
      members.forEach((m, i) => (flat[m] = a[i] as SpaceValue));
    }
    const r = this.env.step(flat);
    const rewards: MultiAgentDict<number> = {};
    const infos = this.#groupInfos(r.infos);
    for (const [id, x] of Object.entries(r.rewards)) {
      const g = this.#groupOf.get(id);
      if (g === undefined) rewards[id] = x;
    }
    for (const [g, members] of Object.entries(this.groups)) {
      if (!members.some((m) => m in r.rewards)) continue;
      const each = members.map((m) => r.rewards[m] ?? 0);
      rewards[g] = each.reduce((a, b) => a + b, 0);
      (infos[g] ??= {})[GROUP_REWARDS] = each;
    }
    return {
      obs: this.#groupObs(r.obs, "step"),
      rewards,
      terminateds: this.#groupDones(r.terminateds) as StepResult["terminateds"],
      truncateds: this.#groupDones(r.truncateds) as StepResult["truncateds"],
      infos,
    };
  }

  #groupObs(obs: MultiAgentDict<SpaceValue>, where: string): MultiAgentDict<SpaceValue> {
    const out: MultiAgentDict<SpaceValue> = {};
    for (const [id, o] of Object.entries(obs)) {
      const g = this.#groupOf.get(id);
      if (g === undefined) {
        out[id] = o;
        continue;
      }
      if (g in out) continue;
      const members = this.groups[g]!;
      const missing = members.filter((m) => !(m in obs));
      if (missing.length > 0) {
        throw new RangeError(
          `agent group "${g}": ${where} observed ${
            members.filter((m) => m in obs).join(", ")
          } but not ${missing.join(", ")}; a group acts only with all its members`,
        );
      }
      out[g] = members.map((m) => obs[m]!);
    }
    return out;
  }

  #groupDones(d: MultiAgentDict<boolean>): MultiAgentDict<boolean> {
    const out: MultiAgentDict<boolean> = {};
    for (const [id, x] of Object.entries(d)) if (!this.#groupOf.has(id)) out[id] = x;
    for (const [g, members] of Object.entries(this.groups)) {
      if (members.some((m) => m in d)) out[g] = members.every((m) => d[m] === true);
    }
    return out;
  }

  #groupInfos(infos: MultiAgentInfos): MultiAgentInfos {
    const out: MultiAgentInfos = {};
    for (const [id, x] of Object.entries(infos)) if (!this.#groupOf.has(id)) out[id] = x;
    for (const [g, members] of Object.entries(this.groups)) {
      if (members.some((m) => m in infos)) {
        out[g] = { [GROUP_INFO]: members.map((m) => infos[m] ?? {}) };
      }
    }
    return out;
  }
}

/**
 * Groups agents of a dict env into logical agents (RLlib's `with_agent_groups`).
 * @param env the dict env
 * @param groups member agent ids by group id
 * @param opts the groups' spaces (default: Tuples of the members')
 * @returns the grouped env
 */
export function withAgentGroups(
  env: MultiAgentEnv,
  groups: Record<string, readonly string[]>,
  opts: AgentGroupsOptions = {},
): GroupedEnv {
  return new GroupedEnv(env, groups, opts);
}
