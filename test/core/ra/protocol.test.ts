import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classificationKind } from '../../../core/cbm/classification';
import { scoreOutcomes, taskScore } from '../../../core/cbm/scoring';
import { runAgentOnTasks } from '../../../core/ra/protocol';

/** A throwaway agent whose stdout is written by the test. */
function agent(script: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ra-'));
  writeFileSync(join(dir, 'agent.py'), script);
  return dir;
}

const tasks = ['a', 'b', 'c', 'd'].map((id) => ({ id, text: `text ${id}`, labels: ['x', 'y'] }));
const targets = tasks.map((t) => ({ id: t.id, text: t.text, label: 'x' }));

describe('RA protocol', () => {
  test('missing, malformed, unknown and duplicate lines become failed tasks, not a crash', async () => {
    // GIVEN an agent that answers a, repeats a, answers an unknown id, prints garbage and skips d
    const dir = agent(
      [
        'import sys, json',
        'tasks = [json.loads(l) for l in sys.stdin if l.strip()]',
        'print(json.dumps({"id": "a", "output": "x"}))',
        'print(json.dumps({"id": "a", "output": "y"}))',
        'print(json.dumps({"id": "zzz", "output": "x"}))',
        'print("this is not json")',
        'print(json.dumps({"id": "b"}))',
        'print(json.dumps({"id": "c", "output": "X."}))',
        'print("log line", file=sys.stderr)',
      ].join('\n'),
    );
    const r = await runAgentOnTasks({ bundleDir: dir, entrypoint: ['python3', 'agent.py'], tasks, env: {} });
    // THEN every task has an outcome: its output, or an agent error with its cause
    const noLine = { error: 'agent_error', cause: 'no valid output line (the agent printed 4 malformed or unknown line(s))' };
    expect(r.outcomes).toEqual([{ id: 'a', output: 'x' }, { id: 'b', ...noLine }, { id: 'c', output: 'X.' }, { id: 'd', ...noLine }]);
    expect(r.rejectedLines.map((l) => l.reason)).toEqual(['second output for "a" (the first counts)', 'unknown task id "zzz"', 'not JSON', 'not {"id": string, "output": string}']);
    expect(r.exitCode).toBe(0);
    expect(r.stderrTail).toContain('log line');
    // AND scoring counts the missing ones as failures (normalised label match for c)
    const scored = await scoreOutcomes({ kind: classificationKind, spec: {}, meta: { labels: ['x', 'y'], task: 'classify' }, tasks: targets, outcomes: r.outcomes, concurrency: 2 });
    expect(targets.map((t) => taskScore(scored.find((o) => o.id === t.id)))).toEqual([1, 0, 1, 0]);
  });

  test('an agent that crashes midway keeps the lines it printed', async () => {
    const dir = agent('import sys, json\nprint(json.dumps({"id": "a", "output": "x"}), flush=True)\nraise SystemExit(3)\n');
    const r = await runAgentOnTasks({ bundleDir: dir, entrypoint: ['python3', 'agent.py'], tasks, env: {} });
    expect(r.exitCode).toBe(3);
    expect(r.outcomes.filter((o) => 'output' in o)).toEqual([{ id: 'a', output: 'x' }]);
    // AND the rest are agent errors that say it crashed
    expect(r.outcomes.filter((o) => 'error' in o).map((o) => ('error' in o ? [o.error, o.cause] : []))).toEqual(
      Array(tasks.length - 1).fill(['agent_error', 'the agent crashed (exit 3) before answering']),
    );
  });

  test('an entrypoint that does not exist is an agent error that says so', async () => {
    const dir = agent('print("never run")\n');
    const r = await runAgentOnTasks({ bundleDir: dir, entrypoint: ['./no-such-entrypoint'], tasks, env: {} });
    expect(r.outcomes.every((o) => 'error' in o && o.error === 'agent_error' && /could not start|crashed/.test(o.cause))).toBe(true);
  });

  test('an agent that never ends is killed at its wall-clock limit', async () => {
    const dir = agent('import time\ntime.sleep(60)\n');
    const r = await runAgentOnTasks({ bundleDir: dir, entrypoint: ['python3', 'agent.py'], tasks, env: {}, limits: { wallMs: 500 } });
    expect(r.timedOut).toBe(true);
    expect(r.outcomes.every((o) => 'error' in o && o.error === 'agent_error' && o.cause === 'the agent was killed at its wall-clock limit before answering')).toBe(true);
  });

  test('the agent sees only the environment it is given, never the harness secrets', async () => {
    process.env.UPLIFT_TEST_SECRET = 'do-not-leak';
    const dir = agent('import os, json, sys\nfor l in sys.stdin:\n  t = json.loads(l)\n  print(json.dumps({"id": t["id"], "output": os.environ.get("UPLIFT_TEST_SECRET", "absent") + "|" + os.environ.get("GIVEN", "")}))\n');
    const r = await runAgentOnTasks({ bundleDir: dir, entrypoint: ['python3', 'agent.py'], tasks: tasks.slice(0, 1), env: { GIVEN: 'yes' } });
    expect(r.outcomes).toEqual([{ id: 'a', output: 'absent|yes' }]);
    delete process.env.UPLIFT_TEST_SECRET;
  });
});
