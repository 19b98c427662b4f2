/**
 * The report in a real browser: a short training run of the hierarchical windy maze logs
 * through the loggers (with periodic evaluation and one logged apart), `writeReport` makes the
 * page, and headless Chromium (driven by playwright-core, no network) opens it offline: every
 * chart must be drawn (one uPlot canvas per chart), with no console error and no request
 * leaving the file. A screenshot goes to a temporary directory (its path is printed).
 * Skipped when /usr/bin/chromium is absent, unless COOP_REQUIRE_BROWSER=1.
 *
 * playwright-core reads /proc files that Deno grants only with --allow-all, which the test
 * task does not give; so the browser is driven by this file run as a program
 * (`deno run -A tests/report_browser_test.ts <page> <screenshot>`), which prints what it saw
 * as JSON.
 */

import assert from "node:assert/strict";
import { exampleConfig } from "../examples/hierarchical.ts";
import { createLoggers, writeReport } from "../src/runtime/log_files.ts";
import { reportCharts, runLogsFromText } from "../src/loggers/report.ts";

const CHROMIUM = Deno.env.get("COOP_CHROMIUM") ?? "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function chromiumPresent(): Promise<boolean> {
  try {
    return (await Deno.stat(CHROMIUM)).isFile;
  } catch {
    return false;
  }
}

/** Trains a few iterations and logs them into `dir`; returns the number of results. */
async function trainRun(dir: string): Promise<void> {
  const algo = await exampleConfig({ flat: false, seed: 0, numEnvs: 16, backend: "wasm" })
    .evaluation({ evaluationInterval: 2, evaluationDuration: 4 })
    .build();
  const log = createLoggers(["console", "jsonl", "json", "csv", "tensorboard"], dir, {
    console: { isTerminal: false, write: () => {} },
  });
  try {
    await log.start({ name: "report-test", totalIterations: 6 });
    for (let i = 0; i < 6; i++) await log.logResult(await algo.train());
    const last = await algo.evaluate({ episodes: 4 });
    await log.logEvaluation(last, { training_iteration: 6, num_env_steps_sampled: 6 * 16 * 256 });
  } finally {
    await log.close();
    algo.dispose();
  }
}

/** What the browser saw. */
interface Seen {
  /** Charts the page's script drew (its body's data-charts). */
  drawn: number;
  /** Chart containers. */
  divs: number;
  /** uPlot canvases in them. */
  canvases: number;
  /** Non-transparent pixels of each canvas. */
  inked: number[];
  /** Console errors and page errors. */
  errors: string[];
  /** Requests to anything but file: URLs. */
  requests: string[];
}

/** Opens the page in Chromium, screenshots it, and reports what it saw. */
async function drive(page: string, shot: string, profile: string): Promise<Seen> {
  const { chromium } = await import("playwright-core");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  try {
    const p = await context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    p.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    p.on("pageerror", (e) => errors.push(String(e)));
    p.on("request", (r) => {
      if (!r.url().startsWith("file:")) requests.push(r.url());
    });
    await p.goto(`file://${page}`);
    await p.waitForSelector("body[data-charts]", { timeout: 15000 });
    // Each canvas's non-transparent pixels (a string: no DOM types here).
    const inked = await p.evaluate<number[]>(`[...document.querySelectorAll(".chart canvas")]
      .map((cv) => {
        const d = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
      })`);
    const seen: Seen = {
      drawn: Number(await p.getAttribute("body", "data-charts")),
      divs: await p.locator(".chart").count(),
      canvases: await p.locator(".chart canvas").count(),
      inked,
      errors,
      requests,
    };
    await p.screenshot({ path: shot, fullPage: true });
    return seen;
  } finally {
    await context.close();
  }
}

if (import.meta.main) {
  const [page, shot, profile] = Deno.args as [string, string, string];
  console.log(JSON.stringify(await drive(page, shot, profile)));
  Deno.exit(0);
}

Deno.test({
  name: "the report opens offline in Chromium with every chart drawn by uPlot",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    if (!(await chromiumPresent())) {
      const msg = `${CHROMIUM} not found`;
      if (Deno.env.get("COOP_REQUIRE_BROWSER") === "1") throw new Error(msg);
      console.log(`skipped: ${msg} (set COOP_REQUIRE_BROWSER=1 to make this a failure)`);
      return;
    }
    const run = await Deno.makeTempDir({ prefix: "coop-report-run-" });
    const profile = await Deno.makeTempDir({ prefix: "coop-chromium-" });
    const shots = await Deno.makeTempDir({ prefix: "coop-report-shot-" });
    try {
      await trainRun(run);
      const page = await writeReport(run);
      const logs = runLogsFromText(
        await Deno.readTextFile(`${run}/results.jsonl`),
        await Deno.readTextFile(`${run}/evaluation.jsonl`),
      );
      const charts = reportCharts(logs);
      const titles = charts.map((c) => c.title);
      for (
        const t of [
          "Episode reward",
          "Reward per policy (policy_reward_mean: one agent's return)",
          "Episode length",
          "Losses: high_level_policy",
          "Losses: low_level_policy",
          "KL divergence (kl)",
          "Entropy",
          "Env steps per second",
          "Evaluation: episode reward",
        ]
      ) assert.ok(titles.includes(t), `missing chart "${t}" in ${titles.join(", ")}`);
      const evalChart = charts.find((c) => c.title === "Evaluation: episode reward")!;
      assert.equal(evalChart.x.length, 4, "3 periodic evaluations and 1 logged apart");

      const shot = `${shots}/report.png`;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL(import.meta.url).pathname, page, shot, profile],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      assert.ok(out.success, err);
      const seen = JSON.parse(new TextDecoder().decode(out.stdout)) as Seen;
      assert.equal(seen.drawn, charts.length);
      assert.equal(seen.divs, charts.length);
      assert.equal(seen.canvases, charts.length, "one uPlot canvas per chart");
      assert.ok(seen.inked.every((n) => n > 100), `blank canvases: ${seen.inked.join(", ")}`);
      assert.deepEqual(seen.errors, []);
      assert.deepEqual(seen.requests, [], "the page loads nothing from the network");
      console.log(`${charts.length} charts drawn; screenshot ${shot}`);
    } finally {
      await Deno.remove(run, { recursive: true });
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
