import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSandboxed, type SandboxExit, type SandboxOptions, type SandboxedProcess } from '../../../core/sandbox';

export interface Ran extends SandboxExit {
  out: string;
  err: string;
  cwd: string;
  isolation: string;
}

/** A fresh, empty workspace. */
export function workspace(prefix = 'sbx-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Collects a started sandbox's output; resolves when it has ended. */
export async function collect(p: SandboxedProcess, cwd: string, stdin = ''): Promise<Ran> {
  let out = '';
  let err = '';
  p.child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  p.child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  p.child.stdin.on('error', () => {
    /* it did not read its stdin */
  });
  p.child.stdin.end(stdin);
  const end = await p.done;
  return { ...end, out, err, cwd, isolation: p.isolation };
}

/** Runs a shell command in a sandbox; resolves with its exit and output. */
export function sh(script: string, opts: Partial<SandboxOptions> & { stdin?: string } = {}): Promise<Ran> {
  const cwd = opts.cwd ?? workspace();
  return collect(spawnSandboxed(['/bin/sh', '-c', script], { cwd, env: {}, ...opts }), cwd, opts.stdin);
}

/** Runs a Python program in a sandbox. */
export function py(program: string, opts: Partial<SandboxOptions> = {}): Promise<Ran> {
  const cwd = opts.cwd ?? workspace();
  return collect(spawnSandboxed(['python3', '-c', program], { cwd, env: {}, ...opts }), cwd);
}

/** Removes a directory of any depth (Node's rmSync fails past PATH_MAX). */
export function rmTree(dir: string): void {
  execFileSync('rm', ['-rf', '--', dir]);
}

/** Fresh workspaces for one describe block, removed (however deep) after its tests. */
export function workspacesRemovedAfterAll(): () => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(rmTree));
  return () => {
    const d = workspace();
    dirs.push(d);
    return d;
  };
}
