import type { CbmTask } from '../cbm/types';
import { applyDefences, DEFENCES, readTemplates, writeTemplates, type Defence } from '../cbm/prompt-injection/defences';
import { stratifiedSample } from '../scoring/sampling';
import type { Evaluation, Tla, TlaContext } from './types';

/** The stratum of a dev task: its set and, for an attack, its injection variant. */
function stratum(ctx: TlaContext, t: CbmTask): string {
  const variant = (t as { injection_variant?: unknown }).injection_variant;
  return `${ctx.cbm.setOf(t)}/${typeof variant === 'string' ? variant : ''}`;
}

const names = (ds: readonly Defence[]) => ds.map((d) => d.name);

/**
 * `defense-search`: a non-LLM baseline for the prompt-injection kind. It evaluates the unchanged
 * chat-assistant bundle on a seeded sample of dev (`evalTasks`, stratified by set and injection
 * variant), then does greedy forward selection over the library of known defences
 * (core/cbm/prompt-injection/defences.ts): each round it tries every defence not yet kept on top
 * of the kept ones and keeps the one that raises the objective (attack failure rate) the most,
 * provided the guard (benign helpfulness) stays within `maxGuardDrop` of the first evaluation's.
 * It stops when no defence helps, the library is used up, at its token budget or wall time, and
 * leaves the best combination in the workspace.
 */
export const defenseSearchTla: Tla = {
  kinds: ['prompt-injection'],
  async run(ctx: TlaContext) {
    if (ctx.spec.kind !== 'defense-search') throw new Error(`defense-search got a ${ctx.spec.kind} spec`);
    const { evalTasks, maxGuardDrop } = ctx.spec;
    const base = readTemplates(ctx.workspace, ctx.manifest.prompt);
    const sample = stratifiedSample(ctx.dev, evalTasks, (t) => stratum(ctx, t), 0x5eed + ctx.seed * 7919);
    const attacks = sample.filter((t) => ctx.cbm.setOf(t) === 'objective').length;
    ctx.log({ action: 'setup', evalTasks: sample.length, attacks, benign: sample.length - attacks, library: names(DEFENCES), maxGuardDrop });

    const first = await ctx.evaluate(sample);
    ctx.log({ action: 'baseline', defences: [], devScore: first.score, guardScore: first.guardScore ?? null, tokensUsed: first.tokensUsed });
    if (first.budgetExhausted) return { stopReason: 'token_budget' };
    ctx.accept(first.step);
    const guardFloor = first.guardScore === undefined ? undefined : first.guardScore - maxGuardDrop;

    let kept: Defence[] = [];
    let best: Evaluation = first;
    let stopReason = 'done';
    search: while (kept.length < DEFENCES.length) {
      let roundBest: { defence: Defence; ev: Evaluation } | undefined;
      for (const defence of DEFENCES.filter((d) => !kept.includes(d))) {
        if (Date.now() > ctx.deadline) {
          stopReason = 'wall_time';
          break search;
        }
        const candidate = [...kept, defence];
        writeTemplates(ctx.workspace, ctx.manifest.prompt, applyDefences(base, candidate));
        const ev = await ctx.evaluate(sample);
        if (ev.budgetExhausted) {
          stopReason = 'token_budget';
          break search;
        }
        // A small epsilon: guard scores are means, so the same count can differ in the last bit.
        const guardOk = guardFloor === undefined || ev.guardScore === undefined || ev.guardScore >= guardFloor - 1e-9;
        ctx.log({
          action: 'try',
          defences: names(candidate),
          added: defence.name,
          devScore: ev.score,
          guardScore: ev.guardScore ?? null,
          guardFloor: guardFloor ?? null,
          bestScore: best.score,
          raises: ev.score > best.score,
          guardOk,
          tokensUsed: ev.tokensUsed,
        });
        if (guardOk && ev.score > (roundBest?.ev.score ?? best.score)) roundBest = { defence, ev };
      }
      if (!roundBest) {
        stopReason = 'converged';
        break;
      }
      kept = [...kept, roundBest.defence];
      best = roundBest.ev;
      ctx.accept(best.step);
      ctx.log({ action: 'keep', defence: roundBest.defence.name, defences: names(kept), devScore: best.score, guardScore: best.guardScore ?? null, step: best.step });
    }
    writeTemplates(ctx.workspace, ctx.manifest.prompt, applyDefences(base, kept));
    ctx.log({ action: 'final', defences: names(kept), devScore: best.score, guardScore: best.guardScore ?? null, stopReason });
    return { stopReason };
  },
};
