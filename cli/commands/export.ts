import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { SpecError } from '../../core/errors';
import { inspectLogsOfSweep } from '../../core/export/inspect-loader';
import type { Stores } from '../../lambdas/aws/clients';
import type { RunResult, SweepResults } from '../../core/report';
import { dataDirOf, dataDirOption, withReadOnlyStores } from '../local/data-dir';
import { EXIT, type Io } from '../io';
import { readSweep } from './sweep-data';

/**
 * A way to write a sweep's runs: one entry of {@link EXPORT_FORMATS}. A text format renders the
 * results (to a file or stdout); a files format writes a directory from the stores (`--out`).
 */
export type ExportFormat =
  | { describe: string; render(results: SweepResults): string }
  | { describe: string; writeFiles(stores: Stores, sweepId: string, outDir: string): Promise<string[]> };

/** Inspect eval logs, one per run and role (core/export/inspect.ts), written into `outDir`. */
async function writeInspectLogs(stores: Stores, sweepId: string, outDir: string): Promise<string[]> {
  const files = await inspectLogsOfSweep(stores, sweepId);
  mkdirSync(outDir, { recursive: true });
  for (const f of files) writeFileSync(join(outDir, f.fileName), JSON.stringify(f.log));
  return files.map((f) => f.fileName);
}

type Cell = string | number | boolean | null | undefined;

/** The CSV columns, one row per run: name and value. Guard and outcome columns are always there (empty when absent), so exports of different sweeps line up. */
export const CSV_COLUMNS: readonly (readonly [string, (r: RunResult, s: SweepResults) => Cell])[] = [
  ['sweepId', (_r, s) => s.sweepId],
  ['runId', (r) => r.runId],
  ['tla', (r) => r.tla],
  ['ra', (r) => r.ra],
  ['model', (r) => r.model],
  ['cbm', (r) => r.cbm],
  ['variant', (r) => r.variant],
  ['seed', (r) => r.seed],
  ['status', (r) => r.status],
  ['baseline', (r) => r.baseline],
  ['mra', (r) => r.mra],
  ['uplift', (r) => r.uplift],
  ['ciLow', (r) => r.ci?.[0]],
  ['ciHigh', (r) => r.ci?.[1]],
  ['guardTasks', (r) => r.guard?.tasks],
  ['guardBaseline', (r) => r.guard?.baseline],
  ['guardMra', (r) => r.guard?.mra],
  ['guardUplift', (r) => r.guard?.uplift],
  ['guardCiLow', (r) => r.guard?.ci[0]],
  ['guardCiHigh', (r) => r.guard?.ci[1]],
  ['guardMaxDrop', (r) => r.guard?.maxDrop],
  ['guardViolated', (r) => r.guard?.violated],
  ['baselineScored', (r) => r.outcomes?.baseline?.scored],
  ['baselineAgentErrors', (r) => r.outcomes?.baseline?.agent_error],
  ['baselineInfraErrors', (r) => r.outcomes?.baseline?.infra_error],
  ['mraScored', (r) => r.outcomes?.mra?.scored],
  ['mraAgentErrors', (r) => r.outcomes?.mra?.agent_error],
  ['mraInfraErrors', (r) => r.outcomes?.mra?.infra_error],
  ['tokens', (r) => r.tokens],
  ['judgeTokens', (r) => r.judgeTokens],
  ['costUsd', (r) => r.costUsd],
  ['baselineCached', (r) => r.baselineCached],
  ['error', (r) => r.error],
  ['warnings', (r) => r.warnings?.join('\n')],
];

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a double quote, CR or LF, or starts or
 * ends with a space; a double quote inside is doubled. null and undefined are empty; numbers in
 * full precision (JavaScript's shortest round-trip form). Text that starts like a formula gets a
 * leading `'` (OWASP's CSV-injection advice), so a spreadsheet shows it instead of running it.
 */
export function csvField(v: Cell): string {
  if (v === null || v === undefined) return '';
  // A text cell a spreadsheet would evaluate as a formula (=, +, -, @, tab, CR first) is kept as text with a leading '.
  const s = typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : String(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The runs as CSV: a header line, then one line per run, lines ended by CRLF (RFC 4180). */
export function toCsv(results: SweepResults): string {
  const lines = [CSV_COLUMNS.map(([h]) => csvField(h)).join(','), ...results.runs.map((r) => CSV_COLUMNS.map(([, f]) => csvField(f(r, results))).join(','))];
  return lines.map((l) => `${l}\r\n`).join('');
}

/** The formats of `uplift export --format`: adding one is one line here. */
export const EXPORT_FORMATS: Readonly<Record<string, ExportFormat>> = {
  csv: { describe: 'one row per run, a header line, RFC 4180 quoting', render: toCsv },
  jsonl: { describe: 'one JSON object per run per line, the fields of `uplift results --json` runs', render: (res) => res.runs.map((r) => JSON.stringify(r) + '\n').join('') },
  inspect: { describe: 'a directory (--out) of Inspect eval logs, a baseline and an MRA log per run (open with `inspect view --log-dir <dir>`)', writeFiles: writeInspectLogs },
};

/** Validates `--format`, naming the known formats. */
export function parseExportFormat(value: string): string {
  if (Object.hasOwn(EXPORT_FORMATS, value)) return value;
  const known = Object.keys(EXPORT_FORMATS);
  throw new SpecError([`--format: unknown format "${value}". Fix: use one of ${known.join(', ')} (${known.map((k) => `${k}: ${EXPORT_FORMATS[k].describe}`).join('; ')})`]);
}

/** `uplift export <sweep> --format csv|jsonl|inspect [--out file|dir]`. */
export function registerExportCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('export')
    .description(`write a sweep's runs in another format (${Object.keys(EXPORT_FORMATS).join(', ')}): one row per run`)
    .argument('<sweep-id>')
    .addOption(new Option('--format <format>', `one of ${Object.keys(EXPORT_FORMATS).join(', ')}`).default('csv').argParser(parseExportFormat))
    .option('--out <file>', 'write to this file (default: stdout)')
    .addOption(dataDirOption())
    .action(async (sweepId: string, opts: { format: string; out?: string; dataDir?: string }) => {
      const dir = dataDirOf(opts.dataDir);
      const format = EXPORT_FORMATS[opts.format];
      if ('writeFiles' in format) {
        if (!opts.out) throw new SpecError([`--out: --format ${opts.format} writes a directory of files. Fix: add --out <dir>`]);
        const out = resolve(opts.out);
        const written = await withReadOnlyStores(dir, (stores) => format.writeFiles(stores, sweepId, out));
        io.err(`Wrote ${written.length} ${opts.format} file(s) of ${sweepId} to ${out}\n`);
        setExit(EXIT.ok);
        return;
      }
      const { results } = await withReadOnlyStores(dir, (stores) => readSweep(stores, dir, sweepId));
      const text = format.render(results);
      if (opts.out) {
        const file = resolve(opts.out);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
        io.err(`Wrote ${results.runs.length} run(s) of ${sweepId} as ${opts.format} to ${file}\n`);
      } else io.out(text);
      setExit(EXIT.ok);
    });
}
