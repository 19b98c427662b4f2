/**
 * The dict face of a multi-agent environment, with RLlib's `MultiAgentEnv` semantics:
 *
 * - `reset({seed})` returns `{obs, infos}`; `step(actions)` returns
 *   `{obs, rewards, terminateds, truncateds, infos}`, each a record keyed by agent id.
 * - Only the agents present in `obs` act at the next `step`, and `step` takes exactly one
 *   action for each of them.
 * - `rewards` may name agents that did not act (a waiting player); a consumer adds such rewards
 *   up until that agent acts again.
 * - An agent may end before the episode does (`terminateds[id]` or `truncateds[id]`); its id is
 *   not reused in that episode. The episode ends when `terminateds.__all__` or
 *   `truncateds.__all__` is true; then `reset` must be called before the next `step`.
 *
 * Plain TypeScript envs implement {@linkcode MultiAgentEnv} directly; batched envs get this face
 * through `DictEnv` (`dict_face.ts`), and a plain env becomes batched through `fromDictEnv`
 * (`from_dict.ts`).
 *
 * @module
 */

import type { Space, SpaceValue } from "../spaces.ts";

/** The key of the episode-level entry in `terminateds` and `truncateds`. */
export const ALL = "__all__";

/** A record keyed by agent id. */
export type MultiAgentDict<T> = Record<string, T>;

/** Per-agent info objects (free-form, for logging); may be empty. */
export type MultiAgentInfos = MultiAgentDict<Record<string, unknown>>;

/** Per-agent end flags plus the episode-level `"__all__"` flag. */
export type DoneDict = MultiAgentDict<boolean> & { [ALL]: boolean };

/** Options of {@linkcode MultiAgentEnv.reset}. */
export interface ResetOptions {
  /** When given, reseeds the env's random stream; otherwise the stream continues. */
  seed?: number;
}

/** What {@linkcode MultiAgentEnv.reset} returns. */
export interface ResetResult {
  /** Observations of the agents that act first, by agent id. */
  obs: MultiAgentDict<SpaceValue>;
  /** Per-agent infos. */
  infos: MultiAgentInfos;
}

/** What {@linkcode MultiAgentEnv.step} returns. */
export interface StepResult {
  /**
   * Observations of the agents that act next, by agent id; once the episode has ended, the
   * final observations of the agents that ended.
   */
  obs: MultiAgentDict<SpaceValue>;
  /** Rewards earned since the last step, by agent id; may name agents that did not act. */
  rewards: MultiAgentDict<number>;
  /** Agents that terminated at this step, plus `"__all__"` for the episode. */
  terminateds: DoneDict;
  /** Agents cut off (time limit) at this step, plus `"__all__"` for the episode. */
  truncateds: DoneDict;
  /** Per-agent infos. */
  infos: MultiAgentInfos;
}

/**
 * A multi-agent environment with RLlib's dict semantics (see the module doc).
 *
 * @example A two-player turn-based game
 * ```ts
 * import { Discrete } from "../spaces.ts";
 * import type { MultiAgentEnv, StepResult } from "./multi_agent.ts";
 *
 * class CoinToss implements MultiAgentEnv {
 *   readonly possibleAgents = ["p1", "p2"];
 *   #turn = 0;
 *   observationSpace(_id: string) { return new Discrete(2); }
 *   actionSpace(_id: string) { return new Discrete(2); }
 *   reset() { this.#turn = 0; return { obs: { p1: 0 }, infos: {} }; }
 *   step(actions: Record<string, unknown>): StepResult {
 *     const me = this.#turn % 2 === 0 ? "p1" : "p2", other = me === "p1" ? "p2" : "p1";
 *     this.#turn++;
 *     const done = this.#turn === 4;
 *     return {
 *       obs: done ? {} : { [other]: actions[me] as number },
 *       rewards: { [me]: 0, [other]: 1 },
 *       terminateds: { __all__: done },
 *       truncateds: { __all__: false },
 *       infos: {},
 *     };
 *   }
 * }
 * const env = new CoinToss();
 * const { obs } = env.reset();
 * if (!("p1" in obs)) throw new Error("p1 moves first");
 * ```
 */
export interface MultiAgentEnv {
  /** Every agent id the env may emit, when it is known in advance (optional, as in RLlib). */
  readonly possibleAgents?: readonly string[];
  /**
   * The observation space of an agent.
   * @param agentId an agent id the env emits
   * @returns that agent's observation space
   */
  observationSpace(agentId: string): Space;
  /**
   * The action space of an agent.
   * @param agentId an agent id the env emits
   * @returns that agent's action space
   */
  actionSpace(agentId: string): Space;
  /**
   * Starts a new episode.
   * @param opts `seed` reseeds the env's random stream
   * @returns the observations of the agents that act first
   */
  reset(opts?: ResetOptions): ResetResult;
  /**
   * Advances the episode with one action for every agent in the last `obs`.
   * @param actions one action per agent id of the last `obs`
   * @returns what the agents observe and earn
   */
  step(actions: MultiAgentDict<SpaceValue>): StepResult;
}
