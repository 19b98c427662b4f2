import assert from "node:assert/strict";
import { RandomPolicy } from "./policy.ts";
import { Box, Dict, Discrete, MultiDiscrete, Tuple } from "../spaces.ts";
import { Pcg32 } from "../rng.ts";

Deno.test("RandomPolicy samples a Box as Box.sample does, with its log-density", () => {
  const space = new Box([-1, 0, -Infinity, -Infinity, 2], [1, Infinity, Infinity, 2, 2], [5]);
  const p = new RandomPolicy(3, space);
  assert.equal(p.actSize, 5);
  const rows = 2000;
  const act = new Float32Array(rows * 5), logp = new Float32Array(rows), v = new Float32Array(rows);
  v.fill(7);
  p.act(new Float32Array(rows * 3), rows, new Pcg32(4), true, act, {
    action_logp: logp,
    vf_preds: v,
  });
  const ref = new Pcg32(4);
  let mean0 = 0;
  for (let r = 0; r < rows; r++) {
    const a = act.subarray(r * 5, r * 5 + 5);
    assert.deepEqual(a, space.sample(ref), `row ${r}: the same draws as Box.sample`);
    assert.ok(space.contains(a), `row ${r}: ${a}`);
    // Uniform on [-1, 1]: log(1/2); half-normals: log(2 φ(z)); normal: log φ(z); [2, 2]: 0.
    const phi = (z: number) => -0.5 * z * z - 0.5 * Math.log(2 * Math.PI);
    const want = -Math.log(2) + Math.LN2 + phi(a[1]!) + phi(a[2]!) + Math.LN2 + phi(2 - a[3]!);
    assert.ok(Math.abs(logp[r]! - want) < 1e-5, `row ${r}: logp ${logp[r]} vs ${want}`);
    mean0 += a[0]! / rows;
  }
  assert.ok(Math.abs(mean0) < 0.05, `uniform on [-1, 1]: mean ${mean0}`);
  assert.ok(v.every((x) => x === 0), "vf_preds 0");
});

Deno.test("RandomPolicy: Discrete and MultiDiscrete as before; other spaces are refused", () => {
  const d = new RandomPolicy(1, new Discrete(4, 1));
  const act = new Float32Array(100), logp = new Float32Array(100);
  d.act(new Float32Array(100), 100, new Pcg32(1), true, act, { action_logp: logp });
  assert.ok(act.every((a) => Number.isInteger(a) && a >= 1 && a <= 4));
  assert.ok(logp.every((x) => Math.abs(x + Math.log(4)) < 1e-6));
  const m = new RandomPolicy(1, new MultiDiscrete([2, 3]));
  assert.equal(m.actSize, 2);
  assert.throws(
    () => new RandomPolicy(1, new Tuple([new Discrete(2)])),
    /RandomPolicy supports Discrete, MultiDiscrete and Box action spaces, got Tuple/,
  );
});

Deno.test("RandomPolicy from a space: unmasked spaces act as with a size; a masked one draws legal actions only", () => {
  const space = new Box(0, 1, [3]);
  let a = new Float32Array(50);
  const b = new Float32Array(50);
  new RandomPolicy(space, new Discrete(4)).act(new Float32Array(150), 50, new Pcg32(2), true, a);
  new RandomPolicy(3, new Discrete(4)).act(new Float32Array(150), 50, new Pcg32(2), true, b);
  assert.deepEqual(a, b);
  const masked = new Dict({ action_mask: new Box(0, 1, [4]), observations: space });
  const p = new RandomPolicy(masked, new Discrete(4, 1));
  assert.equal(p.obsSize, 7);
  const rows = 400, obs = new Float32Array(rows * 7);
  for (let r = 0; r < rows; r++) obs.set(r % 2 === 0 ? [0, 1, 0, 1] : [1, 0, 0, 0], r * 7);
  p.act(obs, rows, new Pcg32(3), true, a = new Float32Array(rows));
  for (let r = 0; r < rows; r++) {
    assert.ok(r % 2 === 0 ? a[r] === 2 || a[r] === 4 : a[r] === 1, `row ${r}: ${a[r]}`);
  }
});
