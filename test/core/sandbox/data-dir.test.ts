import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from '../../../cli/local/embedded';
import { walkTree } from '../../../core/sandbox/tree';
import { storesFromEnv } from '../../../lambdas/aws/clients';
import { describeWithBwrap } from '../../support/bwrap';
import { rmTree, sh } from './run';

/** A parent anyone may enter, as a project directory holding `./.uplift` is. */
function openParent(): string {
  const parent = mkdtempSync(join(tmpdir(), 'datadir-'));
  chmodSync(parent, 0o755);
  return parent;
}

/** Files under `dir` whose content includes `text`, found as the harness (root). */
function filesContaining(dir: string, text: string): string[] {
  const found: string[] = [];
  walkTree(dir, (e) => {
    if (e.st.isFile() && readFileSync(e.path, 'utf8').includes(text)) found.push(join(dir, e.rel()));
  });
  return found;
}

describeWithBwrap('the embedded data dir, from a sandbox at uid-rlimits (no mount namespace: the host filesystem is visible)', () => {
  test('a sandboxed command can neither read a file the embedded S3 stored nor list the data dir', async () => {
    // GIVEN a data dir created by startEmbedded where `./.uplift` would be, holding test targets in S3
    const parent = openParent();
    const dataDir = join(parent, '.uplift');
    const target = `target-label-${randomBytes(6).toString('hex')}`;
    const svc = await startEmbedded(dataDir);
    try {
      await storesFromEnv(svc.env).artifacts.putText('datasets/tai-safety/test.jsonl', JSON.stringify({ id: 't1', text: 'x', label: target }) + '\n');
      const [file] = filesContaining(join(dataDir, 's3'), target);
      expect(file).toBeDefined();
      // WHEN an agent at uid-rlimits reads the file at its known path, and lists and searches the dir
      const r = await sh(`cat '${file}'; ls '${dataDir}'; ls '${dataDir}/s3'; find '${dataDir}'; grep -r '${target}' '${parent}'`, { level: 'uid-rlimits' });
      // THEN nothing of it reaches the agent
      expect(r.isolation).toBe('uid-rlimits');
      expect(r.out).toBe(`${dataDir}\n`); // find names the top, and nothing under it
      expect(r.out + r.err).not.toContain(target);
      expect(r.err).toContain(`cat: ${file}: Permission denied`);
      expect(r.err).toContain(`ls: cannot open directory '${dataDir}': Permission denied`);
      expect(r.err).toContain(`ls: cannot access '${dataDir}/s3': Permission denied`);
      // AND the data dir and its parts are the harness user's alone
      for (const d of ['', 's3', 'dynamodb', 'logs', 'reports']) expect((statSync(join(dataDir, d)).mode & 0o777).toString(8)).toBe('700');
    } finally {
      await svc.stop();
      rmTree(parent);
    }
  });

  test('an existing data dir made world-readable (an older uplift, or umask 022) is tightened on start', async () => {
    // GIVEN a data dir with a world-readable stored object and report
    const parent = openParent();
    const dataDir = join(parent, '.uplift');
    const object = join(dataDir, 's3', 'uplift-artifacts', 'datasets', 'test.jsonl._S3rver_object');
    mkdirSync(join(dataDir, 's3', 'uplift-artifacts', 'datasets'), { recursive: true, mode: 0o755 });
    mkdirSync(join(dataDir, 'reports', 'sweep-1'), { recursive: true, mode: 0o755 });
    writeFileSync(object, 'secret targets\n', { mode: 0o644 });
    writeFileSync(join(dataDir, 'reports', 'sweep-1', 'index.html'), '<html>', { mode: 0o644 });
    chmodSync(dataDir, 0o755);
    // WHEN it is started
    const svc = await startEmbedded(dataDir);
    try {
      // THEN directories are 0700 and files 0600, top to bottom
      const modes: Record<string, string> = {};
      walkTree(dataDir, (e) => {
        modes[e.rel()] = (e.st.mode & 0o777).toString(8);
      });
      modes['.'] = (statSync(dataDir).mode & 0o777).toString(8);
      expect(modes).toMatchObject({ '.': '700', s3: '700', 's3/uplift-artifacts/datasets': '700', 's3/uplift-artifacts/datasets/test.jsonl._S3rver_object': '600', 'reports/sweep-1/index.html': '600' });
      // AND even knowing the path, a sandbox cannot read the object
      const r = await sh(`cat '${object}'`, { level: 'uid-rlimits' });
      expect(r.out).toBe('');
      expect(r.err).toContain('Permission denied');
    } finally {
      await svc.stop();
      rmTree(parent);
    }
  });
});
