/**
 * Turn-based games and self-play (RLHive's multi-agent runner, RLlib's self-play examples):
 * trains one learning policy that plays both seats of Connect Four or Tic-Tac-Toe against a
 * league (itself, frozen snapshots of itself added while training runs, a random player and
 * a fixed heuristic), or Rock-Paper-Scissors against RLlib's two heuristics; evaluates it every
 * few iterations against fixed opponents as first and as second player, and stops when the
 * issue's targets are met.
 *
 * ```sh
 * deno run -A examples/games/train.ts --game tic_tac_toe --algo dqn
 * deno run -A examples/games/train.ts --game tic_tac_toe --algo ppo
 * deno run -A examples/games/train.ts --game connect_four --minutes 10
 * deno run -A examples/games/train.ts --game rock_paper_scissors
 * ```
 *
 * Prints one progress line per evaluation and a JSON summary at the end (`--json FILE` also
 * writes it).
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type Algorithm,
  type BatchPolicy,
  ConnectFourHeuristicPolicy,
  createConnectFour,
  createRockPaperScissors,
  createTicTacToe,
  DQNConfig,
  type EpisodeRef,
  frameStack,
  LegalRandomPolicy,
  newestFrame,
  playMatches,
  PPOConfig,
  RpsAlwaysSamePolicy,
  RpsBeatLastPolicy,
  type SeatResult,
  TicTacToeMinimaxPolicy,
} from "@coop/rl";

const HELP = `Usage: deno run -A examples/games/train.ts [options]

  --game NAME        connect_four | tic_tac_toe | rock_paper_scissors (default tic_tac_toe)
  --algo NAME        dqn | ppo (default: dqn for tic_tac_toe, ppo otherwise)
  --seed N           seed (default 0)
  --minutes M        stop after M minutes of training (default 10)
  --eval-every N     evaluate every N iterations (default 25)
  --eval-games N     games per opponent and seat in an evaluation (default 1000)
  --opponent NAME    rock_paper_scissors: train against always_same, beat_last or both
                     (default both; evaluation covers both)
  --keep-going       do not stop when the targets are met
  --json FILE        also write the summary there
  -h, --help         this help`;

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    game: { type: "string", default: "tic_tac_toe" },
    algo: { type: "string" },
    seed: { type: "string", default: "0" },
    minutes: { type: "string", default: "10" },
    "eval-every": { type: "string", default: "25" },
    "eval-games": { type: "string", default: "1000" },
    "keep-going": { type: "boolean", default: false },
    opponent: { type: "string", default: "both" },
    json: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (v.help) {
  console.log(HELP);
  Deno.exit(0);
}

type Game = "connect_four" | "tic_tac_toe" | "rock_paper_scissors";
const game = v.game as Game;
if (!["connect_four", "tic_tac_toe", "rock_paper_scissors"].includes(game)) {
  console.error(`--game: expected connect_four, tic_tac_toe or rock_paper_scissors, got "${game}"`);
  Deno.exit(2);
}
const algoName = v.algo ?? (game === "tic_tac_toe" ? "dqn" : "ppo");
if (algoName !== "dqn" && algoName !== "ppo") {
  console.error(`--algo: expected dqn or ppo, got "${algoName}"`);
  Deno.exit(2);
}
const seed = Number(v.seed);
const evalEvery = Number(v["eval-every"]);
const evalGames = Number(v["eval-games"]);
const SEATS = ["player1", "player2"] as const;
const SNAPSHOTS = 4;

// Rock-Paper-Scissors: each player sees its last 3 observations (RLHive's frame stacking), which
// tells the two heuristics apart without a recurrent model.
const STACK = game === "rock_paper_scissors" ? 3 : 1;
const create = (n: number, s: number) =>
  game === "connect_four"
    ? createConnectFour(n, { seed: s })
    : game === "tic_tac_toe"
    ? createTicTacToe(n, { seed: s })
    : frameStack(createRockPaperScissors(n, { seed: s }), STACK);
const probe = create(1, 0);
const obsSpace = probe.groups[0]!.observationSpace, actSpace = probe.groups[0]!.actionSpace;

/** The fixed opponents of the game, by name. */
function opponents(): Record<string, BatchPolicy> {
  if (game === "rock_paper_scissors") {
    return {
      always_same: newestFrame(new RpsAlwaysSamePolicy(), STACK),
      beat_last: newestFrame(new RpsBeatLastPolicy(), STACK),
    };
  }
  return {
    random: new LegalRandomPolicy(obsSpace, actSpace),
    [game === "connect_four" ? "heuristic" : "minimax"]: game === "connect_four"
      ? new ConnectFourHeuristicPolicy()
      : new TicTacToeMinimaxPolicy(),
  };
}

/** A deterministic hash of an episode id, for the league's pairings. */
function hash(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  return (x ^ (x >>> 16)) >>> 0;
}

// How often the learner meets itself and the heuristic (Connect Four leans on the heuristic:
// beating it is the target, and self-play alone learns it slowly).
const c4Weights = game === "connect_four" ? { self: 2, heuristic: 4 } : { self: 3, heuristic: 2 };

// The league: per episode the learner takes a seat and meets an opponent. Board games: itself
// (both seats learn), a frozen snapshot of itself, the random player, the heuristic;
// Rock-Paper-Scissors: the two heuristics.
const fixed = Object.keys(opponents());
/** The frozen snapshots in the league now (added and removed while training runs). */
const snapshots: string[] = [];
function opponentOf(episodeId: number): string {
  const league: [string, number][] = game === "rock_paper_scissors"
    ? fixed.filter((o) => v.opponent === "both" || v.opponent === o).map((o) => [o, 1])
    : [
      ["learner", c4Weights.self],
      ...snapshots.map((id): [string, number] => [id, 2 / snapshots.length]),
      [fixed[0]!, 1],
      [fixed[1]!, c4Weights.heuristic],
    ];
  const total = league.reduce((a, [, w]) => a + w, 0);
  let u = (hash(episodeId * 2 + 1) / 2 ** 32) * total;
  for (const [id, w] of league) if ((u -= w) < 0) return id;
  return league.at(-1)![0];
}
const mapping = (agentId: string, episode: EpisodeRef) => {
  const learnerSeat = SEATS[hash(episode.episodeId) % 2]!;
  return agentId === learnerSeat ? "learner" : opponentOf(episode.episodeId);
};

const c4 = game === "connect_four";
const numEnvs = c4 ? 128 : 64;
const policies: Record<string, object> = {
  learner: {},
  ...Object.fromEntries(
    Object.entries(opponents()).map(([id, p]) => [id, {
      policyClass: { create: () => p },
      observationSpace: obsSpace,
      actionSpace: actSpace,
    }]),
  ),
};
const common = {
  policies: policies as never,
  policyMappingFn: mapping,
  policiesToTrain: ["learner"],
};
const algo: Algorithm<object> = algoName === "dqn"
  ? await new DQNConfig()
    .environment(({ numEnvs, seed }) => create(numEnvs, seed))
    .envRunners({ numEnvs, rolloutFragmentLength: 16 })
    .training({
      hidden: game === "connect_four" ? [256, 256] : [128, 128],
      lr: 1e-3,
      gamma: 0.99,
      learningStarts: 1000,
      trainBatchSize: 64,
      trainingIntensity: 8,
      targetUpdateFreq: 200,
      epsilonTimesteps: 30_000,
      epsilonFinal: 0.05,
      replayCapacity: 100_000,
    })
    .multiAgent(common)
    .debugging({ seed })
    .build() as unknown as Algorithm<object>
  : await new PPOConfig()
    .environment(({ numEnvs, seed }) => create(numEnvs, seed))
    .envRunners({ numEnvs, rolloutFragmentLength: game === "rock_paper_scissors" ? 20 : 32 })
    // Connect Four: larger batches, smaller steps, more passes (its games are long).
    .training({
      hidden: game === "connect_four" ? [256, 256] : [128, 128],
      lr: c4 ? 5e-4 : 1e-3,
      gamma: game === "rock_paper_scissors" ? 0.5 : c4 ? 0.97 : 0.99,
      entropyCoeff: c4 ? 0.005 : 0.01,
      numEpochs: c4 ? 6 : 4,
      minibatchSize: c4 ? 1024 : 512,
      advantageNormalization: "batch",
    })
    .multiAgent(common)
    .debugging({ seed })
    .build() as unknown as Algorithm<object>;

/** The learner's results against each fixed opponent, in each seat. */
function evaluate(games: number): Record<string, Record<string, SeatResult>> {
  const learner = algo.getPolicy("learner")!;
  const out: Record<string, Record<string, SeatResult>> = {};
  for (const [name, opponent] of Object.entries(opponents())) {
    out[name] = {};
    for (const seat of SEATS) {
      const other = seat === "player1" ? "player2" : "player1";
      const r = playMatches({
        env: create(100, 1_000_003 + seed),
        seats: { [seat]: learner, [other]: opponent },
        games,
        seed: 7 + seed,
      });
      out[name]![seat === "player1" ? "first" : "second"] = r[seat]!;
    }
  }
  return out;
}

/** The targets for the game. */
function targetsMet(e: Record<string, Record<string, SeatResult>>): boolean {
  const all = (name: string, ok: (r: SeatResult) => boolean) =>
    ["first", "second"].every((s) => ok(e[name]![s]!));
  if (game === "tic_tac_toe") {
    return all("random", (r) => r.losses === 0) && all("minimax", (r) => r.lossRate <= 0.01);
  }
  if (game === "connect_four") {
    return all("random", (r) => r.winRate >= 0.95) && all("heuristic", (r) => r.winRate >= 0.6);
  }
  const trained = (o: string) => v.opponent === "both" || v.opponent === o;
  return (!trained("beat_last") || all("beat_last", (r) => r.roundWinRate >= 0.9)) &&
    (!trained("always_same") || all("always_same", (r) => r.roundWinRate >= 0.95));
}

const fmt = (r: SeatResult) =>
  game === "rock_paper_scissors"
    ? `rounds won ${(100 * r.roundWinRate).toFixed(1)}% (after the first ${
      (100 * r.laterRoundWinRate).toFixed(1)
    }%)`
    : `W ${(100 * r.winRate).toFixed(1)} D ${(100 * r.drawRate).toFixed(1)} L ${
      (100 * r.lossRate).toFixed(1)
    }`;

const t0 = performance.now();
const limit = Number(v.minutes) * 60_000;
let evaluation: Record<string, Record<string, SeatResult>> = {};
let met = false, metAt: { seconds: number; envSteps: number; iteration: number } | null = null;
let trainSeconds = 0;
for (let it = 1;; it++) {
  const r = await algo.train();
  trainSeconds = (performance.now() - t0) / 1000;
  if (game !== "rock_paper_scissors" && it % 10 === 0) {
    // A frozen snapshot of the learner joins the league (RLlib's add_policy); the oldest of
    // more than SNAPSHOTS leaves it (its agents finish their games first).
    const id = `past_${it / 10}`;
    algo.addPolicy(id, { weightsFrom: "learner" });
    snapshots.push(id);
    if (snapshots.length > SNAPSHOTS) algo.removePolicy(snapshots.shift()!);
  }
  const last = performance.now() - t0 >= limit;
  if (it % evalEvery === 0 || last) {
    evaluation = evaluate(evalGames);
    met = targetsMet(evaluation);
    if (met && metAt === null) {
      metAt = { seconds: trainSeconds, envSteps: r.num_env_steps_sampled, iteration: it };
    }
    console.log(
      `iter ${it} | ${r.num_env_steps_sampled} steps | ${trainSeconds.toFixed(0)} s | ` +
        Object.entries(evaluation).map(([o, s]) =>
          `vs ${o}: 1st ${fmt(s.first!)}, 2nd ${fmt(s.second!)}`
        ).join(" | ") + (met ? " | targets met" : ""),
    );
    if ((met && !v["keep-going"]) || last) break;
  }
}
const summary = {
  game,
  ...(game === "rock_paper_scissors" ? { opponent: v.opponent } : {}),
  algorithm: algoName.toUpperCase(),
  seed,
  targets_met: met,
  met_at: metAt,
  train_seconds: +trainSeconds.toFixed(1),
  evaluation_games_per_opponent_and_seat: evalGames,
  evaluation,
};
console.log(JSON.stringify(summary, null, 2));
if (v.json !== undefined) await Deno.writeTextFile(v.json, JSON.stringify(summary, null, 2) + "\n");
algo.dispose();
