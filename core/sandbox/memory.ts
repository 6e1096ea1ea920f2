import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * The memory limit of one sandbox, over all its processes together: a cgroup (v2 `memory.max`, or
 * v1 `memory.limit_in_bytes`) where the harness may create one, so the kernel enforces it; else
 * the harness samples the sandbox's processes (see {@link sandboxMemory}).
 */
export interface SandboxCgroup {
  version: 1 | 2;
  dir: string;
  /** Where the sandbox's first process writes its pid to enter the cgroup. */
  procs: string;
  /** How many times the kernel's OOM killer acted in the cgroup. */
  oomKills(): number;
  /** Every process in the cgroup now. */
  pids(): number[];
  /** SIGKILLs everything in the cgroup. */
  kill(): void;
  /** Removes the cgroup once it is empty; true when it is gone. */
  remove(): boolean;
}

interface Hierarchy {
  version: 1 | 2;
  /** The directory under which sandbox cgroups are created. */
  base: string;
}

let hierarchy: Hierarchy | null | undefined;

interface Mount {
  /** Where the hierarchy is mounted. */
  path: string;
  /** Which of its cgroups appears there (not `/` when the mount shows a subtree, as in some containers). */
  root: string;
}

/** The harness's own cgroup directory in the hierarchy mounted at `mount`, from /proc/self/cgroup; undefined when the mount does not show it. */
function ownCgroup(mount: Mount, match: (controllers: string[]) => boolean): string | undefined {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m || !match(m[1].split(','))) continue;
    const rel = relative(mount.root, m[2]);
    return rel.startsWith('..') ? undefined : resolve(mount.path, rel);
  }
  return undefined;
}

const readOr = (file: string, fallback = '') => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
};

/**
 * cgroup v2 with the memory controller: sandbox cgroups go under the harness's own cgroup. A
 * cgroup with processes cannot hand controllers to children: at the root of a cgroup namespace (a
 * container) its processes first move into a leaf `uplift-harness`, as container init systems do
 * (the container's limits still apply to all of it); elsewhere (e.g. a systemd session, not ours
 * to rearrange) without delegation there is no cgroup.
 */
function cgroupV2(mount: Mount): Hierarchy | undefined {
  if (!readOr(join(mount.path, 'cgroup.controllers')).split(/\s+/).includes('memory')) return undefined;
  const own = ownCgroup(mount, (c) => c.length === 1 && c[0] === '');
  if (!own || !readOr(join(own, 'cgroup.controllers')).split(/\s+/).includes('memory')) return undefined;
  const control = join(own, 'cgroup.subtree_control');
  if (!readOr(control).split(/\s+/).includes('memory')) {
    try {
      writeFileSync(control, '+memory');
    } catch (e) {
      if (own !== resolve(mount.path)) throw e;
      const leaf = join(own, 'uplift-harness');
      mkdirSync(leaf, { recursive: true });
      for (const pid of readOr(join(own, 'cgroup.procs')).split('\n').filter(Boolean)) {
        try {
          writeFileSync(join(leaf, 'cgroup.procs'), pid);
        } catch {
          /* exited meanwhile */
        }
      }
      writeFileSync(control, '+memory');
    }
  }
  return { version: 2, base: own };
}

/** cgroup v1 with the memory controller: sandbox cgroups go under the harness's own memory cgroup. */
function cgroupV1(mount: Mount): Hierarchy | undefined {
  const own = ownCgroup(mount, (c) => c.includes('memory'));
  if (!own || !existsSync(join(own, 'memory.limit_in_bytes'))) return undefined;
  return { version: 1, base: own };
}

const PREFIX = 'uplift-sandbox-';

/** Removes sandbox cgroups a harness that died left behind: empty ones over a minute old (a live sandbox's is never empty for long). */
function removeStale(base: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    try {
      if (Date.now() - statSync(join(base, name)).ctimeMs > 60_000) rmdirSync(join(base, name));
    } catch {
      /* in use */
    }
  }
}

/** Where sandbox cgroups can be made here, found once per process; null when nowhere. */
function findHierarchy(): Hierarchy | null {
  if (hierarchy !== undefined) return hierarchy;
  hierarchy = null;
  try {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => {
        const [pre, post] = l.split(' - ');
        if (!post) return undefined;
        const [fstype, , superOpts] = post.split(' ');
        const fields = pre.split(' ');
        return { root: fields[3], path: fields[4], fstype, opts: (superOpts ?? '').split(',') };
      })
      .filter((m) => m !== undefined);
    const v2 = mounts.find((m) => m.fstype === 'cgroup2');
    const v1 = mounts.find((m) => m.fstype === 'cgroup' && m.opts.includes('memory'));
    for (const attempt of [() => (v2 ? cgroupV2(v2) : undefined), () => (v1 ? cgroupV1(v1) : undefined)]) {
      try {
        const h = attempt();
        if (h) {
          removeStale(h.base);
          return (hierarchy = h);
        }
      } catch {
        /* not writable here: try the next */
      }
    }
  } catch {
    /* no /proc/self/mountinfo */
  }
  return hierarchy;
}

/**
 * A fresh cgroup limiting the memory of everything in it to `limitBytes` (no swap), or undefined
 * where the harness may not create one (then the caller samples processes instead).
 * UPLIFT_SANDBOX_CGROUPS=0 turns cgroups off.
 */
export function createSandboxCgroup(limitBytes: number, env: Record<string, string | undefined> = process.env): SandboxCgroup | undefined {
  if (env.UPLIFT_SANDBOX_CGROUPS === '0') return undefined;
  const h = findHierarchy();
  if (!h) return undefined;
  const dir = join(h.base, `${PREFIX}${randomBytes(6).toString('hex')}`);
  try {
    mkdirSync(dir);
  } catch {
    return undefined;
  }
  const limit = String(Math.max(1, Math.floor(limitBytes)));
  const remove = () => {
    try {
      rmdirSync(dir);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT';
    }
  };
  try {
    if (h.version === 2) {
      writeFileSync(join(dir, 'memory.max'), limit);
      if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
      // One process over the limit ends them all, as the watchdog does.
      if (existsSync(join(dir, 'memory.oom.group'))) writeFileSync(join(dir, 'memory.oom.group'), '1');
    } else {
      writeFileSync(join(dir, 'memory.limit_in_bytes'), limit);
      if (existsSync(join(dir, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(dir, 'memory.memsw.limit_in_bytes'), limit);
    }
  } catch {
    remove();
    return undefined;
  }
  const procs = join(dir, 'cgroup.procs');
  const pids = () =>
    readOr(procs)
      .split('\n')
      .filter(Boolean)
      .map(Number);
  return {
    version: h.version,
    dir,
    procs,
    oomKills: () => {
      const m = /^oom_kill (\d+)$/m.exec(readOr(join(dir, h.version === 2 ? 'memory.events' : 'memory.oom_control')));
      return m ? Number(m[1]) : 0;
    },
    pids,
    kill: () => {
      if (h.version === 2 && existsSync(join(dir, 'cgroup.kill'))) {
        try {
          writeFileSync(join(dir, 'cgroup.kill'), '1');
          return;
        } catch {
          /* fall back to signalling each process */
        }
      }
      // A process may fork while we signal: a few rounds catch its children.
      for (let round = 0; round < 10; round++) {
        const now = pids();
        if (!now.length) return;
        for (const pid of now) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
    },
    remove,
  };
}

interface ProcInfo {
  pid: number;
  ppid: number;
  session: number;
  uid: number;
}

/** Every process on the host now: pid, parent, session and owner (from /proc). */
export function processTable(): ProcInfo[] {
  const table: ProcInfo[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return table;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces and parentheses): state ppid pgrp session …
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.push({ pid: Number(name), ppid: Number(f[1]), session: Number(f[3]), uid: statSync(`/proc/${name}`).uid });
    } catch {
      /* exited meanwhile */
    }
  }
  return table;
}

/**
 * The processes of a sandbox: the descendants of its first process, those still in its session
 * (orphans reparented away), and — with a fresh uid — every process of that uid.
 */
export function sandboxPids(table: readonly ProcInfo[], root: number, uid?: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of table) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const found = new Set<number>();
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop() as number;
    if (found.has(pid)) continue;
    found.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  for (const p of table) if (p.session === root || (uid !== undefined && p.uid === uid)) found.add(p.pid);
  return [...found];
}

/**
 * Memory a process holds that only killing it gives back: its anonymous and shared-memory pages,
 * each shared page divided among the processes sharing it (PSS, so forked children are not
 * counted twice), in bytes. Falls back to RSS counts on kernels without `Pss_Anon`.
 */
export function processMemory(pid: number): number {
  const rollup = readOr(`/proc/${pid}/smaps_rollup`);
  const kb = (text: string, field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const anon = kb(rollup, 'Pss_Anon');
  if (anon !== undefined) return (anon + (kb(rollup, 'Pss_Shmem') ?? 0)) * 1024;
  const status = readOr(`/proc/${pid}/status`);
  return ((kb(status, 'RssAnon') ?? 0) + (kb(status, 'RssShmem') ?? 0)) * 1024;
}

/** The memory of all of a sandbox's processes together (see {@link processMemory}). */
export function sandboxMemory(root: number, uid?: number): number {
  return sandboxPids(processTable(), root, uid).reduce((sum, pid) => sum + processMemory(pid), 0);
}
