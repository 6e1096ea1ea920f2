/**
 * Ports: the only way domain code reaches storage. Implemented by the AWS SDK v3 adapters in
 * `lambdas/aws/`; the embedded default is the same adapters pointed at loopback servers.
 */
import type { BaselineRecord, BudgetLedger, RunRecord, SweepMeta } from './records';

/** Object storage with the S3 layout of the README (Architecture) (keys are relative to the artifacts bucket). */
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

/** What a reservation did: `reserved` now, already `held` by this run, or `insufficient` budget left. */
export type ReserveOutcome = 'reserved' | 'held' | 'insufficient';

/** Scores, statuses, the budget ledger and the baseline cache (the DynamoDB items of the README, Architecture). */
export abstract class ScoreStore {
  /** Creates the META item unless it exists; returns what is stored. */
  abstract createSweep(meta: SweepMeta): Promise<SweepMeta>;
  abstract getSweep(sweepId: string): Promise<SweepMeta | undefined>;
  /** Every sweep's META item (`uplift list`), newest first (by createdAt, then sweep id). */
  abstract listSweeps(): Promise<SweepMeta[]>;
  abstract updateSweep(sweepId: string, patch: Partial<Pick<SweepMeta, 'status' | 'reportKey' | 'counts' | 'updatedAt'>>): Promise<void>;
  abstract putRun(run: RunRecord): Promise<void>;
  /** Writes many runs at once (batched): PlanSweep creates thousands. */
  abstract putRuns(runs: readonly RunRecord[]): Promise<void>;
  abstract getRun(sweepId: string, runId: string): Promise<RunRecord | undefined>;
  abstract listRuns(sweepId: string): Promise<RunRecord[]>;
  /** Creates the ledger unless it exists. */
  abstract initBudget(sweepId: string, limitUsd: number): Promise<void>;
  abstract getBudget(sweepId: string): Promise<BudgetLedger | undefined>;
  /**
   * Reserves `usd` for a run if reserved + spent + usd ≤ limit and the run holds no reservation:
   * one conditional update of the ledger moves the money and records the run's hold, so a retried
   * or resumed PlanRun never reserves twice (`held`).
   */
  abstract reserveBudget(sweepId: string, runId: string, usd: number): Promise<ReserveOutcome>;
  /**
   * Settles the run's hold exactly once: reserved −= hold, spent += actualUsd, the hold removed, in
   * one conditional update. False when the run holds nothing (already settled, or never reserved).
   */
  abstract settleBudget(sweepId: string, runId: string, actualUsd: number): Promise<boolean>;
  /**
   * Claims the baseline key for (sweep, run) unless it is done or held by another live claim.
   * A claim older than `leaseSeconds` is taken over.
   */
  abstract claimBaseline(record: BaselineRecord, leaseSeconds: number): Promise<BaselineClaim>;
  abstract getBaseline(key: string): Promise<BaselineRecord | undefined>;
  abstract completeBaseline(record: BaselineRecord): Promise<void>;
  /** Drops a `computing` claim held by this owner (after its run failed), so another run may compute it. */
  abstract releaseBaseline(key: string, ownerSweep: string, ownerRun: string): Promise<void>;
  /** Every cached or claimed baseline (`uplift cache list`). */
  abstract listBaselines(): Promise<BaselineRecord[]>;
  /** Deletes a baseline record whatever its state (`uplift cache clear`); false when there was none. */
  abstract deleteBaseline(key: string): Promise<boolean>;
}
