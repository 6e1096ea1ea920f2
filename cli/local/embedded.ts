// The module object itself (not an interop copy), so the shim below reaches s3rver's require('crypto').
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the shim must patch the very object s3rver's require returns
import crypto = require('node:crypto');
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';
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

/**
 * One process at a time per data dir: LevelDB (under dynalite) allows a single opener and fails
 * with an uncaught error otherwise. `<dataDir>/uplift.pid` holds the owner's pid; a file whose
 * process is gone is stale and taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'uplift.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
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
      const pid = Number(readFileSync(file, 'utf8'));
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = pid !== process.pid;
      } catch {
        alive = false;
      }
      if (alive) throw new DataDirBusyError(`the data dir ${dataDir} is in use by uplift process ${pid}. Fix: wait for it to finish (or stop it with Ctrl-C), or pass another --data-dir`);
      unlinkSync(file);
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
export async function startEmbedded(dataDir: string): Promise<EmbeddedServices> {
  provideSingleDes();
  makePrivate(dataDir);
  const unlock = lockDataDir(dataDir);
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
  let stopped = false;
  return {
    env,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      s3.httpServer.closeAllConnections();
      ddb.closeAllConnections();
      await s3.close();
      await new Promise<void>((r) => ddb.close(() => r()));
      unlock();
    },
  };
}
