/**
 * The experiment runner survives kill -9, as a user would meet it: `deno task run` is killed
 * with SIGKILL at random moments (and once inside a checkpoint write, between the temporary
 * file and its rename), `--resume` continues it each time, and the finished run equals an
 * uninterrupted one with the same seed: the same final weights bit for bit, and the same log
 * lines in `results.jsonl`, Ray Tune's `result.json` and `progress.csv` (wall-clock fields
 * aside), none duplicated, none lost.
 */

import assert from "node:assert/strict";
import { finish, runCli } from "./_cli.ts";
import { readCheckpoint } from "../src/train/checkpoint.ts";
import { FileStorage } from "@coop/rl/runtime";

const ITERATIONS = 24;

const CONFIG = {
  seed: 11,
  env: { name: "hierarchical_windy_maze", numEnvs: 8 },
  algorithm: { name: "PPO", rolloutFragmentLength: 64, hyperparameters: { minibatchSize: 64 } },
  policies: { high: { config: { gamma: 0.9 } }, low: { config: { gamma: 0 } } },
  mapping: { rules: [{ match: "prefix", pattern: "low_level_", policy: "low" }], default: "high" },
  trainSteps: ITERATIONS * 512,
  testFrequency: 4,
  testEpisodes: 2,
  saving: { frequency: 1, keep: 2, atEnd: true },
  loggers: ["jsonl", "json", "csv"],
  report: false,
};

const cli = runCli;

// Wall-clock fields, and Ray Tune's counters since the last restore (they restart there).
const CLOCK = /time|_per_s$|^timers|^date|^timestamp|^pid$|^hostname$|^node_ip$|since_restore/;

function strip(o: unknown): unknown {
  if (o === null || typeof o !== "object" || Array.isArray(o)) return o;
  return Object.fromEntries(
    Object.entries(o).filter(([k]) => !CLOCK.test(k)).map(([k, v]) => [k, strip(v)]),
  );
}

/** Every log of a run directory with wall-clock fields removed. */
async function logsOf(dir: string): Promise<Record<string, unknown>> {
  const lines = async (f: string) => (await Deno.readTextFile(`${dir}/${f}`)).trimEnd().split("\n");
  const csv = await lines("progress.csv");
  const header = csv[0]!.split(",");
  const keep = header.map((h) => !CLOCK.test(h.split("/").pop()!) && !CLOCK.test(h));
  return {
    results: (await lines("results.jsonl")).map((l) => strip(JSON.parse(l))),
    ray: (await lines("result.json")).map((l) => strip(JSON.parse(l.replace(/\bNaN\b/g, "null")))),
    csv: csv.map((row) => row.split(",").filter((_, i) => keep[i]).join(",")),
  };
}

async function finalWeights(dir: string): Promise<unknown> {
  const ck = await readCheckpoint(
    new FileStorage(dir),
    `checkpoints/checkpoint_${String(ITERATIONS).padStart(6, "0")}.ckpt`,
  ) as { policies: { id: string; weights: Float32Array | null }[] };
  return ck.policies.map((p) => [p.id, p.weights]);
}

/**
 * Waits until the run has written another log line since it started (so a kill lands in
 * training, not in start-up), or has exited.
 */
async function waitForProgress(dir: string, p: Deno.ChildProcess): Promise<void> {
  const mtime = async () =>
    (await Deno.stat(`${dir}/results.jsonl`).catch(() => null))?.mtime?.getTime() ?? 0;
  const before = await mtime();
  let exited = false;
  p.status.then(() => (exited = true));
  for (let i = 0; i < 1500 && !exited; i++) {
    if (await mtime() !== before) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!exited) throw new Error(`no progress in ${dir}`);
}

Deno.test({
  name:
    "deno task run: killed with SIGKILL at random moments and mid-save, resumed, equals a straight run",
  sanitizeResources: false,
}, async () => {
  const tmp = await Deno.makeTempDir({ prefix: "coop-kill-" });
  try {
    const configFile = `${tmp}/tiny.json`;
    await Deno.writeTextFile(configFile, JSON.stringify(CONFIG));
    const straight = await finish(
      cli(["-c", configFile, "--out", `${tmp}/a`, "--run-name", "run"]),
    );
    assert.equal(straight.code, 0, straight.out);
    const want = await logsOf(`${tmp}/a/run`);
    assert.equal((want.results as unknown[]).length, ITERATIONS);
    const wantWeights = await finalWeights(`${tmp}/a/run`);

    // Killed inside the 3rd checkpoint write, after the temporary file, before the rename.
    const dir = `${tmp}/b/run`;
    const faulty = await finish(
      cli(["-c", configFile, "--out", `${tmp}/b`, "--run-name", "run"], {
        COOP_FAULT_KILL_IN_SAVE: "3",
      }),
    );
    assert.equal(faulty.code, 137, `expected death by SIGKILL: ${faulty.out}`);
    const left = (await Array.fromAsync(Deno.readDir(`${dir}/checkpoints`))).map((e) => e.name);
    assert.ok(left.some((n) => n.includes(".tmp-")), `a torn temporary file: ${left}`);

    // Then killed at random moments, resumed each time, until a resume runs to the end.
    const moments: number[] = [];
    let killed = 0;
    for (let attempt = 0;; attempt++) {
      assert.ok(attempt < 12, `did not finish after kills at ${moments} ms`);
      const p = cli(["--resume", dir]);
      if (attempt < 3) {
        await waitForProgress(dir, p);
        const ms = Math.floor(Math.random() * 200);
        moments.push(ms);
        await new Promise((r) => setTimeout(r, ms));
        try {
          p.kill("SIGKILL");
        } catch {
          // It finished first.
        }
      }
      const r = await finish(p);
      if (r.code === 0) break;
      assert.equal(r.code, 137, `resume failed (kills at ${moments} ms): ${r.out}`);
      killed++;
    }
    assert.ok(killed >= 2, `only ${killed} of the kills at ${moments} ms landed before the end`);
    assert.deepEqual(await logsOf(dir), want, `kills at ${moments} ms`);
    assert.deepEqual(await finalWeights(dir), wantWeights, `kills at ${moments} ms`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
