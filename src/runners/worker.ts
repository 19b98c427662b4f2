/**
 * One env runner, the module a Web Worker runs (`new Worker(url, { type: "module" })`) unless
 * the config names a `runnerWorker` of its own: {@linkcode serveEnvRunner} with the config of the
 * module the trainer names in each `init` (`runnerModule`).
 *
 * @module
 */

import { serveEnvRunner } from "./serve.ts";

await serveEnvRunner();
