import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Resource limits for untrusted agent code. */
export interface SandboxLimits {
  /** CPU seconds (RLIMIT_CPU). */
  cpuSeconds: number;
  /** Address space in bytes (RLIMIT_AS). */
  memoryBytes: number;
  /** Largest file it may write, bytes (RLIMIT_FSIZE). */
  fileSizeBytes: number;
  /** Wall clock; the process group is killed after it. */
  wallMs: number;
}

export const DEFAULT_LIMITS: SandboxLimits = { cpuSeconds: 600, memoryBytes: 4 * 1024 ** 3, fileSizeBytes: 256 * 1024 ** 2, wallMs: 900_000 };

/** How strongly a process was isolated; recorded in transcripts and job summaries. */
export type IsolationLevel = 'process-rlimits' | 'process';

const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));

export interface SandboxedProcess {
  child: ChildProcessWithoutNullStreams;
  isolation: IsolationLevel;
  /** Resolves with the exit code (null when killed) once the process ends; `timedOut` if the wall limit killed it. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>;
  kill(): void;
}

/**
 * Starts untrusted agent code as a child process: a clean environment (only what the caller
 * passes, plus a minimal PATH — never the harness's credentials), its own process group, rlimits
 * through prlimit where the host has it, and a wall-clock kill.
 */
export function spawnSandboxed(argv: string[], opts: { cwd: string; env: Record<string, string>; limits?: Partial<SandboxLimits> }): SandboxedProcess {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: opts.cwd, LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...opts.env };
  const full = PRLIMIT
    ? [PRLIMIT, `--cpu=${limits.cpuSeconds}`, `--as=${limits.memoryBytes}`, `--fsize=${limits.fileSizeBytes}`, '--', ...argv]
    : argv;
  const child = spawn(full[0], full.slice(1), { cwd: opts.cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let timedOut = false;
  const killGroup = () => {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, limits.wallMs);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>((resolve) => {
    child.on('error', () => {
      clearTimeout(timer);
      resolve({ code: 127, signal: null, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut });
    });
  });
  return { child, isolation: PRLIMIT ? 'process-rlimits' : 'process', done, kill: killGroup };
}
