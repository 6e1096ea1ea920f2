import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { startEmbedded } from '../../cli/local/embedded';
import type { RunRecord, SweepMeta } from '../../core/records';
import { storesFromEnv } from '../../lambdas/aws/clients';
import { runCli } from '../support/cli';

const OLD = 'old-20261101-000000-aaaa';
const NEW = 'new-20261130-000000-bbbb';
const ERROR = 'endpoint said "no", then: a,b\nsecond line';

const meta = (sweepId: string, createdAt: string, status: SweepMeta['status']): SweepMeta => ({ sweepId: sweepId as SweepMeta['sweepId'], name: sweepId.split('-')[0], status, createdAt, updatedAt: createdAt, runCount: 0, offlineOnly: false, models: ['gpt-4o-mini'], maxUsd: 2, worstCaseUsd: 1 });
const run = (sweepId: string, tla: string, variant: string, seed: number, status: RunRecord['status'], uplift?: number): RunRecord =>
  ({
    sweepId,
    runId: `${tla}-classifier-tai-${variant}-s${seed}`,
    tla,
    ra: 'classifier',
    cbm: 'tai',
    variant,
    seed,
    model: 'gpt-4o-mini',
    status,
    updatedAt: 'x',
    ...(uplift === undefined ? {} : { baseline: 0.5, mra: 0.5 + uplift, uplift, ci: [uplift - 0.1, uplift + 0.1], tokens: { tla: 100, baseline: 10, mra: 10 }, costUsd: 0.01 }),
    ...(status === 'failed' ? { error: ERROR } : {}),
  }) as RunRecord;

let dataDir: string;

beforeAll(async () => {
  // GIVEN a data dir with an older sweep (2 TLAs × 2 variants, one failed run, $0.30 spent) and a newer running one
  dataDir = mkdtempSync(join(tmpdir(), 'uplift-manage-'));
  const svc = await startEmbedded(dataDir);
  const { scores, artifacts } = storesFromEnv(svc.env);
  await scores.createSweep(meta(OLD, '2026-11-01T00:00:00.000Z', 'succeeded'));
  await scores.putRuns([
    run(OLD, 'fewshot', 'simple', 1, 'succeeded', 0.1),
    run(OLD, 'fewshot', 'simple', 2, 'succeeded', 0.2),
    run(OLD, 'fewshot', 'simple', 3, 'succeeded', 0.3),
    run(OLD, 'noop', 'simple', 1, 'succeeded', 0),
    run(OLD, 'noop', 'hard', 1, 'failed'),
  ]);
  await scores.initBudget(OLD, 2);
  await scores.reserveBudget(OLD, 'r', 1);
  await scores.settleBudget(OLD, 'r', 0.3);
  await scores.createSweep(meta(NEW, '2026-11-30T00:00:00.000Z', 'running'));
  await scores.putRuns([run(NEW, 'fewshot', 'simple', 1, 'succeeded', 0.3), run(NEW, 'fewshot', 'simple', 2, 'succeeded', 0.5), run(NEW, 'react', 'simple', 1, 'pending')]);
  await scores.initBudget(NEW, 5);
  // AND a run's stored outputs and its job logs
  const prefix = `sweeps/${OLD}/runs/fewshot-classifier-tai-simple-s1`;
  await artifacts.putBytes(`${prefix}/tla/mra.tar.gz`, new Uint8Array([31, 139, 8, 0, 1, 2, 3]));
  await artifacts.putText(`${prefix}/tla/mra.diff`, '--- a/prompt.txt\n+++ b/prompt.txt\n');
  await artifacts.putText(`${prefix}/tla/transcript.jsonl`, '{"kind":"note"}\n');
  await artifacts.putText(`${prefix}/mra/shard-0.jsonl`, '{"id":"1","output":"x","score":1}\n');
  await artifacts.putText(`${prefix}/mra/shard-0.usage.json`, '{}');
  await artifacts.putText(`sweeps/${OLD}/runs/fewshot-classifier-tai-simple-s10/tla/mra.diff`, 'another run: not extracted');
  await svc.stop();
  const logs = join(dataDir, 'logs', OLD);
  mkdirSync(logs, { recursive: true });
  writeFileSync(join(logs, 'fewshot-classifier-tai-simple-s1.tla.log'), 'tla log\n');
  writeFileSync(join(logs, 'fewshot-classifier-tai-simple-s1.mra.0.log'), 'mra log\n');
  writeFileSync(join(logs, 'fewshot-classifier-tai-simple-s10.tla.log'), 'other run\n');
  writeFileSync(join(logs, 'jobs.jsonl'), [JSON.stringify({ event: 'start', runId: 'fewshot-classifier-tai-simple-s1', role: 'tla' }), JSON.stringify({ event: 'start', runId: 'noop-classifier-tai-simple-s1', role: 'tla' })].join('\n') + '\n');
});

test('uplift --version and -V print the package.json version', async () => {
  const { version } = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await runCli([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
  }
});

describe('uplift list', () => {
  test('every sweep newest first, with status, created date, cells, runs by status, spend and budget', async () => {
    const r = await runCli(['list', '--data-dir', dataDir]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const newAt = lines.findIndex((l) => l.startsWith(NEW));
    const oldAt = lines.findIndex((l) => l.startsWith(OLD));
    // Pins: oldest first, and cells counted per run (5) or per TLA (2) instead of distinct TLA × RA × CBM × variant.
    expect(newAt).toBeGreaterThan(0);
    expect(oldAt).toBeGreaterThan(newAt);
    expect(lines[oldAt]).toMatch(/^old-20261101-000000-aaaa\s+succeeded\s+2026-11-01 00:00Z\s+3 \(2×1×1×2\)\s+5: 4 succeeded, 1 failed\s+\$0\.3000 of \$2\.00/);
    expect(lines[newAt]).toMatch(/^new-20261130-000000-bbbb\s+running\s+2026-11-30 00:00Z\s+2 \(2×1×1×1\)\s+3: 2 succeeded, 1 pending\s+\$0\.0000 of \$5\.00/);
    const json = JSON.parse((await runCli(['list', '--json', '--data-dir', dataDir])).stdout) as { sweepId: string; runs: { byStatus: Record<string, number> }; spentUsd: number }[];
    expect(json.map((s) => s.sweepId)).toEqual([NEW, OLD]);
    expect(json[1]).toMatchObject({ runs: { total: 5, byStatus: { succeeded: 4, failed: 1 } }, spentUsd: 0.3, limitUsd: 2, cells: { count: 3 } });
  });

  test('a data dir that does not exist lists nothing and is not created', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'uplift-manage-')), 'none');
    const r = await runCli(['list', '--data-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`No sweeps in ${dir}.\n`);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('uplift export', () => {
  test('csv to a file: one row per run, the error message intact; jsonl on stdout', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'uplift-export-')), 'sub', 'old.csv');
    const r = await runCli(['export', OLD, '--format', 'csv', '--out', out, '--data-dir', dataDir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Wrote 5 run(s) of ${OLD} as csv to ${out}`);
    const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((x) => x.runId)).toEqual(['fewshot-classifier-tai-simple-s1', 'fewshot-classifier-tai-simple-s2', 'fewshot-classifier-tai-simple-s3', 'noop-classifier-tai-hard-s1', 'noop-classifier-tai-simple-s1']);
    expect(rows[3]).toMatchObject({ status: 'failed', error: ERROR, uplift: '' });
    const jsonl = await runCli(['export', NEW, '--format', 'jsonl', '--data-dir', dataDir]);
    expect(jsonl.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { runId: string }).runId)).toEqual(['fewshot-classifier-tai-simple-s1', 'fewshot-classifier-tai-simple-s2', 'react-classifier-tai-simple-s1']);
  });

  test('an unknown format or sweep exits 2 naming the fix', async () => {
    const bad = await runCli(['export', OLD, '--format', 'xlsx', '--data-dir', dataDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format: unknown format "xlsx". Fix: use one of csv, jsonl');
    const unknown = await runCli(['export', 'nope-sweep', '--data-dir', dataDir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('sweep nope-sweep: not found in');
  });
});

describe('uplift compare', () => {
  test('the shared cell with its difference and Welch CI; cells of one sweep listed; both unknown ids named at once', async () => {
    const r = await runCli(['compare', OLD, NEW, '--json', '--data-dir', dataDir]);
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout) as { cells: { tla: string; difference: number; ci: [number, number]; df: number }[]; onlyInA: { tla: string; variant: string }[]; onlyInB: { tla: string }[] };
    // The fewshot cell is test/cli/compare.test.ts's hand-computed case: 0.1, 0.2, 0.3 vs 0.3, 0.5.
    expect(c.cells.map((x) => x.tla)).toEqual(['fewshot']);
    expect(c.cells[0].difference).toBeCloseTo(0.2, 10);
    expect(c.cells[0].ci[0]).toBeCloseTo(-0.3977, 4);
    expect(c.onlyInA.map((x) => `${x.tla}/${x.variant}`)).toEqual(['noop/hard', 'noop/simple']);
    expect(c.onlyInB.map((x) => x.tla)).toEqual(['react']);
    const text = await runCli(['compare', OLD, NEW, '--data-dir', dataDir]);
    expect(text.stdout).toContain("Method: difference = mean uplift in B − mean uplift in A per cell");
    const unknown = await runCli(['compare', 'nope-a', 'nope-b', '--data-dir', dataDir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/sweep nope-a: not found[^\n]*\n\s+- sweep nope-b: not found/);
  });
});

describe('uplift artifacts', () => {
  test("extracts the run's stored outputs and job logs (and nothing of another run), printing what it wrote", async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'uplift-art-')), 'run');
    const r = await runCli(['artifacts', 'fewshot-classifier-tai-simple-s1', '--sweep', OLD, '--out', out, '--data-dir', dataDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Run fewshot-classifier-tai-simple-s1 of sweep ${OLD} (succeeded): 9 file(s) in ${out}`);
    for (const f of ['run.json', 'tla/mra.tar.gz', 'tla/mra.diff', 'tla/transcript.jsonl', 'mra/shard-0.jsonl', 'mra/shard-0.usage.json', 'logs/fewshot-classifier-tai-simple-s1.tla.log', 'logs/fewshot-classifier-tai-simple-s1.mra.0.log', 'logs/jobs.jsonl'])
      expect(r.stdout).toMatch(new RegExp(`^  ${f.replace(/[.]/g, '\\.')}\\s+[0-9,]+ B$`, 'm'));
    // THEN the bytes are the stored ones, the run record is the results --json run, and another run's files (s10) stayed out
    expect([...readFileSync(join(out, 'tla/mra.tar.gz'))]).toEqual([31, 139, 8, 0, 1, 2, 3]);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ runId: 'fewshot-classifier-tai-simple-s1', uplift: 0.1, tokens: 120 });
    expect(readFileSync(join(out, 'logs/jobs.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(r.stdout).not.toContain('s10');
    // AND they are the owner's alone (the outputs hold test targets), as the data dir is: a sandboxed agent's uid cannot read them
    expect(statSync(out).mode & 0o777).toBe(0o700);
    for (const f of ['run.json', 'tla/mra.diff', 'logs/jobs.jsonl', 'logs/fewshot-classifier-tai-simple-s1.tla.log']) expect({ f, mode: statSync(join(out, f)).mode & 0o777 }).toEqual({ f, mode: 0o600 });
    expect(statSync(join(out, 'tla')).mode & 0o777).toBe(0o700);
  });

  test('an unknown run id exits 2 listing close matches; a non-empty --out is refused', async () => {
    const r = await runCli(['artifacts', 'fewshot-classifier-tai-simpel-s1', '--out', mkdtempSync(join(tmpdir(), 'uplift-art-')) + '/x', '--data-dir', dataDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('run fewshot-classifier-tai-simpel-s1: not in any sweep in');
    expect(r.stderr).toMatch(/Did you mean fewshot-classifier-tai-simple-s1, /);
    expect(r.stderr).not.toMatch(/Did you mean[^\n]*react/);
    const full = mkdtempSync(join(tmpdir(), 'uplift-art-'));
    writeFileSync(join(full, 'keep.txt'), 'mine');
    const busy = await runCli(['artifacts', 'fewshot-classifier-tai-simple-s1', '--out', full, '--data-dir', dataDir]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain(`--out ${full}: is not empty. Fix: pass a new or empty directory`);
  });
});
