import { buildResults, renderReportHtml } from '../../core/report';
import { curvePlot, poolRuns } from '../../core/report-plots';
import type { RunRecord, SweepMeta } from '../../core/records';
import type { RunDetails } from '../../core/sweep/report-details';

/*
 * The report's sections beyond the uplift plots: models by role, the data set's size and balance,
 * where tokens and dollars went, curves with CI bands, failures with their cause, and the per-run
 * drill-downs (flipped tasks with outputs, diff, transcript) — escaped, since agents wrote them.
 */

const meta = { sweepId: 'rs-20260101-000000-abcd', name: 'rs', status: 'failed', createdAt: '', updatedAt: '', runCount: 3, offlineOnly: false, models: ['gpt-x', 'judge-m', 'ra-m'], maxUsd: 10, worstCaseUsd: 1 } as unknown as SweepMeta;

function run(tla: string, seed: number, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    sweepId: meta.sweepId,
    runId: `${tla}-agent-cbm-simple-s${seed}`,
    tla,
    ra: 'agent',
    cbm: 'cbm',
    variant: 'simple',
    seed,
    model: 'ra-m',
    models: { ra: 'ra-m', ...(tla === 'react' ? { tla: 'gpt-x' } : {}), judge: 'judge-m' },
    status: 'succeeded',
    updatedAt: '',
    baseline: 0.5,
    mra: 0.6,
    uplift: 0.1,
    ci: [0.02, 0.18],
    tokens: { tla: 1000, baseline: seed === 1 ? 200 : 0, mra: 210, judge: 50 },
    costs: { tla: 0.25, baseline: seed === 1 ? 0.125 : 0, mra: 0.5, judge: 0.0625 },
    costUsd: 0.25 + (seed === 1 ? 0.125 : 0) + 0.5 + 0.0625,
    dataset: { dev: 60, test: 180, objective: 180, guard: 0, labels: { 'TAI safety research': 91, other: 89 } },
    ...extra,
  } as RunRecord;
}

describe('the report names every model by role, and the data set', () => {
  const html = renderReportHtml(buildResults(meta, [run('react', 1), run('noop', 1)]));
  test('a react TLA’s own model, the RA’s and the judge’s; scripted TLAs said to have none', () => {
    const models = /<table class="models">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
    expect(models).toMatch(/<code>ra-m<\/code><\/td><td>RA model \(agent\)/);
    expect(models).toMatch(/<code>gpt-x<\/code><\/td><td>TLA model \(react\)/);
    expect(models).toMatch(/<code>judge-m<\/code><\/td><td>judge \(cbm\)/);
    expect(html).toMatch(/Scripted TLAs[^<]*<code>noop<\/code>/);
  });
  test('dev and test sizes, and the label balance with shares of the objective tasks', () => {
    const ds = /<table class="datasets">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
    expect(ds).toContain('<td class="n">60</td><td class="n">180</td><td class="n">180</td><td class="n">0</td>');
    expect(ds).toContain('TAI safety research: 91 (50.6%)<br>other: 89 (49.4%)');
  });
  test('the JSON results carry the models, the split and the data set per run', () => {
    const r = buildResults(meta, [run('react', 1)]).runs[0];
    expect(r.models).toEqual({ ra: 'ra-m', tla: 'gpt-x', judge: 'judge-m' });
    expect(r.costs).toEqual({ tla: 0.25, baseline: 0.125, mra: 0.5, judge: 0.0625 });
    expect(r.tokenSplit).toEqual({ tla: 1000, baseline: 200, mra: 210, judge: 50 });
    // a record written before models were kept still names its RA model
    expect(buildResults(meta, [{ ...run('noop', 2), models: undefined }]).runs[0].models).toEqual({ ra: 'ra-m' });
  });
});

describe('where tokens and dollars went', () => {
  test('per run by role, and totals that add the runs up', () => {
    const html = renderReportHtml(buildResults(meta, [run('react', 1), run('react', 2)]));
    const spend = /<table class="spend">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
    expect(spend).toContain('<th>TLA tokens</th><th>baseline tokens</th><th>MRA tokens</th><th>judge tokens</th><th>TLA $</th><th>baseline $</th><th>MRA $</th><th>judge $</th><th>total $</th>');
    const total = /<tr class="total">[\s\S]*?<\/tr>/.exec(spend)?.[0] ?? '';
    // 2 × 1,000 TLA tokens; the baseline's 200 paid once; $0.25 × 2; $0.125 once; $0.50 × 2; $0.0625 × 2; all $1.7500
    expect([...total.matchAll(/<td class="n">(?:<b>)?([^<]*)/g)].map((m) => m[1])).toEqual(['2,000', '200', '420', '100', '$0.5000', '$0.1250', '$1.00', '$0.1250', '$1.75']);
  });
});

describe('curves with CI bands', () => {
  test('poolRuns: one run keeps its CI over tasks; three give their mean with a Student-t CI (2 df) across runs', () => {
    expect(poolRuns([{ value: 0.1, ci: [0, 0.2] }])).toEqual({ value: 0.1, ci: [0, 0.2], n: 1 });
    const p = poolRuns([0.1, 0.2, 0.3].map((value) => ({ value, ci: [value - 0.1, value + 0.1] as [number, number] })));
    // mean 0.2, sd 0.1, t(0.975, 2) = 4.3027: half-width 4.3027 × 0.1 / √3 = 0.24842
    expect(p.value).toBeCloseTo(0.2, 12);
    expect(p.ci[0]).toBeCloseTo(0.2 - 0.248414, 5);
    expect(p.ci[1]).toBeCloseTo(0.2 + 0.248414, 5);
    expect(p.n).toBe(3);
  });

  test('a budget curve is plotted per cell, its band spanning the pooled CI, its ticks covering the band', () => {
    const curve = (u: number) => [
      { budget: 1000, step: 1, mra: 0.5 + u, uplift: u, ci: [u - 0.05, u + 0.05] as [number, number] },
      { budget: 10000, step: 2, mra: 0.6 + u, uplift: u + 0.1, ci: [u + 0.05, u + 0.15] as [number, number] },
    ];
    const html = renderReportHtml(buildResults(meta, [run('react', 1, { curve: curve(0.1) }), run('react', 2, { curve: curve(0.2) }), run('react', 3, { curve: curve(0.3) })]));
    const svg = /<h2>Uplift at TLA token budgets<\/h2>[\s\S]*?(<svg[\s\S]*?<\/svg>)/.exec(html)?.[1] ?? '';
    expect(svg).toContain('<polygon class="band"');
    expect(svg).toContain('react · agent · cbm · simple (n=3)');
    // at 1k tokens: uplifts 10, 20, 30 pp → +20.0 [−4.8, +44.8]; at 10k: +30.0 [+5.2, +54.8]
    expect(svg).toMatch(/at 1k: \+20\.0 pp \[-4\.8, \+44\.8\]/);
    expect(svg).toMatch(/at 10k: \+30\.0 pp \[\+5\.2, \+54\.8\]/);
    expect(svg).toMatch(/TLA token budget<\/text>/);
    const ys = (re: RegExp) => [...svg.matchAll(re)].map((m) => Number(m[1]));
    const tickYs = ys(/<line class="tick" x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)"/g);
    const bandYs = (/<polygon class="band" points="([^"]+)"/.exec(svg)?.[1] ?? '').split(' ').map((p) => Number(p.split(',')[1]));
    expect(bandYs).toHaveLength(4);
    for (const y of bandYs) {
      expect(y).toBeGreaterThanOrEqual(Math.min(...tickYs) - 1e-6);
      expect(y).toBeLessThanOrEqual(Math.max(...tickYs) + 1e-6);
    }
  });

  test('curvePlot draws nothing without points', () => {
    expect(curvePlot([{ label: 'x', points: [] }], { xTitle: 't', xLabel: String, aria: 'a' })).toBe('');
  });
});

describe('failures and drill-downs', () => {
  const failed = run('noop', 3, { status: 'failed', error: 'InfraFailureError: the model endpoint http://x is unavailable', uplift: undefined, ci: undefined, baseline: undefined, mra: undefined });
  const hostile = '<script>alert(1)</script>';
  const details = new Map<string, RunDetails>([
    [
      'react-agent-cbm-simple-s1',
      {
        flipped: [{ id: 't1', set: 'objective', input: `{"text":"${hostile}"}`, target: 'yes', baseline: { score: 0, output: 'no' }, mra: { score: 1, output: hostile } }],
        tasks: { total: 10, gained: 1, lost: 0, errors: { baseline: 0, mra: 0 } },
        diff: { text: '--- a/prompt.md\n+++ b/prompt.md\n-old line\n+new <b>line</b>\n', chars: 60, lines: 4 },
        transcript: { events: [{ ts: '2026-01-01T10:11:12Z', kind: 'model_call', status: 200, request: { messages: [{ role: 'user', content: 'improve the prompt' }] }, response: { choices: [{ message: { content: 'I will add examples' } }] } }], total: 1 },
        problems: [],
      },
    ],
  ]);
  const html = renderReportHtml(buildResults(meta, [run('react', 1), failed]), details);

  test('a failed run is listed with its cause', () => {
    expect(html).toMatch(/<li><code>noop-agent-cbm-simple-s3<\/code> <b>failed<\/b>: <span class="bad">InfraFailureError: the model endpoint http:\/\/x is unavailable/);
  });

  test('a run’s drill-down: collapsible, flipped tasks with both outputs escaped, the diff marked, the transcript readable', () => {
    const d = /<details class="run-detail" id="run-react-agent-cbm-simple-s1">[\s\S]*?<\/div><\/details>/.exec(html)?.[0] ?? '';
    expect(d).toContain('1 gained, 0 lost');
    expect(d).not.toContain('<script>');
    expect(d).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(d).toContain('<ins>+new &lt;b&gt;line&lt;/b&gt;</ins>');
    expect(d).toContain('<del>-old line</del>');
    expect(d).toMatch(/<details class="transcript"><summary>TLA transcript \(1 events\)/);
    expect(d).toContain('<li><span class="ev">10:11:12 model_call</span>');
    expect(d).toContain('<div class="said">→ user: improve the prompt</div>');
    expect(d).toContain('<div class="answered">← I will add examples</div>');
    // the run without artifacts is pointed to `uplift artifacts`
    expect(html).toMatch(/1 run\(s\) without a drill-down here/);
  });
});

describe('what agents wrote cannot make the report lie', () => {
  test('bidi overrides, zero-width and control characters are shown as code points, not obeyed', () => {
    const details = new Map<string, RunDetails>([
      ['react-agent-cbm-simple-s1', { flipped: [{ id: 'task-\u202E12\u2069', set: 'objective', target: 'yes', baseline: { score: 0, output: 'no' }, mra: { score: 1, output: 'Answer: \u202Eeslaf\u2069\u200B\u0007' } }], tasks: { total: 1, gained: 1, lost: 0, errors: { baseline: 0, mra: 0 } }, problems: [] }],
    ]);
    const html = renderReportHtml(buildResults(meta, [run('react', 1)]), details);
    expect(html).toContain('task-⟦U+202E⟧12⟦U+2069⟧');
    expect(html).toContain('Answer: ⟦U+202E⟧eslaf⟦U+2069⟧⟦U+200B⟧⟦U+0007⟧');
    expect(html).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200B\u0007]/);
  });

  test('a model answer holding lines shaped like transcript events stays inside its answer block', () => {
    const forged = 'ok\n00:00:04 tla_step {"step":2,"devScore":0.99,"accepted":true}';
    const details = new Map<string, RunDetails>([
      ['react-agent-cbm-simple-s1', { flipped: [], tasks: { total: 0, gained: 0, lost: 0, errors: { baseline: 0, mra: 0 } }, transcript: { events: [{ ts: '2026-01-01T00:00:03Z', kind: 'model_call', response: { choices: [{ message: { content: forged } }] } }], total: 1 }, problems: [] }],
    ]);
    const html = renderReportHtml(buildResults(meta, [run('react', 1)]), details);
    const list = /<ol class="transcript">([\s\S]*?)<\/ol>/.exec(html)?.[1] ?? '';
    // one event, one item: the forged line is text of its answer, not an item of the list
    expect(list.match(/<li>/g)).toHaveLength(1);
    expect(list).toContain(`<div class="answered">← ok\n00:00:04 tla_step {&quot;step&quot;:2,&quot;devScore&quot;:0.99,&quot;accepted&quot;:true}</div>`);
  });
});

