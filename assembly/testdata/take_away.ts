/**
 * A small turn-based env for the kit's tests (not published): two players take stones from a
 * pile, and a helper bets on the pile's parity. It exercises what the windy maze does not: two
 * slot groups, two slots per env, waiting agents, rewards to waiting agents, agents that end
 * before the episode (both ways, with and without a new agent in the same step), sequence
 * numbers, a multi-number action row and an env-defined legality check.
 *
 * - Group 0 `player`, 2 slots per env. Observation (6 f32): `[pile, moves, legal take 0..3]`
 *   (legal-action mask: 1 when taking that many is allowed). Action Discrete(4): take 0 (pass)
 *   to 3 stones; taking more than the pile is illegal (the `legal` hook). Player 0 moves first
 *   and is the only player spawned at reset; player 1 spawns when its first turn comes. The
 *   player to move is ACTIVE, the other waits (ALIVE only).
 * - The player who takes the last stone gets WIN_REWARD and the other (waiting) player
 *   -WIN_REWARD; the episode terminates. It is truncated after MAX_MOVES moves.
 * - Group 1 `helper`, 1 slot per env, spawned at reset with sequence number 1 (ids
 *   `helper_{n}`). Observation (2 f32): `[age, pile]`. Action MultiDiscrete([2, 2]):
 *   `(quit, bet)`. Each step it acts: with bet 1 it gets +BET_REWARD when the pile after the
 *   player's move is even, else -BET_REWARD; its age grows by 1. With quit 1 it terminates
 *   (final observation kept) and its slot stays empty for one step, then a new helper spawns.
 *   At age HELPER_MAX_AGE it is truncated and a new helper spawns in the same step. No helper
 *   spawns at the step the episode ends.
 * - Reset: pile `PILE_MIN + nextInt(PILE_SPAN)`, moves 0, player 0 to move.
 */

import { Kit, KitEnv, Pcg32, RUNNING, TERMINATED, TRUNCATED } from "../_kit";

export * from "../_abi";

/** Smallest starting pile. */
export const PILE_MIN: i32 = 4;
/** The starting pile is `PILE_MIN + nextInt(PILE_SPAN)`. */
export const PILE_SPAN: u32 = 8;
/** Most stones one move takes; player actions are Discrete(MAX_TAKE + 1). */
export const MAX_TAKE: i32 = 3;
/** Episodes are truncated after this many player moves. */
export const MAX_MOVES: i32 = 12;
/** Reward of the winner (the loser gets its negative). */
export const WIN_REWARD: f32 = 1;
/** Reward of a helper's bet. */
export const BET_REWARD: f32 = 0.5;
/** A helper is truncated when its age reaches this. */
export const HELPER_MAX_AGE: i32 = 3;
/** Player observation width: `[pile, moves, legal take 0..MAX_TAKE]`. */
export const PLAYER_OBS: i32 = 2 + MAX_TAKE + 1;
/** Helper observation width: `[age, pile]`. */
export const HELPER_OBS: i32 = 2;

const PLAYER: i32 = 0;
const HELPER: i32 = 1;

let piles: usize = 0;
let moves: usize = 0;
let toMove: usize = 0;
let ages: usize = 0;
let helperSeqs: usize = 0;

/** The game's hooks (see `_kit.ts`); never instantiated. */
// deno-lint-ignore no-unused-vars -- bound by `Kit.bind<TakeAway>()` (a type argument)
class TakeAway extends KitEnv<TakeAway> {
  groups(): i32 {
    return 2;
  }
  slots(g: i32): i32 {
    return g == PLAYER ? 2 : 1;
  }
  obsSize(g: i32): i32 {
    return g == PLAYER ? PLAYER_OBS : HELPER_OBS;
  }
  actSize(g: i32): i32 {
    return g == PLAYER ? 1 : 2;
  }
  actions(g: i32): i32 {
    return g == PLAYER ? MAX_TAKE + 1 : 2;
  }
  /** Taking more stones than the pile holds is illegal. */
  legal(i: i32, g: i32, _j: i32, p: usize): bool {
    return g != PLAYER || <i32> load<f32>(p) <= load<i32>(piles + ((<usize> i) << 2));
  }
  layout(n: i32): void {
    piles = Kit.alloc(<u64> n << 2);
    moves = Kit.alloc(<u64> n << 2);
    toMove = Kit.alloc(<u64> n << 2);
    ages = Kit.alloc(<u64> n << 2);
    helperSeqs = Kit.alloc(<u64> n << 2);
  }
  reset(i: i32): void {
    const o4 = (<usize> i) << 2;
    store<i32>(piles + o4, PILE_MIN + <i32> Pcg32.nextInt(this.rng(i), PILE_SPAN));
    store<i32>(moves + o4, 0);
    store<i32>(toMove + o4, 0);
    store<i32>(ages + o4, 0);
    store<i32>(helperSeqs + o4, 1);
    this.spawn(PLAYER, i, 0, 0);
    this.spawn(HELPER, i, 0, 1);
  }
  step(i: i32): u8 {
    const o4 = (<usize> i) << 2;
    // The player to move.
    const p = load<i32>(toMove + o4);
    const pile = load<i32>(piles + o4) - this.action(PLAYER, i, p);
    const n = load<i32>(moves + o4) + 1;
    store<i32>(piles + o4, pile);
    store<i32>(moves + o4, n);
    let outcome = RUNNING;
    if (pile == 0) {
      this.reward(PLAYER, i, p, WIN_REWARD);
      if (this.alive(PLAYER, i, 1 - p)) this.reward(PLAYER, i, 1 - p, -WIN_REWARD);
      outcome = TERMINATED;
    } else {
      this.setActive(PLAYER, i, p, false);
      if (this.alive(PLAYER, i, 1 - p)) this.setActive(PLAYER, i, 1 - p, true);
      else this.spawn(PLAYER, i, 1 - p, 0);
      store<i32>(toMove + o4, 1 - p);
      if (n >= MAX_MOVES) outcome = TRUNCATED;
    }
    // The helper.
    if (this.alive(HELPER, i, 0)) {
      const a = this.act(HELPER, i, 0);
      const age = load<i32>(ages + o4) + 1;
      store<i32>(ages + o4, age);
      if (load<f32>(a, 4) != 0) this.reward(HELPER, i, 0, pile % 2 == 0 ? BET_REWARD : -BET_REWARD);
      if (load<f32>(a) != 0) {
        this.endAgent(HELPER, i, 0, TERMINATED);
      } else if (age >= HELPER_MAX_AGE) {
        this.endAgent(HELPER, i, 0, TRUNCATED);
        if (outcome == RUNNING) this.spawnHelper(i);
      }
    } else if (outcome == RUNNING) {
      this.spawnHelper(i);
    }
    return outcome;
  }
  spawnHelper(i: i32): void {
    const o4 = (<usize> i) << 2;
    const seq = load<i32>(helperSeqs + o4) + 1;
    store<i32>(helperSeqs + o4, seq);
    store<i32>(ages + o4, 0);
    this.spawn(HELPER, i, 0, seq);
  }
  writeObs(i: i32, g: i32, _j: i32, p: usize): void {
    const o4 = (<usize> i) << 2;
    const pile = load<i32>(piles + o4);
    if (g == PLAYER) {
      store<f32>(p, <f32> pile);
      store<f32>(p, <f32> load<i32>(moves + o4), 4);
      for (let k = 0; k <= MAX_TAKE; k++) {
        store<f32>(p + ((<usize> (2 + k)) << 2), k <= pile ? 1 : 0);
      }
    } else {
      store<f32>(p, <f32> load<i32>(ages + o4));
      store<f32>(p, <f32> pile, 4);
    }
  }
}

Kit.bind<TakeAway>();
