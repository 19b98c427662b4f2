/**
 * Evaluation against fixed opponents: games of a multi-player env, each seat played by a given
 * batched policy, counted as wins, draws and losses per seat. A seat's result in a game compares
 * its return with the best return of the other seats: higher wins, equal draws, lower loses (for
 * the games here: +1 / 0 / −1 at the end). Envs are stepped in a batch; every policy acts once
 * per step over all its rows, and no per-agent objects are made.
 *
 * @module
 */

import { ACTIVE, type BatchedEnv, SPAWNED } from "../env/batched.ts";
import type { BatchPolicy } from "../policy/policy.ts";
import { Pcg32 } from "../rng.ts";

/** Win, draw and loss counts and rates of one seat. */
export interface SeatResult {
  /** Games finished. */
  games: number;
  /** Games won. */
  wins: number;
  /** Games drawn. */
  draws: number;
  /** Games lost. */
  losses: number;
  /** Share of games won (NaN when no game finished). */
  winRate: number;
  /** Share of games drawn. */
  drawRate: number;
  /** Share of games lost. */
  lossRate: number;
  /** Mean return of the seat per game. */
  meanReturn: number;
  /** Rounds: steps in which the seat acted. */
  rounds: number;
  /** Share of its rounds the seat won (its reward > 0 at that step). */
  roundWinRate: number;
  /** The same share, leaving out each game's first round (played before any history). */
  laterRoundWinRate: number;
}

/** Options of {@linkcode playMatches}. */
export interface PlayMatchesOptions {
  /** The env (a fresh one: it is reset with `seed`); its agent ids are the seats. */
  env: BatchedEnv;
  /** The policy of each seat, by agent id (every agent the env emits must have one). */
  seats: Record<string, BatchPolicy>;
  /** Games to finish (episodes beyond it in the last step are not counted). */
  games: number;
  /** Seed of the env and of the policies' sampling. */
  seed?: number;
  /** Sample actions (true) or take the most likely (false, default). */
  explore?: boolean;
  /** Safety limit on env steps (default 1000 per game per env). */
  maxSteps?: number;
}

/**
 * Plays `games` games and reports each seat's wins, draws and losses.
 * @param o the env, the seats' policies, the number of games
 * @returns results by seat (agent id)
 * @throws {RangeError} naming an agent id with no policy, or when the step limit is hit
 */
export function playMatches(o: PlayMatchesOptions): Record<string, SeatResult> {
  const env = o.env, N = env.numEnvs, S = env.numSlots;
  const ids = Object.keys(o.seats);
  const policies = ids.map((id) => o.seats[id]!);
  const rng = new Pcg32(o.seed ?? 0, 0x3a7c);
  env.reset(o.seed ?? 0);
  const slotSeat = new Int32Array(S).fill(-1);
  const slotEnv = new Int32Array(S);
  for (const g of env.groups) {
    for (let r = 0; r < N * g.slotsPerEnv; r++) slotEnv[g.slotOffset + r] = (r / g.slotsPerEnv) | 0;
  }
  const ret = new Float64Array(N * ids.length);
  const counts = ids.map(() => ({
    games: 0,
    wins: 0,
    draws: 0,
    losses: 0,
    sum: 0,
    rounds: 0,
    roundWins: 0,
    later: 0,
    laterWins: 0,
  }));
  const seatRounds = new Int32Array(N * ids.length);
  const acted = new Uint8Array(S);
  // Per (seat, group): gathered rows.
  const bufs = new Map<string, { obs: Float32Array; act: Float32Array; slots: Int32Array }>();
  const seatOf = (s: number): number => {
    const id = env.agentId(s);
    const k = ids.indexOf(id);
    if (k < 0) {
      throw new RangeError(
        `playMatches: agent "${id}" has no policy; the seats are ${
          ids.map((x) => `"${x}"`).join(", ")
        }`,
      );
    }
    return k;
  };
  const spawn = () => {
    for (let s = 0; s < S; s++) if ((env.flags[s]! & SPAWNED) !== 0) slotSeat[s] = seatOf(s);
  };
  spawn();
  let finished = 0;
  const limit = o.maxSteps ?? 1000 * Math.ceil(o.games / N) + 1000;
  for (let t = 0; finished < o.games; t++) {
    if (t >= limit) {
      throw new RangeError(`playMatches: ${limit} steps without finishing ${o.games} games`);
    }
    for (let s = 0; s < S; s++) acted[s] = (env.flags[s]! & ACTIVE) !== 0 ? 1 : 0;
    env.groups.forEach((g, gi) => {
      const O = g.observationSpace.flatSize, A = g.actionSpace.packedSize;
      policies.forEach((p, k) => {
        const key = `${k}/${gi}`;
        let b = bufs.get(key);
        if (b === undefined) {
          const rows = N * g.slotsPerEnv;
          b = {
            obs: new Float32Array(rows * O),
            act: new Float32Array(rows * A),
            slots: new Int32Array(rows),
          };
          bufs.set(key, b);
        }
        let n = 0;
        for (let r = 0; r < N * g.slotsPerEnv; r++) {
          const s = g.slotOffset + r;
          if ((env.flags[s]! & ACTIVE) === 0 || slotSeat[s] !== k) continue;
          b.obs.set(g.obs.subarray(r * O, (r + 1) * O), n * O);
          b.slots[n++] = r;
        }
        if (n === 0) return;
        if (p.obsSize !== O || p.actSize !== A) {
          throw new RangeError(
            `playMatches: the policy of "${
              ids[k]
            }" reads ${p.obsSize} floats and writes ${p.actSize}, group "${g.name}" has ${O} and ${A}`,
          );
        }
        p.act(b.obs.subarray(0, n * O), n, rng, o.explore ?? false, b.act.subarray(0, n * A));
        for (let i = 0; i < n; i++) {
          g.act.set(b.act.subarray(i * A, (i + 1) * A), b.slots[i]! * A);
        }
      });
    });
    env.step();
    for (let s = 0; s < S; s++) {
      const k = slotSeat[s]!;
      if (k < 0) continue;
      const e = slotEnv[s]!, x = env.rew[s]!;
      ret[e * ids.length + k]! += x;
      if (acted[s] === 1) {
        // A round of this seat: it acted at this step.
        const c = counts[k]!, first = seatRounds[e * ids.length + k]! === 0;
        seatRounds[e * ids.length + k]!++;
        c.rounds++;
        if (x > 0) c.roundWins++;
        if (!first) {
          c.later++;
          if (x > 0) c.laterWins++;
        }
      }
    }
    for (let e = 0; e < N && finished < o.games; e++) {
      if (env.envDone[e] !== 1) continue;
      finished++;
      for (let k = 0; k < ids.length; k++) {
        const mine = ret[e * ids.length + k]!;
        let best = -Infinity;
        for (let j = 0; j < ids.length; j++) {
          if (j !== k) best = Math.max(best, ret[e * ids.length + j]!);
        }
        const c = counts[k]!;
        c.games++;
        c.sum += mine;
        if (mine > best) c.wins++;
        else if (mine === best) c.draws++;
        else c.losses++;
      }
      ret.fill(0, e * ids.length, (e + 1) * ids.length);
      seatRounds.fill(0, e * ids.length, (e + 1) * ids.length);
    }
    spawn();
  }
  return Object.fromEntries(ids.map((id, k) => {
    const c = counts[k]!;
    return [id, {
      games: c.games,
      wins: c.wins,
      draws: c.draws,
      losses: c.losses,
      winRate: c.wins / c.games,
      drawRate: c.draws / c.games,
      lossRate: c.losses / c.games,
      meanReturn: c.sum / c.games,
      rounds: c.rounds,
      roundWinRate: c.roundWins / c.rounds,
      laterRoundWinRate: c.laterWins / c.later,
    }];
  }));
}
