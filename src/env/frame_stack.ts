/**
 * Frame stacking per agent (RLHive's `stack_size`): every agent sees its own last `k`
 * observations, oldest first, zero-padded until it has seen `k` (its history starts at its first
 * observation, so a new agent in a slot never sees the previous agent's). Only the observations
 * an agent receives when asked to act join its history, as in RLHive's turn-based runner: a
 * player's stack holds the boards it was shown, not every board of the game.
 *
 * The observation space of a group becomes `Tuple([space] * k)` (flat rows: the `k` flat
 * observations concatenated); a masked observation (`Dict{action_mask, observations}`) stacks
 * only `observations` and keeps the current `action_mask`, so masking models still apply.
 *
 * A {@linkcode BatchedEnv} wrapper over typed arrays: rewards, flags, actions, ids, infos and
 * metrics are the inner env's own buffers; only `obs` and `finalObs` are the wrapper's.
 *
 * @module
 */

import { BatchedEnvWrapper } from "./wrapper.ts";
import type { BatchPolicy } from "../policy/policy.ts";
import type { Pcg32 } from "../rng.ts";
import { Dict, type Space, Tuple } from "../spaces.ts";
import {
  ACTIVE,
  type BatchedEnv,
  packState,
  type SlotGroup,
  SPAWNED,
  TERMINATED,
  TRUNCATED,
  unpackState,
} from "./batched.ts";

const ENDED = TERMINATED | TRUNCATED;

/** Copies `n` floats between rows without making a view per row (this runs every step). */
function copy(dst: Float32Array, at: number, src: Float32Array, from: number, n: number): void {
  for (let i = 0; i < n; i++) dst[at + i] = src[from + i]!;
}

/** How one group's rows map from the inner env to the stacked one. */
interface Plan {
  /** Inner flat size. */
  inSize: number;
  /** Offset and size of the stacked part in an inner row. */
  partOff: number;
  partSize: number;
  /** Offset of the stacked part in a stacked row. */
  outPartOff: number;
  /** Mask: offset in an inner row, offset in a stacked row, size (0: none). */
  maskIn: number;
  maskOut: number;
  maskSize: number;
  /** Stacked flat size. */
  outSize: number;
}

/** The stacked observation space of a group (see the module doc). */
export function stackedSpace(space: Space, k: number): Space {
  if (space instanceof Dict) {
    const inner = space.spaces.observations;
    if (space.keys.length === 2 && "action_mask" in space.spaces && inner !== undefined) {
      return new Dict({
        action_mask: space.spaces.action_mask!,
        observations: new Tuple(Array.from({ length: k }, () => inner)),
      });
    }
  }
  return new Tuple(Array.from({ length: k }, () => space));
}

function plan(inner: Space, stacked: Space, k: number): Plan {
  const maskedIn = inner instanceof Dict && inner.keys.length === 2 &&
    "action_mask" in inner.spaces && "observations" in inner.spaces;
  if (!maskedIn) {
    return {
      inSize: inner.flatSize,
      partOff: 0,
      partSize: inner.flatSize,
      outPartOff: 0,
      maskIn: 0,
      maskOut: 0,
      maskSize: 0,
      outSize: inner.flatSize * k,
    };
  }
  const offsets = (d: Dict) => {
    const at: Record<string, number> = {};
    let o = 0;
    for (const key of d.keys) {
      at[key] = o;
      o += d.spaces[key]!.flatSize;
    }
    return at;
  };
  const a = offsets(inner as Dict), b = offsets(stacked as Dict);
  const maskSize = (inner as Dict).spaces.action_mask!.flatSize;
  return {
    inSize: inner.flatSize,
    partOff: a.observations!,
    partSize: (inner as Dict).spaces.observations!.flatSize,
    outPartOff: b.observations!,
    maskIn: a.action_mask!,
    maskOut: b.action_mask!,
    maskSize,
    outSize: stacked.flatSize,
  };
}

/**
 * Stacks each agent's last `k` observations (RLHive's `stack_size`); see the module doc.
 *
 * @example Two-frame stacks of the windy maze
 * ```ts
 * import { createWindyMaze } from "../envs/windy_maze.ts";
 * import { FrameStack } from "./frame_stack.ts";
 * const env = new FrameStack(createWindyMaze(4, { seed: 1 }), 2);
 * env.reset();
 * const g = env.groups[0]!;
 * if (g.observationSpace.flatSize !== 2 * 6) throw new Error("two frames of 2 + 4");
 * ```
 */
export class FrameStack extends BatchedEnvWrapper {
  /** Frames per stack. */
  readonly k: number;
  #groups: SlotGroup[] = [];
  #plans: Plan[] = [];
  #layout = -1;

  /**
   * Wraps an env.
   * @param inner the env
   * @param k frames per stack, an integer ≥ 1
   */
  constructor(inner: BatchedEnv, k: number) {
    if (!Number.isInteger(k) || k < 1) {
      throw new RangeError(`FrameStack: the stack size must be an integer >= 1, got ${k}`);
    }
    super(inner);
    this.k = k;
    this.#relayout();
  }

  /** Allocates (or, after the inner env grew, re-allocates keeping each slot's rows). */
  #relayout(): void {
    const v = this.inner.layoutVersion ?? 0;
    if (v === this.#layout) return;
    const old = this.#groups;
    this.#groups = this.inner.groups.map((g, gi) => {
      const space = stackedSpace(g.observationSpace, this.k);
      const p = plan(g.observationSpace, space, this.k);
      this.#plans[gi] = p;
      const rows = this.inner.numEnvs * g.slotsPerEnv;
      const obs = new Float32Array(rows * p.outSize);
      const finalObs = new Float32Array(rows * p.outSize);
      const prev = old[gi];
      if (prev !== undefined) {
        for (let e = 0; e < this.inner.numEnvs; e++) {
          for (let j = 0; j < prev.slotsPerEnv; j++) {
            const from = (e * prev.slotsPerEnv + j) * p.outSize;
            const to = (e * g.slotsPerEnv + j) * p.outSize;
            obs.set(prev.obs.subarray(from, from + p.outSize), to);
            finalObs.set(prev.finalObs.subarray(from, from + p.outSize), to);
          }
        }
      }
      return {
        name: g.name,
        slotsPerEnv: g.slotsPerEnv,
        slotOffset: g.slotOffset,
        observationSpace: space,
        actionSpace: g.actionSpace,
        obs,
        finalObs,
        act: g.act,
      };
    });
    this.#layout = v;
  }

  /** The groups, with stacked observation spaces and buffers (actions are the inner env's). */
  get groups(): readonly SlotGroup[] {
    return this.#groups;
  }

  /**
   * Resets every env; each first agent's stack is zeros and its first observation.
   * @param seed reseeds the inner env
   */
  reset(seed?: number): void {
    this.inner.reset(seed);
    this.#relayout();
    this.#update();
  }

  /** Steps the inner env, then pushes each asked agent's new observation onto its stack. */
  step(): void {
    this.inner.step();
    this.#relayout();
    this.#update(true);
  }

  #update(afterStep = false): void {
    const flags = this.inner.flags, k = this.k;
    // An env held by the step mask got no new observation (its flags keep ACTIVE).
    const mask = afterStep ? this.inner.stepMask : undefined;
    this.inner.groups.forEach((g, gi) => {
      const p = this.#plans[gi]!, out = this.#groups[gi]!;
      const rows = this.inner.numEnvs * g.slotsPerEnv;
      const P = p.partSize, O = p.outSize, I = p.inSize;
      for (let r = 0; r < rows; r++) {
        const f = flags[g.slotOffset + r]!;
        if ((f & (ENDED | SPAWNED | ACTIVE)) === 0) continue;
        if (mask !== undefined && mask[(r / g.slotsPerEnv) | 0] === 0) continue;
        const row = r * O, src = r * I;
        if ((f & ENDED) !== 0) {
          // The ended agent's stack: its history, then its final observation.
          const fin = out.finalObs;
          copy(fin, row, out.obs, row, O);
          if (k > 1) {
            fin.copyWithin(row + p.outPartOff, row + p.outPartOff + P, row + p.outPartOff + k * P);
          }
          copy(fin, row + p.outPartOff + (k - 1) * P, g.finalObs, src + p.partOff, P);
          if (p.maskSize > 0) {
            copy(fin, row + p.maskOut, g.finalObs, src + p.maskIn, p.maskSize);
          }
        }
        const o = out.obs;
        if ((f & SPAWNED) !== 0) o.fill(0, row + p.outPartOff, row + p.outPartOff + k * P);
        else if ((f & ACTIVE) === 0) continue;
        else if (k > 1) {
          o.copyWithin(row + p.outPartOff, row + p.outPartOff + P, row + p.outPartOff + k * P);
        }
        copy(o, row + p.outPartOff + (k - 1) * P, g.obs, src + p.partOff, P);
        if (p.maskSize > 0) {
          copy(o, row + p.maskOut, g.obs, src + p.maskIn, p.maskSize);
        }
      }
    });
  }

  /**
   * The inner env's state and the stacks, for checkpoints (only when the inner env can save).
   * @returns the state
   */
  saveState(): Uint8Array {
    if (this.inner.saveState === undefined) {
      throw new RangeError("FrameStack: the inner env cannot save its state");
    }
    return packState("coop.FrameStack", [
      this.inner.saveState(),
      ...this.#groups.flatMap((g) => [g.obs, g.finalObs]),
    ]);
  }

  /**
   * Restores a state from {@linkcode FrameStack.saveState}.
   * @param state the bytes
   */
  loadState(state: Uint8Array): void {
    if (this.inner.loadState === undefined) {
      throw new RangeError("FrameStack: the inner env cannot load a state");
    }
    const [innerState, ...bufs] = unpackState("coop.FrameStack", state);
    const fits = () => {
      const want = this.#groups.flatMap((g) => [g.obs, g.finalObs]);
      return bufs.length === want.length &&
        bufs.every((b, i) => b.byteLength === want[i]!.byteLength);
    };
    // Checked before the inner env changes (unless the inner layout itself grows on load).
    if (this.inner.layoutVersion === undefined && !fits()) {
      throw new RangeError(
        "FrameStack: the state's stacks do not fit this env (another k or size)",
      );
    }
    this.inner.loadState(innerState!);
    this.#relayout();
    if (!fits()) {
      throw new RangeError(
        "FrameStack: the state's stacks do not fit this env (another k or size)",
      );
    }
    const want = this.#groups.flatMap((g) => [g.obs, g.finalObs]);
    bufs.forEach((b, i) =>
      want[i]!.set(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)))
    );
  }
}

/**
 * Wraps an env so every agent sees its last `k` observations (RLHive's `stack_size`).
 * @param env the env
 * @param k frames per stack (1: the env itself)
 * @returns the wrapped env
 */
export function frameStack(env: BatchedEnv, k: number): BatchedEnv {
  return k === 1 ? env : new FrameStack(env, k);
}

/**
 * A policy written for single observations, fed the newest of the `k` frames of stacked rows (a
 * fixed opponent in a frame-stacked env). A plain (not masked) stack: the newest frame is the
 * last `obsSize` floats of a row.
 * @param inner the policy of single observations
 * @param k frames per stacked row (1: `inner` itself)
 * @returns the policy of stacked rows
 */
export function newestFrame(inner: BatchPolicy, k: number): BatchPolicy {
  if (k === 1) return inner;
  const O = inner.obsSize;
  let buf = new Float32Array(0);
  return {
    obsSize: O * k,
    actSize: inner.actSize,
    act(obs: Float32Array, rows: number, rng: Pcg32, explore: boolean, out: Float32Array) {
      if (buf.length < rows * O) buf = new Float32Array(rows * O);
      for (let r = 0; r < rows; r++) copy(buf, r * O, obs, (r + 1) * O * k - O, O);
      inner.act(buf.subarray(0, rows * O), rows, rng, explore, out);
    },
  };
}
