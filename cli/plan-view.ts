import { tableLines as table, usd } from '../core/report';
import { shardJobsAtMost, type RunPlan, type SweepPlan } from '../core/sweep/plan';

/** Worst-case tokens and dollars of runs grouped by one dimension (TLA, RA or CBM). */
function breakdown(plan: SweepPlan, dim: string, key: (r: RunPlan) => string): string[] {
  const groups = new Map<string, RunPlan[]>();
  for (const r of plan.runs) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const tokensOf = (r: RunPlan) => plan.budgets.tlaTokens + shardJobsAtMost(plan.budgetCurve, r.shards) * plan.budgets.shardTokens;
  const rows = [...groups].map(([k, rs]) => [
    k,
    String(rs.length),
    rs.reduce((s, r) => s + tokensOf(r), 0).toLocaleString('en-US'),
    usd(rs.reduce((s, r) => s + r.worstCase.tokensUsd, 0)),
    usd(rs.reduce((s, r) => s + r.worstCase.computeUsd, 0)),
    usd(rs.reduce((s, r) => s + r.worstCaseUsd, 0)),
  ]);
  return table([dim, 'runs', 'tokens', 'tokens $', 'compute $', 'total $'], rows, 1);
}

/** What `onOverBudget: trim` dropped, in words. */
export function describeTrim(plan: SweepPlan): string | undefined {
  if (!plan.trimmed.length) return undefined;
  const runs = plan.trimmed.reduce((s, t) => s + t.runs, 0);
  return [
    `Trimmed to fit budgets.maxUsd (onOverBudget: trim): dropped ${plan.trimmed.length} cell(s), ${runs} run(s), last cells of the matrix first:`,
    ...plan.trimmed.map((t) => `  - ${t.cell}: ${t.runs} run(s), worst case ${usd(t.worstCaseUsd)}`),
  ].join('\n');
}

/** `uplift plan`: the expanded matrix and its worst-case cost, per run, per TLA/RA/CBM and in total. */
export function renderPlan(plan: SweepPlan): string {
  const head = ['run', 'TLA', 'RA', 'model', 'CBM', 'variant', 'seed', 'shards', 'tokens $', 'compute $', 'worst case $'];
  const rows = plan.runs.map((r) => [r.runId, r.tla.label, r.ra.name, r.ra.modelName, r.cbm.id, r.variant, String(r.seed), String(r.shards), usd(r.worstCase.tokensUsd), usd(r.worstCase.computeUsd), usd(r.worstCaseUsd)]);
  const [h, ...body] = table(head, rows, 6);
  const shown = body.length > 50 ? [...body.slice(0, 50), `… and ${body.length - 50} more runs`] : body;
  const compute = (q: 'cpu' | 'gpu') => {
    const c = plan.compute[q];
    return c.kind === 'local' ? 'this machine (free)' : c.kind === 'fargate' ? `Fargate ${c.vcpus} vCPU / ${c.memoryMiB} MiB` : `EC2 ${c.instanceTypes.join(' | ')}`;
  };
  return [
    `Sweep ${plan.name}: ${plan.runs.length} runs`,
    h,
    ...shown,
    '',
    ...breakdown(plan, 'TLA', (r) => r.tla.label),
    '',
    ...breakdown(plan, 'RA', (r) => `${r.ra.name} (${r.ra.modelName})`),
    '',
    ...breakdown(plan, 'CBM', (r) => r.cbm.id),
    '',
    `Worst case: ${usd(plan.worstCaseUsd)} of budgets.maxUsd ${usd(plan.budgets.maxUsd)}. Per run: TLA ${plan.budgets.tlaTokens.toLocaleString('en-US')} tokens + ${plan.budgetCurve ? `(2 + ${plan.budgetCurve.length} budget-curve points)` : '2'} × shards × ${plan.budgets.shardTokens.toLocaleString('en-US')} shard tokens, every token at the dearer price; job time at the wall-clock limits (CPU jobs: ${compute('cpu')}; GPU jobs: ${compute('gpu')}).`,
    ...(describeTrim(plan) ? ['', describeTrim(plan) as string] : []),
  ].join('\n');
}
