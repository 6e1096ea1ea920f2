import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { UpliftError } from '../errors';

/** One object of a weights prefix. */
export interface RemoteObject {
  key: string;
  size: number;
  /** Changes whenever the object's content changes (S3 ETag). */
  etag: string;
}

/**
 * Where model weights live (a port: the S3 adapter is `lambdas/aws/s3-weights-source.ts`).
 * Downloads stream to disk: weight files are far larger than a Lambda or job should hold in memory.
 */
export abstract class WeightsSource {
  /** Human-readable URI of a key, e.g. `s3://bucket/key`. */
  abstract uri(key: string): string;
  /** Every object under the prefix, at any depth. */
  abstract list(prefix: string): Promise<RemoteObject[]>;
  /** Streams one object to `path` (the caller renames it into place). */
  abstract download(key: string, path: string): Promise<void>;
}

/** Weights missing, unreadable or unsafe to write: the job cannot serve the model. */
export class WeightsSyncError extends UpliftError {}

/** Splits `s3://bucket/prefix/` into bucket and prefix (always ending in `/`). */
export function parseS3Prefix(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new WeightsSyncError(`weightsUri "${uri}" is not an S3 prefix. Fix: write it as s3://<bucket>/<prefix>/`);
  return { bucket: m[1], prefix: m[2].endsWith('/') ? m[2] : `${m[2]}/` };
}

export interface SyncResult {
  dir: string;
  files: number;
  downloaded: number;
  bytesDownloaded: number;
}

const ETAG_SUFFIX = '.uplift-etag';

/**
 * Mirrors every object under `prefix` into `dir`, skipping files already there with the same
 * size and ETag (a host-level cache shared by jobs on one instance). Each file is downloaded to a
 * temporary name and renamed into place, so a concurrent or interrupted sync never leaves a
 * partial file under its real name. Keys that would escape `dir` are refused.
 */
export async function syncWeights(source: WeightsSource, prefix: string, dir: string, opts: { concurrency?: number; log?: (line: string) => void } = {}): Promise<SyncResult> {
  const objects = (await source.list(prefix)).filter((o) => !o.key.endsWith('/'));
  if (!objects.length) throw new WeightsSyncError(`no weights under ${source.uri(prefix)}. Fix: upload the model directory (config.json, tokenizer files, *.safetensors) there`);
  const rel = (key: string) => key.slice(prefix.length);
  if (!objects.some((o) => rel(o.key) === 'config.json'))
    throw new WeightsSyncError(`${source.uri(prefix)} has no config.json at its top level, so vLLM cannot load it. Fix: point weightsUri at the directory that holds config.json (found: ${objects.slice(0, 5).map((o) => rel(o.key)).join(', ')})`);
  const root = resolve(dir) + sep;
  mkdirSync(dir, { recursive: true });
  let downloaded = 0;
  let bytes = 0;
  const queue = [...objects];
  const worker = async () => {
    for (let o = queue.shift(); o; o = queue.shift()) {
      const path = resolve(join(dir, rel(o.key)));
      if (!path.startsWith(root) || rel(o.key).split('/').includes('..'))
        throw new WeightsSyncError(`refusing to write ${source.uri(o.key)} outside ${dir}: its key climbs out of the weights prefix`);
      const etagFile = path + ETAG_SUFFIX;
      if (existsSync(path) && statSync(path).size === o.size && existsSync(etagFile) && readFileSync(etagFile, 'utf8') === o.etag) continue;
      mkdirSync(dirname(path), { recursive: true });
      const part = `${path}.part-${randomBytes(4).toString('hex')}`;
      try {
        await source.download(o.key, part);
        const size = statSync(part).size;
        if (size !== o.size) throw new WeightsSyncError(`${source.uri(o.key)}: downloaded ${size} bytes, expected ${o.size}`);
        renameSync(part, path);
      } catch (cause) {
        rmSync(part, { force: true });
        if (cause instanceof WeightsSyncError) throw cause;
        throw new WeightsSyncError(`cannot download ${source.uri(o.key)}: ${(cause as Error).message}`, { cause });
      }
      writeFileSync(etagFile, o.etag);
      downloaded++;
      bytes += o.size;
      opts.log?.(`weights: ${rel(o.key)} (${o.size} bytes)`);
    }
  };
  const stopOnError = async () => {
    try {
      await worker();
    } catch (e) {
      queue.length = 0; // the other workers finish their current file and stop
      throw e;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, stopOnError));
  return { dir, files: objects.length, downloaded, bytesDownloaded: bytes };
}
