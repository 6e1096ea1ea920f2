import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSandboxed, type SandboxLimits } from '../../../core/sandbox';
import { describeWithBwrap } from '../../support/bwrap';

/** A Unix-socket server standing for the gateway: `onConnection` gets each connection the forwarder opens. */
async function unixServer(onConnection: (s: Socket) => void): Promise<{ socketPath: string; server: Server; sockets: Socket[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'fwd-'));
  chmodSync(dir, 0o755);
  const socketPath = join(dir, 'gateway.sock');
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(socketPath, r));
  chmodSync(socketPath, 0o666);
  return { socketPath, server, sockets };
}

/** Runs a Python script in a bwrap sandbox behind the forwarder; resolves with its exit and output. */
async function python(script: string, socketPath: string, limits: Partial<SandboxLimits> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'fwd-ws-'));
  writeFileSync(join(cwd, 'main.py'), script);
  const p = spawnSandboxed(['python3', 'main.py'], { cwd, env: {}, level: 'bwrap', gateway: { baseUrl: 'http://127.0.0.1:1/v1', socketPath }, limits: { wallMs: 60_000, ...limits } });
  let out = '';
  let err = '';
  p.child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  p.child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  p.child.stdin.end();
  return { ...(await p.done), out, err };
}

/** The bytes a client sends: `n` of a pattern that differs per connection, so a mixed-up stream shows. */
const PY_HELPERS = `
import hashlib, os, socket, sys, threading
def payload(i, n):
    block = hashlib.sha256(b"conn-%d" % i).digest() * 1024
    return (block * (n // len(block) + 1))[:n]
def connect():
    s = socket.create_connection(("127.0.0.1", 8080), timeout=30)
    return s
def read_all(s):
    chunks = []
    while True:
        c = s.recv(65536)
        if not c:
            return b"".join(chunks)
        chunks.append(c)
`;

describeWithBwrap('the gateway forwarder inside the sandbox', () => {
  test('carries many connections at once, megabytes each way, and passes an end of stream on only after the bytes before it', async () => {
    // The server answers once the client ended its side: the sha256 of all it got, then 2.5 MB of its own.
    const reply = (digest: string) => Buffer.concat([Buffer.from(`${digest}\n`), Buffer.alloc(2_500_000, digest.slice(0, 2))]);
    const host = await unixServer((s) => {
      const h = createHash('sha256');
      s.on('data', (c) => h.update(c));
      s.on('end', () => s.end(reply(h.digest('hex'))));
      s.on('error', () => undefined);
    });
    try {
      const r = await python(
        `${PY_HELPERS}
N, SIZE = 24, 1_500_000
bad = []
def one(i):
    s = connect()
    data = payload(i, SIZE)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = read_all(s)
    head, _, rest = got.partition(b"\\n")
    digest = head.decode()
    if digest != hashlib.sha256(data).hexdigest() or rest != digest[:2].encode() * 1_250_000:
        bad.append(i)
ts = [threading.Thread(target=one, args=(i,)) for i in range(N)]
[t.start() for t in ts]
[t.join() for t in ts]
print("ok" if not bad else "bad %s" % bad)
`,
        host.socketPath,
      );
      expect({ code: r.code, out: r.out.trim(), err: r.err }).toEqual({ code: 0, out: 'ok', err: '' });
      expect(host.sockets).toHaveLength(24);
    } finally {
      host.server.close();
    }
  });

  test('a client that reads slowly gets every byte: what the gateway sends waits in the socket buffers, not lost', async () => {
    const SIZE = 6_000_000;
    const host = await unixServer((s) => {
      s.end(Buffer.alloc(SIZE, 'x'));
      s.on('error', () => undefined);
    });
    try {
      const r = await python(
        `${PY_HELPERS}
import time
s = connect()
total = 0
while True:
    c = s.recv(4096)
    if not c:
        break
    total += len(c)
    if total < 1_000_000:
        time.sleep(0.001)
print(total)
`,
        host.socketPath,
      );
      expect({ code: r.code, out: r.out.trim() }).toEqual({ code: 0, out: String(SIZE) });
    } finally {
      host.server.close();
    }
  });

  test('the gateway closing a connection mid-answer ends it for the client, which is not left waiting', async () => {
    const host = await unixServer((s) => {
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial');
        setTimeout(() => s.destroy(), 50);
      });
      s.on('error', () => undefined);
    });
    try {
      const r = await python(
        `${PY_HELPERS}
s = connect()
s.sendall(b"POST /v1/chat/completions HTTP/1.1\\r\\ncontent-length: 2\\r\\n\\r\\n{}")
try:
    got = read_all(s)
    print("eof after %d bytes" % len(got))
except ConnectionResetError:
    print("reset")
`,
        host.socketPath,
      );
      expect(r.code).toBe(0);
      expect(r.out.trim()).toMatch(/^(eof after \d+ bytes|reset)$/);
    } finally {
      host.server.close();
    }
  });

  test('a connection the gateway closed while the agent keeps its end open costs the forwarder no CPU (a hang-up is reported whatever it watches)', async () => {
    // As the gateway does to an idle kept-alive connection after its keep-alive timeout: answer, then close.
    const host = await unixServer((s) => {
      s.once('data', () => {
        s.write('pong');
        setTimeout(() => s.destroy(), 20);
      });
      s.on('error', () => undefined);
    });
    try {
      const r = await python(
        `${PY_HELPERS}
import time
def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
s = connect()
s.sendall(b"ping")
got = s.recv(100)
time.sleep(0.3)
# The forwarder is this command's parent in the sandbox; the agent keeps its socket open, idle.
before = cpu(os.getppid())
time.sleep(1.5)
print(got.decode(), "%.2f" % (cpu(os.getppid()) - before))
`,
        host.socketPath,
      );
      expect(r.code).toBe(0);
      const [got, cpu] = r.out.trim().split(' ');
      expect(got).toBe('pong');
      // Idle: a few ticks at most (spinning on the hang-up took a whole core, ~1.5 s here).
      expect(Number(cpu)).toBeLessThan(0.3);
    } finally {
      host.server.close();
    }
  });

  test('a command that has used up its process limit still reaches the gateway: the forwarder starts no thread per connection', async () => {
    const host = await unixServer((s) => {
      s.once('data', () => s.end('pong'));
      s.on('error', () => undefined);
    });
    try {
      const r = await python(
        `${PY_HELPERS}
import time
kids = []
while True:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    kids.append(pid)
answers = []
for _ in range(3):
    s = connect()
    s.sendall(b"ping")
    answers.append(read_all(s).decode())
for k in kids:
    os.kill(k, 9)
print(len(kids), " ".join(answers))
`,
        host.socketPath,
        { processes: 24 },
      );
      expect(r.code).toBe(0);
      const [forked, ...answers] = r.out.trim().split(' ');
      // It did run out of processes (the sandbox's own ones count too), then made its calls.
      expect(Number(forked)).toBeGreaterThan(5);
      expect(Number(forked)).toBeLessThan(24);
      expect(answers).toEqual(['pong', 'pong', 'pong']);
    } finally {
      host.server.close();
    }
  });
});
