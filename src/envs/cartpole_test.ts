import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ACTIVE, ALIVE, type BatchedEnv, SPAWNED, TERMINATED, TRUNCATED } from "../env/batched.ts";
import { checkEnv } from "../env/check_env.ts";
import { DictEnv } from "../env/dict_face.ts";
import { makeMultiAgent } from "../env/make_multi_agent.ts";
import { setEpisodeLimit } from "../env/wasm.ts";
import { Pcg32 } from "../rng.ts";
import {
  CARTPOLE_ACTION_SPACE,
  CARTPOLE_MAX_STEPS,
  CARTPOLE_OBS_SPACE,
  CARTPOLE_THETA_THRESHOLD,
  CARTPOLE_X_THRESHOLD,
  CartPoleEnv,
  createCartPole,
} from "./cartpole.ts";
import { CARTPOLE_FACTS } from "./_generated/cartpole_wasm.ts";

/**
 * Gymnasium's CartPole-v1 in plain float64 TypeScript, written from Gymnasium's `step` (the
 * twin the WASM env must match bit for bit): the same constants as Gymnasium (not the facts),
 * the same update order, the same PCG32 stream per cart.
 */
class CartPoleTwin {
  static readonly GRAVITY = 9.8;
  static readonly MASSCART = 1.0;
  static readonly MASSPOLE = 0.1;
  static readonly TOTAL_MASS = CartPoleTwin.MASSPOLE + CartPoleTwin.MASSCART;
  static readonly LENGTH = 0.5;
  static readonly POLEMASS_LENGTH = CartPoleTwin.MASSPOLE * CartPoleTwin.LENGTH;
  static readonly FORCE_MAG = 10.0;
  static readonly TAU = 0.02;
  static readonly THETA_THRESHOLD = 12 * 2 * Math.PI / 360;
  static readonly X_THRESHOLD = 2.4;
  static readonly MAX_STEPS = 500;

  readonly state = new Float64Array(4);
  count = 0;
  readonly rng: Pcg32;

  constructor(seed: number, stream: number) {
    this.rng = new Pcg32(seed, stream);
    this.reset();
  }

  reset(): void {
    for (let k = 0; k < 4; k++) this.state[k] = -0.05 + (0.05 - -0.05) * this.rng.nextDouble();
    this.count = 0;
  }

  obs(): Float32Array {
    return Float32Array.from(this.state);
  }

  /** One step; returns the reward and the end flags (does not reset). */
  step(action: number): { reward: number; terminated: boolean; truncated: boolean } {
    const C = CartPoleTwin;
    let [x, xDot, theta, thetaDot] = this.state as unknown as [number, number, number, number];
    const force = action === 1 ? C.FORCE_MAG : -C.FORCE_MAG;
    const costheta = Math.cos(theta), sintheta = Math.sin(theta);
    const temp = (force + C.POLEMASS_LENGTH * thetaDot ** 2 * sintheta) / C.TOTAL_MASS;
    const thetaacc = (C.GRAVITY * sintheta - costheta * temp) /
      (C.LENGTH * (4.0 / 3.0 - C.MASSPOLE * costheta ** 2 / C.TOTAL_MASS));
    const xacc = temp - C.POLEMASS_LENGTH * thetaacc * costheta / C.TOTAL_MASS;
    x = x + C.TAU * xDot;
    xDot = xDot + C.TAU * xacc;
    theta = theta + C.TAU * thetaDot;
    thetaDot = thetaDot + C.TAU * thetaacc;
    this.state.set([x, xDot, theta, thetaDot]);
    this.count++;
    const terminated = x < -C.X_THRESHOLD || x > C.X_THRESHOLD ||
      theta < -C.THETA_THRESHOLD || theta > C.THETA_THRESHOLD;
    return { reward: 1, terminated, truncated: !terminated && this.count >= C.MAX_STEPS };
  }
}

function bits(a: ArrayLike<number>): string {
  return Array.from(Float32Array.from(a), (v) => v.toString()).join(",");
}

/** Steps a single-agent batch of `n` carts and `n` twins with the same actions, comparing. */
function compareWithTwin(seed: number, n: number, actions: number[][]): number {
  const env = createCartPole(n, { seed });
  const twins = Array.from({ length: n }, (_, i) => new CartPoleTwin(seed, i));
  env.reset();
  const g = env.groups[0]!;
  for (let i = 0; i < n; i++) {
    assert.equal(bits(g.obs.subarray(4 * i, 4 * i + 4)), bits(twins[i]!.obs()), `reset env ${i}`);
  }
  let ends = 0;
  for (let t = 0; t < actions.length; t++) {
    const row = actions[t]!;
    for (let i = 0; i < n; i++) g.act[i] = row[i % row.length]!;
    env.step();
    for (let i = 0; i < n; i++) {
      const tw = twins[i]!;
      const r = tw.step(g.act[i]!);
      const at = `seed ${seed} step ${t} env ${i}`;
      assert.equal(env.rew[i], r.reward, `reward ${at}`);
      const f = env.flags[i]!;
      assert.equal((f & TERMINATED) !== 0, r.terminated, `terminated ${at}`);
      assert.equal((f & TRUNCATED) !== 0, r.truncated, `truncated ${at}`);
      assert.equal(env.envDone[i], r.terminated || r.truncated ? 1 : 0, `envDone ${at}`);
      assert.equal(env.envTruncated[i], r.truncated ? 1 : 0, `envTruncated ${at}`);
      if (r.terminated || r.truncated) {
        ends++;
        assert.equal(bits(g.finalObs.subarray(4 * i, 4 * i + 4)), bits(tw.obs()), `final ${at}`);
        tw.reset();
        assert.equal(f & (SPAWNED | ACTIVE | ALIVE), SPAWNED | ACTIVE | ALIVE, `respawn ${at}`);
      }
      assert.equal(bits(g.obs.subarray(4 * i, 4 * i + 4)), bits(tw.obs()), `obs ${at}`);
    }
  }
  return ends;
}

/** A policy that balances: push towards the side the pole falls to (keeps episodes long). */
function balance(obs: ArrayLike<number>, o: number): number {
  return obs[o + 2]! + 0.5 * obs[o + 3]! > 0 ? 1 : 0;
}

describe("CartPole (WASM) against a float64 twin of Gymnasium's step", () => {
  it("has Gymnasium's constants as facts", () => {
    assert.equal(CARTPOLE_FACTS.GRAVITY, CartPoleTwin.GRAVITY);
    assert.equal(CARTPOLE_FACTS.TOTAL_MASS, CartPoleTwin.TOTAL_MASS);
    assert.equal(CARTPOLE_FACTS.POLEMASS_LENGTH, CartPoleTwin.POLEMASS_LENGTH);
    assert.equal(CARTPOLE_FACTS.FORCE_MAG, CartPoleTwin.FORCE_MAG);
    assert.equal(CARTPOLE_FACTS.TAU, CartPoleTwin.TAU);
    assert.equal(CARTPOLE_THETA_THRESHOLD, CartPoleTwin.THETA_THRESHOLD);
    assert.equal(CARTPOLE_THETA_THRESHOLD.toFixed(4), "0.2094");
    assert.equal(CARTPOLE_X_THRESHOLD, 2.4);
    assert.equal(CARTPOLE_MAX_STEPS, 500);
    assert.equal(CARTPOLE_OBS_SPACE.toString().startsWith("Box("), true);
    assert.equal(CARTPOLE_OBS_SPACE.high[0], Math.fround(4.8));
    assert.equal(CARTPOLE_OBS_SPACE.high[2], Math.fround(2 * CartPoleTwin.THETA_THRESHOLD));
    assert.equal(CARTPOLE_ACTION_SPACE.n, 2);
  });

  it("matches the twin bit for bit on random action sequences (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 4 }), {
          minLength: 1,
          maxLength: 120,
        }),
        (seed, n, actions) => {
          compareWithTwin(seed, n, actions);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("matches the twin through long balanced episodes and truncations at 500", () => {
    // A balancing policy reaches the 500-step limit; random flips in between.
    const n = 8, seed = 11;
    const env = createCartPole(n, { seed });
    const twins = Array.from({ length: n }, (_, i) => new CartPoleTwin(seed, i));
    const rng = new Pcg32(3, 0);
    env.reset();
    const g = env.groups[0]!;
    let truncations = 0, terminations = 0;
    for (let t = 0; t < 2000; t++) {
      for (let i = 0; i < n; i++) {
        g.act[i] = i < 4
          ? balance(g.obs, 4 * i)
          : rng.nextFloat() < 0.1
          ? rng.nextInt(2)
          : balance(g.obs, 4 * i);
      }
      env.step();
      for (let i = 0; i < n; i++) {
        const r = twins[i]!.step(g.act[i]!);
        assert.equal((env.flags[i]! & TRUNCATED) !== 0, r.truncated, `truncated ${t} ${i}`);
        assert.equal((env.flags[i]! & TERMINATED) !== 0, r.terminated, `terminated ${t} ${i}`);
        if (r.truncated) {
          truncations++;
          assert.equal(twins[i]!.count, 500);
        }
        if (r.terminated) terminations++;
        if (r.terminated || r.truncated) twins[i]!.reset();
        assert.equal(bits(g.obs.subarray(4 * i, 4 * i + 4)), bits(twins[i]!.obs()));
      }
    }
    assert.ok(truncations >= 4, `truncations ${truncations}`);
    assert.ok(terminations >= 1, `terminations ${terminations}`);
  });

  it("terminates exactly when x or theta crosses its threshold, with reward 1", () => {
    // Always pushing right: theta falls left or x leaves; the twin says when.
    for (const action of [0, 1]) {
      const env = new CartPoleEnv({ seed: 5 });
      const twin = new CartPoleTwin(5, 0);
      env.reset();
      let steps = 0;
      for (;;) {
        const r = env.step(action);
        const tr = twin.step(action);
        steps++;
        assert.equal(r.reward, 1);
        assert.equal(r.terminated, tr.terminated);
        const [x, , th] = twin.state as unknown as number[];
        const out = Math.abs(x!) > 2.4 || Math.abs(th!) > CARTPOLE_THETA_THRESHOLD;
        assert.equal(r.terminated, out, `step ${steps}`);
        assert.equal(bits(r.obs), bits(twin.obs()));
        if (r.terminated) break;
        assert.ok(steps < 100);
      }
      assert.ok(steps > 5 && steps < 40, `falls in ${steps} steps`);
      assert.throws(() => env.step(action), /reset/);
    }
  });

  it("truncates at 500 steps (and a runtime limit truncates earlier)", () => {
    const env = new CartPoleEnv({ seed: 2 });
    let { obs } = env.reset();
    let steps = 0, ret = 0;
    for (;;) {
      const r = env.step(balance(obs, 0));
      steps++;
      ret += r.reward;
      obs = r.obs;
      if (r.terminated || r.truncated) {
        assert.equal(r.truncated, true);
        assert.equal(r.terminated, false);
        break;
      }
    }
    assert.equal(steps, 500);
    assert.equal(ret, 500);
    const b = createCartPole(3, { seed: 1 });
    setEpisodeLimit(b, 7);
    b.reset();
    for (let t = 0; t < 7; t++) {
      for (let i = 0; i < 3; i++) b.groups[0]!.act[i] = balance(b.groups[0]!.obs, 4 * i);
      b.step();
    }
    assert.deepEqual(Array.from(b.envTruncated), [1, 1, 1]);
  });

  it("refuses an action outside Discrete(2), naming the agent, and changes nothing", () => {
    const env = createCartPole(2, { seed: 0 });
    env.reset();
    const before = Array.from(env.groups[0]!.obs);
    env.groups[0]!.act.set([1, 2]);
    assert.throws(() => env.step(), /default_agent.*Discrete\(2\)/);
    assert.deepEqual(Array.from(env.groups[0]!.obs), before);
    assert.throws(() => new CartPoleEnv().reset() && new CartPoleEnv().step(0), /before reset/);
  });

  it("reproduces episodes from a seed; the single env is env 0 of a batch", () => {
    const run = (seed: number) => {
      const env = createCartPole(4, { seed });
      env.reset();
      const out: number[] = [];
      const rng = new Pcg32(9, 1);
      for (let t = 0; t < 300; t++) {
        for (let i = 0; i < 4; i++) env.groups[0]!.act[i] = rng.nextInt(2);
        env.step();
        out.push(...env.groups[0]!.obs, ...env.envDone);
      }
      return out;
    };
    assert.deepEqual(run(42), run(42));
    assert.notDeepEqual(run(42), run(43));
    const single = new CartPoleEnv({ seed: 42 });
    const batch = createCartPole(1, { seed: 42 });
    batch.reset();
    let obs = single.reset().obs;
    assert.equal(bits(obs), bits(batch.groups[0]!.obs));
    const rng = new Pcg32(1, 2);
    for (let t = 0; t < 300; t++) {
      const a = rng.nextInt(2);
      batch.groups[0]!.act[0] = a;
      batch.step();
      const r = single.step(a);
      obs = r.terminated || r.truncated ? single.reset().obs : r.obs;
      assert.equal(bits(obs), bits(batch.groups[0]!.obs), `step ${t}`);
    }
  });

  it("passes checkEnv on the batched face and on the dict face", () => {
    const r = checkEnv(createCartPole(8, { seed: 1 }), { steps: 600, seed: 5 });
    assert.ok(r.episodes > 0);
    assert.deepEqual(r.agentIds, ["default_agent"]);
    const d = checkEnv(new DictEnv(createCartPole(1, { seed: 1 })), { steps: 400, seed: 5 });
    assert.ok(d.episodes > 0);
  });
});

/** Steps a multi-agent batch with per-slot actions from `pick`; returns per-step snapshots. */
function rolloutMulti(env: BatchedEnv, steps: number, pick: (s: number) => number) {
  const g = env.groups[0]!;
  for (let t = 0; t < steps; t++) {
    for (let s = 0; s < env.numSlots; s++) g.act[s] = pick(s);
    env.step();
  }
}

describe("MultiAgentCartPole (createCartPole with numAgents)", () => {
  it("has numAgents slots per env with ids '0', '1', ...", () => {
    const env = createCartPole(3, { seed: 0, numAgents: 4 });
    assert.equal(env.numEnvs, 3);
    assert.equal(env.numSlots, 12);
    assert.equal(env.groups[0]!.slotsPerEnv, 4);
    assert.deepEqual(
      Array.from({ length: 12 }, (_, s) => env.agentId(s)),
      ["0", "1", "2", "3", "0", "1", "2", "3", "0", "1", "2", "3"],
    );
    assert.throws(() => createCartPole(2, { numAgents: 0 }), /numAgents/);
  });

  it("ends agents independently; envDone (__all__) only when all did (twins per copy)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 8 }),
        (seed, n, k, pattern) => {
          const env = createCartPole(n, { seed, numAgents: k });
          // Copy j of env i is cart i * k + j of a single-agent batch with the same seed.
          const twins = Array.from({ length: n * k }, (_, c) => new CartPoleTwin(seed, c));
          const live = new Uint8Array(n * k).fill(1);
          const truncs = new Int32Array(n);
          env.reset();
          const g = env.groups[0]!;
          for (let t = 0; t < 150; t++) {
            for (let s = 0; s < n * k; s++) {
              // Slots that are not ACTIVE hold NaN: the env must not read them.
              g.act[s] = live[s] ? pattern[(s + t) % pattern.length]! : NaN;
            }
            env.step();
            for (let i = 0; i < n; i++) {
              for (let j = 0; j < k; j++) {
                const s = i * k + j, f = env.flags[s]!, at = `step ${t} slot ${s}`;
                if (!live[s]) {
                  assert.equal(env.rew[s], 0, `no reward after leaving ${at}`);
                  assert.equal(f & (TERMINATED | TRUNCATED), 0, at);
                  continue;
                }
                const r = twins[s]!.step(g.act[s]!);
                assert.equal(env.rew[s], 1, `reward ${at}`);
                assert.equal((f & TERMINATED) !== 0, r.terminated, `terminated ${at}`);
                assert.equal((f & TRUNCATED) !== 0, r.truncated, `truncated ${at}`);
                if (r.terminated || r.truncated) {
                  if (r.truncated) truncs[i]!++;
                  live[s] = 0;
                  assert.equal(
                    bits(g.finalObs.subarray(4 * s, 4 * s + 4)),
                    bits(twins[s]!.obs()),
                    `final ${at}`,
                  );
                  twins[s]!.reset();
                } else {
                  assert.equal(f & (ACTIVE | ALIVE), ACTIVE | ALIVE, at);
                  assert.equal(bits(g.obs.subarray(4 * s, 4 * s + 4)), bits(twins[s]!.obs()));
                }
              }
              const anyLive = Array.from({ length: k }, (_, j) => live[i * k + j]).some((v) => v);
              assert.equal(env.envDone[i], anyLive ? 0 : 1, `envDone step ${t} env ${i}`);
              if (!anyLive) {
                assert.equal(env.envTruncated[i], truncs[i] === k ? 1 : 0);
                truncs[i] = 0;
                for (let j = 0; j < k; j++) {
                  const s = i * k + j;
                  live[s] = 1;
                  assert.equal(
                    env.flags[s]! & (SPAWNED | ACTIVE | ALIVE),
                    SPAWNED | ACTIVE | ALIVE,
                  );
                  assert.equal(bits(g.obs.subarray(4 * s, 4 * s + 4)), bits(twins[s]!.obs()));
                }
              }
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("has agents that leave while others go on (a direct case)", () => {
    // Agent 0 always pushes left (falls fast), agent 1 balances.
    const env = createCartPole(1, { seed: 4, numAgents: 2 });
    env.reset();
    const g = env.groups[0]!;
    let t = 0;
    while ((env.flags[0]! & TERMINATED) === 0) {
      g.act[0] = 0;
      g.act[1] = balance(g.obs, 4);
      env.step();
      t++;
    }
    assert.equal(env.envDone[0], 0, "agent 1 still balances");
    assert.equal(env.flags[1]! & (ACTIVE | ALIVE), ACTIVE | ALIVE);
    assert.equal(env.rew[0], 1, "the terminal step is paid");
    let more = 0;
    for (;;) {
      g.act[0] = NaN; // not ACTIVE: never read
      g.act[1] = balance(g.obs, 4);
      env.step();
      more++;
      if ((env.envDone[0] as number) === 1) break;
      assert.equal(env.flags[0], 0, "agent 0 has left");
      assert.equal(env.rew[0], 0);
      assert.equal(env.rew[1], 1);
    }
    assert.ok(more > 20, `agent 1 went on for ${more} steps`);
    assert.equal(env.envTruncated[0], 0, "one agent terminated, so __all__ is not truncated");
    assert.notEqual(env.flags[1]! & (TERMINATED | TRUNCATED), 0);
    assert.equal(env.flags[0], SPAWNED | ACTIVE | ALIVE, "a new episode: agent 0 is back");
    assert.equal(env.flags[1]! & (SPAWNED | ACTIVE | ALIVE), SPAWNED | ACTIVE | ALIVE);
  });

  it("refuses an invalid action naming the agent and the env, changing nothing", () => {
    const env = createCartPole(2, { seed: 0, numAgents: 2 });
    env.reset();
    const before = Array.from(env.flags);
    env.groups[0]!.act.set([0, 1, 1, 7]);
    assert.throws(() => env.step(), /agent "1" of env 1 .*Discrete\(2\)/);
    assert.deepEqual(Array.from(env.flags), before);
  });

  it("reproduces episodes from a seed and saves/loads its state", () => {
    const run = (seed: number) => {
      const env = createCartPole(3, { seed, numAgents: 2 });
      env.reset();
      const out: number[] = [];
      const rng = new Pcg32(9, 1);
      for (let t = 0; t < 200; t++) {
        rolloutMulti(env, 1, () => rng.nextInt(2));
        out.push(...env.flags, ...env.envDone);
      }
      return out;
    };
    assert.deepEqual(run(42), run(42));
    assert.notDeepEqual(run(42), run(43));
    const a = createCartPole(2, { seed: 1, numAgents: 3 });
    a.reset();
    rolloutMulti(a, 37, (s) => s % 2);
    const saved = a.saveState!();
    const b = createCartPole(2, { seed: 99, numAgents: 3 });
    b.loadState!(saved);
    rolloutMulti(a, 60, (s) => (s + 1) % 2);
    rolloutMulti(b, 60, (s) => (s + 1) % 2);
    assert.deepEqual(Array.from(b.flags), Array.from(a.flags));
    assert.deepEqual(Array.from(b.groups[0]!.obs), Array.from(a.groups[0]!.obs));
    assert.throws(() => createCartPole(3, { numAgents: 2 }).loadState!(saved), RangeError);
  });

  it("passes checkEnv on the batched face and on the dict face", () => {
    const r = checkEnv(createCartPole(4, { seed: 1, numAgents: 3 }), { steps: 600, seed: 5 });
    assert.ok(r.episodes > 0);
    assert.deepEqual([...r.agentIds].sort(), ["0", "1", "2"]);
    const d = checkEnv(new DictEnv(createCartPole(1, { seed: 1, numAgents: 2 })), {
      steps: 400,
      seed: 5,
    });
    assert.ok(d.episodes > 0);
    const m = checkEnv(makeMultiAgent(() => new CartPoleEnv(), 2), { steps: 400, seed: 5 });
    assert.ok(m.episodes > 0);
  });
});

describe("PPO learns CartPole (short checks; bench/cartpole_bench.ts runs them longer)", () => {
  it("single agent: episode_reward_mean reaches 150", async () => {
    const { PPOConfig } = await import("../algorithms/ppo_config.ts");
    const { rewardReached } = await import("../train/algorithm.ts");
    const algo = await new PPOConfig()
      .environment(({ numEnvs, seed }) => createCartPole(numEnvs, { seed }))
      .envRunners({ numEnvs: 16, rolloutFragmentLength: 128 })
      .debugging({ seed: 0 })
      .build();
    try {
      let best = 0;
      for (let it = 0; it < 25; it++) {
        const r = await algo.train();
        best = Math.max(best, r.episode_reward_mean);
        if (rewardReached(r, 150)) return;
      }
      assert.fail(`episode_reward_mean peaked at ${best.toFixed(1)} < 150 in 25 iterations`);
    } finally {
      algo.dispose();
    }
  });

  it("MultiAgentCartPole, 2 agents, 2 policies (RLlib's multi-policy test): both reach 100", async () => {
    const { PPOConfig } = await import("../algorithms/ppo_config.ts");
    const algo = await new PPOConfig()
      .environment(({ numEnvs, seed }) => createCartPole(numEnvs, { seed, numAgents: 2 }))
      .envRunners({ numEnvs: 8, rolloutFragmentLength: 128 })
      .multiAgent({ policies: ["p0", "p1"], policyMappingFn: (id) => `p${id}` })
      .debugging({ seed: 0 })
      .build();
    try {
      let last: Record<string, number> = {};
      for (let it = 0; it < 25; it++) {
        const r = await algo.train();
        last = r.policy_reward_mean;
        // Each agent's return is its own cart's episode length; the episode's is their sum.
        if (r.episodes_in_window >= 20 && last.p0! >= 100 && last.p1! >= 100) {
          assert.ok(r.episode_reward_mean >= 200);
          return;
        }
      }
      assert.fail(`policy_reward_mean ${JSON.stringify(last)} after 25 iterations`);
    } finally {
      algo.dispose();
    }
  });
});
