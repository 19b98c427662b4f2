/// <reference lib="webworker" />
/**
 * One env runner of the browser page (`?runners=N`): a Web Worker nested in the training
 * worker, bundled on its own (a browser worker cannot import the trainer's runner module by URL
 * at run time), serving `config.ts`'s config with {@linkcode serveEnvRunner}. It points tfjs's
 * WASM backend at the binaries served beside the page first, as the training worker does.
 *
 * @module
 */

import { initBackend, serveEnvRunner } from "@coop/rl";
import { config } from "./config.ts";

await initBackend({ backend: "wasm", wasm: new URL("/tfjs/", self.location.href) });
await serveEnvRunner(config);
