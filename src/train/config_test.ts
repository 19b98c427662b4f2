/**
 * Tests of the config builders (the shared `AlgorithmConfig`, through `PPOConfig`): the fluent
 * builder, per-policy params, the multi-agent part, and validation errors that name the field
 * path, the value and what was expected. No backend is started here: every bad config is
 * refused before the env or any model is built.
 */

import assert from "node:assert/strict";
import { AlgorithmConfig } from "./config.ts";
import {
  type AlgorithmSettings,
  DEFAULT_POLICY_ID,
  policyParams,
  validateSettings,
} from "./settings.ts";
import { PPOConfig } from "../algorithms/ppo_config.ts";
import {
  PPO,
  PPO_TRAINING_DEFAULTS as DEFAULT_TRAINING,
  type PPOHyperparams,
} from "../algorithms/ppo.ts";
import { createWindyMaze } from "../envs/windy_maze.ts";
import { Discrete } from "../spaces.ts";

const HIGH = "high_level_policy", LOW = "low_level_policy";

/** A valid two-policy config; `edit` breaks it. */
function base(edit: (c: PPOConfig) => unknown = () => {}): PPOConfig {
  const c = new PPOConfig()
    .environment(({ numEnvs, seed }) => createWindyMaze(numEnvs, { seed }))
    .multiAgent({
      policies: { [HIGH]: { config: { gamma: 0.9 } }, [LOW]: { config: { gamma: 0 } } },
      policyMappingFn: (id) => id.startsWith("low_level_") ? LOW : HIGH,
    });
  edit(c);
  return c;
}

/** Asserts validation throws a RangeError whose message contains every part, in order. */
function refused(c: PPOConfig, ...parts: string[]): string {
  let message = "";
  assert.throws(() => c.validate(), (e: unknown) => {
    assert.ok(e instanceof RangeError, `expected a RangeError, got ${e}`);
    message = e.message;
    return true;
  });
  let from = 0;
  for (const p of parts) {
    const at = message.indexOf(p, from);
    assert.ok(at >= 0, `message ${JSON.stringify(message)} lacks ${JSON.stringify(p)} (in order)`);
    from = at + p.length;
  }
  return message;
}

Deno.test("config: the builder sets every section and a valid config passes", () => {
  const env = ({ numEnvs }: { numEnvs: number }) => createWindyMaze(numEnvs);
  const c = new PPOConfig()
    .environment(env, { size: 3 })
    .envRunners({ numEnvs: 8, rolloutFragmentLength: 16 })
    .training({ lr: 1e-3, hidden: [32] })
    .resources({ backend: "cpu" })
    .debugging({ seed: 7 })
    .validate();
  const cfg: AlgorithmSettings<PPOHyperparams> = c.config;
  assert.equal(cfg.env, env);
  assert.deepEqual(cfg.envConfig, { size: 3 });
  assert.equal(cfg.numEnvs, 8);
  assert.equal(cfg.rolloutFragmentLength, 16);
  assert.equal(cfg.training.lr, 1e-3);
  assert.deepEqual(cfg.training.hidden, [32]);
  assert.equal(cfg.training.gamma, DEFAULT_TRAINING.gamma, "untouched params keep defaults");
  assert.deepEqual(cfg.backend, { backend: "cpu", threads: 1 });
  assert.equal(cfg.seed, 7);
  // Single-agent default: one policy for every agent.
  assert.deepEqual(Object.keys(cfg.multiAgent.policies), [DEFAULT_POLICY_ID]);
  assert.equal(
    cfg.multiAgent.policyMappingFn("anyone", { episodeId: 0, envIndex: 0 }),
    "default_policy",
  );
  // The builder does not share the defaults between configs.
  assert.deepEqual(new PPOConfig().config.training.hidden, DEFAULT_TRAINING.hidden);
  assert.equal(new PPOConfig().config.training.lr, DEFAULT_TRAINING.lr);
});

Deno.test("config: per-policy overrides apply on top of the shared training params", () => {
  const c = base((c) =>
    c.training({ lr: 1e-3, entropyCoeff: 0.01 }).multiAgent({
      policies: {
        [HIGH]: { config: { gamma: 0.9, lambda: 0.5, hidden: [8, 8] } },
        [LOW]: { config: { gamma: 0, lr: 6e-3, entropyCoeff: 0 } },
      },
      policyMappingFn: () => HIGH,
      policiesToTrain: (id) => id === LOW,
    })
  ).validate();
  const hi = policyParams(c.config, HIGH), lo = policyParams(c.config, LOW);
  assert.deepEqual([hi.gamma, hi.lambda, hi.lr, hi.entropyCoeff], [0.9, 0.5, 1e-3, 0.01]);
  assert.deepEqual(hi.hidden, [8, 8]);
  assert.deepEqual([lo.gamma, lo.lambda, lo.lr, lo.entropyCoeff], [
    0,
    DEFAULT_TRAINING.lambda,
    6e-3,
    0,
  ]);
  assert.deepEqual(lo.hidden, DEFAULT_TRAINING.hidden);
});

Deno.test("config: a bad shared training param names training, the param, the value and the bound", () => {
  refused(base((c) => c.training({ lr: -0.001 })), "training", `"lr"`, "> 0", "-0.001");
  refused(base((c) => c.training({ lr: 0 })), "training", `"lr"`, "> 0", "got 0");
  refused(base((c) => c.training({ gamma: 1.5 })), "training", `"gamma"`, "[0, 1]", "1.5");
  refused(base((c) => c.training({ lambda: -1 })), "training", `"lambda"`, "[0, 1]", "-1");
  refused(
    base((c) => c.training({ minibatchSize: 0 })),
    "training",
    `"minibatchSize"`,
    ">= 1",
    "0",
  );
  refused(base((c) => c.training({ numEpochs: 2.5 })), "training", `"numEpochs"`, "integer", "2.5");
  refused(base((c) => c.training({ lr: NaN })), "training", `"lr"`, "NaN");
  refused(base((c) => c.training({ hidden: [] })), "training.hidden", "non-empty");
  refused(
    base((c) => c.training({ hidden: [64, 0] })),
    "training.hidden[1]",
    "positive integer",
    "0",
  );
  refused(
    base((c) => c.training({ activation: "gelu" as "tanh" })),
    "training.activation",
    `"tanh" or "relu"`,
    `"gelu"`,
  );
});

Deno.test("config: a bad per-policy override names multiAgent.policies.<id>.config", () => {
  const policy = (config: Record<string, unknown>) =>
    base((c) =>
      c.multiAgent({
        policies: { [HIGH]: {}, [LOW]: { config } },
        policyMappingFn: () => HIGH,
      })
    );
  const where = `multiAgent.policies.${LOW}.config`;
  refused(policy({ lr: -1 }), where, `"lr"`, "> 0", "-1");
  refused(policy({ gamma: 2 }), where, `"gamma"`, "[0, 1]", "2");
  refused(policy({ minibatchSize: 0 }), where, `"minibatchSize"`, ">= 1", "0");
  refused(policy({ hidden: [16, -4] }), `${where}.hidden[1]`, "positive integer", "-4");
  // A misspelt name: the message lists the valid ones, model params included.
  const m = refused(policy({ gama: 0.9 }), where, `"gama"`, "expected one of");
  for (const name of ["gamma", "lambda", "lr", "entropyCoeff", "hidden", "activation"]) {
    assert.ok(m.includes(name), `the valid names in ${JSON.stringify(m)} lack ${name}`);
  }
  const m2 = refused(policy({ hiddenSizes: [8] }), where, `"hiddenSizes"`);
  assert.ok(m2.includes("hidden,") || m2.includes("hidden "), `"hidden" not offered in ${m2}`);
  // The same for the shared params.
  refused(base((c) => c.training({ gama: 0.9 } as Record<string, unknown>)), "training", `"gama"`);
});

Deno.test("config: policies, policyClass and policiesToTrain", () => {
  const ma = (p: Record<string, unknown>) =>
    base((c) =>
      c.multiAgent(
        {
          policies: { [HIGH]: {}, [LOW]: {} },
          policyMappingFn: () => HIGH,
          ...p,
        } as Parameters<PPOConfig["multiAgent"]>[0],
      )
    );
  refused(
    ma({ policiesToTrain: [HIGH, "low_policy"] }),
    "multiAgent.policiesToTrain",
    `"low_policy"`,
    `"${HIGH}"`,
    `"${LOW}"`,
  );
  refused(
    ma({ policies: { [HIGH]: {}, [LOW]: { policyClass: "random" } }, policiesToTrain: [LOW] }),
    "multiAgent.policiesToTrain",
    `"${LOW}"`,
    "policyClass",
    "cannot learn",
  );
  refused(
    ma({
      policies: { [HIGH]: {}, [LOW]: { policyClass: () => 1 } },
      policiesToTrain: [HIGH, LOW],
    }),
    "multiAgent.policiesToTrain",
    `"${LOW}"`,
  );
  refused(ma({ policiesToTrain: "all" }), "multiAgent.policiesToTrain", "list", "predicate");
  refused(ma({ policies: {} }), "multiAgent.policies", "at least one");
  refused(
    ma({ policies: { [HIGH]: { policyClass: "PPO" } } }),
    `multiAgent.policies.${HIGH}.policyClass`,
    "omitted (the PPO learning policy)",
    `"PPO"`,
  );
  assert.throws(
    () => ma({ policies: [HIGH, 3] }),
    /multiAgent.policies: a list or set of policy ids must hold strings, got 3/,
  );
  refused(ma({ policyMappingFn: HIGH }), "multiAgent.policyMappingFn", "function");
  // Accepted: a list of ppo policies, an empty list, a predicate, fixed policies not listed.
  ma({ policiesToTrain: [LOW] }).validate();
  ma({ policiesToTrain: [] }).validate();
  ma({ policiesToTrain: (id: string) => id === HIGH }).validate();
  ma({
    policies: {
      [HIGH]: { observationSpace: new Discrete(3), actionSpace: new Discrete(2) },
      [LOW]: { policyClass: "random" },
      scripted: { policyClass: () => 0 },
    },
    policiesToTrain: [HIGH],
  }).validate();
});

Deno.test("config: env runners, seed, backend", () => {
  refused(new PPOConfig(), "environment", "function", "undefined");
  refused(base((c) => c.envRunners({ numEnvs: 0 })), "numEnvs", "positive integer", "0");
  refused(base((c) => c.envRunners({ numEnvs: 1.5 })), "numEnvs", "positive integer", "1.5");
  refused(
    base((c) => c.envRunners({ rolloutFragmentLength: -3 })),
    "rolloutFragmentLength",
    "positive integer",
    "-3",
  );
  refused(base((c) => c.debugging({ seed: -1 })), "seed", "non-negative", "-1");
  refused(base((c) => c.debugging({ seed: 0.5 })), "seed", "0.5");
  refused(
    base((c) => c.resources({ backend: "webgpu" as "wasm" })),
    "backend",
    `"wasm" or "cpu"`,
    `"webgpu"`,
  );
  refused(base((c) => c.resources({ threads: 0 })), "threads", "positive integer", "0");
});

Deno.test("config: build() refuses a bad config before creating the env", async () => {
  let created = 0;
  const c = new PPOConfig()
    .environment(({ numEnvs }) => (created++, createWindyMaze(numEnvs)))
    .training({ lr: -1 });
  await assert.rejects(
    c.build(),
    (e: unknown) => e instanceof RangeError && /"lr"/.test(e.message),
  );
  assert.equal(created, 0);
  // validateSettings is the same check, for settings built by hand.
  assert.throws(() => validateSettings(c.config), RangeError);
});

Deno.test("config: an override set to undefined keeps the shared value", () => {
  const opts: { lr?: number; hidden?: number[] } = {};
  const c = base((c) =>
    c.training({ lr: 1e-3 }).training({ lr: opts.lr, hidden: opts.hidden }).multiAgent({
      policies: { [HIGH]: { config: { lr: opts.lr, hidden: opts.hidden, gamma: 0.9 } } },
      policyMappingFn: () => HIGH,
    })
  ).validate();
  assert.equal(c.config.training.lr, 1e-3);
  assert.deepEqual(c.config.training.hidden, DEFAULT_TRAINING.hidden);
  const hi = policyParams(c.config, HIGH);
  assert.equal(hi.lr, 1e-3);
  assert.deepEqual(hi.hidden, DEFAULT_TRAINING.hidden);
  assert.equal(hi.gamma, 0.9);
});

Deno.test("config: policies as a list or a set of ids, as RLlib allows", () => {
  for (const policies of [[HIGH, LOW], new Set([HIGH, LOW])]) {
    const c = base((c) => c.multiAgent({ policies, policyMappingFn: () => HIGH })).validate();
    assert.deepEqual(c.config.multiAgent.policies, { [HIGH]: {}, [LOW]: {} });
  }
});

Deno.test("config: the multi-agent part is the algorithm's, not PPO's: AlgorithmConfig takes any family", () => {
  const c = new AlgorithmConfig(PPO)
    .environment(({ numEnvs }) => createWindyMaze(numEnvs))
    .multiAgent({ policies: ["a"], policyMappingFn: () => "a" })
    .validate();
  assert.equal(c.config.family, PPO);
  assert.ok(new PPOConfig() instanceof AlgorithmConfig);
});
