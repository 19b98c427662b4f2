/**
 * Env throughput benchmark: prints one JSON object per line,
 * `{"name": ..., "steps_per_s": ..., "n_envs": ...}`, where `steps_per_s` counts env steps
 * (`n_envs` x step calls per second). Each step call includes copying a prepared batch of valid
 * random actions into the env's action views, as a trainer would.
 *
 * Run with `deno task bench`. Keep runs short: the machines are shared.
 *
 * @module
 */

import {
  ACTIVE,
  type BatchedEnv,
  Collector,
  createCartPole,
  createChickenYard,
  createConnectFour,
  createHierarchicalWindyMaze,
  createPendulum,
  createRockPaperScissors,
  createTicTacToe,
  createWindyMaze,
  DictEnv,
  type MultiAgentEnv,
  Pcg32,
  RandomPolicy,
  type SpaceValue,
} from "@coop/rl";
import process from "node:process";

/** One benchmark measurement. */
export interface EnvBenchResult {
  /** Benchmark name, e.g. `"windy_maze_batched_1024"`. */
  name: string;
  /** Env steps per second (`n_envs` x step calls per second). */
  steps_per_s: number;
  /** Number of envs stepped per call. */
  n_envs: number;
}

/** Number of distinct prepared action batches cycled through. */
const ACTION_BATCHES = 8;

/**
 * Measures a batched env's throughput: prepares a few batches of valid random actions (sampled
 * from each group's action space), resets, warms up for a fifth of `seconds`, then calls
 * `step` for about `seconds`, copying one prepared batch into each group's action view per call.
 * Prints the result as one JSON line and returns it.
 *
 * @param name benchmark name printed in the result
 * @param env the env to step (it is reset first)
 * @param nEnvs number of envs it steps per call (`env.numEnvs`)
 * @param seconds measurement time, about 1-2 s
 * @returns the measurement
 */
export function benchEnv(
  name: string,
  env: BatchedEnv,
  nEnvs: number,
  seconds: number,
): EnvBenchResult {
  const rng = new Pcg32(12345, 0);
  const batches = env.groups.map((g) => {
    const space = g.actionSpace;
    const rows = g.act.length / space.packedSize;
    return Array.from({ length: ACTION_BATCHES }, () => {
      const b = new Float32Array(g.act.length);
      for (let r = 0; r < rows; r++) space.pack(space.sample(rng), b, r * space.packedSize);
      return b;
    });
  });
  env.reset(1);
  const run = (budgetMs: number): [number, number] => {
    let calls = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < budgetMs) {
      // Check the clock every 64 calls to keep its cost out of the loop.
      for (let k = 0; k < 64; k++) {
        const b = (calls + k) % ACTION_BATCHES;
        for (let g = 0; g < batches.length; g++) env.groups[g]!.act.set(batches[g]![b]!);
        env.step();
      }
      calls += 64;
      t = performance.now();
    }
    return [calls, t - t0];
  };
  run(seconds * 200);
  const [calls, ms] = run(seconds * 1000);
  const result = { name, steps_per_s: Math.round((nEnvs * calls) / (ms / 1000)), n_envs: nEnvs };
  console.log(JSON.stringify(result));
  return result;
}

/**
 * Measures a dict-face env's throughput in agent steps per second: each `step` call passes one
 * action per agent in the last `obs` (drawn from a few pre-sampled actions of that agent's
 * space), resetting when `"__all__"` is true. Warms up for a fifth of `seconds`, then runs for
 * about `seconds`. Prints the result as one JSON line (`n_envs` 1) and returns it.
 *
 * @param name benchmark name printed in the result
 * @param env the dict env (it is reset first)
 * @param seconds measurement time, about 1-2 s
 * @returns the measurement
 */
export function benchDictEnv(name: string, env: MultiAgentEnv, seconds: number): EnvBenchResult {
  const rng = new Pcg32(12345, 1);
  const pools = new Map<string, SpaceValue[]>();
  const pool = (id: string) => {
    let p = pools.get(id);
    if (p === undefined) {
      const space = env.actionSpace(id);
      p = Array.from({ length: ACTION_BATCHES }, () => space.sample(rng));
      pools.set(id, p);
    }
    return p;
  };
  let obs = env.reset({ seed: 1 }).obs;
  let k = 0;
  const run = (budgetMs: number): [number, number] => {
    let agentSteps = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < budgetMs) {
      for (let j = 0; j < 64; j++) {
        const actions: Record<string, SpaceValue> = {};
        for (const id in obs) {
          actions[id] = pool(id)[k++ % ACTION_BATCHES]!;
          agentSteps++;
        }
        const r = env.step(actions);
        obs = r.terminateds.__all__ || r.truncateds.__all__ ? env.reset().obs : r.obs;
      }
      t = performance.now();
    }
    return [agentSteps, t - t0];
  };
  run(seconds * 200);
  const [agentSteps, ms] = run(seconds * 1000);
  const result = { name, steps_per_s: Math.round(agentSteps / (ms / 1000)), n_envs: 1 };
  console.log(JSON.stringify(result));
  return result;
}

/**
 * Measures the rollout path without the models: a {@linkcode Collector} routing every agent of
 * `env` to one of two random policies (gather, act, scatter, record rows, rewards, ends,
 * spawns). Prints `steps_per_s` and `heap_bytes_per_step`, the heap growth per env step over the
 * measurement, which stays near 0 when the path allocates no per-agent objects (one object per
 * agent step would be tens of bytes per env step). GC can only lower it.
 *
 * @param name benchmark name printed in the result
 * @param env a two-level hierarchical env (agents `low_level_*` and one high-level agent)
 * @param seconds measurement time, about 1-2 s
 * @returns the measurement
 */
export function benchRollout(
  name: string,
  env: BatchedEnv,
  seconds: number,
): EnvBenchResult & { heap_bytes_per_step: number } {
  const frag = 64;
  const c = new Collector({
    env,
    policyIds: ["high", "low"],
    fragmentLength: frag,
    seed: 1,
    policyMappingFn: (id) => id.startsWith("low_level_") ? "low" : "high",
    resolvePolicy: (_p, g) => ({
      policy: new RandomPolicy(g.observationSpace.flatSize, g.actionSpace),
      record: { columns: ["action_logp", "vf_preds"] },
    }),
  });
  for (let i = 0; i < 5; i++) c.collect();
  const heap0 = Deno.memoryUsage().heapUsed;
  const t0 = performance.now();
  let calls = 0;
  while (performance.now() - t0 < seconds * 1000) {
    c.collect();
    calls++;
  }
  const dt = (performance.now() - t0) / 1000;
  const steps = calls * frag * env.numEnvs;
  const result = {
    name,
    steps_per_s: Math.round(steps / dt),
    n_envs: env.numEnvs,
    heap_bytes_per_step: +(Math.max(0, Deno.memoryUsage().heapUsed - heap0) / steps).toFixed(3),
  };
  console.log(JSON.stringify(result));
  return result;
}

/**
 * Measures a turn-based game with illegal moves (Connect Four) in moves per second: random
 * actions would be illegal, so it first plays `steps` steps of uniformly random legal moves
 * (read from each ACTIVE row's `action_mask`, the first numbers of the row) from `env.reset(1)`
 * and records every action batch; the game has no randomness, so replaying the batches from
 * `env.reset(1)` repeats the same legal games. The measurement replays them (reset included,
 * once per `steps` steps) for about `seconds`, after a warm-up of a fifth of it; each step
 * call copies one recorded batch into the action view. `steps_per_s` counts moves (one per env
 * per step call). Also reports `cpu_steps_per_s`, moves per second of this process's CPU time
 * (user + system), closer to the one-core figure when the machine is shared.
 *
 * @param name benchmark name printed in the result
 * @param env the game (group 0 observes `{action_mask, ...}` with the mask first)
 * @param nEnvs number of envs it steps per call
 * @param seconds measurement time, about 1-2 s
 * @param steps recorded step calls replayed in a loop
 * @returns the measurement
 */
export function benchLegalReplay(
  name: string,
  env: BatchedEnv,
  nEnvs: number,
  seconds: number,
  steps = 256,
): EnvBenchResult & { cpu_steps_per_s: number } {
  const g = env.groups[0]!;
  const size = g.observationSpace.flatSize, nActions = g.act.length / env.numSlots;
  const n = g.actionSpace.flatSize;
  const rng = new Pcg32(12345, 2);
  const batches: Float32Array[] = [];
  env.reset(1);
  for (let t = 0; t < steps; t++) {
    for (let s = 0; s < env.numSlots; s++) {
      if ((env.flags[s]! & ACTIVE) === 0) continue;
      let a = rng.nextInt(n);
      while (g.obs[s * size + a] !== 1) a = (a + 1) % n;
      g.act[s * nActions] = a;
    }
    batches.push(g.act.slice());
    env.step();
  }
  const run = (budgetMs: number): [number, number, number] => {
    let calls = 0;
    const c0 = cpuMicros();
    const t0 = performance.now();
    while (performance.now() - t0 < budgetMs) {
      env.reset(1);
      for (let t = 0; t < steps; t++) {
        g.act.set(batches[t]!);
        env.step();
      }
      calls += steps;
    }
    return [calls, performance.now() - t0, cpuMicros() - c0];
  };
  run(seconds * 200);
  const [calls, ms, cpuUs] = run(seconds * 1000);
  const result = {
    name,
    steps_per_s: Math.round((nEnvs * calls) / (ms / 1000)),
    n_envs: nEnvs,
    cpu_steps_per_s: Math.round((nEnvs * calls) / (cpuUs / 1e6)),
  };
  console.log(JSON.stringify(result));
  return result;
}

/** This process's CPU time (user + system) in microseconds. */
function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 1.5);
  for (const n of [1, 64, 1024]) {
    benchEnv(`windy_maze_batched_${n}`, createWindyMaze(n, { seed: 0 }), n, seconds);
  }
  // ---- Add further env benchmarks here (hierarchical windy maze, dict face, ...): ----
  for (const n of [1, 64, 1024]) {
    const env = createHierarchicalWindyMaze(n, { seed: 0 });
    benchEnv(`hierarchical_windy_maze_batched_${n}`, env, n, seconds);
  }
  // The chicken yard: 4 agents per env (2 high, 2 low), random actions.
  for (const n of [1, 64, 1024]) {
    benchEnv(`chicken_yard_batched_${n}`, createChickenYard(n, { seed: 0 }), n, seconds);
  }
  benchEnv(
    "chicken_yard_any_batched_1024",
    createChickenYard(1024, { seed: 0, targetMode: "any" }),
    1024,
    seconds,
  );
  benchEnv(
    "chicken_yard_continuous_batched_1024",
    createChickenYard(1024, { seed: 0, lowAction: "continuous" }),
    1024,
    seconds,
  );
  // Connect Four: legal random games replayed, moves/s (target >= 20 million at 1024 envs).
  for (const n of [64, 1024]) {
    benchLegalReplay(`connect_four_batched_${n}`, createConnectFour(n, { seed: 0 }), n, seconds);
  }
  benchLegalReplay("tic_tac_toe_batched_1024", createTicTacToe(1024, { seed: 0 }), 1024, seconds);
  // Rock-Paper-Scissors: every move is legal; a step is one round (two moves) per env.
  benchEnv(
    "rock_paper_scissors_batched_1024",
    createRockPaperScissors(1024, { seed: 0 }),
    1024,
    seconds,
  );
  // Classic control (bench/cartpole_bench.ts has more): 1024 carts / pendulums per call.
  benchEnv("cartpole_batched_1024", createCartPole(1024, { seed: 0 }), 1024, seconds);
  benchEnv(
    "multi_agent_cartpole_512x2",
    createCartPole(512, { seed: 0, numAgents: 2 }),
    1024,
    seconds,
  );
  benchEnv("pendulum_batched_1024", createPendulum(1024, { seed: 0 }), 1024, seconds);
  benchDictEnv("windy_maze_dict", new DictEnv(createWindyMaze(1, { seed: 0 })), seconds);
  benchRollout(
    "rollout_hierarchical_windy_maze_random_64",
    createHierarchicalWindyMaze(64, { seed: 0 }),
    seconds,
  );
}
