/**
 * Exporting a trained policy as a tfjs-free artefact (see `exported_policy.ts`, the inference
 * side, `@coop/rl/policy`).
 *
 * @module
 */

import { ActorCriticModel } from "../policy/model.ts";
import type { LearningPolicy } from "../train/learner.ts";
import { policyFromCheckpoint } from "../train/policy_checkpoint.ts";
import type { CheckpointStorage } from "../train/storage.ts";
import { type ExportedPolicyData, exportedPolicyToJSON } from "./exported_policy.ts";

/**
 * A learning policy's data for a tfjs-free artefact.
 * @param model the policy (an `ActorCriticModel`, or a policy that wraps one as `model`)
 * @param policyId its id
 * @returns the data; {@linkcode exportedPolicyToJSON} writes it
 * @throws {RangeError} when the policy is not built on an `ActorCriticModel`
 */
export function exportPolicyData(model: LearningPolicy, policyId: string): ExportedPolicyData {
  const m = model instanceof ActorCriticModel
    ? model
    : (model as unknown as { model?: unknown }).model;
  if (!(m instanceof ActorCriticModel)) {
    throw new RangeError(`exportPolicy: policy "${policyId}" is not built on an ActorCriticModel`);
  }
  if (m.observationSpace === undefined) {
    throw new RangeError(
      `exportPolicy: policy "${policyId}" was built without its observation space`,
    );
  }
  const tower = m.policyTower();
  const q = model as unknown as { numAtoms?: unknown; numActions?: unknown };
  if (typeof q.numAtoms === "number" && q.numAtoms > 1) {
    throw new RangeError(
      `exportPolicy: policy "${policyId}" is a distributional (C51) Q-network (${q.numAtoms} atoms for each of ${
        String(q.numActions)
      } actions); the artefact runs one value per action. Use policyFromCheckpoint (with tfjs) for it instead`,
    );
  }
  return {
    policyId,
    head: m.head,
    observationSpace: m.observationSpace,
    actionSpace: m.actionSpace,
    features: [...m.features],
    layers: tower.layers,
    logStd: tower.logStd,
  };
}

/**
 * A learning policy as the artefact's JSON text.
 * @param model the policy
 * @param policyId its id
 * @returns JSON text for `ExportedPolicy.fromJSON`
 */
export function exportPolicy(model: LearningPolicy, policyId: string): string {
  return exportedPolicyToJSON(exportPolicyData(model, policyId));
}

/**
 * One policy of a checkpoint as the artefact's JSON text.
 * @param storage where the checkpoint is
 * @param path the checkpoint
 * @param policyId the policy
 * @returns JSON text for `ExportedPolicy.fromJSON`
 */
export async function exportPolicyFromCheckpoint(
  storage: CheckpointStorage,
  path: string,
  policyId: string,
): Promise<string> {
  const p = await policyFromCheckpoint(storage, path, policyId);
  try {
    if (p.model === undefined) {
      throw new RangeError(
        `exportPolicy: policy "${policyId}" of ${path} is not a learning policy`,
      );
    }
    return exportPolicy(p.model, policyId);
  } finally {
    p.dispose();
  }
}
