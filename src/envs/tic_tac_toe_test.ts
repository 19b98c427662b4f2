import assert from "node:assert/strict";
import fc from "fast-check";
import { ACTIVE, ALIVE, SPAWNED, TERMINATED } from "../env/batched.ts";
import { checkEnv } from "../env/check_env.ts";
import { DictEnv } from "../env/dict_face.ts";
import {
  createTicTacToe,
  renderTicTacToe,
  TIC_TAC_TOE_LINES,
  TIC_TAC_TOE_METRIC_NAMES,
  TIC_TAC_TOE_OBS_SPACE,
} from "./tic_tac_toe.ts";
import type { TurnBasedWasmEnv } from "./connect_four.ts";

const OBS = 27;
const NEW = SPAWNED | ACTIVE | ALIVE;

/** A plain-TypeScript Tic-Tac-Toe, one game: cells 0 empty, 1 player1, 2 player2. */
class Twin {
  cells = new Array(9).fill(0);
  toMove = 0;
  moves = 0;
  alive = [true, false];
  constructor(readonly forfeit = false) {}
  reset(): void {
    this.cells.fill(0);
    this.toMove = 0;
    this.moves = 0;
    this.alive = [true, false];
  }
  step(k: number): { rew: [number, number]; done: boolean; winner: number; forfeit: boolean } {
    const m = this.toMove;
    this.moves++;
    const rew: [number, number] = [0, 0];
    if (this.cells[k] !== 0) {
      assert.ok(this.forfeit);
      rew[m] = -1;
      if (this.alive[1 - m]) rew[1 - m] = 1;
      return { rew, done: true, winner: 2 - m, forfeit: true };
    }
    this.cells[k] = m + 1;
    if (TIC_TAC_TOE_LINES.some((l) => l.every((c) => this.cells[c] === m + 1))) {
      rew[m] = 1;
      rew[1 - m] = -1;
      return { rew, done: true, winner: m + 1, forfeit: false };
    }
    if (this.moves === 9) return { rew, done: true, winner: 0, forfeit: false };
    this.alive[1 - m] = true;
    this.toMove = 1 - m;
    return { rew, done: false, winner: 0, forfeit: false };
  }
  row(j: number): number[] {
    const mask = this.cells.map((v) => (v === 0 ? 1 : 0));
    return [...mask, ...this.cells.flatMap((v) => [v === j + 1 ? 1 : 0, v === 2 - j ? 1 : 0])];
  }
}

function row(buf: Float32Array, s: number): number[] {
  return Array.from(buf.subarray(s * OBS, s * OBS + OBS));
}

function play(env: TurnBasedWasmEnv, cells: number[]): void {
  for (const k of cells) {
    env.groups[0]!.act.fill(k);
    env.step();
  }
}

Deno.test("tic-tac-toe: spaces, lines and the first observations", () => {
  assert.equal(TIC_TAC_TOE_OBS_SPACE.flatSize, OBS);
  assert.equal(TIC_TAC_TOE_LINES.length, 8);
  assert.deepEqual(TIC_TAC_TOE_LINES[0], [0, 1, 2]);
  const env = createTicTacToe(1);
  env.reset();
  assert.deepEqual(Array.from(env.flags), [NEW, 0]);
  assert.deepEqual(row(env.groups[0]!.obs, 0), new Twin().row(0));
  play(env, [4]);
  assert.deepEqual(Array.from(env.flags), [ALIVE, NEW]);
  assert.equal(renderTicTacToe(row(env.groups[0]!.obs, 1)), "...\n.O.\n...");
  assert.equal(renderTicTacToe(row(env.groups[0]!.obs, 0)), "...\n.X.\n...");
});

const GAMES: Record<string, { moves: number[]; winner: number }> = {
  row: { moves: [0, 3, 1, 4, 2], winner: 1 },
  column: { moves: [0, 1, 3, 2, 8, 7, 6], winner: 1 },
  diagonal: { moves: [1, 0, 2, 4, 3, 8], winner: 2 },
  "second diagonal": { moves: [2, 0, 4, 1, 6], winner: 1 },
  draw: { moves: [0, 4, 8, 1, 7, 6, 2, 5, 3], winner: 0 },
};

for (const [name, { moves, winner }] of Object.entries(GAMES)) {
  Deno.test(`tic-tac-toe: ${name === "draw" ? "a draw" : `a ${name} win`}`, () => {
    const env = createTicTacToe(1);
    env.reset();
    play(env, moves.slice(0, -1));
    assert.equal(env.envDone[0], 0);
    const loser = winner === 0 ? -1 : 2 - winner;
    if (loser >= 0) assert.equal(env.flags[loser], ALIVE, "the loser waits");
    play(env, moves.slice(-1));
    assert.equal(env.envDone[0], 1);
    const expected = winner === 0 ? [0, 0] : winner === 1 ? [1, -1] : [-1, 1];
    assert.deepEqual(Array.from(env.rew), expected, "the waiting loser is paid at the end");
    assert.deepEqual(Array.from(env.flags), [TERMINATED | NEW, TERMINATED]);
    const twin = new Twin();
    for (const m of moves) twin.step(m);
    assert.deepEqual(row(env.groups[0]!.finalObs, 0), twin.row(0));
    assert.deepEqual(row(env.groups[0]!.finalObs, 1), twin.row(1));
    assert.deepEqual(Array.from(env.episodeMetrics!.values), [
      winner === 1 ? 1 : 0,
      winner === 2 ? 1 : 0,
      winner === 0 ? 1 : 0,
      moves.length,
      0,
    ]);
  });
}

Deno.test("tic-tac-toe: an illegal move throws naming the player, the cell and the legal cells", () => {
  const env = createTicTacToe(2);
  env.reset();
  play(env, [4]);
  env.groups[0]!.act.set([NaN, 0, NaN, 4]);
  const before = new Uint8Array(env.memory.buffer).slice();
  assert.throws(() => env.step(), {
    name: "RangeError",
    message:
      'Illegal move by agent "player2" in env 1 of tic_tac_toe: cell 4 (row 1, col 1) is taken; legal moves: 0, 1, 2, 3, 5, 6, 7, 8 (or create the env with illegalMove: "forfeit" to make it lose the game)',
  });
  assert.deepEqual(new Uint8Array(env.memory.buffer), before);
});

Deno.test("tic-tac-toe: illegalMove forfeit, also at the second player's first move", () => {
  const env = createTicTacToe(1, { illegalMove: "forfeit" });
  env.reset();
  play(env, [4, 4]); // player2 takes the centre again
  assert.equal(env.envDone[0], 1);
  assert.deepEqual(Array.from(env.rew), [1, -1]);
  assert.deepEqual(Array.from(env.episodeMetrics!.values), [1, 0, 0, 2, 1]);
  play(env, [0, 1, 1]); // player1 forfeits
  assert.deepEqual(Array.from(env.rew), [-1, 1]);
  assert.deepEqual(Array.from(env.episodeMetrics!.values), [0, 1, 0, 3, 1]);
});

Deno.test("tic-tac-toe: rows and masks match a TS twin after every move (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.boolean(),
      fc.array(fc.nat(), { minLength: 20, maxLength: 80, size: "max" }),
      (n, forfeit, script) => {
        const env = createTicTacToe(n, { illegalMove: forfeit ? "forfeit" : "error" });
        const twins = Array.from({ length: n }, () => new Twin(forfeit));
        env.reset();
        const g = env.groups[0]!;
        const K = TIC_TAC_TOE_METRIC_NAMES.length;
        for (const pick of script) {
          for (let i = 0; i < n; i++) {
            const t = twins[i]!;
            const legal = t.cells.flatMap((v, k) => (v === 0 ? [k] : []));
            g.act[2 * i + t.toMove] = forfeit && pick % 7 === 0
              ? (pick >> 3) % 9
              : legal[pick % legal.length]!;
            g.act[2 * i + 1 - t.toMove] = NaN;
          }
          env.step();
          for (let i = 0; i < n; i++) {
            const t = twins[i]!;
            const wasAlive = [...t.alive];
            const res = t.step(g.act[2 * i + t.toMove]!);
            assert.equal(env.envDone[i], res.done ? 1 : 0);
            assert.deepEqual([env.rew[2 * i], env.rew[2 * i + 1]], res.rew);
            if (res.done) {
              for (let j = 0; j < 2; j++) {
                if (wasAlive[j]) assert.deepEqual(row(g.finalObs, 2 * i + j), t.row(j));
              }
              assert.deepEqual(Array.from(env.episodeMetrics!.values.subarray(i * K, i * K + K)), [
                res.winner === 1 ? 1 : 0,
                res.winner === 2 ? 1 : 0,
                res.winner === 0 ? 1 : 0,
                t.moves,
                res.forfeit ? 1 : 0,
              ]);
              t.reset();
            }
            for (let j = 0; j < 2; j++) {
              const f = env.flags[2 * i + j]!;
              assert.equal((f & ALIVE) !== 0, t.alive[j]);
              assert.equal((f & ACTIVE) !== 0, t.alive[j] && t.toMove === j);
              if (t.alive[j]) assert.deepEqual(row(g.obs, 2 * i + j), t.row(j));
            }
          }
        }
      },
    ),
    { numRuns: 60, seed: 7 },
  );
});

Deno.test("tic-tac-toe: checkEnv passes on both faces and both illegal-move modes", () => {
  for (const illegalMove of ["error", "forfeit"] as const) {
    const r = checkEnv(createTicTacToe(8, { seed: 1, illegalMove }), { steps: 300, seed: 3 });
    assert.ok(r.episodes > 100);
    assert.ok(r.checks.includes("determinism"));
    const d = checkEnv(new DictEnv(createTicTacToe(1, { illegalMove })), { steps: 200, seed: 4 });
    assert.ok(d.episodes > 10);
  }
});
