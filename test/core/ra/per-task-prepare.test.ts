import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAgentPerTask } from '../../../core/ra/per-task';

describe('runAgentPerTask: preparing a workspace', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'per-task-prepare-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('waits for an asynchronous prepare (assets being fetched) before the agent starts', async () => {
    const bundle = mkdtempSync(join(dir, 'bundle-'));
    const seen: string[] = [];
    const res = await runAgentPerTask({
      bundleDir: bundle,
      // The agent copies the fetched file into its answer.
      entrypoint: ['/bin/sh', '-c', 'printf \'{"id": "t1", "output": "%s"}\\n\' "$(cat data.bin)"'],
      tasks: [
        {
          input: { id: 't1' },
          prepare: async (ws) => {
            await new Promise((r) => setTimeout(r, 200));
            writeFileSync(join(ws, 'data.bin'), 'fetched');
          },
        },
      ],
      scratch: mkdtempSync(join(dir, 'scratch-')),
      env: {},
      sandbox: { level: 'process' },
      concurrency: 1,
      score: async (id, ws, output) => {
        seen.push(readFileSync(join(ws, 'data.bin'), 'utf8'));
        return { id, output, score: output === 'fetched' ? 1 : 0 };
      },
    });
    expect(res.outcomes).toEqual([{ id: 't1', output: 'fetched', score: 1 }]);
    expect(seen).toEqual(['fetched']);
  });

  test('a prepare that rejects (an asset that cannot be fetched) fails the run, never scores the task', async () => {
    const bundle = mkdtempSync(join(dir, 'bundle-'));
    const run = runAgentPerTask({
      bundleDir: bundle,
      entrypoint: ['/bin/true'],
      tasks: [{ input: { id: 't1' }, prepare: async () => Promise.reject(new Error('mem://datasets/x/assets/dev/abc is missing')) }],
      scratch: mkdtempSync(join(dir, 'scratch-')),
      env: {},
      sandbox: { level: 'process' },
      concurrency: 1,
      score: async (id, _ws, output) => ({ id, output, score: 1 }),
    });
    await expect(run).rejects.toThrow('mem://datasets/x/assets/dev/abc is missing');
  });
});
