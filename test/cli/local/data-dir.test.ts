import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dataDirOf, withReadOnlyStores } from '../../../cli/local/data-dir';
import { DataDirBusyError, liveServicesEnv, startEmbedded } from '../../../cli/local/embedded';
import { runCli } from '../../support/cli';

describe('the default data dir', () => {
  test('--data-dir, else $UPLIFT_HOME, else ~/.uplift: never relative to the working directory', () => {
    expect(dataDirOf('given', { UPLIFT_HOME: '/elsewhere' })).toBe(resolve('given'));
    expect(dataDirOf(undefined, { UPLIFT_HOME: '/elsewhere' })).toBe('/elsewhere');
    expect(dataDirOf(undefined, {})).toBe(join(homedir(), '.uplift'));
    // An empty UPLIFT_HOME is unset, not the working directory.
    expect(dataDirOf(undefined, { UPLIFT_HOME: '' })).toBe(join(homedir(), '.uplift'));
  });

  test('the CLI run from any directory uses $HOME/.uplift', async () => {
    const home = mkdtempSync(join(tmpdir(), 'uplift-home-'));
    const cwd = mkdtempSync(join(tmpdir(), 'uplift-cwd-'));
    const env = { HOME: home, UPLIFT_HOME: '' };
    const r = await runCli(['list'], env, cwd);
    expect(r.stdout).toBe(`No sweeps in ${join(home, '.uplift')}.\n`);
  });
});

/** A live process that is not an uplift: its pid stands for the owner of a data dir. */
function liveProcess() {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  return { pid: child.pid as number, stop: () => new Promise<void>((r) => (child.kill('SIGKILL'), child.once('exit', () => r()))) };
}

function holdBy(dataDir: string, pid: number, mode: 'read' | 'write', env?: Record<string, string>) {
  writeFileSync(join(dataDir, 'uplift.pid'), String(pid));
  writeFileSync(join(dataDir, 'uplift.services.json'), JSON.stringify({ pid, mode, ...(env ? { env } : {}) }));
}

describe('the data dir lock', () => {
  test('a process that wants the data dir waits while a read-only command holds it, and takes it when that one ends', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'uplift-lock-'));
    const reader = liveProcess();
    holdBy(dataDir, reader.pid, 'read');
    let settled = false;
    const starting = startEmbedded(dataDir).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 700));
    // Pins: refusing at once (a `run` would fail because someone ran `uplift list`).
    expect(settled).toBe(false);
    await reader.stop();
    const svc = await starting;
    await svc.stop();
  });

  test('a data dir held by a writer is refused at once, naming its pid; read-only commands get its published services', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'uplift-lock-'));
    const owner = liveProcess();
    try {
      const env = { UPLIFT_BUCKET: 'b', UPLIFT_TABLE: 't', UPLIFT_S3_ENDPOINT: 'http://127.0.0.1:1' };
      holdBy(dataDir, owner.pid, 'write', env);
      const t0 = Date.now();
      await expect(startEmbedded(dataDir)).rejects.toThrow(new DataDirBusyError(`the data dir ${dataDir} is in use by uplift process ${owner.pid}. Fix: wait for it to finish (or stop it with Ctrl-C), or pass another --data-dir`));
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(await liveServicesEnv(dataDir)).toEqual(env);
    } finally {
      await owner.stop();
    }
    // AND once the owner is gone its file is stale: no services to use
    expect(await liveServicesEnv(dataDir)).toBeUndefined();
  });

  test('a read-only command whose owner stops under it tries again, on services of its own', async () => {
    // GIVEN an owner whose published services stop answering (it is ending)
    const dataDir = mkdtempSync(join(tmpdir(), 'uplift-lock-'));
    const owner = liveProcess();
    holdBy(dataDir, owner.pid, 'write', { UPLIFT_BUCKET: 'uplift-artifacts', UPLIFT_TABLE: 'uplift', AWS_REGION: 'us-east-1', UPLIFT_S3_ENDPOINT: 'http://127.0.0.1:1', UPLIFT_DYNAMODB_ENDPOINT: 'http://127.0.0.1:1' });
    let attempts = 0;
    // WHEN a read runs, and the owner is gone by the time its call fails
    const sweeps = await withReadOnlyStores(dataDir, async (stores) => {
      if (++attempts === 1) await owner.stop();
      return stores.scores.listSweeps();
    });
    // THEN the second attempt ran on services of its own and read the (empty) data dir
    expect(attempts).toBe(2);
    expect(sweeps).toEqual([]);
  });
});
