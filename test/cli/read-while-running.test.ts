import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startCli, waitFor } from '../support/cli';
import { writeSmallSpec } from '../support/specs';

describe('read-only commands while a sweep runs', () => {
  test('list, results, cache list and show read a data dir a run holds, through its services; a writer is still refused; artifacts bring a cached baseline along', async () => {
    // GIVEN a sweep running in a data dir
    const dataDir = join(mkdtempSync(join(tmpdir(), 'uplift-shared-')), 'data');
    const first = startCli(['run', writeSmallSpec({ name: 'busy', seeds: 2 }), '--data-dir', dataDir, '--json']);
    const sweepId = (await waitFor('the sweep to start', () => /Sweep (\S+): /.exec(first.stderr()) ?? undefined))[1];
    // WHEN a command that writes asks for the data dir: refused with the owner's pid, as before
    const writer = await runCli(['cache', 'clear', '--all', '--data-dir', dataDir]);
    expect(writer.code).toBe(1);
    expect(writer.stderr).toMatch(/is in use by uplift process \d+\. Fix: wait for it to finish/);
    // WHEN list and results are asked meanwhile (the sweep's META appears once PlanSweep ran)
    let listed = '';
    for (let i = 0; i < 30 && !listed.includes(sweepId); i++) {
      const r = await runCli(['list', '--data-dir', dataDir]);
      expect(r.code).toBe(0);
      listed = r.stdout;
    }
    const results = await runCli(['results', sweepId, '--json', '--data-dir', dataDir]);
    // …and so are `cache list` and `show` (the transcript of a run may not be there yet: then it says so, never "in use")
    const cacheList = await runCli(['cache', 'list', '--data-dir', dataDir]);
    expect(cacheList.code).toBe(0);
    const show = await runCli(['show', `noop-classifier-tai-safety-simple-s1`, '--data-dir', dataDir]);
    expect(show.stderr).not.toContain('in use by');
    // THEN both read the sweep while it was running (its status turns succeeded only as the run ends), so while the run held the data dir
    expect(listed).toMatch(new RegExp(`^${sweepId}\\s+running\\s`, 'm'));
    expect(results.stderr).not.toContain('in use by');
    expect(JSON.parse(results.stdout)).toMatchObject({ sweepId, status: 'running' });
    // AND the run finishes undisturbed
    expect(await first.exit).toBe(0);
    expect((await runCli(['list', '--data-dir', dataDir])).stdout).toMatch(new RegExp(`^${sweepId}\\s+succeeded\\s`, 'm'));

    // GIVEN a second sweep whose noop run reuses the first sweep's baseline
    const second = await runCli(['run', writeSmallSpec({ name: 'again', tlas: '[{kind: noop}]' }), '--data-dir', dataDir, '--json']);
    expect(second.code).toBe(0);
    const again = JSON.parse(second.stdout) as { sweepId: string; runs: { runId: string; baselineCached: boolean }[] };
    expect(again.runs[0].baselineCached).toBe(true);
    // WHEN its artifacts are extracted
    const out = join(mkdtempSync(join(tmpdir(), 'uplift-shared-')), 'art');
    const art = await runCli(['artifacts', again.runs[0].runId, '--out', out, '--data-dir', dataDir]);
    // THEN the newest sweep's run is taken (the first sweep has a run of that id too), with the baseline's outputs and logs from the run that computed it
    expect(art.code).toBe(0);
    expect(art.stdout).toContain(`of sweep ${again.sweepId} (succeeded)`);
    expect(art.stderr).toContain(`is also in sweep(s) ${sweepId}`);
    const owner = new RegExp(`Note: the baseline was computed by run (\\S+) of sweep ${sweepId} \\(cached\\)`).exec(art.stdout)?.[1];
    expect(owner).toBeDefined();
    expect(readdirSync(join(out, 'baseline')).sort()).toEqual(expect.arrayContaining(['shard-0.jsonl', 'shard-0.usage.json', 'shard-1.jsonl']));
    expect(readdirSync(join(out, 'logs', 'baseline'))).toEqual(expect.arrayContaining([`${owner}.baseline.0.log`]));
    for (const f of ['tla/mra.tar.gz', 'tla/mra.diff', 'tla/transcript.jsonl', 'mra/shard-0.jsonl', 'run.json']) expect(existsSync(join(out, f))).toBe(true);
  });
});
