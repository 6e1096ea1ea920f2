import { closeSync, constants, lchownSync, lstatSync, openSync, readdirSync, rmdirSync, unlinkSync, type Stats } from 'node:fs';

/**
 * Past this many characters a path is reached through an open directory (`/proc/self/fd/N/…`)
 * instead of from the root: the kernel refuses paths longer than PATH_MAX (4096), and a sandboxed
 * command may build a tree far deeper than that.
 */
const ANCHOR_AT = 2048;
/** Relative paths longer than this are shortened in reports (they are for people, not syscalls). */
const REPORT_MAX = 1024;

export interface TreeEntry {
  /** The entry's name in its directory. */
  name: string;
  /** A path that reaches the entry (short, possibly through /proc/self/fd): valid during the callback only. */
  path: string;
  st: Stats;
  /** The length of its path relative to the root. */
  relLength: number;
  /** Its path relative to the root, for reports (elided in the middle when very long). */
  rel(): string;
}

/**
 * Visits every entry under `root` (not `root` itself) depth first, a directory before its
 * contents, never following symbolic links, at any depth: one directory file descriptor is open
 * at a time, whatever the depth. `visit` returns `skip` to not descend into a directory, `stop`
 * to end the walk; `leave` is called for a directory after its contents (e.g. to remove it).
 * Entries that vanish or cannot be read meanwhile are passed over.
 */
export function walkTree(root: string, visit: (e: TreeEntry) => 'skip' | 'stop' | void, leave?: (e: TreeEntry) => void): void {
  let fd: number | undefined;
  /** The directory being listed, as a path the kernel accepts. */
  let here = root;
  /** Names from the anchor (root, or the directory `fd` is open on) down to `here`. */
  let tail = 0;
  const frames: { names: string[]; i: number; entry?: TreeEntry; relLength: number }[] = [];
  const list = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  const anchor = (path: string) => {
    const next = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    if (fd !== undefined) closeSync(fd);
    fd = next;
    here = `/proc/self/fd/${next}`;
    tail = 0;
  };
  const relOf = (name: string) => {
    const parts = frames.slice(1).map((f) => (f.entry as TreeEntry).name);
    parts.push(name);
    const rel = parts.join('/');
    return rel.length <= REPORT_MAX ? rel : `${rel.slice(0, REPORT_MAX / 2)}/…/${rel.slice(-REPORT_MAX / 2)}`;
  };
  try {
    if (root.length > ANCHOR_AT) anchor(root);
    frames.push({ names: list(here), i: 0, relLength: -1 });
    while (frames.length) {
      const top = frames[frames.length - 1];
      if (top.i >= top.names.length) {
        frames.pop();
        if (!frames.length) break;
        // Up one level: drop the last name, or (at the anchor itself) open its parent.
        if (tail > 0) {
          here = here.slice(0, here.lastIndexOf('/'));
          tail--;
        } else {
          try {
            anchor(`${here}/..`);
          } catch {
            return;
          }
        }
        const entry = top.entry as TreeEntry;
        if (leave) leave({ ...entry, path: `${here}/${entry.name}` });
        continue;
      }
      const name = top.names[top.i++];
      const path = `${here}/${name}`;
      let st: Stats;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      const entry: TreeEntry = { name, path, st, relLength: top.relLength + 1 + name.length, rel: () => relOf(name) };
      const r = visit(entry);
      if (r === 'stop') return;
      if (r === 'skip' || !st.isDirectory()) continue;
      // Down into it: by name while the path stays short, else through a descriptor opened on it.
      try {
        if (path.length > ANCHOR_AT) anchor(path);
        else {
          here = path;
          tail++;
        }
      } catch {
        continue;
      }
      frames.push({ names: list(here), i: 0, entry, relLength: entry.relLength });
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Bytes and entries under a directory (see {@link diskUsage}). */
export interface DiskUsage {
  bytes: number;
  entries: number;
}

/** What an entry takes: its apparent size, or its allocated blocks when more (preallocated files). */
export function entryBytes(st: Stats): number {
  return Math.max(st.size, st.blocks * 512);
}

/**
 * Bytes and entries under a directory, at any depth: each entry counts its apparent size (a sparse
 * file counts all of it) or its allocated blocks if more, and hard links count once per name.
 * Symbolic links are not followed. Stops early once past `maxEntries` entries or `maxBytes` bytes.
 */
export function diskUsage(dir: string, maxEntries = Number.MAX_SAFE_INTEGER, maxBytes = Number.MAX_SAFE_INTEGER): DiskUsage {
  const u = { bytes: 0, entries: 0 };
  walkTree(dir, ({ st }) => {
    u.entries++;
    u.bytes += entryBytes(st);
    if (u.entries > maxEntries || u.bytes > maxBytes) return 'stop';
  });
  return u;
}

/** Removes a directory and everything under it, at any depth (Node's rmSync fails past PATH_MAX); never follows links. */
export function removeTree(dir: string): void {
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch {
    return;
  }
  if (!st.isDirectory()) {
    unlinkSync(dir);
    return;
  }
  walkTree(
    dir,
    (e) => {
      if (!e.st.isDirectory()) {
        try {
          unlinkSync(e.path);
        } catch {
          /* gone meanwhile */
        }
      }
    },
    (e) => {
      try {
        rmdirSync(e.path);
      } catch {
        /* not empty: something appeared meanwhile */
      }
    },
  );
  rmdirSync(dir);
}

/** Relative paths longer than this are more than the harness's tools (tar, diff, rm) take, with the workspace's own path before them. */
export const MAX_RELATIVE_PATH = 2048;

/**
 * Removes what untrusted code may leave in a workspace to trick the harness into reading or
 * writing outside it — symbolic links, FIFOs, sockets and device nodes — or to make it fail:
 * whatever lies deeper than MAX_RELATIVE_PATH characters (removed whole, at any depth). Returns
 * the removed paths (relative, long ones elided), for the transcript.
 */
export function removeUnsafeEntries(dir: string): string[] {
  const removed: string[] = [];
  walkTree(dir, (e) => {
    if (e.relLength > MAX_RELATIVE_PATH) {
      try {
        removeTree(e.path);
        removed.push(e.rel());
      } catch {
        /* gone meanwhile */
      }
      return 'skip';
    }
    if (e.st.isDirectory() || e.st.isFile()) return;
    try {
      unlinkSync(e.path);
      removed.push(e.rel());
    } catch {
      /* gone meanwhile */
    }
  });
  return removed;
}

const inode = (st: Stats) => `${st.dev}:${st.ino}`;

/**
 * Lends a workspace tree to a sandbox uid (lchown, never following symlinks, at any depth) so the
 * command may write it; the returned function gives every entry back to its owner (entries the
 * command created, to the workspace's owner). Owners are remembered by inode, not by path.
 */
export function lendTree(dir: string, uid: number): () => void {
  const rootSt = lstatSync(dir);
  const root = { uid: rootSt.uid, gid: rootSt.gid };
  const owners = new Map<string, { uid: number; gid: number }>([[inode(rootSt), root]]);
  walkTree(dir, (e) => {
    owners.set(inode(e.st), { uid: e.st.uid, gid: e.st.gid });
    try {
      lchownSync(e.path, uid, uid);
    } catch {
      /* gone meanwhile */
    }
  });
  lchownSync(dir, uid, uid);
  return () => {
    const giveBack = (path: string, st: Stats) => {
      const o = owners.get(inode(st)) ?? root;
      try {
        lchownSync(path, o.uid, o.gid);
      } catch {
        /* removed meanwhile */
      }
    };
    try {
      giveBack(dir, lstatSync(dir));
    } catch {
      return;
    }
    walkTree(dir, (e) => giveBack(e.path, e.st));
  };
}
