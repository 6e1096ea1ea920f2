import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareWorkspace, scoreWorkspace, taskSystem } from '../../../core/cbm/workspace/index';
import type { WorkspaceTask } from '../../../core/cbm/workspace/family';
import { runAgentPerTask } from '../../../core/ra/per-task';
import { allowTraversal, removeTree, SandboxUnavailableError, spawnSandboxed } from '../../../core/sandbox';
import { describeWithBwrap } from '../../support/bwrap';

/**
 * A task image's root filesystem as the stack's image job leaves it (infra/constructs/jobs.ts
 * COPY_TASK_ROOT): its own /etc and /opt, a repository at /testbed, and (hard links of) this
 * machine's /usr with merged-/usr links, so python3 runs.
 */
function imageRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'uplift-image-root-'));
  execFileSync('cp', ['-al', '/usr', join(root, 'usr')]);
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) if (existsSync(`/${d}`)) symlinkSync(`usr/${d}`, join(root, d));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc', 'uplift-image-marker'), 'the image\n');
  mkdirSync(join(root, 'opt', 'env'), { recursive: true });
  writeFileSync(join(root, 'opt', 'env', 'marker'), 'conda env\n');
  mkdirSync(join(root, 'testbed', 'pkg'), { recursive: true });
  writeFileSync(join(root, 'testbed', 'pkg', 'mod.py'), 'VALUE = 1\n');
  allowTraversal(root);
  return root;
}

async function run(argv: string[], opts: Parameters<typeof spawnSandboxed>[1]): Promise<{ code: number | null; out: string }> {
  const p = spawnSandboxed(argv, opts);
  let out = '';
  p.child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  p.child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  p.child.stdin.end();
  const end = await p.done;
  return { code: end.code, out };
}

describeWithBwrap("a task image's root filesystem as the sandbox's system", () => {
  let root: string;
  beforeAll(() => {
    root = imageRoot();
  });
  afterAll(() => removeTree(root));

  test("the agent sees the image's /etc and /opt (not the host's), works in the workspace at the image's workdir, and its writes land in the host workspace", async () => {
    const ws = mkdtempSync(join(tmpdir(), 'uplift-ws-'));
    cpSync(join(root, 'testbed'), ws, { recursive: true });
    allowTraversal(ws);
    const r = await run(['/bin/sh', '-c', 'cat /etc/uplift-image-marker /opt/env/marker; pwd; test -e /etc/debian_version && echo host-etc || echo no-host-etc; python3 -c "import pkg.mod; print(pkg.mod.VALUE)"; echo fixed > /testbed/fix.txt'], {
      cwd: ws,
      env: {},
      level: 'bwrap',
      root,
      workspaceAt: '/testbed',
    });
    expect(r).toEqual({ code: 0, out: 'the image\nconda env\n/testbed\nno-host-etc\n1\n' });
    expect(readFileSync(join(ws, 'fix.txt'), 'utf8')).toBe('fixed\n');
  });

  test("nothing of a hostile image runs with privileges: its setpriv and prlimit are never run, and its code runs as a fresh uid with no capabilities that cannot mount", async () => {
    // The image's own setpriv and prlimit (hard links of the host's: unlinked first) would leave a mark in the workspace.
    for (const tool of ['setpriv', 'prlimit']) {
      rmSync(join(root, 'usr', 'bin', tool));
      writeFileSync(join(root, 'usr', 'bin', tool), '#!/bin/sh\ntouch /testbed/HOSTILE_RAN\nexec "$@"\n', { mode: 0o755 });
    }
    const ws = mkdtempSync(join(tmpdir(), 'uplift-ws-'));
    allowTraversal(ws);
    const r = await run(['/bin/sh', '-c', 'id -u; grep -E "^Cap(Eff|Prm|Bnd)" /proc/self/status; mkdir -p /tmp/m && mount -t tmpfs none /tmp/m 2>/dev/null && echo MOUNTED || echo no-mount; touch /usr/x 2>/dev/null && echo WROTE-USR || echo usr-read-only'], {
      cwd: ws,
      env: {},
      level: 'bwrap',
      root,
      workspaceAt: '/testbed',
    });
    const [uid, ...rest] = r.out.trim().split('\n');
    expect(Number(uid)).toBeGreaterThan(0);
    expect(rest).toEqual(['CapPrm:\t0000000000000000', 'CapEff:\t0000000000000000', 'CapBnd:\t0000000000000000', 'no-mount', 'usr-read-only']);
    expect(existsSync(join(ws, 'HOSTILE_RAN'))).toBe(false);
  });

  test('is refused where bubblewrap cannot change the root, where the image has no python3 for the gateway forwarder, and at a workspace path among the system directories', () => {
    const ws = mkdtempSync(join(tmpdir(), 'uplift-ws-'));
    expect(() => spawnSandboxed(['true'], { cwd: ws, env: {}, level: 'process', root })).toThrow(SandboxUnavailableError);
    expect(() => spawnSandboxed(['true'], { cwd: ws, env: {}, level: 'process', root })).toThrow(/needs a bubblewrap level; this sandbox is at process/);
    const bare = mkdtempSync(join(tmpdir(), 'uplift-bare-root-'));
    expect(() => spawnSandboxed(['true'], { cwd: ws, env: {}, level: 'bwrap', root: bare })).toThrow(/has no \/usr\/bin\/python3, which runs the gateway forwarder/);
    for (const bad of ['/usr/lib', '/testbed/../etc', 'testbed', '/proc/x', '/'])
      expect(() => spawnSandboxed(['true'], { cwd: ws, env: {}, level: 'bwrap', root, workspaceAt: bad })).toThrow(/is not a plain absolute path outside the system and sandbox directories/);
  });

  test("the per-task runner gives each task's agent its task's system: the image's root, the workspace at its workdir, the bundle still at /agent", async () => {
    const bundle = mkdtempSync(join(tmpdir(), 'uplift-bundle-'));
    writeFileSync(join(bundle, 'agent.sh'), 'printf \'{"id": "t1", "output": "%s %s %s"}\\n\' "$(cat /etc/uplift-image-marker)" "$(pwd)" "$UPLIFT_AGENT_DIR"\n');
    allowTraversal(bundle);
    const scratch = mkdtempSync(join(tmpdir(), 'uplift-scratch-'));
    allowTraversal(scratch);
    const res = await runAgentPerTask({
      bundleDir: bundle,
      entrypoint: ['/bin/sh', 'agent.sh'],
      tasks: [{ input: { id: 't1' }, prepare: () => undefined, system: { root, workspaceAt: '/testbed' } }],
      scratch,
      env: {},
      sandbox: { level: 'bwrap' },
      concurrency: 1,
      score: async (id, _ws, output) => ({ id, output, score: 1 }),
    });
    expect(res.outcomes).toEqual([{ id: 't1', output: 'the image /testbed /agent', score: 1 }]);
  });

  test("a workspace task in its image: the workspace starts as the image's workdir and is scored there, in the image's system", async () => {
    const task: WorkspaceTask = {
      id: 'img-1',
      set: 'objective',
      instructions: 'fix it',
      image: 'example.org/env/img-1:1',
      workdir: '/testbed',
      workspace: { 'notes.txt': 'shipped with the task\n' },
      hidden: {},
      score: {
        command: ['python3', '-c', "import os, sys; sys.exit(0 if os.getcwd() == '/testbed' and open('/etc/uplift-image-marker').read() == 'the image\\n' and open('fix.txt').read() == 'ok' else 1)"],
        timeoutSeconds: 30,
      },
    };
    const env = { UPLIFT_TASK_ROOT: root };
    expect(taskSystem(task, env)).toEqual({ root, workspaceAt: '/testbed' });
    // Locally (no UPLIFT_TASK_ROOT) and for tasks without an image: this machine's system.
    expect(taskSystem(task, {})).toBeUndefined();
    expect(taskSystem({ ...task, image: undefined }, env)).toBeUndefined();
    const before = process.env.UPLIFT_TASK_ROOT;
    process.env.UPLIFT_TASK_ROOT = root;
    try {
      const ws = mkdtempSync(join(tmpdir(), 'uplift-ws-'));
      await prepareWorkspace(task, ws);
      expect(readFileSync(join(ws, 'pkg', 'mod.py'), 'utf8')).toBe('VALUE = 1\n');
      expect(readFileSync(join(ws, 'notes.txt'), 'utf8')).toBe('shipped with the task\n');
      allowTraversal(ws);
      expect(await scoreWorkspace(task, ws, 'bwrap')).toBe(0);
      writeFileSync(join(ws, 'fix.txt'), 'ok');
      expect(await scoreWorkspace(task, ws, 'bwrap')).toBe(1);
    } finally {
      if (before === undefined) delete process.env.UPLIFT_TASK_ROOT;
      else process.env.UPLIFT_TASK_ROOT = before;
    }
  });
});

describe('a task whose workspace lives in its image, where there is no image', () => {
  test('preparing it fails naming the task, the image and what to do, instead of an empty workspace scored 0', async () => {
    const task: WorkspaceTask = { id: 'django-1', set: 'objective', instructions: 'fix', image: 'example.org/env/django-1:1', workdir: '/testbed', workspace: {}, hidden: {}, score: { command: ['true'], timeoutSeconds: 5 } };
    const before = process.env.UPLIFT_TASK_ROOT;
    delete process.env.UPLIFT_TASK_ROOT;
    try {
      await expect(prepareWorkspace(task, mkdtempSync(join(tmpdir(), 'uplift-ws-')))).rejects.toThrow(/django-1: its workspace is \/testbed of its image example\.org\/env\/django-1:1, which only the stack's image jobs have .*uplift submit/);
    } finally {
      if (before !== undefined) process.env.UPLIFT_TASK_ROOT = before;
    }
  });
});

describe("a hostile image's workdir", () => {
  const task = (workdir: string): WorkspaceTask => ({ id: 'img-2', set: 'objective', instructions: 'x', image: 'example.org/env/img-2:1', workdir, workspace: {}, hidden: {}, score: { command: ['true'], timeoutSeconds: 5 } });
  const withRoot = async (root: string, f: () => Promise<void>) => {
    const before = process.env.UPLIFT_TASK_ROOT;
    process.env.UPLIFT_TASK_ROOT = root;
    try {
      await f();
    } finally {
      if (before === undefined) delete process.env.UPLIFT_TASK_ROOT;
      else process.env.UPLIFT_TASK_ROOT = before;
    }
  };

  test('a link on the way to the workdir is not followed on the harness side (it could name any host directory)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'uplift-hostile-root-'));
    symlinkSync('/', join(root, 'h'));
    mkdirSync(join(root, 'real'));
    symlinkSync('/etc', join(root, 'real', 'etc'));
    await withRoot(root, async () => {
      for (const w of ['/h/etc', '/real/etc']) {
        const ws = mkdtempSync(join(tmpdir(), 'uplift-ws-'));
        await expect(prepareWorkspace(task(w), ws)).rejects.toThrow(/goes through a link .*which the harness does not follow/);
        expect(readdirSync(ws)).toEqual([]);
      }
      await expect(prepareWorkspace(task('/missing'), mkdtempSync(join(tmpdir(), 'uplift-ws-')))).rejects.toThrow(/its image has no \/missing/);
    });
  });

  test("set-id bits of the image's files do not survive the copy onto the harness's disk", async () => {
    const root = mkdtempSync(join(tmpdir(), 'uplift-hostile-root-'));
    mkdirSync(join(root, 'testbed'));
    writeFileSync(join(root, 'testbed', 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    chmodSync(join(root, 'testbed', 'tool'), 0o6755);
    await withRoot(root, async () => {
      const ws = mkdtempSync(join(tmpdir(), 'uplift-ws-'));
      await prepareWorkspace(task('/testbed'), ws);
      expect(statSync(join(ws, 'tool')).mode & 0o7777).toBe(0o755);
    });
  });

  test('a starting workspace already over the disk limit fails the run naming diskMiB, instead of scoring every agent 0', async () => {
    const bundle = mkdtempSync(join(tmpdir(), 'uplift-bundle-'));
    const run = runAgentPerTask({
      bundleDir: bundle,
      entrypoint: ['/bin/true'],
      tasks: [{ input: { id: 'big-1' }, prepare: (ws) => writeFileSync(join(ws, 'checkout.bin'), Buffer.alloc(3 * 1024 * 1024)) }],
      scratch: mkdtempSync(join(tmpdir(), 'uplift-scratch-')),
      env: {},
      limits: () => ({ diskBytes: 2 * 1024 * 1024 }),
      sandbox: { level: 'process' },
      concurrency: 1,
      score: async (id, _ws, output) => ({ id, output, score: 1 }),
    });
    await expect(run).rejects.toThrow(/task big-1: its starting workspace already holds 3145728 bytes, more than the sandbox's 2097152.*Fix: raise diskMiB on the CBM entry \(to at least 5 for this task\)/);
  });
});
