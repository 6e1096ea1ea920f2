import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Option } from 'commander';
import { SpecError } from '../../core/errors';
import { storesFromEnv, type Stores } from '../../lambdas/aws/clients';
import { DataDirBusyError, liveServicesEnv, startEmbedded, type EmbeddedServices } from './embedded';

/** Where the data dir is when neither `--data-dir` nor $UPLIFT_HOME says: the same wherever a command runs. */
export const DEFAULT_DATA_DIR_TEXT = '$UPLIFT_HOME, else ~/.uplift';

/** The data dir of the embedded services: `--data-dir`, else $UPLIFT_HOME, else ~/.uplift (never relative to the working directory). */
export function dataDirOf(opt: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(opt || env.UPLIFT_HOME || join(homedir(), '.uplift'));
}

/** The `--data-dir` option every local command takes. */
export function dataDirOption(): Option {
  return new Option('--data-dir <dir>', `where the embedded S3/DynamoDB keep their data (default: ${DEFAULT_DATA_DIR_TEXT})`);
}

/** Runs `f` with the embedded services of a data dir started, and stops them after, whatever happens. */
export async function withEmbedded<T>(dataDir: string, f: (svc: EmbeddedServices, stores: Stores) => Promise<T>): Promise<T> {
  const svc = await startEmbedded(dataDir);
  try {
    return await f(svc, storesFromEnv(svc.env));
  } finally {
    await svc.stop();
  }
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * True when a store call failed because the services it talked to went away: by the error's code,
 * or its message (the SDK rewraps an error from another realm as "AWS SDK error wrapper for Error:
 * connect ECONNREFUSED …", dropping the code).
 */
function lostConnection(e: unknown): boolean {
  for (let c: unknown = e, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    const { code, message } = c as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    if (typeof message === 'string' && [...CONNECTION_CODES].some((k) => message.includes(k))) return true;
  }
  return false;
}

/** Attempts of a read-only command: the services it used may stop (their owner finished) between attempts. */
const READ_ATTEMPTS = 3;

/**
 * Runs a read-only `f` on a data dir's stores without needing its lock: when another uplift
 * process holds the data dir (a `run` in progress), `f` talks to that process's embedded services
 * (their loopback endpoints and key are in `uplift.services.json`, 0600 in the 0700 data dir);
 * the services serialise its reads with the run's writes, so it sees what a client of the run sees.
 * Otherwise it starts the services itself, as a reader (a writer that comes meanwhile waits for it).
 * If the services it used stop meanwhile, it tries again. `f` must only read: it may run twice.
 */
export async function withReadOnlyStores<T>(dataDir: string, f: (stores: Stores) => Promise<T>): Promise<T> {
  if (!existsSync(dataDir))
    throw new SpecError([`data dir ${dataDir}: does not exist. Fix: pass the --data-dir the sweep ran with (default: ${DEFAULT_DATA_DIR_TEXT})`]);
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= READ_ATTEMPTS;
    const live = await liveServicesEnv(dataDir);
    if (live) {
      try {
        return await f(storesFromEnv(live));
      } catch (e) {
        if (!last && lostConnection(e)) continue;
        throw e;
      }
    }
    let svc: EmbeddedServices;
    try {
      svc = await startEmbedded(dataDir, { mode: 'read' });
    } catch (e) {
      // Another process took the data dir between the look and the start: use its services.
      if (!last && e instanceof DataDirBusyError) continue;
      throw e;
    }
    try {
      return await f(storesFromEnv(svc.env));
    } finally {
      await svc.stop();
    }
  }
}
