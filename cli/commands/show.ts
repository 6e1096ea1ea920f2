import type { Command } from 'commander';
import { SpecError } from '../../core/errors';
import type { ArtifactStore } from '../../core/ports';
import { TranscriptEvent } from '../../core/transcript';
import { dataDirOf, dataDirOption, withReadOnlyStores } from '../local/data-dir';
import { EXIT, type Io } from '../io';
import { escapeForTerminal, escapeJsonlForTerminal } from '../../core/terminal-text';


const transcriptSuffix = (runId: string) => `/runs/${runId}/tla/transcript.jsonl`;

/** The transcript key of a run: in the given sweep, else in the newest sweep that has one (sweep ids sort by time). */
async function findTranscript(store: ArtifactStore, runId: string, sweepId: string | undefined): Promise<{ key: string; sweepId: string; others: string[] }> {
  if (sweepId) {
    const key = `sweeps/${sweepId}${transcriptSuffix(runId)}`;
    if (!(await store.exists(key)))
      throw new SpecError([`uplift show: run ${runId} of sweep ${sweepId} has no TLA transcript (${store.uri(key)}). Fix: check the run id in \`uplift results ${sweepId}\`; the transcript exists once the run's TLA job has finished`]);
    return { key, sweepId, others: [] };
  }
  const keys = (await store.list('sweeps/')).filter((k) => k.endsWith(transcriptSuffix(runId))).sort();
  if (keys.length === 0) throw new SpecError([`uplift show: no sweep has a TLA transcript for run ${runId}. Fix: pass a run id from \`uplift results <sweep-id>\` (e.g. react-classifier-tai-safety-simple-s1), with the same --data-dir`]);
  const sweepOf = (k: string) => k.slice('sweeps/'.length, k.length - transcriptSuffix(runId).length);
  const key = keys[keys.length - 1];
  return { key, sweepId: sweepOf(key), others: keys.slice(0, -1).map(sweepOf) };
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters; --full shows all]`;
}

const num = (n: unknown) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n));
const str = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * Renders a transcript for a terminal: one block per event, with time since the start; the RA
 * model calls of an evaluation are folded into one line. The result is passed through
 * {@link escapeForTerminal}: no control sequence of a transcript reaches the terminal.
 */
export function renderTranscript(lines: string[], opts: { full?: boolean } = {}): string {
  const max = opts.full ? Number.POSITIVE_INFINITY : 600;
  const out: string[] = [];
  let t0: number | undefined;
  let folded: { calls: number; tokens: number; rejected: number; at: string } | undefined;
  const block = (at: string, label: string, text: string) => {
    const [first, ...rest] = text.split('\n');
    // A label is one line (a role is whatever the transcript says): only continuation lines, indented, may follow.
    out.push(`${at} ${label.replace(/\n/g, '\u2424').padEnd(11)} ${first}`);
    for (const l of rest) out.push(`${' '.repeat(at.length + 13)}${l}`.trimEnd());
  };
  const flush = () => {
    if (folded) block(folded.at, 'model ra', `${folded.calls} call(s) of the RA's model, ${num(folded.tokens)} tokens${folded.rejected ? `, ${folded.rejected} refused (budget spent)` : ''}`);
    folded = undefined;
  };
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let e: TranscriptEvent & Record<string, unknown>;
    try {
      const parsed = TranscriptEvent.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(parsed.error.issues[0].message);
      e = parsed.data as TranscriptEvent & Record<string, unknown>;
    } catch (err) {
      out.push(`(line ${i + 1} is not a transcript event: ${(err as Error).message})`);
      return;
    }
    const ts = Date.parse(e.ts);
    t0 ??= ts;
    const at = `[+${((ts - t0) / 1000).toFixed(1).padStart(6)}s]`;
    const usage = e.usage as { prompt_tokens?: number; completion_tokens?: number } | null | undefined;
    const tokens = (usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0);
    if ((e.kind === 'model_call' || (e.kind === 'model_rejected' && e.reason === 'budget_exhausted')) && e.gateway !== 'tla') {
      folded ??= { calls: 0, tokens: 0, rejected: 0, at };
      folded.calls++;
      folded.tokens += tokens;
      if (e.kind === 'model_rejected') folded.rejected++;
      return;
    }
    flush();
    if (e.kind === 'model_call') return block(at, 'model tla', `HTTP ${num(e.status)} · ${num(usage?.prompt_tokens ?? 0)} prompt + ${num(usage?.completion_tokens ?? 0)} completion tokens · ${num(e.latencyMs)} ms`);
    if (e.kind === 'model_rejected') return block(at, `model ${e.gateway === 'tla' ? 'tla' : 'ra'}`, `refused: ${str(e.message)}`);
    if (e.kind === 'model_failed') return block(at, `model ${e.gateway === 'tla' ? 'tla' : 'ra'}`, `endpoint failed after retries: ${str(e.endpoint)} answered ${e.status === null ? 'nothing' : `HTTP ${num(e.status)}`}: ${str(e.message)}`);
    if (e.kind === 'checkpoint') return block(at, 'checkpoint', `#${num(e.step)} dev score ${typeof e.devScore === 'number' ? e.devScore.toFixed(3) : '?'} at ${num(e.tokens)} tokens${e.budgetExhausted ? ' (budget ran out during it: not valid)' : ''}`);
    if (e.kind === 'note') {
      const rest = Object.entries(e)
        .filter(([k]) => !['ts', 'kind', 'note'].includes(k))
        .map(([k, v]) => `${k}: ${shorten(str(v), 300)}`);
      return block(at, 'note', [str(e.note ?? ''), ...rest].join('\n'));
    }
    // tla_step
    switch (e.type) {
      case 'message':
        return block(at, String(e.role ?? 'message'), shorten(str(e.content ?? ''), max));
      case 'assistant': {
        const calls = (Array.isArray(e.toolCalls) ? e.toolCalls : []) as { name?: string; arguments?: string }[];
        const text = [`(turn ${num(e.turn)}) ${e.content ? shorten(str(e.content), max) : calls.length ? '' : '(empty reply)'}`.trimEnd(), ...calls.map((c) => `→ ${c.name ?? '(no name)'} ${shorten(c.arguments ?? '', max)}`)];
        return block(at, 'assistant', text.join('\n'));
      }
      case 'tool_result':
        return block(at, 'tool', `${e.tool ?? '(unknown)'} → ${shorten(str(e.output ?? ''), max)}`);
      case 'exec':
        return block(at, 'sandbox', `${(Array.isArray(e.argv) ? e.argv : []).map(String).join(' ').slice(0, 200)} · ${e.killedFor ? `killed (${str(e.killedFor)})` : e.exitCode === null ? `signal ${str(e.signal)}` : `exit ${num(e.exitCode)}`} · ${num(e.wallMs)} ms · ${str(e.isolation)}`);
      case 'sandbox_violation':
        return block(at, 'VIOLATION', `${str(e.note)} after ${str(e.after)}: ${str(e.removed)}`);
      case 'summary':
        return block(at, 'summary', `${num(e.turnsSummarised)} older turn(s) summarised${e.content ? `:\n${shorten(str(e.content), max)}` : ''}`);
      case 'start':
        return block(at, 'start', `react TLA · variant ${str(e.variant)} · model ${str(e.model)} · evaluates on ${num(e.evalTasks)} dev tasks · isolation ${str(e.isolation)}`);
      case 'submit':
        return block(at, 'submit', e.note ? shorten(str(e.note), max) : '(no note)');
      case 'restore':
        return block(at, 'restore', str(e.note));
      case 'model_error':
        return block(at, 'model error', `${e.budget ? 'token budget spent: ' : ''}${shorten(str(e.error), max)}`);
      case 'model_retry':
        return block(at, 'retry', `attempt ${num(e.attempt)}: ${shorten(str(e.error), 300)}`);
      case 'final':
        return block(at, 'final', `stopped: ${str(e.stopReason)} · submitted checkpoint ${str(e.submittedCheckpoint)} (dev ${typeof e.devScore === 'number' ? e.devScore.toFixed(3) : '-'}) · ${num(e.tokensSpent)} tokens`);
      default: {
        const rest = Object.entries(e)
          .filter(([k]) => !['ts', 'kind'].includes(k))
          .map(([k, v]) => `${k}=${shorten(str(v), 200)}`)
          .join(' ');
        return block(at, 'step', rest);
      }
    }
  });
  flush();
  return escapeForTerminal(out.join('\n') + '\n');
}

/**
 * `uplift show <run-id>`: renders a run's TLA transcript (`sweeps/<sweep>/runs/<run>/tla/transcript.jsonl`)
 * from the embedded store: every message, tool call and output, checkpoints, tokens.
 */
export function registerShowCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('show')
    .description("render a run's TLA transcript: messages, tool calls and outputs, checkpoints, tokens")
    .argument('<run-id>', 'a run id from `uplift results`')
    .option('--sweep <sweep-id>', 'the sweep of the run (default: the newest sweep that has it)')
    .option('--full', 'do not shorten long messages and outputs')
    .option('--json', 'print the raw JSONL transcript')
    .addOption(dataDirOption())
    .action(async (runId: string, opts: { sweep?: string; full?: boolean; json?: boolean; dataDir?: string }) => {
      // Read-only: works while a sweep holds the data dir (through its services).
      await withReadOnlyStores(dataDirOf(opts.dataDir), async (stores) => {
        const store = stores.artifacts;
        const found = await findTranscript(store, runId, opts.sweep);
        const text = (await store.getText(found.key)) ?? '';
        // Everything printed goes through an escape: transcripts hold model and agent text.
        if (opts.json) io.out(escapeJsonlForTerminal(text));
        else {
          io.out(escapeForTerminal(`Run ${runId} of sweep ${found.sweepId} (${store.uri(found.key)})\n\n`));
          io.out(renderTranscript(text.split('\n'), { full: opts.full }));
        }
        if (found.others.length) io.err(escapeForTerminal(`(run ${runId} is also in sweep(s) ${found.others.join(', ')}; pass --sweep to pick one)\n`));
        setExit(EXIT.ok);
      });
    });
}
