/// <reference lib="dom" />
/**
 * The chicken yard's browser view, as a user runs it: `train.ts` writes a checkpoint,
 * `serve.ts` bundles and serves the page on loopback, and Debian's Chromium (driven by
 * playwright-core) plays one episode with the trained policies and saves a screenshot.
 *
 * Skipped when `/usr/bin/chromium` is missing, unless `COOP_REQUIRE_BROWSER=1` (CI sets it and
 * installs Chromium). `COOP_SCREENSHOT_DIR` keeps the screenshot there.
 */

import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, serveOnLoopback, SKIP_BROWSER } from "./_browser.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function run(args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT }).output();
  const text = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `deno ${args.join(" ")} failed:\n${text}`);
}

/** Starts `serve.ts` and resolves with its address once it listens. */
function serve(runDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  return serveOnLoopback("examples/chicken_yard/serve.ts", ["--run", runDir, "--port", "0"]);
}

Deno.test({
  name: "the chicken yard page plays a trained checkpoint in Chromium and draws the yard",
  ignore: SKIP_BROWSER,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const tmp = await Deno.makeTempDir({ prefix: "coop-view-test-" });
  try {
    await run([
      "run",
      "-A",
      "examples/chicken_yard/train.ts",
      "--stop-timesteps",
      "2000",
      "--num-envs",
      "8",
      "--eval-every",
      "0",
      "--quiet",
      "--out",
      `${tmp}/run`,
    ]);
    const server = await serve(`${tmp}/run`);
    const context = await chromium.launchPersistentContext(`${tmp}/profile`, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      viewport: { width: 1000, height: 680 },
    });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console error: ${m.text()}`);
      });
      await page.goto(`${server.url}?autoplay&delay=0&seed=2`);
      await page.waitForFunction(
        () => {
          const v = (globalThis as { coopView?: { episodes: number; error: string | null } })
            .coopView;
          return v !== undefined && (v.episodes >= 1 || v.error !== null);
        },
        null,
        { timeout: 120_000 },
      );
      const view = await page.evaluate(() =>
        (globalThis as unknown as {
          coopView: {
            error: string | null;
            steps: number;
            episodes: number;
            returns: Record<string, number>;
          };
        }).coopView
      );
      assert.equal(view.error, null);
      assert.equal(view.episodes, 1);
      assert.ok(view.steps >= 2 && view.steps <= 2000, `steps ${view.steps}`);
      assert.deepEqual(Object.keys(view.returns).sort(), [
        "robot_1_high",
        "robot_1_low",
        "robot_2_high",
        "robot_2_low",
      ]);
      // The canvas shows the yard: ten chickens in distinct personality colours, two robots.
      const colours = await page.evaluate(() => {
        const c = document.getElementById("yard") as HTMLCanvasElement;
        const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        const seen = new Map<string, number>();
        for (let i = 0; i < d.length; i += 4) {
          const k = `${d[i]},${d[i + 1]},${d[i + 2]}`;
          seen.set(k, (seen.get(k) ?? 0) + 1);
        }
        // Colours that fill at least a chicken-sized patch.
        return [...seen.values()].filter((n) => n >= 150).length;
      });
      assert.ok(colours >= 12, `only ${colours} colours cover a chicken-sized area`);
      const status = await page.textContent("#status");
      assert.match(status ?? "", /episode over/);
      assert.match(status ?? "", /A: chicken \d/);
      assert.deepEqual(problems, []);
      const dir = Deno.env.get("COOP_SCREENSHOT_DIR") ?? tmp;
      await page.screenshot({ path: `${dir}/chicken_yard_view.png` });
      assert.ok((await Deno.stat(`${dir}/chicken_yard_view.png`)).size > 10_000);
    } finally {
      await context.close();
      await server.stop();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
