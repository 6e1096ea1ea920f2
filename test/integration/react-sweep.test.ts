import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerShowCommand } from '../../cli/commands/show';
import { executeSweep } from '../../cli/local/runner';
import type { RunRecord } from '../../core/records';
import { loadSpec } from '../../core/spec';
import { newSweepId, prepareSweep, stageSweep } from '../../core/sweep/stage';
import { TlaResult } from '../../core/sweep/outputs';
import { embeddedForTest } from '../support/embedded';
import { startScriptedModel, toolReply, type ScriptedModel } from '../support/scripted-model';
import { EXAMPLES } from '../support/specs';
import { describeWithBwrap } from '../support/bwrap';
import { helpfulEdit } from '../core/tla/react-fixture';

const RUN = 'react-classifier-tai-safety-simple-s1';
let model: ScriptedModel;
let dataDir: string;
let sweepId: string;
let outcome: Awaited<ReturnType<typeof executeSweep>>;
let record: RunRecord | undefined;
let transcript: string;
let result: TlaResult & { isolation: string };
let keys: string[];

beforeAll(async () => {
  // GIVEN a scripted TLA model that edits the prompt, evaluates and submits, over real HTTP
  model = await startScriptedModel([
    { toolCalls: [{ id: 'view', name: 'view_file', arguments: { path: 'prompt.txt' } }] },
    { toolCalls: [{ ...helpfulEdit(6), id: 'edit' }] },
    { toolCalls: [{ id: 'eval', name: 'evaluate', arguments: {} }] },
    { toolCalls: [{ id: 'submit', name: 'submit', arguments: { note: 'added examples' } }] },
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'react-sweep-'));
  const specFile = join(dir, 'sweep.yaml');
  writeFileSync(
    specFile,
    `name: react-it
cbms: [{ id: tai-safety, dataset: ${join(EXAMPLES, 'datasets/tai-safety')} }]
ras: [{ name: classifier, bundle: ${join(EXAMPLES, 'agents/classifier')}, model: { provider: offline } }]
tlas:
  - kind: react
    model: { provider: openai, name: scripted, baseUrl: "${model.baseUrl}", apiKeyEnv: UPLIFT_TEST_SCRIPTED_KEY }
    evalTasks: 24
variants: [simple]
shardSize: 90
budgets: { tlaTokens: 300000, shardTokens: 300000, tlaWallSeconds: 120, shardWallSeconds: 120, maxUsd: 1 }
prices: { models: { scripted: { inputPerMTok: 0, outputPerMTok: 0 } } }
`,
  );
  const { svc, stores, dataDir: d } = await embeddedForTest();
  dataDir = d;
  try {
    const jobEnv = { ...process.env, UPLIFT_TEST_SCRIPTED_KEY: 'scripted-key' };
    const prepared = prepareSweep(loadSpec(specFile), jobEnv);
    sweepId = newSweepId('react-it');
    await stageSweep(stores.artifacts, prepared, sweepId);
    // WHEN the state machine runs it with the job processes of the local Batch pool
    outcome = await executeSweep({ sweepId, storageEnv: svc.env, logDir: join(dataDir, 'logs'), poolSize: 2, jobEnv });
    record = await stores.scores.getRun(sweepId, RUN);
    transcript = (await stores.artifacts.getText(`sweeps/${sweepId}/runs/${RUN}/tla/transcript.jsonl`)) ?? '';
    result = TlaResult.extend({ isolation: TlaResult.shape.isolation }).parse(JSON.parse((await stores.artifacts.getText(`sweeps/${sweepId}/runs/${RUN}/tla/result.json`)) ?? '{}'));
    keys = await stores.artifacts.list(`sweeps/${sweepId}/runs/${RUN}/`);
  } finally {
    await svc.stop();
  }
});
afterAll(async () => model.close());

describeWithBwrap('a local sweep with the react TLA and a scripted model', () => {
  test('runs through the state machine, the jobs and the stores, and scores the MRA', () => {
    expect(outcome.status).toBe('succeeded');
    expect(record).toMatchObject({ status: 'succeeded', tla: 'react', tasks: 180 });
    expect(record?.mra).toBeGreaterThan(record?.baseline as number);
    expect(record?.tokens?.tla).toBe(result.usage.totalTokens);
    expect(result.stopReason).toBe('submitted');
    expect(result.isolation).toBe('bwrap');
    expect(result.changedFiles).toEqual(['prompt.txt']);
    expect(model.remaining()).toBe(0);
    expect(toolReply(model.requests, 'eval')).toMatch(/^checkpoint 1: dev score/);
  });

  test('keeps the transcript, the checkpoints with their tokens, the MRA and its diff in S3', () => {
    const kinds = new Set(transcript.trim().split('\n').map((l) => (JSON.parse(l) as { kind: string }).kind));
    expect([...kinds].sort()).toEqual(['checkpoint', 'model_call', 'note', 'tla_step']);
    expect(result.checkpoints.map((c) => [c.step, c.accepted])).toEqual([
      [0, true],
      [1, true],
    ]);
    expect(result.checkpoints[1].tokens).toBeGreaterThan(result.checkpoints[0].tokens);
    const prefix = `sweeps/${sweepId}/runs/${RUN}/`;
    for (const k of ['tla/checkpoints/0.tar.gz', 'tla/checkpoints/1.tar.gz', 'tla/mra.tar.gz', 'tla/mra.diff', 'tla/result.json', 'tla/transcript.jsonl']) expect(keys).toContain(prefix + k);
  });

  test('`uplift show <run-id>` renders the transcript readably', async () => {
    let out = '';
    let code = -1;
    const program = new Command('uplift').exitOverride();
    registerShowCommand(program, { out: (s) => (out += s), err: () => undefined }, (c) => (code = c));
    await program.parseAsync(['node', 'uplift', 'show', RUN, '--data-dir', dataDir]);
    expect(code).toBe(0);
    expect(out).toContain(`Run ${RUN} of sweep ${sweepId}`);
    expect(out).toMatch(/note +TLA started\n(.*\n)*? +isolation: bwrap\n/);
    expect(out).toMatch(/start +react TLA · variant simple · model scripted · evaluates on 24 dev tasks · isolation bwrap/);
    expect(out).toMatch(/assistant +\(turn 2\)\n +→ edit_file \{"path":"prompt\.txt"/);
    expect(out).toMatch(/tool +edit_file → edited \/workspace\/prompt\.txt/);
    expect(out).toMatch(/checkpoint +#1 dev score 0\.\d{3} at [\d,]+ tokens/);
    expect(out).toMatch(/model ra +24 call\(s\) of the RA's model/);
    expect(out).toMatch(/final +stopped: submitted · submitted checkpoint 1/);
  });
});
