import assert from "node:assert/strict";
import { createHierarchicalWindyMaze } from "../envs/hierarchical_windy_maze.ts";
import { createTakeAway } from "../envs/testdata/take_away.ts";
import { createWindyMaze } from "../envs/windy_maze.ts";
import { Pcg32 } from "../rng.ts";
import { Box, Dict, Discrete, Tuple } from "../spaces.ts";
import { ACTIVE, type BatchedEnv, SPAWNED, TERMINATED, TRUNCATED } from "./batched.ts";
import { checkEnv } from "./check_env.ts";
import { fromDictEnv } from "./from_dict.ts";
import { FrameStack, newestFrame, stackedSpace } from "./frame_stack.ts";
import type { MultiAgentEnv, StepResult } from "./multi_agent.ts";

/**
 * Drives `inner` and a FrameStack over the same env with random actions and checks every
 * stacked row against histories kept here independently: per slot, the list of observations its
 * current agent received when asked to act (a new agent starts an empty list).
 */
function compare(
  make: () => BatchedEnv,
  k: number,
  steps: number,
  legal: (group: number, rng: Pcg32) => number | undefined = () => undefined,
): number {
  const plain = make(), stacked = new FrameStack(make(), k);
  plain.reset(3);
  stacked.reset(3);
  const rng = new Pcg32(5);
  const history: number[][][] = Array.from({ length: plain.numSlots }, () => []);
  let ends = 0;
  const rowOf = (size: number, r: number, buf: Float32Array) =>
    Array.from(buf.subarray(r * size, (r + 1) * size));
  const expectStack = (hist: number[][], size: number) => {
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      const h = hist[hist.length - k + i];
      out.push(...(h ?? new Array(size).fill(0)));
    }
    return out;
  };
  const observe = (first: boolean) => {
    plain.groups.forEach((g, gi) => {
      const O = g.observationSpace.flatSize, sg = stacked.groups[gi]!;
      const rows = plain.numEnvs * g.slotsPerEnv;
      for (let r = 0; r < rows; r++) {
        const s = g.slotOffset + r, f = plain.flags[s]!;
        assert.equal(stacked.flags[s], f);
        if (!first && (f & (TERMINATED | TRUNCATED)) !== 0) {
          ends++;
          const fin = [...history[s]!, rowOf(O, r, g.finalObs)];
          assert.deepEqual(rowOf(O * k, r, sg.finalObs), expectStack(fin, O), `final ${s}`);
        }
        if ((f & SPAWNED) !== 0) history[s] = [];
        if ((f & ACTIVE) !== 0) {
          history[s]!.push(rowOf(O, r, g.obs));
          assert.deepEqual(rowOf(O * k, r, sg.obs), expectStack(history[s]!, O), `obs ${s}`);
        }
      }
    });
  };
  observe(true);
  for (let t = 0; t < steps; t++) {
    plain.groups.forEach((g, gi) => {
      const A = g.actionSpace.packedSize;
      for (let r = 0; r < plain.numEnvs * g.slotsPerEnv; r++) {
        if ((plain.flags[g.slotOffset + r]! & ACTIVE) === 0) continue;
        g.actionSpace.pack(legal(gi, rng) ?? g.actionSpace.sample(rng), g.act, r * A);
        stacked.groups[gi]!.act.set(g.act.subarray(r * A, (r + 1) * A), r * A);
      }
    });
    plain.step();
    stacked.step();
    observe(false);
  }
  return ends;
}

Deno.test("frame stacks: the windy maze, 3 frames, zero-padded, reset at each new episode", () => {
  const ends = compare(() => createWindyMaze(4, { seed: 1 }), 3, 600);
  assert.ok(ends >= 4, `${ends} episodes ended`);
});

Deno.test("frame stacks: a turn-based env stacks only the observations a player is asked with", () => {
  const ends = compare(() => createTakeAway(3, 2), 2, 400, (g) => g === 0 ? 1 : undefined);
  assert.ok(ends > 10);
});

Deno.test("frame stacks: hierarchy, each new low-level agent starts its own stack", () => {
  const ends = compare(() => createHierarchicalWindyMaze(2, { seed: 4, horizon: 3 }), 4, 400);
  assert.ok(ends > 50, "many low-level agents ended");
});

Deno.test("stacked spaces: a Tuple of k copies; a masked Dict keeps its current mask", () => {
  const box = new Box(0, 1, [3]);
  assert.equal(stackedSpace(box, 2).toString(), new Tuple([box, box]).toString());
  const masked = new Dict({ action_mask: new Box(0, 1, [4]), observations: box });
  const s = stackedSpace(masked, 3) as Dict;
  assert.deepEqual(s.keys, ["action_mask", "observations"]);
  assert.equal(s.spaces.observations!.toString(), new Tuple([box, box, box]).toString());
});

/** A masked turn-based dict env: two players take turns; the mask alternates legal actions. */
class MaskedTurns implements MultiAgentEnv {
  #t = 0;
  observationSpace(): Dict {
    return new Dict({ action_mask: new Box(0, 1, [3]), observations: new Box(0, 10, [1]) });
  }
  actionSpace(): Discrete {
    return new Discrete(3);
  }
  #obs(): Record<string, unknown> {
    const mask = new Float32Array([1, this.#t % 2, 1 - (this.#t % 2)]);
    return {
      [`p${this.#t % 2}`]: { action_mask: mask, observations: new Float32Array([this.#t]) },
    };
  }
  reset() {
    this.#t = 0;
    return { obs: this.#obs() as never, infos: {} };
  }
  step(actions: Record<string, unknown>): StepResult {
    const [id] = Object.keys(actions);
    this.#t++;
    const done = this.#t >= 6;
    return {
      obs: done ? {} : this.#obs() as never,
      rewards: { [id!]: 1 },
      terminateds: { __all__: done, ...(done ? { p0: true, p1: true } : {}) },
      truncateds: { __all__: false },
      infos: {},
    };
  }
}

const maskedGroups = () => ({
  groups: [{
    name: "players",
    observationSpace: new MaskedTurns().observationSpace(),
    actionSpace: new Discrete(3),
  }],
  seed: 1,
});

Deno.test("frame stacks of a masked dict env: the mask is the current one, checkEnv passes", () => {
  const env = new FrameStack(fromDictEnv(() => new MaskedTurns(), 2, maskedGroups()), 2);
  env.reset();
  const g = env.groups[0]!;
  const O = g.observationSpace.flatSize;
  assert.equal(O, 3 + 2);
  // p0 first: mask [1, 0, 1], history [0, t=0].
  assert.deepEqual([...g.obs.subarray(0, O)], [1, 0, 1, 0, 0]);
  const report = checkEnv(
    new FrameStack(fromDictEnv(() => new MaskedTurns(), 2, maskedGroups()), 2),
    {
      steps: 200,
    },
  );
  assert.ok(report.steps >= 200);
});

Deno.test("frame stacks save and load with the inner env's state", () => {
  const a = new FrameStack(createWindyMaze(2, { seed: 1 }), 3);
  a.reset(1);
  for (let t = 0; t < 7; t++) {
    a.groups[0]!.act.fill(t % 2);
    a.step();
  }
  const state = a.saveState();
  const b = new FrameStack(createWindyMaze(2, { seed: 9 }), 3);
  b.reset(9);
  b.loadState(state);
  assert.deepEqual(b.groups[0]!.obs, a.groups[0]!.obs);
  a.step();
  b.step();
  assert.deepEqual(b.groups[0]!.obs, a.groups[0]!.obs);
  assert.throws(() => new FrameStack(createWindyMaze(2), 2).loadState(state), /do not fit/);
});

Deno.test("newestFrame feeds a single-observation policy the newest frame of each stacked row", () => {
  const seen: number[][] = [];
  const inner = {
    obsSize: 2,
    actSize: 1,
    act(obs: Float32Array, rows: number, _rng: Pcg32, _e: boolean, out: Float32Array) {
      for (let r = 0; r < rows; r++) seen.push([obs[2 * r]!, obs[2 * r + 1]!]), out[r] = r;
    },
  };
  const p = newestFrame(inner, 3);
  assert.equal(p.obsSize, 6);
  const out = new Float32Array(2);
  p.act(new Float32Array([0, 0, 1, 1, 2, 3, 9, 9, 8, 8, 7, 6]), 2, new Pcg32(1), false, out);
  assert.deepEqual(seen, [[2, 3], [7, 6]]);
  assert.equal(newestFrame(inner, 1), inner);
});
