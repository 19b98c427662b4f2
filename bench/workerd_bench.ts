/**
 * The workerd policy endpoint under load on loopback: single-action requests (`/act`, the
 * low-level policy of the hierarchical windy maze, each request computing its action) and whole
 * episodes (`/episode`). Prints JSON with requests/s, latency percentiles and the CPU time per
 * request of workerd and of the load generator (from `/proc`), with the machine's load average:
 * workerd runs one isolate on one thread, and the load generator shares the 2 cores with it.
 *
 * Load generators: `keep_alive` is `loadKeepAlive` (examples/workerd/load.ts), a minimal
 * HTTP/1.1 client with N keep-alive connections and one request in flight on each (no
 * pipelining), as a client's connection pool sends them; `autocannon` (same connections, no
 * pipelining) is kept for comparison: its own JavaScript costs about as much CPU per request as
 * workerd, so on 2 cores it measures itself as much as the endpoint.
 *
 * Measured (2-core machine shared with other jobs' training runs, load average 4.5-9): `GET /act`
 * with the keep-alive client 5,212 / 3,798 / 5,593 requests/s (p99 3.6 / 8.3 / 3.5 ms) with the
 * measuring session given priority over the other jobs (`echo -15 > /proc/self/autogroup`, so
 * that it approximates a machine of its own); without it 4,621 requests/s (p99 6.2 ms) at load
 * 4.5 and 3,783 / 2,533 (p99 6.0 / 10.2 ms) at load 6-9. workerd spends 160-220 µs of CPU per
 * request, almost all of it in its own HTTP and isolate machinery (a worker answering a bare
 * "ok" costs it 140-150 µs; the policy and all of the worker's JavaScript are under 2% of its
 * samples in `perf`), so one workerd process (one thread) tops out near 5,000-6,000 requests/s
 * on this machine.
 *
 * ```sh
 * deno task bench:workerd            # 10 s per run, 8 connections
 * deno task bench:workerd 5 16       # 5 s per run, 16 connections
 * ```
 *
 * @module
 */

import process from "node:process";
import { load, loadKeepAlive, type LoadResult, startEndpoint } from "../examples/workerd/load.ts";

const seconds = Number(Deno.args[0] ?? 10);
const connections = Number(Deno.args[1] ?? 8);

/** CPU seconds a process has used (user + system), from `/proc/<pid>/stat`. */
async function cpuOf(pid: number): Promise<number> {
  const f = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100/s)
}

/** This process's CPU seconds. */
function ownCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const loadAvg = async () => (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3);

const ep = await startEndpoint();
try {
  const obs = JSON.stringify([[[3, 1], 2], 1]);
  const body = JSON.stringify({ policyId: "low_level_policy", obs: JSON.parse(obs) });
  const get = `${ep.url}/act?policyId=low_level_policy&obs=${encodeURIComponent(obs)}`;
  const post = `${ep.url}/act`;
  const measure = async (run: () => Promise<LoadResult>) => {
    const w0 = await cpuOf(ep.pid), g0 = ownCpu();
    const r = await run();
    const w = await cpuOf(ep.pid) - w0, g = ownCpu() - g0;
    return {
      ...r,
      cpu_us_per_request: {
        workerd: Math.round((w * 1e6) / r.requests),
        load_generator: Math.round((g * 1e6) / r.requests),
      },
    };
  };
  await loadKeepAlive(get, { seconds: 2, connections }); // warm-up (JIT, policies loaded)
  await loadKeepAlive(post, { method: "POST", body, seconds: 1, connections });
  const before = await loadAvg();
  const results = {
    act_get_keep_alive: await measure(() => loadKeepAlive(get, { seconds, connections })),
    act_post_keep_alive: await measure(() =>
      loadKeepAlive(post, { method: "POST", body, seconds, connections })
    ),
    act_get_autocannon: await measure(() => load(get, { seconds, connections })),
    act_post_autocannon: await measure(() =>
      load(post, { method: "POST", body, seconds, connections })
    ),
    episode_keep_alive: await measure(() =>
      loadKeepAlive(`${ep.url}/episode?seed=3`, { seconds, connections })
    ),
  };
  console.log(JSON.stringify(
    {
      what: "workerd endpoint serving exported policies (no tfjs, WASM SIMD kernel), loopback",
      how:
        `${seconds} s per run after a 3 s warm-up, ${connections} keep-alive connections, one request in flight on each (no pipelining); one workerd process (one thread); ${Deno.build.os} ${navigator.hardwareConcurrency} cores; load average before ${
          before.join(" ")
        }, after ${(await loadAvg()).join(" ")}`,
      ...results,
    },
    null,
    2,
  ));
} finally {
  await ep.stop();
}
