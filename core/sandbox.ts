import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { chmodSync, existsSync, lchownSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, watch, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { HARNESS_ROOT as SHIPPED_HARNESS_ROOT } from './assets';
import { UpliftError } from './errors';
import { checkDevices, type SandboxDevice } from './sandbox/devices';
import { createSandboxCgroup, sandboxMemory, type SandboxCgroup } from './sandbox/memory';
import { lendTree, removeTree, walkTree, type DiskUsage } from './sandbox/tree';

export { diskUsage, removeTree, removeUnsafeEntries } from './sandbox/tree';
export { checkDevices, deviceProblems, jobGpus, JobGpuError, SandboxDeviceError, type JobGpus, type SandboxDevice } from './sandbox/devices';

/** Resource limits for untrusted agent code. */
export interface SandboxLimits {
  /** CPU seconds per process (RLIMIT_CPU). */
  cpuSeconds: number;
  /**
   * Memory of the whole sandbox, all its processes together, in bytes: a cgroup limit where the
   * harness may create one (the kernel enforces it), else sampled every 200 ms (anonymous and
   * shared memory, shared pages split among their users). Over it, the sandbox is killed
   * (`killedFor: 'memory'`). Address space is not limited (runtimes reserve far more than they use).
   */
  memoryBytes: number;
  /** Largest file it may write, bytes (RLIMIT_FSIZE; never more than `diskBytes`). */
  fileSizeBytes: number;
  /** Wall clock; the whole sandbox is killed after it. */
  wallMs: number;
  /** Processes and threads at once (RLIMIT_NPROC of the sandbox's own uid; only at levels that drop to one). */
  processes: number;
  /**
   * Bytes the sandbox's writable places may hold (the workspace; at `uid-rlimits` also its private
   * TMPDIR and what its uid leaves in /tmp, /var/tmp and /dev/shm), counting apparent sizes (sparse
   * files in full) at any depth. Checked on every change inotify reports and every 200 ms; the
   * sandbox is killed once it holds more (`killedFor: 'disk_quota'`).
   */
  diskBytes: number;
  /** Files and directories those places may hold (same check). */
  diskEntries: number;
  /** Size of the sandbox's private /tmp and of its /dev/shm (memory-backed; bubblewrap levels only). */
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
 * At every level: a clean environment, the memory limit over the whole sandbox, the disk quota,
 * the wall clock (see SandboxLimits).
 *
 * - `bwrap`: bubblewrap namespaces (network: loopback only, the gateway through a Unix socket;
 *   own PID, IPC, UTS, mount and cgroup namespaces), a read-only filesystem of /usr and /etc plus
 *   the workspace, a private /tmp and /dev/shm, a fresh unprivileged uid with no capabilities, and
 *   rlimits including a process count. Needs a root harness that may create namespaces.
 * - `bwrap-userns`: the same namespaces inside an unprivileged user namespace, for a non-root
 *   harness; no process-count limit (RLIMIT_NPROC would count the harness user's own processes).
 * - `uid-rlimits`: no namespaces (e.g. an unprivileged container), but a fresh unprivileged uid
 *   and rlimits: the harness's private files (data dir, job scratch) and environment are out of
 *   reach; the network, world-readable files, /tmp, /var/tmp, /dev/shm and SysV IPC are shared
 *   with the host and other sandboxes (what the uid leaves there is removed when it ends).
 * - `process-rlimits`: the harness's uid with rlimits; a clean environment only.
 * - `process`: a clean environment only.
 */
export type IsolationLevel = 'bwrap' | 'bwrap-userns' | 'uid-rlimits' | 'process-rlimits' | 'process';

export const ISOLATION_LEVELS: readonly IsolationLevel[] = ['bwrap', 'bwrap-userns', 'uid-rlimits', 'process-rlimits', 'process'];

/** What the sandbox holds at a level, in words, for transcripts and the docs. */
export const ISOLATION_GUARANTEES: Record<IsolationLevel, { network: string; filesystem: string; identity: string; processes: string }> = {
  bwrap: {
    network: 'loopback only; the gateway through a Unix socket',
    filesystem: 'read-only /usr and /etc, the workspace writable, private /tmp and /dev/shm',
    identity: 'fresh unprivileged uid, no capabilities',
    processes: 'own PID and IPC namespaces, RLIMIT_NPROC, memory limit over all its processes',
  },
  'bwrap-userns': {
    network: 'loopback only; the gateway through a Unix socket',
    filesystem: 'read-only /usr and /etc, the workspace writable, private /tmp and /dev/shm',
    identity: 'the harness user inside a user namespace',
    processes: 'own PID and IPC namespaces, no process-count limit, memory limit over all its processes',
  },
  'uid-rlimits': {
    network: 'host network (not isolated)',
    filesystem: "what a fresh unprivileged uid may read or write on the host (not the harness's data dir or job scratch); /tmp, /var/tmp, /dev/shm shared with other sandboxes",
    identity: 'fresh unprivileged uid, no capabilities',
    processes: 'RLIMIT_NPROC, memory limit over all its processes; SysV IPC and abstract sockets shared',
  },
  'process-rlimits': { network: 'host network (not isolated)', filesystem: 'everything the harness user may read or write', identity: 'the harness user', processes: 'no process-count limit; memory limit over all its processes' },
  process: { network: 'host network (not isolated)', filesystem: 'everything the harness user may read or write', identity: 'the harness user', processes: 'no rlimits; memory limit over all its processes' },
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
const IPCRM = which('/usr/bin/ipcrm', '/bin/ipcrm');
const SH = which('/usr/bin/sh', '/bin/sh') ?? '/bin/sh';
/** World-writable places a fresh uid shares with the host at `uid-rlimits` (no mount namespace to hide them). */
const SHARED_TMP = ['/tmp', '/var/tmp', '/dev/shm'];
/** Directories watched for changes (inotify) per sandbox; changes deeper than these are found by the 200 ms check. */
const MAX_WATCHED_DIRS = 512;
/** The harness's own code: never visible in a sandbox, even when installed under /usr. */
const HARNESS_ROOT = SHIPPED_HARNESS_ROOT;

/**
 * The gateway forwarder, run as the sandbox's first process: listens on 127.0.0.1:PORT inside the
 * sandbox's own network namespace, pipes every connection to the gateway's Unix socket, starts the
 * command, and exits with its status. One thread, started before the command, serves every
 * connection with epoll: no thread per connection, so no hand-over of Python's lock between them
 * on every call (a model call crosses it twice), and nothing for a command that exhausts its
 * process limit to starve. Each direction buffers at most MAX_PENDING bytes its receiver has not
 * taken yet, then stops reading its sender until they are; an end of stream is passed on once
 * what came before it is; a side closed both ways is no longer watched (epoll reports a hang-up
 * whatever it is asked); an error on either side closes both. At most MAX_CONNECTIONS at once,
 * and none accepted while out of descriptors: further ones wait in the backlog. Python standard library only, and
 * lean, since it delays every agent's start: `_socket` rather than `socket` (whose import takes
 * ~5 ms), posix_spawn rather than subprocess, epoll rather than asyncio (~45 ms).
 */
const FORWARDER = `
import os, sys, threading, select, _signal, _socket as socket
port, path, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
MAX_PENDING = 1 << 20
MAX_CONNECTIONS = 1024
IN, OUT, HUP, ERR = select.EPOLLIN, select.EPOLLOUT, select.EPOLLHUP, select.EPOLLERR
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', port))
srv.listen(512)
srv.setblocking(False)
ep = select.epoll()
ep.register(srv.fileno(), IN)
accepting = True
class End:
    __slots__ = ('sock', 'fd', 'peer', 'out', 'eof', 'shut', 'mask', 'gone')
    def __init__(self, sock):
        self.sock, self.fd, self.peer, self.out, self.eof, self.shut, self.mask, self.gone = sock, sock.fileno(), None, bytearray(), False, False, IN, False
ends = {}
def listen(on):
    # Accepting pauses at MAX_CONNECTIONS or out of descriptors (connections wait in the backlog) and resumes when one closes.
    global accepting
    if on != accepting:
        accepting = on
        ep.modify(srv.fileno(), IN if on else 0)
def watch(e):
    if e.gone:
        return
    m = (0 if e.eof or len(e.peer.out) >= MAX_PENDING else IN) | (OUT if e.out else 0)
    if m != e.mask:
        e.mask = m
        ep.modify(e.fd, m)
def forget(x):
    if not x.gone:
        x.gone = True
        ep.unregister(x.fd)
def close(e):
    for x in (e, e.peer):
        if ends.pop(x.fd, None) is not None:
            forget(x)
            x.sock.close()
    listen(True)
def flush(e):
    # Sends what e's peer sent it; passes an end of stream on once all of it went.
    if e.out and not e.gone:
        try:
            n = e.sock.send(e.out)
        except BlockingIOError:
            n = 0
        del e.out[:n]
    if not e.out and e.peer.eof and not e.shut:
        e.shut = True
        e.sock.shutdown(socket.SHUT_WR)
    if e.shut and e.peer.shut:
        close(e)
        return
    watch(e)
    watch(e.peer)
def hangup(e):
    # e's other side closed both ways (reported whatever e.mask is): what it still holds goes on with
    # the end of stream, nothing more can go to it, and it is no longer watched.
    try:
        while True:
            data = e.sock.recv(65536)
            if not data:
                break
            e.peer.out += data
    except OSError:
        pass
    e.eof = e.shut = True
    e.out.clear()
    forget(e)
    flush(e.peer)
def accept():
    while len(ends) < 2 * MAX_CONNECTIONS:
        try:
            fd, _ = srv._accept()
        except BlockingIOError:
            return
        except OSError:
            # Out of descriptors (EMFILE, ENFILE, ENOBUFS): wait for a connection to close.
            if ends:
                listen(False)
            return
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0, fd)
        try:
            u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError:
            c.close()
            if ends:
                listen(False)
            return
        try:
            u.connect(path)
        except OSError:
            c.close()
            u.close()
            continue
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        a, b = End(c), End(u)
        a.peer, b.peer = b, a
        for e in (a, b):
            e.sock.setblocking(False)
            ends[e.fd] = e
            ep.register(e.fd, IN)
    listen(False)
def serve():
    while True:
        for fd, ev in ep.poll():
            if fd == srv.fileno():
                accept()
                continue
            e = ends.get(fd)
            if e is None or e.gone:
                continue
            try:
                if ev & ERR:
                    close(e)
                    continue
                if ev & OUT:
                    flush(e)
                if fd not in ends or e.gone:
                    continue
                if ev & HUP:
                    hangup(e)
                elif ev & IN and not e.eof:
                    data = e.sock.recv(65536)
                    if data:
                        e.peer.out += data
                    else:
                        e.eof = True
                    flush(e.peer)
            except BlockingIOError:
                pass
            except OSError:
                if fd in ends:
                    close(e)
# Serving before the command starts, in its one thread: a command that exhausts its process limit cannot stop it.
threading.Thread(target=serve, daemon=True).start()
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
  /**
   * Character devices the command may open (e.g. the job's GPUs, see `jobGpus`): at the bubblewrap
   * levels each host node is bound (`--dev-bind`, read-write) at its `path` in the sandbox's own
   * /dev, which holds nothing else but the standard nodes; at other levels the sandbox sees the
   * host's /dev, so each is at its `host` path (and so is every other node the host has). A host
   * path that is not a character device, or a `path` not under /dev, is refused
   * (SandboxDeviceError, every problem at once).
   */
  devices?: SandboxDevice[];
  /**
   * Another system's root filesystem on the host (a task's container image, copied there): at
   * bubblewrap levels its top-level directories and links (/usr, /etc, /bin, /lib, /opt, …) stand
   * in for the host's, read-only. Other levels cannot change the root and refuse it. It must hold
   * python3 at the host's path of it (the gateway forwarder runs inside).
   */
  root?: string;
  /** Where the workspace appears inside at bubblewrap levels (an absolute path, e.g. an image's /testbed). @default /workspace */
  workspaceAt?: string;
  /**
   * With `root`: the command is the sandbox's pid 1 (`--as-pid-1`), with no bubblewrap init
   * beside it. That init runs as the sandbox's uid there (bubblewrap is unprivileged), so any
   * process inside could take its stdout; a command whose stdout must be its own (a scorer) asks
   * for this and makes itself non-dumpable. Not for agents (pid 1 reaps no orphans).
   */
  pid1?: boolean;
}

/** Top-level names of a root filesystem that the sandbox never takes from it (it makes its own). */
const ROOT_OWN = new Set(['proc', 'sys', 'dev', 'tmp', 'run', 'agent', 'workspace']);
/** A workspace path inside: absolute, plain segments. */
const WORKSPACE_AT = /^(\/[A-Za-z0-9._-]+)+$/;

/** Why `root` / `workspaceAt` cannot be used at `level`, or undefined. */
function rootProblem(level: IsolationLevel, opts: Pick<SandboxOptions, 'root' | 'workspaceAt'>): string | undefined {
  const w = opts.workspaceAt;
  const top = w?.split('/')[1] ?? '';
  if (w !== undefined && (!WORKSPACE_AT.test(w) || w.split('/').some((x) => x === '.' || x === '..') || ROOT_OWN.has(top) || ['usr', 'etc', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'].includes(top)))
    return `workspaceAt "${w}" is not a plain absolute path outside the system and sandbox directories (e.g. "/testbed")`;
  if (opts.root === undefined) return undefined;
  if (level !== 'bwrap' && level !== 'bwrap-userns') return `a task's own root filesystem (${opts.root}) needs a bubblewrap level; this sandbox is at ${level}. Fix: run the job where bubblewrap works (the stack's image jobs require level bwrap)`;
  if (PYTHON && !existsSync(join(opts.root, PYTHON))) return `the task's root filesystem ${opts.root} has no ${PYTHON}, which runs the gateway forwarder inside the sandbox. Fix: use an image with python3 at ${PYTHON}`;
  return undefined;
}

/** bubblewrap's binds of a root filesystem's top-level entries (links as links, directories read-only). */
function rootBinds(root: string): string[] {
  const args: string[] = [];
  for (const name of readdirSync(root).sort()) {
    if (ROOT_OWN.has(name)) continue;
    const p = join(root, name);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(p), `/${name}`);
    else if (st.isDirectory()) args.push('--ro-bind', p, `/${name}`);
  }
  return args;
}

export interface SandboxExit {
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /**
   * Set when the harness killed the sandbox: its wall clock ran out (`wall_time`), its writable
   * places held more than `diskBytes` or `diskEntries` (`disk_quota`; also when it ended over
   * them), or its processes together outgrew `memoryBytes` (`memory`; also when the kernel's OOM
   * killer acted in its cgroup).
   */
  killedFor?: 'wall_time' | 'disk_quota' | 'memory';
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
export function sandboxView(level: IsolationLevel, cwd: string, readOnly: readonly ReadOnlyMount[] = [], workspaceAt = SANDBOX_WORKSPACE): { workspace: string; readOnly: Record<string, string> } {
  const inside = level === 'bwrap' || level === 'bwrap-userns';
  return { workspace: inside ? workspaceAt : cwd, readOnly: Object.fromEntries(readOnly.map((m) => [m.host, inside ? m.path : m.host])) };
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
  /** bubblewrap's options (NUL-separated), read from a file descriptor before `args`: argv is public in /proc. */
  bwrapArgs?: Buffer;
  /** `args` already hold bubblewrap's `--args 3` (it runs after other programs: a task image's root, see plan). */
  argsInline?: boolean;
}

/**
 * bubblewrap's arguments, the agent's environment among them: they are passed on a file
 * descriptor (`--args`), never on the command line, which every host process may read in
 * /proc/<pid>/cmdline (and the environment holds the per-job key).
 */
function bwrapArgs(level: 'bwrap' | 'bwrap-userns', cwd: string, env: Record<string, string>, limits: SandboxLimits, readOnly: readonly ReadOnlyMount[], socket: string | undefined, devices: readonly SandboxDevice[], root?: string, workspaceAt = SANDBOX_WORKSPACE): string[] {
  const args = ['--clearenv'];
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
  // The system: the host's /usr, /etc and top-level links, or a task image's root filesystem instead.
  args.push(...(root ? rootBinds(root) : ['--ro-bind', '/usr', '/usr', '--ro-bind', '/etc', '/etc', ...rootEntries()]), '--dev', '/dev', '--proc', '/proc');
  // Private, size-limited /tmp and /dev/shm (POSIX shared memory, semaphores): memory, so bounded.
  args.push('--perms', '1777', '--size', String(limits.tmpBytes), '--tmpfs', '/tmp');
  args.push('--perms', '1777', '--size', String(limits.tmpBytes), '--tmpfs', '/dev/shm');
  // Devices asked for, into the fresh /dev before it is made read-only (the nodes themselves stay writable).
  for (const d of devices) args.push('--dev-bind', d.host, d.path);
  // The harness's code and the Node binary: hidden, resp. visible read-only, wherever they are installed.
  // (A task image's root holds neither: nothing of the host's system is bound.)
  if (!root) {
    for (const bound of ['/usr', '/etc']) if (under(HARNESS_ROOT, bound)) args.push('--tmpfs', HARNESS_ROOT);
    const nodeDir = dirname(process.execPath);
    if (!under(nodeDir, '/usr') && !under(nodeDir, '/etc') && !under(HARNESS_ROOT, nodeDir)) args.push('--ro-bind', nodeDir, nodeDir);
  }
  if (socket) args.push('--perms', '0755', '--dir', '/run', '--perms', '0755', '--dir', '/run/uplift', '--ro-bind', socket, SANDBOX_SOCKET);
  args.push('--bind', cwd, workspaceAt);
  for (const m of readOnly) args.push('--ro-bind', m.host, m.path);
  // The root and /dev are memory-backed and (in a user namespace) owned by the agent: read-only.
  args.push('--remount-ro', '/dev', '--remount-ro', '/');
  args.push('--chdir', workspaceAt, '--hostname', 'sandbox');
  args.push(...(level === 'bwrap' ? ['--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts', '--unshare-cgroup-try'] : ['--unshare-all', '--unshare-user']));
  args.push('--die-with-parent', '--new-session');
  return args;
}

/** The sandbox's rlimits: no address-space limit (see SandboxLimits.memoryBytes), no core dumps, no POSIX message queues. */
function rlimitArgs(limits: SandboxLimits, nproc: boolean): string[] {
  if (!PRLIMIT) return [];
  const fsize = Math.min(limits.fileSizeBytes, limits.diskBytes);
  return [PRLIMIT, `--cpu=${limits.cpuSeconds}`, `--fsize=${fsize}`, '--core=0', '--msgqueue=0', ...(nproc ? [`--nproc=${limits.processes}`] : []), '--'];
}

function dropArgs(uid: number): string[] {
  return [SETPRIV as string, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--'];
}

/** The full command line of `argv` at `level`. */
function plan(level: IsolationLevel, argv: string[], opts: SandboxOptions, limits: SandboxLimits): Plan {
  const readOnly = opts.readOnly ?? [];
  const socket = opts.gateway?.socketPath;
  const base: Record<string, string> = { PATH: PATH_INSIDE, LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' };
  if (level === 'bwrap' && opts.root) {
    // A task image's root: nothing of the image may run with the harness's privileges, and inside
    // the sandbox every program is the image's (setpriv, prlimit, the loader, libc). So the host's
    // setpriv drops to a fresh uid and the host's prlimit sets the limits first, and bubblewrap
    // then runs unprivileged in a user namespace of its own, with no capabilities.
    const env = { ...base, HOME: '/tmp', TMPDIR: '/tmp', ...opts.env, ...(opts.gateway ? { OPENAI_BASE_URL: `http://127.0.0.1:${FORWARD_PORT}/v1` } : {}) };
    const uid = freshUid();
    const inner = [...(socket ? [PYTHON as string, '-I', '-S', '-c', FORWARDER, String(FORWARD_PORT), SANDBOX_SOCKET] : []), ...argv];
    const options = [...bwrapArgs('bwrap-userns', opts.cwd, env, limits, readOnly, socket, opts.devices ?? [], opts.root, opts.workspaceAt), '--uid', String(uid), '--gid', String(uid), '--cap-drop', 'ALL', ...(opts.pid1 ? ['--as-pid-1'] : [])];
    const outside = [...dropArgs(uid), ...rlimitArgs(limits, true), BWRAP as string, '--args', '3', '--', ...inner];
    return { file: outside[0], args: outside.slice(1), env: {}, uid, bwrapArgs: Buffer.from(options.map((a) => `${a}\0`).join('')), argsInline: true };
  }
  if (level === 'bwrap' || level === 'bwrap-userns') {
    const env = { ...base, HOME: '/tmp', TMPDIR: '/tmp', ...opts.env, ...(opts.gateway ? { OPENAI_BASE_URL: `http://127.0.0.1:${FORWARD_PORT}/v1` } : {}) };
    const uid = level === 'bwrap' ? freshUid() : undefined;
    const inner = [
      ...(uid !== undefined ? dropArgs(uid) : []),
      ...rlimitArgs(limits, uid !== undefined),
      ...(socket ? [PYTHON as string, '-I', '-S', '-c', FORWARDER, String(FORWARD_PORT), SANDBOX_SOCKET] : []),
      ...argv,
    ];
    // Options on a descriptor; the command itself (no secrets) stays on the command line, where bubblewrap wants it.
    const options = bwrapArgs(level, opts.cwd, env, limits, readOnly, socket, opts.devices ?? [], opts.root, opts.workspaceAt);
    return { file: BWRAP as string, args: ['--', ...inner], env: {}, uid, bwrapArgs: Buffer.from(options.map((a) => `${a}\0`).join('')) };
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

/** The names in the shared temporary directories now. */
function sharedTmpNames(): Set<string> {
  const names = new Set<string>();
  for (const dir of SHARED_TMP) {
    try {
      for (const name of readdirSync(dir)) names.add(join(dir, name));
    } catch {
      /* not here */
    }
  }
  return names;
}

/**
 * Top-level entries of the shared temporary directories that belong to `uid` (what a sandbox put
 * there); only names that were not there before it started (`before`) are looked at, since the
 * sticky bit keeps it from taking over others' entries.
 */
function sharedTmpEntries(uid: number, before: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (const p of sharedTmpNames()) {
    if (before.has(p)) continue;
    try {
      if (lstatSync(p).uid === uid) found.push(p);
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

/** Removes the SysV message queues, semaphores and shared memory a uid created. */
function removeSysvIpc(uid: number): void {
  if (!IPCRM) return;
  for (const [kind, flag] of [
    ['shm', '-m'],
    ['msg', '-q'],
    ['sem', '-s'],
  ] as const) {
    let lines: string[];
    try {
      lines = readFileSync(`/proc/sysvipc/${kind}`, 'utf8').trim().split('\n');
    } catch {
      continue;
    }
    const header = lines[0].trim().split(/\s+/);
    const [idCol, uidCol, cuidCol] = [1, header.indexOf('uid'), header.indexOf('cuid')];
    for (const line of lines.slice(1)) {
      const f = line.trim().split(/\s+/);
      if (Number(f[uidCol]) === uid || Number(f[cuidCol]) === uid) spawnSync(IPCRM, [flag, f[idCol]], { env: {}, stdio: 'ignore', timeout: 5000 });
    }
  }
}

/**
 * The disk quota of one sandbox: sums its writable places at any depth, on every change inotify
 * reports in a watched directory (up to MAX_WATCHED_DIRS of them) and at least every 200 ms, and
 * calls `over` once they hold more than the limits. A check that takes long spaces out the next
 * (checking never takes more than about a third of the time). `found` lists further places
 * (e.g. what the sandbox's uid created in /tmp): looked up on the periodic checks only. Places
 * that already hold more when the sandbox starts (an earlier command outgrew the quota) may not
 * grow, but may shrink: a command that deletes files is not killed for what it found.
 */
export class DiskQuota {
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private pending = false;
  private stopped = false;
  private lastEnd = 0;
  private lastCost = 0;
  private lookupCost = 0;
  private extra: string[] = [];

  private readonly limits: Pick<SandboxLimits, 'diskBytes' | 'diskEntries'>;

  constructor(
    private readonly roots: readonly string[],
    private readonly found: () => string[],
    limits: Pick<SandboxLimits, 'diskBytes' | 'diskEntries'>,
    private readonly over: () => void,
    private readonly pollMs = 200,
  ) {
    this.limits = { diskBytes: Infinity, diskEntries: Infinity };
    const before = this.usage(false, true);
    this.limits = { diskBytes: Math.max(limits.diskBytes, before.bytes), diskEntries: Math.max(limits.diskEntries, before.entries) };
  }

  start(): void {
    this.poll();
  }

  /** The places' usage now (stops counting once over a limit). */
  usage(refresh = true, watch = false): DiskUsage {
    if (refresh) {
      const t0 = performance.now();
      this.extra = this.found();
      this.lookupCost = performance.now() - t0;
    }
    const total = { bytes: 0, entries: 0 };
    const seen = new Set<string>();
    for (const root of [...this.roots, ...this.extra]) {
      if (watch && this.roots.includes(root)) this.watch(root, seen);
      if (!this.roots.includes(root)) {
        // A place found in a shared directory counts itself (it may be a file).
        try {
          const st = lstatSync(root);
          total.entries++;
          total.bytes += Math.max(st.size, st.blocks * 512);
          if (!st.isDirectory()) continue;
        } catch {
          continue;
        }
      }
      walkTree(root, (e) => {
        total.entries++;
        total.bytes += Math.max(e.st.size, e.st.blocks * 512);
        if (this.isOver(total)) return 'stop';
        if (watch && e.st.isDirectory()) this.watch(e.path, seen, `${e.st.dev}:${e.st.ino}`);
      });
      if (this.isOver(total)) return total;
    }
    if (watch) {
      for (const [key, w] of this.watchers)
        if (!seen.has(key)) {
          w.close();
          this.watchers.delete(key);
        }
    }
    return total;
  }

  isOver(u: DiskUsage): boolean {
    return u.bytes > this.limits.diskBytes || u.entries > this.limits.diskEntries;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private check(refresh: boolean): void {
    if (this.stopped) return;
    const t0 = performance.now();
    this.lookupCost = 0;
    const u = this.usage(refresh, true);
    this.lastEnd = performance.now();
    // Spacing follows the cost of summing; looking up further places happens on the periodic checks only.
    this.lastCost = this.lastEnd - t0 - this.lookupCost;
    if (this.isOver(u)) this.over();
  }

  private poll(): void {
    this.timer = setTimeout(
      () => {
        this.check(true);
        if (!this.stopped) this.poll();
      },
      Math.max(this.pollMs, 2 * (this.lastCost + this.lookupCost)),
    );
  }

  /** A change was reported: check at once, or (after an expensive check) as soon as the spacing allows. */
  private changed = () => {
    if (this.pending || this.stopped) return;
    this.pending = true;
    const run = () => {
      this.pending = false;
      this.check(false);
    };
    const wait = this.lastEnd + 2 * this.lastCost - performance.now();
    if (wait <= 0) setImmediate(run);
    else setTimeout(run, wait);
  };

  private watch(path: string, seen: Set<string>, key?: string): void {
    let k = key;
    if (k === undefined) {
      try {
        const st = statSync(path);
        k = `${st.dev}:${st.ino}`;
      } catch {
        return;
      }
    }
    seen.add(k);
    if (this.watchers.has(k) || this.watchers.size >= MAX_WATCHED_DIRS) return;
    try {
      const w = watch(path, { persistent: false }, this.changed);
      w.on('error', () => {
        w.close();
        this.watchers.delete(k);
      });
      this.watchers.set(k, w);
    } catch {
      /* gone, or out of inotify watches: the periodic check still covers it */
    }
  }
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
    // bubblewrap reads its arguments from stdin here (the probe's command reads nothing).
    const r = p.bwrapArgs
      ? spawnSync(p.file, ['--args', '0', ...p.args], { cwd, env: p.env, timeout: 15_000, encoding: 'utf8', input: p.bwrapArgs })
      : spawnSync(p.file, p.args, { cwd, env: p.env, timeout: 15_000, encoding: 'utf8' });
    if (p.tmpHome) rmSync(p.tmpHome, { recursive: true, force: true });
    if (r.status === 0) return undefined;
    return `probe exited ${r.status ?? r.signal}: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

const probed = new Map<IsolationLevel, string | undefined>();

/** Why `level` does not work on this machine (probed once per process), or undefined when it does. */
export function whyUnavailable(level: IsolationLevel): string | undefined {
  if (!probed.has(level)) probed.set(level, probe(level));
  return probed.get(level);
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
 * credentials, and never on a command line), rlimits, a memory limit over all its processes, a
 * wall-clock kill of everything it started, and a kill when its writable places outgrow their
 * disk quota. With `gateway`, OPENAI_BASE_URL reaches the gateway from inside, whatever the
 * level. At levels with a fresh uid the workspace is lent to that uid while the command runs,
 * and given back to its owners when it ends.
 */
export function spawnSandboxed(argv: string[], opts: SandboxOptions): SandboxedProcess {
  if (opts.devices?.length) checkDevices(opts.devices);
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const level = opts.level ?? detectIsolation().level;
  const rootIssue = rootProblem(level, opts);
  if (rootIssue) throw new SandboxUnavailableError(rootIssue);
  const p = plan(level, argv, opts, limits);
  // What the sandbox may write: the workspace, and at uid-rlimits its TMPDIR and what its uid puts in the shared temporary directories.
  const sharedBefore = level === 'uid-rlimits' ? sharedTmpNames() : new Set<string>();
  const leftovers = () => (level === 'uid-rlimits' && p.uid !== undefined ? sharedTmpEntries(p.uid, sharedBefore).filter((e) => e !== p.tmpHome && !under(opts.cwd, e)) : []);
  // Measured before the command starts (see DiskQuota).
  const disk = new DiskQuota([opts.cwd, ...(p.tmpHome ? [p.tmpHome] : [])], leftovers, limits, () => killFor('disk_quota'));
  const cgroup = createSandboxCgroup(limits.memoryBytes);
  let giveBack: (() => void) | undefined;
  let child: ChildProcessWithoutNullStreams;
  try {
    giveBack = p.uid !== undefined ? lendTree(opts.cwd, p.uid) : undefined;
    let [file, args] = [p.file, p.bwrapArgs && !p.argsInline ? ['--args', '3', ...p.args] : p.args];
    // The first process enters the sandbox's cgroup before it starts anything.
    if (cgroup) [file, args] = [SH, ['-c', 'echo $$ > "$0" && exec "$@"', cgroup.procs, file, ...args]];
    child = spawn(file, args, { cwd: opts.cwd, env: p.env, detached: true, stdio: ['pipe', 'pipe', 'pipe', ...(p.bwrapArgs ? (['pipe'] as const) : [])] }) as ChildProcessWithoutNullStreams;
  } catch (e) {
    disk.stop();
    giveBack?.();
    cgroup?.remove();
    if (p.tmpHome) removeTree(p.tmpHome);
    throw e;
  }
  if (p.bwrapArgs) {
    const argsPipe = child.stdio[3] as NodeJS.WritableStream & { on(ev: 'error', f: () => void): void };
    argsPipe.on('error', () => {
      /* bubblewrap did not start: the child's error event reports it */
    });
    argsPipe.end(p.bwrapArgs);
  }
  let killedFor: SandboxExit['killedFor'];
  let exited = false;
  /** Kills the process group, the cgroup, and at uid-rlimits without a cgroup every process of the sandbox's uid (what escaped the group). */
  const killAll = () => {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* the group is gone */
      }
    }
    cgroup?.kill();
    // (A cgroup holds every process the sandbox started, whatever its session: no need to look by uid.)
    if (!cgroup && p.uid !== undefined && level === 'uid-rlimits') spawnSync(SETPRIV as string, [...dropArgs(p.uid).slice(1), SH, '-c', 'kill -9 -1'], { env: {}, timeout: 5000 });
  };
  const killFor = (reason: NonNullable<SandboxExit['killedFor']>) => {
    if (exited) return;
    killedFor ??= reason;
    killAll();
  };
  const timer = setTimeout(() => killFor('wall_time'), limits.wallMs);
  disk.start();
  const memoryOver = () => (cgroup ? cgroup.oomKills() > 0 : child.pid !== undefined && sandboxMemory(child.pid, p.uid) > limits.memoryBytes);
  const memoryWatch = setInterval(() => {
    if (memoryOver()) killFor('memory');
  }, 200);
  // The command has ended: what it left running (holding stdout open) goes too.
  child.on('exit', () => {
    // Over a limit at the very end (the kernel's OOM killer acted, a last write): say so.
    if (!killedFor && cgroup && cgroup.oomKills() > 0) killedFor = 'memory';
    if (!killedFor && disk.isOver(disk.usage(false))) killedFor = 'disk_quota';
    exited = true;
    clearTimeout(timer);
    clearInterval(memoryWatch);
    disk.stop();
    killAll();
  });
  const done = new Promise<SandboxExit>((resolve) => {
    let finished = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (finished) return;
      finished = true;
      exited = true;
      clearTimeout(timer);
      clearInterval(memoryWatch);
      disk.stop();
      if (level === 'uid-rlimits' && p.uid !== undefined) {
        // What it left in the shared temporary directories and SysV IPC goes (its uid is never reused).
        killAll();
        for (const e of leftovers()) {
          try {
            removeTree(e);
          } catch {
            /* best effort */
          }
        }
        removeSysvIpc(p.uid);
      }
      if (p.tmpHome) removeTree(p.tmpHome);
      giveBack?.();
      const exit: SandboxExit = { code, signal, timedOut: killedFor === 'wall_time', ...(killedFor ? { killedFor } : {}) };
      if (cgroup) void removeCgroup(cgroup).then(() => resolve(exit));
      else resolve(exit);
    };
    child.on('error', () => finish(127, null));
    child.on('close', (code, signal) => finish(code, signal));
  });
  return { child, isolation: level, workspace: sandboxView(level, opts.cwd).workspace, done, kill: () => killFor('wall_time') };
}

/** Removes a sandbox's cgroup once its last process is gone (an exited process takes a moment to leave it); gives up after ~5 s. */
async function removeCgroup(cgroup: SandboxCgroup): Promise<void> {
  for (let waited = 0, delay = 1; waited < 5000; waited += delay, delay = Math.min(2 * delay, 100)) {
    cgroup.kill();
    if (cgroup.remove()) return;
    await new Promise((r) => setTimeout(r, delay));
  }
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
