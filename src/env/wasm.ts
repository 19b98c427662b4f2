/**
 * The generic loader of coop's AssemblyScript envs: one {@linkcode WasmBatchedEnv} class
 * implements {@linkcode BatchedEnv} over any module that speaks the numbers-only ABI of
 * `assembly/_abi.ts` (version {@linkcode WASM_ABI_VERSION}); envs built on the env kit
 * (`assembly/_kit.ts`, see docs/adding_an_env.md) export it with one line.
 *
 * The module is instantiated with no imports, `init(numEnvs, seedLo, seedHi)` allocates every
 * buffer once, and the env's typed arrays are zero-copy views into the module's memory built
 * from its pointer getters. The memory never grows after `init`, so the views stay valid.
 *
 * Sources: inlined bytes (the generated modules in `src/envs/_generated/`), an already compiled
 * `WebAssembly.Module` (Cloudflare workerd forbids compiling bytes at run time) or a `URL`.
 *
 * @module
 */

import {
  type BatchedEnv,
  type EpisodeMetricsView,
  packState,
  type SlotGroup,
  unpackState,
} from "./batched.ts";
import { packedValid } from "./_rows.ts";
import { formatValue, type Space } from "../spaces.ts";

/** The ABI version this loader speaks; a module reporting another is refused. */
export const WASM_ABI_VERSION = 1;

/** ABI error code: success. */
export const E_OK = 0;
/** ABI error code: `init` got a number of envs outside `[1, WASM_MAX_ENVS]`. */
export const E_BAD_NUM_ENVS = 1;
/** ABI error code: `init` could not grow the memory. */
export const E_OUT_OF_MEMORY = 2;
/** ABI error code: `reset`/`step` before a successful `init`. */
export const E_NOT_INIT = 3;
/** ABI error code: `step` before the first `reset`. */
export const E_NOT_RESET = 4;
/**
 * ABI error code: an ACTIVE slot holds an invalid action (`errorSlot`, `errorValue`): outside
 * the env's bounds, or a member of the action space the env does not allow in its state.
 */
export const E_BAD_ACTION = 5;
/** ABI error code: the env's declared layout is unusable, or no env is bound (a bug in the env). */
export const E_LAYOUT = 6;

/** Largest number of envs one module instance accepts. */
export const WASM_MAX_ENVS = 1 << 22;

/** Describes one slot group of a WASM env: what the numbers in its rows mean. */
export interface WasmGroupDescriptor {
  /** Group name, e.g. `"agent"`, `"high"`, `"low"`. */
  readonly name: string;
  /** Observation space; its `flatSize` must equal the module's `groupObsSize`. */
  readonly observationSpace: Space;
  /** Action space; its `packedSize` must equal the module's `groupActSize`. */
  readonly actionSpace: Space;
  /**
   * Names the agent in a slot. Called once per distinct `(slotInEnv, seq)`; the result is
   * cached, so it may allocate.
   * @param slotInEnv index of the slot within its env and group, `[0, slotsPerEnv)`
   * @param seq the slot's agent sequence number from the module's `agentSeq` buffer
   * @returns the agent id, e.g. `"default_agent"` or `` `low_level_${seq}` ``
   */
  agentId(slotInEnv: number, seq: number): string;
}

/** Describes a WASM env for {@linkcode loadWasmEnv}: its name and its slot groups in order. */
export interface WasmEnvDescriptor {
  /** Env name, used in error messages, e.g. `"windy_maze"`. */
  readonly name: string;
  /** The slot groups, in the module's group order. */
  readonly groups: readonly WasmGroupDescriptor[];
  /**
   * Names of the episode metrics the module writes (an env with the kit's `writeMetrics`
   * hook, re-exporting `assembly/_abi_metrics.ts`), in column order: as many as its
   * `numEpisodeMetrics()`. The loader then views them as `episodeMetrics`.
   */
  readonly metrics?: readonly string[];
  /** Each episode is a match between its agents (see {@linkcode BatchedEnv.competitive}). */
  readonly competitive?: boolean;
  /**
   * The env's construction parameters, set through the module's `setParam(index, value)` export
   * (index = position here) after `init` and before the first reset; a constructor's `params`
   * names them. Like `numEnvs`, they are not part of the saved state.
   */
  readonly params?: readonly WasmEnvParam[];
}

/** A construction parameter of a WASM env (see {@linkcode WasmEnvDescriptor.params}). */
export interface WasmEnvParam {
  /** The parameter's name, e.g. `"rounds"`. */
  readonly name: string;
  /** Smallest accepted value. */
  readonly min: number;
  /** Largest accepted value. */
  readonly max: number;
  /** Only integers are accepted. */
  readonly integer: boolean;
  /** The value the module starts with. */
  readonly default: number;
}

/** Where a WASM env module comes from. */
export type WasmSource = Uint8Array | WebAssembly.Module | URL;

interface WasmEnvExports {
  memory: WebAssembly.Memory;
  abiVersion(): number;
  init(numEnvs: number, seedLo: number, seedHi: number): number;
  reset(seedLo: number, seedHi: number, reseed: number): void;
  step(): number;
  errorSlot(): number;
  errorValue(): number;
  numGroups(): number;
  groupSlotsPerEnv(g: number): number;
  groupObsSize(g: number): number;
  groupActSize(g: number): number;
  groupObsPtr(g: number): number;
  groupFinalObsPtr(g: number): number;
  groupActPtr(g: number): number;
  rewPtr(): number;
  flagsPtr(): number;
  envDonePtr(): number;
  envTruncatedPtr(): number;
  stepMaskPtr(): number;
  agentSeqPtr(): number;
  episodeMetricsPtr?(): number;
  numEpisodeMetrics?(): number;
  setEpisodeLimit?(n: number): void;
  episodeLimit?(): number;
  setParam?(index: number, value: number): number;
}

const REQUIRED_FUNCTIONS = [
  "init",
  "reset",
  "step",
  "errorSlot",
  "errorValue",
  "numGroups",
  "groupSlotsPerEnv",
  "groupObsSize",
  "groupActSize",
  "groupObsPtr",
  "groupFinalObsPtr",
  "groupActPtr",
  "rewPtr",
  "flagsPtr",
  "envDonePtr",
  "envTruncatedPtr",
  "stepMaskPtr",
  "agentSeqPtr",
] as const;

function fmt(x: number): string {
  return Number.isNaN(x) ? "NaN" : Object.is(x, -0) ? "-0" : String(x);
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`Seed must be a non-negative safe integer, got ${seed}`);
  }
}

function instantiateExports(module: WebAssembly.Module, name: string): WasmEnvExports {
  const raw = new WebAssembly.Instance(module, {}).exports as Record<string, unknown>;
  if (typeof raw.abiVersion !== "function") {
    throw new Error(`WASM env "${name}" has no "abiVersion" export: not a coop env module`);
  }
  const version = (raw.abiVersion as () => number)();
  if (version !== WASM_ABI_VERSION) {
    throw new Error(
      `WASM env "${name}" speaks ABI version ${version}, this loader speaks version ${WASM_ABI_VERSION}: rebuild the module with \`deno task build\` or update coop`,
    );
  }
  const missing = REQUIRED_FUNCTIONS.filter((f) => typeof raw[f] !== "function");
  if (!(raw.memory instanceof WebAssembly.Memory)) missing.unshift("memory" as never);
  if (missing.length > 0) {
    throw new Error(
      `WASM env "${name}" lacks the exports ${missing.map((m) => `"${m}"`).join(", ")}`,
    );
  }
  return raw as unknown as WasmEnvExports;
}

/** Checks `params` against the descriptor's and hands them to the module. */
function setParams(
  x: WasmEnvExports,
  descriptor: WasmEnvDescriptor,
  params: Readonly<Record<string, number>>,
): void {
  const declared = descriptor.params ?? [];
  for (const [key, value] of Object.entries(params)) {
    const k = declared.findIndex((p) => p.name === key);
    if (k < 0) {
      throw new RangeError(
        `WASM env "${descriptor.name}" has no parameter "${key}"; ${
          declared.length === 0
            ? "it takes none"
            : `expected one of ${declared.map((p) => p.name).join(", ")}`
        }`,
      );
    }
    const p = declared[k]!;
    if (
      typeof value !== "number" || !(value >= p.min && value <= p.max) ||
      (p.integer && !Number.isInteger(value))
    ) {
      throw new RangeError(
        `WASM env "${descriptor.name}" parameter "${key}" must be ${
          p.integer ? "an integer" : "a number"
        } in [${p.min}, ${p.max}], got ${value}`,
      );
    }
    if (x.setParam === undefined) {
      throw new Error(
        `WASM env "${descriptor.name}" declares parameters but has no "setParam" export`,
      );
    }
    const rc = x.setParam(k, value);
    if (rc !== E_OK) {
      throw new RangeError(
        `WASM env "${descriptor.name}" refused parameter "${key}" = ${value} (code ${rc})`,
      );
    }
  }
}

/**
 * {@linkcode BatchedEnv} over a WASM env module: every buffer is a zero-copy view into the
 * module's memory. Build one with {@linkcode loadWasmEnv} (async, any source) or
 * {@linkcode createWasmEnv} (sync, bytes or a compiled module).
 *
 * @example Step a batch of windy mazes
 * ```ts
 * import { createWasmEnv } from "./wasm.ts";
 * import { WINDY_MAZE_DESCRIPTOR } from "../envs/windy_maze.ts";
 * import { windyMazeWasmBytes } from "../envs/_generated/windy_maze_wasm.ts";
 *
 * const env = createWasmEnv(windyMazeWasmBytes(), WINDY_MAZE_DESCRIPTOR, 4, 7);
 * env.reset();
 * env.setActions("agent", [1, 1, 0, 1]);
 * env.step();
 * if (env.agentId(0) !== "default_agent") throw new Error("agent id");
 * ```
 */
export class WasmBatchedEnv implements BatchedEnv {
  /** Number of env instances `N`. */
  readonly numEnvs: number;
  /** Total number of slots `S`. */
  readonly numSlots: number;
  /** Slot groups with their views, in slot order. */
  readonly groups: readonly SlotGroup[];
  /** `[S]` rewards of the last step (view). */
  readonly rew: Float32Array;
  /** `[S]` slot flags (view). */
  readonly flags: Uint8Array;
  /** `[N]` episode-ended flags of the last step (view). */
  readonly envDone: Uint8Array;
  /** `[N]` episode-truncated flags of the last step (view). */
  readonly envTruncated: Uint8Array;
  /** `[N]` step mask, all ones after construction (view; write 0 to hold an env). */
  readonly stepMask: Uint8Array;
  /** `[S]` agent sequence numbers (view), the `n` of ids such as `low_level_{n}`. */
  readonly agentSeq: Int32Array;
  /** The descriptor this env was loaded with. */
  readonly descriptor: WasmEnvDescriptor;
  /** The module's memory (for tests and diagnostics; it never grows after construction). */
  readonly memory: WebAssembly.Memory;
  /**
   * `[N × K]` numbers of each env's last finished episode, named by the descriptor's `metrics`
   * (view; row `i` written when `envDone[i]` is set, NaN before the first end); undefined for
   * a module without episode metrics.
   */
  readonly episodeMetrics?: EpisodeMetricsView;
  /** Each episode is a match (the descriptor's `competitive`). */
  readonly competitive: boolean;

  #x: WasmEnvExports;
  #wasReset = false;
  #groupDescs: readonly WasmGroupDescriptor[];
  /** Per group, per slot in env: seq -> cached id. */
  #idCache: Map<number, string>[][];

  /**
   * Instantiates and initialises a compiled module. Prefer {@linkcode loadWasmEnv} or
   * {@linkcode createWasmEnv}.
   * @param module a compiled coop env module
   * @param descriptor what the module's groups mean
   * @param numEnvs number of envs, an integer in `[1, WASM_MAX_ENVS]`
   * @param seed env `i` is seeded from `(seed, i)`; a non-negative safe integer (default 0)
   * @param params values of the descriptor's `params`, by name (the rest keep their defaults)
   */
  constructor(
    module: WebAssembly.Module,
    descriptor: WasmEnvDescriptor,
    numEnvs: number,
    seed = 0,
    params: Readonly<Record<string, number>> = {},
  ) {
    if (!Number.isInteger(numEnvs) || numEnvs < 1 || numEnvs > WASM_MAX_ENVS) {
      throw new RangeError(`numEnvs must be an integer in [1, ${WASM_MAX_ENVS}], got ${numEnvs}`);
    }
    checkSeed(seed);
    const name = descriptor.name;
    const x = instantiateExports(module, name);
    const rc = x.init(numEnvs, seed >>> 0, Math.floor(seed / 4294967296));
    if (rc === E_BAD_NUM_ENVS) {
      throw new RangeError(`WASM env "${name}" refused numEnvs ${numEnvs}`);
    } else if (rc === E_OUT_OF_MEMORY) {
      throw new RangeError(`WASM env "${name}" could not allocate memory for ${numEnvs} envs`);
    } else if (rc !== E_OK) {
      throw new Error(`WASM env "${name}" failed to initialise with error code ${rc}`);
    }
    setParams(x, descriptor, params);
    const numGroups = x.numGroups();
    if (numGroups !== descriptor.groups.length) {
      throw new Error(
        `WASM env "${name}" has ${numGroups} slot group(s) but its descriptor declares ${descriptor.groups.length}`,
      );
    }
    const buf = x.memory.buffer;
    let slotOffset = 0;
    const groups: SlotGroup[] = [];
    for (let g = 0; g < numGroups; g++) {
      const d = descriptor.groups[g]!;
      const slotsPerEnv = x.groupSlotsPerEnv(g);
      const obsSize = x.groupObsSize(g);
      const actSize = x.groupActSize(g);
      if (obsSize !== d.observationSpace.flatSize) {
        throw new Error(
          `WASM env "${name}" group "${d.name}" has observation rows of ${obsSize} but ${d.observationSpace} flattens to ${d.observationSpace.flatSize}`,
        );
      }
      if (actSize !== d.actionSpace.packedSize) {
        throw new Error(
          `WASM env "${name}" group "${d.name}" has action rows of ${actSize} but ${d.actionSpace} packs to ${d.actionSpace.packedSize}`,
        );
      }
      const rows = numEnvs * slotsPerEnv;
      groups.push({
        name: d.name,
        slotsPerEnv,
        slotOffset,
        observationSpace: d.observationSpace,
        actionSpace: d.actionSpace,
        obs: new Float32Array(buf, x.groupObsPtr(g), rows * obsSize),
        finalObs: new Float32Array(buf, x.groupFinalObsPtr(g), rows * obsSize),
        act: new Float32Array(buf, x.groupActPtr(g), rows * actSize),
      });
      slotOffset += rows;
    }
    this.numEnvs = numEnvs;
    this.numSlots = slotOffset;
    this.groups = groups;
    this.rew = new Float32Array(buf, x.rewPtr(), slotOffset);
    this.flags = new Uint8Array(buf, x.flagsPtr(), slotOffset);
    this.envDone = new Uint8Array(buf, x.envDonePtr(), numEnvs);
    this.envTruncated = new Uint8Array(buf, x.envTruncatedPtr(), numEnvs);
    this.stepMask = new Uint8Array(buf, x.stepMaskPtr(), numEnvs);
    this.agentSeq = new Int32Array(buf, x.agentSeqPtr(), slotOffset);
    const metricNames = descriptor.metrics ?? [];
    const k = typeof x.numEpisodeMetrics === "function" ? x.numEpisodeMetrics() : 0;
    if (k !== metricNames.length) {
      throw new Error(
        `WASM env "${name}" writes ${k} episode metric(s) but its descriptor names ${metricNames.length}${
          k === 0 ? " (does the module re-export assembly/_abi_metrics.ts?)" : ""
        }`,
      );
    }
    if (k > 0) {
      this.episodeMetrics = {
        names: [...metricNames],
        values: new Float32Array(buf, x.episodeMetricsPtr!(), numEnvs * k),
      };
    }
    this.descriptor = descriptor;
    this.competitive = descriptor.competitive === true;
    this.memory = x.memory;
    this.#x = x;
    this.#groupDescs = descriptor.groups;
    this.#idCache = groups.map((g) => Array.from({ length: g.slotsPerEnv }, () => new Map()));
  }

  /** Size of the module's memory in bytes; constant after construction. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /**
   * The id of the agent now in slot `s`, from the group's descriptor and the slot's agent
   * sequence number; cached, so it does not allocate per step.
   * @param slot a global slot index in `[0, numSlots)`
   * @returns the agent id
   */
  agentId(slot: number): string {
    if (!(slot >= 0 && slot < this.numSlots && Number.isInteger(slot))) {
      throw new RangeError(`Slot must be an integer in [0, ${this.numSlots}), got ${slot}`);
    }
    const gs = this.groups;
    let g = gs.length - 1;
    while (g > 0 && slot < gs[g]!.slotOffset) g--;
    const group = gs[g]!;
    const j = (slot - group.slotOffset) % group.slotsPerEnv;
    const seq = this.agentSeq[slot]!;
    const cache = this.#idCache[g]![j]!;
    let id = cache.get(seq);
    if (id === undefined) {
      id = this.#groupDescs[g]!.agentId(j, seq);
      cache.set(seq, id);
    }
    return id;
  }

  /**
   * The runtime episode limit (RLHive's `max_steps_per_episode`): an episode still running after
   * this many steps of its env is truncated at that step (its agents TRUNCATED with their final
   * observations, `envTruncated` set, auto-reset), on top of the env's own rules; 0 (the
   * default) means none. Steps are counted while a limit is set, from each episode's reset or
   * from `setEpisodeLimit` (which restarts every count): set it before the first reset. Saved
   * with the env's state.
   */
  get episodeLimit(): number {
    return this.#x.episodeLimit?.() ?? 0;
  }

  /**
   * Sets {@linkcode WasmBatchedEnv.episodeLimit}.
   * @param n steps per episode, a non-negative integer (0: no limit)
   * @throws {RangeError} on a bad `n`, or for a module built before the kit had the limit
   */
  setEpisodeLimit(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) {
      throw new RangeError(`episode limit must be a non-negative integer, got ${n}`);
    }
    if (this.#x.setEpisodeLimit === undefined) {
      throw new RangeError(
        `WASM env "${this.descriptor.name}" has no runtime episode limit (rebuild it with the current env kit)`,
      );
    }
    this.#x.setEpisodeLimit(n);
  }

  /**
   * Resets every env and flags the first agents SPAWNED|ACTIVE|ALIVE.
   * @param seed when given, env `i` is reseeded from `(seed, i)` (a non-negative safe
   *   integer); otherwise each env's random stream continues
   */
  reset(seed?: number): void {
    if (seed === undefined) {
      this.#x.reset(0, 0, 0);
    } else {
      checkSeed(seed);
      this.#x.reset(seed >>> 0, Math.floor(seed / 4294967296), 1);
    }
    this.#wasReset = true;
  }

  /**
   * Advances every env (whose stepMask entry is 1) by one step, reading the action rows of
   * ACTIVE slots. Throws a `RangeError` naming the agent, the value and the action space when
   * an action is invalid (outside the space, or a member the env does not allow in its current
   * state, e.g. an illegal move), or an `Error` before the first
   * {@linkcode WasmBatchedEnv.reset}; the envs are unchanged then.
   */
  step(): void {
    const rc = this.#x.step();
    if (rc !== E_OK) this.#throwStepError(rc);
  }

  #throwStepError(rc: number): never {
    const name = this.descriptor.name;
    if (rc === E_NOT_RESET || !this.#wasReset) {
      throw new Error(`WASM env "${name}": step() called before reset()`);
    }
    if (rc === E_BAD_ACTION) {
      const slot = this.#x.errorSlot();
      const value = this.#x.errorValue();
      const g = this.groups.findLastIndex((gr) => slot >= gr.slotOffset);
      const group = this.groups[g]!;
      const space = group.actionSpace;
      const at = (slot - group.slotOffset) * space.packedSize;
      if (packedValid(space, group.act, at)) {
        throw new RangeError(
          `Illegal action for agent "${
            this.agentId(slot)
          }" (slot ${slot}, group "${group.name}" of WASM env "${name}"): ${
            formatValue(space.unpack(group.act, at))
          } is a member of ${space} but the env does not allow it in its current state`,
        );
      }
      throw new RangeError(
        `Invalid action for agent "${
          this.agentId(slot)
        }" (slot ${slot}, group "${group.name}" of WASM env "${name}"): got ${
          fmt(value)
        }, expected a member of ${group.actionSpace} (packed as ${group.actionSpace.packedSize} number(s))`,
      );
    }
    throw new Error(`WASM env "${name}": step() failed with error code ${rc}`);
  }

  /**
   * The whole state as bytes, for checkpoints: a copy of the module's memory (every env's
   * state, random streams, slot buffers and agent sequence numbers live there; the module's
   * globals are the layout `init` computed, the same for the same module and number of envs)
   * and whether the env was reset. {@linkcode WasmBatchedEnv.loadState} of these bytes on an
   * env of the same module and number of envs continues exactly where this one stands.
   * @returns the state
   */
  saveState(): Uint8Array {
    const meta = Float64Array.of(
      this.numEnvs,
      this.memory.buffer.byteLength,
      this.#wasReset ? 1 : 0,
    );
    return packState(`wasm:${this.descriptor.name}`, [meta, new Uint8Array(this.memory.buffer)]);
  }

  /**
   * Restores a state from {@linkcode WasmBatchedEnv.saveState}.
   * @param state the bytes
   * @throws {RangeError} when they are of another env, another number of envs or another
   *   memory size (another build of the module); nothing changes then
   */
  loadState(state: Uint8Array): void {
    const tag = `wasm:${this.descriptor.name}`;
    let parts: Uint8Array[];
    try {
      parts = unpackState(tag, state);
    } catch (e) {
      throw new RangeError(
        `Cannot load this state into WASM env "${this.descriptor.name}": ${(e as Error).message}`,
      );
    }
    const meta = parts[0]?.length === 24 ? new Float64Array(parts[0].slice().buffer) : undefined;
    const mem = parts[1];
    if (meta === undefined || mem === undefined || parts.length !== 2) {
      throw new RangeError(`Not a state of WASM env "${this.descriptor.name}"`);
    }
    if (meta[0] !== this.numEnvs) {
      throw new RangeError(
        `The state of WASM env "${this.descriptor.name}" is of ${
          meta[0]
        } envs, this env has ${this.numEnvs}`,
      );
    }
    const size = this.memory.buffer.byteLength;
    if (meta[1] !== size || mem.length !== size) {
      throw new RangeError(
        `The state of WASM env "${this.descriptor.name}" has ${mem.length} bytes of memory, this env has ${size} (another build of the module?)`,
      );
    }
    // The module keeps "was reset" in a global: a reset sets it, then the memory is replaced.
    if (meta[2] === 1) this.#x.reset(0, 0, 0);
    new Uint8Array(this.memory.buffer).set(mem);
    this.#wasReset = meta[2] === 1;
  }

  /**
   * Copies a whole batch of packed actions into a group's action view (all its slots, ACTIVE
   * or not, `numEnvs * slotsPerEnv * actionSpace.packedSize` numbers). Values are validated by
   * the next {@linkcode WasmBatchedEnv.step}.
   * @param group the group's index or name
   * @param actions the packed action rows, slot after slot
   * @throws {RangeError} when the group is unknown or the length is wrong (nothing changes)
   */
  setActions(group: number | string, actions: ArrayLike<number>): void {
    const g = typeof group === "number"
      ? this.groups[group]
      : this.groups.find((x) => x.name === group);
    if (g === undefined) {
      const names = this.groups.map((x) => `"${x.name}"`).join(", ");
      throw new RangeError(
        `Unknown group ${
          typeof group === "number" ? group : `"${group}"`
        } of WASM env "${this.descriptor.name}", expected an index or one of ${names}`,
      );
    }
    if (actions.length !== g.act.length) {
      throw new RangeError(
        `setActions for group "${g.name}" got ${actions.length} numbers, expected ${g.act.length} (${this.numEnvs} envs x ${g.slotsPerEnv} slots x ${g.actionSpace.packedSize} per ${g.actionSpace})`,
      );
    }
    g.act.set(actions);
  }
}

/**
 * Builds a {@linkcode WasmBatchedEnv} synchronously from bytes or a compiled module. Bytes are
 * compiled with `new WebAssembly.Module` (small modules only in browsers' main threads; pass a
 * `WebAssembly.Module` on workerd).
 * @param source the module bytes or a compiled module
 * @param descriptor what the module's groups mean
 * @param numEnvs number of envs
 * @param seed env `i` is seeded from `(seed, i)` (default 0)
 * @param params values of the descriptor's `params`, by name
 * @returns the initialised env; call `reset` before `step`
 */
export function createWasmEnv(
  source: Uint8Array | WebAssembly.Module,
  descriptor: WasmEnvDescriptor,
  numEnvs: number,
  seed?: number,
  params?: Readonly<Record<string, number>>,
): WasmBatchedEnv {
  const module = source instanceof WebAssembly.Module
    ? source
    : new WebAssembly.Module(source as BufferSource);
  return new WasmBatchedEnv(module, descriptor, numEnvs, seed, params);
}

/**
 * Loads a WASM env from bytes, a compiled module or a URL (fetched; `file:` URLs need read
 * permission in Deno) and builds a {@linkcode WasmBatchedEnv}.
 *
 * @example Load the windy maze from its inlined bytes
 * ```ts
 * import { loadWasmEnv } from "./wasm.ts";
 * import { WINDY_MAZE_DESCRIPTOR } from "../envs/windy_maze.ts";
 * import { windyMazeWasmBytes } from "../envs/_generated/windy_maze_wasm.ts";
 *
 * const env = await loadWasmEnv(windyMazeWasmBytes(), WINDY_MAZE_DESCRIPTOR, 8, 1);
 * env.reset();
 * if (env.groups[0]!.obs.length !== 8 * 6) throw new Error("obs view");
 * ```
 *
 * @param source the module bytes, a compiled module or where to fetch the bytes
 * @param descriptor what the module's groups mean
 * @param numEnvs number of envs
 * @param seed env `i` is seeded from `(seed, i)` (default 0)
 * @returns the initialised env; call `reset` before `step`
 */
export async function loadWasmEnv(
  source: WasmSource,
  descriptor: WasmEnvDescriptor,
  numEnvs: number,
  seed?: number,
): Promise<WasmBatchedEnv> {
  let module: WebAssembly.Module;
  if (source instanceof WebAssembly.Module) {
    module = source;
  } else if (source instanceof URL) {
    const res = await fetch(source);
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(
        `Fetching WASM env "${descriptor.name}" from ${source} failed: ${res.status}`,
      );
    }
    module = await WebAssembly.compile(await res.arrayBuffer());
  } else {
    module = await WebAssembly.compile(source as BufferSource);
  }
  return new WasmBatchedEnv(module, descriptor, numEnvs, seed);
}

/**
 * Sets the runtime episode limit (RLHive's `max_steps_per_episode`) of a WASM env, through the
 * wrappers that keep their base env as `base` (a hierarchy) or `inner` (frame stacking).
 * @param env the env
 * @param n steps per episode of the WASM env (0: no limit)
 * @throws {RangeError} naming the env when it has no WASM env with a limit inside
 */
export function setEpisodeLimit(env: BatchedEnv, n: number): void {
  let e: unknown = env;
  for (let depth = 0; depth < 8 && e !== undefined; depth++) {
    if (e instanceof WasmBatchedEnv) return e.setEpisodeLimit(n);
    const w = e as { base?: unknown; inner?: unknown };
    e = w.base ?? w.inner;
  }
  throw new RangeError(
    `maxStepsPerEpisode: ${
      (env as { constructor?: { name?: string } }).constructor?.name ?? "this env"
    } has no WASM env with a runtime episode limit inside (envs written in TypeScript end their episodes themselves)`,
  );
}
