/**
 * RLlib's `make_multi_agent`: `numAgents` independent copies of a single-agent env as one
 * multi-agent env (RLlib's `MultiAgentCartPole` is `make_multi_agent("CartPole-v1")`). Agent
 * `j` is copy `j`, with id `"j"` (`"0"`, `"1"`, ...; RLlib uses the ints `0..N-1`, ids are
 * strings here). Every agent acts at every step until its copy's episode ends; then it leaves
 * (its own `terminated`/`truncated`) while the others go on, and the multi-agent episode ends
 * when every copy has ended: `terminateds.__all__` then (RLlib's rule: all ended, either way),
 * `truncateds.__all__` only when every copy was truncated.
 *
 * Two forms:
 * - {@linkcode makeMultiAgent}: over plain-TypeScript single-agent envs
 *   ({@linkcode SingleAgentEnv}, Gymnasium's `reset`/`step`), giving a {@linkcode MultiAgentEnv}
 *   (the dict face; batch it with `fromDictEnv`);
 * - {@linkcode MultiAgentBatchedEnv}: over a batched single-agent env of `numEnvs * numAgents`
 *   instances (a WASM env), giving a batched env of `numEnvs` multi-agent envs that steps every
 *   copy in one call of the inner env (`src/envs/cartpole.ts`'s `numAgents` option).
 *
 * @module
 */

import {
  ACTIVE,
  ALIVE,
  type BatchedEnv,
  copyParts,
  packState,
  type SlotGroup,
  SPAWNED,
  TERMINATED,
  TRUNCATED,
  unpackState,
} from "./batched.ts";
import { deriveSeed } from "./from_dict.ts";
import type {
  DoneDict,
  MultiAgentDict,
  MultiAgentEnv,
  MultiAgentInfos,
  ResetOptions,
  ResetResult,
  StepResult,
} from "./multi_agent.ts";
import type { Space, SpaceValue } from "../spaces.ts";

/** What {@linkcode SingleAgentEnv.reset} returns (Gymnasium's `(obs, info)`). */
export interface SingleAgentResetResult<O = SpaceValue> {
  /** The first observation of the episode. */
  obs: O;
  /** Extra information (free-form). */
  info: Record<string, unknown>;
}

/** What {@linkcode SingleAgentEnv.step} returns (Gymnasium's five-tuple). */
export interface SingleAgentStepResult<O = SpaceValue> {
  /** The observation after the step (the final one when the episode ended). */
  obs: O;
  /** The reward of the step. */
  reward: number;
  /** Whether the episode reached a terminal state. */
  terminated: boolean;
  /** Whether the episode was cut off (a time limit). */
  truncated: boolean;
  /** Extra information (free-form). */
  info: Record<string, unknown>;
}

/**
 * The smallest single-agent env (Gymnasium's `Env`): spaces, `reset` and `step`. After an
 * episode ends, `reset` is called before the next `step`. The package's single envs
 * (`CartPoleEnv`, `PendulumEnv`, `WindyMazeEnv`) have this shape.
 */
export interface SingleAgentEnv<O = SpaceValue, A = SpaceValue> {
  /** The observation space. */
  readonly observationSpace: Space;
  /** The action space. */
  readonly actionSpace: Space;
  /**
   * Starts a new episode.
   * @param opts `seed` reseeds the env's random stream; without it the stream continues
   * @returns the first observation and an info
   */
  reset(opts?: ResetOptions): SingleAgentResetResult<O>;
  /**
   * Takes one step.
   * @param action a member of the action space
   * @returns the observation, reward, end flags and info
   */
  step(action: A): SingleAgentStepResult<O>;
}

function checkNumAgents(numAgents: number): void {
  if (!Number.isInteger(numAgents) || numAgents < 1) {
    throw new RangeError(`numAgents must be a positive integer, got ${numAgents}`);
  }
}

/**
 * The id of agent `j` of a {@linkcode makeMultiAgent} env: `"j"`.
 * @param j the agent's index (its copy)
 * @returns the id
 */
export function multiAgentId(j: number): string {
  return String(j);
}

/**
 * `numAgents` copies of a single-agent env as one {@linkcode MultiAgentEnv} (see the module
 * doc). `reset({seed})` resets copy `j` with `{seed: deriveSeed(seed, j)}` (RLlib passes the
 * same seed to every copy, which makes seeded copies start alike; here each gets its own);
 * without a seed each copy's stream continues. `step` steps exactly the agents in `actions`
 * (those in the last `obs`) and returns the observation of each, the final one for an agent
 * that ended; an agent that ended is not in `obs` again in the episode.
 *
 * @example RLlib's MultiAgentCartPole with two agents, on the dict face
 * ```ts
 * import { makeMultiAgent } from "./make_multi_agent.ts";
 * import { CartPoleEnv } from "../envs/cartpole.ts";
 * const env = makeMultiAgent(() => new CartPoleEnv(), 2);
 * let { obs } = env.reset({ seed: 1 });
 * for (;;) {
 *   const actions = Object.fromEntries(Object.keys(obs).map((id) => [id, 1]));
 *   const r = env.step(actions);
 *   if (r.terminateds.__all__ || r.truncateds.__all__) break;
 *   obs = Object.fromEntries(Object.entries(r.obs).filter(([id]) => !r.terminateds[id]));
 * }
 * ```
 *
 * @param createEnv creates copy `j` (called `numAgents` times, with `j` = 0, 1, ...)
 * @param numAgents number of copies, a positive integer
 * @returns the multi-agent env
 */
export function makeMultiAgent(
  createEnv: (agentIndex: number) => SingleAgentEnv,
  numAgents: number,
): MultiAgentEnv & { readonly possibleAgents: readonly string[] } {
  checkNumAgents(numAgents);
  return new MultiAgentCopies(Array.from({ length: numAgents }, (_, j) => createEnv(j)));
}

/** The env {@linkcode makeMultiAgent} returns. */
class MultiAgentCopies implements MultiAgentEnv {
  readonly possibleAgents: readonly string[];
  readonly #envs: readonly SingleAgentEnv[];
  readonly #index: Map<string, number>;
  /** 1 for a copy whose episode ended (its agent left). */
  readonly #ended: Uint8Array;
  #numEnded = 0;
  #numTruncated = 0;

  constructor(envs: readonly SingleAgentEnv[]) {
    this.#envs = envs;
    this.possibleAgents = envs.map((_, j) => multiAgentId(j));
    this.#index = new Map(this.possibleAgents.map((id, j) => [id, j]));
    this.#ended = new Uint8Array(envs.length);
  }

  #copy(agentId: string): SingleAgentEnv {
    const j = this.#index.get(agentId);
    if (j === undefined) {
      throw new RangeError(
        `Unknown agent "${agentId}", expected one of ${
          this.possibleAgents.map((id) => `"${id}"`).join(", ")
        }`,
      );
    }
    return this.#envs[j]!;
  }

  observationSpace(agentId: string): Space {
    return this.#copy(agentId).observationSpace;
  }

  actionSpace(agentId: string): Space {
    return this.#copy(agentId).actionSpace;
  }

  reset(opts: ResetOptions = {}): ResetResult {
    this.#ended.fill(0);
    this.#numEnded = 0;
    this.#numTruncated = 0;
    const obs: MultiAgentDict<SpaceValue> = {};
    const infos: MultiAgentInfos = {};
    this.#envs.forEach((env, j) => {
      const r = env.reset(opts.seed === undefined ? {} : { seed: deriveSeed(opts.seed, j) });
      const id = this.possibleAgents[j]!;
      obs[id] = r.obs;
      infos[id] = r.info;
    });
    return { obs, infos };
  }

  step(actions: MultiAgentDict<SpaceValue>): StepResult {
    for (const id of Object.keys(actions)) {
      const j = this.#index.get(id);
      if (j === undefined || this.#ended[j] === 1) {
        throw new RangeError(
          `Action for agent "${id}", which ${
            j === undefined ? "is not an agent of this env" : "has ended in this episode"
          }; the agents to act are ${this.#live()}`,
        );
      }
    }
    const obs: MultiAgentDict<SpaceValue> = {};
    const rewards: MultiAgentDict<number> = {};
    const terminateds = { __all__: false } as DoneDict;
    const truncateds = { __all__: false } as DoneDict;
    const infos: MultiAgentInfos = {};
    for (const [id, action] of Object.entries(actions)) {
      const j = this.#index.get(id)!;
      const r = this.#envs[j]!.step(action);
      obs[id] = r.obs;
      rewards[id] = r.reward;
      terminateds[id] = r.terminated;
      truncateds[id] = r.truncated;
      infos[id] = r.info;
      if (r.terminated || r.truncated) {
        this.#ended[j] = 1;
        this.#numEnded++;
        if (!r.terminated) this.#numTruncated++;
      }
    }
    const n = this.#envs.length;
    terminateds.__all__ = this.#numEnded === n;
    truncateds.__all__ = this.#numTruncated === n;
    return { obs, rewards, terminateds, truncateds, infos };
  }

  #live(): string {
    const ids = this.possibleAgents.filter((_, j) => this.#ended[j] === 0);
    return ids.length === 0 ? "none" : ids.map((id) => `"${id}"`).join(", ");
  }
}

/** Options of {@linkcode MultiAgentBatchedEnv}. */
export interface MultiAgentBatchedOptions {
  /** Name of the env, for messages and saved states (default `"multi_agent"`). */
  name?: string;
}

/**
 * `numEnvs` multi-agent envs of `numAgents` independent copies each, over a batched
 * single-agent env of `numEnvs * numAgents` instances (see the module doc): copy `j` of env `i`
 * is instance `i * numAgents + j` of the inner env, and its slot is the same global slot, so
 * observation, final-observation, action and reward rows are the inner env's own buffers
 * (zero-copy). One group (the inner group, `slotsPerEnv = numAgents`), agent ids `"0"`, `"1"`,
 * .... Each `step` is one `step` of the inner env: an agent whose copy ended is held there
 * (the inner `stepMask`) until every copy of its env has ended; then `envDone` is set
 * (`envTruncated` when every copy was truncated) and every copy starts its next episode, which
 * the inner env's auto-reset prepared when the copy ended.
 *
 * The inner env must have one group with one slot per env whose agent is alive and acts at
 * every step for the whole episode (a kit env with `fixedAgents`), and a `stepMask`. Its
 * runtime episode limit (`setEpisodeLimit`, reached through {@linkcode inner}) counts each
 * copy's steps, which are its env's steps.
 *
 * @example Two agents per env, on the batched face
 * ```ts
 * import { MultiAgentBatchedEnv } from "./make_multi_agent.ts";
 * import { createCartPole } from "../envs/cartpole.ts";
 * const env = new MultiAgentBatchedEnv(createCartPole(4 * 2, { seed: 3 }), 2);
 * env.reset();
 * env.groups[0]!.act.fill(1);
 * for (let t = 0; t < 100; t++) env.step();
 * if (env.agentId(1) !== "1") throw new Error("slot 1 of env 0 is agent 1");
 * ```
 */
export class MultiAgentBatchedEnv implements BatchedEnv {
  /** Number of multi-agent envs `N`. */
  readonly numEnvs: number;
  /** Agents (copies) per env. */
  readonly numAgents: number;
  /** `N * numAgents` slots, slot `i * numAgents + j` is agent `j` of env `i`. */
  readonly numSlots: number;
  /** The one group: the inner group's rows, `numAgents` slots per env. */
  readonly groups: readonly SlotGroup[];
  /** `[S]` rewards of the last step (the inner env's buffer). */
  readonly rew: Float32Array;
  /** `[S]` slot flags. */
  readonly flags: Uint8Array;
  /** `[N]` 1 when every copy of the env has ended at or before the last step. */
  readonly envDone: Uint8Array;
  /** `[N]` 1 when that ended episode's copies were all truncated. */
  readonly envTruncated: Uint8Array;
  /** `[N]` step mask, all ones after construction (write 0 to hold an env). */
  readonly stepMask: Uint8Array;
  /** The inner single-agent env of `N * numAgents` instances. */
  readonly inner: BatchedEnv;
  /** Name of the env, for messages and saved states. */
  readonly name: string;
  /** `[S]` 1 while the slot's copy is in the current episode (not ended). */
  readonly #live: Uint8Array;
  /** `[N]` copies still in the episode; `[N]` copies of the episode that ended truncated. */
  readonly #liveCount: Int32Array;
  readonly #truncCount: Int32Array;
  readonly #innerMask: Uint8Array;
  readonly #ids: readonly string[];
  #wasReset = false;

  /**
   * Wraps the inner env; call `reset` before `step`.
   * @param inner a batched single-agent env of `numEnvs * numAgents` instances
   * @param numAgents agents (copies) per env, a positive integer dividing `inner.numEnvs`
   * @param opts the env's name
   */
  constructor(inner: BatchedEnv, numAgents: number, opts: MultiAgentBatchedOptions = {}) {
    checkNumAgents(numAgents);
    const name = opts.name ?? "multi_agent";
    const g = inner.groups[0];
    if (inner.groups.length !== 1 || g === undefined || g.slotsPerEnv !== 1) {
      throw new RangeError(
        `${name}: the inner env must have one group with one slot per env, got ${
          inner.groups.map((x) => `"${x.name}" (${x.slotsPerEnv} slots)`).join(", ")
        }`,
      );
    }
    if (inner.stepMask === undefined) {
      throw new RangeError(`${name}: the inner env must have a stepMask`);
    }
    if (inner.numEnvs % numAgents !== 0) {
      throw new RangeError(
        `${name}: the inner env has ${inner.numEnvs} instances, not a multiple of numAgents ${numAgents}`,
      );
    }
    const n = inner.numEnvs / numAgents;
    this.name = name;
    this.inner = inner;
    this.numEnvs = n;
    this.numAgents = numAgents;
    this.numSlots = inner.numSlots;
    this.groups = [{ ...g, slotsPerEnv: numAgents, slotOffset: 0 }];
    this.rew = inner.rew;
    this.flags = new Uint8Array(this.numSlots);
    this.envDone = new Uint8Array(n);
    this.envTruncated = new Uint8Array(n);
    this.stepMask = new Uint8Array(n).fill(1);
    this.#live = new Uint8Array(this.numSlots);
    this.#liveCount = new Int32Array(n);
    this.#truncCount = new Int32Array(n);
    this.#innerMask = inner.stepMask;
    this.#ids = Array.from({ length: numAgents }, (_, j) => multiAgentId(j));
  }

  /**
   * The id of the agent in a slot: `"j"` for slot `i * numAgents + j`.
   * @param slot a global slot index in `[0, numSlots)`
   * @returns the agent id
   */
  agentId(slot: number): string {
    if (!(slot >= 0 && slot < this.numSlots && Number.isInteger(slot))) {
      throw new RangeError(`Slot must be an integer in [0, ${this.numSlots}), got ${slot}`);
    }
    return this.#ids[slot % this.numAgents]!;
  }

  /**
   * Resets every env: every copy starts an episode, every agent SPAWNED|ACTIVE|ALIVE.
   * @param seed when given, copy `j` of env `i` is reseeded from `(seed, i * numAgents + j)`;
   *   otherwise each copy's random stream continues
   */
  reset(seed?: number): void {
    this.#innerMask.fill(1);
    this.inner.reset(seed);
    this.flags.fill(SPAWNED | ACTIVE | ALIVE);
    this.#live.fill(1);
    this.#liveCount.fill(this.numAgents);
    this.#truncCount.fill(0);
    this.envDone.fill(0);
    this.envTruncated.fill(0);
    this.#wasReset = true;
  }

  /**
   * Steps every env whose `stepMask` entry is 1: one step of the inner env for the copies
   * still in their episodes. Throws a `RangeError` naming the agent and env when an action is
   * invalid, or an `Error` before `reset`; nothing changes then.
   */
  step(): void {
    if (!this.#wasReset) throw new Error(`${this.name}: step() called before reset()`);
    const K = this.numAgents, N = this.numEnvs;
    const mask = this.stepMask, inner = this.#innerMask, live = this.#live;
    for (let i = 0, s = 0; i < N; i++) {
      const m = mask[i]!;
      for (let j = 0; j < K; j++, s++) inner[s] = m & live[s]!;
    }
    try {
      this.inner.step();
    } catch (e) {
      throw this.#renameError(e);
    }
    const innerFlags = this.inner.flags, flags = this.flags;
    const ENDED = TERMINATED | TRUNCATED, NEW = SPAWNED | ACTIVE | ALIVE;
    for (let i = 0, s0 = 0; i < N; i++, s0 += K) {
      this.envDone[i] = 0;
      this.envTruncated[i] = 0;
      if (mask[i] === 0) {
        for (let s = s0; s < s0 + K; s++) flags[s] = flags[s]! & (ACTIVE | ALIVE);
        continue;
      }
      let liveCount = this.#liveCount[i]!;
      for (let s = s0; s < s0 + K; s++) {
        if (live[s] === 0) {
          flags[s] = 0;
          continue;
        }
        const end = innerFlags[s]! & ENDED;
        if (end === 0) {
          flags[s] = ACTIVE | ALIVE;
        } else {
          // TERMINATED wins when the copy's last step was both (the kit flags one).
          flags[s] = end & TERMINATED ? TERMINATED : TRUNCATED;
          live[s] = 0;
          liveCount--;
          if ((end & TERMINATED) === 0) this.#truncCount[i]!++;
        }
      }
      if (liveCount === 0) {
        // Every copy ended; each was auto-reset by the inner env when it ended and held since.
        this.envDone[i] = 1;
        this.envTruncated[i] = this.#truncCount[i] === K ? 1 : 0;
        for (let s = s0; s < s0 + K; s++) {
          flags[s] = flags[s]! | NEW;
          live[s] = 1;
        }
        liveCount = K;
        this.#truncCount[i] = 0;
      }
      this.#liveCount[i] = liveCount;
    }
  }

  /** An inner error names the inner agent; name the agent and env of this one instead. */
  #renameError(e: unknown): unknown {
    if (!(e instanceof RangeError)) return e;
    const m = /\(slot (\d+),/.exec(e.message);
    if (m === null) return e;
    const s = Number(m[1]);
    const innerId = this.inner.agentId(s);
    const at = `agent "${this.agentId(s)}" of env ${Math.floor(s / this.numAgents)} (${this.name}`;
    return new RangeError(e.message.replace(`agent "${innerId}" (`, `${at}, `), { cause: e });
  }

  /**
   * The whole state as bytes (the inner env's state and the episodes' bookkeeping), for
   * checkpoints; needs an inner env with `saveState`.
   * @returns the state
   */
  saveState(): Uint8Array {
    if (this.inner.saveState === undefined) {
      throw new Error(`${this.name}: the inner env has no saveState`);
    }
    const meta = Int32Array.of(this.numEnvs, this.numAgents, this.#wasReset ? 1 : 0);
    return packState(`multi_agent:${this.name}`, [meta, this.inner.saveState(), ...this.#own()]);
  }

  /** The buffers of this env's own state, in saved order. */
  #own() {
    return [
      this.flags,
      this.envDone,
      this.envTruncated,
      this.#live,
      this.#liveCount,
      this.#truncCount,
    ];
  }

  /**
   * Restores a state from {@linkcode MultiAgentBatchedEnv.saveState}.
   * @param state the bytes
   * @throws {RangeError} when they are of another env or size; nothing changes then
   */
  loadState(state: Uint8Array): void {
    const tag = `multi_agent:${this.name}`;
    const parts = unpackState(tag, state);
    const meta = parts[0]?.length === 12 ? new Int32Array(parts[0].slice().buffer) : undefined;
    if (meta === undefined || parts.length !== 8) throw new RangeError(`Not a state of ${tag}`);
    if (meta[0] !== this.numEnvs || meta[1] !== this.numAgents) {
      throw new RangeError(
        `The state of ${tag} is of ${meta[0]} envs x ${
          meta[1]
        } agents, this env has ${this.numEnvs} x ${this.numAgents}`,
      );
    }
    if (this.inner.loadState === undefined) {
      throw new Error(`${this.name}: the inner env has no loadState`);
    }
    const own = this.#own();
    // Check every size before changing anything.
    copyParts(tag, parts.slice(2), own.map((a) => a.slice()));
    this.inner.loadState(parts[1]!);
    copyParts(tag, parts.slice(2), own);
    this.#wasReset = meta[2] === 1;
  }
}

const NEEDS_RESET = 0;
const RUNNING = 1;
const ENDED = 2;

/**
 * One env, Gymnasium-style ({@linkcode SingleAgentEnv}), over a one-env batched env whose one
 * slot holds an agent that acts at every step (a kit env with `fixedAgents`): `CartPoleEnv`
 * and `PendulumEnv` are this class. Observations are the group's unflattened rows (a Box: a
 * fresh `Float32Array`); `terminated` and `truncated` are kept apart. After an episode ends,
 * `step` throws until `reset`; `reset()` without a seed then continues the random stream
 * exactly as the batched env's auto-reset does, so the episodes match env 0 of a batch with
 * the same seed.
 */
export class BatchedSingleAgentEnv<
  O extends SpaceValue = SpaceValue,
  A extends SpaceValue = SpaceValue,
> implements SingleAgentEnv<O, A> {
  /** The observation space (the batched env's group's). */
  readonly observationSpace: Space;
  /** The action space (the batched env's group's). */
  readonly actionSpace: Space;
  /** The underlying one-env batched env. */
  readonly batched: BatchedEnv;
  readonly #name: string;
  #phase = NEEDS_RESET;

  /**
   * Wraps a one-env batched env; call {@linkcode BatchedSingleAgentEnv.reset} before stepping.
   * @param batched a batched env of one instance, one group, one slot
   * @param name the env's name, for messages
   */
  constructor(batched: BatchedEnv, name: string) {
    const g = batched.groups[0];
    if (batched.numEnvs !== 1 || batched.groups.length !== 1 || g?.slotsPerEnv !== 1) {
      throw new RangeError(`${name}: needs a batched env of one instance, one group, one slot`);
    }
    this.batched = batched;
    this.observationSpace = g.observationSpace;
    this.actionSpace = g.actionSpace;
    this.#name = name;
  }

  /**
   * Starts a new episode.
   * @param opts `seed` reseeds the env's random stream from `(seed, 0)`
   * @returns the first observation and an empty info
   */
  reset(opts: ResetOptions = {}): SingleAgentResetResult<O> {
    if (opts.seed !== undefined) this.batched.reset(opts.seed);
    // After an ended episode the batched env has already auto-reset: use that episode.
    else if (this.#phase !== ENDED) this.batched.reset();
    this.#phase = RUNNING;
    return { obs: this.#read(this.batched.groups[0]!.obs), info: {} };
  }

  /**
   * Takes one step.
   * @param action a member of the action space
   * @returns the observation (the final one when the episode ended), reward, end flags, info
   * @throws {RangeError} when the action is not in the action space (the env is unchanged)
   * @throws {Error} before the first `reset` or after the episode ended
   */
  step(action: A): SingleAgentStepResult<O> {
    if (this.#phase === NEEDS_RESET) throw new Error(`${this.#name}.step() called before reset()`);
    if (this.#phase === ENDED) {
      throw new Error(`${this.#name} episode has ended: call reset() before step()`);
    }
    const why = this.actionSpace.explain(action);
    if (why !== undefined) throw new RangeError(`Invalid action: ${why}`);
    const env = this.batched;
    const group = env.groups[0]!;
    this.actionSpace.pack(action, group.act, 0);
    env.step();
    const f = env.flags[0]!;
    const terminated = (f & TERMINATED) !== 0;
    const truncated = (f & TRUNCATED) !== 0;
    if (terminated || truncated) this.#phase = ENDED;
    return {
      obs: this.#read(terminated || truncated ? group.finalObs : group.obs),
      reward: env.rew[0]!,
      terminated,
      truncated,
      info: {},
    };
  }

  #read(row: Float32Array): O {
    return this.observationSpace.unflatten(row, 0) as O;
  }
}
