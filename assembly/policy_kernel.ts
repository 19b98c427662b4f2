// @enable simd
/**
 * The inference kernel of exported policies (`src/export/exported_policy.ts`): one dense layer
 * block `out = act(x · W + b)` in float32 with WebAssembly SIMD (f32x4), for a single
 * observation. Not an env: it has no env ABI and no facts; the build inlines its bytes like an
 * env's (`src/envs/_generated/policy_kernel_wasm.ts`), and the TypeScript side owns the memory
 * layout: it grows the exported memory once and places inputs, packed weights and outputs.
 *
 * Weight layout (packed by the TypeScript side): the block's `cols` output columns in groups
 * of 4 (the last group padded with zero columns); group `g` is `rows` consecutive `v128`s,
 * row `r` holding `W[r][4g .. 4g + 4)`. So each group's weights are read sequentially, and four
 * groups (16 columns) are accumulated at once with one broadcast of each input. The bias is
 * padded to `4 × groups` floats as well. Outputs are written for the `cols` real columns only.
 *
 * Activations: 0 tanh (a rational approximation, see `Lanes.tanh4`), 1 relu, 2 linear.
 */

/** Four-lane helpers (static methods: `deno fmt` drops decorators on top-level functions). */
class Lanes {
  /**
   * tanh of four lanes: Eigen's rational approximation (odd degree 13 over even degree 6, the
   * input clamped to ±7.998, where tanh is 1 in float32), a few ulps from the exact value; tfjs's
   * WASM kernel (libc `tanhf`) is within an ulp, so the two agree to about 1e-7.
   */
  @inline
  static tanh4(v: v128): v128 {
    const x = f32x4.max(
      f32x4.min(v, f32x4.splat(7.99881172180175781)),
      f32x4.splat(-7.99881172180175781),
    );
    const x2 = f32x4.mul(x, x);
    let p = f32x4.add(
      f32x4.mul(x2, f32x4.splat(-2.76076847742355e-16)),
      f32x4.splat(2.00018790482477e-13),
    );
    p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(-8.60467152213735e-11));
    p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(5.12229709037114e-8));
    p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(1.48572235717979e-5));
    p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(6.37261928875436e-4));
    p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(4.89352455891786e-3));
    p = f32x4.mul(p, x);
    let q = f32x4.add(
      f32x4.mul(x2, f32x4.splat(1.19825839466702e-6)),
      f32x4.splat(1.18534705686654e-4),
    );
    q = f32x4.add(f32x4.mul(q, x2), f32x4.splat(2.26843463243900e-3));
    q = f32x4.add(f32x4.mul(q, x2), f32x4.splat(4.89352518554385e-3));
    const r = f32x4.div(p, q);
    // Below 0.0004 tanh(x) = x in float32 (and the ratio loses a little there).
    return v128.bitselect(x, r, f32x4.lt(f32x4.abs(x), f32x4.splat(0.0004)));
  }

  /** The activation `act` (0 tanh, 1 relu, 2 linear) of four lanes. */
  @inline
  static activate(v: v128, act: i32): v128 {
    if (act == 1) return f32x4.max(v, f32x4.splat(0));
    if (act == 0) return Lanes.tanh4(v);
    return v;
  }

  /** Stores the first `n` (1 to 4) lanes of `v` at `p`. */
  @inline
  static storeLanes(p: usize, v: v128, n: i32): void {
    if (n >= 4) {
      v128.store(p, v);
      return;
    }
    store<f32>(p, f32x4.extract_lane(v, 0));
    if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
    if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
  }
}

/**
 * One dense block: `out[c] = act(b[c] + Σ_r x[r] · W[r][c])` for `c < cols`.
 * @param x address of the block's `rows` input floats
 * @param rows input rows
 * @param w address of the packed weights (16-byte aligned; see the module doc)
 * @param b address of the padded bias (16-byte aligned)
 * @param out address of the block's first output float
 * @param cols output columns
 * @param act 0 tanh, 1 relu, 2 linear
 */
export function dense(
  x: usize,
  rows: i32,
  w: usize,
  b: usize,
  out: usize,
  cols: i32,
  act: i32,
): void {
  const groups = (cols + 3) >> 2;
  const stride = (<usize> rows) << 4;
  let g = 0;
  // Four groups (16 columns) at a time: four independent accumulators.
  for (; g + 4 <= groups && (g + 4) << 2 <= cols; g += 4) {
    const p = w + (<usize> g) * stride;
    const bb = b + ((<usize> g) << 4);
    let a0 = v128.load(bb), a1 = v128.load(bb, 16), a2 = v128.load(bb, 32), a3 = v128.load(bb, 48);
    for (let r = 0; r < rows; r++) {
      const xv = v128.load32_splat(x + ((<usize> r) << 2));
      const q = p + ((<usize> r) << 4);
      a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(q)));
      a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(q + stride)));
      a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(q + 2 * stride)));
      a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(q + 3 * stride)));
    }
    const o = out + ((<usize> g) << 4);
    v128.store(o, Lanes.activate(a0, act));
    v128.store(o, Lanes.activate(a1, act), 16);
    v128.store(o, Lanes.activate(a2, act), 32);
    v128.store(o, Lanes.activate(a3, act), 48);
  }
  // The remaining groups one at a time, two accumulators (even and odd rows).
  for (; g < groups; g++) {
    const p = w + (<usize> g) * stride;
    let a0 = v128.load(b + ((<usize> g) << 4)), a1 = f32x4.splat(0);
    let r = 0;
    for (; r + 2 <= rows; r += 2) {
      const q = p + ((<usize> r) << 4);
      const xp = x + ((<usize> r) << 2);
      a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(xp), v128.load(q)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(xp, 4), v128.load(q, 16)));
    }
    if (r < rows) {
      a0 = f32x4.add(
        a0,
        f32x4.mul(v128.load32_splat(x + ((<usize> r) << 2)), v128.load(p + ((<usize> r) << 4))),
      );
    }
    Lanes.storeLanes(
      out + ((<usize> g) << 4),
      Lanes.activate(f32x4.add(a0, a1), act),
      cols - (g << 2),
    );
  }
}
