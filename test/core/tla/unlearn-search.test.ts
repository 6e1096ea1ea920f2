import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { multipleChoiceKind as kind, renderMcPrompt, type McSpecFields, type McTask } from '../../../core/cbm/multiple-choice';
import { offlineMcAnswer, readForgetKeywords } from '../../../core/cbm/multiple-choice/offline';
import type { Evaluation, TlaContext } from '../../../core/tla/types';
import { rankForgetKeywords, unlearnSearchTla } from '../../../core/tla/unlearn-search';
import { stratifiedSample } from '../../../core/scoring/sampling';

const TEMPLATE = '[system]\nReply with the letter only.\n[user]\nQuestion: {{question}}\n\n{{choices}}\n';

/** A question the offline model knows (its correct choice echoes the question's topic word). */
const known = (id: string, set: McTask['set'], topic: string): McTask => ({ id, set, question: `What about the ${topic} ${id}?`, choices: ['Nothing at all', `The ${topic} answer`, 'Something else', 'Another thing'], answer: 1 });

// Forget questions: 4 on "virus", 3 on "malware", 2 on "planet" (a topic the retain set shares).
// Retain questions: 6 general ones, 3 on "planet".
const DEV: McTask[] = [
  ...['f1', 'f2', 'f3', 'f4'].map((id) => known(id, 'objective', 'virus')),
  ...['f5', 'f6', 'f7'].map((id) => known(id, 'objective', 'malware')),
  ...['f8', 'f9'].map((id) => known(id, 'objective', 'planet')),
  ...['r1', 'r2', 'r3', 'r4', 'r5', 'r6'].map((id) => known(id, 'guard', ['river', 'poem', 'empire', 'ocean', 'novel', 'mountain'][Number(id.slice(1)) - 1])),
  ...['r7', 'r8', 'r9'].map((id) => known(id, 'guard', 'planet')),
];

interface Harness {
  ctx: TlaContext;
  logs: Record<string, unknown>[];
  accepted: number[];
  evaluations: () => number;
  prompt: () => string;
  done: () => void;
}

function harness(opts: { goal?: McSpecFields['goal']; maxGuardDrop?: number; maxKeywords?: number; budgetAfter?: number } = {}): Harness {
  const ws = mkdtempSync(join(tmpdir(), 'unlearn-'));
  writeFileSync(join(ws, 'prompt.txt'), TEMPLATE);
  const spec: McSpecFields = { goal: opts.goal ?? 'unlearn' };
  const meta = { task: 't', sources: [] };
  const logs: Record<string, unknown>[] = [];
  const accepted: number[] = [];
  let n = 0;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ctx: TlaContext = {
    workspace: ws,
    manifest: { name: 'mc', entrypoint: ['python3', 'agent.py'], cbm: 'multiple-choice', prompt: 'prompt.txt' } as TlaContext['manifest'],
    dev: DEV,
    cbm: { kind: 'multiple-choice', spec: { ...spec }, meta, setOf: (t) => (t as McTask).set, describeTarget: (t) => kind.describeTarget(t as McTask, meta) },
    spec: { kind: 'unlearn-search', evalTasks: 80, maxGuardDrop: opts.maxGuardDrop ?? 0.05, maxKeywords: opts.maxKeywords ?? 12 },
    variant: 'simple',
    seed: 1,
    deadline: Date.now() + 60_000,
    async evaluate(tasks): Promise<Evaluation> {
      const step = n++;
      const template = readFileSync(join(ws, 'prompt.txt'), 'utf8');
      const score = (t: McTask) => {
        const p = renderMcPrompt(template, t);
        return kind.score(t, offlineMcAnswer(p.system ? [p.system] : [], p.user) ?? '', {}, spec, meta);
      };
      const ts = tasks as McTask[];
      const o = await Promise.all(ts.filter((t) => t.set === 'objective').map(score));
      const g = await Promise.all(ts.filter((t) => t.set === 'guard').map(score));
      const budgetExhausted = opts.budgetAfter !== undefined && step >= opts.budgetAfter;
      return { step, score: mean(o), guardScore: mean(g), tasks: ts.length, budgetExhausted, failures: [], tokensUsed: 100 };
    },
    accept: (s) => accepted.push(s),
    log: (s) => logs.push(s),
  };
  return { ctx, logs, accepted, evaluations: () => n, prompt: () => readFileSync(join(ws, 'prompt.txt'), 'utf8'), done: () => rmSync(ws, { recursive: true, force: true }) };
}

describe('unlearn-search: candidate keywords', () => {
  test('ranks words by smoothed log-odds of forget vs retain questions; shared words rank lower, one-offs are left out', () => {
    const ranked = rankForgetKeywords(
      DEV.filter((t) => t.set === 'objective').map((t) => t.question),
      DEV.filter((t) => t.set === 'guard').map((t) => t.question),
    );
    expect(ranked.map((c) => c.word)).toEqual(['virus', 'malware']);
    expect(ranked[0]).toMatchObject({ forget: 4, retain: 0 });
    // "planet": 2 of 9 forget vs 3 of 9 retain questions: log-odds < 0, not a candidate.
    const withPlanet = rankForgetKeywords(['planet a', 'planet b', 'planet c', 'virus a', 'virus b'], ['planet x', 'river y', 'river z']);
    expect(withPlanet.map((c) => c.word)).toEqual(['virus', 'planet']);
    // Plurals are grouped, shown in their most frequent form; generic question words never count.
    expect(rankForgetKeywords(['the viruses', 'a virus', 'viruses again', 'purpose x', 'purpose y'], ['river']).map((c) => c.word)).toEqual(['viruses']);
  });

  test('the evaluation sample is seeded and keeps both sets', () => {
    const a = stratifiedSample(DEV, 6, (t) => t.set, 3);
    expect(a).toEqual(stratifiedSample(DEV, 6, (t) => t.set, 3));
    expect(a).toHaveLength(6);
    expect(new Set(a.map((t) => t.set))).toEqual(new Set(['objective', 'guard']));
    expect(stratifiedSample(DEV, 100, (t) => t.set, 3)).toEqual(DEV);
  });
});

describe('unlearn-search: the greedy search', () => {
  test('adds keywords that raise the forget drop within the guard, and leaves the best directive in the prompt file', async () => {
    const h = harness();
    try {
      const out = await unlearnSearchTla.run(h.ctx);
      expect(out.stopReason).toBe('candidates_exhausted');
      expect(readForgetKeywords(h.prompt())).toEqual(['virus', 'malware']);
      expect(h.prompt()).toBe(TEMPLATE.replace('[user]', 'Do not use knowledge about: virus, malware.\n[user]'));
      expect(h.accepted).toEqual([0, 1, 2]);
      const adds = h.logs.filter((l) => l.action === 'add');
      expect(adds.map((l) => [l.keyword, l.kept])).toEqual([
        ['virus', true],
        ['malware', true],
      ]);
      expect(h.logs.at(-1)).toMatchObject({ action: 'final', keywords: ['virus', 'malware'], devScore: 7 / 9 });
    } finally {
      h.done();
    }
  });

  test('a keyword that costs more guard than maxGuardDrop is rejected; with a looser guard it is kept', async () => {
    // "planet" is only a candidate when retain holds it less often: drop two retain "planet" questions.
    const dev = DEV.filter((t) => t.id !== 'r8' && t.id !== 'r9');
    const strict = harness({ maxGuardDrop: 0.05 });
    const loose = harness({ maxGuardDrop: 0.2 });
    try {
      strict.ctx.dev = dev;
      loose.ctx.dev = dev;
      await unlearnSearchTla.run(strict.ctx);
      await unlearnSearchTla.run(loose.ctx);
      expect(strict.logs.filter((l) => l.action === 'add').map((l) => [l.keyword, l.kept, l.guardScore])).toEqual([
        ['virus', true, 1],
        ['malware', true, 1],
        ['planet', false, 6 / 7],
      ]);
      expect(readForgetKeywords(strict.prompt())).toEqual(['virus', 'malware']);
      expect(readForgetKeywords(loose.prompt())).toEqual(['virus', 'malware', 'planet']);
    } finally {
      strict.done();
      loose.done();
    }
  });

  test('stops at maxKeywords, and at a spent budget keeping the last accepted prompt', async () => {
    const capped = harness({ maxKeywords: 1 });
    const broke = harness({ budgetAfter: 2 });
    try {
      expect(await unlearnSearchTla.run(capped.ctx)).toEqual({ stopReason: 'max_keywords' });
      expect(readForgetKeywords(capped.prompt())).toEqual(['virus']);
      expect(await unlearnSearchTla.run(broke.ctx)).toEqual({ stopReason: 'token_budget' });
      expect(readForgetKeywords(broke.prompt())).toEqual(['virus']);
      expect(broke.accepted).toEqual([0, 1]);
    } finally {
      capped.done();
      broke.done();
    }
  });

  test('on goal maximize it logs that it has nothing to do and stops without evaluating or editing', async () => {
    const h = harness({ goal: 'maximize' });
    try {
      expect(await unlearnSearchTla.run(h.ctx)).toEqual({ stopReason: 'not_applicable' });
      expect(h.evaluations()).toBe(0);
      expect(h.prompt()).toBe(TEMPLATE);
      expect(h.logs).toEqual([expect.objectContaining({ action: 'not_applicable', goal: 'maximize' })]);
      expect(unlearnSearchTla.kinds).toEqual(['multiple-choice']);
    } finally {
      h.done();
    }
  });
});
