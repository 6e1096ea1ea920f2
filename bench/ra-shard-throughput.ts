/**
 * Throughput of the RA-shard path: N tasks through the `classifier` RA (a real child process
 * speaking the RA protocol) and the model gateway, to an OpenAI-compatible endpoint with a fixed
 * latency L per call, C calls in flight. Prints wall time ÷ ideal, where ideal = N × L ÷ C (the
 * time N calls of L take C at a time, with no overhead at all), measured from the RA process's
 * start and from its first model call (without the sandbox's and RA's start-up).
 *
 * It also prints the endpoint's own latency as the gateway saw it (and the wall time beyond it),
 * the CPU time per call of this process (gateway and RA protocol) and of the endpoint's process,
 * and the machine's load when the RA started: on a machine of few cores the harness, the RA, its
 * sandbox and the endpoint share them, and anyone else's work there slows all of them.
 *
 *   npx tsx bench/ra-shard-throughput.ts [--n 1000] [--latency 50] [--concurrency 64] [--endpoint job|process]
 *
 * `--endpoint job` (default): the offline model with a latency, as a shard job serves
 * `{ provider: offline, latencyMs }` — inside the gateway's process. `--endpoint process`: the
 * offline model as a separate OpenAI-compatible server (`uplift offline-model`), one more HTTP hop,
 * as a remote endpoint would be. With OPENAI_BASE_URL set (and OPENAI_API_KEY,
 * UPLIFT_BENCH_MODEL), calls go there; pass its typical latency as --latency.
 *
 * With `--endpoint process` it first measures the floor: the same RA process on the same tasks,
 * C at a time, talking to the endpoint directly, with no sandbox, forwarder or gateway. On a
 * machine of few cores the RA and the endpoint alone already cost more than the ideal; wall ÷
 * floor is what the harness adds.
 */
import '../core/polyfills';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HttpUpstream, ModelGateway, OfflineUpstream, type Upstream } from '../core/gateway/gateway';
import { spawn, type ChildProcess } from 'node:child_process';
import { classificationKind, loadClassificationDir } from '../core/cbm/classification';
import { readManifest } from '../core/ra/bundle';
import { runAgentOnTasks } from '../core/ra/protocol';
import { detectIsolation } from '../core/sandbox';
import { procCpuSeconds } from './proc-cpu';

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

/** The classifier RA run as a plain process straight against `baseUrl` (no sandbox, no gateway): wall time from its start to its last output. */
async function floorMs(bundleDir: string, baseUrl: string, tasks: readonly object[], concurrency: number): Promise<{ ms: number; answered: number }> {
  const env = { PATH: process.env.PATH ?? '', OPENAI_BASE_URL: baseUrl, OPENAI_API_KEY: 'unused', UPLIFT_MODEL: 'offline', UPLIFT_CONCURRENCY: String(concurrency) };
  const started = process.hrtime.bigint();
  const [cmd, ...args] = readManifest(bundleDir).entrypoint;
  const child = spawn(cmd, args, { cwd: bundleDir, env, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stdin.end(tasks.map((t) => JSON.stringify(t)).join('\n') + '\n');
  await new Promise<void>((r) => child.once('close', () => r()));
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, answered: out.split('\n').filter((l) => l.includes('"output"')).length };
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
  const inner: Upstream = http ?? new OfflineUpstream(latencyMs);
  // Time of the first model call: what the RA process and its sandbox take to start.
  let firstCall: bigint | undefined;
  // And what the endpoint itself takes per call (timers fire late under load): not harness overhead.
  let endpointMs = 0;
  // Calls at the endpoint at once: at most C when the harness keeps C in flight.
  let inFlight = 0;
  let maxInFlight = 0;
  // The endpoint as the gateway would see it unwrapped (its prompt reservation, limit field, timeout), timed.
  const upstream: Upstream = {
    model: inner.model,
    endpoint: inner.endpoint,
    limitField: inner.limitField,
    promptReserve: inner.promptReserve?.bind(inner),
    exactUsage: inner.exactUsage,
    timeoutMs: inner.timeoutMs,
    chat: async (b, signal) => {
      const t = process.hrtime.bigint();
      firstCall ??= t;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await inner.chat(b, signal);
      } finally {
        inFlight--;
        endpointMs += Number(process.hrtime.bigint() - t) / 1e6;
      }
    },
  };
  const floor = offline ? await floorMs(join(root, 'examples/agents/classifier'), offline.baseUrl, tasks, concurrency) : undefined;
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
  const load = loadavg()[0];
  const cpuBefore = { self: process.cpuUsage(), endpoint: offline?.child.pid ? procCpuSeconds(offline.child.pid)?.self : undefined };
  const started = process.hrtime.bigint();
  const result = await runAgentOnTasks({
    bundleDir,
    entrypoint: readManifest(bundleDir).entrypoint,
    tasks,
    env: { ...gateway.agentEnv(baseUrl), UPLIFT_CONCURRENCY: String(concurrency) },
    sandbox: { gateway: { baseUrl, socketPath }, level: isolation.level },
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const selfCpu = process.cpuUsage(cpuBefore.self);
  const endpointAfter = offline?.child.pid ? procCpuSeconds(offline.child.pid)?.self : undefined;
  await gateway.stop();
  rmSync(socketDir, { recursive: true, force: true });
  http?.close();
  if (offline && offline.child.exitCode === null)
    await new Promise<void>((r) => {
      offline.child.once('exit', () => r());
      offline.child.kill('SIGINT');
    });
  const answered = result.outcomes.filter((o) => 'output' in o).length;
  const ideal = (n * latencyMs) / concurrency;
  const startupMs = Number((firstCall ?? started) - started) / 1e6;
  console.log(`endpoint:   ${external ?? `offline model, ${latencyMs} ms per call, ${offline ? 'its own server process' : 'in the gateway process (as a shard job serves it)'}`}`);
  console.log(`tasks:      ${n} (answered ${answered}), concurrency ${concurrency}, gateway calls ${gateway.usage.calls}`);
  console.log(`sandbox:    ${result.isolation} (probed once per job process in ${probeMs.toFixed(0)} ms, before the RA starts)`);
  console.log(`wall:       ${wallMs.toFixed(0)} ms (RA process start to last output, gateway included), of which ${startupMs.toFixed(0)} ms before the first model call (sandbox and RA start-up)`);
  console.log(`ideal:      ${ideal.toFixed(0)} ms (N × L ÷ C)`);
  console.log(`latency:    ${(endpointMs / Math.max(1, gateway.usage.calls)).toFixed(2)} ms per call on average, as the gateway saw it (L = ${latencyMs})`);
  console.log(`in flight:  ${maxInFlight} calls at most at the endpoint; ${(endpointMs / Math.max(1, wallMs - startupMs)).toFixed(1)} on average from the first call to the last output`);
  const perCall = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${((ms * 1000) / Math.max(1, gateway.usage.calls)).toFixed(0)} µs`);
  // In ms, as perCall takes it.
  const endpointCpu = cpuBefore.endpoint !== undefined && endpointAfter !== undefined ? (endpointAfter - cpuBefore.endpoint) * 1000 : undefined;
  console.log(
    `cpu:        per call: ${perCall((selfCpu.user + selfCpu.system) / 1000)} harness (gateway and RA protocol: this process)${offline ? `, ${perCall(endpointCpu)} endpoint process` : ''} (the RA and its sandbox not counted); ${availableParallelism()} cores, load average ${load.toFixed(2)} when the RA started`,
  );
  console.log(`wall/ideal: ${(wallMs / ideal).toFixed(3)} (from the RA process's start)`);
  console.log(`after start-up: ${((wallMs - startupMs) / ideal).toFixed(3)} (wall from the first model call ÷ ideal)`);
  // The endpoint's share apart: were every call as slow as the endpoint really was, C at a time, this is what the rest added.
  const observedIdeal = endpointMs / concurrency;
  console.log(`beyond the endpoint: ${((wallMs - startupMs) / Math.max(1, observedIdeal)).toFixed(3)} (wall from the first model call ÷ the endpoint's own time ÷ C: what the harness, sandbox and RA added to the calls' real latency)`);
  if (floor) {
    console.log(`floor:      ${floor.ms.toFixed(0)} ms = ${(floor.ms / ideal).toFixed(3)} × ideal: the RA process alone against the endpoint (no sandbox, forwarder or gateway), same tasks, C at a time (answered ${floor.answered})`);
    console.log(`wall/floor: ${(wallMs / floor.ms).toFixed(3)} (what the sandbox, its forwarder and the gateway add to the RA and the endpoint)`);
  }
  if (answered !== n || (floor && floor.answered !== n)) process.exitCode = 1;
}

void main();
