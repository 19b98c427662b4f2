/// <reference lib="dom" />
/**
 * The page side of the browser training demo: "train" starts `worker.js` (a Web Worker that
 * trains the hierarchical windy maze with PPO), and every iteration it reports is drawn: the
 * mean episode reward against env steps on the left, the maze with one greedy episode's path
 * on the right. `window.coopTrain` tells a test where training is. Query parameters:
 * `backend` (`wasm`, the default, or `cpu`), `threads` (tfjs's WASM threads, default 1),
 * `runners` (env runners in nested Web Workers, default 1: sampling in the training worker),
 * `seed`, `stopReward` (default 80), `maxSteps`, `autostart`.
 *
 * Threads: the page is cross-origin isolated (COOP/COEP), so `threads=2` runs tfjs's threaded
 * SIMD build inside the Web Worker (its pthreads are nested Web Workers; see
 * `src/runtime/tfjs_threads.ts`). Measured with `bench/browser_train_bench.ts` (headless
 * Chromium, 2-core machine shared with other jobs, load average 7–10, seed 0, interleaved, with
 * the earlier settings: separate policy and value towers, 8 low-level epochs):
 * seconds to a mean reward of 80 were 13.7 / 17.8 / 14.7 s single-threaded (median 14.7 s)
 * against 70.4 / 76.8 / 86.0 s with 2 threads (median 76.8 s); with the measuring session given
 * priority over the other jobs (autogroup nice −15), 10.1 / 10.0 s against 65.2 / 53.5 s. The
 * threaded build hands every kernel to its pool (a pthread in a nested worker) and waits for
 * it; on this training run's small batches (64 envs, 64×64 MLPs) that costs far more than the
 * second core gains, so the page keeps 1 thread by default.
 *
 * @module
 */

import { WINDY_MAZE_MAP } from "@coop/rl/envs";

/** What the page exposes for tests. */
interface TrainState {
  running: boolean;
  done: boolean;
  reached: boolean;
  iteration: number;
  steps: number;
  reward: number;
  seconds: number;
  backend: unknown;
  runners: number;
  error: string | null;
}

const state: TrainState = {
  running: false,
  done: false,
  reached: false,
  iteration: 0,
  steps: 0,
  reward: NaN,
  seconds: 0,
  backend: null,
  runners: 0,
  error: null,
};
(globalThis as unknown as { coopTrain: TrainState }).coopTrain = state;

const params = new URLSearchParams(location.search);
const curve = document.getElementById("curve") as HTMLCanvasElement;
const maze = document.getElementById("maze") as HTMLCanvasElement;
const statusEl = document.getElementById("status")!;
const button = document.getElementById("train") as HTMLButtonElement;
const seedInput = document.getElementById("seed") as HTMLInputElement;
if (params.has("seed")) seedInput.value = params.get("seed")!;
const stopReward = Number(params.get("stopReward") ?? 80);
const maxSteps = Number(params.get("maxSteps") ?? 400_000);
/** tfjs's WASM threads by default (see the module doc for the measurement). */
const DEFAULT_THREADS = 1;
const points: [number, number][] = [];

function drawCurve(): void {
  const ctx = curve.getContext("2d")!;
  const W = curve.width, H = curve.height, pad = 36;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, W, H);
  const maxX = Math.max(50_000, ...points.map((p) => p[0]));
  const lo = -50, hi = 120;
  const X = (x: number) => pad + (x / maxX) * (W - 2 * pad);
  const Y = (y: number) => H - pad - ((y - lo) / (hi - lo)) * (H - 2 * pad);
  ctx.strokeStyle = "#999";
  ctx.strokeRect(pad, pad, W - 2 * pad, H - 2 * pad);
  ctx.fillStyle = "#444";
  ctx.font = "11px sans-serif";
  for (const y of [-50, 0, 50, 100]) ctx.fillText(String(y), 4, Y(y) + 4);
  ctx.fillText(`env steps (max ${maxX})`, W / 2 - 50, H - 8);
  ctx.strokeStyle = "#c33";
  ctx.setLineDash([5, 4]);
  ctx.beginPath();
  ctx.moveTo(pad, Y(stopReward));
  ctx.lineTo(W - pad, Y(stopReward));
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.strokeStyle = "#1a5fb4";
  ctx.lineWidth = 2;
  ctx.beginPath();
  points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(X(x), Y(y)) : ctx.lineTo(X(x), Y(y))));
  ctx.stroke();
  ctx.lineWidth = 1;
}

function drawMaze(path: [number, number][]): void {
  const ctx = maze.getContext("2d")!;
  const rows = WINDY_MAZE_MAP.length, cols = WINDY_MAZE_MAP[0]!.length;
  const s = Math.floor(Math.min(maze.width / cols, maze.height / rows));
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, maze.width, maze.height);
  WINDY_MAZE_MAP.forEach((line, r) => {
    for (let c = 0; c < cols; c++) {
      const ch = line[c];
      ctx.fillStyle = ch === "#"
        ? "#333"
        : ch === "S"
        ? "#9ec5fe"
        : ch === "F"
        ? "#8fd694"
        : "#f4f1e6";
      ctx.fillRect(c * s, r * s, s - 1, s - 1);
    }
  });
  ctx.strokeStyle = "#e66100";
  ctx.lineWidth = 3;
  ctx.beginPath();
  path.forEach(([r, c], i) => {
    const x = c * s + s / 2, y = r * s + s / 2;
    i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y);
  });
  ctx.stroke();
  ctx.lineWidth = 1;
}

function start(): void {
  if (state.running) return;
  Object.assign(state, { running: true, done: false, reached: false, error: null });
  points.length = 0;
  const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = (e) => {
    const m = e.data;
    if (m.type === "iteration") {
      Object.assign(state, {
        iteration: m.iteration,
        steps: m.steps,
        reward: m.reward,
        seconds: m.seconds,
        backend: m.backend,
        runners: m.runners,
      });
      if (Number.isFinite(m.reward)) points.push([m.steps, m.reward]);
      drawCurve();
      drawMaze(m.path);
      statusEl.textContent = `iteration ${m.iteration}, ${m.steps} env steps, ${
        m.seconds.toFixed(1)
      } s (${Math.round(m.stepsPerSecond)} steps/s)\nmean episode reward ${
        Number.isFinite(m.reward) ? m.reward.toFixed(1) : "-"
      } (target ${stopReward})\nbackend ${JSON.stringify(m.backend)}, ${m.runners} env runner(s)`;
    } else if (m.type === "done") {
      Object.assign(state, { running: false, done: true, reached: m.reached });
      statusEl.textContent += m.reached
        ? `\nreached ${stopReward} after ${m.steps} env steps in ${m.seconds.toFixed(1)} s`
        : `\nstopped at ${m.steps} env steps without reaching ${stopReward}`;
      worker.terminate();
    } else if (m.type === "error") {
      Object.assign(state, { running: false, error: m.message });
      statusEl.textContent = `error: ${m.message}`;
      worker.terminate();
    }
  };
  worker.postMessage({
    type: "train",
    seed: Number(seedInput.value) || 0,
    backend: params.get("backend") ?? "wasm",
    threads: Number(params.get("threads") ?? DEFAULT_THREADS),
    runners: Number(params.get("runners") ?? 1),
    stopReward,
    maxSteps,
  });
  statusEl.textContent = "starting the worker...";
}

button.onclick = start;
drawCurve();
drawMaze([]);
if (params.has("autostart")) start();
