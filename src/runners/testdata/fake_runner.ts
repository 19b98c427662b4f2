/**
 * A fake env runner for the pool's restart tests (`pool_test.ts`): it speaks the runner protocol
 * without an env. It answers `policies` updates and records them, and answers `sample` with what
 * it knows (its index, its env seed, the policy updates it has seen); `runnerArgs.fail` makes
 * runner `fail.runner` of the first generation (its generation-0 env seed) fail its
 * `fail.sample`-th sample request with an error message. Adding a policy named `bad` fails.
 *
 * @module
 */

import { runnerSeeds, type ToRunner } from "../protocol.ts";

/** What the tests pass as `runnerArgs`. */
export interface FakeRunnerArgs {
  /** Which runner fails, at which of its sample requests (1-based). */
  fail?: { runner: number; sample: number };
}

/** The fragment the fake answers with. */
export interface FakeFragment {
  /** Message kind. */
  type: "fragment";
  /** The request. */
  id: number;
  /** The runner's index. */
  runner: number;
  /** Its env seed. */
  envSeed: number;
  /** The policies added (ids) and removed (`-id`) it has seen, in order. */
  seen: string[];
}

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<ToRunner>) => void) | null;
  postMessage(m: unknown): void;
};
const seen: string[] = [];
let runner = -1, envSeed = 0, samples = 0;
let args: FakeRunnerArgs = {};
scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "init") {
    runner = m.runner;
    envSeed = m.envSeed;
    args = m.runnerArgs as FakeRunnerArgs;
    scope.postMessage({ type: "ready" });
  } else if (m.type === "policies") {
    if (m.add?.policyId === "bad") {
      scope.postMessage({ type: "error", id: m.id, message: "bad policy", stack: undefined });
      return;
    }
    seen.push(m.add !== undefined ? m.add.policyId : `-${m.remove}`);
    scope.postMessage({ type: "state", id: m.id, bytes: new Uint8Array(0) });
  } else if (m.type === "sample") {
    samples++;
    const f = args.fail;
    if (
      f !== undefined && f.runner === runner && f.sample === samples &&
      envSeed === runnerSeeds(0, runner, 0).envSeed
    ) {
      scope.postMessage({ type: "error", id: m.id, message: "fake failure", stack: undefined });
      return;
    }
    const answer: FakeFragment = { type: "fragment", id: m.id, runner, envSeed, seen: [...seen] };
    scope.postMessage(answer);
  }
};
scope.postMessage({ type: "listening" });
