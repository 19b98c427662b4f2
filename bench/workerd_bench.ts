/**
 * The workerd policy endpoint under load (autocannon on loopback): single-action requests
 * (`POST /act`, the low-level policy of the hierarchical windy maze) and whole episodes
 * (`GET /episode`). Prints JSON with requests/s and latency percentiles. workerd runs one
 * isolate on one thread; autocannon shares the machine's cores with it.
 *
 * ```sh
 * deno task bench:workerd
 * ```
 *
 * @module
 */

import { load, startEndpoint } from "../examples/workerd/load.ts";

const seconds = Number(Deno.args[0] ?? 10);
const ep = await startEndpoint();
try {
  const body = JSON.stringify({ policyId: "low_level_policy", obs: [[[3, 1], 2], 1] });
  await load(`${ep.url}/act`, { method: "POST", body, seconds: 2, connections: 16 }); // warm-up
  const act = await load(`${ep.url}/act`, { method: "POST", body, seconds, connections: 16 });
  const episode = await load(`${ep.url}/episode?seed=3`, { seconds, connections: 16 });
  console.log(JSON.stringify(
    {
      what: "workerd endpoint serving exported policies (no tfjs), loopback",
      how:
        `autocannon, 16 connections, ${seconds} s per endpoint after a 2 s warm-up, one workerd process; ${Deno.build.os} ${navigator.hardwareConcurrency} cores`,
      act_single_observation: act,
      episode_hierarchical_windy_maze: episode,
    },
    null,
    2,
  ));
} finally {
  await ep.stop();
}
