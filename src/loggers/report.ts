/**
 * The run report: one self-contained HTML page with every curve of a run, drawn in the
 * browser by uPlot (the npm package `uplot`, whose script and style sheet are inlined, so the
 * page needs no network): episode reward mean/min/max, reward per policy (mean and the
 * per-episode module return), episode length, each policy's losses, KL, entropy and every other
 * learner statistic, throughput and timers, and the evaluations (reward, reward per policy, the
 * env's custom metrics). The x axis is env steps sampled.
 *
 * {@linkcode buildReport} is Web-standard: it takes the parsed logs and uPlot's text; the Deno
 * function that reads a run directory and writes `report.html` is `writeReport` in
 * `src/runtime/log_files.ts` (`deno task report <run dir>`).
 *
 * @module
 */

import { flattenResult, parseJsonLine } from "./logger.ts";

/** One evaluation with the point of training it followed. */
export interface LoggedEvaluation {
  /** The iteration it followed. */
  training_iteration: number;
  /** Env steps sampled by training up to then. */
  num_env_steps_sampled: number;
  /** The evaluation result. */
  evaluation: Record<string, unknown>;
}

/** A run's logs as the report reads them. */
export interface RunLogs {
  /** The iterations' results, in order. */
  results: Record<string, unknown>[];
  /** Evaluations logged outside `train()` (`evaluation.jsonl`). */
  evaluations: LoggedEvaluation[];
}

/** uPlot's files, inlined into the page. */
export interface ReportAssets {
  /** `uPlot.iife.min.js`. */
  script: string;
  /** `uPlot.min.css`. */
  style: string;
}

/** One line of a chart. */
export interface ChartSeries {
  /** Legend label. */
  label: string;
  /** One value per x (null: no value there). */
  values: (number | null)[];
}

/** One chart of the report. */
export interface Chart {
  /** Section it is shown in. */
  section: string;
  /** Title above it. */
  title: string;
  /** The x values (env steps sampled). */
  x: number[];
  /** The lines. */
  series: ChartSeries[];
}

/**
 * Parses the lines of `results.jsonl` (or `result.json`) and `evaluation.jsonl`; a last line
 * without its newline (a write a kill cut) and blank lines are skipped.
 *
 * @example
 * ```ts
 * import { runLogsFromText } from "./report.ts";
 * const logs = runLogsFromText('{"training_iteration":1}\n{"training_iteration":2}\n{"tra');
 * if (logs.results.length !== 2) throw new Error("parse");
 * ```
 *
 * @param results the results file's text
 * @param evaluations the evaluations file's text, if any
 * @returns the logs
 */
export function runLogsFromText(results: string, evaluations?: string): RunLogs {
  const lines = (text: string) => {
    const parts = text.split("\n");
    parts.pop(); // "" after the last newline, or a torn line
    return parts.filter((l) => l.trim() !== "").map((l) => parseJsonLine(l));
  };
  return {
    results: lines(results) as Record<string, unknown>[],
    evaluations: evaluations === undefined ? [] : lines(evaluations) as LoggedEvaluation[],
  };
}

const num = (v: unknown): number | null => typeof v === "number" && Number.isFinite(v) ? v : null;

function stepOf(r: Record<string, unknown>): number {
  return num(r.num_env_steps_sampled) ?? num(r.timesteps_total) ??
    num(r.training_iteration) ?? 0;
}

/** Keys of `obj[key]` (an object of per-policy values) over all rows, in first-seen order. */
function subKeys(rows: Record<string, unknown>[], key: string): string[] {
  const out = new Set<string>();
  for (const r of rows) {
    const v = r[key];
    if (typeof v === "object" && v !== null) { for (const k of Object.keys(v)) out.add(k); }
  }
  return [...out];
}

/**
 * The charts of a run: what {@linkcode buildReport} draws, in order. A chart with no finite
 * value is left out.
 *
 * @example
 * ```ts
 * import { reportCharts } from "./report.ts";
 * const charts = reportCharts({
 *   results: [{ training_iteration: 1, num_env_steps_sampled: 10, episode_reward_mean: 1 }],
 *   evaluations: [],
 * });
 * if (charts[0]!.title !== "Episode reward") throw new Error(charts[0]!.title);
 * ```
 *
 * @param logs the run's logs
 * @returns the charts
 */
export function reportCharts(logs: RunLogs): Chart[] {
  const rows = logs.results;
  const flat = rows.map((r) => flattenResult(r, { numericOnly: true }));
  const x = rows.map(stepOf);
  const charts: Chart[] = [];
  const col = (key: string) => flat.map((f) => num(f[key]));
  const add = (section: string, title: string, series: ChartSeries[], xs = x) => {
    const kept = series.filter((s) => s.values.some((v) => v !== null));
    if (kept.length > 0) charts.push({ section, title, x: xs, series: kept });
  };

  add("Training", "Episode reward", [
    { label: "episode_reward_mean", values: col("episode_reward_mean") },
    { label: "episode_reward_min", values: col("episode_reward_min") },
    { label: "episode_reward_max", values: col("episode_reward_max") },
  ]);
  const policies = subKeys(rows, "policy_reward_mean");
  add(
    "Training",
    "Reward per policy (policy_reward_mean: one agent's return)",
    policies.map((p) => ({ label: p, values: col(`policy_reward_mean/${p}`) })),
  );
  const modules = subKeys(rows, "module_episode_returns_mean");
  add(
    "Training",
    "Return per policy and episode (module_episode_returns_mean)",
    modules.map((p) => ({ label: p, values: col(`module_episode_returns_mean/${p}`) })),
  );
  add("Training", "Episode length", [
    { label: "episode_len_mean", values: col("episode_len_mean") },
  ]);

  // Learner statistics: losses per policy, then one chart per statistic with a line per policy.
  const learners = subKeys(rows.map((r) => (r.info ?? {}) as Record<string, unknown>), "learner");
  const stat = (p: string, s: string) => col(`info/learner/${p}/learner_stats/${s}`);
  for (const p of learners) {
    add("Learning", `Losses: ${p}`, [
      { label: "total_loss", values: stat(p, "total_loss") },
      { label: "policy_loss", values: stat(p, "policy_loss") },
      { label: "vf_loss", values: stat(p, "vf_loss") },
    ]);
  }
  const stats = new Set<string>();
  for (const f of flat) {
    for (const k of Object.keys(f)) {
      const m = /^info\/learner\/[^/]+\/learner_stats\/(.+)$/.exec(k);
      if (m) stats.add(m[1]!);
    }
  }
  const first = ["kl", "entropy"].filter((s) => stats.has(s));
  const rest = [...stats].filter((s) =>
    !["kl", "entropy", "total_loss", "policy_loss", "vf_loss"]
      .includes(s)
  );
  for (const s of [...first, ...rest]) {
    const title = s === "kl" ? "KL divergence (kl)" : s === "entropy" ? "Entropy" : s;
    add("Learning", title, learners.map((p) => ({ label: p, values: stat(p, s) })));
  }
  add(
    "Learning",
    "Rows trained per iteration",
    learners.map((p) => ({ label: p, values: col(`info/learner/${p}/num_agent_steps_trained`) })),
  );

  add("Throughput", "Env steps per second", [
    { label: "env_steps_per_s", values: col("env_steps_per_s") },
  ]);
  add("Throughput", "Seconds per iteration", [
    { label: "time_this_iter_s", values: col("time_this_iter_s") },
    { label: "sample_time_s", values: col("sample_time_s") },
    { label: "learn_time_s", values: col("learn_time_s") },
  ]);

  // Evaluations: inside results (`evaluation`) and logged on their own, by env steps.
  const evals: { x: number; e: Record<string, unknown> }[] = [];
  for (const r of rows) {
    if (typeof r.evaluation === "object" && r.evaluation !== null) {
      evals.push({ x: stepOf(r), e: r.evaluation as Record<string, unknown> });
    }
  }
  for (const e of logs.evaluations) {
    evals.push({ x: stepOf({ ...e }), e: e.evaluation });
  }
  evals.sort((a, b) => a.x - b.x);
  if (evals.length > 0) {
    const ex = evals.map((e) => e.x);
    const ef = evals.map((e) => flattenResult(e.e, { numericOnly: true }));
    const ecol = (k: string) => ef.map((f) => num(f[k]));
    const eRows = evals.map((e) => e.e);
    add("Evaluation", "Evaluation: episode reward", [
      { label: "episode_reward_mean", values: ecol("episode_reward_mean") },
      { label: "episode_reward_min", values: ecol("episode_reward_min") },
      { label: "episode_reward_max", values: ecol("episode_reward_max") },
    ], ex);
    add(
      "Evaluation",
      "Evaluation: reward per policy",
      subKeys(eRows, "policy_reward_mean").map((p) => ({
        label: p,
        values: ecol(`policy_reward_mean/${p}`),
      })),
      ex,
    );
    add("Evaluation", "Evaluation: episode length", [
      { label: "episode_len_mean", values: ecol("episode_len_mean") },
    ], ex);
    const custom = subKeys(eRows, "custom_metrics").filter((k) => k.endsWith("_mean"));
    for (const k of custom) {
      const base = k.slice(0, -"_mean".length);
      add("Evaluation", `Evaluation: ${base}`, [
        { label: `${base}_mean`, values: ecol(`custom_metrics/${base}_mean`) },
        { label: `${base}_min`, values: ecol(`custom_metrics/${base}_min`) },
        { label: `${base}_max`, values: ecol(`custom_metrics/${base}_max`) },
      ], ex);
    }
  }
  return charts;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

/** Text safe inside a `<script>` element. */
function scriptSafe(s: string): string {
  return s.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

const PALETTE = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
];

/** The page's own script: one uPlot per chart, resized with the window. */
const PAGE_SCRIPT = `
(() => {
  const data = JSON.parse(document.getElementById("coop-data").textContent);
  const palette = ${JSON.stringify(PALETTE)};
  const fmt = (v) => v == null ? "-" : Math.abs(v) >= 1000 || Number.isInteger(v)
    ? Math.round(v).toLocaleString("en-US") : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(3);
  const plots = [];
  data.charts.forEach((c, i) => {
    const el = document.getElementById("chart-" + i);
    const opts = {
      width: el.clientWidth, height: 260,
      scales: { x: { time: false } },
      axes: [{ label: "env steps" }, { size: 72 }],
      series: [{ label: "env steps", value: (u, v) => fmt(v) }].concat(c.series.map((s, j) => ({
        label: s.label, stroke: palette[j % palette.length], width: 1.5, spanGaps: true,
        value: (u, v) => fmt(v), points: { show: c.x.length < 60 },
      }))),
      legend: { live: true },
    };
    plots.push([el, new uPlot(opts, [c.x].concat(c.series.map((s) => s.values)), el)]);
  });
  window.addEventListener("resize", () => {
    for (const [el, p] of plots) p.setSize({ width: el.clientWidth, height: 260 });
  });
  document.body.dataset.charts = String(plots.length);
})();
`;

/** Options of {@linkcode buildReport}. */
export interface ReportOptions {
  /** The page's title (e.g. the run's name). */
  title?: string;
}

/**
 * The report page of a run: every chart of {@linkcode reportCharts}, uPlot inlined; the page
 * sets `data-charts` on its body to the number of charts drawn once it ran.
 *
 * @example
 * ```ts
 * import { buildReport } from "./report.ts";
 * const html = buildReport(
 *   { results: [{ training_iteration: 1, num_env_steps_sampled: 8, episode_reward_mean: 2 }], evaluations: [] },
 *   { script: "/* uPlot *\/", style: "" },
 *   { title: "demo" },
 * );
 * if (!html.includes('id="chart-0"') || html.includes('id="chart-1"')) throw new Error("report");
 * ```
 *
 * @param logs the run's logs
 * @param assets uPlot's script and style sheet
 * @param opts the title
 * @returns the HTML text
 */
export function buildReport(logs: RunLogs, assets: ReportAssets, opts: ReportOptions = {}): string {
  const charts = reportCharts(logs);
  const title = opts.title ?? "coop run";
  const last = logs.results.at(-1) ?? {};
  const fact = (label: string, v: unknown) =>
    `<div class="fact"><span>${esc(label)}</span><b>${
      esc(
        typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v ?? "-"),
      )
    }</b></div>`;
  const facts = [
    fact("iterations", last.training_iteration),
    fact("env steps", last.num_env_steps_sampled ?? last.timesteps_total),
    fact("episodes", last.episodes_total),
    fact("episode reward (last)", last.episode_reward_mean),
    fact("wall time (s)", last.time_total_s),
    fact("charts", charts.length),
  ].join("");
  const body: string[] = [];
  let section = "";
  charts.forEach((c, i) => {
    if (c.section !== section) {
      if (section !== "") body.push("</div>");
      section = c.section;
      body.push(`<h2>${esc(section)}</h2><div class="grid">`);
    }
    body.push(
      `<figure><figcaption>${
        esc(c.title)
      }</figcaption><div class="chart" id="chart-${i}"></div></figure>`,
    );
  });
  if (section !== "") body.push("</div>");
  const data = JSON.stringify({
    charts: charts.map((c) => ({ title: c.title, x: c.x, series: c.series })),
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}: coop report</title>
<style>${scriptSafe(assets.style).replace(/<\/style/gi, "<\\/style")}</style>
<style>
body { font-family: system-ui, sans-serif; margin: 16px 24px; color: #222; background: #fff; }
h1 { font-size: 20px; margin: 0 0 8px; }
h2 { font-size: 16px; margin: 20px 0 8px; border-bottom: 1px solid #ddd; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 24px; font-size: 13px; }
.fact span { color: #666; margin-right: 6px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 12px 20px; }
figure { margin: 0; min-width: 0; }
figcaption { font-size: 13px; font-weight: 600; margin-bottom: 2px; }
.chart { width: 100%; }
.uplot .legend { font-size: 11px; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<div class="facts">${facts}</div>
${charts.length === 0 ? "<p>No results to plot.</p>" : body.join("\n")}
<script type="application/json" id="coop-data">${scriptSafe(data)}</script>
<script>${scriptSafe(assets.script)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
