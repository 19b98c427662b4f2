/**
 * Measures the browser training page in headless Chromium: seconds until the hierarchical
 * windy maze's mean reward reaches 80, for each tfjs WASM thread count and env runner count, in
 * interleaved runs (`threads=1`, `threads=2`, `threads=1`, ...) so that a busy machine slows all
 * alike. Prints one line per run and JSON with the medians. Used to choose the page's default
 * (`DEFAULT_THREADS` in `main.ts`).
 *
 * ```sh
 * deno run -A bench/browser_train_bench.ts --runs 3 --threads 1,2
 * deno run -A bench/browser_train_bench.ts --runs 3 --threads 1 --runners 1,2
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, serveOnLoopback } from "../tests/_browser.ts";

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    threads: { type: "string", default: "1,2" },
    runners: { type: "string", default: "1" },
    seed: { type: "string", default: "0" },
  },
});
const runs = Number(v.runs), counts = v.threads.split(",").map(Number);
const runnerCounts = v.runners.split(",").map(Number);
const combos = counts.flatMap((threads) => runnerCounts.map((runners) => ({ threads, runners })));

/** What the page reports at the end of a run. */
interface Done {
  reached: boolean;
  steps: number;
  seconds: number;
  error: string | null;
  backend: unknown;
}

const { url, stop } = await serveOnLoopback("examples/browser_train/serve.ts", ["--port", "0"]);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
const results: Record<string, number[]> = {};
try {
  for (let r = 0; r < runs; r++) {
    for (const { threads, runners } of combos) {
      const key = `threads_${threads}_runners_${runners}`;
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${url}?autostart&seed=${v.seed}&threads=${threads}&runners=${runners}`);
      await page.waitForFunction(
        () => {
          const s = (globalThis as unknown as { coopTrain: Done & { done: boolean } }).coopTrain;
          return s.done || s.error !== null;
        },
        null,
        { timeout: 600_000 },
      );
      const s = await page.evaluate(() => (globalThis as unknown as { coopTrain: Done }).coopTrain);
      await page.close();
      const load = (await Deno.readTextFile("/proc/loadavg")).split(" ")[0];
      console.log(
        `threads ${threads}, runners ${runners}: ${
          s.error ?? (s.reached ? `80 reached in ${s.seconds.toFixed(1)} s` : "not reached")
        } (${s.steps} env steps, backend ${JSON.stringify(s.backend)}, load ${load})` +
          (errors.length > 0 ? ` page errors: ${errors.join("; ")}` : ""),
      );
      if (s.error === null && s.reached) (results[key] ??= []).push(s.seconds);
    }
  }
} finally {
  await browser.close();
  await stop();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(JSON.stringify(
  Object.fromEntries(
    Object.entries(results).map(([key, xs]) => [
      key,
      { seconds_to_80: xs.map((x) => +x.toFixed(1)), median: +median(xs)!.toFixed(1) },
    ]),
  ),
));
