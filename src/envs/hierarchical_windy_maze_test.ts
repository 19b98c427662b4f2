import assert from "node:assert/strict";
import { ACTIVE, ALIVE, SPAWNED, TERMINATED, TRUNCATED } from "../env/batched.ts";
import { checkEnv } from "../env/check_env.ts";
import { TsWindyMaze } from "../env/_test_envs.ts";
import { Hierarchy } from "../hierarchy/hierarchy.ts";
import { spacesEqual } from "../spaces.ts";
import {
  createHierarchicalWindyMaze,
  HIGH_LEVEL_ACTION_SPACE,
  HIGH_LEVEL_OBS_SPACE,
  LOW_LEVEL_ACTION_SPACE,
  LOW_LEVEL_OBS_SPACE,
  windyMazeLevels,
} from "./hierarchical_windy_maze.ts";
import { createWindyMaze } from "./windy_maze.ts";

const NORTH = 0, EAST = 1, SOUTH = 2, WEST = 3;

/** Slots of env 0 of a one-env hierarchical maze. */
const HIGH = 0, LOW = 1;

function make(opts: { seed?: number; horizon?: number } = {}): Hierarchy {
  const env = createHierarchicalWindyMaze(1, opts);
  env.reset();
  return env;
}

function basePos(env: Hierarchy, i = 0): [number, number] {
  const o = env.base.groups[0]!.obs;
  return [o[i * 6]!, o[i * 6 + 1]!];
}

function baseWind(env: Hierarchy, i = 0): number {
  const o = env.base.groups[0]!.obs;
  for (let d = 0; d < 4; d++) if (o[i * 6 + 2 + d] === 1) return d;
  throw new Error("no wind");
}

function high(env: Hierarchy, goal: number): void {
  assert.equal(env.flags[HIGH]! & ACTIVE, ACTIVE, "high_level_agent must be the one to act");
  env.groups[0]!.act[0] = goal;
  env.step();
}

function low(env: Hierarchy, action: number): void {
  assert.equal(env.flags[LOW]! & ACTIVE, ACTIVE, "the low-level agent must be the one to act");
  env.groups[1]!.act[0] = action;
  env.step();
}

/** Stays (reward 0 each) until the wind blows in direction d. */
function waitForWind(env: Hierarchy, d: number): void {
  for (let t = 0; baseWind(env) !== d; t++) {
    assert.ok(t < 150, "wind never came");
    low(env, 0);
    assert.equal(env.rew[LOW], 0, "staying earns 0");
  }
}

Deno.test("spaces match RLlib's HierarchicalWindyMazeEnv", () => {
  const env = make();
  assert.ok(spacesEqual(env.groups[0]!.observationSpace, HIGH_LEVEL_OBS_SPACE));
  assert.ok(spacesEqual(env.groups[0]!.actionSpace, HIGH_LEVEL_ACTION_SPACE));
  assert.ok(spacesEqual(env.groups[1]!.observationSpace, LOW_LEVEL_OBS_SPACE));
  assert.ok(spacesEqual(env.groups[1]!.actionSpace, LOW_LEVEL_ACTION_SPACE));
  assert.equal(String(HIGH_LEVEL_ACTION_SPACE), "Discrete(4)");
  assert.equal(LOW_LEVEL_OBS_SPACE.flatSize, 10);
  assert.equal(String(LOW_LEVEL_ACTION_SPACE), "Discrete(2)");
  assert.deepEqual(env.groups.map((g) => g.name), ["high", "low"]);
});

Deno.test("reset: only high_level_agent acts and sees the flat observation", () => {
  const env = make({ seed: 3 });
  assert.equal(env.flags[HIGH], SPAWNED | ACTIVE | ALIVE);
  assert.equal(env.flags[LOW], 0);
  assert.equal(env.agentId(HIGH), "high_level_agent");
  assert.deepEqual(
    Array.from(env.groups[0]!.obs),
    Array.from(env.base.groups[0]!.obs),
  );
  assert.deepEqual(basePos(env), [1, 1]);
});

Deno.test("a high-level step spawns low_level_1 seeing (flat obs, goal) and does not step the flat env", () => {
  const env = make({ seed: 5 });
  const twin = createWindyMaze(1, { seed: 5 });
  twin.reset();
  const before = Array.from(env.base.groups[0]!.obs);
  high(env, SOUTH);
  assert.deepEqual(Array.from(env.base.groups[0]!.obs), before, "flat obs unchanged");
  assert.equal(env.flags[LOW], SPAWNED | ACTIVE | ALIVE);
  assert.equal(env.flags[HIGH], ALIVE, "high waits");
  assert.equal(env.rew[LOW], 0);
  assert.equal(env.rew[HIGH], 0);
  assert.equal(env.envDone[0], 0);
  assert.equal(env.agentId(LOW), "low_level_1");
  assert.deepEqual(Array.from(env.groups[1]!.obs), [...before, 0, 0, 1, 0]);
  // The flat env's random stream was not touched: a twin stepped with the low actions only
  // stays identical.
  for (let t = 0; t < 10; t++) {
    low(env, t % 2);
    twin.groups[0]!.act[0] = t % 2;
    twin.step();
    assert.deepEqual(Array.from(env.base.groups[0]!.obs), Array.from(twin.groups[0]!.obs));
    // low obs = flat obs + goal one-hot; the waiting high agent's row holds the flat obs.
    assert.deepEqual(
      Array.from(env.groups[1]!.obs),
      [...Array.from(twin.groups[0]!.obs), 0, 0, 1, 0],
    );
    assert.deepEqual(Array.from(env.groups[0]!.obs), Array.from(twin.groups[0]!.obs));
    assert.equal(env.flags[HIGH], ALIVE);
    assert.equal(env.flags[LOW], ACTIVE | ALIVE);
  }
});

Deno.test("after 25 low steps the low agent terminates, high gets 0 and acts again; ids are fresh", () => {
  const env = make({ seed: 11 });
  high(env, EAST);
  for (let t = 1; t <= 25; t++) {
    low(env, 0);
    if (t < 25) {
      assert.equal(env.flags[LOW], ACTIVE | ALIVE, `step ${t}`);
      assert.equal(env.flags[HIGH], ALIVE);
    }
  }
  assert.equal(env.flags[LOW], TERMINATED, "low_level_1 terminated by the horizon");
  assert.equal(env.rew[LOW], 0);
  assert.equal(env.flags[HIGH], ACTIVE | ALIVE, "high acts again");
  assert.equal(env.rew[HIGH], 0);
  assert.equal(env.envDone[0], 0);
  assert.equal(env.agentId(LOW), "low_level_1");
  assert.deepEqual(Array.from(env.groups[1]!.finalObs.subarray(6)), [0, 1, 0, 0]);
  assert.deepEqual(Array.from(env.groups[0]!.obs), Array.from(env.base.groups[0]!.obs));
  high(env, WEST);
  assert.equal(env.agentId(LOW), "low_level_2");
  assert.equal(env.flags[LOW], SPAWNED | ACTIVE | ALIVE);
  assert.deepEqual(Array.from(env.groups[1]!.obs.subarray(6)), [0, 0, 0, 1]);
});

Deno.test("low rewards: +1 onto the goal cell, -1 elsewhere, 0 when not moving, blocked goals", () => {
  const env = make({ seed: 2, horizon: 200 });
  // At S = (1, 1) only east is open. Goal east: moving east reaches the goal cell: +1.
  high(env, EAST);
  waitForWind(env, EAST);
  low(env, 1);
  assert.deepEqual(basePos(env), [1, 2]);
  assert.equal(env.rew[LOW], 1);
  // At (1, 2), goal east = (1, 3); the wind blows west and we move: elsewhere, -1.
  waitForWind(env, WEST);
  low(env, 1);
  assert.deepEqual(basePos(env), [1, 1]);
  assert.equal(env.rew[LOW], -1);
  // Moving into a wall is not moving: 0.
  waitForWind(env, NORTH);
  low(env, 1);
  assert.deepEqual(basePos(env), [1, 1]);
  assert.equal(env.rew[LOW], 0);
  // Run the low agent out (horizon 200 here) is not needed: end it via a fresh env instead.
  const env2 = make({ seed: 4, horizon: 200 });
  // Goal north from S is blocked by a wall: the goal cell is S itself, so moving east is -1.
  high(env2, NORTH);
  waitForWind(env2, EAST);
  low(env2, 1);
  assert.deepEqual(basePos(env2), [1, 2]);
  assert.equal(env2.rew[LOW], -1);
  // Blocked goal and no move: 0.
  low(env2, 0);
  assert.equal(env2.rew[LOW], 0);
});

Deno.test("truncation after 200 flat steps ends both agents as truncated, high gets 0", () => {
  const env = make({ seed: 8 });
  let highSteps = 0, lowSteps = 0;
  for (;;) {
    if ((env.flags[HIGH]! & ACTIVE) !== 0) {
      high(env, highSteps % 4);
      highSteps++;
      assert.equal(env.agentId(LOW), `low_level_${highSteps}`);
    } else {
      low(env, 0);
      lowSteps++;
      if (env.envDone[0] === 1) break;
      if (lowSteps % 25 === 0) {
        assert.equal(env.flags[LOW], TERMINATED);
        assert.equal(env.flags[HIGH], ACTIVE | ALIVE);
      }
    }
    assert.ok(lowSteps <= 200);
  }
  assert.equal(lowSteps, 200);
  assert.equal(highSteps, 8);
  assert.equal(env.envTruncated[0], 1);
  // Both end truncated (the 8th low agent's horizon coincides: the flat end wins).
  assert.equal(env.flags[LOW], TRUNCATED);
  assert.equal(env.flags[HIGH], TRUNCATED | SPAWNED | ACTIVE | ALIVE);
  assert.equal(env.rew[HIGH], 0);
  assert.equal(env.rew[LOW], 0);
  assert.equal(env.agentId(LOW), "low_level_8");
});

/** Plays until the flat episode reaches F; returns the number of episodes it took. */
function playToFinish(env: Hierarchy, onStep: () => void): number {
  const want = (): number => {
    const [r, c] = basePos(env);
    if (r === 1 && c < 7) return EAST;
    if (c === 7 && r < 6) return SOUTH;
    return WEST;
  };
  let episodes = 1;
  for (let t = 0; t < 20 * 250; t++) {
    if ((env.flags[HIGH]! & ACTIVE) !== 0) high(env, want());
    else {
      const goal = env.groups[1]!.obs[6 + want()] === 1 ? want() : -1;
      low(env, goal >= 0 && baseWind(env) === goal ? 1 : 0);
      if (env.envDone[0] === 1) {
        if (env.envTruncated[0] === 0) return episodes;
        episodes++;
      }
    }
    onStep();
  }
  throw new Error("never reached F");
}

Deno.test("reaching F: low gets its step reward, high gets 100, both terminate, envDone, auto-reset", () => {
  const env = make({ seed: 1 });
  let goalRewards = 0;
  playToFinish(env, () => {
    if ((env.flags[LOW]! & (ACTIVE | TERMINATED)) !== 0) goalRewards += env.rew[LOW]!;
  });
  assert.equal(env.envDone[0], 1);
  assert.equal(env.envTruncated[0], 0);
  assert.equal(env.flags[LOW], TERMINATED);
  assert.equal(env.flags[HIGH], TERMINATED | SPAWNED | ACTIVE | ALIVE);
  assert.equal(env.rew[HIGH], 100);
  assert.equal(env.rew[LOW], 1, "the last move went west onto F, the goal cell");
  assert.ok(goalRewards > 0);
  // Final observations at F; the new episode starts at S with only the high agent.
  assert.deepEqual(Array.from(env.groups[0]!.finalObs.subarray(0, 2)), [6, 1]);
  assert.deepEqual(Array.from(env.groups[1]!.finalObs.subarray(0, 2)), [6, 1]);
  assert.deepEqual(Array.from(env.groups[1]!.finalObs.subarray(6)), [0, 0, 0, 1]);
  assert.deepEqual(Array.from(env.groups[0]!.obs.subarray(0, 2)), [1, 1]);
  assert.deepEqual(basePos(env), [1, 1]);
  high(env, EAST);
  assert.equal(env.agentId(LOW), "low_level_1", "ids count from 1 again in the new episode");
  assert.equal(env.envDone[0], 0);
});

Deno.test("N envs in one call: envs whose high level acts are masked out of the flat step", () => {
  const env = createHierarchicalWindyMaze(3, { seed: 21 });
  const twin = createWindyMaze(3, { seed: 21 });
  env.reset();
  twin.reset();
  // Hold env 1 still for one call so it is one level behind the others.
  env.stepMask.set([1, 0, 1]);
  env.groups[0]!.act.set([EAST, 0, SOUTH]);
  env.step();
  assert.deepEqual(Array.from(env.flags), [
    ALIVE,
    ACTIVE | ALIVE,
    ALIVE,
    SPAWNED | ACTIVE | ALIVE,
    0,
    SPAWNED | ACTIVE | ALIVE,
  ]);
  env.stepMask.fill(1);
  // Now env 0 and env 2 step the flat env (low actions), env 1 sets a goal.
  env.groups[0]!.act[1] = WEST;
  env.groups[1]!.act.set([1, 0, 1]);
  env.step();
  twin.stepMask.set([1, 0, 1]);
  twin.groups[0]!.act.set([1, 0, 1]);
  twin.step();
  assert.deepEqual(Array.from(env.base.groups[0]!.obs), Array.from(twin.groups[0]!.obs));
  assert.equal(env.flags[4], SPAWNED | ACTIVE | ALIVE);
  assert.equal(env.agentId(4), "low_level_1");
  assert.deepEqual(Array.from(env.groups[1]!.obs.subarray(10, 20).subarray(6)), [0, 0, 0, 1]);
});

Deno.test("invalid actions throw naming the agent, value and space, and change nothing", () => {
  const env = createHierarchicalWindyMaze(2, { seed: 6 });
  env.reset();
  const snapshot = () =>
    JSON.stringify([
      ...env.groups.map((g) => Array.from(g.obs)),
      Array.from(env.flags),
      Array.from(env.rew),
      Array.from(env.base.groups[0]!.obs),
    ]);
  const before = snapshot();
  for (const bad of [4, -1, 1.5, NaN]) {
    env.groups[0]!.act.set([0, bad]);
    assert.throws(() => env.step(), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /high_level_agent/);
      assert.match(e.message, /env 1/);
      assert.match(e.message, /Discrete\(4\)/);
      assert.ok(e.message.includes(Number.isNaN(bad) ? "NaN" : String(bad)));
      return true;
    });
    assert.equal(snapshot(), before);
  }
  env.groups[0]!.act.set([1, 2]);
  env.step();
  assert.equal(env.agentId(2), "low_level_1");
  assert.equal(env.agentId(3), "low_level_1");
  const before2 = snapshot();
  env.groups[1]!.act.set([1, 2]);
  assert.throws(
    () => env.step(),
    /Invalid action for agent "low_level_1" in env 1: .*Discrete\(2\), got 2/,
  );
  assert.equal(snapshot(), before2);
  env.groups[1]!.act.set([1, 0]);
  env.step();
  assert.equal(env.flags[2]! & ACTIVE, ACTIVE);
});

Deno.test("step before reset throws", () => {
  const env = createHierarchicalWindyMaze(1);
  assert.throws(() => env.step(), /before reset/);
});

Deno.test("the hierarchy over the WASM maze and over an independent TS maze agree step for step", () => {
  const a = createHierarchicalWindyMaze(4, { seed: 9 });
  const b = new Hierarchy(new TsWindyMaze(4, 9), windyMazeLevels());
  a.reset();
  b.reset();
  let x = 12345;
  for (let t = 0; t < 3000; t++) {
    for (let g = 0; g < 2; g++) {
      for (let i = 0; i < 4; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const v = (x >>> 16) % (g === 0 ? 4 : 2);
        a.groups[g]!.act[i] = v;
        b.groups[g]!.act[i] = v;
      }
    }
    a.step();
    b.step();
    assert.deepEqual(a.flags, b.flags, `flags at ${t}`);
    assert.deepEqual(a.rew, b.rew, `rew at ${t}`);
    for (let g = 0; g < 2; g++) assert.deepEqual(a.groups[g]!.obs, b.groups[g]!.obs);
    for (let s = 0; s < a.numSlots; s++) assert.equal(a.agentId(s), b.agentId(s));
  }
});

Deno.test("checkEnv passes on the hierarchical windy maze (1 and 16 envs) and on the flat maze", () => {
  checkEnv(createHierarchicalWindyMaze(1, { seed: 1 }), { steps: 600, seed: 1 });
  const r = checkEnv(createHierarchicalWindyMaze(16, { seed: 2 }), { steps: 500, seed: 2 });
  assert.ok(r.episodes > 0);
  assert.ok(r.agentIds.includes("low_level_3"));
  checkEnv(createWindyMaze(16), { steps: 500, seed: 3 });
});
