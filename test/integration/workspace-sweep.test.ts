import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTaskFamily } from '../../core/cbm/workspace/family';
import { runCli } from '../support/cli';
import { describeWithBwrap } from '../support/bwrap';
import { EXAMPLES } from '../support/specs';
import { hunksOf, startSweFakeModel } from '../support/swe-fake-model';

const FAMILY = join(EXAMPLES, 'datasets/mini-swe');
const KEY = 'sk-fake-swe-key';

function spec(baseUrl: string, tlas: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'uplift-ws-'));
  const file = join(dir, 'sweep.yaml');
  writeFileSync(
    file,
    `name: mini-swe-it
cbms:
  - { id: mini-swe, kind: workspace, dataset: ${FAMILY}, taskWallSeconds: 60 }
ras:
  - name: basic-agent
    bundle: ${join(EXAMPLES, 'agents/basic-agent')}
    model: { provider: openai, name: fake-swe, baseUrl: "${baseUrl}", apiKeyEnv: FAKE_SWE_KEY }
tlas: ${tlas}
shardSize: 6
budgets: { tlaTokens: 200000, shardTokens: 400000, tlaWallSeconds: 300, shardWallSeconds: 600, maxUsd: 5 }
prices: { models: { fake-swe: { inputPerMTok: 0.1, outputPerMTok: 0.2 } } }
`,
  );
  return file;
}

/** Every file under a directory (for checking what the agent's sandbox could have found). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n)) : [join(dir, n)]));
}

/*
 * The workspace kind through `uplift run` and the state machine: basic-agent on mini-swe with a
 * stand-in model computed from each task's reference patch and the tools the scaffold offers.
 * Without an edit tool it can only apply one-line fixes; basic-agent-edit (a `fixed` TLA) applies
 * every fix, so the scaffold change resolves more held-out tasks, scored by hidden tests outside
 * the agent's sandbox.
 */
describeWithBwrap('workspace CBM: mini-swe through the state machine', () => {
  test('a better edit tool resolves more held-out tasks: scored on hidden tests after the agent exits; noop changes nothing', async () => {
    const model = await startSweFakeModel(FAMILY);
    try {
      const f = loadTaskFamily(FAMILY);
      const oneLine = f.test.filter((t) => hunksOf(t.referencePatch ?? '').every((h) => h.oneLine)).length;
      expect(oneLine).toBeGreaterThan(0);
      expect(oneLine).toBeLessThan(f.test.length);
      const dataDir = mkdtempSync(join(tmpdir(), 'uplift-ws-data-'));
      const r = await runCli(['run', spec(model.baseUrl, `[{kind: noop}, {kind: fixed, name: edit-tool, bundle: ${join(EXAMPLES, 'agents/basic-agent-edit')}}]`), '--json', '--data-dir', dataDir], { FAKE_SWE_KEY: KEY });
      expect(r.stderr).not.toMatch(/failed:/);
      expect(r.code).toBe(0);
      const runs = (JSON.parse(r.stdout) as { runs: { tla: string; status: string; baseline: number; mra: number; uplift: number; ci: [number, number]; tasks: number; outcomes: { mra: { scored: number } } }[] }).runs;
      const edit = runs.find((x) => x.tla === 'edit-tool');
      const noop = runs.find((x) => x.tla === 'noop');
      // Hand-computed: the baseline resolves exactly the one-line tasks of the test split, the edit tool all of them.
      expect(edit?.baseline).toBeCloseTo(oneLine / f.test.length, 10);
      expect(edit?.mra).toBe(1);
      expect(edit?.ci[0]).toBeGreaterThan(0);
      expect(edit?.outcomes.mra.scored).toBe(f.test.length);
      expect(noop).toMatchObject({ status: 'succeeded', uplift: 0, ci: [0, 0] });
    } finally {
      await model.close();
    }
  });

  test('the agent cannot read the hidden tests: a search of its whole sandbox finds nothing, and the tests never reach the model', async () => {
    const f = loadTaskFamily(FAMILY);
    // A FAIL_TO_PASS test name that exists only in the hidden files of its task.
    const task = f.test.find((t) => (t.failToPass ?? []).some((id) => !Object.values(t.workspace).some((c) => c.includes(id.split('.').pop() as string)))) as (typeof f.test)[number];
    const secret = (task.failToPass ?? []).map((id) => id.split('.').pop() as string).find((name) => !Object.values(task.workspace).some((c) => c.includes(name))) as string;
    expect(Object.values(task.hidden).some((c) => c.includes(secret))).toBe(true);
    const model = await startSweFakeModel(FAMILY, { snoop: secret });
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'uplift-ws-snoop-'));
      const r = await runCli(['run', spec(model.baseUrl, '[{kind: noop}]'), '--json', '--data-dir', dataDir], { FAKE_SWE_KEY: KEY });
      expect(r.code).toBe(0);
      // The agent ran its search on every task (its tool results reached the model) ...
      const toolResults = model.requests.flatMap((q) => (JSON.parse(q) as { messages: { role: string; content?: string }[] }).messages.filter((m) => m.role === 'tool').map((m) => String(m.content)));
      expect(toolResults.some((c) => c.includes('searched'))).toBe(true);
      // ... and found no file holding the hidden test: neither in its workspace, nor the data set, nor the harness's data dir.
      for (const c of toolResults) expect(c).not.toContain(secret);
      expect(model.requests.some((q) => q.includes(`def ${secret}`))).toBe(false);
      // The hidden tests did exist on this machine all along (the examples and the staged data set).
      expect(filesUnder(join(FAMILY, 'tasks', task.id, 'hidden')).some((p) => readFileSync(p, 'utf8').includes(secret))).toBe(true);
    } finally {
      await model.close();
    }
  });
});
