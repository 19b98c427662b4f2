import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ACTIVE, ALIVE, SPAWNED, TERMINATED, TRUNCATED } from "./batched.ts";
import { checkEnv } from "./check_env.ts";
import { deriveSeed, fromDictEnv } from "./from_dict.ts";
import {
  makeMultiAgent,
  MultiAgentBatchedEnv,
  type SingleAgentEnv,
  type SingleAgentStepResult,
} from "./make_multi_agent.ts";
import { setEpisodeLimit } from "./wasm.ts";
import { Pcg32 } from "../rng.ts";
import { Discrete } from "../spaces.ts";
import { createWindyMaze, WindyMazeEnv } from "../envs/windy_maze.ts";
import { createRockPaperScissors } from "../envs/rock_paper_scissors.ts";

/**
 * A single-agent env for the tests: the episode lasts a random number of steps in [1, 6]
 * (drawn at reset), observation = steps left (Discrete(7)), reward = the action (0 or 1); it
 * terminates when the count runs out, unless `truncate` says the time limit comes first.
 */
class Countdown implements SingleAgentEnv<number, number> {
  readonly observationSpace = new Discrete(7);
  readonly actionSpace = new Discrete(2);
  rng = new Pcg32(0, 0);
  left = 0;
  resets: (number | undefined)[] = [];
  constructor(readonly truncate: boolean) {}
  reset(opts: { seed?: number } = {}) {
    this.resets.push(opts.seed);
    if (opts.seed !== undefined) this.rng = new Pcg32(opts.seed, 0);
    this.left = 1 + this.rng.nextInt(6);
    return { obs: this.left, info: { left: this.left } };
  }
  step(action: number): SingleAgentStepResult<number> {
    if (this.left <= 0) throw new Error("stepped after its end");
    this.left--;
    const end = this.left === 0;
    return {
      obs: this.left,
      reward: action,
      terminated: end && !this.truncate,
      truncated: end && this.truncate,
      info: {},
    };
  }
}

describe("makeMultiAgent (dict face, plain-TS single-agent envs)", () => {
  it("agents end independently, __all__ only when all did, rewards per agent", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        (seed, truncs) => {
          const copies: Countdown[] = [];
          const env = makeMultiAgent((j) => {
            const c = new Countdown(truncs[j]!);
            copies.push(c);
            return c;
          }, truncs.length);
          const k = truncs.length;
          assert.deepEqual(env.possibleAgents, Array.from({ length: k }, (_, j) => String(j)));
          let { obs } = env.reset({ seed });
          copies.forEach((c, j) => assert.equal(c.resets[0], deriveSeed(seed, j)));
          const lens = copies.map((c) => c.left);
          const ended = new Set<string>();
          for (let t = 1; t <= 6; t++) {
            const actions = Object.fromEntries(Object.keys(obs).map((id) => [id, t % 2]));
            const r = env.step(actions);
            for (const id of Object.keys(actions)) {
              const j = Number(id), end = lens[j] === t;
              assert.equal(r.rewards[id], t % 2);
              assert.equal(r.terminateds[id], end && !truncs[j]);
              assert.equal(r.truncateds[id], end && truncs[j]);
              assert.equal(r.obs[id], lens[j]! - t, "final obs of an ending agent too");
              if (end) ended.add(id);
            }
            const all = ended.size === k;
            assert.equal(r.terminateds.__all__, all, `__all__ at ${t}`);
            assert.equal(r.truncateds.__all__, all && truncs.every((x) => x));
            if (all) {
              assert.equal(t, Math.max(...lens));
              break;
            }
            obs = Object.fromEntries(Object.entries(r.obs).filter(([id]) => !ended.has(id)));
            assert.equal(Object.keys(obs).length, k - ended.size);
          }
          assert.equal(ended.size, k);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("refuses actions for unknown or ended agents, before stepping anyone", () => {
    const env = makeMultiAgent(() => new Countdown(false), 2);
    env.reset({ seed: 1 });
    assert.throws(() => env.step({ "0": 1, "7": 1 }), /"7".*not an agent/);
    let guard = 0;
    let ended: string | undefined;
    while (ended === undefined && guard++ < 10) {
      const r = env.step({ "0": 1, "1": 1 });
      if (r.terminateds.__all__) {
        env.reset();
        continue;
      }
      ended = ["0", "1"].find((id) => r.terminateds[id]);
    }
    assert.ok(ended !== undefined);
    assert.throws(() => env.step({ "0": 0, "1": 0 }), new RegExp(`"${ended}".*has ended`));
    assert.throws(() => env.observationSpace("x"), /Unknown agent "x"/);
    assert.throws(() => makeMultiAgent(() => new Countdown(false), 0), /numAgents/);
  });

  it("passes checkEnv on the dict face and, batched with fromDictEnv, on the batched face", () => {
    const make = () => makeMultiAgent((j) => new Countdown(j === 1), 3);
    const d = checkEnv(make(), { steps: 300, seed: 3 });
    assert.ok(d.episodes > 10);
    const b = fromDictEnv(make, 4, {
      seed: 2,
      groups: [{
        name: "agent",
        slotsPerEnv: 3,
        observationSpace: new Discrete(7),
        actionSpace: new Discrete(2),
      }],
    });
    const r = checkEnv(b, { steps: 300, seed: 3 });
    assert.deepEqual([...r.agentIds].sort(), ["0", "1", "2"]);
  });

  it("takes the package's single envs as they are (the windy maze's WindyMazeEnv)", () => {
    const env = makeMultiAgent(() => new WindyMazeEnv(), 2);
    const r = checkEnv(env, { steps: 500, seed: 2 });
    assert.ok(r.episodes > 0);
    assert.deepEqual([...r.agentIds].sort(), ["0", "1"]);
  });

  it("the same seed gives the same episodes; without a seed each copy's stream continues", () => {
    const run = () => {
      const env = makeMultiAgent(() => new Countdown(false), 3);
      const out: unknown[] = [env.reset({ seed: 5 }).obs];
      for (let e = 0; e < 4; e++) out.push(env.reset().obs);
      return out;
    };
    assert.deepEqual(run(), run());
    assert.equal(new Set(run().map((o) => JSON.stringify(o))).size > 1, true);
  });
});

describe("MultiAgentBatchedEnv (batched face over a single-agent WASM env)", () => {
  it("works over any one-slot env (the windy maze) and passes checkEnv", () => {
    const env = new MultiAgentBatchedEnv(createWindyMaze(3 * 2, { seed: 4 }), 2, {
      name: "multi_agent_windy_maze",
    });
    assert.equal(env.numEnvs, 3);
    assert.equal(env.groups[0]!.slotsPerEnv, 2);
    const r = checkEnv(env, { steps: 900, seed: 1 });
    assert.ok(r.episodes > 0);
    assert.deepEqual([...r.agentIds].sort(), ["0", "1"]);
  });

  it("shares the inner env's rows (zero-copy) and holds ended copies with its stepMask", () => {
    const inner = createWindyMaze(2, { seed: 4 });
    const env = new MultiAgentBatchedEnv(inner, 2);
    assert.equal(env.groups[0]!.obs, inner.groups[0]!.obs);
    assert.equal(env.rew, inner.rew);
    env.reset();
    assert.deepEqual(Array.from(env.flags), [19, 19]);
    // Agent 0 walks the corridor (moves when the wind blows its way); agent 1 stays (it can
    // only be truncated at 200).
    const g = env.groups[0]!;
    const walk = () => {
      const [row, col] = [g.obs[0]!, g.obs[1]!];
      const want = row === 1 && col < 7 ? 1 : row < 6 ? 2 : 3;
      return g.obs[2 + want] === 1 ? 1 : 0;
    };
    let t = 0;
    while ((env.flags[0]! & TERMINATED) === 0 && t < 200) {
      g.act.set([walk(), 0]);
      env.step();
      t++;
    }
    assert.ok(t < 200, "agent 0 reached the finish");
    assert.equal(env.rew[0], 100);
    assert.equal(env.envDone[0], 0);
    const held = Array.from(inner.groups[0]!.obs.subarray(0, 6));
    for (; t < 199; t++) {
      g.act.set([NaN, 0]);
      env.step();
      assert.equal(inner.stepMask[0], 0, "the ended copy is held");
      assert.equal(env.flags[0], 0);
      assert.deepEqual(Array.from(inner.groups[0]!.obs.subarray(0, 6)), held);
    }
    g.act.set([NaN, 0]);
    env.step();
    assert.equal(env.envDone[0], 1);
    assert.equal(env.envTruncated[0], 0, "not every copy was truncated");
    assert.equal(env.flags[1], TRUNCATED | SPAWNED | ACTIVE | ALIVE);
    assert.equal(env.flags[0], SPAWNED | ACTIVE | ALIVE);
  });

  it("holds a masked env as it is", () => {
    const env = new MultiAgentBatchedEnv(createWindyMaze(4, { seed: 1 }), 2);
    env.reset();
    env.groups[0]!.act.fill(1);
    env.step();
    const before = Array.from(env.groups[0]!.obs.subarray(0, 12));
    env.stepMask[0] = 0;
    env.groups[0]!.act.set([NaN, NaN, 1, 1]);
    env.step();
    assert.deepEqual(Array.from(env.groups[0]!.obs.subarray(0, 12)), before);
    assert.deepEqual(Array.from(env.rew.subarray(0, 2)), [0, 0]);
    assert.deepEqual(Array.from(env.flags.subarray(0, 2)), [ACTIVE | ALIVE, ACTIVE | ALIVE]);
  });

  it("reaches the inner env's runtime episode limit through setEpisodeLimit", () => {
    const env = new MultiAgentBatchedEnv(createWindyMaze(4, { seed: 1 }), 2);
    setEpisodeLimit(env, 5);
    env.reset();
    for (let t = 1; t <= 5; t++) {
      env.groups[0]!.act.fill(0);
      env.step();
    }
    assert.deepEqual(Array.from(env.envDone), [1, 1]);
    assert.deepEqual(Array.from(env.envTruncated), [1, 1]);
  });

  it("refuses inner envs it cannot wrap", () => {
    assert.throws(
      () => new MultiAgentBatchedEnv(createRockPaperScissors(2), 2),
      /one group with one slot per env/,
    );
    assert.throws(() => new MultiAgentBatchedEnv(createWindyMaze(5), 2), /not a multiple/);
    assert.throws(() => new MultiAgentBatchedEnv(createWindyMaze(4), 0), /numAgents/);
    const env = new MultiAgentBatchedEnv(createWindyMaze(4), 2);
    assert.throws(() => env.step(), /before reset/);
    assert.throws(() => env.agentId(4), /Slot/);
  });
});
