import assert from "node:assert/strict";
import { MemoryLogDir } from "./logger.ts";
import { decodeEvent, readTfRecords } from "./tensorboard.ts";
import {
  EVALUATION_ITERATION_TAG,
  ITERATION_TAG,
  resultScalars,
  resultStep,
  TensorBoardLogger,
} from "./tensorboard_logger.ts";
import { FileLogDir } from "../runtime/log_files.ts";

const POLICIES = ["high_level_policy", "low_level_policy"];

function result(i: number, withEval = false): { training_iteration: number } {
  return {
    episode_reward_mean: i === 1 ? NaN : i * 1.5,
    episode_len_mean: 20 + i,
    policy_reward_mean: { high_level_policy: i, low_level_policy: -i / 4 },
    training_iteration: i,
    num_env_steps_sampled: 512 * i,
    time_this_iter_s: 0.5,
    time_total_s: 0.5 * i,
    info: {
      learner: Object.fromEntries(POLICIES.map((p, j) => [p, {
        learner_stats: { kl: 0.01 * i + j, entropy: 1 / i },
        num_agent_steps_trained: 100,
      }])),
    },
    backend: { name: "wasm", simd: true },
    ...(withEval ? { evaluation: { episode_reward_mean: 10 * i, num_episodes: 5 } } : {}),
  } as { training_iteration: number };
}

/** The events of a logger's file: step and scalars. */
function events(dir: MemoryLogDir, file: string) {
  return readTfRecords(dir.files.get(file)!).records.map(decodeEvent);
}

Deno.test("TensorBoardLogger: one event per iteration, Ray's tags per policy, step = env steps", async () => {
  const dir = new MemoryLogDir();
  const tb = new TensorBoardLogger(dir, { now: () => 1700000000.5, hostname: "box" });
  await tb.start();
  assert.equal(tb.file, "events.out.tfevents.1700000000.box");
  await tb.logResult(result(1));
  await tb.logResult(result(2, true));
  await tb.logEvaluation({ episode_reward_mean: 3, custom_metrics: { reach_rate_mean: 0.5 } }, {
    training_iteration: 2,
    num_env_steps_sampled: 1024,
  });
  await tb.close();
  const ev = events(dir, tb.file!);
  assert.equal(ev.length, 4);
  assert.equal(ev[0]!.fileVersion, "brain.Event:2");
  assert.deepEqual(ev.slice(1).map((e) => e.step), [512, 1024, 1024]);
  const s1 = ev[1]!.scalars;
  assert.equal(s1["ray/tune/policy_reward_mean/high_level_policy"], 1);
  assert.equal(s1["ray/tune/policy_reward_mean/low_level_policy"], -0.25);
  assert.equal(s1["ray/tune/info/learner/low_level_policy/learner_stats/kl"], Math.fround(1.01));
  assert.equal(s1[ITERATION_TAG], 1);
  assert.ok(!("ray/tune/episode_reward_mean" in s1), "NaN left out, as Ray does");
  assert.ok(!("ray/tune/time_total_s" in s1), "time_total_s left out, as Ray does");
  assert.equal(ev[2]!.scalars["ray/tune/evaluation/episode_reward_mean"], 20);
  assert.equal(ev[3]!.scalars["ray/tune/evaluation/custom_metrics/reach_rate_mean"], 0.5);
  assert.equal(ev[3]!.scalars[EVALUATION_ITERATION_TAG], 2);
  assert.equal(resultStep({ training_iteration: 4 }), 4);
  assert.equal(resultStep({ training_iteration: 4, timesteps_total: 99 }), 99);
  assert.deepEqual(
    Object.keys(resultScalars({ training_iteration: 1, pid: 3, config: { a: 1 } })),
    [
      "ray/tune/training_iteration",
    ],
  );
  await assert.rejects(tb.logResult(result(2)), /must increase, got 2 after 2/);
});

Deno.test("TensorBoardLogger: resume drops the events after the checkpoint and a torn record", async () => {
  const run = async (dir: MemoryLogDir, from: number, to: number, resume?: number) => {
    const tb = new TensorBoardLogger(dir, { now: () => 1700000000, hostname: "h" });
    await tb.start({ resumeFromIteration: resume });
    for (let i = from; i <= to; i++) {
      await tb.logResult(result(i, i % 2 === 0));
      if (i % 3 === 0) {
        await tb.logEvaluation({ episode_reward_mean: i }, {
          training_iteration: i,
          num_env_steps_sampled: 512 * i,
        });
      }
    }
    return tb.file!;
  };
  const whole = new MemoryLogDir();
  const file = await run(whole, 1, 8);
  const dir = new MemoryLogDir();
  await run(dir, 1, 6);
  // Killed while appending iteration 7's event: half a record at the end.
  const torn = events(whole, file).length; // (just to use the uninterrupted run's record count)
  assert.equal(torn, 1 + 8 + 2);
  const full = whole.files.get(file)!;
  const { offsets } = readTfRecords(full);
  await dir.append(file, full.slice(offsets[7]!, offsets[7]! + 30));
  await assert.rejects(
    new TensorBoardLogger(dir, { hostname: "h" }).start(),
    /already exists; resume the run or use a new directory/,
  );
  assert.equal(await run(dir, 4, 8, 3), file, "appends to the same file");
  assert.deepEqual(dir.files.get(file), whole.files.get(file), "byte for byte");
  const steps = events(dir, file).slice(1).map((e) => e.step);
  assert.deepEqual(steps, [512, 1024, 1536, 1536, 2048, 2560, 3072, 3072, 3584, 4096]);
  // A checkpoint newer than the events: lines would be lost.
  await assert.rejects(
    new TensorBoardLogger(dir, { hostname: "h" }).start({ resumeFromIteration: 9 }),
    /ends at iteration 8 but the run resumes from iteration 9/,
  );
});

/** The python with TensorBoard: COOP_PYTHON, else python3. */
async function tensorboardPython(): Promise<{ python: string } | { missing: string }> {
  const candidates = [
    Deno.env.get("COOP_PYTHON"),
    "python3",
  ].filter((p): p is string => p !== undefined && p !== "");
  const reasons: string[] = [];
  for (const python of candidates) {
    try {
      const out = await new Deno.Command(python, {
        args: ["-c", "import tensorboard; print(tensorboard.__version__)"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (out.success) return { python };
      reasons.push(`${python}: no tensorboard module`);
    } catch {
      reasons.push(`${python}: not found`);
    }
  }
  return { missing: reasons.join("; ") };
}

Deno.test("TensorBoard's own reader (EventAccumulator) reads the logger's event files back", async () => {
  const found = await tensorboardPython();
  if ("missing" in found) {
    const msg = `TensorBoard's Python reader is not available (${found.missing}); ` +
      `set COOP_PYTHON to a python with the pip package tensorboard`;
    if (Deno.env.get("COOP_REQUIRE_TB") === "1") throw new Error(msg);
    console.log(`skipped: ${msg}`);
    return;
  }
  const root = await Deno.makeTempDir({ prefix: "coop-tb-" });
  try {
    // A run killed after iteration 5 and resumed from the checkpoint of iteration 3.
    const dir = new FileLogDir(root);
    const first = new TensorBoardLogger(dir, { hostname: "test" });
    await first.start();
    for (let i = 1; i <= 5; i++) await first.logResult(result(i, i === 2));
    await first.close();
    const again = new TensorBoardLogger(new FileLogDir(root), { hostname: "test" });
    await again.start({ resumeFromIteration: 3 });
    for (let i = 4; i <= 6; i++) await again.logResult(result(i, i === 4));
    await again.logEvaluation({ episode_reward_mean: 42 }, {
      training_iteration: 6,
      num_env_steps_sampled: 3072,
    });
    await again.close();

    const script = new URL("../../tests/tb_read.py", import.meta.url).pathname;
    const out = await new Deno.Command(found.python, {
      args: [script, root],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const read = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      tensorboard: string;
      scalars: Record<string, [number, number, number][]>;
    };
    const steps = [1, 2, 3, 4, 5, 6].map((i) => 512 * i);
    for (const p of POLICIES) {
      const tag = `ray/tune/policy_reward_mean/${p}`;
      assert.deepEqual(read.scalars[tag]?.map((e) => e[0]), steps, tag);
      const kl = read.scalars[`ray/tune/info/learner/${p}/learner_stats/kl`]!;
      assert.deepEqual(
        kl.map((e) => e[1]),
        [1, 2, 3, 4, 5, 6].map((i) => Math.fround(0.01 * i + POLICIES.indexOf(p))),
      );
    }
    assert.deepEqual(
      read.scalars["ray/tune/policy_reward_mean/high_level_policy"]!.map((e) => e[1]),
      [1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual(read.scalars[ITERATION_TAG]!.map((e) => e[1]), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(
      read.scalars["ray/tune/episode_reward_mean"]!.map((e) => e[0]),
      steps.slice(1),
    );
    assert.deepEqual(
      read.scalars["ray/tune/evaluation/episode_reward_mean"]!.map((e) => [e[0], e[1]]),
      [[1024, 20], [2048, 40], [3072, 42]],
    );
    console.log(
      `read back by tensorboard ${read.tensorboard}: ${Object.keys(read.scalars).length} tags`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
