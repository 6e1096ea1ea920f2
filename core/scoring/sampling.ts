import { mulberry32 } from './bootstrap';

/**
 * Seeded shuffles, splits and samples: every importer's dev/test split and every TLA's dev sample
 * draws on these, so a seed means the same thing everywhere.
 */

/** A Fisher–Yates shuffle drawing on `rand` (the caller may keep using the same stream). */
export function shuffleWith<T>(xs: readonly T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** A shuffle determined by `seed` alone. */
export function seededShuffle<T>(xs: readonly T[], seed: number): T[] {
  return shuffleWith(xs, mulberry32(seed));
}

/** FNV-1a of a string (32 bits): a stratum's own seed, independent of the order strata appear in. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * A dev/test split stratified by `stratum`: each stratum is shuffled with a seed of (seed, its
 * name) and its first round(size × devFraction) items go to dev. Each split keeps the input order.
 */
export function stratifiedSplit<T>(items: readonly T[], stratum: (t: T) => string, seed: number, devFraction: number): { dev: T[]; test: T[] } {
  const groups = new Map<string, number[]>();
  items.forEach((t, i) => groups.set(stratum(t), [...(groups.get(stratum(t)) ?? []), i]));
  const toDev = new Set<number>();
  for (const [name, members] of groups) {
    const order = seededShuffle(members, (hash32(name) ^ Math.imul(seed, 0x9e3779b1)) >>> 0);
    order.slice(0, Math.round(members.length * devFraction)).forEach((i) => toDev.add(i));
  }
  return { dev: items.filter((_, i) => toDev.has(i)), test: items.filter((_, i) => !toDev.has(i)) };
}

/**
 * A seeded sample of `n` items stratified by `stratum`: each stratum gets its share of `n`
 * (largest remainders round), taken from its shuffle; all items when `n` is not smaller.
 */
export function stratifiedSample<T>(items: readonly T[], n: number, stratum: (t: T) => string, seed: number): T[] {
  if (n >= items.length) return [...items];
  const rand = mulberry32(seed);
  const strata = new Map<string, T[]>();
  for (const t of items) strata.set(stratum(t), [...(strata.get(stratum(t)) ?? []), t]);
  const names = [...strata.keys()].sort();
  const exact = names.map((s) => ((strata.get(s) as T[]).length * n) / items.length);
  const quota = exact.map(Math.floor);
  const byRemainder = names.map((_, i) => i).sort((a, b) => exact[b] - quota[b] - (exact[a] - quota[a]) || a - b);
  for (let k = 0, left = n - quota.reduce((a, b) => a + b, 0); k < left; k++) quota[byRemainder[k]]++;
  return names.flatMap((s, i) => shuffleWith(strata.get(s) as T[], rand).slice(0, quota[i]));
}
