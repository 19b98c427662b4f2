// Runs under Node with the npm package installed (`@coop/rl` from node_modules); prints one JSON
// line. Usage:
//   node run.mjs rollout <checkpoint file> <seed,seed,...>   greedy episodes, restored policies
//   node run.mjs train <seed> <target reward> <max env steps>
//   node run.mjs entries                                      the entry points but "."
//   node run.mjs wasm <default|module|bytes|path|url> [<.wasm file>]  the backend's binary
//   node run.mjs runners <seed> <iterations>   2 env runners in worker threads, twice
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { greedyEpisodes, randomReward, train } from "./maze.mjs";

const [cmd, ...args] = process.argv.slice(2);
// Which tfjs modules Node has loaded (CommonJS cache: tfjs's Node entry points are CommonJS).
const tfjsLoaded = () =>
  Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes("@tensorflow"))
    .length;

if (cmd === "entries") {
  // Every entry point but "." (envs, the exported-policy runner) must load no tfjs.
  const pkg = JSON.parse(
    readFileSync(new URL("./node_modules/@coop/rl/package.json", import.meta.url), "utf8"),
  );
  const entries = Object.keys(pkg.exports).filter((e) => e !== ".");
  for (const e of entries) await import(`@coop/rl/${e.slice(2)}`);
  const envs = await import("@coop/rl/envs");
  const env = envs.createHierarchicalWindyMaze(2, { seed: 1 });
  env.reset();
  console.log(JSON.stringify({
    entries,
    agent: env.agentId(0),
    tfjsModules: tfjsLoaded(),
    randomReward: randomReward(envs, 20, 1),
  }));
} else {
  const coop = await import("@coop/rl");
  if (cmd === "rollout") {
    const bytes = new Uint8Array(readFileSync(args[0]));
    const seeds = args[1].split(",").map(Number);
    const episodes = await greedyEpisodes(coop, bytes, seeds);
    console.log(JSON.stringify({ episodes, backend: coop.activeBackend(), node: process.version }));
  } else if (cmd === "wasm") {
    const [kind, file] = args;
    try {
      const wasm = kind === "default"
        ? undefined
        : kind === "module"
        ? new WebAssembly.Module(readFileSync(file))
        : kind === "bytes"
        ? new Uint8Array(readFileSync(file))
        : kind === "path"
        ? file
        : new URL(`file://${file}`);
      const info = await coop.initBackend({ wasm });
      // The application's tfjs-core is the package's (one instance, deduplicated by npm).
      const tf = await import("@tensorflow/tfjs-core");
      const y = tf.tidy(() => Array.from(tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync()));
      console.log(JSON.stringify({ info, y, tfBackend: tf.getBackend() }));
    } catch (e) {
      console.log(JSON.stringify({ error: e.message }));
    }
  } else if (cmd === "runners") {
    // Two env runners in Node worker threads (runners.mjs is their module), run twice: the
    // same seed and runner count must give the same weights.
    const { config } = await import("./runners.mjs");
    const [seed, iterations] = args.map(Number);
    const once = async () => {
      const t0 = performance.now();
      const algo = await config({ seed })
        .envRunners({
          numEnvRunners: 2,
          runnerModule: new URL("./runners.mjs", import.meta.url).href,
          runnerArgs: { seed },
        })
        .build();
      try {
        const results = [];
        for (let i = 0; i < iterations; i++) results.push(await algo.train());
        const last = results.at(-1);
        return {
          numEnvRunners: last.num_env_runners,
          timesteps: last.timesteps_total,
          episodes: last.episodes_total,
          rewards: results.map((r) => r.episode_reward_mean),
          weights: algo.policyIds.map((id) => Array.from(algo.getModel(id).getFlatWeights())),
          seconds: (performance.now() - t0) / 1000,
        };
      } finally {
        algo.dispose();
      }
    };
    const a = await once(), b = await once();
    console.log(JSON.stringify({
      ...a,
      weights: undefined,
      same: JSON.stringify(a.weights) === JSON.stringify(b.weights) &&
        JSON.stringify(a.rewards) === JSON.stringify(b.rewards),
      node: process.version,
    }));
  } else if (cmd === "train") {
    const [seed, target, maxSteps] = args.map(Number);
    const r = await train(coop, { seed, target, maxSteps });
    console.log(JSON.stringify({ ...r, tfjsModules: tfjsLoaded(), node: process.version }));
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
}
