import type { Command } from 'commander';
import { SpecError } from '../../core/errors';
import { tableLines, type SweepResults } from '../../core/report';
import { mean } from '../../core/scoring/bootstrap';
import { tQuantile } from '../../core/scoring/student-t';
import { dataDirOf, dataDirOption, withReadOnlyStores } from '../local/data-dir';
import { EXIT, type Io } from '../io';
import { readSweep } from './sweep-data';

/** The confidence level of the difference's interval. */
const LEVEL = 0.95;

/** How `compare` computes its interval, in words: printed above the table and in `--json`. */
export const COMPARE_METHOD =
  "difference = mean uplift in B − mean uplift in A per cell, over each side's succeeded attempts (seeds); " +
  "95% CI by Welch's t: (mB − mA) ± t(0.975, df) · √(sA²/nA + sB²/nB), df by Welch–Satterthwaite; " +
  'none unless both sides have 2 or more attempts. The sweeps are independent samples: runs are not paired across them.';

/** Difference of two means with Welch's unequal-variance t interval. */
export interface WelchDifference {
  difference: number;
  /** Standard error of the difference; null without an interval. */
  se: number | null;
  /** Welch–Satterthwaite degrees of freedom; null when there is no interval or no spread at all. */
  df: number | null;
  ci: [number, number] | null;
  method: 'welch-t' | 'none';
  note?: string;
}

const variance = (xs: readonly number[]) => {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
};

/**
 * mean(b) − mean(a) with a `level` CI by Welch's t: the difference ± t_{(1+level)/2, df} · se,
 * se² = s_a²/n_a + s_b²/n_b (sample variances, n − 1 denominators), df = se⁴ / ((s_a²/n_a)²/(n_a−1) +
 * (s_b²/n_b)²/(n_b−1)). Both sides need 2 values; with no spread on either side the interval is the point.
 */
export function welchDifference(a: readonly number[], b: readonly number[], level = LEVEL): WelchDifference {
  if (!a.length || !b.length) throw new RangeError('welchDifference needs at least one value on each side');
  const difference = mean(b) - mean(a);
  if (a.length < 2 || b.length < 2) return { difference, se: null, df: null, ci: null, method: 'none', note: `needs 2 or more attempts on each side (A has ${a.length}, B has ${b.length})` };
  const va = variance(a) / a.length;
  const vb = variance(b) / b.length;
  const se = Math.sqrt(va + vb);
  if (se === 0) return { difference, se: 0, df: null, ci: [difference, difference], method: 'welch-t', note: 'no spread across attempts on either side' };
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const half = tQuantile((1 + level) / 2, df) * se;
  return { difference, se, df, ci: [difference - half, difference + half], method: 'welch-t' };
}

interface CellKey {
  tla: string;
  ra: string;
  cbm: string;
  variant: string;
}

export interface CellComparison extends CellKey, WelchDifference {
  a: { attempts: number; meanUplift: number | null };
  b: { attempts: number; meanUplift: number | null };
}

export interface SweepComparison {
  sweepA: string;
  sweepB: string;
  method: string;
  /** Cells with runs in both sweeps; `difference` is null when a side has no succeeded attempt. */
  cells: (CellComparison | (CellKey & { a: CellComparison['a']; b: CellComparison['b']; difference: null; ci: null; method: 'none'; note: string }))[];
  onlyInA: CellKey[];
  onlyInB: CellKey[];
  notice?: string;
}

const keyOf = (c: CellKey) => [c.tla, c.ra, c.cbm, c.variant].join('\u0000');

/** Per cell: every run's key, and the uplifts of its succeeded runs (as the across-seeds summary counts them). */
function cellsOf(res: SweepResults): Map<string, { key: CellKey; uplifts: number[] }> {
  const out = new Map<string, { key: CellKey; uplifts: number[] }>();
  for (const r of res.runs) {
    const key = { tla: r.tla, ra: r.ra, cbm: r.cbm, variant: r.variant };
    const cell = out.get(keyOf(key)) ?? { key, uplifts: [] };
    if (r.status === 'succeeded' && r.uplift !== null) cell.uplifts.push(r.uplift);
    out.set(keyOf(key), cell);
  }
  return out;
}

/** Compares the cells two sweeps share (B − A), and lists the cells only one of them has. */
export function compareSweeps(a: SweepResults, b: SweepResults): SweepComparison {
  const ca = cellsOf(a);
  const cb = cellsOf(b);
  const side = (u: number[]) => ({ attempts: u.length, meanUplift: u.length ? mean(u) : null });
  const cells: SweepComparison['cells'] = [];
  for (const [k, x] of ca) {
    const y = cb.get(k);
    if (!y) continue;
    if (!x.uplifts.length || !y.uplifts.length) {
      cells.push({ ...x.key, a: side(x.uplifts), b: side(y.uplifts), difference: null, ci: null, method: 'none', note: `no succeeded attempt in ${!x.uplifts.length ? 'A' : 'B'}` });
      continue;
    }
    cells.push({ ...x.key, a: side(x.uplifts), b: side(y.uplifts), ...welchDifference(x.uplifts, y.uplifts) });
  }
  const sortKey = (p: CellKey, q: CellKey) => p.cbm.localeCompare(q.cbm) || p.ra.localeCompare(q.ra) || p.tla.localeCompare(q.tla) || p.variant.localeCompare(q.variant);
  const offline = [a, b].filter((r) => r.offlineStandIn).map((r) => r.sweepId);
  return {
    sweepA: a.sweepId,
    sweepB: b.sweepId,
    method: COMPARE_METHOD,
    cells: cells.sort(sortKey),
    onlyInA: [...ca].filter(([k]) => !cb.has(k)).map(([, c]) => c.key).sort(sortKey),
    onlyInB: [...cb].filter(([k]) => !ca.has(k)).map(([, c]) => c.key).sort(sortKey),
    ...(offline.length ? { notice: `${offline.join(' and ')} used the offline stand-in model, not an LLM.` } : {}),
  };
}

const pp = (x: number | null) => (x === null ? '—' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`);

export function renderComparison(c: SweepComparison): string {
  const parts = [`A = ${c.sweepA}\nB = ${c.sweepB}`, `Method: ${c.method}`];
  if (c.cells.length) {
    const rows = c.cells.map((x) => [
      x.tla,
      x.ra,
      x.cbm,
      x.variant,
      String(x.a.attempts),
      pp(x.a.meanUplift),
      String(x.b.attempts),
      pp(x.b.meanUplift),
      pp(x.difference),
      x.ci ? `[${pp(x.ci[0])}, ${pp(x.ci[1])}]` : '—',
      x.method === 'welch-t' ? (x.df === null ? 'Welch t (no spread)' : `Welch t, ${x.df.toFixed(1)} df`) : `none: ${x.note}`,
    ]);
    parts.push(tableLines(['TLA', 'RA', 'CBM', 'variant', 'A n', 'A mean pp', 'B n', 'B mean pp', 'B − A pp', '95% CI', 'CI method'], rows, 4, true).join('\n'));
  } else parts.push('No cell (TLA, RA, CBM, variant) is in both sweeps.');
  const only = (label: string, cells: CellKey[]) => (cells.length ? `Only in ${label}:\n${cells.map((x) => `  ${x.tla} × ${x.ra} × ${x.cbm} × ${x.variant}`).join('\n')}` : undefined);
  for (const o of [only(`A (${c.sweepA})`, c.onlyInA), only(`B (${c.sweepB})`, c.onlyInB)]) if (o) parts.push(o);
  if (c.notice) parts.push(`NOTE: ${c.notice}`);
  return parts.join('\n\n');
}

/** `uplift compare <sweep-a> <sweep-b>`. */
export function registerCompareCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('compare')
    .description("compare two sweeps' shared cells (mean uplift across seeds, B − A with a Welch t 95% CI) and list cells only one has")
    .argument('<sweep-a>')
    .argument('<sweep-b>')
    .option('--json', 'print the comparison as JSON')
    .addOption(dataDirOption())
    .action(async (sweepA: string, sweepB: string, opts: { json?: boolean; dataDir?: string }) => {
      const dir = dataDirOf(opts.dataDir);
      const [a, b] = await withReadOnlyStores(dir, async (stores) => {
        // Both unknown ids are named at once.
        const read = await Promise.allSettled([readSweep(stores, dir, sweepA), readSweep(stores, dir, sweepB)]);
        const problems = read.flatMap((r) => (r.status === 'rejected' && r.reason instanceof SpecError ? r.reason.problems : []));
        if (problems.length) throw new SpecError(problems);
        return read.map((r) => {
          if (r.status === 'rejected') throw r.reason;
          return r.value;
        });
      });
      const comparison = compareSweeps(a.results, b.results);
      io.out((opts.json ? JSON.stringify(comparison, null, 2) : renderComparison(comparison)) + '\n');
      setExit(EXIT.ok);
    });
}
