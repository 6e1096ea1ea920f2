import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSandboxed, type IsolationLevel } from '../../../core/sandbox';
import { describeWithBwrap } from '../../support/bwrap';
import { collect, py, rmTree, sh, workspace } from './run';

/** Python: tries each channel kind, prints {kind: "ok" | error} as JSON. */
const CHANNELS = `
import ctypes, errno, json, os, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
role, tag, key = sys.argv[1], sys.argv[2], int(sys.argv[3])
res = {}
def attempt(name, f):
    try:
        f()
        res[name] = 'ok'
    except OSError as e:
        res[name] = errno.errorcode.get(e.errno, str(e.errno))
def check(rc):
    if rc < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
def make_file(d):
    with open(d + '/chan-' + tag, 'w') as f:
        f.write('A')
    os.chmod(d + '/chan-' + tag, 0o666)
def read_file(d):
    if open(d + '/chan-' + tag).read() != 'A':
        raise OSError(errno.EBADMSG, 'other content')
libc.mq_open.restype = ctypes.c_int
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
if role == 'create':
    for d in ('/tmp', '/dev/shm'):
        attempt('file ' + d, lambda d=d: make_file(d))
    attempt('abstract socket', lambda: (sock.bind('\\0chan-' + tag), sock.listen(1)))
    attempt('sysv shm', lambda: check(libc.shmget(key, 4096, 0o1000 | 0o666)))
    attempt('posix mqueue', lambda: check(libc.mq_open(('/chan-' + tag).encode(), os.O_CREAT | os.O_RDWR, 0o666, None)))
    print(json.dumps(res), flush=True)
    time.sleep(300)
else:
    for d in ('/tmp', '/dev/shm'):
        attempt('file ' + d, lambda d=d: read_file(d))
    attempt('abstract socket', lambda: sock.connect('\\0chan-' + tag))
    attempt('sysv shm', lambda: check(libc.shmget(key, 0, 0)))
    attempt('posix mqueue', lambda: check(libc.mq_open(('/chan-' + tag).encode(), os.O_RDWR)))
    print(json.dumps(res), flush=True)
`;

/** Starts a sandbox that opens every channel and holds them; resolves once they are open. */
async function opener(level: IsolationLevel, tag: string, key: number) {
  const cwd = workspace();
  const p = spawnSandboxed(['python3', '-c', CHANNELS, 'create', tag, String(key)], { cwd, env: {}, level, limits: { wallMs: 120_000 } });
  const ran = collect(p, cwd);
  const opened = await new Promise<Record<string, string>>((resolve, reject) => {
    let buf = '';
    p.child.stdout.on('data', (c: string) => {
      buf += c;
      if (buf.includes('\n')) resolve(JSON.parse(buf.split('\n')[0]) as Record<string, string>);
    });
    p.child.on('close', () => reject(new Error(`the opener ended early: ${buf}`)));
  });
  return { opened, stop: async () => (p.kill(), await ran), cwd };
}

const sysvKeyExists = (key: number) =>
  readFileSync('/proc/sysvipc/shm', 'utf8')
    .split('\n')
    .slice(1)
    .some((l) => l.trim() && Number(l.trim().split(/\s+/)[0]) === key);

describeWithBwrap('channels between concurrent sandboxes', () => {
  test.each<IsolationLevel>(['bwrap', 'bwrap-userns'])('%s: files in /tmp and /dev/shm, abstract sockets, SysV IPC and POSIX queues of one sandbox do not reach another', async (level) => {
    const tag = randomBytes(4).toString('hex');
    const key = randomInt(1_000_000, 2_000_000_000);
    // GIVEN a sandbox that opened every channel it could and holds them
    const a = await opener(level, tag, key);
    try {
      // (POSIX message queues: RLIMIT_MSGQUEUE is 0, so it cannot even create one: EMFILE)
      expect(a.opened).toEqual({ 'file /tmp': 'ok', 'file /dev/shm': 'ok', 'abstract socket': 'ok', 'sysv shm': 'ok', 'posix mqueue': 'EMFILE' });
      // WHEN another sandbox at the same level looks for them meanwhile
      const b = await py(CHANNELS.replace('role, tag, key = sys.argv[1], sys.argv[2], int(sys.argv[3])', `role, tag, key = 'find', '${tag}', ${key}`), { level });
      // THEN it finds none
      expect(JSON.parse(b.out)).toEqual({
        'file /tmp': 'ENOENT',
        'file /dev/shm': 'ENOENT',
        'abstract socket': 'ECONNREFUSED',
        'sysv shm': 'ENOENT',
        'posix mqueue': 'ENOENT',
      });
      // AND neither does the host
      expect(existsSync(`/tmp/chan-${tag}`) || existsSync(`/dev/shm/chan-${tag}`) || sysvKeyExists(key)).toBe(false);
    } finally {
      await a.stop();
      rmTree(a.cwd);
    }
  });

  test('uid-rlimits (no namespaces): no POSIX queues, and what a sandbox left in /tmp, /dev/shm and SysV IPC is gone when it ends', async () => {
    const tag = randomBytes(4).toString('hex');
    const key = randomInt(1_000_000, 2_000_000_000);
    const a = await opener('uid-rlimits', tag, key);
    expect(a.opened).toEqual({ 'file /tmp': 'ok', 'file /dev/shm': 'ok', 'abstract socket': 'ok', 'sysv shm': 'ok', 'posix mqueue': 'EMFILE' });
    // (while it runs, these are on the host, shared: README, "The sandbox", says so)
    expect(existsSync(`/tmp/chan-${tag}`) && existsSync(`/dev/shm/chan-${tag}`) && sysvKeyExists(key)).toBe(true);
    await a.stop();
    rmTree(a.cwd);
    expect({ tmp: existsSync(`/tmp/chan-${tag}`), shm: existsSync(`/dev/shm/chan-${tag}`), sysv: sysvKeyExists(key) }).toEqual({ tmp: false, shm: false, sysv: false });
  });

  test.each<IsolationLevel>(['bwrap', 'bwrap-userns'])('%s: the root and /dev are read-only, /tmp and /dev/shm are private and size-limited', async (level) => {
    const r = await sh('touch /x /dev/x 2>&1; head -c 20000000 /dev/zero > /dev/shm/fill; head -c 20000000 /dev/zero > /tmp/fill; echo done', { level, limits: { tmpBytes: 4 * 1024 ** 2 } });
    expect(r.out).toMatch(/touch: cannot touch '\/x': Read-only file system/);
    expect(r.out).toMatch(/touch: cannot touch '\/dev\/x': Read-only file system/);
    expect(r.out).toMatch(/done\n$/);
    expect(r.err.match(/No space left on device/g)).toHaveLength(2);
    rmTree(r.cwd);
  });
});
