/**
 * Starts remote env runners for the hierarchical windy maze on loopback: bundles `worker.ts`
 * (the runner code and its config; `deno bundle --platform browser`), writes one workerd config
 * per runner (Cap'n Proto text: the bundle, the maze's WASM and tfjs's SIMD WASM as Wasm
 * modules, `nodejs_compat` for the `node:util` import of `examples/hierarchical.ts`, no outbound
 * network) and starts one `workerd serve` process per runner, each on its own 127.0.0.1 port, so
 * that one can be killed on its own. Shared by `train.ts` and `tests/remote_runners_test.ts`.
 *
 * ```sh
 * deno run -A examples/remote_runners/runners.ts --count 3 --port 9101   # until Ctrl-C
 * deno run -A examples/remote_runners/runners.ts --bundle-only --entry cloudflare.ts \
 *   --out dist/remote_runners   # for wrangler.toml
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { windyMazeWasmBytes } from "@coop/rl";
import { readTfjsWasm } from "@coop/rl/runtime";
import { bundleForBrowser } from "../_web.ts";
import { workerdBinary } from "../workerd/prepare.ts";

/** The files a runner worker is made of, by module name. */
export async function runnerFiles(
  entry: URL = new URL("./worker.ts", import.meta.url),
): Promise<Record<string, Uint8Array>> {
  const [worker] = await bundleForBrowser([entry]);
  const tfjs = await readTfjsWasm("tfjs-backend-wasm-simd.wasm");
  if (tfjs === undefined) {
    throw new Error(
      "tfjs-backend-wasm-simd.wasm not found: install the npm dependencies (deno install)",
    );
  }
  return {
    "worker.js": worker!,
    "windy_maze.wasm": windyMazeWasmBytes(),
    "tfjs-backend-wasm-simd.wasm": tfjs,
  };
}

/**
 * The workerd config of one runner (`worker.ts`), or of the Cloudflare entry (`cloudflare.ts`)
 * with an in-memory Durable Object namespace (`durableObjects`): its modules, loopback only, no
 * outbound network.
 * @param port the port on 127.0.0.1
 * @param durableObjects serve `cloudflare.ts`'s Durable Objects (one runner per name)
 * @returns the Cap'n Proto text (beside the files of {@linkcode runnerFiles})
 */
export function workerdConfig(port: number, durableObjects = false): string {
  const objects = durableObjects
    ? `
  durableObjectNamespaces = [(className = "EnvRunner", uniqueKey = "coop-env-runner")],
  durableObjectStorage = (inMemory = void),
  bindings = [(name = "RUNNERS", durableObjectNamespace = "EnvRunner")],`
    : "";
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .runner),
    (name = "nowhere", network = (allow = [])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);

const runner :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "windy_maze.wasm", wasm = embed "windy_maze.wasm"),
    (name = "tfjs-backend-wasm-simd.wasm", wasm = embed "tfjs-backend-wasm-simd.wasm"),
  ],${objects}
  globalOutbound = "nowhere",
  compatibilityDate = "2025-01-01",
  compatibilityFlags = ["nodejs_compat"],
);
`;
}

/** Runners started by {@linkcode startRunners}. */
export interface RunningRunners {
  /** Each runner's base URL, `http://127.0.0.1:<port>`. */
  urls: string[];
  /** Each runner's workerd process id. */
  pids: number[];
  /**
   * Kills one runner's workerd process (SIGKILL: no goodbye, connections reset).
   * @param i the runner
   */
  kill(i: number): Promise<void>;
  /**
   * Starts a killed runner's workerd again, on its port, and waits until it answers (a fresh
   * runner: the trainer must initialise it again).
   * @param i the runner
   */
  restart(i: number): Promise<void>;
  /** Stops every runner still running and removes the files. */
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Bundles the runner, writes the configs and starts `count` workerd processes on loopback,
 * waiting until each answers `GET /health`. With `durableObjects`, one workerd process serves
 * `cloudflare.ts` (the Cloudflare deployment's code) and the runners are its Durable Objects
 * `runner-0`, `runner-1`, ... (`kill` then kills that one process).
 * @param count how many runners
 * @param opts the first port (the next ones follow; default: free ports), a bundle to reuse,
 *   Durable Objects
 * @returns the running runners
 */
export async function startRunners(
  count: number,
  opts: { port?: number; files?: Record<string, Uint8Array>; durableObjects?: boolean } = {},
): Promise<RunningRunners> {
  const dir = await Deno.makeTempDir({ prefix: "coop-runners-" });
  const dos = opts.durableObjects ?? false;
  const files = opts.files ??
    await runnerFiles(new URL(dos ? "./cloudflare.ts" : "./worker.ts", import.meta.url));
  for (const [name, bytes] of Object.entries(files)) await Deno.writeFile(`${dir}/${name}`, bytes);
  const children: (Deno.ChildProcess | undefined)[] = [];
  const urls: string[] = [];
  const spawn = (i: number) =>
    new Deno.Command(workerdBinary(), {
      args: ["serve", `${dir}/runner${i}.capnp`],
      stdout: "null",
      stderr: "inherit",
    }).spawn();
  const waitHealthy = async (i: number, url: string) => {
    for (let k = 0;; k++) {
      try {
        const r = await fetch(`${url}/health`);
        await r.body?.cancel();
        if (r.ok) return;
      } catch {
        if (k > 200) throw new Error(`workerd runner ${i} (${url}) did not start`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stopAll = async () => {
    for (const c of children) {
      if (c === undefined) continue;
      try {
        c.kill("SIGKILL");
      } catch { /* already ended */ }
      await c.status;
    }
    children.length = 0;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    for (let i = 0; i < (dos ? 1 : count); i++) {
      const port = opts.port === undefined ? freePort() : opts.port + i;
      await Deno.writeTextFile(`${dir}/runner${i}.capnp`, workerdConfig(port, dos));
      children.push(spawn(i));
      urls.push(`http://127.0.0.1:${port}`);
    }
    if (dos) {
      const base = urls.pop()!;
      for (let i = 0; i < count; i++) urls.push(`${base}/runner-${i}`);
    }
    for (const [i, url] of urls.entries()) await waitHealthy(i, url);
  } catch (e) {
    await stopAll();
    throw e;
  }
  return {
    urls,
    pids: children.map((c) => c!.pid),
    kill: async (i: number) => {
      const c = children[dos ? 0 : i];
      if (c === undefined) return;
      children[dos ? 0 : i] = undefined;
      c.kill("SIGKILL");
      await c.status;
    },
    restart: async (i: number) => {
      const k = dos ? 0 : i;
      if (children[k] !== undefined) throw new Error(`runner ${i} is running`);
      children[k] = spawn(k);
      await waitHealthy(i, urls[i]!);
    },
    stop: stopAll,
  };
}

if (import.meta.main) {
  const { values: v } = parseArgs({
    args: Deno.args,
    options: {
      count: { type: "string", default: "3" },
      port: { type: "string", default: "9101" },
      "bundle-only": { type: "boolean", default: false },
      entry: { type: "string", default: "worker.ts" },
      out: { type: "string", default: "dist/remote_runners" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (v.help) {
    console.log(`Usage: deno run -A examples/remote_runners/runners.ts [options]

  --count N        workerd runners to start (default 3)
  --port P         the first port on 127.0.0.1 (default 9101; the others follow)
  --bundle-only    only write the worker and its Wasm modules to --out (for wrangler)
  --entry FILE     worker.ts (default; workerd, one isolate per runner) or cloudflare.ts
                   (Cloudflare: a Durable Object per runner)
  --out DIR        where --bundle-only writes (default dist/remote_runners)`);
    Deno.exit(0);
  }
  if (v.entry !== "worker.ts" && v.entry !== "cloudflare.ts") {
    throw new RangeError(`--entry must be worker.ts or cloudflare.ts, got "${v.entry}"`);
  }
  const durableObjects = v.entry === "cloudflare.ts";
  const files = await runnerFiles(new URL(`./${v.entry}`, import.meta.url));
  if (v["bundle-only"]) {
    await Deno.mkdir(v.out!, { recursive: true });
    for (const [name, bytes] of Object.entries(files)) {
      await Deno.writeFile(`${v.out}/${name}`, bytes);
    }
    console.log(`wrote ${Object.keys(files).map((f) => `${v.out}/${f}`).join(", ")}`);
    Deno.exit(0);
  }
  const count = Number(v.count), port = Number(v.port);
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`--count must be a positive integer, got "${v.count}"`);
  }
  const running = await startRunners(count, { port, files, durableObjects });
  console.log(`${count} runners: ${running.urls.join(" ")} (Ctrl-C stops them)`);
  Deno.addSignalListener("SIGINT", () => void running.stop().then(() => Deno.exit(0)));
}
