/**
 * The prompt-file convention that `fewshot-search` edits (documented in the README): labelled
 * examples stand between an `Examples:` line and the paragraph that holds `{{text}}`, each as
 * `<Field>: <text>` then `Label: <label>`, where `<Field>` is what precedes `{{text}}` in the
 * template (e.g. `Abstract`).
 */
export interface PromptExample {
  text: string;
  label: string;
}

interface Layout {
  lines: string[];
  /** index of the `Examples:` line, or -1 */
  header: number;
  /** index of the first line of the paragraph holding {{text}} */
  queryStart: number;
  field: string;
}

function layout(prompt: string): Layout {
  const lines = prompt.split('\n');
  const q = lines.findIndex((l) => l.includes('{{text}}'));
  if (q < 0) throw new Error('the prompt file has no {{text}} placeholder; fewshot-search cannot place examples');
  let queryStart = q;
  while (queryStart > 0 && lines[queryStart - 1].trim() !== '') queryStart--;
  const header = lines.slice(0, queryStart).findIndex((l) => /^\s*Examples:\s*$/i.test(l));
  const m = /^\s*([A-Za-z][A-Za-z ]{0,30}):\s*\{\{text\}\}/.exec(lines[q]);
  return { lines, header, queryStart, field: m ? m[1] : 'Text' };
}

/** Examples currently in a prompt file. */
export function readExamples(prompt: string): PromptExample[] {
  const { lines, header, queryStart } = layout(prompt);
  if (header < 0) return [];
  const out: PromptExample[] = [];
  let text: string | undefined;
  for (const l of lines.slice(header + 1, queryStart)) {
    const label = /^\s*Label:\s*(.+)$/.exec(l);
    if (label && text !== undefined) {
      out.push({ text, label: label[1].trim() });
      text = undefined;
    } else if (l.trim() !== '') text = l.replace(/^\s*[A-Za-z][A-Za-z ]{0,30}:\s*/, '').trim();
  }
  return out;
}

/** The prompt with its examples block replaced by `examples` (everything else byte-for-byte kept). */
export function writeExamples(prompt: string, examples: readonly PromptExample[]): string {
  const { lines, header, queryStart, field } = layout(prompt);
  const block = examples.flatMap((e) => [`${field}: ${e.text.replace(/\s*\n\s*/g, ' ')}`, `Label: ${e.label}`, '']);
  if (header < 0) return [...lines.slice(0, queryStart), 'Examples:', '', ...block, ...lines.slice(queryStart)].join('\n');
  return [...lines.slice(0, header + 1), '', ...block, ...lines.slice(queryStart)].join('\n');
}
