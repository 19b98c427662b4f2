/**
 * The tutorial's `demo_look_at_policies.py`: loads a checkpoint written by `train.ts` and
 * prints every variable of both policies with its shape. The high-level output has 10 units
 * (one per chicken), the low-level output 8 (one per direction), beside one value unit each in
 * the critics.
 *
 * ```sh
 * deno run -A examples/chicken_yard/look_at_policies.ts
 * deno run -A examples/chicken_yard/look_at_policies.ts --run runs/chicken_yard-seed0
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type ActorCriticModel, policyFromCheckpoint } from "@coop/rl";
import { FileStorage } from "@coop/rl/runtime";

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    run: { type: "string", default: "runs/chicken_yard-seed0" },
    checkpoint: { type: "string" },
  },
});
const storage = new FileStorage(v.run!);
const path = v.checkpoint ??
  (await storage.list("checkpoints")).filter((p) => p.endsWith(".ckpt")).sort()
    .map((name) => `checkpoints/${name}`).at(-1);
if (path === undefined) {
  console.error(`No checkpoint in ${v.run}/checkpoints: run examples/chicken_yard/train.ts first`);
  Deno.exit(1);
}
for (const id of ["high_level_policy", "low_level_policy"]) {
  const p = await policyFromCheckpoint(storage, path, id);
  const model = p.model!;
  console.log(`***** ${id} *****`);
  console.log(`observation ${p.observationSpace}`);
  console.log(`action      ${p.actionSpace}`);
  const features = (model as ActorCriticModel).features ?? [];
  if (features.length > 0) {
    console.log(`features   ${features.map((f) => JSON.stringify(f)).join(", ")}`);
  }
  let total = 0;
  for (const w of model.weightSpecs) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    total += n;
    console.log(`  ${w.name.padEnd(34)} [${w.shape.join(", ")}]`);
  }
  console.log(`  ${total} weights`);
  p.dispose();
}
