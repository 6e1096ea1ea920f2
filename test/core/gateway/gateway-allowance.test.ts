import { HttpUpstream, ModelGateway, TokenLedger } from '../../../core/gateway/gateway';
import { post, startBillingEndpoint, tempTranscript, type FakeEndpoint } from './fake-endpoints';

const ask = (who: string) => ({ messages: [{ role: 'user', content: `task ${who}: keep working on it` }], max_tokens: 40 });

/** Calls the gateway with `key` until it refuses; returns the statuses and the last refusal. */
async function loopUntilRefused(baseUrl: string, key: string, who: string, max = 200) {
  const statuses: number[] = [];
  for (let i = 0; i < max; i++) {
    const r = await post(baseUrl, key, ask(who));
    statuses.push(r.status);
    if (r.status !== 200) return { statuses, refusal: r };
  }
  throw new Error(`${who}: never refused after ${max} calls`);
}

describe('gateway token allowances: each task its own share of the job budget', () => {
  let fake: FakeEndpoint;
  beforeEach(async () => {
    fake = await startBillingEndpoint();
  });
  afterEach(async () => fake.close());

  test('a task that calls forever is refused at its own allowance (429 budget_exhausted naming it); the next task still gets its whole allowance; the ledgers charge exactly what the endpoint billed', async () => {
    const t = tempTranscript('uplift-allow-');
    const gw = new ModelGateway({ upstream: new HttpUpstream(fake.baseUrl, 'sk-real', 'fake-model'), tokenBudget: 100_000, transcript: t.transcript });
    const url = await gw.start();
    try {
      const first = gw.openAllowance(2000, 'task-a');
      const a = await loopUntilRefused(url, first.apiKey, 'a');
      first.close();
      expect(a.refusal.status).toBe(429);
      expect(a.refusal.json.error).toMatchObject({ code: 'budget_exhausted', type: 'insufficient_quota' });
      expect(a.refusal.json.error?.message).toMatch(/^token allowance of 2000 tokens for task task-a is spent/);
      expect(first.ledger.spent).toBeLessThanOrEqual(2000);
      expect(a.statuses.length).toBeGreaterThan(3);
      const billedByA = fake.billed;
      expect(first.ledger.spent).toBe(billedByA);
      // A shared budget would leave the second task what the first did not drain; its own allowance gives it as many calls.
      const second = gw.openAllowance(2000, 'task-b');
      const b = await loopUntilRefused(url, second.apiKey, 'b');
      second.close();
      expect(b.statuses.length).toBe(a.statuses.length);
      expect(second.ledger.spent).toBe(first.ledger.spent);
      // Exact accounting: the job's ledger holds what the endpoint billed, every token of it, and the usage counts say so.
      expect(gw.ledger.spent).toBe(fake.billed);
      expect(gw.ledger.spent).toBe(first.ledger.spent + second.ledger.spent);
      expect(gw.usage).toMatchObject({ totalTokens: fake.billed, rejected: 0, taskRejected: 2 });
      expect([first.rejected, second.rejected]).toEqual([1, 1]);
      expect(gw.ledger.reserved).toBe(0);
      const events = await t.events();
      expect(events.filter((e) => e.kind === 'model_rejected').map((e) => [e.allowance, e.scope, e.reason])).toEqual([
        ['task-a', 'task', 'budget_exhausted'],
        ['task-b', 'task', 'budget_exhausted'],
      ]);
      expect(events.filter((e) => e.kind === 'model_call' && e.allowance === 'task-b')).toHaveLength(b.statuses.length - 1);
      // The job's own key still draws on what is left of the job budget.
      expect((await post(url, gw.jobToken, ask('job'))).status).toBe(200);
    } finally {
      await gw.stop();
      await t.close();
    }
  });

  test('an allowance never holds more than what is left of the job budget: past it the refusal is the job budget, counted as such', async () => {
    const gw = new ModelGateway({ upstream: new HttpUpstream(fake.baseUrl, 'sk-real', 'fake-model'), tokenBudget: 1500 });
    const url = await gw.start();
    try {
      const big = gw.openAllowance(1_000_000, 'big');
      const r = await loopUntilRefused(url, big.apiKey, 'big');
      big.close();
      expect(r.refusal.json.error?.message).toMatch(/^token budget of 1500 tokens for this job is spent/);
      expect(gw.ledger.spent).toBeLessThanOrEqual(1500);
      expect(gw.ledger.spent).toBe(fake.billed);
      expect(gw.usage).toMatchObject({ rejected: 1, taskRejected: 0 });
    } finally {
      await gw.stop();
    }
  });

  test("a closed allowance's key is refused (401), and so is a made-up task key", async () => {
    const gw = new ModelGateway({ upstream: new HttpUpstream(fake.baseUrl, 'sk-real', 'fake-model'), tokenBudget: 100_000 });
    const url = await gw.start();
    try {
      const a = gw.openAllowance(5000, 'a');
      expect((await post(url, a.apiKey, ask('a'))).status).toBe(200);
      a.close();
      expect((await post(url, a.apiKey, ask('a'))).status).toBe(401);
      expect((await post(url, 'uplift-task-000000000000000000000000', ask('x'))).status).toBe(401);
      expect(fake.seen).toHaveLength(1);
    } finally {
      await gw.stop();
    }
  });

  test('a sub-ledger reserves and spends on its parent too, and never lets more than the parent has left', () => {
    const job = new TokenLedger(1000);
    const task = job.sub(600);
    task.reserve(100);
    expect([job.reserved, task.left, job.left]).toEqual([100, 500, 900]);
    task.release(100);
    task.spend(300);
    expect([job.spent, task.left, job.left]).toEqual([300, 300, 700]);
    job.spend(600);
    expect(task.left).toBe(100);
  });
});
