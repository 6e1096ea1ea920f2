/**
 * Lambda BudgetMonitor: on every change of a `SWEEP#<id>`/`BUDGET` ledger item (DynamoDB stream,
 * filtered to those items), publishes how far the ledger's commitments (reserved + spent) exceed
 * its limit as the CloudWatch metric `Uplift/BudgetOverrunUsd` (embedded metric format: a log
 * line, no API call). The stack alarms when it is above 0.
 */
import { z } from 'zod';

const N = z.object({ N: z.string().regex(/^-?\d+(\.\d+)?$/) }).transform((v) => Number(v.N));
const S = z.object({ S: z.string() }).transform((v) => v.S);

/** The ledger as DynamoScoreStore writes it (integer micro-dollars). */
export const LedgerImage = z.object({
  pk: S,
  sk: S,
  limitMicros: N,
  reservedMicros: N,
  spentMicros: N,
});

export const BudgetStreamEvent = z.object({
  Records: z.array(z.object({ eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']), dynamodb: z.object({ NewImage: z.record(z.string(), z.unknown()).optional() }) })),
});

export const METRIC = { namespace: 'Uplift', name: 'BudgetOverrunUsd', dimension: 'Stack' } as const;

export interface LedgerOverrun {
  sweepId: string;
  overrunUsd: number;
  limitUsd: number;
  reservedUsd: number;
  spentUsd: number;
}

/** Overrun of each ledger image in the batch (0 when within its limit). Items that are not ledgers are skipped. */
export function overruns(event: unknown): LedgerOverrun[] {
  const out: LedgerOverrun[] = [];
  for (const r of BudgetStreamEvent.parse(event).Records) {
    const img = LedgerImage.safeParse(r.dynamodb.NewImage);
    if (!img.success || img.data.sk !== 'BUDGET' || !img.data.pk.startsWith('SWEEP#')) continue;
    const { limitMicros, reservedMicros, spentMicros } = img.data;
    out.push({
      sweepId: img.data.pk.slice('SWEEP#'.length),
      overrunUsd: Math.max(0, reservedMicros + spentMicros - limitMicros) / 1e6,
      limitUsd: limitMicros / 1e6,
      reservedUsd: reservedMicros / 1e6,
      spentUsd: spentMicros / 1e6,
    });
  }
  return out;
}

/** One embedded-metric-format log line for a ledger. */
export function emfLine(o: LedgerOverrun, stack: string, now = Date.now()): string {
  return JSON.stringify({
    _aws: { Timestamp: now, CloudWatchMetrics: [{ Namespace: METRIC.namespace, Dimensions: [[METRIC.dimension]], Metrics: [{ Name: METRIC.name, Unit: 'None' }] }] },
    [METRIC.dimension]: stack,
    [METRIC.name]: o.overrunUsd,
    sweepId: o.sweepId,
    limitUsd: o.limitUsd,
    reservedUsd: o.reservedUsd,
    spentUsd: o.spentUsd,
  });
}

export async function handler(event: unknown): Promise<{ ledgers: number; overrun: number }> {
  const stack = z.string().min(1, { error: 'UPLIFT_STACK must name the stack (the metric dimension)' }).parse(process.env.UPLIFT_STACK);
  const list = overruns(event);
  for (const o of list) console.log(emfLine(o, stack));
  return { ledgers: list.length, overrun: list.filter((o) => o.overrunUsd > 0).length };
}
