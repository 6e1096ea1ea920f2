import { summariseAttempts } from './scoring/across-attempts';

/** Inline-SVG plots of the sweep report that are not forest plots: curves with CI bands. */

/**
 * Characters that change how text around them is shown without being seen themselves: C0 controls
 * but tab and newline, DEL, bidi embeddings, overrides and isolates, zero-width characters and the
 * BOM. Agents write much of what a report shows; with these, `task-\u202E12` reads as "task-21".
 */
const INVISIBLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/g;

/** HTML-escaped text, with every INVISIBLE character shown as its code point (e.g. `⟦U+202E⟧`). */
export const esc = (s: string) =>
  s
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
    .replace(INVISIBLE, (c) => `⟦U+${c.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')}⟧`);
/** A fraction as signed pp: `+12.5`, `-3.0`. */
export const signed = (x: number) => (x >= 0 ? '+' : '') + (x * 100).toFixed(1);

/** A point estimate with its 95% CI (fractions: 0.1 = 10 pp). */
export interface Estimate {
  value: number;
  ci: [number, number];
}

/**
 * Several runs' estimates of one quantity as one: a single run keeps its own CI (over tasks); two or
 * more give their mean with a Student-t 95% CI across runs (docs/statistics.md), as the across-seeds
 * summary does. `n` is how many runs it pools.
 */
export function poolRuns(points: readonly Estimate[]): Estimate & { n: number } {
  if (!points.length) throw new RangeError('poolRuns needs at least one estimate');
  if (points.length === 1) return { ...points[0], n: 1 };
  const s = summariseAttempts(points.map((p) => p.value));
  return { value: s.mean, ci: s.ci as [number, number], n: points.length };
}

/** One line of a curve plot: its points in x order (x values need not be shared by every series). */
export interface CurveSeries {
  label: string;
  points: { x: number; value: number; ci: [number, number] }[];
}

/** An axis of a forest plot: round tick values (fractions: 0.1 = 10 pp) and how many decimals their pp labels need. */
export interface PlotAxis {
  ticks: number[];
  decimals: number;
}

/**
 * Round ticks for a forest plot's uplift axis, covering every value in [lo, hi] and 0: a step of
 * 1, 2 or 5 × 10^k percentage points giving about `target` intervals, from the last tick at or below
 * min(lo, 0) to the first at or above max(hi, 0). Values are fractions (0.1 = 10 pp).
 */
export function niceAxis(lo: number, hi: number, target = 6): PlotAxis {
  let a = Math.min(lo, 0) * 100;
  let b = Math.max(hi, 0) * 100;
  if (!(b - a > 1e-9)) {
    a -= 1;
    b += 1;
  }
  const raw = (b - a) / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const mult = [1, 2, 5, 10].find((m) => m * pow >= raw * (1 - 1e-12)) ?? 10;
  const step = mult * pow;
  // The tolerance only absorbs float noise (a value 1e-9 steps past a tick still counts as on it).
  const first = Math.floor(a / step + 1e-9);
  const last = Math.ceil(b / step - 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)) / 100);
  return { ticks, decimals: Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) };
}

/** A tick's label in pp: `+10`, `0`, `-2.5`. */
export const tickText = (t: number, decimals: number) => {
  const s = (t * 100).toFixed(decimals);
  return Number(s) === 0 ? '0' : Number(s) > 0 ? `+${s}` : s;
};

const PALETTE = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bc4c00', '#1b7c83', '#9a6700', '#57606a'];

/**
 * Uplift curves with their 95% CI as shaded bands, one colour per series, as inline SVG that
 * scales to the width it is given (viewBox). The x values are placed evenly in order (budgets are
 * usually geometric) and labelled with `xLabel`; the y axis is uplift in pp with round ticks that
 * cover every point and band; a legend under the plot names the series.
 */
export function curvePlot(series: readonly CurveSeries[], opts: { xTitle: string; xLabel: (x: number) => string; aria: string }): string {
  const shown = series.filter((s) => s.points.length);
  if (!shown.length) return '';
  const xs = [...new Set(shown.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const all = shown.flatMap((s) => s.points);
  const axis = niceAxis(Math.min(...all.map((p) => Math.min(p.value, p.ci[0]))), Math.max(...all.map((p) => Math.max(p.value, p.ci[1]))));
  const lo = axis.ticks[0];
  const hi = axis.ticks[axis.ticks.length - 1];
  const left = 64;
  const top = 12;
  const plotW = 560;
  const plotH = 220;
  const width = left + plotW + 24;
  const legendTop = top + plotH + 58;
  const legendH = 18 * shown.length;
  const height = legendTop + legendH + 6;
  const X = (x: number) => Math.round((left + (xs.length === 1 ? plotW / 2 : (xs.indexOf(x) / (xs.length - 1)) * plotW)) * 100) / 100;
  const Y = (v: number) => Math.round((top + plotH - ((v - lo) / (hi - lo)) * plotH) * 100) / 100;
  const grid = [
    ...axis.ticks.map((t) => `<line class="tick" x1="${left}" x2="${left + plotW}" y1="${Y(t)}" y2="${Y(t)}" stroke="${t === 0 ? '#8c959f' : '#d0d7de'}" stroke-dasharray="${t === 0 ? '0' : '3,3'}"/><text class="tick-label" x="${left - 6}" y="${Y(t) + 4}" text-anchor="end" font-size="11">${tickText(t, axis.decimals)}</text>`),
    ...xs.map((x) => `<line x1="${X(x)}" x2="${X(x)}" y1="${top + plotH}" y2="${top + plotH + 4}" stroke="#8c959f"/><text class="tick-label" x="${X(x)}" y="${top + plotH + 17}" text-anchor="middle" font-size="11">${esc(opts.xLabel(x))}</text>`),
  ].join('\n');
  const lines = shown
    .map((s, i) => {
      const color = PALETTE[i % PALETTE.length];
      const pts = [...s.points].sort((a, b) => a.x - b.x);
      const band = [...pts.map((p) => `${X(p.x)},${Y(p.ci[1])}`), ...[...pts].reverse().map((p) => `${X(p.x)},${Y(p.ci[0])}`)].join(' ');
      const dots = pts.map((p) => `<circle cx="${X(p.x)}" cy="${Y(p.value)}" r="3.5" fill="${color}"><title>${esc(s.label)} at ${esc(opts.xLabel(p.x))}: ${signed(p.value)} pp [${signed(p.ci[0])}, ${signed(p.ci[1])}]</title></circle>`).join('');
      const legendY = legendTop + 18 * i;
      return `<polygon class="band" points="${band}" fill="${color}" fill-opacity="0.15" stroke="none"/>
<polyline class="curve" points="${pts.map((p) => `${X(p.x)},${Y(p.value)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>${dots}
<rect x="${left}" y="${legendY - 9}" width="14" height="10" fill="${color}" fill-opacity="0.35" stroke="${color}"/><text x="${left + 20}" y="${legendY}" font-size="12">${esc(s.label)}</text>`;
    })
    .join('\n');
  const titles = `<text class="axis-title" x="${left + plotW / 2}" y="${top + plotH + 36}" text-anchor="middle" font-size="12">${esc(opts.xTitle)}</text>
<text class="axis-title" transform="translate(14 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">uplift, pp (band: 95% CI)</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" preserveAspectRatio="xMinYMin meet" style="width:100%;max-width:${width}px;height:auto" role="img" aria-label="${esc(opts.aria)}">${grid}\n${titles}\n${lines}</svg>`;
}
