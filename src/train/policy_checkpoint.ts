/**
 * {@linkcode policyFromCheckpoint}: one policy of a trainer's checkpoint, ready for inference
 * without the trainer or its env (RLlib's `Policy.from_checkpoint`): its spaces, its model
 * with the saved weights, and `computeSingleAction` / `computeActions`.
 *
 * @module
 */

import { PPO } from "../algorithms/ppo.ts";
import { activeBackend, initBackend } from "../policy/backend.ts";
import { type BatchPolicy, RandomPolicy } from "../policy/policy.ts";
import { Pcg32 } from "../rng.ts";
import type { Space } from "../spaces.ts";
import type { AlgorithmFamily, LearningPolicy, ModelParams } from "./learner.ts";
import { readCheckpoint, spaceFromJSON } from "./checkpoint.ts";
import { InferencePolicy } from "./inference.ts";
import type { CheckpointStorage } from "./storage.ts";
import type { PolicyCheckpoint } from "./algorithm.ts";

/** Options of {@linkcode policyFromCheckpoint}. */
export interface PolicyFromCheckpointOptions {
  /**
   * The algorithms whose learning policies can be rebuilt, found by the checkpoint's algorithm
   * name (default: PPO).
   */
  // deno-lint-ignore no-explicit-any
  families?: readonly AlgorithmFamily<any>[];
  /**
   * Seed of the stream sampled actions are drawn from. Default: the state the trainer's
   * `computeSingleAction` stream had when the checkpoint was saved, so the restored policy
   * samples the same actions the trainer would have.
   */
  seed?: number;
}

/**
 * A policy restored from a checkpoint: {@linkcode InferencePolicy} plus the model it owns.
 */
export class RestoredPolicy extends InferencePolicy {
  /** The learning policy (model) with the checkpoint's weights; undefined for a random policy. */
  readonly model: LearningPolicy | undefined;

  /**
   * Wraps a restored policy (see {@linkcode policyFromCheckpoint}).
   * @param policyId the policy's id
   * @param observationSpace its observation space
   * @param actionSpace its action space
   * @param policy the batched policy that acts (the model, or a random policy)
   * @param rng the stream sampled actions are drawn from
   * @param model the model, when the policy is one
   */
  constructor(
    policyId: string,
    observationSpace: Space,
    actionSpace: Space,
    policy: BatchPolicy,
    rng: Pcg32,
    model: LearningPolicy | undefined,
  ) {
    super(policyId, observationSpace, actionSpace, policy, rng);
    this.model = model;
  }

  /** Frees the model. */
  dispose(): void {
    this.model?.dispose();
  }
}

/**
 * Loads one policy of a checkpoint written by `Algorithm.save`, for inference without the
 * trainer or its env. A learning policy is rebuilt by its algorithm with the saved spaces and
 * model shape and gets the saved weights (the tfjs backend the trainer used is started when
 * none is); a random policy is rebuilt as one. A scripted or custom policy cannot be: its code
 * is not in the checkpoint.
 *
 * @example Save a trainer, load one of its policies, act
 * ```ts ignore
 * import { FileStorage } from "@coop/rl/runtime";
 * import { policyFromCheckpoint } from "@coop/rl";
 * const storage = new FileStorage("runs/maze");
 * const policy = await policyFromCheckpoint(storage, "checkpoints/checkpoint_000020.ckpt",
 *   "high_level_policy");
 * const goal = policy.computeSingleAction([[1, 1], 2], { explore: false });
 * policy.dispose();
 * ```
 *
 * @param storage where the checkpoint is
 * @param path its path
 * @param policyId the policy to load
 * @param opts the algorithms that can rebuild it, and the sampling seed
 * @returns the policy, ready to compute actions
 * @throws {RangeError} when the checkpoint is unreadable (see `decodeCheckpoint`), has no such
 *   policy, the policy was never built (its spaces unknown), or cannot be rebuilt
 */
export async function policyFromCheckpoint(
  storage: CheckpointStorage,
  path: string,
  policyId: string,
  opts: PolicyFromCheckpointOptions = {},
): Promise<RestoredPolicy> {
  const c = await readCheckpoint(storage, path) as {
    kind?: string;
    family: string;
    inferRng: number[];
    backend: { name: "wasm" | "cpu"; threads: number };
    policies: PolicyCheckpoint[];
  };
  const where = `Checkpoint "${path}"`;
  if (typeof c !== "object" || c === null || c.kind !== "coop.Algorithm") {
    throw new RangeError(`${where} is not a checkpoint of an Algorithm`);
  }
  const pc = c.policies.find((p) => p.id === policyId);
  if (pc === undefined) {
    throw new RangeError(
      `${where} has no policy "${policyId}", it has ${
        c.policies.map((p) => `"${p.id}"`).join(", ")
      }`,
    );
  }
  if (!pc.built || pc.observationSpace === null || pc.actionSpace === null) {
    throw new RangeError(
      `${where}: policy "${policyId}" was never built (no agent had mapped to it and its spaces were not declared), so it has no weights`,
    );
  }
  const obs = spaceFromJSON(pc.observationSpace), act = spaceFromJSON(pc.actionSpace);
  const rng = new Pcg32(opts.seed ?? 0, 0x1ea5);
  if (opts.seed === undefined) rng.setState(c.inferRng);
  if (pc.kind === "random") {
    return new RestoredPolicy(
      policyId,
      obs,
      act,
      new RandomPolicy(obs, act),
      rng,
      undefined,
    );
  }
  if (pc.kind !== "learning" || pc.weights === null || pc.params === null || pc.model === null) {
    throw new RangeError(
      `${where}: policy "${policyId}" is a ${pc.kind} policy; only learning and random policies can be restored without their code`,
    );
  }
  const families = opts.families ?? [PPO];
  const family = families.find((f) => f.name === c.family);
  if (family === undefined) {
    throw new RangeError(
      `${where} was written by algorithm ${c.family}; pass its family in opts.families (have ${
        families.map((f) => f.name).join(", ")
      })`,
    );
  }
  if (activeBackend() === undefined) {
    await initBackend({ backend: c.backend.name, threads: c.backend.threads });
  }
  const params = { ...family.resolve(pc.params), ...pc.model } as ModelParams;
  const model = family.createPolicy(obs, act, params, 0);
  const here = model.weightSpecs.map((w) => `${w.name} [${w.shape.join(", ")}]`).join(", ");
  const there = (pc.weightSpecs ?? []).map((w) => `${w.name} [${w.shape.join(", ")}]`).join(
    ", ",
  );
  if (here !== there) {
    model.dispose();
    throw new RangeError(
      `${where}: policy "${policyId}" has weights ${there}, but ${family.name} builds ${here} for its spaces and model params`,
    );
  }
  model.setFlatWeights(pc.weights);
  return new RestoredPolicy(policyId, obs, act, model, rng, model);
}
