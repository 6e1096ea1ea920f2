import cliProgress from 'cli-progress';
import type { Progress } from './local/runner';

/**
 * The live progress display of `uplift run` on stderr: runs done, shard jobs, tokens, dollars.
 * On a terminal it redraws one line; elsewhere (CI, pipes) it prints a line every few seconds.
 */
export class ProgressDisplay {
  private readonly bar: cliProgress.SingleBar;
  private started = false;
  private stopped = false;

  constructor(label: string) {
    this.bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] runs {value}/{total}{failed} | jobs {jobs} done, {running} running | shards {shards} | tokens {tokens} | \${usd} | {duration_formatted}`,
        barsize: 24,
        hideCursor: true,
        stream: process.stderr,
        noTTYOutput: true,
        notTTYSchedule: 5000,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(p: Progress): void {
    if (this.stopped) return;
    const payload = {
      failed: p.runsFailed ? ` (${p.runsFailed} failed)` : '',
      jobs: p.jobsDone,
      running: p.jobsRunning,
      shards: p.shardsDone,
      tokens: p.tokens.toLocaleString('en-US'),
      usd: p.costUsd.toFixed(4),
    };
    if (!this.started) {
      this.started = true;
      this.bar.start(Math.max(p.runsTotal, 1), p.runsDone, payload);
      return;
    }
    this.bar.setTotal(Math.max(p.runsTotal, 1));
    this.bar.update(p.runsDone, payload);
  }

  /** Ends the display for good (idempotent): later updates are ignored. */
  stop(): void {
    if (this.started && !this.stopped) this.bar.stop();
    this.stopped = true;
  }
}
