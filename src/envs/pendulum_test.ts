import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ACTIVE, ALIVE, SPAWNED, TERMINATED, TRUNCATED } from "../env/batched.ts";
import { checkEnv } from "../env/check_env.ts";
import { DictEnv } from "../env/dict_face.ts";
import { makeMultiAgent } from "../env/make_multi_agent.ts";
import { Pcg32 } from "../rng.ts";
import {
  createPendulum,
  PENDULUM_ACTION_SPACE,
  PENDULUM_MAX_STEPS,
  PENDULUM_OBS_SPACE,
  PendulumEnv,
} from "./pendulum.ts";
import { PENDULUM_FACTS } from "./_generated/pendulum_wasm.ts";

/**
 * Gymnasium's Pendulum-v1 in plain float64 TypeScript, written from Gymnasium's `step` (the twin
 * the WASM env must match bit for bit): Gymnasium's constants, its order, Python's floored
 * modulo in `angle_normalize`, the same PCG32 stream per pendulum.
 */
class PendulumTwin {
  static readonly MAX_SPEED = 8;
  static readonly MAX_TORQUE = 2.0;
  static readonly DT = 0.05;
  static readonly G = 10.0;
  static readonly M = 1.0;
  static readonly L = 1.0;
  static readonly MAX_STEPS = 200;

  th = 0;
  thDot = 0;
  count = 0;
  readonly rng: Pcg32;

  constructor(seed: number, stream: number) {
    this.rng = new Pcg32(seed, stream);
    this.reset();
  }

  reset(): void {
    this.th = -Math.PI + (Math.PI - -Math.PI) * this.rng.nextDouble();
    this.thDot = -1 + (1 - -1) * this.rng.nextDouble();
    this.count = 0;
  }

  static angleNormalize(x: number): number {
    const w = 2 * Math.PI;
    let m = (x + Math.PI) % w;
    if (m !== 0 && m < 0) m += w; // Python's float modulo takes the divisor's sign
    return m - Math.PI;
  }

  obs(): Float32Array {
    return Float32Array.of(Math.cos(this.th), Math.sin(this.th), this.thDot);
  }

  /** One step with an f32 torque; returns the reward (f64) and whether it truncated. */
  step(action: number): { reward: number; truncated: boolean } {
    const C = PendulumTwin;
    const u = Math.min(Math.max(action, -C.MAX_TORQUE), C.MAX_TORQUE);
    const costs = PendulumTwin.angleNormalize(this.th) ** 2 + 0.1 * this.thDot ** 2 +
      0.001 * u ** 2;
    let newThDot = this.thDot +
      (3 * C.G / (2 * C.L) * Math.sin(this.th) + 3.0 / (C.M * C.L ** 2) * u) * C.DT;
    newThDot = Math.min(Math.max(newThDot, -C.MAX_SPEED), C.MAX_SPEED);
    this.th = this.th + newThDot * C.DT;
    this.thDot = newThDot;
    this.count++;
    return { reward: -costs, truncated: this.count >= C.MAX_STEPS };
  }
}

function bits(a: ArrayLike<number>): string {
  return Array.from(Float32Array.from(a), (v) => v.toString()).join(",");
}

describe("Pendulum (WASM) against a float64 twin of Gymnasium's step", () => {
  it("has Gymnasium's constants as facts and spaces", () => {
    assert.equal(PENDULUM_FACTS.MAX_SPEED, PendulumTwin.MAX_SPEED);
    assert.equal(PENDULUM_FACTS.MAX_TORQUE, PendulumTwin.MAX_TORQUE);
    assert.equal(PENDULUM_FACTS.DT, PendulumTwin.DT);
    assert.equal(PENDULUM_FACTS.G, PendulumTwin.G);
    assert.equal(PENDULUM_FACTS.M, 1);
    assert.equal(PENDULUM_FACTS.L, 1);
    assert.equal(PENDULUM_MAX_STEPS, 200);
    assert.deepEqual(Array.from(PENDULUM_OBS_SPACE.high), [1, 1, 8]);
    assert.deepEqual(Array.from(PENDULUM_ACTION_SPACE.low), [-2]);
    assert.deepEqual(Array.from(PENDULUM_ACTION_SPACE.high), [2]);
  });

  it("normalises angles as Python's floored modulo does", () => {
    const n = PendulumTwin.angleNormalize;
    assert.ok(Math.abs(n(0)) < 1e-15);
    assert.ok(Math.abs(n(2 * Math.PI)) < 1e-15);
    assert.ok(Math.abs(n(-3 * Math.PI / 2) - Math.PI / 2) < 1e-12);
    assert.ok(Math.abs(n(3 * Math.PI / 2) + Math.PI / 2) < 1e-12);
    assert.ok(Math.abs(n(-7) - (-7 + 2 * Math.PI)) < 1e-12);
  });

  it("matches the twin bit for bit on random torque sequences (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(
          fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: 1, maxLength: 4 }),
          { minLength: 1, maxLength: 450 },
        ),
        (seed, n, actions) => {
          const env = createPendulum(n, { seed });
          const twins = Array.from({ length: n }, (_, i) => new PendulumTwin(seed, i));
          env.reset();
          const g = env.groups[0]!;
          for (let i = 0; i < n; i++) {
            assert.equal(bits(g.obs.subarray(3 * i, 3 * i + 3)), bits(twins[i]!.obs()));
          }
          for (let t = 0; t < actions.length; t++) {
            const row = actions[t]!;
            for (let i = 0; i < n; i++) g.act[i] = row[i % row.length]!;
            env.step();
            for (let i = 0; i < n; i++) {
              const tw = twins[i]!, at = `seed ${seed} step ${t} env ${i}`;
              const r = tw.step(g.act[i]!);
              assert.equal(env.rew[i], Math.fround(r.reward), `reward ${at}`);
              assert.equal((env.flags[i]! & TERMINATED) !== 0, false, at);
              assert.equal((env.flags[i]! & TRUNCATED) !== 0, r.truncated, `truncated ${at}`);
              assert.equal(env.envDone[i], r.truncated ? 1 : 0, at);
              assert.equal(env.envTruncated[i], r.truncated ? 1 : 0, at);
              if (r.truncated) {
                assert.equal(bits(g.finalObs.subarray(3 * i, 3 * i + 3)), bits(tw.obs()), at);
                tw.reset();
              }
              assert.equal(bits(g.obs.subarray(3 * i, 3 * i + 3)), bits(tw.obs()), `obs ${at}`);
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("clips theta_dot at ±8 and truncates at 200 (never terminates)", () => {
    const env = new PendulumEnv({ seed: 3 });
    env.reset();
    let steps = 0, maxSpeed = 0;
    for (;;) {
      const r = env.step([2]);
      steps++;
      maxSpeed = Math.max(maxSpeed, Math.abs(r.obs[2]!));
      assert.equal(r.terminated, false);
      assert.ok(r.reward <= 0 && r.reward >= -16.2736045);
      if (r.truncated) break;
    }
    assert.equal(steps, 200);
    assert.equal(maxSpeed, 8, "full torque spins up to the speed limit");
    assert.throws(() => env.step([0]), /reset/);
  });

  it("refuses a torque outside [-2, 2] or NaN, naming the agent", () => {
    const env = createPendulum(2, { seed: 0 });
    env.reset();
    env.groups[0]!.act.set([0, 2.5]);
    assert.throws(() => env.step(), /default_agent.*Box/);
    env.groups[0]!.act.set([NaN, 0]);
    assert.throws(() => env.step(), /default_agent/);
    assert.throws(() => new PendulumEnv().reset() && new PendulumEnv().step([0]), /before reset/);
    const single = new PendulumEnv();
    single.reset();
    assert.throws(() => single.step([3]), RangeError);
  });

  it("reproduces episodes from a seed; the single env is env 0 of a batch", () => {
    const run = (seed: number) => {
      const env = createPendulum(4, { seed });
      env.reset();
      const out: number[] = [];
      const rng = new Pcg32(9, 1);
      for (let t = 0; t < 250; t++) {
        for (let i = 0; i < 4; i++) env.groups[0]!.act[i] = 4 * rng.nextFloat() - 2;
        env.step();
        out.push(...env.groups[0]!.obs, ...env.rew);
      }
      return out;
    };
    assert.deepEqual(run(42), run(42));
    assert.notDeepEqual(run(42), run(43));
    const single = new PendulumEnv({ seed: 42 });
    const batch = createPendulum(1, { seed: 42 });
    batch.reset();
    let obs = single.reset().obs;
    const rng = new Pcg32(1, 2);
    for (let t = 0; t < 450; t++) {
      const a = Math.fround(4 * rng.nextFloat() - 2);
      batch.groups[0]!.act[0] = a;
      batch.step();
      const r = single.step([a]);
      obs = r.truncated ? single.reset().obs : r.obs;
      assert.equal(bits(obs), bits(batch.groups[0]!.obs), `step ${t}`);
    }
  });

  it("passes checkEnv on the batched face and on the dict face", () => {
    const r = checkEnv(createPendulum(8, { seed: 1 }), { steps: 500, seed: 5 });
    assert.ok(r.episodes > 0);
    const d = checkEnv(new DictEnv(createPendulum(1, { seed: 1 })), { steps: 450, seed: 5 });
    assert.ok(d.episodes > 0);
  });
});

describe("MultiAgentPendulum (createPendulum with numAgents)", () => {
  it("pays each agent its own cost and truncates all together at 200", () => {
    const n = 2, k = 3, seed = 8;
    const env = createPendulum(n, { seed, numAgents: k });
    const twins = Array.from({ length: n * k }, (_, c) => new PendulumTwin(seed, c));
    env.reset();
    const g = env.groups[0]!;
    assert.deepEqual(Array.from({ length: 6 }, (_, s) => env.agentId(s)), [
      "0",
      "1",
      "2",
      "0",
      "1",
      "2",
    ]);
    for (let t = 1; t <= 400; t++) {
      for (let s = 0; s < n * k; s++) g.act[s] = Math.fround(((s % 5) - 2) * 0.7);
      env.step();
      for (let s = 0; s < n * k; s++) {
        const r = twins[s]!.step(g.act[s]!);
        assert.equal(env.rew[s], Math.fround(r.reward), `reward of slot ${s} at ${t}`);
        if (r.truncated) twins[s]!.reset();
        assert.equal(bits(g.obs.subarray(3 * s, 3 * s + 3)), bits(twins[s]!.obs()));
      }
      const end = t % 200 === 0 ? 1 : 0;
      assert.deepEqual(Array.from(env.envDone), [end, end], `envDone at ${t}`);
      assert.deepEqual(Array.from(env.envTruncated), [end, end]);
      const f = end ? TRUNCATED | SPAWNED | ACTIVE | ALIVE : ACTIVE | ALIVE;
      assert.deepEqual(Array.from(env.flags), new Array(6).fill(f), `flags at ${t}`);
    }
  });

  it("passes checkEnv on the batched face and on the dict face", () => {
    const r = checkEnv(createPendulum(3, { seed: 1, numAgents: 2 }), { steps: 450, seed: 5 });
    assert.ok(r.episodes > 0);
    const d = checkEnv(new DictEnv(createPendulum(1, { seed: 2, numAgents: 2 })), {
      steps: 450,
      seed: 5,
    });
    assert.ok(d.episodes > 0);
    const m = checkEnv(makeMultiAgent(() => new PendulumEnv(), 2), { steps: 450, seed: 5 });
    assert.ok(m.episodes > 0);
  });
});
