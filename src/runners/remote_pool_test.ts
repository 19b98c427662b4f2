/**
 * The remote runner pool against a fake `fetch` (no network): fragments in slot order, weights
 * sent once per version, a lost runner's request re-issued to a live one, a late answer
 * dropped (nothing counted twice, nothing missing), a clear error when every runner is lost,
 * the runner's own errors failing the pool, 409 (lost state) counted as lost, `terminate()`
 * aborting what is in flight, and start failures naming the URL. Plus the codec, round trip,
 * and the HTTP runner's answers (in Deno, no workerd).
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeMessage, encodeMessage } from "./codec.ts";
import { httpRunner, RUNNER_ERROR_HEADER } from "./http_runner.ts";
import type { RunnerInit } from "./pool.ts";
import { type FragmentMessage, runnerSeeds, type SampleMessage } from "./protocol.ts";
import { RemoteRunnerPool } from "./remote_pool.ts";
import { config } from "./testdata/maze_runner.ts";

type Behaviour = "ok" | "refuse" | "late" | "error" | "409" | "hang";

interface FakeRunner {
  /** What it does with `/sample` requests, from the k-th on (k = index in the list). */
  behaviour: (k: number) => Behaviour;
  samples: SampleMessage[];
  inits: number;
  /** The env seed of each init it got. */
  initSeeds?: number[];
  /** Refuses every connection (init and sample) while set. */
  down?: boolean;
}

const INIT: RunnerInit = {
  family: "PPO",
  runnerModule: "(remote)",
  runnerArgs: {},
  numEnvs: 2,
  rolloutFragmentLength: 5,
  envConfig: {},
  training: {},
  policyConfigs: {},
  policyIds: ["p"],
  backend: { backend: "cpu", threads: 1 },
  seed: 0,
};

const reply = (m: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(encodeMessage(m), { status, headers });

/** A fake fetch serving runners at http://r<i>; `late` answers 80 ms after a 30 ms timeout. */
function fakeFetch(runners: FakeRunner[]): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const r = Number(url.hostname.slice(1));
    const x = runners[r]!;
    const m = decodeMessage(new Uint8Array(init!.body as Uint8Array)) as SampleMessage;
    if (x.down) throw new TypeError("error sending request: connection refused");
    if (url.pathname === "/init") {
      x.inits++;
      (x.initSeeds ??= []).push((m as unknown as { envSeed: number }).envSeed);
      return reply({ type: "ready" });
    }
    const b = x.behaviour(x.samples.length);
    x.samples.push(m);
    const fragment: FragmentMessage = {
      type: "fragment",
      id: m.id,
      envSteps: 10,
      agentSteps: [10],
      batches: [null],
      built: [null],
      episodes: {
        count: 0,
        finished: 0,
        ret: new Float64Array(0),
        len: new Float64Array(0),
        polCount: new Int32Array(0),
        polSum: new Float64Array(0),
        polMin: new Float64Array(0),
        polMax: new Float64Array(0),
      },
      customMetrics: {},
      seconds: r,
    };
    switch (b) {
      case "ok":
        return reply(fragment);
      case "refuse":
        throw new TypeError("error sending request: connection refused");
      case "error":
        return reply(
          { type: "error", id: m.id, message: "env step 6 failed on purpose", stack: "at step" },
          500,
          { [RUNNER_ERROR_HEADER]: "1" },
        );
      case "409":
        return reply({ type: "error", id: m.id, message: "sample before init" }, 409);
      case "late":
        // Ignores the abort signal, as a slow runner whose answer is already on its way would.
        return await new Promise<Response>((resolve) => {
          setTimeout(() => resolve(reply(fragment)), 80);
        });
      case "hang":
        return await new Promise<Response>((_resolve, reject) => {
          init!.signal!.addEventListener("abort", () => reject(new DOMException("aborted")));
        });
    }
  }) as typeof fetch;
}

function fakes(...behaviours: ((k: number) => Behaviour)[]): FakeRunner[] {
  return behaviours.map((behaviour) => ({ behaviour, samples: [], inits: 0 }));
}

const urls = (n: number) => Array.from({ length: n }, (_, i) => `http://r${i}/`);
const W = [new Float32Array([1, 2, 3])];
const S = [null];

/** Which runner answered each slot (the fake marks its fragments with `seconds`). */
const from = (fs: FragmentMessage[]) => fs.map((f) => f.seconds);

Deno.test("every runner answers: fragments in slot order, weights sent with their version", async () => {
  const rs = fakes(() => "ok", () => "ok", () => "ok");
  const pool = await RemoteRunnerPool.start(urls(3), INIT, {
    timeoutMs: 1000,
    fetch: fakeFetch(rs),
  });
  const a = await pool.sample(0, W, S);
  assert.deepEqual(from(a), [0, 1, 2]);
  const b = await pool.sample(30, W, S);
  assert.deepEqual(from(b), [0, 1, 2]);
  for (const x of rs) {
    assert.equal(x.inits, 1);
    assert.deepEqual(x.samples.map((s) => s.weightsVersion), [1, 2]);
    assert.deepEqual(x.samples.map((s) => s.weightsOmitted), [false, false]);
    assert.deepEqual([...x.samples[0]!.weights[0]!], [1, 2, 3]);
  }
  assert.deepEqual(pool.stats(), {
    healthy: 3,
    reissued: 0,
    droppedLate: 0,
    restarts: 0,
    lost: [],
  });
  pool.terminate();
});

Deno.test("a refused runner's request is re-issued to a live one, without its weights again", async () => {
  const rs = fakes(() => "ok", (k) => k === 0 ? "ok" : "refuse", () => "ok");
  const pool = await RemoteRunnerPool.start(urls(3), INIT, {
    timeoutMs: 1000,
    fetch: fakeFetch(rs),
  });
  await pool.sample(0, W, S);
  const b = await pool.sample(30, W, S);
  // Slot 1 came from runner 0 (the first with the least queued), as a second fragment.
  assert.deepEqual(from(b), [0, 0, 2]);
  assert.equal(new Set(b.map((f) => f.id)).size, 3, "three distinct requests");
  assert.deepEqual(rs[0]!.samples.map((s) => s.weightsOmitted), [false, false, true]);
  assert.equal(rs[0]!.samples[2]!.weights[0], null);
  const st = pool.stats();
  assert.equal(st.healthy, 2);
  assert.equal(st.reissued, 1);
  assert.deepEqual(st.lost.map((l) => l.runner), [1]);
  assert.match(st.lost[0]!.reason, /connection refused/);
  // Later requests go straight to the live runners, the least loaded first: still three.
  const c = await pool.sample(60, W, S);
  assert.deepEqual(from(c), [0, 2, 2]);
  assert.equal(rs[1]!.samples.length, 2, "the lost runner is asked no more");
  pool.terminate();
});

Deno.test("a lost runner is restarted after the delay and used again; without a delay, never", async () => {
  const rs = fakes(() => "ok", () => "ok", () => "ok");
  const pool = await RemoteRunnerPool.start(urls(3), INIT, {
    timeoutMs: 1000,
    restartDelayMs: 40,
    fetch: fakeFetch(rs),
  });
  await pool.sample(0, W, S);
  rs[1]!.down = true;
  assert.deepEqual(from(await pool.sample(10, W, S)), [0, 0, 2]);
  assert.equal(pool.stats().healthy, 2);
  // Before the delay: not tried. After it, while still down: tried, stays lost, tried again
  // only after another delay.
  await pool.sample(20, W, S);
  assert.equal(rs[1]!.inits, 1);
  await new Promise((r) => setTimeout(r, 50));
  await pool.sample(30, W, S);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(pool.stats().healthy, 2);
  await pool.sample(40, W, S);
  assert.equal(pool.stats().restarts, 0);
  // Back up: the next request after the delay restarts it (re-init), the one after uses it, with
  // the full weights (its envs are fresh).
  rs[1]!.down = false;
  await new Promise((r) => setTimeout(r, 50));
  await pool.sample(50, W, S);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(rs[1]!.inits, 2);
  assert.deepEqual(pool.stats().lost, []);
  assert.equal(pool.stats().restarts, 1);
  const n = rs[1]!.samples.length;
  assert.deepEqual(from(await pool.sample(60, W, S)), [0, 1, 2]);
  assert.equal(rs[1]!.samples[n]!.weightsOmitted, false);
  assert.deepEqual([...rs[1]!.samples[n]!.weights[0]!], [1, 2, 3]);
  pool.terminate();

  // The default: a lost runner stays lost.
  const qs = fakes(() => "ok", () => "ok");
  const never = await RemoteRunnerPool.start(urls(2), INIT, {
    timeoutMs: 1000,
    fetch: fakeFetch(qs),
  });
  qs[1]!.down = true;
  await never.sample(0, W, S);
  qs[1]!.down = false;
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(from(await never.sample(10, W, S)), [0, 0]);
  assert.equal(qs[1]!.inits, 1);
  never.terminate();
});

Deno.test("a runner that times out: its late answer is dropped, the slot filled once", async () => {
  const rs = fakes(() => "ok", () => "ok", (k) => k === 1 ? "late" : "ok");
  const pool = await RemoteRunnerPool.start(urls(3), INIT, {
    timeoutMs: 30,
    fetch: fakeFetch(rs),
  });
  await pool.sample(0, W, S);
  const b = await pool.sample(30, W, S);
  assert.equal(b.length, 3);
  assert.ok(!from(b).includes(2), `slot answers from runners ${from(b)}`);
  assert.equal(b.reduce((s, f) => s + f.envSteps, 0), 30, "three fragments' steps, once each");
  await new Promise((r) => setTimeout(r, 120)); // the late answer arrives
  const st = pool.stats();
  assert.equal(st.droppedLate, 1);
  assert.equal(st.reissued, 1);
  assert.match(st.lost[0]!.reason, /no answer to \/sample within 30 ms/);
  pool.terminate();
});

Deno.test("every runner lost: a clear error naming each; a runner's own error fails the pool", async () => {
  const rs = fakes(() => "refuse", () => "hang", () => "409");
  const pool = await RemoteRunnerPool.start(urls(3), INIT, {
    timeoutMs: 30,
    fetch: fakeFetch(rs),
  });
  await assert.rejects(pool.sample(0, W, S), (e: Error) => {
    assert.match(e.message, /^All 3 remote env runners are lost: /);
    assert.match(e.message, /0 \(http:\/\/r0\): \/sample failed: .*connection refused/);
    assert.match(e.message, /1 \(http:\/\/r1\): no answer to \/sample within 30 ms/);
    assert.match(e.message, /2 \(http:\/\/r2\): lost its state \(\/sample answered 409/);
    return true;
  });
  pool.terminate();

  const bad = fakes(() => "ok", () => "error");
  const p2 = await RemoteRunnerPool.start(urls(2), INIT, {
    timeoutMs: 1000,
    fetch: fakeFetch(bad),
  });
  await assert.rejects(
    p2.sample(0, W, S),
    /^Error: Remote env runner 1 \(http:\/\/r1\): env step 6 failed on purpose/,
  );
  await assert.rejects(p2.sample(0, W, S), /env step 6 failed on purpose/);
  assert.equal(p2.stats().reissued, 0, "the runner's own error is not re-issued");
  p2.terminate();
});

Deno.test("restartOnRunnerError: a runner's own error counts as lost, restarted with its next seeds; maxRestarts caps", async () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const rs = fakes(() => "ok", (k) => k === 1 ? "error" : "ok");
  const pool = await RemoteRunnerPool.start(urls(2), INIT, {
    timeoutMs: 1000,
    restartDelayMs: 20,
    restartOnRunnerError: true,
    fetch: fakeFetch(rs),
  });
  await pool.sample(0, W, S);
  assert.deepEqual(from(await pool.sample(10, W, S)), [0, 0], "slot 1 re-issued to runner 0");
  assert.equal(pool.stats().reissued, 1);
  assert.match(pool.stats().lost[0]!.reason, /^failed: env step 6 failed on purpose$/);
  await sleep(30);
  await pool.sample(20, W, S);
  await sleep(5);
  assert.equal(pool.stats().restarts, 1);
  assert.deepEqual(rs[1]!.initSeeds, [0, 1].map((g) => runnerSeeds(0, 1, g).envSeed));
  assert.deepEqual(from(await pool.sample(30, W, S)), [0, 1]);
  pool.terminate();

  // No restart allowed: it stays lost; every runner failing: the error names each message.
  const qs = fakes((k) => k < 2 ? "ok" : "error", () => "error");
  const capped = await RemoteRunnerPool.start(urls(2), INIT, {
    timeoutMs: 1000,
    restartDelayMs: 0,
    restartOnRunnerError: true,
    maxRestarts: 0,
    fetch: fakeFetch(qs),
  });
  assert.deepEqual(from(await capped.sample(0, W, S)), [0, 0]);
  await sleep(5);
  await assert.rejects(capped.sample(10, W, S), (e: Error) => {
    assert.match(e.message, /^All 2 remote env runners are lost: /);
    assert.match(e.message, /0 \(http:\/\/r0\): failed: env step 6 failed on purpose/);
    return true;
  });
  assert.equal(capped.stats().restarts, 0);
  assert.equal(qs[1]!.inits, 1);
  capped.terminate();
});

Deno.test("terminate() aborts requests in flight; start names a runner that cannot start", async () => {
  const rs = fakes(() => "hang");
  const pool = await RemoteRunnerPool.start(urls(1), INIT, {
    timeoutMs: 10_000,
    fetch: fakeFetch(rs),
  });
  const p = pool.sample(0, W, S);
  pool.terminate();
  await assert.rejects(p, /terminated/);
  await assert.rejects(pool.sample(0, W, S), /terminated/);

  const refusing = (() => Promise.reject(new TypeError("connection refused"))) as typeof fetch;
  await assert.rejects(
    RemoteRunnerPool.start(["http://127.0.0.1:9"], INIT, { timeoutMs: 100, fetch: refusing }),
    /Remote env runner 0 \(http:\/\/127.0.0.1:9\) could not start: \/init failed: connection refused/,
  );
});

Deno.test("checkpoints: a lost runner saves an empty state; restore re-initialises every runner", async () => {
  const rs = fakes(() => "ok", (k) => k === 0 ? "ok" : "refuse");
  const f = fakeFetch(rs);
  const withState: typeof fetch = async (input, init) => {
    const path = new URL(String(input)).pathname;
    if (path === "/save") return reply({ type: "state", id: 0, bytes: new Uint8Array([7, 8]) });
    if (path === "/restore") return reply({ type: "state", id: 0, bytes: new Uint8Array(0) });
    return await f(input, init);
  };
  const pool = await RemoteRunnerPool.start(urls(2), INIT, { timeoutMs: 1000, fetch: withState });
  await pool.sample(0, W, S);
  await pool.sample(0, W, S);
  const states = await pool.saveStates();
  assert.deepEqual(states.map((s) => [...s]), [[7, 8], []]);
  await pool.restoreStates(states);
  assert.deepEqual(rs.map((x) => x.inits), [2, 2]);
  assert.equal(pool.stats().healthy, 2, "a runner that answers again is used again");
  pool.terminate();
});

const typed = fc.oneof(
  fc.float32Array(),
  fc.float64Array(),
  fc.int32Array(),
  fc.uint8Array(),
  fc.int8Array(),
  fc.uint16Array(),
  fc.bigInt64Array(),
);
const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.string(),
  typed,
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    leaf,
    fc.array(fc.oneof(tie("v"), fc.constant(undefined)), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie("v"), { maxKeys: 4 }),
  ),
})).v;

/** Plain objects the way decoding makes them (JSON drops `undefined` properties). */
function plain(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(plain);
  if (x !== null && typeof x === "object" && !ArrayBuffer.isView(x)) {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (v !== undefined) o[k] = plain(v);
    return o;
  }
  return x;
}

Deno.test("codec: any mix of JSON values, special numbers and typed arrays round-trips", () => {
  fc.assert(
    fc.property(value, fc.nat(7), (v, shift) => {
      const bytes = encodeMessage(v);
      assert.equal(bytes.length % 8, 0);
      assert.deepEqual(decodeMessage(bytes), plain(v));
      // At an unaligned offset, decoding copies instead of viewing.
      const moved = new Uint8Array(bytes.length + shift);
      moved.set(bytes, shift);
      assert.deepEqual(decodeMessage(moved.subarray(shift)), plain(v));
    }),
    { numRuns: 300 },
  );
  const f = new Float32Array([NaN, -0, 1.5]);
  const back = decodeMessage(encodeMessage({ a: [f, NaN, -Infinity, undefined, -0] })) as {
    a: unknown[];
  };
  assert.ok(Object.is((back.a[0] as Float32Array)[1], -0));
  assert.ok(Number.isNaN(back.a[1]) && back.a[2] === -Infinity && back.a[3] === undefined);
  assert.ok(Object.is(back.a[4], -0));
  assert.equal((back.a[0] as Float32Array).byteOffset % 8, 0);
});

Deno.test("codec: what it cannot carry is refused with its path; foreign bytes are named", () => {
  assert.throws(() => encodeMessage({ a: { f: () => 1 } }), /\["a"\]\["f"\] is a function/);
  assert.throws(() => encodeMessage({ m: new Map() }), /\["m"\] is a Map; only plain objects/);
  assert.throws(() => encodeMessage([1n]), /\[0\] is a bigint/);
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  assert.throws(() => encodeMessage(cyc), /\["self"\] refers back to itself/);
  assert.throws(
    () => decodeMessage(new TextEncoder().encode("<html>502 Bad Gateway</html>")),
    /not a runner message .* starting "<html>502 Bad Gateway<\/html>"/,
  );
});

Deno.test("httpRunner: health, 404, 400 on a foreign body, 409 before init, 500 on its own error", async () => {
  const h = httpRunner({ config: (args) => config(args as { fault?: "action" }) });
  const post = (path: string, body: BodyInit) =>
    h.fetch(new Request(`http://runner${path}`, { method: "POST", body }));
  const health = await (await h.fetch(new Request("http://runner/health"))).json();
  assert.deepEqual(health, {
    ok: true,
    initialised: false,
    runner: null,
    weightsVersion: null,
    backend: "cpu",
    requests: 0,
  });
  const nowhere = await h.fetch(new Request("http://runner/act", { method: "POST" }));
  assert.equal(nowhere.status, 404);
  assert.match((await nowhere.json()).error, /expected POST \/init, \/sample, \/save/);
  const foreign = await post("/sample", "{}");
  assert.equal(foreign.status, 400);
  assert.match((await foreign.json()).error, /not a runner message/);
  const sample = {
    type: "sample",
    id: 4,
    timesteps: 0,
    weights: [null, null],
    spaces: [null, null],
  };
  const early = await post("/sample", encodeMessage(sample));
  assert.equal(early.status, 409);
  assert.equal(early.headers.get(RUNNER_ERROR_HEADER), null);
  assert.match((decodeMessage(await early.arrayBuffer()) as Error).message, /sample before init/);
  const c = config({ fault: "action" }).config;
  const init = {
    type: "init",
    runner: 1,
    ...runnerSeeds(0, 1),
    family: "PPO",
    runnerModule: "(remote)",
    runnerArgs: { fault: "action" },
    numEnvs: 2,
    rolloutFragmentLength: 8,
    envConfig: {},
    training: c.training,
    policyConfigs: { high_level_policy: undefined, low_level_policy: undefined },
    policyIds: ["high_level_policy", "low_level_policy"],
    backend: { backend: "wasm", threads: 1 },
    seed: 0,
  };
  const ready = await post("/init", encodeMessage(init));
  assert.equal(ready.status, 200);
  assert.deepEqual(decodeMessage(await ready.arrayBuffer()), { type: "ready" });
  const bad = await post("/sample", encodeMessage(sample));
  assert.equal(bad.status, 500);
  assert.equal(bad.headers.get(RUNNER_ERROR_HEADER), "1");
  const err = decodeMessage(await bad.arrayBuffer()) as { id: number; message: string };
  assert.equal(err.id, 4);
  assert.match(err.message, /99/);
  const after = await (await h.fetch(new Request("http://runner/health"))).json();
  assert.deepEqual([after.initialised, after.runner, after.requests], [true, 1, 3]);
});
