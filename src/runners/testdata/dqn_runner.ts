/**
 * A runner module for the DQN env runner tests: `task: "chain"` is the chain of
 * `src/algorithms/dqn_test.ts` (walk right 4 cells for a reward of 1, truncated after 10 steps;
 * n-step 2 bootstraps across rows); `task: "tictactoe"` is Tic-Tac-Toe with the legal-move mask,
 * `player1` a DQN learner and `player2` a random legal mover (the env throws on an illegal
 * move, so every move the runners sample is legal).
 *
 * @module
 */

import { DQNConfig } from "../../algorithms/dqn_config.ts";
import type { DQNHyperparams } from "../../algorithms/dqn.ts";
import { fromDictEnv } from "../../env/from_dict.ts";
import type { DoneDict, MultiAgentEnv, StepResult } from "../../env/multi_agent.ts";
import { createTicTacToe } from "../../envs/tic_tac_toe.ts";
import { Discrete, type Space, type SpaceValue } from "../../spaces.ts";

/** What the tests pass as `runnerArgs`. */
export interface DQNRunnerArgs {
  /** The task. */
  task: "chain" | "tictactoe";
}

/**
 * A chain (also the DQN tests' task): positions 0…4, start at 0; action 1 moves right, 0 left
 * (not below 0); reaching 4 pays 1 and terminates; truncated after 10 steps. The optimum takes
 * 4 steps.
 */
export class Chain implements MultiAgentEnv {
  readonly possibleAgents = ["a"];
  static readonly obs = new Discrete(5);
  static readonly act = new Discrete(2);
  #pos = 0;
  #t = 0;
  observationSpace(): Space {
    return Chain.obs;
  }
  actionSpace(): Space {
    return Chain.act;
  }
  reset() {
    this.#pos = 0;
    this.#t = 0;
    return { obs: { a: 0 }, infos: {} };
  }
  step(actions: Record<string, SpaceValue>): StepResult {
    this.#t++;
    this.#pos = Math.max(0, this.#pos + (actions.a === 1 ? 1 : -1));
    const done = this.#pos === 4, cut = !done && this.#t >= 10;
    return {
      obs: { a: this.#pos },
      rewards: { a: done ? 1 : 0 },
      terminateds: { a: done, __all__: done } as DoneDict,
      truncateds: { a: cut, __all__: cut } as DoneDict,
      infos: {},
    };
  }
}

/**
 * The config the runners build from (the trainer builds from the same function).
 * @param args the task
 * @returns the config
 */
export function config(args: DQNRunnerArgs = { task: "chain" }): DQNConfig {
  if (args.task === "tictactoe") {
    return new DQNConfig()
      .environment(({ numEnvs, seed }) => createTicTacToe(numEnvs, { seed }))
      .envRunners({ numEnvs: 16, rolloutFragmentLength: 16 })
      .training({
        hidden: [64],
        lr: 1e-3,
        gamma: 0.9,
        learningStarts: 256,
        trainBatchSize: 64,
        trainingIntensity: 2,
        targetUpdateFreq: 50,
        epsilonTimesteps: 4000,
        epsilonFinal: 0.05,
      })
      .multiAgent({
        policies: { player1: {}, player2: { policyClass: "random" } },
        policyMappingFn: (id) => id,
        policiesToTrain: ["player1"],
      })
      .evaluation({ evaluationDuration: 100, evaluationNumEnvs: 20 })
      .resources({ backend: "cpu" })
      .debugging({ seed: 3 });
  }
  return chainConfig(1)
    .envRunners({ numEnvs: 4, rolloutFragmentLength: 8 })
    .resources({ backend: "cpu" });
}

/**
 * DQN on the {@linkcode Chain} (8 envs × 8 steps, 2-step returns), the DQN tests' task.
 * @param seed the run's seed
 * @param extra hyperparameters to add or override
 * @returns the config
 */
export function chainConfig(seed: number, extra: Partial<DQNHyperparams> = {}): DQNConfig {
  return new DQNConfig()
    .environment(({ numEnvs, seed }) =>
      fromDictEnv(() => new Chain(), numEnvs, {
        groups: [{ name: "a", observationSpace: Chain.obs, actionSpace: Chain.act }],
        seed,
      })
    )
    .envRunners({ numEnvs: 8, rolloutFragmentLength: 8 })
    .training({
      hidden: [32],
      gamma: 0.9,
      nStep: 2,
      lr: 3e-3,
      learningStarts: 64,
      trainBatchSize: 32,
      trainingIntensity: 4,
      targetUpdateFreq: 20,
      epsilonTimesteps: 1500,
      epsilonFinal: 0.05,
      ...extra,
    })
    .evaluation({ evaluationDuration: 20, evaluationNumEnvs: 4 })
    .debugging({ seed });
}
