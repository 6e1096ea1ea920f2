import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSandboxed, type IsolationLevel } from '../../../core/sandbox';
import { describeWithBwrap } from '../../support/bwrap';
import { collect, rmTree, workspace } from './run';

/** The pids whose command line (readable by every process on the host) contains `text`. */
function cmdlinesContaining(text: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describeWithBwrap("the agent's environment", () => {
  test.each<IsolationLevel>(['bwrap', 'bwrap-userns', 'uid-rlimits', 'process-rlimits', 'process'])('%s: the per-job key reaches the agent, but no command line on the host', async (level) => {
    const token = `uplift-job-${randomBytes(12).toString('hex')}`;
    const cwd = workspace();
    const p = spawnSandboxed(['/bin/sh', '-c', 'test "$OPENAI_API_KEY" = "$EXPECTED" && echo has-key; exec sleep 300'], { cwd, env: { OPENAI_API_KEY: token, EXPECTED: token }, level, limits: { wallMs: 120_000 } });
    const ran = collect(p, cwd);
    // WHILE the sandbox runs (it has read its key)
    await new Promise<void>((resolve) => p.child.stdout.once('data', () => resolve()));
    const seen = cmdlinesContaining(token);
    p.kill();
    const r = await ran;
    rmTree(cwd);
    expect(r.out).toBe('has-key\n');
    expect(seen).toEqual([]);
  });
});
