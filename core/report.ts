import { hasScores, type BudgetLedger, type CostSplit, type DatasetFacts, type GuardResult, type OutcomeCounts, type RunMetrics, type RunModels, type RunRecord, type ScorePair, type SweepMeta, type Tokens } from './records';
import { summariseAttempts } from './scoring/across-attempts';
import { curvePlot, esc, niceAxis, poolRuns, signed, tickText, type CurveSeries, type Estimate } from './report-plots';
import { REPORT_DETAIL_LIMITS, type RunDetails } from './sweep/report-details';
import type { TaskRow } from './sweep/outputs';

export { niceAxis, type PlotAxis } from './report-plots';

/** Shown wherever results of the offline model appear. */
export const OFFLINE_NOTICE = 'Produced by the offline stand-in model (deterministic rules per CBM kind, documented in the README), not by an LLM.';

/** One run in `--json` output (issue contract: tla, ra, cbm, variant, seed, status, baseline, mra, uplift, ci, tokens, costUsd). */
export interface RunResult {
  runId: string;
  tla: string;
  ra: string;
  cbm: string;
  variant: string;
  seed: number;
  /** The RA's model (as `models.ra`). */
  model: string;
  /** Every model the run used, by role: the RA's, the TLA's own (absent: a scripted TLA), the judge's. */
  models: RunModels;
  status: string;
  baseline: number | null;
  mra: number | null;
  uplift: number | null;
  ci: [number, number] | null;
  tokens: number;
  costUsd: number;
  /** `tokens` by who spent them: TLA, baseline (0 when cached), MRA, budget curve, judge. */
  tokenSplit?: Tokens;
  /** `costUsd` by who spent it. */
  costs?: CostSplit;
  /** The test split it was scored on: size by set and label balance. */
  dataset?: DatasetFacts;
  baselineCached: boolean;
  error?: string;
  warnings?: string[];
  /** Scores at TLA token budgets, if the sweep asked for a budget curve. */
  curve?: { budget: number; step: number | null; mra: number; uplift: number; ci: [number, number] }[];
  /** Test tasks by outcome (scored, agent_error, infra_error) for the baseline and the MRA. */
  outcomes?: { baseline?: OutcomeCounts; mra?: OutcomeCounts };
  /** The guard (utility that must be kept), for CBMs with one; `baseline`/`mra`/`uplift`/`ci` are the objective's. */
  guard?: GuardResult;
  /** Objective scores by group (e.g. injection_variant → value). */
  breakdown?: Record<string, Record<string, ScorePair>>;
  /** Metric names and chance levels of the run's CBM kind. */
  metrics?: RunMetrics;
  /** Tokens the judge spent scoring this run (included in `tokens`). */
  judgeTokens?: number;
  /** RE-Bench best-of-k over each test task's attempts (per-task kinds run with attempts > 1). */
  bestOfK?: RunRecord['bestOfK'];
  /** RE-Bench time-budget curve over the same attempts: best score within each total-time budget (docs/statistics.md). */
  timeCurve?: RunRecord['timeCurve'];
}

/**
 * Across seeds: mean uplift of a (TLA, RA, CBM, variant) cell over its succeeded attempts, with a
 * 95% CI over attempts (docs/statistics.md): Student-t with attempts − 1 df, or none for 1 attempt.
 */
export interface CellSummary {
  tla: string;
  ra: string;
  cbm: string;
  variant: string;
  attempts: number;
  meanUplift: number;
  /** 95% CI of the mean uplift over attempts; null with 1 attempt (no spread across attempts to measure). */
  ci: [number, number] | null;
  /** How `ci` was computed: 't' = Student-t interval over attempts (df = attempts − 1); 'none' = 1 attempt, no interval. */
  ciMethod: 't' | 'none';
  /** Why there is no interval, e.g. "1 attempt: see the run's CI over tasks". */
  note?: string;
  /** Mean guard uplift over the attempts, for CBMs with a guard. */
  meanGuardUplift?: number;
}

export interface SweepResults {
  sweepId: string;
  name: string;
  status: string;
  offlineStandIn: boolean;
  notice?: string;
  models: string[];
  budget?: { limitUsd: number; spentUsd: number; reservedUsd: number };
  runs: RunResult[];
  summary: CellSummary[];
}

export function buildResults(meta: SweepMeta, records: RunRecord[], budget?: BudgetLedger): SweepResults {
  const runs: RunResult[] = records
    .map((r) => ({
      runId: r.runId,
      tla: r.tla,
      ra: r.ra,
      cbm: r.cbm,
      variant: r.variant,
      seed: r.seed,
      model: r.model,
      models: r.models ?? { ra: r.model },
      status: r.status,
      baseline: r.baseline ?? null,
      mra: r.mra ?? null,
      uplift: r.uplift ?? null,
      ci: r.ci ?? null,
      tokens: r.tokens ? r.tokens.tla + r.tokens.baseline + r.tokens.mra + (r.tokens.curve ?? 0) + (r.tokens.judge ?? 0) : 0,
      ...(r.tokens?.judge !== undefined ? { judgeTokens: r.tokens.judge } : {}),
      ...(r.guard ? { guard: r.guard } : {}),
      ...(r.breakdown ? { breakdown: r.breakdown } : {}),
      ...(r.metrics ? { metrics: r.metrics } : {}),
      ...(r.bestOfK ? { bestOfK: r.bestOfK } : {}),
      ...(r.timeCurve ? { timeCurve: r.timeCurve } : {}),
      costUsd: r.costUsd ?? 0,
      ...(r.tokens ? { tokenSplit: r.tokens } : {}),
      ...(r.costs ? { costs: r.costs } : {}),
      ...(r.dataset ? { dataset: r.dataset } : {}),
      baselineCached: r.baselineCached ?? false,
      ...(r.error ? { error: r.error } : {}),
      ...(r.warnings?.length ? { warnings: r.warnings } : {}),
      ...(r.curve ? { curve: r.curve } : {}),
      ...(r.outcomes ? { outcomes: r.outcomes } : {}),
    }))
    .sort((a, b) => a.cbm.localeCompare(b.cbm) || a.ra.localeCompare(b.ra) || a.tla.localeCompare(b.tla) || a.variant.localeCompare(b.variant) || a.seed - b.seed);
  const summary = byCell(runs.filter((r) => r.status === 'succeeded' && r.uplift !== null)).map(({ runs: rs }) => {
    const a = summariseAttempts(rs.map((r) => r.uplift as number));
    const guards = rs.flatMap((r) => (r.guard ? [r.guard.uplift] : []));
    return {
      tla: rs[0].tla,
      ra: rs[0].ra,
      cbm: rs[0].cbm,
      variant: rs[0].variant,
      attempts: a.attempts,
      meanUplift: a.mean,
      ci: a.ci,
      ciMethod: a.method,
      ...(a.note ? { note: a.note } : {}),
      ...(guards.length ? { meanGuardUplift: guards.reduce((x, y) => x + y, 0) / guards.length } : {}),
    };
  });
  return {
    sweepId: meta.sweepId,
    name: meta.name,
    status: meta.status,
    offlineStandIn: meta.offlineOnly || meta.models.includes('offline'),
    ...(meta.offlineOnly || meta.models.includes('offline') ? { notice: OFFLINE_NOTICE } : {}),
    models: meta.models,
    ...(budget ? { budget: { limitUsd: budget.limitUsd, spentUsd: budget.spentUsd, reservedUsd: budget.reservedUsd } } : {}),
    runs,
    summary,
  };
}

/** Agent and infrastructure errors of the baseline and the MRA, e.g. `0/0 → 3/0`; `—` before scoring. */
export function errorsText(o: RunResult['outcomes']): string {
  const one = (c: OutcomeCounts | undefined) => (c ? `${c.agent_error}/${c.infra_error}` : '—');
  return o ? `${one(o.baseline)} → ${one(o.mra)}` : '—';
}

const pct = (x: number | null) => (x === null ? '—' : (x * 100).toFixed(1));
const ciText = (ci: [number, number] | null) => (ci === null ? '—' : `[${signed(ci[0])}, ${signed(ci[1])}]`);
/** Dollars as the tables show them: 4 decimals below $1, else 2. */
export const usd = (x: number) => `$${x.toFixed(x < 1 ? 4 : 2)}`;

/**
 * Lines of a plain-text table (header first, then a rule under it when `rule`); columns from
 * `firstNumeric` on are right-aligned.
 */
export function tableLines(head: string[], rows: string[][], firstNumeric: number, rule = false): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= firstNumeric ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(head), ...(rule ? [widths.map((w) => '─'.repeat(w)).join('  ')] : []), ...rows.map(line)];
}

/** Width the terminal tables are fitted to when there is no terminal to ask (output piped, or a terminal that does not say). */
export const DEFAULT_TABLE_WIDTH = 100;
/** Narrowest width UPLIFT_COLUMNS may ask for. */
const MIN_TABLE_WIDTH = 40;

/**
 * Width to fit terminal output to: $UPLIFT_COLUMNS when set (e.g. 250, to see every column when
 * output is piped), else the terminal's width, else 100. `warning` says why UPLIFT_COLUMNS was ignored.
 */
export function terminalWidth(env: Record<string, string | undefined> = process.env, out: { isTTY?: boolean; columns?: number } = process.stdout): { width: number; warning?: string } {
  const asked = env.UPLIFT_COLUMNS;
  const fallback = out.isTTY && out.columns && out.columns > 0 ? out.columns : DEFAULT_TABLE_WIDTH;
  if (asked === undefined || asked === '') return { width: fallback };
  const n = Number(asked);
  if (Number.isInteger(n) && n >= MIN_TABLE_WIDTH) return { width: n };
  return { width: fallback, warning: `UPLIFT_COLUMNS=${JSON.stringify(asked).slice(1, -1)} is not a whole number of at least ${MIN_TABLE_WIDTH}, so it was ignored and the tables fit ${fallback} columns. Fix: e.g. UPLIFT_COLUMNS=200, or unset it` };
}

/**
 * Word-wraps text (each of its lines) to `width`; continuation lines start with `indent`. Words are
 * never cut: one longer than the width gets a line of its own.
 */
export function wrapText(text: string, width: number, indent = ''): string {
  return text
    .split('\n')
    .map((line) => {
      if (line.length <= width) return line;
      const lead = /^ */.exec(line)?.[0] ?? '';
      const out: string[] = [];
      let cur = lead;
      for (const word of line.slice(lead.length).split(/ +/).filter(Boolean)) {
        const start = out.length ? indent : lead;
        if (cur.length > start.length && cur.length + 1 + word.length > width) {
          out.push(cur);
          cur = indent + word;
        } else cur = cur.length > start.length ? `${cur} ${word}` : start + word;
      }
      out.push(cur);
      return out.join('\n');
    })
    .join('\n');
}

/** How a table gives way when it is wider than the terminal. */
export interface TableFit {
  /** Headers of the columns that always stay. */
  keep: string[];
  /** Headers of the columns to leave out first, in order; the other columns not kept are left out after them, last column first. */
  dropFirst?: string[];
  /** Leading columns (all kept) that may move to a line of their own above the rest of their row, when that keeps more columns. */
  label?: number;
}

/** A table fitted to a width: its lines, the headers left out, and the width it needs to show every column. */
export interface FittedTable {
  lines: string[];
  omitted: string[];
  fullWidth: number;
}

/**
 * Lays a table out within `width` columns without cutting any value: columns are left out in the
 * order `fit` gives (never the kept ones), and the leading `fit.label` columns move to a line of
 * their own above each row when that keeps more columns than one line per row does. Columns from
 * `firstNumeric` on are right-aligned; a rule goes under the header. Only when even the kept
 * columns cannot fit are lines wider than `width` (the narrower layout is used).
 */
export function fitTable(head: string[], rows: string[][], firstNumeric: number, width: number, fit: TableFit): FittedTable {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const all = head.map((_, i) => i);
  const span = (cols: number[]) => cols.reduce((s, c) => s + widths[c], 0) + 2 * Math.max(0, cols.length - 1);
  const label = Math.min(fit.label ?? 0, head.length - 1);
  const flatWidth = (cols: number[]) => span(cols);
  const stackedWidth = (cols: number[]) => Math.max(span(cols.filter((c) => c < label)), 2 + span(cols.filter((c) => c >= label)));
  const kept = new Set(fit.keep.map((h) => head.indexOf(h)).filter((i) => i >= 0));
  for (let i = 0; i < label; i++) kept.add(i);
  const first = (fit.dropFirst ?? []).map((h) => head.indexOf(h)).filter((i) => i >= 0 && !kept.has(i));
  const order = [...first, ...all.filter((i) => !kept.has(i) && !first.includes(i)).reverse()];
  const layout = (measure: (cols: number[]) => number) => {
    let cols = all;
    for (const d of order) {
      if (measure(cols) <= width) break;
      cols = cols.filter((c) => c !== d);
    }
    return { cols, w: measure(cols) };
  };
  const flat = layout(flatWidth);
  const stacked = label > 0 ? layout(stackedWidth) : undefined;
  const useStacked =
    stacked !== undefined && (flat.w <= width ? stacked.w <= width && stacked.cols.length > flat.cols.length : stacked.w <= width || stacked.w < flat.w);
  const cols = useStacked && stacked ? stacked.cols : flat.cols;
  const line = (cells: string[], which: number[]) => which.map((c) => (c >= firstNumeric ? cells[c].padStart(widths[c]) : cells[c].padEnd(widths[c]))).join('  ').trimEnd();
  const rule = (which: number[]) => which.map((c) => '─'.repeat(widths[c])).join('  ');
  let lines: string[];
  if (useStacked) {
    const lead = cols.filter((c) => c < label);
    const rest = cols.filter((c) => c >= label);
    lines = [line(head, lead), `  ${line(head, rest)}`, `  ${rule(rest)}`, ...rows.flatMap((r) => [line(r, lead), `  ${line(r, rest)}`])];
  } else lines = [line(head, cols), rule(cols), ...rows.map((r) => line(r, cols))];
  return { lines, omitted: all.filter((c) => !cols.includes(c)).map((c) => head[c]), fullWidth: flatWidth(all) };
}

/** When a fitted table left columns out: a note (wrapped to `width`) naming them and how to see them; else nothing. */
export function omittedNote(f: FittedTable, width: number): string[] {
  if (!f.omitted.length) return [];
  return [wrapText(`(Left out to fit ${width} columns: ${f.omitted.join(', ')}. To see them: --json, or a terminal ${f.fullWidth} columns wide, or UPLIFT_COLUMNS=${f.fullWidth}.)`, width, ' ')];
}

/** A table of the terminal output, fitted to `width` (see fitTable). */
export function fittedTable(head: string[], rows: string[][], firstNumeric: number, width: number, fit: TableFit): string {
  const f = fitTable(head, rows, firstNumeric, width, fit);
  return [...f.lines, ...omittedNote(f, width)].join('\n');
}

/** Rows of the budget-curve table (uplift in pp at each budget), or undefined when no run has a curve. */
function curveTable(res: SweepResults): { head: string[]; rows: string[][] } | undefined {
  const withCurve = res.runs.filter((r) => r.curve?.length);
  if (!withCurve.length) return undefined;
  const budgets = [...new Set(withCurve.flatMap((r) => (r.curve ?? []).map((p) => p.budget)))].sort((a, b) => a - b);
  return {
    head: ['run', ...budgets.map((b) => `${b.toLocaleString('en-US')} tok`)],
    rows: withCurve.map((r) => [r.runId, ...budgets.map((b) => {
      const p = r.curve?.find((x) => x.budget === b);
      return p ? signed(p.uplift) : '—';
    })]),
  };
}

/** The guard's change as the tables show it: `−2.5 [−6.0, +1.0]`, with `VIOLATED` when it fell by more than allowed. */
function guardText(g: GuardResult | undefined): string {
  return g ? `${signed(g.uplift)} ${ciText(g.ci)}${g.violated ? ' VIOLATED' : ''}` : '—';
}

/**
 * Per breakdown group (e.g. injection_variant) of each CBM: the objective's baseline and, per TLA,
 * the mean uplift over its scored runs (seeds and variants), in pp.
 */
export function breakdownTables(res: SweepResults): { cbm: string; group: string; head: string[]; rows: string[][] }[] {
  const out: { cbm: string; group: string; head: string[]; rows: string[][] }[] = [];
  const scored = res.runs.filter((r) => r.breakdown && r.uplift !== null);
  for (const cbm of [...new Set(scored.map((r) => r.cbm))]) {
    const runs = scored.filter((r) => r.cbm === cbm);
    const tlas = [...new Set(runs.map((r) => r.tla))];
    for (const group of [...new Set(runs.flatMap((r) => Object.keys(r.breakdown ?? {})))]) {
      const values = [...new Set(runs.flatMap((r) => Object.keys(r.breakdown?.[group] ?? {})))].sort();
      const rows = values.map((v) => {
        const cells = runs.flatMap((r) => (r.breakdown?.[group]?.[v] ? [{ tla: r.tla, p: r.breakdown[group][v] }] : []));
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        return [v, String(cells[0]?.p.tasks ?? 0), pct(mean(cells.map((c) => c.p.baseline))), ...tlas.map((t) => {
          const mine = cells.filter((c) => c.tla === t);
          return mine.length ? signed(mean(mine.map((c) => c.p.uplift))) : '—';
        })];
      });
      out.push({ cbm, group, head: [group, 'tasks', 'baseline %', ...tlas.map((t) => `${t} pp`)], rows });
    }
  }
  return out;
}

/** Rows of the best-of-k table (one per run with attempts; baseline → MRA and uplift with its CI per k), or undefined when no run has attempts. */
export function bestOfKTable(res: SweepResults): { head: string[]; rows: string[][] } | undefined {
  const runs = res.runs.filter((r) => r.bestOfK?.length);
  if (!runs.length) return undefined;
  const ks = [...new Set(runs.flatMap((r) => (r.bestOfK ?? []).map((p) => p.k)))].sort((a, b) => a - b);
  return {
    head: ['run', ...ks.map((k) => `best-of-${k}: baseline → MRA %, uplift pp [95% CI]`)],
    rows: runs.map((r) => [r.runId, ...ks.map((k) => {
      const p = r.bestOfK?.find((x) => x.k === k);
      return p ? `${pct(p.baseline)} → ${pct(p.mra)}, ${signed(p.uplift)} ${ciText(p.ci)}` : '—';
    })]),
  };
}

/** A time budget as the tables show it: `30 s`, `1,800 s`. */
const secondsText = (s: number) => `${s.toLocaleString('en-US', { maximumFractionDigits: 1 })} s`;

/**
 * Rows of the time-budget table (one per run with attempts; per total-time budget T: baseline → MRA
 * best score within T, uplift with its CI, and the tasks with nothing finished when there are
 * any), or undefined when no run has a time curve.
 */
export function timeCurveTable(res: SweepResults): { head: string[]; rows: string[][] } | undefined {
  const runs = res.runs.filter((r) => r.timeCurve?.length);
  if (!runs.length) return undefined;
  const budgets = [...new Set(runs.flatMap((r) => (r.timeCurve ?? []).map((p) => p.budgetSeconds)))].sort((a, b) => a - b);
  return {
    head: ['run', ...budgets.map((t) => `T = ${secondsText(t)}: baseline → MRA %, uplift pp [95% CI]`)],
    rows: runs.map((r) => [r.runId, ...budgets.map((t) => {
      const p = r.timeCurve?.find((x) => x.budgetSeconds === t);
      if (!p) return '—';
      const none = p.noneFinished.baseline || p.noneFinished.mra ? `; none finished ${p.noneFinished.baseline} → ${p.noneFinished.mra}` : '';
      return `${pct(p.baseline)} → ${pct(p.mra)}, ${signed(p.uplift)} ${ciText(p.ci)}${none}`;
    })]),
  };
}

/** One line per CBM kind in the sweep: what its scores mean and the chance level. */
function metricLines(res: SweepResults): string[] {
  const seen = new Map<string, RunMetrics>();
  for (const r of res.runs) if (r.metrics && !seen.has(r.cbm)) seen.set(r.cbm, r.metrics);
  return [...seen].map(([cbm, m]) => `${cbm} (${m.kind}): scores are ${m.objective}${m.chance !== undefined ? ` (chance ${pct(m.chance)}%)` : ''}${m.guard ? `; guard: ${m.guard}${m.guardChance !== undefined ? ` (chance ${pct(m.guardChance)}%)` : ''}` : ''}`);
}

/** Options of the terminal table. */
export interface TableOptions {
  /** Columns to fit the output to. @default terminalWidth(): $UPLIFT_COLUMNS, else the terminal's width, else 100 */
  width?: number;
}

/** Columns of the runs table that always stay (the rest give way, TLA/RA/CBM/variant/seed first: the run id holds them). */
const RUN_COLUMNS_KEPT = ['run', 'status', 'baseline %', 'MRA %', 'uplift pp', '95% CI'];
const RUN_COLUMNS_DROPPED_FIRST = ['seed', 'variant', 'RA', 'CBM', 'TLA', 'judge tok', 'tokens', 'cost', 'agent/infra err', 'guard Δ pp [95% CI]'];

/**
 * The terminal table: one row per run, then the per-cell summary across seeds. Scores in % of
 * tasks. Fitted to `opts.width`: columns give way by importance (see RUN_COLUMNS_*), with a note
 * naming those left out, and prose is word-wrapped.
 */
export function renderTable(res: SweepResults, opts: TableOptions = {}): string {
  const term = opts.width === undefined ? terminalWidth() : { width: opts.width };
  const width = term.width;
  const prose = (text: string, indent = '') => wrapText(text, width, indent);
  const hasGuard = res.runs.some((r) => r.guard);
  const hasJudge = res.runs.some((r) => r.judgeTokens !== undefined);
  const head = ['run', 'TLA', 'RA', 'CBM', 'variant', 'seed', 'status', 'baseline %', 'MRA %', 'uplift pp', '95% CI', ...(hasGuard ? ['guard Δ pp [95% CI]'] : []), 'agent/infra err', 'tokens', ...(hasJudge ? ['judge tok'] : []), 'cost'];
  const rows = res.runs.map((r) => [
    r.runId,
    r.tla,
    r.ra,
    r.cbm,
    r.variant,
    String(r.seed),
    r.status,
    pct(r.baseline),
    pct(r.mra),
    r.uplift === null ? '—' : signed(r.uplift),
    ciText(r.ci),
    ...(hasGuard ? [guardText(r.guard)] : []),
    errorsText(r.outcomes),
    r.tokens.toLocaleString('en-US'),
    ...(hasJudge ? [r.judgeTokens === undefined ? '—' : r.judgeTokens.toLocaleString('en-US')] : []),
    usd(r.costUsd),
  ]);
  const byStatus = Object.entries(res.runs.reduce<Record<string, number>>((c, r) => ({ ...c, [r.status]: (c[r.status] ?? 0) + 1 }), {}))
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const parts = [prose(`Sweep ${res.sweepId} (${res.name}): ${res.status} — ${res.runs.length} run(s): ${byStatus}`), fittedTable(head, rows, 7, width, { keep: RUN_COLUMNS_KEPT, dropFirst: RUN_COLUMNS_DROPPED_FIRST, label: 1 })];
  const metrics = metricLines(res);
  if (metrics.length) parts.push(metrics.map((l) => prose(l, '  ')).join('\n'));
  if (res.summary.length) {
    const sumGuard = res.summary.some((s) => s.meanGuardUplift !== undefined);
    parts.push(
      prose(`Across seeds (mean uplift over attempts, Student-t 95% CI over attempts; none with 1 attempt: see that run's CI over tasks; guard_violated runs left out; docs/statistics.md):`),
      fittedTable(
        ['TLA', 'RA', 'CBM', 'variant', 'attempts', 'mean uplift pp', '95% CI', 'CI method', ...(sumGuard ? ['mean guard Δ pp'] : [])],
        res.summary.map((s) => [s.tla, s.ra, s.cbm, s.variant, String(s.attempts), signed(s.meanUplift), ciText(s.ci), s.ciMethod === 't' ? `t, ${s.attempts - 1} df` : 'none', ...(sumGuard ? [s.meanGuardUplift === undefined ? '—' : signed(s.meanGuardUplift)] : [])]),
        4,
        width,
        { keep: ['mean uplift pp', '95% CI'], dropFirst: ['CI method', 'attempts'], label: 4 },
      ),
    );
  }
  // The other tables: their first column names the row, the second is the first value; the rest give way from the right.
  const side = (title: string, t: { head: string[]; rows: string[][] }, keep: string[]) => parts.push(prose(title), fittedTable(t.head, t.rows, 1, width, { keep, label: 1 }));
  for (const b of breakdownTables(res)) side(`${b.cbm}: objective by ${b.group} (baseline, and mean uplift per TLA over its scored runs):`, b, ['baseline %']);
  const best = bestOfKTable(res);
  if (best) side('Best-of-k over each test task\'s attempts (RE-Bench; expected best score of k attempts drawn from those run, paired bootstrap CI over tasks):', best, [best.head[1]]);
  const time = timeCurveTable(res);
  if (time) side(`Best score within a total time T over each test task's attempts (RE-Bench; attempts in the order they ran, each counting at most its wall clock; a task with none finished counts 0; paired bootstrap CI over tasks):`, time, [time.head[1]]);
  const curve = curveTable(res);
  if (curve) side('Uplift (pp) at TLA token budgets, scored on the test split from the TLA\'s checkpoints:', curve, [curve.head[1]]);
  const failed = res.runs.filter((r) => r.error);
  for (const f of failed) parts.push(prose(`! ${f.runId} ${f.status}: ${f.error}`, '  '));
  for (const r of res.runs) for (const w of r.warnings ?? []) parts.push(prose(`! ${r.runId}: ${w}`, '  '));
  if (res.budget) parts.push(prose(`Spent ${usd(res.budget.spentUsd)} of ${usd(res.budget.limitUsd)} (reserved now: ${usd(res.budget.reservedUsd)}).`));
  if (res.notice) parts.push(prose(`NOTE: ${res.notice}`, '  '));
  if (term.warning) parts.push(prose(`! ${term.warning}`, '  '));
  return parts.join('\n\n');
}


/** One row of a forest plot. */
interface PlotItem {
  label: string;
  value: number;
  ci: [number, number];
}

/**
 * Horizontal forest plot of uplift ± CI, one row per item, as inline SVG (green: CI above 0, red:
 * below). It scales to the width it is given (viewBox, no fixed width) up to its natural width;
 * round ticks cover every point and CI end; `labelTitle` heads the row labels.
 */
export function forestPlot(items: PlotItem[], labelTitle: string): string {
  if (!items.length) return '<p>No scored runs yet.</p>';
  const rowH = 22;
  const top = 26;
  const left = Math.max(Math.min(520, 16 + 7 * Math.max(...items.map((i) => i.label.length))), 16 + 7 * labelTitle.length);
  const plotW = 520;
  const width = left + plotW + 30;
  const axis = niceAxis(Math.min(...items.map((i) => Math.min(i.value, i.ci[0]))), Math.max(...items.map((i) => Math.max(i.value, i.ci[1]))));
  const lo = axis.ticks[0];
  const hi = axis.ticks[axis.ticks.length - 1];
  const x = (v: number) => Math.round((left + ((v - lo) / (hi - lo)) * plotW) * 100) / 100;
  const plotBottom = top + items.length * rowH;
  const height = plotBottom + 44;
  const rows = items
    .map((it, i) => {
      const y = top + i * rowH + rowH / 2;
      const color = it.ci[0] > 0 ? '#1a7f37' : it.ci[1] < 0 ? '#cf222e' : '#57606a';
      return `<text x="${left - 10}" y="${y + 4}" text-anchor="end" font-size="12">${esc(it.label)}</text>
<line class="ci" x1="${x(it.ci[0])}" x2="${x(it.ci[1])}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="2"/>
<circle cx="${x(it.value)}" cy="${y}" r="4" fill="${color}"><title>${esc(it.label)}: ${signed(it.value)} pp [${signed(it.ci[0])}, ${signed(it.ci[1])}]</title></circle>`;
    })
    .join('\n');
  const grid = axis.ticks
    .map((t) => `<line class="tick" x1="${x(t)}" x2="${x(t)}" y1="${top - 6}" y2="${plotBottom + 4}" stroke="${t === 0 ? '#8c959f' : '#d0d7de'}" stroke-dasharray="${t === 0 ? '0' : '3,3'}"/><text class="tick-label" x="${x(t)}" y="${plotBottom + 18}" text-anchor="middle" font-size="11">${tickText(t, axis.decimals)}</text>`)
    .join('\n');
  const titles = `<text class="axis-title" x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle" font-size="12">uplift, percentage points (MRA − baseline; bar: 95% CI)</text>
<text class="axis-title" x="${left - 10}" y="${top - 10}" text-anchor="end" font-size="12" font-weight="bold">${esc(labelTitle)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" preserveAspectRatio="xMinYMin meet" style="width:100%;max-width:${width}px;height:auto" role="img" aria-label="uplift in percentage points with 95% CI, per ${esc(labelTitle)}">${grid}\n${titles}\n${rows}</svg>`;
}

/** Runs grouped by cell (TLA × RA × CBM × variant), cells and their runs in the order given; `label` is `tla · ra · cbm · variant`. */
function byCell(runs: readonly RunResult[]): { label: string; runs: RunResult[] }[] {
  const cells = new Map<string, RunResult[]>();
  for (const r of runs) {
    const k = [r.tla, r.ra, r.cbm, r.variant].join('\u0000');
    cells.set(k, [...(cells.get(k) ?? []), r]);
  }
  return [...cells.values()].map((rs) => ({ label: `${rs[0].tla} · ${rs[0].ra} · ${rs[0].cbm} · ${rs[0].variant}`, runs: rs }));
}

/** One curve per cell: at each x, its runs' points pooled (one run: its CI over tasks; more: Student t across runs). */
function cellCurves<P>(runs: readonly RunResult[], pointsOf: (r: RunResult) => readonly P[] | undefined, xOf: (p: P) => number, estOf: (p: P) => Estimate): CurveSeries[] {
  return byCell(runs.filter((r) => hasScores(r.status) && pointsOf(r)?.length)).map((c) => {
    const xs = [...new Set(c.runs.flatMap((r) => (pointsOf(r) ?? []).map(xOf)))].sort((a, b) => a - b);
    const points = xs.map((x) => {
      const p = poolRuns(c.runs.flatMap((r) => (pointsOf(r) ?? []).filter((q) => xOf(q) === x).map(estOf)));
      return { x, value: p.value, ci: p.ci };
    });
    return { label: `${c.label} (n=${c.runs.length})`, points };
  });
}

/** The report's curve plots: budget curve, best-of-k and time budget, each per cell with CI bands. */
function curvePlots(res: SweepResults): { budget: string; bestOfK: string; time: string } {
  const tok = (x: number) => (x >= 1e6 ? `${+(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${+(x / 1e3).toFixed(1)}k` : String(x));
  return {
    budget: curvePlot(cellCurves(res.runs, (r) => r.curve, (p) => p.budget, (p) => ({ value: p.uplift, ci: p.ci })), { xTitle: 'TLA token budget', xLabel: tok, aria: 'uplift at TLA token budgets with 95% CI bands, per cell' }),
    bestOfK: curvePlot(cellCurves(res.runs, (r) => r.bestOfK, (p) => p.k, (p) => ({ value: p.uplift, ci: p.ci })), { xTitle: 'attempts k (best of k)', xLabel: String, aria: 'best-of-k uplift with 95% CI bands, per cell' }),
    time: curvePlot(cellCurves(res.runs, (r) => r.timeCurve, (p) => p.budgetSeconds, (p) => ({ value: p.uplift, ci: p.ci })), { xTitle: 'total time budget T', xLabel: (s) => secondsText(s), aria: 'uplift within a total time budget with 95% CI bands, per cell' }),
  };
}

/** A forest plot per breakdown group: each value × TLA, its runs pooled. */
function breakdownPlot(res: SweepResults, cbm: string, group: string): string {
  const runs = res.runs.filter((r) => r.cbm === cbm && r.breakdown?.[group] && hasScores(r.status));
  const values = [...new Set(runs.flatMap((r) => Object.keys(r.breakdown?.[group] ?? {})))].sort();
  const tlas = [...new Set(runs.map((r) => r.tla))];
  const items = values.flatMap((v) =>
    tlas.flatMap((t) => {
      const pts = runs.flatMap((r) => {
        const pair = r.breakdown?.[group]?.[v];
        return r.tla === t && pair ? [{ value: pair.uplift, ci: pair.ci }] : [];
      });
      if (!pts.length) return [];
      const p = poolRuns(pts);
      return [{ label: `${v} · ${t} (n=${p.n})`, value: p.value, ci: p.ci }];
    }),
  );
  return forestPlot(items, `${group} · TLA (n = runs)`);
}

/** Every model of the sweep and what it did, from the runs' `models`. */
function modelsTable(res: SweepResults): string {
  const roles = new Map<string, Set<string>>();
  const add = (m: string | undefined, role: string) => m && roles.set(m, (roles.get(m) ?? new Set()).add(role));
  for (const r of res.runs) {
    add(r.models.ra, `RA model (${r.ra})`);
    add(r.models.tla, `TLA model (${r.tla})`);
    add(r.models.judge, `judge (${r.cbm})`);
  }
  const scripted = [...new Set(res.runs.filter((r) => !r.models.tla).map((r) => r.tla))];
  return `<div class="wide"><table class="models"><thead><tr><th>model</th><th>used as</th></tr></thead><tbody>
${[...roles].map(([m, rs]) => `<tr><td><code>${esc(m)}</code></td><td>${[...rs].map(esc).join('; ')}</td></tr>`).join('\n')}
</tbody></table></div>${scripted.length ? `<p>Scripted TLAs (no model of their own; they evaluate candidates with the RA's model): ${scripted.map((t) => `<code>${esc(t)}</code>`).join(', ')}.</p>` : ''}`;
}

/** Per CBM: the test split's size by set, the dev split's, and the label balance of its objective tasks. */
function datasetTable(res: SweepResults): string {
  const seen = new Map<string, DatasetFacts>();
  for (const r of res.runs) if (r.dataset && !seen.has(r.cbm)) seen.set(r.cbm, r.dataset);
  if (!seen.size) return '<p>No run was scored yet, so the test split was not read.</p>';
  const balance = (d: DatasetFacts) =>
    d.labels
      ? Object.entries(d.labels)
          .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
          .map(([l, n]) => `${esc(l)}: ${n} (${d.objective ? ((100 * n) / d.objective).toFixed(1) : '0'}%)`)
          .join('<br>')
      : '—';
  return `<div class="wide"><table class="datasets"><thead><tr><th>CBM</th><th>dev tasks</th><th>test tasks</th><th>objective</th><th>guard</th><th>label balance (objective test tasks)</th></tr></thead><tbody>
${[...seen].map(([cbm, d]) => `<tr><td>${esc(cbm)}</td><td class="n">${d.dev ?? '—'}</td><td class="n">${d.test}</td><td class="n">${d.objective}</td><td class="n">${d.guard}</td><td>${balance(d)}</td></tr>`).join('\n')}
</tbody></table></div>`;
}

/** Tokens and dollars by who spent them, per run, with totals. */
function spendTable(res: SweepResults): string {
  const runs = res.runs.filter((r) => r.tokenSplit || r.costs);
  if (!runs.length) return '<p>No run has metered spend yet.</p>';
  const parts = ['tla', 'baseline', 'mra', 'curve', 'judge'] as const;
  const shown = parts.filter((p) => p === 'tla' || p === 'baseline' || p === 'mra' || runs.some((r) => r.tokenSplit?.[p] !== undefined || r.costs?.[p] !== undefined));
  const name = { tla: 'TLA', baseline: 'baseline', mra: 'MRA', curve: 'budget curve', judge: 'judge' };
  const tokCell = (n: number | undefined) => `<td class="n">${n === undefined ? '—' : n.toLocaleString('en-US')}</td>`;
  const usdCell = (n: number | undefined) => `<td class="n">${n === undefined ? '—' : usd(n)}</td>`;
  const sum = (f: (r: RunResult) => number | undefined) => runs.reduce((s, r) => s + (f(r) ?? 0), 0);
  const rows = runs.map((r) => `<tr><td>${esc(r.runId)}</td>${shown.map((p) => tokCell(r.tokenSplit?.[p])).join('')}${shown.map((p) => usdCell(r.costs?.[p])).join('')}<td class="n">${usd(r.costUsd)}</td></tr>`);
  const total = `<tr class="total"><td><b>all runs</b></td>${shown.map((p) => tokCell(sum((r) => r.tokenSplit?.[p]))).join('')}${shown.map((p) => usdCell(sum((r) => r.costs?.[p]))).join('')}<td class="n"><b>${usd(sum((r) => r.costUsd))}</b></td></tr>`;
  return `<div class="wide"><table class="spend"><thead><tr><th>run</th>${shown.map((p) => `<th>${name[p]} tokens</th>`).join('')}${shown.map((p) => `<th>${name[p]} $</th>`).join('')}<th>total $</th></tr></thead><tbody>
${rows.join('\n')}
${total}
</tbody></table></div>`;
}

/** Failed runs with their cause, and every warning, grouped by run. */
function problemsList(res: SweepResults): string {
  const items = res.runs.filter((r) => r.error || r.warnings?.length);
  if (!items.length) return '<p>No run failed and none has a warning.</p>';
  return `<ul class="problems">${items
    .map((r) => `<li><code>${esc(r.runId)}</code> <b>${esc(r.status)}</b>${r.error ? `: <span class="bad">${esc(r.error)}</span>` : ''}${r.warnings?.length ? `<ul>${r.warnings.map((w) => `<li class="warn">⚠ ${esc(w)}</li>`).join('')}</ul>` : ''}</li>`)
    .join('\n')}</ul>`;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** One side of a flipped task: its score and its output, or its error. */
function sideHtml(s: TaskRow['baseline']): string {
  const head = `<b>${s.score.toFixed(2).replace(/\.00$/, '')}</b>`;
  if (s.error) return `${head} <span class="bad">${esc(s.error)}</span><pre class="out">${esc(clip(s.cause ?? '', 800))}</pre>`;
  return `${head}<pre class="out">${esc(clip(s.output ?? '', 800))}${s.truncated ? '\n[cut: the whole output is in the shard JSONL, `uplift artifacts`]' : ''}</pre>`;
}

/**
 * A transcript event as its own list item: time, kind and its fields on one line; for model calls,
 * the last message sent and the answer each in a block of their own. Model text is the model's
 * (or an agent's) and may hold newlines that look like event lines: inside its block it cannot
 * pass for an event of the harness.
 */
function eventItem(e: Record<string, unknown>): string {
  const time = typeof e.ts === 'string' ? e.ts.slice(11, 19) : '';
  const kind = String(e.kind ?? '?');
  const rest = Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'ts' && k !== 'kind' && k !== 'request' && k !== 'response'));
  const head = `<span class="ev">${esc(time)} ${esc(kind)}</span> `;
  if (kind !== 'model_call' && kind !== 'model_failed' && kind !== 'model_rejected') return `<li>${head}${esc(clip(JSON.stringify(rest), 400))}</li>`;
  const req = e.request as { messages?: { role?: string; content?: unknown }[] } | undefined;
  const last = req?.messages?.[req.messages.length - 1];
  const resp = e.response as { choices?: { message?: { content?: unknown; tool_calls?: unknown } }[] } | undefined;
  const msg = resp?.choices?.[0]?.message;
  const said = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
  const answered = typeof msg?.content === 'string' && msg.content ? msg.content : msg?.tool_calls ? JSON.stringify(msg.tool_calls) : '';
  return `<li>${head}${esc(clip(JSON.stringify(rest), 200))}${last ? `<div class="said">→ ${esc(String(last.role ?? '?'))}: ${esc(clip(said, 300))}</div>` : ''}${answered ? `<div class="answered">← ${esc(clip(answered, 400))}</div>` : ''}</li>`;
}

/** A run's drill-down: flipped tasks with both outputs, the MRA diff and the TLA transcript, each collapsible. */
function runDetailHtml(r: RunResult, d: RunDetails): string {
  const t = d.tasks;
  const tasks = t.total
    ? `<p>${t.gained} task(s) gained, ${t.lost} lost, of ${t.total} test tasks${t.errors.baseline || t.errors.mra ? `; agent or infrastructure errors: baseline ${t.errors.baseline}, MRA ${t.errors.mra}` : ''}.${t.gained + t.lost > d.flipped.length ? ` The first ${d.flipped.length} are shown; all are in <code>uplift artifacts ${esc(r.runId)}</code> (tasks.jsonl).` : ''}</p>
${d.flipped.length ? `<div class="wide"><table class="tasks"><thead><tr><th>task: input</th><th>target</th><th>baseline: score, output</th><th>MRA: score, output</th></tr></thead><tbody>
${d.flipped.map((f) => `<tr class="${f.mra.score > f.baseline.score ? 'gained' : 'lost'}"><td><code>${esc(f.id)}</code>${f.set === 'guard' ? ' <small>(guard)</small>' : ''}${f.groups ? `<br><small>${esc(Object.values(f.groups).join(' · '))}</small>` : ''}${f.input ? `<pre class="out">${esc(clip(f.input, 600))}</pre>` : ''}</td><td>${esc(clip(f.target, 300))}</td><td>${sideHtml(f.baseline)}</td><td>${sideHtml(f.mra)}</td></tr>`).join('\n')}
</tbody></table></div>` : ''}`
    : '<p>No per-task outcomes (the run was not scored).</p>';
  const diff = d.diff
    ? `<details class="diff"><summary>MRA diff against the RA (${d.diff.lines.toLocaleString('en-US')} lines${d.diff.chars > d.diff.text.length ? `; first ${d.diff.text.length.toLocaleString('en-US')} of ${d.diff.chars.toLocaleString('en-US')} characters` : ''})</summary><pre class="diff">${
        d.diff.text.trim()
          ? d.diff.text
              .split('\n')
              .map((l) => (l.startsWith('+') && !l.startsWith('+++') ? `<ins>${esc(l)}</ins>` : l.startsWith('-') && !l.startsWith('---') ? `<del>${esc(l)}</del>` : esc(l)))
              .join('\n')
          : '(empty: the MRA is the RA unchanged)'
      }</pre></details>`
    : '';
  const transcript = d.transcript
    ? `<details class="transcript"><summary>TLA transcript (${d.transcript.total.toLocaleString('en-US')} events${d.transcript.total > d.transcript.events.length ? `; ${d.transcript.events.length} shown: every step, checkpoint and note first, then model calls` : ''})</summary><ol class="transcript">${d.transcript.events.map(eventItem).join('\n')}</ol></details>`
    : '';
  const problems = d.problems.length ? `<p class="warn">${d.problems.map(esc).join('<br>')}</p>` : '';
  return `<details class="run-detail" id="run-${esc(r.runId)}"><summary><code>${esc(r.runId)}</code> · ${esc(r.status)}${r.uplift === null ? '' : ` · ${signed(r.uplift)} pp`}${t.total ? ` · ${t.gained} gained, ${t.lost} lost` : ''}</summary>
<div class="detail-body">${tasks}${diff}${transcript}${problems}</div></details>`;
}

/** The drill-downs section: every run with details, and a note for runs past the limit. */
function detailsSection(res: SweepResults, details: ReadonlyMap<string, RunDetails>): string {
  const shown = res.runs.filter((r) => details.has(r.runId));
  const missing = res.runs.length - shown.length;
  return `${shown.map((r) => runDetailHtml(r, details.get(r.runId) as RunDetails)).join('\n')}${missing ? `<p>${missing} run(s) without a drill-down here (not far enough to have artifacts, or past the first ${REPORT_DETAIL_LIMITS.runs}): <code>uplift artifacts &lt;run&gt;</code> extracts any run's tasks, diff and transcript.</p>` : ''}`;
}

/** The sweep report (`sweeps/<id>/report/index.html`): self-contained HTML, tables and plots. */
export function renderReportHtml(res: SweepResults, details: ReadonlyMap<string, RunDetails> = new Map()): string {
  const plots = curvePlots(res);
  const hasGuard = res.runs.some((r) => r.guard);
  const hasJudge = res.runs.some((r) => r.judgeTokens !== undefined);
  const sumGuard = res.summary.some((s) => s.meanGuardUplift !== undefined);
  const runRows = res.runs
    .map(
      (r) =>
        `<tr class="${esc(r.status)}"><td>${esc(r.runId)}</td><td>${esc(r.tla)}</td><td>${esc(r.ra)}</td><td>${esc(r.cbm)}</td><td>${esc(r.variant)}</td><td>${r.seed}</td><td>${esc(r.model)}</td><td>${esc(r.status)}${r.error ? `<br><small>${esc(r.error)}</small>` : ''}${(r.warnings ?? []).map((w) => `<br><small class="warn">⚠ ${esc(w)}</small>`).join('')}</td><td class="n">${pct(r.baseline)}</td><td class="n">${pct(r.mra)}</td><td class="n">${r.uplift === null ? '—' : signed(r.uplift)}</td><td class="n">${ciText(r.ci)}</td>${hasGuard ? `<td class="n${r.guard?.violated ? ' bad' : ''}">${esc(guardText(r.guard))}</td>` : ''}<td class="n" title="agent errors / infrastructure errors: baseline → MRA">${esc(errorsText(r.outcomes))}</td><td class="n">${r.tokens.toLocaleString('en-US')}</td>${hasJudge ? `<td class="n">${r.judgeTokens === undefined ? '—' : r.judgeTokens.toLocaleString('en-US')}</td>` : ''}<td class="n">${usd(r.costUsd)}</td></tr>`,
    )
    .join('\n');
  const sumRows = res.summary
    .map((s) => `<tr><td>${esc(s.tla)}</td><td>${esc(s.ra)}</td><td>${esc(s.cbm)}</td><td>${esc(s.variant)}</td><td class="n">${s.attempts}</td><td class="n">${signed(s.meanUplift)}</td><td class="n">${ciText(s.ci)}</td><td>${s.ciMethod === 't' ? `Student t, ${s.attempts - 1} df` : esc(s.note ?? 'none')}</td>${sumGuard ? `<td class="n">${s.meanGuardUplift === undefined ? '—' : signed(s.meanGuardUplift)}</td>` : ''}</tr>`)
    .join('\n');
  const scored = res.runs.filter((r) => r.uplift !== null && r.ci !== null);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Uplift — ${esc(res.name)} (${esc(res.sweepId)})</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1f2328;max-width:1200px}
h1,h2,p,li{overflow-wrap:anywhere}.wide{overflow-x:auto;max-width:100%}svg{display:block;margin:1rem 0}
table{border-collapse:collapse;margin:1rem 0;font-size:13px}th,td{border-bottom:1px solid #d0d7de;padding:4px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}tr.failed td,tr.budget_exhausted td,td.bad{color:#cf222e}tr.guard_violated td{color:#9a6700}
.warn{color:#9a6700}.notice{background:#fff8c5;border:1px solid #d4a72c;padding:.6rem 1rem;border-radius:6px}.bad{color:#cf222e}
details.run-detail{border:1px solid #d0d7de;border-radius:6px;margin:.5rem 0;padding:.3rem .8rem}details summary{cursor:pointer}details details{margin:.5rem 0}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px;background:#f6f8fa;padding:.5rem;border-radius:4px;max-height:32rem;overflow-y:auto;margin:.2rem 0}
pre.out{max-height:12rem}table.tasks td{vertical-align:top;max-width:28rem}tr.gained td:first-child{border-left:3px solid #1a7f37}tr.lost td:first-child{border-left:3px solid #cf222e}
ol.transcript{font-family:ui-monospace,monospace;font-size:12px;background:#f6f8fa;padding:.5rem .5rem .5rem 3rem;border-radius:4px;max-height:32rem;overflow-y:auto;overflow-wrap:anywhere;margin:.2rem 0}
ol.transcript li{margin:.15rem 0}.ev{font-weight:bold}.said,.answered{white-space:pre-wrap;border-left:3px solid #8c959f;margin:.15rem 0 .15rem .5rem;padding-left:.5rem;background:#fff}.answered{border-left-color:#0969da}
ins{background:#dafbe1;text-decoration:none}del{background:#ffebe9;text-decoration:none}tr.total td{border-top:2px solid #8c959f}
</style></head><body>
<h1>Uplift sweep <code>${esc(res.name)}</code></h1>
<p>Sweep <code>${esc(res.sweepId)}</code> · status <b>${esc(res.status)}</b> · models: ${res.models.map(esc).join(', ')}${res.budget ? ` · spent ${usd(res.budget.spentUsd)} of ${usd(res.budget.limitUsd)}` : ''}</p>
${res.notice ? `<p class="notice"><b>Offline stand-in.</b> ${esc(res.notice)}</p>` : ''}
<p>Scores are the CBM's objective on the held-out test split (% of tasks; see below). Uplift = MRA − baseline in percentage points, with a paired bootstrap 95% CI over tasks (2000 resamples, fixed seed). A CBM with a guard (utility that must be kept) also shows the guard's change; a run whose guard CI lies wholly below −maxGuardDrop is <b>guard_violated</b> and left out of the across-seeds summary.</p>
${metricLines(res).length ? `<ul>${metricLines(res).map((l) => `<li>${esc(l)}</li>`).join('')}</ul>` : ''}
<h2>Models</h2>
${modelsTable(res)}
<h2>Data sets</h2>
${datasetTable(res)}
<h2>Uplift by TLA, across seeds</h2>
${res.summary.some((s) => s.ci) ? forestPlot(res.summary.flatMap((s) => (s.ci ? [{ label: `${s.tla} · ${s.ra} · ${s.cbm} · ${s.variant} (n=${s.attempts})`, value: s.meanUplift, ci: s.ci }] : [])), 'TLA · RA · CBM · variant (n = attempts)') : '<p>No cell has 2 or more scored attempts, so there is no interval across seeds: see each run\'s CI over tasks below.</p>'}
<div class="wide"><table><thead><tr><th>TLA</th><th>RA</th><th>CBM</th><th>variant</th><th>attempts</th><th>mean uplift pp</th><th>95% CI</th><th>interval across attempts</th>${sumGuard ? '<th>mean guard Δ pp</th>' : ''}</tr></thead><tbody>
${sumRows}
</tbody></table></div>
<h2>Uplift per run</h2>
${forestPlot(scored.map((r) => ({ label: r.runId, value: r.uplift as number, ci: r.ci as [number, number] })), 'run')}
${(() => {
    const c = curveTable(res);
    if (!c) return '';
    return `<h2>Uplift at TLA token budgets</h2><p>What each TLA's bundle at a token budget (its last accepted checkpoint within it) scores on the test split, in percentage points over the baseline. The plot pools each cell's runs at each budget (one run: its CI over tasks; more: Student t across runs); the table has every run.</p>
${plots.budget}
<div class="wide"><table><thead><tr>${c.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${c.rows.map((r) => `<tr>${r.map((v, i) => `<td${i ? ' class="n"' : ''}>${esc(v)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table></div>`;
  })()}
${breakdownTables(res)
    .map((b) => `<h2>${esc(b.cbm)}: objective by ${esc(b.group)}</h2><p>Baseline score, and each TLA's mean uplift (pp) over its scored runs, per ${esc(b.group)}; the plot has each ${esc(b.group)} × TLA with its 95% CI (one run: over tasks; more: Student t across runs).</p>
${breakdownPlot(res, b.cbm, b.group)}
<div class="wide"><table><thead><tr>${b.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${b.rows.map((r) => `<tr>${r.map((v, i) => `<td${i ? ' class="n"' : ''}>${esc(v)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table></div>`)
    .join('\n')}
${(() => {
    const b = bestOfKTable(res);
    if (!b) return '';
    return `<h2>Best-of-k over attempts</h2><p>RE-Bench style: for each test task, the expected best score of k attempts drawn from those run; baseline → MRA and the uplift with a paired bootstrap 95% CI over tasks.</p>
${plots.bestOfK}
<div class="wide"><table><thead><tr>${b.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${b.rows.map((r) => `<tr>${r.map((v, i) => `<td${i ? ' class="n"' : ''}>${esc(v)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table></div>`;
  })()}
${(() => {
    const t = timeCurveTable(res);
    if (!t) return '';
    return `<h2>Best score within a total time budget</h2><p>RE-Bench style: for each test task, the attempts run one after another in the order they ran, each counting at most its wall clock; at a total time T, the best score of the attempts finished within T (a task with none finished counts 0, and how many there were is shown). Baseline → MRA and the uplift with a paired bootstrap 95% CI over tasks.</p>
${plots.time}
<div class="wide"><table><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${t.rows.map((r) => `<tr>${r.map((v, i) => `<td${i ? ' class="n"' : ''}>${esc(v)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table></div>`;
  })()}
<h2>Runs</h2>
<div class="wide"><table><thead><tr><th>run</th><th>TLA</th><th>RA</th><th>CBM</th><th>variant</th><th>seed</th><th>model</th><th>status</th><th>baseline %</th><th>MRA %</th><th>uplift pp</th><th>95% CI</th>${hasGuard ? '<th>guard Δ pp [95% CI]</th>' : ''}<th>agent/infra errors (baseline → MRA)</th><th>tokens</th>${hasJudge ? '<th>judge tokens</th>' : ''}<th>cost</th></tr></thead><tbody>
${runRows}
</tbody></table></div>
<h2>Where tokens and dollars went</h2>
<p>Each run's tokens and dollars by who spent them: the TLA job (its own model and the RA model it evaluated candidates with), the baseline's shards (only in the run that computed it; runs that reused a cached baseline paid nothing for it), the MRA's shards, the budget curve's checkpoint evaluations and the judge. Dollars are tokens at each model's price plus job time at its queue's hourly price (free locally).</p>
${spendTable(res)}
<h2>Failures and warnings</h2>
${problemsList(res)}
<h2>Run details</h2>
<p>Per run: the test tasks whose score changed between the baseline and the MRA, with both outputs; the MRA's diff against the RA; the TLA's transcript. Click to open.</p>
${detailsSection(res, details)}
</body></html>
`;
}

/** One sweep on the leaderboard: its results and the link to its report, relative to the leaderboard page (e.g. `sweeps/<id>/report/index.html`). */
export interface LeaderboardSweep {
  results: SweepResults;
  /** Its report, relative to the leaderboard page; absent when it has none yet (a sweep still running on a stack). */
  href?: string;
}

/** One (TLA × RA × CBM × variant) cell of one sweep, as the leaderboard ranks it. */
export interface LeaderboardRow extends CellSummary {
  rank: number;
  sweepId: string;
  sweepName: string;
  sweepStatus: string;
  offlineStandIn: boolean;
  href?: string;
}

/**
 * Every sweep's across-seeds cells, best first: by mean uplift (descending), then by the CI's lower
 * end (cells without a CI after those with one), then by sweep id and cell, so the order is the same
 * whatever order the sweeps come in. Ranks are 1, 2, 3… in that order.
 */
export function leaderboardRows(sweeps: readonly LeaderboardSweep[]): LeaderboardRow[] {
  const rows = sweeps.flatMap((s) =>
    s.results.summary.map((c) => ({ ...c, rank: 0, sweepId: s.results.sweepId, sweepName: s.results.name, sweepStatus: s.results.status, offlineStandIn: s.results.offlineStandIn, href: s.href })),
  );
  const low = (r: LeaderboardRow) => (r.ci ? r.ci[0] : -Infinity);
  rows.sort(
    (a, b) =>
      b.meanUplift - a.meanUplift ||
      low(b) - low(a) ||
      a.sweepId.localeCompare(b.sweepId) ||
      a.tla.localeCompare(b.tla) ||
      a.ra.localeCompare(b.ra) ||
      a.cbm.localeCompare(b.cbm) ||
      a.variant.localeCompare(b.variant),
  );
  return rows.map((r, i) => ({ ...r, rank: i + 1 }));
}

/**
 * The leaderboard across sweeps: one self-contained HTML page (no scripts, styles inline, nothing
 * loaded) ranking every sweep's cells by mean uplift with their 95% CI across attempts, each row
 * linking to its sweep's report. Offline stand-in sweeps are marked.
 */
export function renderLeaderboardHtml(sweeps: readonly LeaderboardSweep[], title = 'Uplift leaderboard'): string {
  const rows = leaderboardRows(sweeps);
  const guard = rows.some((r) => r.meanGuardUplift !== undefined);
  const offline = rows.some((r) => r.offlineStandIn);
  const body = rows
    .map(
      (r) =>
        `<tr><td class="n">${r.rank}</td><td>${esc(r.tla)}</td><td>${esc(r.ra)}</td><td>${esc(r.cbm)}</td><td>${esc(r.variant)}</td><td class="n">${r.attempts}</td><td class="n">${signed(r.meanUplift)}</td><td class="n">${ciText(r.ci)}</td>${guard ? `<td class="n">${r.meanGuardUplift === undefined ? '—' : signed(r.meanGuardUplift)}</td>` : ''}<td>${r.href === undefined ? `${esc(r.sweepName)} <small>(no report yet)</small>` : `<a href="${esc(r.href)}">${esc(r.sweepName)}</a>`} <small><code>${esc(r.sweepId)}</code></small>${r.sweepStatus === 'succeeded' ? '' : ` <small class="warn">${esc(r.sweepStatus)}</small>`}${r.offlineStandIn ? ' <small class="warn">offline stand-in</small>' : ''}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1f2328;max-width:1200px}
h1,p{overflow-wrap:anywhere}.wide{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:1rem 0;font-size:13px}th,td{border-bottom:1px solid #d0d7de;padding:4px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.warn{color:#9a6700}.notice{background:#fff8c5;border:1px solid #d4a72c;padding:.6rem 1rem;border-radius:6px}
</style></head><body>
<h1>${esc(title)}</h1>
<p>${sweeps.length} sweep${sweeps.length === 1 ? '' : 's'}, ${rows.length} cell${rows.length === 1 ? '' : 's'} (TLA × RA × CBM × variant), best first by mean uplift over the cell's succeeded attempts (MRA − baseline, percentage points), with its 95% CI across attempts (Student t; none for 1 attempt: see that sweep's report for the CI over tasks). Uplifts of different CBMs are on different tasks and metrics: compare within a CBM.</p>
${offline ? `<p class="notice"><b>Offline stand-in.</b> Rows marked "offline stand-in": ${esc(OFFLINE_NOTICE)}</p>` : ''}
${rows.length ? `<div class="wide"><table><thead><tr><th>rank</th><th>TLA</th><th>RA</th><th>CBM</th><th>variant</th><th>attempts</th><th>mean uplift pp</th><th>95% CI</th>${guard ? '<th>mean guard Δ pp</th>' : ''}<th>sweep</th></tr></thead><tbody>
${body}
</tbody></table></div>` : '<p>No sweep has a succeeded run yet.</p>'}
</body></html>
`;
}
