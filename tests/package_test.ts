/**
 * The package's shape, checked the way a user meets it: the entry points and what they load,
 * no import cycles between the project's modules, examples and benches written against the
 * public entry points only.
 */

import assert from "node:assert/strict";

interface GraphModule {
  specifier: string;
  dependencies?: {
    specifier: string;
    code?: { specifier: string };
    type?: { specifier: string };
    isDynamic?: boolean;
  }[];
}

const ROOT = new URL("../", import.meta.url);

/** The module graph of `entry` as `deno info --json` reports it. */
async function graph(entry: string): Promise<GraphModule[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)).modules;
}

/** Local modules and their local imports (code, type-only and dynamic alike). */
function localEdges(modules: GraphModule[]): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const m of modules) {
    if (!m.specifier.startsWith(ROOT.href)) continue;
    const to = new Set<string>();
    for (const d of m.dependencies ?? []) {
      for (const t of [d.code?.specifier, d.type?.specifier]) {
        if (t?.startsWith(ROOT.href)) to.add(t);
      }
    }
    edges.set(m.specifier, [...to]);
  }
  return edges;
}

/** One import cycle as a list of paths, or undefined. */
function findCycle(edges: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 1);
    stack.push(n);
    for (const m of edges.get(n) ?? []) {
      if (state.get(m) === 1) return [...stack.slice(stack.indexOf(m)), m];
      if (state.get(m) === undefined) {
        const c = visit(m);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of edges.keys()) {
    if (state.get(n) === undefined) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return undefined;
}

Deno.test("no import cycles between the project's modules", async () => {
  for (const entry of ["mod.ts", "envs.ts", "src/runtime/files.ts", "examples/hierarchical.ts"]) {
    const cycle = findCycle(localEdges(await graph(entry)));
    const names = cycle?.map((s) => s.slice(ROOT.href.length)).join(" -> ");
    assert.equal(cycle, undefined, `import cycle from ${entry}: ${names}`);
  }
  // The check itself finds a cycle when there is one.
  assert.deepEqual(findCycle(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]]])), [
    "a",
    "b",
    "c",
    "a",
  ]);
  assert.equal(findCycle(new Map([["a", ["b"]], ["b", []]])), undefined);
});

Deno.test("@coop/rl/envs loads no TensorFlow.js; @coop/rl does", async () => {
  const npm = (ms: GraphModule[]) => ms.map((m) => m.specifier).filter((s) => s.startsWith("npm:"));
  const envs = await graph("envs.ts");
  assert.deepEqual(npm(envs).filter((s) => s.includes("tensorflow")), []);
  assert.ok(npm(await graph("mod.ts")).some((s) => s.includes("@tensorflow/tfjs-core")));
  // The envs entry point works as a user imports it.
  const m = await import("@coop/rl/envs");
  const env = m.createHierarchicalWindyMaze(2, { seed: 1 });
  env.reset();
  assert.equal(env.agentId(0), "high_level_agent");
});

Deno.test("examples and benches import the package through its entry points only", async () => {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(new URL(`${dir}/`, ROOT))) {
      if (e.isDirectory) await walk(`${dir}/${e.name}`);
      else if (e.isFile && e.name.endsWith(".ts")) files.push(`${dir}/${e.name}`);
    }
  };
  await walk("examples");
  await walk("bench");
  assert.ok(files.includes("examples/chicken_yard/random_run.ts"), "subfolders are walked");
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, ROOT));
    // Importing an example, another bench or a test helper is fine; the package's own modules
    // (src/, the root entry files) are reached through "@coop/rl", "@coop/rl/envs", ...
    const deep = [...text.matchAll(/from\s+"(\.\.?\/[^"]+)"/g)].map((x) => x[1]!)
      .filter((p) => {
        const to = new URL(p, new URL(file, ROOT)).href.slice(ROOT.href.length);
        return to.startsWith("src/") || !to.includes("/");
      });
    assert.deepEqual(deep, [], `${file} imports package internals`);
  }
});

Deno.test("only src/runtime/ imports a runtime's own modules; the backend loads them lazily", async () => {
  for (const entry of ["mod.ts", "envs.ts"]) {
    const modules = await graph(entry);
    for (const m of modules) {
      if (!m.specifier.startsWith(ROOT.href)) continue;
      const path = m.specifier.slice(ROOT.href.length);
      const own = (m.dependencies ?? []).filter((d) => d.specifier.startsWith("node:"));
      if (!path.startsWith("src/runtime/")) {
        assert.deepEqual(own.map((d) => d.specifier), [], `${path} (from ${entry})`);
      }
      // The adapters are reached through dynamic imports only, so a browser or workerd bundle
      // never evaluates them.
      for (const d of m.dependencies ?? []) {
        const to = d.code?.specifier ?? "";
        if (to.startsWith(`${ROOT.href}src/runtime/`) && !path.startsWith("src/runtime/")) {
          assert.ok(d.isDynamic, `${path} imports ${to.slice(ROOT.href.length)} statically`);
        }
      }
    }
    const runtime = modules.filter((m) => m.specifier.startsWith(`${ROOT.href}src/runtime/`));
    if (entry === "envs.ts") assert.deepEqual(runtime.map((m) => m.specifier), []);
    else assert.ok(runtime.some((m) => m.specifier.endsWith("src/runtime/tfjs_wasm.ts")));
  }
});

Deno.test("a browser bundle of @coop/rl imports none of a runtime's modules up front", async () => {
  const dir = await Deno.makeTempDir({ prefix: "coop-bundle-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "browser", "-o", `${dir}/mod.js`, "mod.ts"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const text = await Deno.readTextFile(`${dir}/mod.js`);
    // Static imports load before any code runs: a `node:` one fails the page in a browser.
    const statics = [...text.matchAll(/^import\b[^;]*?["'](node:[^"']+)["']/gm)].map((m) => m[1]);
    assert.deepEqual(statics, []);
    // The adapters are in the bundle, behind dynamic imports.
    assert.match(text, /src\/runtime\/tfjs_wasm\.ts/);
    assert.match(text, /import\("node:fs\/promises"\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno.json's runtimeCompat matches the README, and every runtime it claims has a test", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const compat: Record<string, boolean> = config.runtimeCompat;
  assert.deepEqual(Object.keys(compat).sort(), ["browser", "bun", "deno", "node", "workerd"]);
  // The runtime tests CI runs (Deno's are everything else).
  const tests: Record<string, string> = {
    browser: "tests/browser_train_test.ts",
    node: "tests/node_test.ts",
    workerd: "tests/workerd_test.ts",
  };
  for (const [runtime, claimed] of Object.entries(compat)) {
    if (!claimed || runtime === "deno") continue;
    assert.ok(tests[runtime] !== undefined, `runtimeCompat claims ${runtime}, which has no test`);
    await Deno.stat(new URL(tests[runtime]!, ROOT));
  }
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const runtimes = readme.slice(readme.indexOf("Runtimes:"), readme.indexOf("## The example"));
  for (
    const [name, words] of [["deno", "Deno 2"], ["node", "Node 20+"], ["browser", "browsers"], [
      "workerd",
      "workerd",
    ]] as const
  ) {
    assert.equal(
      runtimes.includes(words),
      compat[name],
      `README's runtimes and deno.json disagree on ${name}`,
    );
  }
  assert.match(runtimes, /Bun is not tested/);
  assert.equal(compat.bun, false);
});
