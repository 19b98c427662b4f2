/**
 * Starts the policy endpoint in workerd on a free loopback port and measures it with autocannon
 * (shared by the test, which runs it briefly, and `bench/workerd_bench.ts`).
 *
 * @module
 */

import autocannon from "autocannon";
import { prepareWorkerd, workerdBinary } from "./prepare.ts";

/** A running workerd with the policy endpoint. */
export interface RunningEndpoint {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The exported policies it serves (JSON text by policy id). */
  policies: Record<string, string>;
  /** Stops workerd and removes its files. */
  stop(): Promise<void>;
}

/**
 * Starts workerd with the endpoint and waits until it answers.
 * @param checkpoint a hierarchical windy maze checkpoint (default: train briefly)
 * @returns the running endpoint
 */
export async function startEndpoint(checkpoint?: string): Promise<RunningEndpoint> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const dir = await Deno.makeTempDir({ prefix: "coop-workerd-" });
  const { config, policies } = await prepareWorkerd(dir, port, checkpoint);
  const child = new Deno.Command(workerdBinary(), {
    args: ["serve", config],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0;; i++) {
    try {
      await (await fetch(`${url}/`)).body?.cancel();
      break;
    } catch {
      if (i > 200) {
        child.kill("SIGKILL");
        const err = new TextDecoder().decode((await child.output()).stderr);
        throw new Error(`workerd did not start: ${err}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    policies,
    stop: async () => {
      child.kill("SIGTERM");
      await child.output();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** What a load run measured. */
export interface LoadResult {
  /** Requests per second (mean). */
  requestsPerSecond: number;
  /** Latency percentiles in ms. */
  latencyMs: { p50: number; p99: number; max: number };
  /** Requests completed. */
  requests: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Responses that were not 2xx. */
  non2xx: number;
}

/**
 * Runs autocannon against one request for a bounded time.
 * @param url the full URL
 * @param opts method, body, seconds, connections
 * @returns what it measured
 */
export async function load(
  url: string,
  opts: { method?: "GET" | "POST"; body?: string; seconds: number; connections: number },
): Promise<LoadResult> {
  const r = await autocannon({
    url,
    method: opts.method ?? "GET",
    ...(opts.body === undefined
      ? {}
      : { body: opts.body, headers: { "content-type": "application/json" } }),
    duration: opts.seconds,
    connections: opts.connections,
  });
  return {
    requestsPerSecond: r.requests.average,
    latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
    requests: r.requests.total,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}
