import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLabels, readSplit, toTaskInput, type Example } from '../cbm/dataset';
import { scoreTask } from '../cbm/classification';
import { CorruptRecordError } from '../errors';
import { ModelGateway } from '../gateway/gateway';
import { upstreamFor } from '../gateway/upstream';
import type { ArtifactStore } from '../ports';
import { diffBundles, fetchBundle, packBundle, readManifest } from '../ra/bundle';
import { runAgentOnTasks } from '../ra/protocol';
import { TLAS } from '../tla/registry';
import type { Evaluation, TlaContext } from '../tla/types';
import { TranscriptWriter } from '../transcript';
import { runPrefix } from '../sweep/plan';
import { readPlan, tlaKey, type TlaResult } from '../sweep/outputs';
import { parsePlanUri, type JobEnv, type JobSummary } from './env';

/**
 * The `tla-sandbox` job: gives the TLA an editable copy of the RA bundle, the dev split and a
 * gateway with the TLA token budget; afterwards uploads the MRA tarball, its diff against the
 * RA, the transcript and `result.json` (written last: its presence means the job is done).
 */
export async function runTlaSandbox(store: ArtifactStore, env: JobEnv, processEnv: Record<string, string | undefined>): Promise<JobSummary> {
  const { sweepId } = parsePlanUri(env.UPLIFT_PLAN_URI);
  const plan = await readPlan(store, sweepId);
  const run = plan.runs.find((r) => r.runId === env.UPLIFT_RUN_ID);
  if (!run) throw new CorruptRecordError(`run ${env.UPLIFT_RUN_ID} is not in ${env.UPLIFT_PLAN_URI}`);
  const summary = (skipped: boolean, tokens: number): JobSummary => ({ uplift: 'job-summary', role: 'tla', runId: run.runId, index: null, skipped, tokens });
  if (await store.exists(tlaKey(sweepId, run.runId, 'result.json'))) return summary(true, 0);

  const started = Date.now();
  const scratch = mkdtempSync(join(env.UPLIFT_SCRATCH ?? tmpdir(), 'uplift-tla-'));
  try {
    const raDir = join(scratch, 'ra');
    const workspace = join(scratch, 'workspace');
    await fetchBundle(store, run.ra.bundleHash, raDir);
    cpSync(raDir, workspace, { recursive: true });
    let fixedBundleDir: string | undefined;
    if (run.tla.spec.kind === 'fixed') {
      if (!run.tla.bundleHash) throw new CorruptRecordError(`fixed TLA ${run.tla.label} has no staged bundle in the plan`);
      fixedBundleDir = join(scratch, 'fixed');
      await fetchBundle(store, run.tla.bundleHash, fixedBundleDir);
    }
    const labels = await readLabels(store, run.cbm.datasetPrefix);
    const dev = await readSplit(store, run.cbm.datasetPrefix, 'dev');
    const transcriptPath = join(scratch, 'transcript.jsonl');
    const transcript = new TranscriptWriter(transcriptPath);
    const gateway = new ModelGateway({ upstream: upstreamFor(run.ra.model, processEnv), tokenBudget: plan.budgets.tlaTokens, transcript, recordBodies: false });
    const baseUrl = await gateway.start();
    const checkpoints: TlaResult['checkpoints'] = [];
    const deadline = started + plan.budgets.tlaWallSeconds * 1000;
    transcript.write('note', { runId: run.runId, tla: run.tla.label, variant: run.variant, seed: run.seed, isolation: 'process-rlimits', note: 'TLA started' });

    const evaluate = async (tasks: readonly Example[]): Promise<Evaluation> => {
      const rejectedBefore = gateway.usage.rejected;
      const manifest = readManifest(workspace);
      const res = await runAgentOnTasks({
        bundleDir: workspace,
        entrypoint: manifest.entrypoint,
        tasks: tasks.map((t) => toTaskInput(t, labels)),
        env: { ...gateway.agentEnv(baseUrl), UPLIFT_CONCURRENCY: String(plan.concurrency.requests) },
        limits: { wallMs: Math.max(1000, deadline - Date.now()) },
      });
      const byId = new Map(res.outcomes.map((o) => [o.id, o]));
      const scores = tasks.map((t) => scoreTask(t, byId.get(t.id)));
      const step = checkpoints.length;
      const key = `${runPrefix(sweepId, run.runId)}/tla/checkpoints/${step}.tar.gz`;
      await store.putBytes(key, packBundle(workspace), 'application/gzip');
      const ev: Evaluation = {
        step,
        score: scores.reduce((a, b) => a + b, 0) / Math.max(1, scores.length),
        tasks: tasks.length,
        budgetExhausted: gateway.usage.rejected > rejectedBefore,
        failures: tasks
          .filter((_, i) => scores[i] === 0)
          .slice(0, 5)
          .map((t) => {
            const o = byId.get(t.id);
            return { id: t.id, expected: t.label, got: o && 'output' in o ? o.output : null };
          }),
        tokensUsed: gateway.usage.totalTokens,
      };
      checkpoints.push({ step, tokens: ev.tokensUsed, devScore: ev.score, accepted: false, key, ...(ev.budgetExhausted ? { note: 'budget exhausted during evaluation' } : {}) });
      transcript.write('checkpoint', { step, tokens: ev.tokensUsed, devScore: ev.score, budgetExhausted: ev.budgetExhausted, key });
      return ev;
    };
    const ctx: TlaContext = {
      workspace,
      manifest: readManifest(workspace),
      dev,
      labels,
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
    };
    let outcome;
    try {
      outcome = await TLAS[run.tla.spec.kind].run(ctx);
    } finally {
      await gateway.stop();
    }
    readManifest(workspace); // the MRA must still be a valid bundle
    const diff = diffBundles(raDir, workspace);
    const changed = [...new Set([...diff.matchAll(/^diff -ruN ra\/(\S+) mra\//gm)].map((m) => m[1]))];
    transcript.write('note', { note: 'TLA finished', stopReason: outcome.stopReason, changedFiles: changed, usage: gateway.usage });
    await transcript.close();
    const usage = gateway.usage;
    const result: TlaResult = {
      tla: run.tla.label,
      usage,
      checkpoints,
      stopReason: outcome.stopReason,
      isolation: 'process-rlimits',
      wallMs: Date.now() - started,
      changedFiles: changed,
    };
    await store.putBytes(tlaKey(sweepId, run.runId, 'mra.tar.gz'), packBundle(workspace), 'application/gzip');
    await store.putText(tlaKey(sweepId, run.runId, 'mra.diff'), diff, 'text/x-diff');
    await store.putBytes(tlaKey(sweepId, run.runId, 'transcript.jsonl'), readFileSync(transcriptPath), 'application/x-ndjson');
    await store.putText(tlaKey(sweepId, run.runId, 'result.json'), JSON.stringify(result, null, 2), 'application/json');
    return summary(false, usage.totalTokens);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
