/**
 * RLHive's runner for coop: one experiment, from a validated config to a finished run
 * directory. Per iteration: `train()`, an evaluation every `testFrequency` iterations, the
 * result to every logger, then a checkpoint when the saving schedule says so. Logging before
 * saving is what makes `resume` exact: a run killed at any moment restarts from its newest
 * checkpoint (iteration k), its loggers drop the lines after k, and the iterations after k are
 * replayed bit for bit (the trainer is deterministic given its checkpoint).
 *
 * Runtime-neutral: the run directory comes in as a {@linkcode CheckpointStorage} and the
 * loggers as {@linkcode Logger}s; `src/runtime/run_cli.ts` is the Deno command line.
 *
 * @module
 */

import type { Logger, RunMeta } from "../loggers/logger.ts";
import type { Algorithm, EvaluationResult, TrainResult } from "../train/algorithm.ts";
import { rewardReached } from "../train/algorithm.ts";
import { listCheckpoints } from "../train/checkpoint.ts";
import type { CheckpointStorage } from "../train/storage.ts";
import { experimentAlgorithmConfig } from "./experiment.ts";
import type { ExperimentConfig } from "./schema.ts";

/** The checkpoint directory inside a run directory. */
export const CHECKPOINT_DIR = "checkpoints";
/** The resolved config a run writes into its directory (what `resume` reads back). */
export const CONFIG_FILE = "config.json";

/** Options of {@linkcode runExperiment}. */
export interface RunOptions {
  /** The run directory: `config.json`, `checkpoints/` (loggers have their own adapters). */
  storage: CheckpointStorage;
  /** Where results go, several at once. */
  loggers?: readonly Logger[];
  /** Continue from the newest checkpoint in `storage` instead of starting fresh. */
  resume?: boolean;
  /** The run's name, for the loggers. */
  name?: string;
  /** Process facts for the loggers (Ray Tune's `pid`, `hostname`). */
  host?: RunMeta["host"];
  /**
   * Called after each iteration is logged and saved; return false to stop (the run then ends
   * as at its step limit, with the final checkpoint).
   */
  onIteration?: (result: TrainResult) => boolean | void;
  /**
   * Replaces the storage the trainer's checkpoints go through (fault injection in tests);
   * default `storage`.
   */
  checkpointStorage?: CheckpointStorage;
}

/** What {@linkcode runExperiment} reports. */
export interface RunSummary {
  /** The last iteration's result (undefined when no iteration ran: the run was complete). */
  last: TrainResult | undefined;
  /** Iterations done, in total. */
  iterations: number;
  /** Env steps sampled, in total. */
  envSteps: number;
  /** The iteration the run resumed from (0 for a fresh run). */
  resumedFrom: number;
  /** Why it stopped. */
  stoppedBy: "trainSteps" | "stopReward" | "caller";
  /** The final checkpoint's path, when one was saved or already existed. */
  checkpoint: string | undefined;
}

/** An error of the runner itself: the run directory, resume, the schedule. */
export class RunError extends Error {
  /**
   * A runner error.
   * @param message what went wrong and what to do
   */
  constructor(message: string) {
    super(message);
    this.name = "RunError";
  }
}

const encoder = new TextEncoder();

/**
 * Runs (or resumes) an experiment to its step limit.
 *
 * A fresh run refuses a directory that already holds checkpoints (nothing is overwritten); a
 * resumed run refuses one with none, and a corrupt newest checkpoint is reported by name
 * before anything is written.
 *
 * @param c a validated experiment (see `parseExperiment`)
 * @param o the run directory, loggers, resume
 * @returns a summary of the run
 */
export async function runExperiment(c: ExperimentConfig, o: RunOptions): Promise<RunSummary> {
  const storage = o.storage;
  const existing = await listCheckpoints(storage, CHECKPOINT_DIR);
  if (o.resume && existing.length === 0) {
    throw new RunError(
      `resume: no checkpoint in ${CHECKPOINT_DIR}/ of the run directory; nothing to resume (start it without --resume)`,
    );
  }
  if (!o.resume && existing.length > 0) {
    throw new RunError(
      `the run directory already holds ${existing.length} checkpoint(s) (${
        existing.at(-1)!.path
      }): resume it with --resume, or choose another run name or output directory`,
    );
  }
  const config = experimentAlgorithmConfig(c).checkpointing({
    storage: o.checkpointStorage ?? storage,
    checkpointDir: CHECKPOINT_DIR,
    checkpointFreq: 0, // the runner saves, after logging
    checkpointAtEnd: false,
    numToKeep: c.saving.keep,
  });
  const algo: Algorithm<object> = await config.build();
  const loggers = o.loggers ?? [];
  let resumedFrom = 0;
  let lastSaved: string | undefined;
  try {
    if (o.resume) {
      const info = await algo.restore({ path: existing.at(-1)!.path });
      resumedFrom = info.iteration;
      lastSaved = info.path;
    } else {
      await storage.write(CONFIG_FILE, encoder.encode(JSON.stringify(c, null, 2) + "\n"));
    }
    for (const l of loggers) {
      await l.start({
        name: o.name ?? c.runName ?? "coop",
        totalSteps: c.trainSteps,
        ...(o.resume ? { resumeFromIteration: resumedFrom } : {}),
        config: c,
        ...(o.host === undefined ? {} : { host: o.host }),
      });
    }
    let last: TrainResult | undefined;
    let stoppedBy: RunSummary["stoppedBy"] = "trainSteps";
    while (algo.envSteps < c.trainSteps) {
      const r = await algo.train();
      if (c.testFrequency > 0 && r.training_iteration % c.testFrequency === 0) {
        const ev: EvaluationResult = await algo.evaluate({
          episodes: c.testEpisodes,
          explore: c.testExplore,
        });
        r.evaluation = ev;
      }
      for (const l of loggers) await l.logResult(r);
      if (c.saving.frequency > 0 && r.training_iteration % c.saving.frequency === 0) {
        lastSaved = await algo.save();
        r.checkpoint = lastSaved;
      }
      last = r;
      if (c.stopReward !== undefined && rewardReached(r, c.stopReward)) {
        stoppedBy = "stopReward";
        break;
      }
      if (o.onIteration?.(r) === false) {
        stoppedBy = "caller";
        break;
      }
    }
    if (c.saving.atEnd && (last !== undefined || lastSaved === undefined)) {
      if (last === undefined || last.checkpoint === undefined) lastSaved = await algo.save();
    }
    return {
      last,
      iterations: algo.iteration,
      envSteps: algo.envSteps,
      resumedFrom,
      stoppedBy,
      checkpoint: lastSaved,
    };
  } finally {
    for (const l of loggers) await l.close();
    algo.dispose();
  }
}
