import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Example, LabelSet } from '../cbm/classification';
import { mulberry32 } from '../scoring/bootstrap';
import { shuffleWith } from '../scoring/sampling';
import { readExamples, writeExamples, type PromptExample } from './prompt-examples';
import type { Tla, TlaContext } from './types';

/** Stop after this many evaluations without improvement. */
const PATIENCE = 15;
const MAX_STEPS = 200;

/**
 * `fewshot-search`: a non-LLM optimiser baseline. It splits dev (seeded) into an evaluation set
 * and a pool of candidate examples, then hill-climbs on the prompt file's examples block: add
 * examples (one for each label not yet shown, else one of the scarcest label), swap one for
 * another of its label, or remove one; each candidate is evaluated on the evaluation set through
 * the gateway and kept if it scores higher (a swap or removal also when it ties). It stops at its token budget, its wall time, after PATIENCE
 * evaluations without gain, or after MAX_STEPS, and leaves the best prompt in the workspace.
 */
export const fewshotSearchTla: Tla = {
  kinds: ['classification'],
  async run(ctx: TlaContext) {
    if (ctx.spec.kind !== 'fewshot-search') throw new Error(`fewshot-search got a ${ctx.spec.kind} spec`);
    const { maxExamples, evalTasks } = ctx.spec;
    if (ctx.cbm.kind !== 'classification') throw new Error(`fewshot-search works on classification CBMs only (got ${ctx.cbm.kind})`);
    const labels = ctx.cbm.meta as LabelSet;
    const dev = ctx.dev as Example[];
    const rand = mulberry32(0x5eed + ctx.seed * 7919);
    const promptPath = join(ctx.workspace, ctx.manifest.prompt);
    const template = readFileSync(promptPath, 'utf8');
    const order = shuffleWith(dev, rand);
    const nEval = Math.min(evalTasks, Math.max(1, Math.floor(order.length / 2)));
    const evalSet = order.slice(0, nEval);
    const pool: Example[] = order.slice(nEval);
    ctx.log({ action: 'setup', evalTasks: evalSet.length, candidatePool: pool.length, maxExamples });

    const write = (examples: PromptExample[]) => writeFileSync(promptPath, writeExamples(template, examples));
    let best: PromptExample[] = readExamples(template);
    write(best);
    const first = await ctx.evaluate(evalSet);
    if (first.budgetExhausted) return { stopReason: 'token_budget' };
    ctx.accept(first.step);
    let bestScore = first.score;
    let sinceGain = 0;
    let stopReason = 'max_steps';
    for (let step = 1; step <= MAX_STEPS; step++) {
      if (Date.now() > ctx.deadline) {
        stopReason = 'wall_time';
        break;
      }
      if (sinceGain >= PATIENCE) {
        stopReason = 'converged';
        break;
      }
      const unused = pool.filter((p) => !best.some((b) => b.text === p.text));
      const r = rand();
      let move: 'add' | 'swap' | 'remove';
      if (best.length === 0) move = 'add';
      else if (best.length >= maxExamples) move = r < 0.7 ? 'swap' : 'remove';
      else move = r < 0.55 ? 'add' : r < 0.85 ? 'swap' : 'remove';
      if (move !== 'remove' && unused.length === 0) move = 'remove';
      let candidate: PromptExample[];
      if (move === 'add') {
        // One example of a label says nothing to a nearest-example reader: a label that is
        // missing gets an example first (all missing labels at once), then the scarcest label.
        const counts = new Map(labels.labels.map((l) => [l, best.filter((b) => b.label === l).length]));
        const fewest = Math.min(...counts.values());
        const scarce = labels.labels.filter((l) => counts.get(l) === fewest);
        const wanted = fewest === 0 ? scarce : [scarce[Math.floor(rand() * scarce.length)]];
        candidate = [...best];
        for (const want of wanted) {
          const options = unused.filter((u) => u.label === want && !candidate.some((c) => c.text === u.text));
          if (!options.length) continue;
          const pick = options[Math.floor(rand() * options.length)];
          candidate.push({ text: pick.text, label: pick.label });
        }
        if (candidate.length === best.length) continue;
      } else if (move === 'swap') {
        const i = Math.floor(rand() * best.length);
        const same = unused.filter((u) => u.label === best[i].label);
        const pick = (same.length ? same : unused)[Math.floor(rand() * (same.length || unused.length))];
        candidate = best.map((b, k) => (k === i ? { text: pick.text, label: pick.label } : b));
      } else {
        const i = Math.floor(rand() * best.length);
        candidate = best.filter((_, k) => k !== i);
      }
      write(candidate);
      const ev = await ctx.evaluate(evalSet);
      if (ev.budgetExhausted) {
        stopReason = 'token_budget';
        break;
      }
      // Ties are kept for swaps and removals: they move along a plateau (or shorten the prompt).
      const keep = ev.score > bestScore || (move !== 'add' && ev.score === bestScore);
      ctx.log({ action: move, examples: candidate.length, devScore: ev.score, bestScore, kept: keep, tokensUsed: ev.tokensUsed });
      if (keep) {
        sinceGain = ev.score > bestScore ? 0 : sinceGain + 1;
        best = candidate;
        bestScore = ev.score;
        ctx.accept(ev.step);
      } else sinceGain++;
    }
    write(best);
    ctx.log({ action: 'final', examples: best.length, devScore: bestScore, stopReason });
    return { stopReason };
  },
};
