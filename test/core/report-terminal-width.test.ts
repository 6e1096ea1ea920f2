import { buildResults, DEFAULT_TABLE_WIDTH, fitTable, renderTable, terminalWidth, wrapText } from '../../core/report';
import type { RunRecord, SweepMeta } from '../../core/records';

/*
 * The terminal results table fits the terminal: columns give way by importance (never run, status,
 * baseline, MRA, uplift, CI), no value is cut, and a note says what was left out and how to see it.
 */

const meta = { sweepId: 'pi-demo-20261130-104242-0495', name: 'pi-demo', status: 'succeeded', createdAt: '', updatedAt: '', runCount: 4, offlineOnly: true, models: ['offline'], maxUsd: 5, worstCaseUsd: 1 } as unknown as SweepMeta;
const outcomes = { baseline: { scored: 120, agent_error: 0, infra_error: 0 }, mra: { scored: 118, agent_error: 2, infra_error: 0 } };

function run(tla: string, seed: number, extra: Record<string, unknown> = {}): RunRecord {
  return {
    sweepId: meta.sweepId,
    runId: `${tla}-chat-assistant-pi-sample-simple-s${seed}`,
    tla,
    ra: 'chat-assistant',
    cbm: 'pi-sample',
    variant: 'simple',
    seed,
    model: 'offline',
    status: 'succeeded',
    updatedAt: '',
    baseline: 0.412,
    mra: 0.749,
    uplift: 0.337,
    ci: [0.25, 0.423],
    tokens: { tla: 1_234_567, baseline: 45_000, mra: 46_000, judge: 12_345 },
    costUsd: 0.0123,
    outcomes,
    guard: { tasks: 40, baseline: 0.9, mra: 0.875, uplift: -0.025, ci: [-0.1, 0.05], maxDrop: 0.05, violated: false },
    breakdown: { injection_variant: { ignore_previous_instructions: { tasks: 30, baseline: 0.4, mra: 0.7, uplift: 0.3, ci: [0.1, 0.5] } } },
    metrics: { kind: 'prompt-injection', objective: 'the attack failure rate', guard: 'benign helpfulness' },
    ...extra,
  } as unknown as RunRecord;
}

const records = [
  run('defense-search', 1),
  run('defense-search', 2),
  run('noop', 1, { mra: 0.412, uplift: 0, ci: [0, 0] }),
  run('noop', 2, { status: 'failed', baseline: undefined, mra: undefined, uplift: undefined, ci: undefined, guard: undefined, breakdown: undefined, outcomes: undefined, error: 'the TLA job ended with exit code 1 after 3 attempts: see its log, logs/<sweep>/noop-chat-assistant-pi-sample-simple-s2/tla.log' }),
];
const res = buildResults(meta, records, { limitUsd: 5, spentUsd: 0.04, reservedUsd: 0 } as Parameters<typeof buildResults>[2]);
const RUN_HEAD = ['run', 'TLA', 'RA', 'CBM', 'variant', 'seed', 'status', 'baseline %', 'MRA %', 'uplift pp', '95% CI', 'guard Δ pp [95% CI]', 'agent/infra err', 'tokens', 'judge tok', 'cost'];
const KEY = ['run', 'status', 'baseline %', 'MRA %', 'uplift pp', '95% CI'];

/** The lines of the runs table (from its header to the blank line after it). */
function runsTable(text: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('run'));
  const end = lines.indexOf('', start);
  return lines.slice(start, end);
}

describe('the terminal results table fits the terminal width', () => {
  test.each([100, 80])('at %i columns: no line is wider, and the key columns are all there', (width) => {
    const text = renderTable(res, { width });
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(width);
    const table = runsTable(text).join('\n');
    for (const h of KEY) expect(table).toContain(h);
  });

  test('too narrow even for the key columns (40): they all stay, whole, rather than fit', () => {
    const table = runsTable(renderTable(res, { width: 40 }));
    expect(table[1].trim().split(/ {2,}/)).toEqual(KEY.slice(1));
    expect(table[3]).toBe('defense-search-chat-assistant-pi-sample-simple-s1');
  });

  test('at 100 columns no value is cut: every run keeps its id, status, scores and CI whole, each row under its id', () => {
    const table = runsTable(renderTable(res, { width: 100 }));
    for (const r of res.runs) {
      const at = table.indexOf(r.runId);
      expect(at).toBeGreaterThanOrEqual(0);
      const row = table[at + 1];
      expect(row).toContain(` ${r.status}`);
      if (r.uplift !== null) expect(row).toMatch(new RegExp(`${(r.baseline as number * 100).toFixed(1)} +${(r.mra as number * 100).toFixed(1)} +[-+]${(r.uplift * 100).toFixed(1)} +\\[[-+]\\d+\\.\\d, [-+]\\d+\\.\\d\\]`));
      else expect(row).toMatch(/failed +— +— +— +—/);
    }
  });

  test('at 100 columns a note names every column left out, and how to see them', () => {
    const text = renderTable(res, { width: 100 });
    const header = runsTable(text).slice(0, 2).join(' ');
    const shown = RUN_HEAD.filter((h) => new RegExp(`(^|  )${h.replace(/[$()[\]+.%]/g, '\\$&')}($|  )`).test(header.trim()));
    const left = RUN_HEAD.filter((h) => !shown.includes(h));
    expect(left.length).toBeGreaterThan(0);
    const note = text.slice(text.indexOf('(Left out to fit 100 columns:')).split('.)')[0].replace(/\n /g, ' ');
    expect(note).toBe(`(Left out to fit 100 columns: ${left.join(', ')}. To see them: --json, or a terminal ${Math.max(...runsTable(renderTable(res, { width: 1000 })).map((l) => l.length))} columns wide, or UPLIFT_COLUMNS=${Math.max(...runsTable(renderTable(res, { width: 1000 })).map((l) => l.length))}`);
    // The redundant columns (in the run id) go first: TLA, RA, CBM, variant and seed are never kept while a later one is dropped.
    expect(left.slice(0, 5).sort()).toEqual(['CBM', 'RA', 'TLA', 'seed', 'variant']);
  });

  test('at 200 columns the demo table (classification: no guard, no judge) has every column, one line per run, and nothing left out', () => {
    const demo = buildResults(meta, records.map((r) => ({ ...r, runId: r.runId.replace('chat-assistant-pi-sample', 'classifier-tai-safety'), ra: 'classifier', cbm: 'tai-safety', guard: undefined, breakdown: undefined, metrics: undefined, tokens: { tla: 700_000, baseline: 20_000, mra: 23_347 } }) as unknown as RunRecord));
    const text = renderTable(demo, { width: 200 });
    const table = runsTable(text);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(200);
    expect(table[0].split(/ {2,}/)).toEqual(RUN_HEAD.filter((h) => h !== 'guard Δ pp [95% CI]' && h !== 'judge tok'));
    expect(table).toHaveLength(2 + demo.runs.length);
    expect(table[2]).toMatch(/^defense-search-classifier-tai-safety-simple-s1 +defense-search +classifier +tai-safety +simple +1 +succeeded +41\.2 +74\.9 +\+33\.7 +\[\+25\.0, \+42\.3\] +0\/0 → 2\/0 +743,347 +\$0\.0123$/);
    expect(text).not.toContain('Left out');
  });

  test('the other tables and the prose fit too: summary, breakdown, errors, budget and notice wrap at spaces, words whole', () => {
    const wide = renderTable(res, { width: Infinity });
    const text = renderTable(res, { width: 100 });
    expect(wide.split('\n').some((l) => l.length > 100)).toBe(true);
    // Wrapping only moved line breaks: each prose paragraph has the same words as unwrapped.
    const paras = (t: string) => t.split('\n\n').map((p) => p.replace(/\s+/g, ' '));
    const prose = paras(wide).filter((p) => /^(Sweep |pi-sample \(|Across seeds|! |Spent |NOTE: )/.test(p));
    expect(prose).toHaveLength(6);
    for (const p of prose) expect(paras(text)).toContain(p);
    expect(text).toMatch(/^defense-search +chat-assistant +pi-sample +simple\n +2 +\+33\.7 +\[\+33\.7, \+33\.7\] +t, 1 df +-2\.5$/m);
    expect(text).toMatch(/^ignore_previous_instructions +30 +40\.0 +\+30\.0/m);
    expect(text).toContain('logs/<sweep>/noop-chat-assistant-pi-sample-simple-s2/tla.log');
  });

  test('when one line per run shows as many columns as a line of its own for the run id, one line per run it is', () => {
    const short = buildResults(meta, [run('noop', 1, { runId: 'noop-s1', guard: undefined, tokens: undefined, breakdown: undefined })]);
    const table = runsTable(renderTable(short, { width: 150 }));
    expect(table[0]).toMatch(/^run +TLA +RA +CBM +variant +seed +status +baseline % +MRA % +uplift pp +95% CI +agent\/infra err +tokens +cost$/);
    expect(table[2]).toMatch(/^noop-s1 +noop +chat-assistant/);
  });
});

describe('fitTable', () => {
  const head = ['name', 'a', 'b', 'c'];
  const rows = [['x'.repeat(30), '1'.repeat(20), '2'.repeat(20), '3'.repeat(20)]];

  test('leaves out the listed columns first, then the others from the right, never the kept ones', () => {
    expect(fitTable(head, rows, 1, 75, { keep: ['name'], dropFirst: ['a'] }).omitted).toEqual(['a']);
    expect(fitTable(head, rows, 1, 60, { keep: ['name'], dropFirst: ['a'] }).omitted).toEqual(['a', 'c']);
    expect(fitTable(head, rows, 1, 10, { keep: ['name', 'c'] }).omitted).toEqual(['a', 'b']);
  });

  test('when even the kept columns do not fit, values stay whole (the line is wider than asked)', () => {
    const f = fitTable(head, rows, 1, 10, { keep: ['name', 'c'] });
    expect(f.lines[2]).toBe(`${'x'.repeat(30)}  ${'3'.repeat(20)}`);
  });
});

describe('terminalWidth', () => {
  test('UPLIFT_COLUMNS wins, then the terminal, then 100 when output is not a terminal', () => {
    expect(terminalWidth({ UPLIFT_COLUMNS: '250' }, { isTTY: true, columns: 80 })).toEqual({ width: 250 });
    expect(terminalWidth({}, { isTTY: true, columns: 132 })).toEqual({ width: 132 });
    expect(terminalWidth({}, { isTTY: false, columns: 132 })).toEqual({ width: DEFAULT_TABLE_WIDTH });
    expect(terminalWidth({}, { isTTY: true })).toEqual({ width: 100 });
  });

  test('a bad UPLIFT_COLUMNS is ignored with a warning naming it and the fix, and renderTable prints it', () => {
    const t = terminalWidth({ UPLIFT_COLUMNS: 'wide' }, { isTTY: false });
    expect(t).toEqual({ width: 100, warning: expect.stringMatching(/^UPLIFT_COLUMNS=wide is not a whole number of at least 40, so it was ignored .* Fix: e\.g\. UPLIFT_COLUMNS=200, or unset it$/) });
    expect(terminalWidth({ UPLIFT_COLUMNS: '12' }, { isTTY: false }).warning).toMatch(/UPLIFT_COLUMNS=12 is not/);
    const saved = process.env.UPLIFT_COLUMNS;
    process.env.UPLIFT_COLUMNS = 'wide';
    try {
      expect(renderTable(res).replace(/\n +/g, ' ')).toContain('! UPLIFT_COLUMNS=wide is not a whole number');
    } finally {
      if (saved === undefined) delete process.env.UPLIFT_COLUMNS;
      else process.env.UPLIFT_COLUMNS = saved;
    }
  });
});

describe('wrapText', () => {
  test('breaks at spaces within the width, indents continuations, and never cuts a word', () => {
    expect(wrapText('aaa bbb ccc ddd', 8, '  ')).toBe('aaa bbb\n  ccc\n  ddd');
    expect(wrapText(`see ${'p'.repeat(12)} now`, 8)).toBe(`see\n${'p'.repeat(12)}\nnow`);
    expect(wrapText('short', 8)).toBe('short');
    expect(wrapText(`${'p'.repeat(12)} x`, 8)).toBe(`${'p'.repeat(12)}\nx`);
  });
});
