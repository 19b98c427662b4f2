/**
 * Inference with one policy, with or without its trainer: {@linkcode InferencePolicy} checks
 * observations against the policy's observation space, flattens them, runs one forward pass for
 * a whole batch and unpacks the actions into the action space. `Algorithm.computeSingleAction`
 * and `Algorithm.computeActions` use it, and so does a policy restored from a checkpoint
 * (`policyFromCheckpoint`), so both give the same actions for the same weights and random
 * stream.
 *
 * Exploration follows RLlib: `explore` defaults to true (actions are sampled from the policy's
 * distribution); pass `explore: false` for the most likely action.
 *
 * @module
 */

import type { BatchPolicy } from "../policy/policy.ts";
import type { Pcg32 } from "../rng.ts";
import type { Space, SpaceValue } from "../spaces.ts";

/** Options of {@linkcode InferencePolicy.computeSingleAction} and `computeActions`. */
export interface ComputeOptions {
  /**
   * Sample actions from the policy's distribution (true, the default, as RLlib's `explore`) or
   * take the most likely one (false).
   */
  explore?: boolean;
}

/**
 * One policy ready for inference: its spaces, its batched policy and the random stream actions
 * are sampled from.
 *
 * @example A random policy over a Discrete space
 * ```ts
 * import { InferencePolicy } from "./inference.ts";
 * import { RandomPolicy } from "../policy/policy.ts";
 * import { Box, Discrete } from "../spaces.ts";
 * import { Pcg32 } from "../rng.ts";
 * const obs = new Box(0, 1, [2]), act = new Discrete(3);
 * const p = new InferencePolicy("rnd", obs, act, new RandomPolicy(2, act), new Pcg32(1));
 * const a = p.computeActions({ a0: [0, 1], a1: [1, 0] });
 * if (typeof a.a0 !== "number" || typeof a.a1 !== "number") throw new Error("one per agent");
 * ```
 */
export class InferencePolicy {
  /** The policy's id. */
  readonly policyId: string;
  /** Observation space: what `computeSingleAction` accepts. */
  readonly observationSpace: Space;
  /** Action space: what it returns. */
  readonly actionSpace: Space;
  /** The batched policy that acts. */
  readonly policy: BatchPolicy;
  /** The stream sampled actions are drawn from. */
  readonly rng: Pcg32;
  #obs = new Float32Array(0);
  #act = new Float32Array(0);

  /**
   * Wraps a batched policy for inference.
   * @param policyId the policy's id, for messages
   * @param observationSpace its observation space
   * @param actionSpace its action space
   * @param policy the batched policy (reads `observationSpace.flatSize` floats per row)
   * @param rng the stream to sample from
   */
  constructor(
    policyId: string,
    observationSpace: Space,
    actionSpace: Space,
    policy: BatchPolicy,
    rng: Pcg32,
  ) {
    if (policy.obsSize !== observationSpace.flatSize) {
      throw new RangeError(
        `Policy "${policyId}" reads ${policy.obsSize} observation floats, but ${observationSpace.toString()} flattens to ${observationSpace.flatSize}`,
      );
    }
    this.policyId = policyId;
    this.observationSpace = observationSpace;
    this.actionSpace = actionSpace;
    this.policy = policy;
    this.rng = rng;
  }

  /**
   * The action for one observation (RLlib's `compute_single_action`).
   * @param obs a member of the observation space
   * @param opts `explore` (default true: sample)
   * @returns the action, a member of the action space
   * @throws {RangeError} naming the policy, the key or component, and what was expected, when
   *   the observation is not a member of the space or holds a non-finite number
   */
  computeSingleAction(obs: unknown, opts: ComputeOptions = {}): SpaceValue {
    return this.#run([obs], undefined, opts)[0]!;
  }

  /**
   * The actions for a batch of observations in one forward pass (RLlib's `compute_actions`):
   * a record of agent id → observation gives a record of agent id → action, an array gives an
   * array. Sampled actions are drawn in the order of the entries.
   * @param obs the observations
   * @param opts `explore` (default true: sample)
   * @returns the actions, in the same shape
   * @throws {RangeError} naming the policy, the agent id or index, the key or component and what
   *   was expected, for the first malformed observation (nothing is computed then)
   */
  computeActions(obs: readonly unknown[], opts?: ComputeOptions): SpaceValue[];
  /**
   * The actions for agents' observations in one forward pass: a record of agent id →
   * observation gives a record of agent id → action (see the array form above).
   * @param obs the observations by agent id
   * @param opts `explore` (default true: sample)
   * @returns the actions by agent id
   */
  computeActions(
    obs: Readonly<Record<string, unknown>>,
    opts?: ComputeOptions,
  ): Record<string, SpaceValue>;
  computeActions(
    obs: readonly unknown[] | Readonly<Record<string, unknown>>,
    opts: ComputeOptions = {},
  ): SpaceValue[] | Record<string, SpaceValue> {
    if (Array.isArray(obs)) return this.#run(obs, undefined, opts);
    if (typeof obs !== "object" || obs === null || ArrayBuffer.isView(obs)) {
      throw new RangeError(
        `computeActions for policy "${this.policyId}": expected an array of observations or a record of agent id to observation, got ${typeof obs}`,
      );
    }
    const ids = Object.keys(obs);
    const acts = this.#run(ids.map((id) => (obs as Record<string, unknown>)[id]), ids, opts);
    const out: Record<string, SpaceValue> = {};
    ids.forEach((id, i) => (out[id] = acts[i]!));
    return out;
  }

  #run(
    obs: readonly unknown[],
    ids: readonly string[] | undefined,
    opts: ComputeOptions,
  ): SpaceValue[] {
    const space = this.observationSpace, O = space.flatSize, n = obs.length;
    const A = this.actionSpace.packedSize;
    if (this.#obs.length < n * O) this.#obs = new Float32Array(n * O);
    if (this.#act.length < n * A) this.#act = new Float32Array(n * A);
    const rows = this.#obs;
    for (let i = 0; i < n; i++) {
      const who = () =>
        ids !== undefined ? `agent "${ids[i]}"` : n === 1 ? "the observation" : `observation ${i}`;
      const why = space.explain(obs[i]);
      if (why !== undefined) {
        throw new RangeError(`Policy "${this.policyId}", ${who()}: ${why}`);
      }
      space.flatten(obs[i] as never, rows, i * O);
      for (let k = i * O; k < (i + 1) * O; k++) {
        if (!Number.isFinite(rows[k]!)) {
          throw new RangeError(
            `Policy "${this.policyId}", ${who()}: ${rows[k]} at flat index ${
              k - i * O
            }, expected finite values in ${space.toString()}`,
          );
        }
      }
    }
    if (n === 0) return [];
    this.policy.act(rows, n, this.rng, opts.explore ?? true, this.#act);
    const out: SpaceValue[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.actionSpace.unpack(this.#act, i * A) as SpaceValue;
    return out;
  }
}
