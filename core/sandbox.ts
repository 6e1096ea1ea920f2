import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { chmodSync, existsSync, lchownSync, lstatSync, mkdtempSync, readdirSync, realpathSync, rmdirSync, rmSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { UpliftError } from './errors';

/** Resource limits for untrusted agent code. */
export interface SandboxLimits {
  /** CPU seconds per process (RLIMIT_CPU). */
  cpuSeconds: number;
  /** Address space per process in bytes (RLIMIT_AS). */
  memoryBytes: number;
  /** Largest file it may write, bytes (RLIMIT_FSIZE). */
  fileSizeBytes: number;
  /** Wall clock; the whole sandbox is killed after it. */
  wallMs: number;
  /** Processes and threads at once (RLIMIT_NPROC of the sandbox's own uid; only at levels that drop to one). */
  processes: number;
  /** Bytes the writable workspace may hold; the sandbox is killed once it holds more (checked every 200 ms). */
  diskBytes: number;
  /** Files and directories the writable workspace may hold (same check). */
  diskEntries: number;
  /** Size of the sandbox's private /tmp (memory-backed; bubblewrap levels only). */
  tmpBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  cpuSeconds: 600,
  memoryBytes: 4 * 1024 ** 3,
  fileSizeBytes: 256 * 1024 ** 2,
  wallMs: 900_000,
  processes: 256,
  diskBytes: 256 * 1024 ** 2,
  diskEntries: 100_000,
  tmpBytes: 256 * 1024 ** 2,
};

/**
 * How strongly a process was isolated, strongest first; recorded in transcripts and job summaries.
 *
 * - `bwrap`: bubblewrap namespaces (network: loopback only, the gateway through a Unix socket;
 *   own PID, IPC, UTS, mount and cgroup namespaces), a filesystem of read-only /usr and /etc plus
 *   the workspace, a private /tmp, a fresh unprivileged uid with no capabilities, and rlimits
 *   including a process count. Needs a root harness that may create namespaces.
 * - `bwrap-userns`: the same namespaces inside an unprivileged user namespace, for a non-root
 *   harness; no process-count limit (RLIMIT_NPROC would count the harness user's own processes).
 * - `uid-rlimits`: no namespaces (e.g. an unprivileged container), but a fresh unprivileged uid
 *   and rlimits: the harness's files and environment are out of reach; the network is not.
 * - `process-rlimits`: the harness's uid with rlimits; a clean environment only.
 * - `process`: a clean environment only.
 */
export type IsolationLevel = 'bwrap' | 'bwrap-userns' | 'uid-rlimits' | 'process-rlimits' | 'process';

export const ISOLATION_LEVELS: readonly IsolationLevel[] = ['bwrap', 'bwrap-userns', 'uid-rlimits', 'process-rlimits', 'process'];

/** What the sandbox holds at a level, in words, for transcripts and the docs. */
export const ISOLATION_GUARANTEES: Record<IsolationLevel, { network: string; filesystem: string; identity: string; processes: string }> = {
  bwrap: { network: 'loopback only; the gateway through a Unix socket', filesystem: 'read-only /usr and /etc, the workspace writable, private /tmp', identity: 'fresh unprivileged uid, no capabilities', processes: 'own PID namespace, RLIMIT_NPROC' },
  'bwrap-userns': { network: 'loopback only; the gateway through a Unix socket', filesystem: 'read-only /usr and /etc, the workspace writable, private /tmp', identity: 'the harness user inside a user namespace', processes: 'own PID namespace, no process-count limit' },
  'uid-rlimits': { network: 'host network (not isolated)', filesystem: 'what a fresh unprivileged uid may read or write on the host', identity: 'fresh unprivileged uid, no capabilities', processes: 'RLIMIT_NPROC' },
  'process-rlimits': { network: 'host network (not isolated)', filesystem: 'everything the harness user may read or write', identity: 'the harness user', processes: 'no process-count limit' },
  process: { network: 'host network (not isolated)', filesystem: 'everything the harness user may read or write', identity: 'the harness user', processes: 'no limits' },
};

/** The isolation chosen for this process, and why no stronger one. */
export interface IsolationReport {
  level: IsolationLevel;
  /** One line per stronger level that was tried and is unavailable here, with the reason. */
  fallbacks: string[];
  /** `auto`, or the level UPLIFT_SANDBOX asked for. */
  requested: string;
}

/** The sandbox level UPLIFT_SANDBOX asks for is not available here. */
export class SandboxUnavailableError extends UpliftError {}

/** Where a sandboxed command finds its workspace and inputs. */
export const SANDBOX_WORKSPACE = '/workspace';
/** Inside bubblewrap the gateway's Unix socket is bound here, and a forwarder serves it on loopback. */
const SANDBOX_SOCKET = '/run/uplift/gateway.sock';
const FORWARD_PORT = 8080;
const PATH_INSIDE = '/usr/local/bin:/usr/bin:/bin';

const which = (...candidates: string[]) => candidates.find((p) => existsSync(p));
const BWRAP = which('/usr/bin/bwrap', '/bin/bwrap', '/usr/local/bin/bwrap');
const PRLIMIT = which('/usr/bin/prlimit', '/bin/prlimit');
const SETPRIV = which('/usr/bin/setpriv', '/bin/setpriv');
const PYTHON = which('/usr/bin/python3', '/usr/local/bin/python3');
const SH = which('/usr/bin/sh', '/bin/sh') ?? '/bin/sh';
/** The harness's own code: never visible in a sandbox, even when installed under /usr. */
const HARNESS_ROOT = resolve(__dirname, '..');

/**
 * The gateway forwarder, run as the sandbox's first process: listens on 127.0.0.1:PORT inside the
 * sandbox's own network namespace, pipes every connection to the gateway's Unix socket (a thread
 * per direction), starts the command, and exits with its status. Python standard library only, and
 * lean, since it delays every agent's start: `_socket` rather than `socket` (whose import takes
 * ~5 ms), posix_spawn rather than subprocess, threads rather than asyncio (~45 ms).
 */
const FORWARDER = `
import os, sys, threading, _signal, _socket as socket
port, path, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', port))
srv.listen(512)
def pump(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass
def serve(fd):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0, fd)
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        u.connect(path)
        back = threading.Thread(target=pump, args=(u, c), daemon=True)
        back.start()
        pump(c, u)
        back.join()
    except (OSError, RuntimeError):
        pass
    c.close()
    u.close()
def accept():
    while True:
        fd, _ = srv._accept()
        try:
            threading.Thread(target=serve, args=(fd,), daemon=True).start()
        except RuntimeError:
            os.close(fd)
# Accepting before the command starts: a command that exhausts its process limit cannot stop it.
threading.Thread(target=accept, daemon=True).start()
try:
    # Python ignores SIGPIPE and SIGXFSZ; the command gets them back (file-size limit = a kill).
    pid = os.posix_spawnp(cmd[0], cmd, os.environ, setsigdef=(_signal.SIGPIPE, _signal.SIGXFSZ))
except OSError as e:
    print('sandbox: cannot run %s: %s' % (cmd[0], e), file=sys.stderr)
    os._exit(127)
rc = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
os._exit(rc if rc >= 0 else 128 - rc)
`;

/** A read-only file or directory the sandbox should see: `host` appears at `path` (bubblewrap levels) or at `host` (others). */
export interface ReadOnlyMount {
  host: string;
  path: string;
}

export interface SandboxOptions {
  /** Host directory the command runs in: the workspace, its only writable place. */
  cwd: string;
  /** The whole environment of the command (plus PATH, HOME, TMPDIR, LANG): never the harness's. */
  env: Record<string, string>;
  limits?: Partial<SandboxLimits>;
  /** Read-only inputs, e.g. the dev split for a TLA. */
  readOnly?: ReadOnlyMount[];
  /** The model gateway: its loopback URL and its Unix socket. OPENAI_BASE_URL is set to what reaches it from inside. */
  gateway?: { baseUrl: string; socketPath: string };
  /** A level to use instead of the detected one (it must be available). */
  level?: IsolationLevel;
}

export interface SandboxExit {
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Set when the harness killed the sandbox: its wall clock ran out, or the workspace outgrew its quota. */
  killedFor?: 'wall_time' | 'disk_quota';
}

export interface SandboxedProcess {
  child: ChildProcessWithoutNullStreams;
  isolation: IsolationLevel;
  /** Where the command sees its workspace. */
  workspace: string;
  /** Resolves once the process and everything it started has ended. */
  done: Promise<SandboxExit>;
  /** Kills the sandbox and everything in it now (reported as a wall-time kill). */
  kill(): void;
}

/** How paths look from inside a sandbox at a level. */
export function sandboxView(level: IsolationLevel, cwd: string, readOnly: readonly ReadOnlyMount[] = []): { workspace: string; readOnly: Record<string, string> } {
  const inside = level === 'bwrap' || level === 'bwrap-userns';
  return { workspace: inside ? SANDBOX_WORKSPACE : cwd, readOnly: Object.fromEntries(readOnly.map((m) => [m.host, inside ? m.path : m.host])) };
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** A uid no account uses: each sandbox gets its own, so process counts and files are its alone. */
function freshUid(): number {
  return randomInt(200_000, 2_000_000_000);
}

/** Host top-level paths bound read-only (merged-/usr hosts have most as symlinks). */
function rootEntries(): string[] {
  const args: string[] = [];
  for (const name of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    const p = `/${name}`;
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) {
      try {
        const target = realpathSync(p);
        args.push('--symlink', relative('/', target), p);
      } catch {
        /* dangling: leave it out */
      }
    } else if (st.isDirectory()) args.push('--ro-bind', p, p);
  }
  return args;
}

function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

interface Plan {
  file: string;
  args: string[];
  env: Record<string, string>;
  uid?: number;
  tmpHome?: string;
}

function bwrapArgs(level: 'bwrap' | 'bwrap-userns', cwd: string, env: Record<string, string>, limits: SandboxLimits, readOnly: readonly ReadOnlyMount[], socket: string | undefined): string[] {
  const args = ['--ro-bind', '/usr', '/usr', '--ro-bind', '/etc', '/etc', ...rootEntries(), '--dev', '/dev', '--proc', '/proc'];
  args.push('--perms', '1777', '--size', String(limits.tmpBytes), '--tmpfs', '/tmp');
  // The harness's code and the Node binary: hidden, resp. visible read-only, wherever they are installed.
  for (const bound of ['/usr', '/etc']) if (under(HARNESS_ROOT, bound)) args.push('--tmpfs', HARNESS_ROOT);
  const nodeDir = dirname(process.execPath);
  if (!under(nodeDir, '/usr') && !under(nodeDir, '/etc') && !under(HARNESS_ROOT, nodeDir)) args.push('--ro-bind', nodeDir, nodeDir);
  if (socket) args.push('--perms', '0755', '--dir', '/run', '--perms', '0755', '--dir', '/run/uplift', '--ro-bind', socket, SANDBOX_SOCKET);
  args.push('--bind', cwd, SANDBOX_WORKSPACE);
  for (const m of readOnly) args.push('--ro-bind', m.host, m.path);
  args.push('--chdir', SANDBOX_WORKSPACE, '--hostname', 'sandbox');
  args.push(...(level === 'bwrap' ? ['--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts', '--unshare-cgroup-try'] : ['--unshare-all', '--unshare-user']));
  args.push('--die-with-parent', '--new-session', '--clearenv');
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
  return args;
}

function rlimitArgs(limits: SandboxLimits, nproc: boolean): string[] {
  if (!PRLIMIT) return [];
  return [PRLIMIT, `--cpu=${limits.cpuSeconds}`, `--as=${limits.memoryBytes}`, `--fsize=${limits.fileSizeBytes}`, ...(nproc ? [`--nproc=${limits.processes}`] : []), '--'];
}

function dropArgs(uid: number): string[] {
  return [SETPRIV as string, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--'];
}

/** The full command line of `argv` at `level`. */
function plan(level: IsolationLevel, argv: string[], opts: SandboxOptions, limits: SandboxLimits): Plan {
  const readOnly = opts.readOnly ?? [];
  const socket = opts.gateway?.socketPath;
  const base: Record<string, string> = { PATH: PATH_INSIDE, LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' };
  if (level === 'bwrap' || level === 'bwrap-userns') {
    const env = { ...base, HOME: '/tmp', TMPDIR: '/tmp', ...opts.env, ...(opts.gateway ? { OPENAI_BASE_URL: `http://127.0.0.1:${FORWARD_PORT}/v1` } : {}) };
    const uid = level === 'bwrap' ? freshUid() : undefined;
    const inner = [
      ...(uid !== undefined ? dropArgs(uid) : []),
      ...rlimitArgs(limits, uid !== undefined),
      ...(socket ? [PYTHON as string, '-I', '-S', '-c', FORWARDER, String(FORWARD_PORT), SANDBOX_SOCKET] : []),
      ...argv,
    ];
    return { file: BWRAP as string, args: [...bwrapArgs(level, opts.cwd, env, limits, readOnly, socket), '--', ...inner], env: {}, uid };
  }
  const gatewayEnv: Record<string, string> = opts.gateway ? { OPENAI_BASE_URL: opts.gateway.baseUrl } : {};
  if (level === 'uid-rlimits') {
    const uid = freshUid();
    const tmpHome = mkdtempSync(join(tmpdir(), 'uplift-home-'));
    lchownSync(tmpHome, uid, uid);
    const env = { ...base, HOME: tmpHome, TMPDIR: tmpHome, ...opts.env, ...gatewayEnv };
    const full = [...dropArgs(uid), ...rlimitArgs(limits, true), ...argv];
    return { file: full[0], args: full.slice(1), env, uid, tmpHome };
  }
  const env = { ...base, HOME: opts.cwd, ...opts.env, ...gatewayEnv };
  const full = level === 'process-rlimits' ? [...rlimitArgs(limits, false), ...argv] : argv;
  return { file: full[0], args: full.slice(1), env };
}

/** Bytes (allocated blocks) and entries under a directory, stopping early past `maxEntries`; symlinks are not followed. */
export function diskUsage(dir: string, maxEntries = Number.MAX_SAFE_INTEGER): { bytes: number; entries: number } {
  let bytes = 0;
  let entries = 0;
  const stack = [dir];
  while (stack.length && entries <= maxEntries) {
    const d = stack.pop() as string;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const name of names) {
      const p = join(d, name);
      try {
        const st = lstatSync(p);
        entries++;
        bytes += st.blocks * 512;
        if (st.isDirectory()) stack.push(p);
      } catch {
        /* removed while we looked */
      }
    }
  }
  return { bytes, entries };
}

/**
 * Lends a workspace tree to a sandbox uid (lchown, never following symlinks) so the command may
 * write it; the returned function gives every entry back to its owner (new entries to the
 * workspace's owner).
 */
function lendTree(dir: string, uid: number): () => void {
  const owners = new Map<string, { uid: number; gid: number }>();
  const walk = (p: string, f: (p: string, st: Stats) => void) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    f(p, st);
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name), f);
  };
  walk(dir, (p, st) => {
    owners.set(p, { uid: st.uid, gid: st.gid });
    lchownSync(p, uid, uid);
  });
  const root = owners.get(dir) as { uid: number; gid: number };
  return () =>
    walk(dir, (p) => {
      const o = owners.get(p) ?? root;
      try {
        lchownSync(p, o.uid, o.gid);
      } catch {
        /* removed meanwhile */
      }
    });
}

/**
 * Removes what untrusted code may leave in a workspace to trick the harness into reading or
 * writing outside it: symbolic links, FIFOs, sockets and device nodes. Returns the removed
 * paths (relative), for the transcript.
 */
export function removeUnsafeEntries(dir: string): string[] {
  const removed: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (!st.isFile()) {
        try {
          unlinkSync(p);
        } catch {
          rmdirSync(p);
        }
        removed.push(relative(dir, p));
      }
    }
  };
  walk(dir);
  return removed;
}

/** Runs `/bin/true` at a level; undefined when it works, else why not. */
function probe(level: IsolationLevel): string | undefined {
  const missing = (what: string, fix: string) => `${what} not found (${fix})`;
  if (level === 'bwrap' || level === 'bwrap-userns') {
    if (!BWRAP) return missing('bubblewrap', 'apt-get install -y bubblewrap');
    if (!PYTHON) return missing('python3 (runs the gateway forwarder)', 'apt-get install -y python3');
    if (level === 'bwrap' && !isRoot()) return 'needs a root harness to drop to a fresh uid';
    if (level === 'bwrap' && !SETPRIV) return missing('setpriv', 'apt-get install -y util-linux');
  }
  if (level === 'uid-rlimits') {
    if (!isRoot()) return 'needs a root harness to drop to a fresh uid';
    if (!SETPRIV || !PRLIMIT) return missing('setpriv or prlimit', 'apt-get install -y util-linux');
  }
  if (level === 'process-rlimits' && !PRLIMIT) return missing('prlimit', 'apt-get install -y util-linux');
  if (level === 'process') return undefined;
  const cwd = mkdtempSync(join(tmpdir(), 'uplift-probe-'));
  try {
    const p = plan(level, ['/bin/sh', '-c', 'exit 0'], { cwd, env: {} }, { ...DEFAULT_LIMITS });
    const r = spawnSync(p.file, p.args, { cwd, env: p.env, timeout: 15_000, encoding: 'utf8' });
    if (p.tmpHome) rmSync(p.tmpHome, { recursive: true, force: true });
    if (r.status === 0) return undefined;
    return `probe exited ${r.status ?? r.signal}: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

let detected: IsolationReport | undefined;

/**
 * The strongest isolation level that works on this machine, probed once per process. The
 * environment variable UPLIFT_SANDBOX=<level> asks for one level (SandboxUnavailableError if it
 * does not work here); `auto` (the default) takes the strongest that works and lists why the
 * stronger ones did not. UPLIFT_SANDBOX_MIN=<level> makes a weaker result an error, so a job in
 * the cloud refuses to run agents rather than run them with less isolation than it was deployed for.
 */
export function detectIsolation(env: Record<string, string | undefined> = process.env): IsolationReport {
  const report = detectLevel(env);
  const min = env.UPLIFT_SANDBOX_MIN?.trim();
  if (min) {
    if (!ISOLATION_LEVELS.includes(min as IsolationLevel))
      throw new SandboxUnavailableError(`UPLIFT_SANDBOX_MIN=${min}: not a sandbox level. Fix: one of ${ISOLATION_LEVELS.join(', ')}`);
    if (ISOLATION_LEVELS.indexOf(report.level) > ISOLATION_LEVELS.indexOf(min as IsolationLevel))
      throw new SandboxUnavailableError(
        `the strongest sandbox level here is ${report.level}, weaker than UPLIFT_SANDBOX_MIN=${min} (${report.fallbacks.join('; ') || 'no stronger level was tried'}). Fix: run the job where ${min} works (see README, "Sandbox"), or lower UPLIFT_SANDBOX_MIN knowingly`,
      );
  }
  return report;
}

function detectLevel(env: Record<string, string | undefined>): IsolationReport {
  const requested = env.UPLIFT_SANDBOX?.trim() || 'auto';
  if (detected && detected.requested === requested) return detected;
  if (requested !== 'auto') {
    if (!ISOLATION_LEVELS.includes(requested as IsolationLevel))
      throw new SandboxUnavailableError(`UPLIFT_SANDBOX=${requested}: not a sandbox level. Fix: one of auto, ${ISOLATION_LEVELS.join(', ')}`);
    const why = probe(requested as IsolationLevel);
    if (why) throw new SandboxUnavailableError(`UPLIFT_SANDBOX=${requested}: not available here: ${why}. Fix: install what it needs, or unset UPLIFT_SANDBOX to use the strongest available level`);
    detected = { level: requested as IsolationLevel, fallbacks: [], requested };
    return detected;
  }
  const fallbacks: string[] = [];
  for (const level of ISOLATION_LEVELS) {
    const why = probe(level);
    if (!why) {
      detected = { level, fallbacks, requested };
      return detected;
    }
    fallbacks.push(`${level}: ${why}`);
  }
  detected = { level: 'process', fallbacks, requested };
  return detected;
}

/**
 * Starts untrusted agent code in the strongest sandbox available (see IsolationLevel): a clean
 * environment (only what the caller passes, plus PATH/HOME/TMPDIR/LANG — never the harness's
 * credentials), rlimits, a wall-clock kill of everything it started, and a kill when the
 * workspace outgrows its disk quota. With `gateway`, OPENAI_BASE_URL reaches the gateway from
 * inside, whatever the level. At levels with a fresh uid the workspace is lent to that uid while
 * the command runs, and given back to its owners when it ends.
 */
export function spawnSandboxed(argv: string[], opts: SandboxOptions): SandboxedProcess {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const level = opts.level ?? detectIsolation().level;
  const p = plan(level, argv, opts, limits);
  const giveBack = p.uid !== undefined ? lendTree(opts.cwd, p.uid) : undefined;
  const child = spawn(p.file, p.args, { cwd: opts.cwd, env: p.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let killedFor: SandboxExit['killedFor'];
  let exited = false;
  /** Kills the process group; without a PID namespace also every process of the sandbox's uid (what escaped the group). */
  const killAll = () => {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* the group is gone */
      }
    }
    if (p.uid !== undefined && level === 'uid-rlimits') spawnSync(SETPRIV as string, [...dropArgs(p.uid).slice(1), SH, '-c', 'kill -9 -1'], { env: {}, timeout: 5000 });
  };
  const killFor = (reason: NonNullable<SandboxExit['killedFor']>) => {
    if (exited) return;
    killedFor ??= reason;
    killAll();
  };
  const timer = setTimeout(() => killFor('wall_time'), limits.wallMs);
  const watchdog = setInterval(() => {
    const u = diskUsage(opts.cwd, limits.diskEntries);
    if (u.bytes > limits.diskBytes || u.entries > limits.diskEntries) killFor('disk_quota');
  }, 200);
  // The command has ended: what it left running (holding stdout open) goes too.
  child.on('exit', () => {
    exited = true;
    clearTimeout(timer);
    clearInterval(watchdog);
    killAll();
  });
  const done = new Promise<SandboxExit>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      clearInterval(watchdog);
      if (p.tmpHome) rmSync(p.tmpHome, { recursive: true, force: true });
      giveBack?.();
      resolve({ code, signal, timedOut: killedFor === 'wall_time', ...(killedFor ? { killedFor } : {}) });
    };
    child.on('error', () => finish(127, null));
    child.on('close', (code, signal) => finish(code, signal));
  });
  return { child, isolation: level, workspace: sandboxView(level, opts.cwd).workspace, done, kill: () => killFor('wall_time') };
}

/**
 * A Unix socket that relays to a loopback HTTP endpoint, for callers that hand an agent an
 * OPENAI_BASE_URL on 127.0.0.1 without a gateway socket: at levels without a network, the
 * sandbox reaches it through this relay. Undefined for URLs that are not on loopback.
 */
export async function loopbackRelay(baseUrl: string): Promise<{ socketPath: string; close(): Promise<void> } | undefined> {
  const m = /^http:\/\/(?:127\.0\.0\.1|localhost):(\d+)(?:\/|$)/.exec(baseUrl);
  if (!m) return undefined;
  const port = Number(m[1]);
  const dir = mkdtempSync(join(tmpdir(), 'uplift-relay-'));
  const socketPath = join(dir, 'relay.sock');
  const open = new Set<{ destroy(): void }>();
  const server = createServer((c) => {
    const t = connect(port, '127.0.0.1');
    for (const x of [c, t]) {
      open.add(x);
      x.on('close', () => open.delete(x));
    }
    c.pipe(t).pipe(c);
    c.on('error', () => t.destroy());
    t.on('error', () => c.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  chmodSync(socketPath, 0o666);
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        for (const x of open) x.destroy();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

/** Makes a directory the harness created traversable for a sandbox's fresh uid (mode 0711: no listing). */
export function allowTraversal(dir: string): void {
  const st = statSync(dir);
  chmodSync(dir, (st.mode & 0o777) | 0o011);
}
