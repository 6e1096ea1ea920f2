import { readFileSync } from 'node:fs';

/**
 * CPU seconds of a process from /proc/<pid>/stat (Linux; undefined elsewhere or once it is gone):
 * its own (utime + stime) and its waited-for children's (cutime + cstime). Clock ticks are 100 a
 * second on Linux.
 */
export function procCpuSeconds(pid: number | 'self' = 'self'): { self: number; children: number } | undefined {
  try {
    // Fields 14-17 of proc(5), 1-based; after the ")" that ends the command name, field 3 comes first.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ').map(Number);
    const [utime, stime, cutime, cstime] = fields.slice(11, 15);
    return { self: (utime + stime) / 100, children: (cutime + cstime) / 100 };
  } catch {
    return undefined;
  }
}
