/**
 * The env-runner module of experiment files: an env runner (a Web Worker, see `src/runners/`)
 * imports it and builds the same trainer config from the experiment it is given, so runs from
 * config files sample in workers with nothing else to write.
 *
 * @module
 */

import type { AlgorithmConfig } from "../train/config.ts";
import { experimentAlgorithmConfig } from "./experiment.ts";
import { type ExperimentConfig, parseExperiment } from "./schema.ts";

/**
 * The trainer config of the experiment passed as `runnerArgs`.
 * @param args `{ experiment }`: the validated experiment
 * @returns its config (its env creator, mapping and policies are what the runner needs)
 */
export function config(args: { experiment: ExperimentConfig }): AlgorithmConfig<object> {
  return experimentAlgorithmConfig(parseExperiment(args.experiment, "runnerArgs.experiment"));
}
