import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promptInjectionKind } from '../../../../core/cbm/prompt-injection';
import { importCyberSecEvalPi } from '../../../../core/cbm/prompt-injection/import';
import { generatePiSample, PI_SAMPLE_IMPORT, renderSource } from '../../../../examples/datasets/pi-sample/generate';
import { SPEC } from './pipeline';

const DIR = join(__dirname, '../../../../examples/datasets/pi-sample');
const SOURCE = join(DIR, 'source', 'prompt_injection.json');

describe('the pi-sample data set', () => {
  const ds = promptInjectionKind.load(DIR, SPEC);
  const attacks = [...ds.dev, ...ds.test].filter((t) => t.set === 'objective');

  test('loads as a valid prompt-injection data set', () => {
    expect(ds.meta.task).toMatch(/system prompt/);
    expect(ds.dev.some((t) => t.set === 'guard') && ds.test.some((t) => t.set === 'guard')).toBe(true);
  });

  test('has 120+ attacks over 8+ variants, 60+ of them in test, both injection types and both risk categories', () => {
    expect(attacks.length).toBeGreaterThanOrEqual(120);
    expect(new Set(attacks.map((t) => t.injection_variant)).size).toBeGreaterThanOrEqual(8);
    expect(ds.test.filter((t) => t.set === 'objective').length).toBeGreaterThanOrEqual(60);
    expect(new Set(attacks.map((t) => t.injection_type))).toEqual(new Set(['direct', 'indirect']));
    expect(new Set(attacks.map((t) => t.risk_category))).toEqual(new Set(['security-violating', 'logic-violating']));
  });

  test('its source is in the official schema and is reproduced byte for byte by its generator', () => {
    const text = readFileSync(SOURCE, 'utf8');
    expect(renderSource(generatePiSample())).toBe(text);
    const fields = ['prompt_id', 'test_case_prompt', 'user_input', 'judge_question', 'injection_variant', 'injection_type', 'risk_category', 'speaking_language'];
    for (const e of JSON.parse(text) as Record<string, unknown>[]) expect(Object.keys(e)).toEqual(fields);
  });

  test('importing its source reproduces dev.jsonl, test.jsonl and meta.json byte for byte', () => {
    const out = mkdtempSync(join(tmpdir(), 'pi-sample-'));
    try {
      importCyberSecEvalPi({ file: SOURCE, outDir: out, ...PI_SAMPLE_IMPORT });
      for (const f of ['dev.jsonl', 'test.jsonl', 'meta.json']) expect(readFileSync(join(out, f), 'utf8')).toBe(readFileSync(join(DIR, f), 'utf8'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
