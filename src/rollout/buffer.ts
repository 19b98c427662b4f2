/**
 * Preallocated per-policy rollout storage and GAE(λ) over interleaved agent trajectories.
 *
 * Rows are appended in time order by every agent routed to the policy, so one agent's rows are
 * not contiguous. Each row records how its transition ended:
 * - {@linkcode OPEN}: the agent has not acted again yet (its reward may still grow);
 * - {@linkcode LINKED}: the agent acted again; `next[row]` is that later row;
 * - {@linkcode ENDED_TERMINATED}: the agent terminated (no bootstrap);
 * - {@linkcode ENDED_TRUNCATED}: the agent was cut off; `bootValue[row]` is V(final obs).
 *
 * Because `next[row] > row`, one backward sweep computes GAE for every agent at once. Rows still
 * OPEN when a fragment ends are not trained on: they are the bootstrap points of their
 * predecessors, and {@linkcode PolicyBuffer.carryOpen} moves them to the front of the next
 * fragment, where they close and are trained on.
 *
 * @module
 */

/** Row state: the transition has not closed yet. */
export const OPEN = 0;
/** Row state: the agent acted again at row `next[row]`. */
export const LINKED = 1;
/** Row state: the agent terminated after this transition. */
export const ENDED_TERMINATED = 2;
/** Row state: the agent was truncated after this transition; bootstrap with `bootValue`. */
export const ENDED_TRUNCATED = 3;

/** Columns of a compact training batch, as the learners take it. */
export interface TrainBatch {
  /** Number of rows. */
  size: number;
  /** `size × obsSize` observations. */
  obs: Float32Array;
  /** `size × actSize` packed actions. */
  actions: Float32Array;
  /** Log-probabilities of the actions under the behaviour policy. */
  logp: Float32Array;
  /** Value estimates at collection time. */
  values: Float32Array;
  /** GAE advantages. */
  advantages: Float32Array;
  /** Value targets (advantages + values). */
  returns: Float32Array;
  /** Rewards summed over each transition. */
  rewards: Float32Array;
}

/** Rollout rows of one policy, preallocated for `capacity` rows. */
export class PolicyBuffer {
  /** Observation floats per row. */
  readonly obsSize: number;
  /** Packed action floats per row. */
  readonly actSize: number;
  /** Row capacity. */
  readonly capacity: number;
  /** Rows in use. */
  size = 0;
  /** Observations. */
  readonly obs: Float32Array;
  /** Packed actions. */
  readonly act: Float32Array;
  /** Behaviour log-probabilities. */
  readonly logp: Float32Array;
  /** Value estimates at collection time. */
  readonly values: Float32Array;
  /** Rewards accumulated until the agent acted again or ended. */
  readonly rewards: Float32Array;
  /** Row state ({@linkcode OPEN}, {@linkcode LINKED}, ...). */
  readonly state: Uint8Array;
  /** Index of the agent's next row when LINKED. */
  readonly next: Int32Array;
  /** V(final observation) when ENDED_TRUNCATED. */
  readonly bootValue: Float32Array;
  /** GAE advantages, valid after {@linkcode PolicyBuffer.computeGae}. */
  readonly adv: Float32Array;
  /** Value targets, valid after {@linkcode PolicyBuffer.computeGae}. */
  readonly ret: Float32Array;
  /** The compact batch of closed rows, filled by {@linkcode PolicyBuffer.computeGae}. */
  readonly batch: TrainBatch;

  /**
   * Allocates every buffer of the policy's rows once.
   * @param obsSize observation floats per row
   * @param actSize packed action floats per row
   * @param capacity maximum rows in one fragment (including rows carried over)
   */
  constructor(obsSize: number, actSize: number, capacity: number) {
    this.obsSize = obsSize;
    this.actSize = actSize;
    this.capacity = capacity;
    this.obs = new Float32Array(capacity * obsSize);
    this.act = new Float32Array(capacity * actSize);
    this.logp = new Float32Array(capacity);
    this.values = new Float32Array(capacity);
    this.rewards = new Float32Array(capacity);
    this.state = new Uint8Array(capacity);
    this.next = new Int32Array(capacity);
    this.bootValue = new Float32Array(capacity);
    this.adv = new Float32Array(capacity);
    this.ret = new Float32Array(capacity);
    this.batch = {
      size: 0,
      obs: new Float32Array(capacity * obsSize),
      actions: new Float32Array(capacity * actSize),
      logp: new Float32Array(capacity),
      values: new Float32Array(capacity),
      advantages: new Float32Array(capacity),
      returns: new Float32Array(capacity),
      rewards: new Float32Array(capacity),
    };
  }

  /**
   * Appends an OPEN row, copying row `k` of the policy's input and output batches.
   * @param obs policy input rows
   * @param actions policy output actions
   * @param logp policy output log-probabilities
   * @param values policy output values
   * @param k the row within those batches
   * @returns the new row's index
   */
  push(
    obs: Float32Array,
    actions: Float32Array,
    logp: Float32Array,
    values: Float32Array,
    k: number,
  ): number {
    const r = this.size;
    if (r >= this.capacity) {
      throw new RangeError(`Policy buffer is full at ${this.capacity} rows`);
    }
    this.size = r + 1;
    const o = this.obsSize, a = this.actSize;
    for (let i = 0; i < o; i++) this.obs[r * o + i] = obs[k * o + i]!;
    for (let i = 0; i < a; i++) this.act[r * a + i] = actions[k * a + i]!;
    this.logp[r] = logp[k]!;
    this.values[r] = values[k]!;
    this.rewards[r] = 0;
    this.state[r] = OPEN;
    this.next[r] = -1;
    this.bootValue[r] = 0;
    return r;
  }

  /**
   * Computes GAE(λ) over every closed row and copies the closed rows, in order, into
   * {@linkcode PolicyBuffer.batch}.
   * @param gamma discount
   * @param lambda GAE λ
   * @returns the training batch (a reused object)
   */
  computeGae(gamma: number, lambda: number): TrainBatch {
    const { state, next, values, rewards, bootValue, adv, ret } = this;
    for (let i = this.size - 1; i >= 0; i--) {
      const st = state[i]!;
      if (st === OPEN) continue;
      let nextValue = 0, nextAdv = 0;
      if (st === LINKED) {
        const n = next[i]!;
        nextValue = values[n]!;
        nextAdv = state[n] === OPEN ? 0 : adv[n]!;
      } else if (st === ENDED_TRUNCATED) {
        nextValue = bootValue[i]!;
      }
      const v = values[i]!;
      const delta = rewards[i]! + gamma * nextValue - v;
      const a = delta + gamma * lambda * nextAdv;
      adv[i] = a;
      ret[i] = a + v;
    }
    const b = this.batch, o = this.obsSize, na = this.actSize;
    let k = 0;
    for (let i = 0; i < this.size; i++) {
      if (state[i] === OPEN) continue;
      for (let j = 0; j < o; j++) b.obs[k * o + j] = this.obs[i * o + j]!;
      for (let j = 0; j < na; j++) b.actions[k * na + j] = this.act[i * na + j]!;
      b.logp[k] = this.logp[i]!;
      b.values[k] = values[i]!;
      b.advantages[k] = adv[i]!;
      b.returns[k] = ret[i]!;
      b.rewards[k] = rewards[i]!;
      k++;
    }
    b.size = k;
    return b;
  }

  /**
   * Starts a new fragment: moves the OPEN rows to the front, in order, and rewrites the
   * caller's row references through `remap`.
   * @param pendingRow per-slot row references (−1 for none) of the slots routed to this buffer;
   *   entries pointing at OPEN rows of this buffer are rewritten to the new indices
   * @param slotPolicy per-slot policy index
   * @param policyIndex this buffer's policy index
   */
  carryOpen(pendingRow: Int32Array, slotPolicy: Int32Array, policyIndex: number): void {
    const o = this.obsSize, a = this.actSize;
    let k = 0;
    const remap = this.next; // reuse: after this call no LINKED rows remain
    for (let i = 0; i < this.size; i++) {
      if (this.state[i] !== OPEN) continue;
      if (k !== i) {
        this.obs.copyWithin(k * o, i * o, i * o + o);
        this.act.copyWithin(k * a, i * a, i * a + a);
        this.logp[k] = this.logp[i]!;
        this.values[k] = this.values[i]!;
        this.rewards[k] = this.rewards[i]!;
        this.state[k] = OPEN;
        this.bootValue[k] = 0;
      }
      remap[i] = k;
      k++;
    }
    for (let s = 0; s < pendingRow.length; s++) {
      const r = pendingRow[s]!;
      if (r >= 0 && slotPolicy[s] === policyIndex) pendingRow[s] = remap[r]!;
    }
    for (let i = 0; i < k; i++) this.next[i] = -1;
    this.size = k;
  }
}
