/**
 * `examples/games/train.ts`, one command per game, as a user runs it: a short run of each game
 * trains, evaluates against its fixed opponents in both seats and writes its JSON summary.
 * (The learning targets are checked by `deno task bench:games`, not here.)
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

/** A run of a few seconds, evaluated after every iteration with 20 games per opponent and seat. */
const SHORT = ["--minutes", "0.05", "--eval-every", "1", "--eval-games", "20"];

async function run(args: string[]): Promise<Record<string, unknown>> {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "examples/games/train.ts", ...args, "--json", json],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  return JSON.parse(await Deno.readTextFile(json));
}

for (
  const [game, algo] of [
    ["tic_tac_toe", "dqn"],
    ["tic_tac_toe", "ppo"],
    ["connect_four", "ppo"],
    ["rock_paper_scissors", "ppo"],
  ] as const
) {
  Deno.test(`games example: ${game} with ${algo} trains and evaluates in both seats`, async () => {
    const summary = await run([
      "--game",
      game,
      "--algo",
      algo,
      ...SHORT,
    ]);
    const text = JSON.stringify(summary);
    const words = game === "rock_paper_scissors"
      ? ["beat_last", "always_same"]
      : ["random", game === "connect_four" ? "heuristic" : "minimax", "first", "second"];
    for (const word of words) {
      assert.ok(
        text.toLowerCase().includes(word),
        `the summary names ${word}: ${text.slice(0, 400)}`,
      );
    }
  });
}

Deno.test("games example: Rock-Paper-Scissors with 15 rounds and a weighted mix of heuristics", async () => {
  const summary = await run([
    "--game",
    "rock_paper_scissors",
    "--rounds",
    "15",
    "--opponent",
    "always_same:3,beat_last:1",
    ...SHORT,
  ]);
  assert.equal(summary.rounds, 15);
  assert.equal(summary.opponent, "always_same:3,beat_last:1");
});

for (
  const [args, message] of [
    [["--features", "cnn"], /--features: expected none or board, got "cnn"/],
    [
      ["--game", "rock_paper_scissors", "--opponent", "always_same:1,rock:2"],
      /--opponent: expected always_same, beat_last, both or weights/,
    ],
    [["--game", "tic_tac_toe", "--rounds", "5"], /--rounds: only rock_paper_scissors has rounds/],
  ] as const
) {
  Deno.test(`games example: a bad flag is refused with what was expected (${args.join(" ")})`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "examples/games/train.ts", ...args],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.notEqual(out.code, 0);
    assert.match(new TextDecoder().decode(out.stderr), message);
  });
}
