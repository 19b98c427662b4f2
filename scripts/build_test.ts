import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  buildAll,
  compileEntryWithTypes,
  findEntries,
  readFacts,
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
});
