/**
 * A runner module for the self-play league tests (RLlib's league pattern with env runners):
 * Tic-Tac-Toe with one PPO `learner` and the frozen snapshots of it listed in
 * `runnerArgs.league`. `player1` is always the learner; `player2` is the learner in even
 * episodes and, in odd ones, a snapshot picked by the episode id. A function cannot reach a
 * runner, so the league is data (`runnerArgs`) and {@linkcode leagueMapping} makes the mapping
 * from it, on the trainer and in every runner alike.
 *
 * @module
 */

import { PPOConfig } from "../../algorithms/ppo_config.ts";
import { createTicTacToe } from "../../envs/tic_tac_toe.ts";
import type { PolicyMappingFn } from "../../rollout/collector.ts";

/** What the tests pass as `runnerArgs`. */
export interface LeagueArgs {
  /** The snapshot policies `player2` plays in odd episodes (empty: self-play only). */
  league: string[];
}

/**
 * The league's mapping: `player2` plays a snapshot in odd episodes.
 * @param league the snapshots' ids
 * @returns the mapping
 */
export function leagueMapping(league: readonly string[]): PolicyMappingFn {
  return (id, ep) =>
    id === "player2" && league.length > 0 && ep.episodeId % 2 === 1
      ? league[(ep.episodeId >> 1) % league.length]!
      : "learner";
}

/**
 * The config the runners build from (the trainer builds from the same function).
 * @param args the league
 * @returns the config
 */
export function config(args: LeagueArgs = { league: [] }): PPOConfig {
  return new PPOConfig()
    .environment(({ numEnvs, seed }) => createTicTacToe(numEnvs, { seed }))
    .envRunners({ numEnvs: 8, rolloutFragmentLength: 16 })
    .training({ hidden: [32], minibatchSize: 64, numEpochs: 2 })
    .multiAgent({
      policies: ["learner"],
      policyMappingFn: leagueMapping(args.league),
      policiesToTrain: ["learner"],
    })
    .resources({ backend: "cpu" })
    .debugging({ seed: 4 });
}
