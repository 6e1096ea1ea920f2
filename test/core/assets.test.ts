import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HARNESS_ROOT, harnessPath, SHIPPED } from '../../core/assets';
import { CBM_KINDS, kindPromptsDir } from '../../core/cbm/registry';
import { loadPrompt, PROMPTS_DIR } from '../../core/tla/react';

const REPO = resolve(__dirname, '..', '..');

describe('the harness manifest (core/assets.ts)', () => {
  test('HARNESS_ROOT is the repository root from sources (sandboxes hide this tree)', () => {
    expect(HARNESS_ROOT).toBe(REPO);
    expect((JSON.parse(readFileSync(harnessPath(SHIPPED.packageJson), 'utf8')) as { name: string }).name).toBe('uplift');
  });

  test('the react prompts resolve through it: the TLA prompts and every CBM kind\'s', () => {
    expect(PROMPTS_DIR).toBe(join(REPO, 'core', 'tla', 'prompts'));
    expect(loadPrompt('react-system', {}).length).toBeGreaterThan(0);
    for (const kind of Object.keys(CBM_KINDS)) {
      expect(kindPromptsDir(kind)).toBe(join(REPO, 'core', 'cbm', kind, 'prompts'));
      expect(readdirSync(kindPromptsDir(kind)).filter((f) => /^react-\w+\.md$/.test(f)).length).toBeGreaterThan(0);
    }
  });

  test('every prompt folder shipped under core/ is in the manifest', () => {
    // A new folder of prompts read at run time must be resolved through core/assets.ts, never __dirname.
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(join(REPO, dir), { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        if (e.name === 'prompts') found.push(`${dir}/prompts`);
        else walk(`${dir}/${e.name}`);
      }
    };
    walk('core');
    const manifest = [SHIPPED.tlaPrompts, ...Object.keys(CBM_KINDS).map((k) => SHIPPED.cbmKindPrompts(k))];
    expect(found.sort()).toEqual(manifest.sort());
    for (const rel of manifest) expect(existsSync(harnessPath(rel))).toBe(true);
  });
});

test('no bundled source resolves files through its own __dirname (bundled, that is the bundle cache)', () => {
  // The manifest itself, and the bundler that keeps __dirname of sources outside these folders (infra/config.ts) working.
  const ALLOWED = ['core/assets.ts', 'cli/local/job-bundle.ts'];
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(REPO, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (rel.endsWith('.ts') && !ALLOWED.includes(rel) && /\b__dirname\b/.test(readFileSync(join(REPO, rel), 'utf8'))) offenders.push(rel);
    }
  };
  for (const dir of ['core', 'cli', 'lambdas', 'batch-images', 'step-functions']) walk(dir);
  expect(offenders).toEqual([]);
});
