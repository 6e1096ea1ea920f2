import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const REPO = resolve(__dirname, '../..');

/** Modules a fresh Node process loads (through tsx, as the CLI does) when it requires `file`. */
function modulesLoadedBy(file: string): string[] {
  const script = `require('tsx/cjs'); require(${JSON.stringify(file)}); process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: REPO, encoding: 'utf8' })) as string[];
}

describe('job compute of a stack config', () => {
  test('jobCompute and the --stack-config reader load no aws-cdk-lib or constructs (the CLI prices with them)', () => {
    for (const file of [resolve(REPO, 'infra/compute.ts'), resolve(REPO, 'cli/stack-config.ts')]) {
      const loaded = modulesLoadedBy(file);
      expect(loaded).toContain(file);
      expect(loaded.filter((m) => /node_modules[\\/](aws-cdk-lib|constructs)[\\/]/.test(m))).toEqual([]);
    }
  });
});
