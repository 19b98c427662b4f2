import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildAll, findEntries, renderModule, staleModules } from "./build.ts";

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
