import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  buildAll,
  compileEntryWithTypes,
  findEntries,
  readFacts,
  readVariants,
  renderModule,
  staleModules,
} from "./build.ts";

describe("scripts/build.ts", () => {
  it("the committed generated WASM modules equal a fresh build", async () => {
    const built = await buildAll();
    assert.ok(built.length >= 1);
    const problems = await staleModules(built);
    assert.deepEqual(problems, [], "run `deno task build` and commit the result");
  });

  it("compiles every env entry but not the `_` helpers, deterministically", async () => {
    const entries = await findEntries();
    assert.ok(entries.includes("assembly/windy_maze.ts"));
    assert.ok(entries.every((e) => !e.split("/").pop()!.startsWith("_")));
    const [a, b] = [await buildAll(), await buildAll()];
    assert.deepEqual(a.map((m) => m.text), b.map((m) => m.text));
    for (const m of a) {
      assert.ok(m.text.startsWith("// @generated"));
      const mod = new WebAssembly.Module(m.wasm as BufferSource);
      assert.deepEqual(WebAssembly.Module.imports(mod), [], `${m.name} has no imports`);
    }
  });

  it("reports a stale module", async () => {
    const [m] = await buildAll();
    const tampered = {
      ...m!,
      text: renderModule(m!.name, m!.entry, new Uint8Array([0, 97, 115, 109])),
    };
    const problems = await staleModules([tampered]);
    assert.ok(problems.some((p) => p.includes("is stale")), problems.join("\n"));
  });
});

describe("scripts/build.ts: test envs and facts", () => {
  it("compiles the test envs of assembly/testdata/ into src/envs/testdata/_generated/", async () => {
    const entries = await findEntries();
    assert.ok(entries.includes("assembly/testdata/take_away.ts"));
    const built = await buildAll();
    const m = built.find((x) => x.name === "take_away")!;
    assert.equal(m.path, "src/envs/testdata/_generated/take_away_wasm.ts");
    const maze = built.find((x) => x.name === "windy_maze")!;
    assert.equal(maze.path, "src/envs/_generated/windy_maze_wasm.ts");
  });

  it("writes every exported constant of an env as a fact, with its doc comment", async () => {
    const maze = (await buildAll()).find((x) => x.name === "windy_maze")!;
    const byName = new Map(maze.facts.map((f) => [f.name, f]));
    assert.equal(byName.get("ROWS")!.value, 8);
    assert.equal(byName.get("ROWS")!.type, "i32");
    assert.equal(byName.get("ROWS")!.doc, "Number of map rows.");
    assert.equal(byName.get("GOAL_REWARD")!.type, "f32");
    assert.deepEqual(byName.get("WIND_DELTAS")!.value, [-1, 0, 0, 1, 1, 0, 0, -1]);
    assert.equal((byName.get("MAP")!.value as string).split("\n").length, 8);
    assert.ok(maze.text.includes("export const WINDY_MAZE_FACTS = {\n"));
    assert.ok(maze.text.includes("  /** Number of map rows. (`i32`) */\n  ROWS: 8,\n"));
  });

  it("reads facts of every supported type and refuses the others", async () => {
    const entry = "assembly/testdata/_facts_probe.ts";
    const source = (body: string) => ({ [entry]: `export * from "../_abi";\n${body}\n` });
    const probe = async (body: string) => {
      const compiled = await compileEntryWithTypes(entry, source(body));
      return readFacts(entry, compiled, source(body)[entry]!);
    };
    const facts = await probe(
      [
        "/** a flag */ export const B: bool = true;",
        "export const U: u32 = 4000000000;",
        "export const F: f64 = -0.5;",
        "export const L: i64 = 5;",
        'export const S: string = "a\\nb";',
        "export const A: StaticArray<f32> = [1.5, -2];",
      ].join("\n"),
    );
    assert.deepEqual(facts.map((f) => [f.name, f.value, f.doc]), [
      ["B", true, "a flag"],
      ["U", 4000000000, ""],
      ["F", -0.5, ""],
      ["L", 5, ""],
      ["S", "a\nb", ""],
      ["A", [1.5, -2], ""],
    ]);
    await assert.rejects(
      probe('export const S: string = "a" + "b";'),
      /fact "S" of "assembly\/testdata\/_facts_probe.ts" is not a compile-time constant/,
    );
    await assert.rejects(
      probe("export let M: i32 = 3;"),
      /fact "M" .* not a compile-time constant/,
    );
    await assert.rejects(
      probe("export const A: Array<i32> = [1];"),
      /fact "A" .* has type ~lib\/array\/Array<i32>: facts are numbers/,
    );
  });

  it("the env kit refuses a missing hook and helpers a fixed-agents env must not use", async () => {
    const entry = "assembly/windy_maze.ts";
    const maze = await Deno.readTextFile(new URL("../assembly/windy_maze.ts", import.meta.url));
    const compile = (text: string) => compileEntryWithTypes(entry, { [entry]: text });
    await assert.rejects(
      compile(maze.replace("  obsSize(_g: i32): i32 {", "  obsSizes(_g: i32): i32 {")),
      /the env has no obsSize\(g\) hook/,
    );
    await assert.rejects(
      compile(
        maze.replace(
          "store<i32>(counts + o4, 0);\n  }",
          "store<i32>(counts + o4, 0);\n    this.spawn(0, i, 0, 0);\n  }",
        ),
      ),
      /spawn: an env with fixedAgents\(\) is spawned by the kit/,
    );
  });

  it("the env kit refuses half of a hook pair", async () => {
    const entry = "assembly/chicken_yard.ts";
    const yard = await Deno.readTextFile(new URL("../assembly/chicken_yard.ts", import.meta.url));
    const compile = (text: string) => compileEntryWithTypes(entry, { [entry]: text });
    await assert.rejects(
      compile(yard.replace("  actionHigh(_g: i32): f32 {", "  actionHighest(_g: i32): f32 {")),
      /the env needs both actionLow\(g\) and actionHigh\(g\), or neither/,
    );
    await assert.rejects(
      compile(yard.replace("  metrics(): i32 {", "  metricCount(): i32 {")),
      /the env needs both metrics\(\) and writeMetrics\(i, p\), or neither/,
    );
  });
});

describe("scripts/build.ts: the env kit's unrolled() loops", () => {
  it("change nothing but speed (the chicken yard with and without them, bit for bit)", async () => {
    const { chickenYardDescriptor } = await import("../src/envs/chicken_yard.ts");
    const { createWasmEnv } = await import("../src/env/wasm.ts");
    const { Pcg32 } = await import("../src/rng.ts");
    const entry = "assembly/chicken_yard.ts";
    const yard = await Deno.readTextFile(new URL("../assembly/chicken_yard.ts", import.meta.url));
    const looped = yard.replace(
      "  unrolled(): bool {\n    return true;",
      "  unrolled(): bool {\n    return false;",
    );
    assert.notEqual(looped, yard);
    for (
      const constants of [{}, { TARGET_ANY: 1, LOW_CONTINUOUS: 1 }] as Record<string, number>[]
    ) {
      const cont = "LOW_CONTINUOUS" in constants;
      const d = chickenYardDescriptor({ lowAction: cont ? "continuous" : "discrete" });
      const [a, b] = await Promise.all([yard, looped].map(async (text) => {
        const c = await compileEntryWithTypes(entry, { [entry]: text }, constants);
        return createWasmEnv(c.wasm, d, 5, 3);
      }));
      const rng = new Pcg32(9, 1);
      a!.reset(4);
      b!.reset(4);
      for (let t = 0; t < 1500; t++) {
        a!.groups.forEach((g, k) => {
          const sp = g.actionSpace;
          for (let r = 0; r < g.act.length / sp.packedSize; r++) {
            sp.pack(sp.sample(rng), g.act, r * sp.packedSize);
          }
          b!.groups[k]!.act.set(g.act);
        });
        for (let i = 0; i < 5; i++) a!.stepMask[i] = b!.stepMask[i] = rng.nextInt(5) === 0 ? 0 : 1;
        a!.step();
        b!.step();
        const same = (x: ArrayBufferView, y: ArrayBufferView) =>
          new Uint8Array(x.buffer, x.byteOffset, x.byteLength).every((v, k) =>
            v === new Uint8Array(y.buffer, y.byteOffset, y.byteLength)[k]
          );
        assert.ok(same(a!.flags, b!.flags) && same(a!.rew, b!.rew), `step ${t}`);
        a!.groups.forEach((g, k) => {
          assert.ok(same(g.obs, b!.groups[k]!.obs) && same(g.finalObs, b!.groups[k]!.finalObs));
        });
        assert.ok(same(a!.episodeMetrics!.values, b!.episodeMetrics!.values));
      }
    }
  });
});

describe("scripts/build.ts: build variants", () => {
  it("reads `// @variant` lines and refuses malformed ones", () => {
    const src = [
      "// @variant any TARGET_ANY=1",
      "  // @variant both A=1 B=-2",
      "// not a variant: @variant x Y=1",
    ].join("\n");
    assert.deepEqual(readVariants("e.ts", src), [
      { name: "any", constants: { TARGET_ANY: 1 } },
      { name: "both", constants: { A: 1, B: -2 } },
    ]);
    assert.throws(
      () => readVariants("e.ts", "// @variant Any X=1"),
      /Bad build variant line in "e.ts"/,
    );
    assert.throws(() => readVariants("e.ts", "// @variant a"), /at least one CONST=<int>/);
    assert.throws(() => readVariants("e.ts", "// @variant a X=y"), /"X=y" is not CONST=<int>/);
    assert.throws(
      () => readVariants("e.ts", "// @variant a X=1\n// @variant a X=2"),
      /"a" is declared twice/,
    );
  });

  it("compiles each variant into the env's one generated module, with the same facts", async () => {
    const yard = (await buildAll()).find((m) => m.name === "chicken_yard")!;
    assert.equal(yard.path, "src/envs/_generated/chicken_yard_wasm.ts");
    assert.deepEqual(yard.variants.map((v) => [v.name, v.constants]), [
      ["any", { TARGET_ANY: 1 }],
      ["continuous", { LOW_CONTINUOUS: 1 }],
      ["any_continuous", { TARGET_ANY: 1, LOW_CONTINUOUS: 1 }],
    ]);
    const all = [yard.wasm, ...yard.variants.map((v) => v.wasm)];
    assert.equal(new Set(all.map((w) => w.join(","))).size, 4, "four different modules");
    assert.ok(yard.text.includes("export function chickenYardWasmBytes(variant?: keyof typeof"));
    assert.ok(yard.text.includes("  any: { constants: { TARGET_ANY: 1 }, size: "));
    const mod = await import("../src/envs/_generated/chicken_yard_wasm.ts");
    assert.deepEqual(mod.chickenYardWasmBytes("continuous"), yard.variants[1]!.wasm);
    assert.deepEqual(mod.chickenYardWasmBytes(), yard.wasm);
    // An env without variants renders exactly as before.
    const maze = (await buildAll()).find((m) => m.name === "windy_maze")!;
    assert.deepEqual(maze.variants, []);
    assert.equal(maze.text, renderModule(maze.name, maze.entry, maze.wasm, maze.facts));
    assert.ok(!maze.text.includes("VARIANTS"));
  });
});
