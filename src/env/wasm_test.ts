import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Box, Discrete, MultiDiscrete } from "../spaces.ts";
import { ACTIVE, ALIVE, SPAWNED } from "./batched.ts";
import {
  createWasmEnv,
  loadWasmEnv,
  WASM_ABI_VERSION,
  WasmBatchedEnv,
  type WasmEnvDescriptor,
} from "./wasm.ts";
import { windyMazeWasmBytes } from "../envs/_generated/windy_maze_wasm.ts";
import { WINDY_MAZE_DESCRIPTOR, windyMazeModule } from "../envs/windy_maze.ts";

/**
 * A minimal hand-assembled module exporting `abiVersion() -> version` and a memory, plus
 * nothing else: enough to test the loader's checks.
 */
function fakeModuleBytes(version: number, withAbi = true): Uint8Array {
  const str = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  const exports = [
    ...(withAbi ? [...str("abiVersion"), 0x00, 0x00] : []),
    ...str("memory"),
    0x02,
    0x00,
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f], // type: () -> i32
    ...[0x03, 0x02, 0x01, 0x00], // one function of type 0
    ...[0x05, 0x03, 0x01, 0x00, 0x00], // memory, min 0 pages
    ...[0x07, exports.length + 1, withAbi ? 2 : 1, ...exports],
    ...[0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, version, 0x0b], // body: i32.const version
  ]);
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

describe("WASM env loader", () => {
  it("loads from bytes, a compiled module and a URL", async () => {
    const bytes = windyMazeWasmBytes();
    const url = new URL(`data:application/wasm;base64,${toBase64(bytes)}`);
    const envs = [
      await loadWasmEnv(bytes, WINDY_MAZE_DESCRIPTOR, 3, 5),
      await loadWasmEnv(windyMazeModule(), WINDY_MAZE_DESCRIPTOR, 3, 5),
      await loadWasmEnv(url, WINDY_MAZE_DESCRIPTOR, 3, 5),
      createWasmEnv(bytes, WINDY_MAZE_DESCRIPTOR, 3, 5),
      createWasmEnv(windyMazeModule(), WINDY_MAZE_DESCRIPTOR, 3, 5),
    ];
    for (const env of envs) {
      assert.ok(env instanceof WasmBatchedEnv);
      env.reset();
      env.setActions("agent", [1, 0, 1]);
      env.step();
    }
    for (const env of envs.slice(1)) {
      assert.deepEqual(env.groups[0]!.obs, envs[0]!.groups[0]!.obs);
    }
  });

  it("builds zero-copy views that alias the module memory", () => {
    const env = createWasmEnv(windyMazeWasmBytes(), WINDY_MAZE_DESCRIPTOR, 4);
    const buf = env.memory.buffer;
    const g = env.groups[0]!;
    for (const v of [g.obs, g.finalObs, g.act, env.rew, env.flags, env.envDone]) {
      assert.equal(v.buffer, buf);
    }
    for (const v of [env.envTruncated, env.stepMask, env.agentSeq]) assert.equal(v.buffer, buf);
    env.reset(1);
    assert.deepEqual(Array.from(env.flags), Array(4).fill(SPAWNED | ACTIVE | ALIVE));
    assert.equal(env.memoryBytes, buf.byteLength);
  });

  it("refuses a module with another ABI version, clearly", () => {
    assert.equal(WASM_ABI_VERSION, 1);
    assert.throws(
      () => createWasmEnv(fakeModuleBytes(2), WINDY_MAZE_DESCRIPTOR, 1),
      /WASM env "windy_maze" speaks ABI version 2, this loader speaks version 1/,
    );
    assert.throws(
      () => createWasmEnv(fakeModuleBytes(1, false), WINDY_MAZE_DESCRIPTOR, 1),
      /no "abiVersion" export/,
    );
    assert.throws(
      () => createWasmEnv(fakeModuleBytes(1), WINDY_MAZE_DESCRIPTOR, 1),
      /lacks the exports "init", "reset", "step"/,
    );
  });

  it("checks the descriptor against the module's row widths", () => {
    const group = WINDY_MAZE_DESCRIPTOR.groups[0]!;
    const badObs: WasmEnvDescriptor = {
      name: "windy_maze",
      groups: [{ ...group, observationSpace: new Box(0, 1, [5]) }],
    };
    assert.throws(
      () => createWasmEnv(windyMazeModule(), badObs, 1),
      /group "agent" has observation rows of 6 but Box\(0, 1, \[5\]\) flattens to 5/,
    );
    const badAct: WasmEnvDescriptor = {
      name: "windy_maze",
      groups: [{ ...group, actionSpace: new MultiDiscrete([2, 2]) }],
    };
    assert.throws(
      () => createWasmEnv(windyMazeModule(), badAct, 1),
      /has action rows of 1 but MultiDiscrete\(\[2, 2\]\) packs to 2/,
    );
    const twoGroups: WasmEnvDescriptor = { name: "windy_maze", groups: [group, group] };
    assert.throws(
      () => createWasmEnv(windyMazeModule(), twoGroups, 1),
      /has 1 slot group\(s\) but its descriptor declares 2/,
    );
  });

  it("validates numEnvs and seeds", () => {
    for (const n of [0, -1, 1.5, Number.NaN, 2 ** 23]) {
      assert.throws(() => createWasmEnv(windyMazeModule(), WINDY_MAZE_DESCRIPTOR, n), RangeError);
    }
    for (const seed of [-1, 0.5, 2 ** 53]) {
      assert.throws(
        () => createWasmEnv(windyMazeModule(), WINDY_MAZE_DESCRIPTOR, 1, seed),
        /Seed must be a non-negative safe integer/,
      );
    }
    const env = createWasmEnv(windyMazeModule(), WINDY_MAZE_DESCRIPTOR, 1);
    assert.throws(() => env.reset(-3), RangeError);
  });

  it("throws an Error when step() comes before reset()", () => {
    const env = createWasmEnv(windyMazeModule(), WINDY_MAZE_DESCRIPTOR, 2);
    assert.throws(() => env.step(), (e: unknown) => {
      assert.ok(e instanceof Error && !(e instanceof RangeError));
      assert.match(e.message, /step\(\) called before reset\(\)/);
      return true;
    });
    env.reset();
    env.step();
  });

  it("names the agent, the value and the action space on a bad action", () => {
    const env = createWasmEnv(windyMazeModule(), WINDY_MAZE_DESCRIPTOR, 4);
    env.reset();
    env.groups[0]!.act[2] = 7;
    assert.throws(
      () => env.step(),
      new RangeError(
        'Invalid action for agent "default_agent" (slot 2, group "agent" of WASM env "windy_maze"): got 7, expected a member of Discrete(2) (packed as 1 number(s))',
      ),
    );
  });

  it("setActions copies a whole batch and rejects a wrong length without changes", () => {
    const env = createWasmEnv(windyMazeModule(), WINDY_MAZE_DESCRIPTOR, 3);
    env.setActions(0, new Float32Array([1, 0, 1]));
    assert.deepEqual(Array.from(env.groups[0]!.act), [1, 0, 1]);
    env.setActions("agent", [0, 1, 1]);
    assert.deepEqual(Array.from(env.groups[0]!.act), [0, 1, 1]);
    for (const wrong of [[1, 1], [1, 1, 1, 1], []]) {
      assert.throws(() => env.setActions("agent", wrong), (e: unknown) => {
        assert.ok(e instanceof RangeError);
        assert.match(e.message, /group "agent"/);
        assert.match(e.message, new RegExp(`got ${wrong.length} numbers, expected 3`));
        return true;
      });
      assert.deepEqual(Array.from(env.groups[0]!.act), [0, 1, 1]);
    }
    assert.throws(() => env.setActions("low", [1, 1, 1]), /Unknown group "low".*"agent"/);
    assert.throws(() => env.setActions(1, [1, 1, 1]), /Unknown group 1/);
  });

  it("agentId reads the slot's sequence number and caches the strings", () => {
    let calls = 0;
    const descriptor: WasmEnvDescriptor = {
      name: "windy_maze",
      groups: [{
        name: "agent",
        observationSpace: WINDY_MAZE_DESCRIPTOR.groups[0]!.observationSpace,
        actionSpace: new Discrete(2),
        agentId: (j, seq) => {
          calls++;
          return `low_level_${j}_${seq}`;
        },
      }],
    };
    const env = createWasmEnv(windyMazeModule(), descriptor, 3);
    const first = env.agentId(1);
    assert.equal(first, "low_level_0_0");
    assert.equal(env.agentId(1), first);
    assert.equal(env.agentId(2), first, "one cached id per (slot in env, seq)");
    assert.equal(calls, 1);
    env.agentSeq[1] = 5;
    assert.equal(env.agentId(1), "low_level_0_5");
    env.agentSeq[1] = 0;
    assert.equal(env.agentId(1), first);
    assert.equal(calls, 2);
    for (const bad of [-1, 3, 0.5, Number.NaN]) assert.throws(() => env.agentId(bad), RangeError);
  });
});
