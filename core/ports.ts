/**
 * Ports: the only way domain code reaches storage. Implemented by the AWS SDK v3 adapters in
 * `lambdas/aws/`; the embedded default is the same adapters pointed at loopback servers.
 */
import type { BaselineRecord, BudgetLedger, RunRecord, SweepMeta } from './records';

/** Object storage with the S3 layout of DESIGN.md (keys are relative to the artifacts bucket). */
export abstract class ArtifactStore {
  /** Human-readable URI of a key, e.g. `s3://bucket/key`. */
  abstract uri(key: string): string;
  abstract putBytes(key: string, body: Uint8Array, contentType?: string): Promise<void>;
  /** Returns undefined when the key does not exist. */
  abstract getBytes(key: string): Promise<Uint8Array | undefined>;
  abstract exists(key: string): Promise<boolean>;
  /** Keys under a prefix, sorted. */
  abstract list(prefix: string): Promise<string[]>;

  async putText(key: string, body: string, contentType = 'text/plain; charset=utf-8'): Promise<void> {
    await this.putBytes(key, new TextEncoder().encode(body), contentType);
  }

  async getText(key: string): Promise<string | undefined> {
    const bytes = await this.getBytes(key);
    return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
  }
}

/** Outcome of a baseline claim: we compute it, someone else is computing it, or it is done. */
export type BaselineClaim = { status: 'claimed' } | { status: 'pending'; record: BaselineRecord } | { status: 'done'; record: BaselineRecord };

/** Scores, statuses, the budget ledger and the baseline cache (the DynamoDB items of DESIGN.md). */
export abstract class ScoreStore {
  /** Creates the META item unless it exists; returns what is stored. */
  abstract createSweep(meta: SweepMeta): Promise<SweepMeta>;
  abstract getSweep(sweepId: string): Promise<SweepMeta | undefined>;
  abstract updateSweep(sweepId: string, patch: Partial<Pick<SweepMeta, 'status' | 'reportKey' | 'counts' | 'updatedAt'>>): Promise<void>;
  abstract putRun(run: RunRecord): Promise<void>;
  /** Writes many runs at once (batched): PlanSweep creates thousands. */
  abstract putRuns(runs: readonly RunRecord[]): Promise<void>;
  abstract getRun(sweepId: string, runId: string): Promise<RunRecord | undefined>;
  abstract listRuns(sweepId: string): Promise<RunRecord[]>;
  /** Creates the ledger unless it exists. */
  abstract initBudget(sweepId: string, limitUsd: number): Promise<void>;
  abstract getBudget(sweepId: string): Promise<BudgetLedger | undefined>;
  /** Adds `usd` to reserved if reserved + spent + usd ≤ limit (one conditional update); false otherwise. */
  abstract reserveBudget(sweepId: string, usd: number): Promise<boolean>;
  /** Moves a reservation to spent: reserved −= reservedUsd, spent += actualUsd. */
  abstract settleBudget(sweepId: string, reservedUsd: number, actualUsd: number): Promise<void>;
  /**
   * Claims the baseline key for (sweep, run) unless it is done or held by another live claim.
   * A claim older than `leaseSeconds` is taken over.
   */
  abstract claimBaseline(record: BaselineRecord, leaseSeconds: number): Promise<BaselineClaim>;
  abstract getBaseline(key: string): Promise<BaselineRecord | undefined>;
  abstract completeBaseline(record: BaselineRecord): Promise<void>;
  /** Drops a `computing` claim held by this owner (after its run failed), so another run may compute it. */
  abstract releaseBaseline(key: string, ownerSweep: string, ownerRun: string): Promise<void>;
}
