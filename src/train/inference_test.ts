/**
 * Inference: `computeActions` runs one forward pass for a batch (a record by agent id or an
 * array), `computeSingleAction` explores by default, and a malformed observation is refused
 * with the policy, the agent, the key and the expected shape named.
 */

import assert from "node:assert/strict";
import { InferencePolicy } from "./inference.ts";
import type { BatchPolicy } from "../policy/policy.ts";
import { Pcg32 } from "../rng.ts";
import { Box, Dict, Discrete, type Space } from "../spaces.ts";
import { PPOConfig } from "../algorithms/ppo_config.ts";
import { createHierarchicalWindyMaze } from "../envs/hierarchical_windy_maze.ts";

/** Acts `argmax`-free: action = (sum of the row + explore) mod n; counts calls and rows. */
class CountingPolicy implements BatchPolicy {
  readonly obsSize: number;
  readonly actSize = 1;
  calls = 0;
  rows = 0;
  constructor(obsSize: number, readonly n: number) {
    this.obsSize = obsSize;
  }
  act(obs: Float32Array, rows: number, rng: Pcg32, explore: boolean, out: Float32Array): void {
    this.calls++;
    this.rows += rows;
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let i = 0; i < this.obsSize; i++) s += obs[r * this.obsSize + i]!;
      out[r] = (Math.round(s) + (explore ? rng.nextInt(this.n) : 0)) % this.n;
    }
  }
}

function throwsWith(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RangeError, `expected a RangeError, got ${e}`);
    for (const p of parts) {
      assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} lacks ${p}`);
    }
    return true;
  });
}

const OBS: Space = new Dict({ pos: new Box(0, 10, [2]), kind: new Discrete(3) });

Deno.test("computeActions: a record or an array in one forward pass; explore by default", () => {
  const policy = new CountingPolicy(OBS.flatSize, 4);
  const p = new InferencePolicy("walker", OBS, new Discrete(4), policy, new Pcg32(1));
  const out = p.computeActions({
    a: { pos: [1, 1], kind: 0 },
    b: { pos: [2, 0], kind: 2 },
    c: { pos: [0, 0], kind: 1 },
  }, { explore: false });
  assert.deepEqual(out, { a: 3, b: 3, c: 1 });
  assert.deepEqual([policy.calls, policy.rows], [1, 3]);
  const arr = p.computeActions([{ pos: [1, 1], kind: 0 }, { pos: [0, 0], kind: 1 }], {
    explore: false,
  });
  assert.deepEqual(arr, [3, 1]);
  assert.deepEqual([policy.calls, policy.rows], [2, 5]);
  assert.deepEqual(p.computeActions({}), {});
  assert.equal(policy.calls, 2, "no forward pass for no rows");
  assert.equal(p.computeSingleAction({ pos: [1, 1], kind: 0 }, { explore: false }), 3);
  // The default explores: the same observation gives several actions.
  const seen = new Set<unknown>();
  for (let i = 0; i < 40; i++) seen.add(p.computeSingleAction({ pos: [1, 1], kind: 0 }));
  assert.ok(seen.size > 1, "computeSingleAction did not explore by default");
});

Deno.test("computeActions: a malformed observation names the policy, the agent, the key and the expected shape", () => {
  const policy = new CountingPolicy(OBS.flatSize, 4);
  const p = new InferencePolicy("walker", OBS, new Discrete(4), policy, new Pcg32(1));
  const ok = { pos: [1, 1], kind: 0 };
  throwsWith(
    () => p.computeActions({ a: ok, b: { pos: [1, 1] } }),
    `"walker"`,
    `agent "b"`,
    `missing key "kind"`,
  );
  throwsWith(
    () => p.computeActions({ a: { ...ok, speed: 3 } }),
    `agent "a"`,
    `unexpected key "speed"`,
  );
  throwsWith(
    () => p.computeActions({ a: { pos: [1, 1, 1], kind: 0 } }),
    `key "pos"`,
    "expected 2 numbers for Box(0, 10, [2])",
  );
  throwsWith(
    () => p.computeActions([ok, { pos: [NaN, 1], kind: 0 }]),
    "observation 1",
    `key "pos"`,
    "NaN",
  );
  throwsWith(() => p.computeSingleAction({ pos: [1, 1], kind: 3 }), `key "kind"`, "[0, 2]");
  throwsWith(() => p.computeSingleAction([1, 2]), "expected an object with keys");
  // Infinite bounds admit Infinity; the policy still gets only finite numbers.
  const open = new InferencePolicy(
    "open",
    new Box(-Infinity, Infinity, [2]),
    new Discrete(2),
    new CountingPolicy(2, 2),
    new Pcg32(1),
  );
  throwsWith(() => open.computeSingleAction([0, Infinity]), `"open"`, "Infinity at flat index 1");
  assert.equal(policy.calls, 0, "a refused batch reached the policy");
  throwsWith(
    () => p.computeActions("obs" as unknown as unknown[]),
    "expected an array of observations or a record",
  );
});

Deno.test("Algorithm.computeActions: one forward pass per batch of a policy; policyId names it", async () => {
  const counting: CountingPolicy[] = [];
  const algo = await new PPOConfig()
    .environment(({ numEnvs, seed }) => createHierarchicalWindyMaze(numEnvs, { seed }))
    .envRunners({ numEnvs: 2, rolloutFragmentLength: 8 })
    .training({ hidden: [8], numEpochs: 1 })
    .multiAgent({
      policies: {
        high: {
          policyClass: {
            create: (o, a) => {
              const p = new CountingPolicy(o.flatSize, (a as Discrete).n);
              counting.push(p);
              return p;
            },
          },
        },
        low: {},
      },
      policyMappingFn: (id) => id.startsWith("low_level_") ? "low" : "high",
    })
    .build();
  try {
    await algo.train();
    const before = counting[0]!.calls;
    const acts = algo.computeActions({ e0: [[1, 1], 0], e1: [[6, 1], 3] }, {
      policyId: "high",
      explore: false,
    });
    assert.deepEqual(Object.keys(acts), ["e0", "e1"]);
    assert.equal(counting[0]!.calls, before + 1);
    const low = algo.computeActions([[[[1, 1], 0], 2], [[[1, 2], 1], 0]], { policyId: "low" });
    assert.equal(low.length, 2);
    assert.ok(low.every((a) => a === 0 || a === 1));
    throwsWith(
      () => algo.computeActions({ e0: [[1, 1], 9] }, { policyId: "high" }),
      `"high"`,
      `agent "e0"`,
      "component 1",
    );
    throwsWith(() => algo.computeActions([]), "computeActions needs opts.policyId");
  } finally {
    algo.dispose();
  }
});
