import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CbmTask } from '../cbm/types';
import { MC_STOPWORDS, readForgetKeywords, writeForgetDirective } from '../cbm/multiple-choice/offline';
import { stratifiedSample } from '../scoring/sampling';
import type { Tla, TlaContext, TlaOutcome } from './types';

/** Stop after this many candidates in a row that were not kept. */
export const UNLEARN_PATIENCE = 8;
/** Add-α smoothing of the log-odds. */
const ALPHA = 0.5;
/** A candidate must occur in at least this many forget questions. */
const MIN_FORGET_COUNT = 2;

/** A candidate keyword and the counts behind its score. */
export interface KeywordCandidate {
  word: string;
  /** Smoothed log-odds of occurring in a forget rather than a retain question. */
  score: number;
  /** Forget (objective) and retain (guard) questions it occurs in. */
  forget: number;
  retain: number;
}

/** Words of how questions are asked, not of what they are about: never candidates. */
export const QUESTION_WORDS: ReadonlySet<string> = new Set(
  'about after before called does done first kind known main make makes mean means name often purpose role should term true type usually'.split(' '),
);

/** A word's group: lowercase, a final "s" dropped from words of 4+ letters not ending in "ss", "us" or "is". */
function groupOf(w: string): string {
  return w.length >= 4 && /s$/.test(w) && !/(ss|us|is)$/.test(w) ? w.slice(0, -1) : w;
}

/** Distinct word groups of a question, with the surface forms seen: words of 4+ letters, stopwords and {@link QUESTION_WORDS} left out. */
function wordsOf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const w of text.toLowerCase().match(/[a-z][a-z0-9-]*[a-z0-9]/g) ?? []) {
    if (w.length < 4 || MC_STOPWORDS.has(w) || QUESTION_WORDS.has(w)) continue;
    const g = groupOf(w);
    if (!out.has(g)) out.set(g, w);
  }
  return out;
}

/**
 * Candidate forget keywords, most distinctive first. Each word (grouped with its plural) is
 * scored by the smoothed log-odds of occurring in a forget question rather than a retain one:
 * ln((f + ½) / (F − f + ½)) − ln((r + ½) / (R − r + ½)), with f of the F forget questions and r of
 * the R retain questions holding it (words of 4+ letters; stopwords and {@link QUESTION_WORDS} left
 * out). Candidates occur in at least 2 forget questions and score
 * above 0; ties go to the word in more forget questions, then alphabetical. A word is shown in
 * its most frequent surface form.
 */
export function rankForgetKeywords(forget: readonly string[], retain: readonly string[]): KeywordCandidate[] {
  const count = (qs: readonly string[]) => {
    const df = new Map<string, number>();
    const forms = new Map<string, Map<string, number>>();
    for (const q of qs)
      for (const [g, w] of wordsOf(q)) {
        df.set(g, (df.get(g) ?? 0) + 1);
        const f = forms.get(g) ?? new Map<string, number>();
        f.set(w, (f.get(w) ?? 0) + 1);
        forms.set(g, f);
      }
    return { df, forms };
  };
  const fo = count(forget);
  const re = count(retain);
  const F = forget.length;
  const R = retain.length;
  const out: KeywordCandidate[] = [];
  for (const [g, f] of fo.df) {
    if (f < MIN_FORGET_COUNT) continue;
    const r = re.df.get(g) ?? 0;
    const score = Math.log((f + ALPHA) / (F - f + ALPHA)) - Math.log((r + ALPHA) / (R - r + ALPHA));
    if (!(score > 0)) continue;
    const forms = [...(fo.forms.get(g) ?? new Map<string, number>())].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    out.push({ word: forms[0][0], score, forget: f, retain: r });
  }
  return out.sort((a, b) => b.score - a.score || b.forget - a.forget || a.word.localeCompare(b.word));
}

/** Whether a question holds a keyword (every word of it, grouped with plurals). */
function holds(question: string, keyword: string): boolean {
  const have = wordsOf(question);
  const need = [...wordsOf(keyword).keys()];
  return need.length > 0 && need.every((g) => have.has(g));
}

const questionOf = (t: CbmTask): string => {
  const q = (t as { question?: unknown }).question;
  return typeof q === 'string' ? q : '';
};

/**
 * `unlearn-search`: a non-LLM baseline for the multiple-choice goal `unlearn`. It ranks candidate
 * keywords by how distinctive they are of the forget-set dev questions against the retain-set dev
 * questions ({@link rankForgetKeywords}), then greedily adds them, most distinctive first, to the
 * forget directive of the bundle's prompt file (`Do not use knowledge about: …`, see
 * core/cbm/multiple-choice/offline.ts): each candidate is evaluated on a seeded dev sample
 * (`evalTasks`, forget and retain tasks in proportion) and kept when the objective (forget drop)
 * rises and the guard (retain accuracy) is no more than `maxGuardDrop` below the first
 * evaluation's. A candidate is skipped without an evaluation when every forget dev question that
 * holds it already holds a kept keyword. It stops at its token budget, its wall time,
 * `maxKeywords`, after {@link UNLEARN_PATIENCE} rejected candidates in a row, or when the
 * candidates run out, and leaves the best directive in the workspace. On goal `maximize` it has
 * nothing to do: it logs that and stops (`not_applicable`).
 */
export const unlearnSearchTla: Tla = {
  kinds: ['multiple-choice'],
  async run(ctx: TlaContext): Promise<TlaOutcome> {
    if (ctx.spec.kind !== 'unlearn-search') throw new Error(`unlearn-search got a ${ctx.spec.kind} spec`);
    const goal = ctx.cbm.spec.goal;
    if (goal !== 'unlearn') {
      ctx.log({ action: 'not_applicable', goal, reason: 'unlearn-search only searches forget directives for goal "unlearn"; the bundle is left as it is' });
      return { stopReason: 'not_applicable' };
    }
    const { evalTasks, maxGuardDrop, maxKeywords } = ctx.spec;
    const promptPath = join(ctx.workspace, ctx.manifest.prompt);
    const template = readFileSync(promptPath, 'utf8');
    const isForget = (t: CbmTask) => ctx.cbm.setOf(t) === 'objective';
    const forgetQs = ctx.dev.filter(isForget).map(questionOf);
    const retainQs = ctx.dev.filter((t) => !isForget(t)).map(questionOf);
    const candidates = rankForgetKeywords(forgetQs, retainQs);
    const sample = stratifiedSample(ctx.dev, evalTasks, (t) => ctx.cbm.setOf(t), 0x0f0e7 + ctx.seed * 7919);
    const kept = readForgetKeywords(template);
    ctx.log({ action: 'setup', evalTasks: sample.length, forgetDev: forgetQs.length, retainDev: retainQs.length, candidates: candidates.slice(0, 30), startKeywords: kept });

    const write = (keywords: readonly string[]) => writeFileSync(promptPath, writeForgetDirective(template, keywords));
    write(kept);
    const first = await ctx.evaluate(sample);
    if (first.budgetExhausted) return { stopReason: 'token_budget' };
    ctx.accept(first.step);
    let best = first.score;
    const floor = first.guardScore === undefined ? undefined : first.guardScore - maxGuardDrop;
    ctx.log({ action: 'baseline', devScore: first.score, guardScore: first.guardScore, guardFloor: floor, tokensUsed: first.tokensUsed });

    let stopReason = 'candidates_exhausted';
    let misses = 0;
    for (const c of candidates) {
      if (kept.length >= maxKeywords) {
        stopReason = 'max_keywords';
        break;
      }
      if (Date.now() > ctx.deadline) {
        stopReason = 'wall_time';
        break;
      }
      if (misses >= UNLEARN_PATIENCE) {
        stopReason = 'converged';
        break;
      }
      if (kept.some((k) => holds(c.word, k) || holds(k, c.word))) continue;
      const covers = forgetQs.filter((q) => holds(q, c.word));
      if (covers.every((q) => kept.some((k) => holds(q, k)))) continue;
      const candidate = [...kept, c.word];
      write(candidate);
      const ev = await ctx.evaluate(sample);
      if (ev.budgetExhausted) {
        stopReason = 'token_budget';
        break;
      }
      const guardOk = floor === undefined || ev.guardScore === undefined || ev.guardScore >= floor - 1e-9;
      const keep = ev.score > best && guardOk;
      ctx.log({ action: 'add', keyword: c.word, keywords: candidate, devScore: ev.score, guardScore: ev.guardScore, bestScore: best, kept: keep, tokensUsed: ev.tokensUsed });
      if (keep) {
        kept.push(c.word);
        best = ev.score;
        misses = 0;
        ctx.accept(ev.step);
      } else misses++;
    }
    write(kept);
    ctx.log({ action: 'final', keywords: kept, devScore: best, stopReason });
    return { stopReason };
  },
};
