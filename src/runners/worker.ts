/**
 * One env runner, the module a Web Worker runs (`new Worker(url, { type: "module" })`). On
 * `init` it imports the user's runner module, takes its `config` (an `AlgorithmConfig` or a
 * function of `runnerArgs` returning one) for what cannot be sent (the env creator, the
 * mapping, `policiesToTrain`, policy classes), overrides what the trainer sends (envs per
 * runner, fragment length, env config, training params, per-policy overrides, backend, seed)
 * and builds a trainer of its own whose envs and action sampling are seeded per runner. On
 * `sample` it loads the weights, collects one fragment, lets each trained policy's learner
 * post-process its rows with the runner's model copy (PPO: GAE, V(final obs) included), and
 * answers with compact per-policy batches (their typed arrays transferred) and the fragment's
 * finished episodes. Any error is answered with its message. No `Deno.*`: Web APIs only.
 *
 * @module
 */

import { copySampleBatch } from "../rollout/buffer.ts";
import { Algorithm } from "../train/algorithm.ts";
import { spaceFromJSON, spaceToJSON } from "../train/checkpoint.ts";
import { MemoryStorage } from "../train/storage.ts";
import type { AlgorithmConfig } from "../train/config.ts";
import {
  type AlgorithmSettings,
  DEFAULT_CHECKPOINT,
  DEFAULT_EVALUATION,
} from "../train/settings.ts";
import { takeNewEpisodes } from "./metrics.ts";
import {
  batchTransferables,
  type FragmentMessage,
  type FromRunner,
  type InitMessage,
  packBatch,
  type PolicySpaces,
  type SampleMessage,
  type ToRunner,
} from "./protocol.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToRunner>) => void) | null;
  postMessage(message: FromRunner, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
let algo: Algorithm | undefined;
// Messages are handled one at a time, in order.
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (e: MessageEvent<ToRunner>) => {
  const m = e.data;
  queue = queue.then(async () => {
    try {
      if (m.type === "init") {
        algo = await init(m);
        scope.postMessage({ type: "ready" });
      } else if (m.type === "sample") {
        if (algo === undefined) throw new Error("sample before init");
        const { msg, transfer } = sample(algo, m);
        scope.postMessage(msg, transfer);
      } else if (m.type === "save" || m.type === "restore") {
        if (algo === undefined) throw new Error(`${m.type} before init`);
        const storage = new MemoryStorage();
        let bytes: Uint8Array = new Uint8Array(0);
        if (m.type === "save") {
          await algo.save({ storage, path: "runner.ckpt" });
          bytes = (await storage.read("runner.ckpt"))!;
        } else {
          await storage.write("runner.ckpt", m.bytes!);
          await algo.restore({ storage, path: "runner.ckpt" });
        }
        const transfer = bytes.buffer instanceof ArrayBuffer ? [bytes.buffer] : [];
        scope.postMessage({ type: "state", id: m.id, bytes }, transfer);
      }
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      scope.postMessage({
        type: "error",
        id: m.type === "init" ? undefined : m.id,
        message: e.message,
        stack: e.stack,
      });
    }
  });
};

type ConfigExport =
  | AlgorithmConfig<object>
  | ((args: unknown) => AlgorithmConfig<object> | Promise<AlgorithmConfig<object>>);

async function init(m: InitMessage): Promise<Algorithm> {
  const mod = await import(m.runnerModule) as { config?: ConfigExport };
  const exported = mod.config;
  const cfg = typeof exported === "function" ? await exported(m.runnerArgs) : exported;
  const base = (cfg as { config?: AlgorithmSettings<object> } | undefined)?.config;
  if (base === undefined || typeof base !== "object" || base.family === undefined) {
    throw new TypeError(
      `Runner module ${m.runnerModule} must export \`config\`: an AlgorithmConfig (e.g. new PPOConfig()...) or a function returning one`,
    );
  }
  if (base.family.name !== m.family) {
    throw new RangeError(
      `Runner module ${m.runnerModule} configures ${base.family.name}, the trainer runs ${m.family}`,
    );
  }
  const ids = Object.keys(base.multiAgent.policies);
  if (ids.join("\0") !== m.policyIds.join("\0")) {
    throw new RangeError(
      `Runner module ${m.runnerModule} declares policies [${ids.join(", ")}], the trainer [${
        m.policyIds.join(", ")
      }] (same ids, same order)`,
    );
  }
  const policies: AlgorithmSettings<object>["multiAgent"]["policies"] = {};
  for (const id of ids) {
    policies[id] = { ...base.multiAgent.policies[id], config: m.policyConfigs[id] };
  }
  const settings: AlgorithmSettings<object> = {
    ...base,
    envConfig: m.envConfig,
    numEnvs: m.numEnvs,
    rolloutFragmentLength: m.rolloutFragmentLength,
    training: m.training as AlgorithmSettings<object>["training"],
    multiAgent: { ...base.multiAgent, policies },
    backend: m.backend,
    seed: m.seed,
    evaluation: { ...DEFAULT_EVALUATION, evaluationConfig: { explore: false } },
    checkpoint: { ...DEFAULT_CHECKPOINT },
    envRunners: undefined,
  };
  return await Algorithm.create(settings, { envSeed: m.envSeed, collectorSeed: m.collectorSeed });
}

function sample(a: Algorithm, m: SampleMessage): { msg: FragmentMessage; transfer: ArrayBuffer[] } {
  const t0 = performance.now();
  const ids = a.policyIds;
  ids.forEach((id, p) => {
    const sp = m.spaces[p];
    if (sp !== null && sp !== undefined && a.getPolicy(id) === undefined) {
      a.adoptPolicy(
        id,
        spaceFromJSON(sp.observationSpace),
        spaceFromJSON(sp.actionSpace),
        sp.inferredFrom ?? undefined,
      );
    }
    const w = m.weights[p];
    if (w !== null && w !== undefined) a.getModel(id)?.setFlatWeights(w);
  });
  for (const id of ids) a.getLearner(id)?.beforeSample(m.timesteps);
  const c = a.collector;
  const env0 = c.envSteps;
  const agents0 = Array.from(c.agentSteps);
  c.collect();
  const transfer: ArrayBuffer[] = [];
  const batches = ids.map((id, p) => {
    const buf = c.buffer(p);
    const learner = a.getLearner(id);
    if (learner === undefined || buf === undefined) return null;
    learner.postprocess(buf);
    const b = packBatch(copySampleBatch(buf.compact()));
    transfer.push(...batchTransferables(b));
    return b;
  });
  const built = ids.map((id): PolicySpaces | null => {
    const s = a.policySpaces(id);
    return s === undefined ? null : {
      observationSpace: spaceToJSON(s.observationSpace),
      actionSpace: spaceToJSON(s.actionSpace),
      inferredFrom: s.inferredFrom ?? null,
    };
  });
  const episodes = takeNewEpisodes(c.getState(false), ids.length);
  c.takeIterationCounts();
  return {
    msg: {
      type: "fragment",
      id: m.id,
      envSteps: c.envSteps - env0,
      agentSteps: Array.from(c.agentSteps, (n, p) => n - agents0[p]!),
      batches,
      built,
      episodes,
      seconds: (performance.now() - t0) / 1000,
    },
    transfer,
  };
}
