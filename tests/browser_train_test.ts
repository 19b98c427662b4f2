/// <reference lib="dom" />
/**
 * The browser training page, as a user runs it: `serve.ts` bundles the page and its Web Worker
 * (the package's own code) and serves them with COOP/COEP and tfjs's WASM files; Debian's
 * Chromium (playwright-core) clicks "train", waits until the hierarchical windy maze's mean
 * reward passes 80, checks the curve and the maze were drawn, and saves a screenshot.
 *
 * A second test starts the page with `threads=2`: tfjs's threaded SIMD build in the worker; a
 * third with `runners=2`: sampling in two env runners nested in the training worker.
 *
 * Skipped when `/usr/bin/chromium` is missing, unless `COOP_REQUIRE_BROWSER=1` (CI sets it).
 * `COOP_SCREENSHOT_DIR` keeps the screenshot.
 */

import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, serveOnLoopback, SKIP_BROWSER } from "./_browser.ts";

interface TrainState {
  done: boolean;
  reached: boolean;
  steps: number;
  reward: number;
  seconds: number;
  backend: { name: string; simd: boolean } | null;
  runners: number;
  error: string | null;
}

/** Whether the page's training is over (evaluated in the page). */
const trainingOver = () => {
  const s = (globalThis as unknown as { coopTrain: TrainState }).coopTrain;
  return s.done || s.error !== null;
};

Deno.test({
  name: "the browser page trains the hierarchical windy maze to 80 in a Web Worker (Chromium)",
  ignore: SKIP_BROWSER,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const { url, stop } = await serveOnLoopback("examples/browser_train/serve.ts", ["--port", "0"]);
  const profile = await Deno.makeTempDir({ prefix: "coop-train-page-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    viewport: { width: 1000, height: 520 },
  });
  try {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });
    await page.goto(url);
    assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true, "COOP/COEP");
    await page.click("#train");
    await page.waitForFunction(trainingOver, null, { timeout: 240_000 });
    const s = await page.evaluate(() =>
      (globalThis as unknown as { coopTrain: TrainState }).coopTrain
    );
    assert.equal(s.error, null);
    assert.equal(s.reached, true, `stopped at ${s.steps} steps with reward ${s.reward}`);
    assert.ok(s.reward >= 80);
    assert.deepEqual(s.backend?.name, "wasm");
    console.log(
      `browser page: reward ${s.reward.toFixed(1)} after ${s.steps} env steps in ${
        s.seconds.toFixed(1)
      } s (${JSON.stringify(s.backend)})`,
    );
    const status = await page.textContent("#status");
    assert.match(status ?? "", /reached 80 after \d+ env steps/);
    assert.deepEqual(problems, []);
    const dir = Deno.env.get("COOP_SCREENSHOT_DIR") ?? profile;
    await page.screenshot({ path: `${dir}/browser_train.png` });
  } finally {
    await context.close();
    await stop();
    await Deno.remove(profile, { recursive: true });
  }
});

/**
 * Opens the page with `?autostart&<query>` in a fresh headless Chromium and waits until training
 * ends.
 * @returns the page's final state, its errors and the path of every worker it started
 */
async function trainOnPage(
  query: string,
  timeout: number,
): Promise<{ s: TrainState; problems: string[]; workers: string[] }> {
  const { url, stop } = await serveOnLoopback("examples/browser_train/serve.ts", ["--port", "0"]);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    const workers: string[] = [];
    page.on("worker", (w) => workers.push(new URL(w.url()).pathname));
    await page.goto(`${url}?autostart&${query}`);
    await page.waitForFunction(trainingOver, null, { timeout });
    const s = await page.evaluate(() =>
      (globalThis as unknown as { coopTrain: TrainState }).coopTrain
    );
    return { s, problems, workers };
  } finally {
    await browser.close();
    await stop();
  }
}

Deno.test({
  name: "the page runs tfjs's threaded WASM (threads=2) in its Web Worker (Chromium)",
  ignore: SKIP_BROWSER,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  // The threaded build's pthreads are Web Workers nested in the page's worker; SharedArrayBuffer
  // needs the page's COOP/COEP. One iteration is enough to see it run; it is not the page's
  // default (see examples/browser_train/main.ts for the measurement).
  const { s, problems, workers } = await trainOnPage("threads=2&maxSteps=4096", 120_000);
  assert.equal(s.error, null);
  assert.equal(s.steps, 4096);
  assert.deepEqual(s.backend, { name: "wasm", simd: true, threads: 2 });
  assert.ok(workers.length >= 2, `${workers.length} workers: the page's and tfjs's pthreads`);
  assert.deepEqual(problems, []);
});

Deno.test({
  name:
    "the page samples in 2 env runners (nested Web Workers, runnerWorker) and reaches 80 (Chromium)",
  ignore: SKIP_BROWSER,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const { s, problems, workers } = await trainOnPage("runners=2&maxSteps=200000", 240_000);
  assert.equal(s.error, null);
  assert.ok(s.reached, `mean reward ${s.reward} after ${s.steps} env steps`);
  assert.equal(s.runners, 2);
  assert.deepEqual(
    workers.filter((w) => w === "/runner_worker.js").length,
    2,
    `workers: ${workers.join(", ")}`,
  );
  assert.deepEqual(problems, []);
});
