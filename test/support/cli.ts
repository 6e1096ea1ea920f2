import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const UPLIFT_BIN = resolve(__dirname, '../../cli/bin/uplift.cjs');

export interface CliRun {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Starts the real `uplift` CLI as a person would (a separate process, no stdin). */
export function startCli(args: string[], env: Record<string, string> = {}, cwd?: string): CliRun {
  const child = spawn(process.execPath, [UPLIFT_BIN, ...args], { env: { ...process.env, CI: 'true', ...env }, stdio: ['pipe', 'pipe', 'pipe'], cwd });
  child.stdin.end();
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

export async function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startCli(args, env, cwd);
  const code = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

export type JobLine = { ts: string; event: 'start' | 'end'; runId: string; role: string; index: number | null; pid?: number; summary?: { skipped: boolean } };

/** The local Batch pool's job log of a sweep. */
export function readJobs(dataDir: string, sweepId: string): JobLine[] {
  const f = join(dataDir, 'logs', sweepId, 'jobs.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as JobLine);
}

export async function waitFor<T>(what: string, f: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const v = f();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
