import { spawnSandboxed, type IsolationLevel } from '../../../core/sandbox';
import { createSandboxCgroup } from '../../../core/sandbox/memory';
import { describeWithBwrap } from '../../support/bwrap';
import { collect, sh, workspacesRemovedAfterAll } from './run';

const MB = 1024 ** 2;
const LIMIT = 256 * MB;
/** A Python process that holds `mb` MB of touched memory, says so, and waits. */
const hold = (mb: number) => `python3 -c 'import time; b = b"x" * (${mb} << 20); print("holding", flush=True); time.sleep(300)'`;

/** With cgroups (the kernel enforces the limit) where this machine allows them, and without (the harness samples /proc). */
const MODES = [
  ['cgroup', '1'],
  ['watchdog', '0'],
] as const;

describeWithBwrap('the memory limit', () => {
  const ws = workspacesRemovedAfterAll();

  test.each<IsolationLevel>(['bwrap', 'bwrap-userns', 'uid-rlimits', 'process-rlimits'])("%s: Node's fetch works (no address-space limit breaks WebAssembly)", async (level) => {
    // undici compiles its HTTP parser to WebAssembly, which reserves gigabytes of address space.
    const js = `const s = require('http').createServer((q, r) => r.end('pong')).listen(0, '127.0.0.1', async () => {
      console.log('fetched', await (await fetch('http://127.0.0.1:' + s.address().port + '/')).text());
      s.close();
    });`;
    const cwd = ws();
    const r = await collect(spawnSandboxed([process.execPath, '-e', js], { cwd, env: {}, level, limits: { memoryBytes: LIMIT } }), cwd);
    expect({ code: r.code, out: r.out, err: r.err }).toEqual({ code: 0, out: 'fetched pong\n', err: '' });
  });

  describe.each(MODES)('%s', (_mode, cgroups) => {
    beforeAll(() => {
      process.env.UPLIFT_SANDBOX_CGROUPS = cgroups;
    });
    afterAll(() => {
      delete process.env.UPLIFT_SANDBOX_CGROUPS;
    });

    test.each<IsolationLevel>(['bwrap', 'bwrap-userns', 'uid-rlimits', 'process-rlimits', 'process'])(
      '%s: two processes holding 60%% of the limit each are killed together, for memory',
      async (level) => {
        const r = await sh(`${hold(150)} & ${hold(150)} & wait`, { cwd: ws(), level, limits: { memoryBytes: LIMIT, wallMs: 60_000 } });
        expect(r.killedFor).toBe('memory');
        expect(r.timedOut).toBe(false);
      },
    );

    test('one process holding 60% of the limit runs to its end', async () => {
      const r = await sh(`python3 -c 'b = b"x" * (150 << 20); print("held", len(b) >> 20)'`, { cwd: ws(), limits: { memoryBytes: LIMIT, wallMs: 60_000 } });
      expect({ code: r.code, out: r.out, killedFor: r.killedFor }).toEqual({ code: 0, out: 'held 150\n', killedFor: undefined });
    });
  });

  test('this machine gives sandboxes their own memory cgroup, and removes it when they end', async () => {
    const cgroup = createSandboxCgroup(LIMIT, {});
    if (!cgroup) throw new Error('no writable memory cgroup here: the memory limit falls back to sampling /proc (README, "The sandbox")');
    expect(cgroup.pids()).toEqual([]);
    expect(cgroup.remove()).toBe(true);
  });
});
