/**
 * Low-level helpers of coop's AssemblyScript envs: the ABI constants, the buffer layout of the
 * batched slot face (src/env/batched.ts) and a PCG32 stream per env.
 *
 * Env authors do not call these directly: the env kit (`_kit.ts`) lays out the buffers from an
 * env's declared slot groups and runs the slot protocol, and `_abi.ts` holds the exports the
 * host's generic loader (src/env/wasm.ts) reads. Files in `assembly/` whose names start with
 * `_` are helpers; `scripts/build.ts` compiles every other file as an env entry.
 *
 * Memory: all buffers are carved from `__heap_base` upwards in `init` and the memory grows
 * there only, so the host's typed-array views never detach between `init` calls. No managed
 * objects are ever allocated (stub runtime, numbers-only ABI).
 *
 * Note: this file must stay valid TypeScript syntax for `deno fmt`/`deno lint`, which drop
 * decorators on top-level functions; `@inline` is therefore used on static methods only.
 */

/** ABI version of the numbers-only interface; the host loader refuses any other. */
export const ABI_VERSION: i32 = 1;

/** Success. */
export const E_OK: i32 = 0;
/** `init`: the number of envs is outside `[1, MAX_ENVS]`. */
export const E_BAD_NUM_ENVS: i32 = 1;
/** `init`: the memory could not grow to hold the buffers. */
export const E_OUT_OF_MEMORY: i32 = 2;
/** `reset`/`step`: `init` has not succeeded yet. */
export const E_NOT_INIT: i32 = 3;
/** `step`: called before the first `reset`. */
export const E_NOT_RESET: i32 = 4;
/** `step`: an ACTIVE slot holds an invalid action (see `errorSlot`, `errorValue`). */
export const E_BAD_ACTION: i32 = 5;
/**
 * `init`: the env's declared layout is unusable (no groups or more than {@link MAX_GROUPS}, a
 * group with no slots or no action numbers) or the module bound no env (a bug in the env).
 */
export const E_LAYOUT: i32 = 6;

/** Slot flag: the slot's agent acts at the next step. */
export const ACTIVE: u8 = 1;
/** Slot flag: a new agent appeared in the slot at the last step or reset. */
export const SPAWNED: u8 = 2;
/** Slot flag: the slot's previous agent terminated at the last step. */
export const TERMINATED: u8 = 4;
/** Slot flag: the slot's previous agent was truncated at the last step. */
export const TRUNCATED: u8 = 8;
/** Slot flag: an agent occupies the slot. */
export const ALIVE: u8 = 16;

/** Largest number of envs one instance accepts. */
export const MAX_ENVS: i32 = 1 << 22;
/** Largest number of slot groups of one env. */
export const MAX_GROUPS: i32 = 8;

// Group table: per group 8 i32 fields.
const G_SLOTS: i32 = 0;
const G_OBS_SIZE: i32 = 1;
const G_ACT_SIZE: i32 = 2;
const G_SLOT_OFFSET: i32 = 3;
const G_OBS_PTR: i32 = 4;
const G_FINAL_OBS_PTR: i32 = 5;
const G_ACT_PTR: i32 = 6;
const G_FIELDS: i32 = 8;
const groupTable: usize = memory.data(MAX_GROUPS * G_FIELDS * 4, 16);

let envCount: i32 = 0;
let slotCount: i32 = 0;
let groupCount: i32 = 0;
let layoutTop: u64 = 0;
let layoutOk: bool = false;
let rew: usize = 0;
let flags: usize = 0;
let agentSeq: usize = 0;
let envDone: usize = 0;
let envTruncated: usize = 0;
let stepMask: usize = 0;
let errSlot: i32 = -1;
let errValue: f64 = 0;

/** Static helpers over the group table (inlined). */
export class Layout {
  /** Reads field `f` of group `g`. */
  @inline
  static field(g: i32, f: i32): i32 {
    return load<i32>(groupTable + ((<usize> (g * G_FIELDS + f)) << 2));
  }
  /** Writes field `f` of group `g`. */
  @inline
  static setField(g: i32, f: i32, v: i32): void {
    store<i32>(groupTable + ((<usize> (g * G_FIELDS + f)) << 2), v);
  }
  /** Number of envs set by the last successful {@link layoutBegin}. */
  @inline
  static numEnvs(): i32 {
    return envCount;
  }
  /** Number of slot groups declared since the last {@link layoutBegin}. */
  @inline
  static numGroups(): i32 {
    return groupCount;
  }
  /** Total number of slots over all groups. */
  @inline
  static numSlots(): i32 {
    return slotCount;
  }
  /** Global slot of the first invalid action of the last failed `step` (-1 when none). */
  @inline
  static errorSlot(): i32 {
    return errSlot;
  }
  /** The invalid value of the last failed `step`. */
  @inline
  static errorValue(): f64 {
    return errValue;
  }
  /** Whether {@link layoutCommit} succeeded. */
  @inline
  static ready(): bool {
    return layoutOk;
  }
  /** `f32[S]` rewards. */
  @inline
  static rew(): usize {
    return rew;
  }
  /** `u8[S]` slot flags. */
  @inline
  static flags(): usize {
    return flags;
  }
  /** `i32[S]` agent sequence numbers. */
  @inline
  static agentSeq(): usize {
    return agentSeq;
  }
  /** `u8[N]` episode-ended flags. */
  @inline
  static envDone(): usize {
    return envDone;
  }
  /** `u8[N]` episode-truncated flags. */
  @inline
  static envTruncated(): usize {
    return envTruncated;
  }
  /** `u8[N]` step mask. */
  @inline
  static stepMask(): usize {
    return stepMask;
  }
  /** Slots per env of group `g`. */
  @inline
  static slots(g: i32): i32 {
    return Layout.field(g, G_SLOTS);
  }
  /** Observation row width (f32s) of group `g`. */
  @inline
  static obsSize(g: i32): i32 {
    return Layout.field(g, G_OBS_SIZE);
  }
  /** Action row width (f32s) of group `g`. */
  @inline
  static actSize(g: i32): i32 {
    return Layout.field(g, G_ACT_SIZE);
  }
  /** Global index of group `g`'s first slot (0 for group 0). */
  @inline
  static slotOffset(g: i32): i32 {
    return g == 0 ? 0 : Layout.field(g, G_SLOT_OFFSET);
  }
  /** `f32` observation rows of group `g`. */
  @inline
  static obs(g: i32): usize {
    return <usize> Layout.field(g, G_OBS_PTR);
  }
  /** `f32` final observation rows of group `g`. */
  @inline
  static finalObs(g: i32): usize {
    return <usize> Layout.field(g, G_FINAL_OBS_PTR);
  }
  /** `f32` action rows of group `g`. */
  @inline
  static act(g: i32): usize {
    return <usize> Layout.field(g, G_ACT_PTR);
  }
}

/**
 * Starts a new layout for `numEnvs` envs, forgetting any previous one. Called first by an
 * entry's `init`.
 * @returns E_OK, or E_BAD_NUM_ENVS
 */
export function layoutBegin(numEnvs: i32): i32 {
  layoutOk = false;
  envCount = 0;
  slotCount = 0;
  groupCount = 0;
  errSlot = -1;
  errValue = 0;
  if (numEnvs < 1 || numEnvs > MAX_ENVS) return E_BAD_NUM_ENVS;
  envCount = numEnvs;
  layoutTop = (<u64> __heap_base + 15) & ~(<u64> 15);
  return E_OK;
}

/**
 * Reserves `bytes` bytes, 16-byte aligned, in the layout being built. Called by an entry's
 * `init` for its per-env state arrays; the memory is zeroed by {@link layoutCommit}.
 * @returns the address (valid once {@link layoutCommit} returned E_OK)
 */
export function layoutAlloc(bytes: u64): usize {
  const at = layoutTop;
  layoutTop = (at + bytes + 15) & ~(<u64> 15);
  // Addresses past 4 GiB make layoutCommit fail; the truncation here is then harmless.
  return <usize> at;
}

/**
 * Declares the next slot group (in slot order) and reserves its obs, finalObs and act rows.
 * Called by an entry's `init` after {@link layoutBegin}.
 * @returns the group index, or -1 when there are more than MAX_GROUPS groups
 */
export function layoutGroup(slotsPerEnv: i32, obsSize: i32, actSize: i32): i32 {
  if (groupCount >= MAX_GROUPS) return -1;
  const g = groupCount++;
  const rows = <u64> envCount * <u64> slotsPerEnv;
  Layout.setField(g, G_SLOTS, slotsPerEnv);
  Layout.setField(g, G_OBS_SIZE, obsSize);
  Layout.setField(g, G_ACT_SIZE, actSize);
  Layout.setField(g, G_SLOT_OFFSET, slotCount);
  Layout.setField(g, G_OBS_PTR, <i32> layoutAlloc(rows * <u64> obsSize * 4));
  Layout.setField(g, G_FINAL_OBS_PTR, <i32> layoutAlloc(rows * <u64> obsSize * 4));
  Layout.setField(g, G_ACT_PTR, <i32> layoutAlloc(rows * <u64> actSize * 4));
  slotCount += <i32> rows;
  return g;
}

/**
 * Reserves the shared buffers (rew, flags, agentSeq, envDone, envTruncated, stepMask), grows
 * the memory to hold everything, zeroes it and sets every stepMask entry to 1. Called last by
 * an entry's `init`; the memory does not grow after it.
 * @returns E_OK, or E_OUT_OF_MEMORY
 */
export function layoutCommit(): i32 {
  const n = <u64> envCount;
  const s = <u64> slotCount;
  rew = layoutAlloc(s * 4);
  flags = layoutAlloc(s);
  agentSeq = layoutAlloc(s * 4);
  envDone = layoutAlloc(n);
  envTruncated = layoutAlloc(n);
  stepMask = layoutAlloc(n);
  // Stay below 4 GiB (the wasm32 limit) with a page to spare.
  if (layoutTop > 0xffff0000) return E_OUT_OF_MEMORY;
  const needPages = <i32> ((layoutTop + 0xffff) >> 16);
  const havePages = memory.size();
  if (needPages > havePages && memory.grow(needPages - havePages) < 0) return E_OUT_OF_MEMORY;
  const base = (<usize> __heap_base + 15) & ~(<usize> 15);
  memory.fill(base, 0, <usize> layoutTop - base);
  memory.fill(stepMask, 1, <usize> envCount);
  layoutOk = true;
  return E_OK;
}

/**
 * Records the first invalid action found by `step`, for `errorSlot`/`errorValue`.
 * @returns E_BAD_ACTION
 */
export function setActionError(slot: i32, value: f64): i32 {
  errSlot = slot;
  errValue = value;
  return E_BAD_ACTION;
}

/** Clears the recorded action error; called at the start of each `step`. */
export function clearError(): void {
  errSlot = -1;
  errValue = 0;
}

// ---- PCG32, one stream per env, reference-exact (pcg32_srandom_r / pcg32_random_r). ----

const PCG_MUL: u64 = 6364136223846793005;
let rngBase: usize = 0;

/**
 * PCG32 (XSH-RR 64/32) streams stored in linear memory, 16 bytes per env: the 64-bit state
 * then the 64-bit increment. Identical to `Pcg32` of src/rng.ts for the same (seed, stream).
 */
export class Pcg32 {
  /** Reserves the streams of `n` envs in the layout being built; call before layoutCommit. */
  static alloc(n: i32): void {
    rngBase = layoutAlloc(<u64> n << 4);
  }
  /** Address of env `env`'s stream. */
  @inline
  static at(env: i32): usize {
    return rngBase + ((<usize> env) << 4);
  }
  /** Seeds the stream at `p` as `pcg32_srandom_r(seed, stream)`. */
  static seed(p: usize, seed: u64, stream: u64): void {
    store<u64>(p, 0);
    store<u64>(p, (stream << 1) | 1, 8);
    Pcg32.next(p);
    store<u64>(p, load<u64>(p) + seed);
    Pcg32.next(p);
  }
  /** The output function of PCG32 XSH-RR for a state `old`. */
  @inline
  static output(old: u64): u32 {
    const xorshifted = <u32> (((old >> 18) ^ old) >> 27);
    return rotr<u32>(xorshifted, <u32> (old >> 59));
  }
  /** Next unsigned 32-bit number of the stream at `p`. */
  @inline
  static next(p: usize): u32 {
    const old = load<u64>(p);
    store<u64>(p, old * PCG_MUL + load<u64>(p, 8));
    return Pcg32.output(old);
  }
  /**
   * Unbiased integer in `[0, n)` by rejection: draws until `r >= (2^32 - n) % n`, returns
   * `r % n` (the rule of `Pcg32.nextInt` in src/rng.ts). Folds to one draw for powers of 2.
   */
  @inline
  static nextInt(p: usize, n: u32): u32 {
    const threshold: u32 = (<u32> 0 - n) % n;
    let r = Pcg32.next(p);
    while (r < threshold) r = Pcg32.next(p);
    return r % n;
  }
  /**
   * A uniform double in `[0, 1)` with 53 random bits from two draws (numpy's construction; the
   * rule of `Pcg32.nextDouble` in src/rng.ts).
   */
  @inline
  static nextDouble(p: usize): f64 {
    const a = Pcg32.next(p) >>> 5;
    const b = Pcg32.next(p) >>> 6;
    return (<f64> a * 67108864.0 + <f64> b) / 9007199254740992.0;
  }
}
