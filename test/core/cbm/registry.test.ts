import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CBM_KINDS, kindPromptsDir } from '../../../core/cbm/registry';
import { SweepSpec } from '../../../core/spec';

const base = {
  name: 'kinds',
  ras: [{ name: 'r', bundle: 'b', model: { provider: 'offline' } }],
  tlas: [{ kind: 'noop' }],
  budgets: { tlaTokens: 1000, shardTokens: 1000, tlaWallSeconds: 60, maxUsd: 1 },
};

describe('the CBM registry: every kind plugs in through one place', () => {
  test.each(Object.keys(CBM_KINDS))('%s ships react prompts for both hand-holding variants, naming only variables it or the harness fills', (kind) => {
    for (const variant of ['simple', 'hard']) {
      const file = join(kindPromptsDir(kind), `react-${variant}.md`);
      expect(existsSync(file)).toBe(true);
      const used = [...readFileSync(file, 'utf8').matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]);
      const harness = ['workspace', 'dev_path', 'data_path', 'prompt_file', 'entrypoint', 'eval_tasks', 'dev_count', 'token_budget', 'max_turns'];
      const own = Object.keys(CBM_KINDS[kind].tlaTexts(sampleMeta(kind), sampleSpec(kind)).vars);
      // A placeholder nobody fills would reach the TLA's model as literal {{name}}.
      expect(used.filter((v) => !harness.includes(v) && !own.includes(v))).toEqual([]);
    }
  });

  test('a CBM without kind is classification; an unknown kind is refused naming every known kind', () => {
    expect(SweepSpec.parse({ ...base, cbms: [{ id: 'c', dataset: 'd' }] }).cbms[0].kind).toBe('classification');
    const r = SweepSpec.safeParse({ ...base, cbms: [{ id: 'c', kind: 'nonsense', dataset: 'd' }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0].message).toBe(`kind must be one of: ${Object.keys(CBM_KINDS).join(', ')}`);
  });

  test('a kind’s own fields are checked strictly: an unknown field is refused', () => {
    const r = SweepSpec.safeParse({ ...base, cbms: [{ id: 'c', kind: 'classification', dataset: 'd', judge: {} }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0].code).toBe('unrecognized_keys');
  });
});

/** A meta each kind's tlaTexts accepts: parsed from the kind's own sample data set where it has one. */
function sampleMeta(kind: string): unknown {
  const dirs: Record<string, string> = { classification: 'examples/datasets/tai-safety', 'prompt-injection': 'examples/datasets/pi-sample', 'multiple-choice': 'examples/datasets/wmdp-sample', workspace: 'examples/datasets/mini-swe' };
  return CBM_KINDS[kind].load(join(__dirname, '../../..', dirs[kind]), sampleSpec(kind)).meta;
}

function sampleSpec(kind: string): Record<string, unknown> {
  const spec = SweepSpec.parse({ ...base, cbms: [{ id: 'c', kind, dataset: 'd', ...(kind === 'prompt-injection' ? { judge: { model: { provider: 'offline' } } } : {}), ...(kind === 'multiple-choice' ? { goal: 'unlearn' } : {}) }] });
  return spec.cbms[0];
}
