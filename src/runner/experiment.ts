/**
 * From a validated experiment file to a trainer config: the env by name, the algorithm by name,
 * the policies and the mapping by rule.
 *
 * @module
 */

import { DQNConfig } from "../algorithms/dqn_config.ts";
import { PPOConfig } from "../algorithms/ppo_config.ts";
import type { BatchedEnv } from "../env/batched.ts";
import { createCartPole } from "../envs/cartpole.ts";
import { createChickenYard } from "../envs/chicken_yard.ts";
import { createConnectFour } from "../envs/connect_four.ts";
import { createPendulum } from "../envs/pendulum.ts";
import { createRockPaperScissors } from "../envs/rock_paper_scissors.ts";
import { createTicTacToe } from "../envs/tic_tac_toe.ts";
import {
  ConnectFourHeuristicPolicy,
  RpsAlwaysSamePolicy,
  RpsBeatLastPolicy,
  TicTacToeMinimaxPolicy,
} from "../envs/opponents.ts";
import { frameStack, newestFrame } from "../env/frame_stack.ts";
import { setEpisodeLimit } from "../env/wasm.ts";
import type { BatchPolicy } from "../policy/policy.ts";
import type { Space } from "../spaces.ts";
import {
  createHierarchicalWindyMaze,
  createThreeLevelWindyMaze,
} from "../envs/hierarchical_windy_maze.ts";
import { createWindyMaze } from "../envs/windy_maze.ts";
import type { AlgorithmConfig } from "../train/config.ts";
import type { PolicyMappingFn } from "../rollout/collector.ts";
import type { PolicySpec } from "../train/settings.ts";
import type { ExperimentConfig, ExperimentPolicy } from "./schema.ts";

/** The games' fixed opponents by `policyClass`. */
const FIXED_POLICIES: Record<
  Exclude<ExperimentPolicy["policyClass"], "learned" | "random">,
  (obs: Space, act: Space) => BatchPolicy
> = {
  connect_four_heuristic: () => new ConnectFourHeuristicPolicy(),
  tic_tac_toe_minimax: () => new TicTacToeMinimaxPolicy(),
  rps_always_same: () => new RpsAlwaysSamePolicy(),
  rps_beat_last: () => new RpsBeatLastPolicy(),
};

/** The env of an experiment, `numEnvs` of them batched, seeded from `seed`. */
export function createExperimentEnv(
  env: ExperimentConfig["env"],
  numEnvs: number,
  seed: number,
  opts: { maxStepsPerEpisode?: number | undefined; stackSize?: number } = {},
): BatchedEnv {
  const base = baseEnv(env, numEnvs, seed);
  if (opts.maxStepsPerEpisode !== undefined) setEpisodeLimit(base, opts.maxStepsPerEpisode);
  return frameStack(base, opts.stackSize ?? 1);
}

function baseEnv(env: ExperimentConfig["env"], numEnvs: number, seed: number): BatchedEnv {
  switch (env.name) {
    case "connect_four":
      return createConnectFour(numEnvs, { seed, ...env.options });
    case "tic_tac_toe":
      return createTicTacToe(numEnvs, { seed, ...env.options });
    case "rock_paper_scissors":
      return createRockPaperScissors(numEnvs, { seed, ...env.options });
    case "cartpole":
      return createCartPole(numEnvs, { seed, ...env.options });
    case "pendulum":
      return createPendulum(numEnvs, { seed, ...env.options });
    case "windy_maze":
      return createWindyMaze(numEnvs, { seed });
    case "hierarchical_windy_maze":
      return createHierarchicalWindyMaze(numEnvs, { seed, ...env.options });
    case "three_level_windy_maze":
      return createThreeLevelWindyMaze(numEnvs, { seed, ...env.options });
    case "chicken_yard":
      return createChickenYard(numEnvs, { seed, ...env.options });
  }
}

/**
 * The policy mapping of an experiment: the first rule whose pattern matches the agent id, else
 * `default`, else (one policy, no mapping) that policy.
 *
 * @throws {Error} at the first agent no rule maps, naming it and the rules
 */
export function experimentMapping(c: ExperimentConfig): PolicyMappingFn {
  const policies = Object.keys(c.policies ?? { default_policy: {} });
  if (c.mapping === undefined) {
    const only = policies[0]!;
    return () => only;
  }
  const rules = c.mapping.rules.map((r) => {
    const test: (id: string) => boolean = r.match === "prefix"
      ? (id) => id.startsWith(r.pattern)
      : r.match === "suffix"
      ? (id) => id.endsWith(r.pattern)
      : r.match === "contains"
      ? (id) => id.includes(r.pattern)
      : r.match === "equals"
      ? (id) => id === r.pattern
      : ((re) => (id: string) => re.test(id))(new RegExp(r.pattern));
    return { test, policy: r.policy };
  });
  const fallback = c.mapping.default;
  return (agentId) => {
    for (const r of rules) if (r.test(agentId)) return r.policy;
    if (fallback !== undefined) return fallback;
    throw new Error(
      `policy mapping: no rule maps agent "${agentId}" (rules: ${
        c.mapping!.rules.map((r) => `${r.match} "${r.pattern}" → ${r.policy}`).join("; ")
      }) and mapping.default is not set`,
    );
  };
}

/** Rows per iteration the runner aims at when `rolloutFragmentLength` is not given. */
export const DEFAULT_ROWS_PER_ITERATION = 4096;

/**
 * The trainer config of an experiment (without checkpoint storage, which the runner adds).
 * @param c a validated experiment (see `parseExperiment`)
 */
export function experimentAlgorithmConfig(c: ExperimentConfig): AlgorithmConfig<object> {
  const numEnvs = c.env.numEnvs;
  const config: AlgorithmConfig<object> = c.algorithm.name === "DQN"
    ? new DQNConfig() as unknown as AlgorithmConfig<object>
    : new PPOConfig() as unknown as AlgorithmConfig<object>;
  config
    .environment(({ numEnvs, seed }) =>
      createExperimentEnv(c.env, numEnvs, seed, {
        maxStepsPerEpisode: c.maxStepsPerEpisode,
        stackSize: c.stackSize,
      })
    )
    .envRunners({
      numEnvs,
      rolloutFragmentLength: c.algorithm.rolloutFragmentLength ??
        Math.max(1, Math.ceil(DEFAULT_ROWS_PER_ITERATION / numEnvs)),
    })
    .envRunners(
      c.envRunners === undefined ? {} : {
        ...c.envRunners,
        // Each runner builds the same config from the experiment (src/runner/runner_module.ts).
        runnerModule: new URL("./runner_module.ts", import.meta.url).href,
        runnerArgs: { experiment: c },
      },
    )
    .resources({ backend: c.backend })
    .debugging({ seed: c.seed })
    .training(c.algorithm.hyperparameters as Record<string, unknown>);
  if (c.policies !== undefined || c.mapping !== undefined || c.policiesToTrain !== undefined) {
    const policies: Record<string, PolicySpec<object>> = {};
    const declared: Record<string, ExperimentPolicy> = c.policies ??
      { default_policy: { policyClass: "learned", config: {} } };
    for (const [id, p] of Object.entries(declared)) {
      const spec: PolicySpec<object> = {};
      if (Object.keys(p.config).length > 0) spec.config = p.config;
      if (p.policyClass === "random") spec.policyClass = "random";
      else if (p.policyClass !== "learned") {
        const make = FIXED_POLICIES[p.policyClass];
        const k = c.stackSize;
        spec.policyClass = { create: (obs, act) => newestFrame(make(obs, act), k) };
      }
      policies[id] = spec;
    }
    config.multiAgent({
      policies,
      policyMappingFn: experimentMapping(c),
      ...(c.policiesToTrain === undefined ? {} : { policiesToTrain: c.policiesToTrain }),
    });
  }
  return config;
}
