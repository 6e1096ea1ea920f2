import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpecError } from '../../../core/errors';
import { loadSpec } from '../../../core/spec';
import { prepareSweep } from '../../../core/sweep/stage';
import { EXAMPLES } from '../../support/specs';

const PI = `{ id: pi, kind: prompt-injection, dataset: ${join(EXAMPLES, 'datasets/pi-sample')}, judge: JUDGE }`;
const TAI = `{ id: tai, dataset: ${join(EXAMPLES, 'datasets/tai-safety')} }`;
const CHAT = `{ name: chat, bundle: ${join(EXAMPLES, 'agents/chat-assistant')}, model: { provider: offline } }`;
const CLASSIFIER = `{ name: classifier, bundle: ${join(EXAMPLES, 'agents/classifier')}, model: { provider: offline } }`;

function spec(o: { cbms: string[]; ras: string[]; tlas?: string; judge?: string }): string {
  const dir = mkdtempSync(join(tmpdir(), 'uplift-kinds-'));
  const file = join(dir, 'sweep.yaml');
  const cbms = o.cbms.map((c) => c.replace('JUDGE', o.judge ?? '{ model: { provider: offline } }'));
  writeFileSync(file, `name: kinds\ncbms: [${cbms.join(', ')}]\nras: [${o.ras.join(', ')}]\ntlas: ${o.tlas ?? '[{kind: noop}]'}\nbudgets: { tlaTokens: 1000, shardTokens: 1000, tlaWallSeconds: 60, maxUsd: 100 }\n`);
  return file;
}

function problems(file: string, env: Record<string, string | undefined> = {}): string[] {
  try {
    prepareSweep(loadSpec(file), env);
  } catch (e) {
    if (e instanceof SpecError) return e.problems;
    throw e;
  }
  return [];
}

describe('staging a sweep of several CBM kinds: every mismatch is refused before anything starts', () => {
  test('each RA is paired with the CBMs of the kind it speaks only', () => {
    const prepared = prepareSweep(loadSpec(spec({ cbms: [PI, TAI], ras: [CHAT, CLASSIFIER] })), {});
    expect(prepared.preview.runs.map((r) => `${r.ra.name}×${r.cbm.id}`).sort()).toEqual(['chat×pi', 'classifier×tai']);
    const pi = prepared.preview.runs.find((r) => r.cbm.id === 'pi');
    expect(pi?.cbm).toMatchObject({ kind: 'prompt-injection', maxGuardDrop: 0.05, judge: { modelName: 'offline', tokensPerTask: 2000 } });
    expect(pi?.cbm.guardCount).toBeGreaterThan(0);
  });

  test('a CBM no RA speaks and an RA for no CBM are both named, with the fix', () => {
    const p = problems(spec({ cbms: [PI], ras: [CLASSIFIER] }));
    expect(p).toEqual([
      expect.stringMatching(/cbms\.0: no RA speaks kind prompt-injection \(the RAs speak classification\)\. Fix: add an RA whose agent\.yaml says cbm: prompt-injection/),
      expect.stringMatching(/ras\.0\.bundle: classifier speaks CBM kind classification \(agent\.yaml cbm\), but no CBM of the spec is of that kind\. Fix:/),
    ]);
  });

  test('a TLA that works on other kinds only is refused, naming the kinds', () => {
    const p = problems(spec({ cbms: [PI], ras: [CHAT], tlas: '[{kind: fewshot-search}, {kind: defense-search}]' }));
    expect(p).toEqual([expect.stringMatching(/tlas\.0: fewshot-search works on CBM kind\(s\) classification only, and this spec has prompt-injection\. Fix:/)]);
  });

  test('a judge allowance that cannot hold the judge prompt of an empty response is refused with the least that works', () => {
    const p = problems(spec({ cbms: [PI], ras: [CHAT], judge: '{ model: { provider: openai, name: judge-m, baseUrl: "http://127.0.0.1:9/v1" }, tokensPerTask: 400 }' }), { OPENAI_API_KEY: 'k' });
    expect(p).toHaveLength(1);
    const m = /cbms\.0\.judge\.tokensPerTask: 400 cannot judge even an empty response with this judge \(its calls are reserved at up to (\d+) tokens: a byte bound of the prompt plus the verdict and the tolerated overrun\)\. Fix: set tokensPerTask to at least \1/.exec(p[0]);
    expect(Number(m?.[1])).toBeGreaterThan(400);
    // The offline judge counts exactly, so the same allowance fits it.
    expect(problems(spec({ cbms: [PI], ras: [CHAT], judge: '{ model: { provider: offline }, tokensPerTask: 400 }' }))).toEqual([]);
  });

  test("a judge's key is checked like every model's; maxGuardDrop on a CBM without a guard is refused", () => {
    expect(problems(spec({ cbms: [PI], ras: [CHAT], judge: '{ model: { provider: openai, name: judge-m, apiKeyEnv: JUDGE_KEY } }' }))).toEqual([
      expect.stringMatching(/cbms\.0\.judge\.model\.apiKeyEnv: environment variable JUDGE_KEY is not set\. Fix: export JUDGE_KEY=<key> \(only the scoring harness holds it; agents never see it\)/),
    ]);
    expect(problems(spec({ cbms: [`{ id: tai, dataset: ${join(EXAMPLES, 'datasets/tai-safety')}, maxGuardDrop: 0.1 }`], ras: [CLASSIFIER] }))).toEqual([
      expect.stringMatching(/cbms\.0\.maxGuardDrop: the data set .* has no guard tasks, so there is no guard to keep\. Fix:/),
    ]);
  });
});
