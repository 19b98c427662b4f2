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
 * deno run -A examples/games/train.ts --game rock_paper_scissors --rounds 15
 * ```
 *
 * Prints one progress line per evaluation and a JSON summary at the end (`--json FILE` also
 * writes it). The training clock leaves the evaluations out; the summary also gives the CPU
 * time of training (one thread: on a busy machine, close to the wall clock of a quiet one),
 * the sampling/learning split and the env steps at which the targets were first met.
 *
 * Connect Four learns from the board alone by default: a shared 256×256 ReLU torso, 256 envs ×
 * 32 steps per iteration, 4 passes of 1024-row minibatches, and a league that leans on the
 * heuristic (6 of 9 episodes); the targets fell at 1.8–2.6M env steps, 190–300 s of training
 * (seeds 0–2). `--features board` appends fixed board features (`features.ts`: the mover's
 * seat, both players' threats, the playable cells: what the first layers of a convolutional
 * network would learn) and halves the steps (0.8–1.15M, 122–158 s). PPO on Tic-Tac-Toe uses the
 * features by default (150–200k env steps, 20–26 s; on the board alone it did not meet the
 * target within 10 minutes); DQN learns from the board alone (307k, 85–93 s).
 * The tuning flags override any of a game's tuned settings (`TUNED`), for experiments.
 *
 * @module
 */

import { cpuUsage } from "node:process";
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
import {
  connectFourFeatures,
  plainRows,
  ticTacToeFeatures,
  withBoardFeatures,
} from "./features.ts";

const HELP = `Usage: deno run -A examples/games/train.ts [options]

  --game NAME        connect_four | tic_tac_toe | rock_paper_scissors (default tic_tac_toe)
  --algo NAME        dqn | ppo (default: dqn for tic_tac_toe, ppo otherwise)
  --seed N           seed (default 0)
  --minutes M        stop after M minutes of training (default 10)
  --clock NAME       what --minutes counts: wall (training's wall clock, evaluations left out;
                     default) or cpu (training's CPU time: about a quiet machine's wall clock
                     when other processes share the cores)
  --eval-every N     evaluate every N iterations (default 25)
  --eval-games N     games per opponent and seat in an evaluation (default 1000)
  --opponent NAME    rock_paper_scissors: train against always_same, beat_last or both
                     (default both, equally often), or weights such as
                     always_same:3,beat_last:1 (evaluation covers both)
  --rounds N         rock_paper_scissors: rounds per game (default 10, RLlib's; the "always the
                     same move" heuristic picks its move at random each game, so the first
                     round is a coin flip and rounds won cannot pass (9 + 1/3) / 10 = 93.3% at
                     10 rounds; PettingZoo's rps plays 15, where the bound is 95.6%)
  --keep-going       do not stop when the targets are met
  --json FILE        also write the summary there
  -h, --help         this help

Tuning (board games; defaults are the game's tuned values):
  --num-envs N       envs sampled per step
  --fragment N       steps per env per iteration
  --hidden A,B       hidden layer widths
  --activation NAME  tanh | relu
  --share BOOL       share the actor's and critic's hidden layers (true | false)
  --lr X             learning rate (PPO: --lr-final Y anneals to Y over --lr-steps N env steps)
  --lr-final Y
  --lr-steps N
  --gamma X          discount
  --lambda X         GAE lambda (PPO)
  --entropy X        entropy bonus (PPO)
  --epochs N         passes over each batch (PPO)
  --minibatch N      rows per minibatch (PPO)
  --vf-clip X        value clip range (PPO; "none" disables it)
  --league SPEC      league weights, e.g. self:2,snapshots:2,random:1,heuristic:4 (heuristic:
                     Tic-Tac-Toe's minimax)
  --league2 SPEC     league weights when the learner is the second player (default --league)
  --snapshots N      frozen snapshots kept in the league (default 4)
  --snapshot-every N iterations between snapshots (default 10)
  --features NAME    board games: features appended to the observation (none | board; see
                     features.ts; default board for PPO on tic_tac_toe, else none)`;

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    game: { type: "string", default: "tic_tac_toe" },
    algo: { type: "string" },
    seed: { type: "string", default: "0" },
    minutes: { type: "string", default: "10" },
    clock: { type: "string", default: "wall" },
    "eval-every": { type: "string", default: "25" },
    "eval-games": { type: "string", default: "1000" },
    "keep-going": { type: "boolean", default: false },
    opponent: { type: "string", default: "both" },
    rounds: { type: "string" },
    json: { type: "string" },
    "num-envs": { type: "string" },
    fragment: { type: "string" },
    hidden: { type: "string" },
    activation: { type: "string" },
    share: { type: "string" },
    lr: { type: "string" },
    "lr-final": { type: "string" },
    "lr-steps": { type: "string" },
    gamma: { type: "string" },
    lambda: { type: "string" },
    entropy: { type: "string" },
    epochs: { type: "string" },
    minibatch: { type: "string" },
    "vf-clip": { type: "string" },
    league: { type: "string" },
    league2: { type: "string" },
    snapshots: { type: "string" },
    "snapshot-every": { type: "string" },
    features: { type: "string" },
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
if (v.clock !== "wall" && v.clock !== "cpu") {
  console.error(`--clock: expected wall or cpu, got "${v.clock}"`);
  Deno.exit(2);
}
const seed = Number(v.seed);
const evalEvery = Number(v["eval-every"]);
const evalGames = Number(v["eval-games"]);
const SEATS = ["player1", "player2"] as const;
const rounds = v.rounds === undefined ? undefined : Number(v.rounds);
if (rounds !== undefined && game !== "rock_paper_scissors") {
  console.error(`--rounds: only rock_paper_scissors has rounds, not ${game}`);
  Deno.exit(2);
}

// Rock-Paper-Scissors: each player sees its last 3 observations (RLHive's frame stacking), which
// tells the two heuristics apart without a recurrent model.
const STACK = game === "rock_paper_scissors" ? 3 : 1;
if (v.features !== undefined && !["none", "board"].includes(v.features)) {
  console.error(`--features: expected none or board, got "${v.features}"`);
  Deno.exit(2);
}
// Board features (the seat, threats, Connect Four's playable cells; see features.ts): on by
// default only for PPO on Tic-Tac-Toe (with them PPO meets the target in ~150k env steps; on
// the board alone it did not within 10 minutes). Connect Four learns from the board alone by
// default (it meets its targets so, in 190-300 s); DQN meets Tic-Tac-Toe's without them.
const featuresOn = (v.features ??
  (algoName === "ppo" && game === "tic_tac_toe" ? "board" : "none")) === "board";
const features = !featuresOn
  ? null
  : game === "connect_four"
  ? connectFourFeatures()
  : game === "tic_tac_toe"
  ? ticTacToeFeatures()
  : null;
const create = (n: number, s: number) =>
  game === "connect_four"
    ? withBoardFeatures(createConnectFour(n, { seed: s }), features)
    : game === "tic_tac_toe"
    ? withBoardFeatures(createTicTacToe(n, { seed: s }), features)
    : frameStack(
      createRockPaperScissors(n, { seed: s, ...(rounds === undefined ? {} : { rounds }) }),
      STACK,
    );
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
      ? plainRows(new ConnectFourHeuristicPolicy(), features)
      : plainRows(new TicTacToeMinimaxPolicy(), features),
  };
}

/** A deterministic hash of an episode id, for the league's pairings. */
function hash(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  return (x ^ (x >>> 16)) >>> 0;
}

const c4 = game === "connect_four";
const num = (x: string | undefined, d: number) => x === undefined ? d : Number(x);

/** The tuned settings of a game and algorithm (each one can be overridden on the command line). */
interface Tuned {
  numEnvs: number;
  fragment: number;
  hidden: number[];
  activation: "tanh" | "relu";
  share: boolean;
  lr: number;
  gamma: number;
  /** PPO only. */
  entropy: number;
  epochs: number;
  minibatch: number;
  league: LeagueWeights;
}
const TUNED: Record<string, Tuned> = {
  // Connect Four: a shared ReLU torso over the board and its features, 8192 steps per
  // iteration, 4 passes of 1024-row minibatches; the league leans on the heuristic (beating it
  // in both seats is the target, and self-play alone learns that slowly).
  connect_four_ppo: {
    numEnvs: 256,
    fragment: 32,
    hidden: [256, 256],
    activation: "relu",
    share: true,
    lr: 5e-4,
    gamma: 0.97,
    entropy: 0.005,
    epochs: 4,
    minibatch: 1024,
    league: { self: 1, snapshots: 1, random: 1, heuristic: 6 },
  },
  tic_tac_toe_ppo: {
    numEnvs: 64,
    fragment: 32,
    hidden: [128, 128],
    activation: "tanh",
    share: false,
    lr: 1e-3,
    gamma: 0.99,
    entropy: 0.01,
    epochs: 4,
    minibatch: 512,
    league: { self: 3, snapshots: 2, random: 1, heuristic: 2 },
  },
  rock_paper_scissors_ppo: {
    numEnvs: 64,
    fragment: 20,
    hidden: [128, 128],
    activation: "tanh",
    share: false,
    lr: 1e-3,
    gamma: 0.5,
    entropy: 0.01,
    epochs: 4,
    minibatch: 512,
    league: { self: 0, snapshots: 0, random: 0, heuristic: 0 },
  },
  // DQN (RLHive's defaults, sized for the board games).
  dqn: {
    numEnvs: c4 ? 128 : 64,
    fragment: 16,
    hidden: game === "connect_four" ? [256, 256] : [128, 128],
    activation: "relu",
    share: false,
    lr: 1e-3,
    gamma: 0.99,
    entropy: 0,
    epochs: 0,
    minibatch: 0,
    league: c4
      ? { self: 2, snapshots: 2, random: 1, heuristic: 4 }
      : { self: 3, snapshots: 2, random: 1, heuristic: 2 },
  },
};
const tuned = TUNED[algoName === "dqn" ? "dqn" : `${game}_ppo`]!;

/** League weights: how often the learner meets each kind of opponent. */
interface LeagueWeights {
  /** Itself (it learns from both seats). */
  self: number;
  /** The frozen snapshots, shared equally. */
  snapshots: number;
  /** The random player. */
  random: number;
  /** The heuristic (Connect Four) or minimax (Tic-Tac-Toe). */
  heuristic: number;
}
function parseLeague(spec: string | undefined, d: LeagueWeights): LeagueWeights {
  const w = { ...d };
  for (const part of spec?.split(",").filter((x) => x !== "") ?? []) {
    const [k, x] = part.split(":");
    if (!(k! in w) || !(Number(x) >= 0)) {
      console.error(
        `--league: expected e.g. self:2,snapshots:2,random:1,heuristic:4, got "${spec}"`,
      );
      Deno.exit(2);
    }
    w[k as keyof LeagueWeights] = Number(x);
  }
  return w;
}
const league1 = parseLeague(v.league, tuned.league);
const league2 = parseLeague(v.league2, league1);
const SNAPSHOTS = num(v.snapshots, 4);
const SNAPSHOT_EVERY = num(v["snapshot-every"], 10);

// The league: per episode the learner takes a seat and meets an opponent. Board games: itself
// (both seats learn), a frozen snapshot of itself, the random player, the heuristic;
// Rock-Paper-Scissors: the two heuristics.
const fixed = Object.keys(opponents());
/** Rock-Paper-Scissors: how often the learner meets each heuristic (`--opponent`). */
const rpsWeights: Record<string, number> = Object.fromEntries(
  v.opponent === "both"
    ? [["always_same", 1], ["beat_last", 1]]
    : v.opponent.includes(":")
    ? v.opponent.split(",").map((kv) => {
      const [k, x] = kv.split(":");
      return [k!, Number(x)];
    })
    : [[v.opponent, 1]],
);
if (
  game === "rock_paper_scissors" &&
  Object.entries(rpsWeights).some(([k, x]) =>
    !["always_same", "beat_last"].includes(k) || !(x >= 0)
  )
) {
  console.error(
    `--opponent: expected always_same, beat_last, both or weights such as always_same:3,beat_last:1, got "${v.opponent}"`,
  );
  Deno.exit(2);
}
/** The frozen snapshots in the league now (added and removed while training runs). */
const snapshots: string[] = [];
function opponentOf(episodeId: number, learnerSecond: boolean): string {
  const w = learnerSecond ? league2 : league1;
  const league: [string, number][] = game === "rock_paper_scissors"
    ? fixed.filter((o) => (rpsWeights[o] ?? 0) > 0).map((o) => [o, rpsWeights[o]!])
    : [
      ["learner", w.self],
      ...snapshots.map((id): [string, number] => [id, w.snapshots / snapshots.length]),
      [fixed[0]!, w.random],
      [fixed[1]!, w.heuristic],
    ];
  const total = league.reduce((a, [, x]) => a + x, 0);
  let u = (hash(episodeId * 2 + 1) / 2 ** 32) * total;
  for (const [id, x] of league) if ((u -= x) < 0) return id;
  return league.at(-1)![0];
}
const mapping = (agentId: string, episode: EpisodeRef) => {
  const learnerSeat = SEATS[hash(episode.episodeId) % 2]!;
  return agentId === learnerSeat
    ? "learner"
    : opponentOf(episode.episodeId, learnerSeat === "player2");
};

const numEnvs = num(v["num-envs"], tuned.numEnvs);
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
const model = {
  hidden: v.hidden?.split(",").map(Number) ?? tuned.hidden,
  activation: (v.activation ?? tuned.activation) as "tanh" | "relu",
  vfShareLayers: v.share === undefined ? tuned.share : v.share === "true",
};
const algo: Algorithm<object> = algoName === "dqn"
  ? await new DQNConfig()
    .environment(({ numEnvs, seed }) => create(numEnvs, seed))
    .envRunners({ numEnvs, rolloutFragmentLength: num(v.fragment, tuned.fragment) })
    .training({
      ...model,
      lr: num(v.lr, tuned.lr),
      gamma: num(v.gamma, tuned.gamma),
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
    .envRunners({
      numEnvs,
      rolloutFragmentLength: num(v.fragment, tuned.fragment),
    })
    .training({
      ...model,
      lr: num(v.lr, tuned.lr),
      ...(v["lr-final"] === undefined
        ? {}
        : { lrFinal: Number(v["lr-final"]), lrAnnealTimesteps: num(v["lr-steps"], 5e6) }),
      gamma: num(v.gamma, tuned.gamma),
      lambda: num(v.lambda, 0.95),
      entropyCoeff: num(v.entropy, tuned.entropy),
      numEpochs: num(v.epochs, tuned.epochs),
      minibatchSize: num(v.minibatch, tuned.minibatch),
      ...(v["vf-clip"] === undefined
        ? {}
        : { vfClipParam: v["vf-clip"] === "none" ? null : Number(v["vf-clip"]) }),
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
  const trained = (o: string) => (rpsWeights[o] ?? 0) > 0;
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

// The clock counts training only (sampling, learning, snapshots); evaluations are timed apart.
const limit = Number(v.minutes) * 60_000;
let evaluation: Record<string, Record<string, SeatResult>> = {};
let met = false;
let metAt: { seconds: number; cpuSeconds: number; envSteps: number; iteration: number } | null =
  null;
// CPU time of training too: training runs on one thread, so on a busy machine its CPU time is
// close to what the wall clock would show on a quiet one.
let trainMs = 0, evalMs = 0, sampleS = 0, learnS = 0, envSteps = 0, cpuUs = 0;
const history: {
  iteration: number;
  envSteps: number;
  seconds: number;
  cpuSeconds: number;
  met: boolean;
}[] = [];
for (let it = 1;; it++) {
  const t = performance.now(), c = cpuUsage();
  const r = await algo.train();
  sampleS += r.sample_time_s;
  learnS += r.learn_time_s;
  envSteps = r.num_env_steps_sampled;
  if (game !== "rock_paper_scissors" && it % SNAPSHOT_EVERY === 0) {
    // A frozen snapshot of the learner joins the league (RLlib's add_policy); the oldest of
    // more than SNAPSHOTS leaves it (its agents finish their games first).
    const id = `past_${it / SNAPSHOT_EVERY}`;
    algo.addPolicy(id, { weightsFrom: "learner" });
    snapshots.push(id);
    if (snapshots.length > SNAPSHOTS) algo.removePolicy(snapshots.shift()!);
  }
  trainMs += performance.now() - t;
  const dc = cpuUsage(c);
  cpuUs += dc.user + dc.system;
  const trainSeconds = trainMs / 1000;
  const last = (v.clock === "cpu" ? cpuUs / 1000 : trainMs) >= limit;
  if (it % evalEvery === 0 || last) {
    const te = performance.now();
    evaluation = evaluate(evalGames);
    evalMs += performance.now() - te;
    met = targetsMet(evaluation);
    history.push({
      iteration: it,
      envSteps,
      seconds: +trainSeconds.toFixed(1),
      cpuSeconds: +(cpuUs / 1e6).toFixed(1),
      met,
    });
    if (met && metAt === null) {
      metAt = {
        seconds: +trainSeconds.toFixed(1),
        cpuSeconds: +(cpuUs / 1e6).toFixed(1),
        envSteps,
        iteration: it,
      };
    }
    console.log(
      `iter ${it} | ${envSteps} steps | ${trainSeconds.toFixed(0)} s (${
        (envSteps / trainSeconds).toFixed(0)
      }/s, sample ${sampleS.toFixed(0)} s, learn ${learnS.toFixed(0)} s, cpu ${
        (cpuUs / 1e6).toFixed(0)
      } s, load ${Deno.loadavg()[0]!.toFixed(1)}) | ` +
        Object.entries(evaluation).map(([o, s]) =>
          `vs ${o}: 1st ${fmt(s.first!)}, 2nd ${fmt(s.second!)}`
        ).join(" | ") + (met ? " | targets met" : ""),
    );
    if ((met && !v["keep-going"]) || last) break;
  }
}
const trainSeconds = trainMs / 1000;
const summary = {
  game,
  ...(game === "rock_paper_scissors" ? { opponent: v.opponent, rounds: rounds ?? 10 } : {}),
  algorithm: algoName.toUpperCase(),
  seed,
  targets_met: met,
  met_at: metAt,
  clock: v.clock,
  train_seconds: +trainSeconds.toFixed(1),
  sample_seconds: +sampleS.toFixed(1),
  learn_seconds: +learnS.toFixed(1),
  train_cpu_seconds: +(cpuUs / 1e6).toFixed(1),
  eval_seconds: +(evalMs / 1000).toFixed(1),
  env_steps: envSteps,
  env_steps_per_second: Math.round(envSteps / trainSeconds),
  history,
  evaluation_games_per_opponent_and_seat: evalGames,
  evaluation,
};
console.log(JSON.stringify(summary, null, 2));
if (v.json !== undefined) await Deno.writeTextFile(v.json, JSON.stringify(summary, null, 2) + "\n");
algo.dispose();
