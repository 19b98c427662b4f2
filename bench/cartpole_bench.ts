/**
 * CartPole and Pendulum benchmarks: batched env throughput (random actions, one JSON line per
 * bench, `steps_per_s` = carts x step calls per second) and PPO learning runs (RLlib's CartPole
 * tests: single agent, MultiAgentCartPole with one shared policy and with two policies).
 *
 * Usage: `deno run -A bench/cartpole_bench.ts [envs|learn|all] [seconds]` (default `all`, 1.5 s
 * per throughput bench). Each learning run prints its iterations and one JSON summary line:
 * wall seconds and env steps until the mean return first reached 150 and 475 (per agent for
 * the multi-agent runs).
 *
 * @module
 */

import { benchEnv } from "./env_bench.ts";
import { createCartPole, createPendulum, PPOConfig, type TrainResult } from "@coop/rl";

/** Batched throughput of the single- and multi-agent versions. */
function envs(seconds: number): void {
  for (const n of [1, 64, 1024]) {
    benchEnv(`cartpole_batched_${n}`, createCartPole(n, { seed: 0 }), n, seconds);
  }
  // 512 envs x 2 agents = 1024 carts in one WASM call, plus the wrapper's flag pass.
  benchEnv(
    "multi_agent_cartpole_512x2",
    createCartPole(512, { seed: 0, numAgents: 2 }),
    1024,
    seconds,
  );
  for (const n of [64, 1024]) {
    benchEnv(`pendulum_batched_${n}`, createPendulum(n, { seed: 0 }), n, seconds);
  }
  benchEnv(
    "multi_agent_pendulum_512x2",
    createPendulum(512, { seed: 0, numAgents: 2 }),
    1024,
    seconds,
  );
}

/** Per-agent mean returns of a result: the policies' means, or the episode mean. */
function perAgent(r: TrainResult, policies: readonly string[]): number {
  if (policies.length === 0) return r.episode_reward_mean;
  return Math.min(...policies.map((p) => r.policy_reward_mean[p] ?? 0));
}

async function learn(
  name: string,
  numAgents: number | undefined,
  policies: readonly string[],
  maxIterations: number,
): Promise<void> {
  const c = new PPOConfig()
    .environment(({ numEnvs, seed }) => createCartPole(numEnvs, { seed, numAgents }))
    .envRunners({ numEnvs: numAgents === undefined ? 16 : 8, rolloutFragmentLength: 128 })
    .debugging({ seed: 0 });
  if (policies.length > 0) {
    c.multiAgent({ policies: [...policies], policyMappingFn: (id) => `p${id}` });
  }
  const algo = await c.build();
  const t0 = performance.now();
  const reached: Record<string, { s: number; env_steps: number; iteration: number } | null> = {
    "150": null,
    "475": null,
  };
  let last = 0;
  try {
    for (let it = 1; it <= maxIterations; it++) {
      const r = await algo.train();
      const s = (performance.now() - t0) / 1000;
      last = perAgent(r, policies);
      console.log(
        `${name} it ${it} ${s.toFixed(1)} s: per-agent return ${last.toFixed(1)}, episode ${
          r.episode_reward_mean.toFixed(1)
        }`,
      );
      for (const k of Object.keys(reached)) {
        if (reached[k] === null && r.episodes_in_window >= 20 && last >= Number(k)) {
          reached[k] = { s: +s.toFixed(1), env_steps: r.num_env_steps_sampled, iteration: it };
        }
      }
      if (reached["475"] !== null) break;
    }
  } finally {
    algo.dispose();
  }
  console.log(JSON.stringify({ bench: "learn", name, reached, last: +last.toFixed(1) }));
}

if (import.meta.main) {
  const what = Deno.args[0] ?? "all";
  const seconds = Number(Deno.args[1] ?? 1.5);
  if (what === "envs" || what === "all") envs(seconds);
  if (what === "learn" || what === "all") {
    await learn("cartpole", undefined, [], 60);
    await learn("multi_agent_cartpole_shared", 2, [], 60);
    await learn("multi_agent_cartpole_two_policies", 2, ["p0", "p1"], 80);
  }
}
