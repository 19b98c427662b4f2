/**
 * The base of wrappers that rewrite a batched env's observations (frame stacking, appended
 * features): everything but the groups, `reset` and `step` is the inner env's own (its reward,
 * flag and episode buffers, ids, infos, metrics), so a wrapper copies nothing it does not change.
 *
 * @module
 */

import type { BatchedEnv, EpisodeMetricsView, SlotGroup } from "./batched.ts";

/** A `BatchedEnv` over another that forwards all but its groups, `reset` and `step`. */
export abstract class BatchedEnvWrapper implements BatchedEnv {
  /** The wrapped env. */
  readonly inner: BatchedEnv;

  /**
   * Wraps an env.
   * @param inner the env
   */
  constructor(inner: BatchedEnv) {
    this.inner = inner;
  }

  /** The groups as the wrapper presents them. */
  abstract get groups(): readonly SlotGroup[];
  /**
   * Resets every env.
   * @param seed reseeds the inner env
   */
  abstract reset(seed?: number): void;
  /** Steps every env. */
  abstract step(): void;

  /** Number of env instances. */
  get numEnvs(): number {
    return this.inner.numEnvs;
  }
  /** Total slots. */
  get numSlots(): number {
    return this.inner.numSlots;
  }
  /** The inner env's rewards. */
  get rew(): Float32Array {
    return this.inner.rew;
  }
  /** The inner env's flags. */
  get flags(): Uint8Array {
    return this.inner.flags;
  }
  /** The inner env's episode ends. */
  get envDone(): Uint8Array {
    return this.inner.envDone;
  }
  /** The inner env's time-limit ends. */
  get envTruncated(): Uint8Array {
    return this.inner.envTruncated;
  }
  /** The inner env's step mask. */
  get stepMask(): Uint8Array | undefined {
    return this.inner.stepMask;
  }
  /** The inner env's stepped envs. */
  get envStepped(): Uint8Array | undefined {
    return this.inner.envStepped;
  }
  /** Whether the inner env holds ended agents. */
  get holdsEndedAgents(): boolean | undefined {
    return this.inner.holdsEndedAgents;
  }
  /** The inner env's layout version. */
  get layoutVersion(): number | undefined {
    return this.inner.layoutVersion;
  }
  /** The inner env's episode metrics. */
  get episodeMetrics(): EpisodeMetricsView | undefined {
    return this.inner.episodeMetrics;
  }
  /** Whether the inner env's episodes are matches. */
  get competitive(): boolean | undefined {
    return this.inner.competitive;
  }
  /**
   * The agent id in a slot.
   * @param slot a global slot index
   * @returns the inner env's id
   */
  agentId(slot: number): string {
    return this.inner.agentId(slot);
  }
  /**
   * The info of a slot's current observation.
   * @param slot a global slot index
   * @returns the inner env's info
   */
  info(slot: number): Readonly<Record<string, unknown>> | undefined {
    return this.inner.info?.(slot);
  }
  /**
   * The info of a slot's final observation.
   * @param slot a global slot index
   * @returns the inner env's final info
   */
  finalInfo(slot: number): Readonly<Record<string, unknown>> | undefined {
    return this.inner.finalInfo?.(slot);
  }
}
