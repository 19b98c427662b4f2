import assert from "node:assert/strict";
import { MemoryLogDir, parseJsonLine } from "./logger.ts";
import {
  csvCell,
  CsvLogger,
  parseCsvLine,
  PROGRESS_CSV,
  pythonNumber,
  RayJsonLogger,
  RESULT_JSON,
} from "./ray.ts";

function result(i: number, withEval = false): { training_iteration: number } {
  return {
    episode_reward_mean: i === 1 ? NaN : i * 1.5,
    policy_reward_mean: { high_level_policy: i, low_level_policy: -i / 4 },
    training_iteration: i,
    num_env_steps_sampled: 512 * i,
    time_this_iter_s: 0.5,
    info: { learner: { low_level_policy: { learner_stats: { kl: 0.01 * i, cur_lr: 1e-5 } } } },
    backend: { name: "wasm", simd: true },
    ...(withEval ? { evaluation: { episode_reward_mean: 10 * i } } : {}),
  } as { training_iteration: number };
}

// 2024-01-02 03:04:05 local time.
const T0 = new Date(2024, 0, 2, 3, 4, 5).getTime();

Deno.test("pythonNumber and csvCell print values as Python's csv module does", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [4096, "4096"],
    [-2.5, "-2.5"],
    [0.1, "0.1"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [123456789.125, "123456789.125"],
    [1.5e16, "1.5e+16"],
    [2e16, "2e+16"],
    [NaN, "nan"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
  ];
  for (const [x, s] of cases) assert.equal(pythonNumber(x), s, `${x}`);
  assert.equal(csvCell(true), "True");
  assert.equal(csvCell(null), "");
  assert.equal(csvCell(undefined), "");
  assert.equal(csvCell('a,"b"'), '"a,""b"""');
  assert.equal(csvCell("two\nlines"), "two lines");
  assert.equal(csvCell([1, "x"]), "\"[1, 'x']\"");
  assert.deepEqual(parseCsvLine('1,"a,""b""",,x'), ["1", 'a,"b"', "", "x"]);
});

Deno.test("result.json: Tune's JSON lines with NaN tokens, Tune's fields and config", async () => {
  const dir = new MemoryLogDir();
  let t = T0;
  const log = new RayJsonLogger(dir, { now: () => t });
  await log.start({ name: "maze_0", config: { lr: 0.001 }, host: { pid: 42, hostname: "h" } });
  await log.logResult(result(1));
  t += 1500;
  await log.logResult(result(2));
  await log.logEvaluation({ x: 1 }, { training_iteration: 2, num_env_steps_sampled: 1024 });
  await log.close();
  const text = dir.text(RESULT_JSON)!;
  const lines = text.split("\n");
  assert.equal(lines.length, 3);
  assert.ok(lines[0]!.startsWith('{"episode_reward_mean":NaN,"policy_reward_mean":{'));
  const first = parseJsonLine(lines[0]!) as Record<string, unknown>;
  const second = parseJsonLine(lines[1]!) as Record<string, unknown>;
  assert.ok(Number.isNaN(first.episode_reward_mean));
  assert.deepEqual(Object.keys(first).slice(-10), [
    "backend",
    "timestamp",
    "done",
    "trial_id",
    "date",
    "time_since_restore",
    "iterations_since_restore",
    "pid",
    "hostname",
    "config",
  ]);
  assert.equal(first.trial_id, "maze_0");
  assert.equal(first.date, "2024-01-02_03-04-05");
  assert.equal(first.timestamp, Math.floor(T0 / 1000));
  assert.equal(first.done, false);
  assert.deepEqual(first.config, { lr: 0.001 });
  assert.equal(second.time_since_restore, 1);
  assert.equal(second.iterations_since_restore, 2);
  assert.equal(second.date, "2024-01-02_03-04-06");
});

Deno.test("progress.csv: header of flattened keys, \\r\\n rows, new keys widen the header", async () => {
  const dir = new MemoryLogDir();
  const log = new CsvLogger(dir, { now: () => T0, tuneFields: false });
  await log.start({ config: { lr: 1 } });
  await log.logResult(result(1));
  await log.logResult({ training_iteration: 2, backend: { name: "a,b" } });
  const header =
    "episode_reward_mean,policy_reward_mean/high_level_policy,policy_reward_mean/low_level_policy," +
    "training_iteration,num_env_steps_sampled,time_this_iter_s," +
    "info/learner/low_level_policy/learner_stats/kl,info/learner/low_level_policy/learner_stats/cur_lr," +
    "backend/name,backend/simd";
  assert.equal(
    dir.text(PROGRESS_CSV),
    `${header}\r\nnan,1,-0.25,1,512,0.5,0.01,1e-05,wasm,True\r\n,,,2,,,,,"a,b",\r\n`,
  );
  // Evaluation keys appear at iteration 3: the file is rewritten once with the new columns.
  await log.logResult(result(3, true));
  await log.logResult(result(4, true));
  assert.deepEqual(log.columns.slice(-1), ["evaluation/episode_reward_mean"]);
  const rows = dir.text(PROGRESS_CSV)!.split("\r\n");
  assert.equal(rows.length, 6);
  assert.equal(rows[0], `${header},evaluation/episode_reward_mean`);
  assert.equal(rows[1], "nan,1,-0.25,1,512,0.5,0.01,1e-05,wasm,True,");
  assert.equal(rows[2], ',,,2,,,,,"a,b",,');
  assert.equal(rows[3], "4.5,3,-0.75,3,1536,0.5,0.03,1e-05,wasm,True,30");
  assert.equal(rows[4]!.split(",").at(-1), "40");
  for (const r of rows.slice(1, -1)) assert.equal(parseCsvLine(r).length, log.columns.length);
});

Deno.test("progress.csv: Tune's fields are columns; config is not", async () => {
  const dir = new MemoryLogDir();
  const log = new CsvLogger(dir, { now: () => T0 });
  await log.start({ name: "run", config: { lr: 1 } });
  await log.logResult({ training_iteration: 1, time_this_iter_s: 2 });
  const [header, row] = dir.text(PROGRESS_CSV)!.split("\r\n");
  assert.equal(
    header,
    "training_iteration,time_this_iter_s,timestamp,done,trial_id,date,time_since_restore,iterations_since_restore",
  );
  assert.equal(row, `1,2,${Math.floor(T0 / 1000)},False,run,2024-01-02_03-04-05,2,1`);
});

Deno.test("result.json and progress.csv: kill -9 mid-line, resume from the checkpoint: no row duplicated or lost", async () => {
  const run = async (dir: MemoryLogDir, from: number, to: number, resume?: number) => {
    const json = new RayJsonLogger(dir, { now: () => T0 });
    const csv = new CsvLogger(dir, { now: () => T0 });
    await json.start({ resumeFromIteration: resume });
    await csv.start({ resumeFromIteration: resume });
    for (let i = from; i <= to; i++) {
      await json.logResult(result(i, i >= 4));
      await csv.logResult(result(i, i >= 4));
    }
  };
  const whole = new MemoryLogDir();
  await run(whole, 1, 8);

  const dir = new MemoryLogDir();
  await run(dir, 1, 6);
  const enc = new TextEncoder();
  await dir.append(RESULT_JSON, enc.encode('{"episode_reward_mean":10.5,"pol'));
  await dir.append(PROGRESS_CSV, enc.encode("10.5,7,-1.75,7,35"));
  // The checkpoint of iteration 3 is the last one: its log lines end before the new key.
  await run(dir, 4, 8, 3);
  // Tune's per-process counters restart with the process (as in Ray); all else is identical.
  const strip = (text: string) =>
    text.replace(/"time_since_restore":[^,]+,"iterations_since_restore":\d+/g, "");
  assert.equal(strip(dir.text(RESULT_JSON)!), strip(whole.text(RESULT_JSON)!));
  const header = parseCsvLine(dir.text(PROGRESS_CSV)!.split("\r\n")[0]!);
  const skip = [header.indexOf("time_since_restore"), header.indexOf("iterations_since_restore")];
  assert.ok(skip[0]! > 0 && skip[1]! > 0);
  const csvRows = (text: string) =>
    text.split("\r\n").map((l) => parseCsvLine(l).filter((_c, j) => !skip.includes(j)));
  assert.deepEqual(csvRows(dir.text(PROGRESS_CSV)!), csvRows(whole.text(PROGRESS_CSV)!));
  assert.equal(dir.text(PROGRESS_CSV)!.split("\r\n").length, 10);
  // Resumed after the evaluation column appeared: the header keeps it.
  const late = new CsvLogger(dir, { now: () => T0 });
  await late.start({ resumeFromIteration: 5 });
  assert.equal(late.columns.at(-1), "evaluation/episode_reward_mean");
  assert.equal(dir.text(PROGRESS_CSV)!.split("\r\n").length, 7);
});
