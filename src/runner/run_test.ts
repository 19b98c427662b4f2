import assert from "node:assert/strict";
import { JsonlLogger, RESULTS_JSONL } from "../loggers/jsonl.ts";
import { MemoryLogDir } from "../loggers/logger.ts";
import { listCheckpoints, readCheckpoint } from "../train/checkpoint.ts";
import { MemoryStorage } from "../train/storage.ts";
import { CHECKPOINT_DIR, CONFIG_FILE, runExperiment } from "./run.ts";
import { type ExperimentConfig, parseExperiment } from "./schema.ts";

/** 8 envs × 32 steps = 256 env steps per iteration, 6 iterations. */
function tiny(over: Record<string, unknown> = {}): ExperimentConfig {
  return parseExperiment({
    seed: 5,
    env: { name: "hierarchical_windy_maze", numEnvs: 8 },
    algorithm: { name: "PPO", rolloutFragmentLength: 32, hyperparameters: { minibatchSize: 64 } },
    policies: { high: { config: { gamma: 0.9 } }, low: { config: { gamma: 0 } } },
    mapping: {
      rules: [{ match: "prefix", pattern: "low_level_", policy: "low" }],
      default: "high",
    },
    trainSteps: 6 * 256,
    testFrequency: 3,
    testEpisodes: 2,
    saving: { frequency: 2, keep: 2, atEnd: true },
    loggers: ["jsonl"],
    backend: "cpu",
    ...over,
  }, "tiny");
}

/** The result lines without wall-clock fields, which no two runs share. */
function comparable(text: string): unknown[] {
  const clock = /time|_per_s$|^timers|^date|^timestamp/;
  const strip = (o: unknown): unknown => {
    if (o === null || typeof o !== "object" || Array.isArray(o)) return o;
    return Object.fromEntries(
      Object.entries(o).filter(([k]) => !clock.test(k)).map(([k, v]) => [k, strip(v)]),
    );
  };
  return text.trim().split("\n").map((l) => strip(JSON.parse(l)));
}

async function weightsOf(storage: MemoryStorage, path: string): Promise<Float32Array[]> {
  const ck = await readCheckpoint(storage, path) as {
    policies: { id: string; weights: Float32Array | null }[];
  };
  return ck.policies.map((p) => p.weights!);
}

Deno.test("a run: iterations to trainSteps, tests every testFrequency, the saving schedule", async () => {
  const storage = new MemoryStorage();
  const logs = new MemoryLogDir();
  const s = await runExperiment(tiny(), { storage, loggers: [new JsonlLogger(logs)] });
  assert.equal(s.iterations, 6);
  assert.equal(s.envSteps, 6 * 256);
  assert.equal(s.stoppedBy, "trainSteps");
  const ckpts = await listCheckpoints(storage, CHECKPOINT_DIR);
  assert.deepEqual(ckpts.map((c) => c.iteration), [4, 6], "every 2 iterations, newest 2 kept");
  assert.equal(s.checkpoint, "checkpoints/checkpoint_000006.ckpt");
  const cfg = JSON.parse(new TextDecoder().decode(await storage.read(CONFIG_FILE)));
  assert.equal(cfg.trainSteps, 6 * 256);
  const lines = logs.text(RESULTS_JSONL)!.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.training_iteration), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(
    lines.map((l) => l.evaluation === undefined ? 0 : l.evaluation.num_episodes),
    [0, 0, 2, 0, 0, 2],
  );
});

Deno.test("a fresh run refuses a directory with checkpoints; resume refuses one without", async () => {
  const storage = new MemoryStorage();
  await assert.rejects(
    runExperiment(tiny(), { storage, resume: true }),
    /resume: no checkpoint in checkpoints\/ of the run directory/,
  );
  await runExperiment(tiny({ trainSteps: 256, saving: { frequency: 1 } }), { storage });
  const before = await storage.read("checkpoints/checkpoint_000001.ckpt");
  await assert.rejects(
    runExperiment(tiny(), { storage }),
    /already holds 1 checkpoint\(s\) \(checkpoints\/checkpoint_000001\.ckpt\): resume it with --resume/,
  );
  assert.deepEqual(await storage.read("checkpoints/checkpoint_000001.ckpt"), before);
});

Deno.test("a corrupt newest checkpoint is named on resume and nothing is written", async () => {
  const storage = new MemoryStorage();
  await runExperiment(tiny({ trainSteps: 512, saving: { frequency: 1, keep: null } }), { storage });
  const bytes = (await storage.read("checkpoints/checkpoint_000002.ckpt"))!;
  const bad = bytes.slice(0, bytes.length - 10);
  await storage.write("checkpoints/checkpoint_000002.ckpt", bad);
  const logs = new MemoryLogDir();
  await logs.append(RESULTS_JSONL, new TextEncoder().encode('{"training_iteration":1}\n'));
  await assert.rejects(
    runExperiment(tiny({ trainSteps: 1024 }), {
      storage,
      resume: true,
      loggers: [new JsonlLogger(logs)],
    }),
    /checkpoint_000002\.ckpt/,
  );
  assert.deepEqual(await storage.read("checkpoints/checkpoint_000002.ckpt"), bad);
  assert.deepEqual(
    (await listCheckpoints(storage, CHECKPOINT_DIR)).map((c) => c.iteration),
    [1, 2],
  );
  assert.equal(logs.text(RESULTS_JSONL), '{"training_iteration":1}\n');
});

Deno.test("a run that crashes after any iteration resumes to the same weights and results", async () => {
  const straight = new MemoryStorage(), straightLogs = new MemoryLogDir();
  await runExperiment(tiny(), { storage: straight, loggers: [new JsonlLogger(straightLogs)] });
  const want = comparable(straightLogs.text(RESULTS_JSONL)!);
  const wantWeights = await weightsOf(straight, "checkpoints/checkpoint_000006.ckpt");
  // Crash after iteration 3 (logged, checkpoint of 2 is the newest) and after 4 (just saved).
  for (const crashAt of [3, 4, 5]) {
    const storage = new MemoryStorage(), logs = new MemoryLogDir();
    await assert.rejects(
      runExperiment(tiny(), {
        storage,
        loggers: [new JsonlLogger(logs)],
        onIteration: (r) => {
          if (r.training_iteration === crashAt) throw new Error("crash");
        },
      }),
      /crash/,
    );
    const s = await runExperiment(tiny(), {
      storage,
      resume: true,
      loggers: [new JsonlLogger(logs)],
    });
    assert.equal(s.resumedFrom, crashAt - (crashAt % 2));
    assert.equal(s.envSteps, 6 * 256, "no step counted twice");
    assert.deepEqual(comparable(logs.text(RESULTS_JSONL)!), want, `crash at ${crashAt}`);
    assert.deepEqual(
      await weightsOf(storage, "checkpoints/checkpoint_000006.ckpt"),
      wantWeights,
      `crash at ${crashAt}`,
    );
  }
});

Deno.test("maxStepsPerEpisode truncates every episode; stackSize stacks observations", async () => {
  const logs = new MemoryLogDir();
  await runExperiment(
    parseExperiment({
      env: { name: "windy_maze", numEnvs: 8 },
      algorithm: { name: "PPO", rolloutFragmentLength: 64, hyperparameters: { minibatchSize: 64 } },
      trainSteps: 1024,
      maxStepsPerEpisode: 20,
      stackSize: 3,
      saving: { frequency: 0, atEnd: false },
      loggers: ["jsonl"],
      backend: "cpu",
    }, "limit"),
    { storage: new MemoryStorage(), loggers: [new JsonlLogger(logs)] },
  );
  const last = JSON.parse(logs.text(RESULTS_JSONL)!.trim().split("\n").at(-1)!);
  assert.ok(last.episodes_total >= 8 * 2, `${last.episodes_total} episodes`);
  assert.ok(last.episode_len_mean <= 20, `mean episode length ${last.episode_len_mean}`);
  assert.throws(
    () => parseExperiment({ ...minimalLimit(), maxStepsPerEpisode: 0 }, "x"),
    /maxStepsPerEpisode: .*>\s*0/,
  );
});

function minimalLimit() {
  return { env: { name: "windy_maze" }, algorithm: { name: "PPO" }, trainSteps: 10 };
}

Deno.test({
  name: "an experiment file samples in 2 env runners (Web Workers) and learns the same way twice",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const run = async () => {
    const logs = new MemoryLogDir();
    await runExperiment(
      tiny({ envRunners: { numEnvRunners: 2 }, trainSteps: 3 * 512, saving: { frequency: 0 } }),
      { storage: new MemoryStorage(), loggers: [new JsonlLogger(logs)] },
    );
    return logs.text(RESULTS_JSONL)!.trim().split("\n").map((l) => JSON.parse(l));
  };
  const a = await run();
  assert.equal(a.length, 3, "2 runners × 8 envs × 32 steps = 512 env steps per iteration");
  assert.equal(a.at(-1)!.num_env_runners, 2);
  assert.deepEqual(
    comparable((await run()).map((l) => JSON.stringify(l)).join("\n")),
    comparable(
      a.map((l) => JSON.stringify(l)).join("\n"),
    ),
  );
});
