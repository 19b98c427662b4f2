/**
 * The env kit: the batched slot protocol of src/env/batched.ts, written once for every
 * AssemblyScript env (PufferLib's `env_binding.h` in spirit: the kit does the buffers, the
 * batching and the protocol, the env only its game).
 *
 * An env module is its facts (exported constants), its per-env state in linear memory, a hooks
 * class and two lines:
 *
 * ```text
 * export * from "./_abi"; // the ABI exports: init, reset, step, the pointer getters
 * class MyEnv extends KitEnv<MyEnv> { ...hooks... }
 * Kit.bind<MyEnv>(); // init/reset/step now run the kit's drivers for MyEnv
 * ```
 *
 * The hooks class is never instantiated: the kit calls its methods on a null reference, so
 * hooks use neither `this`'s fields nor virtual methods (per-env state lives in memory reserved
 * with {@link Kit.alloc}; `this.reward(...)` etc. are inlined helpers of {@link KitEnv}). Every
 * driver is a generic function monomorphised for the env class, so hooks and helpers are direct
 * calls that Binaryen inlines and the env's shape (groups, slots, row widths) folds to
 * constants; the only indirect call is the one per batch `init`/`reset`/`step` from `_abi.ts`.
 *
 * Hooks (`i` an env, `g` a slot group, `j` a slot of group `g` in env `i`):
 * - shape, compile-time constants: `obsSize(g)` (f32s per observation row, required),
 *   `actions(g)` (every number of an action row must be an integer in `[0, actions(g))`: the
 *   packing of Discrete and MultiDiscrete; required unless `legal` checks every number; 0 for
 *   a group of real numbers bounded by `actionLow(g)`/`actionHigh(g)`, below), optional
 *   `groups()` (default 1), `slots(g)` (slots per env, default 1), `actSize(g)` (f32s per
 *   action row, default 1), `fixedAgents()` and `unrolled()` (see below, default false);
 * - optional `actionLow(g)`, `actionHigh(g)` (f32, together): for a group whose `actions(g)`
 *   is 0, every number of an action row must lie in `[actionLow(g), actionHigh(g)]` (NaN
 *   refused): the packing of a Box with the same bounds for every element;
 * - `layout(numEnvs)`: reserve the per-env state with {@link Kit.alloc}, build lookup tables;
 *   called by `init` before the memory is committed and zeroed;
 * - `reset(i)`: start a new episode of env `i` (draw from `this.rng(i)`) and spawn its first
 *   agents with `this.spawn` (every slot starts empty);
 * - `step(i)`: read the actions of env `i`'s ACTIVE slots (`this.action`, `this.act`), advance
 *   its state, pay rewards (`this.reward`, to waiting agents too), switch turns
 *   (`this.setActive`), end or spawn single agents (`this.endAgent`, `this.spawn`); return
 *   {@link RUNNING}, or {@link TERMINATED}/{@link TRUNCATED} when the whole episode ended (then
 *   spawn nothing at this step: the kit ends every alive agent);
 * - `writeObs(i, g, j, p)`: write the observation of slot `j` of group `g` in env `i`
 *   (`obsSize(g)` f32s) at `p`. Called after every reset and step for every slot of the env,
 *   alive or not (rows of empty slots are never read, so write anything cheap there), and for
 *   the final observation of each agent that ends;
 * - optional `updateObs(i, g, j, p)`: like `writeObs`, for a row that still holds what
 *   `writeObs`/`updateObs` wrote for the same slot at the env's last reset or step (so the env
 *   rewrites only what changed, e.g. skips a map that never moves). With it, the kit calls
 *   `writeObs` for every final observation, for every row after a reset (initial or auto) and
 *   for the row of a slot whose agent spawned at this step, and `updateObs` for every other
 *   row after a step. Rows are the env's: the host never writes them;
 * - optional `legal(i, g, j, p)`: whether the in-bounds action row at `p` of an ACTIVE slot is
 *   allowed in the current state (e.g. a full column in Connect Four); must not change state;
 * - optional episode metrics, `metrics()` (a compile-time constant `K`) with
 *   `writeMetrics(i, p)`: when env `i`'s episode ends (after its agents' final observations,
 *   before the auto-reset), write `K` f32s describing it at `p` (NaN: undefined for this
 *   episode). The kit keeps them in an `f32[N * K]` buffer, NaN until an env's first episode
 *   ends; the env module re-exports `_abi_metrics.ts` so the host can view it (its names are
 *   the descriptor's, see src/env/wasm.ts).
 *
 * Optional `unrolled()` returning true (a compile-time constant, like the shape hooks) makes the
 * kit write out its per-step loops over groups and slots (the first 4 slots of each group, then a
 * loop) instead of looping: fewer instructions per env for small multi-slot layouts (about 20%
 * faster for the chicken yard's 2 x 2 slots), more code. Behaviour is the same either way.
 *
 * `fixedAgents()` returning true declares the PufferLib model: every slot holds one agent for
 * the whole episode and acts at every step (no turns, no early ends, no spawns). The kit then
 * spawns every slot itself at reset (sequence number 0), reads no flags on the hot path and
 * refuses to compile `spawn`, `setActive` and `endAgent`.
 *
 * What the kit does in `step`: validates the action row of every ACTIVE slot of every stepped
 * env before any state changes (bounds, then `legal`; the first bad one in slot order goes to
 * `errorSlot`/`errorValue` and `step` returns E_BAD_ACTION); holds masked envs (`stepMask` 0:
 * flags keep only ACTIVE|ALIVE, reward 0, action not read, state untouched); zeroes rewards and
 * clears SPAWNED/TERMINATED/TRUNCATED; calls `step(i)`; on an episode end flags every still
 * ALIVE slot TERMINATED or TRUNCATED with its final observation in `finalObs`, sets `envDone`
 * (and `envTruncated`) and resets the env at once (auto-reset: the new agents are
 * SPAWNED|ACTIVE|ALIVE); finally writes every slot's observation. `reset` reseeds when asked,
 * empties every slot, and calls `reset(i)` and `writeObs`. `init` lays out the groups from the
 * shape hooks, calls `layout`, allocates the PCG32 streams and commits the memory.
 *
 * Note: this file must stay valid TypeScript syntax for `deno fmt`/`deno lint`, which drop
 * decorators on top-level functions; `@inline` is therefore used on methods only.
 */

import {
  ACTIVE,
  ALIVE,
  clearError,
  E_BAD_ACTION,
  E_LAYOUT,
  E_NOT_INIT,
  E_NOT_RESET,
  E_OK,
  Layout,
  layoutAlloc,
  layoutBegin,
  layoutCommit,
  layoutGroup,
  MAX_GROUPS,
  Pcg32,
  setActionError,
  SPAWNED,
  TRUNCATED,
} from "./_common";

export { ACTIVE, ALIVE, Pcg32, SPAWNED, TERMINATED, TRUNCATED } from "./_common";

/** Outcome of an env's `step(i)` hook: the episode goes on. */
export const RUNNING: u8 = 0;

const KEEP: u8 = ACTIVE | ALIVE;
const NEW: u8 = SPAWNED | ACTIVE | ALIVE;

let wasReset: bool = false;

// The episode-metrics buffer (envs with a `writeMetrics` hook): f32[numEnvs * metricsCount].
let metricsAt: usize = 0;
let metricsCount: i32 = 0;

// The runtime episode limit (RLHive's max_steps_per_episode): u32[numEnvs] step counters of the
// current episodes, then one u32, the limit (0: none). In linear memory, so state snapshots
// carry it.
let limitAt: usize = 0;

// The drivers of the bound env (set by Kit.bind, in the env module's start function).
let boundInit: (numEnvs: i32, seedLo: u32, seedHi: u32) => i32 = (
  _n: i32,
  _lo: u32,
  _hi: u32,
): i32 => E_LAYOUT;
let boundReset: (seedLo: u32, seedHi: u32, reseed: i32) => void = (
  _lo: u32,
  _hi: u32,
  _reseed: i32,
): void => {};
let boundStep: () => i32 = (): i32 => E_NOT_INIT;

/**
 * Base class of an env's hooks class `E` (declare `class MyEnv extends KitEnv<MyEnv>`): the
 * helpers hooks call as `this.reward(...)`, `this.spawn(...)`, etc. They know `E`'s shape at
 * compile time, so a slot's address folds to a few instructions. `g` is a slot group, `i` an
 * env, `j` a slot of group `g` in env `i`. An env class must not define methods with these
 * names (AssemblyScript would then dispatch them virtually).
 */
export class KitEnv<E> {
  /** Address of env `i`'s PCG32 stream, for the `Pcg32` methods. */
  @inline
  rng(i: i32): usize {
    return Pcg32.at(i);
  }

  /** Global slot index of slot `j` of group `g` in env `i`. */
  @inline
  slot(g: i32, i: i32, j: i32): i32 {
    return Layout.slotOffset(g) + i * Kit.slotsOf<E>(g) + j;
  }

  /** Address of the action row of slot `j` of group `g` in env `i` (`actSize(g)` f32s). */
  @inline
  act(g: i32, i: i32, j: i32): usize {
    const row = <usize> (i * Kit.slotsOf<E>(g) + j);
    return Layout.act(g) + ((row * <usize> Kit.actSizeOf<E>(g)) << 2);
  }

  /**
   * The first number of the action row of slot `j` of group `g` in env `i`, as an integer.
   * Only for groups whose actions the kit bounds (`actions(g)`): exact for the validated
   * integers in [0, 2^23), and cheaper than a saturating conversion (the f32 bits of
   * `a + 2^23` hold `a` in their low mantissa bits).
   */
  @inline
  action(g: i32, i: i32, j: i32): i32 {
    return reinterpret<i32>(load<f32>(this.act(g, i, j)) + <f32> 8388608) - 0x4b000000;
  }

  /** Adds `r` to the reward of the agent in slot `j` of group `g` in env `i` (acting or not). */
  @inline
  reward(g: i32, i: i32, j: i32, r: f32): void {
    const p = Layout.rew() + ((<usize> this.slot(g, i, j)) << 2);
    store<f32>(p, load<f32>(p) + r);
  }

  /**
   * Puts a new agent with sequence number `seq` (the `n` of an id like `low_level_{n}`) in the
   * free slot `j` of group `g` in env `i`: SPAWNED|ACTIVE|ALIVE (a new agent acts first). From
   * `reset`, or from `step` when the episode goes on.
   */
  @inline
  spawn(g: i32, i: i32, j: i32, seq: i32): void {
    if (Kit.fixed<E>()) ERROR("spawn: an env with fixedAgents() is spawned by the kit");
    const s = <usize> this.slot(g, i, j);
    const f = Layout.flags() + s;
    store<u8>(f, load<u8>(f) | NEW);
    store<i32>(Layout.agentSeq() + (s << 2), seq);
  }

  /** Makes the alive agent in slot `j` of group `g` in env `i` act next (`on`) or wait. */
  @inline
  setActive(g: i32, i: i32, j: i32, on: bool): void {
    if (Kit.fixed<E>()) ERROR("setActive: every agent of an env with fixedAgents() acts");
    const f = Layout.flags() + <usize> this.slot(g, i, j);
    const v = load<u8>(f);
    store<u8>(f, on ? v | ACTIVE : v & ~ACTIVE);
  }

  /** Whether an agent occupies slot `j` of group `g` in env `i`. */
  @inline
  alive(g: i32, i: i32, j: i32): bool {
    return (load<u8>(Layout.flags() + <usize> this.slot(g, i, j)) & ALIVE) != 0;
  }

  /** Whether the agent in slot `j` of group `g` in env `i` acts at this step. */
  @inline
  active(g: i32, i: i32, j: i32): bool {
    return (load<u8>(Layout.flags() + <usize> this.slot(g, i, j)) & ACTIVE) != 0;
  }

  /** The sequence number the agent in slot `j` of group `g` in env `i` was spawned with. */
  @inline
  seq(g: i32, i: i32, j: i32): i32 {
    return load<i32>(Layout.agentSeq() + ((<usize> this.slot(g, i, j)) << 2));
  }

  /**
   * Ends the alive agent in slot `j` of group `g` in env `i` before its episode ends: writes
   * its final observation (`writeObs` of the state now) to `finalObs`, flags the slot `how`
   * (TERMINATED or TRUNCATED) and frees it (no longer ALIVE or ACTIVE). Call it from `step`
   * after updating the state the agent sees; the slot may take a new agent (`spawn`) at this
   * step or later.
   */
  @inline
  endAgent(g: i32, i: i32, j: i32, how: u8): void {
    if (Kit.fixed<E>()) ERROR("endAgent: the agents of an env with fixedAgents() never end early");
    const e = changetype<E>(0);
    const row = <usize> (i * Kit.slotsOf<E>(g) + j);
    e.writeObs(i, g, j, Layout.finalObs(g) + ((row * <usize> e.obsSize(g)) << 2));
    const f = Layout.flags() + <usize> this.slot(g, i, j);
    store<u8>(f, (load<u8>(f) & ~KEEP) | how);
  }
}

/** The env kit: binding, the protocol drivers and the shape of an env (see the module doc). */
export class Kit {
  // ---- Binding ----

  /**
   * Binds env class `E` as this module's env: `init`, `reset` and `step` of `_abi.ts` then run
   * the kit's drivers monomorphised for `E`. Called once, at the top level of the env module.
   */
  static bind<E>(): void {
    boundInit = (numEnvs: i32, seedLo: u32, seedHi: u32): i32 =>
      Kit.init<E>(numEnvs, seedLo, seedHi);
    boundReset = (seedLo: u32, seedHi: u32, reseed: i32): void =>
      Kit.reset<E>(seedLo, seedHi, reseed);
    boundStep = (): i32 => Kit.step<E>();
  }

  /** Runs the bound env's `init` driver (for `_abi.ts`); E_LAYOUT when no env is bound. */
  static runInit(numEnvs: i32, seedLo: u32, seedHi: u32): i32 {
    return boundInit(numEnvs, seedLo, seedHi);
  }

  /** Runs the bound env's `reset` driver (for `_abi.ts`). */
  static runReset(seedLo: u32, seedHi: u32, reseed: i32): void {
    boundReset(seedLo, seedHi, reseed);
  }

  /** Runs the bound env's `step` driver (for `_abi.ts`). */
  static runStep(): i32 {
    return boundStep();
  }

  // ---- For the `layout` hook ----

  /**
   * Reserves `bytes` bytes (16-byte aligned, zeroed by `init`) of per-env state; call it from
   * the `layout` hook.
   * @returns the address
   */
  @inline
  static alloc(bytes: u64): usize {
    return layoutAlloc(bytes);
  }

  /** Number of envs of this instance. */
  @inline
  static numEnvs(): i32 {
    return Layout.numEnvs();
  }

  // ---- Episode limit (for `_abi.ts`) ----

  /**
   * Sets the runtime episode limit: an episode still running after `n` steps of its env is
   * truncated at that step (its agents TRUNCATED with their final observations, `envTruncated`
   * set, auto-reset), on top of the env's own rules; 0 removes the limit. Steps are counted
   * while a limit is set, from the episode's reset or from this call (every count restarts
   * here), so set it before the first reset.
   */
  static setEpisodeLimit(n: i32): void {
    if (!Layout.ready()) return;
    const envs = <usize> Layout.numEnvs();
    for (let i: usize = 0; i < envs; i++) store<u32>(limitAt + (i << 2), 0);
    store<u32>(limitAt + (envs << 2), n > 0 ? <u32> n : 0);
  }

  /** The runtime episode limit (0: none). */
  static episodeLimit(): i32 {
    return Layout.ready() ? <i32> load<u32>(limitAt + ((<usize> Layout.numEnvs()) << 2)) : 0;
  }

  // ---- Episode metrics (for `_abi_metrics.ts`) ----

  /** Address of the `f32[N * K]` episode metrics (0 before `init` or without metrics). */
  static metricsPtr(): usize {
    return Layout.ready() ? metricsAt : 0;
  }

  /** Number `K` of episode metrics per env (0 before `init` or without metrics). */
  static numMetrics(): i32 {
    return Layout.ready() ? metricsCount : 0;
  }

  // ---- Shape of env E (compile-time constants after inlining) ----

  /** Number of slot groups of env `E` (its `groups()` hook, default 1). */
  @inline
  static groupsOf<E>(): i32 {
    const e = changetype<E>(0);
    if (isDefined(e.groups)) return e.groups();
    return 1;
  }

  /** Slots per env of group `g` of env `E` (its `slots(g)` hook, default 1). */
  @inline
  static slotsOf<E>(g: i32): i32 {
    const e = changetype<E>(0);
    if (isDefined(e.slots)) return e.slots(g);
    return 1;
  }

  /** Action row width of group `g` of env `E` (its `actSize(g)` hook, default 1). */
  @inline
  static actSizeOf<E>(g: i32): i32 {
    const e = changetype<E>(0);
    if (isDefined(e.actSize)) return e.actSize(g);
    return 1;
  }

  /** Whether env `E` declared fixed agents (its `fixedAgents()` hook, default false). */
  @inline
  static fixed<E>(): bool {
    const e = changetype<E>(0);
    if (isDefined(e.fixedAgents)) return e.fixedAgents();
    return false;
  }

  /** Whether env `E` asked for written-out slot loops (its `unrolled()` hook, default false). */
  @inline
  static unrolledOf<E>(): bool {
    const e = changetype<E>(0);
    if (isDefined(e.unrolled)) return e.unrolled();
    return false;
  }

  // ---- Drivers ----

  /** `init` of env `E`: lays out the groups and the env's state, seeds the streams. */
  static init<E>(numEnvs: i32, seedLo: u32, seedHi: u32): i32 {
    const e = changetype<E>(0);
    if (!isDefined(e.obsSize)) ERROR("the env has no obsSize(g) hook");
    if (!isDefined(e.actions) && !isDefined(e.legal)) {
      ERROR("the env has neither an actions(g) nor a legal(i, g, j, p) hook");
    }
    if (!isDefined(e.layout)) ERROR("the env has no layout(numEnvs) hook");
    if (!isDefined(e.reset)) ERROR("the env has no reset(i) hook");
    if (!isDefined(e.step)) ERROR("the env has no step(i) hook");
    if (!isDefined(e.writeObs)) ERROR("the env has no writeObs(i, g, j, p) hook");
    if (isDefined(e.actionLow) != isDefined(e.actionHigh)) {
      ERROR("the env needs both actionLow(g) and actionHigh(g), or neither");
    }
    if (isDefined(e.writeMetrics) != isDefined(e.metrics)) {
      ERROR("the env needs both metrics() and writeMetrics(i, p), or neither");
    }
    wasReset = false;
    let rc = layoutBegin(numEnvs);
    if (rc != E_OK) return rc;
    const groups = Kit.groupsOf<E>();
    if (groups < 1 || groups > MAX_GROUPS) return E_LAYOUT;
    for (let g = 0; g < groups; g++) {
      const k = Kit.slotsOf<E>(g);
      const a = Kit.actSizeOf<E>(g);
      if (k < 1 || a < 1 || e.obsSize(g) < 0) return E_LAYOUT;
      layoutGroup(k, e.obsSize(g), a);
    }
    e.layout(numEnvs);
    if (isDefined(e.writeMetrics)) {
      metricsCount = e.metrics();
      if (metricsCount < 1) return E_LAYOUT;
      metricsAt = layoutAlloc(<u64> numEnvs * <u64> metricsCount * 4);
    }
    limitAt = layoutAlloc(<u64> (numEnvs + 1) * 4);
    Pcg32.alloc(numEnvs);
    rc = layoutCommit();
    if (rc != E_OK) return rc;
    if (isDefined(e.writeMetrics)) {
      const end = metricsAt + ((<usize> numEnvs * <usize> metricsCount) << 2);
      for (let p = metricsAt; p < end; p += 4) store<f32>(p, NaN);
    }
    const seed = (<u64> seedHi << 32) | <u64> seedLo;
    for (let i: i32 = 0; i < numEnvs; i++) Pcg32.seed(Pcg32.at(i), seed, <u64> i);
    return E_OK;
  }

  /** `reset` of env `E`: reseeds when asked, empties every slot, resets every env. */
  static reset<E>(seedLo: u32, seedHi: u32, reseed: i32): void {
    if (!Layout.ready()) return;
    const e = changetype<E>(0);
    const n = Layout.numEnvs();
    const seed = (<u64> seedHi << 32) | <u64> seedLo;
    const done = Layout.envDone();
    const trunc = Layout.envTruncated();
    clearError();
    for (let i: i32 = 0; i < n; i++) {
      if (reseed != 0) Pcg32.seed(Pcg32.at(i), seed, <u64> i);
      Kit.clearSlots<E>(i, 0);
      store<u8>(done + <usize> i, 0);
      store<u8>(trunc + <usize> i, 0);
      store<u32>(limitAt + ((<usize> i) << 2), 0);
      e.reset(i);
      if (Kit.fixed<E>()) Kit.spawnAll<E>(i);
      Kit.writeAllObs<E>(i);
    }
    wasReset = true;
  }

  /** `step` of env `E`: validate, then step every unmasked env (see the module doc). */
  static step<E>(): i32 {
    if (!Layout.ready()) return E_NOT_INIT;
    if (!wasReset) return E_NOT_RESET;
    clearError();
    if (!Kit.validate<E>()) return E_BAD_ACTION;
    const limit = load<u32>(limitAt + ((<usize> Layout.numEnvs()) << 2));
    // Two instances of the loop: the one without a limit has no counting code at all.
    if (limit == 0) Kit.stepAll<E, u8>(0);
    else Kit.stepAll<E, u16>(limit);
    return E_OK;
  }

  /**
   * Steps every unmasked env; `L` is `u16` when a runtime episode limit is set (counting and
   * truncating compiled in), `u8` when not (a compile-time choice, no per-env branch).
   */
  @inline
  private static stepAll<E, L>(limit: u32): void {
    const e = changetype<E>(0);
    const n = Layout.numEnvs();
    const mask = Layout.stepMask();
    const done = Layout.envDone();
    const trunc = Layout.envTruncated();
    for (let i: i32 = 0; i < n; i++) {
      const ui = <usize> i;
      Kit.clearSlots<E>(i, KEEP);
      if (load<u8>(mask + ui) == 0) {
        store<u8>(done + ui, 0);
        store<u8>(trunc + ui, 0);
        continue;
      }
      let outcome = e.step(i);
      if (sizeof<L>() == 2) {
        const count = limitAt + (ui << 2);
        const steps = load<u32>(count) + 1;
        if (outcome == RUNNING && steps >= limit) outcome = TRUNCATED;
        store<u32>(count, outcome != RUNNING ? 0 : steps);
      }
      if (outcome != RUNNING) {
        Kit.endAll<E>(i, outcome);
        if (isDefined(e.writeMetrics)) {
          e.writeMetrics(i, metricsAt + ((<usize> i * <usize> e.metrics()) << 2));
        }
        store<u8>(done + ui, 1);
        store<u8>(trunc + ui, outcome == TRUNCATED ? 1 : 0);
        e.reset(i);
        if (Kit.fixed<E>()) Kit.spawnAll<E>(i);
        if (isDefined(e.updateObs)) Kit.writeAllObs<E>(i);
      } else {
        store<u8>(done + ui, 0);
        store<u8>(trunc + ui, 0);
        if (isDefined(e.updateObs)) Kit.updateAllObs<E>(i);
      }
      if (!isDefined(e.updateObs)) Kit.writeAllObs<E>(i);
    }
  }

  // ---- Protocol pieces (inlined into the drivers) ----

  /**
   * Whether every number of the action row at `p` is an integer in `[0, actions(g))` (-0
   * included, NaN and infinities not), branch-free.
   */
  @inline
  private static inBounds<E>(g: i32, p: usize): bool {
    const e = changetype<E>(0);
    if (!isDefined(e.actions)) return true;
    const size = Kit.actSizeOf<E>(g);
    const n = e.actions(g);
    if (isDefined(e.actionLow)) {
      if (n == 0) {
        const lo = e.actionLow(g);
        const hi = e.actionHigh(g);
        let inside = true;
        let m = 0;
        do {
          const a = load<f32>(p + ((<usize> m) << 2));
          inside &= (a >= lo) & (a <= hi);
        } while (size > 1 && ++m < size);
        return inside;
      }
    }
    let ok = true;
    let k = 0;
    do {
      const a = load<f32>(p + ((<usize> k) << 2));
      if (n == 2) ok &= (a == 0) | (a == 1);
      else ok &= (a >= 0) & (a < <f32> n) & (Mathf.floor(a) == a);
    } while (size > 1 && ++k < size);
    return ok;
  }

  /** Index of the first out-of-bounds number of the action row at `p`, or -1. */
  private static firstOutOfBounds<E>(g: i32, p: usize): i32 {
    const e = changetype<E>(0);
    if (!isDefined(e.actions)) return -1;
    const size = Kit.actSizeOf<E>(g);
    const n = e.actions(g);
    if (isDefined(e.actionLow)) {
      if (n == 0) {
        for (let m = 0; m < size; m++) {
          const a = load<f32>(p + ((<usize> m) << 2));
          if (!((a >= e.actionLow(g)) & (a <= e.actionHigh(g)))) return m;
        }
        return -1;
      }
    }
    for (let k = 0; k < size; k++) {
      const a = load<f32>(p + ((<usize> k) << 2));
      if (!((a >= 0) & (a < <f32> n) & (Mathf.floor(a) == a))) return k;
    }
    return -1;
  }

  /** Whether the action row at `p` of slot `j` of group `g` in env `i` is valid. */
  @inline
  private static valid<E>(i: i32, g: i32, j: i32, p: usize): bool {
    const e = changetype<E>(0);
    if (isDefined(e.legal)) return Kit.inBounds<E>(g, p) && e.legal(i, g, j, p);
    return Kit.inBounds<E>(g, p);
  }

  /**
   * Checks the action rows of every ACTIVE slot of every unmasked env, before anything
   * changes (branch-free unless the env has a `legal` hook); records the first bad one.
   * @returns whether all are valid
   */
  @inline
  private static validate<E>(): bool {
    if (Kit.unrolledOf<E>()) {
      const groups = Kit.groupsOf<E>();
      let bad = Kit.validGroup<E>(0);
      if (groups > 1) bad |= Kit.validGroup<E>(1);
      if (groups > 2) bad |= Kit.validGroup<E>(2);
      if (groups > 3) bad |= Kit.validGroup<E>(3);
      if (groups > 4) bad |= Kit.validGroup<E>(4);
      if (groups > 5) bad |= Kit.validGroup<E>(5);
      if (groups > 6) bad |= Kit.validGroup<E>(6);
      if (groups > 7) bad |= Kit.validGroup<E>(7);
      if (bad == 0) return true;
      Kit.reportFirstBad<E>();
      return false;
    }
    const e = changetype<E>(0);
    const n = Layout.numEnvs();
    const mask = Layout.stepMask();
    const flags = Layout.flags();
    const groups = Kit.groupsOf<E>();
    let bad: i32 = 0;
    let g = 0;
    do {
      const k = Kit.slotsOf<E>(g);
      const rowBytes = <usize> (Kit.actSizeOf<E>(g) << 2);
      const act = Layout.act(g);
      const fl = flags + <usize> Layout.slotOffset(g);
      for (let i: i32 = 0; i < n; i++) {
        const m = <i32> load<u8>(mask + <usize> i);
        let j = 0;
        do {
          const r = <usize> (i * k + j);
          const on = Kit.fixed<E>() ? m : m & <i32> load<u8>(fl + r) & <i32> ACTIVE;
          const p = act + r * rowBytes;
          if (isDefined(e.legal)) {
            if (on != 0 && !Kit.valid<E>(i, g, j, p)) bad = 1;
          } else {
            bad |= on & <i32> !Kit.inBounds<E>(g, p);
          }
        } while (k > 1 && ++j < k);
      }
    } while (groups > 1 && ++g < groups);
    if (bad == 0) return true;
    Kit.reportFirstBad<E>();
    return false;
  }

  /** `validate` of group `g` with its slot loop written out (`unrolled()` envs): 1 when bad. */
  @inline
  private static validGroup<E>(g: i32): i32 {
    const n = Layout.numEnvs();
    const mask = Layout.stepMask();
    const k = Kit.slotsOf<E>(g);
    let bad: i32 = 0;
    for (let i: i32 = 0; i < n; i++) {
      const m = <i32> load<u8>(mask + <usize> i);
      bad |= Kit.validSlot<E>(i, g, 0, m);
      if (k > 1) bad |= Kit.validSlot<E>(i, g, 1, m);
      if (k > 2) bad |= Kit.validSlot<E>(i, g, 2, m);
      if (k > 3) bad |= Kit.validSlot<E>(i, g, 3, m);
      for (let j = 4; j < k; j++) bad |= Kit.validSlot<E>(i, g, j, m);
    }
    return bad;
  }

  /** 1 when slot `j` of group `g` in env `i` acts (mask `m`) with an invalid action row. */
  @inline
  private static validSlot<E>(i: i32, g: i32, j: i32, m: i32): i32 {
    const e = changetype<E>(0);
    const r = <usize> (i * Kit.slotsOf<E>(g) + j);
    const f = Layout.flags() + <usize> Layout.slotOffset(g) + r;
    const on = Kit.fixed<E>() ? m : m & <i32> load<u8>(f) & <i32> ACTIVE;
    const p = Layout.act(g) + r * <usize> (Kit.actSizeOf<E>(g) << 2);
    if (isDefined(e.legal)) return <i32> (on != 0 && !Kit.valid<E>(i, g, j, p));
    return on & <i32> !Kit.inBounds<E>(g, p);
  }

  /** Finds the first invalid action in slot order and records it (the slow path). */
  private static reportFirstBad<E>(): void {
    const n = Layout.numEnvs();
    const mask = Layout.stepMask();
    const flags = Layout.flags();
    const groups = Kit.groupsOf<E>();
    for (let g = 0; g < groups; g++) {
      const k = Kit.slotsOf<E>(g);
      const rowBytes = <usize> (Kit.actSizeOf<E>(g) << 2);
      const off = <usize> Layout.slotOffset(g);
      for (let i: i32 = 0; i < n; i++) {
        if (load<u8>(mask + <usize> i) == 0) continue;
        for (let j = 0; j < k; j++) {
          const r = <usize> (i * k + j);
          if (!Kit.fixed<E>() && (load<u8>(flags + off + r) & ACTIVE) == 0) continue;
          const p = Layout.act(g) + r * rowBytes;
          if (Kit.valid<E>(i, g, j, p)) continue;
          const bad = Kit.firstOutOfBounds<E>(g, p);
          setActionError(<i32> (off + r), <f64> load<f32>(p + ((<usize> max(bad, 0)) << 2)));
          return;
        }
      }
    }
  }

  /**
   * Zeroes the rewards of env `i`'s slots and keeps only the flag bits in `keep` (all ones
   * kept for fixed agents, which are always ACTIVE|ALIVE between steps).
   */
  @inline
  private static clearSlots<E>(i: i32, keep: u8): void {
    if (Kit.unrolledOf<E>()) {
      const groups = Kit.groupsOf<E>();
      Kit.clearGroup<E>(i, 0, keep);
      if (groups > 1) Kit.clearGroup<E>(i, 1, keep);
      if (groups > 2) Kit.clearGroup<E>(i, 2, keep);
      if (groups > 3) Kit.clearGroup<E>(i, 3, keep);
      if (groups > 4) Kit.clearGroup<E>(i, 4, keep);
      if (groups > 5) Kit.clearGroup<E>(i, 5, keep);
      if (groups > 6) Kit.clearGroup<E>(i, 6, keep);
      if (groups > 7) Kit.clearGroup<E>(i, 7, keep);
      return;
    }
    const groups = Kit.groupsOf<E>();
    const rew = Layout.rew();
    const flags = Layout.flags();
    let g = 0;
    do {
      const k = Kit.slotsOf<E>(g);
      const s0 = <usize> (Layout.slotOffset(g) + i * k);
      let j = 0;
      do {
        const s = s0 + <usize> j;
        store<f32>(rew + (s << 2), 0);
        const f = flags + s;
        if (keep == 0) store<u8>(f, 0);
        else if (Kit.fixed<E>()) store<u8>(f, keep);
        else store<u8>(f, load<u8>(f) & keep);
      } while (k > 1 && ++j < k);
    } while (groups > 1 && ++g < groups);
  }

  /** `clearSlots` of group `g` with its slot loop written out (`unrolled()` envs). */
  @inline
  private static clearGroup<E>(i: i32, g: i32, keep: u8): void {
    const k = Kit.slotsOf<E>(g);
    Kit.clearSlot<E>(i, g, 0, keep);
    if (k > 1) Kit.clearSlot<E>(i, g, 1, keep);
    if (k > 2) Kit.clearSlot<E>(i, g, 2, keep);
    if (k > 3) Kit.clearSlot<E>(i, g, 3, keep);
    for (let j = 4; j < k; j++) Kit.clearSlot<E>(i, g, j, keep);
  }

  /** Zeroes the reward of slot `j` of group `g` in env `i`, keeps its flag bits in `keep`. */
  @inline
  private static clearSlot<E>(i: i32, g: i32, j: i32, keep: u8): void {
    const s = <usize> (Layout.slotOffset(g) + i * Kit.slotsOf<E>(g) + j);
    store<f32>(Layout.rew() + (s << 2), 0);
    const f = Layout.flags() + s;
    if (keep == 0) store<u8>(f, 0);
    else if (Kit.fixed<E>()) store<u8>(f, keep);
    else store<u8>(f, load<u8>(f) & keep);
  }

  /** Flags every slot of env `i` SPAWNED|ACTIVE|ALIVE with sequence number 0 (fixed agents). */
  @inline
  private static spawnAll<E>(i: i32): void {
    const groups = Kit.groupsOf<E>();
    const flags = Layout.flags();
    const seqs = Layout.agentSeq();
    let g = 0;
    do {
      const k = Kit.slotsOf<E>(g);
      const s0 = <usize> (Layout.slotOffset(g) + i * k);
      let j = 0;
      do {
        const s = s0 + <usize> j;
        store<u8>(flags + s, load<u8>(flags + s) | NEW);
        store<i32>(seqs + (s << 2), 0);
      } while (k > 1 && ++j < k);
    } while (groups > 1 && ++g < groups);
  }

  /** Ends every alive agent of env `i` with `outcome`, writing its final observation. */
  @inline
  private static endAll<E>(i: i32, outcome: u8): void {
    const e = changetype<E>(0);
    const groups = Kit.groupsOf<E>();
    const flags = Layout.flags();
    let g = 0;
    do {
      const k = Kit.slotsOf<E>(g);
      const size = <usize> e.obsSize(g);
      const r0 = <usize> (i * k);
      const fo = Layout.finalObs(g) + ((r0 * size) << 2);
      const f0 = flags + <usize> Layout.slotOffset(g) + r0;
      let j = 0;
      do {
        const f = f0 + <usize> j;
        const v = load<u8>(f);
        if (Kit.fixed<E>() || (v & ALIVE) != 0) {
          e.writeObs(i, g, j, fo + ((<usize> j * size) << 2));
          store<u8>(f, (v & ~KEEP) | outcome);
        }
      } while (k > 1 && ++j < k);
    } while (groups > 1 && ++g < groups);
  }

  /**
   * After a step that did not end env `i`'s episode (envs with an `updateObs` hook): the row
   * of a slot whose agent spawned at this step gets `writeObs`, every other row `updateObs`.
   */
  @inline
  private static updateAllObs<E>(i: i32): void {
    if (Kit.unrolledOf<E>()) {
      const groups = Kit.groupsOf<E>();
      Kit.updateGroup<E>(i, 0);
      if (groups > 1) Kit.updateGroup<E>(i, 1);
      if (groups > 2) Kit.updateGroup<E>(i, 2);
      if (groups > 3) Kit.updateGroup<E>(i, 3);
      if (groups > 4) Kit.updateGroup<E>(i, 4);
      if (groups > 5) Kit.updateGroup<E>(i, 5);
      if (groups > 6) Kit.updateGroup<E>(i, 6);
      if (groups > 7) Kit.updateGroup<E>(i, 7);
      return;
    }
    const e = changetype<E>(0);
    const groups = Kit.groupsOf<E>();
    const flags = Layout.flags();
    let g = 0;
    do {
      const k = Kit.slotsOf<E>(g);
      const size = <usize> e.obsSize(g);
      const row0 = Layout.obs(g) + ((<usize> (i * k) * size) << 2);
      const f0 = flags + <usize> (Layout.slotOffset(g) + i * k);
      let j = 0;
      do {
        const p = row0 + ((<usize> j * size) << 2);
        if (!Kit.fixed<E>() && (load<u8>(f0 + <usize> j) & SPAWNED) != 0) e.writeObs(i, g, j, p);
        else e.updateObs(i, g, j, p);
      } while (k > 1 && ++j < k);
    } while (groups > 1 && ++g < groups);
  }

  /** `updateAllObs` of group `g` with its slot loop written out (`unrolled()` envs). */
  @inline
  private static updateGroup<E>(i: i32, g: i32): void {
    const k = Kit.slotsOf<E>(g);
    Kit.updateSlot<E>(i, g, 0);
    if (k > 1) Kit.updateSlot<E>(i, g, 1);
    if (k > 2) Kit.updateSlot<E>(i, g, 2);
    if (k > 3) Kit.updateSlot<E>(i, g, 3);
    for (let j = 4; j < k; j++) Kit.updateSlot<E>(i, g, j);
  }

  /** `writeObs` (the slot's agent spawned at this step) or `updateObs` for one row. */
  @inline
  private static updateSlot<E>(i: i32, g: i32, j: i32): void {
    const e = changetype<E>(0);
    const r = <usize> (i * Kit.slotsOf<E>(g) + j);
    const p = Layout.obs(g) + ((r * <usize> e.obsSize(g)) << 2);
    const f = Layout.flags() + <usize> Layout.slotOffset(g) + r;
    if (!Kit.fixed<E>() && (load<u8>(f) & SPAWNED) != 0) e.writeObs(i, g, j, p);
    else e.updateObs(i, g, j, p);
  }

  /** Writes the observation row of every slot of env `i`, alive or not. */
  @inline
  private static writeAllObs<E>(i: i32): void {
    const e = changetype<E>(0);
    const groups = Kit.groupsOf<E>();
    let g = 0;
    do {
      const k = Kit.slotsOf<E>(g);
      const size = <usize> e.obsSize(g);
      const row0 = Layout.obs(g) + ((<usize> (i * k) * size) << 2);
      let j = 0;
      do {
        e.writeObs(i, g, j, row0 + ((<usize> j * size) << 2));
      } while (k > 1 && ++j < k);
    } while (groups > 1 && ++g < groups);
  }
}
