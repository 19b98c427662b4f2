/**
 * Writes `configs/schema.json`, the JSON Schema of experiment files (generated from the zod
 * schema in `src/runner/schema.ts`); `--check` fails when the committed file is stale.
 *
 * @module
 */

import { experimentJsonSchema } from "../src/runner/schema.ts";

const path = new URL("../configs/schema.json", import.meta.url);
const text = JSON.stringify(experimentJsonSchema(), null, 2) + "\n";
if (Deno.args.includes("--check")) {
  const old = await Deno.readTextFile(path).catch(() => "");
  if (old !== text) {
    console.error("configs/schema.json is stale: run `deno task schema`");
    Deno.exit(1);
  }
} else {
  await Deno.writeTextFile(path, text);
  console.log(`wrote ${path.pathname}`);
}
