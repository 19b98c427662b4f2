import assert from "node:assert/strict";
import { MemoryLogDir } from "./logger.ts";
import { EVALUATION_JSONL, JsonlLogger, RESULTS_JSONL } from "./jsonl.ts";

/** An RLlib-shaped result of iteration `i` (NaN reward before the first episode). */
function result(i: number, withEval = false): { training_iteration: number } {
  return {
    episode_reward_mean: i === 1 ? NaN : i * 1.5,
    policy_reward_mean: { high_level_policy: i, low_level_policy: -i / 4 },
    training_iteration: i,
    num_env_steps_sampled: 512 * i,
    time_this_iter_s: 0.5,
    info: { learner: { low_level_policy: { learner_stats: { kl: 0.01 * i } } } },
    ...(withEval ? { evaluation: { episode_reward_mean: 10 * i } } : {}),
  } as { training_iteration: number };
}

Deno.test("JsonlLogger: one result per line as JSON.stringify writes it; evaluations apart", async () => {
  const dir = new MemoryLogDir();
  const log = new JsonlLogger(dir);
  await log.start();
  for (let i = 1; i <= 3; i++) await log.logResult(result(i, i === 2));
  await log.logEvaluation({ episode_reward_mean: 7 }, {
    training_iteration: 3,
    num_env_steps_sampled: 1536,
  });
  await log.close();
  const lines = dir.text(RESULTS_JSONL)!.split("\n");
  assert.equal(lines.length, 4);
  assert.equal(lines[3], "");
  assert.deepEqual(lines.slice(0, 3), [1, 2, 3].map((i) => JSON.stringify(result(i, i === 2))));
  assert.equal(JSON.parse(lines[0]!).episode_reward_mean, null, "NaN is null in plain JSON");
  assert.equal(
    dir.text(EVALUATION_JSONL),
    '{"training_iteration":3,"num_env_steps_sampled":1536,"evaluation":{"episode_reward_mean":7}}\n',
  );
});

Deno.test("JsonlLogger: a result logged twice or out of order is refused, not duplicated", async () => {
  const dir = new MemoryLogDir();
  const log = new JsonlLogger(dir);
  await assert.rejects(log.logResult(result(1)), /start\(\) first/);
  await log.start();
  await log.logResult(result(1));
  await log.logResult(result(2));
  await assert.rejects(log.logResult(result(2)), /must increase, got 2 after 2/);
  await assert.rejects(log.logResult(result(1)), /must increase, got 1 after 2/);
  assert.equal(dir.text(RESULTS_JSONL)!.split("\n").length, 3);
});

Deno.test("JsonlLogger: killed after iteration 5 (torn line), resumed from the checkpoint of 3: equals an uninterrupted run", async () => {
  const whole = new MemoryLogDir();
  const a = new JsonlLogger(whole);
  await a.start();
  for (let i = 1; i <= 7; i++) {
    await a.logResult(result(i, i % 3 === 0));
    if (i % 2 === 0) {
      await a.logEvaluation({ r: i }, { training_iteration: i, num_env_steps_sampled: 512 * i });
    }
  }

  const dir = new MemoryLogDir();
  const b = new JsonlLogger(dir);
  await b.start();
  for (let i = 1; i <= 5; i++) {
    await b.logResult(result(i, i % 3 === 0));
    if (i % 2 === 0) {
      await b.logEvaluation({ r: i }, { training_iteration: i, num_env_steps_sampled: 512 * i });
    }
  }
  // kill -9 in the middle of writing iteration 6's line.
  await dir.append(RESULTS_JSONL, new TextEncoder().encode(JSON.stringify(result(6)).slice(0, 20)));
  // A fresh start on this directory is refused: nothing is overwritten.
  await assert.rejects(new JsonlLogger(dir).start(), /already holds a log/);
  // Resume from the last checkpoint (iteration 3) and train on.
  const c = new JsonlLogger(dir);
  await c.start({ resumeFromIteration: 3 });
  assert.equal(dir.text(RESULTS_JSONL)!.split("\n").length, 4, "lines 4, 5 and the torn 6 dropped");
  assert.equal(dir.text(EVALUATION_JSONL)!.split("\n").length, 2, "evaluation of 4 dropped");
  for (let i = 4; i <= 7; i++) {
    await c.logResult(result(i, i % 3 === 0));
    if (i % 2 === 0) {
      await c.logEvaluation({ r: i }, { training_iteration: i, num_env_steps_sampled: 512 * i });
    }
  }
  assert.equal(dir.text(RESULTS_JSONL), whole.text(RESULTS_JSONL));
  assert.equal(dir.text(EVALUATION_JSONL), whole.text(EVALUATION_JSONL));

  // Resuming from a checkpoint newer than the log's last line would lose lines: refused.
  const short = new MemoryLogDir();
  const d = new JsonlLogger(short);
  await d.start();
  await d.logResult(result(1));
  await assert.rejects(
    new JsonlLogger(short).start({ resumeFromIteration: 2 }),
    /results.jsonl ends at iteration 1 but the run resumes from iteration 2/,
  );
  // A logger added on resume (no file yet) starts its file.
  const fresh = new MemoryLogDir();
  const e = new JsonlLogger(fresh);
  await e.start({ resumeFromIteration: 4 });
  await e.logResult(result(5));
  assert.equal(fresh.text(RESULTS_JSONL), JSON.stringify(result(5)) + "\n");
});
