/**
 * Builds what workerd serves (`worker.ts`): the bundled worker, the windy maze's WASM, the
 * exported policies' WebAssembly SIMD kernel (precompiled by workerd: it compiles no bytes at
 * run time), two exported policies, and the workerd config (Cap'n Proto text) binding them, listening on
 * 127.0.0.1 with no outbound network. Shared by `serve.ts`, the test and the load benchmark.
 *
 * @module
 */

import { exportPolicy, exportPolicyFromCheckpoint, windyMazeWasmBytes } from "@coop/rl";
import { exportedPolicyKernelWasmBytes } from "@coop/rl/policy";
import { FileStorage } from "@coop/rl/runtime";
import { bundleForBrowser } from "../_web.ts";
import { exampleConfig } from "../hierarchical.ts";

/** The two policies of the hierarchical windy maze. */
export const POLICY_IDS = ["high_level_policy", "low_level_policy"] as const;

/** The workerd binary from the pinned npm package. */
export function workerdBinary(): string {
  return new URL("../../node_modules/@cloudflare/workerd-linux-64/bin/workerd", import.meta.url)
    .pathname;
}

/**
 * The policies as exported JSON: from a checkpoint, or from a short training run (`iterations`
 * of the hierarchical windy maze, seed 0) when none is given.
 */
export async function exportedPolicies(
  checkpoint?: string,
  iterations = 3,
): Promise<Record<(typeof POLICY_IDS)[number], string>> {
  if (checkpoint !== undefined) {
    const i = checkpoint.lastIndexOf("/");
    const storage = new FileStorage(i < 0 ? "." : checkpoint.slice(0, i));
    const name = checkpoint.slice(i + 1);
    return {
      high_level_policy: await exportPolicyFromCheckpoint(storage, name, "high_level_policy"),
      low_level_policy: await exportPolicyFromCheckpoint(storage, name, "low_level_policy"),
    };
  }
  // examples/hierarchical.ts's configuration (the seed script's), 64 envs.
  const algo = await exampleConfig({ flat: false, seed: 0, numEnvs: 64, backend: "wasm" })
    .build();
  try {
    for (let i = 0; i < iterations; i++) await algo.train();
    return {
      high_level_policy: exportPolicy(algo.getModel("high_level_policy")!, "high_level_policy"),
      low_level_policy: exportPolicy(algo.getModel("low_level_policy")!, "low_level_policy"),
    };
  } finally {
    algo.dispose();
  }
}

/**
 * Writes the worker, its bindings and the workerd config into `dir`.
 * @param dir an empty directory
 * @param port the port on 127.0.0.1
 * @param checkpoint a hierarchical windy maze checkpoint (default: train briefly)
 * @returns the config's path and the exported policies
 */
export async function prepareWorkerd(
  dir: string,
  port: number,
  checkpoint?: string,
): Promise<{ config: string; policies: Record<string, string> }> {
  const policies = await exportedPolicies(checkpoint);
  const [worker] = await bundleForBrowser([new URL("./worker.ts", import.meta.url)]);
  await Deno.writeFile(`${dir}/worker.js`, worker!);
  await Deno.writeFile(`${dir}/windy_maze.wasm`, windyMazeWasmBytes());
  await Deno.writeFile(`${dir}/policy_kernel.wasm`, exportedPolicyKernelWasmBytes());
  await Deno.writeTextFile(`${dir}/high_level_policy.json`, policies.high_level_policy);
  await Deno.writeTextFile(`${dir}/low_level_policy.json`, policies.low_level_policy);
  const config = `${dir}/config.capnp`;
  await Deno.writeTextFile(
    config,
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .policyWorker),
    (name = "nowhere", network = (allow = [])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);

const policyWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "windy_maze.wasm", wasm = embed "windy_maze.wasm"),
    (name = "policy_kernel.wasm", wasm = embed "policy_kernel.wasm"),
  ],
  bindings = [
    (name = "HIGH_POLICY", text = embed "high_level_policy.json"),
    (name = "LOW_POLICY", text = embed "low_level_policy.json"),
  ],
  globalOutbound = "nowhere",
  compatibilityDate = "2025-01-01",
);
`,
  );
  return { config, policies };
}
