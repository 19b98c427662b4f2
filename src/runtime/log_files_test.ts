/**
 * The loggers on disk. Run as a program (`COOP_LOG_CHILD=<dir> deno run -A log_files_test.ts`)
 * this file is the child of the kill -9 test: it logs iterations with every file logger into
 * the directory, saving a "checkpoint" (the iteration, atomically) every 3 iterations after
 * logging that iteration, as a runner does.
 */

import assert from "node:assert/strict";
import { cliProgressBar, createLoggers, FileLogDir, writeReport } from "./log_files.ts";
import { writeFileAtomic } from "./files.ts";
import { parseCsvLine } from "../loggers/ray.ts";

const ITERATIONS = 120;

/** A deterministic RLlib-shaped result. */
function result(i: number): { training_iteration: number } {
  return {
    episode_reward_mean: i < 3 ? NaN : Math.sin(i) * 10,
    policy_reward_mean: { high_level_policy: i / 7, low_level_policy: -i / 9 },
    training_iteration: i,
    num_env_steps_sampled: 256 * i,
    time_this_iter_s: 0.25,
    time_total_s: 0.25 * i,
    info: { learner: { low_level_policy: { learner_stats: { kl: 1 / i, entropy: 2 - i / 100 } } } },
    ...(i % 10 === 0 ? { evaluation: { episode_reward_mean: i, num_episodes: 4 } } : {}),
  } as { training_iteration: number };
}

async function child(dir: string): Promise<void> {
  let k: number | undefined;
  try {
    k = Number(await Deno.readTextFile(`${dir}/ckpt`));
  } catch {
    k = (await new FileLogDir(dir).list()).length > 0 ? 0 : undefined;
  }
  const log = createLoggers(["jsonl", "json", "csv", "tensorboard"], dir, {
    console: { isTerminal: false, write: () => {} },
    now: () => 1700000000000,
  });
  await log.start({ name: "kill", resumeFromIteration: k });
  console.log("ready");
  for (let i = (k ?? 0) + 1; i <= ITERATIONS; i++) {
    await log.logResult(result(i));
    if (i % 3 === 0) await writeFileAtomic(`${dir}/ckpt`, String(i));
  }
  await log.close();
}

if (import.meta.main && Deno.env.get("COOP_LOG_CHILD")) {
  await child(Deno.env.get("COOP_LOG_CHILD")!);
}

/** Starts the child on `dir`; kills it with SIGKILL after `killAfterMs` (or lets it finish). */
async function runChild(dir: string, killAfterMs?: number): Promise<boolean> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname],
    env: { COOP_LOG_CHILD: dir },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = proc.stdout.getReader();
  let out = "";
  while (!out.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  let killed = false;
  if (killAfterMs !== undefined) {
    await new Promise((r) => setTimeout(r, killAfterMs));
    try {
      proc.kill("SIGKILL");
      killed = true;
    } catch {
      // It had finished.
    }
  }
  reader.releaseLock();
  const [status, err] = await Promise.all([
    proc.status,
    new Response(proc.stderr).text(),
    proc.stdout.cancel(),
  ]);
  if (!killed || status.signal !== "SIGKILL") {
    assert.equal(status.code, 0, err);
    return false;
  }
  return true;
}

Deno.test({
  name:
    "kill -9 at random moments, resume from the last checkpoint: the logs equal an uninterrupted run's",
  sanitizeResources: false,
  fn: async () => {
    const whole = await Deno.makeTempDir({ prefix: "coop-log-whole-" });
    const cut = await Deno.makeTempDir({ prefix: "coop-log-cut-" });
    try {
      await runChild(whole);
      let kills = 0;
      for (const ms of [5, 40, 90, 15, 60]) if (await runChild(cut, ms)) kills++;
      await runChild(cut);
      assert.ok(kills >= 2, `the child was killed ${kills} times`);
      const files = (await new FileLogDir(whole).list()).filter((f) => f !== "ckpt");
      assert.deepEqual(files, (await new FileLogDir(cut).list()).filter((f) => f !== "ckpt"));
      assert.equal(files.length, 4);
      for (const f of files) {
        const a = await Deno.readFile(`${whole}/${f}`), b = await Deno.readFile(`${cut}/${f}`);
        if (f === "result.json" || f === "progress.csv") {
          // Tune's time_since_restore / iterations_since_restore restart with each process.
          const t = (x: Uint8Array) => new TextDecoder().decode(x);
          const jsonRows = (s: string) =>
            s.replace(/"time_since_restore":[^,]+,"iterations_since_restore":\d+/g, "");
          if (f === "result.json") {
            assert.equal(jsonRows(t(b)), jsonRows(t(a)));
            assert.equal(t(a).split("\n").length, ITERATIONS + 1);
          } else {
            const head = parseCsvLine(t(a).split("\r\n")[0]!);
            const skip = ["time_since_restore", "iterations_since_restore"].map((c) =>
              head.indexOf(c)
            );
            const rows = (s: string) =>
              s.split("\r\n").map((l) => parseCsvLine(l).filter((_c, j) => !skip.includes(j)));
            assert.deepEqual(rows(t(b)), rows(t(a)));
            assert.equal(t(a).split("\r\n").length, ITERATIONS + 2);
          }
        } else assert.deepEqual(b, a, `${f} differs`);
      }
      const lines = (await Deno.readTextFile(`${cut}/results.jsonl`)).trim().split("\n");
      assert.deepEqual(
        lines.map((l) => JSON.parse(l).training_iteration),
        Array.from({ length: ITERATIONS }, (_, i) => i + 1),
      );
      // The report reads the resumed run.
      const html = await Deno.readTextFile(await writeReport(cut));
      assert.ok(html.includes("uPlot") && html.includes("Reward per policy"));
    } finally {
      await Deno.remove(whole, { recursive: true });
      await Deno.remove(cut, { recursive: true });
    }
  },
});

Deno.test("FileLogDir: appends, atomic replace, listing, plain names only, reopen after close", async () => {
  const root = await Deno.makeTempDir({ prefix: "coop-logdir-" });
  try {
    const dir = new FileLogDir(`${root}/run/`);
    assert.deepEqual(await dir.list(), []);
    assert.equal(await dir.read("a.txt"), undefined);
    const enc = (s: string) => new TextEncoder().encode(s);
    await dir.append("a.txt", enc("1\n"));
    await dir.append("a.txt", enc("2\n"));
    assert.equal(await Deno.readTextFile(`${root}/run/a.txt`), "1\n2\n");
    await dir.replace("a.txt", enc("x\n"));
    await dir.append("a.txt", enc("3\n"));
    assert.equal(await Deno.readTextFile(`${root}/run/a.txt`), "x\n3\n");
    await Deno.writeTextFile(`${root}/run/b.txt.tmp-1-2`, "partial");
    assert.deepEqual(await dir.list(), ["a.txt"]);
    await dir.close();
    await dir.append("a.txt", enc("4\n"));
    await dir.close();
    assert.equal(await Deno.readTextFile(`${root}/run/a.txt`), "x\n3\n4\n");
    await assert.rejects(dir.append("../x", enc("")), /plain file name/);
    await assert.rejects(dir.read("a/b"), /plain file name/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cliProgressBar: cli-progress draws the bar, percentage, ETA and the line on a TTY stream", async () => {
  let out = "";
  const stream = { isTTY: true, columns: 160, write: (t: string) => void (out += t) };
  const bar = cliProgressBar(stream);
  bar.start(1000, 100, { line: "iter 1 | reward 3" });
  await new Promise((r) => setTimeout(r, 250));
  bar.update(600, { line: "iter 6 | reward 9" });
  bar.log!("eval after iter 6");
  await new Promise((r) => setTimeout(r, 250));
  bar.log!("eval at the end");
  bar.stop();
  assert.ok(out.includes("10% | ETA "), JSON.stringify(out));
  assert.ok(out.includes("60% | ETA ") && out.includes("iter 6 | reward 9"), JSON.stringify(out));
  assert.ok(out.includes("\u2588") && out.includes("\u2591"), "shades_classic bar characters");
  // Lines logged above the bar come out whole, the last one too; the bar is redrawn after.
  const above = out.indexOf("eval after iter 6\n"), end = out.indexOf("eval at the end\n");
  assert.ok(above > 0 && end > above, JSON.stringify(out));
  assert.ok(out.lastIndexOf("60% | ETA ") > end, "final bar below the lines");
  assert.ok(out.endsWith("\n"));
  // Not a terminal: cli-progress writes nothing (the console logger prints plain lines instead).
  let quiet = "";
  const plain = cliProgressBar({ isTTY: false, write: (t: string) => void (quiet += t) });
  plain.start(10, 1, { line: "x" });
  plain.stop();
  assert.equal(quiet, "");
});
