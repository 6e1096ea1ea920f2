import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTaskFamily } from '../../core/cbm/workspace/family';
import { runCli } from '../support/cli';
import { describeWithBwrap } from '../support/bwrap';
import { EXAMPLES } from '../support/specs';
import { hunksOf, startSweFakeModel } from '../support/swe-fake-model';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const FAMILY = join(EXAMPLES, 'datasets/mini-swe');
const KEY = 'sk-fake-swe-key';

function spec(baseUrl: string, tlas: string, extra = '', cbmExtra = '', family = FAMILY): string {
  const dir = mkdtempSync(join(tmpdir(), 'uplift-ws-'));
  const file = join(dir, 'sweep.yaml');
  writeFileSync(
    file,
    `name: mini-swe-it
cbms:
  - { id: mini-swe, kind: workspace, dataset: ${family}, taskWallSeconds: 60${cbmExtra} }
ras:
  - name: basic-agent
    bundle: ${join(EXAMPLES, 'agents/basic-agent')}
    model: { provider: openai, name: fake-swe, baseUrl: "${baseUrl}", apiKeyEnv: FAKE_SWE_KEY }
tlas: ${tlas}
shardSize: 6
budgets: { tlaTokens: 200000, shardTokens: 400000, tlaWallSeconds: 300, shardWallSeconds: 600, maxUsd: 5 }
prices: { models: { fake-swe: { inputPerMTok: 0.1, outputPerMTok: 0.2 } } }
${extra}
`,
  );
  return file;
}

/** Every file under a directory (for checking what the agent's sandbox could have found). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n)) : [join(dir, n)]));
}

/*
 * The workspace kind through `uplift run` and the state machine: basic-agent on mini-swe with a
 * stand-in model computed from each task's reference patch and the tools the scaffold offers.
 * Without an edit tool it can only apply one-line fixes; basic-agent-edit (a `fixed` TLA) applies
 * every fix, so the scaffold change resolves more held-out tasks, scored by hidden tests outside
 * the agent's sandbox.
 */
describeWithBwrap('workspace CBM: mini-swe through the state machine', () => {
  test('a better edit tool resolves more held-out tasks: scored on hidden tests after the agent exits; noop changes nothing', async () => {
    const model = await startSweFakeModel(FAMILY);
    try {
      const f = loadTaskFamily(FAMILY);
      const oneLine = f.test.filter((t) => hunksOf(t.referencePatch ?? '').every((h) => h.oneLine)).length;
      expect(oneLine).toBeGreaterThan(0);
      expect(oneLine).toBeLessThan(f.test.length);
      const dataDir = mkdtempSync(join(tmpdir(), 'uplift-ws-data-'));
      const r = await runCli(['run', spec(model.baseUrl, `[{kind: noop}, {kind: fixed, name: edit-tool, bundle: ${join(EXAMPLES, 'agents/basic-agent-edit')}}]`), '--json', '--data-dir', dataDir], { FAKE_SWE_KEY: KEY });
      expect(r.stderr).not.toMatch(/failed:/);
      expect(r.code).toBe(0);
      const runs = (JSON.parse(r.stdout) as { runs: { tla: string; status: string; baseline: number; mra: number; uplift: number; ci: [number, number]; tasks: number; outcomes: { mra: { scored: number } } }[] }).runs;
      const edit = runs.find((x) => x.tla === 'edit-tool');
      const noop = runs.find((x) => x.tla === 'noop');
      // Hand-computed: the baseline resolves exactly the one-line tasks of the test split, the edit tool all of them.
      expect(edit?.baseline).toBeCloseTo(oneLine / f.test.length, 10);
      expect(edit?.mra).toBe(1);
      expect(edit?.ci[0]).toBeGreaterThan(0);
      expect(edit?.outcomes.mra.scored).toBe(f.test.length);
      expect(noop).toMatchObject({ status: 'succeeded', uplift: 0, ci: [0, 0] });
    } finally {
      await model.close();
    }
  });

  test('the agent cannot read the hidden tests: a search of its whole sandbox finds nothing, and the tests never reach the model', async () => {
    const f = loadTaskFamily(FAMILY);
    // A FAIL_TO_PASS test name that exists only in the hidden files of its task.
    const task = f.test.find((t) => (t.failToPass ?? []).some((id) => !Object.values(t.workspace).some((c) => c.includes(id.split('.').pop() as string)))) as (typeof f.test)[number];
    const secret = (task.failToPass ?? []).map((id) => id.split('.').pop() as string).find((name) => !Object.values(task.workspace).some((c) => c.includes(name))) as string;
    expect(Object.values(task.hidden).some((c) => c.includes(secret))).toBe(true);
    const model = await startSweFakeModel(FAMILY, { snoop: secret });
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'uplift-ws-snoop-'));
      const r = await runCli(['run', spec(model.baseUrl, '[{kind: noop}]'), '--json', '--data-dir', dataDir], { FAKE_SWE_KEY: KEY });
      expect(r.code).toBe(0);
      // The agent ran its search on every task (its tool results reached the model) ...
      const toolResults = model.requests.flatMap((q) => (JSON.parse(q) as { messages: { role: string; content?: string }[] }).messages.filter((m) => m.role === 'tool').map((m) => String(m.content)));
      expect(toolResults.some((c) => c.includes('searched'))).toBe(true);
      // ... and found no file holding the hidden test: neither in its workspace, nor the data set, nor the harness's data dir.
      for (const c of toolResults) expect(c).not.toContain(secret);
      expect(model.requests.some((q) => q.includes(`def ${secret}`))).toBe(false);
      // The hidden tests did exist on this machine all along (the examples and the staged data set).
      expect(filesUnder(join(FAMILY, 'tasks', task.id, 'hidden')).some((p) => readFileSync(p, 'utf8').includes(secret))).toBe(true);
    } finally {
      await model.close();
    }
  });

  test('attempts: k per task give RE-Bench best-of-k and time-budget curves for baseline and MRA, with paired CIs, matching hand-computed values', async () => {
    // A model that, with bash only, fixes a task of several hunks on every other attempt: those tasks score [1, 0].
    const model = await startSweFakeModel(FAMILY, { alternate: true });
    try {
      const f = loadTaskFamily(FAMILY);
      const oneLine = f.test.filter((t) => hunksOf(t.referencePatch ?? '').every((h) => h.oneLine)).length;
      const n = f.test.length;
      const dataDir = mkdtempSync(join(tmpdir(), 'uplift-ws-k-'));
      // One run at a time, noop first: its baseline makes attempts 1–2 of each task, its MRA attempts 3–4.
      const file = spec(model.baseUrl, `[{kind: noop}, {kind: fixed, name: edit-tool, bundle: ${join(EXAMPLES, 'agents/basic-agent-edit')}}]`, 'concurrency: { runs: 1, requests: 8 }', ', attempts: 2');
      const r = await runCli(['run', file, '--json', '--data-dir', dataDir], { FAKE_SWE_KEY: KEY });
      expect(r.code).toBe(0);
      type Point = { k: number; baseline: number; mra: number; uplift: number; ci: [number, number] };
      type TimePoint = { budgetSeconds: number; baseline: number; mra: number; uplift: number; ci: [number, number]; noneFinished: { baseline: number; mra: number } };
      const runs = (JSON.parse(r.stdout) as { runs: { tla: string; baseline: number; bestOfK: Point[]; timeCurve: TimePoint[] }[] }).runs;
      const noop = runs.find((x) => x.tla === 'noop');
      const edit = runs.find((x) => x.tla === 'edit-tool');
      // Best-of-1 is the mean over attempts: one-line tasks [1, 1] → 1, the others [1, 0] → 0.5.
      const best1 = (oneLine + 0.5 * (n - oneLine)) / n;
      expect(noop?.baseline).toBeCloseTo(best1, 10);
      expect(noop?.bestOfK.map((p) => p.k)).toEqual([1, 2]);
      expect(noop?.bestOfK[0].baseline).toBeCloseTo(best1, 10);
      // Best-of-2 over [1, 0] is 1: every task is solved by one of its two attempts.
      expect(noop?.bestOfK[1].baseline).toBeCloseTo(1, 10);
      // noop's MRA behaves alike (attempts 3–4): uplift 0 with a point CI at every k.
      for (const p of noop?.bestOfK ?? []) expect([p.uplift, ...p.ci].map((x) => Math.abs(x) < 1e-12)).toEqual([true, true, true]);
      // The edit tool solves everything at every attempt: uplift 1 − best1 at k = 1, none left at k = 2.
      expect(edit?.bestOfK[0].mra).toBe(1);
      expect(edit?.bestOfK[0].uplift).toBeCloseTo(1 - best1, 10);
      expect(edit?.bestOfK[0].ci[0]).toBeGreaterThan(0);
      expect(edit?.bestOfK[1].uplift).toBeCloseTo(0, 10);
      // Time budgets 0.5, 1, 2 × taskWallSeconds 60 (the spec's, not the shard's 600 s). An attempt counts at
      // most its 60 s wall clock, so at T = 60 s at least each task's first attempt has finished, and the first
      // fixes every task (conversation 1): the baseline is 1 there, not best-of-1; at T = 120 s both have.
      // (These attempts take seconds, so the order itself is pinned in test/core/scoring/best-of-k.test.ts.)
      for (const run of [noop, edit]) {
        expect(run?.timeCurve.map((p) => p.budgetSeconds)).toEqual([30, 60, 120]);
        for (const p of run?.timeCurve.slice(1) ?? []) {
          expect(p).toMatchObject({ baseline: 1, mra: 1, noneFinished: { baseline: 0, mra: 0 } });
          expect([p.uplift, ...p.ci].map((x) => Math.abs(x) < 1e-12)).toEqual([true, true, true]);
        }
      }
      // The table says it too.
      const shown = await runCli(['results', (JSON.parse(r.stdout) as { sweepId: string }).sweepId, '--data-dir', dataDir], { UPLIFT_COLUMNS: '1000' }); // every column, one line per run
      expect(shown.stdout).toMatch(/Best-of-k over each test task's attempts/);
      expect(shown.stdout).toMatch(/Best score within a total time T over each test task's attempts/);
      // the time table's row: T = 60 s and T = 120 s both 100.0 → 100.0, +0.0 [+0.0, +0.0]
      expect(shown.stdout).toMatch(/^edit-tool-basic-agent-mini-swe-simple-s1 .*100\.0 → 100\.0, \+0\.0 \[\+0\.0, \+0\.0\] +100\.0 → 100\.0, \+0\.0 \[\+0\.0, \+0\.0\]$/m);
      expect(shown.stdout).toMatch(new RegExp(`edit-tool-basic-agent-mini-swe-simple-s1 .*${(best1 * 100).toFixed(1)} → 100\\.0, \\+${((1 - best1) * 100).toFixed(1)} \\[`));
    } finally {
      await model.close();
    }
  });

  test('an ML training task (the CPU analogue of MLAgentBench CIFAR-10) runs end to end: train.py trains in the sandbox, predictions are scored against hidden labels, normalised between baseline and reference', async () => {
    const images = join(EXAMPLES, 'datasets/tiny-images');
    // The sandbox runs the system's python3: without numpy this task cannot train (README, Set up).
    expect(spawnSync('/usr/bin/python3', ['-c', 'import numpy']).status === 0 ? 'numpy importable' : 'the sandbox python3 (/usr/bin/python3) has no numpy. Fix: apt-get install -y python3-numpy').toBe('numpy importable');
    const model = await startSweFakeModel(images);
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'uplift-ws-img-'));
      const file = spec(model.baseUrl, `[{kind: noop}, {kind: fixed, name: edit-tool, bundle: ${join(EXAMPLES, 'agents/basic-agent-edit')}}]`, '', '', images);
      const r = await runCli(['run', file, '--json', '--data-dir', dataDir], { FAKE_SWE_KEY: KEY });
      expect(r.code).toBe(0);
      const runs = (JSON.parse(r.stdout) as { runs: { tla: string; baseline: number; mra: number; uplift: number; ci: [number, number] }[] }).runs;
      // The baseline agent can only run the given train.py: its accuracy is each task's startingScore, normalised to 0.
      // The edit tool applies the reference model, whose accuracy is the referenceScore: normalised to 1.
      expect(runs.find((x) => x.tla === 'noop')).toMatchObject({ baseline: 0, mra: 0, uplift: 0 });
      expect(runs.find((x) => x.tla === 'edit-tool')).toMatchObject({ baseline: 0, mra: 1, uplift: 1, ci: [1, 1] });
    } finally {
      await model.close();
    }
  });
});

/*
 * Per-task token limits through the state machine: a model that never lets one task finish (it asks
 * for one more command forever) in front of the mini-swe stand-in for every other task.
 */
describeWithBwrap('workspace CBM: per-task token limits (taskTokens)', () => {
  test('a task whose agent loops forever stops at its own allowance; the other tasks of its shard are still resolved; the run pays exactly what the endpoint billed', async () => {
    const f = loadTaskFamily(FAMILY);
    // A task the baseline would not resolve anyway (several hunks), so the expected resolved rate is unchanged by the loop.
    const looping = f.test.find((t) => !hunksOf(t.referencePatch ?? '').every((h) => h.oneLine)) as (typeof f.test)[number];
    const oneLine = f.test.filter((t) => hunksOf(t.referencePatch ?? '').every((h) => h.oneLine)).length;
    const inner = await startSweFakeModel(FAMILY);
    let billed = 0;
    let loopCalls = 0;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const send = (status: number, body: string) => {
          const u = (JSON.parse(body) as { usage?: { prompt_tokens: number; completion_tokens: number } }).usage;
          if (u) billed += u.prompt_tokens + u.completion_tokens;
          res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        };
        if (text.includes(JSON.stringify(looping.instructions.slice(0, 200)).slice(1, -1))) {
          loopCalls++;
          const prompt = Math.ceil(text.length / 4);
          const message = { role: 'assistant', content: null, tool_calls: [{ id: `loop-${loopCalls}`, type: 'function', function: { name: 'bash', arguments: JSON.stringify({ command: 'true' }) } }] };
          return send(200, JSON.stringify({ id: `chatcmpl-loop-${loopCalls}`, object: 'chat.completion', created: 0, model: 'fake-swe', choices: [{ index: 0, message, finish_reason: 'tool_calls' }], usage: { prompt_tokens: prompt, completion_tokens: 20, total_tokens: prompt + 20 } }));
        }
        void fetch(`${inner.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' }, body: text }).then(async (r) => send(r.status, await r.text()));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'uplift-ws-tok-'));
      const file = spec(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, '[{kind: noop}]', '', ', taskTokens: 20000');
      const r = await runCli(['run', file, '--json', '--data-dir', dataDir], { FAKE_SWE_KEY: KEY });
      expect(r.code).toBe(0);
      const run = (JSON.parse(r.stdout) as { runs: { status: string; baseline: number; mra: number; tokens: number }[] }).runs[0];
      // basic-agent would take 30 steps; its allowance stopped it sooner, in the baseline and in the MRA shard alike.
      expect(loopCalls).toBeGreaterThan(2);
      expect(loopCalls).toBeLessThan(2 * 30);
      // Every other task still had its own allowance: the one-line fixes were all made.
      expect(run).toMatchObject({ status: 'succeeded' });
      expect(run.baseline).toBeCloseTo(oneLine / f.test.length, 10);
      expect(run.mra).toBeCloseTo(oneLine / f.test.length, 10);
      // The run's tokens are exactly what the endpoint billed (the noop TLA calls no model).
      expect(run.tokens).toBe(billed);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      await inner.close();
    }
  });
});
