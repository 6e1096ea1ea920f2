import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpecError, UpliftError } from '../errors';
import type { ModelSpec } from '../spec';

export type VllmModel = Extract<ModelSpec, { provider: 'vllm' }>;

/** vLLM never became ready (exited, or did not answer /health in time): the job fails with this. */
export class VllmStartupError extends UpliftError {}

/** Flags the launcher owns: a model spec's `extraArgs` may not set them. */
export const RESERVED_VLLM_FLAGS = ['--host', '--port', '--api-key', '--served-model-name', '--tensor-parallel-size', '--max-model-len'] as const;

/** Problems with a vllm model's `extraArgs` (empty when fine), for spec checks before anything starts. */
export function vllmArgProblems(model: VllmModel, field: string): string[] {
  return model.extraArgs
    .filter((a) => RESERVED_VLLM_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)))
    .map((a) => `${field}.extraArgs: "${a}" is set by the launcher (received ${JSON.stringify(model.extraArgs)}). Fix: remove it${a.startsWith('--max-model-len') ? '; use maxModelLen instead' : ''}`);
}

/** The `vllm serve` arguments: loopback only, a per-job API key, the served name agents see. */
export function vllmServeArgs(model: VllmModel, o: { weightsDir: string; port: number; apiKey: string; tensorParallelSize: number }): string[] {
  const problems = vllmArgProblems(model, 'model');
  if (problems.length) throw new SpecError(problems);
  return [
    'serve',
    o.weightsDir,
    '--host',
    '127.0.0.1',
    '--port',
    String(o.port),
    '--served-model-name',
    model.name,
    '--api-key',
    o.apiKey,
    '--tensor-parallel-size',
    String(o.tensorParallelSize),
    ...(model.maxModelLen ? ['--max-model-len', String(model.maxModelLen)] : []),
    ...model.extraArgs,
  ];
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ReadyOptions {
  timeoutMs: number;
  /** Poll interval. @default 1000 */
  pollMs?: number;
  /** Set when the server process has exited: waiting stops at once. */
  exited?: () => { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/**
 * Polls `GET <url>` until it answers 200. Throws VllmStartupError when the process exits first or
 * the timeout passes, naming the URL, the time waited and what to change.
 */
export async function waitForReady(url: string, o: ReadyOptions): Promise<{ waitedMs: number }> {
  const started = Date.now();
  let last = 'no answer yet';
  for (;;) {
    const gone = o.exited?.();
    if (gone) throw new VllmStartupError(`vLLM exited (code ${gone.code ?? gone.signal}) before ${url} answered: see its log above (common causes: the weights do not fit the GPU's memory, or maxModelLen is larger than the model supports)`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(500, Math.min(5000, o.timeoutMs))) });
      await res.arrayBuffer();
      if (res.status === 200) return { waitedMs: Date.now() - started };
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    const waited = Date.now() - started;
    if (waited >= o.timeoutMs)
      throw new VllmStartupError(
        `vLLM did not become ready within ${Math.round(o.timeoutMs / 1000)} s (GET ${url}: ${last}). Fix: raise startupTimeoutSeconds in the model spec if the model is large, or read the vLLM log above for the error`,
      );
    await sleep(Math.min(o.pollMs ?? 1000, Math.max(1, o.timeoutMs - waited)));
  }
}

export interface VllmServer {
  /** OpenAI-compatible base URL on loopback, e.g. http://127.0.0.1:41234/v1 */
  baseUrl: string;
  /** The per-job key vLLM demands; only the model gateway gets it. */
  apiKey: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface StartVllmOptions {
  /** Executable and leading arguments, e.g. ["vllm"] or a stand-in ["node", "fake-vllm.js"]. */
  command: string[];
  model: VllmModel;
  weightsDir: string;
  tensorParallelSize?: number;
  /** @default model.startupTimeoutSeconds */
  timeoutMs?: number;
  pollMs?: number;
  env?: Record<string, string | undefined>;
  /** Receives vLLM's output lines (the job's stderr; stdout is reserved for the job summary). */
  log: (line: string) => void;
}

/**
 * Starts `vllm serve` on 127.0.0.1 with a random port and API key and waits until `/health`
 * answers. On failure the process is killed and VllmStartupError thrown: a job never runs
 * against a model server that is not there.
 */
export async function startVllm(o: StartVllmOptions): Promise<VllmServer> {
  const port = await freePort();
  const apiKey = `uplift-vllm-${randomBytes(16).toString('hex')}`;
  const args = vllmServeArgs(o.model, { weightsDir: o.weightsDir, port, apiKey, tensorParallelSize: o.tensorParallelSize ?? 1 });
  const [exe, ...lead] = o.command;
  if (!exe) throw new VllmStartupError('no vLLM command given. Fix: set UPLIFT_VLLM_COMMAND (default "vllm")');
  o.log(`starting ${[exe, ...lead, ...args.map((a) => (a === apiKey ? '<api-key>' : a))].join(' ')}`);
  const child = spawn(exe, [...lead, ...args], { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const closed = new Promise<void>((resolve) => child.once('close', (code, signal) => ((exit = { code, signal }), resolve())));
  child.once('error', (e) => {
    spawnError = e;
    exit = { code: 127, signal: null };
  });
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (c: string) => {
      buf += c;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) o.log(`[vllm] ${l}`);
    });
  }
  const stop = async () => {
    if (exit) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await closed;
    clearTimeout(killer);
  };
  try {
    const { waitedMs } = await waitForReady(`http://127.0.0.1:${port}/health`, { timeoutMs: o.timeoutMs ?? o.model.startupTimeoutSeconds * 1000, pollMs: o.pollMs, exited: () => exit });
    o.log(`vLLM ready on 127.0.0.1:${port} after ${(waitedMs / 1000).toFixed(1)} s, serving "${o.model.name}"`);
  } catch (e) {
    await stop();
    if (spawnError) throw new VllmStartupError(`cannot start "${exe}": ${spawnError.message}. Fix: install vLLM in the image (batch-images/Dockerfile.gpu) or set UPLIFT_VLLM_COMMAND`, { cause: spawnError });
    throw e;
  }
  return { baseUrl: `http://127.0.0.1:${port}/v1`, apiKey, process: child, stop };
}
