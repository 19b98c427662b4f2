import assert from "node:assert/strict";
import {
  ConsoleLogger,
  formatDuration,
  formatEvaluationLine,
  formatResultLine,
  type ProgressBar,
} from "./console.ts";

function result(i: number, withEval = false): { training_iteration: number } {
  return {
    episode_reward_mean: i === 1 ? NaN : i * 1.5,
    episode_reward_min: -1,
    episode_reward_max: 2 * i,
    episode_len_mean: 20.25,
    policy_reward_mean: { high_level_policy: i, low_level_policy: -i / 4 },
    training_iteration: i,
    num_env_steps_sampled: 1000 * i,
    env_steps_per_s: 500,
    time_this_iter_s: 2,
    time_total_s: 2 * i,
    ...(withEval
      ? {
        evaluation: {
          episode_reward_mean: 7,
          episode_reward_min: 1,
          episode_reward_max: 9,
          episode_len_mean: 30,
          num_episodes: 10,
          policy_reward_mean: { high_level_policy: 3 },
          custom_metrics: { reach_rate_mean: 0.5, reach_rate_min: 0 },
        },
      }
      : {}),
  } as { training_iteration: number };
}

function sink(isTerminal: boolean) {
  const s = { isTerminal, out: "", write: (t: string) => void (s.out += t) };
  return s;
}

Deno.test("formatResultLine / formatEvaluationLine: the numbers a person watches", () => {
  assert.equal(
    formatResultLine(result(2), 10000),
    "iter 2 | steps 2000/10000 | reward 3 [-1, 4] | len 20.3 | high_level_policy 2 | " +
      "low_level_policy -0.500 | 500 steps/s | 0:04",
  );
  assert.equal(
    formatResultLine(result(1)),
    "iter 1 | steps 1000 | reward - [-1, 2] | len 20.3 | high_level_policy 1 | " +
      "low_level_policy -0.250 | 500 steps/s | 0:02",
  );
  const e = (result(3, true) as unknown as { evaluation: object }).evaluation;
  assert.equal(
    formatEvaluationLine(e, { training_iteration: 3, num_env_steps_sampled: 3000 }),
    "eval after iter 3 | 10 episodes | reward 7 [1, 9] | len 30 | high_level_policy 3 | reach_rate_mean 0.500",
  );
  assert.deepEqual([59.6, 61, 3725, NaN].map(formatDuration), ["1:00", "1:01", "1:02:05", "-"]);
});

Deno.test("ConsoleLogger, not a terminal: one plain line per iteration with ETA, no escape codes", async () => {
  const s = sink(false);
  const log = new ConsoleLogger(s);
  await log.start({ totalSteps: 5000, name: "maze" });
  await log.logResult(result(1));
  await log.logResult(result(2, true));
  await log.logEvaluation({ episode_reward_mean: 1 }, {
    training_iteration: 2,
    num_env_steps_sampled: 2000,
  });
  await log.close();
  const lines = s.out.split("\n");
  assert.equal(lines.length, 6);
  assert.ok(lines[0]!.startsWith("iter 1 | steps 1000/5000 | "));
  // 2 s per 1000 steps so far: 4000 steps left after iteration 1, 3000 after iteration 2.
  assert.ok(lines[0]!.endsWith(" | ETA 0:08"), lines[0]);
  assert.ok(lines[1]!.endsWith(" | ETA 0:06"), lines[1]);
  assert.ok(lines[2]!.startsWith("eval after iter 2 | 10 episodes | reward 7 [1, 9]"));
  assert.ok(lines[3]!.startsWith("eval after iter 2 | - episodes | reward 1 "));
  assert.equal(lines[4], "done: 2 iterations, 2000 env steps, 0:04");
  assert.equal(lines[5], "");
  assert.ok(!s.out.includes("\x1b") && !s.out.includes("\r"));
});

Deno.test("ConsoleLogger, resumed: says so; ETA from the pace since the resume", async () => {
  const s = sink(false);
  const log = new ConsoleLogger(s);
  await log.start({ totalIterations: 10, resumeFromIteration: 4, name: "maze" });
  await log.logResult(result(5));
  const lines = s.out.split("\n");
  assert.equal(lines[0], "maze: resuming after iteration 4");
  assert.ok(lines[1]!.endsWith(" | ETA 0:10"), lines[1]); // 5 iterations left × 2 s
});

Deno.test("ConsoleLogger, terminal: drives the live bar; evaluation lines above it", async () => {
  const calls: string[] = [];
  const bar: ProgressBar = {
    start: (t, v, p) => void calls.push(`start ${t} ${v} ${p.line.slice(0, 6)}`),
    update: (v, p) => void calls.push(`update ${v} ${p.line.slice(0, 6)}`),
    stop: () => void calls.push("stop"),
  };
  const s = sink(true);
  const log = new ConsoleLogger(s, { bar });
  await log.start({ totalSteps: 2500 });
  await log.logResult(result(1));
  await log.logResult(result(2, true));
  await log.logResult(result(3));
  await log.close();
  assert.deepEqual(calls, [
    "start 2500 1000 iter 1",
    "update 2000 iter 2",
    "update 2500 iter 3",
    "stop",
  ]);
  assert.ok(s.out.startsWith("\r\x1b[2Keval after iter 2 | 10 episodes"));
  assert.ok(s.out.endsWith("done: 3 iterations, 3000 env steps, 0:06\n"));
});

Deno.test("ConsoleLogger, terminal without a bar: one line redrawn in place", async () => {
  const s = sink(true);
  const log = new ConsoleLogger(s);
  await log.start({ totalSteps: 4000 });
  await log.logResult(result(1));
  await log.logResult(result(2));
  await log.close();
  const frames = s.out.split("\r\x1b[2K");
  assert.equal(frames.length, 3);
  assert.ok(frames[1]!.endsWith(" 25.0% | ETA 0:06") && !frames[1]!.includes("\n"), frames[1]);
  assert.ok(frames[2]!.startsWith("iter 2 | steps 2000/4000"));
  assert.ok(frames[2]!.includes(" 50.0% | ETA 0:04\ndone: 2 iterations"), frames[2]);
});

Deno.test("ConsoleLogger, terminal: a bar with log() prints the evaluation lines above itself", async () => {
  const calls: string[] = [];
  const bar: ProgressBar = {
    start: (t, v) => void calls.push(`start ${t} ${v}`),
    update: (v) => void calls.push(`update ${v}`),
    log: (line) => void calls.push(`log ${line.slice(0, 17)}`),
    stop: () => void calls.push("stop"),
  };
  const s = sink(true);
  const log = new ConsoleLogger(s, { bar });
  await log.start({ totalIterations: 3 });
  await log.logResult(result(1));
  await log.logResult(result(2, true));
  await log.logEvaluation({ num_episodes: 3 }, {
    training_iteration: 2,
    num_env_steps_sampled: 2000,
  });
  await log.close();
  assert.deepEqual(calls, [
    "start 3 1",
    "update 2",
    "log eval after iter 2",
    "log eval after iter 2",
    "stop",
  ]);
  assert.equal(s.out, "done: 2 iterations, 2000 env steps, 0:04\n");
});
