import { PrioritySemaphore } from '../../../cli/local/batch-pool';

/* The pool's slots go to waiting TLA jobs (priority 0) before waiting shard jobs (1), each in arrival order. */

describe('PrioritySemaphore', () => {
  test('a free slot is taken at once; waiters get freed slots by priority, then in arrival order', async () => {
    const sem = new PrioritySemaphore(1);
    await sem.acquire(1);
    const order: string[] = [];
    const wait = (name: string, p: number) => sem.acquire(p).then(() => order.push(name));
    const all = [wait('shard-a', 1), wait('shard-b', 1), wait('tla-a', 0), wait('shard-c', 1), wait('tla-b', 0)];
    for (let i = 0; i < 5; i++) {
      sem.release();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(order).toEqual(['tla-a', 'tla-b', 'shard-a', 'shard-b', 'shard-c']);
  });

  test('released with nobody waiting, the slot is free again', async () => {
    const sem = new PrioritySemaphore(2);
    await sem.acquire(1);
    await sem.acquire(0);
    sem.release();
    let got = false;
    void sem.acquire(1).then(() => (got = true));
    await new Promise((r) => setImmediate(r));
    expect(got).toBe(true);
  });
});
