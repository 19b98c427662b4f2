/**
 * The TypeScript side of the kit's test env `assembly/testdata/take_away.ts` (not published):
 * its descriptor for the generic WASM loader, and a plain-TypeScript twin of its rules for
 * bit-exact comparisons. See the AssemblyScript file for the rules.
 *
 * @module
 */

import { Box, Discrete, MultiDiscrete, type Space, Tuple } from "../../spaces.ts";
import { createWasmEnv, type WasmBatchedEnv, type WasmEnvDescriptor } from "../../env/wasm.ts";
import { Pcg32 } from "../../rng.ts";
import { TAKE_AWAY_FACTS, takeAwayWasmBytes } from "./_generated/take_away_wasm.ts";

/** The facts of the env, from its AssemblyScript source. */
export const FACTS = TAKE_AWAY_FACTS;

/** Player observation space: `(pile, moves)` and the legal-take mask. */
export const PLAYER_OBS_SPACE: Tuple = new Tuple([
  new Box(0, 16, [2]),
  new Box(0, 1, [FACTS.MAX_TAKE + 1]),
]);
/** Player action space: take 0 (pass) to MAX_TAKE stones. */
export const PLAYER_ACTION_SPACE: Discrete = new Discrete(FACTS.MAX_TAKE + 1);
/** Helper observation space: `(age, pile)`. */
export const HELPER_OBS_SPACE: Box = new Box(0, 16, [FACTS.HELPER_OBS]);
/** Helper action space: `(quit, bet)`. */
export const HELPER_ACTION_SPACE: MultiDiscrete = new MultiDiscrete([2, 2]);

/**
 * The descriptor of the module; `playerActions` replaces the player action space (a smaller
 * Discrete keeps random actions legal, for checkEnv, which samples the whole space).
 * @param playerActions the player action space to declare
 * @returns the descriptor
 */
export function takeAwayDescriptor(playerActions: Space = PLAYER_ACTION_SPACE): WasmEnvDescriptor {
  return {
    name: "take_away",
    groups: [
      {
        name: "player",
        observationSpace: PLAYER_OBS_SPACE,
        actionSpace: playerActions,
        agentId: (j) => `player_${j}`,
      },
      {
        name: "helper",
        observationSpace: HELPER_OBS_SPACE,
        actionSpace: HELPER_ACTION_SPACE,
        agentId: (_j, seq) => `helper_${seq}`,
      },
    ],
  };
}

let compiled: WebAssembly.Module | undefined;

/**
 * Creates `numEnvs` take-away games through the generic loader.
 * @param numEnvs number of envs
 * @param seed env `i` is seeded from `(seed, i)`
 * @param playerActions the player action space to declare (default Discrete(MAX_TAKE + 1))
 * @returns the env; call `reset` before `step`
 */
export function createTakeAway(
  numEnvs: number,
  seed = 0,
  playerActions?: Space,
): WasmBatchedEnv {
  compiled ??= new WebAssembly.Module(takeAwayWasmBytes() as BufferSource);
  return createWasmEnv(compiled, takeAwayDescriptor(playerActions), numEnvs, seed);
}

const ACTIVE = 1, SPAWNED = 2, TERMINATED = 4, TRUNCATED = 8, ALIVE = 16;

/** What one env of the twin shows after a step or reset, in the batched layout's terms. */
export interface TwinView {
  /** Flags of player 0, player 1, helper. */
  flags: number[];
  /** Rewards of player 0, player 1, helper. */
  rew: number[];
  /** Sequence numbers of player 0, player 1, helper. */
  seq: number[];
  /** Observations of player 0, player 1, helper. */
  obs: number[][];
  /** Final observations of the slots flagged TERMINATED or TRUNCATED (else undefined). */
  finalObs: (number[] | undefined)[];
  /** Whether the episode ended. */
  done: boolean;
  /** Whether it was truncated. */
  truncated: boolean;
}

/** The rules of one take-away env, written out plainly, with the kit's slot protocol. */
export class TakeAwayTwin {
  readonly rng: Pcg32;
  pile = 0;
  moves = 0;
  toMove = 0;
  age = 0;
  helperSeq = 0;
  readonly flags = [0, 0, 0];
  readonly seq = [0, 0, 0];

  /**
   * @param seed the batch seed
   * @param index the env index
   */
  constructor(seed: number, index: number) {
    this.rng = new Pcg32(seed, index);
  }

  #obs(slot: number): number[] {
    if (slot < 2) {
      const mask = Array.from({ length: FACTS.MAX_TAKE + 1 }, (_, k) => (k <= this.pile ? 1 : 0));
      return [this.pile, this.moves, ...mask];
    }
    return [this.age, this.pile];
  }

  #spawn(slot: number, seq: number): void {
    this.flags[slot] = this.flags[slot]! | SPAWNED | ACTIVE | ALIVE;
    this.seq[slot] = seq;
  }

  #view(
    rew: number[],
    finalObs: (number[] | undefined)[],
    done: boolean,
    truncated: boolean,
  ): TwinView {
    return {
      flags: [...this.flags],
      rew,
      seq: [...this.seq],
      obs: [0, 1, 2].map((s) => this.#obs(s)),
      finalObs,
      done,
      truncated,
    };
  }

  #resetState(): void {
    this.pile = FACTS.PILE_MIN + this.rng.nextInt(FACTS.PILE_SPAN);
    this.moves = 0;
    this.toMove = 0;
    this.age = 0;
    this.helperSeq = 1;
    this.#spawn(0, 0);
    this.#spawn(2, 1);
  }

  /** @returns the view after a reset */
  reset(): TwinView {
    this.flags.fill(0);
    this.#resetState();
    return this.#view([0, 0, 0], [undefined, undefined, undefined], false, false);
  }

  /** @returns the view of a masked (held) step */
  hold(): TwinView {
    for (let s = 0; s < 3; s++) this.flags[s] = this.flags[s]! & (ACTIVE | ALIVE);
    return this.#view([0, 0, 0], [undefined, undefined, undefined], false, false);
  }

  /**
   * @param take the moving player's action
   * @param quit the helper's quit action (ignored when no helper is alive)
   * @param bet the helper's bet action
   * @returns the view after the step
   */
  step(take: number, quit: number, bet: number): TwinView {
    const rew = [0, 0, 0];
    const finalObs: (number[] | undefined)[] = [undefined, undefined, undefined];
    for (let s = 0; s < 3; s++) this.flags[s] = this.flags[s]! & (ACTIVE | ALIVE);
    const p = this.toMove;
    this.pile -= take;
    this.moves++;
    let outcome = 0;
    if (this.pile === 0) {
      rew[p]! += FACTS.WIN_REWARD;
      if (this.flags[1 - p]! & ALIVE) rew[1 - p]! -= FACTS.WIN_REWARD;
      outcome = TERMINATED;
    } else {
      this.flags[p] = this.flags[p]! & ~ACTIVE;
      if (this.flags[1 - p]! & ALIVE) this.flags[1 - p] = this.flags[1 - p]! | ACTIVE;
      else this.#spawn(1 - p, 0);
      this.toMove = 1 - p;
      if (this.moves >= FACTS.MAX_MOVES) outcome = TRUNCATED;
    }
    const endHelper = (how: number) => {
      finalObs[2] = this.#obs(2);
      this.flags[2] = (this.flags[2]! & ~(ACTIVE | ALIVE)) | how;
    };
    const spawnHelper = () => {
      this.helperSeq++;
      this.age = 0;
      this.#spawn(2, this.helperSeq);
    };
    if (this.flags[2]! & ALIVE) {
      this.age++;
      if (bet !== 0) rew[2]! += this.pile % 2 === 0 ? FACTS.BET_REWARD : -FACTS.BET_REWARD;
      if (quit !== 0) endHelper(TERMINATED);
      else if (this.age >= FACTS.HELPER_MAX_AGE) {
        endHelper(TRUNCATED);
        if (outcome === 0) spawnHelper();
      }
    } else if (outcome === 0) spawnHelper();
    if (outcome !== 0) {
      for (let s = 0; s < 3; s++) {
        const f = this.flags[s]!;
        if (f & ALIVE) {
          finalObs[s] = this.#obs(s);
          this.flags[s] = (f & ~(ACTIVE | ALIVE)) | outcome;
        }
      }
      this.#resetState();
    }
    return this.#view(rew, finalObs, outcome !== 0, outcome === TRUNCATED);
  }
}
