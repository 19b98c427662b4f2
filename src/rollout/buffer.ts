/**
 * {@linkcode TrajectoryBuffer}: the rows one policy's agents produced in a rollout fragment,
 * preallocated, and {@linkcode SampleBatch}, the compact batch of RLlib-named columns built from
 * them. The buffer knows no algorithm: algorithms read its rows and links and add their own
 * columns (PPO's GAE writes `advantages` and `value_targets`).
 *
 * Rows are appended in time order by every agent routed to the policy, so one agent's rows are
 * not contiguous. Each row records how its transition ended:
 * - {@linkcode OPEN}: the agent has not acted again yet (its reward may still grow);
 * - {@linkcode LINKED}: the agent acted again; `next[row]` is that later row, whose observation
 *   is this row's `new_obs`;
 * - {@linkcode ENDED_TERMINATED} / {@linkcode ENDED_TRUNCATED}: the agent ended; its final
 *   observation is in `newObs`.
 * An ended row is *held* (`held[row]` = 1) while its agent's episode goes on in an env that may
 * still pay ended agents (`BatchedEnv.holdsEndedAgents`): later rewards are added to it until the
 * episode ends.
 *
 * Because `next[row] > row`, one backward sweep visits every agent's successors first. Rows that
 * are OPEN or held when a fragment ends are not closed: {@linkcode TrajectoryBuffer.carryOpen}
 * moves them to the front of the next fragment, where they close. Checkpoints copy those rows
 * out with {@linkcode TrajectoryBuffer.openRows} and back with
 * {@linkcode TrajectoryBuffer.loadRows}.
 *
 * @module
 */

/** Row state: the transition has not closed yet. */
export const OPEN = 0;
/** Row state: the agent acted again at row `next[row]`. */
export const LINKED = 1;
/** Row state: the agent terminated after this transition. */
export const ENDED_TERMINATED = 2;
/** Row state: the agent was truncated after this transition (bootstrap from `new_obs`). */
export const ENDED_TRUNCATED = 3;

/** Info of rows whose env gives none (shared, frozen). */
export const NO_INFO: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * A batch of one policy's closed transitions, with RLlib's column names, in collection order.
 * Row `i` of every column belongs to the same transition. Arrays may be longer than `count`
 * rows; only the first `count` are valid.
 */
export interface SampleBatch {
  /** Number of rows. */
  count: number;
  /** `[count × O]` observations the actions were taken on (flat encoding of the space). */
  obs: Float32Array;
  /** `[count × O]` the observation that followed: the agent's next one, or its final one. */
  new_obs: Float32Array;
  /** `[count × A]` packed actions. */
  actions: Float32Array;
  /** `[count]` rewards summed from the action until the agent acted again or its episode ended. */
  rewards: Float32Array;
  /** `[count]` 1 when the agent terminated after this transition. */
  terminateds: Uint8Array;
  /** `[count]` 1 when the agent was truncated after this transition. */
  truncateds: Uint8Array;
  /** `[count]` env steps since the episode began when the action was taken. */
  t: Int32Array;
  /** `[count]` the episode's id (unique within the collector). */
  eps_id: Int32Array;
  /** `[count]` the agent's index in its episode, in order of first appearance (from 0). */
  agent_index: Int32Array;
  /** `[count]` the agent ids (cached strings). */
  agent_ids: string[];
  /** `[count]` the info that came with `new_obs` ({@linkcode NO_INFO} when the env gives none). */
  infos: Readonly<Record<string, unknown>>[];
  /** PPO: log-probability of each action under the policy that chose it. */
  action_logp?: Float32Array;
  /** PPO: the value estimate of each observation when it was collected. */
  vf_preds?: Float32Array;
  /** PPO: GAE(λ) advantages. */
  advantages?: Float32Array;
  /** PPO: value targets (advantages + vf_preds). */
  value_targets?: Float32Array;
}

/** The algorithm column names a {@linkcode SampleBatch} may carry. */
export type ExtraColumn = "action_logp" | "vf_preds" | "advantages" | "value_targets";

/** Every algorithm column name a {@linkcode SampleBatch} knows. */
export const EXTRA_COLUMNS: readonly ExtraColumn[] = [
  "action_logp",
  "vf_preds",
  "advantages",
  "value_targets",
];

/**
 * Rows of a {@linkcode TrajectoryBuffer} that were not closed, copied out for a checkpoint
 * ({@linkcode TrajectoryBuffer.openRows}, {@linkcode TrajectoryBuffer.loadRows}).
 */
export interface BufferRows {
  /** Number of rows. */
  count: number;
  /** `[count × O]` observations. */
  obs: Float32Array;
  /** `[count × O]` final observations of ended (held) rows. */
  newObs: Float32Array;
  /** `[count × A]` packed actions. */
  act: Float32Array;
  /** `[count]` rewards so far. */
  rewards: Float32Array;
  /** `[count]` row states. */
  state: Uint8Array;
  /** `[count]` held flags. */
  held: Uint8Array;
  /** `[count]` env steps since the episode began. */
  t: Int32Array;
  /** `[count]` episode ids. */
  epsId: Int32Array;
  /** `[count]` agent indices. */
  agentIndex: Int32Array;
  /** `[count]` agent ids. */
  ids: string[];
  /** `[count]` infos (null for none). */
  infos: (Readonly<Record<string, unknown>> | null)[];
  /** Every float column by name, `[count]` each. */
  columns: Partial<Record<ExtraColumn, Float32Array>>;
}

/**
 * Rollout rows of one policy, preallocated for `capacity` rows (see the module doc). Columns
 * recorded at act time besides the action (`actColumns`, e.g. PPO's `action_logp` and
 * `vf_preds`) and columns an algorithm adds later ({@linkcode TrajectoryBuffer.column}) are one
 * float per row.
 */
export class TrajectoryBuffer {
  /** Observation floats per row. */
  readonly obsSize: number;
  /** Packed action floats per row. */
  readonly actSize: number;
  /** Row capacity. */
  capacity: number;
  /** Rows in use. */
  size = 0;
  /** Names of the columns recorded at act time, in `push` order. */
  readonly actColumns: readonly ExtraColumn[];
  /** Observations. */
  obs: Float32Array;
  /** Final observations of ended rows (other rows: unused). */
  newObs: Float32Array;
  /** Packed actions. */
  act: Float32Array;
  /** Rewards accumulated until the agent acted again or its episode ended. */
  rewards: Float32Array;
  /** Row state ({@linkcode OPEN}, {@linkcode LINKED}, ...). */
  state: Uint8Array;
  /** 1 while an ended row waits for its episode to end (late rewards may still come). */
  held: Uint8Array;
  /** Index of the agent's next row when LINKED. */
  next: Int32Array;
  /** Env steps since the episode began when the row's action was taken. */
  t: Int32Array;
  /** Episode id. */
  epsId: Int32Array;
  /** Agent index in its episode. */
  agentIndex: Int32Array;
  /** Agent ids. */
  ids: string[];
  /** Info that came with the row's new observation (set when the row closes). */
  infos: Readonly<Record<string, unknown>>[];
  readonly #cols = new Map<ExtraColumn, Float32Array>();
  /** The float columns of `#cols`, as an array (no iterator on the carry path). */
  #colList: Float32Array[] = [];
  #actCols: Float32Array[];
  #batch: SampleBatch | undefined;

  /**
   * Allocates every column once.
   * @param obsSize observation floats per row
   * @param actSize packed action floats per row
   * @param capacity maximum rows in one fragment (including rows carried over)
   * @param actColumns columns the policy writes at act time (one float per row each)
   */
  constructor(
    obsSize: number,
    actSize: number,
    capacity: number,
    actColumns: readonly ExtraColumn[] = [],
  ) {
    this.obsSize = obsSize;
    this.actSize = actSize;
    this.capacity = capacity;
    this.actColumns = actColumns;
    this.obs = new Float32Array(capacity * obsSize);
    this.newObs = new Float32Array(capacity * obsSize);
    this.act = new Float32Array(capacity * actSize);
    this.rewards = new Float32Array(capacity);
    this.state = new Uint8Array(capacity);
    this.held = new Uint8Array(capacity);
    this.next = new Int32Array(capacity);
    this.t = new Int32Array(capacity);
    this.epsId = new Int32Array(capacity);
    this.agentIndex = new Int32Array(capacity);
    this.ids = new Array(capacity).fill("");
    this.infos = new Array(capacity).fill(NO_INFO);
    for (const c of actColumns) this.#cols.set(c, new Float32Array(capacity));
    this.#actCols = actColumns.map((c) => this.#cols.get(c)!);
    this.#colList = [...this.#cols.values()];
  }

  /**
   * A float column by name (allocated on first use, `capacity` floats): an act-time column or
   * one an algorithm fills in post-processing.
   * @param name the column
   * @returns its array, indexed by row
   */
  column(name: ExtraColumn): Float32Array {
    let c = this.#cols.get(name);
    if (c === undefined) {
      c = new Float32Array(this.capacity);
      this.#cols.set(name, c);
      this.#colList = [...this.#cols.values()];
    }
    return c;
  }

  /** The act-time columns' arrays, in `actColumns` order (replaced when the capacity grows). */
  get actColumnArrays(): readonly Float32Array[] {
    return this.#actCols;
  }

  /**
   * Whether row `i` is closed: its transition ended (LINKED or ENDED) and is not held.
   * @param i a row
   * @returns true when an algorithm may train on it
   */
  closed(i: number): boolean {
    return this.state[i] !== OPEN && this.held[i] === 0;
  }

  /**
   * Grows the capacity to at least `capacity` rows, keeping the rows (allocates; for layouts
   * that grew).
   * @param capacity the new minimum capacity
   */
  ensureCapacity(capacity: number): void {
    if (capacity <= this.capacity) return;
    const grow = <T extends Float32Array | Uint8Array | Int32Array>(a: T, per: number): T => {
      const b = new (a.constructor as new (n: number) => T)(capacity * per);
      b.set(a);
      return b;
    };
    const O = this.obsSize, A = this.actSize;
    this.obs = grow(this.obs, O);
    this.newObs = grow(this.newObs, O);
    this.act = grow(this.act, A);
    this.rewards = grow(this.rewards, 1);
    this.state = grow(this.state, 1);
    this.held = grow(this.held, 1);
    this.next = grow(this.next, 1);
    this.t = grow(this.t, 1);
    this.epsId = grow(this.epsId, 1);
    this.agentIndex = grow(this.agentIndex, 1);
    for (let i = this.ids.length; i < capacity; i++) {
      this.ids.push("");
      this.infos.push(NO_INFO);
    }
    for (const [k, v] of this.#cols) this.#cols.set(k, grow(v, 1));
    this.#actCols = this.actColumns.map((c) => this.#cols.get(c)!);
    this.#colList = [...this.#cols.values()];
    this.capacity = capacity;
    this.#batch = undefined;
  }

  /**
   * Appends an OPEN row, copying row `k` of the policy's input and output batches.
   * @param obs policy input rows
   * @param actions policy output actions
   * @param actOut the act-time columns' outputs, in `actColumns` order
   * @param k the row within those batches
   * @param t env steps since the episode began
   * @param epsId the episode's id
   * @param agentIndex the agent's index in its episode
   * @param id the agent id
   * @returns the new row's index
   */
  push(
    obs: Float32Array,
    actions: Float32Array,
    actOut: readonly Float32Array[],
    k: number,
    t: number,
    epsId: number,
    agentIndex: number,
    id: string,
  ): number {
    const r = this.size;
    if (r >= this.capacity) {
      throw new RangeError(`Trajectory buffer is full at ${this.capacity} rows`);
    }
    this.size = r + 1;
    const o = this.obsSize, a = this.actSize;
    for (let i = 0; i < o; i++) this.obs[r * o + i] = obs[k * o + i]!;
    for (let i = 0; i < a; i++) this.act[r * a + i] = actions[k * a + i]!;
    const cols = this.#actCols;
    for (let c = 0; c < cols.length; c++) cols[c]![r] = actOut[c]![k]!;
    this.rewards[r] = 0;
    this.state[r] = OPEN;
    this.held[r] = 0;
    this.next[r] = -1;
    this.t[r] = t;
    this.epsId[r] = epsId;
    this.agentIndex[r] = agentIndex;
    this.ids[r] = id;
    this.infos[r] = NO_INFO;
    return r;
  }

  /**
   * Starts a new fragment: moves the rows that are not closed (OPEN or held) to the front, in
   * order, and rewrites the caller's row references.
   * @param pendingRow per-slot row references (−1 for none); entries of slots routed to this
   *   buffer are rewritten to the new indices
   * @param slotPolicy per-slot policy index
   * @param policyIndex this buffer's policy index
   */
  carryOpen(pendingRow: Int32Array, slotPolicy: Int32Array, policyIndex: number): void {
    const o = this.obsSize, a = this.actSize;
    let k = 0;
    const remap = this.next; // reuse: after this call no LINKED rows remain
    for (let i = 0; i < this.size; i++) {
      if (this.closed(i)) continue;
      if (k !== i) {
        this.obs.copyWithin(k * o, i * o, i * o + o);
        this.newObs.copyWithin(k * o, i * o, i * o + o);
        this.act.copyWithin(k * a, i * a, i * a + a);
        this.rewards[k] = this.rewards[i]!;
        this.state[k] = this.state[i]!;
        this.held[k] = this.held[i]!;
        this.t[k] = this.t[i]!;
        this.epsId[k] = this.epsId[i]!;
        this.agentIndex[k] = this.agentIndex[i]!;
        this.ids[k] = this.ids[i]!;
        this.infos[k] = this.infos[i]!;
        const cols = this.#colList;
        for (let c = 0; c < cols.length; c++) cols[c]![k] = cols[c]![i]!;
      }
      remap[i] = k;
      k++;
    }
    for (let s = 0; s < pendingRow.length; s++) {
      const r = pendingRow[s]!;
      if (r >= 0 && slotPolicy[s] === policyIndex) pendingRow[s] = remap[r]!;
    }
    for (let i = 0; i < k; i++) this.next[i] = -1;
    for (let i = k; i < this.size; i++) {
      this.ids[i] = "";
      this.infos[i] = NO_INFO;
    }
    this.size = k;
  }

  /**
   * A copy of the rows that are not closed (OPEN or held: the rows
   * {@linkcode TrajectoryBuffer.carryOpen} would keep), in order, with every float column, for
   * checkpoints. Reads only.
   * @returns the rows, and `remap[row]`: each row's index among them (−1 for closed rows)
   */
  openRows(): { rows: BufferRows; remap: Int32Array } {
    const O = this.obsSize, A = this.actSize, n = this.size;
    const remap = new Int32Array(n).fill(-1);
    let k = 0;
    for (let i = 0; i < n; i++) if (!this.closed(i)) remap[i] = k++;
    const rows: BufferRows = {
      count: k,
      obs: new Float32Array(k * O),
      newObs: new Float32Array(k * O),
      act: new Float32Array(k * A),
      rewards: new Float32Array(k),
      state: new Uint8Array(k),
      held: new Uint8Array(k),
      t: new Int32Array(k),
      epsId: new Int32Array(k),
      agentIndex: new Int32Array(k),
      ids: [],
      infos: [],
      columns: {},
    };
    for (const [name] of this.#cols) rows.columns[name] = new Float32Array(k);
    for (let i = 0; i < n; i++) {
      const j = remap[i]!;
      if (j < 0) continue;
      rows.obs.set(this.obs.subarray(i * O, i * O + O), j * O);
      rows.newObs.set(this.newObs.subarray(i * O, i * O + O), j * O);
      rows.act.set(this.act.subarray(i * A, i * A + A), j * A);
      rows.rewards[j] = this.rewards[i]!;
      rows.state[j] = this.state[i]!;
      rows.held[j] = this.held[i]!;
      rows.t[j] = this.t[i]!;
      rows.epsId[j] = this.epsId[i]!;
      rows.agentIndex[j] = this.agentIndex[i]!;
      rows.ids.push(this.ids[i]!);
      rows.infos.push(this.infos[i] === NO_INFO ? null : this.infos[i]!);
      for (const [name, col] of this.#cols) rows.columns[name]![j] = col[i]!;
    }
    return { rows, remap };
  }

  /**
   * Replaces the buffer's rows with rows from {@linkcode TrajectoryBuffer.openRows} (growing
   * the capacity when needed): they become rows `0 … count−1`, none linked.
   * @param rows the rows
   * @throws {RangeError} when their sizes do not fit this buffer's row widths
   */
  loadRows(rows: BufferRows): void {
    const O = this.obsSize, A = this.actSize, k = rows.count;
    if (
      !Number.isInteger(k) || k < 0 || rows.obs.length !== k * O || rows.act.length !== k * A ||
      rows.ids.length !== k
    ) {
      throw new RangeError(
        `Saved rows do not fit a buffer of ${O} observation and ${A} action floats per row`,
      );
    }
    this.ensureCapacity(k);
    for (let i = 0; i < this.size; i++) {
      this.ids[i] = "";
      this.infos[i] = NO_INFO;
    }
    this.obs.set(rows.obs);
    this.newObs.set(rows.newObs);
    this.act.set(rows.act);
    this.rewards.set(rows.rewards);
    this.state.set(rows.state);
    this.held.set(rows.held);
    this.next.fill(-1, 0, k);
    this.t.set(rows.t);
    this.epsId.set(rows.epsId);
    this.agentIndex.set(rows.agentIndex);
    for (let i = 0; i < k; i++) {
      this.ids[i] = rows.ids[i]!;
      const info = rows.infos[i];
      this.infos[i] = info === null || info === undefined ? NO_INFO : info;
    }
    for (const name of Object.keys(rows.columns) as ExtraColumn[]) {
      this.column(name).set(rows.columns[name]!);
    }
    this.size = k;
  }

  /** Number of closed rows. */
  get closedCount(): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) if (this.closed(i)) n++;
    return n;
  }

  /**
   * The closed rows, in order, as a compact {@linkcode SampleBatch} with every float column the
   * buffer holds. The batch and its arrays are reused by the next call (copy it with
   * {@linkcode copySampleBatch} to keep it).
   * @returns the batch
   */
  compact(): SampleBatch {
    const cap = this.capacity, O = this.obsSize, A = this.actSize;
    let b = this.#batch;
    if (b === undefined || b.obs.length < cap * O) {
      b = {
        count: 0,
        obs: new Float32Array(cap * O),
        new_obs: new Float32Array(cap * O),
        actions: new Float32Array(cap * A),
        rewards: new Float32Array(cap),
        terminateds: new Uint8Array(cap),
        truncateds: new Uint8Array(cap),
        t: new Int32Array(cap),
        eps_id: new Int32Array(cap),
        agent_index: new Int32Array(cap),
        agent_ids: [],
        infos: [],
      };
      this.#batch = b;
    }
    const cols = [...this.#cols];
    const outCols: Float32Array[] = cols.map(([name]) => {
      let c = b![name];
      if (c === undefined || c.length < cap) c = b![name] = new Float32Array(cap);
      return c;
    });
    for (const name of EXTRA_COLUMNS) if (!this.#cols.has(name)) delete b[name];
    b.agent_ids.length = 0;
    b.infos.length = 0;
    let k = 0;
    for (let i = 0; i < this.size; i++) {
      if (!this.closed(i)) continue;
      const st = this.state[i]!;
      b.obs.set(this.obs.subarray(i * O, i * O + O), k * O);
      if (st === LINKED) {
        const n = this.next[i]!;
        b.new_obs.set(this.obs.subarray(n * O, n * O + O), k * O);
      } else b.new_obs.set(this.newObs.subarray(i * O, i * O + O), k * O);
      b.actions.set(this.act.subarray(i * A, i * A + A), k * A);
      b.rewards[k] = this.rewards[i]!;
      b.terminateds[k] = st === ENDED_TERMINATED ? 1 : 0;
      b.truncateds[k] = st === ENDED_TRUNCATED ? 1 : 0;
      b.t[k] = this.t[i]!;
      b.eps_id[k] = this.epsId[i]!;
      b.agent_index[k] = this.agentIndex[i]!;
      b.agent_ids.push(this.ids[i]!);
      b.infos.push(this.infos[i]!);
      for (let c = 0; c < cols.length; c++) outCols[c]![k] = cols[c]![1][i]!;
      k++;
    }
    b.count = k;
    return b;
  }
}

/**
 * A copy of a batch trimmed to its `count` rows, sharing nothing with it.
 * @param b the batch
 * @returns the copy
 */
export function copySampleBatch(b: SampleBatch): SampleBatch {
  const n = b.count;
  const out: SampleBatch = {
    count: n,
    obs: b.obs.slice(0, n * rowWidth(b.obs, b)),
    new_obs: b.new_obs.slice(0, n * rowWidth(b.new_obs, b)),
    actions: b.actions.slice(0, n * rowWidth(b.actions, b)),
    rewards: b.rewards.slice(0, n),
    terminateds: b.terminateds.slice(0, n),
    truncateds: b.truncateds.slice(0, n),
    t: b.t.slice(0, n),
    eps_id: b.eps_id.slice(0, n),
    agent_index: b.agent_index.slice(0, n),
    agent_ids: b.agent_ids.slice(0, n),
    infos: b.infos.slice(0, n),
  };
  for (const c of EXTRA_COLUMNS) {
    const col = b[c];
    if (col !== undefined) out[c] = col.slice(0, n);
  }
  return out;
}

/** Floats per row of a column whose capacity matches the batch's `rewards` capacity. */
function rowWidth(col: Float32Array, b: SampleBatch): number {
  return b.rewards.length === 0 ? 0 : col.length / b.rewards.length;
}
