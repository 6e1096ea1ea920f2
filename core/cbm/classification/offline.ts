/**
 * The offline stand-in's behaviour for classification prompts (README, "The offline model"):
 *
 * 1. It reads the last user message. Labelled examples are paragraphs followed by a line
 *    `Label: <label>`; the query is the paragraph before a final empty `Label:` line (or, without
 *    one, the whole message). A paragraph is read from its last `Field:` line (e.g.
 *    `Abstract: …`), and that prefix is ignored.
 * 2. Allowed labels come from a line `... one of these labels: A | B | C`.
 * 3. It answers with the label of the most similar example (cosine similarity of TF-IDF bags of
 *    lowercase words of 3+ characters, stopwords removed; ties go to the earlier example).
 * 4. With no labelled example it answers the first allowed label, or `unknown`.
 *
 * So a prompt edit that would help a real model (better or more examples) changes its answers
 * too: an uplift measured with it is computed, never scripted.
 */

const STOPWORDS = new Set(
  'the and for are but not you all any can had her was one our out has have this that with from they will would there their what about which when make like into than them these some could other then its also more most such only over very just been were being does did done each how who why where your yours while using used use based via new two three our ours within without between both through upon onto under per show shows shown paper propose proposes proposed present presents study studies approach method methods results result work we weve ours'.split(' '),
);

/** Lowercase words of 3+ characters, stopwords removed. */
export function tokenize(text: string): string[] {
  return (text.toLowerCase().match(/[a-z0-9]+/g) ?? []).filter((w) => w.length >= 3 && !STOPWORDS.has(w));
}

interface Parsed {
  labels: string[];
  examples: { text: string; label: string }[];
  query: string;
}

const FIELD_PREFIX = /^[A-Z][A-Za-z ]{0,30}:\s*/;

/** Splits a prompt into allowed labels, labelled examples and the query (rules 1–2 above). */
export function parseClassificationPrompt(prompt: string): Parsed {
  const lines = prompt.split(/\r?\n/);
  const labelsLine = lines.find((l) => /one of these labels:/i.test(l));
  const labels = labelsLine ? labelsLine.replace(/^.*one of these labels:\s*/i, '').split('|').map((s) => s.trim()).filter(Boolean) : [];
  const examples: { text: string; label: string }[] = [];
  let query: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*Label:\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    const para: string[] = [];
    for (let j = i - 1; j >= 0 && lines[j].trim() !== '' && !/^\s*Label:/.test(lines[j]); j--) para.unshift(lines[j]);
    // From the last `Field:` line on, so an instruction line above the query does not count.
    let from = 0;
    para.forEach((l, k) => {
      if (FIELD_PREFIX.test(l)) from = k;
    });
    const text = para.slice(from).join(' ').replace(FIELD_PREFIX, '').trim();
    const label = m[1].trim();
    if (label === '') query = text;
    else if (text !== '') examples.push({ text, label });
  }
  return { labels, examples, query: query ?? prompt };
}

/** TF-IDF vectors of tokenised documents (smoothed idf). */
export function tfidf(docs: string[][]): Map<string, number>[] {
  const df = new Map<string, number>();
  for (const d of docs) for (const w of new Set(d)) df.set(w, (df.get(w) ?? 0) + 1);
  const n = docs.length;
  return docs.map((d) => {
    const v = new Map<string, number>();
    for (const w of d) v.set(w, (v.get(w) ?? 0) + 1);
    for (const [w, tf] of v) v.set(w, tf * (Math.log((n + 1) / ((df.get(w) ?? 0) + 1)) + 1));
    return v;
  });
}

/** Cosine similarity of two sparse vectors (0 when either is empty). */
export function cosine(a: Map<string, number>, b: Map<string, number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const [w, x] of a) {
    na += x * x;
    const y = b.get(w);
    if (y !== undefined) dot += x * y;
  }
  for (const y of b.values()) nb += y * y;
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** The offline model's answer to a classification prompt (rules 3–4). */
export function offlineAnswer(prompt: string): string {
  const p = parseClassificationPrompt(prompt);
  if (p.examples.length === 0) return p.labels[0] ?? 'unknown';
  const vecs = tfidf([...p.examples.map((e) => tokenize(e.text)), tokenize(p.query)]);
  const q = vecs[vecs.length - 1];
  let best = 0;
  let bestSim = -1;
  p.examples.forEach((_, i) => {
    const s = cosine(vecs[i], q);
    if (s > bestSim) {
      bestSim = s;
      best = i;
    }
  });
  return p.examples[best].label;
}
