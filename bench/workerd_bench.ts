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
 * workerd runs a config on one thread, so the endpoint runs as 1 process and as one process per
 * core (`startEndpoint`'s `processes`, default `navigator.hardwareConcurrency`), all accepting
 * on one port: each process gets its own listening socket with `SO_REUSEPORT` and the kernel
 * spreads the connections (`examples/workerd/reuse_port.ts`).
 *
 * Measured on the 2-core machine, quiet (load average 1.2-1.8 before), 10 s runs, 8
 * connections, three runs: `GET /act` 3,946-4,212 requests/s with 1 process (p99 6.2-7.4 ms),
 * 6,489-7,648 with 2 (p99 2.6-5.1 ms); `POST /act` 3,712-4,563 / 5,951-6,683 (p99 2.6-4.0 ms
 * with 2). workerd spends 200-250 µs of CPU per
 * request, almost all of it in its own HTTP and isolate machinery (a worker answering a bare
 * "ok" costs it 140-150 µs; the policy and all of the worker's JavaScript are under 2% of its
 * samples in `perf`), so one process tops out near 4,000-5,700 requests/s here.
 *
 * ```sh
 * deno task bench:workerd            # 10 s per run, 8 connections, 1 and 2 processes
 * deno task bench:workerd 5 16 4     # 5 s per run, 16 connections, 1 and 4 processes
 * ```
 *
 * @module
 */

import process from "node:process";
import { load, loadKeepAlive, type LoadResult, startEndpoint } from "../examples/workerd/load.ts";

const seconds = Number(Deno.args[0] ?? 10);
const connections = Number(Deno.args[1] ?? 8);
const processes = Number(Deno.args[2] ?? navigator.hardwareConcurrency);

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

/** Measures one endpoint with `processes` workerd processes. */
async function measureEndpoint(processes: number) {
  const ep = await startEndpoint(undefined, { processes });
  try {
    const obs = JSON.stringify([[[3, 1], 2], 1]);
    const body = JSON.stringify({ policyId: "low_level_policy", obs: JSON.parse(obs) });
    const get = `${ep.url}/act?policyId=low_level_policy&obs=${encodeURIComponent(obs)}`;
    const post = `${ep.url}/act`;
    const cpuAll = async () => (await Promise.all(ep.pids.map(cpuOf))).reduce((a, b) => a + b);
    const measure = async (run: () => Promise<LoadResult>) => {
      const w0 = await cpuAll(), g0 = ownCpu();
      const r = await run();
      const w = await cpuAll() - w0, g = ownCpu() - g0;
      return {
        ...r,
        cpu_us_per_request: {
          workerd: Math.round((w * 1e6) / r.requests),
          load_generator: Math.round((g * 1e6) / r.requests),
        },
      };
    };
    // Warm-up (JIT, policies loaded in every process).
    await loadKeepAlive(get, { seconds: 2, connections });
    await loadKeepAlive(post, { method: "POST", body, seconds: 1, connections });
    return {
      act_get_keep_alive: await measure(() => loadKeepAlive(get, { seconds, connections })),
      act_post_keep_alive: await measure(() =>
        loadKeepAlive(post, { method: "POST", body, seconds, connections })
      ),
      act_get_autocannon: await measure(() => load(get, { seconds, connections })),
      episode_keep_alive: await measure(() =>
        loadKeepAlive(`${ep.url}/episode?seed=3`, { seconds, connections })
      ),
    };
  } finally {
    await ep.stop();
  }
}

const before = await loadAvg();
const results: Record<string, unknown> = {};
for (const p of new Set([1, processes])) {
  results[`workerd_processes_${p}`] = await measureEndpoint(p);
}
console.log(JSON.stringify(
  {
    what: "workerd endpoint serving exported policies (no tfjs, WASM SIMD kernel), loopback",
    how:
      `${seconds} s per run after a 3 s warm-up, ${connections} keep-alive connections, one request in flight on each (no pipelining); 1 and ${processes} workerd processes (one thread each) accepting on one port (SO_REUSEPORT); cpu_us_per_request.workerd sums the processes; ${Deno.build.os} ${navigator.hardwareConcurrency} cores; load average before ${
        before.join(" ")
      }, after ${(await loadAvg()).join(" ")}`,
    ...results,
  },
  null,
  2,
));
