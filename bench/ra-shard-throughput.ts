/**
 * Throughput of the RA-shard path: N tasks through the `classifier` RA (a real child process
 * speaking the RA protocol) and the model gateway, to an OpenAI-compatible endpoint with a fixed
 * latency L per call, C calls in flight. Prints wall time ÷ ideal, where ideal = N × L ÷ C.
 *
 *   npx tsx bench/ra-shard-throughput.ts [--n 1000] [--latency 50] [--concurrency 64] [--endpoint job|process]
 *
 * `--endpoint job` (default): the offline model with a latency, as a shard job serves
 * `{ provider: offline, latencyMs }` — inside the gateway's process. `--endpoint process`: the
 * offline model as a separate OpenAI-compatible server (`uplift offline-model`), one more HTTP hop,
 * as a remote endpoint would be. With OPENAI_BASE_URL set (and OPENAI_API_KEY,
 * UPLIFT_BENCH_MODEL), calls go there; pass its typical latency as --latency.
 */
import '../core/polyfills';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HttpUpstream, ModelGateway, OfflineUpstream } from '../core/gateway/gateway';
import { spawn, type ChildProcess } from 'node:child_process';
import { classificationKind, loadClassificationDir } from '../core/cbm/classification';
import { readManifest } from '../core/ra/bundle';
import { runAgentOnTasks } from '../core/ra/protocol';
import { detectIsolation } from '../core/sandbox';

/** `uplift offline-model` in a child process; resolves with its base URL once it listens. */
function startOfflineEndpoint(root: string, latencyMs: number): Promise<{ baseUrl: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(root, 'cli/bin/uplift.cjs'), 'offline-model', '--port', '0', '--latency', String(latencyMs)], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      err += c;
      const m = /offline model at (\S+) /.exec(err);
      if (m) resolve({ baseUrl: m[1], child });
    });
    child.on('exit', (code) => reject(new Error(`offline-model exited with ${code}: ${err}`)));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '1000' }, latency: { type: 'string', default: '50' }, concurrency: { type: 'string', default: '64' }, endpoint: { type: 'string', default: 'job' } } });
  if (values.endpoint !== 'job' && values.endpoint !== 'process') throw new Error(`--endpoint: expected job or process (received "${values.endpoint}")`);
  const n = Number(values.n);
  const latencyMs = Number(values.latency);
  const concurrency = Number(values.concurrency);
  const root = join(__dirname, '..');
  const ds = loadClassificationDir(join(root, 'examples/datasets/tai-safety'));
  const pool = [...ds.dev, ...ds.test];
  const tasks = Array.from({ length: n }, (_, i) => ({ ...classificationKind.toInput(pool[i % pool.length], ds.meta), id: `t${i}` }));
  const external = process.env.OPENAI_BASE_URL;
  // The endpoint runs in its own process, as a real one would: the harness does not host it.
  const offline = external || values.endpoint === 'job' ? undefined : await startOfflineEndpoint(root, latencyMs);
  const http = external || offline ? new HttpUpstream(external ?? (offline as { baseUrl: string }).baseUrl, process.env.OPENAI_API_KEY ?? 'unused', process.env.UPLIFT_BENCH_MODEL ?? 'offline') : undefined;
  const inner = http ?? new OfflineUpstream(latencyMs);
  // Time of the first model call: what the RA process and its sandbox take to start.
  let firstCall: bigint | undefined;
  // And what the endpoint itself takes per call (timers fire late under load): not harness overhead.
  let endpointMs = 0;
  const upstream = {
    model: inner.model,
    chat: async (b: Parameters<typeof inner.chat>[0]) => {
      const t = process.hrtime.bigint();
      firstCall ??= t;
      const r = await inner.chat(b);
      endpointMs += Number(process.hrtime.bigint() - t) / 1e6;
      return r;
    },
  };
  const gateway = new ModelGateway({ upstream, tokenBudget: Number.MAX_SAFE_INTEGER });
  const baseUrl = await gateway.start();
  // As a shard job does: the sandbox reaches the gateway over its Unix socket.
  const socketDir = mkdtempSync(join(tmpdir(), 'uplift-bench-'));
  const socketPath = join(socketDir, 'gateway.sock');
  await gateway.listenUnix(socketPath);
  const bundleDir = join(root, 'examples/agents/classifier');
  // A shard job probes the sandbox levels once, when it starts, before it runs the agent.
  const probeStarted = process.hrtime.bigint();
  const isolation = detectIsolation();
  const probeMs = Number(process.hrtime.bigint() - probeStarted) / 1e6;
  const started = process.hrtime.bigint();
  const result = await runAgentOnTasks({
    bundleDir,
    entrypoint: readManifest(bundleDir).entrypoint,
    tasks,
    env: { ...gateway.agentEnv(baseUrl), UPLIFT_CONCURRENCY: String(concurrency) },
    sandbox: { gateway: { baseUrl, socketPath }, level: isolation.level },
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  await gateway.stop();
  rmSync(socketDir, { recursive: true, force: true });
  http?.close();
  offline?.child.kill();
  const answered = result.outcomes.filter((o) => 'output' in o).length;
  const ideal = (n * latencyMs) / concurrency;
  const startupMs = Number((firstCall ?? started) - started) / 1e6;
  console.log(`endpoint:   ${external ?? `offline model, ${latencyMs} ms per call, ${offline ? 'its own server process' : 'in the gateway process (as a shard job serves it)'}`}`);
  console.log(`tasks:      ${n} (answered ${answered}), concurrency ${concurrency}, gateway calls ${gateway.usage.calls}`);
  console.log(`sandbox:    ${result.isolation} (probed once per job process in ${probeMs.toFixed(0)} ms, before the RA starts)`);
  console.log(`wall:       ${wallMs.toFixed(0)} ms (RA process start to last output, gateway included), of which ${startupMs.toFixed(0)} ms before the first model call (sandbox and RA start-up)`);
  console.log(`ideal:      ${ideal.toFixed(0)} ms (N × L ÷ C)`);
  console.log(`latency:    ${(endpointMs / Math.max(1, gateway.usage.calls)).toFixed(2)} ms per call on average, as the gateway saw it (L = ${latencyMs})`);
  console.log(`wall/ideal: ${(wallMs / ideal).toFixed(3)}`);
  console.log(`after start-up: ${((wallMs - startupMs) / ideal).toFixed(3)} (wall from the first model call ÷ ideal)`);
  if (answered !== n) process.exitCode = 1;
}

void main();
