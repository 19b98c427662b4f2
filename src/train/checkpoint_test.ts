/**
 * Checkpoints: the file format and its refusals, spaces as JSON, the in-memory storage, env
 * states, `save`/`restore` of a whole trainer in one process (the fresh-process proof is in
 * `resume_test.ts`), periodic and final saves, and `policyFromCheckpoint`.
 */

import assert from "node:assert/strict";
import {
  CHECKPOINT_VERSION,
  checkpointName,
  crc32,
  decodeCheckpoint,
  encodeCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  spaceFromJSON,
  spaceToJSON,
} from "./checkpoint.ts";
import { type CheckpointStorage, joinPath, MemoryStorage } from "./storage.ts";
import { policyFromCheckpoint } from "./policy_checkpoint.ts";
import type { Algorithm } from "./algorithm.ts";
import { PPOConfig } from "../algorithms/ppo_config.ts";
import { createWindyMaze } from "../envs/windy_maze.ts";
import { createHierarchicalWindyMaze } from "../envs/hierarchical_windy_maze.ts";
import { checkEnv } from "../env/check_env.ts";
import { Box, Dict, Discrete, MultiDiscrete, type Space, spacesEqual, Tuple } from "../spaces.ts";
import { RelayEnv } from "./testdata/relay_env.ts";
import { resumeConfig, snapshot, stringify, timeless } from "./testdata/resume_run.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

async function rejectsWith(
  promise: Promise<unknown>,
  type: new (...args: never[]) => Error,
  ...parts: string[]
): Promise<Error> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof type, `expected a ${type.name}, got ${caught}`);
  for (const p of parts) {
    assert.ok(caught.message.includes(p), `message ${JSON.stringify(caught.message)} lacks ${p}`);
  }
  return caught;
}

function throwsWith(fn: () => unknown, type: new (...args: never[]) => Error, ...parts: string[]) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${e}`);
    for (const p of parts) {
      assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} lacks ${p}`);
    }
    return true;
  });
}

async function withAlgo<T>(
  config: PPOConfig,
  fn: (algo: Algorithm) => T | Promise<T>,
): Promise<T> {
  const algo = await config.build();
  try {
    return await fn(algo);
  } finally {
    algo.dispose();
  }
}

/** Trains `n` iterations; returns the timeless results as one comparable string. */
async function trainN(algo: Algorithm, n: number): Promise<string> {
  const out = [];
  for (let i = 0; i < n; i++) out.push(timeless(await algo.train()));
  return stringify(out);
}

// ---------------------------------------------------------------------------------------------
// The file format

Deno.test("format: a round trip keeps typed arrays, NaN and infinities, nested anywhere", () => {
  const content = {
    a: 1,
    s: "text",
    n: null,
    list: [NaN, Infinity, -Infinity, -0.5, { deep: new Int32Array([-1, 2]) }],
    f32: new Float32Array([1.5, NaN, -Infinity]),
    f64: new Float64Array([Math.PI]),
    u8: new Uint8Array([0, 255, 7]),
    u32: new Uint32Array([4294967295]),
    empty: new Float32Array(0),
  };
  const back = decodeCheckpoint(encodeCheckpoint(content), "test") as typeof content;
  assert.equal(back.a, 1);
  assert.equal(back.s, "text");
  assert.equal(back.n, null);
  assert.ok(Number.isNaN(back.list[0]));
  assert.equal(back.list[1], Infinity);
  assert.equal(back.list[2], -Infinity);
  assert.deepEqual((back.list[4] as { deep: Int32Array }).deep, new Int32Array([-1, 2]));
  assert.deepEqual(back.f32, content.f32);
  assert.deepEqual(back.f64, content.f64);
  assert.deepEqual(back.u8, content.u8);
  assert.deepEqual(back.u32, content.u32);
  assert.deepEqual(back.empty, new Float32Array(0));
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("format: not a checkpoint, another version, truncated, extended or corrupted is refused", () => {
  const good = encodeCheckpoint({ w: new Float32Array(100).fill(0.25), step: 3 });
  decodeCheckpoint(good, "good");
  throwsWith(() => decodeCheckpoint(good.slice(0, good.length - 9), "x"), RangeError, "truncated");
  throwsWith(() => decodeCheckpoint(good.slice(0, 10), "x"), RangeError, "too short");
  const longer = new Uint8Array(good.length + 3);
  longer.set(good);
  throwsWith(() => decodeCheckpoint(longer, "x"), RangeError, "extra bytes");
  const flipped = good.slice();
  flipped[100] = flipped[100]! ^ 4;
  throwsWith(() => decodeCheckpoint(flipped, `"a.ckpt"`), RangeError, `"a.ckpt"`, "corrupted");
  const text = new TextEncoder().encode("hello, this is not a checkpoint at all");
  throwsWith(() => decodeCheckpoint(text, "x"), RangeError, "not a coop checkpoint");
  const v2 = good.slice();
  new DataView(v2.buffer).setUint32(8, CHECKPOINT_VERSION + 1, true);
  throwsWith(() => decodeCheckpoint(v2, "x"), RangeError, "format version");
});

Deno.test("spaces: every kind survives JSON, nested; others are refused", () => {
  const spaces: Space[] = [
    new Discrete(4),
    new Discrete(3, -1),
    new Box(0, 100, [2]),
    new Box([-Infinity, 0], [Infinity, 1], [2]),
    new MultiDiscrete([3, 2]),
    new Tuple([new Box(0, 1, [2, 2]), new Discrete(4)]),
    new Dict({
      pos: new Box(0, 1, [2]),
      kind: new Discrete(3),
      more: new Tuple([new Discrete(2)]),
    }),
  ];
  for (const s of spaces) {
    const json = JSON.parse(
      stringify(spaceToJSON(s)),
      (_k, v) => v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v,
    );
    assert.ok(spacesEqual(spaceFromJSON(json), s), s.toString());
  }
  throwsWith(() => spaceFromJSON({ kind: "graph" }), RangeError, "Not a space");
  throwsWith(() => spaceToJSON({ toString: () => "Weird()" } as unknown as Space), RangeError);
});

Deno.test("storage: MemoryStorage reads, writes, lists a directory and removes", async () => {
  const s = new MemoryStorage();
  assert.equal(await s.read("nope"), undefined);
  const data = new Uint8Array([1, 2, 3]);
  await s.write("d/a.ckpt", data);
  data[0] = 9; // the stored bytes are a copy
  assert.deepEqual(await s.read("d/a.ckpt"), new Uint8Array([1, 2, 3]));
  await s.write("d/sub/b.ckpt", data);
  await s.write("top.ckpt", data);
  assert.deepEqual(await s.list("d"), ["a.ckpt"]);
  assert.deepEqual(await s.list(""), ["top.ckpt"]);
  assert.deepEqual(await s.list("missing"), []);
  await s.remove("d/a.ckpt");
  await s.remove("d/a.ckpt");
  assert.deepEqual(await s.list("d"), []);
  assert.equal(joinPath("", "x"), "x");
  assert.equal(joinPath("a/", "x"), "a/x");
  for (const i of [10, 2, 100]) await s.write(joinPath("c", checkpointName(i)), data);
  await s.write("c/notes.txt", data);
  assert.deepEqual((await listCheckpoints(s, "c")).map((c) => c.iteration), [2, 10, 100]);
  assert.equal(await latestCheckpoint(s, "c"), "c/checkpoint_000100.ckpt");
  assert.equal(await latestCheckpoint(s, "empty"), undefined);
});

// ---------------------------------------------------------------------------------------------
// Env states

Deno.test("env state: a WASM env restored from its bytes continues exactly; another size is refused", () => {
  const run = (env: ReturnType<typeof createWindyMaze>, steps: number) => {
    const out: number[] = [];
    for (let t = 0; t < steps; t++) {
      env.setActions(0, Array.from({ length: env.numEnvs }, (_, i) => (t + i) % 2));
      env.step();
      out.push(...env.groups[0]!.obs, ...env.rew, ...env.flags, ...env.envDone);
    }
    return out;
  };
  const a = createWindyMaze(6, { seed: 4 });
  a.reset();
  run(a, 50);
  const state = a.saveState();
  const expected = run(a, 300);
  const b = createWindyMaze(6, { seed: 77 });
  b.loadState(state);
  assert.deepEqual(run(b, 300), expected);
  const fresh = createWindyMaze(6);
  fresh.loadState(createWindyMaze(6).saveState()); // a state saved before any reset
  throwsWith(() => fresh.step(), Error, "before reset");
  throwsWith(() => createWindyMaze(5).loadState(state), RangeError, "6 envs", "has 5");
  throwsWith(() => a.loadState(new Uint8Array(16)), RangeError, "windy_maze");
});

Deno.test("env state: the relay test env passes checkEnv and restores exactly", () => {
  checkEnv(new RelayEnv(3, 1), { steps: 400 });
  const run = (env: RelayEnv, steps: number) => {
    const out: number[] = [];
    for (let t = 0; t < steps; t++) {
      env.groups[0]!.act.forEach((_, s, a) => (a[s] = (t * 7 + s) % 3 === 0 ? 0 : 1));
      env.step();
      out.push(...env.rew, ...env.flags, ...env.groups[0]!.obs, ...env.episodeMetrics.values);
    }
    return out;
  };
  const a = new RelayEnv(4, 2);
  a.reset();
  run(a, 33);
  const state = a.saveState();
  const expected = run(a, 100);
  const b = new RelayEnv(4, 9);
  b.loadState(state);
  assert.deepEqual(run(b, 100), expected);
  throwsWith(() => new RelayEnv(3).loadState(state), RangeError, "RelayEnv");
});

// ---------------------------------------------------------------------------------------------
// save / restore of a trainer

const relayConfig = () => resumeConfig("relay");

Deno.test("save/restore: restoring rewinds a trainer exactly (weights, results, evaluation)", async () => {
  const storage = new MemoryStorage();
  await withAlgo(relayConfig().checkpointing({ storage }), async (algo) => {
    await trainN(algo, 4);
    // The save point of resume_test.ts: rows of ended runners held for late rewards, and open
    // rows, cross it.
    const live = algo.collector.getState(true).live!;
    assert.ok(live.buffers.some((b) => b !== null && b.held.includes(1)), "no held rows");
    assert.ok(live.buffers.some((b) => b !== null && b.state.includes(0)), "no open rows");
    const path = await algo.save();
    assert.equal(path, "checkpoints/checkpoint_000004.ckpt");
    const ahead = await trainN(algo, 4);
    const weights = stringify(snapshot(algo));
    const greedy = algo.computeActions({ a: [1, 2], b: [4, 0] }, {
      policyId: "second",
      explore: false,
    });
    const info = await algo.restore();
    assert.deepEqual(info, { path, iteration: 4, envRestored: true, changes: [] });
    assert.equal(algo.iteration, 4);
    assert.equal(await trainN(algo, 4), ahead);
    assert.equal(stringify(snapshot(algo)), weights);
    assert.deepEqual(
      algo.computeActions({ a: [1, 2], b: [4, 0] }, { policyId: "second", explore: false }),
      greedy,
    );
  });
});

Deno.test("save/restore: another env, other policies or another model shape are refused, naming the difference; nothing changes", async () => {
  const storage = new MemoryStorage();
  const hier = () =>
    new PPOConfig()
      .environment(({ numEnvs, seed }) => createHierarchicalWindyMaze(numEnvs, { seed }))
      .envRunners({ numEnvs: 4, rolloutFragmentLength: 16 })
      .training({ hidden: [8], numEpochs: 1 })
      .multiAgent({
        policies: { high: {}, low: {} },
        policyMappingFn: (id) => id.startsWith("low_level_") ? "low" : "high",
      })
      .checkpointing({ storage });
  await withAlgo(hier(), async (algo) => {
    await algo.train();
    await algo.save({ path: "h.ckpt" });
  });
  const refused = async (config: PPOConfig, ...parts: string[]) => {
    await withAlgo(config, async (algo) => {
      await algo.train();
      const before = stringify(snapshot(algo));
      await rejectsWith(algo.restore({ path: "h.ckpt" }), RangeError, `"h.ckpt"`, ...parts);
      assert.equal(algo.iteration, 1);
      assert.equal(stringify(snapshot(algo)), before, "a refused restore changed the weights");
      await algo.train(); // still trains
    });
  };
  await refused(
    new PPOConfig()
      .environment(({ numEnvs, seed }) => createWindyMaze(numEnvs, { seed }))
      .envRunners({ numEnvs: 4, rolloutFragmentLength: 16 })
      .training({ hidden: [8], numEpochs: 1 })
      .multiAgent({ policies: { high: {}, low: {} }, policyMappingFn: () => "high" })
      .checkpointing({ storage }),
    "env is a WasmBatchedEnv here, a Hierarchy",
  );
  await refused(hier().envRunners({ numEnvs: 5 }), "numEnvs is 5 here, 4");
  await refused(
    hier().multiAgent({
      policies: { high: {}, low: {}, spare: {} },
      policyMappingFn: (id) => id.startsWith("low_level_") ? "low" : "high",
    }),
    `policies are ["high", "low", "spare"] here, ["high", "low"]`,
  );
  await refused(
    hier().training({ hidden: [8, 8] }),
    `policy "high" model hidden is [8,8] here, [8]`,
  );
  await refused(
    hier().multiAgent({
      policies: { high: {}, low: { config: { activation: "relu" } } },
      policyMappingFn: (id) => id.startsWith("low_level_") ? "low" : "high",
    }),
    `policy "low" model activation is "relu" here, "tanh"`,
  );
  // Hyperparameters may differ: the restore goes on and lists them.
  await withAlgo(hier().training({ lr: 1e-4 }).debugging({ seed: 9 }), async (algo) => {
    const info = await algo.restore({ path: "h.ckpt" });
    assert.ok(info.changes.includes("seed 0 -> 9"), info.changes.join("; "));
    assert.ok(info.changes.some((c) => c.startsWith(`policy "high" lr 0.003 -> 0.0001`)));
    await algo.train();
  });
});

Deno.test("save/restore: a truncated or corrupted checkpoint is refused and nothing is overwritten", async () => {
  const storage = new MemoryStorage();
  await withAlgo(relayConfig().checkpointing({ storage }), async (algo) => {
    await algo.train();
    const path = await algo.save();
    const bytes = (await storage.read(path))!;
    await storage.write("cut.ckpt", bytes.slice(0, bytes.length - 100));
    const bad = bytes.slice();
    bad[bytes.length >> 1] = bad[bytes.length >> 1]! ^ 1;
    await storage.write("bad.ckpt", bad);
    await algo.train();
    const before = stringify(snapshot(algo));
    await rejectsWith(algo.restore({ path: "cut.ckpt" }), RangeError, "truncated");
    await rejectsWith(algo.restore({ path: "bad.ckpt" }), RangeError, "corrupted");
    await rejectsWith(algo.restore({ path: "none.ckpt" }), Error, `No checkpoint at "none.ckpt"`);
    assert.equal(algo.iteration, 2);
    assert.equal(stringify(snapshot(algo)), before);
    // The good checkpoint still restores.
    assert.equal((await algo.restore({ path })).iteration, 1);
  });
});

Deno.test("save: a crash while writing leaves the previous checkpoint intact", async () => {
  const inner = new MemoryStorage();
  let crash = false;
  const flaky: CheckpointStorage = {
    read: (p) => inner.read(p),
    list: (d) => inner.list(d),
    remove: (p) => inner.remove(p),
    write: (p, d) => crash ? Promise.reject(new Error("disk on fire")) : inner.write(p, d),
  };
  await withAlgo(relayConfig().checkpointing({ storage: flaky }), async (algo) => {
    await algo.train();
    const first = await algo.save({ path: "latest.ckpt" });
    const weights = stringify(snapshot(algo));
    await algo.train();
    crash = true;
    await rejectsWith(algo.save({ path: "latest.ckpt" }), Error, "disk on fire");
    crash = false;
    await algo.restore({ path: first });
    assert.equal(algo.iteration, 1);
    assert.equal(stringify(snapshot(algo)), weights);
  });
});

Deno.test("checkpointing: every checkpointFreq-th train() saves, numToKeep prunes, stop() saves at the end", async () => {
  const storage = new MemoryStorage();
  const config = relayConfig().checkpointing({
    storage,
    checkpointDir: "run/ck",
    checkpointFreq: 2,
    numToKeep: 2,
    checkpointAtEnd: true,
  });
  const algo = await config.build();
  const saved: (string | undefined)[] = [];
  for (let i = 0; i < 7; i++) saved.push((await algo.train()).checkpoint);
  assert.deepEqual(saved, [
    undefined,
    "run/ck/checkpoint_000002.ckpt",
    undefined,
    "run/ck/checkpoint_000004.ckpt",
    undefined,
    "run/ck/checkpoint_000006.ckpt",
    undefined,
  ]);
  assert.equal(await algo.stop(), "run/ck/checkpoint_000007.ckpt");
  assert.deepEqual(await storage.list("run/ck"), [
    "checkpoint_000006.ckpt",
    "checkpoint_000007.ckpt",
  ]);
  // A new trainer restores the newest by default and goes on; stop() after a periodic save of
  // the same iteration does not save twice.
  let writes = 0;
  const counting: CheckpointStorage = {
    read: (p) => storage.read(p),
    list: (d) => storage.list(d),
    remove: (p) => storage.remove(p),
    write: (p, d) => (writes++, storage.write(p, d)),
  };
  const b = await config.checkpointing({ storage: counting }).build();
  assert.equal((await b.restore()).iteration, 7);
  assert.equal((await b.train()).training_iteration, 8);
  assert.equal(writes, 1);
  assert.equal(await b.stop(), "run/ck/checkpoint_000008.ckpt");
  assert.equal(writes, 1);
});

Deno.test("checkpointing: save and restore need a storage; the config checks its fields", async () => {
  await withAlgo(relayConfig(), async (algo) => {
    await rejectsWith(algo.save(), Error, "save needs a storage", ".checkpointing");
    await rejectsWith(algo.restore(), Error, "restore needs a storage");
    assert.equal(await algo.stop(), undefined);
  });
  throwsWith(
    () => relayConfig().checkpointing({ checkpointFreq: 3 }).validate(),
    RangeError,
    "storage",
  );
  throwsWith(
    () =>
      relayConfig().checkpointing({ storage: new MemoryStorage(), checkpointFreq: -1 }).validate(),
    RangeError,
    "checkpointing.checkpointFreq",
  );
  throwsWith(
    () => relayConfig().checkpointing({ storage: {} as unknown as CheckpointStorage }).validate(),
    RangeError,
    "checkpointing.storage",
  );
  throwsWith(
    () => relayConfig().checkpointing({ storage: new MemoryStorage(), numToKeep: 0 }).validate(),
    RangeError,
    "checkpointing.numToKeep",
  );
});

Deno.test("save/restore: a dict env is reset by the re-seed rule; counters, streams and weights are restored", async () => {
  const storage = new MemoryStorage();
  const config = resumeConfig("dict").checkpointing({ storage });
  let saved = "";
  let after: string[] = [];
  await withAlgo(config, async (algo) => {
    await trainN(algo, 3);
    saved = stringify(snapshot(algo));
    await algo.save();
  });
  for (let run = 0; run < 2; run++) {
    await withAlgo(config, async (algo) => {
      const info = await algo.restore();
      assert.equal(info.envRestored, false);
      assert.equal(stringify(snapshot(algo)), saved);
      const r = await algo.train();
      assert.equal(r.training_iteration, 4);
      assert.equal(r.timesteps_total, 4 * 4 * 9);
      const again = [stringify(timeless(r)), await trainN(algo, 2), stringify(snapshot(algo))];
      if (run === 0) after = again;
      else assert.deepEqual(again, after, "a restore by the re-seed rule is deterministic");
    });
  }
});

// ---------------------------------------------------------------------------------------------
// One policy for inference

Deno.test("policyFromCheckpoint: the same actions as the live trainer, without the env", async () => {
  const storage = new MemoryStorage();
  await withAlgo(relayConfig().checkpointing({ storage }), async (algo) => {
    await trainN(algo, 2);
    const path = await algo.save();
    const obs = Array.from({ length: 12 }, (_, i) => [i % 6, i]);
    for (const id of ["first", "second"]) {
      const restored = await policyFromCheckpoint(storage, path, id);
      try {
        assert.equal(restored.observationSpace.toString(), "Box(0, 100, [2])");
        assert.equal(restored.actionSpace.toString(), "Discrete(3)");
        assert.deepEqual(
          restored.computeActions(obs, { explore: false }),
          algo.computeActions(obs, { policyId: id, explore: false }),
        );
        // Sampling: the restored stream starts where the trainer's stood at the save.
        const live = obs.map((o) => algo.computeSingleAction(o, { policyId: id }));
        assert.deepEqual(obs.map((o) => restored.computeSingleAction(o)), live);
      } finally {
        restored.dispose();
      }
      await algo.restore({ path }); // the trainer's stream back to the save
    }
    await rejectsWith(
      policyFromCheckpoint(storage, path, "third"),
      RangeError,
      `"third"`,
      `"first"`,
    );
  });
  // A scripted policy cannot be rebuilt; a random one can.
  const fixed = relayConfig().multiAgent({
    policies: { first: { policyClass: () => 1 }, second: { policyClass: "random" } },
    policyMappingFn: (id) => id === "runner_0" ? "first" : "second",
  }).checkpointing({ storage });
  await withAlgo(fixed, async (algo) => {
    await algo.train();
    await algo.save({ path: "fixed.ckpt" });
  });
  await rejectsWith(policyFromCheckpoint(storage, "fixed.ckpt", "first"), RangeError, "scripted");
  const rnd = await policyFromCheckpoint(storage, "fixed.ckpt", "second");
  assert.ok(new Discrete(3).contains(rnd.computeSingleAction([1, 1])));
});

Deno.test("space descriptions are plain JSON: unbounded Box bounds survive JSON.stringify", () => {
  const space = new Dict({
    pos: new Box(-Infinity, Infinity, [3]),
    half: new Box([0, -Infinity], [Infinity, 1], [2]),
    n: new Discrete(4),
  });
  const text = JSON.stringify(spaceToJSON(space));
  assert.ok(!text.includes("null"), text);
  assert.ok(spacesEqual(spaceFromJSON(JSON.parse(text)), space));
  assert.throws(
    () => spaceFromJSON({ kind: "box", low: [null], high: [1], shape: [1] }),
    /A Box bound must be a number, "Infinity" or "-Infinity", got null/,
  );
});
