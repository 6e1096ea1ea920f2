import { fitTable, fittedTable, omittedNote, terminalWidth, usd, wrapText } from '../core/report';
import { jobUsdPerHour, type JobCompute } from '../core/pricing';
import { shardJobsAtMost, type RunPlan, type SweepPlan } from '../core/sweep/plan';

/** Worst-case tokens and dollars of runs grouped by one dimension (TLA, RA or CBM), fitted to `width`. */
function breakdown(plan: SweepPlan, dim: string, key: (r: RunPlan) => string, width: number): string {
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
  return fittedTable([dim, 'runs', 'tokens', 'tokens $', 'compute $', 'total $'], rows, 1, width, { keep: ['total $'], dropFirst: ['tokens', 'compute $', 'tokens $'], label: 1 });
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

/** One queue's compute in words, with its hourly price (the spec's `prices.instances` over the built-in table). */
function describeJobCompute(c: JobCompute, prices: SweepPlan['prices']): string {
  const what = c.kind === 'local' ? 'this machine' : c.kind === 'fargate' ? `Fargate ${c.vcpus} vCPU ${c.memoryMiB % 1024 ? `${c.memoryMiB} MiB` : `${c.memoryMiB / 1024} GiB`}` : c.instanceTypes.join('|');
  let hourly: string;
  try {
    hourly = `$${jobUsdPerHour(c, prices).toFixed(4)}/h${c.kind === 'ec2' && c.instanceTypes.length > 1 ? ', the dearest' : ''}`;
  } catch {
    hourly = 'no price: add it to prices.instances';
  }
  return `${what} (${hourly})`;
}

/**
 * What job time was priced with: a stack config's compute (`uplift plan --stack-config`: what a
 * stack deployed from it runs jobs on), or this machine's.
 */
export function describeCompute(plan: Pick<SweepPlan, 'compute' | 'prices'>, stackConfig?: string): string {
  const d = (c: JobCompute) => describeJobCompute(c, plan.prices);
  const { cpu, gpu, images } = plan.compute;
  if (cpu.kind === 'local' && gpu.kind === 'local' && (!images || images.kind === 'local'))
    return `Job time priced at local rates: every job on ${d(cpu)}. --stack-config <file> prices it as a stack deployed from that config would (e.g. --stack-config infra/uplift.config.json).`;
  return `Job time priced for ${stackConfig === undefined ? 'the stack' : `the stack config ${stackConfig}`}: cpu ${d(cpu)}, gpu ${d(gpu)}, images ${images ? d(images) : 'none (priced as cpu)'}.`;
}

/** Columns of the plan's runs table that always stay; the others give way in the order after them (the run id holds TLA, RA, CBM, variant and seed). */
const PLAN_COLUMNS_KEPT = ['run', 'model', 'worst case $'];
const PLAN_COLUMNS_DROPPED_FIRST = ['seed', 'variant', 'CBM', 'RA', 'TLA', 'compute $', 'tokens $', 'shards'];

/**
 * `uplift plan`: the expanded matrix and its worst-case cost, per run, per TLA/RA/CBM and in total,
 * fitted to `width` columns (@default terminalWidth(): $UPLIFT_COLUMNS, the terminal's, else 100).
 */
export function renderPlan(plan: SweepPlan, stackConfig?: string, width?: number): string {
  const term = width === undefined ? terminalWidth() : { width };
  const w = term.width;
  const head = ['run', 'TLA', 'RA', 'model', 'CBM', 'variant', 'seed', 'shards', 'tokens $', 'compute $', 'worst case $'];
  const rows = plan.runs.map((r) => [r.runId, r.tla.label, r.ra.name, r.ra.modelName, r.cbm.id, r.variant, String(r.seed), String(r.shards), usd(r.worstCase.tokensUsd), usd(r.worstCase.computeUsd), usd(r.worstCaseUsd)]);
  const runs = fitTable(head, rows.slice(0, 50), 6, w, { keep: PLAN_COLUMNS_KEPT, dropFirst: PLAN_COLUMNS_DROPPED_FIRST, label: 1 });
  const more = rows.length > 50 ? [`… and ${rows.length - 50} more runs`] : [];
  const trim = describeTrim(plan);
  return [
    wrapText(`Sweep ${plan.name}: ${plan.runs.length} runs`, w),
    ...runs.lines,
    ...more,
    ...omittedNote(runs, w),
    '',
    breakdown(plan, 'TLA', (r) => r.tla.label, w),
    '',
    breakdown(plan, 'RA', (r) => `${r.ra.name} (${r.ra.modelName})`, w),
    '',
    breakdown(plan, 'CBM', (r) => r.cbm.id, w),
    '',
    wrapText(
      `Worst case: ${usd(plan.worstCaseUsd)} of budgets.maxUsd ${usd(plan.budgets.maxUsd)}. Per run: TLA ${plan.budgets.tlaTokens.toLocaleString('en-US')} tokens + ${plan.budgetCurve ? `(2 + ${plan.budgetCurve.length} budget-curve points)` : '2'} × shards × ${plan.budgets.shardTokens.toLocaleString('en-US')} shard tokens, every token at the dearer price; job time at the wall-clock limits.`,
      w,
    ),
    wrapText(describeCompute(plan, stackConfig), w),
    ...(trim ? ['', wrapText(trim, w, '    ')] : []),
    ...(term.warning ? ['', wrapText(`! ${term.warning}`, w, '  ')] : []),
  ].join('\n');
}
