import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';
import { FlakyEndpoint } from '../support/flaky-endpoint';
import { EXAMPLES } from '../support/specs';

interface JsonRun {
  runId: string;
  ra: string;
  tla: string;
  status: string;
  baseline: number | null;
  mra: number | null;
  uplift: number | null;
  ci: [number, number] | null;
  costUsd: number;
  baselineCached: boolean;
  error?: string;
  warnings?: string[];
  outcomes?: { baseline?: { scored: number; agent_error: number; infra_error: number }; mra?: { scored: number; agent_error: number; infra_error: number } };
}
interface JsonResults {
  sweepId: string;
  runs: JsonRun[];
  budget: { limitUsd: number; spentUsd: number; reservedUsd: number };
}

/** Fast, bounded retries for tests: the gateway gives up on a dead endpoint in well under a second. */
const FAST_RETRY = { UPLIFT_UPSTREAM_RETRY: JSON.stringify({ attempts: 4, baseDelayMs: 5, maxDelayMs: 50, totalMs: 5000 }) };

function spec(dir: string, body: { ras: string; tlas?: string; extra?: string; shardWallSeconds?: number }): string {
  const file = join(dir, `sweep-${Math.random().toString(16).slice(2, 8)}.yaml`);
  writeFileSync(
    file,
    `name: trust
cbms:
  - id: tai-safety
    dataset: ${join(EXAMPLES, 'datasets/tai-safety')}
ras:
${body.ras}
tlas: ${body.tlas ?? '[{kind: noop}]'}
seeds: 1
shardSize: 90
budgets: { tlaTokens: 400000, shardTokens: 300000, tlaWallSeconds: 120, shardWallSeconds: ${body.shardWallSeconds ?? 20}, maxUsd: 100 }
concurrency: { runs: 4, requests: 8 }
prices: { models: { stand-in-llm: { inputPerMTok: 1.0, outputPerMTok: 2.0 } }, instances: { local: 36 } }
${body.extra ?? ''}
`,
  );
  return file;
}

const endpointRa = (baseUrl: string) => `  - name: classifier
    bundle: ${join(EXAMPLES, 'agents/classifier')}
    model: { provider: openai, name: stand-in-llm, baseUrl: "${baseUrl}", apiKeyEnv: FLAKY_KEY }`;

/** Every endpoint a test starts, stopped after the tests even when one fails midway. */
const endpoints: FlakyEndpoint[] = [];
function newEndpoint(): FlakyEndpoint {
  const e = new FlakyEndpoint();
  endpoints.push(e);
  return e;
}
afterAll(async () => {
  for (const e of endpoints) await e.down();
});

async function run(args: string[], env: Record<string, string> = {}) {
  const r = await runCli(args, { FLAKY_KEY: 'the-real-key', ...FAST_RETRY, ...env });
  return { ...r, json: r.stdout.trim().startsWith('{') ? (JSON.parse(r.stdout) as JsonResults) : undefined };
}

describe('a model endpoint that fails is a failed run, never a score', () => {
  test('endpoint down: the run fails naming the endpoint, exit 1, nothing cached; endpoint up: a fresh baseline and the noop control at 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplift-down-'));
    const endpoint = newEndpoint();
    await endpoint.up();
    await endpoint.down();
    const file = spec(dir, { ras: endpointRa(endpoint.baseUrl) });
    // WHEN the sweep runs while its RA's endpoint refuses connections
    const down = await run(['run', file, '--json', '--data-dir', join(dir, 'data')]);
    // THEN the run failed with a cause that names the endpoint, and uplift exits 1
    expect(down.code).toBe(1);
    const failed = down.json?.runs[0] as JsonRun;
    expect(failed.status).toBe('failed');
    expect(failed.uplift).toBeNull();
    expect(failed.error).toContain(endpoint.baseUrl);
    expect(failed.error).toMatch(/InfraFailureError/);
    // AND the failure was settled on the ledger: job time moved money, nothing stays reserved
    expect(down.json?.budget.reservedUsd).toBe(0);
    expect(down.json?.budget.spentUsd).toBeGreaterThan(0);
    expect(down.json?.budget.spentUsd).toBeCloseTo(failed.costUsd, 5);
    // AND nothing was cached
    const cache = await run(['cache', 'list', '--json', '--data-dir', join(dir, 'data')]);
    expect(JSON.parse(cache.stdout)).toEqual([]);

    // WHEN the endpoint is back and the same spec runs on the same data dir
    await endpoint.up();
    const up = await run(['run', file, '--json', '--data-dir', join(dir, 'data')]);
    await endpoint.down();
    // THEN the baseline is computed afresh and the noop control's CI contains 0
    expect(up.code).toBe(0);
    const ok = up.json?.runs[0] as JsonRun;
    expect(ok).toMatchObject({ status: 'succeeded', baselineCached: false, uplift: 0 });
    expect(ok.baseline).toBeGreaterThan(0.3);
    expect(ok.ci?.[0]).toBeLessThanOrEqual(0);
    expect(ok.ci?.[1]).toBeGreaterThanOrEqual(0);
    expect(ok.outcomes).toEqual({ baseline: { scored: 180, agent_error: 0, infra_error: 0 }, mra: { scored: 180, agent_error: 0, infra_error: 0 } });
    const cached = JSON.parse((await run(['cache', 'list', '--json', '--data-dir', join(dir, 'data')])).stdout) as { status: string; counts: unknown; ownerSweep: string }[];
    expect(cached).toHaveLength(1);
    expect(cached[0]).toMatchObject({ status: 'done', counts: { scored: 180, agent_error: 0, infra_error: 0 }, ownerSweep: up.json?.sweepId });
  });

  test('a 429/5xx storm (a third of calls fail, some with Retry-After) gives the scores of a clean run, with bounded retries and no overspend', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplift-storm-'));
    const endpoint = newEndpoint();
    await endpoint.up();
    const file = spec(dir, { ras: endpointRa(endpoint.baseUrl), tlas: '[{kind: noop}, {kind: fewshot-search, evalTasks: 30}]' });
    // GIVEN the scores of a clean run
    const clean = await run(['run', file, '--json', '--data-dir', join(dir, 'clean')]);
    expect(clean.code).toBe(0);
    const cleanCalls = endpoint.calls;
    // WHEN a third of the requests fail at first (a ninth twice in a row): 429 with Retry-After, 500, 503, or a dropped connection
    const faults = [{ status: 429, retryAfter: '0' }, { status: 500 }, { status: 503, retryAfter: '0' }, 'drop'] as const;
    const seen = new Map<string, number>();
    endpoint.calls = 0;
    endpoint.fault = (call, body) => {
      const attempt = seen.get(body) ?? 0;
      seen.set(body, attempt + 1);
      const h = createHash('sha256').update(body).digest().readUInt32BE(0);
      const failFirst = h % 3 === 0 ? (h % 9 === 0 ? 2 : 1) : 0;
      return attempt < failFirst ? faults[call % faults.length] : 'ok';
    };
    const storm = await run(['run', file, '--json', '--data-dir', join(dir, 'storm')]);
    await endpoint.down();
    // THEN every run succeeds with the clean run's scores
    expect(storm.json?.runs.map((r) => [r.runId, r.status, r.error ?? ''])).toEqual(clean.json?.runs.map((r) => [r.runId, 'succeeded', '']));
    expect(storm.code).toBe(0);
    const pick = (r: JsonResults | undefined) => r?.runs.map((x) => [x.runId, x.status, x.baseline, x.mra, x.uplift, x.ci]);
    expect(pick(storm.json)).toEqual(pick(clean.json));
    // AND the retries were bounded: each failure cost at most a few more calls (a dropped connection the
    // endpoint answered may be retried by the agent's keep-alive reconnect too), never an unbounded loop
    expect(endpoint.failures).toBeGreaterThan(10);
    expect(endpoint.calls).toBeLessThanOrEqual(cleanCalls + 2 * endpoint.failures);
    expect(storm.json?.runs.some((r) => r.warnings?.some((w) => /retried \d+ failed upstream attempt/.test(w)))).toBe(true);
    // AND failed attempts cost nothing: token spend is the clean run's (job time differs), within the budget
    expect(storm.json?.budget.spentUsd).toBeLessThanOrEqual(storm.json?.budget.limitUsd as number);
    expect(storm.json?.budget.reservedUsd).toBe(0);
  });
});

describe('a shard run again after an outage', () => {
  test('whose budget the failed attempt spent is an infrastructure failure, not a broken agent, and nothing is cached', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplift-outage-'));
    const endpoint = newEndpoint();
    await endpoint.up();
    // GIVEN an outage of calls 120-200 (longer than the gateway's retries), in the baseline's two shards of 90 tasks each,
    // and a shard budget a clean shard uses ~3/4 of: a shard hit by it spent ~11k of 26k on the tasks it did answer, its retry needs ~19.5k
    endpoint.fault = (call) => (call >= 120 && call <= 200 ? { status: 500 } : 'ok');
    const file = spec(dir, { ras: endpointRa(endpoint.baseUrl) }) + '.yaml';
    writeFileSync(file, readFileSync(file.slice(0, -5), 'utf8').replace('shardTokens: 300000', 'shardTokens: 26000'));
    // WHEN the sweep runs: the failed attempt spent part of the budget, the retried shard runs out of it
    const r = await run(['run', file, '--json', '--data-dir', join(dir, 'data')]);
    // THEN the run failed on the endpoint, not on the agent, and no baseline was cached
    expect(r.code).toBe(1);
    const x = r.json?.runs[0] as JsonRun;
    expect(x.status).toBe('failed');
    expect(x.error).toMatch(/InfraFailureError/);
    expect(x.error).not.toMatch(/AgentBrokenError/);
    expect(JSON.parse((await run(['cache', 'list', '--json', '--data-dir', join(dir, 'data')])).stdout)).toEqual([]);
  });
});

describe('a broken baseline RA fails its run with the agent stderr and the log path', () => {
  test('missing entrypoint, crash, garbage, hang: each run fails (exit 1), nothing cached', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplift-broken-'));
    const bundle = (name: string, entrypoint: string, code: string) => {
      const b = join(dir, name);
      mkdirSync(b);
      writeFileSync(join(b, 'agent.yaml'), `name: ${name}\nentrypoint: ${entrypoint}\ncbm: classification\n`);
      writeFileSync(join(b, 'agent.py'), code);
      writeFileSync(join(b, 'prompt.txt'), 'Label: {{text}}\n');
      chmodSync(join(b, 'agent.py'), 0o755);
      return `  - name: ${name}\n    bundle: ${b}\n    model: { provider: offline }`;
    };
    const ras = [
      bundle('missing', '[python3, does-not-exist.py]', ''),
      bundle('crash', '[python3, agent.py]', 'import sys\nprint("boom: the agent fell over", file=sys.stderr)\nraise SystemExit(3)\n'),
      bundle('garbage', '[python3, agent.py]', 'import sys\nfor line in sys.stdin:\n    print("not json at all")\nprint("printing garbage", file=sys.stderr)\n'),
      bundle('hang', '[python3, agent.py]', 'import sys, time\nprint("thinking forever", file=sys.stderr, flush=True)\ntime.sleep(600)\n'),
    ].join('\n');
    const file = spec(dir, { ras, shardWallSeconds: 3 });
    const r = await run(['run', file, '--json', '--data-dir', join(dir, 'data')]);
    expect(r.stderr).not.toMatch(/invalid input/);
    expect(r.code).toBe(1);
    const byRa = Object.fromEntries((r.json?.runs ?? []).map((x) => [x.ra, x]));
    const expectations: Record<string, RegExp> = {
      missing: /could not start|crashed/,
      crash: /boom: the agent fell over/,
      garbage: /printing garbage/,
      hang: /wall-clock limit[\s\S]*thinking forever/,
    };
    for (const [ra, cause] of Object.entries(expectations)) {
      const x = byRa[ra];
      expect(x.status).toBe('failed');
      expect(x.uplift).toBeNull();
      expect(x.error).toMatch(/AgentBrokenError: the baseline RA/);
      expect(x.error).toMatch(cause);
      const log = /Log: (\S+?\.log)/.exec(x.error ?? '')?.[1];
      expect(log && existsSync(log)).toBe(true);
    }
    const cache = await run(['cache', 'list', '--json', '--data-dir', join(dir, 'data')]);
    expect(JSON.parse(cache.stdout)).toEqual([]);
  });
});

/** A bundle of one Python agent (and the prompt every bundle names). */
function agentBundle(dir: string, name: string, code: string): string {
  const b = join(dir, name);
  mkdirSync(b);
  writeFileSync(join(b, 'agent.yaml'), `name: ${name}\nentrypoint: [python3, agent.py]\ncbm: classification\n`);
  writeFileSync(join(b, 'agent.py'), code);
  writeFileSync(join(b, 'prompt.txt'), 'Label: {{text}}\n');
  return b;
}

describe('what an agent does around failures cannot turn them into scores', () => {
  test('an RA that answers a default label when its calls fail: a down endpoint still fails the run, nothing cached', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplift-fallback-'));
    const endpoint = newEndpoint();
    await endpoint.up();
    await endpoint.down();
    // GIVEN an RA that swallows every model error and prints the first label instead
    const bundle = agentBundle(
      dir,
      'fallback',
      [
        'import json, os, sys, urllib.request',
        'base = os.environ["OPENAI_BASE_URL"].rstrip("/")',
        'for line in sys.stdin:',
        '    t = json.loads(line)',
        '    answer = t["labels"][0]',
        '    try:',
        '        body = json.dumps({"messages": [{"role": "user", "content": t["text"]}], "max_tokens": 16}).encode()',
        '        req = urllib.request.Request(base + "/chat/completions", data=body, headers={"content-type": "application/json", "authorization": "Bearer " + os.environ["OPENAI_API_KEY"]})',
        '        answer = json.loads(urllib.request.urlopen(req, timeout=30).read())["choices"][0]["message"]["content"]',
        '    except Exception as e:',
        '        print("falling back:", e, file=sys.stderr)',
        '    print(json.dumps({"id": t["id"], "output": answer}), flush=True)',
      ].join('\n') + '\n',
    );
    const file = spec(dir, { ras: `  - name: fallback\n    bundle: ${bundle}\n    model: { provider: openai, name: stand-in-llm, baseUrl: "${endpoint.baseUrl}", apiKeyEnv: FLAKY_KEY }` });
    // WHEN its endpoint is down
    const r = await run(['run', file, '--json', '--data-dir', join(dir, 'data')]);
    // THEN every task has an output, yet the run failed on the endpoint, and nothing was cached
    expect(r.code).toBe(1);
    const x = r.json?.runs[0] as JsonRun;
    expect(x.status).toBe('failed');
    expect(x.error).toMatch(/InfraFailureError/);
    expect(x.error).toContain(endpoint.baseUrl);
    expect(JSON.parse((await run(['cache', 'list', '--json', '--data-dir', join(dir, 'data')])).stdout)).toEqual([]);
  });

  test('a baseline cached under a laxer maxAgentErrorRate is refused by a sweep with a stricter one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplift-rate-'));
    // GIVEN an RA that answers only every other task (50% agent errors)
    const bundle = agentBundle(
      dir,
      'half',
      'import json, sys\nfor i, line in enumerate(sys.stdin):\n    t = json.loads(line)\n    if i % 2 == 0:\n        print(json.dumps({"id": t["id"], "output": t["labels"][0]}), flush=True)\n',
    );
    const ras = `  - name: half\n    bundle: ${bundle}\n    model: { provider: offline }`;
    // WHEN a sweep that tolerates 90% agent errors computes and caches its baseline
    const lax = await run(['run', spec(dir, { ras, extra: 'maxAgentErrorRate: 0.9' }), '--json', '--data-dir', join(dir, 'data')]);
    expect(lax.stderr).not.toMatch(/invalid input|Error/);
    expect(lax.json?.runs[0].status).toBe('succeeded');
    // AND a sweep with the default 0.1 finds it in the cache
    const strict = await run(['run', spec(dir, { ras }), '--json', '--data-dir', join(dir, 'data')]);
    // THEN the stricter sweep refuses it instead of scoring against it
    expect(strict.code).toBe(1);
    const x = strict.json?.runs[0] as JsonRun;
    expect(x.status).toBe('failed');
    expect(x.error).toMatch(/AgentBrokenError: the cached baseline .* has agent errors on 90 of 180 test tasks \(50\.0%\), above this sweep's maxAgentErrorRate 10\.0%/);
  });
});

