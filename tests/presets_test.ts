/**
 * Every preset in `configs/` trains with one command: `deno task run -c configs/<name>.json`,
 * cut to one or two iterations here (the full runs are the examples' own benchmarks).
 */

import assert from "node:assert/strict";
import { finish, ROOT, runCli } from "./_cli.ts";

const presets = [...Deno.readDirSync(`${ROOT}configs`)]
  .map((e) => e.name)
  .filter((n) => n.endsWith(".json") && n !== "schema.json")
  .sort();

Deno.test("every preset in configs/ trains with one command", async (t) => {
  assert.ok(presets.length >= 4, `presets: ${presets}`);
  const out = await Deno.makeTempDir({ prefix: "coop-presets-" });
  try {
    for (const name of presets) {
      await t.step(name, async () => {
        const proc = await finish(runCli([
          "-c",
          `configs/${name}`,
          "--out",
          out,
          "--train-steps",
          "1",
          "--test-frequency",
          "1",
          "--test-episodes",
          "2",
          "--loggers",
          '["jsonl"]',
          "--report",
          "false",
        ]));
        assert.equal(proc.code, 0, proc.out);
        const run = `${out}/${name.replace(/\.json$/, "")}`;
        const [line] = (await Deno.readTextFile(`${run}/results.jsonl`)).trim().split("\n");
        const r = JSON.parse(line!);
        assert.equal(r.training_iteration, 1);
        assert.equal(r.evaluation.num_episodes, 2);
        assert.equal(typeof r.info.learner, "object");
        assert.ok(r.num_env_steps_sampled >= 1);
      });
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
