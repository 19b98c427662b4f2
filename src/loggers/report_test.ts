import assert from "node:assert/strict";
import { buildReport, reportCharts, runLogsFromText } from "./report.ts";
import { jsonWithNaN } from "./logger.ts";

function result(i: number, withEval = false): Record<string, unknown> {
  return {
    episode_reward_mean: i === 1 ? NaN : i * 1.5,
    episode_reward_min: -1,
    episode_reward_max: 2 * i,
    episode_len_mean: 20,
    policy_reward_mean: { high: i, low: -i / 4 },
    module_episode_returns_mean: { high: i, low: -i },
    training_iteration: i,
    num_env_steps_sampled: 100 * i,
    env_steps_per_s: 1000,
    time_this_iter_s: 0.1,
    sample_time_s: 0.05,
    learn_time_s: 0.05,
    info: {
      learner: {
        high: {
          learner_stats: {
            total_loss: 1,
            policy_loss: 0.5,
            vf_loss: 2,
            kl: 0.01,
            entropy: 1.2,
            cur_lr: 3e-4,
          },
          num_agent_steps_trained: 10,
        },
        low: {
          learner_stats: {
            total_loss: 2,
            policy_loss: 0.1,
            vf_loss: 3,
            kl: 0.02,
            entropy: 0.7,
            cur_lr: 3e-4,
          },
          num_agent_steps_trained: 90,
        },
      },
    },
    ...(withEval
      ? {
        evaluation: {
          episode_reward_mean: 5,
          episode_reward_min: 1,
          episode_reward_max: 9,
          episode_len_mean: 30,
          policy_reward_mean: { high: 2, low: 1 },
          custom_metrics: { reach_rate_mean: 0.5, reach_rate_min: 0, reach_rate_max: 1 },
        },
      }
      : {}),
  };
}

Deno.test("reportCharts: every curve of a run, x = env steps, per policy, evaluations merged", () => {
  const text = [1, 2, 3, 4].map((i) => JSON.stringify(result(i, i % 2 === 0))).join("\n") + "\n";
  const evals = JSON.stringify({
    training_iteration: 3,
    num_env_steps_sampled: 300,
    evaluation: { episode_reward_mean: 4, custom_metrics: { reach_rate_mean: 0.25 } },
  }) + "\n";
  const charts = reportCharts(runLogsFromText(text, evals));
  assert.deepEqual(charts.map((c) => `${c.section}: ${c.title}`), [
    "Training: Episode reward",
    "Training: Reward per policy (policy_reward_mean: one agent's return)",
    "Training: Return per policy and episode (module_episode_returns_mean)",
    "Training: Episode length",
    "Learning: Losses: high",
    "Learning: Losses: low",
    "Learning: KL divergence (kl)",
    "Learning: Entropy",
    "Learning: cur_lr",
    "Learning: Rows trained per iteration",
    "Throughput: Env steps per second",
    "Throughput: Seconds per iteration",
    "Evaluation: Evaluation: episode reward",
    "Evaluation: Evaluation: reward per policy",
    "Evaluation: Evaluation: episode length",
    "Evaluation: Evaluation: reach_rate",
  ]);
  const reward = charts[0]!;
  assert.deepEqual(reward.x, [100, 200, 300, 400]);
  assert.deepEqual(reward.series[0]!.values, [null, 3, 4.5, 6], "NaN (null in JSON) is a gap");
  assert.deepEqual(charts[1]!.series.map((s) => s.label), ["high", "low"]);
  const kl = charts.find((c) => c.title.startsWith("KL"))!;
  assert.deepEqual(kl.series.map((s) => [s.label, s.values[0]]), [["high", 0.01], ["low", 0.02]]);
  const ev = charts.find((c) => c.title === "Evaluation: episode reward")!;
  assert.deepEqual(ev.x, [200, 300, 400]);
  assert.deepEqual(ev.series[0]!.values, [5, 4, 5]);
  const reach = charts.at(-1)!;
  assert.deepEqual(reach.series[0]!.values, [0.5, 0.25, 0.5]);
});

Deno.test("runLogsFromText reads result.json's NaN tokens and skips a torn last line", () => {
  const text = jsonWithNaN(result(1)) + "\n" + jsonWithNaN(result(2)) + "\n" + '{"episode_rew';
  const logs = runLogsFromText(text);
  assert.equal(logs.results.length, 2);
  assert.ok(Number.isNaN(logs.results[0]!.episode_reward_mean));
  assert.deepEqual(runLogsFromText("").results, []);
});

Deno.test("buildReport: one self-contained page, uPlot inlined, data safe inside <script>", () => {
  const logs = runLogsFromText(JSON.stringify({ ...result(1), note: "</script><b>" }) + "\n");
  const html = buildReport(logs, { script: "window.uPlot = function () {};", style: ".u{}" }, {
    title: "a <b> run",
  });
  assert.ok(html.startsWith("<!doctype html>"));
  assert.ok(html.includes("<title>a &lt;b&gt; run: coop report</title>"));
  assert.ok(html.includes("<script>window.uPlot = function () {};</script>"));
  assert.ok(
    !/<script[^>]+src=|<link[^>]+href=|https?:\/\//.test(html),
    "nothing loaded from elsewhere",
  );
  assert.equal(html.match(/<\/script>/g)!.length, 3, "the data cannot close its script element");
  const charts = reportCharts(logs).length;
  assert.equal(html.match(/class="chart"/g)!.length, charts);
  assert.ok(
    buildReport({ results: [], evaluations: [] }, { script: "", style: "" }).includes(
      "No results to plot.",
    ),
  );
});
