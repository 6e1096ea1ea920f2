import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelGateway, OfflineUpstream } from '../../core/gateway/gateway';
import { detectIsolation, removeUnsafeEntries, SandboxUnavailableError, spawnSandboxed, type IsolationLevel, type SandboxOptions } from '../../core/sandbox';
import { describeWithBwrap } from '../support/bwrap';

const FIX = 'Fix: install bubblewrap (apt-get install -y bubblewrap; .ci/run does it) and run as root';

/** Runs a shell command in a sandbox; resolves with its exit and output. */
async function sh(script: string, opts: Partial<SandboxOptions> & { stdin?: string } = {}) {
  const cwd = opts.cwd ?? mkdtempSync(join(tmpdir(), 'sbx-'));
  const p = spawnSandboxed(['/bin/sh', '-c', script], { cwd, env: {}, ...opts });
  let out = '';
  let err = '';
  p.child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  p.child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  p.child.stdin.end(opts.stdin ?? '');
  const end = await p.done;
  return { ...end, out, err, cwd, isolation: p.isolation };
}

const running = (marker: string) => {
  try {
    return execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

describeWithBwrap('sandbox (bwrap, and the levels that need a root harness)', () => {
  test('this machine gives the strongest level, bwrap, with nothing to fall back from', () => {
    const report = detectIsolation({});
    if (report.level !== 'bwrap') throw new Error(`the sandbox level here is ${report.level} (${report.fallbacks.join('; ')}). ${FIX}`);
    expect(report).toEqual({ level: 'bwrap', fallbacks: [], requested: 'auto' });
  });

  test('bwrap: only the workspace is writable, the harness is invisible, and the uid is fresh', async () => {
    const r = await sh('id -u; touch /workspace/ok && echo wrote; touch /usr/x /etc/x /x 2>&1; ls /; ls /work 2>&1; ls /root 2>&1');
    expect(r.isolation).toBe('bwrap');
    const [uid] = r.out.split('\n');
    expect(Number(uid)).toBeGreaterThanOrEqual(200_000);
    expect(r.out).toContain('wrote');
    expect(r.out).toMatch(/touch: cannot touch '\/usr\/x': Read-only file system/);
    expect(r.out).toMatch(/touch: cannot touch '\/etc\/x': Read-only file system/);
    expect(r.out).toMatch(/touch: cannot touch '\/x': (Permission denied|Read-only file system)/);
    expect(r.out).toMatch(/ls: cannot access '\/work': No such file or directory/);
    expect(r.out).toMatch(/ls: cannot access '\/root': No such file or directory/);
    // the workspace is given back to its owner afterwards
    expect(statSync(join(r.cwd, 'ok')).uid).toBe(process.getuid?.());
  });

  test('bwrap: no network but the gateway, which agents reach at OPENAI_BASE_URL through the Unix socket', async () => {
    const gw = new ModelGateway({ upstream: new OfflineUpstream(), tokenBudget: 10_000 });
    const baseUrl = await gw.start();
    const socketPath = join(mkdtempSync(join(tmpdir(), 'gw-')), 'gateway.sock');
    await gw.listenUnix(socketPath);
    const host = createServer((s) => s.end('host loopback reached\n'));
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
    const hostPort = (host.address() as { port: number }).port;
    try {
      const script = [
        'import json, os, socket, urllib.request',
        'req = urllib.request.Request(os.environ["OPENAI_BASE_URL"] + "/chat/completions", data=json.dumps({"model": "offline", "messages": [{"role": "user", "content": "Answer with exactly one of these labels: yes | no"}]}).encode(), headers={"authorization": "Bearer " + os.environ["OPENAI_API_KEY"], "content-type": "application/json"})',
        'print("gateway:", json.load(urllib.request.urlopen(req, timeout=10))["choices"][0]["message"]["content"])',
        `for host, port in [("127.0.0.1", ${hostPort}), ("1.1.1.1", 53), ("example.com", 80)]:`,
        '    try:',
        '        socket.create_connection((host, port), timeout=2).recv(100)',
        '        print("REACHED", host)',
        '    except OSError as e:',
        '        print("blocked", host, type(e).__name__)',
      ].join('\n');
      const r = await sh('python3 -', { env: gw.agentEnv(baseUrl), gateway: { baseUrl, socketPath }, stdin: script });
      expect(r.err).toBe('');
      expect(r.out).toContain('gateway: yes');
      expect(r.out).not.toContain('REACHED');
      expect(r.out.match(/^blocked /gm)).toHaveLength(3);
      expect(gw.usage.calls).toBe(1);
    } finally {
      host.close();
      await gw.stop();
    }
  });

  test("behind the gateway forwarder the command's exit status comes through: a code, a signal as 128+n, a missing command as 127", async () => {
    const gw = new ModelGateway({ upstream: new OfflineUpstream(), tokenBudget: 10_000 });
    const baseUrl = await gw.start();
    const socketPath = join(mkdtempSync(join(tmpdir(), 'gw-')), 'gateway.sock');
    await gw.listenUnix(socketPath);
    const gateway = { baseUrl, socketPath };
    try {
      expect((await sh('exit 3', { gateway })).code).toBe(3);
      expect((await sh('kill -9 $$', { gateway })).code).toBe(137);
      const cwd = mkdtempSync(join(tmpdir(), 'sbx-'));
      const p = spawnSandboxed(['no-such-agent-binary'], { cwd, env: {}, gateway });
      let err = '';
      p.child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
      p.child.stdin.end();
      expect((await p.done).code).toBe(127);
      expect(err).toContain('sandbox: cannot run no-such-agent-binary');
    } finally {
      await gw.stop();
    }
  });

  test('a fork bomb hits the process limit and the wall clock kills everything it started', async () => {
    // `exec` keeps the shell alive without forking, so the wall clock (not a failed fork) ends it.
    const r = await sh('(sleep 977 &) ; bomb() { bomb | bomb & }; bomb; exec sleep 30', { limits: { processes: 40, wallMs: 1500 } });
    expect(r.killedFor).toBe('wall_time');
    expect(r.err).toMatch(/fork|Resource temporarily unavailable|Cannot fork/i);
    expect(running('sleep 977')).toBe('');
  });

  test('file size and disk quota limits stop a command that fills the disk', async () => {
    const big = await sh('head -c 50000000 /dev/zero > big', { limits: { fileSizeBytes: 8 * 1024 ** 2 } });
    expect(big.code).toBe(128 + 25); // SIGXFSZ
    expect(statSync(join(big.cwd, 'big')).size).toBeLessThanOrEqual(8 * 1024 ** 2);
    const many = await sh('i=0; while true; do i=$((i+1)); head -c 4000000 /dev/urandom > f$i || exit 3; done', { limits: { fileSizeBytes: 8 * 1024 ** 2, diskBytes: 32 * 1024 ** 2, wallMs: 20_000 } });
    expect(many.killedFor).toBe('disk_quota');
    const tmp = await sh('head -c 20000000 /dev/zero > /tmp/fill; echo rc=$?', { limits: { tmpBytes: 4 * 1024 ** 2, fileSizeBytes: 64 * 1024 ** 2 } });
    expect(tmp.err).toMatch(/No space left on device/);
  });

  test.each<IsolationLevel>(['bwrap-userns', 'uid-rlimits', 'process-rlimits'])('the %s level runs agents and reaches the gateway', async (level) => {
    const gw = new ModelGateway({ upstream: new OfflineUpstream(), tokenBudget: 10_000 });
    const baseUrl = await gw.start();
    const socketPath = join(mkdtempSync(join(tmpdir(), 'gw-')), 'gateway.sock');
    await gw.listenUnix(socketPath);
    try {
      const script = 'import json, os, urllib.request\nreq = urllib.request.Request(os.environ["OPENAI_BASE_URL"] + "/models", headers={"authorization": "Bearer " + os.environ["OPENAI_API_KEY"]})\nprint(json.load(urllib.request.urlopen(req, timeout=10))["data"][0]["id"])\nopen("written", "w").write("x")\n';
      const r = await sh('python3 -', { level, env: gw.agentEnv(baseUrl), gateway: { baseUrl, socketPath }, stdin: script });
      expect({ isolation: r.isolation, code: r.code, out: r.out.trim(), err: r.err }).toEqual({ isolation: level, code: 0, out: 'offline', err: '' });
      expect(readFileSync(join(r.cwd, 'written'), 'utf8')).toBe('x');
    } finally {
      await gw.stop();
    }
  });

  test('the environment holds only what the caller gives', async () => {
    process.env.UPLIFT_TEST_HARNESS_SECRET = 'harness-secret-value';
    try {
      const r = await sh('env; cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n"', { env: { GIVEN: 'yes' } });
      expect(r.out).toContain('GIVEN=yes');
      expect(r.out).not.toContain('harness-secret-value');
      expect(r.out).not.toMatch(/^AWS_|^UPLIFT_S3/m);
    } finally {
      delete process.env.UPLIFT_TEST_HARNESS_SECRET;
    }
  });

  test('uid-rlimits: a fresh uid, and leftovers are found by uid after exit', async () => {
    const r = await sh('id -u; (setsid sleep 975 > /dev/null 2>&1 &); echo ok', { level: 'uid-rlimits' });
    expect(Number(r.out.split('\n')[0])).toBeGreaterThanOrEqual(200_000);
    expect(running('sleep 975')).toBe('');
  });

});

describe('sandbox (any level)', () => {
  test('UPLIFT_SANDBOX picks a weaker level explicitly, and refuses an unknown one', async () => {
    expect(detectIsolation({ UPLIFT_SANDBOX: 'process-rlimits' })).toEqual({ level: 'process-rlimits', fallbacks: [], requested: 'process-rlimits' });
    expect(() => detectIsolation({ UPLIFT_SANDBOX: 'docker' })).toThrow(SandboxUnavailableError);
    expect(() => detectIsolation({ UPLIFT_SANDBOX: 'docker' })).toThrow(/not a sandbox level\. Fix: one of auto, bwrap, bwrap-userns, uid-rlimits, process-rlimits, process/);
    detectIsolation({});
  });

  test('UPLIFT_SANDBOX_MIN refuses a weaker level than the deployment requires, naming both', () => {
    // GIVEN a job deployed to require bwrap, on a host where only process-rlimits is used
    expect(() => detectIsolation({ UPLIFT_SANDBOX: 'process-rlimits', UPLIFT_SANDBOX_MIN: 'bwrap' })).toThrow(
      /the strongest sandbox level here is process-rlimits, weaker than UPLIFT_SANDBOX_MIN=bwrap/,
    );
    // AND a level at or above the minimum passes
    expect(detectIsolation({ UPLIFT_SANDBOX: 'process-rlimits', UPLIFT_SANDBOX_MIN: 'process' }).level).toBe('process-rlimits');
    expect(() => detectIsolation({ UPLIFT_SANDBOX_MIN: 'strong' })).toThrow(/UPLIFT_SANDBOX_MIN=strong: not a sandbox level/);
    detectIsolation({});
  });

  test('what a command leaves running is killed when it exits', async () => {
    // (Were it not, the harness would wait for the 976 s sleep and the test would time out.)
    const r = await sh('sleep 976 > /dev/null 2>&1 & echo started');
    expect(r.code).toBe(0);
    expect(running('sleep 976')).toBe('');
  });

  test('removeUnsafeEntries drops links and special files a command left behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'keep.txt'), 'x');
    symlinkSync('/etc/passwd', join(dir, 'passwd'));
    symlinkSync('/proc/self/environ', join(dir, 'sub', 'env'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expect(removeUnsafeEntries(dir).sort()).toEqual(['fifo', 'passwd', 'sub/env']);
    expect(existsSync(join(dir, 'sub', 'keep.txt'))).toBe(true);
  });
});
