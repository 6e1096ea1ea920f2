import type { SweepPlan } from '../core/sweep/plan';

/** `uplift plan`: the expanded matrix and its worst-case cost, per run and in total. */
export function renderPlan(plan: SweepPlan): string {
  const head = ['run', 'TLA', 'RA', 'model', 'CBM', 'variant', 'seed', 'shards', 'worst case $'];
  const rows = plan.runs.map((r) => [r.runId, r.tla.label, r.ra.name, r.ra.modelName, r.cbm.id, r.variant, String(r.seed), String(r.shards), r.worstCaseUsd.toFixed(4)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i >= 6 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const shown = rows.length > 50 ? [...rows.slice(0, 50).map(fmt), `… and ${rows.length - 50} more runs`] : rows.map(fmt);
  return [
    `Sweep ${plan.name}: ${plan.runs.length} runs`,
    fmt(head),
    ...shown,
    '',
    `Worst case: $${plan.worstCaseUsd.toFixed(4)} (budget maxUsd $${plan.budgets.maxUsd.toFixed(2)}); per run: TLA ${plan.budgets.tlaTokens.toLocaleString('en-US')} tokens + 2 × shards × ${plan.budgets.shardTokens.toLocaleString('en-US')} shard tokens, every token at the dearer price.`,
  ].join('\n');
}
