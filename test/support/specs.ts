import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const EXAMPLES = resolve(__dirname, '../../examples');

/** Writes a small sweep spec on the sample data (fast: 2 shards per evaluation, small TLA budget). */
export function writeSmallSpec(overrides: { name?: string; seeds?: number; runs?: number; tlas?: string; maxUsd?: number; extra?: string } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'uplift-spec-'));
  const file = join(dir, 'sweep.yaml');
  writeFileSync(
    file,
    `name: ${overrides.name ?? 'it-sweep'}
cbms:
  - id: tai-safety
    dataset: ${join(EXAMPLES, 'datasets/tai-safety')}
ras:
  - name: classifier
    bundle: ${join(EXAMPLES, 'agents/classifier')}
    model: { provider: offline }
tlas: ${overrides.tlas ?? '[{kind: noop}, {kind: fewshot-search, evalTasks: 40}]'}
variants: [simple]
seeds: ${overrides.seeds ?? 1}
shardSize: 90
budgets: { tlaTokens: 400000, shardTokens: 300000, tlaWallSeconds: 120, shardWallSeconds: 120, maxUsd: ${overrides.maxUsd ?? 1} }
concurrency: { runs: ${overrides.runs ?? 2}, requests: 8 }
${overrides.extra ?? ''}
`,
  );
  return file;
}
