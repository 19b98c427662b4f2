/**
 * The CI learning test: the hierarchical windy maze example must learn (reward 80 over a full
 * window of 100 episodes within 120k env steps, about 5 s), far above what random policies
 * get on the same env; and its command line must exit with the documented codes.
 */

import assert from "node:assert/strict";
import {
  exampleConfig,
  type ExampleOptions,
  main,
  parseOptions,
  run,
} from "../examples/hierarchical.ts";
import { MIN_EPISODES_FOR_REWARD, rewardReached, type TrainResult } from "@coop/rl";

const STOP = { episode_reward_mean: 80, timesteps_total: 120000 };

function options(o: Partial<ExampleOptions>): ExampleOptions {
  return {
    flat: false,
    timeline: "alternating",
    stop: STOP,
    asTest: false,
    seed: 0,
    numEnvs: 64,
    backend: "wasm",
    out: null,
    verbose: false,
    ...o,
  };
}

/** Mean episode reward of random policies on the example's env, over a full window. */
async function randomBaseline(flat: boolean): Promise<TrainResult> {
  const config = exampleConfig({ flat, seed: 0, numEnvs: 64, backend: "wasm" });
  const ids = Object.keys(config.config.multiAgent.policies);
  const algo = await config.multiAgent({
    ...config.config.multiAgent,
    policies: Object.fromEntries(ids.map((id) => [id, { policyClass: "random" as const }])),
  }).build();
  try {
    for (let i = 0; i < 20; i++) {
      const r = await algo.train();
      assert.deepEqual(r.info.learner, {}, "random policies do not learn");
      if (r.episodes_in_window >= MIN_EPISODES_FOR_REWARD) return r;
    }
    throw new Error("random policies did not finish 100 episodes in 20 iterations");
  } finally {
    algo.dispose();
  }
}

/** Runs `fn` with console output swallowed; returns what it printed. */
async function quietly<T>(fn: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const { log, error } = console;
  let out = "", err = "";
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void (err += a.join(" ") + "\n");
  try {
    return { value: await fn(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("example: hierarchical PPO reaches reward 80, far above random, and writes its outputs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coop_example_" });
  try {
    const { results } = await run(options({ out: dir }));
    const last = results.at(-1)!;
    assert.ok(
      rewardReached(last, STOP.episode_reward_mean),
      `stopped at ${last.timesteps_total} steps with reward ${last.episode_reward_mean} over ${last.episodes_in_window} episodes`,
    );
    assert.ok(last.timesteps_total <= STOP.timesteps_total + 4096);
    // It stopped at the first iteration that reached the reward.
    assert.ok(results.slice(0, -1).every((r) => !rewardReached(r, STOP.episode_reward_mean)));
    // Both levels learned: the high level reaches the finish, the low level follows goals.
    assert.ok(last.policy_reward_mean.high_level_policy! > 50);
    assert.ok(last.policy_reward_mean.low_level_policy! > 0);

    const baseline = await randomBaseline(false);
    assert.ok(
      baseline.episode_reward_mean < 20,
      `random policies got ${baseline.episode_reward_mean}`,
    );
    assert.ok(last.episode_reward_mean >= baseline.episode_reward_mean + 60);

    const lines = (await Deno.readTextFile(`${dir}/results.jsonl`)).trimEnd().split("\n");
    assert.equal(lines.length, results.length);
    lines.forEach((line, i) => {
      const r = JSON.parse(line);
      assert.equal(r.training_iteration, i + 1);
      assert.equal(r.timesteps_total, results[i]!.timesteps_total);
      assert.ok("info" in r && "episode_reward_mean" in r && "policy_reward_mean" in r);
    });
    const svg = await Deno.readTextFile(`${dir}/curve.svg`);
    assert.ok(svg.startsWith("<svg"), svg.slice(0, 40));
    assert.ok(svg.trimEnd().endsWith("</svg>"));
    assert.ok(svg.includes("low_level_policy") && svg.includes("high_level_policy"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("example: flat PPO reaches reward 80, far above random", async () => {
  const { results } = await run(options({ flat: true }));
  const last = results.at(-1)!;
  assert.ok(
    rewardReached(last, 80),
    `reward ${last.episode_reward_mean} at ${last.timesteps_total}`,
  );
  const baseline = await randomBaseline(true);
  assert.ok(baseline.episode_reward_mean < 20, `random policy got ${baseline.episode_reward_mean}`);
});

Deno.test("example: command line exit codes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coop_example_cli_" });
  try {
    const help = await quietly(() => main(["--help"]));
    assert.equal(help.value, 0);
    assert.ok(help.out.includes("--stop-reward"));
    for (
      const [argv, why] of [
        [["--num-envs", "0"], "--num-envs"],
        [["--seed", "-1"], "--seed"],
        [["--stop-reward", "lots"], "--stop-reward"],
        [["--backend", "gpu"], "--backend"],
        [["--timeline", "sideways"], "--timeline"],
        [["--as-test"], "--stop-reward"],
        [["--bogus"], "bogus"],
      ] as const
    ) {
      const bad = await quietly(() => main([...argv]));
      assert.equal(bad.value, 2, argv.join(" "));
      assert.ok(bad.err.includes(why), `${argv.join(" ")}: ${bad.err.split("\n")[0]}`);
    }
    // One iteration cannot reach reward 80 over 100 episodes: --as-test fails with 1.
    const short = await quietly(() =>
      main(["--as-test", "--stop-iters", "1", "--stop-reward", "80", "--out", dir, "--quiet"])
    );
    assert.equal(short.value, 1);
    assert.ok(short.err.includes("Learning not achieved"), short.err);
    const lines = (await Deno.readTextFile(`${dir}/results.jsonl`)).trimEnd().split("\n");
    assert.equal(lines.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(parseOptions(["--timeline", "overlapping"])!.timeline, "overlapping");
  // The flags map onto the options run() takes.
  const o = parseOptions([
    "--flat",
    "--seed",
    "3",
    "--num-envs",
    "16",
    "--stop-reward",
    "50",
    "--stop-iters",
    "7",
    "--quiet",
  ])!;
  assert.deepEqual(
    o,
    {
      flat: true,
      timeline: "alternating",
      stop: { training_iteration: 7, timesteps_total: 100000, episode_reward_mean: 50 },
      asTest: false,
      seed: 3,
      numEnvs: 16,
      backend: "wasm",
      out: "runs/flat-seed3",
      verbose: false,
    },
  );
});
