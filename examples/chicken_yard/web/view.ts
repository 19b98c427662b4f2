/// <reference lib="dom" />
/**
 * The chicken yard in the browser: loads a checkpoint written by `train.ts` (`?checkpoint=URL`,
 * default `checkpoint.ckpt` beside the page), restores both policies with the package's own
 * code, and plays episodes of a one-yard {@linkcode ChickenYardEnv} live on a canvas: chickens
 * coloured by personality (their first three OCEAN traits as red, green, blue), the robots
 * (A, B, in their own personality's colour), their paths from a small start circle, a ring and
 * a dashed line to each robot's chosen chicken, and in the status the chosen chicken's dot product
 * with the robot's personality beside the best one available. Greedy actions; the tfjs backend is the plain-JS `cpu` one, so the page needs no
 * `.wasm` file. `window.coopView` tells a test where the episode is.
 *
 * Query parameters: `checkpoint`, `seed` (the yard), `delay` (ms between steps, default 40),
 * `autoplay`. Built and served by `serve.ts` (`deno bundle --platform browser`).
 *
 * @module
 */

import {
  ChickenYardEnv,
  initBackend,
  MemoryStorage,
  policyFromCheckpoint,
  type SpaceValue,
} from "@coop/rl";

/** What the page exposes for tests. */
interface ViewState {
  loaded: boolean;
  playing: boolean;
  episodes: number;
  steps: number;
  reached: number;
  returns: Record<string, number>;
  error: string | null;
}

const state: ViewState = {
  loaded: false,
  playing: false,
  episodes: 0,
  steps: 0,
  reached: 0,
  returns: {},
  error: null,
};
(globalThis as unknown as { coopView: ViewState }).coopView = state;

const canvas = document.getElementById("yard") as HTMLCanvasElement;
const ctx = canvas.getContext("2d")!;
const statusEl = document.getElementById("status")!;
const playButton = document.getElementById("play") as HTMLButtonElement;
const seedInput = document.getElementById("seed") as HTMLInputElement;

type Rows = ArrayLike<ArrayLike<number>>;
interface HighObs {
  chicken_oceans: Rows;
  chicken_positions: Rows;
  robot_ocean: ArrayLike<number>;
  robot_position: ArrayLike<number>;
}
interface LowObs {
  robot_position: ArrayLike<number>;
  target: number;
}

/** An OCEAN vector as a colour: its first three traits as red, green and blue. */
function colour(ocean: ArrayLike<number>): string {
  const c = (x: number) => Math.round(40 + 200 * Math.min(1, Math.max(0, x)));
  return `rgb(${c(ocean[0]!)}, ${c(ocean[1]!)}, ${c(ocean[2]!)})`;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function bestDot(robot: ArrayLike<number>, chickens: Rows): number {
  let best = -Infinity;
  for (let k = 0; k < chickens.length; k++) best = Math.max(best, dot(robot, chickens[k]!));
  return best;
}

interface Robot {
  name: string;
  ocean: ArrayLike<number>;
  path: [number, number][];
  target: number | null;
  done: string | null;
}

function draw(chickens: HighObs | null, robots: Robot[]): void {
  const W = canvas.width, H = canvas.height, pad = 20;
  const X = (x: number) => pad + x * (W - 2 * pad), Y = (y: number) => pad + y * (H - 2 * pad);
  ctx.fillStyle = "#f4f1e6";
  ctx.fillRect(0, 0, W, H);
  ctx.strokeStyle = "#bbb";
  ctx.strokeRect(pad, pad, W - 2 * pad, H - 2 * pad);
  if (chickens === null) return;
  const pos = chickens.chicken_positions, oc = chickens.chicken_oceans;
  for (let k = 0; k < pos.length; k++) {
    const [x, y] = [X(pos[k]![0]!), Y(pos[k]![1]!)];
    ctx.fillStyle = colour(oc[k]!);
    ctx.beginPath();
    ctx.arc(x, y, 11, 0, 2 * Math.PI);
    ctx.fill();
    ctx.strokeStyle = "#333";
    ctx.stroke();
    ctx.fillStyle = "#111";
    ctx.font = "11px sans-serif";
    ctx.fillText(String(k), x - 3, y + 4);
  }
  for (const r of robots) {
    if (r.path.length === 0) continue;
    const [x, y] = r.path.at(-1)!;
    if (r.target !== null) {
      ctx.strokeStyle = colour(r.ocean);
      ctx.setLineDash([4, 4]);
      ctx.beginPath();
      ctx.moveTo(X(x), Y(y));
      ctx.lineTo(X(pos[r.target]![0]!), Y(pos[r.target]![1]!));
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.lineWidth = 3;
      ctx.beginPath();
      ctx.arc(X(pos[r.target]![0]!), Y(pos[r.target]![1]!), 15, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.lineWidth = 1;
    }
    const [sx, sy] = r.path[0]!;
    ctx.strokeStyle = "#555";
    ctx.beginPath();
    ctx.arc(X(sx), Y(sy), 4, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.beginPath();
    r.path.forEach((
      [px, py],
      i,
    ) => (i === 0 ? ctx.moveTo(X(px), Y(py)) : ctx.lineTo(X(px), Y(py))));
    ctx.stroke();
    ctx.fillStyle = colour(r.ocean);
    ctx.fillRect(X(x) - 9, Y(y) - 9, 18, 18);
    ctx.strokeStyle = "#000";
    ctx.strokeRect(X(x) - 9, Y(y) - 9, 18, 18);
    ctx.fillStyle = "#000";
    ctx.font = "bold 12px sans-serif";
    ctx.fillText(r.name, X(x) - 4, Y(y) + 4);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  await initBackend({ backend: "cpu" });
  const params = new URLSearchParams(location.search);
  const url = params.get("checkpoint") ?? "checkpoint.ckpt";
  const delay = Number(params.get("delay") ?? 40);
  if (params.has("seed")) seedInput.value = params.get("seed")!;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`fetching ${url}: ${res.status}`);
  const storage = new MemoryStorage();
  await storage.write("run.ckpt", new Uint8Array(await res.arrayBuffer()));
  const high = await policyFromCheckpoint(storage, "run.ckpt", "high_level_policy");
  const low = await policyFromCheckpoint(storage, "run.ckpt", "low_level_policy");
  const lowAction = low.actionSpace.toString().startsWith("Box") ? "continuous" : "discrete";
  const env = new ChickenYardEnv({ lowAction });
  state.loaded = true;
  statusEl.textContent = `policies from ${url}\npress play`;
  draw(null, []);

  const play = async () => {
    if (state.playing) return;
    state.playing = true;
    state.steps = 0;
    state.reached = 0;
    state.returns = {};
    let { obs } = env.reset({ seed: Number(seedInput.value) || 0 });
    const first = obs.robot_1_high as unknown as HighObs;
    const robots: Robot[] = ["robot_1", "robot_2"].map((id, j) => {
      const o = obs[`${id}_high`] as unknown as HighObs;
      return {
        name: j === 0 ? "A" : "B",
        ocean: o.robot_ocean,
        path: [[o.robot_position[0]!, o.robot_position[1]!]],
        target: null,
        done: null,
      };
    });
    draw(first, robots);
    for (;;) {
      const actions: Record<string, SpaceValue> = {};
      const ids = Object.keys(obs);
      for (const [policy, level] of [[high, "high"], [low, "low"]] as const) {
        const mine = ids.filter((id) => id.endsWith(level));
        if (mine.length === 0) continue;
        const acts = policy.computeActions(mine.map((id) => obs[id]), { explore: false });
        mine.forEach((id, i) => (actions[id] = acts[i]!));
        if (level === "high") {
          mine.forEach((
            id,
            i,
          ) => (robots[id.startsWith("robot_1") ? 0 : 1]!.target = acts[i] as number));
        }
      }
      const r = env.step(actions);
      state.steps++;
      for (const [id, x] of Object.entries(r.rewards)) {
        state.returns[id] = (state.returns[id] ?? 0) + x;
      }
      for (const [id, o] of Object.entries(r.obs)) {
        const robot = robots[id.startsWith("robot_1") ? 0 : 1]!;
        const p = (o as unknown as LowObs).robot_position;
        const last = robot.path.at(-1)!;
        if (last[0] !== p[0] || last[1] !== p[1]) robot.path.push([p[0]!, p[1]!]);
      }
      for (const [id, d] of Object.entries(r.terminateds)) {
        if (!d || id === "__all__" || !id.endsWith("_high")) continue;
        const robot = robots[id.startsWith("robot_1") ? 0 : 1]!;
        robot.done = (r.rewards[id] ?? 0) < 0 ? "timed out" : "reached its chicken";
        if (robot.done === "reached its chicken") state.reached++;
      }
      draw(first, robots);
      statusEl.textContent = [
        `seed ${seedInput.value}, step ${state.steps}`,
        ...robots.map((rb) => {
          const choice = rb.target === null
            ? "-"
            : `${rb.target} (dot ${
              dot(rb.ocean, first.chicken_oceans[rb.target]!).toFixed(3)
            }, best ${bestDot(rb.ocean, first.chicken_oceans).toFixed(3)})`;
          return `${rb.name}: chicken ${choice}${rb.done ? `, ${rb.done}` : ""}`;
        }),
        ...Object.entries(state.returns).map(([id, x]) => `${id.padEnd(13)} ${x.toFixed(3)}`),
      ].join("\n");
      if (r.terminateds.__all__ || r.truncateds.__all__) break;
      obs = r.obs;
      await sleep(delay);
    }
    statusEl.textContent += "\nepisode over";
    state.episodes++;
    state.playing = false;
  };
  playButton.onclick = () => void play();
  if (params.has("autoplay")) await play();
}

main().catch((e) => {
  state.error = String(e?.stack ?? e);
  statusEl.textContent = `error: ${state.error}`;
});
