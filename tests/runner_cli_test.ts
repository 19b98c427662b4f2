/**
 * `deno task run` as a user meets it: overrides on the command line, and bad input (a file that
 * is not JSON, an unknown env or algorithm, a mapping to a missing policy, `--resume` on a
 * directory that is not a run, has no checkpoint, or a corrupt one) refused with a message that
 * names the file and the field, with nothing on disk overwritten.
 */

import assert from "node:assert/strict";
import { finish, runCli } from "./_cli.ts";

function run(...args: string[]): Promise<{ code: number; out: string }> {
  return finish(runCli(args));
}

const TINY = {
  env: { name: "windy_maze", numEnvs: 4 },
  algorithm: { name: "PPO", rolloutFragmentLength: 32, hyperparameters: { minibatchSize: 64 } },
  trainSteps: 256,
  saving: { frequency: 1, keep: null },
  loggers: ["jsonl"],
  report: false,
};

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else out[p.slice(dir.length)] = new TextDecoder().decode(await Deno.readFile(p));
    }
  };
  await walk(dir);
  return out;
}

Deno.test("deno task run: overrides, bad input, resume refusals", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "coop-cli-" });
  try {
    const file = `${tmp}/tiny.json`;
    await Deno.writeTextFile(file, JSON.stringify(TINY));

    await t.step("overrides of any field, dotted and kebab-case", async () => {
      const r = await run(
        "-c",
        file,
        "--out",
        tmp,
        "--seed",
        "3",
        "--train-steps",
        "300",
        "--run-name",
        "x",
        "--env.num-envs",
        "2",
        "--algorithm.hyperparameters.lr=0.001",
      );
      assert.equal(r.code, 0, r.out);
      const c = JSON.parse(await Deno.readTextFile(`${tmp}/x/config.json`));
      assert.equal(c.seed, 3);
      assert.equal(c.trainSteps, 300);
      assert.equal(c.env.numEnvs, 2);
      assert.equal(c.algorithm.hyperparameters.lr, 0.001);
      const lines = (await Deno.readTextFile(`${tmp}/x/results.jsonl`)).trim().split("\n");
      assert.equal(lines.length, 5, "64 env steps per iteration up to 300");
      assert.match(r.out, /5 iterations, 320 env steps \(trainSteps\)/);
    });

    const before = await snapshot(tmp);
    const refused = async (pattern: RegExp, ...args: string[]) => {
      const r = await run(...args);
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, pattern);
      assert.deepEqual(await snapshot(tmp), before, "nothing on disk changed");
    };

    await t.step("a file that is not JSON", async () => {
      await Deno.writeTextFile(`${tmp}/bad.txt`, "{ seed: 1 ");
      before["/bad.txt"] = "{ seed: 1 ";
      await refused(
        /bad\.txt: not JSON .*expected an experiment config as JSON/,
        "-c",
        `${tmp}/bad.txt`,
      );
    });
    await t.step("an unknown env, algorithm or key; a wrong type", async () => {
      await refused(
        /tiny\.json with overrides --env\.name mountain_car: invalid experiment config:\n\s+env\.name: .*windy_maze.*; got "mountain_car"/,
        "-c",
        file,
        "--out",
        tmp,
        "--env.name",
        "mountain_car",
      );
      await refused(/algorithm\.name: .*PPO.*; got "SAC"/, "-c", file, "--algorithm.name", "SAC");
      await refused(/\(top level\): unknown key "trainStep"/, "-c", file, "--train-step", "5");
      await refused(/seed: .*expected number.*; got "abc"/, "-c", file, "--seed", "abc");
    });
    await t.step("a mapping that names a missing policy", async () => {
      await refused(
        /mapping\.default: no policy "mid"; the policies are "high", "low"/,
        "-c",
        file,
        "--policies",
        '{"high":{},"low":{}}',
        "--mapping",
        '{"rules":[{"match":"prefix","pattern":"low","policy":"low"}],"default":"mid"}',
      );
    });
    await t.step("--resume on a directory that is not a run", async () => {
      await refused(/--resume .*: not a run directory \(no config\.json\)/, "--resume", tmp);
    });
    await t.step("--resume on a run without a checkpoint", async () => {
      await Deno.mkdir(`${tmp}/empty`);
      await Deno.writeTextFile(`${tmp}/empty/config.json`, JSON.stringify(TINY));
      before["/empty/config.json"] = JSON.stringify(TINY);
      await refused(/resume: no checkpoint in checkpoints\//, "--resume", `${tmp}/empty`);
    });
    await t.step("--resume on a run whose newest checkpoint is corrupt", async () => {
      const path = `${tmp}/x/checkpoints/checkpoint_000005.ckpt`;
      const bytes = await Deno.readFile(path);
      bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
      await Deno.writeFile(path, bytes);
      before["/x/checkpoints/checkpoint_000005.ckpt"] = new TextDecoder().decode(bytes);
      await refused(/checkpoint_000005\.ckpt/, "--resume", `${tmp}/x`, "--train-steps", "600");
    });
    await t.step("a fresh run into a run directory with checkpoints", async () => {
      await refused(/already holds 5 checkpoint\(s\)/, "-c", file, "--out", tmp, "--run-name", "x");
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
