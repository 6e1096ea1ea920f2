import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { harnessPath, SHIPPED } from '../assets';
import { cbmKind, kindPromptsDir } from '../cbm/registry';
import type { CbmTask } from '../cbm/types';
import { UpliftError } from '../errors';
import { bundleHash } from '../ra/bundle';
import { seededShuffle } from '../scoring/sampling';
import type { TlaSpec } from '../spec';
import { editFile, formatExec, parseToolCall, toolDefinitions, truncateMiddle, viewFile, type ToolName } from './tools';
import type { Evaluation, Tla, TlaContext, TlaOutcome, TlaRuntime } from './types';

type ReactSpec = Extract<TlaSpec, { kind: 'react' }>;

/** Where the prompt templates live; read at run time (shipped files: core/assets.ts). */
export const PROMPTS_DIR = harnessPath(SHIPPED.tlaPrompts);

/** The react TLA's own model could not be used at all (bad endpoint, key or model name): the run fails instead of reporting a zero uplift. */
export class TlaModelError extends UpliftError {}

/** Replies in a row without a tool call before the TLA stops. */
const MAX_IDLE = 3;
/** Turns kept verbatim when older ones are summarised. */
const KEEP_TURNS = 4;
/** Retries of a model call that failed for a transient reason (connection, 5xx, rate limit other than the budget). */
const MAX_RETRIES = 3;

/** Fills `{{name}}` placeholders of a prompt template file in `dir` (PROMPTS_DIR, or a CBM kind's prompts). */
export function loadPrompt(name: string, vars: Record<string, string>, dir = PROMPTS_DIR): string {
  const file = join(dir, `${name}.md`);
  if (!existsSync(file)) throw new UpliftError(`prompt template ${file} is missing: the react TLA needs core/tla/prompts/ and core/cbm/<kind>/prompts/ under the harness root (core/assets.ts; ship them with the job image)`);
  return readFileSync(file, 'utf8').replace(/\{\{(\w+)\}\}/g, (m, k: string) => vars[k] ?? m);
}

/** Seeded sample of dev tasks that `evaluate` always uses, so scores are comparable. */
export function evalSample<T extends CbmTask>(dev: readonly T[], n: number, seed: number): T[] {
  return seededShuffle(dev, 0x7eac7 + seed * 7919).slice(0, Math.min(n, dev.length));
}

interface Checkpoint {
  step: number;
  score: number;
  /** False when the budget ran out during the evaluation: its score is not trustworthy. */
  valid: boolean;
  hash: string;
}

type Message = ChatCompletionMessageParam;
type ModelReply = { ok: true; message: { content: string | null; toolCalls: { id: string; name?: string; arguments?: string }[] }; finishReason?: string; usage?: unknown } | { ok: false; budget: boolean; error: string };

/**
 * `react`: an LLM ReAct loop over chat completions with tool calls (bash, python, view_file,
 * edit_file, evaluate, submit), every model call through the TLA's gateway and every command in
 * the sandbox. It evaluates the bundle first (checkpoint 0), then lets the model work; each
 * `evaluate` is a checkpoint. However it stops — submit, token budget, wall time, turn limit,
 * idling — the workspace ends as the checkpoint with the best valid dev score (ties go to the
 * earlier one: a change must raise the score to be kept), so a spent budget still submits the
 * best bundle so far. Malformed tool calls,
 * unknown tools and empty replies get an error message back; old turns are summarised to stay
 * under the model's context window.
 */
export const reactTla: Tla = {
  async run(ctx: TlaContext): Promise<TlaOutcome> {
    if (ctx.spec.kind !== 'react') throw new Error(`react got a ${ctx.spec.kind} spec`);
    const rt = ctx.runtime;
    if (!rt?.model) throw new Error('the react TLA needs ctx.runtime with its model endpoint (the tla-sandbox job provides it)');
    return new ReactLoop(ctx, ctx.spec, rt, rt.model).run();
  },
};

class ReactLoop {
  private readonly client: OpenAI;
  private readonly evalSet: CbmTask[];
  private readonly checkpoints: Checkpoint[] = [];
  private readonly head: Message[] = [];
  private turns: Message[][] = [];
  private summary = '';
  private modelAnswered = false;
  private readonly tools = toolDefinitions();

  constructor(
    private readonly ctx: TlaContext,
    private readonly spec: ReactSpec,
    private readonly rt: TlaRuntime,
    private readonly model: NonNullable<TlaRuntime['model']>,
  ) {
    this.client = new OpenAI({ baseURL: model.baseUrl, apiKey: model.apiKey, maxRetries: 0, timeout: 600_000 });
    this.evalSet = evalSample(ctx.dev, spec.evalTasks, ctx.seed);
  }

  async run(): Promise<TlaOutcome> {
    const { ctx, spec, rt } = this;
    const vars = {
      workspace: rt.paths.workspace,
      // The kind's variables first (task, labels, goal, …): the harness's own below cannot be overridden.
      ...cbmKind(ctx.cbm.kind).tlaTexts(ctx.cbm.meta, ctx.cbm.spec).vars,
      dev_path: rt.paths.dev,
      data_path: rt.paths.data,
      prompt_file: ctx.manifest.prompt,
      entrypoint: ctx.manifest.entrypoint.join(' '),
      eval_tasks: String(this.evalSet.length),
      dev_count: String(ctx.dev.length),
      token_budget: rt.tokens().budget.toLocaleString('en-US'),
      max_turns: String(spec.maxTurns),
    };
    const system = loadPrompt('react-system', vars);
    const task = loadPrompt(`react-${ctx.variant}`, vars, kindPromptsDir(ctx.cbm.kind));
    ctx.log({ type: 'start', variant: ctx.variant, model: this.model.name, evalTasks: this.evalSet.length, isolation: rt.isolation });
    const first = await this.evaluate();
    const user = `${task}\n\nThe agent as given was evaluated first:\n${this.describe(first)}`;
    this.head.push({ role: 'system', content: system }, { role: 'user', content: user });
    ctx.log({ type: 'message', role: 'system', content: system });
    ctx.log({ type: 'message', role: 'user', content: user });
    if (first.budgetExhausted) return this.finish('token_budget');

    let idle = 0;
    for (let turn = 1; ; turn++) {
      if (turn > spec.maxTurns) return this.finish('max_turns');
      if (Date.now() > ctx.deadline - 5000) return this.finish('wall_time');
      if (!(await this.compact())) return this.finish('token_budget');
      const reply = await this.complete({ model: this.model.name, messages: this.messages(), tools: this.tools, tool_choice: 'auto', max_tokens: spec.maxOutputTokens });
      if (!reply.ok) {
        ctx.log({ type: 'model_error', turn, budget: reply.budget, error: reply.error });
        if (reply.budget) return this.finish('token_budget');
        if (!this.modelAnswered) throw new TlaModelError(`the react TLA's model ${this.model.name} failed on its first call: ${reply.error}. Fix: check the model's baseUrl, name and API key`);
        return this.finish('model_error');
      }
      this.modelAnswered = true;
      const { content, toolCalls } = reply.message;
      ctx.log({ type: 'assistant', turn, content, toolCalls, finishReason: reply.finishReason, usage: reply.usage, tokensSpent: rt.tokens().spent });
      if (toolCalls.length === 0) {
        idle++;
        const nudge = `You did not call a tool${content ? '' : ' (your reply was empty)'}. Act through a tool call; call submit when you are done.`;
        this.turns.push([{ role: 'assistant', content: content || '(empty reply)' }, { role: 'user', content: nudge }]);
        ctx.log({ type: 'message', role: 'user', turn, content: nudge });
        if (idle >= MAX_IDLE) return this.finish('idle');
        continue;
      }
      idle = 0;
      const group: Message[] = [{ role: 'assistant', content, tool_calls: toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name ?? '', arguments: c.arguments ?? '' } })) }];
      let stop: string | undefined;
      for (const call of toolCalls) {
        let output: string;
        if (stop) output = `not run: the work already ended (${stop}).`;
        else {
          const r = await this.runTool(call.name, call.arguments);
          output = truncateMiddle(r.output, spec.toolOutputChars);
          stop = r.stop;
        }
        group.push({ role: 'tool', tool_call_id: call.id, content: output });
        ctx.log({ type: 'tool_result', turn, id: call.id, tool: call.name, output, tokensSpent: rt.tokens().spent });
      }
      this.turns.push(group);
      if (stop) return this.finish(stop);
    }
  }

  private messages(): Message[] {
    const summary: Message[] = this.summary ? [{ role: 'user', content: `Summary of your earlier work (older turns were summarised to fit the context window):\n${this.summary}` }] : [];
    return [...this.head, ...summary, ...this.turns.flat()];
  }

  /** One model call, retried on transient failures; a spent budget or a persistent failure is a value, not an exception. */
  private async complete(body: ChatCompletionCreateParamsNonStreaming): Promise<ModelReply> {
    for (let attempt = 0; ; attempt++) {
      try {
        const resp = await this.client.chat.completions.create(body, { timeout: Math.max(1000, Math.min(600_000, this.ctx.deadline - Date.now())) });
        const choice = Array.isArray(resp?.choices) ? resp.choices[0] : undefined;
        const msg = choice?.message;
        const raw = Array.isArray(msg?.tool_calls) ? msg.tool_calls : [];
        const toolCalls = raw.map((c, i) => {
          const fn = (c as { function?: { name?: unknown; arguments?: unknown } }).function;
          return {
            id: typeof c.id === 'string' && c.id ? c.id : `call_${Date.now()}_${i}`,
            name: typeof fn?.name === 'string' ? fn.name : undefined,
            arguments: typeof fn?.arguments === 'string' ? fn.arguments : fn?.arguments === undefined ? undefined : JSON.stringify(fn.arguments),
          };
        });
        return { ok: true, message: { content: typeof msg?.content === 'string' ? msg.content : null, toolCalls }, finishReason: choice?.finish_reason ?? undefined, usage: resp?.usage };
      } catch (e) {
        const budget = e instanceof OpenAI.APIError && e.status === 429 && e.code === 'budget_exhausted';
        // The gateway already retried the endpoint: its `upstream_unavailable` is final, not transient.
        const exhausted = e instanceof OpenAI.APIError && e.code === 'upstream_unavailable';
        const transient = !budget && !exhausted && (e instanceof OpenAI.APIConnectionError || (e instanceof OpenAI.APIError && (e.status === 429 || (e.status ?? 0) >= 500)));
        const error = e instanceof Error ? e.message : String(e);
        if (!transient || attempt >= MAX_RETRIES || Date.now() > this.ctx.deadline - 5000) return { ok: false, budget, error };
        this.ctx.log({ type: 'model_retry', attempt: attempt + 1, error });
        await sleep(500 * 2 ** attempt);
      }
    }
  }

  private async runTool(name: string | undefined, rawArgs: string | undefined): Promise<{ output: string; stop?: string }> {
    const call = parseToolCall(name, rawArgs);
    if (!call.ok) return { output: call.error };
    try {
      return await this.dispatch(call.name, call.args);
    } catch (e) {
      this.ctx.log({ type: 'tool_error', tool: call.name, error: (e as Error).stack ?? String(e) });
      return { output: `error: the ${call.name} tool failed: ${(e as Error).message}` };
    }
  }

  private async dispatch(name: ToolName, args: Record<string, unknown>): Promise<{ output: string; stop?: string }> {
    const { rt, spec, ctx } = this;
    switch (name) {
      case 'bash':
      case 'python': {
        const asked = typeof args.timeout_seconds === 'number' ? args.timeout_seconds : spec.commandTimeoutSeconds;
        const seconds = Math.max(1, Math.min(asked, spec.commandTimeoutSeconds, Math.floor((ctx.deadline - Date.now()) / 1000) - 5));
        const r =
          name === 'bash'
            ? await rt.exec(['bash', '-c', String(args.command)], { timeoutMs: seconds * 1000 })
            : await rt.exec(['python3', '-'], { stdin: String(args.code), timeoutMs: seconds * 1000 });
        return { output: formatExec(r, seconds) };
      }
      case 'view_file':
        return { output: viewFile(rt, ctx.workspace, args as { path: string; start_line?: number; end_line?: number }) };
      case 'edit_file':
        return { output: editFile(rt, ctx.workspace, args as { path: string; old_str: string; new_str: string }) };
      case 'evaluate': {
        const ev = await this.evaluate();
        return { output: this.describe(ev), stop: ev.budgetExhausted ? 'token_budget' : undefined };
      }
      case 'submit':
        ctx.log({ type: 'submit', note: args.note ?? null });
        return { output: 'submitted: your work ends here.', stop: 'submitted' };
    }
  }

  private async evaluate(): Promise<Evaluation> {
    const ev = await this.ctx.evaluate(this.evalSet);
    this.checkpoints.push({ step: ev.step, score: ev.score, valid: !ev.budgetExhausted, hash: bundleHash(this.ctx.workspace) });
    // Accepted = the best so far when it was taken: the last accepted checkpoint within b tokens is what the TLA had at budget b.
    if (this.best()?.step === ev.step) this.ctx.accept(ev.step);
    return ev;
  }

  private best(): Checkpoint | undefined {
    let best: Checkpoint | undefined;
    for (const c of this.checkpoints) if (c.valid && (!best || c.score > best.score)) best = c;
    return best;
  }

  private describe(ev: Evaluation): string {
    const best = this.best();
    const { spent, budget } = this.rt.tokens();
    const right = Math.round(ev.score * ev.tasks);
    const lines = [
      ev.budgetExhausted
        ? `checkpoint ${ev.step}: the token budget ran out during this evaluation, so its score (${ev.score.toFixed(3)}) is not valid. Your work ends now.`
        : `checkpoint ${ev.step}: dev score ${ev.score.toFixed(3)} (${right} of ${ev.tasks} tasks right).`,
      best ? `Best so far: ${best.score.toFixed(3)} (checkpoint ${best.step}).` : 'No valid checkpoint yet.',
      `Tokens spent: ${spent.toLocaleString('en-US')} of ${budget.toLocaleString('en-US')}.`,
    ];
    if (ev.failures.length) lines.push('Some failures:', ...ev.failures.map((f) => `- ${f.id}: expected "${f.expected}", got ${f.got === null ? 'no answer' : JSON.stringify(f.got)}`));
    return lines.join('\n');
  }

  /**
   * Keeps the conversation under the model's window: while it is too long, older turns are
   * replaced by a summary the model writes (or, if that call fails, a plain list of the calls
   * made). Returns false when the budget ran out while summarising.
   */
  private async compact(): Promise<boolean> {
    const limit = Math.floor(this.spec.contextTokens * 0.9) - this.spec.maxOutputTokens;
    const size = () => Math.ceil((JSON.stringify(this.messages()).length + JSON.stringify(this.tools).length) / 4);
    for (let keep = KEEP_TURNS; size() > limit && this.turns.length > 1 && keep >= 1; keep--) {
      const cut = Math.max(1, this.turns.length - keep);
      const old = this.turns.slice(0, cut);
      const rendered = truncateMiddle([this.summary ? `Earlier summary:\n${this.summary}` : '', ...old.map(renderTurn)].filter(Boolean).join('\n\n'), Math.max(2000, limit * 2));
      const reply = await this.complete({
        model: this.model.name,
        max_tokens: Math.min(1024, this.spec.maxOutputTokens),
        messages: [
          { role: 'system', content: 'You summarise an engineer\'s work log for the engineer to continue from. Keep: what was tried, what each evaluation scored, what the files now contain, what failed and why, and what to try next. Be concise: at most 300 words.' },
          { role: 'user', content: rendered },
        ],
      });
      if (!reply.ok && reply.budget) {
        this.ctx.log({ type: 'summary', turnsSummarised: cut, error: reply.error });
        return false;
      }
      const text = reply.ok && reply.message.content?.trim() ? reply.message.content.trim() : plainSummary(this.summary, old);
      this.summary = text;
      this.turns = this.turns.slice(cut);
      this.ctx.log({ type: 'summary', turnsSummarised: cut, byModel: reply.ok && Boolean(reply.message.content?.trim()), content: text });
    }
    return true;
  }

  private async finish(stopReason: string): Promise<TlaOutcome> {
    const { ctx, rt } = this;
    const last = this.checkpoints[this.checkpoints.length - 1];
    const canEvaluate = ['submitted', 'max_turns', 'idle', 'model_error'].includes(stopReason) && rt.tokens().spent < rt.tokens().budget && Date.now() < ctx.deadline - 10_000;
    if (canEvaluate && last && bundleHash(ctx.workspace) !== last.hash) {
      ctx.log({ type: 'note', note: 'the workspace changed since the last evaluation: evaluating it before choosing what to submit' });
      try {
        await this.evaluate();
      } catch (e) {
        // e.g. a broken agent.yaml: the workspace is then no candidate; the best checkpoint is restored below.
        ctx.log({ type: 'note', note: `the final evaluation failed: ${(e as Error).message}` });
      }
    }
    const best = this.best();
    if (best) {
      if (bundleHash(ctx.workspace) !== best.hash) await rt.restore(best.step);
      ctx.accept(best.step);
    } else if (this.checkpoints.length) await rt.restore(this.checkpoints[0].step);
    ctx.log({ type: 'final', stopReason, submittedCheckpoint: best?.step ?? null, devScore: best?.score ?? null, checkpoints: this.checkpoints.map(({ step, score, valid }) => ({ step, score, valid })), tokensSpent: rt.tokens().spent });
    return { stopReason };
  }
}

function renderTurn(group: Message[]): string {
  return group
    .map((m) => {
      if (m.role === 'assistant') {
        const calls = (m.tool_calls ?? []).map((c) => (c.type === 'function' ? `${c.function.name}(${truncateMiddle(c.function.arguments, 600)})` : c.type)).join('; ');
        return `assistant: ${typeof m.content === 'string' ? truncateMiddle(m.content, 1000) : ''}${calls ? `\ncalls: ${calls}` : ''}`;
      }
      return `${m.role}: ${typeof m.content === 'string' ? truncateMiddle(m.content, 1500) : ''}`;
    })
    .join('\n');
}

/** The summary when the model cannot write one: each call made, with the first line of its result. */
function plainSummary(previous: string, turns: Message[][]): string {
  const lines = previous ? [previous] : [];
  for (const group of turns) {
    const results = new Map(group.filter((m) => m.role === 'tool').map((m) => [(m as { tool_call_id: string }).tool_call_id, typeof m.content === 'string' ? m.content.split('\n')[0] : '']));
    for (const m of group)
      if (m.role === 'assistant')
        for (const c of m.tool_calls ?? []) if (c.type === 'function') lines.push(`- ${c.function.name} ${c.function.arguments.slice(0, 200)} -> ${(results.get(c.id) ?? '').slice(0, 200)}`);
  }
  return lines.join('\n');
}
