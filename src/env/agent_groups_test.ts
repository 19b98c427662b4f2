import assert from "node:assert/strict";
import { Discrete, MultiDiscrete, type SpaceValue, Tuple } from "../spaces.ts";
import { GROUP_INFO, GROUP_REWARDS, withAgentGroups } from "./agent_groups.ts";
import { checkEnv } from "./check_env.ts";
import type { MultiAgentEnv, StepResult } from "./multi_agent.ts";

/**
 * Three agents, `a`, `b`, `c`: each sees a bit and is paid 1 for copying it; `c` leaves after
 * one step, `a` and `b` after two; `b` logs its last action in its info.
 */
class CopyBits implements MultiAgentEnv {
  readonly possibleAgents = ["a", "b", "c"];
  #t = 0;
  #bits: Record<string, number> = {};
  #seed = 0;
  observationSpace(): Discrete {
    return new Discrete(2);
  }
  actionSpace(): Discrete {
    return new Discrete(2);
  }
  #draw(ids: string[]): Record<string, number> {
    for (const id of ids) {
      this.#seed = (this.#seed * 1103515245 + 12345) % 2147483648;
      this.#bits[id] = (this.#seed >> 16) & 1;
    }
    return Object.fromEntries(ids.map((id) => [id, this.#bits[id]!]));
  }
  reset(opts?: { seed?: number }) {
    if (opts?.seed !== undefined) this.#seed = opts.seed;
    this.#t = 0;
    return { obs: this.#draw(["a", "b", "c"]), infos: { a: { first: true } } };
  }
  step(actions: Record<string, SpaceValue>): StepResult {
    this.#t++;
    const rewards: Record<string, number> = {};
    for (const [id, x] of Object.entries(actions)) rewards[id] = x === this.#bits[id] ? 1 : 0;
    const done = this.#t >= 2;
    return {
      obs: done ? {} : this.#draw(["a", "b"]),
      rewards,
      terminateds: { __all__: done, a: done, b: done, ...(this.#t === 1 ? { c: true } : {}) },
      truncateds: { __all__: false },
      infos: { b: { last: actions.b } },
    };
  }
}

Deno.test("agent groups: Tuple observations, split actions, summed rewards, grouped infos", () => {
  const env = withAgentGroups(new CopyBits(), { team: ["a", "b"] });
  assert.deepEqual(env.possibleAgents, ["team", "c"]);
  assert.equal(env.observationSpace("team").toString(), "Tuple(Discrete(2), Discrete(2))");
  assert.equal(env.actionSpace("c").toString(), "Discrete(2)");
  const { obs, infos } = env.reset({ seed: 7 });
  assert.deepEqual(Object.keys(obs).sort(), ["c", "team"]);
  const [a, b] = obs.team as number[];
  assert.deepEqual(infos.team, { [GROUP_INFO]: [{ first: true }, {}] });
  const r = env.step({ team: [a!, 1 - b!], c: obs.c! });
  assert.equal(r.rewards.team, 1);
  assert.deepEqual(r.infos.team![GROUP_REWARDS], [1, 0]);
  assert.deepEqual(r.infos.team![GROUP_INFO], [{}, { last: 1 - b! }]);
  assert.equal(r.rewards.c, 1);
  assert.equal(r.terminateds.c, true);
  assert.equal(r.terminateds.team, false);
  const [a2, b2] = r.obs.team as number[];
  const r2 = env.step({ team: [a2!, b2!] });
  assert.equal(r2.rewards.team, 2);
  assert.equal(r2.terminateds.team, true);
  assert.equal(r2.terminateds.__all__, true);
});

Deno.test("agent groups: bad groups, a missing member and a malformed group action are refused", () => {
  assert.throws(
    () => withAgentGroups(new CopyBits(), { x: ["a"], y: ["a", "b"] }),
    /agent "a" is in two groups, "x" and "y"/,
  );
  assert.throws(
    () => withAgentGroups(new CopyBits(), { a: ["a", "b"] }),
    /agent group "a" has the id of an agent/,
  );
  assert.throws(() => withAgentGroups(new CopyBits(), { empty: [] }), /no members/);
  const env = withAgentGroups(new CopyBits(), { team: ["a", "c"] });
  const { obs } = env.reset({ seed: 1 });
  assert.throws(
    () => env.step({ team: [0], b: obs.b! }),
    /agent group "team": expected an array of 2 actions \(one per member: a, c\), got \[0\]/,
  );
  assert.throws(
    () => env.step({ team: [0, 0], b: obs.b! }),
    /agent group "team": step observed a but not c; a group acts only with all its members/,
  );
});

Deno.test("agent groups: a grouped env passes checkEnv and PPO learns it as one agent", async () => {
  const grouped = () =>
    withAgentGroups(new CopyBits(), { team: ["a", "b"] }, {
      actionSpaces: { team: new MultiDiscrete([2, 2]) },
    });
  checkEnv(grouped(), { steps: 300 });
  const { fromDictEnv } = await import("./from_dict.ts");
  const { PPOConfig } = await import("../algorithms/ppo_config.ts");
  const algo = await new PPOConfig()
    .environment(({ numEnvs, seed }) =>
      fromDictEnv(() => grouped(), numEnvs, {
        seed,
        groups: [
          {
            name: "team",
            observationSpace: new Tuple([new Discrete(2), new Discrete(2)]),
            actionSpace: new MultiDiscrete([2, 2]),
            match: (id) => id === "team",
          },
          {
            name: "solo",
            observationSpace: new Discrete(2),
            actionSpace: new Discrete(2),
            match: (id) => id === "c",
          },
        ],
      })
    )
    .envRunners({ numEnvs: 16, rolloutFragmentLength: 32 })
    .training({ lr: 3e-3, minibatchSize: 128 })
    .multiAgent({
      policies: ["team_policy", "solo_policy"],
      policyMappingFn: (id) => id === "team" ? "team_policy" : "solo_policy",
    })
    .debugging({ seed: 1 })
    .build();
  try {
    let r;
    for (let i = 0; i < 15; i++) r = await algo.train();
    // Per episode the team can earn 4 (2 steps × 2 members), `c` 1: random play earns 2.5.
    assert.ok(r!.episode_reward_mean > 4.2, `episode_reward_mean ${r!.episode_reward_mean}`);
    assert.ok(r!.policy_reward_mean.team_policy! > 3.4);
  } finally {
    algo.dispose();
  }
});
