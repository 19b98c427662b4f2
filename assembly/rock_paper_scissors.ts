/**
 * Repeated Rock-Paper-Scissors (RLlib's `RockPaperScissors` env) on the env kit (`_kit.ts`):
 * `N` matches batched in linear memory; both players move at every step (simultaneous).
 *
 * One slot group `player` with 2 slots per env: slot 0 is `player1`, slot 1 `player2`, both
 * acting at every step for the whole episode (`fixedAgents`).
 * - Observation row (OBS_SIZE = 8 f32), the flat encoding of the Dict
 *   `{opponent_last_move: Discrete(4), own_last_move: Discrete(4)}` (keys sorted): the
 *   opponent's move of the last round (RLlib's observation) and the player's own, one-hot, with
 *   NO_MOVE (3) before the first round. The own move lets stateless policies (RLlib's
 *   "always the same move" heuristic keeps its episode's move in a recurrent state) and
 *   feed-forward learners see the match's history.
 * - Action row (1 f32): Discrete(3): ROCK 0, PAPER 1, SCISSORS 2 (RLlib's numbering). Every
 *   move is always legal.
 * - Each round: paper beats rock, scissors beat paper, rock beats scissors; the winner gets
 *   WIN_REWARD, the loser LOSS_REWARD, a tie TIE_REWARD for both. The episode terminates after
 *   `rounds` rounds (parameter 0; RLlib's 10 by default).
 * - Episode metrics (`METRIC_NAMES`): `player1_win_rate`, `player2_win_rate`, `tie_rate`,
 *   fractions of the episode's rounds.
 *
 * State (8 bytes per env): the last moves, the round, each player's wins.
 */

import { Kit, KitEnv, RUNNING, TERMINATED } from "./_kit";

export * from "./_abi";
export * from "./_abi_metrics";

/** Rounds per episode by default (RLlib's `RockPaperScissors` plays 10). */
export const ROUNDS: i32 = 10;
/** Most rounds per episode the `rounds` parameter accepts (the counters are bytes). */
export const MAX_ROUNDS: i32 = 255;
/** Number of moves; actions are Discrete(NUM_MOVES). */
export const NUM_MOVES: i32 = 3;
/** The move rock. */
export const ROCK: i32 = 0;
/** The move paper (beats rock). */
export const PAPER: i32 = 1;
/** The move scissors (beat paper). */
export const SCISSORS: i32 = 2;
/** The value of a last move before the first round. */
export const NO_MOVE: i32 = 3;
/** Reward of a round's winner. */
export const WIN_REWARD: f32 = 1;
/** Reward of a round's loser. */
export const LOSS_REWARD: f32 = -1;
/** Reward of both players in a tied round. */
export const TIE_REWARD: f32 = 0;
/** Observation row width: two one-hots of NUM_MOVES + 1 values. */
export const OBS_SIZE: i32 = 2 * (NUM_MOVES + 1);
/** The episode metrics, comma-separated, in the order of their columns. */
export const METRIC_NAMES: string = "player1_win_rate,player2_win_rate,tie_rate";

// Per-env record (8 bytes).
const O_LAST: usize = 0; // u8 x 2: last moves of player1, player2 (NO_MOVE at first)
const O_ROUND: usize = 2; // u8: rounds played
const O_WINS: usize = 3; // u8 x 2: rounds won by player1, player2

let matches: usize = 0;
let rounds: i32 = ROUNDS;

/**
 * Sets parameter `index` (0: `rounds`, the rounds per episode, an integer in [1, MAX_ROUNDS]);
 * the host calls it after `init`, before the first reset. Returns 0, or -1 for an unknown index
 * or a value out of range (nothing changes then).
 */
export function setParam(index: i32, value: f64): i32 {
  if (index != 0 || value != Math.floor(value) || value < 1 || value > <f64> MAX_ROUNDS) return -1;
  rounds = <i32> value;
  return 0;
}

/** The game's hooks (see `_kit.ts`); never instantiated. */
// deno-lint-ignore no-unused-vars -- bound by `Kit.bind<RockPaperScissors>()` (a type argument)
class RockPaperScissors extends KitEnv<RockPaperScissors> {
  slots(_g: i32): i32 {
    return 2;
  }
  obsSize(_g: i32): i32 {
    return OBS_SIZE;
  }
  /** Discrete(3): rock, paper, scissors. */
  actions(_g: i32): i32 {
    return NUM_MOVES;
  }
  /** Both players act at every step of the whole episode. */
  fixedAgents(): bool {
    return true;
  }
  metrics(): i32 {
    return 3;
  }
  layout(n: i32): void {
    matches = Kit.alloc(<u64> n << 3);
  }
  @inline
  reset(i: i32): void {
    const q = matches + ((<usize> i) << 3);
    store<u64>(q, 0);
    store<u8>(q + O_LAST, <u8> NO_MOVE);
    store<u8>(q + O_LAST, <u8> NO_MOVE, 1);
  }
  @inline
  step(i: i32): u8 {
    const q = matches + ((<usize> i) << 3);
    const a = this.action(0, i, 0);
    const b = this.action(0, i, 1);
    store<u8>(q + O_LAST, <u8> a);
    store<u8>(q + O_LAST, <u8> b, 1);
    // (a - b) mod 3: 0 tie, 1 player1 wins, 2 player2 wins.
    const d = (a - b + NUM_MOVES) % NUM_MOVES;
    if (d == 1) {
      this.reward(0, i, 0, WIN_REWARD);
      this.reward(0, i, 1, LOSS_REWARD);
      store<u8>(q + O_WINS, load<u8>(q + O_WINS) + 1);
    } else if (d == 2) {
      this.reward(0, i, 0, LOSS_REWARD);
      this.reward(0, i, 1, WIN_REWARD);
      store<u8>(q + O_WINS, load<u8>(q + O_WINS, 1) + 1, 1);
    } else {
      this.reward(0, i, 0, TIE_REWARD);
      this.reward(0, i, 1, TIE_REWARD);
    }
    const round = <i32> load<u8>(q + O_ROUND) + 1;
    store<u8>(q + O_ROUND, <u8> round);
    return round >= rounds ? TERMINATED : RUNNING;
  }
  /** `[opponent's last move one-hot, own last move one-hot]`. */
  @inline
  writeObs(i: i32, _g: i32, j: i32, p: usize): void {
    const q = matches + ((<usize> i) << 3);
    const own = <i32> load<u8>(q + O_LAST + <usize> j);
    const opp = <i32> load<u8>(q + O_LAST + <usize> (1 - j));
    for (let k = 0; k <= NUM_MOVES; k++) {
      store<f32>(p + ((<usize> k) << 2), k == opp ? 1 : 0);
      store<f32>(p + ((<usize> (NUM_MOVES + 1 + k)) << 2), k == own ? 1 : 0);
    }
  }
  writeMetrics(i: i32, p: usize): void {
    const q = matches + ((<usize> i) << 3);
    const rounds = <f32> load<u8>(q + O_ROUND);
    const w1 = <f32> load<u8>(q + O_WINS);
    const w2 = <f32> load<u8>(q + O_WINS, 1);
    store<f32>(p, w1 / rounds);
    store<f32>(p, w2 / rounds, 4);
    store<f32>(p, (rounds - w1 - w2) / rounds, 8);
  }
}

Kit.bind<RockPaperScissors>();
