import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readExamples, writeExamples } from '../../../core/tla/prompt-examples';
import { parseClassificationPrompt } from '../../../core/cbm/classification/offline';

const template = readFileSync(join(__dirname, '../../../examples/agents/classifier/prompt.txt'), 'utf8');

describe('prompt examples block', () => {
  test('writes examples between "Examples:" and the query paragraph, keeping the rest byte for byte', () => {
    const out = writeExamples(template, [
      { text: 'first text', label: 'A' },
      { text: 'second\ntext', label: 'B' },
    ]);
    expect(out).toContain('Examples:\n\nAbstract: first text\nLabel: A\n\nAbstract: second text\nLabel: B\n\nNow classify this abstract.');
    expect(readExamples(out)).toEqual([
      { text: 'first text', label: 'A' },
      { text: 'second text', label: 'B' },
    ]);
    expect(writeExamples(out, [])).toBe(template);
  });

  test('the offline model reads the examples that fewshot-search writes', () => {
    const filled = writeExamples(template, [{ text: 'alpha beta', label: 'TAI safety research' }])
      .replace('{{labels}}', 'TAI safety research | not TAI safety research')
      .replace('{{text}}', 'gamma');
    const parsed = parseClassificationPrompt(filled);
    expect(parsed.examples).toEqual([{ text: 'alpha beta', label: 'TAI safety research' }]);
    expect(parsed.query).toBe('gamma');
  });

  test('adds an Examples section to a template that has none', () => {
    const out = writeExamples('Classify.\n\nText: {{text}}\nLabel:', [{ text: 't', label: 'l' }]);
    expect(out).toBe('Classify.\n\nExamples:\n\nText: t\nLabel: l\n\nText: {{text}}\nLabel:');
  });
});
