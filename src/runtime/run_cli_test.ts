/**
 * The runner's RLHive-style config sources (`-c`, `-p`, `-a`, `-e`, `-l`): which sections each
 * replaces, which wins, and the refusals. In-process (`planFromArgs` writes nothing).
 */

import assert from "node:assert/strict";
import { CliError, planFromArgs, PRESETS } from "./run_cli.ts";

const configsDir = new URL("../../configs/", import.meta.url);

async function tmpJson(value: unknown): Promise<string> {
  const f = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(f, typeof value === "string" ? value : JSON.stringify(value));
  return f;
}

Deno.test("PRESETS lists every preset in configs/", async () => {
  const files: string[] = [];
  for await (const e of Deno.readDir(configsDir)) {
    if (e.name.endsWith(".json") && e.name !== "schema.json") files.push(e.name.slice(0, -5));
  }
  assert.deepEqual([...PRESETS].sort(), files.sort());
});

Deno.test("-p runs a preset; -a, -e and -l replace its sections; -c wins over -p", async () => {
  const preset = await planFromArgs(["-p", "tic_tac_toe"]);
  const file = JSON.parse(await Deno.readTextFile(new URL("tic_tac_toe.json", configsDir)));
  assert.equal(preset!.config.algorithm.name, file.algorithm.name);
  assert.equal(preset!.runDir, "runs/tic_tac_toe");

  const agent = await tmpJson({ name: "PPO", hyperparameters: { lr: 0.002 } });
  const env = await tmpJson({ name: "tic_tac_toe", numEnvs: 5 });
  const loggers = await tmpJson(["jsonl"]);
  const p = await planFromArgs([
    "-p",
    "tic_tac_toe.json",
    "-a",
    agent,
    "--env-config",
    env,
    "-l",
    loggers,
    "--seed",
    "9",
  ]);
  const c = p!.config;
  assert.equal(c.algorithm.name, "PPO");
  assert.equal((c.algorithm.hyperparameters as { lr?: number }).lr, 0.002);
  assert.equal(c.env.numEnvs, 5);
  assert.deepEqual(c.loggers, ["jsonl"]);
  assert.equal(c.seed, 9, "overrides apply after the sections");
  assert.equal(c.trainSteps, file.trainSteps, "the rest is the preset's");

  const own = await tmpJson({ ...file, trainSteps: 123 });
  const both = await planFromArgs(["-c", own, "-p", "connect_four"]);
  assert.equal(both!.config.trainSteps, 123);
  assert.equal(both!.config.env.name, "tic_tac_toe");
});

Deno.test("bad sources are refused with what was expected", async () => {
  await assert.rejects(planFromArgs(["-p", "chess"]), (e: Error) => {
    assert.ok(e instanceof CliError);
    assert.match(e.message, /-p chess: no such preset; expected one of windy_maze_flat, /);
    return true;
  });
  await assert.rejects(
    planFromArgs(["-a", "x.json"]),
    /expected -c <config.json>, -p <preset> or --resume/,
  );
  const notJson = await tmpJson("{ nope");
  await assert.rejects(
    planFromArgs(["-p", "tic_tac_toe", "-a", notJson]),
    /not JSON .*expected the config's "algorithm" section as JSON/,
  );
  const badAgent = await tmpJson({ name: "A3C" });
  await assert.rejects(
    planFromArgs(["-p", "tic_tac_toe", "-a", badAgent]),
    /preset tic_tac_toe with algorithm from .*algorithm/s,
  );
  await assert.rejects(
    planFromArgs(["--resume", "runs/x", "-p", "tic_tac_toe"]),
    /--resume continues a run with its own config.json: drop --preset-config/,
  );
  const arr = await tmpJson([1]);
  await assert.rejects(planFromArgs(["-c", arr]), /expected a JSON object/);
});
