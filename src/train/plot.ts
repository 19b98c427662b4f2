/**
 * Learning curves as standalone SVG (no dependencies, Web-standard: the string can be written
 * to a file, served, or put into a page).
 *
 * @module
 */

/** One line of a plot. */
export interface Series {
  /** Legend label. */
  label: string;
  /** Points `[x, y]`; non-finite y values are skipped. */
  points: ReadonlyArray<readonly [number, number]>;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function ticks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  // The candidate step whose tick count is closest to n.
  let step = mag;
  for (const m of [1, 2, 5, 10]) {
    if (Math.abs(span / (m * mag) - n) < Math.abs(span / step - n)) step = m * mag;
  }
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}

function label(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(2)}`;
}

/**
 * Renders line series as an SVG document.
 * @param series the lines
 * @param opts title and axis labels, size in pixels
 * @returns the SVG text
 *
 * @example
 * ```ts
 * import { svgLineChart } from "./plot.ts";
 * const svg = svgLineChart([{ label: "reward", points: [[0, 0], [1000, 50]] }], {
 *   title: "windy maze", xLabel: "env steps", yLabel: "episode reward",
 * });
 * if (!svg.startsWith("<svg")) throw new Error("not svg");
 * ```
 */
export function svgLineChart(
  series: readonly Series[],
  opts: { title: string; xLabel: string; yLabel: string; width?: number; height?: number },
): string {
  const W = opts.width ?? 720, H = opts.height ?? 420;
  const m = { l: 64, r: 16, t: 36, b: 48 };
  const pts = series.flatMap((s) => s.points.filter(([x, y]) => isFinite(x) && isFinite(y)));
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = xs.length ? Math.min(...xs) : 0, x1 = xs.length ? Math.max(...xs) : 1;
  let y0 = ys.length ? Math.min(0, ...ys) : 0, y1 = ys.length ? Math.max(...ys) : 1;
  if (y1 === y0) y1 = y0 + 1;
  const pad = (y1 - y0) * 0.05;
  y0 -= y0 < 0 ? pad : 0;
  y1 += pad;
  const sx = (x: number) => m.l + (x - x0) / (x1 - x0 || 1) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - (y - y0) / (y1 - y0) * (H - m.t - m.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`,
  ];
  for (const t of ticks(y0, y1)) {
    out.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${sy(t)}" y2="${sy(t)}" stroke="#ddd"/>`,
      `<text x="${m.l - 6}" y="${sy(t) + 4}" text-anchor="end">${label(t)}</text>`,
    );
  }
  for (const t of ticks(x0, x1)) {
    out.push(
      `<line x1="${sx(t)}" x2="${sx(t)}" y1="${H - m.b}" y2="${H - m.b + 4}" stroke="#333"/>`,
      `<text x="${sx(t)}" y="${H - m.b + 18}" text-anchor="middle">${label(t)}</text>`,
    );
  }
  out.push(
    `<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`,
    `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`,
    `<text x="${(W + m.l) / 2}" y="${H - 10}" text-anchor="middle">${esc(opts.xLabel)}</text>`,
    `<text transform="translate(16 ${(H - m.b + m.t) / 2}) rotate(-90)" text-anchor="middle">${
      esc(opts.yLabel)
    }</text>`,
  );
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const d = s.points.filter(([x, y]) => isFinite(x) && isFinite(y))
      .map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)} ${sy(y).toFixed(1)}`).join(" ");
    if (d) out.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="2"/>`);
    out.push(
      `<rect x="${m.l + 10}" y="${m.t + 6 + i * 16}" width="12" height="3" fill="${c}"/>`,
      `<text x="${m.l + 28}" y="${m.t + 11 + i * 16}">${esc(s.label)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n");
}
