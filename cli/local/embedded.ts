// The module object itself (not an interop copy), so the shim below reaches s3rver's require('crypto').
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the shim must patch the very object s3rver's require returns
import crypto = require('node:crypto');
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { z } from 'zod';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- s3rver's account registry has no typed export: the per-process key pair is registered in it
const S3rverAccount = require('s3rver/lib/models/account') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
import { UpliftError } from '../../core/errors';
import { ensureStorage } from '../../lambdas/aws/clients';

/** The embedded stand-ins for S3 and DynamoDB, on loopback, with their data under the data dir. */
export interface EmbeddedServices {
  /** The storage environment contract (UPLIFT_BUCKET, UPLIFT_TABLE, endpoints) for handlers and jobs. */
  env: Record<string, string>;
  dataDir: string;
  stop(): Promise<void>;
}

export class DataDirBusyError extends UpliftError {}

/** Who holds a data dir: `write` (run, import, cache clear…) or `read` (results, list, export, compare, artifacts). */
export type DataDirMode = 'read' | 'write';

/** `<dataDir>/uplift.pid`: the lock, holding the owner's pid. */
const LOCK_FILE = 'uplift.pid';
/**
 * `<dataDir>/uplift.services.json` (0600, in the 0700 data dir): the lock owner's mode and, once
 * its services listen, their storage environment (loopback endpoints and this process's key), so
 * read-only commands use the running services instead of opening the LevelDB files a second time.
 */
const SERVICES_FILE = 'uplift.services.json';
/** How long a process that wants the lock waits for a read-only command holding it to finish. */
export const READER_WAIT_MS = 30_000;
/** How long a read-only command waits for a starting lock owner to publish its services. */
export const PUBLISH_WAIT_MS = 20_000;

const Published = z.object({ pid: z.number().int().positive(), mode: z.enum(['read', 'write']), env: z.record(z.string(), z.string()).optional() });
type Published = z.infer<typeof Published>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock owner's pid; undefined when there is no lock file, NaN while it is being written. */
function lockOwner(dataDir: string): number | undefined {
  try {
    const text = readFileSync(join(dataDir, LOCK_FILE), 'utf8');
    return text.trim() ? Number(text) : Number.NaN;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function readPublished(dataDir: string): Published | undefined {
  try {
    const r = Published.safeParse(JSON.parse(readFileSync(join(dataDir, SERVICES_FILE), 'utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the services file atomically (rename), readable by this user only. */
function publish(dataDir: string, p: Published): void {
  const tmp = join(dataDir, `${SERVICES_FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(p), { mode: 0o600 });
  renameSync(tmp, join(dataDir, SERVICES_FILE));
}

function unpublish(dataDir: string): void {
  try {
    if (readPublished(dataDir)?.pid === process.pid) unlinkSync(join(dataDir, SERVICES_FILE));
  } catch {
    /* already gone */
  }
}

/**
 * The storage environment of the live uplift process that holds the data dir, for a read-only
 * command; undefined when no live process holds it. Waits (up to PUBLISH_WAIT_MS) for an owner
 * that is still starting its services.
 */
export async function liveServicesEnv(dataDir: string): Promise<Record<string, string> | undefined> {
  const until = Date.now() + PUBLISH_WAIT_MS;
  for (;;) {
    const pid = lockOwner(dataDir);
    if (pid === undefined || (!Number.isNaN(pid) && !isAlive(pid))) return undefined;
    const p = readPublished(dataDir);
    if (p?.pid === pid && p.env) return p.env;
    if (Date.now() > until)
      throw new DataDirBusyError(`the data dir ${dataDir} is held by uplift process ${pid}, which has not published its services (an older uplift version?). Fix: wait for it to finish, or pass another --data-dir`);
    await sleep(100);
  }
}

/**
 * One process at a time per data dir: LevelDB (under dynalite) allows a single opener and fails
 * with an uncaught error otherwise. `<dataDir>/uplift.pid` holds the owner's pid; a file whose
 * process is gone is stale and taken over. A read-only command holds it for a second or two: the
 * lock is waited for (up to READER_WAIT_MS) while its owner is one; a writer owner is refused at once.
 */
async function lockDataDir(dataDir: string): Promise<() => void> {
  const file = join(dataDir, LOCK_FILE);
  const until = Date.now() + READER_WAIT_MS;
  for (let stale = 0; stale < 3; ) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      const release = () => {
        try {
          if (readFileSync(file, 'utf8') === String(process.pid)) unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
      process.once('exit', release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = lockOwner(dataDir);
      if (pid === undefined) continue;
      const starting = Number.isNaN(pid);
      if (!starting && !isAlive(pid)) {
        stale++;
        try {
          unlinkSync(file);
        } catch {
          /* another process took it over first */
        }
        continue;
      }
      const reader = starting || readPublished(dataDir)?.pid !== pid || readPublished(dataDir)?.mode === 'read';
      if (reader && Date.now() < until) {
        await sleep(100);
        continue;
      }
      throw new DataDirBusyError(`the data dir ${dataDir} is in use by uplift process ${pid}. Fix: wait for it to finish (or stop it with Ctrl-C), or pass another --data-dir`);
    }
  }
  throw new DataDirBusyError(`cannot lock the data dir ${dataDir}: another process keeps taking it`);
}

/**
 * s3rver encrypts list continuation tokens with single DES, which OpenSSL 3 (Node 17+) no longer
 * offers: every listing of more than 1,000 keys fails with InternalError. Triple DES with the key
 * repeated three times computes exactly single DES (E∘D∘E with one key is E), so `des` is mapped
 * to `des-ede3-cbc` with a tripled key. Only an algorithm that would throw is affected.
 */
function provideSingleDes(): void {
  const c = crypto as unknown as Record<'createCipheriv' | 'createDecipheriv', (alg: string, key: Buffer, iv: Buffer | null) => unknown> & { upliftDesShim?: true };
  if (c.upliftDesShim) return;
  for (const name of ['createCipheriv', 'createDecipheriv'] as const) {
    const original = c[name].bind(crypto);
    c[name] = (alg, key, iv) => (/^des(-cbc)?$/i.test(alg) && Buffer.byteLength(key) === 8 ? original('des-ede3-cbc', Buffer.concat([key, key, key]), iv) : original(alg, key, iv));
  }
  c.upliftDesShim = true;
}

/**
 * The data dir holds everything a sweep stores, the test split's targets among them: only the
 * harness's user may enter it (a sandbox at `uid-rlimits` runs agents as other uids on this
 * host). It is created 0700; an existing one is tightened on start (group and other bits cleared
 * on everything in it: directories 0700, files 0600 or 0700 if executable), so it holds even if
 * its top is loosened later. What the embedded services write afterwards lies under the 0700 top.
 */
function makePrivate(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The top is what keeps other uids out: it must be 0700 (an error otherwise); below, best effort.
  const st = lstatSync(dataDir);
  if ((st.mode & 0o077) !== 0) chmodSync(dataDir, st.mode & 0o7700);
  const tighten = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      try {
        const s = lstatSync(path);
        if (s.isSymbolicLink()) continue;
        if ((s.mode & 0o077) !== 0) chmodSync(path, s.mode & 0o7700);
        if (s.isDirectory()) tighten(path);
      } catch {
        /* gone meanwhile, or not ours */
      }
    }
  };
  tighten(dataDir);
  for (const sub of ['s3', 'dynamodb', 'logs', 'reports']) mkdirSync(join(dataDir, sub), { recursive: true, mode: 0o700 });
}

const BUCKET = 'uplift-artifacts';
const TABLE = 'uplift';

/**
 * Makes a loopback server answer 403 to every request whose SigV4 credential is not `accessKeyId`:
 * s3rver serves anonymous requests and checks V4 signatures only partly, dynalite checks none, and
 * at sandbox levels without network isolation agents share this loopback. The key id is a random
 * 80-bit value made per process that only the harness and its jobs hold (in their environment,
 * which no sandbox uid can read), so it works as a bearer secret.
 */
function requireAccessKey(server: Server, accessKeyId: string, what: 's3' | 'dynamodb'): void {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  const needle = `Credential=${accessKeyId}/`;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const auth = String(req.headers.authorization ?? '');
    const presigned = (req.url ?? '').includes(`X-Amz-Credential=${encodeURIComponent(accessKeyId)}%2F`) || (req.url ?? '').includes(`X-Amz-Credential=${accessKeyId}/`);
    if (auth.includes(needle) || presigned) {
      for (const h of handlers) h(req, res);
      return;
    }
    req.resume();
    const body = what === 's3' ? '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>the embedded S3 takes requests signed with this uplift process\'s key only</Message></Error>' : JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', message: "the embedded DynamoDB takes requests signed with this uplift process's key only" });
    res.writeHead(403, { 'content-type': what === 's3' ? 'application/xml' : 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

/**
 * Starts s3rver and dynalite on 127.0.0.1 (free ports), data in `<dataDir>/s3` and
 * `<dataDir>/dynamodb` (the data dir private to this user, see makePrivate), then creates the
 * bucket and the table (as the CDK stack does in AWS).
 */
export async function startEmbedded(dataDir: string, opts: { mode?: DataDirMode } = {}): Promise<EmbeddedServices> {
  provideSingleDes();
  makePrivate(dataDir);
  const lock = await lockDataDir(dataDir);
  const mode = opts.mode ?? 'write';
  publish(dataDir, { pid: process.pid, mode });
  const unlock = () => {
    unpublish(dataDir);
    lock();
  };
  // A key for this process only: both services refuse requests that do not carry its id, so an
  // agent that reaches loopback (sandbox levels without network isolation) reads and writes nothing.
  const key = { id: `UPLIFT${randomBytes(10).toString('hex').toUpperCase()}`, secret: randomBytes(24).toString('hex') };
  S3rverAccount.DUMMY_ACCOUNT.createKeyPair(key.id, key.secret);
  const s3 = new S3rver({ address: '127.0.0.1', port: 0, directory: join(dataDir, 's3'), silent: true });
  const s3Address = await s3.run();
  requireAccessKey(s3.httpServer, key.id, 's3');
  const ddb = dynalite({ path: join(dataDir, 'dynamodb'), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  requireAccessKey(ddb, key.id, 'dynamodb');
  try {
    await new Promise<void>((resolve, reject) => {
      ddb.once('error', reject);
      ddb.listen(0, '127.0.0.1', () => resolve());
    });
  } catch (cause) {
    await s3.close();
    unlock();
    throw new DataDirBusyError(`cannot open ${join(dataDir, 'dynamodb')}: ${(cause as Error).message}. Another uplift process may be using this data dir; wait for it or pass --data-dir`, { cause });
  }
  const port = (s: Server) => (s.address() as AddressInfo).port;
  const env = {
    UPLIFT_BUCKET: BUCKET,
    UPLIFT_TABLE: TABLE,
    AWS_REGION: 'us-east-1',
    UPLIFT_S3_ENDPOINT: `http://127.0.0.1:${s3Address.port}`,
    UPLIFT_DYNAMODB_ENDPOINT: `http://127.0.0.1:${port(ddb)}`,
    UPLIFT_LOCAL_ACCESS_KEY_ID: key.id,
    UPLIFT_LOCAL_SECRET_ACCESS_KEY: key.secret,
  };
  let storageReady = false;
  try {
    await ensureStorage(env);
    storageReady = true;
  } finally {
    if (!storageReady) {
      await s3.close();
      await new Promise<void>((r) => ddb.close(() => r()));
      unlock();
    }
  }
  // Read-only commands of other processes use these services while this process holds the data dir.
  publish(dataDir, { pid: process.pid, mode, env });
  let stopped = false;
  return {
    env,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      unpublish(dataDir);
      s3.httpServer.closeAllConnections();
      ddb.closeAllConnections();
      await s3.close();
      await new Promise<void>((r) => ddb.close(() => r()));
      unlock();
    },
  };
}
