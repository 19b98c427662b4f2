import assert from "node:assert/strict";
import { ACTIVE, ALIVE, SPAWNED } from "./batched.ts";
import { checkEnv } from "./check_env.ts";
import { DictEnv } from "./dict_face.ts";
import { fromDictEnv } from "./from_dict.ts";
import type { DoneDict, MultiAgentEnv, StepResult } from "./multi_agent.ts";
import { Nim, TsWindyMaze, WALKER_GROUPS as walkerGroups, Walkers } from "./_test_envs.ts";
import {
  createHierarchicalWindyMaze,
  createThreeLevelWindyMaze,
  windyMazeLevels,
} from "../envs/hierarchical_windy_maze.ts";
import { Hierarchy } from "../hierarchy/hierarchy.ts";
import { createWindyMaze } from "../envs/windy_maze.ts";
import { Box, Dict, Discrete, type Space, type SpaceValue } from "../spaces.ts";

Deno.test("checkEnv passes on every env, both faces", () => {
  const envs = {
    windy_maze: () => createWindyMaze(8, { seed: 1 }),
    ts_windy_maze: () => new TsWindyMaze(8, 1),
    hierarchical_windy_maze: () => createHierarchicalWindyMaze(8, { seed: 1 }),
    three_level_windy_maze: () => createThreeLevelWindyMaze(8, { seed: 1 }),
    walkers_batched: () => fromDictEnv(() => new Walkers(), 4, { groups: walkerGroups }),
    windy_maze_dict: () => new DictEnv(createWindyMaze(1)),
    hierarchical_windy_maze_dict: () => new DictEnv(createHierarchicalWindyMaze(1)),
    walkers_dict: () => new Walkers(),
    nim_dict: () => new Nim(),
  };
  for (const [name, make] of Object.entries(envs)) {
    const r = checkEnv(make(), { steps: 400, seed: 5 });
    assert.ok(r.agentSteps >= 400, name);
    assert.ok(r.checks.includes("determinism"), name);
  }
});

Deno.test("checkEnv reports its rollout", () => {
  const r = checkEnv(createHierarchicalWindyMaze(4), { steps: 500, seed: 2 });
  assert.equal(r.face, "batched");
  assert.equal(r.steps, 500);
  assert.equal(r.agentSteps, 2000);
  assert.ok(r.episodes >= 1);
  assert.ok(r.agentIds.includes("high_level_agent") && r.agentIds.includes("low_level_1"));
  assert.ok(r.checks.includes("step mask"));
  assert.throws(
    () => checkEnv(createWindyMaze(1), { steps: 0 }),
    /steps must be a positive integer/,
  );
});

/** A TS windy maze with one defect injected after each step. */
class Broken extends TsWindyMaze {
  constructor(readonly defect: (env: Broken) => void, numEnvs = 2) {
    super(numEnvs, 0);
  }
  override step(): void {
    super.step();
    if (this.steps[0]! >= 3) this.defect(this);
  }
}

Deno.test("checkEnv catches broken batched envs", () => {
  const cases: [() => TsWindyMaze, RegExp][] = [
    [
      () => new Broken((e) => (e.groups[0]!.obs[0] = 101)),
      /observation of slot 0 .* is invalid: .*expected element 0 in \[0, 100\]/,
    ],
    [() => new Broken((e) => e.groups[0]!.obs.fill(0.5, 2, 6)), /expected a one-hot block/],
    [() => new Broken((e) => (e.flags[0] = ACTIVE)), /is ACTIVE but not ALIVE/],
    [() => new Broken((e) => (e.rew[1] = NaN)), /reward of slot 1 .* is NaN/],
    [() => new Broken((e) => (e.flags[0] = 0)), /vanished without ending/],
    [() => new Broken((e) => (e.envDone[0] = 1)), /env 0 ended but agent "default_agent"/],
    [() => new Broken((e) => (e.envTruncated[1] = 1)), /envTruncated without envDone/],
    [
      () => new Broken((e) => (e.wind[0] = Math.floor(Math.random() * 4)), 1),
      /same seed 5, different trajectory/,
    ],
    [
      () =>
        new Broken((e) => {
          e.flags[1] = 0;
          e.rew[1] = 1;
        }),
      /reward 1 for slot 1 .* which holds no agent/,
    ],
  ];
  for (const [make, re] of cases) {
    assert.throws(() => checkEnv(make(), { steps: 300, seed: 5 }), re);
  }
  // Reads the rows of slots that are not ACTIVE (waiting levels of a hierarchy).
  class ReadsAll extends Hierarchy {
    override step(): void {
      for (const g of this.groups) {
        for (const a of g.act) if (Number.isNaN(a)) throw new RangeError("NaN action");
      }
      super.step();
    }
  }
  assert.throws(
    () => checkEnv(new ReadsAll(new TsWindyMaze(2), windyMazeLevels()), { steps: 300 }),
    /step threw on valid actions/,
  );
  // Accepts an invalid action.
  class Lax extends TsWindyMaze {
    override step(): void {
      this.groups[0]!.act.forEach((a, i, act) => (act[i] = a === 1 ? 1 : 0));
      super.step();
    }
  }
  assert.throws(
    () => checkEnv(new Lax(1), { steps: 300 }),
    /a NaN action for agent "default_agent" in slot 0 .* was accepted/,
  );
  // Ignores the step mask.
  class Unmasked extends TsWindyMaze {
    override step(): void {
      this.stepMask.fill(1);
      super.step();
    }
  }
  assert.throws(() => checkEnv(new Unmasked(4), { steps: 300 }), /masked-out env \d changed/);
  // Says a masked env advanced, or an envStepped that is not 0/1.
  class Ticks extends TsWindyMaze {
    readonly envStepped = new Uint8Array(4);
    constructor(readonly tick: number) {
      super(4, 0);
    }
    override step(): void {
      super.step();
      this.envStepped.fill(this.tick);
    }
  }
  assert.throws(
    () => checkEnv(new Ticks(1), { steps: 300 }),
    /masked-out env \d reports envStepped 1/,
  );
  assert.throws(
    () => checkEnv(new Ticks(2), { steps: 300 }),
    /envStepped\[0\] is 2, expected 0 or 1/,
  );
  // Infos that are not objects.
  class BadInfo extends TsWindyMaze {
    info(_slot: number) {
      return 7 as unknown as Record<string, unknown>;
    }
  }
  assert.throws(
    () => checkEnv(new BadInfo(1), { steps: 50 }),
    /info\(0\) is 7, expected an object/,
  );
});

Deno.test("checkEnv allows a step with nobody to act, and catches a held slot taken over", () => {
  // An env that pauses: every 4th step no agent acts; the episode goes on.
  class Pauses extends TsWindyMaze {
    #t = 0;
    override reset(seed?: number): void {
      super.reset(seed);
      this.#t = 0;
    }
    override step(): void {
      const paused = this.flags.map((f) => f & ACTIVE).every((a) => a === 0);
      if (paused) {
        for (let s = 0; s < this.numSlots; s++) this.flags[s] = ACTIVE | ALIVE;
        this.rew.fill(0);
        this.envDone.fill(0);
        this.envTruncated.fill(0);
        return;
      }
      super.step();
      if (++this.#t % 4 === 0) {
        for (let s = 0; s < this.numSlots; s++) {
          if ((this.flags[s]! & SPAWNED) === 0) this.flags[s]! &= ~ACTIVE;
        }
      }
    }
  }
  checkEnv(new Pauses(1), { steps: 300 });
  // An env that says it holds ended agents, but gives an ended agent's slot to a new agent
  // before the episode ends (the hierarchy reuses the low-level slot at once).
  class Steals extends Hierarchy {
    readonly holdsEndedAgents = true;
  }
  assert.throws(
    () => checkEnv(new Steals(new TsWindyMaze(1), windyMazeLevels()), { steps: 400 }),
    /slot 1 .* spawned a new agent over "low_level_1", which ended earlier in the episode/,
  );
});

Deno.test("checkEnv catches broken dict envs", () => {
  const wrap = (patch: (r: StepResult) => void) => {
    const nim = new Nim();
    return {
      observationSpace: (id: string) => nim.observationSpace(id),
      actionSpace: (id: string) => nim.actionSpace(id),
      reset: (o?: { seed?: number }) => nim.reset(o),
      step: (a: Record<string, SpaceValue>) => {
        const r = nim.step(a);
        patch(r);
        return r;
      },
    };
  };
  const cases: [ReturnType<typeof wrap>, RegExp][] = [
    [
      wrap((r) => delete (r.terminateds as Partial<DoneDict>).__all__),
      /terminateds.__all__ is undefined, expected a boolean/,
    ],
    [
      wrap((r) => (r.rewards.p1 = Infinity)),
      /reward of agent "p1" is null, expected a finite number/,
    ],
    [
      wrap((r) => {
        for (const id of Object.keys(r.obs)) r.obs[id] = 99;
      }),
      /observation of agent "p\d" is invalid: expected an integer in \[0, 7\]/,
    ],
    [
      wrap((r) => {
        if (r.terminateds.__all__) return;
        r.terminateds.p1 = true;
        r.obs.p1 = 1;
      }),
      /agent "p1" is back in obs after it ended|is back in obs/,
    ],
    [
      wrap((r) => {
        (r as unknown as { dones: DoneDict }).dones = r.terminateds;
        delete (r as Partial<StepResult>).terminateds;
      }),
      /old-gym "dones" dict; return "terminateds" and "truncateds"/,
    ],
    [
      wrap((r) => (r.infos = 5 as unknown as StepResult["infos"])),
      /infos is 5, expected an object/,
    ],
    [wrap((r) => (r.rewards.p2 = Math.random())), /same seed 5, different trajectory/],
  ];
  for (const [env, re] of cases) assert.throws(() => checkEnv(env, { steps: 300, seed: 5 }), re);
});

/**
 * One agent that must pick the single action its `action_mask` allows (`t % 3` at step `t`);
 * any other action throws. With `emptyAt`, the mask allows nothing at that step.
 */
class OneLegalMove implements MultiAgentEnv {
  readonly obsSpace: Space = new Dict({
    observations: new Box(0, 10, [1]),
    action_mask: new Box(0, 1, [3]),
  });
  readonly actSpace: Space = new Discrete(3);
  t = 0;
  constructor(readonly emptyAt = -1) {}
  observationSpace(): Space {
    return this.obsSpace;
  }
  actionSpace(): Space {
    return this.actSpace;
  }
  #obs() {
    const mask = [0, 0, 0];
    if (this.t !== this.emptyAt) mask[this.t % 3] = 1;
    return { a: { observations: [this.t], action_mask: mask } };
  }
  reset() {
    this.t = 0;
    return { obs: this.#obs(), infos: {} };
  }
  step(actions: Record<string, SpaceValue>): StepResult {
    if (actions.a !== this.t % 3) {
      throw new RangeError(`illegal action ${actions.a} at step ${this.t}, expected ${this.t % 3}`);
    }
    this.t++;
    const done = this.t === 10;
    return {
      obs: this.#obs(),
      rewards: { a: 1 },
      terminateds: { a: done, __all__: done } as DoneDict,
      truncateds: { __all__: false } as DoneDict,
      infos: {},
    };
  }
}

Deno.test("checkEnv samples only the actions an action_mask allows, and reports an empty mask", () => {
  const r = checkEnv(new OneLegalMove(), { steps: 100, seed: 1 });
  assert.equal(r.episodes, 10);
  assert.throws(
    () => checkEnv(new OneLegalMove(4), { steps: 100, seed: 1 }),
    /step 5: the action_mask of agent "a" allows no action/,
  );
});
