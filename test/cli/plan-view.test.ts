import { join } from 'node:path';
import { renderPlan } from '../../cli/plan-view';
import { loadSpec } from '../../core/spec';
import { prepareSweep } from '../../core/sweep/stage';

/*
 * `uplift plan`'s output fits the terminal: the runs table gives way column by column (never run,
 * model, worst case $), with a note naming what it left out; prose is word-wrapped.
 */

const plan = prepareSweep(loadSpec(join(__dirname, '../../examples/sweeps/tai-demo.yaml')), {}).preview;
const HEAD = ['run', 'TLA', 'RA', 'model', 'CBM', 'variant', 'seed', 'shards', 'tokens $', 'compute $', 'worst case $'];

/** The runs table's lines: from its header to the line before the blank line after it. */
function runsTable(text: string): string[] {
  const lines = text.split('\n');
  return lines.slice(1, lines.indexOf(''));
}

describe('uplift plan fits the terminal width', () => {
  test('at 100 columns: no line is wider; run, model and worst case $ are there for every run; a note names what was left out', () => {
    const text = renderPlan(plan, undefined, 100);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    const table = runsTable(text);
    const header = `${table[0]}  ${table[1]}`.trim().split(/ {2,}/);
    for (const h of ['run', 'model', 'worst case $']) expect(header).toContain(h);
    const left = HEAD.filter((h) => !header.includes(h));
    expect(left).toEqual(['variant', 'seed']);
    for (const r of plan.runs) expect(table[table.indexOf(r.runId) + 1]).toMatch(/^ {2}\S.* offline +tai-safety +4 +\$0\.0000 +\$0\.0000 +\$0\.0000$/);
    expect(text.replace(/\n /g, ' ')).toContain('(Left out to fit 100 columns: variant, seed. To see them: --json, or a terminal 153 columns wide, or UPLIFT_COLUMNS=153.)');
    // Prose is wrapped at spaces, every word kept.
    expect(text.replace(/\s+/g, ' ')).toContain('Job time priced at local rates: every job on this machine ($0.0000/h). --stack-config <file> prices it as a stack deployed from that config would (e.g. --stack-config infra/uplift.config.json).');
  });

  test('at 200 columns: every column, one line per run, no note', () => {
    const text = renderPlan(plan, undefined, 200);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(200);
    const table = runsTable(text);
    expect(table[0].split(/ {2,}/)).toEqual(HEAD);
    expect(table).toHaveLength(2 + plan.runs.length);
    expect(table[2]).toMatch(/^noop-classifier-tai-safety-simple-s1 +noop +classifier +offline +tai-safety +simple +1 +4 +\$0\.0000 +\$0\.0000 +\$0\.0000$/);
    expect(text).not.toContain('Left out');
  });

  test('at 40 columns the runs keep run, model and worst case $; the TLA/RA/CBM breakdowns still fit, each group name whole on its line with its runs and total $ under it', () => {
    const text = renderPlan(plan, undefined, 40);
    expect(runsTable(text)[1].trim().split(/ {2,}/)).toEqual(['model', 'worst case $']);
    const breakdowns = text.slice(text.indexOf('\n\nTLA\n'), text.indexOf('Worst case:'));
    for (const line of breakdowns.split('\n')) expect(line.length).toBeLessThanOrEqual(40);
    expect(breakdowns.match(/^ {2}runs .* total \$$/gm)).toHaveLength(3);
    expect(breakdowns).toMatch(/^fewshot-search\n +3 +.*\$0\.0000$/m);
    expect(breakdowns).toMatch(/^classifier \(offline\)\n +6 +.*\$0\.0000$/m);
    expect(breakdowns).toMatch(/^tai-safety\n +6 +.*\$0\.0000$/m);
  });
});
