import assert from "node:assert/strict";
import { createHierarchicalWindyMaze } from "../envs/hierarchical_windy_maze.ts";
import { createWindyMaze } from "../envs/windy_maze.ts";
import { createTicTacToe } from "../envs/tic_tac_toe.ts";
import { ACTIVE, TRUNCATED } from "./batched.ts";
import { FrameStack } from "./frame_stack.ts";
import { setEpisodeLimit } from "./wasm.ts";

Deno.test("episode limit: a maze episode is truncated after n steps, final observation kept", () => {
  const env = createWindyMaze(3, { seed: 1 });
  env.setEpisodeLimit(5);
  assert.equal(env.episodeLimit, 5);
  env.reset(1);
  const lengths: number[] = [];
  const len = [0, 0, 0];
  for (let t = 0; t < 40; t++) {
    env.groups[0]!.act.fill(0); // stay: never reaches the goal
    const before = env.groups[0]!.obs.slice();
    env.step();
    for (let i = 0; i < 3; i++) {
      len[i]!++;
      if (env.envDone[i] === 1) {
        assert.equal(env.envTruncated[i], 1);
        assert.equal(env.flags[i]! & TRUNCATED, TRUNCATED);
        assert.equal(env.flags[i]! & ACTIVE, ACTIVE, "auto-reset: a new agent acts");
        // Staying keeps the position; the final observation is the ended agent's.
        assert.deepEqual([...env.groups[0]!.finalObs.subarray(i * 6, i * 6 + 2)], [
          ...before.subarray(i * 6, i * 6 + 2),
        ]);
        lengths.push(len[i]!);
        len[i] = 0;
      }
    }
  }
  assert.deepEqual([...new Set(lengths)], [5]);
  assert.equal(lengths.length, 3 * 8);
  env.setEpisodeLimit(0);
  assert.equal(env.episodeLimit, 0);
  assert.throws(() => env.setEpisodeLimit(-1), /non-negative integer, got -1/);
});

Deno.test("episode limit: counted per env, restarted at reset, saved with the state", () => {
  const env = createTicTacToe(2, { seed: 3 });
  env.setEpisodeLimit(3);
  env.reset(3);
  // Player 1 plays cell 0, player 2 cell 1, player 1 cell 2: three moves, no winner yet.
  for (const cell of [0, 1]) {
    env.groups[0]!.act.fill(cell);
    env.step();
    assert.equal(env.envDone[0], 0);
  }
  const state = env.saveState();
  env.groups[0]!.act.fill(2);
  env.step();
  assert.equal(env.envDone[0], 1);
  assert.equal(env.envTruncated[0], 1, "a game cut by the limit is truncated, not drawn");
  const again = createTicTacToe(2, { seed: 9 });
  again.loadState(state);
  assert.equal(again.episodeLimit, 3);
  again.groups[0]!.act.fill(2);
  again.step();
  assert.equal(again.envTruncated[0], 1);
  env.reset(3);
  env.groups[0]!.act.fill(0);
  env.step();
  assert.equal(env.envDone[0], 0, "counts restart at reset");
});

Deno.test("episode limit through a hierarchy and frame stacks; a TS env is refused by name", () => {
  const h = createHierarchicalWindyMaze(2, { seed: 1 });
  setEpisodeLimit(new FrameStack(h, 2), 7);
  assert.equal((h.base as unknown as { episodeLimit: number }).episodeLimit, 7);
  assert.throws(
    () => setEpisodeLimit({ constructor: { name: "MyEnv" } } as never, 5),
    /maxStepsPerEpisode: Object has no WASM env|maxStepsPerEpisode: .* has no WASM env/,
  );
});
