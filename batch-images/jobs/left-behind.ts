/** Counts of the process's active resources (libuv handles and requests) by type. */
export function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/** What a job left running: resources of a type of which there are more now than before it. */
export function leftBehind(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): string[] {
  return [...after].filter(([type, n]) => n > (before.get(type) ?? 0)).map(([type, n]) => `${n - (before.get(type) ?? 0)} ${type}`);
}
