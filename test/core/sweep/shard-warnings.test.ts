import { shardWarnings, type ShardUsage } from '../../../core/sweep/outputs';

const usage = (over: Partial<ShardUsage>): ShardUsage => ({
  calls: 10,
  rejected: 0,
  promptTokens: 100,
  completionTokens: 10,
  totalTokens: 110,
  exitCode: 0,
  timedOut: false,
  tasks: 10,
  answered: 10,
  rejectedLines: [],
  isolation: 'bwrap',
  wallMs: 1000,
  counts: { scored: 10, agent_error: 0, infra_error: 0 },
  retries: 0,
  upstreamFailures: 0,
  stderrTail: '',
  ...over,
});

describe('shard warnings: what a reader of the scores must know', () => {
  test('a crashed agent is said with the command that shows its transcripts and job logs', () => {
    const w = shardWarnings('mra', [usage({}), usage({ exitCode: 2 })], 'noop-r-c-simple-s1');
    expect(w).toEqual([expect.stringMatching(/^mra: the agent exited with code 2 in 1 of 2 shards \(their transcripts and job logs: `uplift artifacts noop-r-c-simple-s1 --out <dir>` locally/)]);
  });

  test('a clean shard at bwrap warns of nothing', () => {
    expect(shardWarnings('mra', [usage({})])).toEqual([]);
  });

  test('agents at a level without network isolation are flagged: loopback services (the embedded S3 with the test split) were within reach', () => {
    const w = shardWarnings('baseline', [usage({}), usage({ isolation: 'uid-rlimits' })]);
    expect(w).toEqual([expect.stringMatching(/^baseline: agents ran at sandbox level uid-rlimits, which does not isolate the network/)]);
    expect(shardWarnings('baseline', [usage({ isolation: 'bwrap-userns' })])).toEqual([]);
  });

  test('agent errors, retries and re-run shards are each said, with counts', () => {
    const w = shardWarnings('mra', [usage({ counts: { scored: 7, agent_error: 3, infra_error: 0 }, retries: 4, earlier: { attempts: 1, promptTokens: 1, completionTokens: 1, totalTokens: 2, wallMs: 5, judgePromptTokens: 0, judgeCompletionTokens: 0, judgeTokens: 0 } })]);
    expect(w).toEqual([
      'mra: 3 of 10 tasks ended in agent errors (no or malformed output, crash, own limit), scored as failures',
      'mra: the gateway retried 4 failed upstream attempt(s); every call it retried then succeeded',
      'mra: 1 shard(s) were run again after infrastructure errors (their earlier spend is included)',
    ]);
  });
});
