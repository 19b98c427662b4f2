import assert from "node:assert/strict";
import { ACTIVE, ALIVE, SPAWNED, TERMINATED, TRUNCATED } from "./batched.ts";
import { checkEnv } from "./check_env.ts";
import { deriveSeed, type DictGroupSpec, fromDictEnv } from "./from_dict.ts";
import type { DoneDict } from "./multi_agent.ts";
import { Nim, ScriptedDictEnv, type ScriptedStep, WALKER_GROUPS, Walkers } from "./_test_envs.ts";
import { Box, Discrete, type SpaceValue } from "../spaces.ts";

const D2 = new Discrete(2);

const walkerGroups: DictGroupSpec[] = WALKER_GROUPS;

type Out = ScriptedStep;

const done = (d: Record<string, boolean> = {}, all = false) => ({ ...d, __all__: all }) as DoneDict;

function scripted(first: Record<string, SpaceValue>, outs: Out[], slots = 2) {
  const envs: ScriptedDictEnv[] = [];
  const env = fromDictEnv((i) => (envs[i] = new ScriptedDictEnv(first, outs)), 1, {
    groups: [{
      name: "a",
      slotsPerEnv: slots,
      observationSpace: new Box(0, 9, [1]),
      actionSpace: D2,
    }],
  });
  return { env, inner: envs[0]! };
}

Deno.test("slots: a fresh one per agent of the episode, grown on demand; ended agents keep theirs", () => {
  const { env, inner } = scripted({ x: [1] }, [
    { obs: { x: [2], y: [3] }, rewards: { x: 1 } },
    { obs: { y: [4] }, rewards: { x: 2, y: 0.5 }, terminateds: done({ x: true }) },
    { obs: { z: [5] }, rewards: { y: -1, z: 0.25 } },
    { obs: { z: [6] }, rewards: { x: 3 } },
  ], 2);
  env.reset();
  assert.deepEqual(Array.from(env.flags), [SPAWNED | ACTIVE | ALIVE, 0]);
  assert.equal(env.agentId(0), "x");
  assert.equal(env.agentId(1), "");
  env.groups[0]!.act.set([1, 0]);
  env.step();
  assert.deepEqual(inner.got[0], { x: 1 });
  assert.deepEqual(Array.from(env.flags), [ACTIVE | ALIVE, SPAWNED | ACTIVE | ALIVE]);
  assert.deepEqual([env.agentId(0), env.agentId(1)], ["x", "y"]);
  assert.deepEqual(Array.from(env.rew), [1, 0]);
  assert.deepEqual(Array.from(env.groups[0]!.obs), [2, 3]);
  assert.deepEqual(Array.from(env.envStepped), [1]);
  env.groups[0]!.act.set([0, 1]);
  env.step();
  assert.deepEqual(inner.got[1], { x: 0, y: 1 });
  assert.deepEqual(Array.from(env.flags), [TERMINATED, ACTIVE | ALIVE]);
  assert.deepEqual(Array.from(env.rew), [2, 0.5]);
  // x got no final observation: its last one (2) is kept.
  assert.equal(env.groups[0]!.finalObs[0], 2);
  assert.equal(env.layoutVersion, 0);
  env.groups[0]!.act.set([NaN, 1]);
  env.step();
  // x keeps its slot (it may still be paid); z gets a new one: the group grew to 4 per env.
  assert.deepEqual(inner.got[2], { y: 1 });
  assert.equal(env.layoutVersion, 1);
  assert.equal(env.numSlots, 4);
  assert.equal(env.groups[0]!.slotsPerEnv, 4);
  assert.deepEqual(Array.from(env.flags), [0, ALIVE, SPAWNED | ACTIVE | ALIVE, 0]);
  assert.deepEqual([0, 1, 2].map((s) => env.agentId(s)), ["x", "y", "z"]);
  // z's reward came with its first observation; y waits and is paid.
  assert.deepEqual(Array.from(env.rew), [0, -1, 0.25, 0]);
  assert.deepEqual(Array.from(env.groups[0]!.obs).slice(0, 3), [2, 4, 5]);
  env.groups[0]!.act.set([NaN, NaN, 0, NaN]);
  env.step();
  assert.deepEqual(inner.got[3], { z: 0 });
  // A late reward to x, which ended two steps ago, lands in its slot.
  assert.deepEqual(Array.from(env.rew), [3, 0, 0, 0]);
  assert.deepEqual(Array.from(env.flags), [0, ALIVE, ACTIVE | ALIVE, 0]);
  assert.equal(env.holdsEndedAgents, true);
});

Deno.test("a step with no agent to act steps the env with {}; an agent that never acts is paid", () => {
  const { env, inner } = scripted({ x: [1], y: [1] }, [
    { obs: {}, rewards: { x: 1 } },
    { obs: { y: [2] }, rewards: { x: 2, y: 1 } },
  ]);
  env.reset();
  env.groups[0]!.act.set([0, 1]);
  env.step();
  assert.deepEqual(Array.from(env.flags), [ALIVE, ALIVE]);
  env.step();
  assert.deepEqual(inner.got[1], {}, "the env is stepped with an empty action dict");
  assert.deepEqual(Array.from(env.flags), [ALIVE, ACTIVE | ALIVE]);
  assert.deepEqual(Array.from(env.rew), [2, 1]);
});

Deno.test("infos: per agent with its observation, and with its final observation", () => {
  const { env } = scripted({ x: [1] }, [
    { obs: { x: [2] }, infos: { x: { hp: 3 } } },
    { obs: { x: [3] }, terminateds: done({ x: true }, true), infos: { x: { hp: 0 } } },
  ]);
  env.reset();
  assert.equal(env.info(0), undefined);
  env.step();
  assert.deepEqual(env.info(0), { hp: 3 });
  env.step();
  assert.deepEqual(env.finalInfo(0), { hp: 0 });
});

Deno.test("episode end: every agent ends, final obs from obs, envDone, auto-reset without a seed", () => {
  const { env, inner } = scripted({ x: [1], y: [1] }, [
    { obs: { x: [7] }, rewards: { x: 1, y: 2 }, truncateds: done({}, true) },
  ]);
  env.reset(5);
  assert.deepEqual(inner.resets, [deriveSeed(5, 0)]);
  env.step();
  assert.equal(env.envDone[0], 1);
  assert.equal(env.envTruncated[0], 1);
  assert.deepEqual(Array.from(env.flags), [
    TRUNCATED | SPAWNED | ACTIVE | ALIVE,
    TRUNCATED | SPAWNED | ACTIVE | ALIVE,
  ]);
  assert.deepEqual(Array.from(env.rew), [1, 2]);
  assert.deepEqual(Array.from(env.groups[0]!.finalObs), [7, 1]);
  assert.deepEqual(Array.from(env.groups[0]!.obs), [1, 1]);
  assert.deepEqual(inner.resets, [deriveSeed(5, 0), undefined]);
});

Deno.test("per-env seeding: env i is reset with deriveSeed(seed, i); reset() continues", () => {
  const batched = fromDictEnv(() => new Walkers(2, 40), 3, { groups: walkerGroups, seed: 9 });
  batched.reset();
  for (let i = 0; i < 3; i++) {
    const direct = new Walkers(2, 40);
    const { obs } = direct.reset({ seed: deriveSeed(9, i) });
    const g = batched.groups[1]!;
    const alive = [0, 1].filter((j) => (batched.flags[g.slotOffset + i * 2 + j]! & ALIVE) !== 0);
    assert.deepEqual(
      alive.map((j) => batched.agentId(g.slotOffset + i * 2 + j)),
      Object.keys(obs).filter((id) => id !== "watcher"),
    );
  }
  const seeds: number[] = [];
  const spy = fromDictEnv(
    () => {
      const w = new Walkers();
      return {
        observationSpace: (id) => w.observationSpace(id),
        actionSpace: (id) => w.actionSpace(id),
        reset: (opts) => {
          seeds.push(opts?.seed ?? -1);
          return w.reset(opts);
        },
        step: (a) => w.step(a),
      };
    },
    2,
    { groups: walkerGroups, seed: 3 },
  );
  spy.reset();
  spy.reset();
  spy.reset(4);
  assert.deepEqual(seeds, [
    deriveSeed(3, 0),
    deriveSeed(3, 1),
    -1,
    -1,
    deriveSeed(4, 0),
    deriveSeed(4, 1),
  ]);
});

Deno.test("invalid actions are refused before any env steps; masked envs are not stepped", () => {
  const batched = fromDictEnv(() => new Nim(), 2, {
    groups: [{
      name: "players",
      slotsPerEnv: 2,
      observationSpace: new Discrete(8),
      actionSpace: new Discrete(3),
    }],
  });
  batched.reset(1);
  const snap = () =>
    JSON.stringify([Array.from(batched.flags), Array.from(batched.groups[0]!.obs)]);
  const before = snap();
  batched.groups[0]!.act.set([0, 0, 3, 0]);
  assert.throws(
    () => batched.step(),
    /Invalid action for agent "p1" in env 1: expected an integer in \[0, 2\] for Discrete\(3\), got 3/,
  );
  assert.equal(snap(), before);
  batched.groups[0]!.act.set([0, 0, 1, 0]);
  batched.stepMask.set([0, 1]);
  batched.step();
  assert.deepEqual(Array.from(batched.flags.subarray(0, 2)), [ACTIVE | ALIVE, 0]);
  assert.equal(batched.agentId(3), "p2", "env 1 stepped: p2 appeared");
  assert.equal(batched.agentId(1), "", "env 0 held still");
});

Deno.test("misbehaving envs get errors naming the env, agent and problem", () => {
  const cases: [Record<string, SpaceValue>, Out[], RegExp, number?][] = [
    [
      { x: [1] },
      [{ obs: { x: [10] } }],
      /Env 0 emitted an invalid observation for agent "x": expected element 0 in \[0, 9\]/,
    ],
    [
      { x: [1] },
      [{ obs: { x: [1] }, rewards: { x: NaN } }],
      /Env 0 emitted reward NaN for agent "x", expected a finite number/,
    ],
    [
      { x: [1] },
      [{ obs: { x: [1] }, terminateds: {} as DoneDict }],
      /Env 0 step returned terminateds \{\}, expected an object with a boolean "__all__"/,
    ],
    [
      { x: [1] },
      [{ obs: { x: [1] }, dones: { __all__: false }, terminateds: undefined } as unknown as Out],
      /Env 0 step returned a "dones" dict \(the old gym API\): return "terminateds" and "truncateds"/,
    ],
    [
      { x: [1] },
      [{ obs: { y: [1] }, terminateds: done({ x: true }) }, { obs: { x: [1] } }],
      /observation for agent "x" at step, but that agent ended earlier in the episode/,
    ],
    [
      { x: ["a"] as unknown as SpaceValue },
      [],
      /Env 0 emitted an invalid observation for agent "x"/,
    ],
  ];
  for (const [first, outs, re] of cases) {
    const { env } = scripted(first, outs);
    assert.throws(() => {
      env.reset();
      env.step();
      env.step();
    }, re);
  }
  const twoGroups = fromDictEnv(() => new ScriptedDictEnv({ q: [1] }, []), 1, {
    groups: [
      {
        name: "a",
        slotsPerEnv: 1,
        observationSpace: new Box(0, 9, [1]),
        actionSpace: D2,
        match: (id) => id === "a",
      },
      {
        name: "b",
        slotsPerEnv: 1,
        observationSpace: new Box(0, 9, [1]),
        actionSpace: D2,
        match: (id) => id === "b",
      },
    ],
  });
  assert.throws(
    () => twoGroups.reset(),
    /Env 0 emitted agent "q", which no group matches; groups: "a", "b"/,
  );
  const byName = fromDictEnv(() => new ScriptedDictEnv({ q: [1] }, []), 1, {
    groups: [{ name: "a", slotsPerEnv: 1, observationSpace: new Box(0, 9, [1]), actionSpace: D2 }],
    groupOf: () => "nope",
  });
  assert.throws(() => byName.reset(), /groupOf returned "nope", expected one of "a"/);
  assert.throws(() => scripted({ x: [1] }, []).env.step(), /before reset/);
  assert.throws(
    () => fromDictEnv(() => new Nim(), 0, { groups: [] }),
    /numEnvs must be a positive integer, got 0/,
  );
});

Deno.test("checkEnv passes on batches of plain-TS dict envs", () => {
  const r = checkEnv(fromDictEnv(() => new Walkers(2, 30), 4, { groups: walkerGroups }), {
    steps: 400,
    seed: 2,
  });
  assert.ok(r.episodes > 0);
  assert.ok(r.agentIds.includes("w_3"));
  checkEnv(
    fromDictEnv(() => new Nim(), 3, {
      groups: [{
        name: "players",
        slotsPerEnv: 2,
        observationSpace: new Discrete(8),
        actionSpace: new Discrete(3),
      }],
    }),
    { steps: 300 },
  );
});
