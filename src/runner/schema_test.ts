import { RPS_MAX_ROUNDS } from "../envs/rock_paper_scissors.ts";
import assert from "node:assert/strict";
import {
  ExperimentConfigError,
  experimentJsonSchema,
  parseExperiment,
  ppoHyperparamsSchema,
} from "./schema.ts";
import { createExperimentEnv, experimentMapping } from "./experiment.ts";

const CONFIGS = new URL("../../configs/", import.meta.url);

const minimal = () => ({
  env: { name: "windy_maze" },
  algorithm: { name: "PPO" },
  trainSteps: 1000,
});

function problems(input: unknown): string[] {
  try {
    parseExperiment(input, "test.json");
  } catch (e) {
    assert.ok(e instanceof ExperimentConfigError, String(e));
    assert.match(e.message, /^test\.json: invalid experiment config/);
    return [...e.problems];
  }
  assert.fail("expected the config to be refused");
}

Deno.test("every preset in configs/ is a valid experiment", async () => {
  let n = 0;
  for await (const e of Deno.readDir(CONFIGS)) {
    if (!e.name.endsWith(".json") || e.name === "schema.json") continue;
    const text = await Deno.readTextFile(new URL(e.name, CONFIGS));
    const c = parseExperiment(JSON.parse(text), e.name);
    assert.ok(c.trainSteps > 0);
    n++;
  }
  assert.ok(n >= 4, `only ${n} presets`);
});

Deno.test("configs/schema.json is the JSON Schema generated from the zod schema", async () => {
  const committed = await Deno.readTextFile(new URL("schema.json", CONFIGS));
  assert.equal(
    committed,
    JSON.stringify(experimentJsonSchema(), null, 2) + "\n",
    "stale: run `deno task schema`",
  );
  const s = experimentJsonSchema() as {
    properties: Record<string, { additionalProperties?: { properties?: Record<string, unknown> } }>;
  };
  // Editors complete a policy's overrides with the hyperparameters.
  const cfg = s.properties.policies!.additionalProperties!.properties!.config as {
    anyOf: { properties: Record<string, unknown> }[];
  };
  const [ppo, dqn] = cfg.anyOf.map((v) => Object.keys(v.properties));
  assert.ok(ppo!.includes("clipParam") && ppo!.includes("hidden"), "PPO's and the model's");
  assert.ok(dqn!.includes("nStep") && dqn!.includes("hidden"), "DQN's and the model's");
});

Deno.test("defaults are filled in", () => {
  const c = parseExperiment(minimal(), "x");
  assert.equal(c.seed, 0);
  assert.equal(c.env.numEnvs, 64);
  assert.deepEqual(c.loggers, ["console", "jsonl", "csv"]);
  assert.deepEqual(c.saving, { frequency: 10, keep: 3, atEnd: true });
  assert.equal(c.testFrequency, 0);
});

Deno.test("bad configs are refused with the path of each field and what was expected", () => {
  assert.deepEqual(problems({ ...minimal(), trainStep: 5 }), [
    `(top level): unknown key "trainStep"`,
  ]);
  const [seed] = problems({ ...minimal(), seed: "three" });
  assert.match(seed!, /^seed: .*expected number.*; got "three"$/i);
  const { trainSteps: _, ...noSteps } = minimal();
  const [missing] = problems(noSteps);
  assert.match(missing!, /^trainSteps: .*; got nothing \(missing\)$/);
  const [env] = problems({ ...minimal(), env: { name: "mountain_car" } });
  assert.match(env!, /^env\.name: .*windy_maze.*chicken_yard.*; got "mountain_car"$/);
  const [opt] = problems({ ...minimal(), env: { name: "windy_maze", options: { wind: 1 } } });
  assert.equal(opt, `env.options: unknown key "wind"`);
  const [hp] = problems({
    ...minimal(),
    algorithm: { name: "PPO", hyperparameters: { gamma: 1.5 } },
  });
  assert.match(hp!, /^algorithm\.hyperparameters\.gamma: .*<=\s*1.*; got 1\.5$/);
  const [algo] = problems({ ...minimal(), algorithm: { name: "A3C" } });
  assert.match(algo!, /^algorithm\.name: .*PPO.*DQN.*; got "A3C"$/);
  const [dqn] = problems({
    ...minimal(),
    algorithm: { name: "DQN", hyperparameters: { clipParam: 0.2 } },
  });
  assert.equal(dqn, `algorithm.hyperparameters: unknown key "clipParam"`);
});

Deno.test("policy overrides, the mapping and policiesToTrain are checked against the policies", () => {
  const base = {
    ...minimal(),
    policies: { high: { config: { gamma: 0.9 } }, low: {} },
    mapping: { rules: [{ match: "prefix", pattern: "low_", policy: "low" }], default: "high" },
  };
  assert.doesNotThrow(() => parseExperiment(base, "x"));
  assert.deepEqual(
    problems({ ...base, policies: { ...base.policies, high: { config: { gama: 1 } } } }),
    [
      `policies.high.config: unknown key "gama"`,
    ],
  );
  const [lr] = problems({ ...base, policies: { ...base.policies, low: { config: { lr: -1 } } } });
  assert.match(lr!, /^policies\.low\.config\.lr: .*>\s*0.*; got -1$/);
  assert.deepEqual(problems({ ...base, mapping: { ...base.mapping, default: "mid" } }), [
    `mapping.default: no policy "mid"; the policies are "high", "low"`,
  ]);
  assert.deepEqual(
    problems({
      ...base,
      mapping: { rules: [{ match: "prefix", pattern: "x", policy: "lo" }] },
    }),
    [`mapping.rules[0].policy: no policy "lo"; the policies are "high", "low"`],
  );
  assert.deepEqual(problems({ ...base, policiesToTrain: ["high", "mid"] }), [
    `policiesToTrain[1]: no policy "mid"; the policies are "high", "low"`,
  ]);
  const { mapping: _, ...noMapping } = base;
  assert.deepEqual(problems(noMapping), [
    "mapping: required when there is more than one policy (high, low)",
  ]);
});

Deno.test("the mapping: first matching rule, then the default, else an error naming the agent", () => {
  const c = parseExperiment({
    ...minimal(),
    policies: { a: {}, b: {}, c: {} },
    mapping: {
      rules: [
        { match: "suffix", pattern: "_low", policy: "b" },
        { match: "regex", pattern: "^robot_\\d+_high$", policy: "a" },
        { match: "equals", pattern: "referee", policy: "c" },
      ],
    },
  }, "x");
  const map = experimentMapping(c);
  const ep = { id: 0, envIndex: 0 } as never;
  assert.equal(map("robot_1_low", ep), "b");
  assert.equal(map("robot_2_high", ep), "a");
  assert.equal(map("referee", ep), "c");
  assert.throws(
    () => map("robot_1_mid", ep),
    /policy mapping: no rule maps agent "robot_1_mid" \(rules: suffix "_low" → b; regex .*\) and mapping.default is not set/,
  );
});

Deno.test("the PPO schema agrees with the trainer's own checks on every default", async () => {
  const { DEFAULT_PPO_HYPERPARAMS } = await import("../algorithms/ppo.ts");
  assert.ok(ppoHyperparamsSchema.safeParse({ ...DEFAULT_PPO_HYPERPARAMS }).success);
});

Deno.test("Rock-Paper-Scissors' rounds come from the experiment file and reach the env", () => {
  const c = parseExperiment({
    env: { name: "rock_paper_scissors", numEnvs: 2, options: { rounds: 3 } },
    algorithm: { name: "PPO" },
    trainSteps: 1000,
  }, "test.json");
  const env = createExperimentEnv(c.env, 2, 0);
  env.reset();
  for (let t = 1; t <= 3; t++) {
    env.groups[0]!.act.fill(0);
    env.step();
    assert.deepEqual(Array.from(env.envDone), t === 3 ? [1, 1] : [0, 0]);
  }
  const p = problems({
    env: { name: "rock_paper_scissors", options: { rounds: 0 } },
    algorithm: { name: "PPO" },
    trainSteps: 1000,
  });
  assert.ok(p.some((x) => x.includes("env.options.rounds")), p.join("\n"));
  // The schema's bound is the env's own.
  const rps = (rounds: number) => ({
    env: { name: "rock_paper_scissors", options: { rounds } },
    algorithm: { name: "PPO" },
    trainSteps: 1000,
  });
  parseExperiment(rps(RPS_MAX_ROUNDS), "test.json");
  assert.ok(problems(rps(RPS_MAX_ROUNDS + 1)).some((x) => x.includes("env.options.rounds")));
});
