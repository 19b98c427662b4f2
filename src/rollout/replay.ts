/**
 * {@linkcode ReplayBuffer}: the experience replay of off-policy algorithms (DQN): a ring buffer
 * of typed arrays, preallocated for `capacity` transitions, sampled uniformly (with
 * replacement, as RLHive's circular buffer) with a caller's PCG32 stream, so a seeded run
 * samples the same rows.
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
}

/** A ring buffer of transitions (see the module doc). */
export class ReplayBuffer {
  /** Most transitions held. */
  readonly capacity: number;
  /** Observation floats per row. */
  readonly obsSize: number;
  /** Packed action floats per row. */
  readonly actSize: number;
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

  /**
   * Allocates the buffer.
   * @param capacity most transitions held (integer ≥ 1)
   * @param obsSize observation floats per row (integer ≥ 1)
   * @param actSize packed action floats per row (integer ≥ 1)
   * @throws {RangeError} on a bad size
   */
  constructor(capacity: number, obsSize: number, actSize: number) {
    for (const [name, v] of [["capacity", capacity], ["obsSize", obsSize], ["actSize", actSize]]) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
        throw new RangeError(`ReplayBuffer ${name} must be an integer >= 1, got ${String(v)}`);
      }
    }
    this.capacity = capacity;
    this.obsSize = obsSize;
    this.actSize = actSize;
    this.obs = new Float32Array(capacity * obsSize);
    this.actions = new Float32Array(capacity * actSize);
    this.rewards = new Float32Array(capacity);
    this.nextObs = new Float32Array(capacity * obsSize);
    this.discounts = new Float32Array(capacity);
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

  /**
   * Appends `count` transitions given as compact rows, overwriting the oldest when full.
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
    for (let k = 0; k < count; k++) {
      const i = this.#next;
      for (let j = 0; j < O; j++) {
        this.obs[i * O + j] = obs[k * O + j]!;
        this.nextObs[i * O + j] = nextObs[k * O + j]!;
      }
      for (let j = 0; j < A; j++) this.actions[i * A + j] = actions[k * A + j]!;
      this.rewards[i] = rewards[k]!;
      this.discounts[i] = discounts[k]!;
      this.#next = i + 1 === this.capacity ? 0 : i + 1;
      if (this.#size < this.capacity) this.#size++;
    }
    this.#added += count;
  }

  /**
   * Draws `count` rows uniformly with replacement: row `rng.nextInt(size)` each, in order.
   * @param count rows to draw (integer ≥ 1)
   * @param rng the stream
   * @returns the batch (its arrays are reused by the next call)
   * @throws {RangeError} when the buffer is empty or `count` is not a positive integer
   */
  sample(count: number, rng: Pcg32): ReplayBatch {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`ReplayBuffer.sample count must be an integer >= 1, got ${count}`);
    }
    if (this.#size === 0) throw new RangeError("ReplayBuffer.sample: the buffer is empty");
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
      };
    }
    for (let k = 0; k < count; k++) {
      const i = rng.nextInt(this.#size);
      b.indices[k] = i;
      b.obs.set(this.obs.subarray(i * O, i * O + O), k * O);
      b.nextObs.set(this.nextObs.subarray(i * O, i * O + O), k * O);
      b.actions.set(this.actions.subarray(i * A, i * A + A), k * A);
      b.rewards[k] = this.rewards[i]!;
      b.discounts[k] = this.discounts[i]!;
    }
    b.count = count;
    return b;
  }

  /**
   * A copy of the contents (filled rows only), for checkpoints.
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
    };
  }

  /**
   * Restores a state from {@linkcode ReplayBuffer.getState}.
   * @param s the state
   * @throws {RangeError} when its capacity or row widths differ from this buffer's
   */
  setState(s: ReplayState): void {
    const n = s.size, O = this.obsSize, A = this.actSize;
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
  }
}
