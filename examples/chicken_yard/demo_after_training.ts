/**
 * The tutorial's `demo_after_training.py`: loads both policies from a checkpoint written by
 * `train.ts` and plays one yard greedily, printing it after every step and the rewards as they
 * come.
 *
 * ```sh
 * deno run -A examples/chicken_yard/train.ts                   # writes runs/chicken_yard-seed0
 * deno run -A examples/chicken_yard/demo_after_training.ts     # newest checkpoint there
 * deno run -A examples/chicken_yard/demo_after_training.ts --seed 7 --every 5
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ChickenYardEnv, policyFromCheckpoint, type SpaceValue } from "@coop/rl";
import { FileStorage } from "@coop/rl/runtime";

const HELP = `Usage: deno run -A examples/chicken_yard/demo_after_training.ts [options]

  --run DIR          a train.ts output directory (default runs/chicken_yard-seed0)
  --checkpoint PATH  a checkpoint inside it (default: the newest in DIR/checkpoints)
  --seed N           seed of the yard (default 1)
  --any              the tutorial's "any chicken" rule (train with --any too)
  --continuous       continuous low-level actions (train with --continuous too)
  --every N          print the yard every N steps (default 1)
  --explore          sample actions instead of taking the most likely ones
  -h, --help         this help`;

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    run: { type: "string", default: "runs/chicken_yard-seed0" },
    checkpoint: { type: "string" },
    seed: { type: "string", default: "1" },
    any: { type: "boolean", default: false },
    continuous: { type: "boolean", default: false },
    every: { type: "string", default: "1" },
    explore: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (v.help) {
  console.log(HELP);
  Deno.exit(0);
}

const storage = new FileStorage(v.run);
const path = v.checkpoint ??
  (await storage.list("checkpoints")).filter((p) => p.endsWith(".ckpt")).sort()
    .map((name) => `checkpoints/${name}`).at(-1);
if (path === undefined) {
  console.error(`No checkpoint in ${v.run}/checkpoints: run examples/chicken_yard/train.ts first`);
  Deno.exit(1);
}
const high = await policyFromCheckpoint(storage, path, "high_level_policy");
const low = await policyFromCheckpoint(storage, path, "low_level_policy");
const env = new ChickenYardEnv({
  targetMode: v.any ? "any" : "target",
  lowAction: v.continuous ? "continuous" : "discrete",
});
const every = Math.max(1, Number(v.every));
const explore = v.explore!;
console.log(`policies from ${v.run}/${path}`);
let { obs } = env.reset({ seed: Number(v.seed) });
console.log(env.render());
const total: Record<string, number> = {};
for (let t = 1;; t++) {
  // Both robots share each policy: one batched call per level (RLlib's compute_actions).
  const actions: Record<string, SpaceValue> = {};
  const ids = Object.keys(obs);
  for (const [policy, ofLevel] of [[high, "high"], [low, "low"]] as const) {
    const mine = ids.filter((id) => id.includes(ofLevel));
    if (mine.length === 0) continue;
    const acts = policy.computeActions(mine.map((id) => obs[id]), { explore });
    mine.forEach((id, i) => (actions[id] = acts[i]!));
  }
  const r = env.step(actions);
  for (const [id, x] of Object.entries(r.rewards)) total[id] = (total[id] ?? 0) + x;
  const ended = Object.entries(r.terminateds).filter(([id, d]) => d && id !== "__all__");
  if (t === 1 || t % every === 0 || ended.length > 0 || r.terminateds.__all__) {
    console.log(`step ${t}: rewards ${JSON.stringify(r.rewards)}`);
    console.log(env.render());
  }
  if (r.terminateds.__all__ || r.truncateds.__all__) {
    console.log(`episode over after ${t} steps; returns ${JSON.stringify(total)}`);
    break;
  }
  obs = r.obs;
}
high.dispose();
low.dispose();
