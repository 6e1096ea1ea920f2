import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SpecError } from '../../core/errors';
import { loadSpec, parseSpec } from '../../core/spec';
import { specProblems } from '../support/spec-problems';

const EXAMPLES = resolve(__dirname, '../../examples');
const valid = () => ({
  name: 'spec-test',
  cbms: [{ id: 'tai-safety', dataset: join(EXAMPLES, 'datasets/tai-safety') }],
  ras: [{ name: 'classifier', bundle: join(EXAMPLES, 'agents/classifier'), model: { provider: 'offline' } }],
  tlas: [{ kind: 'noop' }, { kind: 'fewshot-search' }],
  budgets: { tlaTokens: 1000, shardTokens: 1000, tlaWallSeconds: 60, maxUsd: 1 },
});

const problemsOf = (raw: unknown): string[] => specProblems(() => parseSpec(raw, 'sweep.yaml'));

describe('sweep spec validation', () => {
  test('a valid spec parses with defaults filled in', () => {
    const { spec } = parseSpec(valid(), join(EXAMPLES, 'sweeps/x.yaml'));
    expect(spec.variants).toEqual(['simple']);
    expect(spec.seeds).toBe(1);
    expect(spec.concurrency).toEqual({ runs: 4, requests: 8 });
    expect(spec.tlas[1]).toEqual({ kind: 'fewshot-search', maxExamples: 16, evalTasks: 60 });
  });

  test('a wrong enum names the field path, what is allowed and what was received', () => {
    const raw = { ...valid(), variants: ['simple', 'medium'] };
    const [p] = problemsOf(raw);
    expect(p).toBe('sweep.yaml: variants.1: must be "simple" or "hard" (received "medium")');
  });

  test('an unknown TLA kind lists the kinds that exist', () => {
    const p = problemsOf({ ...valid(), tlas: [{ kind: 'gpt-engineer' }] });
    expect(p[0]).toMatch(/^sweep.yaml: tlas.0.kind: kind must be one of: noop, fixed, fewshot-search/);
  });

  test('a missing required field says it is required', () => {
    const raw = valid() as Record<string, unknown>;
    delete (raw.budgets as Record<string, unknown>).maxUsd;
    expect(problemsOf(raw)).toEqual(['sweep.yaml: budgets.maxUsd: is required (number)']);
  });

  test('every problem is reported at once, unknown fields included', () => {
    const raw = { ...valid(), seeds: 0, budget: {}, name: 'Not Kebab' };
    const p = problemsOf(raw);
    expect(p).toHaveLength(3);
    expect(p.join('\n')).toMatch(/name: must be kebab-case/);
    expect(p.join('\n')).toMatch(/seeds: .*received 0/);
    expect(p.join('\n')).toMatch(/budget: unknown field\. Fix: remove it; the fields here are name, cbms, /);
  });

  test('paths that do not exist are named with the fix', () => {
    const raw = { ...valid(), ras: [{ name: 'x', bundle: '/nope/bundle', model: { provider: 'offline' } }] };
    expect(problemsOf(raw)).toEqual([
      'sweep.yaml: ras.0.bundle: directory not found (received "/nope/bundle"). Fix: point it at an RA bundle directory that holds agent.yaml',
    ]);
  });

  test('duplicate names are refused', () => {
    const raw = { ...valid(), tlas: [{ kind: 'noop' }, { kind: 'noop' }] };
    expect(problemsOf(raw)[0]).toMatch(/tlas.1: duplicate name "noop"/);
  });

  test('relative paths resolve against the spec file, not the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spec-'));
    const file = join(dir, 'sweep.yaml');
    writeFileSync(file, `name: rel\ncbms: [{id: c, dataset: ${join(EXAMPLES, 'datasets/tai-safety')}}]\nras: [{name: r, bundle: ${join(EXAMPLES, 'agents/classifier')}, model: {provider: offline}}]\ntlas: [{kind: noop}]\nbudgets: {tlaTokens: 1, shardTokens: 1, tlaWallSeconds: 1, maxUsd: 0}\n`);
    expect(loadSpec(file).spec.ras[0].bundle).toBe(join(EXAMPLES, 'agents/classifier'));
    const demo = loadSpec(join(EXAMPLES, 'sweeps/tai-demo.yaml'));
    expect(demo.spec.cbms[0].dataset).toBe(join(EXAMPLES, 'datasets/tai-safety'));
  });

  test('YAML syntax errors name the line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spec-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: x\ncbms: [\n  - oops: :\n');
    expect(() => loadSpec(file)).toThrow(SpecError);
    try {
      loadSpec(file);
    } catch (e) {
      expect((e as SpecError).problems[0]).toMatch(/^.*bad\.yaml:\d+: not valid YAML/);
    }
  });
});
