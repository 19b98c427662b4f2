/**
 * The proof that checkpoints hold everything: `N` iterations in one process give bit-identical
 * weights, learner states and metrics (all but the wall-clock fields) to `N/2` iterations, a
 * save, and a restore plus `N/2` iterations in a fresh process (`deno run` subprocesses of
 * `testdata/resume_run.ts`). On the hierarchical windy maze (WASM env under the hierarchy
 * helper) and on the relay test env (rows of ended agents held across the save, a policy whose
 * spaces were inferred, periodic evaluations). A dict env cannot be snapshot: it resumes by the
 * re-seed rule, deterministically but not bit-identically.
 */

import assert from "node:assert/strict";

const SCRIPT = new URL("./testdata/resume_run.ts", import.meta.url);

interface RunOutput {
  results: Record<string, unknown>[];
  policies: Record<string, unknown>;
  saved: string | null;
  restored: { iteration: number; envRestored: boolean; changes: string[] } | null;
}

async function run(...args: string[]): Promise<RunOutput> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      SCRIPT.pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `resume_run.ts ${args.join(" ")} failed:\n${err}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function straightVsResumed(env: string, n: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: `coop_resume_${env}_` });
  try {
    const [straight, first] = await Promise.all([
      run(env, "straight", String(n)),
      run(env, "first", String(n / 2), dir),
    ]);
    assert.equal(first.saved, `checkpoints/checkpoint_${String(n / 2).padStart(6, "0")}.ckpt`);
    const second = await run(env, "second", String(n / 2), dir);
    assert.deepEqual(second.restored?.iteration, n / 2);
    assert.equal(second.restored?.envRestored, true);
    assert.deepEqual(second.restored?.changes, []);
    const resumed = [...first.results, ...second.results];
    resumed.forEach((r, i) =>
      assert.deepEqual(r, straight.results[i], `${env}: iteration ${i + 1}`)
    );
    assert.deepEqual(second.policies, straight.policies, `${env}: weights or learner states`);
    assert.ok(Object.keys(straight.policies).length >= 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("resume: hierarchical windy maze, 6 iterations = 3 + save + restore in a fresh process + 3, bit for bit", async () => {
  await straightVsResumed("maze", 6);
});

Deno.test("resume: relay env (held rows, inferred spaces, evaluations), 8 = 4 + fresh process + 4, bit for bit", async () => {
  await straightVsResumed("relay", 8);
});

Deno.test("resume: a dict env goes on by the re-seed rule: counters continue, deterministic, not bit-identical", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coop_resume_dict_" });
  try {
    const straight = await run("dict", "straight", "4");
    const first = await run("dict", "first", "2", dir);
    const [a, b] = await Promise.all([
      run("dict", "second", "2", dir),
      run("dict", "second", "2", dir),
    ]);
    assert.equal(a.restored?.envRestored, false);
    assert.deepEqual(a, b, "two restores of one checkpoint differ");
    const r3 = a.results[0]!;
    assert.equal(r3.training_iteration, 3);
    assert.equal(r3.timesteps_total, (first.results[1]!.timesteps_total as number) + 4 * 9);
    assert.ok((r3.episodes_total as number) >= (first.results[1]!.episodes_total as number));
    assert.notDeepEqual(a.policies, straight.policies);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
