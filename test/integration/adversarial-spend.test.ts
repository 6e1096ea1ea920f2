import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from '../support/cli';
import { EXAMPLES } from '../support/specs';
import { startBillingEndpoint, type FakeEndpoint } from '../core/gateway/fake-endpoints';

const HOSTILE = resolve(__dirname, '../fixtures/hostile-mra');
/** $1 per million tokens, input and output: the billed tokens are the dollars × 10^6. */
const USD_PER_TOKEN = 1e-6;

let endpoint: FakeEndpoint;
beforeAll(async () => {
  endpoint = await startBillingEndpoint();
});
afterAll(async () => endpoint.close());

describe('an adversarial MRA cannot push the sweep past maxUsd', () => {
  test('every request shape that bills more than was reserved is refused or rewritten; the endpoint bills no more than the ledger holds, and that is within maxUsd', async () => {
    // GIVEN a sweep whose MRA (a `fixed` TLA's bundle) sends every dangerous request shape and then
    // spends all it can, against an endpoint that bills whatever it generates, with a budget that
    // just fits the worst case ($0.801 of tokens)
    const dir = mkdtempSync(join(tmpdir(), 'uplift-hostile-'));
    const file = join(dir, 'sweep.yaml');
    writeFileSync(
      file,
      `name: hostile
cbms:
  - id: tai-safety
    dataset: ${join(EXAMPLES, 'datasets/tai-safety')}
ras:
  - name: classifier
    bundle: ${join(EXAMPLES, 'agents/classifier')}
    model: { provider: openai, name: billed-llm, baseUrl: "${endpoint.baseUrl}", apiKeyEnv: BILLED_KEY }
tlas:
  - kind: fixed
    name: hostile
    bundle: ${HOSTILE}
shardSize: 90
budgets: { tlaTokens: 1000, shardTokens: 200000, tlaWallSeconds: 60, shardWallSeconds: 120, maxUsd: 0.81 }
prices: { models: { billed-llm: { inputPerMTok: 1, outputPerMTok: 1 } } }
`,
    );
    // WHEN it runs
    const r = await runCli(['run', file, '--json', '--data-dir', join(dir, 'data')], { BILLED_KEY: 'real-key' });
    const results = JSON.parse(r.stdout) as { runs: { status: string; error?: string; costUsd: number }[]; budget: { limitUsd: number; spentUsd: number; reservedUsd: number } };
    // THEN the run completed (the hostile agent's answers are scored like any others)
    expect(results.runs.map((x) => [x.status, x.error ?? ''])).toEqual([['succeeded', '']]);
    // AND the endpoint billed no more than the ledger settled, which is within maxUsd
    const billedUsd = endpoint.billed * USD_PER_TOKEN;
    expect(billedUsd).toBeGreaterThan(0.1); // the agent did spend: the test is not vacuous
    expect(billedUsd).toBeLessThanOrEqual(results.budget.spentUsd + 1e-6);
    expect(results.budget.spentUsd).toBeLessThanOrEqual(results.budget.limitUsd);
    expect(results.budget.reservedUsd).toBe(0);
    // AND nothing that could bill more than was reserved reached the endpoint
    for (const body of endpoint.seen) {
      const limit = (body.max_completion_tokens ?? body.max_tokens) as number | undefined;
      expect(limit).toBeDefined();
      expect(limit).toBeLessThanOrEqual(200_000);
      expect(body.n ?? 1).toBe(1);
      expect(body.model).toBe('billed-llm');
      for (const k of ['functions', 'service_tier', 'web_search_options', 'prediction', 'audio', 'modalities']) expect(body[k]).toBeUndefined();
      if (body.stream === true) expect((body.stream_options as { include_usage?: boolean }).include_usage).toBe(true);
      for (const m of body.messages as { content: unknown }[]) if (Array.isArray(m.content)) for (const p of m.content as { type: string }[]) expect(p.type).toBe('text');
    }
  });
});
