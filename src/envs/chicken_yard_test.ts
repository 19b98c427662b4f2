/**
 * Tests of the chicken yard (`assembly/chicken_yard.ts`, src/envs/chicken_yard.ts): every rule
 * on scripted episodes, a plain TypeScript twin of the rules compared bit for bit with the WASM
 * module over random rollouts (all four build variants, with held envs), `checkEnv`, the episode
 * metrics, refused actions, the dict face, `render` and the example.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ACTIVE, ALIVE, SPAWNED, TERMINATED, TRUNCATED } from "../env/batched.ts";
import { checkEnv } from "../env/check_env.ts";
import { createWasmEnv, type WasmBatchedEnv } from "../env/wasm.ts";
import { createWindyMaze, WINDY_MAZE_DESCRIPTOR, windyMazeModule } from "./windy_maze.ts";
import { Pcg32 } from "../rng.ts";
import {
  CHICKEN_YARD_AGENT_IDS,
  CHICKEN_YARD_ARRIVAL_REWARD,
  CHICKEN_YARD_CLOSENESS_THRESHOLD,
  CHICKEN_YARD_DESCRIPTOR,
  CHICKEN_YARD_DIRECTIONS,
  CHICKEN_YARD_HIGH_OBS_SPACE,
  CHICKEN_YARD_LOW_CONTINUOUS_ACTION_SPACE,
  CHICKEN_YARD_LOW_OBS_SPACE,
  CHICKEN_YARD_METRIC_NAMES,
  CHICKEN_YARD_MOVE_AMOUNT,
  CHICKEN_YARD_NUM_CHICKENS,
  CHICKEN_YARD_NUM_OCEAN_FEATURES,
  CHICKEN_YARD_STEP_REWARD,
  CHICKEN_YARD_TIMEOUT,
  CHICKEN_YARD_TIMEOUT_REWARD,
  chickenYardDescriptor,
  ChickenYardEnv,
  chickenYardModule,
  type ChickenYardOptions,
  chickenYardPolicyMapping,
  createChickenYard,
  render,
} from "./chicken_yard.ts";
import { CHICKEN_YARD_FACTS } from "./_generated/chicken_yard_wasm.ts";

const NC = CHICKEN_YARD_NUM_CHICKENS, NF = CHICKEN_YARD_NUM_OCEAN_FEATURES;
const HO = CHICKEN_YARD_HIGH_OBS_SPACE.flatSize, LO = CHICKEN_YARD_LOW_OBS_SPACE.flatSize;
const f32 = Math.fround;
const CLOSE2 = CHICKEN_YARD_CLOSENESS_THRESHOLD * CHICKEN_YARD_CLOSENESS_THRESHOLD;
const MOVE = CHICKEN_YARD_MOVE_AMOUNT;
const KEEP = ACTIVE | ALIVE, NEW = SPAWNED | ACTIVE | ALIVE;

// ---- The twin: the rules written out plainly, with the kit's slot protocol ----

type Phase = "deciding" | "searching" | "reached" | "timed out";

/** What one env shows after a reset or step; slots in the order high 1, high 2, low 1, low 2. */
interface View {
  flags: number[];
  rew: number[];
  obs: Float32Array[];
  finalObs: (Float32Array | undefined)[];
  done: boolean;
  metrics?: Float32Array;
}

/** One yard, the rules of assembly/chicken_yard.ts in float64 TypeScript. */
class YardTwin {
  readonly rng: Pcg32;
  chickens: number[][] = []; // [x, y]
  chickenOceans: number[][] = [];
  pos: number[][] = [];
  robotOceans: number[][] = [];
  start: number[][] = [[0, 0], [0, 0]];
  phase: Phase[] = [];
  target = [-1, -1];
  moves = [0, 0];
  dotRatio = [0, 0];
  movesRatio = [0, 0];
  t = 0;
  readonly flags = [0, 0, 0, 0];

  constructor(seed: number, index: number, readonly any: boolean, readonly continuous: boolean) {
    this.rng = new Pcg32(seed, index);
  }

  #ocean(): number[] {
    const v = Array.from({ length: NF }, () => this.rng.nextFloat());
    let s = 0;
    for (const x of v) s += x * x;
    const n = Math.sqrt(s);
    return n > 0 ? v.map((x) => x / n) : v;
  }

  #newYard(): void {
    const xy = Array.from({ length: 2 * NC }, () => this.rng.nextFloat());
    this.chickens = Array.from({ length: NC }, (_, c) => [xy[2 * c]!, xy[2 * c + 1]!]);
    this.chickenOceans = Array.from({ length: NC }, () => this.#ocean());
    this.pos = [];
    this.robotOceans = [];
    for (let j = 0; j < 2; j++) {
      this.pos.push([this.rng.nextFloat(), this.rng.nextFloat()]);
      this.robotOceans.push(this.#ocean());
    }
    this.phase = ["deciding", "deciding"];
    this.target = [-1, -1];
    this.moves = [0, 0];
    this.t = 0;
    this.flags[0] = this.flags[0]! | NEW;
    this.flags[1] = this.flags[1]! | NEW;
  }

  dot(j: number, c: number): number {
    let s = 0;
    for (let k = 0; k < NF; k++) s += this.robotOceans[j]![k]! * this.chickenOceans[c]![k]!;
    return s;
  }

  #near(j: number, c: number): boolean {
    const dx = this.pos[j]![0]! - this.chickens[c]![0]!,
      dy = this.pos[j]![1]! - this.chickens[c]![1]!;
    return dx * dx + dy * dy < CLOSE2;
  }

  #arrivedAt(j: number): number {
    if (this.any) {
      for (let c = 0; c < NC; c++) if (this.#near(j, c)) return c;
      return -1;
    }
    return this.#near(j, this.target[j]!) ? this.target[j]! : -1;
  }

  /** The fewest moves, written as the module doc states it (a plain search over m). */
  fewestMoves(j: number, c: number): number {
    const [x0, y0] = this.start[j]!, [cx, cy] = this.chickens[c]!;
    for (let m = 0; m < 64; m++) {
      if (this.continuous) {
        const ex = Math.max(Math.abs(cx! - x0!) - MOVE * m, 0);
        const ey = Math.max(Math.abs(cy! - y0!) - MOVE * m, 0);
        if (ex * ex + ey * ey < CLOSE2) return m;
        continue;
      }
      for (let i = -m; i <= m; i++) {
        for (let k = -m; k <= m; k++) {
          const dx = x0! + MOVE * i - cx!, dy = y0! + MOVE * k - cy!;
          if (dx * dx + dy * dy < CLOSE2) return m;
        }
      }
    }
    return 64;
  }

  row(slot: number): Float32Array {
    const j = slot % 2;
    const out: number[] = [];
    if (slot < 2) {
      for (const o of this.chickenOceans) out.push(...o);
      for (const c of this.chickens) out.push(...c);
      out.push(...this.robotOceans[j]!, ...this.pos[j]!);
    } else {
      for (const c of this.chickens) out.push(...c);
      out.push(...this.pos[j]!);
      for (let c = 0; c < NC; c++) out.push(c === this.target[j] ? 1 : 0);
    }
    return Float32Array.from(out);
  }

  #end(slot: number, finalObs: (Float32Array | undefined)[]): void {
    finalObs[slot] = this.row(slot);
    this.flags[slot] = (this.flags[slot]! & ~KEEP) | TERMINATED;
  }

  #arrive(j: number, c: number, rew: number[], finalObs: (Float32Array | undefined)[]): void {
    this.phase[j] = "reached";
    rew[j] = f32(rew[j]! + f32(this.dot(j, c)));
    const fewest = this.fewestMoves(j, c);
    this.movesRatio[j] = fewest === 0 ? 1 : this.moves[j]! / fewest;
    this.#end(j, finalObs);
  }

  #view(rew: number[], finalObs: (Float32Array | undefined)[], done: boolean, m?: Float32Array) {
    return {
      flags: [...this.flags],
      rew,
      obs: [0, 1, 2, 3].map((s) => this.row(s)),
      finalObs,
      done,
      metrics: m,
    };
  }

  reset(): View {
    this.flags.fill(0);
    this.#newYard();
    return this.#view([0, 0, 0, 0], [], false);
  }

  hold(): View {
    for (let s = 0; s < 4; s++) this.flags[s] = this.flags[s]! & KEEP;
    return this.#view([0, 0, 0, 0], [], false);
  }

  /**
   * One step: `high` the high agents' chickens (read at the decision), `low` the low agents'
   * actions (a direction, or a velocity `[vx, vy]` of float32 numbers).
   */
  step(high: number[], low: (number | number[])[]): View {
    for (let s = 0; s < 4; s++) this.flags[s] = this.flags[s]! & KEEP;
    const rew = [0, 0, 0, 0];
    const finalObs: (Float32Array | undefined)[] = [];
    this.t++;
    let searching = 0;
    if (this.t === 1) {
      for (let j = 0; j < 2; j++) {
        const c = high[j]!;
        this.target[j] = c;
        this.start[j] = [...this.pos[j]!];
        let best = 0;
        for (let k = 0; k < NC; k++) best = Math.max(best, this.dot(j, k));
        this.dotRatio[j] = best > 0 ? this.dot(j, c) / best : 1;
        const at = this.#arrivedAt(j);
        if (at >= 0) this.#arrive(j, at, rew, finalObs);
        else {
          this.phase[j] = "searching";
          this.flags[j] = this.flags[j]! & ~ACTIVE;
          this.flags[2 + j] = this.flags[2 + j]! | NEW;
          searching++;
        }
      }
    } else {
      for (let j = 0; j < 2; j++) {
        if (this.phase[j] !== "searching") continue;
        const a = low[j]!;
        const [vx, vy] = typeof a === "number"
          ? CHICKEN_YARD_DIRECTIONS[a]!.map((d) => d * MOVE)
          : [f32(a[0]!), f32(a[1]!)];
        const clamp = (v: number) => {
          const w = v < 0 ? 0 : v;
          return w > 1 ? 1 : w;
        };
        this.pos[j] = [clamp(this.pos[j]![0]! + vx!), clamp(this.pos[j]![1]! + vy!)];
        this.moves[j]!++;
        const c = this.#arrivedAt(j);
        if (c >= 0) {
          rew[2 + j] = f32(CHICKEN_YARD_ARRIVAL_REWARD);
          this.#arrive(j, c, rew, finalObs);
          this.#end(2 + j, finalObs);
        } else if (this.t >= CHICKEN_YARD_TIMEOUT) {
          this.phase[j] = "timed out";
          rew[2 + j] = f32(CHICKEN_YARD_TIMEOUT_REWARD);
          rew[j] = f32(CHICKEN_YARD_TIMEOUT_REWARD);
        } else {
          rew[2 + j] = f32(CHICKEN_YARD_STEP_REWARD);
          searching++;
        }
      }
    }
    if (searching > 0) return this.#view(rew, finalObs, false);
    for (let s = 0; s < 4; s++) if ((this.flags[s]! & ALIVE) !== 0) this.#end(s, finalObs);
    let reached = 0, moves = 0, dots = 0;
    for (let j = 0; j < 2; j++) {
      dots += this.dotRatio[j]!;
      if (this.phase[j] === "reached") {
        reached++;
        moves += this.movesRatio[j]!;
      }
    }
    const m = Float32Array.of(reached / 2, reached === 0 ? NaN : moves / reached, dots / 2, this.t);
    this.#newYard();
    return this.#view(rew, finalObs, true, m);
  }
}

// ---- Helpers over the batched env ----

/** Global slots of env `i`: high 1, high 2, low 1, low 2. */
function slotsOf(env: WasmBatchedEnv, i: number): number[] {
  const lo = env.groups[1]!.slotOffset;
  return [2 * i, 2 * i + 1, lo + 2 * i, lo + 2 * i + 1];
}

function rowOf(env: WasmBatchedEnv, i: number, k: number, final = false): Float32Array {
  const g = env.groups[k < 2 ? 0 : 1]!;
  const size = k < 2 ? HO : LO, r = 2 * i + (k % 2);
  return (final ? g.finalObs : g.obs).slice(r * size, r * size + size);
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

function assertMatches(env: WasmBatchedEnv, i: number, v: View, when: string): void {
  const slots = slotsOf(env, i);
  for (let k = 0; k < 4; k++) {
    const at = `${when}, env ${i}, slot ${k}`;
    assert.equal(env.flags[slots[k]!], v.flags[k], `flags at ${at}`);
    assert.ok(
      Object.is(env.rew[slots[k]!], v.rew[k]),
      `reward at ${at}: ${env.rew[slots[k]!]} vs ${v.rew[k]}`,
    );
    assert.deepEqual(bits(rowOf(env, i, k)), bits(v.obs[k]!), `obs at ${at}`);
    if ((v.flags[k]! & (TERMINATED | TRUNCATED)) !== 0) {
      assert.deepEqual(bits(rowOf(env, i, k, true)), bits(v.finalObs[k]!), `final obs at ${at}`);
    }
  }
  assert.equal(env.envDone[i], v.done ? 1 : 0, `envDone at ${when}, env ${i}`);
  assert.equal(env.envTruncated[i], 0, `envTruncated at ${when}, env ${i}`);
  if (v.done) {
    const got = env.episodeMetrics!.values.slice(4 * i, 4 * i + 4);
    assert.deepEqual(
      bits(got),
      bits(v.metrics!),
      `metrics at ${when}, env ${i}: ${got} vs ${v.metrics}`,
    );
  }
}

function snapshot(env: WasmBatchedEnv): Uint8Array {
  return new Uint8Array(env.memory.buffer).slice();
}

function positionOf(env: WasmBatchedEnv, i: number, j: number): [number, number] {
  const r = rowOf(env, i, j);
  return [r[HO - 2]!, r[HO - 1]!];
}

function chickensOf(env: WasmBatchedEnv, i: number): [number, number][] {
  const r = rowOf(env, i, 0), at = NC * NF;
  return Array.from({ length: NC }, (_, c) => [r[at + 2 * c]!, r[at + 2 * c + 1]!]);
}

function oceansOf(env: WasmBatchedEnv, i: number): { chickens: number[][]; robots: number[][] } {
  const r0 = rowOf(env, i, 0), r1 = rowOf(env, i, 1);
  const chickens = Array.from(
    { length: NC },
    (_, c) => Array.from(r0.subarray(c * NF, c * NF + NF)),
  );
  const at = NC * NF + 2 * NC;
  return {
    chickens,
    robots: [Array.from(r0.subarray(at, at + NF)), Array.from(r1.subarray(at, at + NF))],
  };
}

/** The discrete move that heads from `(x, y)` towards `(tx, ty)` (N when already there). */
function towards(x: number, y: number, tx: number, ty: number): number {
  const sx = Math.sign(Math.round((tx - x) / MOVE)), sy = Math.sign(Math.round((ty - y) / MOVE));
  const d = CHICKEN_YARD_DIRECTIONS.findIndex(([dx, dy]) => dx === sx && dy === sy);
  return d < 0 ? 0 : d;
}

function dist2(a: readonly number[], b: readonly number[]): number {
  const dx = a[0]! - b[0]!, dy = a[1]! - b[1]!;
  return dx * dx + dy * dy;
}

/**
 * Steps env `i` alone (the others held by the step mask) with these actions (NaN in every row
 * not acting).
 */
function stepWith(
  env: WasmBatchedEnv,
  i: number,
  high: number[] | undefined,
  low: (number | number[])[],
) {
  const [h, l] = env.groups;
  env.stepMask.fill(0);
  env.stepMask[i] = 1;
  h!.act.fill(NaN);
  l!.act.fill(NaN);
  const A = l!.actionSpace.packedSize;
  const slots = slotsOf(env, i);
  for (let j = 0; j < 2; j++) {
    if (high !== undefined && (env.flags[slots[j]!]! & ACTIVE) !== 0) h!.act[2 * i + j] = high[j]!;
    if ((env.flags[slots[2 + j]!]! & ACTIVE) !== 0) {
      const a = low[j]!;
      if (typeof a === "number") l!.act[(2 * i + j) * A] = a;
      else l!.act.set(a, (2 * i + j) * A);
    }
  }
  env.step();
}

/** Finds an env (over seeds) where `pred(env, i)` holds right after reset. */
function findYard(
  opts: ChickenYardOptions,
  pred: (env: WasmBatchedEnv, i: number) => boolean,
): { env: WasmBatchedEnv; i: number; seed: number } {
  for (let seed = 1; seed < 400; seed++) {
    const env = createChickenYard(256, { ...opts, seed });
    env.reset();
    for (let i = 0; i < 256; i++) if (pred(env, i)) return { env, i, seed };
  }
  throw new Error("no such yard");
}

const VARIANTS: ChickenYardOptions[] = [
  {},
  { targetMode: "any" },
  { lowAction: "continuous" },
  { targetMode: "any", lowAction: "continuous" },
];

// ---- Tests ----

describe("chicken yard: facts, spaces, ids", () => {
  it("reads its facts from the AssemblyScript file and lays out the spaces it declares", () => {
    assert.equal(NC, 10);
    assert.equal(NF, 5);
    assert.equal(CHICKEN_YARD_CLOSENESS_THRESHOLD, 0.03);
    assert.equal(MOVE, 0.03);
    assert.equal(CHICKEN_YARD_STEP_REWARD, -0.001);
    assert.equal(CHICKEN_YARD_ARRIVAL_REWARD, 1);
    assert.equal(CHICKEN_YARD_TIMEOUT_REWARD, -1);
    assert.equal(CHICKEN_YARD_TIMEOUT, 1000);
    assert.deepEqual(CHICKEN_YARD_DIRECTIONS, [
      [0, -1],
      [1, -1],
      [1, 0],
      [1, 1],
      [0, 1],
      [-1, 1],
      [-1, 0],
      [-1, -1],
    ]);
    assert.equal(HO, CHICKEN_YARD_FACTS.HIGH_OBS_SIZE);
    assert.equal(LO, CHICKEN_YARD_FACTS.LOW_OBS_SIZE);
    assert.deepEqual(CHICKEN_YARD_HIGH_OBS_SPACE.keys, [
      "chicken_oceans",
      "chicken_positions",
      "robot_ocean",
      "robot_position",
    ]);
    assert.deepEqual(CHICKEN_YARD_LOW_OBS_SPACE.keys, [
      "chicken_positions",
      "robot_position",
      "target",
    ]);
    assert.deepEqual(CHICKEN_YARD_METRIC_NAMES, [
      "reach_rate",
      "moves_ratio",
      "dot_ratio",
      "episode_steps",
    ]);
    assert.equal(String(CHICKEN_YARD_LOW_CONTINUOUS_ACTION_SPACE.high[0]), String(f32(0.03)));
    assert.deepEqual(
      VARIANTS.map((o) => chickenYardDescriptor(o).name),
      [
        "chicken_yard",
        "chicken_yard_any",
        "chicken_yard_continuous",
        "chicken_yard_any_continuous",
      ],
    );
    assert.equal(CHICKEN_YARD_DESCRIPTOR.name, "chicken_yard");
  });

  it("names its agents and groups and starts with both high-level agents", () => {
    const env = createChickenYard(3, { seed: 1 });
    assert.deepEqual(env.groups.map((g) => [g.name, g.slotsPerEnv, g.slotOffset]), [
      ["high", 2, 0],
      ["low", 2, 6],
    ]);
    env.reset();
    for (let i = 0; i < 3; i++) {
      const s = slotsOf(env, i);
      assert.deepEqual(s.map((x) => env.flags[x]), [NEW, NEW, 0, 0]);
      assert.deepEqual([env.agentId(s[0]!), env.agentId(s[1]!)], ["robot_1_high", "robot_2_high"]);
    }
    stepWith(env, 0, [0, 1], []);
    assert.deepEqual(slotsOf(env, 0).map((s) => env.agentId(s)), CHICKEN_YARD_AGENT_IDS);
  });

  it("maps agents to the tutorial's policies and refuses other ids by name", () => {
    assert.equal(chickenYardPolicyMapping("robot_1_high"), "high_level_policy");
    assert.equal(chickenYardPolicyMapping("robot_2_high"), "high_level_policy");
    assert.equal(chickenYardPolicyMapping("robot_1_low"), "low_level_policy");
    assert.equal(chickenYardPolicyMapping("robot_2_low"), "low_level_policy");
    assert.throws(() => chickenYardPolicyMapping("robot_3"), /agent "robot_3" has neither/);
    assert.throws(() => chickenYardPolicyMapping("high_low"), /agent "high_low" has both/);
  });

  it("the loader views the episode metrics, their count checked against the descriptor", () => {
    const m = createChickenYard(2).episodeMetrics!;
    assert.deepEqual(m.names, CHICKEN_YARD_METRIC_NAMES);
    assert.equal(m.values.length, 2 * 4);
    assert.throws(
      () =>
        createWasmEnv(chickenYardModule(), { ...CHICKEN_YARD_DESCRIPTOR, metrics: undefined }, 1),
      /WASM env "chicken_yard" writes 4 episode metric\(s\) but its descriptor names 0$/,
    );
    assert.throws(
      () => createWasmEnv(windyMazeModule(), { ...WINDY_MAZE_DESCRIPTOR, metrics: ["x"] }, 1),
      /writes 0 episode metric\(s\) but its descriptor names 1 \(does the module re-export assembly\/_abi_metrics.ts\?\)/,
    );
    assert.equal(createWindyMaze(1).episodeMetrics, undefined);
  });

  it("refuses unknown options by name", () => {
    assert.throws(
      () => createChickenYard(1, { targetMode: "nearest" as never }),
      /targetMode must be "target" or "any", got "nearest"/,
    );
    assert.throws(
      () => createChickenYard(1, { lowAction: "jump" as never }),
      /lowAction must be "discrete" or "continuous", got "jump"/,
    );
  });
});

describe("chicken yard: the rules on scripted episodes", () => {
  it("decision step: records the chickens, moves nothing, spawns both low agents", () => {
    const env = createChickenYard(1, { seed: 4 });
    env.reset();
    const before = [positionOf(env, 0, 0), positionOf(env, 0, 1)];
    const far = (j: number) => chickensOf(env, 0).findIndex((c) => dist2(c, before[j]!) > 0.01);
    stepWith(env, 0, [far(0), far(1)], []);
    const s = slotsOf(env, 0);
    assert.deepEqual(s.map((x) => env.flags[x]), [ALIVE, ALIVE, NEW, NEW]);
    assert.deepEqual(s.map((x) => env.rew[x]), [0, 0, 0, 0]);
    assert.deepEqual([positionOf(env, 0, 0), positionOf(env, 0, 1)], before);
    for (let j = 0; j < 2; j++) {
      const t = rowOf(env, 0, 2 + j).subarray(LO - NC);
      assert.deepEqual(Array.from(t), Array.from({ length: NC }, (_, c) => (c === far(j) ? 1 : 0)));
    }
  });

  it("arrival: low +1 (not -0.001), high the dot product, both end, the robot drops out", () => {
    const env = createChickenYard(1, { seed: 11 });
    env.reset();
    const chickens = chickensOf(env, 0), oc = oceansOf(env, 0);
    // Robot 1 walks to the chicken nearest to it; robot 2 to the one farthest from it.
    const byDist = (j: number) =>
      chickens.map((c, k) => [dist2(c, positionOf(env, 0, j)), k] as const).sort((a, b) =>
        a[0] - b[0]
      );
    const t1 = byDist(0)[0]![1], t2 = byDist(1)[NC - 1]![1];
    stepWith(env, 0, [t1, t2], []);
    const s = slotsOf(env, 0);
    let steps = 1;
    let arrivedAt = -1;
    for (; steps < 200; steps++) {
      const [x, y] = positionOf(env, 0, 0);
      const [x2, y2] = positionOf(env, 0, 1);
      const away = towards(chickens[t2]![0], chickens[t2]![1], x2, y2); // robot 2 moves away
      stepWith(env, 0, undefined, [towards(x, y, ...chickens[t1]!), away]);
      if ((env.flags[s[2]!]! & TERMINATED) !== 0) {
        arrivedAt = steps + 1;
        break;
      }
      assert.equal(env.rew[s[2]!], f32(-0.001));
      assert.equal(env.rew[s[3]!], f32(-0.001));
      assert.equal(env.rew[s[0]!], 0, "a waiting high agent gets nothing");
    }
    assert.ok(arrivedAt > 2);
    assert.ok(dist2(positionOf(env, 0, 0), chickens[t1]!) < CLOSE2 * 1.0001);
    assert.equal(env.rew[s[2]!], 1);
    const dot = oc.robots[0]!.reduce((a, v, k) => a + v * oc.chickens[t1]![k]!, 0);
    assert.ok(Math.abs(env.rew[s[0]!]! - dot) < 1e-6, `${env.rew[s[0]!]} vs ${dot}`);
    assert.equal(env.flags[s[0]!], TERMINATED);
    assert.equal(env.flags[s[2]!], TERMINATED);
    assert.equal(env.flags[s[3]!], ACTIVE | ALIVE);
    assert.equal(env.envDone[0], 0);
    // Its final observations show it at the chicken.
    const fin = rowOf(env, 0, 2, true);
    assert.deepEqual(Array.from(fin.subarray(2 * NC, 2 * NC + 2)), positionOf(env, 0, 0));
    // Dropped out: no agent, no reward, no more moves, while robot 2 goes on.
    const p1 = positionOf(env, 0, 0);
    for (let k = 0; k < 5; k++) {
      stepWith(env, 0, undefined, [0, 4]);
      assert.deepEqual(s.map((x) => env.flags[x]), [0, ALIVE, 0, ACTIVE | ALIVE]);
      assert.deepEqual([env.rew[s[0]!], env.rew[s[2]!]], [0, 0]);
      assert.deepEqual(positionOf(env, 0, 0), p1);
    }
  });

  it("both robots done: the episode ends (__all__), auto-reset, metrics written", () => {
    const env = new ChickenYardEnv({ seed: 5 });
    let { obs } = env.reset({ seed: 5 });
    assert.deepEqual(Object.keys(obs), ["robot_1_high", "robot_2_high"]);
    const b = env.batched;
    const chickens = chickensOf(b, 0);
    const target = [0, 1].map((j) => {
      const p = positionOf(b, 0, j);
      return chickens.map((c, k) => [dist2(c, p), k] as const).sort((x, y) => x[0] - y[0])[1]![1];
    });
    let r = env.step({ robot_1_high: target[0]!, robot_2_high: target[1]! });
    assert.deepEqual(Object.keys(r.obs), ["robot_1_low", "robot_2_low"]);
    assert.deepEqual(r.rewards, {
      robot_1_high: 0,
      robot_2_high: 0,
      robot_1_low: 0,
      robot_2_low: 0,
    });
    const ended: string[] = [];
    for (let t = 0; t < 300 && !r.terminateds.__all__; t++) {
      obs = r.obs;
      const actions: Record<string, number> = {};
      for (const id of Object.keys(obs)) {
        const j = id === "robot_1_low" ? 0 : 1;
        const o = obs[id] as { robot_position: Float32Array };
        actions[id] = towards(o.robot_position[0]!, o.robot_position[1]!, ...chickens[target[j]!]!);
      }
      r = env.step(actions);
      for (const id of Object.keys(r.terminateds)) {
        if (id !== "__all__" && r.terminateds[id]) ended.push(id);
      }
      if (!r.terminateds.__all__) assert.ok(Object.keys(r.obs).every((id) => id.endsWith("_low")));
    }
    assert.equal(r.terminateds.__all__, true);
    assert.equal(r.truncateds.__all__, false);
    assert.deepEqual([...ended].sort(), [...CHICKEN_YARD_AGENT_IDS].sort());
    assert.throws(() => env.step({}), /episode ended/);
    const m = b.episodeMetrics!.values;
    assert.equal(m[0], 1, "reach_rate");
    assert.ok(m[1]! >= 1, "moves_ratio");
    assert.ok(m[2]! > 0 && m[2]! <= 1, "dot_ratio");
    assert.ok(m[3]! > 1, "episode_steps");
    assert.ok(env.render().includes("(episode over)"));
    // reset() continues with the yard the batched env already drew.
    assert.deepEqual(Object.keys(env.reset().obs), ["robot_1_high", "robot_2_high"]);
  });

  it("a wrong chicken passes in target mode and ends the robot in any mode", () => {
    const results: Record<string, { passed: boolean; ended: boolean; high: number; low: number }> =
      {};
    for (const targetMode of ["target", "any"] as const) {
      const env = createChickenYard(1, { seed: 21, targetMode });
      env.reset();
      const chickens = chickensOf(env, 0), oc = oceansOf(env, 0);
      const p = positionOf(env, 0, 0);
      const order = chickens.map((c, k) => [dist2(c, p), k] as const).sort((a, b) => a[0] - b[0]);
      const [via, target] = [order[1]![1], order[0]![1]]; // walk to the second nearest
      stepWith(env, 0, [target, target], []);
      const s = slotsOf(env, 0);
      let ended = false, passed = false;
      for (let t = 0; t < 100 && !ended; t++) {
        const [x, y] = positionOf(env, 0, 0);
        const was = positionOf(env, 0, 1);
        stepWith(env, 0, undefined, [towards(x, y, ...chickens[via]!), towards(...was, 0.5, 0.5)]);
        ended = (env.flags[s[2]!]! & TERMINATED) !== 0;
        const d = dist2(positionOf(env, 0, 0), chickens[via]!);
        if (d < CLOSE2 * 0.99) passed = true;
        if (passed && !ended) {
          // Target mode: at another chicken, the search goes on.
          assert.equal(env.rew[s[2]!], f32(-0.001));
          break;
        }
        if (ended) {
          assert.ok(d < CLOSE2 * 1.0001);
          const dot = oc.robots[0]!.reduce((a, v, k) => a + v * oc.chickens[via]![k]!, 0);
          assert.ok(
            Math.abs(env.rew[s[0]!]! - dot) < 1e-6,
            "high gets the dot with the chicken reached",
          );
        }
      }
      results[targetMode] = { passed, ended, high: env.rew[s[0]!]!, low: env.rew[s[2]!]! };
    }
    assert.deepEqual(results.target, { passed: true, ended: false, high: 0, low: f32(-0.001) });
    assert.equal(results.any!.ended, true);
    assert.equal(results.any!.low, 1);
    assert.ok(results.any!.high > 0);
  });

  it("times out at env step 1000: -1 on both levels, TERMINATED, not truncated", () => {
    const env = new ChickenYardEnv({ seed: 2 });
    env.reset({ seed: 2 });
    const b = env.batched;
    // Each robot picks the chicken farthest from it and steps back and forth (N, S) on the spot.
    const chickens = chickensOf(b, 0);
    const far = [0, 1].map((j) => {
      const p = positionOf(b, 0, j);
      return chickens.map((c, k) => [dist2(c, p), k] as const).sort((x, y) => y[0] - x[0])[0]![1];
    });
    let r = env.step({ robot_1_high: far[0]!, robot_2_high: far[1]! });
    for (let t = 2; t < CHICKEN_YARD_TIMEOUT; t++) {
      const a = t % 2 === 0 ? 0 : 4;
      r = env.step({ robot_1_low: a, robot_2_low: a });
      assert.deepEqual(
        r.rewards,
        { robot_1_low: f32(-0.001), robot_2_low: f32(-0.001) },
        `step ${t}`,
      );
      assert.equal(r.terminateds.__all__, false);
    }
    r = env.step({ robot_1_low: 0, robot_2_low: 0 });
    assert.deepEqual(r.rewards, {
      robot_1_high: -1,
      robot_2_high: -1,
      robot_1_low: -1,
      robot_2_low: -1,
    });
    assert.deepEqual(r.terminateds, {
      __all__: true,
      robot_1_high: true,
      robot_2_high: true,
      robot_1_low: true,
      robot_2_low: true,
    });
    assert.equal(r.truncateds.__all__, false);
    assert.equal(b.envTruncated[0], 0);
    const m = b.episodeMetrics!.values;
    assert.deepEqual([m[0], m[3]], [0, 1000]);
    assert.ok(Number.isNaN(m[1]), "moves_ratio undefined when no robot reached");
    assert.ok(env.render().includes("timed out"));
  });

  it("clamps positions to the yard, exactly at 0 and 1", () => {
    for (const lowAction of ["discrete", "continuous"] as const) {
      const env = createChickenYard(1, { seed: 8, lowAction });
      env.reset();
      const chickens = chickensOf(env, 0);
      // Pick chickens away from the corners the robots walk into.
      const pick = (corner: number[]) =>
        chickens.map((c, k) => [dist2(c, corner), k] as const).sort((a, b) => b[0] - a[0])[0]![1];
      stepWith(env, 0, [pick([0, 0]), pick([1, 1])], []);
      const v = f32(MOVE);
      // Robot 1 goes NW, robot 2 SE, for 40 steps: both end in the corners.
      for (let t = 0; t < 40; t++) {
        stepWith(env, 0, undefined, lowAction === "discrete" ? [7, 3] : [[-v, -v], [v, v]]);
      }
      assert.deepEqual(positionOf(env, 0, 0), [0, 0]);
      assert.deepEqual(positionOf(env, 0, 1), [1, 1]);
      assert.equal(env.envDone[0], 0);
    }
  });

  it("a robot already at its chicken ends at the decision: high gets the dot, no low agent", () => {
    for (const targetMode of ["target", "any"] as const) {
      const { env, i } = findYard({ targetMode }, (e, k) => {
        const p = positionOf(e, k, 0);
        return chickensOf(e, k).some((c) => dist2(c, p) < CLOSE2 * 0.9) &&
          !chickensOf(e, k).some((c) => dist2(c, positionOf(e, k, 1)) < CLOSE2 * 1.1);
      });
      const chickens = chickensOf(env, i), oc = oceansOf(env, i);
      const at = chickens.findIndex((c) => dist2(c, positionOf(env, i, 0)) < CLOSE2 * 0.9);
      // Any mode: the robot chose another chicken and still ends, paid for the one it is at.
      const chosen = targetMode === "target" ? at : (at + 1) % NC;
      stepWith(env, i, [chosen, 0], []);
      const s = slotsOf(env, i);
      assert.deepEqual(s.map((x) => env.flags[x]), [TERMINATED, ALIVE, 0, NEW], targetMode);
      const dot = oc.robots[0]!.reduce((a, v, k) => a + v * oc.chickens[at]![k]!, 0);
      assert.ok(Math.abs(env.rew[s[0]!]! - dot) < 1e-6);
      assert.deepEqual([env.rew[s[2]!], env.envDone[i]], [0, 0]);
      // The target shows in the robot's low row though no agent holds it (render reads it).
      assert.equal(rowOf(env, i, 2)[LO - NC + chosen], 1);
      assert.ok(render(env, i).includes(`A robot_1 (`));
      assert.ok(render(env, i).includes(`reached chicken ${at}`));
    }
    // Both robots there at the decision: the episode ends at step 1.
    const { env, i } = findYard(
      { targetMode: "any" },
      (e, k) =>
        [0, 1].every((j) =>
          chickensOf(e, k).some((c) => dist2(c, positionOf(e, k, j)) < CLOSE2 * 0.9)
        ),
    );
    stepWith(env, i, [0, 0], []);
    assert.equal(env.envDone[i], 1);
    const s = slotsOf(env, i);
    assert.deepEqual(s.map((x) => env.flags[x]! & ~NEW), [TERMINATED, TERMINATED, 0, 0]);
    const m = env.episodeMetrics!.values.slice(4 * i, 4 * i + 4);
    assert.deepEqual([m[0], m[1], m[3]], [1, 1, 1], "both reached without moving: ratio 1");
  });

  it("continuous moves: exact velocities, ±0.03 as float32 accepted, anything else refused", () => {
    const env = createChickenYard(2, { seed: 3, lowAction: "continuous" });
    env.reset();
    const chickens = chickensOf(env, 0);
    const far = chickens.map((c, k) => [dist2(c, positionOf(env, 0, 0)), k] as const)
      .sort((a, b) => b[0] - a[0])[0]![1];
    env.groups[0]!.act.set([far, far, far, far]);
    env.step();
    const [x0, y0] = positionOf(env, 0, 0);
    const [vx, vy] = [f32(0.0123), f32(-0.02)];
    stepWith(env, 0, undefined, [[vx, vy], [f32(0.03), f32(-0.03)]]);
    // Positions are float64 in the env; the observation is their float32 rounding.
    const [x1, y1] = positionOf(env, 0, 0);
    const clamp = (v: number) => Math.min(Math.max(v, 0), 1);
    assert.equal(x1, f32(clamp(x0! + vx)));
    assert.equal(y1, f32(clamp(y0! + vy)));
    const low = env.groups[1]!;
    env.stepMask.fill(1);
    for (const bad of [0.031, -0.0301, NaN, Infinity]) {
      low.act.fill(0);
      low.act[1 * 2 * 2 + 1] = bad; // env 1, robot 1, vy
      const before = snapshot(env);
      assert.throws(() => env.step(), (e: unknown) => {
        assert.ok(e instanceof RangeError);
        assert.match(
          e.message,
          /^Invalid action for agent "robot_1_low" \(slot 6, group "low" of WASM env "chicken_yard_continuous"\): got (NaN|Infinity|-?0\.0\d+), expected a member of Box\(/,
        );
        return true;
      });
      assert.deepEqual(snapshot(env), before, `a refused ${bad} changed the env`);
    }
    // The dict face refuses them too, by name.
    const d = new ChickenYardEnv({ seed: 3, lowAction: "continuous" });
    d.reset();
    d.step({ robot_1_high: far, robot_2_high: far });
    assert.throws(
      () => d.step({ robot_1_low: [0.04, 0], robot_2_low: [0, 0] }),
      /Invalid action .* for agent "robot_1_low": expected element 0 in/,
    );
  });

  it("refuses invalid discrete actions naming the agent and changes nothing", () => {
    const env = createChickenYard(2, { seed: 6 });
    env.reset();
    const [high, low] = env.groups;
    for (const [bad, at] of [[10, 1], [-1, 2], [2.5, 3], [NaN, 0]] as const) {
      high!.act.fill(0);
      high!.act[at] = bad;
      const before = snapshot(env);
      assert.throws(
        () => env.step(),
        new RangeError(
          `Invalid action for agent "robot_${
            (at % 2) + 1
          }_high" (slot ${at}, group "high" of WASM env "chicken_yard"): got ${bad}, expected a member of Discrete(10) (packed as 1 number(s))`,
        ),
      );
      assert.deepEqual(snapshot(env), before);
    }
    high!.act.fill(1);
    env.step();
    low!.act.fill(0);
    low!.act[3] = 8;
    const before = snapshot(env);
    assert.throws(
      () => env.step(),
      /Invalid action for agent "robot_2_low" \(slot 7, group "low".*got 8, expected a member of Discrete\(8\)/,
    );
    assert.deepEqual(snapshot(env), before);
    // A waiting high agent's row is never read.
    high!.act.fill(NaN);
    low!.act[3] = 2;
    env.step();
    const d = new ChickenYardEnv({ seed: 6 });
    d.reset();
    assert.throws(() => d.step({ robot_1_high: 3 }), /Missing action for agent "robot_2_high"/);
    assert.throws(
      () => d.step({ robot_1_high: 3, robot_2_high: 3, robot_1_low: 0 }),
      /Agent "robot_1_low" is not asked to act/,
    );
    assert.throws(() => d.observationSpace("robot_3_low"), /Unknown agent "robot_3_low"/);
  });
});

describe("chicken yard: metrics", () => {
  it("reach_rate, moves_ratio (lattice minimum), dot_ratio, episode_steps of a scripted episode", () => {
    const env = createChickenYard(1, { seed: 13 });
    env.reset();
    const chickens = chickensOf(env, 0), oc = oceansOf(env, 0);
    // Observations are exact here: positions are drawn as float32 numbers and have not moved.
    const start = [positionOf(env, 0, 0), positionOf(env, 0, 1)];
    const p0 = start[0]!;
    const t1 =
      chickens.map((c, k) => [dist2(c, p0), k] as const).sort((a, b) => a[0] - b[0])[2]![1];
    const t2 =
      chickens.map((c, k) => [dist2(c, start[1]!), k] as const).sort((a, b) => b[0] - a[0])[0]![1];
    stepWith(env, 0, [t1, t2], []);
    // Robot 1 takes a detour (2 steps away from its chicken) then heads for it; robot 2 waits
    // on the spot (N, S) and times out.
    let moves = 0;
    for (let t = 2; env.envDone[0] === 0; t++) {
      const [x, y] = positionOf(env, 0, 0);
      const back = towards(...chickens[t1]!, x, y);
      const a1 = moves < 2 ? back : towards(x, y, ...chickens[t1]!);
      if ((env.flags[slotsOf(env, 0)[2]!]! & ALIVE) !== 0) moves++;
      stepWith(env, 0, undefined, [a1, t % 2 === 0 ? 0 : 4]);
    }
    // The fewest moves by hand: the smallest m with a lattice point within 0.03.
    const [x0, y0] = p0, [cx, cy] = chickens[t1]!;
    let fewest = -1;
    for (let m = 0; fewest < 0; m++) {
      for (let i = -m; i <= m && fewest < 0; i++) {
        for (let j = -m; j <= m; j++) {
          const dx = x0 + 0.03 * i - cx, dy = y0 + 0.03 * j - cy;
          if (dx * dx + dy * dy < 0.03 * 0.03) {
            fewest = m;
            break;
          }
        }
      }
    }
    assert.ok(fewest >= 2, `a chicken ${fewest} moves away`);
    // Greedy king moves reach it in the fewest moves, the detour costs 4 more.
    assert.equal(moves, fewest + 4);
    const dots = [0, 1].map((j) =>
      oc.chickens.map((c) => c.reduce((a, v, k) => a + v * oc.robots[j]![k]!, 0))
    );
    const ratio = (j: number, t: number) => dots[j]![t]! / Math.max(...dots[j]!);
    const m = env.episodeMetrics!.values;
    assert.equal(m[0], 0.5, "reach_rate: one robot of two");
    assert.equal(m[1], f32(moves / fewest), "moves_ratio");
    assert.ok(Math.abs(m[2]! - (ratio(0, t1) + ratio(1, t2)) / 2) < 1e-6, "dot_ratio");
    assert.equal(m[3], CHICKEN_YARD_TIMEOUT, "episode_steps");
    assert.deepEqual(env.episodeMetrics!.names, CHICKEN_YARD_METRIC_NAMES);
  });

  it("is NaN before the first episode ends and in the other rows", () => {
    const env = createChickenYard(3, { seed: 1 });
    env.reset();
    assert.ok(env.episodeMetrics!.values.every((v) => Number.isNaN(v)));
  });
});

describe("chicken yard: the twin, checkEnv, the example", () => {
  /** Random rollouts of every variant against the twin, with held envs. */
  function rollOut(opts: ChickenYardOptions, seed: number, n: number, steps: number) {
    const any = opts.targetMode === "any", cont = opts.lowAction === "continuous";
    const env = createChickenYard(n, { ...opts, seed: 3 });
    const twins = Array.from({ length: n }, (_, i) => new YardTwin(seed, i, any, cont));
    env.reset(seed);
    twins.forEach((t, i) => assertMatches(env, i, t.reset(), "reset"));
    const rng = new Pcg32(seed, 77);
    const seen = {
      episodes: 0,
      arrivals: 0,
      timeouts: 0,
      decisionArrivals: 0,
      clamps: 0,
      holds: 0,
    };
    const [high, low] = env.groups;
    const A = low!.actionSpace.packedSize, v = f32(MOVE);
    for (let t = 0; t < steps; t++) {
      high!.act.fill(NaN);
      low!.act.fill(NaN);
      const acts: [number[], (number | number[])[]][] = [];
      for (let i = 0; i < n; i++) {
        const tw = twins[i]!, s = slotsOf(env, i);
        const h = [rng.nextInt(NC), rng.nextInt(NC)];
        const l: (number | number[])[] = [];
        for (let j = 0; j < 2; j++) {
          if ((env.flags[s[j]!]! & ACTIVE) !== 0) high!.act[2 * i + j] = h[j]!;
          // Mostly head for the chosen chicken, sometimes wander (and pass other chickens).
          const [x, y] = tw.pos[j]!;
          const c = tw.chickens[Math.max(tw.target[j]!, 0)]!;
          const r = rng.nextInt(4);
          let a: number | number[];
          if (i === 0) {
            // Env 0 steps on the spot (N, S or no velocity) and times out.
            a = cont ? [0, 0] : t % 2 === 0 ? 0 : 4;
          } else if (cont) {
            const u = () => f32((rng.nextFloat() * 2 - 1) * v);
            const pull = (d: number) => f32(Math.max(-v, Math.min(v, d)));
            a = r === 0
              ? [u(), u()]
              : r === 1
              ? [rng.nextInt(3) - 1, rng.nextInt(3) - 1].map((k) => f32(k * v))
              : [pull(c[0]! - x!), pull(c[1]! - y!)];
          } else a = r < 2 ? rng.nextInt(8) : towards(x!, y!, c[0]!, c[1]!);
          l.push(a);
          if ((env.flags[s[2 + j]!]! & ACTIVE) !== 0) {
            if (typeof a === "number") low!.act[(2 * i + j) * A] = a;
            else low!.act.set(a, (2 * i + j) * A);
          }
        }
        acts.push([h, l]);
        env.stepMask[i] = rng.nextInt(7) === 0 ? 0 : 1;
      }
      env.step();
      for (let i = 0; i < n; i++) {
        const tw = twins[i]!;
        const wasT = tw.t;
        const view = env.stepMask[i] === 0 ? tw.hold() : tw.step(...acts[i]!);
        assertMatches(env, i, view, `step ${t + 1}`);
        if (env.stepMask[i] === 0) seen.holds++;
        if (view.done) {
          seen.episodes++;
          if (view.metrics![3] === CHICKEN_YARD_TIMEOUT) seen.timeouts++;
        }
        for (let j = 0; j < 2; j++) {
          if ((view.flags[j]! & TERMINATED) !== 0 && view.rew[j] !== -1) {
            seen.arrivals++;
            if (wasT === 0) seen.decisionArrivals++;
          }
          const p = view.obs[j]!.subarray(HO - 2);
          if (p[0] === 0 || p[0] === 1 || p[1] === 0 || p[1] === 1) seen.clamps++;
        }
      }
    }
    env.stepMask.fill(1);
    return seen;
  }

  for (const opts of VARIANTS) {
    it(`matches the TypeScript twin bit for bit (${chickenYardDescriptor(opts).name})`, () => {
      const totals = {
        episodes: 0,
        arrivals: 0,
        timeouts: 0,
        decisionArrivals: 0,
        clamps: 0,
        holds: 0,
      };
      for (const seed of [1, 2]) {
        const seen = rollOut(opts, seed, 6, 1300);
        for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += seen[k];
      }
      for (const k of ["episodes", "arrivals", "timeouts", "clamps", "holds"] as const) {
        assert.ok(totals[k] > 0, `${k}: ${JSON.stringify(totals)}`);
      }
    });
  }

  it("passes checkEnv on every variant", () => {
    for (const opts of VARIANTS) {
      for (const [n, seed] of [[1, 5], [4, 7]] as const) {
        const r = checkEnv(createChickenYard(n, { ...opts, seed }), { steps: 1500, seed });
        assert.ok(r.checks.includes("determinism"));
        assert.ok(r.checks.includes("invalid action refused"), r.checks.join(", "));
        for (const id of CHICKEN_YARD_AGENT_IDS) {
          assert.ok(r.agentIds.includes(id), `${id} in ${r.agentIds}`);
        }
        if (n > 1) assert.ok(r.episodes >= 2, `${r.episodes} episodes`);
      }
      const d = checkEnv(new ChickenYardEnv({ ...opts, seed: 2 }), { steps: 1200, seed: 2 });
      assert.equal(d.face, "dict");
    }
  });

  it("renders a yard: chickens, robots, targets, legend", () => {
    const env = createChickenYard(2, { seed: 9 });
    assert.throws(() => render(env, 1), /render\(\): yard 1 has not been reset/);
    env.reset();
    let pic = render(env, 1);
    const lines = pic.split("\n");
    assert.equal(lines[0], "chicken yard");
    assert.equal(lines[1], `+${"-".repeat(40)}+`);
    assert.equal(lines.length, 1 + 22 + 3);
    for (let c = 0; c < NC; c++) assert.ok(pic.includes(String(c)) || pic.includes("*"));
    assert.ok(/A robot_1 \(0\.\d{3}, 0\.\d{3}\) choosing a chicken/.test(pic), pic);
    env.groups[0]!.act.fill(2);
    env.step();
    pic = render(env, 1);
    assert.ok(/A robot_1 .* -> chicken 2 \(0\.\d{3}, 0\.\d{3}\), distance 0\.\d{3}/.test(pic), pic);
    const [cx, cy] = chickensOf(env, 1)[2]!;
    const top = pic.split("\n")[1]!, rows = pic.split("\n").slice(2, 22);
    assert.ok(["*", "a"].includes(top[1 + Math.min(39, Math.floor(cx * 40))]!), top);
    assert.ok(["*", "a"].includes(rows[Math.min(19, Math.floor(cy * 20))]![0]!));
    assert.throws(() => render(env, 2), /envIndex must be an integer in \[0, 2\)/);
  });

  it("the example runs one random yard and imports only the package's entry points", async () => {
    const url = new URL("../../examples/chicken_yard/random_run.ts", import.meta.url);
    const text = await Deno.readTextFile(url);
    const specs = [...text.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(specs.length > 0);
    for (const s of specs) {
      assert.ok(["@coop/rl", "@coop/rl/envs"].includes(s) || s.startsWith("node:"), `imports ${s}`);
    }
    const { main } = await import(url.href);
    const out: string[] = [];
    const code = await main(["--seed", "4", "--steps", "12", "--any"], (s: string) => out.push(s));
    assert.equal(code, 0);
    const all = out.join("\n");
    assert.ok(all.includes("chicken yard, step 0"), all);
    assert.ok(all.includes("robot_1_low"), all);
    assert.ok(out.length < 200, "quiet");
    const errors: string[] = [];
    assert.equal(await main(["--steps", "x"], () => {}, (s: string) => errors.push(s)), 2);
    assert.match(errors[0]!, /--steps must be a non-negative integer, got "x"/);
  });
});
