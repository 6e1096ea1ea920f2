import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand, DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { CorruptRecordError } from '../../core/errors';
import { ScoreStore, type BaselineClaim, type ReserveOutcome } from '../../core/ports';
import { BaselineRecord, BudgetLedger, RunRecord, SweepMeta } from '../../core/records';
import type { z } from 'zod';

const MICROS = 1_000_000;
const toMicros = (usd: number) => Math.round(usd * MICROS);

function parseItem<S extends z.ZodType>(schema: S, item: Record<string, unknown> | undefined, what: string): z.infer<S> | undefined {
  if (!item) return undefined;
  const r = schema.safeParse(item);
  if (!r.success) throw new CorruptRecordError(`${what}: stored item does not match its schema: ${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`, { cause: r.error });
  return r.data;
}

/** Leaderboard GSI: runs by CBM, sorted by uplift. */
export const LEADERBOARD_INDEX = 'byCbm';

/**
 * ScoreStore on one DynamoDB table (`pk`/`sk`, README Architecture). Money is stored in integer
 * micro-dollars so the ledger's conditional updates are exact: `availableMicros` is
 * limit − reserved − spent, and a reservation succeeds only if `availableMicros >= amount`.
 */
export class DynamoScoreStore extends ScoreStore {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    readonly table: string,
  ) {
    super();
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async createSweep(meta: SweepMeta): Promise<SweepMeta> {
    try {
      await this.doc.send(new PutCommand({ TableName: this.table, Item: { pk: `SWEEP#${meta.sweepId}`, sk: 'META', ...meta }, ConditionExpression: 'attribute_not_exists(pk)' }));
      return meta;
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      return (await this.getSweep(meta.sweepId)) as SweepMeta;
    }
  }

  async getSweep(sweepId: string): Promise<SweepMeta | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: `SWEEP#${sweepId}`, sk: 'META' }, ConsistentRead: true }));
    return parseItem(SweepMeta, out.Item, `SWEEP#${sweepId}/META`);
  }

  /** A scan of the table for `SWEEP#…`/`META` items (a few per sweep: fine for a CLI listing, not for a hot path). */
  async listSweeps(): Promise<SweepMeta[]> {
    const out: SweepMeta[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: 'begins_with(pk, :s) AND sk = :meta',
          ExpressionAttributeValues: { ':s': 'SWEEP#', ':meta': 'META' },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) out.push(parseItem(SweepMeta, item, `${String(item.pk)}/META`) as SweepMeta);
      start = page.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.sweepId.localeCompare(a.sweepId));
  }

  async updateSweep(sweepId: string, patch: Partial<Pick<SweepMeta, 'status' | 'reportKey' | 'counts' | 'updatedAt'>>): Promise<void> {
    const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
    if (!entries.length) return;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `SWEEP#${sweepId}`, sk: 'META' },
        UpdateExpression: 'SET ' + entries.map((_, i) => `#k${i} = :v${i}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#k${i}`, k])),
        ExpressionAttributeValues: Object.fromEntries(entries.map(([, v], i) => [`:v${i}`, v])),
        ConditionExpression: 'attribute_exists(pk)',
      }),
    );
  }

  private runItem(run: RunRecord): Record<string, unknown> {
    const leaderboard = run.uplift === undefined ? {} : { gsi1pk: `CBM#${run.cbm}`, gsi1sk: `${(run.uplift + 1).toFixed(6).padStart(9, '0')}#${run.sweepId}#${run.runId}` };
    return { pk: `SWEEP#${run.sweepId}`, sk: `RUN#${run.runId}`, ...run, ...leaderboard };
  }

  async putRun(run: RunRecord): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: this.runItem(run) }));
  }

  async putRuns(runs: readonly RunRecord[]): Promise<void> {
    for (let i = 0; i < runs.length; i += 25) {
      let requests: { PutRequest: { Item: Record<string, unknown> } }[] = runs.slice(i, i + 25).map((r) => ({ PutRequest: { Item: this.runItem(r) } }));
      // DynamoDB may leave items unprocessed under load: retry them with backoff until none are left.
      for (let attempt = 0; requests.length; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
        if (attempt > 10) throw new Error(`BatchWriteItem left ${requests.length} run items unprocessed after ${attempt} attempts`);
        const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (out.UnprocessedItems?.[this.table] ?? []) as typeof requests;
      }
    }
  }

  async getRun(sweepId: string, runId: string): Promise<RunRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: `SWEEP#${sweepId}`, sk: `RUN#${runId}` }, ConsistentRead: true }));
    return parseItem(RunRecord, out.Item, `SWEEP#${sweepId}/RUN#${runId}`);
  }

  async listRuns(sweepId: string): Promise<RunRecord[]> {
    const runs: RunRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :run)',
          ExpressionAttributeValues: { ':pk': `SWEEP#${sweepId}`, ':run': 'RUN#' },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) runs.push(parseItem(RunRecord, item, `SWEEP#${sweepId}/${String(item.sk)}`) as RunRecord);
      start = out.LastEvaluatedKey;
    } while (start);
    return runs;
  }

  async initBudget(sweepId: string, limitUsd: number): Promise<void> {
    const limit = toMicros(limitUsd);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `SWEEP#${sweepId}`, sk: 'BUDGET', limitMicros: limit, reservedMicros: 0, spentMicros: 0, availableMicros: limit, holds: {} },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      // A ledger written before runs held their reservations by name gets its (empty) map of holds.
      await this.doc.send(new UpdateCommand({ TableName: this.table, Key: { pk: `SWEEP#${sweepId}`, sk: 'BUDGET' }, UpdateExpression: 'SET holds = if_not_exists(holds, :empty)', ExpressionAttributeValues: { ':empty': {} } }));
    }
  }

  async getBudget(sweepId: string): Promise<BudgetLedger | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: `SWEEP#${sweepId}`, sk: 'BUDGET' }, ConsistentRead: true }));
    if (!out.Item) return undefined;
    const i = out.Item as { limitMicros: number; reservedMicros: number; spentMicros: number; holds?: Record<string, number> };
    return BudgetLedger.parse({
      limitUsd: i.limitMicros / MICROS,
      reservedUsd: i.reservedMicros / MICROS,
      spentUsd: i.spentMicros / MICROS,
      holds: Object.fromEntries(Object.entries(i.holds ?? {}).map(([run, micros]) => [run, micros / MICROS])),
    });
  }

  async reserveBudget(sweepId: string, runId: string, usd: number): Promise<ReserveOutcome> {
    const amount = toMicros(usd);
    try {
      // One conditional update moves the money and records the run's hold: a run can hold one reservation at a time.
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `SWEEP#${sweepId}`, sk: 'BUDGET' },
          UpdateExpression: 'SET availableMicros = availableMicros - :a, reservedMicros = reservedMicros + :a, holds.#run = :a',
          ConditionExpression: 'availableMicros >= :a AND attribute_not_exists(holds.#run)',
          ExpressionAttributeNames: { '#run': runId },
          ExpressionAttributeValues: { ':a': amount },
        }),
      );
      return 'reserved';
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      const ledger = await this.getBudget(sweepId);
      return ledger?.holds[runId] !== undefined ? 'held' : 'insufficient';
    }
  }

  async settleBudget(sweepId: string, runId: string, actualUsd: number): Promise<boolean> {
    const held = (await this.getBudget(sweepId))?.holds[runId];
    if (held === undefined) return false;
    const reserved = toMicros(held);
    const actual = toMicros(actualUsd);
    try {
      // Exactly once: the update removes the hold it settles, on the condition that it is still there.
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `SWEEP#${sweepId}`, sk: 'BUDGET' },
          UpdateExpression: 'SET availableMicros = availableMicros + :back, reservedMicros = reservedMicros - :r, spentMicros = spentMicros + :s REMOVE holds.#run',
          ConditionExpression: 'holds.#run = :r',
          ExpressionAttributeNames: { '#run': runId },
          ExpressionAttributeValues: { ':back': reserved - actual, ':r': reserved, ':s': actual },
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  async claimBaseline(record: BaselineRecord, leaseSeconds: number): Promise<BaselineClaim> {
    const expiry = new Date(Date.parse(record.claimedAt) - leaseSeconds * 1000).toISOString();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: record.key, sk: 'SCORE', ...record, status: 'computing' },
          ConditionExpression: 'attribute_not_exists(pk) OR (#st = :computing AND (claimedAt < :expiry OR (ownerSweep = :s AND ownerRun = :r)))',
          ExpressionAttributeNames: { '#st': 'status' },
          ExpressionAttributeValues: { ':computing': 'computing', ':expiry': expiry, ':s': record.ownerSweep, ':r': record.ownerRun },
        }),
      );
      return { status: 'claimed' };
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      const existing = await this.getBaseline(record.key);
      if (!existing) return this.claimBaseline(record, leaseSeconds);
      return existing.status === 'done' ? { status: 'done', record: existing } : { status: 'pending', record: existing };
    }
  }

  async getBaseline(key: string): Promise<BaselineRecord | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: key, sk: 'SCORE' }, ConsistentRead: true }));
    return parseItem(BaselineRecord, out.Item, `${key}/SCORE`);
  }

  async completeBaseline(record: BaselineRecord): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { pk: record.key, sk: 'SCORE', ...record, status: 'done' } }));
  }

  async releaseBaseline(key: string, ownerSweep: string, ownerRun: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: key, sk: 'SCORE' },
          ConditionExpression: '#st = :computing AND ownerSweep = :s AND ownerRun = :r',
          ExpressionAttributeNames: { '#st': 'status' },
          ExpressionAttributeValues: { ':computing': 'computing', ':s': ownerSweep, ':r': ownerRun },
        }),
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
    }
  }

  async listBaselines(): Promise<BaselineRecord[]> {
    const out: BaselineRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: 'begins_with(pk, :b) AND sk = :score',
          ExpressionAttributeValues: { ':b': 'BASELINE#', ':score': 'SCORE' },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) out.push(parseItem(BaselineRecord, item, `${String(item.pk)}/SCORE`) as BaselineRecord);
      start = page.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  async deleteBaseline(key: string): Promise<boolean> {
    const out = await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk: key, sk: 'SCORE' }, ReturnValues: 'ALL_OLD' }));
    return out.Attributes !== undefined;
  }
}
