import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startCli, waitFor } from '../support/cli';
import { writeSmallSpec } from '../support/specs';

describe('uplift run outside the repository', () => {
  test('works from any working directory, and a second process on the same data dir is refused by name', async () => {
    // GIVEN a working directory that is not the repository
    const cwd = mkdtempSync(join(tmpdir(), 'uplift-cwd-'));
    const dataDir = join(cwd, 'data');
    // WHEN a sweep runs from there
    const first = startCli(['run', writeSmallSpec({ tlas: '[{kind: noop}]' }), '--data-dir', dataDir, '--json'], {}, cwd);
    await waitFor('the sweep to start', () => /Sweep (\S+): /.test(first.stderr()));
    // AND another uplift process that writes (read-only commands share the running services) asks for the same data dir meanwhile
    const second = await runCli(['cache', 'clear', '--all', '--data-dir', dataDir], {}, cwd);
    // THEN the second is refused with the owner's pid and the fix
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`the data dir ${dataDir.replace(/[/.]/g, '\\$&')} is in use by uplift process \\d+\\. Fix: wait for it to finish`));
    // AND the first finishes its run (its jobs found their code from this directory too)
    expect(await first.exit).toBe(0);
    const results = JSON.parse(first.stdout()) as { runs: { status: string; uplift: number }[] };
    expect(results.runs).toEqual([expect.objectContaining({ status: 'succeeded', uplift: 0 })]);
    // AND the data dir is free again
    const after = await runCli(['cache', 'clear', '--all', '--data-dir', dataDir], {}, cwd);
    expect(after.code).toBe(0);
  });
});
