/**
 * {@linkcode ReplayBuffer}: the experience replay of off-policy algorithms (DQN): a ring buffer
 * of typed arrays, preallocated for `capacity` transitions, sampled uniformly (with
 * replacement, as RLHive's circular buffer) or, with `prioritized`, proportionally to
 * priorities (prioritized experience replay, Schaul et al. 2016, as RLlib's and RLHive's), with
 * a caller's PCG32 stream, so a seeded run samples the same rows.
 *
 * Prioritized replay: each row `i` has a priority `pᵢ > 0` (raw, `|δ| + ε` after an update);
 * a {@linkcode SumTree} over the ring holds `pᵢ^α` (sums and minimums), a new row gets the
 * largest priority set so far (`maxPriority`, starting at 1, never decreasing: RLlib's rule), and
 * `sample` draws row `i` with probability `P(i) = pᵢ^α / Σⱼ pⱼ^α`, stratified as RLHive and
 * Dopamine do (draw `k` of `B` lands in the `k`-th `1/B` slice of the total mass), and
 * writes each row's importance weight `(N·P(i))^−β / maxⱼ (N·P(j))^−β` (`N` the rows held, the
 * max over every row held, so weights are in (0, 1]). `updatePriorities` sets rows' priorities.
 * Nothing in `add`, `sample` or `updatePriorities` allocates per row.
 *
 * A transition is `(obs, action, reward, next_obs, discount)`: `reward` is the (n-step)
 * discounted sum of rewards from the action on, `next_obs` the observation to bootstrap from,
 * and `discount` the factor of that bootstrap (γᵏ after k steps; 0 when the agent terminated).
 * When full, each new transition overwrites the oldest.
 *
 * @example
 * ```ts
 * import { ReplayBuffer } from "./replay.ts";
 * import { Pcg32 } from "../rng.ts";
 * const rb = new ReplayBuffer(3, 1, 1);
 * const f = (xs: number[]) => Float32Array.from(xs);
 * rb.add(4, f([0, 1, 2, 3]), f([0, 1, 0, 1]), f([0, 0, 0, 1]), f([1, 2, 3, 4]), f([0.9, 0.9, 0.9, 0]));
 * // Capacity 3: the 4th transition overwrote the 1st.
 * if (rb.size !== 3 || rb.obs[0] !== 3) throw new Error("ring");
 * const batch = rb.sample(8, new Pcg32(1));
 * if (batch.count !== 8 || !batch.obs.subarray(0, 8).every((o) => o >= 1)) throw new Error("sample");
 * ```
 *
 * @module
 */

import type { Pcg32 } from "../rng.ts";

/**
 * A binary sum tree with a min tree beside it, over `capacity` leaves of non-negative values
 * (float64): `set` and `get` a leaf, the `total` and `min` of all leaves in O(1), and `find` the
 * leaf where a prefix-sum `mass` falls in O(log capacity). Every inner node is always recomputed
 * as the sum (min) of its two children, never by adding a difference, so the tree is a pure
 * function of its leaves: rebuilt from the same leaves (a restored checkpoint), it holds the same
 * bits. A leaf never set counts 0 in the sum and is ignored by the min.
 *
 * @example
 * ```ts
 * import { SumTree } from "./replay.ts";
 * const t = new SumTree(3);
 * t.set(0, 1);
 * t.set(1, 3);
 * t.set(2, 2);
 * // Prefix sums 1, 4, 6: mass 0.5 → leaf 0, 1 → leaf 1, 4.5 → leaf 2.
 * if (t.total !== 6 || t.min !== 1) throw new Error("total");
 * if (t.find(0.5) !== 0 || t.find(1) !== 1 || t.find(4.5) !== 2) throw new Error("find");
 * ```
 */
export class SumTree {
  /** Number of leaves. */
  readonly capacity: number;
  readonly #leaves: number;
  readonly #sum: Float64Array;
  readonly #min: Float64Array;

  /**
   * A tree of `capacity` leaves, all unset (0 in the sum, absent from the min).
   * @param capacity leaves (integer ≥ 1)
   * @throws {RangeError} on a bad capacity
   */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`SumTree capacity must be an integer >= 1, got ${String(capacity)}`);
    }
    this.capacity = capacity;
    let leaves = 1;
    while (leaves < capacity) leaves *= 2;
    this.#leaves = leaves;
    this.#sum = new Float64Array(2 * leaves);
    this.#min = new Float64Array(2 * leaves).fill(Infinity);
  }

  /** The sum of all leaves. */
  get total(): number {
    return this.#sum[1]!;
  }

  /** The least leaf set (`Infinity` when none is). */
  get min(): number {
    return this.#min[1]!;
  }

  /**
   * A leaf's value.
   * @param i leaf index in [0, capacity)
   * @returns its value (0 when never set)
   */
  get(i: number): number {
    return this.#sum[this.#leaves + i]!;
  }

  /**
   * Sets a leaf and recomputes its ancestors.
   * @param i leaf index in [0, capacity)
   * @param value a finite number ≥ 0
   * @throws {RangeError} on a bad index or value
   */
  set(i: number, value: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.capacity) {
      throw new RangeError(
        `SumTree.set index must be an integer in [0, ${this.capacity}), got ${i}`,
      );
    }
    if (!(value >= 0 && value < Infinity)) {
      throw new RangeError(`SumTree.set value must be a finite number >= 0, got ${value}`);
    }
    const sum = this.#sum, min = this.#min;
    let k = this.#leaves + i;
    sum[k] = value;
    min[k] = value;
    for (k >>= 1; k >= 1; k >>= 1) {
      const l = 2 * k, r = l + 1;
      sum[k] = sum[l]! + sum[r]!;
      min[k] = min[l]! < min[r]! ? min[l]! : min[r]!;
    }
  }

  /** Unsets every leaf. */
  clear(): void {
    this.#sum.fill(0);
    this.#min.fill(Infinity);
  }

  /**
   * The leaf `i` with `Σ_{j<i} leaf_j ≤ mass < Σ_{j≤i} leaf_j` (the first such leaf: leaves of
   * value 0 are never found while the total is positive); a mass at or past the total (rounding)
   * gives the last non-zero leaf.
   * @param mass a number ≥ 0, normally below the total
   * @returns the leaf index (0 when the total is 0)
   */
  find(mass: number): number {
    const sum = this.#sum, leaves = this.#leaves;
    let k = 1;
    while (k < leaves) {
      const l = 2 * k;
      if (mass < sum[l]! || sum[l + 1] === 0) k = l;
      else {
        mass -= sum[l]!;
        k = l + 1;
      }
    }
    return k - leaves;
  }
}

/** Options of a {@linkcode ReplayBuffer}. */
export interface ReplayOptions {
  /** Prioritized replay (default false: uniform). */
  prioritized?: boolean;
  /** Priority exponent α ≥ 0 of prioritized replay (default 0.6; 0 is uniform). */
  alpha?: number;
}

/** A batch of transitions drawn from a {@linkcode ReplayBuffer} (arrays reused by the next draw). */
export interface ReplayBatch {
  /** Rows drawn. */
  count: number;
  /** `[count]` the rows' indices in the buffer. */
  indices: Int32Array;
  /** `[count × O]` observations. */
  obs: Float32Array;
  /** `[count × A]` packed actions. */
  actions: Float32Array;
  /** `[count]` (n-step) discounted rewards. */
  rewards: Float32Array;
  /** `[count × O]` observations to bootstrap from. */
  nextObs: Float32Array;
  /** `[count]` bootstrap factors (γᵏ, or 0 after a termination). */
  discounts: Float32Array;
  /** `[count]` importance weights in (0, 1] (all 1 when sampled uniformly). */
  weights: Float64Array;
}

/**
 * A {@linkcode ReplayBuffer}'s contents, for checkpoints: the filled rows only (rows `0 … size−1`
 * of every column) and the next write position.
 */
export interface ReplayState {
  /** The buffer's capacity (must match on restore). */
  capacity: number;
  /** Rows filled. */
  size: number;
  /** Next row written. */
  next: number;
  /** Transitions added since the buffer was made. */
  added: number;
  /** `[size × O]` observations. */
  obs: Float32Array;
  /** `[size × A]` actions. */
  actions: Float32Array;
  /** `[size]` rewards. */
  rewards: Float32Array;
  /** `[size × O]` bootstrap observations. */
  nextObs: Float32Array;
  /** `[size]` bootstrap factors. */
  discounts: Float32Array;
  /**
   * `[size]` the rows' raw priorities (prioritized replay; absent or null from a uniform buffer:
   * a prioritized buffer restored from it gives every row priority 1).
   */
  priorities?: Float64Array | null;
  /** The largest priority set so far (prioritized replay; default 1). */
  maxPriority?: number;
}

/** A ring buffer of transitions (see the module doc). */
export class ReplayBuffer {
  /** Most transitions held. */
  readonly capacity: number;
  /** Observation floats per row. */
  readonly obsSize: number;
  /** Packed action floats per row. */
  readonly actSize: number;
  /** Prioritized replay (else uniform). */
  readonly prioritized: boolean;
  /** Priority exponent α of prioritized replay. */
  readonly alpha: number;
  /** Observations, `[capacity × obsSize]`. */
  readonly obs: Float32Array;
  /** Packed actions, `[capacity × actSize]`. */
  readonly actions: Float32Array;
  /** Rewards, `[capacity]`. */
  readonly rewards: Float32Array;
  /** Bootstrap observations, `[capacity × obsSize]`. */
  readonly nextObs: Float32Array;
  /** Bootstrap factors, `[capacity]`. */
  readonly discounts: Float32Array;
  #size = 0;
  #next = 0;
  #added = 0;
  #batch: ReplayBatch | undefined;
  /** Raw priorities `[capacity]` (prioritized only). */
  readonly #priority: Float64Array;
  /** `pᵢ^α` (prioritized only). */
  readonly #tree: SumTree | null;
  #maxPriority = 1;

  /**
   * Allocates the buffer.
   * @param capacity most transitions held (integer ≥ 1)
   * @param obsSize observation floats per row (integer ≥ 1)
   * @param actSize packed action floats per row (integer ≥ 1)
   * @param options prioritized replay and its α (default: uniform)
   * @throws {RangeError} on a bad size or option
   */
  constructor(capacity: number, obsSize: number, actSize: number, options: ReplayOptions = {}) {
    for (const [name, v] of [["capacity", capacity], ["obsSize", obsSize], ["actSize", actSize]]) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
        throw new RangeError(`ReplayBuffer ${name} must be an integer >= 1, got ${String(v)}`);
      }
    }
    const prioritized = options.prioritized ?? false, alpha = options.alpha ?? 0.6;
    if (typeof prioritized !== "boolean") {
      throw new RangeError(`ReplayBuffer prioritized must be true or false, got ${prioritized}`);
    }
    if (typeof alpha !== "number" || !(alpha >= 0 && alpha < Infinity)) {
      throw new RangeError(`ReplayBuffer alpha must be a finite number >= 0, got ${alpha}`);
    }
    this.capacity = capacity;
    this.obsSize = obsSize;
    this.actSize = actSize;
    this.prioritized = prioritized;
    this.alpha = alpha;
    this.obs = new Float32Array(capacity * obsSize);
    this.actions = new Float32Array(capacity * actSize);
    this.rewards = new Float32Array(capacity);
    this.nextObs = new Float32Array(capacity * obsSize);
    this.discounts = new Float32Array(capacity);
    this.#priority = new Float64Array(prioritized ? capacity : 0);
    this.#tree = prioritized ? new SumTree(capacity) : null;
  }

  /** Transitions held (at most `capacity`). */
  get size(): number {
    return this.#size;
  }

  /** The row the next transition is written to. */
  get nextIndex(): number {
    return this.#next;
  }

  /** Transitions added since the buffer was made (or restored). */
  get added(): number {
    return this.#added;
  }

  /** The largest priority set so far (1 at first): a new row's priority. */
  get maxPriority(): number {
    return this.#maxPriority;
  }

  /**
   * A row's raw priority `pᵢ` (prioritized replay).
   * @param i a row in [0, size)
   * @returns its priority
   * @throws {RangeError} on a uniform buffer or a row not held
   */
  priority(i: number): number {
    this.#checkRow("priority", i);
    return this.#priority[i]!;
  }

  /**
   * The sampling probability `P(i) = pᵢ^α / Σⱼ pⱼ^α` of a row (prioritized replay).
   * @param i a row in [0, size)
   * @returns its probability
   * @throws {RangeError} on a uniform buffer or a row not held
   */
  probability(i: number): number {
    this.#checkRow("probability", i);
    return this.#tree!.get(i) / this.#tree!.total;
  }

  #checkRow(what: string, i: number): void {
    if (this.#tree === null) {
      throw new RangeError(`ReplayBuffer.${what}: the buffer is not prioritized`);
    }
    if (!Number.isInteger(i) || i < 0 || i >= this.#size) {
      throw new RangeError(
        `ReplayBuffer.${what}: row ${i} is not held (rows 0 … ${this.#size - 1})`,
      );
    }
  }

  /**
   * Appends `count` transitions given as compact rows, overwriting the oldest when full (a
   * prioritized buffer gives each the priority `maxPriority`).
   * @param count transitions
   * @param obs `[count × obsSize]`
   * @param actions `[count × actSize]`
   * @param rewards `[count]`
   * @param nextObs `[count × obsSize]`
   * @param discounts `[count]`
   * @throws {RangeError} when an array is shorter than `count` rows or a value is not finite
   *   (nothing is added)
   */
  add(
    count: number,
    obs: ArrayLike<number>,
    actions: ArrayLike<number>,
    rewards: ArrayLike<number>,
    nextObs: ArrayLike<number>,
    discounts: ArrayLike<number>,
  ): void {
    const O = this.obsSize, A = this.actSize;
    if (!Number.isInteger(count) || count < 0) {
      throw new RangeError(`ReplayBuffer.add count must be an integer >= 0, got ${count}`);
    }
    for (
      const [name, arr, per] of [
        ["obs", obs, O],
        ["actions", actions, A],
        ["rewards", rewards, 1],
        ["nextObs", nextObs, O],
        ["discounts", discounts, 1],
      ] as const
    ) {
      if (arr.length < count * per) {
        throw new RangeError(
          `ReplayBuffer.add: ${name} holds ${arr.length} floats, expected ${count} rows × ${per}`,
        );
      }
      for (let i = 0; i < count * per; i++) {
        if (!Number.isFinite(arr[i])) {
          throw new RangeError(
            `ReplayBuffer.add: ${name}[${i}] (row ${Math.floor(i / per)}) is ${
              arr[i]
            }, expected a finite number; nothing was added`,
          );
        }
      }
    }
    const tree = this.#tree, p = this.#maxPriority, pa = p ** this.alpha;
    for (let k = 0; k < count; k++) {
      const i = this.#next;
      for (let j = 0; j < O; j++) {
        this.obs[i * O + j] = obs[k * O + j]!;
        this.nextObs[i * O + j] = nextObs[k * O + j]!;
      }
      for (let j = 0; j < A; j++) this.actions[i * A + j] = actions[k * A + j]!;
      this.rewards[i] = rewards[k]!;
      this.discounts[i] = discounts[k]!;
      if (tree !== null) {
        this.#priority[i] = p;
        tree.set(i, pa);
      }
      this.#next = i + 1 === this.capacity ? 0 : i + 1;
      if (this.#size < this.capacity) this.#size++;
    }
    this.#added += count;
  }

  /**
   * Draws `count` rows with replacement, in order. Uniform: row `rng.nextInt(size)` each, weight
   * 1. Prioritized: draw `k` takes the row where the mass `(k + rng.nextFloat()) · total / count`
   * falls in the sum tree of `pᵢ^α` (stratified), weight `(N·P(i))^−β / maxⱼ (N·P(j))^−β`,
   * which is `(pᵢ^α / minⱼ pⱼ^α)^−β`.
   * @param count rows to draw (integer ≥ 1)
   * @param rng the stream
   * @param beta importance-sampling exponent β in [0, 1] (prioritized only; default 1)
   * @returns the batch (its arrays are reused by the next call)
   * @throws {RangeError} when the buffer is empty, `count` is not a positive integer or `beta`
   *   is not in [0, 1]
   */
  sample(count: number, rng: Pcg32, beta = 1): ReplayBatch {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`ReplayBuffer.sample count must be an integer >= 1, got ${count}`);
    }
    if (this.#size === 0) throw new RangeError("ReplayBuffer.sample: the buffer is empty");
    if (typeof beta !== "number" || !(beta >= 0 && beta <= 1)) {
      throw new RangeError(`ReplayBuffer.sample beta must be a number in [0, 1], got ${beta}`);
    }
    const O = this.obsSize, A = this.actSize;
    let b = this.#batch;
    if (b === undefined || b.indices.length < count) {
      b = this.#batch = {
        count: 0,
        indices: new Int32Array(count),
        obs: new Float32Array(count * O),
        actions: new Float32Array(count * A),
        rewards: new Float32Array(count),
        nextObs: new Float32Array(count * O),
        discounts: new Float32Array(count),
        weights: new Float64Array(count),
      };
    }
    const tree = this.#tree;
    const total = tree === null ? 0 : tree.total, min = tree === null ? 0 : tree.min;
    const seg = total / count, last = this.#size - 1;
    const { obs, nextObs, actions } = this;
    for (let k = 0; k < count; k++) {
      let i: number;
      if (tree === null) {
        i = rng.nextInt(this.#size);
        b.weights[k] = 1;
      } else {
        i = tree.find((k + rng.nextFloat()) * seg);
        if (i > last) i = last; // unreachable: rows past `size` have priority 0
        b.weights[k] = beta === 0 ? 1 : (tree.get(i) / min) ** -beta;
      }
      b.indices[k] = i;
      for (let j = 0; j < O; j++) {
        b.obs[k * O + j] = obs[i * O + j]!;
        b.nextObs[k * O + j] = nextObs[i * O + j]!;
      }
      for (let j = 0; j < A; j++) b.actions[k * A + j] = actions[i * A + j]!;
      b.rewards[k] = this.rewards[i]!;
      b.discounts[k] = this.discounts[i]!;
    }
    b.count = count;
    return b;
  }

  /**
   * Sets the priorities of `count` rows, in order (a row listed twice keeps the last), and
   * raises `maxPriority` to the largest. DQN passes `|δ| + ε` of the rows it just learned from.
   * @param count rows
   * @param indices `[count]` rows in [0, size)
   * @param priorities `[count]` finite numbers > 0
   * @throws {RangeError} on a uniform buffer, a row not held or a bad priority (checked before
   *   any change)
   */
  updatePriorities(count: number, indices: ArrayLike<number>, priorities: ArrayLike<number>): void {
    const tree = this.#tree;
    if (tree === null) {
      throw new RangeError("ReplayBuffer.updatePriorities: the buffer is not prioritized");
    }
    if (!Number.isInteger(count) || count < 0 || indices.length < count) {
      throw new RangeError(
        `ReplayBuffer.updatePriorities: count ${count} must be an integer in [0, ${indices.length}]`,
      );
    }
    for (let k = 0; k < count; k++) {
      const i = indices[k]!, p = priorities[k]!;
      if (!Number.isInteger(i) || i < 0 || i >= this.#size) {
        throw new RangeError(
          `ReplayBuffer.updatePriorities: row ${i} (entry ${k}) is not held (rows 0 … ${
            this.#size - 1
          })`,
        );
      }
      if (!(p > 0 && p < Infinity)) {
        throw new RangeError(
          `ReplayBuffer.updatePriorities: priority ${p} of row ${i} (entry ${k}) must be a finite number > 0`,
        );
      }
    }
    const alpha = this.alpha;
    let max = this.#maxPriority;
    for (let k = 0; k < count; k++) {
      const i = indices[k]!, p = priorities[k]!;
      this.#priority[i] = p;
      tree.set(i, p ** alpha);
      if (p > max) max = p;
    }
    this.#maxPriority = max;
  }

  /**
   * Undoes {@linkcode ReplayBuffer.updatePriorities} calls (a rolled-back update): sets the rows'
   * earlier priorities in reverse order, then `maxPriority`.
   * @param count entries
   * @param indices `[count]` rows, in the order they were updated
   * @param previous `[count]` each row's priority before its update
   * @param maxPriority `maxPriority` before the first update
   * @throws {RangeError} on a uniform buffer, a row not held or a bad priority
   */
  restorePriorities(
    count: number,
    indices: ArrayLike<number>,
    previous: ArrayLike<number>,
    maxPriority: number,
  ): void {
    for (let k = count - 1; k >= 0; k--) {
      const i = indices[k]!;
      this.#checkRow("restorePriorities", i);
      const p = previous[k]!;
      if (!(p > 0 && p < Infinity)) {
        throw new RangeError(`ReplayBuffer.restorePriorities: priority ${p} of row ${i}`);
      }
      this.#priority[i] = p;
      this.#tree!.set(i, p ** this.alpha);
    }
    if (!(maxPriority > 0 && maxPriority < Infinity)) {
      throw new RangeError(`ReplayBuffer.restorePriorities: maxPriority ${maxPriority}`);
    }
    this.#maxPriority = maxPriority;
  }

  /**
   * A copy of the contents (filled rows only; a prioritized buffer's raw priorities and
   * `maxPriority` too), for checkpoints.
   * @returns the state
   */
  getState(): ReplayState {
    const n = this.#size, O = this.obsSize, A = this.actSize;
    return {
      capacity: this.capacity,
      size: n,
      next: this.#next,
      added: this.#added,
      obs: this.obs.slice(0, n * O),
      actions: this.actions.slice(0, n * A),
      rewards: this.rewards.slice(0, n),
      nextObs: this.nextObs.slice(0, n * O),
      discounts: this.discounts.slice(0, n),
      priorities: this.#tree === null ? null : this.#priority.slice(0, n),
      maxPriority: this.#maxPriority,
    };
  }

  /**
   * Restores a state from {@linkcode ReplayBuffer.getState}. A prioritized buffer rebuilds its
   * sum tree from the saved priorities (the same bits as before the save: the tree is a function
   * of its leaves); from a state without priorities every row gets priority 1. A uniform buffer
   * ignores saved priorities.
   * @param s the state
   * @throws {RangeError} when its capacity or row widths differ from this buffer's, or a saved
   *   priority is not a finite number > 0
   */
  setState(s: ReplayState): void {
    const n = s.size, O = this.obsSize, A = this.actSize;
    const pr = s.priorities ?? null, maxP = s.maxPriority ?? 1;
    if (
      s.capacity !== this.capacity || !Number.isInteger(n) || n < 0 || n > this.capacity ||
      !Number.isInteger(s.next) || s.next < 0 || s.next >= this.capacity ||
      s.obs.length !== n * O || s.nextObs.length !== n * O || s.actions.length !== n * A ||
      s.rewards.length !== n || s.discounts.length !== n
    ) {
      throw new RangeError(
        `Replay state (capacity ${s.capacity}, ${n} rows of ${
          s.obs.length / Math.max(1, n)
        } observation floats) does not fit a buffer of capacity ${this.capacity} with ${O} observation and ${A} action floats per row`,
      );
    }
    if (this.#tree !== null) {
      if (pr !== null && pr.length !== n) {
        throw new RangeError(`Replay state has ${pr.length} priorities for ${n} rows`);
      }
      for (let i = 0; i < (pr === null ? 0 : n); i++) {
        if (!(pr![i]! > 0 && pr![i]! < Infinity)) {
          throw new RangeError(
            `Replay state: priority ${pr![i]} of row ${i} must be a finite number > 0`,
          );
        }
      }
      if (!(maxP > 0 && maxP < Infinity)) {
        throw new RangeError(`Replay state: maxPriority ${maxP} must be a finite number > 0`);
      }
    }
    this.obs.fill(0);
    this.nextObs.fill(0);
    this.actions.fill(0);
    this.rewards.fill(0);
    this.discounts.fill(0);
    this.obs.set(s.obs);
    this.nextObs.set(s.nextObs);
    this.actions.set(s.actions);
    this.rewards.set(s.rewards);
    this.discounts.set(s.discounts);
    this.#size = n;
    this.#next = s.next;
    this.#added = s.added;
    const tree = this.#tree;
    if (tree !== null) {
      tree.clear();
      this.#priority.fill(0);
      for (let i = 0; i < n; i++) {
        const p = pr === null ? 1 : pr[i]!;
        this.#priority[i] = p;
        tree.set(i, p ** this.alpha);
      }
      this.#maxPriority = maxP;
    }
  }
}
