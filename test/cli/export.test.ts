import { parse } from 'csv-parse/sync';
import { CSV_COLUMNS, csvField, EXPORT_FORMATS, parseExportFormat, toCsv } from '../../cli/commands/export';
import { SpecError } from '../../core/errors';
import { buildResults, type SweepResults } from '../../core/report';
import type { RunRecord, SweepMeta } from '../../core/records';

const meta: SweepMeta = SweepMetaOf('exp-20261130-000000-abcd');
function SweepMetaOf(sweepId: string): SweepMeta {
  return { sweepId: sweepId as SweepMeta['sweepId'], name: 'exp', status: 'succeeded', createdAt: '2026-11-30T00:00:00.000Z', updatedAt: '2026-11-30T00:00:00.000Z', runCount: 2, offlineOnly: false, models: ['gpt-4o-mini'], maxUsd: 5, worstCaseUsd: 1 };
}

/** An error an agent or endpoint could produce: commas, quotes, CRLF and LF, a leading space. */
const NASTY = ' endpoint said "no", then: a,b\r\nline 2\nline "3"';

const runs = [
  {
    sweepId: meta.sweepId,
    runId: 'defense-search-chat-pi-simple-s1',
    tla: 'defense-search',
    ra: 'chat',
    cbm: 'pi',
    variant: 'simple',
    seed: 1,
    model: 'gpt-4o-mini',
    status: 'succeeded',
    updatedAt: meta.updatedAt,
    baseline: 0.5,
    mra: 0.8375,
    uplift: 0.3375,
    ci: [0.25, 0.425],
    tokens: { tla: 10, baseline: 20, mra: 30, judge: 5 },
    costUsd: 0.0123,
    guard: { tasks: 76, baseline: 0.9, mra: 0.85, uplift: -0.05, ci: [-0.1, 0.01], maxDrop: 0.05, violated: false },
    outcomes: { baseline: { scored: 180, agent_error: 0, infra_error: 0 }, mra: { scored: 178, agent_error: 2, infra_error: 0 } },
  },
  { sweepId: meta.sweepId, runId: 'noop-chat-pi-simple-s1', tla: 'noop', ra: 'chat', cbm: 'pi', variant: 'simple', seed: 1, model: 'gpt-4o-mini', status: 'failed', updatedAt: meta.updatedAt, error: NASTY, warnings: ['w1, with comma', 'w2'] },
] as RunRecord[];

const results: SweepResults = buildResults(meta, runs);

describe('csvField', () => {
  test.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    [' lead', '" lead"'],
    ['trail ', '"trail "'],
    [0.1 + 0.2, '0.30000000000000004'],
    [null, ''],
    [undefined, ''],
    [false, 'false'],
    // text a spreadsheet would run as a formula stays text; numbers (negative ones too) stay numbers
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['+cmd', "'+cmd"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    [-0.25, '-0.25'],
  ])('%j → %s', (v, want) => {
    // Pins: unquoted commas/newlines (a row splits), undoubled quotes, rounding numbers, "null" text.
    expect(csvField(v)).toBe(want);
  });
});

describe('uplift export: CSV', () => {
  test('one row per run that a CSV parser reads back field for field, error messages with commas, quotes and newlines included', () => {
    const csv = toCsv(results);
    // THEN RFC 4180 line ends, and the parsed rows are exactly the runs' values
    expect(csv.startsWith(`${CSV_COLUMNS.map(([h]) => h).join(',')}\r\n`)).toBe(true);
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(2);
    const [scored, failed] = rows;
    expect(scored).toMatchObject({ sweepId: meta.sweepId, runId: 'defense-search-chat-pi-simple-s1', tla: 'defense-search', ra: 'chat', model: 'gpt-4o-mini', cbm: 'pi', variant: 'simple', seed: '1', status: 'succeeded' });
    expect(scored).toMatchObject({ baseline: '0.5', mra: '0.8375', uplift: '0.3375', ciLow: '0.25', ciHigh: '0.425' });
    expect(scored).toMatchObject({ guardTasks: '76', guardBaseline: '0.9', guardMra: '0.85', guardUplift: '-0.05', guardCiLow: '-0.1', guardCiHigh: '0.01', guardMaxDrop: '0.05', guardViolated: 'false' });
    expect(scored).toMatchObject({ mraScored: '178', mraAgentErrors: '2', tokens: '65', judgeTokens: '5', costUsd: '0.0123', error: '' });
    expect(failed.error).toBe(NASTY);
    expect(failed.warnings).toBe('w1, with comma\nw2');
    // AND a run without scores has empty fields, not "null" or "undefined"
    expect(failed).toMatchObject({ baseline: '', uplift: '', ciLow: '', guardUplift: '', tokens: '0' });
    expect(csv).not.toMatch(/null|undefined/);
  });

  test('jsonl is one JSON object per line, equal to the runs of `results --json`', () => {
    const jsonl = EXPORT_FORMATS.jsonl;
    if (!('render' in jsonl)) throw new Error('jsonl renders text');
    const lines = jsonl.render(results).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual(JSON.parse(JSON.stringify(results.runs)));
  });

  test('an unknown --format is refused, naming every known format', () => {
    expect(parseExportFormat('jsonl')).toBe('jsonl');
    // Pins: a prototype key ("toString") passing as a format, and an error that does not list the formats.
    for (const bad of ['xml', 'toString', 'CSV']) {
      let err: unknown;
      try {
        parseExportFormat(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SpecError);
      expect((err as SpecError).problems[0]).toContain(`--format: unknown format "${bad}". Fix: use one of ${Object.keys(EXPORT_FORMATS).join(', ')}`);
    }
  });
});
