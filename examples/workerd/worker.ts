/**
 * A workerd (Cloudflare Workers) endpoint that serves exported policies of the hierarchical
 * windy maze without tfjs: the policies are `ExportedPolicy` artefacts and the env is the
 * package's WASM module, both supplied as bindings (workerd compiles no WebAssembly at run time,
 * so the env's module comes in precompiled).
 *
 * - `POST /act` with `{ "policyId": "low_level_policy", "obs": <observation>, "explore": false }`
 *   answers `{ "action": ... }`: the best action for that observation (or a sampled one).
 *   `GET /act?policyId=low_level_policy&obs=<observation as JSON>[&explore=true]` answers the
 *   same; it is the lighter request: workerd reads no request body (a body goes through
 *   workerd's stream machinery: on the 2-core machine, shared with other jobs, `POST` cost 5-50%
 *   more of workerd's CPU per request than `GET`; the policy itself is under 2% of it).
 * - `GET /episode?seed=N` plays one greedy episode of the hierarchical maze with that seed and
 *   answers `{ "seed", "return", "steps", "path" }`.
 * - `GET /` answers `{ "policies": { <policyId>: <kernel> } }`, the kernel each policy runs
 *   (`"wasm"`: the precompiled SIMD kernel).
 *
 * `serve.ts` bundles it and writes the workerd config (`network = (allow = [])`: no outbound
 * network).
 *
 * @module
 */

import { ExportedPolicy } from "@coop/rl/policy";
import { createHierarchicalWindyMaze, DictEnv, type SpaceValue } from "@coop/rl/envs";

/** The worker's bindings. */
export interface Env {
  /** The exported high-level policy (JSON text). */
  HIGH_POLICY: string;
  /** The exported low-level policy (JSON text). */
  LOW_POLICY: string;
}

let policies: Record<string, ExportedPolicy> | undefined;

// The env's precompiled module, a Wasm module of the worker (workerd allows no Wasm bindings in
// modules-based workers). The specifier is a variable so that bundlers and type checkers leave
// the import to workerd.
const MAZE_WASM = "./windy_maze.wasm";
let mazeModule: WebAssembly.Module | undefined;
async function maze(): Promise<WebAssembly.Module> {
  mazeModule ??= (await import(MAZE_WASM)).default as WebAssembly.Module;
  return mazeModule;
}

// The exported policies' WebAssembly SIMD kernel, precompiled by workerd like the env's module
// (without it the policies would run their plain-JS kernel).
const KERNEL_WASM = "./policy_kernel.wasm";

async function load(env: Env): Promise<Record<string, ExportedPolicy>> {
  if (policies === undefined) {
    const kernel = (await import(KERNEL_WASM)).default as WebAssembly.Module;
    policies = {
      high_level_policy: ExportedPolicy.fromJSON(env.HIGH_POLICY, 0, { kernel }),
      low_level_policy: ExportedPolicy.fromJSON(env.LOW_POLICY, 0, { kernel }),
    };
  }
  return policies;
}

/** What `/act` reads. */
interface ActRequest {
  policyId?: string;
  obs?: unknown;
  explore?: boolean;
}

/** `GET /act?policyId=ID&obs=JSON[&explore=true]`. */
function actQuery(url: URL): ActRequest {
  const obs = url.searchParams.get("obs");
  if (obs === null) throw new RangeError("GET /act needs ?policyId=ID&obs=<observation as JSON>");
  return {
    policyId: url.searchParams.get("policyId") ?? undefined,
    obs: JSON.parse(obs),
    explore: url.searchParams.get("explore") === "true",
  };
}

/**
 * A JSON answer. `Response.json` (content type included) costs workerd less than
 * `new Response(JSON.stringify(body), { headers })`: 155-163 against 164-202 µs of its CPU per
 * request in one measurement on the shared 2-core machine (a bare "ok" answer: 141-146 µs).
 */
function json(body: unknown, status = 200): Response {
  return Response.json(body, { status });
}

/** The `[row, col]` in a windy maze observation (the low level's wraps the high level's). */
function position(o: unknown): ArrayLike<number> {
  let x = o as unknown[];
  while (typeof x[0] !== "number") x = x[0] as unknown[];
  return x as unknown as ArrayLike<number>;
}

/** Plays one greedy episode; the policy of an agent is picked by its id, as in training. */
async function episode(env: Env, seed: number): Promise<unknown> {
  const p = await load(env);
  const module = await maze();
  const dict = new DictEnv(createHierarchicalWindyMaze(1, { seed, module }));
  let { obs } = dict.reset({ seed });
  let ret = 0, steps = 0;
  const path: number[][] = [];
  for (;;) {
    const actions: Record<string, SpaceValue> = {};
    for (const [id, o] of Object.entries(obs)) {
      const pos = position(o);
      const last = path.at(-1);
      if (last === undefined || last[0] !== pos[0] || last[1] !== pos[1]) {
        path.push([pos[0]!, pos[1]!]);
      }
      const policy = id.startsWith("low_level_") ? p.low_level_policy! : p.high_level_policy!;
      actions[id] = policy.computeSingleAction(o, { explore: false });
    }
    const r = dict.step(actions);
    steps++;
    for (const x of Object.values(r.rewards)) ret += x;
    if (r.terminateds.__all__ || r.truncateds.__all__) break;
    obs = r.obs;
  }
  return { seed, return: ret, steps, path };
}

export default {
  /**
   * Answers `/act` and `/episode`.
   * @param req the request
   * @param env the bindings
   * @returns the answer
   */
  async fetch(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    try {
      if (url.pathname === "/act" && (req.method === "POST" || req.method === "GET")) {
        const body = req.method === "POST" ? await req.json() as ActRequest : actQuery(url);
        const all = policies ?? await load(env);
        const policy = all[body.policyId ?? ""];
        if (policy === undefined) {
          return json({
            error: `unknown policyId ${JSON.stringify(body.policyId)}; expected one of ${
              Object.keys(all).join(", ")
            }`,
          }, 400);
        }
        return json({
          action: policy.computeSingleAction(body.obs, { explore: body.explore ?? false }),
        });
      }
      if (url.pathname === "/") {
        const all = policies ?? await load(env);
        return json({
          policies: Object.fromEntries(Object.entries(all).map(([id, p]) => [id, p.kernel])),
        });
      }
      if (url.pathname === "/episode") {
        const seed = Number(url.searchParams.get("seed") ?? 0);
        if (!Number.isSafeInteger(seed) || seed < 0) {
          return json({
            error: `seed must be a non-negative integer, got ${url.searchParams.get("seed")}`,
          }, 400);
        }
        return json(await episode(env, seed));
      }
      return json({
        error: "expected POST /act, GET /act?policyId=ID&obs=JSON or GET /episode?seed=N",
      }, 404);
    } catch (e) {
      return json({ error: e instanceof Error ? e.message : String(e) }, 400);
    }
  },
};
