/**
 * The games example's board features: in random Connect Four games, every row of the wrapped
 * env is the inner row plus features that agree with a brute-force reading of the board, and
 * a fixed opponent behind `plainRows` sees the inner rows.
 */

import assert from "node:assert/strict";
import { ACTIVE, type BatchPolicy, createConnectFour, createTicTacToe, Pcg32 } from "@coop/rl";
import {
  connectFourFeatures,
  plainRows,
  ticTacToeFeatures,
  withBoardFeatures,
} from "./features.ts";

const ROWS = 6, COLS = 7, CELLS = 42;

/** Whether `who` (0 own, 1 opponent) has four in a row on the board of row `o` of `obs`. */
function four(obs: ArrayLike<number>, o: number, who: number): boolean {
  const at = (r: number, c: number) =>
    r >= 0 && r < ROWS && c >= 0 && c < COLS && obs[o + COLS + (r * COLS + c) * 2 + who] === 1;
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) {
      for (const [dr, dc] of [[0, 1], [1, 0], [1, 1], [1, -1]]) {
        if ([0, 1, 2, 3].every((k) => at(r + k * dr!, c + k * dc!))) return true;
      }
    }
  }
  return false;
}

Deno.test("board features: seat, playable cells and threats agree with the board", () => {
  const inner = createConnectFour(16, { seed: 3 });
  const f = connectFourFeatures();
  const env = withBoardFeatures(inner, f);
  const g = env.groups[0]!, ig = inner.groups[0]!;
  const I = ig.observationSpace.flatSize, O = g.observationSpace.flatSize;
  assert.equal(O, I + f.size);
  const rng = new Pcg32(5);
  env.reset();
  let checked = 0;
  for (let step = 0; step < 250; step++) {
    for (let s = 0; s < 32; s++) {
      if ((env.flags[s]! & ACTIVE) === 0) continue;
      const row = g.obs.subarray(s * O, (s + 1) * O);
      assert.deepEqual([...row.subarray(0, I)], [...ig.obs.subarray(s * I, (s + 1) * I)]);
      const x = row.subarray(I);
      assert.equal(x[0], env.agentId(s) === "player2" ? 1 : 0, "seat");
      const legal: number[] = [];
      for (let c = 0; c < COLS; c++) {
        // The playable cell of column c: the lowest empty one.
        let land = -1;
        for (let r = ROWS - 1; r >= 0 && land < 0; r--) {
          const k = COLS + (r * COLS + c) * 2;
          if (row[k] !== 1 && row[k + 1] !== 1) land = r;
        }
        for (let r = 0; r < ROWS; r++) {
          assert.equal(x[2 + r * COLS + c], r === land ? 1 : 0, `playable ${r},${c}`);
        }
        if (land < 0) continue;
        legal.push(c);
        // A threat at the playable cell: dropping there makes four.
        for (const who of [0, 1]) {
          const b = Float32Array.from(row.subarray(0, I));
          b[COLS + (land * COLS + c) * 2 + who] = 1;
          assert.equal(
            x[2 + (1 + who) * CELLS + land * COLS + c],
            four(b, 0, who) ? 1 : 0,
            `threat of ${who} at ${land},${c}`,
          );
        }
      }
      g.act[s] = legal[rng.nextInt(legal.length)]!;
      checked++;
    }
    env.step();
  }
  assert.ok(checked > 3000, `checked ${checked} rows`);
});

Deno.test("board features: Tic-Tac-Toe's seat and threats agree with the board", () => {
  const inner = createTicTacToe(16, { seed: 4 });
  const env = withBoardFeatures(inner, ticTacToeFeatures());
  const g = env.groups[0]!, ig = inner.groups[0]!;
  const I = ig.observationSpace.flatSize, O = g.observationSpace.flatSize;
  assert.equal(O, I + 19);
  // Rows, columns, diagonals.
  const lines = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8]];
  lines.push([0, 4, 8], [2, 4, 6]);
  const rng = new Pcg32(6);
  env.reset();
  let checked = 0;
  for (let step = 0; step < 200; step++) {
    for (let s = 0; s < 32; s++) {
      if ((env.flags[s]! & ACTIVE) === 0) continue;
      const row = g.obs.subarray(s * O, (s + 1) * O);
      assert.deepEqual([...row.subarray(0, I)], [...ig.obs.subarray(s * I, (s + 1) * I)]);
      const x = row.subarray(I);
      assert.equal(x[0], env.agentId(s) === "player2" ? 1 : 0, "seat");
      const legal: number[] = [];
      for (let k = 0; k < 9; k++) {
        const empty = row[9 + 2 * k] !== 1 && row[9 + 2 * k + 1] !== 1;
        if (empty) legal.push(k);
        for (const who of [0, 1]) {
          const wins = empty &&
            lines.some((l) =>
              l.includes(k) && l.every((c) => c === k || row[9 + 2 * c + who] === 1)
            );
          assert.equal(x[1 + 9 * who + k], wins ? 1 : 0, `threat of ${who} at ${k}`);
        }
      }
      g.act[s] = legal[rng.nextInt(legal.length)]!;
      checked++;
    }
    env.step();
  }
  assert.ok(checked > 2000, `checked ${checked} rows`);
});

Deno.test("plainRows hands a fixed opponent the inner rows", () => {
  const f = connectFourFeatures();
  const seen: number[][] = [];
  const inner: BatchPolicy = {
    obsSize: 91,
    actSize: 1,
    act(obs, rows, _rng, _explore, out) {
      for (let r = 0; r < rows; r++) {
        seen.push([...obs.subarray(r * 91, (r + 1) * 91)]);
        out[r] = 3;
      }
    },
  };
  const p = plainRows(inner, f);
  assert.equal(p.obsSize, 91 + f.size);
  const obs = Float32Array.from({ length: 2 * p.obsSize }, (_, i) => i);
  const out = new Float32Array(2);
  p.act(obs, 2, new Pcg32(1), false, out);
  assert.deepEqual(seen[1], Array.from({ length: 91 }, (_, i) => p.obsSize + i));
  assert.deepEqual([...out], [3, 3]);
  assert.equal(plainRows(inner, null), inner);
});
