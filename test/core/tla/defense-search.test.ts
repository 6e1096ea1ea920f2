import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promptInjectionKind, type PiTask } from '../../../core/cbm/prompt-injection';
import { applyDefences, DEFENCES, defenceNamed, readTemplates, type ChatTemplates } from '../../../core/cbm/prompt-injection/defences';
import type { CbmTask } from '../../../core/cbm/types';
import { defenseSearchTla } from '../../../core/tla/defense-search';
import { stratifiedSample } from '../../../core/scoring/sampling';
import type { Evaluation, TlaContext } from '../../../core/tla/types';
import { offlineRates, SPEC } from '../cbm/prompt-injection/pipeline';

const BUNDLE = join(__dirname, '../../../examples/agents/chat-assistant');
const DATA = join(__dirname, '../../../examples/datasets/pi-sample');
const ds = promptInjectionKind.load(DATA, SPEC);

/** Which library defences a set of templates holds (each defence's edit leaves them unchanged). */
function defencesIn(t: ChatTemplates): string[] {
  return DEFENCES.filter((d) => JSON.stringify(d.apply(t)) === JSON.stringify(t)).map((d) => d.name);
}

interface Harness {
  ctx: TlaContext;
  evaluated: { step: number; defences: string[]; tasks: number }[];
  accepted: number[];
  logs: Record<string, unknown>[];
  workspace: string;
}

/**
 * A TlaContext over a copy of the chat-assistant. `score` gives an evaluation's objective and
 * guard from the workspace's templates (default: the offline assistant and judge on the tasks).
 */
function harness(opts: { evalTasks?: number; maxGuardDrop?: number; budgetAfter?: number; score?: (t: ChatTemplates, tasks: readonly PiTask[]) => Promise<{ objective: number; guard: number }> } = {}): Harness {
  const workspace = mkdtempSync(join(tmpdir(), 'defense-search-'));
  cpSync(BUNDLE, workspace, { recursive: true });
  const h: Harness = { evaluated: [], accepted: [], logs: [], workspace, ctx: undefined as unknown as TlaContext };
  const score = opts.score ?? ((t: ChatTemplates, tasks: readonly PiTask[]) => offlineRates(tasks, t));
  h.ctx = {
    workspace,
    manifest: { name: 'chat-assistant', entrypoint: ['python3', 'agent.py'], cbm: 'prompt-injection', prompt: 'system.txt' },
    dev: ds.dev,
    cbm: { kind: 'prompt-injection', spec: SPEC, meta: ds.meta, setOf: (t: CbmTask) => (t as PiTask).set, describeTarget: (t: CbmTask) => promptInjectionKind.describeTarget(t as PiTask, ds.meta) },
    spec: { kind: 'defense-search', evalTasks: opts.evalTasks ?? 80, maxGuardDrop: opts.maxGuardDrop ?? 0.05 },
    variant: 'simple',
    seed: 1,
    deadline: Date.now() + 60_000,
    async evaluate(tasks): Promise<Evaluation> {
      const step = h.evaluated.length;
      const t = readTemplates(workspace, 'system.txt');
      h.evaluated.push({ step, defences: defencesIn(t), tasks: tasks.length });
      const r = await score(t, tasks as PiTask[]);
      const spent = opts.budgetAfter !== undefined && step >= opts.budgetAfter;
      return { step, score: r.objective, guardScore: r.guard, tasks: tasks.length, budgetExhausted: spent, failures: [], tokensUsed: 1000 };
    },
    accept: (step) => h.accepted.push(step),
    log: (entry) => h.logs.push(entry),
  };
  return h;
}

describe('defense-search', () => {
  let h: Harness | undefined;
  afterEach(() => {
    if (h) rmSync(h.workspace, { recursive: true, force: true });
    h = undefined;
  });

  test('works on prompt-injection only', () => {
    expect(defenseSearchTla.kinds).toEqual(['prompt-injection']);
  });

  test('evaluates the unchanged bundle first, keeps the defences that raise the attack failure rate on dev, and leaves the best in the workspace', async () => {
    h = harness();
    const out = await defenseSearchTla.run(h.ctx);
    expect(out.stopReason).toBe('converged');
    expect(h.evaluated[0].defences).toEqual([]);
    const keeps = h.logs.filter((l) => l.action === 'keep');
    expect(keeps.length).toBeGreaterThanOrEqual(2);
    const final = h.logs.at(-1) as { action: string; defences: string[]; devScore: number };
    expect(final.action).toBe('final');
    expect(final.defences).toEqual(keeps.at(-1)?.defences);
    // The workspace holds exactly the kept defences, and they score higher than the unchanged bundle.
    expect(defencesIn(readTemplates(h.workspace, 'system.txt')).sort()).toEqual([...final.defences].sort());
    const baseline = h.logs.find((l) => l.action === 'baseline') as { devScore: number; guardScore: number };
    expect(final.devScore).toBeGreaterThan(baseline.devScore + 0.15);
    // Checkpoints accepted: the first evaluation, then each kept one, in order.
    expect(h.accepted[0]).toBe(0);
    expect(h.accepted.slice(1)).toEqual(keeps.map((k) => k.step));
    // Every candidate was logged with its scores.
    expect(h.logs.filter((l) => l.action === 'try')).toHaveLength(h.evaluated.length - 1);
    // On the pi-sample test split, the kept combination also beats the unchanged bundle.
    const base = readTemplates(BUNDLE, 'system.txt');
    const testBase = await offlineRates(ds.test, base);
    const testKept = await offlineRates(ds.test, applyDefences(base, final.defences.map(defenceNamed)));
    expect(testKept.objective).toBeGreaterThan(testBase.objective + 0.15);
    expect(testKept.guard).toBeGreaterThanOrEqual(testBase.guard - 0.05);
  });

  test('refuses a defence that raises the objective most when it drops the guard more than maxGuardDrop', async () => {
    // Scripted scores: data marking is the strongest but costs 0.2 of the guard; reminder helps a little.
    const gain: Record<string, number> = { 'data marking': 0.3, reminder: 0.1 };
    h = harness({
      maxGuardDrop: 0.05,
      score: async (t) => {
        const present = defencesIn(t);
        return { objective: 0.4 + present.reduce((s, d) => s + (gain[d] ?? 0), 0), guard: present.includes('data marking') ? 0.7 : 0.9 };
      },
    });
    await defenseSearchTla.run(h.ctx);
    const final = h.logs.at(-1) as { defences: string[] };
    expect(final.defences).toEqual(['reminder']);
    expect(h.logs.some((l) => l.action === 'try' && l.added === 'data marking' && l.guardOk === false)).toBe(true);
    expect(readFileSync(join(h.workspace, 'config.json'), 'utf8')).toBe(readFileSync(join(BUNDLE, 'config.json'), 'utf8'));
  });

  test('stops at the token budget and keeps what it had', async () => {
    h = harness({ budgetAfter: 3 });
    const out = await defenseSearchTla.run(h.ctx);
    expect(out.stopReason).toBe('token_budget');
    expect(h.evaluated).toHaveLength(4);
    const final = h.logs.at(-1) as { defences: string[] };
    expect(defencesIn(readTemplates(h.workspace, 'system.txt'))).toEqual(final.defences);
  });

  test('stops at its wall time, leaving the bundle unchanged when nothing was kept', async () => {
    h = harness();
    h.ctx.deadline = Date.now() - 1;
    const out = await defenseSearchTla.run(h.ctx);
    expect(out.stopReason).toBe('wall_time');
    for (const f of ['system.txt', 'user.txt', 'config.json']) expect(readFileSync(join(h.workspace, f), 'utf8')).toBe(readFileSync(join(BUNDLE, f), 'utf8'));
  });

  test('evaluates a seeded sample of dev stratified by set and variant', async () => {
    h = harness({ evalTasks: 40 });
    await defenseSearchTla.run(h.ctx);
    expect(h.evaluated.every((e) => e.tasks === 40)).toBe(true);
    const pick = (seed: number) => stratifiedSample(ds.dev, 40, (t) => `${t.set}/${t.injection_variant}`, 0x5eed + seed * 7919);
    const s = pick(1);
    const guardShare = ds.dev.filter((t) => t.set === 'guard').length / ds.dev.length;
    expect(Math.abs(s.filter((t) => t.set === 'guard').length - 40 * guardShare)).toBeLessThanOrEqual(1);
    expect(new Set(s.filter((t) => t.set === 'objective').map((t) => t.injection_variant)).size).toBe(ds.meta.variants.length);
    expect(pick(1).map((t) => t.id)).toEqual(s.map((t) => t.id));
    expect(pick(2).map((t) => t.id)).not.toEqual(s.map((t) => t.id));
  });
});
