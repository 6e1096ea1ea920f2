import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from '../../cli/local/embedded';
import type { BaselineRecord } from '../../core/records';
import { storesFromEnv } from '../../lambdas/aws/clients';
import { runCli } from '../support/cli';

const record = (key: string, ownerRun: string): BaselineRecord => ({
  key,
  status: 'done',
  ownerSweep: 'demo-20261130-000000-abcd',
  ownerRun,
  claimedAt: '2026-11-30T00:00:00.000Z',
  completedAt: '2026-11-30T00:01:00.000Z',
  outputsPrefix: `sweeps/demo/runs/${ownerRun}/baseline`,
  score: 0.494,
  tokens: 38979,
  costUsd: 0.0123,
  counts: { scored: 178, agent_error: 2, infra_error: 0 },
});

describe('uplift cache list / clear', () => {
  test('lists cached baselines with where they came from, clears one by key or all, and refuses an unknown key', async () => {
    // GIVEN a data dir with two cached baselines
    const dataDir = mkdtempSync(join(tmpdir(), 'uplift-cache-'));
    const svc = await startEmbedded(dataDir);
    const scores = storesFromEnv(svc.env).scores;
    await scores.completeBaseline(record('BASELINE#tai@v1#offline#aaaa', 'noop-s1'));
    await scores.completeBaseline(record('BASELINE#tai@v1#gpt-4o-mini#bbbb', 'noop-s2'));
    await svc.stop();

    // WHEN listed
    const list = await runCli(['cache', 'list', '--data-dir', dataDir]);
    // THEN both show with score, outcome counts, tokens, cost and the computing sweep/run
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/BASELINE#tai@v1#offline#aaaa\s+done\s+49\.4\s+178\/2\/0\s+38,979\s+\$0\.0123\s+demo-20261130-000000-abcd \/ noop-s1/);
    expect(list.stdout).toContain('BASELINE#tai@v1#gpt-4o-mini#bbbb');

    // WHEN one is cleared by key
    const clear = await runCli(['cache', 'clear', 'BASELINE#tai@v1#offline#aaaa', '--data-dir', dataDir]);
    expect(clear.code).toBe(0);
    expect(clear.stdout).toContain('Cleared 1 cached baseline(s).');
    const after = JSON.parse((await runCli(['cache', 'list', '--json', '--data-dir', dataDir])).stdout) as BaselineRecord[];
    expect(after.map((b) => b.key)).toEqual(['BASELINE#tai@v1#gpt-4o-mini#bbbb']);

    // WHEN a key that does not exist is cleared, or neither a key nor --all is given: exit 2 with the fix
    const unknown = await runCli(['cache', 'clear', 'BASELINE#nope', '--data-dir', dataDir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no cached baseline has the key "BASELINE#nope"');
    expect((await runCli(['cache', 'clear', '--data-dir', dataDir])).code).toBe(2);

    // WHEN all are cleared
    expect((await runCli(['cache', 'clear', '--all', '--data-dir', dataDir])).stdout).toContain('Cleared 1 cached baseline(s).');
    expect((await runCli(['cache', 'list', '--data-dir', dataDir])).stdout).toContain('No cached baselines.');
  });
});
