/**
 * {@linkcode checkEnv}: seeded random rollouts that check an env against its declared spaces and
 * the protocol of its face (the batched slot face of `batched.ts` or the dict face of
 * `multi_agent.ts`). Run it on every env in tests.
 *
 * @module
 */

import { ACTIVE, ALIVE, type BatchedEnv, SPAWNED, TERMINATED, TRUNCATED } from "./batched.ts";
import { explainFlat } from "./_rows.ts";
import { DictEnv } from "./dict_face.ts";
import type { MultiAgentEnv, StepResult } from "./multi_agent.ts";
import { Pcg32 } from "../rng.ts";
import { Dict, Discrete, type Space, type SpaceValue } from "../spaces.ts";

/** Options of {@linkcode checkEnv}. */
export interface CheckEnvOptions {
  /** Step calls per rollout (default 1000). */
  steps?: number;
  /** Seed of the env and of the random actions (default 0). */
  seed?: number;
}

/** What {@linkcode checkEnv} saw. */
export interface CheckEnvReport {
  /** Which face was checked. */
  face: "batched" | "dict";
  /** Step calls made in the checked rollout. */
  steps: number;
  /** Agent actions taken (one per acting agent per step). */
  agentSteps: number;
  /** Episodes that ended. */
  episodes: number;
  /** Distinct agent ids seen (at most 50 listed). */
  agentIds: string[];
  /** Checks that passed, by name. */
  checks: string[];
}

const MAX_FAILURES = 20;
const ENDED = TERMINATED | TRUNCATED;

class Failures {
  readonly list: string[] = [];
  readonly #seen = new Set<string>();
  /** Records a failure; the same problem at a later step is recorded once. */
  add(msg: string): void {
    const key = msg.replace(/^(step|reset after step) \d+: /, "");
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    if (this.list.length < MAX_FAILURES) this.list.push(msg);
  }
  get full(): boolean {
    return this.list.length >= MAX_FAILURES;
  }
}

function isBatched(env: BatchedEnv | MultiAgentEnv): env is BatchedEnv {
  return "flags" in env && "groups" in env && "numSlots" in env;
}

/**
 * Where a legal-action mask sits in an observation (RLlib's convention): the observation space
 * is a Dict with an `action_mask` component of as many numbers as the Discrete action space has
 * actions. `offset` is the mask's first number in the flat row (Dict keys are sorted).
 */
interface MaskInfo {
  offset: number;
  n: number;
  start: number;
}

function maskInfo(obs: Space, act: Space): MaskInfo | undefined {
  if (!(obs instanceof Dict) || !(act instanceof Discrete)) return undefined;
  const mask = obs.spaces.action_mask;
  if (mask === undefined || mask.flatSize !== act.n) return undefined;
  let offset = 0;
  for (const k of obs.keys) {
    if (k === "action_mask") break;
    offset += obs.spaces[k]!.flatSize;
  }
  return { offset, n: act.n, start: act.start };
}

/**
 * A uniformly random action among those whose mask entry `mask(k)` is 1, or undefined when none
 * is.
 */
function sampleLegal(info: MaskInfo, mask: (k: number) => number, rng: Pcg32): number | undefined {
  let count = 0;
  for (let k = 0; k < info.n; k++) if (mask(k) === 1) count++;
  if (count === 0) return undefined;
  let pick = rng.nextInt(count);
  for (let k = 0; k < info.n; k++) {
    if (mask(k) === 1 && pick-- === 0) return info.start + k;
  }
  return undefined;
}

/**
 * Checks an env with seeded random rollouts, on either face:
 *
 * - batched: observation rows of alive slots and final observation rows of ended slots are valid
 *   flat encodings of the group's space; rewards are finite; flags are consistent (ACTIVE
 *   implies ALIVE, SPAWNED implies ACTIVE and ALIVE, only an alive agent ends, an alive agent
 *   does not vanish or get replaced without ending, `envDone` ends every alive agent,
 *   `envTruncated` implies `envDone`); a reward goes to an agent (a slot with none gets one only
 *   with a new agent's first observation, or when the env holds ended agents and the slot's
 *   agent ended earlier in the episode, whose slot no new agent takes before the episode ends); `envStepped`, when present, is 0 or 1 and
 *   0 for masked envs; `info`/`finalInfo`, when present, give objects or undefined; ids are
 *   stable for the life of an agent, distinct among alive agents and not reused within an
 *   episode; rows of slots that are not ACTIVE are never read as actions (they hold NaN); a
 *   masked env (`stepMask`) stays as it was; an invalid action throws, names the agent and
 *   changes nothing; the same seed gives the same trajectory. Layouts that grow
 *   (`layoutVersion`) are followed. A step may leave an env with no ACTIVE agent (RLlib steps it
 *   with no actions).
 * - dict: observations are members of their agents' spaces; rewards are finite numbers;
 *   `"__all__"` is present in `terminateds` and `truncateds` (an old-gym `dones` dict is
 *   reported as such); infos are objects; actions go only to agents in `obs` (an empty `obs`
 *   while the episode goes on is stepped with `{}`); an ended agent does not come back in the
 *   episode; a {@linkcode DictEnv} refuses an action for an agent that is not asked to act and
 *   the same seed gives the same trajectory.
 *
 * Legal-action masks (RLlib's convention): when an agent's observation space is a Dict with an
 * `action_mask` component as long as its Discrete action space, random actions are drawn only
 * among those whose mask entry is 1 (on both faces), and an acting agent whose mask allows no
 * action is reported.
 *
 * @example
 * ```ts
 * import { createWindyMaze } from "../envs/windy_maze.ts";
 * import { checkEnv } from "./check_env.ts";
 * const report = checkEnv(createWindyMaze(4), { steps: 300, seed: 1 });
 * if (report.episodes === 0) throw new Error("expected ended episodes");
 * ```
 *
 * @param env the env to check (it is reset and stepped)
 * @param opts rollout length and seed
 * @returns a report of what was checked
 * @throws {Error} listing every failed check (up to 20)
 */
export function checkEnv(
  env: BatchedEnv | MultiAgentEnv,
  opts: CheckEnvOptions = {},
): CheckEnvReport {
  const steps = opts.steps ?? 1000;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`steps must be a positive integer, got ${steps}`);
  }
  const failures = new Failures();
  const report = isBatched(env)
    ? checkBatched(env, steps, seed, failures)
    : checkDict(env, steps, seed, failures);
  if (failures.list.length > 0) {
    throw new Error(
      `checkEnv found ${failures.list.length}${
        failures.full ? "+" : ""
      } problem(s) with the ${report.face} env:\n- ${failures.list.join("\n- ")}`,
    );
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Batched face

function hashInto(h: number, words: Int32Array | Uint8Array): number {
  for (let k = 0; k < words.length; k++) h = Math.imul(h ^ words[k]!, 16777619);
  return h;
}

function i32(buf: Float32Array): Int32Array {
  return new Int32Array(buf.buffer, buf.byteOffset, buf.length);
}

/**
 * Rolls out twice with the same seed (the first time with the invalid-input probes) and checks
 * the two trajectory hashes agree.
 */
function checkTwice(
  face: CheckEnvReport["face"],
  steps: number,
  seed: number,
  fail: Failures,
  rollout: (report: CheckEnvReport, probes: boolean) => number | string,
): CheckEnvReport {
  const report: CheckEnvReport = {
    face,
    steps,
    agentSteps: 0,
    episodes: 0,
    agentIds: [],
    checks: [],
  };
  const first = rollout(report, true);
  if (fail.list.length === 0) {
    const second = rollout(report, false);
    if (first !== second) {
      fail.add(
        `same seed ${seed}, different trajectory (or a rejected invalid action changed the env): hashes ${first} and ${second}`,
      );
    } else report.checks.push("determinism");
  }
  return report;
}

function checkBatched(
  env: BatchedEnv,
  steps: number,
  seed: number,
  fail: Failures,
): CheckEnvReport {
  const report = checkTwice(
    "batched",
    steps,
    seed,
    fail,
    (r, probes) => rolloutBatched(env, steps, seed, fail, r, probes),
  );
  env.stepMask?.fill(1);
  return report;
}

function rolloutBatched(
  env: BatchedEnv,
  steps: number,
  seed: number,
  fail: Failures,
  report: CheckEnvReport,
  checking: boolean,
): number {
  const N = env.numEnvs;
  let S = env.numSlots;
  const rng = new Pcg32(seed, 7);
  let groups = env.groups;
  let envOf = new Int32Array(0), rowOf = new Int32Array(0), groupOf = new Int32Array(0);
  let version = -1, spe: number[] = [];
  const ids = new Set<string>();
  let prevFlags = new Uint8Array(S);
  let prevIds: string[] = new Array(S).fill("");
  /** 1 for a slot whose agent ended earlier in the episode and is held for late rewards. */
  let heldSlot = new Uint8Array(S);
  const endedIds: Set<string>[] = Array.from({ length: N }, () => new Set());
  let obsCopies = groups.map((g) => new Float32Array(g.obs.length));
  let masks = groups.map((g) => maskInfo(g.observationSpace, g.actionSpace));
  const mask = env.stepMask;
  const holds = env.holdsEndedAgents === true;
  /** Rebuilds the slot tables after a layout change, moving per-slot state by (group, env, j). */
  const relayout = () => {
    if ((env.layoutVersion ?? 0) === version) return;
    const oldSpe = spe, oldGroups = groups, oldFlags = prevFlags, oldIds = prevIds;
    const oldHeld = heldSlot;
    groups = env.groups;
    S = env.numSlots;
    envOf = new Int32Array(S);
    rowOf = new Int32Array(S);
    groupOf = new Int32Array(S);
    groups.forEach((g, gi) => {
      for (let r = 0; r < N * g.slotsPerEnv; r++) {
        const s = g.slotOffset + r;
        envOf[s] = Math.floor(r / g.slotsPerEnv);
        rowOf[s] = r;
        groupOf[s] = gi;
      }
    });
    prevFlags = new Uint8Array(S);
    prevIds = new Array(S).fill("");
    heldSlot = new Uint8Array(S);
    oldGroups.forEach((g, gi) => {
      if (version < 0) return;
      const ng = groups[gi]!;
      for (let e = 0; e < N; e++) {
        for (let j = 0; j < oldSpe[gi]!; j++) {
          const s0 = g.slotOffset + e * oldSpe[gi]! + j,
            s1 = ng.slotOffset + e * ng.slotsPerEnv + j;
          prevFlags[s1] = oldFlags[s0]!;
          prevIds[s1] = oldIds[s0]!;
          heldSlot[s1] = oldHeld[s0]!;
        }
      }
    });
    spe = groups.map((g) => g.slotsPerEnv);
    obsCopies = groups.map((g) => new Float32Array(g.obs.length));
    masks = groups.map((g) => maskInfo(g.observationSpace, g.actionSpace));
    version = env.layoutVersion ?? 0;
  };
  relayout();
  // What this check asked for (the env must not change its stepMask).
  const held = new Uint8Array(N);
  let h = 0x811c9dc5;
  // Hashes what the slots hold by (group, env, j), so a layout that grew hashes the same.
  const word = new Int32Array(5), rewBits = new Float32Array(1);
  const hashState = () => {
    for (let s = 0; s < S; s++) {
      const f = env.flags[s]!, r = env.rew[s]!;
      if (f === 0 && r === 0) continue;
      const g = groups[groupOf[s]!]!, size = g.observationSpace.flatSize, o = rowOf[s]! * size;
      rewBits[0] = r;
      word[0] = groupOf[s]!;
      word[1] = envOf[s]!;
      word[2] = rowOf[s]! - envOf[s]! * g.slotsPerEnv;
      word[3] = f;
      word[4] = new Int32Array(rewBits.buffer)[0]!;
      h = hashInto(h, word);
      if ((f & ALIVE) !== 0) h = hashInto(h, i32(g.obs.subarray(o, o + size)));
      if ((f & ENDED) !== 0) h = hashInto(h, i32(g.finalObs.subarray(o, o + size)));
    }
    h = hashInto(h, env.envDone);
  };
  const slotName = (s: number) =>
    `slot ${s} (group "${groups[groupOf[s]!]!.name}", env ${envOf[s]})`;
  const checkRows = (s: number, when: string) => {
    const g = groups[groupOf[s]!]!, f = env.flags[s]!;
    const size = g.observationSpace.flatSize, o = rowOf[s]! * size;
    if ((f & ALIVE) !== 0) {
      const why = explainFlat(g.observationSpace, g.obs, o);
      if (why !== undefined) fail.add(`${when}: observation of ${slotName(s)} is invalid: ${why}`);
    }
    if ((f & ENDED) !== 0) {
      const why = explainFlat(g.observationSpace, g.finalObs, o);
      if (why !== undefined) {
        fail.add(`${when}: final observation of ${slotName(s)} is invalid: ${why}`);
      }
    }
  };
  const checkInfo = (s: number, when: string) => {
    for (const [name, fn] of [["info", env.info], ["finalInfo", env.finalInfo]] as const) {
      if (fn === undefined) continue;
      const v = fn.call(env, s);
      if (v !== undefined && (typeof v !== "object" || v === null)) {
        fail.add(`${when}: ${name}(${s}) is ${JSON.stringify(v)}, expected an object or undefined`);
      }
    }
  };
  env.stepMask?.fill(1);
  env.reset(seed);
  relayout();
  heldSlot.fill(0);
  if (checking) {
    for (let s = 0; s < S; s++) {
      const f = env.flags[s]!;
      if ((f & ACTIVE) !== 0 && (f & (SPAWNED | ALIVE)) !== (SPAWNED | ALIVE)) {
        fail.add(`after reset: ACTIVE ${slotName(s)} is not flagged SPAWNED|ALIVE (flags ${f})`);
      }
      if ((f & ENDED) !== 0) fail.add(`after reset: ${slotName(s)} is flagged ended (flags ${f})`);
      checkRows(s, "after reset");
      checkInfo(s, "after reset");
    }
  }
  for (let s = 0; s < S; s++) prevIds[s] = (env.flags[s]! & ALIVE) !== 0 ? env.agentId(s) : "";
  hashState();
  for (let t = 0; t < steps && !fail.full; t++) {
    const when = `step ${t + 1}`;
    prevFlags.set(env.flags);
    // Actions: sampled for ACTIVE slots (among the legal ones when masked), NaN elsewhere.
    for (let s = 0; s < S; s++) {
      const g = groups[groupOf[s]!]!, sp = g.actionSpace, o = rowOf[s]! * sp.packedSize;
      if ((env.flags[s]! & ACTIVE) !== 0) {
        const info = masks[groupOf[s]!];
        let a: number | undefined;
        if (info !== undefined) {
          const at = rowOf[s]! * g.observationSpace.flatSize + info.offset;
          a = sampleLegal(info, (k) => g.obs[at + k]!, rng);
          if (a === undefined && checking) {
            fail.add(`${when}: the action_mask of ACTIVE ${slotName(s)} allows no action`);
          }
        }
        if (a !== undefined) g.act[o] = a;
        else sp.pack(sp.sample(rng), g.act, o);
        if (checking) report.agentSteps++;
      } else g.act.fill(NaN, o, o + sp.packedSize);
    }
    // Sometimes hold a random subset of envs still.
    let masking = false;
    if (mask !== undefined) {
      masking = N > 1 && rng.nextInt(8) === 0;
      for (let i = 0; i < N; i++) {
        mask[i] = masking && rng.nextInt(2) === 0 ? 0 : 1;
        held[i] = 1 - mask[i]!;
      }
      if (masking) groups.forEach((g, gi) => obsCopies[gi]!.set(g.obs));
    }
    // Sometimes probe that an invalid action is refused and changes nothing.
    if (checking && t % 37 === 5) probeInvalid(env, groups, groupOf, rowOf, fail, when, slotName);
    try {
      env.step();
    } catch (e) {
      fail.add(`${when}: step threw on valid actions: ${(e as Error).message}`);
      return h;
    }
    // A layout that grew moved the slots: the masked envs' copies no longer line up.
    const grew = (env.layoutVersion ?? 0) !== version;
    if (grew) relayout();
    hashState();
    for (let i = 0; i < N; i++) {
      if (env.envDone[i] === 1) {
        report.episodes += checking ? 1 : 0;
        endedIds[i]!.clear();
      }
    }
    if (!checking) continue;
    for (let i = 0; i < N; i++) {
      if (env.envTruncated[i] === 1 && env.envDone[i] !== 1) {
        fail.add(`${when}: env ${i} has envTruncated without envDone`);
      }
      const st = env.envStepped?.[i];
      if (st !== undefined && st !== 0 && st !== 1) {
        fail.add(`${when}: envStepped[${i}] is ${st}, expected 0 or 1`);
      } else if (st === 1 && held[i] === 1) {
        fail.add(`${when}: masked-out env ${i} reports envStepped 1`);
      }
    }
    for (let s = 0; s < S; s++) {
      const f = env.flags[s]!, pf = prevFlags[s]!, i = envOf[s]!;
      const r = env.rew[s]!;
      if (!Number.isFinite(r)) fail.add(`${when}: reward of ${slotName(s)} is ${r}`);
      if (held[i] === 1) {
        if (grew) continue;
        const g = groups[groupOf[s]!]!, size = g.observationSpace.flatSize;
        const o = rowOf[s]! * size;
        const copy = obsCopies[groupOf[s]!]!;
        let same = true;
        for (let k = o; k < o + size; k++) if (!Object.is(copy[k], g.obs[k])) same = false;
        if (!same || f !== (pf & (ACTIVE | ALIVE)) || r !== 0 || env.envDone[i] !== 0) {
          fail.add(`${when}: masked-out env ${i} changed at ${slotName(s)} (flags ${pf} -> ${f})`);
        }
        continue;
      }
      if ((f & ACTIVE) !== 0 && (f & ALIVE) === 0) {
        fail.add(`${when}: ${slotName(s)} is ACTIVE but not ALIVE (flags ${f})`);
      }
      if ((f & SPAWNED) !== 0 && (f & (ACTIVE | ALIVE)) !== (ACTIVE | ALIVE)) {
        fail.add(`${when}: ${slotName(s)} is SPAWNED but not ACTIVE|ALIVE (flags ${f})`);
      }
      const ended = (f & ENDED) !== 0;
      if (ended && (pf & ALIVE) === 0) {
        fail.add(`${when}: ${slotName(s)} was not ALIVE but is flagged ended (flags ${f})`);
      }
      if ((pf & ALIVE) !== 0 && !ended) {
        if ((f & ALIVE) === 0) {
          fail.add(`${when}: agent "${prevIds[s]}" in ${slotName(s)} vanished without ending`);
        } else if ((f & SPAWNED) !== 0) {
          fail.add(`${when}: ${slotName(s)} spawned over alive agent "${prevIds[s]}"`);
        }
      }
      if (env.envDone[i] === 1 && (pf & ALIVE) !== 0 && !ended) {
        fail.add(`${when}: env ${i} ended but agent "${prevIds[s]}" in ${slotName(s)} did not`);
      }
      // A slot that held no agent may carry a reward only for the agent spawned into it (it
      // came with that agent's first observation).
      if (r !== 0 && (pf & ALIVE) === 0 && heldSlot[s] === 0 && (f & SPAWNED) === 0) {
        fail.add(
          `${when}: reward ${r} for ${slotName(s)}, which holds no agent${
            holds ? " (nor an ended agent of this episode)" : ""
          }`,
        );
      }
      if (heldSlot[s] === 1 && (f & SPAWNED) !== 0 && env.envDone[i] !== 1) {
        fail.add(
          `${when}: ${slotName(s)} spawned a new agent over "${
            prevIds[s]
          }", which ended earlier in the episode and is held for late rewards`,
        );
      }
      checkRows(s, when);
      checkInfo(s, when);
      if (ended && env.envDone[i] !== 1) endedIds[i]!.add(prevIds[s]!);
    }
    // Held slots: an agent that ended before its episode did, in an env that holds them.
    for (let s = 0; s < S; s++) {
      const f = env.flags[s]!, i = envOf[s]!;
      if (held[i] === 1) continue;
      if (env.envDone[i] === 1 || (f & SPAWNED) !== 0) heldSlot[s] = 0;
      else if (holds && (f & ENDED) !== 0) heldSlot[s] = 1;
    }
    // Ids: stable while alive, distinct, fresh within an episode.
    for (let s = 0; s < S; s++) {
      const f = env.flags[s]!, i = envOf[s]!;
      if (held[i] === 1 || (f & ALIVE) === 0) {
        if ((f & ALIVE) === 0 && heldSlot[s] === 0) prevIds[s] = "";
        continue;
      }
      const id = env.agentId(s);
      if (typeof id !== "string" || id.length === 0) {
        fail.add(`${when}: agentId(${s}) of an alive agent is ${JSON.stringify(id)}`);
        continue;
      }
      if (ids.size < 50) ids.add(id);
      if ((f & SPAWNED) !== 0) {
        if (endedIds[i]!.has(id)) {
          fail.add(`${when}: id "${id}" reused in env ${i} after that agent ended this episode`);
        }
      } else if ((prevFlags[s]! & ALIVE) !== 0 && prevIds[s] !== id) {
        fail.add(`${when}: agent "${prevIds[s]}" in ${slotName(s)} changed its id to "${id}"`);
      }
      prevIds[s] = id;
    }
    for (let i = 0; i < N; i++) {
      const seen = new Set<string>();
      for (const g of groups) {
        for (let j = 0; j < g.slotsPerEnv; j++) {
          const s = g.slotOffset + i * g.slotsPerEnv + j;
          if ((env.flags[s]! & ALIVE) === 0) continue;
          if (seen.has(prevIds[s]!)) {
            fail.add(`${when}: id "${prevIds[s]}" is alive twice in env ${i}`);
          }
          seen.add(prevIds[s]!);
        }
      }
    }
  }
  if (checking) {
    report.agentIds = [...ids];
    report.checks.push(
      "observations in spaces",
      "finite rewards",
      "flag consistency",
      "agent ids",
      "non-active rows unread",
      "invalid action refused",
    );
    if (mask !== undefined && N > 1) report.checks.push("step mask");
  }
  return h;
}

function probeInvalid(
  env: BatchedEnv,
  groups: BatchedEnv["groups"],
  groupOf: Int32Array,
  rowOf: Int32Array,
  fail: Failures,
  when: string,
  slotName: (s: number) => string,
): void {
  const mask = env.stepMask;
  let s = 0;
  for (; s < env.numSlots; s++) {
    if ((env.flags[s]! & ACTIVE) === 0) continue;
    const g = groups[groupOf[s]!]!;
    const i = Math.floor(rowOf[s]! / g.slotsPerEnv);
    if (mask === undefined || mask[i] === 1) break;
  }
  if (s === env.numSlots) return;
  const g = groups[groupOf[s]!]!, o = rowOf[s]! * g.actionSpace.packedSize;
  const saved = g.act[o]!;
  const snapshot = () =>
    [
      ...groups.map((x) => Array.from(x.obs)),
      Array.from(env.rew),
      Array.from(env.flags),
      Array.from(env.envDone),
    ].flat().map((v) => Object.is(v, -0) ? 0 : v).join(",");
  const before = snapshot();
  const id = env.agentId(s);
  g.act[o] = NaN;
  let threw: Error | undefined;
  try {
    env.step();
  } catch (e) {
    threw = e as Error;
  }
  g.act[o] = saved;
  if (threw === undefined) {
    fail.add(`${when}: a NaN action for agent "${id}" in ${slotName(s)} was accepted`);
    return;
  }
  if (!threw.message.includes(id)) {
    fail.add(
      `${when}: the error for an invalid action does not name agent "${id}": ${threw.message}`,
    );
  }
  if (snapshot() !== before) {
    fail.add(`${when}: a refused invalid action for agent "${id}" changed the env's buffers`);
  }
}

// ---------------------------------------------------------------------------------------------
// Dict face

function jsonOf(x: unknown): string {
  return JSON.stringify(x, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v));
}

function checkDict(
  env: MultiAgentEnv,
  steps: number,
  seed: number,
  fail: Failures,
): CheckEnvReport {
  return checkTwice(
    "dict",
    steps,
    seed,
    fail,
    (r, probes) => rolloutDict(env, steps, seed, fail, r, probes),
  );
}

function rolloutDict(
  env: MultiAgentEnv,
  steps: number,
  seed: number,
  fail: Failures,
  report: CheckEnvReport,
  checking: boolean,
): number {
  const rng = new Pcg32(seed, 7);
  const ids = new Set<string>();
  let h = 0x811c9dc5;
  const hash = (x: unknown) => {
    const s = jsonOf(x);
    for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 16777619);
  };
  const seen = new Set<string>(), ended = new Set<string>();
  const checkObs = (obs: Record<string, SpaceValue>, when: string) => {
    if (typeof obs !== "object" || obs === null) {
      fail.add(`${when}: obs is ${jsonOf(obs)}, expected an object by agent id`);
      return false;
    }
    for (const id of Object.keys(obs)) {
      seen.add(id);
      if (ids.size < 50) ids.add(id);
      const why = env.observationSpace(id).explain(obs[id]);
      if (why !== undefined) fail.add(`${when}: observation of agent "${id}" is invalid: ${why}`);
    }
    return true;
  };
  let res = env.reset({ seed });
  hash(res.obs);
  if (checking) {
    checkObs(res.obs, "after reset");
    if (Object.keys(res.obs ?? {}).length === 0) fail.add("after reset: no agent in obs");
  }
  let obs = res.obs ?? {};
  for (let t = 0; t < steps && !fail.full; t++) {
    const when = `step ${t + 1}`;
    const actions: Record<string, SpaceValue> = {};
    for (const id of Object.keys(obs)) {
      if (ended.has(id)) continue;
      const sp = env.actionSpace(id);
      const info = maskInfo(env.observationSpace(id), sp);
      let a: number | undefined;
      if (info !== undefined) {
        const m = (obs[id] as Record<string, ArrayLike<number>> | undefined)?.action_mask;
        a = m === undefined ? undefined : sampleLegal(info, (k) => m[k]!, rng);
        if (a === undefined && checking) {
          fail.add(`${when}: the action_mask of agent "${id}" allows no action`);
        }
      }
      actions[id] = a ?? sp.sample(rng);
      if (checking) report.agentSteps++;
    }
    if (checking && env instanceof DictEnv && t % 37 === 5) {
      let threw = false;
      try {
        env.step({ ...actions, __check_env_nobody__: 0 });
      } catch {
        threw = true;
      }
      if (!threw) {
        fail.add(`${when}: an action for an agent not in obs was accepted`);
        return h;
      }
    }
    let r: StepResult;
    try {
      r = env.step(actions);
    } catch (e) {
      fail.add(`${when}: step threw on valid actions ${jsonOf(actions)}: ${(e as Error).message}`);
      return h;
    }
    hash(r);
    if (checking) {
      if (typeof r === "object" && r !== null && "dones" in r && r.terminateds === undefined) {
        fail.add(
          `${when}: step returned an old-gym "dones" dict; return "terminateds" and "truncateds" (each with "__all__") instead`,
        );
        return h;
      }
      for (const key of ["obs", "rewards", "terminateds", "truncateds"] as const) {
        if (typeof r[key] !== "object" || r[key] === null) {
          fail.add(`${when}: ${key} is ${jsonOf(r[key])}, expected an object by agent id`);
          return h;
        }
      }
      for (const key of ["terminateds", "truncateds"] as const) {
        if (typeof r[key].__all__ !== "boolean") {
          fail.add(`${when}: ${key}.__all__ is ${jsonOf(r[key].__all__)}, expected a boolean`);
        }
      }
      for (const [id, rew] of Object.entries(r.rewards)) {
        if (typeof rew !== "number" || !Number.isFinite(rew)) {
          fail.add(`${when}: reward of agent "${id}" is ${jsonOf(rew)}, expected a finite number`);
        }
      }
      for (const id of Object.keys(r.obs)) {
        if (ended.has(id)) fail.add(`${when}: agent "${id}" is back in obs after it ended`);
      }
      if (r.infos !== undefined && (typeof r.infos !== "object" || r.infos === null)) {
        fail.add(`${when}: infos is ${jsonOf(r.infos)}, expected an object by agent id`);
      }
      checkObs(r.obs, when);
    }
    for (const key of ["terminateds", "truncateds"] as const) {
      for (const [id, v] of Object.entries(r[key])) if (id !== "__all__" && v) ended.add(id);
    }
    if (r.terminateds.__all__ || r.truncateds.__all__) {
      if (checking) report.episodes++;
      seen.clear();
      ended.clear();
      res = env.reset();
      hash(res.obs);
      if (checking) {
        checkObs(res.obs, `reset after step ${t + 1}`);
        if (Object.keys(res.obs).length === 0) fail.add(`reset after ${when}: no agent in obs`);
      }
      obs = res.obs;
    } else {
      obs = r.obs;
    }
  }
  if (checking) {
    report.agentIds = [...ids];
    report.checks.push(
      "observations in spaces",
      "finite rewards",
      "__all__ present",
      "actions only for agents in obs",
      "ended agents stay ended",
    );
    if (env instanceof DictEnv) report.checks.push("unknown agent refused");
  }
  return h;
}
