import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadClassificationDir, type Example } from '../../core/cbm/classification';
import { generateTaiSafety, renderTaiSafetyFiles } from '../../examples/datasets/tai-safety/generate';

const DIR = join(__dirname, '../../examples/datasets/tai-safety');
const SAFETY = 'TAI safety research';
const OTHER = 'not TAI safety research';

/** Common English stopwords, dropped like the offline model's bag-of-words similarity does. */
const STOPWORDS = new Set(
  `a about above after again against all also am an and any are as at be because been before being below between both but by can
  cannot could did do does doing down during each few for from further had has have having he her here hers herself him himself his
  how however if in into is it its itself just may me more most my myself no nor not of off on once only or other our ours ourselves
  out over own same she should so some such than that the their theirs them themselves then there these they this those through thus
  to too under until up very via was we were what when where whether which while who whom why will with would you your yours
  yourself yourselves`.split(/\s+/),
);

/** Lowercase words [a-z0-9]+ of length >= 3, minus stopwords, as a set. */
function tokens(text: string): Set<string> {
  return new Set((text.toLowerCase().match(/[a-z0-9]+/g) ?? []).filter((w) => w.length >= 3 && !STOPWORDS.has(w)));
}

function share(examples: Example[], label: string): number {
  return examples.filter((e) => e.label === label).length / examples.length;
}

describe('the tai-safety sample data set', () => {
  const ds = loadClassificationDir(DIR);
  const all = [...ds.dev, ...ds.test];

  it('loads as a valid data set with the RAFT-style labels', () => {
    // GIVEN the committed directory  WHEN it is loaded (loadClassificationDir validates ids and labels)
    // THEN the label set is the two TAI-safety labels and a task sentence
    expect(ds.meta.labels).toEqual([SAFETY, OTHER]);
    expect(ds.meta.task).toMatch(/TAI/);
  });

  it('has enough examples in each split, with both classes roughly balanced', () => {
    // GIVEN the loaded splits  THEN dev >= 90 and test >= 170, each class 45-55 % of each split
    expect(ds.dev.length).toBeGreaterThanOrEqual(90);
    expect(ds.test.length).toBeGreaterThanOrEqual(170);
    for (const split of [ds.dev, ds.test]) {
      for (const label of [SAFETY, OTHER]) {
        expect(share(split, label)).toBeGreaterThanOrEqual(0.45);
        expect(share(split, label)).toBeLessThanOrEqual(0.55);
      }
    }
  });

  it('uses tai-NNNN ids and unique abstracts of 40 to 90 words', () => {
    // GIVEN every example of both splits
    // THEN ids follow the pattern, no text repeats, and each text has 40-90 words
    for (const e of all) expect(e.id).toMatch(/^tai-\d{4}$/);
    expect(new Set(all.map((e) => e.text)).size).toBe(all.length);
    for (const e of all) {
      const words = e.text.split(/\s+/).filter((w) => w !== '').length;
      expect(words).toBeGreaterThanOrEqual(40);
      expect(words).toBeLessThanOrEqual(90);
    }
  });

  it('cannot be solved by a single word', () => {
    // GIVEN every token t of the vocabulary
    // WHEN the rule "contains t => safety" (or "contains t => non-safety") labels all examples
    // THEN it is right on fewer than 90 % of them
    const bags = all.map((e) => ({ isSafety: e.label === SAFETY, tokens: tokens(e.text) }));
    const vocabulary = new Set(bags.flatMap((b) => [...b.tokens]));
    const tooGood: string[] = [];
    for (const t of vocabulary) {
      const saysSafetyRight = bags.filter((b) => b.tokens.has(t) === b.isSafety).length / bags.length;
      const saysOtherRight = 1 - saysSafetyRight;
      if (saysSafetyRight >= 0.9 || saysOtherRight >= 0.9) tooGood.push(t);
    }
    expect(tooGood).toEqual([]);
  });

  it('is reproduced byte for byte by its generator', () => {
    // GIVEN the generator run in memory  WHEN its files are rendered
    // THEN they equal the committed dev.jsonl, test.jsonl and labels.json
    const files = renderTaiSafetyFiles(generateTaiSafety());
    for (const [name, body] of Object.entries(files)) {
      expect(body).toBe(readFileSync(join(DIR, name), 'utf8'));
    }
  });
});
