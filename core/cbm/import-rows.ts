/**
 * Reading the rows of a benchmark's official file for an importer: JSONL (one object per line)
 * or the Hugging Face Parquet. Problems (unreadable file, bad line, missing column) are pushed
 * with the file and line or row, and the importer's fix, so every problem is reported at once.
 */
import { readFileSync } from 'node:fs';

/** One row as read, before the importer validates it: its 1-based number and where it is, for messages. */
export interface RawRow {
  n: number;
  where: string;
  value: unknown;
}

/** The rows of a JSONL file; blank lines are skipped, a line that is not JSON is a problem. */
export function readJsonlRows(file: string, fix: string, problems: string[]): RawRow[] {
  const rows: RawRow[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      const where = `${file}:${i + 1}`;
      try {
        rows.push({ n: i + 1, where, value: JSON.parse(line) });
      } catch (e) {
        problems.push(`${where}: not valid JSON (${(e as Error).message}). Fix: ${fix}.`);
      }
    });
  return rows;
}

/**
 * The rows of a Parquet file, reading the `required` columns and those of `optional` it has; a
 * file missing a required column is one problem (with `missingFix`, else `fix`).
 */
export async function readParquetRows(file: string, o: { required: readonly string[]; optional: readonly string[]; fix: string; missingFix?: string }, problems: string[]): Promise<RawRow[]> {
  const { parquetMetadata, parquetSchema, parquetReadObjects } = await import('hyparquet');
  const buffer = new Uint8Array(readFileSync(file)).buffer;
  let columns: string[];
  try {
    columns = parquetSchema(parquetMetadata(buffer)).children.map((c) => c.element.name);
  } catch (e) {
    problems.push(`${file}: not a readable Parquet file (${(e as Error).message}). Fix: ${o.fix}.`);
    return [];
  }
  const missing = o.required.filter((c) => !columns.includes(c));
  if (missing.length) {
    problems.push(`${file}: column(s) ${missing.map((c) => `"${c}"`).join(', ')} missing (found: ${columns.join(', ') || 'none'}). Fix: ${o.missingFix ?? `${o.fix}.`}`);
    return [];
  }
  const wanted = [...o.required, ...o.optional.filter((c) => columns.includes(c))];
  const objects = await parquetReadObjects({ file: buffer, columns: wanted });
  return objects.map((value, i) => ({ n: i + 1, where: `${file} row ${i + 1}`, value }));
}

/** The rows of an official file, by its extension (`.parquet`, else JSONL). */
export function readRows(file: string, o: { required: readonly string[]; optional: readonly string[]; fix: string; missingFix?: string }, problems: string[]): Promise<RawRow[]> {
  return /\.parquet$/i.test(file) ? readParquetRows(file, o, problems) : Promise.resolve(readJsonlRows(file, o.fix, problems));
}
