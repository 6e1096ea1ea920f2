import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpUpstream, ModelGateway } from '../../../core/gateway/gateway';
import { runAgentPerTask, runKindPerTask, taskTokenAllowance } from '../../../core/ra/per-task';
import { detectIsolation, type JobGpus } from '../../../core/sandbox';
import { startScriptedModel, type ScriptedModel } from '../../support/scripted-model';
import { EXAMPLES } from '../../support/specs';
import type { CbmKind } from '../../../core/cbm/types';

const BUNDLE = join(EXAMPLES, 'agents/basic-agent');
const level = detectIsolation().level;

describe("per-task token allowances: one task's agent cannot spend another's share of the shard budget", () => {
  let model: ScriptedModel;
  let gateway: ModelGateway;
  let baseUrl: string;
  let socketPath: string;
  /** What the endpoint reported, call by call: the ledger must hold exactly this. */
  const billed: number[] = [];
  beforeEach(async () => {
    billed.length = 0;
    // A model that never finishes: every turn asks for one more harmless command (the script is longer than any allowance here).
    model = await startScriptedModel(Array.from({ length: 2000 }, () => ({ toolCalls: [{ name: 'bash', arguments: { command: 'true' } }] })));
    const upstream = new HttpUpstream(model.baseUrl, 'sk-scripted', 'scripted');
    const chat = upstream.chat.bind(upstream);
    upstream.chat = async (body, signal) => {
      const a = await chat(body, signal);
      const u = (a.body as { usage?: { prompt_tokens: number; completion_tokens: number } }).usage;
      if (u) billed.push(u.prompt_tokens + u.completion_tokens);
      return a;
    };
    gateway = new ModelGateway({ upstream, tokenBudget: 60_000 });
    baseUrl = await gateway.start();
    const dir = mkdtempSync(join(tmpdir(), 'uplift-gw-'));
    socketPath = join(dir, 'gw.sock');
    await gateway.listenUnix(socketPath);
  });
  afterEach(async () => {
    await gateway.stop();
    await model.close();
  });

  const run = (perTask: number | undefined, ids: string[]) =>
    runAgentPerTask({
      bundleDir: BUNDLE,
      entrypoint: ['python3', 'agent.py'],
      tasks: ids.map((id) => ({ input: { id, instructions: `Work on ${id} forever.` }, prepare: () => undefined })),
      scratch: (() => {
        const d = mkdtempSync(join(tmpdir(), 'uplift-pt-'));
        chmodSync(d, 0o711);
        return d;
      })(),
      // basic-agent stops after UPLIFT_MAX_STEPS calls: far more than any allowance here allows.
      env: { ...gateway.agentEnv(baseUrl), UPLIFT_MAX_STEPS: '1000' },
      limits: () => ({ wallMs: 60_000 }),
      sandbox: { gateway: { baseUrl, socketPath }, level },
      concurrency: 1,
      ...(perTask !== undefined ? { tokens: { perTask, gateway } } : {}),
      score: async (id, _ws, output) => ({ id, output, score: 1 }),
    });

  test('a first task that calls forever is stopped at its allowance; the second still gets its whole allowance; the ledger holds exactly what the endpoint billed', async () => {
    const res = await run(20_000, ['loop-1', 'loop-2']);
    const calls = (id: string) => model.requests.filter((r) => r.body.messages.some((m) => m.role === 'user' && typeof m.content === 'string' && m.content.includes(`Work on ${id}`)));
    const [first, second] = [calls('loop-1').length, calls('loop-2').length];
    // Each ran until its own allowance refused it (basic-agent then stops and prints its output line: scored on what it left).
    expect(first).toBeGreaterThan(3);
    expect(second).toBe(first);
    expect(res.outcomes.map((o) => ('output' in o ? o.output : o.error))).toEqual([expect.stringMatching(/429|budget|allowance/i), expect.stringMatching(/429|budget|allowance/i)]);
    expect(gateway.usage).toMatchObject({ rejected: 0, taskRejected: 2 });
    expect(gateway.ledger.spent).toBeLessThanOrEqual(2 * 20_000);
    expect(gateway.ledger.spent).toBe(billed.reduce((a, b) => a + b, 0));
    expect(gateway.usage.totalTokens).toBe(gateway.ledger.spent);
    expect(gateway.ledger.reserved).toBe(0);
  }, 120_000);

  test('without allowances (the old shared budget) the first task drains the shard and the second gets less than it did: what the allowance prevents', async () => {
    await run(undefined, ['loop-1', 'loop-2']);
    const calls = (id: string) => model.requests.filter((r) => r.body.messages.some((m) => m.role === 'user' && typeof m.content === 'string' && m.content.includes(`Work on ${id}`))).length;
    expect(gateway.usage.rejected).toBeGreaterThan(0);
    expect(calls('loop-2')).toBeLessThan(calls('loop-1'));
  }, 120_000);
});

describe('taskTokenAllowance: the spec\'s taskTokens, else an even share of the shard budget', () => {
  test.each([
    [{ taskTokens: 5000 }, 100_000, 10, 5000],
    [{ taskTokens: 500_000 }, 100_000, 10, 100_000],
    [{}, 100_000, 10, 10_000],
    [{ attempts: 3 }, 100_000, 10, 3333],
    [{ attempts: 2, taskTokens: 7000 }, 100_000, 10, 7000],
  ])('%j with shardTokens %d and %d tasks per shard: %d', (spec, shard, tasks, want) => {
    expect(taskTokenAllowance(spec, shard, tasks)).toBe(want);
  });
});

describe('runKindPerTask: what the job gives each task, and what the transcript says', () => {
  test("the job's GPU nodes reach each task's sandbox with CUDA_VISIBLE_DEVICES; the transcript notes the devices and the allowance", async () => {
    const dev = mkdtempSync(join(tmpdir(), 'uplift-gpu-'));
    chmodSync(dev, 0o755);
    execFileSync('mknod', ['-m', '0666', join(dev, 'nvidia3'), 'c', '1', '3']);
    const gpus: JobGpus = { devices: [{ host: join(dev, 'nvidia3'), path: '/dev/nvidia3' }], gpus: [{ index: 3, uuid: 'GPU-3' }], env: { CUDA_VISIBLE_DEVICES: 'GPU-3' }, note: 'the job GPUs: 3 (GPU-3)' };
    const gw = new ModelGateway({ upstream: new HttpUpstream('http://127.0.0.1:9/v1', 'k', 'm'), tokenBudget: 50_000 });
    const url = await gw.start();
    const socketDir = mkdtempSync(join(tmpdir(), 'uplift-gw-'));
    await gw.listenUnix(join(socketDir, 's'));
    const notes: Record<string, unknown>[] = [];
    const seen: string[] = [];
    const kind = {
      kind: 'probe',
      perTask: { prepare: () => undefined },
      toInput: (t: { id: string }) => ({ id: t.id }),
      score: async (_t: unknown, output: string) => {
        seen.push(output);
        return 1;
      },
    } as unknown as CbmKind;
    const scratch = mkdtempSync(join(tmpdir(), 'uplift-pt-'));
    chmodSync(scratch, 0o711);
    const bundle = mkdtempSync(join(tmpdir(), 'uplift-probe-bundle-'));
    chmodSync(bundle, 0o755);
    try {
      await runKindPerTask({
        kind,
        meta: {},
        spec: { taskTokens: 4000 },
        tasks: [{ id: 't1' }] as never,
        bundleDir: bundle,
        entrypoint: ['/bin/sh', '-c', `printf '{"id": "t1", "output": "%s %s %s"}\\n' "$(test -c /dev/nvidia3 && echo gpu-node)" "$CUDA_VISIBLE_DEVICES" "$(echo $OPENAI_API_KEY | cut -c1-12)"`],
        scratch,
        env: gw.agentEnv(url),
        sandbox: { gateway: { baseUrl: url, socketPath: join(socketDir, 's') }, level },
        limitsFor: (wallMs) => ({ wallMs }),
        deadline: Date.now() + 60_000,
        defaultTaskWallMs: 30_000,
        tokens: { gateway: gw, shardTokens: 50_000, tasksPerShard: 5 },
        gpus,
        transcript: { write: (_kind, data) => notes.push(data) },
      });
    } finally {
      await gw.stop();
    }
    // The task's agent has its own key (not the job's), the GPU node and CUDA_VISIBLE_DEVICES.
    expect(seen).toEqual(['gpu-node GPU-3 uplift-task-']);
    expect(notes).toEqual([{ note: 'per-task agent sandboxes', isolation: level, devices: ['/dev/nvidia3'], gpus: 'the job GPUs: 3 (GPU-3)', CUDA_VISIBLE_DEVICES: 'GPU-3', taskTokens: 4000 }]);
  }, 60_000);
});

