// The hierarchical windy maze runs the Node test shares between Deno (which imports this file
// with the package's sources) and Node (which imports it with the built npm package): the
// trainer's config, a greedy rollout with policies restored from a checkpoint, and a training
// run. Each function takes the package's namespace (`@coop/rl`) as its first argument, so the
// same code runs against either build.

/** The policy an agent maps to. */
export const mapping = (id) =>
  id.startsWith("low_level_") ? "low_level_policy" : "high_level_policy";

/**
 * examples/hierarchical.ts's hierarchical config (two PPO policies, 64 envs, 4096 steps per
 * iteration).
 */
export function mazeConfig(coop, seed) {
  return new coop.PPOConfig()
    .environment(({ numEnvs, seed }) => coop.createHierarchicalWindyMaze(numEnvs, { seed }))
    .envRunners({ numEnvs: 64, rolloutFragmentLength: 64 })
    .training({ entropyCoeff: 0.01 })
    .debugging({ seed })
    .multiAgent({
      policies: {
        high_level_policy: { config: { gamma: 0.9, numEpochs: 30, minibatchSize: 128 } },
        low_level_policy: { config: { gamma: 0.0, lr: 6e-3 } },
      },
      policyMappingFn: mapping,
    });
}

/**
 * Greedy episodes of the hierarchical maze (one env, dict face) with both policies restored
 * from checkpoint bytes.
 * @returns per seed: the episode's total reward, its length and a digest of every action
 */
export async function greedyEpisodes(coop, checkpointBytes, seeds) {
  const storage = new coop.MemoryStorage();
  await storage.write("maze.ckpt", checkpointBytes);
  const policies = {
    high_level_policy: await coop.policyFromCheckpoint(storage, "maze.ckpt", "high_level_policy"),
    low_level_policy: await coop.policyFromCheckpoint(storage, "maze.ckpt", "low_level_policy"),
  };
  const episodes = [];
  for (const seed of seeds) {
    const env = new coop.DictEnv(coop.createHierarchicalWindyMaze(1, { seed }));
    let { obs } = env.reset({ seed });
    let reward = 0, steps = 0, digest = 0;
    for (;;) {
      const actions = {};
      for (const id of Object.keys(obs)) {
        const a = policies[mapping(id)].computeSingleAction(obs[id], { explore: false });
        actions[id] = a;
        digest = (Math.imul(digest, 31) + Number(a) + 1) | 0;
      }
      const r = env.step(actions);
      for (const v of Object.values(r.rewards)) reward += v;
      obs = r.obs;
      steps++;
      if (r.terminateds.__all__ || r.truncateds.__all__) break;
    }
    episodes.push({ seed, reward, steps, digest });
  }
  for (const p of Object.values(policies)) p.dispose();
  return episodes;
}

/**
 * Trains until the mean reward of the last 100 episodes reaches `target` or `maxSteps` env
 * steps have run.
 * @returns what was reached, when, and how fast the loop ran; `save` gives checkpoint bytes
 */
export async function train(coop, { seed, target, maxSteps, keep = false }) {
  const algo = await mazeConfig(coop, seed).build();
  const curve = [];
  let reachedAt = null, last;
  const t0 = performance.now();
  try {
    for (;;) {
      last = await algo.train();
      curve.push(Number(last.episode_reward_mean.toFixed(2)));
      if (coop.rewardReached(last, target)) {
        reachedAt = last.timesteps_total;
        break;
      }
      if (last.timesteps_total >= maxSteps) break;
    }
    const seconds = (performance.now() - t0) / 1000;
    const out = {
      seed,
      target,
      reachedAt,
      timesteps: last.timesteps_total,
      seconds: Number(seconds.toFixed(2)),
      envStepsPerS: Math.round(last.timesteps_total / seconds),
      finalReward: Number(last.episode_reward_mean.toFixed(2)),
      curve,
      backend: algo.backend,
      checkpoint: /** @type {Uint8Array | undefined} */ (undefined),
    };
    if (keep) {
      const storage = new coop.MemoryStorage();
      await algo.save({ storage, path: "maze.ckpt" });
      out.checkpoint = await storage.read("maze.ckpt");
    }
    return out;
  } finally {
    algo.dispose();
  }
}

/** Mean total reward of `episodes` episodes with uniformly random actions (the baseline). */
export function randomReward(coop, episodes, seed) {
  const env = new coop.DictEnv(coop.createHierarchicalWindyMaze(1, { seed }));
  const rng = new coop.Pcg32(seed);
  let total = 0;
  for (let e = 0; e < episodes; e++) {
    let { obs } = env.reset({ seed: seed + e });
    for (;;) {
      const actions = {};
      for (const id of Object.keys(obs)) actions[id] = env.actionSpace(id).sample(rng);
      const r = env.step(actions);
      for (const v of Object.values(r.rewards)) total += v;
      obs = r.obs;
      if (r.terminateds.__all__ || r.truncateds.__all__) break;
    }
  }
  return total / episodes;
}
