/**
 * The policy endpoint in a real workerd (npm `workerd`, loopback, no outbound network): the
 * exported policies and the env's WASM come in as modules and bindings; `/act` answers the same
 * actions as the exported policy in Deno (as `POST` and as `GET` with the observation in the
 * query), `/episode` plays the same episode, bad input gets a 400 naming the problem, and short
 * bounded load runs (autocannon and the keep-alive client) complete without errors.
 */

import assert from "node:assert/strict";
import { createHierarchicalWindyMaze, DictEnv, Pcg32, type SpaceValue } from "@coop/rl/envs";
import { ExportedPolicy } from "@coop/rl/policy";
import { load, loadKeepAlive, startEndpoint } from "../examples/workerd/load.ts";

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
    // The policies run the WebAssembly SIMD kernel, bound precompiled.
    const info = await (await fetch(`${ep.url}/`)).json();
    assert.deepEqual(info, { policies: { high_level_policy: "wasm", low_level_policy: "wasm" } });
    const rng = new Pcg32(3);
    for (const [id, p] of Object.entries(local)) {
      for (let i = 0; i < 25; i++) {
        const obs = p.observationSpace.sample(rng);
        const plain = JSON.parse(
          JSON.stringify(obs, (_, v) => v instanceof Float32Array ? [...v] : v),
        );
        const r = await post(`${ep.url}/act`, { policyId: id, obs: plain });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        const want = p.computeSingleAction(plain, { explore: false });
        assert.deepEqual(r.json.action, want);
        const g = await fetch(
          `${ep.url}/act?policyId=${id}&obs=${encodeURIComponent(JSON.stringify(plain))}`,
        );
        assert.equal(g.status, 200);
        assert.deepEqual((await g.json()).action, want);
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
    const getBad = await fetch(`${ep.url}/act?policyId=low_level_policy&obs=[[3,1]`);
    assert.equal(getBad.status, 400);
    assert.match((await getBad.json()).error, /JSON/);
    const getMissing = await fetch(`${ep.url}/act?policyId=low_level_policy`);
    assert.equal(getMissing.status, 400);
    assert.match((await getMissing.json()).error, /GET \/act needs \?policyId=ID&obs=/);
    const seedBad = await fetch(`${ep.url}/episode?seed=-1`);
    assert.equal(seedBad.status, 400);
    await seedBad.body?.cancel();

    const body = JSON.stringify({ policyId: "low_level_policy", obs: [[[3, 1], 2], 1] });
    const r = await load(`${ep.url}/act`, { method: "POST", body, seconds: 1, connections: 4 });
    assert.ok(r.requests > 50, `only ${r.requests} requests`);
    assert.equal(r.errors, 0);
    assert.equal(r.non2xx, 0);
    const q = encodeURIComponent("[[[3,1],2],1]");
    for (
      const k of [
        await loadKeepAlive(`${ep.url}/act?policyId=low_level_policy&obs=${q}`, {
          seconds: 1,
          connections: 4,
        }),
        await loadKeepAlive(`${ep.url}/act`, {
          method: "POST",
          body,
          seconds: 1,
          connections: 4,
        }),
      ]
    ) {
      assert.ok(k.requests > 50, `only ${k.requests} requests`);
      assert.equal(k.errors, 0);
      assert.equal(k.non2xx, 0);
      assert.ok(k.latencyMs.p50 <= k.latencyMs.p99 && k.latencyMs.p99 <= k.latencyMs.max);
    }
    // The keep-alive client counts what is not 2xx.
    const notFound = await loadKeepAlive(`${ep.url}/nowhere`, { seconds: 0.3, connections: 1 });
    assert.equal(notFound.non2xx, notFound.requests);
  } finally {
    await ep.stop();
  }
});

/** One `GET` on a fresh connection (`Connection: close`), with a timeout; its status line. */
async function getOnce(url: string, timeoutMs = 3000): Promise<string> {
  const u = new URL(url);
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`,
      ),
    );
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0]!;
  } catch (e) {
    return `failed: ${e}`;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timeout */ }
  }
}

/** CPU seconds a process has used, from `/proc/<pid>/stat`. */
async function cpuOf(pid: number): Promise<number> {
  const f = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

Deno.test({
  name: "two workerd processes on one port share the connections, and one dying loses nothing",
  sanitizeResources: false,
  sanitizeOps: false,
  ignore: Deno.build.os !== "linux",
}, async () => {
  const ep = await startEndpoint(undefined, { processes: 2 });
  try {
    assert.equal(ep.pids.length, 2);
    assert.notEqual(ep.pids[0], ep.pids[1]);
    const q = encodeURIComponent("[[[3,1],2],1]");
    const act = `${ep.url}/act?policyId=low_level_policy&obs=${q}`;
    const before = await Promise.all(ep.pids.map(cpuOf));
    const r = await loadKeepAlive(act, { seconds: 1.5, connections: 16 });
    assert.equal(r.errors, 0);
    assert.equal(r.non2xx, 0);
    const after = await Promise.all(ep.pids.map(cpuOf));
    // Both processes served (16 connections spread by the kernel's hash).
    for (let i = 0; i < 2; i++) {
      assert.ok(after[i]! - before[i]! >= 0.05, `process ${i} used ${after[i]! - before[i]!} s`);
    }
    // One process dies: its socket goes with it, so every new connection reaches the other.
    Deno.kill(ep.pids[0]!, "SIGKILL");
    await new Promise((res) => setTimeout(res, 200));
    const statuses = await Promise.all(Array.from({ length: 24 }, () => getOnce(act)));
    assert.deepEqual(statuses, statuses.map(() => "HTTP/1.1 200 OK"));
  } finally {
    await ep.stop();
  }
});
