import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ACTIVE, ALIVE, SPAWNED, TERMINATED, TRUNCATED } from "../env/batched.ts";
import type { WasmBatchedEnv } from "../env/wasm.ts";
import { Pcg32 } from "../rng.ts";
import {
  createWindyMaze,
  WINDY_MAZE_ACTION_SPACE,
  WINDY_MAZE_COLS,
  WINDY_MAZE_FINISH,
  WINDY_MAZE_GOAL_REWARD,
  WINDY_MAZE_MAP,
  WINDY_MAZE_MAX_STEPS,
  WINDY_MAZE_OBS_SPACE,
  WINDY_MAZE_ROWS,
  WINDY_MAZE_START,
  WINDY_MAZE_WIND_DELTAS,
  WindyMazeEnv,
} from "./windy_maze.ts";
import { WINDY_MAZE_FACTS } from "./_generated/windy_maze_wasm.ts";

const N = 0, E = 1, S = 2, W = 3;
const STAY = 0, MOVE = 1;

/** The windy maze rules written out plainly in TypeScript, for bit-exact comparisons. */
class ReferenceMaze {
  rng: Pcg32;
  row = 0;
  col = 0;
  wind = 0;
  count = 0;
  constructor(seed: number, index: number) {
    this.rng = new Pcg32(seed, index);
  }
  reset(): void {
    [this.row, this.col] = WINDY_MAZE_START;
    this.wind = this.rng.nextInt(4);
    this.count = 0;
  }
  obs(): number[] {
    const o = [this.row, this.col, 0, 0, 0, 0];
    o[2 + this.wind] = 1;
    return o;
  }
  /** @returns reward, terminated, truncated and the final observation when it ended */
  step(action: number) {
    if (action === MOVE) {
      const [dr, dc] = WINDY_MAZE_WIND_DELTAS[this.wind]!;
      const r = this.row + dr, c = this.col + dc;
      if (r >= 0 && r < WINDY_MAZE_ROWS && c >= 0 && c < WINDY_MAZE_COLS) {
        if (WINDY_MAZE_MAP[r]![c] !== "#") [this.row, this.col] = [r, c];
      }
    }
    this.count++;
    this.wind = this.rng.nextInt(4);
    const atF = this.row === WINDY_MAZE_FINISH[0] && this.col === WINDY_MAZE_FINISH[1];
    const terminated = atF;
    const truncated = !atF && this.count >= WINDY_MAZE_MAX_STEPS;
    const finalObs = this.obs();
    if (terminated || truncated) this.reset();
    return { reward: atF ? 100 : 0, terminated, truncated, finalObs };
  }
}

function obsRow(env: WasmBatchedEnv, i: number, final = false): number[] {
  const g = env.groups[0]!;
  return Array.from((final ? g.finalObs : g.obs).subarray(i * 6, i * 6 + 6));
}

function windOf(env: WasmBatchedEnv, i: number): number {
  const o = obsRow(env, i);
  return o.indexOf(1, 2) - 2;
}

function pos(env: WasmBatchedEnv, i: number): [number, number] {
  const o = obsRow(env, i);
  return [o[0]!, o[1]!];
}

function snapshot(env: WasmBatchedEnv): Uint8Array {
  return new Uint8Array(env.memory.buffer).slice();
}

/** Steps env 0 of a one-env maze with `action` and checks it against the reference. */
function stepChecked(env: WasmBatchedEnv, ref: ReferenceMaze, action: number) {
  env.groups[0]!.act[0] = action;
  env.step();
  const r = ref.step(action);
  assert.deepEqual(obsRow(env, 0), ref.obs());
  assert.equal(env.rew[0], r.reward);
  return r;
}

/** Waits (action 0) until the wind blows `dir`, then moves once; returns steps taken. */
function moveWith(env: WasmBatchedEnv, ref: ReferenceMaze, dir: number): number {
  let steps = 0;
  while (windOf(env, 0) !== dir) {
    stepChecked(env, ref, STAY);
    steps++;
  }
  stepChecked(env, ref, MOVE);
  return steps + 1;
}

describe("windy maze (batched WASM)", () => {
  it("has the spaces and the layout of the contract", () => {
    const env = createWindyMaze(3, { seed: 1 });
    assert.equal(env.numEnvs, 3);
    assert.equal(env.numSlots, 3);
    assert.equal(env.groups.length, 1);
    const g = env.groups[0]!;
    assert.equal(g.name, "agent");
    assert.equal(g.slotsPerEnv, 1);
    assert.equal(g.slotOffset, 0);
    assert.equal(String(g.observationSpace), "Tuple(Box(0, 100, [2]), Discrete(4))");
    assert.equal(String(g.actionSpace), "Discrete(2)");
    assert.equal(g.obs.length, 18);
    assert.equal(g.finalObs.length, 18);
    assert.equal(g.act.length, 3);
    assert.deepEqual(Array.from(env.stepMask), [1, 1, 1]);
    assert.deepEqual(Array.from(env.agentSeq), [0, 0, 0]);
    for (let s = 0; s < 3; s++) assert.equal(env.agentId(s), "default_agent");
  });

  it("reset puts every env at S with a wind drawn from PCG32(seed, i)", () => {
    const env = createWindyMaze(5, { seed: 3 });
    env.reset(99);
    for (let i = 0; i < 5; i++) {
      const wind = new Pcg32(99, i).nextInt(4);
      const expected = [1, 1, 0, 0, 0, 0];
      expected[2 + wind] = 1;
      assert.deepEqual(obsRow(env, i), expected);
      assert.equal(env.flags[i], SPAWNED | ACTIVE | ALIVE);
      assert.equal(env.rew[i], 0);
      assert.equal(env.envDone[i], 0);
    }
    // Without a seed the streams continue: the wind is the second draw.
    env.reset();
    for (let i = 0; i < 5; i++) {
      const rng = new Pcg32(99, i);
      rng.nextInt(4);
      assert.equal(windOf(env, i), rng.nextInt(4));
    }
    // init's seed is used when reset gets none.
    const fresh = createWindyMaze(2, { seed: 77 });
    fresh.reset();
    for (let i = 0; i < 2; i++) assert.equal(windOf(fresh, i), new Pcg32(77, i).nextInt(4));
  });

  it("stay keeps the position and draws a new wind", () => {
    const env = createWindyMaze(1, { seed: 5 });
    const ref = new ReferenceMaze(5, 0);
    env.reset(5);
    ref.reset();
    for (let t = 0; t < 20; t++) {
      stepChecked(env, ref, STAY);
      assert.deepEqual(pos(env, 0), [1, 1]);
      assert.equal(env.flags[0], ACTIVE | ALIVE);
      assert.equal(env.rew[0], 0);
    }
  });

  it("moves one cell in each wind direction and is blocked by walls", () => {
    const env = createWindyMaze(1, { seed: 11 });
    const ref = new ReferenceMaze(11, 0);
    env.reset(11);
    ref.reset();
    const blockedAtStart = [N, S, W];
    // At S = (1, 1) north, south and west are walls: moving leaves the position unchanged.
    for (const dir of blockedAtStart) {
      while (windOf(env, 0) !== dir) stepChecked(env, ref, STAY);
      stepChecked(env, ref, MOVE);
      assert.deepEqual(pos(env, 0), [1, 1], `blocked by the wall in direction ${dir}`);
    }
    moveWith(env, ref, E);
    assert.deepEqual(pos(env, 0), [1, 2], "east is col + 1");
    moveWith(env, ref, W);
    assert.deepEqual(pos(env, 0), [1, 1], "west is col - 1");
    for (let c = 2; c <= 7; c++) {
      moveWith(env, ref, E);
      assert.deepEqual(pos(env, 0), [1, c]);
    }
    moveWith(env, ref, E);
    assert.deepEqual(pos(env, 0), [1, 7], "blocked by the east wall");
    moveWith(env, ref, S);
    assert.deepEqual(pos(env, 0), [2, 7], "south is row + 1");
    moveWith(env, ref, N);
    assert.deepEqual(pos(env, 0), [1, 7], "north is row - 1");
    moveWith(env, ref, N);
    assert.deepEqual(pos(env, 0), [1, 7], "blocked by the north wall");
  });

  it("reaching F gives 100, terminates and auto-resets with the final observation kept", () => {
    const env = createWindyMaze(1, { seed: 2024 });
    const ref = new ReferenceMaze(2024, 0);
    env.reset(2024);
    ref.reset();
    const route = [...Array(6).fill(E), ...Array(5).fill(S), ...Array(5).fill(W)];
    let steps = 0;
    for (const dir of route) {
      steps += moveWith(env, ref, dir);
      assert.equal(env.envDone[0], 0);
    }
    assert.deepEqual(pos(env, 0), [6, 2]);
    // The last move west reaches F = (6, 1).
    while (windOf(env, 0) !== W) {
      stepChecked(env, ref, STAY);
      steps++;
    }
    const rng = new Pcg32(2024, 0);
    const r = stepChecked(env, ref, MOVE);
    steps++;
    assert.ok(steps < 200, `the scripted route needs ${steps} steps`);
    assert.equal(r.terminated, true);
    assert.equal(env.rew[0], 100);
    assert.equal(env.flags[0], TERMINATED | SPAWNED | ACTIVE | ALIVE);
    assert.equal(env.envDone[0], 1);
    assert.equal(env.envTruncated[0], 0);
    // finalObs: at F with the wind drawn after the move; obs: the new episode at S.
    assert.deepEqual(obsRow(env, 0, true), r.finalObs);
    assert.deepEqual(obsRow(env, 0, true).slice(0, 2), [6, 1]);
    assert.deepEqual(pos(env, 0), [1, 1]);
    // The winds are draws 1 + steps (final obs) and 2 + steps (new episode) of the stream.
    const winds = Array.from({ length: steps + 2 }, () => rng.nextInt(4));
    assert.equal(obsRow(env, 0, true).indexOf(1, 2) - 2, winds[steps]);
    assert.equal(windOf(env, 0), winds[steps + 1]);
    // The next step clears the end flags and the reward.
    stepChecked(env, ref, STAY);
    assert.equal(env.flags[0], ACTIVE | ALIVE);
    assert.equal(env.rew[0], 0);
    assert.equal(env.envDone[0], 0);
  });

  it("truncates after exactly 200 steps and keeps the final observation", () => {
    const env = createWindyMaze(1, { seed: 8 });
    const rng = new Pcg32(8, 0);
    env.reset(8);
    assert.equal(windOf(env, 0), rng.nextInt(4));
    for (let t = 1; t <= 199; t++) {
      env.step(); // action 0 (the act view starts zeroed)
      assert.equal(env.envDone[0], 0, `not done at step ${t}`);
      assert.equal(env.flags[0], ACTIVE | ALIVE);
      assert.equal(windOf(env, 0), rng.nextInt(4));
    }
    env.step();
    assert.equal(env.flags[0], TRUNCATED | SPAWNED | ACTIVE | ALIVE);
    assert.equal(env.rew[0], 0);
    assert.equal(env.envDone[0], 1);
    assert.equal(env.envTruncated[0], 1);
    const finalWind = rng.nextInt(4);
    const expected = [1, 1, 0, 0, 0, 0];
    expected[2 + finalWind] = 1;
    assert.deepEqual(obsRow(env, 0, true), expected);
    assert.equal(windOf(env, 0), rng.nextInt(4), "the reset draws a fresh wind");
    // The new episode counts from 0 again: the next truncation is 200 steps later.
    for (let t = 1; t <= 199; t++) {
      env.step();
      assert.equal(env.envDone[0], 0);
    }
    env.step();
    assert.equal(env.envTruncated[0], 1);
  });

  it("the wind sequence is the PCG32(seed, i).nextInt(4) stream of each env", () => {
    const n = 4;
    const env = createWindyMaze(n, { seed: 0 });
    env.reset(123456789);
    const rngs = Array.from({ length: n }, (_, i) => new Pcg32(123456789, i));
    const seqs: number[][] = Array.from({ length: n }, () => []);
    for (let t = 0; t < 300; t++) {
      for (let i = 0; i < n; i++) {
        assert.equal(windOf(env, i), rngs[i]!.nextInt(4), `env ${i} at step ${t}`);
        seqs[i]!.push(windOf(env, i));
      }
      env.step();
      // A truncation (at step 200) draws once for the final observation, once for the reset.
      for (let i = 0; i < n; i++) {
        if (env.envDone[i]) {
          const o = obsRow(env, i, true);
          assert.equal(o.indexOf(1, 2) - 2, rngs[i]!.nextInt(4));
        }
      }
    }
    // Different env indices get different streams.
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) assert.notDeepEqual(seqs[i], seqs[j]);
    }
  });

  it("a large seed (above 2^32) seeds from both 32-bit halves", () => {
    const seed = 2 ** 40 + 12345;
    const env = createWindyMaze(2, { seed });
    env.reset();
    const ref = [new Pcg32(seed, 0), new Pcg32(seed, 1)];
    for (let t = 0; t < 50; t++) {
      for (let i = 0; i < 2; i++) assert.equal(windOf(env, i), ref[i]!.nextInt(4));
      env.step();
    }
  });

  it("matches the reference rules bit for bit on random rollouts", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 5 }),
        fc.float({ min: 0, max: 1, noNaN: true }),
        (seed, n, moveProb) => {
          const env = createWindyMaze(n, { seed: 1 });
          const refs = Array.from({ length: n }, (_, i) => new ReferenceMaze(seed, i));
          env.reset(seed);
          refs.forEach((r) => r.reset());
          const actRng = new Pcg32(seed, 999);
          const act = env.groups[0]!.act;
          for (let t = 0; t < 450; t++) {
            for (let i = 0; i < n; i++) act[i] = actRng.nextFloat() < moveProb ? MOVE : STAY;
            env.step();
            for (let i = 0; i < n; i++) {
              const r = refs[i]!.step(act[i]!);
              assert.deepEqual(obsRow(env, i), refs[i]!.obs());
              assert.equal(env.rew[i], r.reward);
              const ended = r.terminated || r.truncated;
              const flags = (r.terminated ? TERMINATED : 0) | (r.truncated ? TRUNCATED : 0) |
                (ended ? SPAWNED : 0) | ACTIVE | ALIVE;
              assert.equal(env.flags[i], flags);
              assert.equal(env.envDone[i], ended ? 1 : 0);
              assert.equal(env.envTruncated[i], r.truncated ? 1 : 0);
              if (ended) assert.deepEqual(obsRow(env, i, true), r.finalObs);
            }
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("a zero stepMask entry holds an env still", () => {
    const env = createWindyMaze(2, { seed: 4 });
    const refs = [new ReferenceMaze(4, 0), new ReferenceMaze(4, 1)];
    env.reset();
    refs.forEach((r) => r.reset());
    const act = env.groups[0]!.act;
    act[0] = MOVE;
    act[1] = MOVE;
    // Run env 1 until it has moved, so holding it is visible.
    while (pos(env, 1)[1] === 1) {
      env.step();
      refs.forEach((r) => r.step(MOVE));
    }
    const before = obsRow(env, 1);
    env.stepMask[1] = 0;
    act[1] = Number.NaN; // a held env's action is not read
    for (let t = 0; t < 250; t++) {
      env.step();
      refs[0]!.step(MOVE);
      assert.deepEqual(obsRow(env, 1), before);
      assert.equal(env.flags[1], ACTIVE | ALIVE);
      assert.equal(env.rew[1], 0);
      assert.equal(env.envDone[1], 0);
      assert.deepEqual(obsRow(env, 0), refs[0]!.obs());
    }
    // Released, it continues exactly where it was (its stream did not advance).
    env.stepMask[1] = 1;
    act[1] = MOVE;
    for (let t = 0; t < 50; t++) {
      env.step();
      refs.forEach((r) => r.step(MOVE));
      for (let i = 0; i < 2; i++) assert.deepEqual(obsRow(env, i), refs[i]!.obs());
    }
  });

  it("reseeding gives identical trajectories bit for bit across two instances", () => {
    const a = createWindyMaze(16, { seed: 1 });
    const b = createWindyMaze(16, { seed: 2 });
    a.reset(31337);
    b.reset(31337);
    const rng = new Pcg32(5, 5);
    for (let t = 0; t < 600; t++) {
      for (let i = 0; i < 16; i++) {
        const x = rng.nextInt(2);
        a.groups[0]!.act[i] = x;
        b.groups[0]!.act[i] = x;
      }
      a.step();
      b.step();
      assert.deepEqual(snapshot(a), snapshot(b), `memories differ after step ${t}`);
    }
    // Reseeding the same instance replays its first episode too.
    a.reset(31337);
    b.reset(31337);
    assert.deepEqual(a.groups[0]!.obs, b.groups[0]!.obs);
  });

  it("never grows its memory after init", () => {
    const env = createWindyMaze(1024, { seed: 0 });
    const bytes = env.memoryBytes;
    const obs = env.groups[0]!.obs;
    env.reset(1);
    env.groups[0]!.act.fill(1);
    for (let t = 0; t < 2000; t++) env.step();
    env.reset();
    assert.equal(env.memoryBytes, bytes);
    assert.equal(env.memory.buffer.byteLength, bytes);
    assert.equal(obs.buffer, env.memory.buffer, "views still alias the memory");
    assert.equal(obs.length, 1024 * 6);
  });

  it("rejects bad actions (NaN included) without changing anything", () => {
    for (const bad of [Number.NaN, 2, -1, 0.5, Infinity, -Infinity, 1e-30]) {
      const env = createWindyMaze(8, { seed: 9 });
      const twin = createWindyMaze(8, { seed: 9 });
      env.reset();
      twin.reset();
      env.groups[0]!.act.fill(1);
      twin.groups[0]!.act.fill(1);
      for (let t = 0; t < 30; t++) {
        env.step();
        twin.step();
      }
      env.groups[0]!.act[3] = bad;
      env.groups[0]!.act[5] = bad;
      const before = snapshot(env);
      assert.throws(() => env.step(), (e: unknown) => {
        assert.ok(e instanceof RangeError);
        const m = e.message;
        assert.match(m, /"default_agent"/);
        assert.match(m, /slot 3\b/, "the first bad slot is reported");
        // The reported value is the one stored in the f32 action row.
        const stored = Math.fround(bad);
        assert.ok(m.includes(`got ${Number.isNaN(stored) ? "NaN" : String(stored)}`), m);
        assert.match(m, /Discrete\(2\)/);
        return true;
      });
      assert.deepEqual(snapshot(env), before, `state changed after bad action ${bad}`);
      // Fixing the action makes the next step work, as if the bad one never happened.
      env.groups[0]!.act[3] = 1;
      env.groups[0]!.act[5] = 1;
      env.step();
      twin.step();
      assert.deepEqual(env.groups[0]!.obs, twin.groups[0]!.obs);
      assert.deepEqual(env.flags, twin.flags);
    }
  });

  it("accepts -0 as action 0", () => {
    const env = createWindyMaze(1, { seed: 3 });
    env.reset();
    env.groups[0]!.act[0] = -0;
    env.step();
    assert.deepEqual(pos(env, 0), [1, 1]);
  });
});

describe("WindyMazeEnv (Gymnasium-style)", () => {
  it("exposes its spaces and returns [[row, col], wind] observations", () => {
    const env = new WindyMazeEnv();
    assert.equal(env.observationSpace, WINDY_MAZE_OBS_SPACE);
    assert.equal(env.actionSpace, WINDY_MAZE_ACTION_SPACE);
    const { obs, info } = env.reset({ seed: 12 });
    assert.deepEqual(info, {});
    assert.ok(obs[0] instanceof Float32Array);
    assert.deepEqual(Array.from(obs[0]), [1, 1]);
    assert.equal(obs[1], new Pcg32(12, 0).nextInt(4));
    assert.ok(env.observationSpace.contains(obs));
  });

  it("keeps terminated and truncated apart", () => {
    const env = new WindyMazeEnv({ seed: 21 });
    env.reset();
    let r = env.step(0);
    for (let t = 2; t <= 200; t++) {
      assert.equal(r.truncated, false);
      r = env.step(0);
    }
    assert.equal(r.truncated, true);
    assert.equal(r.terminated, false);
    assert.equal(r.reward, 0);
    assert.deepEqual(Array.from(r.obs[0]), [1, 1]);

    // Drive to F by moving only with useful winds.
    env.reset({ seed: 2024 });
    const plan = (row: number, col: number): number =>
      row === 1 && col < 7 ? E : col === 7 && row < 6 ? S : W;
    let done = false;
    let steps = 0;
    let obs = env.reset({ seed: 2024 }).obs;
    while (!done) {
      const [rc, wind] = obs;
      const a = wind === plan(rc[0]!, rc[1]!) ? 1 : 0;
      const s = env.step(a);
      obs = s.obs;
      steps++;
      if (s.terminated || s.truncated) {
        assert.equal(s.terminated, true, `reached F in ${steps} steps`);
        assert.equal(s.truncated, false);
        assert.equal(s.reward, 100);
        assert.deepEqual(Array.from(s.obs[0]), [6, 1], "the returned obs is the final one");
        done = true;
      } else {
        assert.equal(s.reward, 0);
      }
    }
  });

  it("throws on step before reset and after the end until reset", () => {
    const env = new WindyMazeEnv({ seed: 1 });
    assert.throws(() => env.step(0), /before reset/);
    env.reset();
    for (let t = 0; t < 200; t++) env.step(0);
    assert.throws(() => env.step(0), /episode has ended/);
    assert.throws(() => env.step(1), /episode has ended/);
    const { obs } = env.reset();
    assert.deepEqual(Array.from(obs[0]), [1, 1]);
    env.step(0);
  });

  it("rejects bad actions with a RangeError naming the value and Discrete(2)", () => {
    const env = new WindyMazeEnv({ seed: 6 });
    const twin = new WindyMazeEnv({ seed: 6 });
    env.reset();
    twin.reset();
    for (const bad of [2, -1, 0.5, Number.NaN, "1" as unknown as number, Infinity]) {
      assert.throws(() => env.step(bad), (e: unknown) => {
        assert.ok(e instanceof RangeError);
        assert.match(e.message, /Discrete\(2\)/);
        const shown = typeof bad === "string" ? `"${bad}"` : String(bad);
        assert.ok(e.message.endsWith(`got ${shown}`), e.message);
        return true;
      });
    }
    for (let t = 0; t < 20; t++) assert.deepEqual(env.step(1), twin.step(1));
  });

  it("follows env 0 of the batched maze with the same seed across auto-resets", () => {
    const single = new WindyMazeEnv({ seed: 0 });
    const batched = createWindyMaze(3, { seed: 0 });
    let obs = single.reset({ seed: 77 }).obs;
    batched.reset(77);
    const rng = new Pcg32(1, 2);
    let episodes = 0;
    for (let t = 0; t < 1500; t++) {
      assert.deepEqual(Array.from(obs[0]), pos(batched, 0));
      assert.equal(obs[1], windOf(batched, 0));
      const a = rng.nextInt(2);
      batched.groups[0]!.act[0] = a;
      batched.step();
      const r = single.step(a);
      obs = r.obs;
      assert.equal(r.reward, batched.rew[0]);
      if (r.terminated || r.truncated) {
        episodes++;
        obs = single.reset().obs;
      }
    }
    assert.ok(episodes >= 5, `${episodes} episodes`);
  });
});

describe("windy maze facts (one source: assembly/windy_maze.ts)", () => {
  it("keeps the published values, read from the generated facts", () => {
    assert.deepEqual(WINDY_MAZE_MAP, [
      "#########",
      "#S      #",
      "####### #",
      "      # #",
      "      # #",
      "####### #",
      "#F      #",
      "#########",
    ]);
    assert.equal(WINDY_MAZE_ROWS, 8);
    assert.equal(WINDY_MAZE_COLS, 9);
    assert.deepEqual(WINDY_MAZE_START, [1, 1]);
    assert.deepEqual(WINDY_MAZE_FINISH, [6, 1]);
    assert.equal(WINDY_MAZE_MAX_STEPS, 200);
    assert.equal(WINDY_MAZE_GOAL_REWARD, 100);
    assert.deepEqual(WINDY_MAZE_WIND_DELTAS, [[-1, 0], [0, 1], [1, 0], [0, -1]]);
    assert.equal(WINDY_MAZE_FACTS.OBS_SIZE, WINDY_MAZE_OBS_SPACE.flatSize);
  });

  it("agree with each other: the map's S and F are the start and finish cells", () => {
    assert.equal(WINDY_MAZE_MAP.length, WINDY_MAZE_ROWS);
    for (const row of WINDY_MAZE_MAP) assert.equal(row.length, WINDY_MAZE_COLS);
    assert.equal(WINDY_MAZE_MAP[WINDY_MAZE_START[0]]![WINDY_MAZE_START[1]], "S");
    assert.equal(WINDY_MAZE_MAP[WINDY_MAZE_FINISH[0]]![WINDY_MAZE_FINISH[1]], "F");
  });
});
