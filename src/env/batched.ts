/**
 * The batched slot face of an environment: the fast path the trainer uses.
 *
 * `N` envs are stepped together. Each env has a fixed number of agent *slots*, grouped by kind
 * (a {@linkcode SlotGroup}: same observation and action space). All slots of all envs form one
 * global index `s` in `[0, S)`, group-major: the slots of group `g` are
 * `g.slotOffset + env * g.slotsPerEnv + j` for `j` in `[0, g.slotsPerEnv)`. An agent id is a
 * label over a slot for the life of that agent; a slot may hold a new agent after the last one
 * ended (a fresh `low_level_{n}`).
 *
 * Every buffer is a flat typed array allocated once (for WASM envs: views into linear memory
 * that never grows), so the host reads observations and writes actions with no copies and no
 * per-agent objects.
 *
 * One call of {@linkcode BatchedEnv.step} advances every env by one env step:
 * 1. it reads the action rows of the slots flagged {@linkcode ACTIVE} (validating all of them
 *    first: on a bad action it throws and changes nothing);
 * 2. it writes rewards (`rew`) for every slot whose agent gets one, acting or waiting;
 * 3. for a slot whose agent ended, it sets {@linkcode TERMINATED} or {@linkcode TRUNCATED} and
 *    copies that agent's last observation to `finalObs` (needed to bootstrap a truncation);
 * 4. for an env whose episode ended it sets `envDone[env]`, resets that env at once
 *    (auto-reset), and flags the slots of the new episode's first agents
 *    {@linkcode SPAWNED}|{@linkcode ACTIVE}|{@linkcode ALIVE}.
 * So after a step a slot may carry both the end of one agent (its reward in `rew`) and the
 * start of the next (its observation in `obs`): consumers handle ends before spawns.
 *
 * Observation rows of alive but waiting slots (ALIVE without ACTIVE) hold a current
 * observation too (what the agent would see if asked now); the trainer does not read them.
 *
 * A reward in `rew[s]` belongs to the agent the slot held before the step (acting, waiting,
 * ending now, or ended earlier and held, see {@linkcode BatchedEnv.holdsEndedAgents}); only a
 * slot that held no agent gives its reward to the agent SPAWNED into it: a reward that arrives
 * with an agent's first observation, which counts in the episode's return but belongs to no
 * transition (RLlib's rule). A step may leave an env with no ACTIVE agent while its episode goes
 * on (RLlib steps it with an empty action dict); the next `step` advances it all the same.
 *
 * Optional parts, for envs that need them: `envStepped` (which envs' time advanced: a
 * hierarchy's decision can cost no env step), `holdsEndedAgents` with late rewards, per-slot
 * `info`/`finalInfo`, slots that grow on demand (`layoutVersion`), `episodeMetrics` (numbers
 * that describe each env's last episode, for evaluation) and `saveState`/`loadState` (exact
 * snapshots, for checkpoints). Envs written in TypeScript save theirs with
 * {@linkcode SlotEnv}'s `saveSlotState`/`loadSlotState` or {@linkcode packState} and
 * {@linkcode unpackState}.
 *
 * @module
 */

import type { Space } from "../spaces.ts";

/** Slot flag: the slot's agent acts at the next step (it is in the dict face's `obs`). */
export const ACTIVE = 1;
/** Slot flag: a new agent appeared in the slot at the last step or reset. */
export const SPAWNED = 2;
/** Slot flag: the slot's previous agent terminated at the last step; its last reward is in `rew`. */
export const TERMINATED = 4;
/** Slot flag: the slot's previous agent was truncated; its last observation is in `finalObs`. */
export const TRUNCATED = 8;
/** Slot flag: an agent occupies the slot (acting now or waiting for its turn). */
export const ALIVE = 16;

/** A kind of agent slot: every slot of a group shares spaces and buffer row widths. */
export interface SlotGroup {
  /** Group name, e.g. `"high"` or `"low"`. */
  readonly name: string;
  /** Slots of this group in each env. */
  readonly slotsPerEnv: number;
  /** Global index of the group's first slot. */
  readonly slotOffset: number;
  /** Observation space of the group's agents; rows of `obs` are its `flatten` encoding. */
  readonly observationSpace: Space;
  /** Action space of the group's agents; rows of `act` are its `pack` encoding. */
  readonly actionSpace: Space;
  /** Observations, `numEnvs * slotsPerEnv` rows of `observationSpace.flatSize`. */
  readonly obs: Float32Array;
  /** Last observations of agents that ended at the last step, same layout as `obs`. */
  readonly finalObs: Float32Array;
  /** Actions, `numEnvs * slotsPerEnv` rows of `actionSpace.packedSize`, written by the host. */
  readonly act: Float32Array;
}

/** The batched slot face of `numEnvs` env instances. See the module doc for the step protocol. */
export interface BatchedEnv {
  /** Number of env instances `N`. */
  readonly numEnvs: number;
  /** Total number of slots `S` over all groups and envs. */
  readonly numSlots: number;
  /** Slot groups, in global slot order. */
  readonly groups: readonly SlotGroup[];
  /** `[S]` reward delivered at the last step to each slot's agent (0 when none). */
  readonly rew: Float32Array;
  /** `[S]` bitwise OR of {@linkcode ACTIVE}, {@linkcode SPAWNED}, {@linkcode TERMINATED}, {@linkcode TRUNCATED}, {@linkcode ALIVE}. */
  readonly flags: Uint8Array;
  /** `[N]` 1 when the env's episode ended at the last step (`__all__`); it has been auto-reset. */
  readonly envDone: Uint8Array;
  /** `[N]` 1 when that ended episode was cut off by a time limit rather than terminated. */
  readonly envTruncated: Uint8Array;
  /**
   * `[N]` optional per-env step mask, all ones after construction: `step` advances only the envs
   * whose entry is 1 and leaves the others exactly as they are (flags of a skipped env keep only
   * ACTIVE and ALIVE; its rewards are 0). Wrappers such as the hierarchy helper use it to hold
   * an env still while a higher-level agent decides.
   */
  readonly stepMask?: Uint8Array;
  /**
   * The id of the agent now in slot `s` (the newest one, when a slot ended and respawned at the
   * same step). Implementations cache the strings, so this does not allocate per step.
   * @param slot a global slot index
   * @returns the agent id, e.g. `"high_level_agent"` or `"low_level_3"`
   */
  agentId(slot: number): string;
  /**
   * `[N]` optional: 1 when the last `step` (or `reset`: 0) advanced env `i`'s time by one env
   * step, 0 when it did not (a masked env, or a step that only recorded a higher level's
   * decision). Without it, every `step` advances every env. Trainers count env steps, episode
   * lengths and the `t` column with it.
   */
  readonly envStepped?: Uint8Array;
  /**
   * Optional, default false: true when an agent that ended before its episode did may still be
   * paid. Its slot then stays reserved until the episode ends (no other agent takes it), and a
   * later reward for it arrives in `rew` of that slot with no flags; consumers add it to the
   * agent's last transition, which therefore stays open to rewards until `envDone`.
   */
  readonly holdsEndedAgents?: boolean;
  /**
   * Optional: bumped whenever the slot layout changes (a group gained slots per env, so `groups`,
   * `numSlots` and every per-slot buffer were replaced). A slot keeps its `(group, env, j)`
   * identity across a change; its global index may move. Consumers that cache slot indices or
   * buffers re-read them when this changes. Absent or constant: the layout never changes.
   */
  readonly layoutVersion?: number;
  /**
   * Optional: the info that came with the current observation of the slot's agent (at the last
   * `reset` or `step`), or undefined when there is none.
   * @param slot a global slot index
   * @returns the info object (not copied; do not modify it)
   */
  info?(slot: number): Readonly<Record<string, unknown>> | undefined;
  /**
   * Optional: the info that came with the final observation of the agent that ended in the slot
   * at the last `step`, or undefined when there is none.
   * @param slot a global slot index
   * @returns the info object (not copied; do not modify it)
   */
  finalInfo?(slot: number): Readonly<Record<string, unknown>> | undefined;
  /**
   * Optional: numbers that describe each env's last finished episode, for evaluation (e.g. the
   * chicken yard's reach rate). `values` holds `numEnvs` rows of `names.length` numbers; row `i`
   * is written when `envDone[i]` is set and stays until env `i`'s next episode ends. NaN means
   * "not defined for that episode" (averages skip it).
   */
  readonly episodeMetrics?: EpisodeMetricsView;
  /**
   * Optional: true when each episode is a match between its agents (a game: the higher return
   * wins). Training and evaluation results then carry `win_rates`: each policy's wins, draws
   * and losses against each policy it met. The package's games set it.
   */
  readonly competitive?: boolean;
  /**
   * Optional: the env's whole state as bytes, for checkpoints: `loadState` of those bytes on an
   * env built with the same options puts it back exactly (same observations, random streams,
   * agent ids), so training continues bit for bit.
   * @returns the state
   */
  saveState?(): Uint8Array;
  /**
   * Optional: restores a state from `saveState`. Throws a `RangeError` naming what does not fit
   * (another env, size or version) and changes nothing then.
   * @param state the bytes
   */
  loadState?(state: Uint8Array): void;
  /**
   * Resets every env and flags the first agents SPAWNED|ACTIVE|ALIVE.
   * @param seed when given, env `i` is reseeded from `(seed, i)`; otherwise each env's random
   *   stream continues
   */
  reset(seed?: number): void;
  /**
   * Advances every env one step, reading the action rows of ACTIVE slots.
   * Throws a `RangeError` naming the agent, the value and what was expected when an action is
   * invalid, or an `Error` when called before `reset`; the envs are unchanged then.
   */
  step(): void;
}

/** Per-env numbers of the last finished episode (see {@linkcode BatchedEnv.episodeMetrics}). */
export interface EpisodeMetricsView {
  /** Metric names, e.g. `["reach_rate", "moves_ratio"]`. */
  readonly names: readonly string[];
  /** `[N × names.length]` row `i`: env `i`'s last finished episode. */
  readonly values: Float32Array;
}

/** Declares one slot group, for {@linkcode allocateSlots}. */
export interface SlotGroupSpec {
  /** Group name. */
  name: string;
  /** Slots of this group in each env. */
  slotsPerEnv: number;
  /** Observation space of the group's agents. */
  observationSpace: Space;
  /** Action space of the group's agents. */
  actionSpace: Space;
}

/** Buffers for a TypeScript implementation of {@linkcode BatchedEnv}. */
export interface SlotBuffers {
  /** The groups with their buffers, in slot order. */
  groups: SlotGroup[];
  /** Total slots. */
  numSlots: number;
  /** `[S]` rewards. */
  rew: Float32Array;
  /** `[S]` flags. */
  flags: Uint8Array;
  /** `[N]` episode-ended flags. */
  envDone: Uint8Array;
  /** `[N]` episode-truncated flags. */
  envTruncated: Uint8Array;
}

/**
 * Allocates the slot buffers for `numEnvs` envs with the given groups, in the layout the
 * module doc describes. Envs written in TypeScript (the hierarchy wrapper, the dict adapter) use
 * this so they share the WASM envs' layout.
 * @param numEnvs number of envs, a positive integer
 * @param specs the groups, in slot order
 * @returns freshly zeroed buffers
 */
export function allocateSlots(numEnvs: number, specs: readonly SlotGroupSpec[]): SlotBuffers {
  if (!Number.isInteger(numEnvs) || numEnvs < 1) {
    throw new RangeError(`numEnvs must be a positive integer, got ${numEnvs}`);
  }
  let offset = 0;
  const groups: SlotGroup[] = specs.map((g) => {
    if (!Number.isInteger(g.slotsPerEnv) || g.slotsPerEnv < 1) {
      throw new RangeError(
        `slotsPerEnv of group "${g.name}" must be a positive integer, got ${g.slotsPerEnv}`,
      );
    }
    const rows = numEnvs * g.slotsPerEnv;
    const group: SlotGroup = {
      name: g.name,
      slotsPerEnv: g.slotsPerEnv,
      slotOffset: offset,
      observationSpace: g.observationSpace,
      actionSpace: g.actionSpace,
      obs: new Float32Array(rows * g.observationSpace.flatSize),
      finalObs: new Float32Array(rows * g.observationSpace.flatSize),
      act: new Float32Array(rows * g.actionSpace.packedSize),
    };
    offset += rows;
    return group;
  });
  return {
    groups,
    numSlots: offset,
    rew: new Float32Array(offset),
    flags: new Uint8Array(offset),
    envDone: new Uint8Array(numEnvs),
    envTruncated: new Uint8Array(numEnvs),
  };
}

/**
 * Base class of the {@linkcode BatchedEnv}s written in TypeScript (the hierarchy wrapper, the
 * dict-env adapter, test envs): allocates the slot buffers in the shared layout
 * ({@linkcode allocateSlots}) and a step mask of ones, and can grow a group's slots per env
 * ({@linkcode SlotEnv.growGroup}). Subclasses implement `agentId`, `reset` and `step`.
 */
export abstract class SlotEnv implements BatchedEnv {
  /** Number of env instances `N`. */
  readonly numEnvs: number;
  /** Total number of slots `S` over all groups and envs (changes when a group grows). */
  numSlots: number;
  /** Slot groups with their buffers, in global slot order (replaced when a group grows). */
  groups: readonly SlotGroup[];
  /** `[S]` reward delivered at the last step to each slot's agent (replaced when a group grows). */
  rew: Float32Array;
  /** `[S]` slot flags of the last step (replaced when a group grows). */
  flags: Uint8Array;
  /** `[N]` 1 when the env's episode ended at the last step; it has been auto-reset. */
  readonly envDone: Uint8Array;
  /** `[N]` 1 when that ended episode was cut off by a time limit. */
  readonly envTruncated: Uint8Array;
  /** `[N]` per-env step mask, all ones after construction (see {@linkcode BatchedEnv.stepMask}). */
  readonly stepMask: Uint8Array;
  /** Bumped by {@linkcode SlotEnv.growGroup} (see {@linkcode BatchedEnv.layoutVersion}). */
  layoutVersion = 0;

  /**
   * Allocates the buffers.
   * @param numEnvs number of envs, a positive integer
   * @param specs the slot groups, in slot order
   */
  constructor(numEnvs: number, specs: readonly SlotGroupSpec[]) {
    const b = allocateSlots(numEnvs, specs);
    this.numEnvs = numEnvs;
    this.numSlots = b.numSlots;
    this.groups = b.groups;
    this.rew = b.rew;
    this.flags = b.flags;
    this.envDone = b.envDone;
    this.envTruncated = b.envTruncated;
    this.stepMask = new Uint8Array(numEnvs).fill(1);
  }

  /**
   * Gives group `g` `slotsPerEnv` slots in every env (more than it has), keeping every slot's
   * contents and its `(group, env, j)` identity: the group's buffers and the per-slot `rew` and
   * `flags` are reallocated, later groups' slots move up, and {@linkcode SlotEnv.layoutVersion}
   * is bumped. Allocates; call it only when an agent does not fit.
   * @param g the group's index
   * @param slotsPerEnv the new number of slots per env
   * @returns for each old global slot, its new index
   */
  protected growGroup(g: number, slotsPerEnv: number): Int32Array {
    const old = this.groups, N = this.numEnvs;
    const og = old[g]!;
    if (!Number.isInteger(slotsPerEnv) || slotsPerEnv <= og.slotsPerEnv) {
      throw new RangeError(
        `growGroup("${og.name}") needs more than ${og.slotsPerEnv} slots per env, got ${slotsPerEnv}`,
      );
    }
    const specs = old.map((x, i) => ({
      name: x.name,
      slotsPerEnv: i === g ? slotsPerEnv : x.slotsPerEnv,
      observationSpace: x.observationSpace,
      actionSpace: x.actionSpace,
    }));
    const b = allocateSlots(N, specs);
    const remap = new Int32Array(this.numSlots);
    for (let i = 0; i < old.length; i++) {
      const from = old[i]!, to = b.groups[i]!;
      const O = from.observationSpace.flatSize, A = from.actionSpace.packedSize;
      for (let e = 0; e < N; e++) {
        for (let j = 0; j < from.slotsPerEnv; j++) {
          const r0 = e * from.slotsPerEnv + j, r1 = e * to.slotsPerEnv + j;
          to.obs.set(from.obs.subarray(r0 * O, r0 * O + O), r1 * O);
          to.finalObs.set(from.finalObs.subarray(r0 * O, r0 * O + O), r1 * O);
          to.act.set(from.act.subarray(r0 * A, r0 * A + A), r1 * A);
          const s0 = from.slotOffset + r0, s1 = to.slotOffset + r1;
          b.rew[s1] = this.rew[s0]!;
          b.flags[s1] = this.flags[s0]!;
          remap[s0] = s1;
        }
      }
    }
    this.groups = b.groups;
    this.numSlots = b.numSlots;
    this.rew = b.rew;
    this.flags = b.flags;
    this.layoutVersion++;
    return remap;
  }

  /**
   * For `saveState` of subclasses: the slot buffers (`flags`, `rew`, `envDone`,
   * `envTruncated`, `stepMask`, each group's `obs`, `finalObs` and `act`) and the subclass's
   * own arrays, packed with {@linkcode packState} under `tag`, after the layout (slots per env
   * of each group, `layoutVersion`).
   * @param tag names the env kind (checked by {@linkcode SlotEnv.loadSlotState})
   * @param extra the subclass's state, typed arrays
   * @returns the bytes
   */
  protected saveSlotState(tag: string, extra: readonly ArrayBufferView[] = []): Uint8Array {
    const layout = Int32Array.from([this.layoutVersion, ...this.groups.map((g) => g.slotsPerEnv)]);
    return packState(tag, [layout, ...this.#slotArrays(), ...extra]);
  }

  /**
   * For `loadState` of subclasses: checks bytes from {@linkcode SlotEnv.saveSlotState} against
   * this env (tag, layout, every array's size) and, only when everything fits, copies them into
   * the slot buffers and `extra`.
   * @param tag the tag they were saved under
   * @param bytes the bytes
   * @param extra the subclass's arrays, in the order saved
   * @throws {RangeError} naming what does not fit; nothing changes then
   */
  protected loadSlotState(
    tag: string,
    bytes: Uint8Array,
    extra: readonly ArrayBufferView[] = [],
  ): void {
    const parts = unpackState(tag, bytes);
    const layout = new Int32Array(parts[0]?.slice().buffer ?? new ArrayBuffer(0));
    this.groups.forEach((g, i) => {
      if (layout[i + 1] !== g.slotsPerEnv) {
        throw new RangeError(
          `${tag} state has ${
            layout[i + 1]
          } slots per env in group "${g.name}", this env has ${g.slotsPerEnv}`,
        );
      }
    });
    copyParts(tag, parts.slice(1), [...this.#slotArrays(), ...extra]);
    this.layoutVersion = layout[0]!;
  }

  #slotArrays(): ArrayBufferView[] {
    const out: ArrayBufferView[] = [
      this.flags,
      this.rew,
      this.envDone,
      this.envTruncated,
      this.stepMask,
    ];
    for (const g of this.groups) out.push(g.obs, g.finalObs, g.act);
    return out;
  }

  /**
   * The id of the agent now in slot `s` (see {@linkcode BatchedEnv.agentId}).
   * @param slot a global slot index
   * @returns the agent id
   */
  abstract agentId(slot: number): string;
  /**
   * Resets every env (see {@linkcode BatchedEnv.reset}).
   * @param seed when given, env `i` is reseeded from `(seed, i)`
   */
  abstract reset(seed?: number): void;
  /** Advances every env one step (see {@linkcode BatchedEnv.step}). */
  abstract step(): void;
}

/**
 * Finds the group a global slot belongs to.
 * @param env a batched env
 * @param slot a global slot index
 * @returns the group index
 */
export function groupOfSlot(env: BatchedEnv, slot: number): number {
  const gs = env.groups;
  for (let g = gs.length - 1; g >= 0; g--) if (slot >= gs[g]!.slotOffset) return g;
  throw new RangeError(`Slot must be in [0, ${env.numSlots}), got ${slot}`);
}

/**
 * Packs typed arrays into one byte array under a tag (a name that {@linkcode unpackState}
 * checks), for `saveState` of envs written in TypeScript: a u32 length and a UTF-8 JSON header
 * (`{tag, sizes}`, the byte size of each part), then the parts, each 8-byte aligned.
 *
 * @example
 * ```ts
 * import { packState, unpackState } from "./batched.ts";
 * const bytes = packState("my_env", [new Int32Array([1, 2]), new Float32Array([0.5])]);
 * const [a, b] = unpackState("my_env", bytes);
 * if (new Int32Array(a!.slice().buffer)[1] !== 2 || b!.length !== 4) throw new Error("parts");
 * ```
 *
 * @param tag names the state's kind
 * @param parts the arrays
 * @returns the bytes
 */
export function packState(tag: string, parts: readonly ArrayBufferView[]): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ tag, sizes: parts.map((p) => p.byteLength) }),
  );
  let off = align8(4 + header.length);
  const offsets = parts.map((p) => {
    const o = off;
    off += align8(p.byteLength);
    return o;
  });
  const out = new Uint8Array(off);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  parts.forEach((p, i) => {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offsets[i]!);
  });
  return out;
}

/**
 * Splits bytes from {@linkcode packState} into their parts (views of `bytes`).
 * @param tag the tag they must carry
 * @param bytes the bytes
 * @returns the parts, as bytes
 * @throws {RangeError} when the bytes are not a state or carry another tag
 */
export function unpackState(tag: string, bytes: Uint8Array): Uint8Array[] {
  let header: { tag?: unknown; sizes?: unknown };
  try {
    const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n)));
    let off = align8(4 + n);
    if (header.tag !== tag) {
      throw new RangeError(
        `The state is of ${JSON.stringify(header.tag)}, expected ${JSON.stringify(tag)}`,
      );
    }
    const sizes = header.sizes as number[];
    const out = sizes.map((size) => {
      const part = bytes.subarray(off, off + size);
      if (part.length !== size) throw new RangeError(`The ${tag} state is truncated`);
      off += align8(size);
      return part;
    });
    return out;
  } catch (e) {
    if (e instanceof RangeError) throw e;
    throw new RangeError(`Not a saved env state (${(e as Error).message})`);
  }
}

/**
 * Copies parts from {@linkcode unpackState} into arrays, after checking that every size fits.
 * @param tag the state's kind, for messages
 * @param parts the parts
 * @param into the destination arrays, in order (as many as the parts)
 * @throws {RangeError} naming the first part whose size differs; nothing is copied then
 */
export function copyParts(
  tag: string,
  parts: readonly Uint8Array[],
  into: readonly ArrayBufferView[],
): void {
  if (parts.length !== into.length) {
    throw new RangeError(`The ${tag} state has ${parts.length} arrays, expected ${into.length}`);
  }
  into.forEach((a, i) => {
    if (parts[i]!.length !== a.byteLength) {
      throw new RangeError(
        `Array ${i} of the ${tag} state has ${
          parts[i]!.length
        } bytes, this env has ${a.byteLength} (another size or number of envs)`,
      );
    }
  });
  into.forEach((a, i) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(parts[i]!));
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
