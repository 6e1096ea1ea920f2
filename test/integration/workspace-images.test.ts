import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTaskFamily } from '../../core/cbm/workspace/family';
import { runCli } from '../support/cli';
import { describeWithBwrap } from '../support/bwrap';
import { EXAMPLES } from '../support/specs';
import { hunksOf, startSweFakeModel } from '../support/swe-fake-model';

const KEY = 'sk-fake-swe-key';

/** mini-swe with an `image` in every task.json (two test tasks share one), or in some only. */
function imageFamily(which: 'all' | 'some'): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'uplift-img-fam-')), 'mini-swe-images');
  cpSync(join(EXAMPLES, 'datasets/mini-swe'), dir, { recursive: true });
  const ids = readdirSync(join(dir, 'tasks')).sort();
  ids.forEach((id, i) => {
    if (which === 'some' && i % 2 === 1) return;
    const file = join(dir, 'tasks', id, 'task.json');
    const task = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    task.image = id === 'roman-1' ? 'example.org/env/shared:1' : id === 'intervals-1' ? 'example.org/env/shared:1' : `example.org/env/${id}:1`;
    writeFileSync(file, JSON.stringify(task, null, 2));
  });
  return dir;
}

function spec(baseUrl: string, family: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'uplift-img-')), 'sweep.yaml');
  writeFileSync(
    file,
    `name: images-it
cbms:
  - { id: mini-swe-img, kind: workspace, dataset: ${family}, taskWallSeconds: 60 }
ras:
  - name: basic-agent
    bundle: ${join(EXAMPLES, 'agents/basic-agent')}
    model: { provider: openai, name: fake-swe, baseUrl: "${baseUrl}", apiKeyEnv: FAKE_SWE_KEY }
tlas: [{kind: fixed, name: edit-tool, bundle: ${join(EXAMPLES, 'agents/basic-agent-edit')}}]
shardSize: 6
budgets: { tlaTokens: 200000, shardTokens: 400000, tlaWallSeconds: 300, shardWallSeconds: 600, maxUsd: 5 }
prices: { models: { fake-swe: { inputPerMTok: 0.1, outputPerMTok: 0.2 } } }
`,
  );
  return file;
}

function find(dir: string, name: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? find(p, name) : n === name ? [p] : [];
  });
}

/*
 * Tasks that name a container image take the state machine's image branch: PlanRun gives each
 * shard job its task's job definition and the Map submits them one by one (locally the pool runs
 * them on this machine). The scores are those of the same tasks without images.
 */
describeWithBwrap('workspace CBM: tasks in container images through the image branch', () => {
  test('one shard job per task, each with its index and log; same scores as without images', async () => {
    const family = imageFamily('all');
    const model = await startSweFakeModel(family);
    try {
      const f = loadTaskFamily(family);
      const oneLine = f.test.filter((t) => hunksOf(t.referencePatch ?? '').every((h) => h.oneLine)).length;
      const dataDir = mkdtempSync(join(tmpdir(), 'uplift-img-data-'));
      const r = await runCli(['run', spec(model.baseUrl, family), '--json', '--data-dir', dataDir], { FAKE_SWE_KEY: KEY });
      expect(r.stderr).not.toMatch(/failed:/);
      expect(r.code).toBe(0);
      const run = (JSON.parse(r.stdout) as { runs: { status: string; baseline: number; mra: number }[] }).runs[0];
      expect(run).toMatchObject({ status: 'succeeded', mra: 1, outcomes: { baseline: { scored: f.test.length }, mra: { scored: f.test.length } } });
      expect(run.baseline).toBeCloseTo(oneLine / f.test.length, 10);
      // One baseline and one MRA job per test task (11), not two array jobs of 6: indices 0…10, once each.
      const events = readFileSync(find(dataDir, 'jobs.jsonl')[0], 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { event: string; role: string; index: number | null; exitCode?: number });
      for (const role of ['baseline', 'mra']) {
        const starts = events.filter((e) => e.event === 'start' && e.role === role).map((e) => e.index);
        expect(starts.sort((a, b) => (a as number) - (b as number))).toEqual(f.test.map((_, i) => i));
        expect(events.filter((e) => e.event === 'end' && e.role === role).every((e) => e.exitCode === 0)).toBe(true);
      }
      expect(events.filter((e) => e.event === 'start' && e.role === 'tla')).toHaveLength(1);
    } finally {
      await model.close();
    }
  });

  test('a family where only some tasks name an image is refused before anything runs, naming the tasks and the fix', async () => {
    const family = imageFamily('some');
    const r = await runCli(['plan', spec('http://127.0.0.1:9/v1', family)], { FAKE_SWE_KEY: KEY });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cbms\.0\.dataset: .*of 11 test tasks name a container image but .* do not\. Fix: give every task an "image"/);
  });
});
