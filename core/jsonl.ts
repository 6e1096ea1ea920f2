import { z } from 'zod';
import { CorruptRecordError } from './errors';

/** Parses JSON lines against a schema; errors name the source and the 1-based line. Blank lines are skipped. */
export function parseJsonl<S extends z.ZodType>(text: string, schema: S, source: string): z.infer<S>[] {
  const rows: z.infer<S>[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      throw new CorruptRecordError(`${source}:${i + 1}: not valid JSON (${(cause as Error).message})`, { cause });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CorruptRecordError(
        `${source}:${i + 1}: field "${issue.path.join('.') || '(line)'}": ${issue.message}`,
        { cause: parsed.error },
      );
    }
    rows.push(parsed.data);
  }
  return rows;
}

/**
 * Parses JSON lines against a schema and reports every bad line, not only the first: for data a
 * user hands in. Each problem names the source, the 1-based line and the field, with `fix` appended.
 */
export function parseJsonlAll<S extends z.ZodType>(text: string, schema: S, source: string, fix: string): { rows: z.infer<S>[]; problems: string[] } {
  const rows: z.infer<S>[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      problems.push(`${source}:${i + 1}: not valid JSON (${(cause as Error).message}). Fix: ${fix}`);
      return;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) rows.push(parsed.data);
    else for (const issue of parsed.error.issues) problems.push(`${source}:${i + 1}: field "${issue.path.join('.') || '(line)'}": ${issue.message}. Fix: ${fix}`);
  });
  return { rows, problems };
}

/** Parses one JSON document against a schema, naming the source on failure. */
export function parseJson<S extends z.ZodType>(text: string, schema: S, source: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new CorruptRecordError(`${source}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CorruptRecordError(`${source}: field "${issue.path.join('.')}": ${issue.message}`, { cause: parsed.error });
  }
  return parsed.data;
}

export function toJsonl(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}
