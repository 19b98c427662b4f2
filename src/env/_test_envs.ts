/**
 * Small TypeScript envs for the tests of the env layer and the hierarchy helper: a batched
 * windy maze (written independently of the WASM one, so the two can be checked against each
 * other), a turn-based two-player game, an env whose agents come and go, and a scripted dict env
 * that replays given outputs.
 *
 * @module
 */

import { ACTIVE, ALIVE, SlotEnv, SPAWNED, TERMINATED, TRUNCATED } from "./batched.ts";
import { Pcg32 } from "../rng.ts";
import { WINDY_MAZE_MAP } from "../envs/windy_maze.ts";
import { Box, Discrete, type Space, type SpaceValue, Tuple } from "../spaces.ts";
import type { DoneDict, MultiAgentEnv, ResetOptions, StepResult } from "./multi_agent.ts";

/** The windy maze map, `#` walls. */
export const MAZE = WINDY_MAZE_MAP;

/** Row/col deltas of the wind directions north, east, south, west. */
export const DIRS: readonly (readonly [number, number])[] = [[-1, 0], [0, 1], [1, 0], [0, -1]];

/**
 * One move from (r, c) in direction d, or (r, c) when blocked.
 * @param r row
 * @param c column
 * @param d direction 0..3
 * @returns the new position
 */
export function moveInMaze(r: number, c: number, d: number): [number, number] {
  const nr = r + DIRS[d]![0], nc = c + DIRS[d]![1];
  if (nr < 0 || nr >= MAZE.length || nc < 0 || nc >= MAZE[0]!.length) return [r, c];
  if (MAZE[nr]![nc] === "#") return [r, c];
  return [nr, nc];
}

/** The flat windy maze in TypeScript, as a batched env with a step mask. */
export class TsWindyMaze extends SlotEnv {
  /** Positions and winds, for tests to script. */
  readonly row: Int32Array;
  /** Columns. */
  readonly col: Int32Array;
  /** Wind directions. */
  readonly wind: Int32Array;
  /** Steps of the current episode. */
  readonly steps: Int32Array;
  #rngs: Pcg32[];
  #ready = false;

  /**
   * @param numEnvs number of envs
   * @param seed base seed: env i draws from PCG32(seed, i)
   */
  constructor(numEnvs: number, seed = 0) {
    const obsSpace = new Tuple([new Box(0, 100, [2]), new Discrete(4)]);
    super(numEnvs, [{
      name: "agent",
      slotsPerEnv: 1,
      observationSpace: obsSpace,
      actionSpace: new Discrete(2),
    }]);
    this.row = new Int32Array(numEnvs);
    this.col = new Int32Array(numEnvs);
    this.wind = new Int32Array(numEnvs);
    this.steps = new Int32Array(numEnvs);
    this.#rngs = Array.from({ length: numEnvs }, (_, i) => new Pcg32(seed, i));
  }

  /** @inheritdoc */
  agentId(_slot: number): string {
    return "default_agent";
  }

  #resetEnv(i: number): void {
    this.row[i] = 1;
    this.col[i] = 1;
    this.wind[i] = this.#rngs[i]!.nextInt(4);
    this.steps[i] = 0;
  }

  /**
   * Writes env i's observation row.
   * @param i env
   */
  writeObs(i: number): void {
    this.#write(this.groups[0]!.obs, i);
  }

  #write(buf: Float32Array, i: number): void {
    const o = i * 6;
    buf[o] = this.row[i]!;
    buf[o + 1] = this.col[i]!;
    buf.fill(0, o + 2, o + 6);
    buf[o + 2 + this.wind[i]!] = 1;
  }

  /** @inheritdoc */
  reset(seed?: number): void {
    for (let i = 0; i < this.numEnvs; i++) {
      if (seed !== undefined) this.#rngs[i]!.seed(seed, i);
      this.#resetEnv(i);
      this.#write(this.groups[0]!.obs, i);
      this.flags[i] = SPAWNED | ACTIVE | ALIVE;
      this.rew[i] = 0;
      this.envDone[i] = 0;
      this.envTruncated[i] = 0;
    }
    this.#ready = true;
  }

  /** @inheritdoc */
  step(): void {
    if (!this.#ready) throw new Error("Cannot step before reset");
    const act = this.groups[0]!.act;
    for (let i = 0; i < this.numEnvs; i++) {
      if (this.stepMask[i] === 0 || (this.flags[i]! & ACTIVE) === 0) continue;
      const a = act[i]!;
      if (a !== 0 && a !== 1) {
        throw new RangeError(
          `Invalid action ${a} for agent "default_agent": expected an integer in [0, 1] for Discrete(2)`,
        );
      }
    }
    for (let i = 0; i < this.numEnvs; i++) {
      this.rew[i] = 0;
      this.envDone[i] = 0;
      this.envTruncated[i] = 0;
      if (this.stepMask[i] === 0) {
        this.flags[i]! &= ACTIVE | ALIVE;
        continue;
      }
      if (act[i] === 1) {
        const [r, c] = moveInMaze(this.row[i]!, this.col[i]!, this.wind[i]!);
        this.row[i] = r;
        this.col[i] = c;
      }
      this.steps[i]!++;
      this.wind[i] = this.#rngs[i]!.nextInt(4);
      const atF = this.row[i] === 6 && this.col[i] === 1;
      this.rew[i] = atF ? 100 : 0;
      if (atF || this.steps[i]! >= 200) {
        this.#write(this.groups[0]!.finalObs, i);
        this.flags[i] = atF ? TERMINATED : TRUNCATED;
        this.envDone[i] = 1;
        this.envTruncated[i] = atF ? 0 : 1;
        this.#resetEnv(i);
        this.flags[i]! |= SPAWNED | ACTIVE | ALIVE;
      } else this.flags[i] = ACTIVE | ALIVE;
      this.#write(this.groups[0]!.obs, i);
    }
  }
}

/**
 * A turn-based two-player game: a pile of `stones`; players alternately take 1, 2 or 3
 * (action 0, 1, 2); taking more than what is left takes the rest. Whoever takes the last stone
 * wins (+1) and the other loses (−1). Every move also gives the *waiting* player a reward of
 * 0.5 ("the opponent spent a move") and the mover −0.25, so rewards to a waiting player
 * accumulate. Player ids `"p1"`, `"p2"`; observation Discrete(stones + 1) = stones left.
 */
export class Nim implements MultiAgentEnv {
  /** @inheritdoc */
  readonly possibleAgents = ["p1", "p2"] as const;
  /** Initial pile. */
  readonly stones: number;
  #left = 0;
  #turn = 0;
  #rng = new Pcg32(0, 0);
  /** How many stones the first player randomly removes at reset (0..2), for seeding tests. */
  #obsSpace: Discrete;
  #actSpace = new Discrete(3);

  /** @param stones initial pile size */
  constructor(stones = 7) {
    this.stones = stones;
    this.#obsSpace = new Discrete(stones + 1);
  }
  /** @inheritdoc */
  observationSpace(_id: string): Space {
    return this.#obsSpace;
  }
  /** @inheritdoc */
  actionSpace(_id: string): Space {
    return this.#actSpace;
  }
  /** @inheritdoc */
  reset(opts?: ResetOptions): { obs: Record<string, SpaceValue>; infos: Record<string, never> } {
    if (opts?.seed !== undefined) this.#rng.seed(opts.seed, 0);
    this.#left = this.stones - this.#rng.nextInt(3);
    this.#turn = 0;
    return { obs: { p1: this.#left }, infos: {} };
  }
  /** @inheritdoc */
  step(actions: Record<string, SpaceValue>): StepResult {
    const me = this.#turn === 0 ? "p1" : "p2", other = this.#turn === 0 ? "p2" : "p1";
    const a = actions[me];
    if (typeof a !== "number" || Object.keys(actions).length !== 1) {
      throw new RangeError(`Expected one action for "${me}", got ${JSON.stringify(actions)}`);
    }
    this.#left = Math.max(0, this.#left - (a + 1));
    this.#turn = 1 - this.#turn;
    if (this.#left === 0) {
      return {
        obs: { [me]: 0, [other]: 0 },
        rewards: { [me]: 1, [other]: -1 },
        terminateds: { [me]: true, [other]: true, __all__: true } as DoneDict,
        truncateds: { __all__: false } as DoneDict,
        infos: {},
      };
    }
    return {
      obs: { [other]: this.#left },
      rewards: { [me]: -0.25, [other]: 0.5 },
      terminateds: { __all__: false } as DoneDict,
      truncateds: { __all__: false } as DoneDict,
      infos: {},
    };
  }
}

/** Slot groups for {@linkcode Walkers} under `fromDictEnv`: one watcher, up to two walkers. */
export const WALKER_GROUPS = [
  {
    name: "watcher",
    slotsPerEnv: 1,
    observationSpace: new Discrete(3),
    actionSpace: new Discrete(2),
    match: (id: string) => id === "watcher",
  },
  {
    name: "walkers",
    slotsPerEnv: 2,
    observationSpace: new Box(0, 10, [1]),
    actionSpace: new Discrete(2),
    match: (id: string) => id.startsWith("w_"),
  },
];

/**
 * Agents that come and go: walkers `w_{n}` appear over time (at most `maxAlive` at once), each
 * walks a 1-D line (observation Box(0, 10, [1]) position; action Discrete(2) 0 stay / 1 step)
 * and terminates on reaching 10 (reward +1 on arrival, −0.1 per step otherwise). A "watcher"
 * agent acts every 3rd step (observation Discrete(3): the step count mod 3, action Discrete(2))
 * and receives +0.1 whenever a walker arrives, even while waiting. The episode is truncated after
 * `maxSteps` steps. A seeded draw decides when walkers appear.
 */
export class Walkers implements MultiAgentEnv {
  /** Most walkers alive at once. */
  readonly maxAlive: number;
  /** Episode length limit. */
  readonly maxSteps: number;
  #rng = new Pcg32(0, 0);
  #pos = new Map<string, number>();
  #n = 0;
  #t = 0;
  #walkerObs = new Box(0, 10, [1]);
  #watcherObs = new Discrete(3);
  #act = new Discrete(2);

  /**
   * @param maxAlive most walkers alive at once
   * @param maxSteps episode length limit
   */
  constructor(maxAlive = 2, maxSteps = 40) {
    this.maxAlive = maxAlive;
    this.maxSteps = maxSteps;
  }
  /** @inheritdoc */
  observationSpace(id: string): Space {
    return id === "watcher" ? this.#watcherObs : this.#walkerObs;
  }
  /** @inheritdoc */
  actionSpace(_id: string): Space {
    return this.#act;
  }
  #maybeSpawn(obs: Record<string, SpaceValue>): void {
    if (this.#pos.size < this.maxAlive && this.#rng.nextInt(2) === 0) {
      const id = `w_${++this.#n}`;
      this.#pos.set(id, 0);
      obs[id] = [0];
    }
  }
  /** @inheritdoc */
  reset(opts?: ResetOptions): { obs: Record<string, SpaceValue>; infos: Record<string, never> } {
    if (opts?.seed !== undefined) this.#rng.seed(opts.seed, 0);
    this.#pos.clear();
    this.#n = 0;
    this.#t = 0;
    const obs: Record<string, SpaceValue> = { watcher: 0 };
    this.#maybeSpawn(obs);
    return { obs, infos: {} };
  }
  /** @inheritdoc */
  step(actions: Record<string, SpaceValue>): StepResult {
    this.#t++;
    const obs: Record<string, SpaceValue> = {};
    const rewards: Record<string, number> = {};
    const terminateds = { __all__: false } as DoneDict;
    const truncateds = { __all__: false } as DoneDict;
    for (const [id, p] of [...this.#pos]) {
      const np = Math.min(10, p + (actions[id] === 1 ? 1 + this.#rng.nextInt(3) : 0));
      if (np === 10) {
        rewards[id] = 1;
        terminateds[id] = true;
        this.#pos.delete(id);
        rewards.watcher = (rewards.watcher ?? 0) + 0.1;
      } else {
        rewards[id] = -0.1;
        this.#pos.set(id, np);
        obs[id] = [np];
      }
    }
    if ("watcher" in actions) rewards.watcher = rewards.watcher ?? 0;
    if (this.#t >= this.maxSteps) {
      truncateds.__all__ = true;
      for (const [id, p] of this.#pos) {
        obs[id] = [p];
        truncateds[id] = true;
      }
      obs.watcher = this.#t % 3;
      truncateds.watcher = true;
      return { obs, rewards, terminateds, truncateds, infos: {} };
    }
    if (this.#t % 3 === 0) obs.watcher = 0;
    this.#maybeSpawn(obs);
    if (Object.keys(obs).length === 0) obs.watcher = this.#t % 3;
    return { obs, rewards, terminateds, truncateds, infos: {} };
  }
}

/** One scripted step output of {@linkcode ScriptedDictEnv} (defaults: no rewards, no ends). */
export type ScriptedStep = Partial<StepResult> & { obs: Record<string, SpaceValue> };

/**
 * A dict env that replays a script, whatever the actions: `reset` returns `first` (and
 * `firstInfos`), each `step` the next output of `steps` (cycling), with `rewards`, `infos`
 * empty and `__all__` false unless given. Records the actions and reset seeds it got. Every
 * agent has observation space Box(0, 99, [1]) and action space Discrete(2).
 */
export class ScriptedDictEnv implements MultiAgentEnv {
  /** The action dicts received, one per step. */
  readonly got: Record<string, SpaceValue>[] = [];
  /** The seeds of the resets received. */
  readonly resets: (number | undefined)[] = [];
  /** The first observations. */
  readonly first: Record<string, SpaceValue>;
  /** The step outputs. */
  readonly steps: ScriptedStep[];
  /** The infos of reset. */
  readonly firstInfos: Record<string, Record<string, unknown>>;
  #t = 0;
  #obs = new Box(0, 99, [1]);
  #act = new Discrete(2);
  /**
   * @param first the observations of reset
   * @param steps the outputs of the steps, in order (cycled)
   * @param firstInfos the infos of reset
   */
  constructor(
    first: Record<string, SpaceValue>,
    steps: ScriptedStep[],
    firstInfos: Record<string, Record<string, unknown>> = {},
  ) {
    this.first = first;
    this.steps = steps;
    this.firstInfos = firstInfos;
  }
  /** @inheritdoc */
  observationSpace(_id: string): Space {
    return this.#obs;
  }
  /** @inheritdoc */
  actionSpace(_id: string): Space {
    return this.#act;
  }
  /** @inheritdoc */
  reset(
    opts?: ResetOptions,
  ): { obs: Record<string, SpaceValue>; infos: Record<string, Record<string, unknown>> } {
    this.resets.push(opts?.seed);
    this.#t = 0;
    return { obs: this.first, infos: this.firstInfos };
  }
  /** @inheritdoc */
  step(actions: Record<string, SpaceValue>): StepResult {
    this.got.push(actions);
    const o = this.steps[this.#t++ % this.steps.length]!;
    return {
      rewards: {},
      terminateds: { __all__: false } as DoneDict,
      truncateds: { __all__: false } as DoneDict,
      infos: {},
      ...o,
    };
  }
}
