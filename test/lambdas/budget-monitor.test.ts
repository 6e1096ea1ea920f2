import { emfLine, handler, overruns } from '../../lambdas/budget-monitor';

/** A DynamoDB Streams record (NEW_IMAGE) of a ledger item as DynamoScoreStore writes it. */
const ledgerRecord = (sweep: string, limit: number, reserved: number, spent: number, eventName = 'MODIFY') => ({
  eventID: '1',
  eventName,
  eventVersion: '1.1',
  eventSource: 'aws:dynamodb',
  awsRegion: 'eu-west-1',
  dynamodb: {
    ApproximateCreationDateTime: 1710000000,
    Keys: { pk: { S: `SWEEP#${sweep}` }, sk: { S: 'BUDGET' } },
    NewImage: {
      pk: { S: `SWEEP#${sweep}` },
      sk: { S: 'BUDGET' },
      limitMicros: { N: String(limit) },
      reservedMicros: { N: String(reserved) },
      spentMicros: { N: String(spent) },
      availableMicros: { N: String(limit - reserved - spent) },
    },
    SequenceNumber: '111',
    SizeBytes: 120,
    StreamViewType: 'NEW_IMAGE',
  },
  eventSourceARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/Uplift/stream/2024-01-01T00:00:00.000',
});

describe('BudgetMonitor Lambda', () => {
  test('publishes how far reserved + spent exceed the limit, 0 within it, as one EMF line per ledger', async () => {
    // GIVEN a ledger within its $5 limit and one whose settlement overran its $1 limit by $0.25
    const event = { Records: [ledgerRecord('ok-sweep', 5_000_000, 1_000_000, 2_000_000), ledgerRecord('over-sweep', 1_000_000, 0, 1_250_000)] };
    expect(overruns(event).map((o) => [o.sweepId, o.overrunUsd])).toEqual([
      ['ok-sweep', 0],
      ['over-sweep', 0.25],
    ]);
    const lines: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((l: string) => void lines.push(l));
    process.env.UPLIFT_STACK = 'Uplift';
    try {
      // WHEN the stream batch arrives
      expect(await handler(event)).toEqual({ ledgers: 2, overrun: 1 });
    } finally {
      log.mockRestore();
      delete process.env.UPLIFT_STACK;
    }
    // THEN each line is an embedded-metric-format record of Uplift/BudgetOverrunUsd by stack
    const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: unknown[] } });
    expect(emf[1]).toMatchObject({ Stack: 'Uplift', BudgetOverrunUsd: 0.25, sweepId: 'over-sweep', limitUsd: 1, spentUsd: 1.25 });
    expect(emf[1]._aws.CloudWatchMetrics).toEqual([{ Namespace: 'Uplift', Dimensions: [['Stack']], Metrics: [{ Name: 'BudgetOverrunUsd', Unit: 'None' }] }]);
  });

  test('items that are not ledgers and removals are skipped', () => {
    const run = { eventName: 'MODIFY', dynamodb: { NewImage: { pk: { S: 'SWEEP#s' }, sk: { S: 'RUN#r' }, status: { S: 'running' } } } };
    expect(overruns({ Records: [run, { eventName: 'REMOVE', dynamodb: {} }] })).toEqual([]);
    expect(JSON.parse(emfLine({ sweepId: 's', overrunUsd: 0, limitUsd: 1, reservedUsd: 0, spentUsd: 0 }, 'X', 5))._aws.Timestamp).toBe(5);
  });
});
