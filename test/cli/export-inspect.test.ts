import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { runCli } from '../support/cli';
import { writeSmallSpec } from '../support/specs';

const schema = JSON.parse(readFileSync(join(__dirname, '../core/export/inspect-log.schema.json'), 'utf8')) as object;
const validate = new Ajv2020({ allErrors: true, allowUnionTypes: true }).compile(schema);

/*
 * `uplift export <sweep> --format inspect --out <dir>`: the command end to end on a local sweep.
 * (What each log holds is pinned in test/core/export/inspect.test.ts.)
 */
describe('uplift export --format inspect', () => {
  test('writes a baseline and an MRA Inspect log per run into --out, each valid against the log schema; without --out it names the fix', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'uplift-export-inspect-'));
    const run = await runCli(['run', writeSmallSpec({ name: 'export-inspect' }), '--json', '--data-dir', dataDir]);
    expect(run.code).toBe(0);
    const { sweepId, runs } = JSON.parse(run.stdout) as { sweepId: string; runs: { runId: string }[] };
    const out = join(dataDir, 'inspect-logs');
    const r = await runCli(['export', sweepId, '--format', 'inspect', '--out', out, '--data-dir', dataDir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Wrote ${runs.length * 2} inspect file(s) of ${sweepId} to ${out}`);
    const files = readdirSync(out);
    expect(files).toHaveLength(runs.length * 2);
    for (const f of files) {
      expect(f).toMatch(/\.json$/);
      const log = JSON.parse(readFileSync(join(out, f), 'utf8')) as { eval: { metadata: { role: string } } };
      expect({ f, errors: validate(log) ? [] : validate.errors }).toEqual({ f, errors: [] });
    }
    const noOut = await runCli(['export', sweepId, '--format', 'inspect', '--data-dir', dataDir]);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toMatch(/--out: --format inspect writes a directory of files\. Fix: add --out <dir>/);
  }, 120_000);
});
