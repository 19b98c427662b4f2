/**
 * The chicken yard's examples, each run as a user runs it (one command each): a short
 * `train.ts` run writes results and checkpoints, `look_at_policies.ts` prints every variable's
 * shape (10 outputs for the high level, 8 for the low), and `demo_after_training.ts` restores the
 * checkpoint and plays an episode to its end.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

async function deno(...args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(
    out.success,
    `deno ${args.join(" ")} failed:\n${stdout}\n${new TextDecoder().decode(out.stderr)}`,
  );
  return stdout;
}

Deno.test("chicken yard examples: train, look at the policies, demo after training", async (t) => {
  const run = await Deno.makeTempDir({ prefix: "coop-cy-examples-" });
  try {
    await t.step("train.ts writes results, curves and checkpoints", async () => {
      await deno(
        "run",
        "-A",
        "examples/chicken_yard/train.ts",
        "--stop-timesteps",
        "3000",
        "--num-envs",
        "8",
        "--eval-every",
        "1",
        "--eval-episodes",
        "4",
        "--quiet",
        "--out",
        run,
      );
      const lines = (await Deno.readTextFile(`${run}/results.jsonl`)).trim().split("\n");
      assert.ok(lines.length >= 1);
      const last = JSON.parse(lines.at(-1)!);
      assert.ok(last.num_env_steps_sampled >= 3000);
      assert.ok("high_level_policy" in last.policy_reward_mean || last.episodes_total === 0);
      const ckpts = [...Deno.readDirSync(`${run}/checkpoints`)].map((e) => e.name);
      assert.ok(ckpts.some((n) => n.endsWith(".ckpt")), `checkpoints: ${ckpts}`);
      assert.ok((await Deno.stat(`${run}/curves.svg`)).size > 0);
    });
    await t.step("look_at_policies.ts: 10 high-level outputs, 8 low-level", async () => {
      const out = await deno(
        "run",
        "-A",
        "examples/chicken_yard/look_at_policies.ts",
        "--run",
        run,
      );
      const [high, low] = out.split("***** low_level_policy *****");
      assert.match(high!, /pi\/out\/kernel\s+\[64, 10\]/);
      assert.match(low!, /pi\/out\/kernel\s+\[64, 8\]/);
      assert.match(high!, /observation Dict\(chicken_oceans: Box\(0, 1, \[10, 5\]\)/);
    });
    await t.step("demo_after_training.ts restores and plays an episode to its end", async () => {
      const out = await deno(
        "run",
        "-A",
        "examples/chicken_yard/demo_after_training.ts",
        "--run",
        run,
        "--every",
        "1000",
      );
      assert.match(out, /episode over after \d+ steps; returns \{"robot_1_high"/);
    });
  } finally {
    await Deno.remove(run, { recursive: true });
  }
});
