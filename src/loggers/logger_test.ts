import assert from "node:assert/strict";
import {
  assertNoLostLines,
  encode,
  flattenResult,
  jsonLineIteration,
  jsonWithNaN,
  type Logger,
  MemoryLogDir,
  MultiLogger,
  parseJsonLine,
  resumeLineFile,
} from "./logger.ts";
import { createLoggersWith, LOGGER_NAMES } from "./create.ts";
import { flattenScalars } from "./tensorboard.ts";

Deno.test("flattenResult: nested objects become /-joined keys, leaves kept, one rule for all", () => {
  const r = {
    training_iteration: 3,
    policy_reward_mean: { high_level_policy: 1.5, low_level_policy: -2 },
    info: { learner: { low_level_policy: { learner_stats: { kl: 0.01 } } } },
    backend: { name: "wasm", simd: true },
    checkpoint: null,
    shape: [1, 2],
    config: { lr: 1 },
    bytes: new Float32Array(2),
  };
  assert.deepEqual(flattenResult(r, { exclude: ["config"] }), {
    training_iteration: 3,
    "policy_reward_mean/high_level_policy": 1.5,
    "policy_reward_mean/low_level_policy": -2,
    "info/learner/low_level_policy/learner_stats/kl": 0.01,
    "backend/name": "wasm",
    "backend/simd": true,
    checkpoint: null,
    shape: [1, 2],
  });
  const numeric = flattenResult(r, { numericOnly: true, prefix: "ray/tune" });
  assert.deepEqual(Object.keys(numeric), [
    "ray/tune/training_iteration",
    "ray/tune/policy_reward_mean/high_level_policy",
    "ray/tune/policy_reward_mean/low_level_policy",
    "ray/tune/info/learner/low_level_policy/learner_stats/kl",
    "ray/tune/backend/simd",
    "ray/tune/config/lr",
  ]);
  assert.equal(numeric["ray/tune/backend/simd"], 1);
  // tensorboard.ts's flattenScalars is the same rule.
  assert.deepEqual(flattenScalars(r, "ray/tune"), numeric);
});

Deno.test("jsonWithNaN writes Python's tokens; parseJsonLine reads them, not inside strings", () => {
  const v = {
    a: NaN,
    b: [Infinity, -Infinity, 1.5],
    s: 'NaN Infinity "NaN"',
    n: null,
    u: undefined,
  };
  const line = jsonWithNaN(v);
  assert.equal(
    line,
    '{"a":NaN,"b":[Infinity,-Infinity,1.5],"s":"NaN Infinity \\"NaN\\"","n":null}',
  );
  const back = parseJsonLine(line) as Record<string, unknown>;
  assert.ok(Number.isNaN(back.a));
  assert.deepEqual(back.b, [Infinity, -Infinity, 1.5]);
  assert.equal(back.s, 'NaN Infinity "NaN"');
  assert.equal(back.n, null);
  assert.deepEqual(parseJsonLine('{"x":1}'), { x: 1 });
  assert.throws(() => parseJsonLine('{"x":1'));
});

Deno.test("resumeLineFile: keeps lines up to k, drops later ones and a torn tail, atomically", async () => {
  const dir = new MemoryLogDir();
  const line = (i: number) => JSON.stringify({ training_iteration: i });
  await dir.append("r.jsonl", encode([1, 2, 3, 4].map(line).join("\n") + '\n{"training_it'));
  let replaced = 0;
  const replace = dir.replace.bind(dir);
  dir.replace = (n, d) => (replaced++, replace(n, d));
  const r = await resumeLineFile(dir, "r.jsonl", 2, jsonLineIteration);
  assert.deepEqual(r.lines, [line(1), line(2)]);
  assert.equal(r.dropped, 3);
  assert.equal(dir.text("r.jsonl"), `${line(1)}\n${line(2)}\n`);
  assert.equal(replaced, 1);
  // Nothing to drop: the file is left alone.
  const again = await resumeLineFile(dir, "r.jsonl", 2, jsonLineIteration);
  assert.equal(again.dropped, 0);
  assert.equal(replaced, 1);
  // An unreadable line in the middle ends what is kept.
  await dir.replace("b.jsonl", encode(`${line(1)}\ngarbage\n${line(2)}\n`));
  assert.deepEqual((await resumeLineFile(dir, "b.jsonl", 5, jsonLineIteration)).lines, [line(1)]);
  // A fresh start refuses a file that holds lines; an absent or empty one is fine.
  await assert.rejects(
    resumeLineFile(dir, "r.jsonl", undefined, jsonLineIteration),
    /r.jsonl already holds a log/,
  );
  assert.equal((await resumeLineFile(dir, "none", undefined, jsonLineIteration)).existed, false);
  assert.throws(
    () => assertNoLostLines("r.jsonl", 2, 3),
    /ends at iteration 2 but the run resumes from iteration 3/,
  );
  assertNoLostLines("r.jsonl", 3, 3);
});

Deno.test("MultiLogger fans out in order and closes every logger even when one fails", async () => {
  const calls: string[] = [];
  const fake = (name: string, failClose = false): Logger => ({
    name,
    start: () => (calls.push(`${name}.start`), Promise.resolve()),
    logResult: (r) => (calls.push(`${name}.result${r.training_iteration}`), Promise.resolve()),
    logEvaluation: (
      _e,
      at,
    ) => (calls.push(`${name}.eval${at.training_iteration}`), Promise.resolve()),
    close: () => {
      calls.push(`${name}.close`);
      return failClose ? Promise.reject(new Error(`${name} failed`)) : Promise.resolve();
    },
  });
  const m = new MultiLogger([fake("a", true), fake("b")]);
  await m.start();
  await m.logResult({ training_iteration: 1 });
  await m.logEvaluation({}, { training_iteration: 1, num_env_steps_sampled: 10 });
  await assert.rejects(m.close(), /a failed/);
  assert.deepEqual(calls, [
    "a.start",
    "b.start",
    "a.result1",
    "b.result1",
    "a.eval1",
    "b.eval1",
    "a.close",
    "b.close",
  ]);
});

Deno.test("createLoggersWith: every name builds its logger; unknown and repeated names are errors", () => {
  const dir = new MemoryLogDir();
  const m = createLoggersWith(LOGGER_NAMES, { dir });
  assert.deepEqual(m.loggers.map((l) => l.name), [
    "console",
    "jsonl",
    "json",
    "csv",
    "tensorboard",
  ]);
  assert.throws(
    () => createLoggersWith(["jsonl", "wandb"], { dir }),
    /unknown logger "wandb"; expected one of "console", "jsonl", "json", "csv", "tensorboard"/,
  );
  assert.throws(() => createLoggersWith(["csv", "csv"], { dir }), /"csv" is named twice/);
});
