import assert from "node:assert/strict";
import fc from "fast-check";
import { ACTIVE, ALIVE, SPAWNED, TERMINATED, TRUNCATED } from "../env/batched.ts";
import { checkEnv } from "../env/check_env.ts";
import { DictEnv } from "../env/dict_face.ts";
import { moveInMaze, TsWindyMaze } from "../env/_test_envs.ts";
import {
  createThreeLevelWindyMaze,
  goalDirectionReward,
  threeLevelWindyMazeLevels,
  windyMazeLevels,
} from "../envs/hierarchical_windy_maze.ts";
import { createWindyMaze } from "../envs/windy_maze.ts";
import { Box, Discrete } from "../spaces.ts";
import { Hierarchy, type LevelReward } from "./hierarchy.ts";

const NORTH = 0, EAST = 1, SOUTH = 2, WEST = 3;
const TOP = 0, MID = 1, LOW = 2;

/** The reference goal reward, from positions. */
function refReward(before: [number, number], after: [number, number], goal: number): number {
  if (before[0] === after[0] && before[1] === after[1]) return 0;
  const g = moveInMaze(before[0], before[1], goal);
  return after[0] === g[0] && after[1] === g[1] ? 1 : -1;
}

function pos(env: Hierarchy): [number, number] {
  const o = env.base.groups[0]!.obs;
  return [o[0]!, o[1]!];
}

function act(env: Hierarchy, level: number, a: number): void {
  assert.equal(env.activeLevel(0), level, `level ${level} should act`);
  assert.equal(env.flags[level]! & ACTIVE, ACTIVE);
  env.groups[level]!.act[0] = a;
  env.step();
}

Deno.test("three levels: top goal spawns mid_level_n, mid goals spawn low_level_n, control returns up", () => {
  const env = createThreeLevelWindyMaze(1, { seed: 4, midHorizon: 2, lowHorizon: 3 });
  env.reset();
  assert.deepEqual(env.groups.map((g) => g.name), ["top", "mid", "low"]);
  assert.deepEqual(env.groups.map((g) => g.observationSpace.flatSize), [6, 10, 14]);
  assert.deepEqual(Array.from(env.flags), [SPAWNED | ACTIVE | ALIVE, 0, 0]);
  assert.equal(env.agentId(TOP), "top_level_agent");
  const flat0 = Array.from(env.base.groups[0]!.obs);

  act(env, TOP, EAST);
  assert.deepEqual(Array.from(env.flags), [ALIVE, SPAWNED | ACTIVE | ALIVE, 0]);
  assert.equal(env.agentId(MID), "mid_level_1");
  assert.deepEqual(Array.from(env.groups[MID]!.obs), [...flat0, 0, 1, 0, 0]);
  assert.deepEqual(Array.from(env.base.groups[0]!.obs), flat0, "flat env not stepped");

  act(env, MID, SOUTH);
  assert.deepEqual(Array.from(env.flags), [ALIVE, ALIVE, SPAWNED | ACTIVE | ALIVE]);
  assert.equal(env.agentId(LOW), "low_level_1");
  assert.deepEqual(Array.from(env.groups[LOW]!.obs), [...flat0, 0, 1, 0, 0, 0, 0, 1, 0]);
  assert.deepEqual(Array.from(env.base.groups[0]!.obs), flat0, "flat env not stepped");

  // Low steps: low rewarded for following the mid goal (south), mid for the top goal (east).
  let midReward = 0;
  for (let t = 1; t <= 3; t++) {
    const before = pos(env);
    act(env, LOW, 1);
    const after = pos(env);
    assert.equal(env.rew[LOW], refReward(before, after, SOUTH));
    midReward += refReward(before, after, EAST);
    // Waiting agents' rows hold the current flat obs plus their goals.
    const flat = Array.from(env.base.groups[0]!.obs);
    assert.deepEqual(Array.from(env.groups[TOP]!.obs), flat);
    assert.deepEqual(Array.from(env.groups[MID]!.obs), [...flat, 0, 1, 0, 0]);
    if (t < 3) assert.deepEqual(Array.from(env.flags), [ALIVE, ALIVE, ACTIVE | ALIVE]);
  }
  assert.deepEqual(Array.from(env.flags), [ALIVE, ACTIVE | ALIVE, TERMINATED]);
  assert.equal(env.rew[MID], midReward, "mid gets its rewards accumulated while it waited");
  assert.equal(env.rew[TOP], 0);

  act(env, MID, NORTH);
  assert.equal(env.agentId(LOW), "low_level_2");
  assert.equal(env.agentId(MID), "mid_level_1");
  midReward = 0;
  for (let t = 1; t <= 3; t++) {
    const before = pos(env);
    act(env, LOW, t === 2 ? 0 : 1);
    midReward += refReward(before, pos(env), EAST);
  }
  // The mid agent issued its 2 goals: it ends with the low agent; the top acts again.
  assert.deepEqual(Array.from(env.flags), [ACTIVE | ALIVE, TERMINATED, TERMINATED]);
  assert.equal(env.rew[MID], midReward);
  assert.equal(env.rew[TOP], 0);
  assert.equal(env.activeLevel(0), TOP);

  act(env, TOP, WEST);
  assert.equal(env.agentId(MID), "mid_level_2");
  act(env, MID, EAST);
  assert.equal(env.agentId(LOW), "low_level_3", "low ids count over the whole episode");
});

Deno.test("three levels: the flat end ends all three agents; top gets the flat reward", () => {
  const env = createThreeLevelWindyMaze(1, { seed: 1, midHorizon: 2, lowHorizon: 5 });
  env.reset();
  let steps = 0;
  while (env.envDone[0] === 0) {
    const l = env.activeLevel(0);
    env.groups[l]!.act[0] = l === LOW ? 0 : steps % 4;
    env.step();
    steps++;
    assert.ok(steps < 1000);
  }
  // Staying forever: truncated after 200 flat steps.
  assert.equal(env.envTruncated[0], 1);
  assert.equal(env.flags[TOP], TRUNCATED | SPAWNED | ACTIVE | ALIVE);
  assert.equal(env.flags[MID], TRUNCATED);
  assert.equal(env.flags[LOW], TRUNCATED);
  assert.deepEqual(Array.from(env.rew), [0, 0, 0]);
  // 200 flat steps = 40 low agents of 5 steps = 20 mid agents of 2 goals.
  assert.equal(env.agentId(LOW), "low_level_40");
  assert.equal(env.agentId(MID), "mid_level_20");
  assert.equal(steps, 200 + 40 + 20);
});

Deno.test("checkEnv passes on the three-level maze, batched and through the dict face", () => {
  checkEnv(createThreeLevelWindyMaze(8, { seed: 3 }), { steps: 800, seed: 3 });
  checkEnv(new DictEnv(createThreeLevelWindyMaze(1, { seed: 3 })), { steps: 800, seed: 3 });
});

Deno.test("rewards route per level: waiting levels accumulate, custom reward functions get offsets", () => {
  const calls: number[][] = [];
  const spy: LevelReward = (env, prev, cur, o, goals, g, r) => {
    calls.push([env, o, g, g >= 0 ? goals[g]! : -1, prev[o]!, cur[o]!, r]);
    return goalDirectionReward(env, prev, cur, o, goals, g, r);
  };
  const env = new Hierarchy(new TsWindyMaze(2, 7), [
    // The top level earns 1 per flat step: it accumulates while waiting.
    { name: "high", agentId: "boss", actionSpace: new Discrete(4), reward: () => 1 },
    { name: "low", agentId: "worker_{n}", horizon: 4, reward: spy },
  ]);
  env.reset();
  env.groups[0]!.act.set([EAST, SOUTH]);
  env.step();
  for (let t = 0; t < 4; t++) {
    env.groups[1]!.act.set([1, 1]);
    env.step();
  }
  assert.deepEqual(Array.from(env.flags), [ACTIVE | ALIVE, ACTIVE | ALIVE, TERMINATED, TERMINATED]);
  assert.deepEqual(Array.from(env.rew.subarray(0, 2)), [4, 4]);
  assert.equal(calls.length, 8);
  // env 1: obs offset 6 (6 floats per flat row), goal offset 1 (one packed goal per env).
  assert.deepEqual(calls[1]!.slice(0, 4), [1, 6, 1, SOUTH]);
  assert.deepEqual(calls[0]!.slice(0, 4), [0, 0, 0, EAST]);
  assert.equal(env.agentId(2), "worker_1");
  assert.equal(env.agentId(0), "boss");
});

Deno.test("agent ids are cached strings (no allocation per call)", () => {
  const env = new Hierarchy(new TsWindyMaze(1), [
    { name: "high", agentId: "high_level_agent", actionSpace: new Discrete(4) },
    { name: "low", agentId: (n) => `low_level_${n}`, horizon: 2 },
  ]);
  env.reset();
  env.step();
  const a = env.agentId(1);
  assert.equal(a, "low_level_1");
  assert.ok(Object.is(a, env.agentId(1)));
  assert.throws(() => env.agentId(2), /Slot must be an integer in \[0, 2\)/);
});

Deno.test("Box goals: flattened into the lower obs, validated (NaN, bounds)", () => {
  const goal = new Box(-1, 1, [2]);
  const env = new Hierarchy(new TsWindyMaze(1), [
    { name: "high", agentId: "planner", actionSpace: goal },
    { name: "low", agentId: "doer_{n}", horizon: 3 },
  ]);
  env.reset();
  assert.equal(env.groups[1]!.observationSpace.flatSize, 8);
  for (const bad of [[NaN, 0], [0, 1.5]]) {
    env.groups[0]!.act.set(bad);
    assert.throws(
      () => env.step(),
      /Invalid action for agent "planner" in env 0: .*Box\(-1, 1, \[2\]\)/,
    );
  }
  env.groups[0]!.act.set([0.5, -0.25]);
  env.step();
  assert.deepEqual(Array.from(env.groups[1]!.obs.subarray(6)), [0.5, -0.25]);
  checkEnv(env, { steps: 300 });
});

Deno.test("constructor errors are clear", () => {
  const base = () => new TsWindyMaze(1);
  const levels = windyMazeLevels();
  assert.throws(() => new Hierarchy(base(), levels.slice(0, 1)), /at least two levels, got 1/);
  assert.throws(
    () => new Hierarchy(base(), [levels[0]!, { ...levels[1]!, horizon: 0 }]),
    /Level "low" needs a horizon, a positive integer, got 0/,
  );
  assert.throws(
    () => new Hierarchy(base(), [levels[0]!, { ...levels[1]!, agentId: "low" }]),
    /fresh id per agent.*got "low"/,
  );
  assert.throws(
    () => new Hierarchy(base(), [{ ...levels[0]!, horizon: 5 }, levels[1]!]),
    /top level "high" ends only with the episode/,
  );
  assert.throws(
    () => new Hierarchy(base(), [{ name: "high", agentId: "h" }, levels[1]!]),
    /Level "high" needs an actionSpace/,
  );
  assert.throws(
    () => new Hierarchy(base(), [levels[0]!, { ...levels[1]!, actionSpace: new Discrete(3) }]),
    /expected actionSpace Discrete\(2\), got Discrete\(3\)/,
  );
  assert.throws(
    () => new Hierarchy(base(), [levels[0]!, { ...levels[1]!, name: "high" }]),
    /unique, got "high" twice/,
  );
  const noMask = base() as unknown as Record<string, unknown>;
  const masked = Object.create(noMask, { stepMask: { value: undefined } });
  assert.throws(() => new Hierarchy(masked, levels), /stepMask, got none/);
  const inner = new Hierarchy(base(), levels);
  assert.throws(() => new Hierarchy(inner, levels), /one slot group of one slot per env/);
});

Deno.test("property: random valid and invalid action streams; invalid ones change nothing", () => {
  const levels = threeLevelWindyMazeLevels(2, 3);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1000 }),
      fc.array(
        fc.record({
          env: fc.integer({ min: 0, max: 2 }),
          value: fc.oneof(
            fc.integer({ min: 0, max: 3 }),
            fc.constantFrom(NaN, -1, 4, 2.5, Infinity),
          ),
        }),
        { minLength: 1, maxLength: 300 },
      ),
      (seed, stream) => {
        const a = new Hierarchy(createWindyMaze(3, { seed }), levels);
        const twin = new Hierarchy(createWindyMaze(3, { seed }), levels);
        a.reset();
        twin.reset();
        for (const { env, value } of stream) {
          // All envs get action 0 except the one the stream picks.
          for (const e of [a, twin]) for (const g of e.groups) g.act.fill(0);
          const l = a.activeLevel(env);
          const n = a.groups[l]!.actionSpace as Discrete;
          a.groups[l]!.act[env] = value;
          const valid = Number.isInteger(value) && value >= 0 && value < n.n;
          if (valid) {
            twin.groups[l]!.act[env] = value;
            a.step();
            twin.step();
          } else {
            const before = JSON.stringify([Array.from(a.flags), Array.from(a.rew)]);
            assert.throws(() => a.step(), RangeError);
            assert.equal(JSON.stringify([Array.from(a.flags), Array.from(a.rew)]), before);
          }
          assert.deepEqual(a.flags, twin.flags);
          assert.deepEqual(a.rew, twin.rew);
          for (let g = 0; g < 3; g++) assert.deepEqual(a.groups[g]!.obs, twin.groups[g]!.obs);
        }
      },
    ),
    { numRuns: 40 },
  );
});

/**
 * A scripted episode in both timelines: every low-level action is "stay", the low level gets 1
 * per base step, the high level 10 per base step (custom reward functions), horizon 3.
 * Returns, per step call: who acted, envStepped, and the rewards delivered.
 */
function scriptedTimeline(timeline: "alternating" | "overlapping", calls: number) {
  const env = new Hierarchy(
    new TsWindyMaze(1, 0),
    [
      { name: "high", agentId: "high_level_agent", actionSpace: new Discrete(4), reward: () => 10 },
      { name: "low", agentId: "low_level_{n}", horizon: 3, reward: () => 1 },
    ],
    { timeline },
  );
  env.reset(1);
  const log: { acted: string; stepped: number; rew: [number, number]; flags: number[] }[] = [];
  for (let k = 0; k < calls; k++) {
    const l = env.activeLevel(0);
    const acted = env.agentId(l);
    env.groups[l]!.act[0] = l === 0 ? EAST : 0;
    env.step();
    log.push({
      acted,
      stepped: env.envStepped[0]!,
      rew: [env.rew[0]!, env.rew[1]!],
      flags: Array.from(env.flags),
    });
  }
  return log;
}

Deno.test("timelines: who acts, which calls are env steps, and where rewards go, in both modes", () => {
  for (const timeline of ["alternating", "overlapping"] as const) {
    const log = scriptedTimeline(timeline, 9);
    // Agent ids and order are the same in both timelines.
    assert.deepEqual(log.map((x) => x.acted), [
      "high_level_agent",
      "low_level_1",
      "low_level_1",
      "low_level_1",
      "high_level_agent",
      "low_level_2",
      "low_level_2",
      "low_level_2",
      "high_level_agent",
    ]);
    // A decision is an env step of its own only in the alternating timeline.
    const d = timeline === "alternating" ? 1 : 0;
    assert.deepEqual(log.map((x) => x.stepped), [d, 1, 1, 1, d, 1, 1, 1, d], timeline);
    // Reward routing: the low agent gets its own per step; the high agent gets 10 per base step
    // of its goal when it acts again, with the low agent's end.
    assert.deepEqual(log.map((x) => x.rew), [
      [0, 0],
      [0, 1],
      [0, 1],
      [30, 1],
      [0, 0],
      [0, 1],
      [0, 1],
      [30, 1],
      [0, 0],
    ]);
    assert.deepEqual(log[3]!.flags, [ACTIVE | ALIVE, TERMINATED]);
    assert.deepEqual(log[4]!.flags, [ALIVE, SPAWNED | ACTIVE | ALIVE]);
  }
});

Deno.test("timelines: episode length and env steps count decisions only when alternating", () => {
  const counts = (timeline: "alternating" | "overlapping", levels: 2 | 3) => {
    const env = levels === 2
      ? new Hierarchy(new TsWindyMaze(1, 0), windyMazeLevels(3), { timeline })
      : new Hierarchy(new TsWindyMaze(1, 0), threeLevelWindyMazeLevels(2, 2), { timeline });
    env.reset(1);
    let calls = 0, stepped = 0, decisions = 0;
    while (env.envDone[0] === 0) {
      const l = env.activeLevel(0);
      if (l < levels - 1) decisions++;
      env.groups[l]!.act[0] = l === levels - 1 ? 0 : EAST; // stay: truncated after 200
      env.step();
      calls++;
      stepped += env.envStepped[0]!;
    }
    assert.equal(env.envTruncated[0], 1);
    return { calls, stepped, decisions };
  };
  // Two levels, horizon 3: 200 base steps need 67 decisions.
  assert.deepEqual(counts("alternating", 2), { calls: 267, stepped: 267, decisions: 67 });
  assert.deepEqual(counts("overlapping", 2), { calls: 267, stepped: 200, decisions: 67 });
  // Three levels, 2 goals per mid agent, 2 steps per low agent: 100 low agents, 50 mid agents.
  assert.deepEqual(counts("alternating", 3), { calls: 350, stepped: 350, decisions: 150 });
  assert.deepEqual(counts("overlapping", 3), { calls: 350, stepped: 200, decisions: 150 });
  assert.throws(
    () =>
      new Hierarchy(new TsWindyMaze(1, 0), windyMazeLevels(), {
        timeline: "sideways" as "alternating",
      }),
    /timeline must be "alternating" or "overlapping", got "sideways"/,
  );
});

// ---------------------------------------------------------------------------------------------
// Saved states (checkpoints)

/** Steps with seeded random actions of every ACTIVE slot; returns what the env showed. */
function rollout(env: Hierarchy, rngSeed: number, steps: number): number[] {
  let x = rngSeed;
  const trace: number[] = [];
  for (let t = 0; t < steps; t++) {
    for (let l = 0; l < env.groups.length; l++) {
      const g = env.groups[l]!, n = (g.actionSpace as Discrete).n;
      for (let i = 0; i < env.numEnvs; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        g.act[i] = (x >>> 16) % n;
      }
    }
    env.step();
    trace.push(...env.rew, ...env.flags, ...env.envDone, ...env.envStepped);
    for (const g of env.groups) trace.push(...g.obs, ...g.finalObs);
    for (let s = 0; s < env.numSlots; s++) trace.push(env.agentId(s).length);
  }
  return trace;
}

Deno.test("saveState/loadState: a restored hierarchy (and its WASM base) continues exactly", () => {
  const a = createThreeLevelWindyMaze(5, { seed: 8, midHorizon: 2, lowHorizon: 3 });
  a.reset();
  rollout(a, 1, 37);
  const state = a.saveState!();
  const ids = Array.from({ length: a.numSlots }, (_, s) => a.agentId(s));
  const expected = rollout(a, 2, 120);

  // A fresh hierarchy built the same way, never reset, picks up from the state.
  const b = createThreeLevelWindyMaze(5, { seed: 999, midHorizon: 2, lowHorizon: 3 });
  b.loadState!(state);
  assert.deepEqual(Array.from({ length: b.numSlots }, (_, s) => b.agentId(s)), ids);
  assert.deepEqual(rollout(b, 2, 120), expected);
  // Loading into the env that moved on rewinds it.
  a.loadState!(state);
  assert.deepEqual(rollout(a, 2, 120), expected);
});

Deno.test("saveState/loadState: a state of another shape is refused and nothing changes", () => {
  const a = createThreeLevelWindyMaze(3, { seed: 1 });
  a.reset();
  const other = createThreeLevelWindyMaze(4, { seed: 1 });
  other.reset();
  const before = a.saveState!();
  assert.throws(() => a.loadState!(other.saveState!()), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /does not fit this hierarchy|envs/);
    return true;
  });
  const twoLevels = new Hierarchy(createWindyMaze(3, { seed: 1 }), windyMazeLevels());
  twoLevels.reset();
  assert.throws(() => a.loadState!(twoLevels.saveState!()), RangeError);
  assert.throws(() => a.loadState!(new Uint8Array([1, 2, 3])), RangeError);
  assert.deepEqual(a.saveState!(), before, "a refused state changed the env");
  // The WASM base refuses another env's state by name.
  assert.throws(() => a.base.loadState!(a.saveState!()), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /windy_maze/);
    return true;
  });
});

Deno.test("saveState: only over a base env that can save its state", () => {
  const overTs = new Hierarchy(new TsWindyMaze(2, 1), windyMazeLevels());
  assert.equal(overTs.saveState, undefined);
  assert.equal(overTs.loadState, undefined);
  const overWasm = new Hierarchy(createWindyMaze(2, { seed: 1 }), windyMazeLevels());
  assert.equal(typeof overWasm.saveState, "function");
});
