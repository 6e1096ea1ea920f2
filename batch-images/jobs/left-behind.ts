import { readdirSync, readlinkSync } from 'node:fs';

/**
 * What a process holds that could outlive a job: its active resources (libuv handles and requests
 * keeping it alive) by type, and its open file descriptors by kind (`fd:socket`, `fd:pipe`,
 * `fd:file`), which also shows what is open but unreferenced (an idle kept-alive socket, a
 * FileHandle). Event and signal descriptors libuv opens once for the process are not counted.
 */
export function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
  for (const r of process.getActiveResourcesInfo()) add(r);
  let fds: string[] = [];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    // No /proc (not Linux): the active resources alone.
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the descriptor readdir itself used, closed since
    }
    if (target.startsWith('socket:')) add('fd:socket');
    else if (target.startsWith('pipe:')) add('fd:pipe');
    else if (!target.startsWith('anon_inode:')) add('fd:file');
  }
  return counts;
}

/** What a job left running or open: resources of a kind of which there are more now than before it. */
export function leftBehind(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): string[] {
  return [...after].filter(([type, n]) => n > (before.get(type) ?? 0)).map(([type, n]) => `${n - (before.get(type) ?? 0)} ${type}`);
}
