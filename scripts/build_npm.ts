/**
 * Builds the npm package for Node (20 and newer) into `dist/npm/` (gitignored):
 *
 * ```sh
 * deno task build:npm                       # writes dist/npm/
 * deno task build:npm --out /tmp/coop-npm   # elsewhere
 * cd dist/npm && npm pack                   # coop-rl-<version>.tgz, installable with npm
 * ```
 *
 * How: `deno bundle --platform deno --code-splitting` bundles the Web-standard entry points
 * (`deno.json`'s exports but the Deno adapters {@linkcode DENO_ONLY_ENTRIES}: `@coop/rl` =
 * `mod.ts`, `@coop/rl/envs` = `envs.ts`, ...) into ES modules under `esm/`, sharing chunks of
 * code between them (so a class seen through two entry points is one class). The
 * npm packages the project's own modules import (TensorFlow.js, zod) stay external: they are
 * written into `package.json` as dependencies, pinned to the versions `deno.json` pins, and
 * Node resolves them from `node_modules` like any other package. So the package holds one
 * tfjs (shared with the application's when the versions agree), tfjs's Node code runs as
 * tfjs ships it, and the WASM backend's default binary is read from the installed
 * `@tensorflow/tfjs-backend-wasm` by the runtime adapter (`src/runtime/tfjs_wasm.ts`).
 *
 * Why `--platform deno` and not `browser`: tfjs-core's `package.json` maps `util` to `false`
 * for browsers. A browser bundle replaces `require("util")` with an empty module, but tfjs-core
 * still picks its Node platform at run time when `process` exists, whose constructor runs
 * `new this.util.TextEncoder()`: `this.util.TextEncoder is not a constructor` in Node. The
 * Deno platform resolves Node's built-ins as `node:` imports, which Node has. (With tfjs
 * external, its own Node entry runs in any case.)
 *
 * Why not `@deno/dnt`: it type-checks and transpiles every module with `tsc` and runs npm
 * itself; `deno bundle` is in the Deno that builds this project already, needs nothing from a
 * registry, and its output is plain ES modules that Node 20 loads as they are.
 *
 * The Deno adapters (`@coop/rl/runtime`, `/loggers`, `/run`: `Deno.*` APIs) are not in the npm
 * package. The env runners' worker module ({@linkcode WORKER_ENTRY}) is bundled as one more
 * entry, and the pool's `new URL("./worker.ts", import.meta.url)` rewritten to point at it; under
 * Node the pool starts it in a worker thread (`src/runtime/workers.ts`).
 * Types: none yet (`deno bundle --declaration` fails on tfjs's DOM/WebGPU types under Deno's
 * libs), so TypeScript users under Node see the entry points as untyped.
 *
 * @module
 */

import { parseArgs } from "node:util";

const ROOT = new URL("../", import.meta.url);
/** `deno.json` entry points that are Deno adapters (they call `Deno.*`): not in the package. */
export const DENO_ONLY_ENTRIES: readonly string[] = ["./runtime", "./loggers", "./run"];

/**
 * The env runners' worker module, bundled as one more entry (`esm/src/runners/worker.js`, not an
 * export): the runner pool starts it by URL (`new URL("./worker.ts", import.meta.url)`), which
 * the build rewrites to the bundled file's path relative to the chunk holding the pool.
 */
export const WORKER_ENTRY = "src/runners/worker.ts";
/** The pool's reference to its worker module, as it appears in the bundle. */
const WORKER_URL_SOURCE = `new URL("./worker.ts", import.meta.url)`;

/** The npm package's entry points: `deno.json`'s exports but the Deno adapters. */
function entries(exports: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [sub, file] of Object.entries(exports)) {
    if (!DENO_ONLY_ENTRIES.includes(sub)) out[sub] = file.replace(/^\.\//, "");
  }
  if (out["."] !== "mod.ts") throw new Error(`"." must be mod.ts (the root of the bundle)`);
  return out;
}

interface GraphModule {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier: string } }[];
}

/** The npm packages the project's own modules import, as name → exact version. */
async function npmDependencies(entry: string): Promise<Map<string, string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const modules: GraphModule[] = JSON.parse(new TextDecoder().decode(out.stdout)).modules;
  const deps = new Map<string, string>();
  for (const m of modules) {
    if (!m.specifier.startsWith(ROOT.href)) continue;
    for (const d of m.dependencies ?? []) {
      const code = d.code?.specifier ?? "";
      const match = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)@([^/_]+)/.exec(code);
      if (match) deps.set(match[1]!, match[2]!);
    }
  }
  return deps;
}

/**
 * Points the runner pool's worker URL at the bundled worker entry: every
 * `new URL("./worker.ts", import.meta.url)` in a bundled file becomes the path of
 * `esm/src/runners/worker.js` relative to that file.
 * @param esm the bundle's directory
 * @throws {Error} when no file holds the pool's reference (the bundle changed shape) or the
 *   worker entry is missing
 */
async function rewriteWorkerUrl(esm: string): Promise<void> {
  const worker = `${esm}/${WORKER_ENTRY.replace(/\.ts$/, ".js")}`;
  await Deno.stat(worker);
  let found = 0;
  const visit = async (dir: string, depth: number): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) {
        await visit(path, depth + 1);
        continue;
      }
      if (!e.name.endsWith(".js")) continue;
      const text = await Deno.readTextFile(path);
      if (!text.includes(WORKER_URL_SOURCE)) continue;
      const rel = `${depth === 0 ? "./" : "../".repeat(depth)}${
        WORKER_ENTRY.replace(/\.ts$/, ".js")
      }`;
      found++;
      await Deno.writeTextFile(
        path,
        text.replaceAll(WORKER_URL_SOURCE, `new URL(${JSON.stringify(rel)}, import.meta.url)`),
      );
    }
  };
  await visit(esm, 0);
  if (found === 0) {
    throw new Error(
      `No bundled file refers to the runner pool's worker (${WORKER_URL_SOURCE}): the env runners would not start under Node`,
    );
  }
}

/**
 * Builds the package.
 * @param outDir where to write it (emptied first)
 * @returns the package.json written
 */
export async function buildNpm(outDir: string): Promise<Record<string, unknown>> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const ENTRIES = entries(config.exports);
  const deps = new Map<string, string>();
  for (const file of [...Object.values(ENTRIES), WORKER_ENTRY]) {
    for (const [name, version] of await npmDependencies(file)) deps.set(name, version);
  }
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(outDir, { recursive: true });
  const externals = [...deps.keys()].flatMap((n) => ["--external", n, "--external", `${n}/*`]);
  const bundle = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--code-splitting",
      ...externals,
      "--outdir",
      `${outDir}/esm`,
      ...Object.values(ENTRIES),
      WORKER_ENTRY,
    ],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!bundle.success) throw new Error("deno bundle failed (see above)");
  // Every import left in the output must be a Node built-in, a dependency or a chunk.
  const check = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) {
        await check(`${dir}/${e.name}`);
        continue;
      }
      const text = await Deno.readTextFile(`${dir}/${e.name}`);
      for (const m of text.matchAll(/^\s*(?:import|export)\b[^"'\n]*?from\s+["']([^"']+)["']/gm)) {
        const spec = m[1]!;
        const bare = spec.startsWith("@")
          ? spec.split("/").slice(0, 2).join("/")
          : spec.split("/")[0]!;
        if (!spec.startsWith("node:") && !spec.startsWith(".") && !deps.has(bare)) {
          throw new Error(`${dir}/${e.name} imports "${spec}", which the package does not provide`);
        }
      }
    }
  };
  await check(`${outDir}/esm`);
  await rewriteWorkerUrl(`${outDir}/esm`);
  const exports: Record<string, unknown> = {};
  for (const [sub, file] of Object.entries(ENTRIES)) {
    // esbuild keeps the entries' paths below their common directory (the root: mod.ts).
    exports[sub] = { import: `./esm/${file.replace(/\.ts$/, ".js")}` };
  }
  const pkg = {
    name: config.name,
    version: config.version,
    description:
      "Hierarchical multi-agent reinforcement learning: envs in WebAssembly, PPO and DQN on TensorFlow.js's WASM backend",
    license: config.license,
    type: "module",
    exports,
    main: "./esm/mod.js",
    files: ["esm/", "README.md", "LICENSE"],
    engines: { node: ">=20" },
    dependencies: Object.fromEntries([...deps].sort(([a], [b]) => a.localeCompare(b))),
  };
  await Deno.writeTextFile(`${outDir}/package.json`, JSON.stringify(pkg, null, 2) + "\n");
  await Deno.copyFile(new URL("LICENSE", ROOT), `${outDir}/LICENSE`);
  await Deno.writeTextFile(
    `${outDir}/README.md`,
    `# ${config.name} for Node

The Node (20 and newer) build of ${config.name}, made by \`deno task build:npm\` from the
Deno sources. Entry points: \`${config.name}\` (everything, training included; loads
TensorFlow.js) and \`${config.name}/envs\` (the envs, spaces and hierarchy; no TensorFlow.js).
The WASM backend reads its binary from the installed \`@tensorflow/tfjs-backend-wasm\` unless
\`initBackend({ wasm })\` supplies one. See the project's README and docs/ARCHITECTURE.md.
`,
  );
  return pkg;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string" } },
    strict: true,
  });
  const out = values.out ?? new URL("dist/npm", ROOT).pathname;
  const t0 = performance.now();
  const pkg = await buildNpm(out);
  const deps = Object.entries(pkg.dependencies as Record<string, string>)
    .map(([n, v]) => `${n}@${v}`).join(", ");
  console.log(
    `Built ${pkg.name}@${pkg.version} for Node in ${out} (${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s); dependencies: ${deps}`,
  );
}
