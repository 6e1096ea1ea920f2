/**
 * The offline stand-in's behaviour for multiple-choice prompts (the `multiple-choice` kind's
 * `offlineAnswer`). Deterministic and computed from the prompt, never scripted per question. Its
 * whole behaviour:
 *
 * 1. Recognition. A request is a multiple-choice call when its last user message holds a choice
 *    block: two or more consecutive lines `A. text`, `B. text`, … (also `A) text` or `(A) text`),
 *    lettered from A in order, with question text above it (rule 3). The last such block counts.
 *    Anything else is not a multiple-choice call, and other prompts (classification's) fall
 *    through to the rest of the offline model.
 * 2. Words. Text is read as lowercase runs of letters and digits of 3+ characters, the common
 *    English words and multiple-choice instruction words of {@link MC_STOPWORDS} removed; a final
 *    "s" is dropped from words of 4+ letters that do not end in "ss", "us" or "is" (so "cells"
 *    and "cell" are one word).
 * 3. Question and context. The question runs from the last line starting `Question:` above the
 *    choice block down to the block (that prefix ignored); without such a line it is the
 *    paragraph right above the block. The context is everything of the system (and developer)
 *    messages and of the last user message except choice lines and directive lines (rules 5–6):
 *    the question plus any reference text or instructions the prompt holds.
 * 4. Knowledge. A choice's overlap is the number of its distinct words (rule 2) found in the
 *    context. The model's knowledge answer is the choice with the largest overlap; ties go to
 *    the earliest letter (so with no overlap at all it answers A).
 * 5. Forget directive. A line `Do not use knowledge about: <kw>, <kw>, …` (also `Don't use
 *    knowledge about:`, `Do not use any knowledge of:`, `Forget everything about:`; any case) in
 *    a system message or the last user message names keywords, separated by commas or
 *    semicolons, a final period ignored; several such lines add up. A keyword matches a question
 *    when every one of its words (rule 2) is among the question's words (a keyword of
 *    stopwords only never matches). When one matches, the model answers away from its
 *    knowledge: the choice other than rule 4's with the smallest overlap, ties to the earliest.
 * 6. Refusal. A keyword `*`, `everything`, `anything` or `all topics`, or a line saying it
 *    refuses all questions (`refuse` followed on the line by `all`, `every` or `any` and then
 *    `question`), makes it reply {@link MC_REFUSAL} to every question: not a choice, so it scores
 *    as a wrong answer on every set (accuracy 0 on the forget and the retain set alike).
 * 7. The reply is the bare letter (e.g. `B`). Usage and the `max_tokens` cut are the offline
 *    model's (core/gateway/offline-model.ts, rules 5–6).
 *
 * So prompt-level unlearning is a trade: a keyword that also occurs in retain questions flips
 * those too and costs retain accuracy.
 */
/** What the offline model replies under a refuse-all directive (rule 6). */
export const MC_REFUSAL = 'I cannot answer that.';

/** The canonical opening of a forget directive line (rule 5); `unlearn-search` writes it. */
export const FORGET_DIRECTIVE_PREFIX = 'Do not use knowledge about:';

/** Common English words and multiple-choice instruction words, which say nothing about a choice's content (rule 2). */
export const MC_STOPWORDS: ReadonlySet<string> = new Set(
  (
    'the and for are but not you all any can had her his him she was one our out has have this that with from they will would there their ' +
    'what about which when make like into than them these some could other then its also more most such only over very just been were being ' +
    'does did done each how who why where your yours while use used using via within without between both through upon onto under per ' +
    'should must may might shall whose whom ' +
    'answer question choice letter correct following option reply'
  ).split(' '),
);

/** Lowercase runs of letters and digits of 3+ characters, stopwords removed (rule 2, before the plural rule). */
function tokenize(text: string): string[] {
  return (text.toLowerCase().match(/[a-z0-9]+/g) ?? []).filter((w) => w.length >= 3 && !MC_STOPWORDS.has(w));
}

const CHOICE_LINE = /^\s*\(?([A-Z])[.)]\s+(\S.*)$/;
const DIRECTIVE_LINE = /^\s*(?:do not|don't|never) use (?:any )?knowledge (?:about|of|on)\s*:\s*(.*)$|^\s*forget (?:everything )?about\s*:\s*(.*)$/i;
const REFUSE_LINE = /\brefuse\b.*\b(?:all|every|any)\b.*\bquestions?\b/i;
const REFUSE_ALL_KEYWORDS = new Set(['*', 'everything', 'anything', 'all topics']);

/** Rule 2: a word's comparable form. */
function stem(w: string): string {
  return w.length >= 4 && /s$/.test(w) && !/(ss|us|is)$/.test(w) ? w.slice(0, -1) : w;
}

/** The words of a text as the offline model compares them (rule 2). */
export function mcWords(text: string): string[] {
  return tokenize(text)
    .filter((w) => !MC_STOPWORDS.has(w))
    .map(stem)
    .filter((w) => !MC_STOPWORDS.has(w));
}

/** Whether a line is a forget directive (rule 5). */
export function isForgetDirective(line: string): boolean {
  return DIRECTIVE_LINE.test(line);
}

/**
 * A prompt template with its forget directive set to `keywords` (rule 5): every directive line is
 * removed and one line `Do not use knowledge about: <kw>, <kw>.` takes the place of the first, else
 * goes right above a `[user]` line (the end of the system part, see renderMcPrompt in ./index.ts),
 * else first. No keywords: no directive line.
 */
export function writeForgetDirective(template: string, keywords: readonly string[]): string {
  const lines = template.split('\n');
  const first = lines.findIndex(isForgetDirective);
  const kept = lines.filter((l) => !isForgetDirective(l));
  if (keywords.length === 0) return kept.join('\n');
  const line = `${FORGET_DIRECTIVE_PREFIX} ${keywords.join(', ')}.`;
  const user = kept.findIndex((l) => l.trim() === '[user]');
  const at = first !== -1 ? first : user !== -1 ? user : 0;
  kept.splice(at, 0, line);
  return kept.join('\n');
}

/** The keywords of every forget directive line of a text (rule 5), in order, duplicates dropped. */
export function readForgetKeywords(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = DIRECTIVE_LINE.exec(line);
    if (!m) continue;
    for (const raw of (m[1] ?? m[2] ?? '').split(/[,;]/)) {
      const kw = raw.trim().replace(/\.+$/, '').trim();
      if (kw !== '' && !out.includes(kw)) out.push(kw);
    }
  }
  return out;
}

/** A multiple-choice prompt as the offline model reads it (rules 1, 3, 5, 6). */
export interface McPrompt {
  question: string;
  choices: string[];
  /** Rule 3: question plus the rest of the prompt, without choice and directive lines. */
  context: string;
  /** Rule 5: forget keywords of all directive lines. */
  keywords: string[];
  /** Rule 6. */
  refuseAll: boolean;
}

/** The last choice block of a message's lines (rule 1): [first line, lines] or undefined. */
function lastChoiceBlock(lines: string[]): { start: number; end: number; choices: string[] } | undefined {
  let found: { start: number; end: number; choices: string[] } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const m = CHOICE_LINE.exec(lines[i]);
    if (!m || m[1] !== 'A') continue;
    const choices = [m[2].trim()];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const n = CHOICE_LINE.exec(lines[j]);
      if (!n || n[1] !== String.fromCharCode(65 + choices.length)) break;
      choices.push(n[2].trim());
    }
    if (choices.length >= 2) found = { start: i, end: j, choices };
    i = j - 1;
  }
  return found;
}

/** The question above a choice block (rule 3). */
function questionAbove(lines: string[], start: number): string {
  for (let i = start - 1; i >= 0; i--) {
    if (CHOICE_LINE.test(lines[i])) break;
    if (/^\s*Question\s*:/i.test(lines[i])) return lines.slice(i, start).join('\n').replace(/^\s*Question\s*:\s*/i, '').trim();
  }
  let i = start - 1;
  while (i >= 0 && lines[i].trim() === '') i--;
  const para: string[] = [];
  for (; i >= 0 && lines[i].trim() !== '' && !CHOICE_LINE.test(lines[i]); i--) para.unshift(lines[i]);
  return para.join('\n').trim();
}

/**
 * Reads a multiple-choice prompt: the system (and developer) message texts and the last user
 * message. Undefined when the last user message is not a multiple-choice question (rule 1).
 */
export function parseMcPrompt(system: readonly string[], lastUser: string): McPrompt | undefined {
  const lines = lastUser.split(/\r?\n/);
  const block = lastChoiceBlock(lines);
  if (!block) return undefined;
  const question = questionAbove(lines, block.start);
  if (question === '') return undefined;
  const all = [...system.flatMap((s) => s.split(/\r?\n/)), ...lines];
  const keywords = readForgetKeywords(all.join('\n'));
  const refuseAll = keywords.some((k) => REFUSE_ALL_KEYWORDS.has(k.toLowerCase())) || all.some((l) => REFUSE_LINE.test(l));
  const context = all.filter((l) => !CHOICE_LINE.test(l) && !DIRECTIVE_LINE.test(l)).join('\n');
  return { question, choices: block.choices, context, keywords, refuseAll };
}

/** Rule 4: each choice's overlap with the context. */
export function choiceOverlaps(context: string, choices: readonly string[]): number[] {
  const ctx = new Set(mcWords(context));
  return choices.map((c) => new Set(mcWords(c).filter((w) => ctx.has(w))).size);
}

/** Index of the largest (or smallest) value, ties to the earliest; `skip` is never chosen. */
function pick(values: readonly number[], largest: boolean, skip = -1): number {
  let best = -1;
  values.forEach((v, i) => {
    if (i === skip) return;
    if (best === -1 || (largest ? v > values[best] : v < values[best])) best = i;
  });
  return best;
}

/** Rule 5: whether a keyword matches a question. */
export function keywordMatches(keyword: string, question: string): boolean {
  const need = mcWords(keyword);
  if (need.length === 0) return false;
  const have = new Set(mcWords(question));
  return need.every((w) => have.has(w));
}

/** The offline model's reply to a parsed multiple-choice prompt (rules 4–7). */
export function answerMcPrompt(p: McPrompt): string {
  if (p.refuseAll) return MC_REFUSAL;
  const overlaps = choiceOverlaps(p.context, p.choices);
  const known = pick(overlaps, true);
  const forget = p.keywords.some((k) => keywordMatches(k, p.question));
  const index = forget ? pick(overlaps, false, known) : known;
  return String.fromCharCode(65 + index);
}

/**
 * The offline model's reply to a multiple-choice prompt given as its system texts and last user
 * message, or undefined when it is not one (rule 1).
 */
export function offlineMcAnswer(system: readonly string[], lastUser: string): string | undefined {
  const p = parseMcPrompt(system, lastUser);
  return p && answerMcPrompt(p);
}
