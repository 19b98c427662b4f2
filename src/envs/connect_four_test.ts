import assert from "node:assert/strict";
import fc from "fast-check";
import { ACTIVE, ALIVE, SPAWNED, TERMINATED } from "../env/batched.ts";
import { checkEnv } from "../env/check_env.ts";
import { DictEnv } from "../env/dict_face.ts";
import { Pcg32 } from "../rng.ts";
import {
  CONNECT_FOUR_AGENT_IDS,
  CONNECT_FOUR_FORFEIT_PENALTY,
  CONNECT_FOUR_FORFEIT_REWARD,
  CONNECT_FOUR_LOSS_REWARD,
  CONNECT_FOUR_METRIC_NAMES,
  CONNECT_FOUR_OBS_SPACE,
  CONNECT_FOUR_WIN_REWARD,
  createConnectFour,
  renderConnectFour,
  TurnBasedWasmEnv,
} from "./connect_four.ts";
import { rockPaperScissorsModule, RPS_DESCRIPTOR } from "./rock_paper_scissors.ts";
import { CONNECT_FOUR_FACTS } from "./_generated/connect_four_wasm.ts";

const R = 6, C = 7, OBS = 91;
const NEW = SPAWNED | ACTIVE | ALIVE;

/** A plain-TypeScript Connect Four (the rules as written in the module doc), one game. */
class Twin {
  board: number[][] = [];
  heights: number[] = [];
  toMove = 0;
  moves = 0;
  alive = [false, false];
  constructor(readonly forfeit = false) {
    this.reset();
  }
  reset(): void {
    this.board = Array.from({ length: R }, () => new Array(C).fill(0));
    this.heights = new Array(C).fill(0);
    this.toMove = 0;
    this.moves = 0;
    this.alive = [true, false];
  }
  legal(c: number): boolean {
    return this.heights[c]! < R;
  }
  wins(p: number, r: number, c: number): boolean {
    for (const [dr, dc] of [[0, 1], [1, 0], [1, 1], [1, -1]] as const) {
      let n = 1;
      for (const s of [1, -1]) {
        for (let k = 1;; k++) {
          const rr = r + s * k * dr, cc = c + s * k * dc;
          if (rr < 0 || rr >= R || cc < 0 || cc >= C || this.board[rr]![cc] !== p + 1) break;
          n++;
        }
      }
      if (n >= 4) return true;
    }
    return false;
  }
  /** Plays column `c`; returns the rewards by slot and the outcome. */
  step(c: number): { rew: [number, number]; done: boolean; winner: number; forfeit: boolean } {
    const m = this.toMove;
    this.moves++;
    const rew: [number, number] = [0, 0];
    if (!this.legal(c)) {
      assert.ok(this.forfeit, "an illegal move reached the twin");
      rew[m] = -1;
      if (this.alive[1 - m]) rew[1 - m] = 1;
      return { rew, done: true, winner: 2 - m, forfeit: true };
    }
    const r = R - 1 - this.heights[c]!;
    this.board[r]![c] = m + 1;
    this.heights[c]!++;
    if (this.wins(m, r, c)) {
      rew[m] = 1;
      rew[1 - m] = -1;
      return { rew, done: true, winner: m + 1, forfeit: false };
    }
    if (this.moves === R * C) return { rew, done: true, winner: 0, forfeit: false };
    this.alive[1 - m] = true;
    this.toMove = 1 - m;
    return { rew, done: false, winner: 0, forfeit: false };
  }
  /** The observation row of slot `j`. */
  row(j: number): number[] {
    const out: number[] = this.heights.map((h) => (h < R ? 1 : 0));
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) {
        const v = this.board[r]![c]!;
        out.push(v === j + 1 ? 1 : 0, v !== 0 && v !== j + 1 ? 1 : 0);
      }
    }
    return out;
  }
}

function row(buf: Float32Array, s: number): number[] {
  return Array.from(buf.subarray(s * OBS, s * OBS + OBS));
}

/** Plays `cols` in env 0 of `env` (other envs play the same). Returns the env. */
function play(env: TurnBasedWasmEnv, cols: number[]): TurnBasedWasmEnv {
  const g = env.groups[0]!;
  for (const c of cols) {
    g.act.fill(c);
    env.step();
  }
  return env;
}

function freshGame(options = {}): TurnBasedWasmEnv {
  const env = createConnectFour(1, options);
  env.reset(0);
  return env;
}

Deno.test("connect four: facts, spaces and the first observation", () => {
  assert.equal(CONNECT_FOUR_FACTS.OBS_SIZE, CONNECT_FOUR_OBS_SPACE.flatSize);
  assert.deepEqual(CONNECT_FOUR_AGENT_IDS, ["player1", "player2"]);
  const env = createConnectFour(2, { seed: 3 });
  env.reset();
  assert.deepEqual(Array.from(env.flags), [NEW, 0, NEW, 0]);
  assert.equal(env.agentId(0), "player1");
  const g = env.groups[0]!;
  assert.deepEqual(row(g.obs, 0), new Twin().row(0));
  // player2 appears at its first turn, seeing player1's piece as the opponent's.
  play(env, [3]);
  assert.deepEqual(Array.from(env.flags), [ALIVE, NEW, ALIVE, NEW]);
  assert.equal(env.agentId(1), "player2");
  const r1 = row(g.obs, 1);
  assert.equal(r1[C + (5 * C + 3) * 2 + 1], 1, "opponent plane at the bottom of column 3");
  assert.equal(r1.slice(C).reduce((a, b) => a + b), 1);
  assert.equal(
    renderConnectFour(row(g.obs, 0)),
    ".......\n.......\n.......\n.......\n.......\n...X...\n0123456",
  );
});

const WINS: Record<string, { moves: number[]; winner: number }> = {
  // player1 stacks column 0 while player2 plays column 1.
  vertical: { moves: [0, 1, 0, 1, 0, 1, 0], winner: 0 },
  // player2 wins along the bottom row while player1 wastes moves on column 6 / 5.
  horizontal: { moves: [6, 0, 6, 1, 5, 2, 5, 3], winner: 1 },
  // player1: (5,0), (4,1), (3,2), (2,3), bottom-left to top-right.
  diagonal_up: { moves: [0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3], winner: 0 },
  // player1: (5,6), (4,5), (3,4), (2,3), bottom-right to top-left.
  diagonal_down: { moves: [6, 5, 5, 4, 4, 3, 4, 3, 3, 0, 3], winner: 0 },
};

for (const [name, { moves, winner }] of Object.entries(WINS)) {
  Deno.test(`connect four: a ${name} win pays the winner and, deferred, the waiting loser`, () => {
    const env = freshGame();
    const g = env.groups[0]!;
    play(env, moves.slice(0, -1));
    assert.equal(env.envDone[0], 0, "no win before the last move");
    const loser = 1 - winner;
    assert.equal(env.flags[winner]! & ACTIVE, ACTIVE);
    assert.equal(env.flags[loser], ALIVE, "the loser waits");
    play(env, moves.slice(-1));
    assert.equal(env.envDone[0], 1);
    assert.equal(env.envTruncated[0], 0);
    assert.equal(env.rew[winner], CONNECT_FOUR_WIN_REWARD);
    assert.equal(env.rew[loser], CONNECT_FOUR_LOSS_REWARD, "the loser's reward at the game end");
    // Both end; slot 0 holds player1 of the next game at once (auto-reset).
    assert.deepEqual(Array.from(env.flags), [TERMINATED | NEW, TERMINATED]);
    // Final observations: the whole board from each player's side.
    const twin = new Twin();
    for (const m of moves) twin.step(m);
    assert.deepEqual(row(g.finalObs, 0), twin.row(0));
    assert.deepEqual(row(g.finalObs, 1), twin.row(1));
    assert.deepEqual(row(g.obs, 0), new Twin().row(0), "auto-reset to an empty board");
    const k = CONNECT_FOUR_METRIC_NAMES.length;
    const metrics = Array.from(env.episodeMetrics!.values.subarray(0, k));
    assert.deepEqual(metrics, [winner === 0 ? 1 : 0, winner === 1 ? 1 : 0, 0, moves.length, 0]);
  });
}

// A full board without four in a row (columns alternate XXXOOO / OOOXXX from the bottom).
const DRAW = [
  0,
  1,
  0,
  1,
  0,
  0,
  2,
  0,
  2,
  0,
  2,
  1,
  1,
  2,
  1,
  2,
  1,
  2,
  4,
  3,
  4,
  3,
  4,
  3,
  3,
  4,
  3,
  4,
  3,
  4,
  6,
  5,
  6,
  5,
  6,
  5,
  5,
  6,
  5,
  6,
  5,
  6,
];

Deno.test("connect four: a full board is a draw, 0 for both", () => {
  const env = freshGame();
  play(env, DRAW.slice(0, 41));
  assert.equal(env.envDone[0], 0);
  play(env, DRAW.slice(41));
  assert.equal(env.envDone[0], 1);
  assert.deepEqual(Array.from(env.rew), [0, 0]);
  assert.deepEqual(Array.from(env.episodeMetrics!.values), [0, 0, 1, 42, 0]);
  const final = row(env.groups[0]!.finalObs, 0);
  assert.deepEqual(final.slice(0, C), new Array(C).fill(0), "no open column");
  assert.equal(final.slice(C).reduce((a, b) => a + b), 42);
});

Deno.test("connect four: an illegal move throws naming the player, the move and the legal moves; nothing changes", () => {
  const env = createConnectFour(3, { seed: 1 });
  env.reset();
  const g = env.groups[0]!;
  // Fill column 2 in env 1 only (the other envs play column 0, then 1).
  for (let t = 0; t < 6; t++) {
    g.act.set([t < 3 ? 0 : 1, t < 3 ? 0 : 1, 2, 2, t < 3 ? 0 : 1, t < 3 ? 0 : 1]);
    env.step();
  }
  g.act.set([4, 4, 2, 2, 4, 4]);
  const before = new Uint8Array(env.memory.buffer).slice();
  assert.throws(
    () => env.step(),
    (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.equal(
        e.message,
        'Illegal move by agent "player1" in env 1 of connect_four: column 2 is full; legal moves: 0, 1, 3, 4, 5, 6 (or create the env with illegalMove: "forfeit" to make it lose the game)',
      );
      return true;
    },
  );
  assert.deepEqual(new Uint8Array(env.memory.buffer), before);
  // An action outside Discrete(7) is the loader's invalid-action error, naming the agent.
  g.act.set([7, 7, 3, 3, 7, 7]);
  assert.throws(() => env.step(), /Invalid action for agent "player1".*Discrete\(7\)/);
  g.act.set([3, 3, 3, 3, 3, 3]);
  env.step();
  assert.throws(
    () => createConnectFour(1, { illegalMove: "lose" as never }),
    /illegalMove must be "error" or "forfeit", got "lose"/,
  );
  assert.throws(
    () => new TurnBasedWasmEnv(rockPaperScissorsModule(), RPS_DESCRIPTOR, 1, 0, String, ""),
    /group 0 must observe a Dict whose first key is "action_mask"/,
  );
});

Deno.test("connect four: illegalMove forfeit: the mover gets -1, the opponent +1, the game ends", () => {
  const env = freshGame({ illegalMove: "forfeit" });
  assert.equal(env.descriptor.name, "connect_four_forfeit");
  play(env, [0, 0, 0, 0, 0, 0]);
  assert.equal(env.envDone[0], 0);
  play(env, [0]); // player1 into the full column
  assert.equal(env.envDone[0], 1);
  assert.equal(env.rew[0], CONNECT_FOUR_FORFEIT_PENALTY);
  assert.equal(env.rew[1], CONNECT_FOUR_FORFEIT_REWARD);
  assert.equal(env.flags[1], TERMINATED);
  assert.deepEqual(Array.from(env.episodeMetrics!.values), [0, 1, 0, 7, 1]);
  // The final observation shows the board as it was (the illegal piece never lands).
  assert.equal(row(env.groups[0]!.finalObs, 0).slice(C).reduce((a, b) => a + b), 6);
  // Legal moves play as in the default build.
  play(env, WINS.vertical!.moves);
  assert.equal(env.rew[0], 1);
});

Deno.test("connect four: rows, masks, flags, rewards and metrics match a TS twin after every move (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.boolean(),
      fc.array(fc.tuple(fc.nat(), fc.nat(5)), { minLength: 40, maxLength: 150, size: "max" }),
      (n, forfeit, script) => {
        const env = createConnectFour(n, { illegalMove: forfeit ? "forfeit" : "error" });
        const twins = Array.from({ length: n }, () => new Twin(forfeit));
        env.reset(0);
        const g = env.groups[0]!;
        const K = CONNECT_FOUR_METRIC_NAMES.length;
        for (const [pick, hold] of script) {
          const prevFlags = Array.from(env.flags);
          for (let i = 0; i < n; i++) {
            const t = twins[i]!;
            const legal = [0, 1, 2, 3, 4, 5, 6].filter((c) => t.legal(c));
            // In forfeit mode, sometimes try any column (an illegal one forfeits).
            const c = forfeit && pick % 5 === 0 ? (pick >> 3) % C : legal[pick % legal.length]!;
            g.act[2 * i + t.toMove] = c;
            g.act[2 * i + 1 - t.toMove] = NaN; // never read
            env.stepMask[i] = hold === 0 && n > 1 ? 0 : 1;
          }
          env.step();
          for (let i = 0; i < n; i++) {
            const t = twins[i]!;
            if (env.stepMask[i] === 0) {
              assert.equal(env.envDone[i], 0);
              assert.deepEqual([env.rew[2 * i], env.rew[2 * i + 1]], [0, 0]);
              assert.deepEqual([env.flags[2 * i], env.flags[2 * i + 1]], [
                prevFlags[2 * i]! & (ACTIVE | ALIVE),
                prevFlags[2 * i + 1]! & (ACTIVE | ALIVE),
              ]);
              continue;
            }
            const wasAlive = [...t.alive];
            const c = g.act[2 * i + t.toMove]!;
            const res = t.step(c);
            assert.equal(env.envDone[i], res.done ? 1 : 0);
            assert.deepEqual([env.rew[2 * i], env.rew[2 * i + 1]], res.rew);
            if (res.done) {
              for (let j = 0; j < 2; j++) {
                if (!wasAlive[j]) continue;
                assert.equal(env.flags[2 * i + j]! & TERMINATED, TERMINATED);
                assert.deepEqual(row(g.finalObs, 2 * i + j), t.row(j), `final row ${j}`);
              }
              const metrics = Array.from(env.episodeMetrics!.values.subarray(i * K, i * K + K));
              assert.deepEqual(metrics, [
                res.winner === 1 ? 1 : 0,
                res.winner === 2 ? 1 : 0,
                res.winner === 0 ? 1 : 0,
                t.moves,
                res.forfeit ? 1 : 0,
              ]);
              t.reset();
            }
          }
          // Every alive row (mask included) equals a full write of the twin's state.
          for (let i = 0; i < n; i++) {
            const t = twins[i]!;
            for (let j = 0; j < 2; j++) {
              const f = env.flags[2 * i + j]!;
              assert.equal((f & ALIVE) !== 0, t.alive[j], `alive ${i}/${j}`);
              assert.equal((f & ACTIVE) !== 0, t.alive[j] && t.toMove === j, `active ${i}/${j}`);
              if (t.alive[j]) assert.deepEqual(row(g.obs, 2 * i + j), t.row(j), `row ${i}/${j}`);
            }
          }
        }
      },
    ),
    { numRuns: 60, seed: 42 },
  );
});

Deno.test("connect four: checkEnv passes on both faces and both illegal-move modes", () => {
  for (const illegalMove of ["error", "forfeit"] as const) {
    const r = checkEnv(createConnectFour(8, { seed: 1, illegalMove }), { steps: 400, seed: 5 });
    assert.ok(r.episodes > 50, `${r.episodes} episodes`);
    assert.deepEqual(r.agentIds.sort(), ["player1", "player2"]);
    assert.ok(r.checks.includes("determinism"));
    const d = checkEnv(new DictEnv(createConnectFour(1, { illegalMove })), { steps: 300, seed: 2 });
    assert.ok(d.episodes > 5);
  }
});

Deno.test("connect four: auto-reset across a batch; the same moves give the same trajectory", () => {
  const run = (seed: number) => {
    const env = createConnectFour(16, { seed });
    env.reset();
    const g = env.groups[0]!;
    const rng = new Pcg32(9, 1);
    let h = 0, episodes = 0;
    for (let t = 0; t < 300; t++) {
      for (let s = 0; s < 32; s++) {
        if ((env.flags[s]! & ACTIVE) === 0) continue;
        const legal = [0, 1, 2, 3, 4, 5, 6].filter((c) => g.obs[s * OBS + c] === 1);
        g.act[s] = legal[rng.nextInt(legal.length)]!;
      }
      env.step();
      for (let k = 0; k < g.obs.length; k++) h = Math.imul(h ^ (g.obs[k]! * (k + 1)), 16777619);
      for (let i = 0; i < 16; i++) episodes += env.envDone[i]!;
      for (let s = 0; s < 32; s++) h = Math.imul(h ^ (env.rew[s]! + 3) ^ env.flags[s]!, 16777619);
    }
    return { h, episodes };
  };
  const a = run(1);
  assert.ok(a.episodes > 100, `${a.episodes} episodes`);
  assert.deepEqual(run(1), a);
  // The game has no randomness: the seed does not change it.
  assert.deepEqual(run(2), a);
});
