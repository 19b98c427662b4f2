import assert from "node:assert/strict";
import fc from "fast-check";
import { ALIVE } from "./batched.ts";
import { checkEnv } from "./check_env.ts";
import { DictEnv } from "./dict_face.ts";
import { deriveSeed, fromDictEnv } from "./from_dict.ts";
import type { MultiAgentEnv, StepResult } from "./multi_agent.ts";
import {
  Nim,
  ScriptedDictEnv,
  TsWindyMaze,
  WALKER_GROUPS as walkerGroups,
  Walkers,
} from "./_test_envs.ts";
import { createHierarchicalWindyMaze } from "../envs/hierarchical_windy_maze.ts";
import { createWindyMaze } from "../envs/windy_maze.ts";
import { Box, Discrete, type SpaceValue } from "../spaces.ts";

const nimGroups = [{
  name: "players",
  slotsPerEnv: 2,
  observationSpace: new Discrete(8),
  actionSpace: new Discrete(3),
}];

function plain(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v)));
}

Deno.test("flat maze: obs, rewards, truncation with final obs, step refused until reset", () => {
  const env = new DictEnv(createWindyMaze(1, { seed: 3 }));
  const { obs, infos } = env.reset();
  assert.deepEqual(Object.keys(obs), ["default_agent"]);
  assert.deepEqual(infos, {});
  const [p, wind] = obs.default_agent as [Float32Array, number];
  assert.deepEqual(Array.from(p), [1, 1]);
  assert.ok(wind >= 0 && wind < 4);
  let r: StepResult | undefined;
  for (let t = 1; t <= 200; t++) {
    r = env.step({ default_agent: 0 });
    assert.deepEqual(r.rewards, { default_agent: 0 });
    if (t < 200) {
      assert.deepEqual(r.terminateds, { __all__: false });
      assert.deepEqual(r.truncateds, { __all__: false });
    }
  }
  assert.deepEqual(r!.truncateds, { default_agent: true, __all__: true });
  assert.deepEqual(r!.terminateds, { default_agent: false, __all__: false });
  assert.deepEqual((plain(r!.obs) as { default_agent: unknown[] }).default_agent[0], [1, 1]);
  assert.throws(() => env.step({ default_agent: 0 }), /after the episode ended/);
  const again = env.reset();
  assert.deepEqual(Object.keys(again.obs), ["default_agent"]);
  env.step({ default_agent: 1 });
});

Deno.test("hierarchical maze: RLlib's sequence of dicts", () => {
  const env = new DictEnv(createHierarchicalWindyMaze(1, { seed: 2 }));
  const { obs } = env.reset({ seed: 2 });
  assert.deepEqual(Object.keys(obs), ["high_level_agent"]);
  let r = env.step({ high_level_agent: 2 });
  assert.deepEqual(Object.keys(r.obs), ["low_level_1"]);
  const [flat, goal] = r.obs.low_level_1 as [SpaceValue[], number];
  assert.equal(goal, 2);
  assert.deepEqual(plain(flat), plain(obs.high_level_agent));
  assert.equal(r.rewards.low_level_1, 0);
  assert.deepEqual(r.terminateds, { __all__: false });
  for (let t = 1; t <= 25; t++) {
    r = env.step({ low_level_1: 0 });
    assert.equal(r.rewards.low_level_1, 0);
  }
  assert.deepEqual(Object.keys(r.obs), ["high_level_agent"]);
  assert.deepEqual(r.rewards, { low_level_1: 0, high_level_agent: 0 });
  assert.deepEqual(r.terminateds, { low_level_1: true, __all__: false });
  r = env.step({ high_level_agent: 0 });
  assert.deepEqual(Object.keys(r.obs), ["low_level_2"]);
  // Stay until the flat episode is truncated: both agents end, with final observations.
  for (let k = 2; k <= 8; k++) {
    for (let t = 1; t <= 25; t++) r = env.step({ [`low_level_${k}`]: 0 });
    if (k < 8) r = env.step({ high_level_agent: 1 });
  }
  assert.deepEqual(Object.keys(r.obs).sort(), ["high_level_agent", "low_level_8"]);
  assert.deepEqual(r.truncateds, { high_level_agent: true, low_level_8: true, __all__: true });
  assert.deepEqual(r.rewards, { high_level_agent: 0, low_level_8: 0 });
  assert.equal((r.obs.low_level_8 as SpaceValue[])[1], 1);
});

/**
 * Drops zero rewards (as float32, the slot buffers' precision), keeps only true end flags: what
 * RLlib's consumers read.
 */
function normalize(r: StepResult): unknown {
  const nz = (d: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(d).filter(([, v]) => v !== 0).map(([k, v]) => [k, Math.fround(v)]),
    );
  const on = (d: Record<string, boolean>) => Object.keys(d).filter((k) => d[k] === true).sort();
  return plain({
    obs: r.obs,
    rewards: nz(r.rewards),
    terminateds: on(r.terminateds),
    truncateds: on(r.truncateds),
  });
}

function roundTrip(make: () => MultiAgentEnv, groups: typeof walkerGroups, seed: number) {
  const direct = make();
  const round = new DictEnv(fromDictEnv(make, 1, { groups, seed }));
  const a = direct.reset({ seed: deriveSeed(seed, 0) });
  const b = round.reset();
  assert.deepEqual(plain(b.obs), plain(a.obs));
  let obs = a.obs;
  let x = seed + 1;
  for (let t = 0; t < 400; t++) {
    const actions: Record<string, SpaceValue> = {};
    for (const id of Object.keys(obs)) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      actions[id] = (x >>> 16) % (direct.actionSpace(id) as Discrete).n;
    }
    const ra = direct.step(actions);
    const rb = round.step(actions);
    // The dict face reports a final observation for every agent that ended when the episode
    // ends (the last one it saw when the env gave none); otherwise the two agree exactly.
    if (ra.terminateds.__all__ || ra.truncateds.__all__) {
      for (const id of Object.keys(rb.obs)) if (!(id in ra.obs)) delete rb.obs[id];
    }
    assert.deepEqual(normalize(rb), normalize(ra), `step ${t}`);
    if (ra.terminateds.__all__ || ra.truncateds.__all__) {
      obs = direct.reset().obs;
      assert.deepEqual(plain(round.reset().obs), plain(obs));
    } else obs = ra.obs;
  }
}

Deno.test("dict -> batched -> dict is the identity: turn-based rewards to the waiting player", () => {
  roundTrip(() => new Nim(), nimGroups as typeof walkerGroups, 5);
  // The waiting player's rewards: p1 moves, p2 (waiting) earns 0.5 at once.
  const env = new DictEnv(fromDictEnv(() => new Nim(), 1, { groups: nimGroups, seed: 0 }));
  const { obs } = env.reset();
  assert.deepEqual(Object.keys(obs), ["p1"]);
  const r = env.step({ p1: 0 });
  assert.deepEqual(r.rewards, { p1: -0.25, p2: 0.5 });
  assert.deepEqual(Object.keys(r.obs), ["p2"]);
});

Deno.test("dict -> batched -> dict is the identity: agents that come, wait and end early", () => {
  for (const seed of [1, 2, 3]) roundTrip(() => new Walkers(2, 30), walkerGroups, seed);
});

/** Three players move in turn; every move gives each waiting player +1 and the mover 0. */
class RoundRobin implements MultiAgentEnv {
  #t = 0;
  #space = new Discrete(3);
  observationSpace(_id: string) {
    return this.#space;
  }
  actionSpace(_id: string) {
    return this.#space;
  }
  reset() {
    this.#t = 0;
    return { obs: { p1: 0 }, infos: {} };
  }
  step(actions: Record<string, SpaceValue>): StepResult {
    const players = ["p1", "p2", "p3"];
    const mover = players[this.#t % 3]!;
    assert.deepEqual(Object.keys(actions), [mover]);
    this.#t++;
    const rewards: Record<string, number> = {};
    for (const p of players) rewards[p] = p === mover ? 0 : 1;
    const done = this.#t === 12;
    return {
      obs: done ? {} : { [players[this.#t % 3]!]: this.#t % 3 },
      rewards,
      terminateds: { __all__: done },
      truncateds: { __all__: false },
      infos: {},
    };
  }
}

Deno.test("rewards to waiting players accumulate until they act (turn-based, both faces)", () => {
  const batched = fromDictEnv(() => new RoundRobin(), 1, {
    groups: [{
      name: "p",
      slotsPerEnv: 3,
      observationSpace: new Discrete(3),
      actionSpace: new Discrete(3),
    }],
  });
  const env = new DictEnv(batched);
  let obs = env.reset().obs;
  const since: Record<string, number> = {};
  const totals: Record<string, number> = {};
  for (let t = 0; t < 12; t++) {
    const mover = Object.keys(obs)[0]!;
    // Once every player has appeared, each one has earned exactly 2 while it waited.
    if (t >= 3) assert.equal(since[mover], 2, `${mover} before its move at ${t}`);
    since[mover] = 0;
    const r = env.step({ [mover]: 0 });
    for (const [id, v] of Object.entries(r.rewards)) {
      since[id] = (since[id] ?? 0) + v;
      totals[id] = (totals[id] ?? 0) + v;
    }
    // Batched face: waiting players' slots are ALIVE without ACTIVE and hold their +1.
    for (let s = 0; s < 3; s++) {
      const id = batched.agentId(s);
      if (id === "" || id === mover || id in r.obs) continue;
      assert.equal(batched.flags[s], ALIVE, `slot of ${id} waits`);
      assert.equal(batched.rew[s], 1);
    }
    if (r.terminateds.__all__) break;
    obs = r.obs;
  }
  // Every reward of the episode is delivered: 12 moves, 2 waiting players each.
  assert.equal(Object.values(totals).reduce((a, b) => a + b, 0), 24);
});

Deno.test("a waiting agent's rewards land in its slot at every step (dict and batched agree)", () => {
  const batched = fromDictEnv(() => new Walkers(2, 60), 1, { groups: walkerGroups, seed: 4 });
  const env = new DictEnv(batched);
  let obs = env.reset().obs;
  let sawWaitingReward = false;
  for (let t = 0; t < 60; t++) {
    const actions: Record<string, SpaceValue> = {};
    for (const id of Object.keys(obs)) actions[id] = 1;
    const r = env.step(actions);
    if (!("watcher" in actions) && (r.rewards.watcher ?? 0) !== 0) sawWaitingReward = true;
    assert.equal(batched.rew[0], Math.fround(r.rewards.watcher ?? 0));
    if (r.truncateds.__all__) break;
    obs = r.obs;
  }
  assert.ok(sawWaitingReward, "the watcher earned while waiting");
});

Deno.test("bad inputs: each error names the agent, value and expectation, and changes nothing", () => {
  const make = () => new DictEnv(createHierarchicalWindyMaze(1, { seed: 7 }));
  const env = make(), twin = make();
  assert.throws(() => env.step({ high_level_agent: 0 }), /before reset/);
  env.reset();
  twin.reset();
  const cases: [Record<string, SpaceValue> | null, RegExp][] = [
    [
      { low_level_1: 1 },
      /Agent "low_level_1" is not asked to act, got action 1; expected actions for "high_level_agent"/,
    ],
    [{ high_level_agent: 1, ghost: 0 }, /Agent "ghost" is not asked to act/],
    [{}, /Missing action for agent "high_level_agent": expected a member of Discrete\(4\)/],
    [
      { high_level_agent: 4 },
      /Invalid action 4 for agent "high_level_agent": expected an integer in \[0, 3\] for Discrete\(4\), got 4/,
    ],
    [{ high_level_agent: NaN }, /Invalid action NaN for agent "high_level_agent".*got NaN/],
    [{ high_level_agent: 1.5 }, /Invalid action 1.5/],
    [{ high_level_agent: [1] }, /Invalid action \[1\]/],
    [null, /Expected an object of actions by agent id, got null/],
  ];
  for (const [actions, re] of cases) {
    assert.throws(() => env.step(actions as Record<string, SpaceValue>), re);
  }
  // The env is as it was: the next valid call matches a twin that saw only valid calls.
  const a = env.step({ high_level_agent: 3 }), b = twin.step({ high_level_agent: 3 });
  assert.deepEqual(plain(a), plain(b));
  assert.throws(
    () => env.step({ low_level_1: 2 }),
    /Invalid action 2 for agent "low_level_1".*Discrete\(2\)/,
  );
  assert.deepEqual(plain(env.step({ low_level_1: 1 })), plain(twin.step({ low_level_1: 1 })));
});

Deno.test("property: mixed valid and invalid action streams; invalid ones throw and change nothing", () => {
  const ids = ["high_level_agent", "low_level_1", "low_level_2", "ghost"];
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 10_000 }),
      fc.array(
        fc.oneof(
          fc.record({ kind: fc.constant("valid" as const), value: fc.integer({ min: 0, max: 3 }) }),
          fc.record({
            kind: fc.constant("any" as const),
            id: fc.constantFrom(...ids),
            value: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.constant(NaN), fc.double()),
            extra: fc.boolean(),
          }),
        ),
        { minLength: 1, maxLength: 200 },
      ),
      (seed, stream) => {
        const env = new DictEnv(createHierarchicalWindyMaze(1, { seed }));
        const twin = new DictEnv(createHierarchicalWindyMaze(1, { seed }));
        let obs = env.reset().obs;
        twin.reset();
        for (const item of stream) {
          const acting = Object.keys(obs);
          const space = env.actionSpace(acting[0]!) as Discrete;
          let actions: Record<string, SpaceValue>;
          if (item.kind === "valid") actions = { [acting[0]!]: item.value % space.n };
          else {
            actions = { [item.id]: item.value };
            if (item.extra) actions[acting[0]!] = 0;
          }
          const valid = Object.keys(actions).length === 1 && acting[0]! in actions &&
            space.contains(actions[acting[0]!]);
          if (!valid) {
            assert.throws(() => env.step(actions));
            continue;
          }
          const r = env.step(actions), rt = twin.step(actions);
          assert.deepEqual(plain(r), plain(rt));
          if (r.terminateds.__all__ || r.truncateds.__all__) {
            obs = env.reset().obs;
            twin.reset();
          } else obs = r.obs;
        }
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("spaces by agent id; groupOf resolves ids not in the env now", () => {
  const flat = new DictEnv(createWindyMaze(1));
  assert.equal(String(flat.actionSpace("anyone")), "Discrete(2)");
  const hier = new DictEnv(createHierarchicalWindyMaze(1));
  hier.reset();
  assert.equal(String(hier.actionSpace("high_level_agent")), "Discrete(4)");
  assert.throws(() => hier.observationSpace("low_level_9"), /Unknown agent "low_level_9"/);
  const resolved = new DictEnv(createHierarchicalWindyMaze(1), {
    groupOf: (id) => (id.startsWith("low_level_") ? "low" : "high"),
  });
  assert.equal(resolved.observationSpace("low_level_9").flatSize, 10);
  const wrong = new DictEnv(createHierarchicalWindyMaze(1), { groupOf: () => "middle" });
  assert.throws(() => wrong.actionSpace("x"), /returned "middle", expected one of "high", "low"/);
});

Deno.test("a batched env with several instances: only env 0 steps; no stepMask is refused", () => {
  const base = new TsWindyMaze(3, 1);
  const env = new DictEnv(base);
  env.reset();
  const others = Array.from(base.groups[0]!.obs.subarray(6));
  for (let t = 0; t < 50; t++) env.step({ default_agent: 1 });
  assert.deepEqual(Array.from(base.groups[0]!.obs.subarray(6)), others);
  assert.equal(base.steps[1], 0);
  const noMask = Object.create(base, { stepMask: { value: undefined } });
  assert.throws(() => new DictEnv(noMask), /one instance or a stepMask/);
});

Deno.test("checkEnv passes on the dict face of every env", () => {
  checkEnv(new DictEnv(createWindyMaze(1)), { steps: 500, seed: 1 });
  checkEnv(new DictEnv(createHierarchicalWindyMaze(1)), { steps: 800, seed: 1 });
  checkEnv(new DictEnv(fromDictEnv(() => new Walkers(), 1, { groups: walkerGroups })), {
    steps: 500,
  });
  checkEnv(new DictEnv(fromDictEnv(() => new Nim(), 2, { groups: nimGroups })), { steps: 500 });
  checkEnv(new Nim(), { steps: 300 });
  checkEnv(new Walkers(), { steps: 300 });
});

Deno.test("RLlib's rules through the dict face: late rewards, empty obs, first-obs rewards, infos, growing slots", () => {
  const inner = new ScriptedDictEnv({ a: [1] }, [
    { obs: { a: [2], b: [10] }, rewards: { a: 1, b: 3 }, infos: { a: { k: 1 }, b: { k: 2 } } },
    { obs: { b: [11] }, rewards: { a: 2 }, terminateds: { a: true, __all__: false } },
    { obs: {}, rewards: { a: 4, b: 1 } },
    { obs: { c: [5] }, rewards: { b: 2, c: 7 } },
    {
      obs: { b: [12], c: [6] },
      rewards: { a: 8 },
      terminateds: { __all__: true },
      infos: { c: { k: "end" } },
    },
  ], { a: { k: 0 } });
  const env = new DictEnv(
    fromDictEnv(() => inner, 1, {
      groups: [{
        name: "all",
        observationSpace: new Box(0, 99, [1]),
        actionSpace: new Discrete(2),
      }],
    }),
  );
  const r0 = env.reset();
  assert.deepEqual(plain(r0), { obs: { a: [1] }, infos: { a: { k: 0 } } });
  const r1 = env.step({ a: 0 });
  assert.deepEqual(plain(r1.obs), { a: [2], b: [10] });
  // b's first observation comes with its reward 3.
  assert.deepEqual(r1.rewards, { a: 1, b: 3 });
  assert.deepEqual(r1.infos, { a: { k: 1 }, b: { k: 2 } });
  const r2 = env.step({ a: 1, b: 1 });
  assert.deepEqual(r2.terminateds, { a: true, __all__: false });
  assert.deepEqual(r2.rewards, { a: 2, b: 0 });
  const r3 = env.step({ b: 0 });
  // Nobody is asked to act; a, which ended, is still paid.
  assert.deepEqual(plain(r3.obs), {});
  assert.deepEqual(r3.rewards, { a: 4, b: 1 });
  assert.throws(() => env.step({ b: 0 }), /Agent "b" is not asked to act/);
  const r4 = env.step({});
  assert.deepEqual(inner.got.at(-1), {});
  assert.deepEqual(plain(r4.obs), { c: [5] });
  assert.deepEqual(r4.rewards, { b: 2, c: 7 });
  // Every agent took a new slot: the group grew from 1 to 2 to 4 per env; the face followed.
  assert.equal(env.env.layoutVersion, 2);
  assert.equal(env.env.groups[0]!.slotsPerEnv, 4);
  const r5 = env.step({ c: 1 });
  assert.deepEqual(r5.terminateds, { b: true, c: true, __all__: true });
  assert.deepEqual(r5.rewards, { a: 8, b: 0, c: 0 });
  assert.deepEqual(plain(r5.obs), { b: [12], c: [6] });
  assert.deepEqual(r5.infos, { c: { k: "end" } });
});
