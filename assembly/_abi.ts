/**
 * The numbers-only ABI every coop env module exports (read by the generic loader in
 * src/env/wasm.ts). An env module re-exports all of it with one line, `export * from "./_abi"`,
 * and binds its env class with `Kit.bind<MyEnv>()` (see `_kit.ts`); this file exports functions
 * only, so every exported global of an env module is one of the env's facts (see
 * scripts/build.ts).
 */

import { ABI_VERSION, Layout } from "./_common";
import { Kit } from "./_kit";

/** ABI version; the host calls it first, right after instantiating, and refuses a mismatch. */
export function abiVersion(): i32 {
  return ABI_VERSION;
}

/**
 * Allocates and seeds `numEnvs` envs: the host loader calls it once, right after checking
 * `abiVersion`, then builds its views from the pointer getters. Env `i`'s stream is seeded as
 * `pcg32_srandom(seed, i)` with `seed = seedHi * 2^32 + seedLo`. The envs need a `reset` before
 * the first `step`. Memory grows here only.
 * @returns E_OK, E_BAD_NUM_ENVS, E_OUT_OF_MEMORY or E_LAYOUT
 */
export function init(numEnvs: i32, seedLo: u32, seedHi: u32): i32 {
  return Kit.runInit(numEnvs, seedLo, seedHi);
}

/**
 * Resets every env (its first agents SPAWNED|ACTIVE|ALIVE, every other slot empty, rewards and
 * episode flags cleared); the host's `reset(seed?)` calls it. With `reseed = 1` env `i` is first
 * reseeded as `pcg32_srandom(seed, i)`, `seed = seedHi * 2^32 + seedLo`; with `reseed = 0` each
 * stream continues. Does nothing before `init`.
 */
export function reset(seedLo: u32, seedHi: u32, reseed: i32): void {
  Kit.runReset(seedLo, seedHi, reseed);
}

/**
 * Advances every env whose stepMask entry is 1 by one step, reading the action rows of its
 * ACTIVE slots; the host's `step()` calls it once per batch step after writing the actions.
 * All those actions are validated first: on an invalid one nothing changes and the first bad
 * slot and value are left in `errorSlot`/`errorValue`.
 * @returns E_OK, E_NOT_INIT, E_NOT_RESET or E_BAD_ACTION
 */
export function step(): i32 {
  return Kit.runStep();
}

/** Number of slot groups; the host calls it after `init` to build its views. */
export function numGroups(): i32 {
  return Layout.numGroups();
}

/** Slots per env of group `g`; read by the host after `init`. */
export function groupSlotsPerEnv(g: i32): i32 {
  return g >= 0 && g < Layout.numGroups() ? Layout.slots(g) : 0;
}

/** Observation row width (flat size, f32s) of group `g`; read by the host after `init`. */
export function groupObsSize(g: i32): i32 {
  return g >= 0 && g < Layout.numGroups() ? Layout.obsSize(g) : 0;
}

/** Action row width (packed size, f32s) of group `g`; read by the host after `init`. */
export function groupActSize(g: i32): i32 {
  return g >= 0 && g < Layout.numGroups() ? Layout.actSize(g) : 0;
}

/** Global index of group `g`'s first slot; read by the host after `init`. */
export function groupSlotOffset(g: i32): i32 {
  return g >= 0 && g < Layout.numGroups() ? Layout.slotOffset(g) : 0;
}

/** Address of group `g`'s `f32` observation rows; the host views it after `init`. */
export function groupObsPtr(g: i32): usize {
  return g >= 0 && g < Layout.numGroups() ? Layout.obs(g) : 0;
}

/** Address of group `g`'s `f32` final-observation rows; the host views it after `init`. */
export function groupFinalObsPtr(g: i32): usize {
  return g >= 0 && g < Layout.numGroups() ? Layout.finalObs(g) : 0;
}

/** Address of group `g`'s `f32` action rows (written by the host before each `step`). */
export function groupActPtr(g: i32): usize {
  return g >= 0 && g < Layout.numGroups() ? Layout.act(g) : 0;
}

/** Number of envs of the last successful `init` (0 before); read by the host after `init`. */
export function numEnvs(): i32 {
  return Layout.ready() ? Layout.numEnvs() : 0;
}

/** Total number of slots over all groups; read by the host after `init`. */
export function numSlots(): i32 {
  return Layout.ready() ? Layout.numSlots() : 0;
}

/** Address of the `f32[S]` rewards; the host views it after `init`. */
export function rewPtr(): usize {
  return Layout.rew();
}

/** Address of the `u8[S]` slot flags; the host views it after `init`. */
export function flagsPtr(): usize {
  return Layout.flags();
}

/** Address of the `u8[N]` episode-ended flags; the host views it after `init`. */
export function envDonePtr(): usize {
  return Layout.envDone();
}

/** Address of the `u8[N]` episode-truncated flags; the host views it after `init`. */
export function envTruncatedPtr(): usize {
  return Layout.envTruncated();
}

/** Address of the `u8[N]` step mask (1 after `init`, written by the host); viewed after `init`. */
export function stepMaskPtr(): usize {
  return Layout.stepMask();
}

/**
 * Address of the `i32[S]` agent sequence numbers (the `n` of an id like `low_level_{n}`); the
 * host views it after `init` and reads it in `agentId(slot)`.
 */
export function agentSeqPtr(): usize {
  return Layout.agentSeq();
}

/** Global slot of the first invalid action of the last failed `step` (-1 when none). */
export function errorSlot(): i32 {
  return Layout.errorSlot();
}

/** The invalid value itself (NaN included) of the last failed `step`. */
export function errorValue(): f64 {
  return Layout.errorValue();
}

/**
 * Sets the runtime episode limit (RLHive's `max_steps_per_episode`): an episode still running
 * after `n` steps of its env is truncated at that step, its agents TRUNCATED with their final
 * observations; 0 removes it. Steps are counted while a limit is set, from each episode's reset
 * or from this call (which restarts every count): set it before the first reset.
 */
export function setEpisodeLimit(n: i32): void {
  Kit.setEpisodeLimit(n);
}

/** The runtime episode limit (0: none). */
export function episodeLimit(): i32 {
  return Kit.episodeLimit();
}
