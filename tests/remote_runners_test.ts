/**
 * Remote env runners in real workerd processes on loopback (`examples/remote_runners/`): three
 * runners train the hierarchical windy maze exactly as three Web Worker runners with the same
 * seed do (same results, same weights, mean reward ≥ 80 after 15 iterations); an experiment
 * file's `envRunners.remoteRunners` trains through them; a runner SIGKILLed while its fragment
 * is in flight is dropped, its fragment re-issued, and the counts stay exact (every iteration
 * absorbs three fragments, none twice); with every runner killed, `train()` rejects naming
 * each. Plus the config's checks (fluent and file).
 */

import { timeless } from "../src/train/testdata/resume_run.ts";
import assert from "node:assert/strict";
import {
  type Algorithm,
  createThreeLevelWindyMaze,
  experimentAlgorithmConfig,
  MemoryStorage,
  parseExperiment,
  type PPOConfig,
  rewardReached,
  type TrainResult,
} from "@coop/rl";
import { exampleConfig } from "../examples/hierarchical.ts";
import { startRunners } from "../examples/remote_runners/runners.ts";

const NUM_ENVS = 22, FRAGMENT = 64, RUNNERS = 3;
const STEPS_PER_FRAGMENT = NUM_ENVS * FRAGMENT;
const RUNNER_MODULE = new URL("../examples/remote_runners/config.ts", import.meta.url).href;

function mazeConfig(): PPOConfig {
  return exampleConfig({ flat: false, seed: 0, numEnvs: NUM_ENVS, backend: "wasm" })
    .envRunners({ numEnvs: NUM_ENVS, rolloutFragmentLength: FRAGMENT });
}

/** The parts of a result that do not depend on timing or on where the runners are. */
function stable(r: TrainResult): unknown {
  const {
    num_healthy_env_runners: _a,
    num_fragment_reissues: _b,
    num_env_runner_restarts: _c,
    ...rest
  } = timeless(r);
  return rest;
}

function weights(a: Algorithm): Float32Array[] {
  return a.policyIds.map((id) => a.getModel(id)!.getFlatWeights());
}

async function train(algo: Algorithm, iterations: number): Promise<TrainResult[]> {
  const out: TrainResult[] = [];
  for (let i = 0; i < iterations; i++) out.push(await algo.train());
  return out;
}

Deno.test("config: remote runners are checked, in the fluent config and in experiment files", () => {
  const v = (p: Parameters<PPOConfig["envRunners"]>[0]) => () =>
    mazeConfig().envRunners(p).validate();
  v({ remoteRunners: ["http://127.0.0.1:9101", "https://runner.example.com/r1"] })();
  assert.throws(v({ remoteRunners: [] }), /remoteRunners must be a non-empty list of runner URLs/);
  assert.throws(
    v({ remoteRunners: ["http://127.0.0.1:9101", "127.0.0.1:9102"] }),
    /remoteRunners\[1\] must be an absolute http\(s\) URL of a runner .*got "127.0.0.1:9102"/,
  );
  assert.throws(
    v({ remoteRunners: ["http://a:1", "http://a:1/"] }),
    /remoteRunners\[1\] repeats remoteRunners\[0\] \(http:\/\/a:1\)/,
  );
  assert.throws(
    v({ remoteRunners: ["http://a:1", "http://b:1"], numEnvRunners: 3 }),
    /numEnvRunners is 3 with 2 remoteRunners: .*leave numEnvRunners unset/,
  );
  assert.throws(
    v({ remoteRunners: ["http://a:1"], remoteTimeoutMs: 0 }),
    /envRunners.remoteTimeoutMs must be a positive integer, got 0/,
  );
  assert.throws(
    v({ remoteRunners: ["http://a:1"], remoteRestartDelayMs: -1 }),
    /envRunners.remoteRestartDelayMs must be a number of ms ≥ 0 \(or null: never restart\), got -1/,
  );
  v({ remoteRunners: ["http://a:1"], remoteRestartDelayMs: null })();
  v({ remoteRunners: ["http://a:1"], remoteRestartDelayMs: Infinity })();
  assert.throws(
    v({ remoteRunners: ["http://a:1"], runnerArgs: { when: new Date() } }),
    /plain data \(JSON values and typed arrays\) to reach remote runners: .*\["when"\] is a Date/,
  );

  const file = JSON.parse(
    Deno.readTextFileSync(new URL("../configs/windy_maze_hierarchical.json", import.meta.url)),
  );
  const c = parseExperiment(
    {
      ...file,
      envRunners: {
        remoteRunners: ["http://127.0.0.1:9101"],
        remoteTimeoutMs: 5000,
        remoteRestartDelayMs: null,
      },
    },
    "test.json",
  );
  const r = experimentAlgorithmConfig(c).validate().config.envRunners!;
  assert.deepEqual(r.remoteRunners, ["http://127.0.0.1:9101"]);
  assert.equal(r.remoteTimeoutMs, 5000);
  assert.equal(r.remoteRestartDelayMs, null);
  const d = parseExperiment(
    { ...file, envRunners: { remoteRunners: ["http://127.0.0.1:9101"] } },
    "test.json",
  );
  assert.equal(
    experimentAlgorithmConfig(d).validate().config.envRunners!.remoteRestartDelayMs,
    60_000,
  );
  assert.throws(
    () => parseExperiment({ ...file, envRunners: { remoteRunners: ["ftp://x"] } }, "bad.json"),
    /envRunners\.remoteRunners\[0\]: expected an absolute http\(s\) URL of a runner.*got "ftp:\/\/x"/,
  );
});

Deno.test({
  name: "workerd runners on loopback: train like local runners, survive a killed runner",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const running = await startRunners(RUNNERS);
  try {
    await t.step(
      "3 runners: the results of 3 Web Worker runners, reward ≥ 80 in 15 iterations",
      async () => {
        const remote = await mazeConfig().envRunners({ remoteRunners: running.urls }).build();
        const local = await mazeConfig()
          .envRunners({ numEnvRunners: RUNNERS, runnerModule: RUNNER_MODULE })
          .build();
        try {
          const rr = await train(remote, 15);
          const rl = await train(local, 15);
          const last = rr.at(-1)!;
          assert.ok(
            rewardReached(last, 80),
            `remote: mean reward ${last.episode_reward_mean} over ${last.episodes_in_window} episodes`,
          );
          assert.deepEqual(rr.map(stable), rl.map(stable));
          assert.deepEqual(weights(remote), weights(local));
          assert.equal(last.num_healthy_env_runners, RUNNERS);
          assert.equal(last.num_fragment_reissues, 0);
        } finally {
          remote.dispose();
          local.dispose();
        }
      },
    );

    await t.step("an experiment file's envRunners.remoteRunners trains through them", async () => {
      const file = JSON.parse(
        await Deno.readTextFile(
          new URL("../configs/windy_maze_hierarchical.json", import.meta.url),
        ),
      );
      file.env.numEnvs = NUM_ENVS;
      file.envRunners = { remoteRunners: running.urls };
      const algo = await experimentAlgorithmConfig(parseExperiment(file, "remote.json")).build();
      try {
        const [r] = await train(algo, 1);
        assert.equal(r!.num_env_runners, RUNNERS);
        assert.equal(r!.timesteps_total, RUNNERS * STEPS_PER_FRAGMENT);
      } finally {
        algo.dispose();
      }
    });

    await t.step(
      "a runner serving another env than the trainer's is refused at build",
      async () => {
        const other = mazeConfig()
          .environment(({ numEnvs, seed }) => createThreeLevelWindyMaze(numEnvs, { seed }))
          .envRunners({ remoteRunners: running.urls });
        await assert.rejects(other.build(), (e: Error) => {
          assert.match(
            e.message,
            /^Remote env runner 0 \(http:\/\/127\.0\.0\.1:\d+\) could not start: examples\/remote_runners\/config.ts builds another env than the trainer's: the runner's is a Hierarchy with groups \[high: .*; low: .*\], the trainer's a Hierarchy with groups \[top: .*; mid: .*; low: .*\]$/,
          );
          return true;
        });
      },
    );

    await t.step("checkpoints: the runners' states saved and restored, the same run", async () => {
      const storage = new MemoryStorage();
      const small = () =>
        mazeConfig()
          .envRunners({ numEnvs: 4, rolloutFragmentLength: 16, remoteRunners: running.urls })
          .checkpointing({ storage });
      const a = await small().build();
      let path: string, ra: TrainResult[];
      try {
        await train(a, 2);
        path = await a.save();
        ra = await train(a, 2);
      } finally {
        a.dispose();
      }
      // A fresh trainer re-initialises the same runners, then restores their states.
      const b = await small().build();
      try {
        await b.restore({ path });
        const rb = await train(b, 2);
        assert.deepEqual(rb.map(stable), ra.map(stable));
      } finally {
        b.dispose();
      }
    });

    await t.step("the Cloudflare entry: runners as Durable Objects of one workerd", async () => {
      const objects = await startRunners(RUNNERS, { durableObjects: true });
      const algo = await mazeConfig().envRunners({ remoteRunners: objects.urls }).build();
      try {
        assert.match(objects.urls[2]!, /^http:\/\/127\.0\.0\.1:\d+\/runner-2$/);
        const rs = await train(algo, 2);
        assert.deepEqual(rs.map((r) => r.timesteps_total), [1, 2].map((i) => i * 3 * 1408));
        const health = await (await fetch(`${objects.urls[1]}/health`)).json();
        assert.deepEqual([health.runner, health.weightsVersion], [1, 2]);
      } finally {
        algo.dispose();
        await objects.stop();
      }
    });

    await t.step(
      "a killed runner that comes back is restarted and used again (remoteRestartDelayMs)",
      async () => {
        const algo = await mazeConfig()
          .envRunners({ remoteRunners: running.urls, remoteRestartDelayMs: 0 })
          .build();
        try {
          const rs = await train(algo, 1);
          await running.kill(1);
          rs.push(...await train(algo, 1)); // lost: its fragment re-issued
          await running.restart(1);
          // Restarted in the background while the next iterations sample (how many depends on
          // how long the runner takes to build its env and backend).
          while (rs.at(-1)!.num_env_runner_restarts === 0 && rs.length < 12) {
            rs.push(...await train(algo, 1));
          }
          rs.push(...await train(algo, 1)); // used again
          const last = rs.at(-1)!;
          assert.deepEqual(rs.slice(0, 2).map((r) => r.num_healthy_env_runners), [3, 2]);
          assert.equal(last.num_healthy_env_runners, 3);
          assert.equal(last.num_env_runner_restarts, 1);
          // While it restarts, its slot goes to a live runner (not a re-issue: nothing failed).
          assert.equal(last.num_fragment_reissues, 1);
          assert.deepEqual(
            rs.map((r) => r.num_env_steps_sampled),
            rs.map((_r, i) => (i + 1) * RUNNERS * STEPS_PER_FRAGMENT),
          );
          // It sampled the last fragment with the last weights.
          const health = await (await fetch(`${running.urls[1]}/health`)).json();
          assert.deepEqual([health.runner, health.weightsVersion], [1, rs.length]);
        } finally {
          algo.dispose();
        }
      },
    );

    await t.step(
      "a runner SIGKILLed mid-fragment: re-issued, counts exact; all killed: an error",
      async () => {
        const algo = await mazeConfig().envRunners({ remoteRunners: running.urls }).build();
        const realFetch = globalThis.fetch;
        let killNext = false;
        let inFlight: Promise<string> | undefined;
        // Kills runner 2 while its next /sample request is in flight (sampling takes tens of ms;
        // the kill follows the request by 5 ms) and records how that request ended.
        globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
          const p = realFetch(input, init);
          if (killNext && String(input) === `${running.urls[2]}/sample`) {
            killNext = false;
            setTimeout(() => void running.kill(2), 5);
            inFlight = p.then(() => "answered", (e: Error) => `failed: ${e.message}`);
          }
          return p;
        }) as typeof fetch;
        try {
          const before = await train(algo, 2);
          killNext = true;
          const after = await train(algo, 3);
          assert.match(await inFlight!, /^failed: /, "the runner was killed with its request open");
          const rs = [...before, ...after];
          assert.deepEqual(rs.map((r) => r.num_healthy_env_runners), [3, 3, 2, 2, 2]);
          assert.deepEqual(rs.map((r) => r.num_fragment_reissues), [0, 0, 1, 1, 1]);
          // Every iteration absorbed exactly three fragments: none lost, none twice.
          assert.deepEqual(
            rs.map((r) => r.num_env_steps_sampled),
            rs.map((_r, i) => (i + 1) * RUNNERS * STEPS_PER_FRAGMENT),
          );
          assert.ok(rs.every((r) => r.timesteps_total === r.num_env_steps_sampled));
          await running.kill(0);
          await running.kill(1);
          await assert.rejects(algo.train(), (e: Error) => {
            assert.match(e.message, /^All 3 remote env runners are lost: /);
            for (const i of [0, 1, 2]) {
              assert.match(e.message, new RegExp(`${i} \\(${running.urls[i]}\\): /sample failed`));
            }
            return true;
          });
        } finally {
          globalThis.fetch = realFetch;
          algo.dispose();
        }
      },
    );
  } finally {
    await running.stop();
  }
});
