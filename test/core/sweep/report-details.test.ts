import { toJsonl } from '../../../core/jsonl';
import { runTasksKey, tlaKey, type TaskRow } from '../../../core/sweep/outputs';
import { loadReportDetails, loadRunDetails, pickEvents, pickFlipped, REPORT_DETAIL_LIMITS } from '../../../core/sweep/report-details';
import { MemoryArtifactStore } from '../../support/memory-store';

/*
 * The report's drill-downs are read from a run's artifacts and bounded: which tasks count as
 * flipped, how many are shown and which, and what is kept of the diff and the transcript.
 */

const sweep = 'dd-20260101-000000-abcd';
const row = (id: string, b: number, m: number, extra: Partial<TaskRow> = {}): TaskRow => ({ id, set: 'objective', target: 'yes', baseline: { score: b, output: `b-${id}` }, mra: { score: m, output: `m-${id}` }, ...extra });

describe('pickFlipped: at most n, half gains and half losses when both have enough', () => {
  const g = (k: number) => Array.from({ length: k }, (_, i) => `g${i}`);
  const l = (k: number) => Array.from({ length: k }, (_, i) => `l${i}`);
  test.each([
    // [gained, lost, n, gains shown, losses shown]
    [56, 30, 40, 20, 20],
    [56, 5, 40, 35, 5],
    [3, 50, 40, 3, 37],
    [10, 10, 5, 3, 2],
    [0, 0, 40, 0, 0],
    [2, 1, 40, 2, 1],
  ])('%i gained, %i lost, n = %i → %i gains then %i losses', (ng, nl, n, sg, sl) => {
    const picked = pickFlipped(g(ng), l(nl), n);
    expect(picked).toEqual([...g(ng).slice(0, sg), ...l(nl).slice(0, sl)]);
  });
});

describe('loadRunDetails', () => {
  test('counts gains, losses and errors over every task, and keeps both outputs of the flipped ones', async () => {
    const store = new MemoryArtifactStore();
    const rows = [row('a', 0, 1), row('b', 1, 1), row('c', 1, 0), row('d', 0.5, 0.5), row('e', 1, 0, { mra: { score: 0, error: 'agent_error', cause: 'crashed' } })];
    await store.putText(runTasksKey(sweep, 'r1'), toJsonl(rows));
    const d = await loadRunDetails(store, sweep, 'r1');
    expect(d?.tasks).toEqual({ total: 5, gained: 1, lost: 2, errors: { baseline: 0, mra: 1 } });
    expect(d?.flipped.map((f) => f.id)).toEqual(['a', 'c', 'e']);
    expect(d?.flipped[0].mra.output).toBe('m-a');
    expect(d?.diff).toBeUndefined();
    expect(d?.transcript).toBeUndefined();
  });

  test('cuts the diff at diffChars and the transcript at transcriptEvents, saying how much there was', async () => {
    const store = new MemoryArtifactStore();
    const diff = Array.from({ length: 3000 }, (_, i) => `+line ${i}`).join('\n') + '\n';
    await store.putText(tlaKey(sweep, 'r2', 'mra.diff'), diff);
    const events = Array.from({ length: REPORT_DETAIL_LIMITS.transcriptEvents + 7 }, (_, i) => JSON.stringify({ ts: '2026-01-01T00:00:00Z', kind: 'tla_step', i }));
    await store.putText(tlaKey(sweep, 'r2', 'transcript.jsonl'), [...events, 'not json'].join('\n') + '\n');
    const d = await loadRunDetails(store, sweep, 'r2');
    expect(d?.diff).toEqual({ text: diff.slice(0, REPORT_DETAIL_LIMITS.diffChars), chars: diff.length, lines: 3000 });
    expect(d?.transcript?.total).toBe(REPORT_DETAIL_LIMITS.transcriptEvents + 8);
    expect(d?.transcript?.events).toHaveLength(REPORT_DETAIL_LIMITS.transcriptEvents);
    expect(d?.transcript?.events[3]).toEqual({ ts: '2026-01-01T00:00:00Z', kind: 'tla_step', i: 3 });
    expect(d?.tasks.total).toBe(0);
  });

  test('a run without any artifact has no drill-down; an unreadable tasks file is said, not thrown', async () => {
    const store = new MemoryArtifactStore();
    expect(await loadRunDetails(store, sweep, 'none')).toBeUndefined();
    await store.putText(runTasksKey(sweep, 'bad'), '{"id": 1}\n');
    const d = await loadRunDetails(store, sweep, 'bad');
    expect(d?.problems.join('')).toMatch(/per-task outcomes unreadable/);
  });

  test('loadReportDetails reads the first REPORT_DETAIL_LIMITS.runs runs that have artifacts, in the order given', async () => {
    const store = new MemoryArtifactStore();
    const ids = Array.from({ length: REPORT_DETAIL_LIMITS.runs + 3 }, (_, i) => `r${i}`);
    for (const id of ids) if (id !== 'r1') await store.putText(runTasksKey(sweep, id), toJsonl([row('a', 0, 1)]));
    const m = await loadReportDetails(store, sweep, ids);
    expect([...m.keys()]).toEqual(ids.slice(0, REPORT_DETAIL_LIMITS.runs).filter((id) => id !== 'r1'));
  });
});

describe('pickEvents: the TLA’s steps before its model calls, in transcript order', () => {
  test('keeps every non-call event, fills the rest with the first calls, and keeps the order', () => {
    const ev = (kind: string, i: number) => ({ kind, i });
    const events = [ev('note', 0), ev('model_call', 1), ev('model_call', 2), ev('tla_step', 3), ev('model_call', 4), ev('model_failed', 5), ev('checkpoint', 6)];
    expect(pickEvents(events, 5).map((e) => e.i)).toEqual([0, 1, 3, 6, 2].sort((a, b) => a - b));
    expect(pickEvents(events, 3).map((e) => e.i)).toEqual([0, 3, 6]);
    expect(pickEvents(events, 2).map((e) => e.i)).toEqual([0, 3]);
    expect(pickEvents(events, 99)).toEqual(events);
  });
});
