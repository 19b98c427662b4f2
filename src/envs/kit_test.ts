/**
 * Tests of the AssemblyScript env kit (`assembly/_kit.ts`) through its test env
 * `assembly/testdata/take_away.ts` (two groups, two slots per env, turns, waiting agents,
 * early ends, sequence numbers, a legality hook) and the generic loader.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ACTIVE, ALIVE, SPAWNED, TERMINATED, TRUNCATED } from "../env/batched.ts";
import { checkEnv } from "../env/check_env.ts";
import type { WasmBatchedEnv } from "../env/wasm.ts";
import { Discrete } from "../spaces.ts";
import { Pcg32 } from "../rng.ts";
import { createTakeAway, FACTS, TakeAwayTwin, type TwinView } from "./testdata/take_away.ts";

const ENDED = TERMINATED | TRUNCATED;

/** Global slots of env `i`: player 0, player 1, helper. */
function slotsOf(env: WasmBatchedEnv, i: number): number[] {
  return [2 * i, 2 * i + 1, env.groups[1]!.slotOffset + i];
}

function rowOf(env: WasmBatchedEnv, i: number, k: number, final = false): number[] {
  const g = env.groups[k < 2 ? 0 : 1]!;
  const size = g.observationSpace.flatSize;
  const r = k < 2 ? 2 * i + k : i;
  return Array.from((final ? g.finalObs : g.obs).subarray(r * size, r * size + size));
}

function assertMatches(env: WasmBatchedEnv, i: number, v: TwinView, when: string): void {
  const slots = slotsOf(env, i);
  for (let k = 0; k < 3; k++) {
    const s = slots[k]!;
    const at = `${when}, env ${i}, slot ${k}`;
    assert.equal(env.flags[s], v.flags[k], `flags at ${at}`);
    assert.equal(env.rew[s], v.rew[k], `reward at ${at}`);
    if (v.flags[k]! & ALIVE) {
      assert.equal(env.agentSeq[s], v.seq[k], `seq at ${at}`);
      assert.deepEqual(rowOf(env, i, k), v.obs[k], `obs at ${at}`);
    }
    if (v.flags[k]! & ENDED) assert.deepEqual(rowOf(env, i, k, true), v.finalObs[k], `final ${at}`);
  }
  assert.equal(env.envDone[i], v.done ? 1 : 0, `envDone at ${when}, env ${i}`);
  assert.equal(env.envTruncated[i], v.truncated ? 1 : 0, `envTruncated at ${when}, env ${i}`);
}

function snapshot(env: WasmBatchedEnv): Uint8Array {
  return new Uint8Array(env.memory.buffer).slice();
}

/** Drives `env` and the twins with random legal actions and random holds; counts events. */
function rollOut(seed: number, n: number, steps: number) {
  const env = createTakeAway(n, 3);
  const twins = Array.from({ length: n }, (_, i) => new TakeAwayTwin(seed, i));
  env.reset(seed);
  twins.forEach((t, i) => assertMatches(env, i, t.reset(), "reset"));
  const rng = new Pcg32(seed, 99);
  const players = env.groups[0]!, helpers = env.groups[1]!;
  const seen = { terminated: 0, truncated: 0, quits: 0, helperTruncations: 0, holds: 0, waits: 0 };
  for (let t = 0; t < steps; t++) {
    players.act.fill(NaN);
    helpers.act.fill(NaN);
    const moves: [number, number, number][] = [];
    for (let i = 0; i < n; i++) {
      const [p0, p1, h] = slotsOf(env, i);
      const mover = (env.flags[p0!]! & ACTIVE) !== 0 ? 0 : 1;
      assert.ok((env.flags[mover === 0 ? p1! : p0!]! & ACTIVE) === 0, "one player acts");
      const pile = rowOf(env, i, mover)[0]!;
      const take = rng.nextInt(Math.min(pile, FACTS.MAX_TAKE) + 1);
      players.act[2 * i + mover] = take;
      let quit = 0, bet = 0;
      if ((env.flags[h!]! & ACTIVE) !== 0) {
        quit = rng.nextInt(4) === 0 ? 1 : 0;
        bet = rng.nextInt(2);
        helpers.act[2 * i] = quit;
        helpers.act[2 * i + 1] = bet;
      }
      moves.push([take, quit, bet]);
      env.stepMask[i] = rng.nextInt(6) === 0 ? 0 : 1;
    }
    env.step();
    for (let i = 0; i < n; i++) {
      const v = env.stepMask[i] === 0 ? twins[i]!.hold() : twins[i]!.step(...moves[i]!);
      assertMatches(env, i, v, `step ${t + 1}`);
      if (env.stepMask[i] === 0) seen.holds++;
      if (v.done) seen[v.truncated ? "truncated" : "terminated"]++;
      if (v.flags[2]! & TERMINATED && !v.done) seen.quits++;
      if (v.flags[2]! & TRUNCATED && !v.done) seen.helperTruncations++;
      for (const f of v.flags.slice(0, 2)) if ((f & (ALIVE | ACTIVE)) === ALIVE) seen.waits++;
    }
  }
  env.stepMask.fill(1);
  return seen;
}

describe("env kit (take_away test env)", () => {
  it("lays out two groups through the generic loader", () => {
    const env = createTakeAway(3, 1);
    assert.deepEqual(env.groups.map((g) => [g.name, g.slotsPerEnv, g.slotOffset]), [
      ["player", 2, 0],
      ["helper", 1, 6],
    ]);
    assert.equal(env.numSlots, 9);
    assert.equal(env.groups[0]!.obs.length, 6 * FACTS.PLAYER_OBS);
    assert.equal(env.groups[1]!.act.length, 3 * 2);
    env.reset(1);
    // Reset empties every slot, then spawns player 0 and helper_1; player 1 is not there yet.
    for (let i = 0; i < 3; i++) {
      const [p0, p1, h] = slotsOf(env, i);
      assert.equal(env.flags[p0!], SPAWNED | ACTIVE | ALIVE);
      assert.equal(env.flags[p1!], 0);
      assert.equal(env.flags[h!], SPAWNED | ACTIVE | ALIVE);
      assert.equal(env.agentId(h!), "helper_1");
      assert.equal(env.agentId(p0!), "player_0");
    }
  });

  it("passes checkEnv (random actions kept legal by declaring Discrete(2) for players)", () => {
    for (const [n, seed] of [[1, 5], [4, 7], [8, 11]] as const) {
      const r = checkEnv(createTakeAway(n, 0, new Discrete(2)), { steps: 500, seed });
      assert.ok(r.episodes >= 5, `${r.episodes} episodes`);
      assert.ok(r.checks.includes("determinism"));
      if (n > 1) assert.ok(r.checks.includes("step mask"));
      for (const id of ["player_0", "player_1", "helper_1", "helper_2", "helper_3"]) {
        assert.ok(r.agentIds.includes(id), `${id} in ${r.agentIds}`);
      }
    }
  });

  it("follows the TypeScript twin bit for bit: turns, waiting rewards, early ends, holds", () => {
    const totals = { terminated: 0, truncated: 0, quits: 0, helperTruncations: 0, holds: 0 };
    for (const seed of [1, 2, 3]) {
      const seen = rollOut(seed, 5, 300);
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += seen[k];
      assert.ok(seen.waits > 0);
    }
    for (const [k, v] of Object.entries(totals)) assert.ok(v > 5, `${k}: ${v}`);
  });

  it("pays the waiting loser and ends both players with their final observations", () => {
    const env = createTakeAway(1, 0, undefined);
    env.reset(4);
    const [p0, p1, h] = slotsOf(env, 0);
    const [players, helpers] = env.groups;
    let lastMover = -1;
    for (let t = 0; t < 40; t++) {
      const mover = (env.flags[p0!]! & ACTIVE) !== 0 ? 0 : 1;
      const pile = rowOf(env, 0, mover)[0]!;
      players!.act.fill(NaN);
      players!.act[mover] = Math.min(pile, FACTS.MAX_TAKE);
      helpers!.act.set([0, 0]);
      env.step();
      lastMover = mover;
      if (env.envDone[0]) break;
    }
    assert.equal(env.envDone[0], 1);
    assert.equal(env.envTruncated[0], 0);
    const [winner, loser] = lastMover === 0 ? [p0!, p1!] : [p1!, p0!];
    assert.equal(env.rew[winner], FACTS.WIN_REWARD);
    assert.equal(env.rew[loser], -FACTS.WIN_REWARD, "the waiting player is paid");
    assert.ok((env.flags[winner]! & TERMINATED) !== 0);
    assert.ok((env.flags[loser]! & TERMINATED) !== 0);
    for (const k of [0, 1]) assert.equal(rowOf(env, 0, k, true)[0], 0, "final pile 0");
    assert.ok((env.flags[h!]! & TERMINATED) !== 0, "the helper ends with the episode");
    // Auto-reset: player 0 and helper_1 are back, player 1 not yet.
    assert.equal(env.flags[p0!]! & (SPAWNED | ACTIVE | ALIVE), SPAWNED | ACTIVE | ALIVE);
    assert.equal(env.flags[p1!]! & ALIVE, 0);
    assert.equal(env.agentId(h!), "helper_1");
  });

  it("refuses an illegal move by name and changes nothing", () => {
    const env = createTakeAway(2, 0);
    const twin = createTakeAway(2, 0);
    env.reset(9);
    twin.reset(9);
    const [players, helpers] = env.groups;
    // Pass until env 1's pile is below MAX_TAKE: take 1 each step in both envs.
    const play = (e: WasmBatchedEnv, take: (i: number, mover: number) => number) => {
      const [ps, hs] = e.groups;
      ps!.act.fill(NaN);
      for (let i = 0; i < 2; i++) {
        const mover = (e.flags[2 * i]! & ACTIVE) !== 0 ? 0 : 1;
        ps!.act[2 * i + mover] = take(i, mover);
      }
      hs!.act.fill(0);
      e.step();
    };
    while (rowOf(env, 1, 0)[0]! >= FACTS.MAX_TAKE || env.envDone[1]) {
      play(env, () => 1);
      play(twin, () => 1);
    }
    const mover = (env.flags[2]! & ACTIVE) !== 0 ? 0 : 1;
    const slot = 2 + mover;
    players!.act.fill(NaN);
    players!.act[(env.flags[0]! & ACTIVE) !== 0 ? 0 : 1] = 1;
    players!.act[slot] = FACTS.MAX_TAKE;
    helpers!.act.fill(0);
    // The waiting player's row and a NaN in it are never read.
    players!.act[2 + (1 - mover)] = NaN;
    const before = snapshot(env);
    assert.throws(() => env.step(), (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.equal(
        e.message,
        `Illegal action for agent "player_${mover}" (slot ${slot}, group "player" of WASM env "take_away"): ${FACTS.MAX_TAKE} is a member of Discrete(4) but the env does not allow it in its current state`,
      );
      return true;
    });
    assert.deepEqual(snapshot(env), before, "state changed after an illegal move");
    // Out of bounds in the helper's second number (slot 5) and in env 0's player: the first
    // bad slot in slot order is reported.
    const m0 = (env.flags[0]! & ACTIVE) !== 0 ? 0 : 1;
    players!.act[m0] = 4;
    helpers!.act[3] = 2;
    assert.throws(
      () => env.step(),
      new RangeError(
        `Invalid action for agent "player_${m0}" (slot ${m0}, group "player" of WASM env "take_away"): got 4, expected a member of Discrete(4) (packed as 1 number(s))`,
      ),
    );
    players!.act[m0] = 1;
    players!.act[slot] = 1;
    const before2 = snapshot(env);
    assert.throws(
      () => env.step(),
      /agent "helper_\d+" \(slot 5, group "helper".*got 2, expected a member of MultiDiscrete\(\[2, 2\]\)/,
    );
    assert.deepEqual(snapshot(env), before2);
    // Fixed, the step goes on exactly as in the twin that never saw the bad actions.
    helpers!.act.fill(0);
    players!.act[slot] = 1;
    play(twin, () => 1);
    env.step();
    assert.deepEqual(Array.from(env.flags), Array.from(twin.flags));
    assert.deepEqual(env.groups[0]!.obs, twin.groups[0]!.obs);
  });
});
