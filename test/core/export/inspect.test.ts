import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { EmbeddedServices } from '../../../cli/local/embedded';
import { executeSweep } from '../../../cli/local/runner';
import { classificationKind, type Example, type LabelSet } from '../../../core/cbm/classification';
import { readMeta, readSplit, stageDataset } from '../../../core/cbm/dataset';
import { workspaceKind } from '../../../core/cbm/workspace';
import { inspectLogsOfSweep, type InspectLogFile, type InspectStores } from '../../../core/export/inspect-loader';
import type { InspectEvalLog } from '../../../core/export/inspect';
import { parseJsonl } from '../../../core/jsonl';
import type { BaselineRecord, RunRecord, SweepMeta } from '../../../core/records';
import { loadSpec } from '../../../core/spec';
import { roleOutputPrefix, shardOutputKey, shardUsageKey, StoredOutcome, type ShardUsage } from '../../../core/sweep/outputs';
import { planKey, SweepPlan } from '../../../core/sweep/plan';
import { newSweepId, prepareSweep, stageSweep } from '../../../core/sweep/stage';
import type { Stores } from '../../../lambdas/aws/clients';
import { embeddedForTest } from '../../support/embedded';
import { MemoryArtifactStore } from '../../support/memory-store';
import { EXAMPLES } from '../../support/specs';

const schema = JSON.parse(readFileSync(join(__dirname, 'inspect-log.schema.json'), 'utf8')) as object;
const validate = new Ajv2020({ allErrors: true, allowUnionTypes: true }).compile(schema);
/** Schema errors of a log, as readable lines (empty when it is valid). */
const problems = (log: unknown): string[] => (validate(log) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`));

let svc: EmbeddedServices;
let stores: Stores;
let sweepId: string;
let records: RunRecord[];
let targets: Example[];
let labels: LabelSet;
/** Every log as the export writes it and reads it back: a JSON file, parsed. */
const written = new Map<string, InspectEvalLog>();
let files: InspectLogFile[];

const logOf = (runId: string, role: 'baseline' | 'mra') => written.get(`${runId}/${role}`) as InspectEvalLog;
const runOf = (tla: string, ra: string) => records.find((r) => r.tla === tla && r.ra === ra) as RunRecord;

beforeAll(async () => {
  ({ svc, stores } = await embeddedForTest());
  const dir = mkdtempSync(join(tmpdir(), 'uplift-inspect-'));
  // An RA whose entrypoint is missing (every task an agent error: its baseline fails the run) …
  const broken = join(dir, 'broken');
  cpSync(join(EXAMPLES, 'agents/classifier'), broken, { recursive: true });
  writeFileSync(join(broken, 'agent.yaml'), readFileSync(join(broken, 'agent.yaml'), 'utf8').replace('entrypoint: [python3, agent.py]', 'entrypoint: [python3, missing.py]'));
  // … and an MRA that gives no line for tasks whose id ends in 7 (agent errors, scored 0).
  const skip7 = join(dir, 'skip7');
  cpSync(join(EXAMPLES, 'agents/classifier'), skip7, { recursive: true });
  const agent = readFileSync(join(skip7, 'agent.py'), 'utf8');
  expect(agent).toContain('def solve(task):\n');
  writeFileSync(join(skip7, 'agent.py'), agent.replace('def solve(task):\n', 'def solve(task):\n    if task["id"].endswith("7"):\n        return\n'));
  const file = join(dir, 'sweep.yaml');
  writeFileSync(
    file,
    `name: inspect-export
cbms:
  - id: tai-safety
    dataset: ${join(EXAMPLES, 'datasets/tai-safety')}
ras:
  - { name: classifier, bundle: ${join(EXAMPLES, 'agents/classifier')}, model: { provider: offline } }
  - { name: broken, bundle: ${broken}, model: { provider: offline } }
tlas: [{kind: noop}, {kind: fixed, name: skip7, bundle: ${skip7}}]
variants: [simple]
seeds: 1
shardSize: 90
budgets: { tlaTokens: 100000, shardTokens: 300000, tlaWallSeconds: 60, shardWallSeconds: 120, maxUsd: 1 }
concurrency: { runs: 2, requests: 8 }
`,
  );
  sweepId = newSweepId('inspect-export');
  await stageSweep(stores.artifacts, prepareSweep(loadSpec(file), process.env), sweepId);
  await executeSweep({ sweepId, storageEnv: svc.env, logDir: join(dir, 'logs'), poolSize: 2 });
  records = await stores.scores.listRuns(sweepId);
  const plan = SweepPlan.parse(JSON.parse((await stores.artifacts.getText(planKey(sweepId))) as string));
  targets = await readSplit(stores.artifacts, plan.runs[0].cbm.datasetPrefix, 'test', classificationKind);
  labels = await readMeta(stores.artifacts, plan.runs[0].cbm.datasetPrefix, classificationKind);
  // WHEN the sweep is exported as the CLI does it: one JSON file per log, read back
  files = await inspectLogsOfSweep(stores, sweepId);
  const out = join(dir, 'inspect');
  mkdirSync(out);
  for (const f of files) {
    writeFileSync(join(out, f.fileName), JSON.stringify(f.log, null, 2));
    written.set(`${f.runId}/${f.role}`, JSON.parse(readFileSync(join(out, f.fileName), 'utf8')) as InspectEvalLog);
  }
}, 240_000);
afterAll(async () => svc?.stop());

describe('Inspect eval logs of a real sweep', () => {
  test('two logs per run, each valid against the EvalLog schema, with distinct file names in Inspect\'s {timestamp}_{task}_{id} pattern', () => {
    expect(records.map((r) => `${r.ra}/${r.tla}/${r.status}`).sort()).toEqual(['broken/noop/failed', 'broken/skip7/failed', 'classifier/noop/succeeded', 'classifier/skip7/succeeded']);
    expect(files).toHaveLength(8);
    expect(new Set(files.map((f) => f.fileName)).size).toBe(8);
    for (const f of files) {
      expect(f.fileName).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\+00-00_uplift-tai-safety_[a-z0-9.-]+-(baseline|mra)\.json$/);
      expect({ file: f.fileName, problems: problems(logOf(f.runId, f.role)) }).toEqual({ file: f.fileName, problems: [] });
    }
  });

  test('a succeeded run: status success, scores and sample counts are the run record\'s baseline and MRA means exactly', () => {
    for (const r of records.filter((x) => x.status === 'succeeded')) {
      for (const role of ['baseline', 'mra'] as const) {
        const log = logOf(r.runId, role);
        expect(log.status).toBe('success');
        expect(log.error).toBeUndefined();
        expect(log.results?.total_samples).toBe(r.tasks);
        expect(log.results?.completed_samples).toBe(r.tasks);
        expect(log.results?.scores).toEqual([
          expect.objectContaining({ name: 'accuracy', scorer: 'accuracy', scored_samples: r.tasks, unscored_samples: 0, metrics: { accuracy: { name: 'accuracy', value: r[role], params: {} }, stderr: expect.objectContaining({ name: 'stderr' }) } }),
        ]);
        expect(log.samples).toHaveLength(180);
        expect(log.eval.dataset).toMatchObject({ name: 'tai-safety', samples: 180, sample_ids: targets.map((t) => t.id) });
        expect(log.eval).toMatchObject({ task: 'uplift/tai-safety', model: 'uplift/offline', config: { epochs: 1 } });
        expect(log.eval.metadata).toMatchObject({ uplift_sweep_id: sweepId, uplift_run_id: r.runId, role, tla: r.tla, ra: 'classifier', variant: 'simple', seed: 1, run_status: 'succeeded' });
        // Baseline and MRA of a run are one Inspect run; each evaluation its own eval.
        expect(log.eval.run_id).toBe(logOf(r.runId, role === 'baseline' ? 'mra' : 'baseline').eval.run_id);
        expect(log.eval.eval_id).not.toBe(logOf(r.runId, role === 'baseline' ? 'mra' : 'baseline').eval.eval_id);
      }
      // The MRA's tokens are the run's (the baseline's are the computing run's: shared through the cache).
      expect(logOf(r.runId, 'mra').stats.model_usage['uplift/offline'].total_tokens).toBe(r.tokens?.mra);
    }
    const owner = records.find((r) => r.status === 'succeeded' && r.baselineCached === false) as RunRecord;
    const reuser = records.find((r) => r.status === 'succeeded' && r.baselineCached === true) as RunRecord;
    expect(logOf(owner.runId, 'baseline').stats.model_usage['uplift/offline'].total_tokens).toBe(owner.tokens?.baseline);
    expect(owner.tokens?.baseline).toBeGreaterThan(0);
    // The run that reused the cached baseline shows the same evaluation: the cache's outputs.
    expect(logOf(reuser.runId, 'baseline').samples).toEqual(logOf(owner.runId, 'baseline').samples);
    expect(logOf(reuser.runId, 'baseline').eval.metadata).toMatchObject({ baseline_cached: true, outputs_prefix: roleOutputPrefix(sweepId, owner.runId, 'baseline') });
  });

  test('a sample: input is the agent\'s view of the task (never its label), target the label, output and score what the harness stored', async () => {
    const r = runOf('noop', 'classifier');
    const log = logOf(r.runId, 'mra');
    const stored = new Map<string, ReturnType<typeof StoredOutcome.parse>>();
    for (const i of [0, 1]) for (const o of parseJsonl((await stores.artifacts.getText(shardOutputKey(roleOutputPrefix(sweepId, r.runId, 'mra'), i))) as string, StoredOutcome, 'shard')) stored.set(o.id, o);
    targets.forEach((t, i) => {
      const s = log.samples[i];
      const o = stored.get(t.id) as { output: string; score: number };
      expect(s.input).toBe(JSON.stringify({ id: t.id, text: t.text, labels: labels.labels }));
      expect(JSON.parse(s.input)).not.toHaveProperty('label');
      expect({ id: s.id, epoch: s.epoch, target: s.target }).toEqual({ id: t.id, epoch: 1, target: t.label });
      expect(s.output.choices).toEqual([{ message: { role: 'assistant', content: o.output, source: 'generate', model: 'uplift/offline' }, stop_reason: 'stop' }]);
      expect(s.scores).toEqual({ accuracy: { value: o.score, answer: o.output } });
      expect(s.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    });
  });

  test('agent errors of an MRA: score 0, the error kind and cause in the sample\'s metadata, counted in the mean', () => {
    const r = runOf('skip7', 'classifier');
    const log = logOf(r.runId, 'mra');
    const errors = log.samples.filter((s) => s.metadata.outcome === 'agent_error');
    expect(errors.map((s) => s.id)).toEqual(targets.filter((t) => t.id.endsWith('7')).map((t) => t.id));
    expect(errors).toHaveLength(r.outcomes?.mra?.agent_error as number);
    for (const s of errors) {
      expect(s.scores).toEqual({ accuracy: { value: 0, explanation: `agent_error: ${s.metadata.cause as string}` } });
      expect(s.metadata.cause).toBe('the agent printed no output line for it');
      expect(s.output.choices).toEqual([]);
    }
    expect(log.results?.scores[0].metrics.accuracy.value).toBe(r.mra);
    expect(log.results?.scores[0].scored_samples).toBe(180);
  });

  test('a failed run: status error carrying its cause, no results; the baseline\'s samples show why', () => {
    // The run that computed the broken baseline fails naming its agent errors; the other finds no baseline to reuse.
    const broken = records.filter((x) => x.ra === 'broken');
    expect(broken.filter((r) => /the baseline RA broken gave agent errors on 180 of 180 test tasks/.test(r.error ?? ''))).toHaveLength(1);
    for (const r of broken) {
      expect(r.error).toBeTruthy();
      for (const role of ['baseline', 'mra'] as const) {
        const log = logOf(r.runId, role);
        expect(log.status).toBe('error');
        expect(log.error).toEqual({ message: r.error, traceback: '', traceback_ansi: '' });
        expect(log.results).toBeUndefined();
        expect(log.eval.metadata).toMatchObject({ run_status: 'failed', uplift_run_id: r.runId });
      }
      // The MRA's evaluation may have run meanwhile: its log holds the samples of the shards that finished (90 tasks each).
      expect([0, 90, 180]).toContain(logOf(r.runId, 'mra').samples.length);
    }
    // The run that computed the broken baseline kept its shards: every task an agent error, scored 0.
    const computed = logOf((broken.find((r) => /agent errors on 180/.test(r.error ?? '')) as RunRecord).runId, 'baseline');
    expect(computed.samples).toHaveLength(180);
    for (const s of computed.samples) {
      expect(s.metadata).toMatchObject({ outcome: 'agent_error', cause: expect.stringMatching(/^the agent crashed \(exit 2\)/) });
      expect(s.scores?.accuracy.value).toBe(0);
    }
  });
});

describe('Inspect eval logs of a workspace run with attempts (records shaped as stored)', () => {
  test('each sample carries its attempts and their total time; the mean metric is the record\'s, the baseline read from the cache\'s prefix', async () => {
    const store = new MemoryArtifactStore();
    const ds = workspaceKind.load(join(EXAMPLES, 'datasets/mini-swe'), { taskWallSeconds: 300, attempts: 2 });
    const { prefix, version } = await stageDataset(store, 'mini-swe', 'workspace', ds);
    // The real sweep's plan, its first run turned into a workspace run of 2 attempts (2 shards of 6 tasks).
    const real = SweepPlan.parse(JSON.parse((await stores.artifacts.getText(planKey(sweepId))) as string));
    const ws = 'ws-export-20260101-000000-ab12';
    const run = { ...real.runs[0], runId: 'noop-basic-agent-mini-swe-simple-s1', tasksPerShard: 6, shards: 2, ra: { ...real.runs[0].ra, name: 'basic-agent', model: { provider: 'openai' as const, name: 'gpt-4o-mini', apiKeyEnv: 'OPENAI_API_KEY' }, modelName: 'gpt-4o-mini' }, cbm: { ...real.runs[0].cbm, id: 'mini-swe', kind: 'workspace', datasetPrefix: prefix, datasetVersion: version, testCount: ds.test.length, spec: { id: 'mini-swe', kind: 'workspace', taskWallSeconds: 300, attempts: 2 } } };
    await store.putText(planKey(ws), JSON.stringify(SweepPlan.parse({ ...real, sweepId: ws, runs: [run] })));
    const attemptsOf = (i: number, role: 'baseline' | 'mra') => [{ score: role === 'mra' || i % 2 ? 1 : 0, seconds: 10 + i }, { score: i % 3 ? 0.5 : 0, seconds: 20 }];
    // Outputs like a per-task shard's: the score is the mean over attempts; task 3 of the MRA is an agent error.
    const outcomesOf = (role: 'baseline' | 'mra') =>
      ds.test.map((t, i) => (role === 'mra' && i === 3 ? { id: t.id, error: 'agent_error' as const, cause: 'the agent was killed at its wall-clock limit before answering' } : { id: t.id, output: 'submitted', score: (attemptsOf(i, role)[0].score + attemptsOf(i, role)[1].score) / 2, attempts: attemptsOf(i, role) }));
    const usage = (tasks: number, tokens: number): ShardUsage => ({ calls: 3, rejected: 0, promptTokens: tokens - 100, completionTokens: 100, totalTokens: tokens, exitCode: 0, timedOut: false, tasks, answered: tasks, rejectedLines: [], isolation: 'bwrap', wallMs: 1000, counts: { scored: tasks, agent_error: 0, infra_error: 0 }, retries: 0, upstreamFailures: 0, stderrTail: '' });
    // The baseline was computed by another sweep: only the cache record says where its shards are.
    const basePrefix = roleOutputPrefix('other-sweep-20251231-000000-cd34', 'noop-basic-agent-mini-swe-simple-s9', 'baseline');
    for (const [p, role] of [[basePrefix, 'baseline'], [roleOutputPrefix(ws, run.runId, 'mra'), 'mra']] as const)
      for (const i of [0, 1]) {
        const part = outcomesOf(role).slice(i * 6, i * 6 + 6);
        await store.putText(shardOutputKey(p, i), part.map((o) => JSON.stringify(StoredOutcome.parse(o))).join('\n') + '\n');
        await store.putText(shardUsageKey(p, i), JSON.stringify(usage(part.length, 1000 + i)));
      }
    const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const scoresOf = (role: 'baseline' | 'mra') => outcomesOf(role).map((o) => ('score' in o ? (o.score ?? 0) : 0));
    const record: RunRecord = { sweepId: ws as RunRecord['sweepId'], runId: run.runId as RunRecord['runId'], tla: 'noop', ra: 'basic-agent', cbm: 'mini-swe', variant: 'simple', seed: 1, model: 'gpt-4o-mini', status: 'succeeded', updatedAt: '2026-01-01T00:10:00.000Z', baseline: meanOf(scoresOf('baseline')), mra: meanOf(scoresOf('mra')), uplift: 0, ci: [0, 0], tasks: ds.test.length, baselineCached: true };
    const baselineRecord: BaselineRecord = { key: run.baselineKey, status: 'done', ownerSweep: 'other-sweep-20251231-000000-cd34', ownerRun: 'noop-basic-agent-mini-swe-simple-s9', claimedAt: '2025-12-31T00:00:00.000Z', completedAt: '2025-12-31T00:05:00.000Z', outputsPrefix: basePrefix };
    const scores: InspectStores['scores'] = {
      getSweep: async (id) => (id === ws ? ({ sweepId: ws } as SweepMeta) : undefined),
      listRuns: async () => [record],
      getBaseline: async (key) => (key === run.baselineKey ? baselineRecord : undefined),
    };
    const logs = await inspectLogsOfSweep({ artifacts: store, scores }, ws);
    expect(logs.map((l) => l.role)).toEqual(['baseline', 'mra']);
    for (const { role, log } of logs) {
      expect(problems(JSON.parse(JSON.stringify(log)))).toEqual([]);
      expect(log.eval.model).toBe('openai/gpt-4o-mini');
      expect(log.results?.scores).toEqual([expect.objectContaining({ name: 'resolved_rate', metrics: expect.objectContaining({ mean: { name: 'mean', value: record[role], params: {} } }) })]);
      expect(log.results?.total_samples).toBe(11);
      expect(log.stats.model_usage).toEqual({ 'openai/gpt-4o-mini': { input_tokens: 1801, output_tokens: 200, total_tokens: 2001 } });
      ds.test.forEach((t, i) => {
        const s = log.samples[i];
        expect(JSON.parse(s.input)).toEqual({ id: t.id, instructions: t.instructions });
        if (role === 'mra' && i === 3) return expect(s.metadata).toEqual({ outcome: 'agent_error', cause: 'the agent was killed at its wall-clock limit before answering', set: 'objective' });
        expect(s.metadata).toEqual({ outcome: 'scored', set: 'objective', attempts: attemptsOf(i, role) });
        expect(s.total_time).toBe(10 + i + 20);
      });
    }
    expect(logs[0].log.stats).toMatchObject({ started_at: '2025-12-31T00:00:00.000+00:00', completed_at: '2025-12-31T00:05:00.000+00:00' });
    expect(logs[0].log.eval.metadata).toMatchObject({ outputs_prefix: basePrefix, baseline_cached: true });
  });
});

describe('the schema is not vacuous', () => {
  const valid = () => JSON.parse(JSON.stringify(logOf(runOf('skip7', 'classifier').runId, 'mra'))) as InspectEvalLog & Record<string, unknown>;

  test('a log without eval.model is rejected', () => {
    const log = valid();
    expect(problems(log)).toEqual([]);
    delete (log.eval as Partial<InspectEvalLog['eval']>).model;
    expect(problems(log).join('\n')).toMatch(/^\/eval must have required property 'model'/m);
  });

  test('a sample score that is not a number is rejected', () => {
    const log = valid();
    log.samples[0].scores = { accuracy: { value: 'C' as unknown as number } };
    expect(problems(log).join('\n')).toMatch(/^\/samples\/0\/scores\/accuracy\/value must be number/m);
  });

  test('a misspelt field, a success without results and an error without its cause are rejected', () => {
    const misspelt = valid();
    (misspelt.samples[1].output.choices[0] as Record<string, unknown>).stopReason = 'stop';
    expect(problems(misspelt).join('\n')).toMatch(/must NOT have additional properties.*stopReason/);
    const noResults = valid();
    delete noResults.results;
    expect(problems(noResults).join('\n')).toMatch(/must have required property 'results'/);
    const noCause = { ...valid(), status: 'error' as const, results: undefined };
    delete noCause.results;
    expect(problems(noCause).join('\n')).toMatch(/must have required property 'error'/);
  });
});
