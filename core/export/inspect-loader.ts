import { readMeta, readSplit } from '../cbm/dataset';
import { cbmKind } from '../cbm/registry';
import type { CbmTask } from '../cbm/types';
import { CorruptRecordError, NotFoundError } from '../errors';
import { parseJson, parseJsonl } from '../jsonl';
import type { ArtifactStore, ScoreStore } from '../ports';
import type { TaskOutcome } from '../ra/protocol';
import type { RunRecord } from '../records';
import { readPlan, roleOutputPrefix, shardOutputKey, shardUsageKey, ShardUsage, StoredOutcome, type Role } from '../sweep/outputs';
import type { RunPlan, SweepPlan } from '../sweep/plan';
import { inspectLogFileName, inspectLogsOfRun, type InspectEvalLog, type RoleEvidence, type RunEvalInputs } from './inspect';

/** What the loader reads: the artifacts (plan, data sets, shard outputs) and, of the scores, the sweep, its runs and the baseline cache. */
export interface InspectStores {
  artifacts: ArtifactStore;
  scores: Pick<ScoreStore, 'getSweep' | 'listRuns' | 'getBaseline'>;
}

/** One log to write: `fileName` (Inspect's naming pattern, unique within a sweep) and the log's JSON document. */
export interface InspectLogFile {
  runId: string;
  role: Role;
  fileName: string;
  log: InspectEvalLog;
}

/** The outcomes and usage of the shards of a role that finished; the others are counted as missing. */
async function readFinished(store: ArtifactStore, prefix: string, shards: number): Promise<Pick<RoleEvidence, 'outcomes' | 'usage' | 'shardsMissing'>> {
  const outcomes: TaskOutcome[] = [];
  const usage: ShardUsage[] = [];
  let shardsMissing = 0;
  for (let i = 0; i < shards; i++) {
    const u = await store.getText(shardUsageKey(prefix, i));
    const o = u === undefined ? undefined : await store.getText(shardOutputKey(prefix, i));
    if (u === undefined || o === undefined) {
      shardsMissing++;
      continue;
    }
    usage.push(parseJson(u, ShardUsage, store.uri(shardUsageKey(prefix, i))));
    outcomes.push(...parseJsonl(o, StoredOutcome, store.uri(shardOutputKey(prefix, i))));
  }
  return { outcomes, usage, shardsMissing };
}

/**
 * Where a run's baseline outputs are, as ScoreRun finds them: the baseline cache's record (its
 * outputs may be another run's or sweep's); when the cache no longer holds the key (cleared, or
 * released by a failed run), the run of this sweep that computed it, else the run's own prefix.
 */
async function baselineSource(stores: InspectStores, sweepId: string, run: RunPlan, records: readonly RunRecord[], plan: SweepPlan): Promise<Pick<RoleEvidence, 'outputsPrefix' | 'startedAt' | 'completedAt'>> {
  const cached = await stores.scores.getBaseline(run.baselineKey);
  if (cached?.status === 'done') return { outputsPrefix: cached.outputsPrefix, startedAt: cached.claimedAt, completedAt: cached.completedAt };
  const sameKey = new Set(plan.runs.filter((r) => r.baselineKey === run.baselineKey).map((r) => r.runId));
  const owner = records.find((r) => sameKey.has(r.runId) && r.baselineCached === false);
  return { outputsPrefix: roleOutputPrefix(sweepId, owner?.runId ?? run.runId, 'baseline') };
}

/**
 * Reads what one run's results hold through the ports: its plan entry and run record, the test
 * split and the data set's meta, and the baseline's and MRA's per-task outcomes and shard usage.
 * `cache` shares test splits between runs of the same data set.
 */
export async function loadRunEvalInputs(stores: InspectStores, plan: SweepPlan, run: RunPlan, record: RunRecord, records: readonly RunRecord[], cache = new Map<string, Promise<{ tasks: CbmTask[]; meta: unknown }>>()): Promise<RunEvalInputs> {
  const { artifacts } = stores;
  const kind = cbmKind(run.cbm.kind);
  let data = cache.get(run.cbm.datasetPrefix);
  if (!data) {
    data = (async () => ({ tasks: await readSplit(artifacts, run.cbm.datasetPrefix, 'test', kind), meta: await readMeta(artifacts, run.cbm.datasetPrefix, kind) }))();
    cache.set(run.cbm.datasetPrefix, data);
  }
  const { tasks, meta } = await data;
  const base = await baselineSource(stores, plan.sweepId, run, records, plan);
  const mraPrefix = roleOutputPrefix(plan.sweepId, run.runId, 'mra');
  return {
    sweepId: plan.sweepId,
    sweepCreatedAt: plan.createdAt,
    run,
    record,
    tasks,
    meta,
    baseline: { ...base, ...(await readFinished(artifacts, base.outputsPrefix, run.shards)) },
    mra: { outputsPrefix: mraPrefix, ...(await readFinished(artifacts, mraPrefix, run.shards)) },
  };
}

/**
 * Every run of a sweep (or the runs named in `runIds`) as Inspect eval logs, baseline and MRA,
 * in plan order: what `uplift export <sweep> --format inspect` writes, one file per log.
 * An unknown sweep is a NotFoundError; an unknown run id too.
 */
export async function inspectLogsOfSweep(stores: InspectStores, sweepId: string, runIds?: readonly string[]): Promise<InspectLogFile[]> {
  if (!(await stores.scores.getSweep(sweepId))) throw new NotFoundError(`sweep ${sweepId} not found. Fix: see \`uplift list\` for the sweeps of this data dir or stack`);
  const plan = await readPlan(stores.artifacts, sweepId);
  const records = await stores.scores.listRuns(sweepId);
  const unknown = (runIds ?? []).filter((id) => !plan.runs.some((r) => r.runId === id));
  if (unknown.length) throw new NotFoundError(`sweep ${sweepId} has no run ${unknown.join(', ')}`);
  const cache = new Map<string, Promise<{ tasks: CbmTask[]; meta: unknown }>>();
  const out: InspectLogFile[] = [];
  for (const run of plan.runs) {
    if (runIds && !runIds.includes(run.runId)) continue;
    const record = records.find((r) => r.runId === run.runId);
    if (!record) throw new CorruptRecordError(`run ${run.runId} of sweep ${sweepId} is in plan.json but has no RUN item in the score store`);
    const logs = inspectLogsOfRun(await loadRunEvalInputs(stores, plan, run, record, records, cache));
    for (const role of ['baseline', 'mra'] as const) out.push({ runId: run.runId, role, fileName: inspectLogFileName(logs[role], run.runId, role), log: logs[role] });
  }
  return out;
}
