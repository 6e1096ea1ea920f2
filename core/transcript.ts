import { createWriteStream, type WriteStream } from 'node:fs';
import { z } from 'zod';

/** One line of a transcript (`transcript.jsonl`): every model call, TLA step and checkpoint. */
export const TranscriptEvent = z.looseObject({
  ts: z.string(),
  kind: z.enum(['model_call', 'model_rejected', 'model_failed', 'tla_step', 'checkpoint', 'note']),
});
export type TranscriptEvent = z.infer<typeof TranscriptEvent>;

/** Appends transcript events to a local JSONL file; the job uploads it to S3 when it ends. */
export class TranscriptWriter {
  private readonly stream: WriteStream;
  private count = 0;
  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'a' });
  }
  write(kind: TranscriptEvent['kind'], data: Record<string, unknown>): void {
    this.count++;
    this.stream.write(JSON.stringify({ ts: new Date().toISOString(), kind, ...data }) + '\n');
  }
  get events(): number {
    return this.count;
  }
  close(): Promise<void> {
    return new Promise((resolve, reject) => this.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}
