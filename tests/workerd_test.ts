/**
 * The policy endpoint in a real workerd (npm `workerd`, loopback, no outbound network): the
 * exported policies and the env's WASM come in as modules and bindings; `/act` answers the same
 * actions as the exported policy in Deno, `/episode` plays the same episode, bad input gets a 400
 * naming the problem, and a short bounded load run completes without errors.
 */

import assert from "node:assert/strict";
import { createHierarchicalWindyMaze, DictEnv, Pcg32, type SpaceValue } from "@coop/rl/envs";
import { ExportedPolicy } from "@coop/rl/policy";
import { load, startEndpoint } from "../examples/workerd/load.ts";

async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; json: { action?: unknown; error?: string } }> {
  const r = await fetch(url, { method: "POST", body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

Deno.test({
  name: "workerd serves exported policies: /act, /episode, bad input, bounded load",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const ep = await startEndpoint();
  try {
    const local = {
      high_level_policy: ExportedPolicy.fromJSON(ep.policies.high_level_policy!),
      low_level_policy: ExportedPolicy.fromJSON(ep.policies.low_level_policy!),
    };
    const rng = new Pcg32(3);
    for (const [id, p] of Object.entries(local)) {
      for (let i = 0; i < 25; i++) {
        const obs = p.observationSpace.sample(rng);
        const plain = JSON.parse(
          JSON.stringify(obs, (_, v) => v instanceof Float32Array ? [...v] : v),
        );
        const r = await post(`${ep.url}/act`, { policyId: id, obs: plain });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        assert.deepEqual(r.json.action, p.computeSingleAction(plain, { explore: false }));
      }
    }
    // The same greedy episode in Deno.
    const seed = 7;
    const env = new DictEnv(createHierarchicalWindyMaze(1, { seed }));
    let { obs } = env.reset({ seed });
    let ret = 0, steps = 0;
    for (;;) {
      const actions: Record<string, SpaceValue> = {};
      for (const [id, o] of Object.entries(obs)) {
        const p = id.startsWith("low_level_") ? local.low_level_policy : local.high_level_policy;
        actions[id] = p.computeSingleAction(o, { explore: false });
      }
      const r = env.step(actions);
      steps++;
      for (const x of Object.values(r.rewards)) ret += x;
      if (r.terminateds.__all__ || r.truncateds.__all__) break;
      obs = r.obs;
    }
    const e = await (await fetch(`${ep.url}/episode?seed=${seed}`)).json();
    assert.equal(e.steps, steps);
    assert.equal(e.return, ret);
    assert.ok(e.path.length >= 1 && e.path[0].length === 2);

    const bad = await post(`${ep.url}/act`, { policyId: "mid_level_policy", obs: [] });
    assert.equal(bad.status, 400);
    assert.match(
      bad.json.error ?? "",
      /unknown policyId "mid_level_policy"; expected one of high_level_policy, low_level_policy/,
    );
    const malformed = await post(`${ep.url}/act`, {
      policyId: "low_level_policy",
      obs: [[3, 1], 7],
    });
    assert.equal(malformed.status, 400);
    assert.match(malformed.json.error ?? "", /"low_level_policy": the observation is not in Tuple/);
    const seedBad = await fetch(`${ep.url}/episode?seed=-1`);
    assert.equal(seedBad.status, 400);
    await seedBad.body?.cancel();

    const body = JSON.stringify({ policyId: "low_level_policy", obs: [[[3, 1], 2], 1] });
    const r = await load(`${ep.url}/act`, { method: "POST", body, seconds: 1, connections: 4 });
    assert.ok(r.requests > 50, `only ${r.requests} requests`);
    assert.equal(r.errors, 0);
    assert.equal(r.non2xx, 0);
  } finally {
    await ep.stop();
  }
});
