import { TlaModelError } from '../../../core/tla/react';
import { toolReply } from '../../support/scripted-model';
import { helpfulEdit, RA_PROMPT, REAL_KEY, runReactJob } from './react-fixture';

const call = (name: string, args: Record<string, unknown> | string, id?: string) => ({ toolCalls: [{ name, arguments: args, ...(id ? { id } : {}) }] });
const steps = (e: { kind: string; type?: unknown }[], type: string) => e.filter((x) => x.kind === 'tla_step' && x.type === type);

describe('react TLA (scripted model over HTTP, real tla-sandbox job)', () => {
  test('an edit that raises the dev score is kept and submitted', async () => {
    // GIVEN a model that looks at the prompt, fumbles one edit, makes a helpful one, evaluates and submits
    const r = await runReactJob({
      steps: [
        call('view_file', { path: 'prompt.txt' }, 'view'),
        call('edit_file', { path: 'prompt.txt', old_str: 'Exampels:', new_str: 'x' }, 'typo'),
        { toolCalls: [{ ...helpfulEdit(), id: 'edit' }] },
        call('evaluate', {}, 'eval'),
        call('submit', { note: 'added labelled examples' }, 'submit'),
      ],
    });
    // THEN the edit raised the dev score, its checkpoint is accepted and it is the MRA
    expect(r.result.stopReason).toBe('submitted');
    expect(r.result.checkpoints).toHaveLength(2);
    const [before, after] = r.result.checkpoints;
    expect(after.devScore).toBeGreaterThan(before.devScore);
    expect(after.accepted).toBe(true);
    expect(r.mraFile('prompt.txt')).toContain('Label: TAI safety research\n');
    expect(r.result.changedFiles).toEqual(['prompt.txt']);
    expect(r.diff).toContain('+Abstract: ');
    // AND the model saw the file, a clear error for the fumbled edit, and the evaluation
    expect(toolReply(r.requests, 'view')).toMatch(/^\/workspace\/prompt\.txt \(lines 1-\d+ of \d+\):\n1\tYou are an expert/);
    expect(toolReply(r.requests, 'typo')).toMatch(/^error: old_str was not found in \/workspace\/prompt\.txt; nothing was changed/);
    expect(toolReply(r.requests, 'edit')).toMatch(/^edited \/workspace\/prompt\.txt: replaced 1 occurrence/);
    expect(toolReply(r.requests, 'eval')).toMatch(/^checkpoint 1: dev score 0\.\d+ \(\d+ of 16 tasks right\)\.\nBest so far: .* \(checkpoint 1\)\./);
    // AND the simple variant named the file to change and how to evaluate; the first message carried the initial score
    const firstUser = r.requests[0].body.messages[1].content as string;
    expect(firstUser).toContain("the prompt file `prompt.txt`");
    expect(firstUser).toContain('call the `evaluate` tool');
    expect(firstUser).toMatch(/checkpoint 0: dev score/);
    // AND the gateway forwarded with the real key while the job's tokens count both models
    expect(r.requests.every((q) => q.authorization === `Bearer ${REAL_KEY}`)).toBe(true);
    const byModel = Object.fromEntries((r.result.usageByModel ?? []).map((u) => [u.gateway, u.totalTokens]));
    expect(byModel.tla).toBeGreaterThan(0);
    expect(byModel.ra).toBeGreaterThan(0);
    expect(r.result.usage.totalTokens).toBe(byModel.tla + byModel.ra);
    expect(after.tokens).toBeGreaterThan(before.tokens);
    // AND the transcript holds every message, tool call, output, model call and checkpoint
    expect(steps(r.transcript, 'message').map((e) => (e as { role?: string }).role)).toEqual(['system', 'user']);
    expect(steps(r.transcript, 'assistant')).toHaveLength(5);
    expect(steps(r.transcript, 'tool_result')).toHaveLength(5);
    expect(r.transcript.filter((e) => e.kind === 'model_call' && e.gateway === 'tla')).toHaveLength(5);
    expect(r.transcript.filter((e) => e.kind === 'checkpoint').map((e) => e.step)).toEqual([0, 1]);
    expect(r.transcript[0]).toMatchObject({ kind: 'note', isolation: r.result.isolation });
    expect(r.summary).toMatchObject({ role: 'tla', skipped: false, tokens: r.result.usage.totalTokens });
  });

  test('a budget spent on its own model call ends the run with the best bundle so far submitted', async () => {
    // GIVEN a helpful edit (evaluated), then an edit that breaks the prompt, then a reply that spends the budget
    const r = await runReactJob({
      // (the reported usage stays within what the call reserved: more would be an endpoint accounting failure)
      tlaTokens: 60_000,
      steps: [
        { toolCalls: [helpfulEdit()] },
        call('evaluate', {}),
        call('edit_file', { path: 'prompt.txt', old_str: 'Now classify this abstract.', new_str: 'BROKEN' }),
        { toolCalls: [{ name: 'bash', arguments: { command: 'echo still working' } }], usage: { prompt_tokens: 19_000, completion_tokens: 10 } },
        call('submit', {}),
      ],
    });
    // THEN the next model call is refused, the run stops on the budget, and the MRA is the evaluated edit
    expect(r.result.stopReason).toBe('token_budget');
    expect(r.transcript.some((e) => e.kind === 'model_rejected' && e.gateway === 'tla')).toBe(true);
    expect(r.mraFile('prompt.txt')).toContain('Label: TAI safety research\n');
    expect(r.mraFile('prompt.txt')).not.toContain('BROKEN');
    expect(r.result.checkpoints.map((c) => c.accepted)).toEqual([true, true]);
    expect(steps(r.transcript, 'restore')).toHaveLength(1);
    expect(steps(r.transcript, 'final')[0]).toMatchObject({ stopReason: 'token_budget', submittedCheckpoint: 1 });
  });

  test('a budget spent during an evaluation voids that checkpoint and submits the earlier best', async () => {
    // GIVEN a budget that covers the first evaluation but not one with a long prompt
    // (here: the first evaluation ~3.5k, the TLA's second call holds ~19k while it runs, the second evaluation ~18k)
    const r = await runReactJob({ tlaTokens: 25_500, steps: [{ toolCalls: [helpfulEdit()] }, call('evaluate', {}, 'eval'), call('submit', {})] });
    // THEN the second evaluation is marked not valid, the run stops, and the RA as given is submitted
    expect(r.result.stopReason).toBe('token_budget');
    expect(r.result.checkpoints).toHaveLength(2);
    expect(r.result.checkpoints[1]).toMatchObject({ accepted: false, note: 'budget exhausted during evaluation' });
    expect(r.result.checkpoints[0].accepted).toBe(true);
    expect(r.mraFile('prompt.txt')).toBe(RA_PROMPT);
    expect(r.result.changedFiles).toEqual([]);
    expect(r.result.usage.totalTokens).toBeLessThanOrEqual(25_500);
  });

  test('malformed JSON arguments, unknown tools, bad arguments and empty replies get errors back and are survived', async () => {
    const r = await runReactJob({
      react: { toolOutputChars: 2000 },
      steps: [
        call('edit_file', '{"path": "prompt.txt", "old_str": ', 'badjson'),
        call('rm_rf', { path: '/' }, 'unknown'),
        { content: '' },
        { raw: { id: 'x', object: 'chat.completion', created: 0, model: 'scripted', choices: [] } },
        call('edit_file', { path: 'prompt.txt' }, 'missing'),
        call('view_file', { path: '../../../etc/passwd' }, 'outside'),
        call('edit_file', { path: 'prompt.txt', old_str: '\n', new_str: '' }, 'ambiguous'),
        call('bash', { command: "python3 -c \"print('x' * 50000)\"" }, 'long'),
        call('submit', {}),
      ],
    });
    expect(r.result.stopReason).toBe('submitted');
    expect(toolReply(r.requests, 'badjson')).toMatch(/^error: the arguments of edit_file are not valid JSON \(.+\)\. Received: \{"path": "prompt.txt", "old_str": \. Send one JSON object, e\.g\. /);
    expect(toolReply(r.requests, 'unknown')).toBe('error: there is no tool "rm_rf". Available tools: bash, python, view_file, edit_file, evaluate, submit.');
    expect(toolReply(r.requests, 'missing')).toMatch(/^error: bad arguments for edit_file: old_str: .*; new_str: .*\. Expected e\.g\. /);
    expect(toolReply(r.requests, 'outside')).toMatch(/^error: \.\.\/\.\.\/\.\.\/etc\/passwd is outside the agent directory \/workspace/);
    expect(toolReply(r.requests, 'ambiguous')).toMatch(/^error: old_str occurs \d+ times in \/workspace\/prompt\.txt \(at lines 1, 2, /);
    const long = toolReply(r.requests, 'long') as string;
    expect(long.length).toBeLessThan(2200);
    expect(long).toMatch(/characters omitted: the output was \d+ characters, longer than the 2000 shown/);
    // the empty reply and the reply without choices were each answered with a nudge
    const nudges = r.requests[r.requests.length - 1].body.messages.filter((m) => m.role === 'user' && typeof m.content === 'string' && m.content.startsWith('You did not call a tool (your reply was empty)'));
    expect(nudges).toHaveLength(2);
    expect(r.mraFile('prompt.txt')).toBe(RA_PROMPT);
  });

  test('a bundle the TLA broke is never submitted: its evaluation fails with a message, the best checkpoint is restored', async () => {
    const r = await runReactJob({
      steps: [call('edit_file', { path: 'agent.yaml', old_str: 'entrypoint: [python3, agent.py]', new_str: 'entrypoint: 42' }), call('evaluate', {}, 'eval'), call('submit', {})],
    });
    expect(toolReply(r.requests, 'eval')).toMatch(/^error: the evaluate tool failed: .*agent\.yaml: entrypoint: /);
    expect(r.result.stopReason).toBe('submitted');
    expect(r.result.checkpoints).toHaveLength(1);
    expect(r.result.changedFiles).toEqual([]);
    expect(r.mraFile('agent.yaml')).toContain('entrypoint: [python3, agent.py]');
  });

  test('older turns are summarised to keep the conversation under the context window', async () => {
    const chatty = Array.from({ length: 8 }, (_, i) => call('bash', { command: `python3 -c "print('line ${i} ' * 300)"` }));
    const r = await runReactJob({ react: { contextTokens: 4000, maxOutputTokens: 256, toolOutputChars: 2500 }, steps: [...chatty, call('submit', {})] });
    expect(r.result.stopReason).toBe('submitted');
    expect(r.requests.some((q) => q.kind === 'summary')).toBe(true);
    const turns = r.requests.filter((q) => q.kind === 'turn');
    for (const q of turns) expect(JSON.stringify(q.body.messages).length + JSON.stringify(q.body.tools).length).toBeLessThan(4000 * 4);
    expect(JSON.stringify(turns[turns.length - 1].body.messages)).toContain('Summary of your earlier work');
    expect(steps(r.transcript, 'summary').length).toBeGreaterThan(0);
  });

  test('at a weaker sandbox level it still works, and the level and what it does not isolate are recorded', async () => {
    const r = await runReactJob({ processEnv: { UPLIFT_SANDBOX: 'uid-rlimits' }, steps: [call('bash', { command: 'id -u; echo "$OPENAI_BASE_URL"' }, 'id'), call('submit', {})] });
    expect(r.result.isolation).toBe('uid-rlimits');
    expect(r.transcript[0]).toMatchObject({ kind: 'note', isolation: 'uid-rlimits', guarantees: { network: 'host network (not isolated)' } });
    expect(toolReply(r.requests, 'id')).toMatch(/^exit code 0\nstdout:\n\d{6,}\nhttp:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(r.result.checkpoints[0].devScore).toBeGreaterThan(0);
  });

  test('the hard variant states only the goal', async () => {
    const r = await runReactJob({ variant: 'hard', steps: [call('submit', {})] });
    const firstUser = r.requests[0].body.messages[1].content as string;
    expect(firstUser).toMatch(/^Goal: improve the accuracy of the agent in \/workspace on its task\. Use the tools\.\n/);
    expect(firstUser).not.toContain('prompt.txt');
    expect(firstUser).not.toContain('dev.jsonl');
  });

  test('a model that fails on its first call fails the job instead of reporting no uplift', async () => {
    await expect(runReactJob({ steps: [{ raw: { error: { message: 'model "scripted" does not exist', type: 'invalid_request_error' } }, status: 404 }] })).rejects.toThrow(TlaModelError);
  });
});
