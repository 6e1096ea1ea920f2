import { SweepSpec, tlaLabel } from '../../../core/spec';
import { runWorstCase } from '../../../core/sweep/plan';

const base = {
  name: 'react-spec',
  cbms: [{ id: 'tai-safety', dataset: 'd' }],
  ras: [{ name: 'classifier', bundle: 'b', model: { provider: 'openai', name: 'gpt-4o-mini' } }],
  budgets: { tlaTokens: 100_000, shardTokens: 10_000, tlaWallSeconds: 600, maxUsd: 10 },
};

describe('react TLA in a sweep spec', () => {
  test('has its own model and documented defaults; a name labels it', () => {
    const spec = SweepSpec.parse({ ...base, tlas: [{ kind: 'react', name: 'react-4o', model: { provider: 'openai', name: 'gpt-4o' } }] });
    expect(spec.tlas[0]).toEqual({
      kind: 'react',
      name: 'react-4o',
      model: { provider: 'openai', name: 'gpt-4o', apiKeyEnv: 'OPENAI_API_KEY' },
      maxTurns: 50,
      evalTasks: 60,
      contextTokens: 128000,
      maxOutputTokens: 4096,
      toolOutputChars: 8000,
      commandTimeoutSeconds: 120,
    });
    expect(tlaLabel(spec.tlas[0])).toBe('react-4o');
    expect(tlaLabel(SweepSpec.parse({ ...base, tlas: [{ kind: 'react', model: { provider: 'openai', name: 'gpt-4o' } }] }).tlas[0])).toBe('react');
  });

  test('refuses the offline stand-in as its model, saying why and what to use', () => {
    const r = SweepSpec.safeParse({ ...base, tlas: [{ kind: 'react', model: { provider: 'offline' } }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0].message).toMatch(/^the offline stand-in cannot call tools, so it cannot drive the react TLA\. Fix: use \{ provider: openai/);
  });

  test('prices TLA tokens at the dearer of the TLA and RA models', () => {
    const spec = SweepSpec.parse({ ...base, tlas: [{ kind: 'noop' }, { kind: 'react', model: { provider: 'openai', name: 'gpt-4o' } }] });
    const shards = 2;
    const shardUsd = (2 * shards * 10_000 * 0.6) / 1e6; // gpt-4o-mini, dearer of its prices
    // react: 100k TLA tokens at gpt-4o's $10/M output price
    expect(runWorstCase(spec, spec.ras[0].model, shards, spec.tlas[1])).toBeCloseTo(1 + shardUsd, 10);
    // noop: every token at the RA's price, as before
    expect(runWorstCase(spec, spec.ras[0].model, shards, spec.tlas[0])).toBeCloseTo(((100_000 + 2 * shards * 10_000) * 0.6) / 1e6, 10);
    // without a TLA: the dearest TLA model of the spec
    expect(runWorstCase(spec, spec.ras[0].model, shards)).toBeCloseTo(1 + shardUsd, 10);
  });
});
