/**
 * A tiny batched env for the trainer's tests of evaluation and checkpoints, written on
 * {@linkcode SlotEnv}: it has `episodeMetrics`, `saveState`/`loadState`, and agents that end
 * before their episode and are paid later (`holdsEndedAgents`), so held rows cross fragment
 * boundaries and checkpoints.
 *
 * Per env, two runners (`runner_0`, `runner_1`, one slot each) start at 0 on a track of length
 * 5 and act every step: 0 stays, 1 moves one cell forward (it fails with probability 0.3), 2
 * sprints two cells (it fails with probability 0.5).
 * Each step costs 0.05; reaching the end gives 1 and ends the runner (TERMINATED). When the
 * second runner arrives, the first, who ended earlier, is paid 0.5 late (its slot, no flags), and
 * the episode ends; after `maxSteps` (12) it is truncated. Observation: `[position, steps]`.
 *
 * `episodeMetrics` (per finished episode): `reach_rate` (runners that arrived / 2) and
 * `first_arrival` (the step the first runner arrived, NaN when none did).
 *
 * @module
 */

import {
  ACTIVE,
  ALIVE,
  type EpisodeMetricsView,
  SlotEnv,
  SPAWNED,
  TERMINATED,
  TRUNCATED,
} from "../../env/batched.ts";
import { Pcg32 } from "../../rng.ts";
import { Box, Discrete } from "../../spaces.ts";

/** Track length. */
export const RELAY_LENGTH = 5;

/** See the module doc. */
export class RelayEnv extends SlotEnv {
  /** Ended runners are paid later: their slots stay theirs until the episode ends. */
  readonly holdsEndedAgents = true;
  /** The last finished episode of each env: `reach_rate`, `first_arrival`. */
  readonly episodeMetrics: EpisodeMetricsView;
  /** Steps before truncation. */
  readonly maxSteps: number;
  readonly #pos: Int32Array;
  readonly #arrived: Uint8Array;
  readonly #steps: Int32Array;
  readonly #first: Float64Array;
  readonly #rngs: Pcg32[];
  readonly #rngState: Uint32Array;
  readonly #ready = new Uint8Array(1);

  /**
   * @param numEnvs number of envs
   * @param seed env `i` draws from PCG32(seed, i)
   * @param maxSteps steps before truncation (default 12)
   */
  constructor(numEnvs: number, seed = 0, maxSteps = 12) {
    super(numEnvs, [{
      name: "runners",
      slotsPerEnv: 2,
      observationSpace: new Box(0, 100, [2]),
      actionSpace: new Discrete(3),
    }]);
    this.maxSteps = maxSteps;
    this.#pos = new Int32Array(numEnvs * 2);
    this.#arrived = new Uint8Array(numEnvs * 2);
    this.#steps = new Int32Array(numEnvs);
    this.#first = new Float64Array(numEnvs).fill(NaN);
    this.#rngs = Array.from({ length: numEnvs }, (_, i) => new Pcg32(seed, i));
    this.#rngState = new Uint32Array(numEnvs * 4);
    this.episodeMetrics = {
      names: ["reach_rate", "first_arrival"],
      values: new Float32Array(numEnvs * 2).fill(NaN),
    };
  }

  /** @inheritdoc */
  agentId(slot: number): string {
    return `runner_${slot % 2}`;
  }

  #start(i: number): void {
    this.#steps[i] = 0;
    this.#first[i] = NaN;
    for (let j = 0; j < 2; j++) {
      const s = i * 2 + j;
      this.#pos[s] = 0;
      this.#arrived[s] = 0;
      this.flags[s]! |= SPAWNED | ACTIVE | ALIVE;
      this.#write(this.groups[0]!.obs, s);
    }
  }

  #write(buf: Float32Array, s: number): void {
    buf[s * 2] = this.#pos[s]!;
    buf[s * 2 + 1] = this.#steps[Math.floor(s / 2)]!;
  }

  /** @inheritdoc */
  reset(seed?: number): void {
    this.flags.fill(0);
    this.rew.fill(0);
    this.envDone.fill(0);
    this.envTruncated.fill(0);
    for (let i = 0; i < this.numEnvs; i++) {
      if (seed !== undefined) this.#rngs[i]!.seed(seed, i);
      this.#start(i);
    }
    this.#ready[0] = 1;
  }

  /** @inheritdoc */
  step(): void {
    if (this.#ready[0] === 0) throw new Error("Cannot step before reset");
    const act = this.groups[0]!.act, obs = this.groups[0]!.obs, fin = this.groups[0]!.finalObs;
    for (let s = 0; s < this.numSlots; s++) {
      if ((this.flags[s]! & ACTIVE) === 0 || this.stepMask[Math.floor(s / 2)] === 0) continue;
      const a = act[s]!;
      if (a !== 0 && a !== 1 && a !== 2) {
        throw new RangeError(`Invalid action ${a} for agent "${this.agentId(s)}"`);
      }
    }
    for (let i = 0; i < this.numEnvs; i++) {
      this.envDone[i] = 0;
      this.envTruncated[i] = 0;
      if (this.stepMask[i] === 0) {
        for (let s = i * 2; s < i * 2 + 2; s++) {
          this.flags[s]! &= ACTIVE | ALIVE;
          this.rew[s] = 0;
        }
        continue;
      }
      const rng = this.#rngs[i]!;
      this.#steps[i]!++;
      let arrivedNow = 0;
      for (let s = i * 2; s < i * 2 + 2; s++) {
        this.rew[s] = 0;
        if ((this.flags[s]! & ALIVE) === 0) {
          this.flags[s] = 0;
          continue;
        }
        this.flags[s] = ALIVE;
        const a = act[s]!;
        if (a === 1 && rng.nextFloat() >= 0.3) this.#pos[s]!++;
        else if (a === 2 && rng.nextFloat() >= 0.5) this.#pos[s] = this.#pos[s]! + 2;
        this.rew[s] = -0.05;
        this.#write(obs, s);
        if (this.#pos[s]! >= RELAY_LENGTH) {
          this.rew[s] = this.rew[s]! + 1;
          this.flags[s] = TERMINATED;
          this.#write(fin, s);
          this.#arrived[s] = 1;
          arrivedNow |= 1 << (s - i * 2);
          if (Number.isNaN(this.#first[i]!)) this.#first[i] = this.#steps[i]!;
        } else this.flags[s] = ACTIVE | ALIVE;
      }
      const both = this.#arrived[i * 2] === 1 && this.#arrived[i * 2 + 1] === 1;
      if (both) {
        // The runner who arrived earlier is paid late, in its held slot.
        for (let j = 0; j < 2; j++) {
          if ((arrivedNow & (1 << j)) === 0) this.rew[i * 2 + j] = this.rew[i * 2 + j]! + 0.5;
        }
      } else if (this.#steps[i]! >= this.maxSteps) {
        for (let s = i * 2; s < i * 2 + 2; s++) {
          if ((this.flags[s]! & ALIVE) === 0) continue;
          this.flags[s] = TRUNCATED;
          this.#write(fin, s);
        }
        this.envTruncated[i] = 1;
      }
      if (both || this.envTruncated[i] === 1) {
        this.envDone[i] = 1;
        const v = this.episodeMetrics.values;
        v[i * 2] = (this.#arrived[i * 2]! + this.#arrived[i * 2 + 1]!) / 2;
        v[i * 2 + 1] = this.#first[i]!;
        this.#start(i);
      }
    }
  }

  /**
   * The whole state (slot buffers, positions, steps, random streams, metrics).
   * @returns the bytes
   */
  saveState(): Uint8Array {
    this.#rngs.forEach((r, i) => this.#rngState.set(r.getState(), i * 4));
    return this.saveSlotState("RelayEnv", this.#arrays());
  }

  /**
   * Restores a state from `saveState`.
   * @param state the bytes
   */
  loadState(state: Uint8Array): void {
    this.loadSlotState("RelayEnv", state, this.#arrays());
    this.#rngs.forEach((r, i) => r.setState(Array.from(this.#rngState.subarray(i * 4, i * 4 + 4))));
  }

  #arrays(): ArrayBufferView[] {
    return [
      this.#pos,
      this.#arrived,
      this.#steps,
      this.#first,
      this.#rngState,
      this.episodeMetrics.values,
      this.#ready,
    ];
  }
}
