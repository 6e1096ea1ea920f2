import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMeta, readSplit } from '../cbm/dataset';
import { gatewayJudge } from '../cbm/judge';
import { cbmKind } from '../cbm/registry';
import { scoreOutcomes, taskScore } from '../cbm/scoring';
import type { CbmTask, Judge } from '../cbm/types';
import { CorruptRecordError, SpecError } from '../errors';
import { ModelGateway, TokenLedger } from '../gateway/gateway';
import { jobGateway } from '../gateway/upstream';
import { toJsonl } from '../jsonl';
import type { ArtifactStore } from '../ports';
import { diffBundles, fetchBundle, packBundle, readManifest, unpackBundle, WEIGHTS_REF_FILE } from '../ra/bundle';
import { runAgentOnTasks } from '../ra/protocol';
import { runKindPerTask } from '../ra/per-task';
import { allowTraversal, detectIsolation, ISOLATION_GUARANTEES, jobGpus, removeTree, removeUnsafeEntries, sandboxView, spawnSandboxed, type SandboxLimits } from '../sandbox';
import { modelName } from '../spec';
import { packBundleWithWeights } from '../models/bundle-weights';
import { TLAS } from '../tla/registry';
import type { Evaluation, ExecResult, TlaContext, TlaRuntime } from '../tla/types';
import { TranscriptWriter } from '../transcript';
import { runPrefix } from '../sweep/plan';
import { readRun, tlaFailedAttemptKey, tlaKey, type CurvePlan, type FailedTlaAttempt, type TlaResult } from '../sweep/outputs';
import { parsePlanUri, type JobEnv, type JobSummary } from './env';
import { createHash } from 'node:crypto';
import { checkpointAtBudget } from '../tla/react-budget';

/** Output of one TLA command the harness keeps (per stream); the rest is counted, not stored. */
const MAX_EXEC_OUTPUT = 1_000_000;
/** Where sandboxed commands find the dev split and the label set (bubblewrap levels). */
const DATA_INSIDE = '/data';

export interface TlaJobOptions {
  /** Limits of every TLA command and evaluation (defaults: core/sandbox.ts). */
  sandboxLimits?: Partial<SandboxLimits>;
}

/**
 * The `tla-sandbox` job: gives the TLA an editable copy of the RA bundle, the dev split and
 * gateways drawing on one budget of `budgets.tlaTokens` (the RA's model, for evaluations and the
 * TLA's commands; the TLA's own model for `react`, called by the harness only). Every command and
 * evaluation runs in the sandbox (core/sandbox.ts) with the workspace as its only writable place;
 * the test split never reaches this job. Afterwards it uploads the MRA tarball, its diff against
 * the RA, the transcript and `result.json` (written last: its presence means the job is done).
 */
export async function runTlaSandbox(store: ArtifactStore, env: JobEnv, processEnv: Record<string, string | undefined>, opts: TlaJobOptions = {}): Promise<JobSummary> {
  const { sweepId } = parsePlanUri(env.UPLIFT_PLAN_URI);
  const { plan, run } = await readRun(store, sweepId, env.UPLIFT_RUN_ID);
  const summary = (skipped: boolean, tokens: number): JobSummary => ({ uplift: 'job-summary', role: 'tla', runId: run.runId, index: null, skipped, tokens });
  if (await store.exists(tlaKey(sweepId, run.runId, 'result.json'))) return summary(true, 0);

  const started = Date.now();
  const isolation = detectIsolation(processEnv);
  const scratch = mkdtempSync(join(env.UPLIFT_SCRATCH ?? tmpdir(), 'uplift-tla-'));
  // The gateway socket's path must stay short (Unix sockets allow ~107 bytes).
  const socketDir = mkdtempSync(join(tmpdir(), 'uplift-gw-'));
  const gateways: ModelGateway[] = [];
  /** Usage per gateway so far, once the gateways exist: written even when the job fails, so its spend is paid. */
  let usageNow: () => TlaResult['usageByModel'] = () => [];
  let finished = false;
  let failure: unknown;
  try {
    // The sandbox's uid may traverse the scratch dir to its workspace and data; what the harness keeps is in a private subdirectory.
    allowTraversal(scratch);
    const own = join(scratch, 'harness');
    mkdirSync(own, { mode: 0o700 });
    const raDir = join(own, 'ra');
    const workspace = join(scratch, 'workspace');
    const dataDir = join(scratch, 'data');
    await fetchBundle(store, run.ra.bundleHash, raDir);
    cpSync(raDir, workspace, { recursive: true });
    let fixedBundleDir: string | undefined;
    if (run.tla.spec.kind === 'fixed') {
      if (!run.tla.bundleHash) throw new CorruptRecordError(`fixed TLA ${run.tla.label} has no staged bundle in the plan`);
      fixedBundleDir = join(own, 'fixed');
      await fetchBundle(store, run.tla.bundleHash, fixedBundleDir);
    }
    const kind = cbmKind(run.cbm.kind);
    const meta = await readMeta(store, run.cbm.datasetPrefix, kind);
    const dev = await readSplit(store, run.cbm.datasetPrefix, 'dev', kind);
    // The dev split (targets allowed) and the kind's data files are the only data a TLA command can read.
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'dev.jsonl'), toJsonl(dev), { mode: 0o644 });
    for (const [name, content] of Object.entries(kind.tlaTexts(meta, run.cbm.spec).dataFiles)) writeFileSync(join(dataDir, name), content, { mode: 0o644 });
    const readOnly = [{ host: dataDir, path: DATA_INSIDE }];
    const view = sandboxView(isolation.level, workspace, readOnly);
    const dataSeen = view.readOnly[dataDir];

    const transcriptPath = join(own, 'transcript.jsonl');
    const transcript = new TranscriptWriter(transcriptPath);
    const ledger = new TokenLedger(plan.budgets.tlaTokens);
    const raGateway = jobGateway(run.ra.model, processEnv, { ledger, transcript, recordBodies: false, name: 'ra' });
    gateways.push(raGateway);
    const raUrl = await raGateway.start();
    const socketPath = join(socketDir, 'gateway.sock');
    await raGateway.listenUnix(socketPath);
    const sandboxGateway = { baseUrl: raUrl, socketPath };
    const agentEnv = { ...raGateway.agentEnv(raUrl), UPLIFT_CONCURRENCY: String(plan.concurrency.requests) };
    // A CBM scored by a judge: dev evaluations ask it too, in this process, on the same budget.
    let judge: Judge | undefined;
    let judgeGateway: ModelGateway | undefined;
    if (run.cbm.judge) {
      judgeGateway = jobGateway(run.cbm.judge.model, processEnv, { ledger, transcript, recordBodies: false, name: 'judge' });
      gateways.push(judgeGateway);
      judge = gatewayJudge(judgeGateway, await judgeGateway.start(), run.cbm.judge.tokensPerTask);
    }
    let tlaModel: TlaRuntime['model'];
    let tlaGateway: ModelGateway | undefined;
    if (run.tla.spec.kind === 'react') {
      tlaGateway = jobGateway(run.tla.spec.model, processEnv, { ledger, transcript, recordBodies: false, name: 'tla' });
      gateways.push(tlaGateway);
      const url = await tlaGateway.start();
      tlaModel = { baseUrl: url, apiKey: tlaGateway.jobToken, name: tlaGateway.model };
    }
    usageNow = () => [
      { gateway: 'ra', model: run.ra.modelName, ...raGateway.usage },
      ...(tlaGateway && run.tla.spec.kind === 'react' ? [{ gateway: 'tla' as const, model: modelName(run.tla.spec.model), ...tlaGateway.usage }] : []),
      ...(judgeGateway && run.cbm.judge ? [{ gateway: 'judge' as const, model: run.cbm.judge.modelName, ...judgeGateway.usage }] : []),
    ];
    const checkpoints: TlaResult['checkpoints'] = [];
    const snapshots = new Map<number, Uint8Array>();
    /** Checkpoint uploads in flight: result.json, written last, is written only once they all landed. */
    const uploads: Promise<void>[] = [];
    const deadline = started + plan.budgets.tlaWallSeconds * 1000;
    const limits = (wallMs: number): Partial<SandboxLimits> => ({ ...run.cbm.compute.limits, ...opts.sandboxLimits, wallMs: Math.max(1000, Math.min(wallMs, opts.sandboxLimits?.wallMs ?? Infinity)) });
    transcript.write('note', {
      runId: run.runId,
      tla: run.tla.label,
      variant: run.variant,
      seed: run.seed,
      isolation: isolation.level,
      isolationFallbacks: isolation.fallbacks,
      guarantees: ISOLATION_GUARANTEES[isolation.level],
      note: 'TLA started',
    });

    /** Removes links and special files a command left in the workspace, and records it. */
    const sanitize = (after: string) => {
      const removed = removeUnsafeEntries(workspace);
      if (removed.length) transcript.write('tla_step', { type: 'sandbox_violation', after, note: 'removed symbolic links or special files from the workspace (they could point the harness outside it)', removed: removed.slice(0, 50) });
    };

    /** A per-task kind's evaluation: the workspace bundle run once per dev task, each final workspace scored here. */
    const evaluatePerTask = async (tasks: readonly CbmTask[], entrypoint: string[]) => {
      const tasksDir = mkdtempSync(join(scratch, 'eval-'));
      allowTraversal(tasksDir);
      try {
        return await runKindPerTask({
          kind,
          meta,
          spec: run.cbm.spec,
          tasks,
          bundleDir: workspace,
          entrypoint,
          scratch: tasksDir,
          env: agentEnv,
          sandbox: { gateway: sandboxGateway, level: isolation.level },
          limitsFor: limits,
          deadline,
          defaultTaskWallMs: plan.budgets.shardWallSeconds * 1000,
          // As in the shard jobs: each task's own token allowance (of the TLA's budget), the job's GPUs for a GPU-queue CBM.
          tokens: { gateway: raGateway, shardTokens: plan.budgets.shardTokens, tasksPerShard: run.tasksPerShard },
          gpus: run.cbm.compute.queue === 'gpu' ? jobGpus(processEnv) : undefined,
          transcript,
        });
      } finally {
        removeTree(tasksDir);
      }
    };

    const evaluate = async (tasks: readonly CbmTask[]): Promise<Evaluation> => {
      const rejectedBefore = raGateway.usage.rejected;
      sanitize('before evaluation');
      // A workspace whose agent.yaml the TLA broke fails the evaluation with the problems (the react TLA shows them to its model).
      const manifest = readManifest(workspace);
      const res = kind.perTask
        ? await evaluatePerTask(tasks, manifest.entrypoint)
        : await runAgentOnTasks({
        bundleDir: workspace,
        entrypoint: manifest.entrypoint,
        tasks: tasks.map((t) => kind.toInput(t, meta)),
        env: agentEnv,
        limits: limits(deadline - Date.now()),
        sandbox: { gateway: sandboxGateway, readOnly, level: isolation.level },
      });
      sanitize('evaluation');
      const scored = await scoreOutcomes({ kind, spec: run.cbm.spec, meta, tasks, outcomes: res.outcomes, judge, concurrency: plan.concurrency.requests });
      const byId = new Map(scored.map((o) => [o.id, o]));
      const scores = tasks.map((t) => taskScore(byId.get(t.id)));
      const mean = (idx: number[]) => idx.reduce((a, i) => a + scores[i], 0) / Math.max(1, idx.length);
      const all = tasks.map((_, i) => i);
      const guardIdx = all.filter((i) => kind.setOf(tasks[i]) === 'guard');
      const objectiveIdx = all.filter((i) => kind.setOf(tasks[i]) === 'objective');
      const step = checkpoints.length;
      const key = `${runPrefix(sweepId, run.runId)}/tla/checkpoints/${step}.tar.gz`;
      const bytes = packBundle(workspace);
      snapshots.set(step, bytes);
      // Uploaded while the TLA goes on (they are read only after this job: budget curve, uplift artifacts); awaited before result.json.
      const upload = store.putBytes(key, bytes, 'application/gzip');
      upload.catch(() => undefined); // its failure is the job's when awaited below, not an unhandled rejection now
      uploads.push(upload);
      const ev: Evaluation = {
        step,
        score: mean(objectiveIdx.length ? objectiveIdx : all),
        ...(guardIdx.length ? { guardScore: mean(guardIdx) } : {}),
        tasks: tasks.length,
        budgetExhausted: raGateway.usage.rejected > rejectedBefore,
        failures: tasks
          .filter((_, i) => scores[i] < 1)
          .slice(0, 5)
          .map((t) => {
            const o = byId.get(t.id);
            return { id: t.id, expected: kind.describeTarget(t, meta), got: o && 'output' in o ? o.output : null };
          }),
        tokensUsed: ledger.spent,
      };
      checkpoints.push({ step, tokens: ev.tokensUsed, devScore: ev.score, accepted: false, key, sha256: sha256(bytes), ...(ev.budgetExhausted ? { note: 'budget exhausted during evaluation' } : {}) });
      transcript.write('checkpoint', {
        step,
        tokens: ev.tokensUsed,
        devScore: ev.score,
        budgetExhausted: ev.budgetExhausted,
        key,
        exitCode: res.exitCode,
        ...(res.killedFor ? { killedFor: res.killedFor } : {}),
        ...(res.exitCode !== 0 ? { stderrTail: res.stderrTail.slice(-2000) } : {}),
      });
      return ev;
    };

    const exec = async (argv: string[], o: { stdin?: string; timeoutMs?: number } = {}): Promise<ExecResult> => {
      const t0 = Date.now();
      const proc = spawnSandboxed(argv, { cwd: workspace, env: agentEnv, limits: limits(Math.min(o.timeoutMs ?? Infinity, deadline - Date.now())), readOnly, gateway: sandboxGateway, level: isolation.level });
      const out = { stdout: '', stderr: '', dropped: 0 };
      for (const stream of ['stdout', 'stderr'] as const) {
        proc.child[stream].setEncoding('utf8');
        proc.child[stream].on('data', (c: string) => {
          const room = MAX_EXEC_OUTPUT - out[stream].length;
          out[stream] += c.slice(0, Math.max(0, room));
          out.dropped += Math.max(0, c.length - Math.max(0, room));
        });
      }
      proc.child.stdin.on('error', () => {
        /* the command did not read its stdin */
      });
      proc.child.stdin.end(o.stdin ?? '');
      const end = await proc.done;
      sanitize(`command ${argv.join(' ').slice(0, 200)}`);
      const result: ExecResult = { exitCode: end.code, signal: end.signal, ...(end.killedFor ? { killedFor: end.killedFor } : {}), stdout: out.stdout, stderr: out.stderr, droppedChars: out.dropped, wallMs: Date.now() - t0 };
      transcript.write('tla_step', {
        type: 'exec',
        argv: argv.map((a) => a.slice(0, 2000)),
        stdin: o.stdin?.slice(0, 2000),
        exitCode: result.exitCode,
        signal: result.signal,
        killedFor: result.killedFor,
        wallMs: result.wallMs,
        isolation: proc.isolation,
        stdout: result.stdout.slice(0, 4000),
        stderr: result.stderr.slice(0, 4000),
        outputChars: result.stdout.length + result.stderr.length + result.droppedChars,
      });
      return result;
    };

    const restore = async (step: number) => {
      const bytes = snapshots.get(step);
      if (!bytes) throw new CorruptRecordError(`checkpoint ${step} of run ${run.runId} was never taken`);
      for (const f of readdirSync(workspace)) removeTree(join(workspace, f));
      unpackBundle(bytes, workspace);
      transcript.write('tla_step', { type: 'restore', step, note: `workspace restored to checkpoint ${step}` });
    };

    const ctx: TlaContext = {
      workspace,
      manifest: readManifest(workspace),
      dev,
      cbm: { kind: run.cbm.kind, spec: run.cbm.spec, meta, setOf: (t) => kind.setOf(t), describeTarget: (t) => kind.describeTarget(t, meta) },
      spec: run.tla.spec,
      variant: run.variant,
      seed: run.seed,
      deadline,
      evaluate,
      accept: (step) => {
        for (const c of checkpoints) if (c.step === step) c.accepted = true;
      },
      log: (step) => transcript.write('tla_step', step),
      fixedBundleDir,
      runtime: {
        exec,
        restore,
        model: tlaModel,
        tokens: () => ({ spent: ledger.spent, budget: ledger.budget }),
        paths: { workspace: view.workspace, dev: `${dataSeen}/dev.jsonl`, data: dataSeen },
        isolation: isolation.level,
      },
    };
    let outcome;
    try {
      outcome = await TLAS[run.tla.spec.kind].run(ctx);
    } finally {
      for (const g of gateways) await g.stop();
    }
    sanitize('the TLA');
    // An MRA that names weights has them staged apart, content-addressed, and referenced from the tarball
    // (docs/mra-weights.md); a reference file the agent wrote is never trusted. An MRA the TLA left
    // invalid is uploaded as it is: its shards score every task an agent error (0), the run does not fail.
    let invalidMra = manifestProblems(workspace);
    let mraBytes: Uint8Array | undefined;
    if (!invalidMra) {
      try {
        mraBytes = (await packBundleWithWeights(store, workspace, { fromWorkspace: true })).bytes;
      } catch (e) {
        if (!(e instanceof SpecError)) throw e;
        invalidMra = e.problems;
      }
    }
    if (invalidMra) {
      rmSync(join(workspace, WEIGHTS_REF_FILE), { force: true, recursive: true });
      mraBytes = packBundle(workspace, { leaveOut: [WEIGHTS_REF_FILE] });
      transcript.write('note', { note: 'the MRA bundle is not valid: its test tasks will be agent errors, scored 0', problems: invalidMra.slice(0, 20) });
    }
    const diff = diffBundles(raDir, workspace);
    // diffBundles' header lines: `diff -ruN --text ra/<file> mra/<file>` (options as it passes them).
    const changed = [...new Set([...diff.matchAll(/^diff (?:-[-\w]+ )+ra\/(\S+) mra\//gm)].map((m) => m[1]))];
    const total = gateways
      .map((g) => g.usage)
      .reduce((a, u) => ({ calls: a.calls + u.calls, rejected: a.rejected + u.rejected, promptTokens: a.promptTokens + u.promptTokens, completionTokens: a.completionTokens + u.completionTokens, totalTokens: a.totalTokens + u.totalTokens }), { calls: 0, rejected: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0 });
    const byModel = usageNow();
    transcript.write('note', { note: 'TLA finished', stopReason: outcome.stopReason, changedFiles: changed, usage: total, usageByModel: byModel });
    await transcript.close();
    const result: TlaResult = {
      tla: run.tla.label,
      usage: total,
      checkpoints,
      stopReason: outcome.stopReason,
      isolation: isolation.level,
      wallMs: Date.now() - started,
      changedFiles: changed,
      usageByModel: byModel,
      isolationFallbacks: isolation.fallbacks,
      infraFailures: gateways.flatMap((g) => (g.infraFailure ? [g.infraFailure] : [])),
      ...(invalidMra ? { invalidMra: invalidMra.slice(0, 20) } : {}),
    };
    if (!mraBytes) throw new Error('unreachable: the MRA was packed above');
    await Promise.all(uploads);
    await store.putBytes(tlaKey(sweepId, run.runId, 'mra.tar.gz'), mraBytes, 'application/gzip');
    if (plan.budgetCurve) {
      const curve = curvePlanFor(checkpoints, plan.budgetCurve, sha256(packBundle(raDir)), sha256(mraBytes));
      await store.putText(tlaKey(sweepId, run.runId, 'curve.json'), JSON.stringify(curve, null, 2), 'application/json');
    }
    await store.putText(tlaKey(sweepId, run.runId, 'mra.diff'), diff, 'text/x-diff');
    await store.putBytes(tlaKey(sweepId, run.runId, 'transcript.jsonl'), readFileSync(transcriptPath), 'application/x-ndjson');
    await store.putText(tlaKey(sweepId, run.runId, 'result.json'), JSON.stringify(result, null, 2), 'application/json');
    finished = true;
    return summary(false, total.totalTokens);
  } catch (e) {
    failure = e;
    throw e;
  } finally {
    for (const g of gateways) await g.stop();
    // A failed attempt still spent tokens and time: its own marker, so ScoreRun or MarkRunFailed pays for it.
    if (!finished && gateways.length) {
      const attempt: FailedTlaAttempt = { usageByModel: usageNow(), wallMs: Date.now() - started, error: String((failure as Error)?.message ?? failure).slice(0, 2000) };
      await store.putText(tlaFailedAttemptKey(sweepId, run.runId, `${new Date().toISOString()}-${process.pid}`), JSON.stringify(attempt, null, 2), 'application/json').catch(() => undefined);
    }
    removeTree(scratch);
    rmSync(socketDir, { recursive: true, force: true });
  }
}

/** Why a bundle's agent.yaml is not valid, or undefined when it is. */
function manifestProblems(dir: string): string[] | undefined {
  try {
    readManifest(dir);
    return undefined;
  } catch (e) {
    if (e instanceof SpecError) return e.problems;
    throw e;
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * What to score for the budget curve: at each budget, the bundle the TLA had then (the last
 * accepted checkpoint within it, see checkpointAtBudget). A bundle equal to the RA or to the
 * submitted MRA reuses their scores; each other distinct bundle is evaluated once. A TLA that
 * never checkpoints (noop, fixed) had its MRA from the start.
 */
export function curvePlanFor(checkpoints: TlaResult['checkpoints'], budgets: readonly number[], raSha: string, mraSha: string): CurvePlan {
  const bundles: CurvePlan['bundles'] = [];
  const index = new Map<string, number>();
  const points = budgets.map((budget): CurvePlan['points'][number] => {
    if (!checkpoints.length) return { budget, source: 'mra', step: null };
    const c = checkpointAtBudget(checkpoints, budget);
    if (!c || c.sha256 === raSha) return { budget, source: 'ra', step: c?.step ?? null };
    if (c.sha256 === mraSha || !c.key || !c.sha256) return { budget, source: 'mra', step: c.step };
    if (!index.has(c.sha256)) {
      index.set(c.sha256, bundles.length);
      bundles.push({ step: c.step, key: c.key });
    }
    return { budget, source: 'bundle', bundle: index.get(c.sha256), step: c.step };
  });
  return { points, bundles };
}
