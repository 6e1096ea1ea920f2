import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceProblems, SandboxDeviceError, spawnSandboxed, type IsolationLevel, type SandboxOptions } from '../../../core/sandbox';
import { describeWithBwrap } from '../../support/bwrap';

/** Runs a shell command in a sandbox; resolves with its exit code and output. */
async function sh(script: string, opts: Partial<SandboxOptions> = {}) {
  const p = spawnSandboxed(['/bin/sh', '-c', script], { cwd: mkdtempSync(join(tmpdir(), 'sbx-dev-')), env: {}, ...opts });
  let out = '';
  let err = '';
  p.child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  p.child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  p.child.stdin.end();
  const end = await p.done;
  return { code: end.code, out, err };
}

/** A stand-in for a GPU node made with mknod: a character device (1, 3) = the host's /dev/null, in a temporary directory. */
function standIn(name: string, dir = mkdtempSync(join(tmpdir(), 'uplift-fake-dev-'))): string {
  const p = join(dir, name);
  chmodSync(dir, 0o755);
  execFileSync('mknod', ['-m', '0666', p, 'c', '1', '3']);
  return p;
}

describeWithBwrap('sandbox devices (bwrap): only the nodes asked for, read-write, in an otherwise minimal read-only /dev', () => {
  const levels: IsolationLevel[] = ['bwrap', 'bwrap-userns'];
  test.each(levels)('%s: a bound stand-in is a character device at its path inside, opens for reading and writing; /dev stays read-only', async (level) => {
    const host = standIn('nvidia7');
    const r = await sh('test -c /dev/nvidia0 && echo is-char; echo written > /dev/nvidia0 && echo wrote; head -c 1 /dev/nvidia0 | wc -c; exec 3<>/dev/nvidia0 && echo rw-open; touch /dev/planted 2>/dev/null || echo dev-read-only', { level, devices: [{ host, path: '/dev/nvidia0' }] });
    expect(r.err).toBe('');
    expect(r.out.split('\n')).toEqual(['is-char', 'wrote', '0', 'rw-open', 'dev-read-only', '']);
  });

  test('without the option the node is absent; a host device not listed stays absent while another is bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplift-fake-dev-'));
    const given = standIn('nvidia0', dir);
    standIn('nvidia1', dir);
    const list = 'for f in /dev/nvidia*; do test -e "$f" && echo "$f"; done; echo end';
    expect((await sh(list, { level: 'bwrap' })).out).toBe('end\n');
    // The host's real nodes of the same kind (its /dev/null, /dev/zero) are the standard ones; nvidia1 is not passed on.
    expect((await sh(list, { level: 'bwrap', devices: [{ host: given, path: '/dev/nvidia0' }] })).out).toBe('/dev/nvidia0\nend\n');
  });

  test('what is not a character device, or not under /dev inside, is refused before anything runs: every problem at once, each naming its entry and fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplift-fake-dev-'));
    const file = join(dir, 'regular');
    writeFileSync(file, 'not a device');
    const link = join(dir, 'link');
    symlinkSync(standIn('nvidia0', dir), link);
    const dev = standIn('nvidia2', dir);
    const bad = [
      { host: file, path: '/dev/nvidia0' },
      { host: link, path: '/dev/nvidia1' },
      { host: join(dir, 'missing'), path: '/dev/nvidia3' },
      { host: dev, path: '/tmp/nvidia2' },
      { host: dev, path: '/dev/../etc/passwd' },
      { host: dev, path: '/dev/shm/x' },
      { host: dev, path: '/dev/' },
    ];
    let err: unknown;
    try {
      spawnSandboxed(['/bin/true'], { cwd: dir, env: {}, level: 'bwrap', devices: bad });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SandboxDeviceError);
    const problems = (err as SandboxDeviceError).problems;
    expect(problems).toHaveLength(7);
    expect(problems[0]).toMatch(/^devices\[0\]\.host: .*regular is a regular or special file, not a character device\. Fix: /);
    expect(problems[1]).toMatch(/^devices\[1\]\.host: .*link is a symbolic link, not a character device/);
    expect(problems[2]).toMatch(/^devices\[2\]\.host: .*missing is missing/);
    for (const [i, p] of problems.slice(3).entries()) expect(p).toMatch(new RegExp(`^devices\\[${i + 3}\\]\\.path: .* is not a path under /dev .*Fix: `));
    expect(deviceProblems([{ host: dev, path: '/dev/nvidia2' }, { host: dev, path: '/dev/nvidia2' }])).toEqual(['devices[1].path: /dev/nvidia2 is given twice. Fix: list each device once']);
    expect(deviceProblems([{ host: dev, path: '/dev/dri/card0' }])).toEqual([]);
  });

  test('uid-rlimits: the sandbox sees the host /dev, so a device is at its host path', async () => {
    const host = standIn('nvidia9');
    const r = await sh(`test -c ${host} && echo x > ${host} && echo ok`, { level: 'uid-rlimits', devices: [{ host, path: '/dev/nvidia9' }] });
    expect(r.out).toBe('ok\n');
  });
});
