/**
 * The experiment file's schema (zod): what `deno task run -c configs/<name>.json` reads. One
 * schema validates files and command-line overrides (an unknown key, a wrong type or a missing
 * field is reported with its path and what was expected), types {@linkcode ExperimentConfig},
 * and generates the JSON Schema shipped as `configs/schema.json` for editors.
 *
 * @module
 */

import { z } from "zod";
import type { PPOHyperparams } from "../algorithms/ppo.ts";
import type { DQNHyperparams } from "../algorithms/dqn.ts";
import type { ModelParams } from "../train/learner.ts";
import type { HierarchyTimeline } from "../hierarchy/hierarchy.ts";

const positive = z.number().positive();
const nonNegative = z.number().nonnegative();
const count = z.int().positive();
const unit = z.number().min(0).max(1);

/** Relational observation features (see `src/policy/features.ts`). */
const featureSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("gather"),
    index: z.string().describe("a Discrete(n) key of the Dict observation"),
    rows: z.string().describe("a Box key of shape [n, d]"),
  }).describe("the row of `rows` picked by `index`"),
  z.strictObject({
    kind: z.literal("dot"),
    rows: z.string().describe("a Box key of shape [n, d]"),
    vector: z.string().describe("a Box key of shape [d]"),
  }).describe("each row of `rows` times `vector`"),
]);

/** The model shape, every field optional (defaults: a 64×64 tanh MLP, separate actor and critic). */
export const modelParamsSchema = z.strictObject({
  hidden: z.array(count).describe("hidden layer sizes"),
  activation: z.enum(["tanh", "relu"]).describe("hidden activation"),
  vfShareLayers: z.boolean().describe("share the hidden layers between actor and critic"),
  encoderSize: z.int().nonnegative().describe("width of one encoder per Dict/Tuple component"),
  initialLogStd: z.number().describe("initial log std of a Gaussian head (Box actions)"),
  features: z.array(featureSchema).describe("relational features appended to the input"),
}).partial();

/** PPO's hyperparameters, every field optional (see `PPOHyperparams` for each one's meaning). */
export const ppoHyperparamsSchema = z.strictObject({
  lr: positive.describe("Adam learning rate"),
  lrFinal: positive.nullable().describe("learning rate reached at lrAnnealTimesteps; null: none"),
  lrAnnealTimesteps: z.int().nonnegative(),
  gamma: unit.describe("discount factor"),
  lambda: unit.describe("GAE lambda"),
  clipParam: positive,
  vfClipParam: positive.nullable(),
  vfLossCoeff: nonNegative,
  entropyCoeff: nonNegative,
  klCoeff: nonNegative,
  klTarget: positive,
  numEpochs: count,
  minibatchSize: count,
  gradClip: positive.nullable(),
  advantageNormalization: z.enum(["minibatch", "batch", "none"]),
  adamBeta1: z.number().min(0).lt(1),
  adamBeta2: z.number().min(0).lt(1),
  adamEpsilon: positive,
}).partial();

/** DQN's hyperparameters, every field optional (see `DQNHyperparams`). */
export const dqnHyperparamsSchema = z.strictObject({
  lr: positive,
  gamma: unit,
  nStep: count.describe("n of n-step returns"),
  doubleQ: z.boolean(),
  replayCapacity: count,
  learningStarts: z.int().nonnegative(),
  trainBatchSize: count,
  trainingIntensity: positive.describe("replayed rows per sampled row"),
  targetUpdateFreq: count,
  tau: z.number().gt(0).max(1).describe("1: hard target update; < 1: Polyak"),
  epsilonInitial: unit,
  epsilonFinal: unit,
  epsilonTimesteps: z.int().nonnegative(),
  huberDelta: positive,
  gradClip: positive.nullable(),
  adamBeta1: z.number().min(0).lt(1),
  adamBeta2: z.number().min(0).lt(1),
  adamEpsilon: positive,
  dueling: z.boolean().describe("dueling Q-network: V + A − mean(A) (mean over legal actions)"),
  prioritizedReplay: z.boolean().describe("prioritized experience replay (else uniform)"),
  prioritizedReplayAlpha: nonNegative.describe("priority exponent α (0: uniform)"),
  prioritizedReplayBeta: unit.describe("importance-sampling exponent β at the start"),
  prioritizedReplayBetaTimesteps: z.int().nonnegative().describe(
    "env steps over which β goes linearly to 1 (0: constant β)",
  ),
  prioritizedReplayEps: positive.describe("ε added to |TD error| for a new priority"),
  numAtoms: count.describe("atoms of distributional DQN (C51); 1: plain DQN"),
  vMin: z.number().describe("the smallest C51 atom"),
  vMax: z.number().describe("the largest C51 atom (> vMin)"),
  noisy: z.boolean().describe("noisy nets: factorised Gaussian noise on every dense layer"),
  noisySigma0: positive.describe("σ₀ of noisy layers: σ starts at σ₀ / √fan_in"),
}).partial();

// The schemas and the fluent config's types cannot drift: each must infer exactly the interface.
type Exact<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
const _ppoTypes: Exact<z.infer<typeof ppoHyperparamsSchema>, Partial<PPOHyperparams>> = true;
const _modelTypes: Exact<z.infer<typeof modelParamsSchema>, Partial<ModelParams>> = true;
const _dqnTypes: Exact<z.infer<typeof dqnHyperparamsSchema>, Partial<DQNHyperparams>> = true;
void _ppoTypes, _modelTypes, _dqnTypes;

const timeline = z.enum(["alternating", "overlapping"]);
const numAgentsSchema = count.optional().describe(
  'independent copies per env, agent ids "0", "1", ... (RLlib\'s make_multi_agent); omitted: one agent, "default_agent"',
);

/** The envs an experiment file can name, each with its own options. */
export const envSchema = z.discriminatedUnion("name", [
  z.strictObject({
    name: z.literal("windy_maze").describe("RLlib's windy maze, one flat agent"),
    numEnvs: count.default(64),
    options: z.strictObject({}).default({}),
  }),
  z.strictObject({
    name: z.literal("hierarchical_windy_maze").describe("the windy maze, high and low levels"),
    numEnvs: count.default(64),
    options: z.strictObject({
      horizon: count.optional().describe("steps of a low-level agent (default 25)"),
      timeline: timeline.optional(),
    }).default({}),
  }),
  z.strictObject({
    name: z.literal("three_level_windy_maze").describe("the windy maze, three levels"),
    numEnvs: count.default(64),
    options: z.strictObject({
      midHorizon: count.optional(),
      lowHorizon: count.optional(),
      timeline: timeline.optional(),
    }).default({}),
  }),
  z.strictObject({
    name: z.literal("connect_four").describe("Connect Four, turn-based, action masks"),
    numEnvs: count.default(64),
    options: z.strictObject({ illegalMove: z.enum(["error", "forfeit"]).optional() }).default({}),
  }),
  z.strictObject({
    name: z.literal("tic_tac_toe").describe("Tic-Tac-Toe, turn-based, action masks"),
    numEnvs: count.default(64),
    options: z.strictObject({ illegalMove: z.enum(["error", "forfeit"]).optional() }).default({}),
  }),
  z.strictObject({
    name: z.literal("rock_paper_scissors").describe(
      "repeated Rock-Paper-Scissors, 10 rounds per episode unless options.rounds",
    ),
    numEnvs: count.default(64),
    options: z.strictObject({
      // RPS_MAX_ROUNDS (schema_test checks; this module imports no env).
      rounds: z.number().int().min(1).max(255).optional().describe(
        "rounds per episode (default 10, RLlib's)",
      ),
    }).default({}),
  }),
  z.strictObject({
    name: z.literal("cartpole").describe(
      "Gymnasium's CartPole-v1; with numAgents, RLlib's MultiAgentCartPole",
    ),
    numEnvs: count.default(64),
    options: z.strictObject({ numAgents: numAgentsSchema }).default({}),
  }),
  z.strictObject({
    name: z.literal("pendulum").describe(
      "Gymnasium's Pendulum-v1 (Box action); with numAgents, RLlib's MultiAgentPendulum",
    ),
    numEnvs: count.default(64),
    options: z.strictObject({ numAgents: numAgentsSchema }).default({}),
  }),
  z.strictObject({
    name: z.literal("chicken_yard").describe("two robots, a high and a low level each"),
    numEnvs: count.default(256),
    options: z.strictObject({
      targetMode: z.enum(["target", "any"]).optional(),
      lowAction: z.enum(["discrete", "continuous"]).optional(),
    }).default({}),
  }),
]);

/** The kinds of policy an experiment can declare: learned, random, or a game's fixed opponent. */
export const POLICY_CLASSES = [
  "learned",
  "random",
  "connect_four_heuristic",
  "tic_tac_toe_minimax",
  "rps_always_same",
  "rps_beat_last",
] as const;

// Checked against the algorithm's own schema once the algorithm is known (parseExperiment).
const policyConfigSchema = z.record(z.string(), z.unknown()).default({}).describe(
  "per-policy overrides of the algorithm's hyperparameters and the model shape",
);

/** One policy of the experiment. */
export const policySchema = z.strictObject({
  policyClass: z.enum(POLICY_CLASSES).default("learned").describe(
    "`learned`: the algorithm's policy; `random`: uniform random legal actions; or a fixed " +
      "opponent of the games",
  ),
  config: policyConfigSchema,
});

/** One rule of the policy mapping: the first rule that matches an agent id picks its policy. */
export const mappingRuleSchema = z.strictObject({
  match: z.enum(["prefix", "suffix", "contains", "equals", "regex"]),
  pattern: z.string(),
  policy: z.string(),
});

/** The algorithms an experiment file can name. */
export const algorithmSchema = z.discriminatedUnion("name", [
  z.strictObject({
    name: z.literal("PPO"),
    rolloutFragmentLength: count.optional().describe(
      "step calls per env per iteration (default: 4096 rows / numEnvs)",
    ),
    hyperparameters: ppoHyperparamsSchema.extend(modelParamsSchema.shape).default({}).describe(
      "PPO's hyperparameters and the model shape, for every policy",
    ),
  }),
  z.strictObject({
    name: z.literal("DQN"),
    rolloutFragmentLength: count.optional().describe(
      "step calls per env per iteration (default: 4096 rows / numEnvs)",
    ),
    hyperparameters: dqnHyperparamsSchema.extend(modelParamsSchema.shape).default({}).describe(
      "DQN's hyperparameters and the model shape, for every policy",
    ),
  }),
]);

/** The loggers a run writes to (several at once). */
export const loggerNameSchema = z.enum(["console", "jsonl", "json", "csv", "tensorboard"]).describe(
  "console: a progress line; jsonl: results.jsonl; json: Ray Tune's result.json; csv: Ray Tune's progress.csv; tensorboard: event files",
);

/** An experiment file. */
export const experimentSchema = z.strictObject({
  $schema: z.string().optional().describe("the JSON Schema of this file (for editors)"),
  runName: z.string().regex(/^[A-Za-z0-9._-]+$/).optional().describe(
    "the run's directory name under the output directory (default: the config file's name)",
  ),
  seed: z.int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
  env: envSchema,
  algorithm: algorithmSchema,
  backend: z.enum(["wasm", "cpu"]).default("wasm"),
  envRunners: z.strictObject({
    numEnvRunners: count.default(1).describe(
      "Web Workers sampling in parallel (1: the main thread); env.numEnvs is then per runner",
    ),
    overlap: z.boolean().default(false).describe(
      "sample the next fragment with the previous weights while the learner updates",
    ),
    remoteRunners: z.array(
      z.url({
        protocol: /^https?$/,
        error: "expected an absolute http(s) URL of a runner, e.g. http://127.0.0.1:9101",
      }),
    ).min(1).optional().describe(
      "base URLs of remote env runners (HTTP runners, e.g. workerd or Cloudflare Workers serving this experiment's env and policies), one runner each, instead of Web Workers; numEnvRunners is then their number",
    ),
    remoteTimeoutMs: count.default(30_000).describe(
      "ms one request to a remote runner may take before the runner counts as lost and its fragment is re-issued to another",
    ),
    remoteRestartDelayMs: z.number().min(0).nullable().default(60_000).describe(
      "ms after a remote runner was lost before the trainer tries to restart it (null: never)",
    ),
    restartFailedEnvRunners: z.boolean().default(false).describe(
      "restart a runner whose env or policy code fails instead of failing the run (RLlib's restart_failed_env_runners)",
    ),
    maxEnvRunnerRestarts: z.number().int().min(0).default(1000).describe(
      "restarts allowed in all (RLlib's max_num_env_runner_restarts)",
    ),
  }).optional().describe("parallel sampling (RLlib's env runners; PPO only)"),
  policies: z.record(z.string().min(1), policySchema).optional().describe(
    "policies by id (default: one learned policy, `default_policy`)",
  ),
  mapping: z.strictObject({
    rules: z.array(mappingRuleSchema).default([]),
    default: z.string().optional().describe("the policy of an agent no rule matches"),
  }).optional().describe("agent id → policy (default: every agent to the only policy)"),
  policiesToTrain: z.array(z.string()).optional().describe("default: every learned policy"),
  trainSteps: count.describe("stop once this many env steps are sampled"),
  maxStepsPerEpisode: count.optional().describe(
    "truncate an episode still running after this many env steps (RLHive's max_steps_per_episode)",
  ),
  stackSize: count.default(1).describe(
    "each agent sees its own last k observations (RLHive's stack_size; 1: none)",
  ),
  stopReward: z.number().optional().describe("also stop once episode_reward_mean reaches this"),
  testFrequency: z.int().nonnegative().default(0).describe(
    "evaluate every this many iterations (0: never)",
  ),
  testEpisodes: count.default(10).describe("episodes per evaluation"),
  testExplore: z.boolean().default(false).describe("sample actions in evaluations"),
  saving: z.strictObject({
    frequency: z.int().nonnegative().default(10).describe(
      "save a checkpoint every this many iterations (0: never)",
    ),
    keep: count.nullable().default(3).describe("keep the newest this many (null: all)"),
    atEnd: z.boolean().default(true).describe("save when the run ends"),
  }).default({ frequency: 10, keep: 3, atEnd: true }),
  loggers: z.array(loggerNameSchema).default(["console", "jsonl", "csv"]),
  report: z.boolean().default(true).describe("write report.html at the end"),
});

/** The env of an experiment: its name, how many are batched, its options. */
export type ExperimentEnv =
  | { name: "windy_maze"; numEnvs: number; options: Record<string, never> }
  | {
    name: "hierarchical_windy_maze";
    numEnvs: number;
    options: { horizon?: number | undefined; timeline?: HierarchyTimeline | undefined };
  }
  | {
    name: "three_level_windy_maze";
    numEnvs: number;
    options: {
      midHorizon?: number | undefined;
      lowHorizon?: number | undefined;
      timeline?: HierarchyTimeline | undefined;
    };
  }
  | {
    name: "connect_four";
    numEnvs: number;
    options: { illegalMove?: "error" | "forfeit" | undefined };
  }
  | {
    name: "tic_tac_toe";
    numEnvs: number;
    options: { illegalMove?: "error" | "forfeit" | undefined };
  }
  | { name: "rock_paper_scissors"; numEnvs: number; options: { rounds?: number | undefined } }
  | { name: "cartpole"; numEnvs: number; options: { numAgents?: number | undefined } }
  | { name: "pendulum"; numEnvs: number; options: { numAgents?: number | undefined } }
  | {
    name: "chicken_yard";
    numEnvs: number;
    options: {
      targetMode?: "target" | "any" | undefined;
      lowAction?: "discrete" | "continuous" | undefined;
    };
  };

/** The algorithm of an experiment and its hyperparameters (shared by every policy). */
export type ExperimentAlgorithm = {
  /** The algorithm. */
  name: "PPO";
  /** Step calls per env per iteration (default: 4096 rows / numEnvs). */
  rolloutFragmentLength?: number | undefined;
  /** Hyperparameters and model shape. */
  hyperparameters: Partial<PPOHyperparams & ModelParams>;
} | {
  /** The algorithm. */
  name: "DQN";
  /** Step calls per env per iteration (default: 4096 rows / numEnvs). */
  rolloutFragmentLength?: number | undefined;
  /** Hyperparameters and model shape. */
  hyperparameters: Partial<DQNHyperparams & ModelParams>;
};

/** One policy of an experiment. */
export interface ExperimentPolicy {
  /**
   * `"learned"`: the algorithm's policy; `"random"`: uniform random (legal) actions; or a fixed
   * opponent of the games ({@linkcode POLICY_CLASSES}).
   */
  policyClass: (typeof POLICY_CLASSES)[number];
  /** Overrides of the hyperparameters and model shape (checked by {@linkcode parseExperiment}). */
  config: Record<string, unknown>;
}

/** One rule of the policy mapping. */
export interface MappingRule {
  /** How `pattern` is matched against the agent id. */
  match: "prefix" | "suffix" | "contains" | "equals" | "regex";
  /** The text (or regular expression) to match. */
  pattern: string;
  /** The policy of a matching agent. */
  policy: string;
}

/** A validated experiment, defaults filled in (what {@linkcode parseExperiment} returns). */
export interface ExperimentConfig {
  /** The JSON Schema of the file (for editors). */
  $schema?: string | undefined;
  /** The run's directory name (default: the config file's name). */
  runName?: string | undefined;
  /** Seed of the run. */
  seed: number;
  /** The env. */
  env: ExperimentEnv;
  /** The algorithm. */
  algorithm: ExperimentAlgorithm;
  /** tfjs backend. */
  backend: "wasm" | "cpu";
  /** Parallel sampling in Web Workers or remote runners. */
  envRunners?: {
    numEnvRunners: number;
    overlap: boolean;
    remoteRunners?: string[] | undefined;
    remoteTimeoutMs: number;
    remoteRestartDelayMs: number | null;
    restartFailedEnvRunners: boolean;
    maxEnvRunnerRestarts: number;
  } | undefined;
  /** Policies by id (default: one learned `default_policy`). */
  policies?: Record<string, ExperimentPolicy> | undefined;
  /** Agent id → policy by rule. */
  mapping?: { rules: MappingRule[]; default?: string | undefined } | undefined;
  /** Which policies learn (default: every learned one). */
  policiesToTrain?: string[] | undefined;
  /** Stop once this many env steps are sampled. */
  trainSteps: number;
  /** Truncate an episode still running after this many env steps (RLHive's). */
  maxStepsPerEpisode?: number | undefined;
  /** Each agent sees its own last k observations (RLHive's `stack_size`). */
  stackSize: number;
  /** Also stop once `episode_reward_mean` reaches this. */
  stopReward?: number | undefined;
  /** Evaluate every this many iterations (0: never). */
  testFrequency: number;
  /** Episodes per evaluation. */
  testEpisodes: number;
  /** Sample actions in evaluations (default greedy). */
  testExplore: boolean;
  /** The saving schedule. */
  saving: { frequency: number; keep: number | null; atEnd: boolean };
  /** The loggers. */
  loggers: ("console" | "jsonl" | "json" | "csv" | "tensorboard")[];
  /** Write `report.html` at the end. */
  report: boolean;
}

const _configType: Exact<z.output<typeof experimentSchema>, ExperimentConfig> = true;
void _configType;

/** The JSON Schema of an experiment file (draft 2020-12), for editors. */
export function experimentJsonSchema(): Record<string, unknown> {
  const params = z.toJSONSchema(
    z.union([
      ppoHyperparamsSchema.extend(modelParamsSchema.shape),
      dqnHyperparamsSchema.extend(modelParamsSchema.shape),
    ]),
    { io: "input" },
  );
  delete params.$schema;
  return z.toJSONSchema(experimentSchema, {
    io: "input",
    // Editors complete a policy's overrides with the algorithm's hyperparameters.
    override: (ctx) => {
      if (ctx.zodSchema === policyConfigSchema) {
        for (const k of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[k];
        Object.assign(ctx.jsonSchema, params, { description: policyConfigSchema.description });
      }
    },
  }) as Record<string, unknown>;
}

/** An invalid experiment: every problem with its path, what was expected and what was given. */
export class ExperimentConfigError extends Error {
  /** One line per problem: `path: message`. */
  readonly problems: readonly string[];
  /**
   * An error listing every problem.
   * @param source where the config came from (a file name, or "overrides")
   * @param problems one line per problem
   */
  constructor(source: string, problems: readonly string[]) {
    super(`${source}: invalid experiment config:\n  ${problems.join("\n  ")}`);
    this.name = "ExperimentConfigError";
    this.problems = problems;
  }
}

function pathOf(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(top level)";
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)
    .join("");
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown): string {
  const at = pathOf(issue.path);
  let given: unknown = root;
  for (const k of issue.path) {
    given = given !== null && typeof given === "object"
      ? (given as Record<PropertyKey, unknown>)[k as PropertyKey]
      : undefined;
  }
  if (issue.code === "unrecognized_keys") {
    return `${at}: unknown key${issue.keys.length > 1 ? "s" : ""} ${
      issue.keys.map((k) => `"${k}"`).join(", ")
    }`;
  }
  const got = given === undefined ? "nothing (missing)" : JSON.stringify(given);
  return `${at}: ${issue.message}; got ${got}`;
}

function problemsOf(error: z.ZodError, root: unknown, prefix: PropertyKey[] = []): string[] {
  return error.issues.map((i) => describeIssue({ ...i, path: [...prefix, ...i.path] }, root));
}

/**
 * Validates an experiment: the file's shape, then the hyperparameters (the algorithm's and each
 * policy's overrides) against the algorithm's own schema, and the policy names the mapping and
 * `policiesToTrain` use.
 *
 * @param input the parsed JSON, overrides applied
 * @param source named in the error (the file)
 * @returns the config with defaults filled in
 * @throws {ExperimentConfigError} listing every problem with its path
 */
export function parseExperiment(input: unknown, source: string): ExperimentConfig {
  const parsed = experimentSchema.safeParse(input);
  if (!parsed.success) throw new ExperimentConfigError(source, problemsOf(parsed.error, input));
  const c = parsed.data;
  const problems: string[] = [];
  const hp = (c.algorithm.name === "DQN" ? dqnHyperparamsSchema : ppoHyperparamsSchema)
    .extend(modelParamsSchema.shape);
  const check = (value: unknown, path: PropertyKey[]) => {
    const r = hp.safeParse(value);
    if (!r.success) problems.push(...problemsOf(r.error, input, path));
  };
  const policies = Object.keys(c.policies ?? { default_policy: {} });
  for (const [id, p] of Object.entries(c.policies ?? {})) {
    check(p.config, ["policies", id, "config"]);
  }
  const known = (name: string, path: string) => {
    if (!policies.includes(name)) {
      problems.push(
        `${path}: no policy "${name}"; the policies are ${
          policies.map((p) => `"${p}"`).join(", ")
        }`,
      );
    }
  };
  c.mapping?.rules.forEach((r, i) => {
    known(r.policy, `mapping.rules[${i}].policy`);
    if (r.match === "regex") {
      try {
        new RegExp(r.pattern);
      } catch (e) {
        problems.push(`mapping.rules[${i}].pattern: not a regular expression (${e})`);
      }
    }
  });
  if (c.mapping?.default !== undefined) known(c.mapping.default, "mapping.default");
  if (c.mapping === undefined && policies.length > 1) {
    problems.push(
      `mapping: required when there is more than one policy (${policies.join(", ")})`,
    );
  }
  c.policiesToTrain?.forEach((p, i) => known(p, `policiesToTrain[${i}]`));
  if (problems.length > 0) throw new ExperimentConfigError(source, problems);
  return c;
}
