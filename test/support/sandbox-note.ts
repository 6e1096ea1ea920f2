/**
 * A run's warnings without the one that says its agents ran without network isolation: that one
 * depends on the machine (no bubblewrap: a weaker level), not on what a test pins.
 */
export function withoutSandboxNote(warnings: readonly string[] | undefined): string[] {
  return (warnings ?? []).filter((w) => !/which does not isolate the network/.test(w));
}
