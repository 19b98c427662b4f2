/**
 * Repeated Rock-Paper-Scissors (RLlib's `RockPaperScissors` env) as a batched WASM env
 * ({@linkcode createRockPaperScissors}). The rules and the facts live in
 * `assembly/rock_paper_scissors.ts`.
 *
 * Rules:
 * - Agents `player1` and `player2` (RLlib's ids), slots 0 and 1 of each env; both act at every
 *   step (simultaneous moves).
 * - Action: Discrete(3): 0 rock, 1 paper, 2 scissors (RLlib's numbering).
 * - Observation: `{opponent_last_move: Discrete(4), own_last_move: Discrete(4)}`, flattened as
 *   two one-hots `[opponent (4), own (4)]`: the moves of the last round, 3 (no move) before the
 *   first. RLlib's env observes the opponent's last move only; the own move is added so that
 *   stateless policies see the match's history (RLlib's "always the same move" heuristic keeps
 *   its move in a recurrent state instead).
 * - Each round paper beats rock, scissors beat paper, rock beats scissors: winner +1, loser -1,
 *   tie 0. The episode terminates after `rounds` rounds (RLlib's 10 by default; PettingZoo's
 *   `rps` plays 15 cycles).
 * - Episode metrics: `player1_win_rate`, `player2_win_rate`, `tie_rate` (fractions of rounds).
 *
 * @module
 */

import { Dict, Discrete } from "../spaces.ts";
import { createWasmEnv, type WasmBatchedEnv, type WasmEnvDescriptor } from "../env/wasm.ts";
import {
  ROCK_PAPER_SCISSORS_FACTS,
  rockPaperScissorsWasmBytes,
} from "./_generated/rock_paper_scissors_wasm.ts";

const FACTS = ROCK_PAPER_SCISSORS_FACTS;

/** Rounds per episode by default (RLlib's 10). */
export const RPS_ROUNDS: number = FACTS.ROUNDS;
/** Most rounds per episode the `rounds` option accepts. */
export const RPS_MAX_ROUNDS: number = FACTS.MAX_ROUNDS;
/** Number of moves (and of actions). */
export const RPS_NUM_MOVES: number = FACTS.NUM_MOVES;
/** The move rock. */
export const RPS_ROCK: number = FACTS.ROCK;
/** The move paper (beats rock). */
export const RPS_PAPER: number = FACTS.PAPER;
/** The move scissors (beat paper). */
export const RPS_SCISSORS: number = FACTS.SCISSORS;
/** The value of a last move before the first round. */
export const RPS_NO_MOVE: number = FACTS.NO_MOVE;
/** Reward of a round's winner. */
export const RPS_WIN_REWARD: number = FACTS.WIN_REWARD;
/** Reward of a round's loser. */
export const RPS_LOSS_REWARD: number = FACTS.LOSS_REWARD;
/** Reward of both players in a tied round. */
export const RPS_TIE_REWARD: number = FACTS.TIE_REWARD;
/**
 * The episode metrics, in the columns of `episodeMetrics.values`: `player1_win_rate`,
 * `player2_win_rate`, `tie_rate`, fractions of the episode's rounds.
 */
export const RPS_METRIC_NAMES: readonly string[] = FACTS.METRIC_NAMES.split(",");

/** The two agent ids, by slot. */
export const RPS_AGENT_IDS: readonly string[] = ["player1", "player2"];

/**
 * Observation space: the opponent's and the own move of the last round (3: none yet),
 * flattened as `[opponent one-hot (4), own one-hot (4)]`.
 */
export const RPS_OBS_SPACE: Dict = new Dict({
  opponent_last_move: new Discrete(FACTS.NUM_MOVES + 1),
  own_last_move: new Discrete(FACTS.NUM_MOVES + 1),
});
/** Action space: rock, paper or scissors. */
export const RPS_ACTION_SPACE: Discrete = new Discrete(FACTS.NUM_MOVES);

/** The loader's descriptor of the module: one group `player` (`player1`, `player2`). */
export const RPS_DESCRIPTOR: WasmEnvDescriptor = {
  name: "rock_paper_scissors",
  groups: [{
    name: "player",
    observationSpace: RPS_OBS_SPACE,
    actionSpace: RPS_ACTION_SPACE,
    agentId: (j) => RPS_AGENT_IDS[j]!,
  }],
  metrics: RPS_METRIC_NAMES,
  competitive: true,
  params: [{ name: "rounds", min: 1, max: FACTS.MAX_ROUNDS, integer: true, default: FACTS.ROUNDS }],
};

let compiled: WebAssembly.Module | undefined;

/**
 * The compiled Rock-Paper-Scissors module (compiled from the inlined bytes on first use, then
 * cached).
 * @returns the module
 */
export function rockPaperScissorsModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(rockPaperScissorsWasmBytes() as BufferSource);
  return compiled;
}

/** Options of {@linkcode createRockPaperScissors}. */
export interface RockPaperScissorsOptions {
  /** Env `i` is seeded from `(seed, i)`; a non-negative safe integer (default 0). */
  seed?: number;
  /** A compiled module (default: compiled from the inlined bytes). */
  module?: WebAssembly.Module;
  /** Rounds per episode, an integer in [1, {@linkcode RPS_MAX_ROUNDS}] (default 10, RLlib's). */
  rounds?: number;
}

/**
 * Creates `numEnvs` repeated Rock-Paper-Scissors matches as one batched slot env: one group
 * `player` with slots `2i` (`player1`) and `2i + 1` (`player2`) of env `i`, both acting at every
 * step, auto-reset after `rounds` rounds (default 10), `episodeMetrics`.
 *
 * @example Paper against rock for a whole match
 * ```ts
 * import { createRockPaperScissors } from "./rock_paper_scissors.ts";
 * const env = createRockPaperScissors(1);
 * env.reset();
 * let score = 0;
 * for (let t = 0; t < 10; t++) {
 *   env.groups[0]!.act.set([1, 0]);
 *   env.step();
 *   score += env.rew[0]!;
 * }
 * if (score !== 10 || env.envDone[0] !== 1) throw new Error("paper beats rock");
 * ```
 *
 * @param numEnvs number of envs
 * @param options seed, module and rounds
 * @returns the env; call `reset` before `step`
 */
export function createRockPaperScissors(
  numEnvs: number,
  options: RockPaperScissorsOptions = {},
): WasmBatchedEnv {
  return createWasmEnv(
    options.module ?? rockPaperScissorsModule(),
    RPS_DESCRIPTOR,
    numEnvs,
    options.seed,
    options.rounds === undefined ? {} : { rounds: options.rounds },
  );
}
