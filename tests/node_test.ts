/**
 * The npm package under Node itself: builds it (`scripts/build_npm.ts`, what
 * `deno task build:npm` runs) into a temporary directory, packs it with `npm pack`, installs the
 * tarball into a fresh project with `npm install` (its dependencies, TensorFlow.js and zod,
 * from the registry or npm's cache), and runs `tests/node/run.mjs` there with `node`:
 * - the entry points but `@coop/rl` itself (`@coop/rl/envs`, ...) load no tfjs;
 * - the WASM backend takes its binary from the caller (module, bytes, path, `file:` URL) with
 *   the installed tfjs's own `.wasm` files moved away, and the default fails without them;
 * - a hierarchical windy maze rollout with both policies restored from a checkpoint the Deno
 *   side trained (to a mean reward of 50) and saved: the same actions, lengths and rewards as
 *   Deno's, and far above random play;
 * - a training run under Node that learns (mean reward ≥ 80 within 150k env steps; random play
 *   scores about -20);
 * - 2 env runners in Node's worker threads (`tests/node/runners.mjs` their module): 4
 *   iterations, twice, the same weights and rewards.
 *
 * Needs `node` (20 or newer) and `npm` on the PATH.
 */

import assert from "node:assert/strict";
import * as coop from "../mod.ts";
import { buildNpm } from "../scripts/build_npm.ts";
import { greedyEpisodes, randomReward, train } from "./node/maze.mjs";

const canRun = Deno.permissions.querySync({ name: "run" }).state === "granted";
const NODE_DIR = new URL("./node/", import.meta.url);

async function run(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ ok: boolean; out: string; err: string }> {
  const o = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { ok: o.success, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

/** Runs `node run.mjs ...` in the project; returns its last stdout line as JSON. */
async function node(project: string, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await run("node", ["run.mjs", ...args], project);
  assert.ok(r.ok, `node run.mjs ${args.join(" ")} failed:\n${r.err}`);
  return JSON.parse(r.out.trim().split("\n").pop()!);
}

/** Builds, packs and installs the package into a fresh project; returns the project's path. */
async function installPackage(tmp: string): Promise<string> {
  const pkgDir = `${tmp}/pkg`, project = `${tmp}/project`;
  await buildNpm(pkgDir);
  const pack = await run("npm", ["pack", "--silent"], pkgDir);
  assert.ok(pack.ok, `npm pack failed:\n${pack.err}`);
  const tgz = pack.out.trim().split("\n").pop()!;
  await Deno.mkdir(project);
  await Deno.writeTextFile(
    `${project}/package.json`,
    JSON.stringify({ name: "coop-node-test", private: true, type: "module" }),
  );
  const install = await run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--prefer-offline",
    "--loglevel=error",
    `${pkgDir}/${tgz}`,
  ], project);
  assert.ok(install.ok, `npm install failed:\n${install.err}`);
  for (const f of ["run.mjs", "maze.mjs", "runners.mjs"]) {
    await Deno.copyFile(new URL(f, NODE_DIR), `${project}/${f}`);
  }
  return project;
}

Deno.test({
  name: "the npm package under Node: envs, WASM sources, a restored policy's rollout, training",
  ignore: !canRun,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const version = await run("node", ["--version"], ".");
    assert.ok(version.ok, "node is not on the PATH");
    assert.ok(Number(/^v(\d+)/.exec(version.out)![1]) >= 20, `Node ${version.out} < 20`);
    const tmp = await Deno.makeTempDir({ prefix: "coop-node-" });
    try {
      // The install runs while Deno trains the policies the rollout restores.
      const installing = installPackage(tmp);
      installing.catch(() => {});
      // Trained far enough to be well above random play, not further (the test's time).
      const t0 = performance.now();
      const trained = await train(coop, { seed: 0, target: 50, maxSteps: 150_000, keep: true });
      assert.notEqual(
        trained.reachedAt,
        null,
        `Deno's training did not reach 50: ${trained.curve}`,
      );
      const ckpt = `${tmp}/maze.ckpt`;
      await Deno.writeFile(ckpt, trained.checkpoint!);
      const project = await installing;
      const t1 = performance.now();

      // The entry points but "." (envs, ...) load no tfjs module under Node either.
      const entries = await node(project, "entries");
      assert.ok((entries.entries as string[]).includes("./envs"), JSON.stringify(entries));
      assert.equal(entries.agent, "high_level_agent");
      assert.equal(entries.tfjsModules, 0);

      // The backend's binary from the caller, with tfjs's own files moved away.
      const dist = `${project}/node_modules/@tensorflow/tfjs-backend-wasm/dist`;
      const away = `${tmp}/wasm`;
      await Deno.mkdir(away);
      for (const f of coop.TFJS_WASM_FILES) await Deno.rename(`${dist}/${f}`, `${away}/${f}`);
      const simd = `${away}/tfjs-backend-wasm-simd.wasm`;
      const ok = { info: { name: "wasm", simd: true, threads: 1 }, y: [3, 3, 3, 3] };
      for (const kind of ["module", "bytes", "path", "url"]) {
        assert.deepEqual(
          await node(project, "wasm", kind, simd),
          { ...ok, tfBackend: "wasm" },
          kind,
        );
      }
      const missing = await node(project, "wasm", "default");
      assert.match(String(missing.error), /ENOENT.*tfjs-backend-wasm-simd\.wasm/);
      for (const f of coop.TFJS_WASM_FILES) await Deno.rename(`${away}/${f}`, `${dist}/${f}`);
      assert.deepEqual(await node(project, "wasm", "default"), { ...ok, tfBackend: "wasm" });

      // A rollout with the Deno-trained policies: Node acts as Deno does.
      const seeds = [1, 2, 3, 4, 5];
      const here = await greedyEpisodes(coop, trained.checkpoint!, seeds);
      const there = await node(project, "rollout", ckpt, seeds.join(","));
      assert.deepEqual(there.episodes, here);
      const random = randomReward(coop, 100, 7);
      const greedy = here.reduce((s, e) => s + e.reward, 0) / here.length;
      assert.ok(greedy > random + 50, `greedy ${greedy} vs random ${random}`);

      // Env runners in Node's worker threads (the bundled worker entry, `src/runtime/workers.ts`
      // over worker_threads): 2 runners × 8 envs × 64 steps × 4 iterations, twice, same run.
      const tr = performance.now();
      const rn = await node(project, "runners", "0", "4");
      assert.equal(rn.numEnvRunners, 2);
      assert.equal(rn.timesteps, 2 * 8 * 64 * 4);
      assert.ok((rn.episodes as number) > 0, JSON.stringify(rn));
      assert.equal(rn.same, true, "same seed and runner count, same weights");
      const runnersSeconds = ((performance.now() - tr) / 1000).toFixed(1);

      // Training under Node learns.
      const t2 = performance.now();
      const t = await node(project, "train", "0", "80", "150000");
      assert.notEqual(t.reachedAt, null, `Node's training did not reach 80: ${t.curve}`);
      assert.ok((t.finalReward as number) >= 80);
      assert.ok((t.tfjsModules as number) > 0);
      // Same seed, same WASM, same JS: Node's curve begins as Deno's did (reported, not
      // asserted: V8's Math functions could differ between versions).
      const prefix = (t.curve as unknown[]).slice(0, trained.curve.length);
      const same = JSON.stringify(prefix) === JSON.stringify(trained.curve); // NaN → null both
      const s = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
      console.log(
        `Deno trained to ≥ 50 at ${trained.reachedAt} env steps (${trained.envStepsPerS}/s) ` +
          `while npm installed: ${s(t0, t1)} s; Node checks and rollout ${s(t1, t2)} s; ` +
          `Node ${t.node} training: ≥ 80 at ${t.reachedAt} env steps, ${t.seconds} s ` +
          `(${t.envStepsPerS}/s), same curve as Deno's so far: ${same}; greedy rollouts ` +
          `${greedy.toFixed(1)} vs random ${random.toFixed(1)}; 2 env runners in worker threads, ` +
          `4 iterations twice: ${runnersSeconds} s`,
      );
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
