/**
 * The collector on its own (no model, no algorithm): RLlib's multi-agent reward rules on a
 * scripted episode with hand-computed rows, and every episode metric against an independent
 * recount over many random episodes.
 */

import assert from "node:assert/strict";
import { Collector, type CollectorOptions, type PolicyMappingFn } from "./collector.ts";
import { ENDED_TERMINATED } from "./buffer.ts";
import { ALIVE, type BatchedEnv, SPAWNED, TERMINATED, TRUNCATED } from "../env/batched.ts";
import { fromDictEnv } from "../env/from_dict.ts";
import { Nim, ScriptedDictEnv, TsWindyMaze, WALKER_GROUPS, Walkers } from "../env/_test_envs.ts";
import { Hierarchy } from "../hierarchy/hierarchy.ts";
import { RandomPolicy, ScriptedPolicy } from "../policy/policy.ts";
import { Box, Discrete } from "../spaces.ts";
import { createHierarchicalWindyMaze, windyMazeLevels } from "../envs/hierarchical_windy_maze.ts";

const ONE = new Box(0, 99, [1]);

function collector(
  env: BatchedEnv,
  policyIds: string[],
  map: PolicyMappingFn,
  fragmentLength: number,
  random = false,
  extra: Partial<CollectorOptions> = {},
): Collector {
  return new Collector({
    env,
    policyIds,
    policyMappingFn: map,
    fragmentLength,
    seed: 3,
    resolvePolicy: (_p, g) => ({
      policy: random
        ? new RandomPolicy(g.observationSpace.flatSize, g.actionSpace)
        : new ScriptedPolicy(g.observationSpace.flatSize, g.actionSpace, () => 1),
      record: { columns: random ? ["action_logp", "vf_preds"] : [] },
    }),
    ...extra,
  });
}

Deno.test("a scripted episode: late rewards, first-observation rewards, a step with nobody to act, infos", () => {
  const inner = new ScriptedDictEnv({ a: [1] }, [
    // 1: a acts; b appears, paid 3 with its first observation.
    {
      obs: { a: [2], b: [10] },
      rewards: { a: 1, b: 3 },
      infos: { a: { k: 1 }, b: { k: "b0" } },
    },
    // 2: a and b act; a terminates without an observation while the episode goes on.
    { obs: { b: [11] }, rewards: { a: 2, b: 0.5 }, terminateds: { a: true, __all__: false } },
    // 3: b acts; nobody is asked to act next; a is paid after it ended.
    { obs: {}, rewards: { a: 4, b: 1 } },
    // 4: stepped with {}; b acts next.
    { obs: { b: [12] }, rewards: { b: 2 } },
    // 5: b acts; the episode ends; a is paid once more.
    {
      obs: { b: [13] },
      rewards: { a: 8, b: 1 },
      terminateds: { __all__: true },
      infos: { b: { k: "end" } },
    },
  ]);
  const env = fromDictEnv(() => inner, 1, {
    groups: [{ name: "all", observationSpace: ONE, actionSpace: new Discrete(2) }],
  });
  const c = collector(env, ["p"], () => "p", 5);
  c.collect();
  assert.deepEqual(inner.got, [{ a: 1 }, { a: 1, b: 1 }, { b: 1 }, {}, { b: 1 }]);
  const b = c.buffer(0)!.compact();
  assert.equal(b.count, 5, "every row closed: a's held row was released when the episode ended");
  assert.deepEqual(b.agent_ids, ["a", "a", "b", "b", "b"]);
  assert.deepEqual(Array.from(b.obs.subarray(0, 5)), [1, 2, 10, 11, 12]);
  // a ended without an observation: its last one stands for the final one.
  assert.deepEqual(Array.from(b.new_obs.subarray(0, 5)), [2, 2, 11, 12, 13]);
  // a's last transition got 2 + the late 4 and 8; b's first-observation 3 is in no row.
  assert.deepEqual(Array.from(b.rewards.subarray(0, 5)), [1, 14, 0.5, 3, 1]);
  assert.deepEqual(Array.from(b.terminateds.subarray(0, 5)), [0, 1, 0, 0, 1]);
  assert.deepEqual(Array.from(b.truncateds.subarray(0, 5)), [0, 0, 0, 0, 0]);
  // t: env steps since the episode began; step 4 had nobody to act.
  assert.deepEqual(Array.from(b.t.subarray(0, 5)), [0, 1, 1, 2, 4]);
  assert.deepEqual(Array.from(b.eps_id.subarray(0, 5)), [0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(b.agent_index.subarray(0, 5)), [0, 0, 1, 1, 1]);
  assert.deepEqual(b.infos, [{ k: 1 }, {}, {}, {}, { k: "end" }]);
  assert.deepEqual(Array.from(b.actions.subarray(0, 5)), [1, 1, 1, 1, 1]);
  const m = c.takeIterationCounts();
  assert.equal(m.episodes_total, 1);
  // The return counts every reward, the first-observation one included: 1+3+2+.5+4+1+2+8+1.
  assert.equal(m.episode_reward_mean, 22.5);
  assert.equal(m.episode_len_mean, 5);
  // Per agent-episode (RLlib): a 15, b 7.5; the per-episode module sum 22.5.
  assert.equal(m.policy_reward_mean.p, 11.25);
  assert.equal(m.policy_reward_min.p, 7.5);
  assert.equal(m.policy_reward_max.p, 15);
  assert.equal(m.module_episode_returns_mean.p, 22.5);
  assert.equal(c.envSteps, 5);
  assert.deepEqual(Array.from(c.agentSteps), [5]);
});

Deno.test("a held row waits across fragments until its episode ends, collecting late rewards", () => {
  const inner = new ScriptedDictEnv({ a: [1], b: [1] }, [
    { obs: { b: [2] }, rewards: { a: 1 }, terminateds: { a: true, __all__: false } },
    { obs: { b: [3] }, rewards: { a: 2 } },
    { obs: { b: [4] }, rewards: { a: 4 } },
    { obs: { b: [5] }, rewards: { a: 8 }, truncateds: { __all__: true } },
  ]);
  const env = fromDictEnv(() => inner, 1, {
    groups: [{ name: "all", observationSpace: ONE, actionSpace: new Discrete(2) }],
  });
  const c = collector(env, ["p"], () => "p", 2);
  c.collect();
  const buf = c.buffer(0)!;
  // After two steps a's only row ended but is held: not closed, not compacted.
  assert.equal(buf.state[0], ENDED_TERMINATED);
  assert.equal(buf.held[0], 1);
  assert.ok(!buf.compact().agent_ids.includes("a"));
  c.collect();
  const b = buf.compact();
  const i = b.agent_ids.indexOf("a");
  assert.ok(i >= 0, "released at the episode's end");
  assert.equal(b.rewards[i], 1 + 2 + 4 + 8);
  assert.equal(b.terminateds[i], 1);
  assert.equal(c.takeIterationCounts().episode_reward_mean, 15);
});

/**
 * Recounts episodes from what a batched env reports, written apart from the collector: each
 * reward in a slot belongs to the agent the slot held before the step (alive or, in an env that
 * holds them, ended earlier in the episode), else to the agent spawned into it; each agent's
 * policy comes from the mapping function; an episode's length counts the steps that advanced
 * it.
 */
class Recount {
  readonly episodes: { ret: number; len: number; agents: Map<string, number>[] }[] = [];
  #held: string[] = [];
  #ret: number[] = [];
  #len: number[] = [];
  #agents: Map<string, number>[][] = [];
  readonly #policies: number;
  readonly #policyOf: (id: string) => number;
  constructor(readonly env: BatchedEnv, policies: number, policyOf: (id: string) => number) {
    this.#policies = policies;
    this.#policyOf = policyOf;
  }
  #envOf(s: number): number {
    const g = this.env.groups.findLast((g) => s >= g.slotOffset)!;
    return Math.floor((s - g.slotOffset) / g.slotsPerEnv);
  }
  #pay(e: number, id: string, r: number): void {
    const m = this.#agents[e]![this.#policyOf(id)]!;
    m.set(id, (m.get(id) ?? 0) + r);
  }
  afterReset(): void {
    const env = this.env, N = env.numEnvs;
    this.#ret = new Array(N).fill(0);
    this.#len = new Array(N).fill(0);
    this.#agents = Array.from(
      { length: N },
      () => Array.from({ length: this.#policies }, () => new Map()),
    );
    this.#held = new Array(env.numSlots).fill("");
    for (let s = 0; s < env.numSlots; s++) {
      if (env.flags[s]! & ALIVE) {
        this.#held[s] = env.agentId(s);
        this.#pay(this.#envOf(s), this.#held[s]!, 0);
      }
    }
  }
  /** Before a step: the agent each slot holds, by slot identity across layout changes. */
  beforeStep(): Map<string, string> {
    const out = new Map<string, string>();
    this.env.groups.forEach((g, gi) => {
      for (let r = 0; r < this.env.numEnvs * g.slotsPerEnv; r++) {
        const id = this.#held[g.slotOffset + r];
        if (id) {
          out.set(`${gi}/${Math.floor(r / g.slotsPerEnv)}/${r % g.slotsPerEnv}`, id);
        }
      }
    });
    return out;
  }
  afterStep(before: Map<string, string>): void {
    const env = this.env, N = env.numEnvs, holds = env.holdsEndedAgents === true;
    const held: string[] = new Array(env.numSlots).fill("");
    env.groups.forEach((g, gi) => {
      for (let r = 0; r < N * g.slotsPerEnv; r++) {
        const key = `${gi}/${Math.floor(r / g.slotsPerEnv)}/${r % g.slotsPerEnv}`;
        held[g.slotOffset + r] = before.get(key) ?? "";
      }
    });
    for (let e = 0; e < N; e++) this.#len[e]! += env.envStepped?.[e] ?? 1;
    for (let s = 0; s < env.numSlots; s++) {
      const e = this.#envOf(s), r = env.rew[s]!, f = env.flags[s]!;
      const owner = held[s] !== "" ? held[s]! : (f & SPAWNED ? env.agentId(s) : "");
      if (r !== 0) {
        assert.ok(owner !== "", `a reward ${r} in slot ${s} with no agent`);
        this.#ret[e]! += r;
      }
      if (held[s] !== "") {
        this.#pay(e, held[s]!, r);
        if ((f & (TERMINATED | TRUNCATED)) !== 0 && !holds) held[s] = "";
      }
    }
    for (let e = 0; e < N; e++) {
      if (env.envDone[e] !== 1) continue;
      this.episodes.push({ ret: this.#ret[e]!, len: this.#len[e]!, agents: this.#agents[e]! });
      this.#ret[e] = 0;
      this.#len[e] = 0;
      this.#agents[e] = Array.from({ length: this.#policies }, () => new Map());
      env.groups.forEach((g) => {
        for (let j = 0; j < g.slotsPerEnv; j++) held[g.slotOffset + e * g.slotsPerEnv + j] = "";
      });
    }
    for (let s = 0; s < env.numSlots; s++) {
      const f = env.flags[s]!;
      if ((f & SPAWNED) === 0) continue;
      const e = this.#envOf(s), id = env.agentId(s);
      // A reward in a slot that held nobody came with this agent's first observation.
      if (held[s] === "" && env.rew[s] !== 0 && env.envDone[e] !== 1) this.#pay(e, id, env.rew[s]!);
      else this.#pay(e, id, 0);
      held[s] = id;
    }
    this.#held = held;
  }
}

/** Steps `c` one fragment at a time while recounting; returns the recount. */
function runWithRecount(
  env: BatchedEnv,
  c: Collector,
  policies: string[],
  map: (id: string) => string,
  fragments: number,
): Recount {
  const rc = new Recount(env, policies.length, (id) => policies.indexOf(map(id)));
  // Wrap the env's step and reset, so the recount sees every step the collector makes.
  const reset = env.reset.bind(env), step = env.step.bind(env);
  env.reset = (seed?: number) => {
    reset(seed);
    rc.afterReset();
  };
  env.step = () => {
    const before = rc.beforeStep();
    step();
    rc.afterStep(before);
  };
  for (let f = 0; f < fragments; f++) c.collect();
  return rc;
}

/** RLlib's metrics over the last `window` episodes of a recount. */
function expected(rc: Recount, policies: string[], window: number) {
  const eps = rc.episodes.slice(-window);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const out = {
    episode_reward_mean: mean(eps.map((e) => e.ret)),
    episode_reward_min: Math.min(...eps.map((e) => e.ret)),
    episode_reward_max: Math.max(...eps.map((e) => e.ret)),
    episode_len_mean: mean(eps.map((e) => e.len)),
    policy_reward_mean: {} as Record<string, number>,
    policy_reward_min: {} as Record<string, number>,
    policy_reward_max: {} as Record<string, number>,
    module_episode_returns_mean: {} as Record<string, number>,
  };
  policies.forEach((id, p) => {
    const agentReturns = eps.flatMap((e) => [...e.agents[p]!.values()]);
    const sums = eps.filter((e) => e.agents[p]!.size > 0).map((e) =>
      [...e.agents[p]!.values()].reduce((a, b) => a + b, 0)
    );
    if (agentReturns.length === 0) return;
    out.policy_reward_mean[id] = mean(agentReturns);
    out.policy_reward_min[id] = Math.min(...agentReturns);
    out.policy_reward_max[id] = Math.max(...agentReturns);
    out.module_episode_returns_mean[id] = mean(sums);
  });
  return { out, episodes: rc.episodes.length };
}

function assertClose(actual: Record<string, unknown>, want: Record<string, unknown>, what: string) {
  for (const [k, v] of Object.entries(want)) {
    if (typeof v === "number") {
      assert.ok(
        Math.abs((actual[k] as number) - v) < 1e-6 * Math.max(1, Math.abs(v)),
        `${what} ${k}: ${actual[k]} vs recount ${v}`,
      );
    } else {
      const got = actual[k] as Record<string, unknown>, w = v as Record<string, unknown>;
      assert.deepEqual(Object.keys(got).sort(), Object.keys(w).sort(), `${what} ${k} policies`);
      assertClose(got, w, `${what} ${k}`);
    }
  }
}

Deno.test("episode metrics equal an independent recount over many episodes", async (t) => {
  const cases: {
    name: string;
    env: () => BatchedEnv;
    policies: string[];
    map: (id: string) => string;
    window?: number;
  }[] = [
    {
      name: "hierarchical windy maze (two groups, decisions, truncations)",
      env: () => createHierarchicalWindyMaze(64, { seed: 2 }),
      policies: ["high", "low"],
      map: (id) => id.startsWith("low_level_") ? "low" : "high",
    },
    {
      name: "hierarchical windy maze, overlapping timeline",
      env: () => createHierarchicalWindyMaze(64, { seed: 2, timeline: "overlapping" }),
      policies: ["high", "low"],
      map: (id) => id.startsWith("low_level_") ? "low" : "high",
    },
    {
      name: "walkers (agents come and go, a waiting watcher is paid, slots grow)",
      env: () => fromDictEnv(() => new Walkers(2, 30), 6, { groups: WALKER_GROUPS, seed: 4 }),
      policies: ["walker", "watcher"],
      map: (id) => id === "watcher" ? "watcher" : "walker",
      window: 37,
    },
    {
      name: "nim (turn-based, rewards to the waiting player)",
      env: () =>
        fromDictEnv(() => new Nim(), 5, {
          groups: [{
            name: "players",
            observationSpace: new Discrete(8),
            actionSpace: new Discrete(3),
          }],
          seed: 5,
        }),
      policies: ["first", "second"],
      map: (id) => id === "p1" ? "first" : "second",
    },
  ];
  for (const k of cases) {
    await t.step(k.name, () => {
      const env = k.env();
      const window = k.window ?? 100;
      const c = collector(env, k.policies, k.map, 50, true, { smoothingWindow: window });
      const rc = runWithRecount(env, c, k.policies, k.map, 12);
      const m = c.takeIterationCounts();
      const { out, episodes } = expected(rc, k.policies, window);
      assert.ok(episodes > window, `${k.name}: only ${episodes} episodes`);
      assert.equal(m.episodes_total, episodes);
      assert.equal(m.episodes_in_window, window);
      assertClose(m as unknown as Record<string, unknown>, out, k.name);
    });
  }
});

Deno.test("hierarchy timelines through the collector: the t column and episode lengths", () => {
  for (const timeline of ["alternating", "overlapping"] as const) {
    const env = new Hierarchy(new TsWindyMaze(1, 0), windyMazeLevels(3), { timeline });
    const c = new Collector({
      env,
      policyIds: ["high", "low"],
      policyMappingFn: (id) => id.startsWith("low_level_") ? "low" : "high",
      fragmentLength: 300,
      seed: 1,
      resolvePolicy: (p, g) => ({
        // High: east; low: stay, so the episode is truncated after 200 base steps.
        policy: new ScriptedPolicy(
          g.observationSpace.flatSize,
          g.actionSpace,
          () => p === 0 ? 1 : 0,
        ),
        record: { columns: [] },
      }),
    });
    c.collect();
    const high = c.buffer(0)!.compact(), low = c.buffer(1)!.compact();
    const first = (b: typeof high, n: number) => Array.from(b.t.subarray(0, n));
    if (timeline === "alternating") {
      assert.deepEqual(first(high, 3), [0, 4, 8]);
      assert.deepEqual(first(low, 6), [1, 2, 3, 5, 6, 7]);
    } else {
      // The decision shares its env step with the low level's first action.
      assert.deepEqual(first(high, 3), [0, 3, 6]);
      assert.deepEqual(first(low, 6), [0, 1, 2, 3, 4, 5]);
    }
    assert.deepEqual(low.agent_ids.slice(0, 4), [
      "low_level_1",
      "low_level_1",
      "low_level_1",
      "low_level_2",
    ]);
    const m = c.takeIterationCounts();
    assert.equal(m.episodes_total, 1, timeline);
    assert.equal(m.episode_len_mean, timeline === "alternating" ? 267 : 200, timeline);
    // 300 calls: 267 for the first episode (67 decisions) and 33 of the next (9 decisions).
    assert.equal(c.envSteps, timeline === "alternating" ? 300 : 300 - 67 - 9, timeline);
  }
});

Deno.test("getState/setState: with the env's state, a new collector continues exactly; a state that does not fit is refused", () => {
  const make = () => createHierarchicalWindyMaze(3, { seed: 5 });
  const map: PolicyMappingFn = (id) => id.startsWith("low_") ? "low" : "high";
  const trace = (c: Collector, fragments: number) => {
    const out: unknown[] = [];
    for (let f = 0; f < fragments; f++) {
      c.collect();
      for (let p = 0; p < 2; p++) {
        const b = c.buffer(p)!.compact();
        out.push(b.count, [...b.obs.subarray(0, b.count * 6)], [...b.rewards.subarray(0, b.count)]);
        out.push([...b.eps_id.subarray(0, b.count)], [...b.t.subarray(0, b.count)], b.agent_ids);
      }
      out.push(c.takeIterationCounts(), c.envSteps, [...c.agentSteps]);
    }
    return JSON.stringify(out);
  };
  const envA = make();
  const a = collector(envA, ["high", "low"], map, 7, true);
  trace(a, 3);
  const state = a.getState(true), envState = envA.saveState!();
  assert.ok(state.live !== undefined && state.resolved.length === 2);
  const expected = trace(a, 4);

  const envB = make();
  const b = collector(envB, ["high", "low"], map, 7, true);
  envB.loadState!(envState);
  b.setState(state);
  assert.equal(trace(b, 4), expected);

  // Without the env's state: counters and stream go on, the env is reset with the given seed.
  const c = collector(make(), ["high", "low"], map, 7, true);
  const { live: _, ...counters } = state;
  c.setState(counters, 42);
  c.collect();
  assert.equal(c.envSteps, state.envSteps + 3 * 7);
  const ids = c.buffer(0)!.epsId.subarray(0, c.buffer(0)!.size);
  assert.ok(ids.length > 0 && ids.every((id) => id >= state.nextEpisodeId), "new episodes");
  assert.throws(() => c.setState(counters), /reset seed/);

  const other = collector(
    createHierarchicalWindyMaze(2, { seed: 5 }),
    ["high", "low"],
    map,
    7,
    true,
  );
  assert.throws(() => other.setState(state), /Collector state does not fit: .* slots, the env has/);
  const three = collector(make(), ["high", "low", "x"], map, 7, true);
  assert.throws(() => three.setState(state), /2 policies, expected 3/);
});
