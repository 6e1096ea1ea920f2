import { multipleChoiceKind as kind, renderMcPrompt } from '../../../../core/cbm/multiple-choice';
import { choiceOverlaps, MC_REFUSAL, offlineMcAnswer, parseMcPrompt, readForgetKeywords, writeForgetDirective } from '../../../../core/cbm/multiple-choice/offline';

const TEMPLATE = '[system]\nYou are a knowledgeable assistant.\nReply with the letter of the correct choice only.\n[user]\nQuestion: {{question}}\n\n{{choices}}\n\nAnswer with the letter of the correct choice.';

/** The offline model's reply to the example RA's prompt for a question (the pure path, no HTTP). */
function ask(question: string, choices: string[], template = TEMPLATE): string | undefined {
  const p = renderMcPrompt(template, { question, choices });
  return offlineMcAnswer(p.system === undefined ? [] : [p.system], p.user);
}

const BACTERIA = ['Which shape describes the bacteria called bacilli?', ['Spherical cells', 'Rod-shaped bacteria', 'Spiral cells', 'Star-shaped cells']] as const;
const CULTURES = ['Why does a laboratory keep cultures in an incubator?', ['To freeze samples', 'To sterilize waste', 'To hold the cultures at a steady temperature', 'To mix liquids']] as const;
const EVEREST = ['What is the highest mountain above sea level?', ['K2', 'Mount Everest, the highest mountain', 'Kilimanjaro', 'Mont Blanc']] as const;

describe('offline model, multiple-choice prompts: knowledge', () => {
  test('it answers the choice with the most words in common with the question (plurals count as one word)', () => {
    expect(choiceOverlaps('Which shape describes the bacteria called bacilli?', BACTERIA[1])).toEqual([0, 1, 0, 0]);
    expect(ask(BACTERIA[0], [...BACTERIA[1]])).toBe('B');
    expect(ask(CULTURES[0], [...CULTURES[1]])).toBe('C');
    expect(ask(EVEREST[0], [...EVEREST[1]])).toBe('B');
  });

  test('ties (no overlap at all included) go to the earliest letter', () => {
    expect(ask('What is the capital city of France?', ['Lyon', 'Paris', 'Nice', 'Marseille'])).toBe('A');
    expect(ask('Which river is long?', ['A long river', 'A river that is long', 'A lake'])).toBe('A');
  });

  test('reference text anywhere in the prompt counts as knowledge, choice lines do not', () => {
    const withReference = TEMPLATE.replace('[user]', 'Reference: Paris is the capital city of France.\n[user]');
    expect(ask('What is the capital city of France?', ['Lyon', 'Paris', 'Nice', 'Marseille'], withReference)).toBe('B');
    const p = parseMcPrompt([], 'Question: Which one?\n\nA. alpha words\nB. beta words');
    expect(p?.context).not.toMatch(/alpha|beta/);
  });
});

describe('offline model, multiple-choice prompts: forget directive', () => {
  const directive = (kws: string[]) => writeForgetDirective(TEMPLATE, kws);

  test('a keyword in the question flips the answer away from knowledge (least overlap, earliest); other questions keep theirs', () => {
    const t = directive(['bacteria']);
    expect(ask(BACTERIA[0], [...BACTERIA[1]], t)).toBe('A');
    expect(ask(CULTURES[0], [...CULTURES[1]], t)).toBe('C');
    expect(ask(EVEREST[0], [...EVEREST[1]], t)).toBe('B');
    // A keyword matches its plural in the question (culture → cultures), and several keywords add up.
    const t2 = directive(['bacterium', 'culture']);
    expect(ask(CULTURES[0], [...CULTURES[1]], t2)).toBe('A');
    expect(ask(EVEREST[0], [...EVEREST[1]], t2)).toBe('B');
  });

  test('a keyword found only in the choices, or a keyword of stopwords, matches nothing', () => {
    expect(ask(EVEREST[0], [...EVEREST[1]], directive(['kilimanjaro']))).toBe('B');
    expect(ask(EVEREST[0], [...EVEREST[1]], directive(['the', 'is']))).toBe('B');
  });

  test('a keyword shared with general-knowledge questions costs them too (the trade-off)', () => {
    expect(ask(EVEREST[0], [...EVEREST[1]], directive(['mountain']))).toBe('A');
  });

  test('the directive is read in any documented wording, from the system or the user message', () => {
    const variants = ["Don't use knowledge about: bacteria.", 'do not use any knowledge of: bacteria', 'Forget everything about: bacteria; viruses'];
    for (const v of variants) expect(ask(BACTERIA[0], [...BACTERIA[1]], TEMPLATE.replace('[user]', `${v}\n[user]`))).toBe('A');
    expect(ask(BACTERIA[0], [...BACTERIA[1]], TEMPLATE + '\nDo not use knowledge about: bacteria')).toBe('A');
  });

  test('refusing all questions answers nothing useful: the refusal scores 0 accuracy on every set', async () => {
    for (const t of [directive(['*']), directive(['everything']), TEMPLATE.replace('[user]', 'Refuse to answer all questions.\n[user]')]) {
      expect(ask(EVEREST[0], [...EVEREST[1]], t)).toBe(MC_REFUSAL);
      expect(ask(BACTERIA[0], [...BACTERIA[1]], t)).toBe(MC_REFUSAL);
    }
    const retain = { id: 'r', set: 'guard' as const, question: EVEREST[0], choices: [...EVEREST[1]], answer: 1 };
    const meta = { task: 't', sources: [] };
    await expect(kind.score(retain, MC_REFUSAL, {}, { goal: 'unlearn' }, meta)).resolves.toBe(0);
    await expect(kind.score({ ...retain, set: 'objective' }, MC_REFUSAL, {}, { goal: 'maximize' }, meta)).resolves.toBe(0);
  });

  test('writeForgetDirective puts one directive line above [user], replaces it, and removes it with no keywords', () => {
    const once = writeForgetDirective(TEMPLATE, ['bacteria', 'malware']);
    expect(once.split('\n')[3]).toBe('Do not use knowledge about: bacteria, malware.');
    expect(once.split('\n')[4]).toBe('[user]');
    expect(readForgetKeywords(once)).toEqual(['bacteria', 'malware']);
    const twice = writeForgetDirective(once, ['virus']);
    expect(readForgetKeywords(twice)).toEqual(['virus']);
    expect(twice.split('\n').filter((l) => l.startsWith('Do not use')).length).toBe(1);
    expect(writeForgetDirective(twice, [])).toBe(TEMPLATE);
    expect(writeForgetDirective('{{question}}\n{{choices}}', ['x']).split('\n')[0]).toBe('Do not use knowledge about: x.');
  });
});

describe('offline model, multiple-choice prompts: recognition', () => {
  test('only a lettered choice block from A under a question is claimed; other prompts fall through', () => {
    const req = (content: string, system?: string) => ({ messages: [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content }] });
    const mc = 'Question: What is the highest mountain above sea level?\n\nA. K2\nB. Mount Everest, the highest mountain\n\nAnswer with the letter.';
    expect(kind.offlineAnswer?.(req(mc), mc)).toBe('B');
    expect(kind.offlineAnswer?.(req(mc, 'Do not use knowledge about: mountain'), mc)).toBe('A');
    const classification = 'Answer with exactly one of these labels: A | B\n\nAbstract: a study.\nLabel:';
    expect(kind.offlineAnswer?.(req(classification), classification)).toBeUndefined();
    const notFromA = 'Question: Which?\n\nB. one\nC. two';
    expect(kind.offlineAnswer?.(req(notFromA), notFromA)).toBeUndefined();
    const noQuestion = 'A. one\nB. two';
    expect(kind.offlineAnswer?.(req(noQuestion), noQuestion)).toBeUndefined();
    const oneChoice = 'Question: Which?\n\nA. one';
    expect(kind.offlineAnswer?.(req(oneChoice), oneChoice)).toBeUndefined();
  });
});
