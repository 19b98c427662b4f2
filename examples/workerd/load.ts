/**
 * Starts the policy endpoint in workerd on a free loopback port and measures it (shared by the
 * test, which runs it briefly, and `bench/workerd_bench.ts`), with autocannon or with
 * {@linkcode loadKeepAlive}, a minimal HTTP/1.1 keep-alive client: autocannon's own JavaScript
 * costs about as much CPU per request as workerd does (≈ 130 µs against ≈ 45 µs for the minimal
 * client, measured on the 2-core machine), and the two share the cores.
 *
 * @module
 */

import autocannon from "autocannon";
import { prepareWorkerd } from "./prepare.ts";
import { spawnWorkerd } from "./reuse_port.ts";

/** A running workerd with the policy endpoint. */
export interface RunningEndpoint {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The exported policies it serves (JSON text by policy id). */
  policies: Record<string, string>;
  /** The first workerd process's id. */
  pid: number;
  /** Every workerd process's id (one unless `processes` was given). */
  pids: number[];
  /** Stops workerd and removes its files. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startEndpoint}. */
export interface EndpointOptions {
  /**
   * workerd processes accepting on the one port (default 1). workerd runs on one thread, so one
   * process uses one core; more than one needs Linux and `--allow-ffi` (see `reuse_port.ts`).
   */
  processes?: number;
}

/**
 * Starts workerd with the endpoint and waits until it answers.
 * @param checkpoint a hierarchical windy maze checkpoint (default: train briefly)
 * @param opts how many workerd processes
 * @returns the running endpoint
 */
export async function startEndpoint(
  checkpoint?: string,
  opts: EndpointOptions = {},
): Promise<RunningEndpoint> {
  const processes = opts.processes ?? 1;
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const dir = await Deno.makeTempDir({ prefix: "coop-workerd-" });
  const { config, policies } = await prepareWorkerd(dir, port, checkpoint);
  const children = spawnWorkerd(config, port, processes, { stdout: "null", stderr: "piped" });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0;; i++) {
    try {
      await (await fetch(`${url}/`)).body?.cancel();
      break;
    } catch {
      if (i > 200) {
        for (const c of children) c.kill("SIGKILL");
        const err = new TextDecoder().decode((await children[0]!.output()).stderr);
        throw new Error(`workerd did not start: ${err}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    policies,
    pid: children[0]!.pid,
    pids: children.map((c) => c.pid),
    stop: async () => {
      for (const c of children) {
        try {
          c.kill("SIGTERM");
        } catch { /* already exited */ }
      }
      for (const c of children) await c.output();
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

/** Options of {@linkcode loadKeepAlive}. */
export interface KeepAliveOptions {
  /** `GET` (default) or `POST`. */
  method?: "GET" | "POST";
  /** The request body (sent as `application/json`). */
  body?: string;
  /** How long to run. */
  seconds: number;
  /** Connections, each with one request in flight (no pipelining). */
  connections: number;
}

const CRLF2 = [13, 10, 13, 10];

/** Where the head of a response ends (the index after `\r\n\r\n`), or -1. */
function headEnd(buf: Uint8Array, have: number): number {
  outer: for (let i = 0; i + 3 < have; i++) {
    for (let k = 0; k < 4; k++) if (buf[i + k] !== CRLF2[k]) continue outer;
    return i + 4;
  }
  return -1;
}

/**
 * A bounded load run with a minimal HTTP/1.1 client, as a connection pool of a real client
 * uses HTTP/1.1: `connections` keep-alive connections, each sending its next request when the
 * previous response has fully arrived (no pipelining). The same request each time; every
 * response is read to its end (`content-length` or chunked) and its status checked.
 * @param url the full URL (path and query are sent)
 * @param opts method, body, seconds, connections
 * @returns what it measured (latency from writing the request to the response's last byte)
 */
export async function loadKeepAlive(url: string, opts: KeepAliveOptions): Promise<LoadResult> {
  const u = new URL(url);
  const enc = new TextEncoder();
  const body = opts.body === undefined ? undefined : enc.encode(opts.body);
  const head = `${opts.method ?? "GET"} ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
    (body === undefined
      ? "\r\n"
      : `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
  const request = new Uint8Array([...enc.encode(head), ...(body ?? [])]);
  const latencies: number[] = [];
  let errors = 0, non2xx = 0;
  const dec = new TextDecoder();
  const t0 = performance.now(), end = t0 + opts.seconds * 1000;
  async function connection(): Promise<void> {
    let conn: Deno.TcpConn | undefined;
    const buf = new Uint8Array(1 << 16);
    while (performance.now() < end) {
      try {
        conn ??= await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
        const start = performance.now();
        await conn.write(request);
        let have = 0, need = -1, chunked = false;
        for (;;) {
          const n = await conn.read(buf.subarray(have));
          if (n === null) throw new Error("connection closed");
          have += n;
          if (need < 0 && !chunked) {
            const e = headEnd(buf, have);
            if (e < 0) continue;
            const text = dec.decode(buf.subarray(0, e));
            if (!/^HTTP\/1\.1 2\d\d/.test(text)) non2xx++;
            const len = /\r\ncontent-length: *(\d+)/i.exec(text);
            if (len !== null) need = e + Number(len[1]);
            else if (/\r\ntransfer-encoding: *chunked/i.test(text)) chunked = true;
            else throw new Error(`a response without length: ${text}`);
          }
          if (need >= 0 && have >= need) break;
          // A chunked body ends with the empty chunk.
          if (
            chunked && have >= 5 && headEnd(buf.subarray(have - 5), 5) === 5 && buf[have - 5] === 48
          ) break;
          if (have === buf.length) throw new Error("response larger than 64 KiB");
        }
        latencies.push(performance.now() - start);
      } catch {
        errors++;
        conn?.close();
        conn = undefined;
      }
    }
    conn?.close();
  }
  await Promise.all(Array.from({ length: opts.connections }, connection));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    +(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN).toFixed(
      2,
    );
  return {
    requestsPerSecond: Math.round(latencies.length / seconds),
    latencyMs: { p50: at(0.5), p99: at(0.99), max: at(1) },
    requests: latencies.length,
    errors,
    non2xx,
  };
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
