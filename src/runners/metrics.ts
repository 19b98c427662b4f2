/**
 * Episode metrics of several env runners merged as if one collector had produced them: each
 * runner sends the episodes it finished in a fragment ({@linkcode takeNewEpisodes}, read from
 * its collector's state), and the main thread appends them, runner by runner, to one smoothing
 * window ({@linkcode MetricsWindow}) with the collector's arithmetic.
 *
 * @module
 */

import { type CollectorState, type EpisodeMetrics, windowMetrics } from "../rollout/collector.ts";

/** Episodes finished in one fragment of one runner, oldest first (at most a window's worth). */
export interface NewEpisodes {
  /** Episodes in the arrays. */
  count: number;
  /** Episodes finished in the fragment (may exceed `count` when more than a window ended). */
  finished: number;
  /** `[count]` episode returns. */
  ret: Float64Array;
  /** `[count]` episode lengths. */
  len: Float64Array;
  /** `[count × P]` agents that finished per policy. */
  polCount: Int32Array;
  /** `[count × P]` their returns' sum. */
  polSum: Float64Array;
  /** `[count × P]` minimum. */
  polMin: Float64Array;
  /** `[count × P]` maximum. */
  polMax: Float64Array;
}

/**
 * The episodes a collector finished since its last `takeIterationCounts`, oldest first, from its
 * state (`collector.getState(false)`; call before `takeIterationCounts`).
 * @param s the collector's state
 * @param numPolicies policies of the collector
 * @returns the new episodes (only the last `window` of them when more ended)
 */
export function takeNewEpisodes(s: CollectorState, numPolicies: number): NewEpisodes {
  const P = numPolicies, w = s.window;
  const m = Math.min(s.episodesIter, s.ringCount);
  const out: NewEpisodes = {
    count: m,
    finished: s.episodesIter,
    ret: new Float64Array(m),
    len: new Float64Array(m),
    polCount: new Int32Array(m * P),
    polSum: new Float64Array(m * P),
    polMin: new Float64Array(m * P),
    polMax: new Float64Array(m * P),
  };
  for (let k = 0; k < m; k++) {
    const i = (s.ringNext - m + k + 2 * w) % w;
    out.ret[k] = s.ring.ret[i]!;
    out.len[k] = s.ring.len[i]!;
    for (let p = 0; p < P; p++) {
      out.polCount[k * P + p] = s.ring.polCount[i * P + p]!;
      out.polSum[k * P + p] = s.ring.polSum[i * P + p]!;
      out.polMin[k * P + p] = s.ring.polMin[i * P + p]!;
      out.polMax[k * P + p] = s.ring.polMax[i * P + p]!;
    }
  }
  return out;
}

/** A {@linkcode MetricsWindow}'s state, for checkpoints. */
export interface MetricsWindowState {
  /** Next position in the window. */
  next: number;
  /** Episodes in the window. */
  count: number;
  /** Episodes since the last `take`. */
  iter: number;
  /** Episodes in total. */
  total: number;
  /** The window's returns. */
  ret: Float64Array;
  /** Lengths. */
  len: Float64Array;
  /** Per-policy agent counts. */
  polCount: Int32Array;
  /** Per-policy sums. */
  polSum: Float64Array;
  /** Per-policy minima. */
  polMin: Float64Array;
  /** Per-policy maxima. */
  polMax: Float64Array;
}

/**
 * One smoothing window over the episodes of all runners, computing RLlib's episode metrics
 * exactly as `Collector.takeIterationCounts` does.
 */
export class MetricsWindow {
  /** Policy ids, in the collectors' order. */
  policyIds: readonly string[];
  readonly #w: number;
  readonly #ret: Float64Array;
  readonly #len: Float64Array;
  #polCount: Int32Array;
  #polSum: Float64Array;
  #polMin: Float64Array;
  #polMax: Float64Array;
  #next = 0;
  #count = 0;
  #iter = 0;
  #total = 0;
  /** Whether the metrics carry `win_rates` (the env is competitive; default false). */
  competitive = false;

  /**
   * An empty window.
   * @param policyIds the policies
   * @param window episodes smoothed over (the collector's default, 100)
   */
  constructor(policyIds: readonly string[], window = 100) {
    const P = policyIds.length;
    this.policyIds = policyIds;
    this.#w = window;
    this.#ret = new Float64Array(window);
    this.#len = new Float64Array(window);
    this.#polCount = new Int32Array(window * P);
    this.#polSum = new Float64Array(window * P);
    this.#polMin = new Float64Array(window * P);
    this.#polMax = new Float64Array(window * P);
  }

  /**
   * Appends one runner's new episodes (call in runner order).
   * @param e the episodes
   */
  add(e: NewEpisodes): void {
    const P = this.policyIds.length, w = this.#w;
    // A runner's episodes of before a policy was added have fewer policies: none of its agents.
    const E = e.count > 0 ? e.polCount.length / e.count : P;
    if (E > P) {
      throw new RangeError(`Episodes of ${E} policies for a window of ${P} policies`);
    }
    for (let k = 0; k < e.count; k++) {
      const i = this.#next;
      this.#ret[i] = e.ret[k]!;
      this.#len[i] = e.len[k]!;
      this.#polCount.fill(0, i * P, i * P + P);
      this.#polSum.fill(0, i * P, i * P + P);
      this.#polMin.fill(0, i * P, i * P + P);
      this.#polMax.fill(0, i * P, i * P + P);
      for (let p = 0; p < E; p++) {
        this.#polCount[i * P + p] = e.polCount[k * E + p]!;
        this.#polSum[i * P + p] = e.polSum[k * E + p]!;
        this.#polMin[i * P + p] = e.polMin[k * E + p]!;
        this.#polMax[i * P + p] = e.polMax[k * E + p]!;
      }
      this.#next = (i + 1) % w;
      if (this.#count < w) this.#count++;
    }
    this.#iter += e.finished;
    this.#total += e.finished;
  }

  /**
   * Adds a policy (`Algorithm.addPolicy` with runners): the episodes in the window had none of
   * its agents.
   * @param policyId the new policy's id
   */
  addPolicy(policyId: string): void {
    const P = this.policyIds.length, Q = P + 1, w = this.#w;
    const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const out = make(w * Q);
      for (let r = 0; r < w; r++) out.set(a.subarray(r * P, (r + 1) * P), r * Q);
      return out;
    };
    this.#polCount = grow(this.#polCount, (n) => new Int32Array(n));
    this.#polSum = grow(this.#polSum, (n) => new Float64Array(n));
    this.#polMin = grow(this.#polMin, (n) => new Float64Array(n));
    this.#polMax = grow(this.#polMax, (n) => new Float64Array(n));
    this.policyIds = [...this.policyIds, policyId];
  }

  /**
   * A copy of the state (for checkpoints).
   * @returns the state
   */
  getState(): MetricsWindowState {
    return {
      next: this.#next,
      count: this.#count,
      iter: this.#iter,
      total: this.#total,
      ret: this.#ret.slice(),
      len: this.#len.slice(),
      polCount: this.#polCount.slice(),
      polSum: this.#polSum.slice(),
      polMin: this.#polMin.slice(),
      polMax: this.#polMax.slice(),
    };
  }

  /**
   * Replaces the state with one from {@linkcode MetricsWindow.getState}.
   * @param s the state
   * @throws {RangeError} when it is of another window size or number of policies
   */
  setState(s: MetricsWindowState): void {
    if (s.ret.length !== this.#w || s.polCount.length !== this.#polCount.length) {
      throw new RangeError(
        `Metrics window state of ${s.ret.length} episodes × ${
          s.polCount.length / Math.max(1, s.ret.length)
        } policies, expected ${this.#w} × ${this.policyIds.length}`,
      );
    }
    this.#next = s.next;
    this.#count = s.count;
    this.#iter = s.iter;
    this.#total = s.total;
    this.#ret.set(s.ret);
    this.#len.set(s.len);
    this.#polCount.set(s.polCount);
    this.#polSum.set(s.polSum);
    this.#polMin.set(s.polMin);
    this.#polMax.set(s.polMax);
  }

  /**
   * The smoothed metrics, and resets the per-iteration episode count (as
   * `Collector.takeIterationCounts`).
   * @returns metrics with RLlib's names
   */
  take(): EpisodeMetrics {
    const out = windowMetrics(
      {
        count: this.#count,
        ret: this.#ret,
        len: this.#len,
        polCount: this.#polCount,
        polSum: this.#polSum,
        polMin: this.#polMin,
        polMax: this.#polMax,
      },
      this.policyIds,
      this.#iter,
      this.#total,
      this.competitive,
    );
    this.#iter = 0;
    return out;
  }
}
