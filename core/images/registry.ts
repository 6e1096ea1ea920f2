/**
 * A client of one repository of an OCI / Docker registry (Distribution API v2): manifests and
 * blobs over HTTPS, with the registry's own auth (anonymous, a Bearer token from the registry's
 * WWW-Authenticate challenge as Docker Hub asks, or Basic as ECR asks), per-request timeouts,
 * retries with backoff on 429 / 5xx / network errors (honouring Retry-After), and redirects
 * followed by hand so credentials never go to another host (blob downloads redirect to a CDN or
 * to S3, which refuses a request with two kinds of auth). No AWS SDK: an ECR credential is the
 * caller's (lambdas/aws/ecr-credentials.ts).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { ImageReference } from './reference';

/** A registry's user name and password (ECR: `AWS` and the token GetAuthorizationToken answers). */
export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}
/** The credentials for a registry host, or undefined to pull anonymously. */
export type RegistryAuth = (registry: string) => Promise<RegistryCredentials | undefined>;

export interface RegistryClientOptions {
  /** Credentials by registry host. @default anonymous */
  readonly auth?: RegistryAuth;
  /** Reach the registry (and its token realm) over plain HTTP: only for a local test registry. @default false */
  readonly plainHttp?: boolean;
  /** Longest wait for a response's headers, and for each next chunk of its body. @default 60000 */
  readonly requestTimeoutMs?: number;
  /** Attempts of one request on 429, 5xx, timeouts and network errors. @default 5 */
  readonly attempts?: number;
  /** First backoff (doubled each attempt, with jitter) when the registry names no Retry-After. @default 1000 */
  readonly baseDelayMs?: number;
  /** Longest backoff, and the most of a Retry-After that is honoured. @default 60000 */
  readonly maxDelayMs?: number;
}

/** A pull that cannot go on; its message names the image and what the registry answered. */
export class ImagePullError extends Error {}

const MAX_REDIRECTS = 5;
const TEXT_LIMIT = 4 * 1024 * 1024;

interface Answer {
  readonly res: Response;
  readonly url: string;
  /** Restarts the idle timer (a body chunk arrived). */
  readonly touch: () => void;
  /** Stops the timer; the body is read or dropped. */
  readonly done: () => void;
}

class Retryable extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export class RegistryClient {
  private bearer?: string;
  private basic?: string;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    readonly ref: ImageReference,
    private readonly opts: RegistryClientOptions = {},
  ) {
    this.timeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.attempts = Math.max(1, opts.attempts ?? 5);
    this.baseDelayMs = opts.baseDelayMs ?? 1000;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
  }

  private get base(): string {
    return `${this.opts.plainHttp ? 'http' : 'https'}://${this.ref.registry}/v2/${this.ref.repository}`;
  }

  private fail(what: string): ImagePullError {
    return new ImagePullError(`image ${this.ref.original}: ${what}`);
  }

  /** A manifest's bytes and media type; `reference` a tag or digest. */
  async manifest(reference: string, accept: readonly string[]): Promise<{ bytes: Buffer; mediaType: string; digestHeader?: string }> {
    return this.withRetries(`manifest ${reference}`, async () => {
      const a = await this.get(`${this.base}/manifests/${reference}`, { Accept: accept.join(', ') }, `manifest ${reference}`);
      try {
        const bytes = await readAll(a, TEXT_LIMIT, () => this.fail(`manifest ${reference} is larger than ${TEXT_LIMIT} bytes`));
        return { bytes, mediaType: (a.res.headers.get('content-type') ?? '').split(';')[0].trim(), digestHeader: a.res.headers.get('docker-content-digest') ?? undefined };
      } finally {
        a.done();
      }
    });
  }

  /** A small blob (an image config), verified against its digest. */
  async smallBlob(digest: string, size: number): Promise<Buffer> {
    if (size > TEXT_LIMIT) throw this.fail(`blob ${digest} is ${size} bytes, more than the ${TEXT_LIMIT} a config may have`);
    return this.withRetries(`blob ${digest}`, async () => {
      const a = await this.get(`${this.base}/blobs/${digest}`, {}, `blob ${digest}`);
      try {
        const bytes = await readAll(a, size, () => this.fail(`blob ${digest} is larger than the ${size} bytes its manifest says`));
        verify(this.ref, digest, createHash('sha256').update(bytes).digest('hex'));
        return bytes;
      } finally {
        a.done();
      }
    });
  }

  /** Downloads a blob to `file`, at most `size` bytes (what its descriptor says), and verifies its sha256 digest before resolving. */
  async blobToFile(digest: string, size: number, file: string): Promise<void> {
    await this.withRetries(`blob ${digest}`, async () => {
      const a = await this.get(`${this.base}/blobs/${digest}`, {}, `blob ${digest}`);
      const hash = createHash('sha256');
      const out = createWriteStream(file);
      let bytes = 0;
      try {
        if (!a.res.body) throw new Retryable(`blob ${digest}: the registry answered no body`);
        for await (const chunk of a.res.body as unknown as AsyncIterable<Uint8Array>) {
          a.touch();
          bytes += chunk.length;
          if (bytes > size) throw this.fail(`blob ${digest} is larger than the ${size} bytes its manifest says`);
          hash.update(chunk);
          if (!out.write(chunk)) await once(out, 'drain');
        }
      } catch (e) {
        if (e instanceof ImagePullError || e instanceof Retryable) throw e;
        throw new Retryable(`blob ${digest}: download broke off after ${bytes} bytes (${(e as Error).message})`);
      } finally {
        a.done();
        out.end();
        await once(out, 'close').catch(() => undefined);
      }
      verify(this.ref, digest, hash.digest('hex'));
    });
  }

  /** Runs `fn` up to `attempts` times while it fails in a way a retry may cure. */
  private async withRetries<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof Retryable)) throw e;
        if (attempt >= this.attempts) throw this.fail(`${what}: gave up after ${attempt} attempts; last: ${e.message}`);
        const backoff = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
        const wait = e.retryAfterMs !== undefined ? Math.min(this.maxDelayMs, Math.max(e.retryAfterMs, backoff)) : backoff;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** GET with the repository's auth: a 401 answers a challenge once (Bearer token or Basic), then the request is made again. */
  private async get(url: string, headers: Record<string, string>, what: string): Promise<Answer> {
    let a = await this.send(url, { ...headers, ...this.authHeader() }, what);
    if (a.res.status === 401) {
      const challenge = a.res.headers.get('www-authenticate') ?? '';
      const body = await snippet(a);
      await this.authenticate(challenge, what, body);
      a = await this.send(url, { ...headers, ...this.authHeader() }, what);
    }
    if (a.res.status >= 200 && a.res.status < 300) return a;
    const body = await snippet(a);
    if (a.res.status === 429 || a.res.status >= 500) throw new Retryable(`${what}: registry ${this.ref.registry} answered ${a.res.status}${body ? `: ${body}` : ''}`, retryAfter(a.res.headers.get('retry-after')));
    const hint = a.res.status === 404 ? ' (no such image, tag or blob, or no access to it)' : a.res.status === 401 || a.res.status === 403 ? ' (access refused: check the credentials)' : '';
    throw this.fail(`${what}: registry ${this.ref.registry} answered ${a.res.status}${hint}${body ? `: ${body}` : ''}`);
  }

  private authHeader(): Record<string, string> {
    if (this.bearer) return { Authorization: `Bearer ${this.bearer}` };
    if (this.basic) return { Authorization: `Basic ${this.basic}` };
    return {};
  }

  /**
   * Answers a WWW-Authenticate challenge (again when a token expired during a long pull: each
   * request answers at most one); throws when it cannot be answered.
   */
  private async authenticate(challenge: string, what: string, body: string): Promise<void> {
    const scheme = challenge.trim().split(/\s+/)[0]?.toLowerCase();
    const params = Object.fromEntries([...challenge.matchAll(/([A-Za-z_]+)="([^"]*)"/g)].map((m) => [m[1].toLowerCase(), m[2]]));
    const creds = await this.opts.auth?.(this.ref.registry);
    const basic = creds ? Buffer.from(`${creds.username}:${creds.password}`).toString('base64') : undefined;
    if (scheme === 'basic') {
      if (!basic) throw this.fail(`${what}: registry ${this.ref.registry} asks for credentials (Basic) and none were given${body ? ` (it answered 401: ${body})` : ''}`);
      this.bearer = undefined;
      this.basic = basic;
      return;
    }
    if (scheme !== 'bearer' || !params.realm) throw this.fail(`${what}: registry ${this.ref.registry} answered 401 with a challenge this client cannot answer: "${challenge.slice(0, 200)}"`);
    let realm: URL;
    try {
      realm = new URL(params.realm);
    } catch {
      throw this.fail(`${what}: registry ${this.ref.registry}'s token realm "${params.realm.slice(0, 200)}" is not a URL`);
    }
    if (realm.protocol !== 'https:' && !(this.opts.plainHttp && realm.protocol === 'http:')) throw this.fail(`${what}: registry ${this.ref.registry}'s token realm ${realm.origin} is not HTTPS`);
    if (params.service) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', params.scope ?? `repository:${this.ref.repository}:pull`);
    const token = await this.withRetries(`token from ${realm.origin}`, async () => {
      const a = await this.send(realm.toString(), basic ? { Authorization: `Basic ${basic}` } : {}, `token from ${realm.origin}`);
      if (a.res.status === 429 || a.res.status >= 500) throw new Retryable(`token from ${realm.origin}: answered ${a.res.status}: ${await snippet(a)}`, retryAfter(a.res.headers.get('retry-after')));
      if (a.res.status !== 200) throw this.fail(`${what}: the token service ${realm.origin} answered ${a.res.status}: ${await snippet(a)}`);
      try {
        const json = JSON.parse((await readAll(a, TEXT_LIMIT, () => this.fail(`token from ${realm.origin} is too large`))).toString('utf8')) as { token?: unknown; access_token?: unknown };
        const t = typeof json.token === 'string' ? json.token : json.access_token;
        if (typeof t !== 'string' || !t) throw this.fail(`${what}: the token service ${realm.origin} answered no token`);
        return t;
      } catch (e) {
        if (e instanceof ImagePullError) throw e;
        throw this.fail(`${what}: the token service ${realm.origin} answered something that is not JSON`);
      } finally {
        a.done();
      }
    });
    this.bearer = token;
  }

  /**
   * One GET with a timeout, following redirects by hand: Authorization goes only to the origin
   * it was meant for, and never from HTTPS down to HTTP.
   */
  private async send(url: string, headers: Record<string, string>, what: string): Promise<Answer> {
    const origin = new URL(url).origin;
    let current = url;
    for (let hop = 0; ; hop++) {
      const ac = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const touch = () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => ac.abort(new Error(`no answer for ${this.timeoutMs} ms`)), this.timeoutMs);
      };
      const done = () => {
        if (timer) clearTimeout(timer);
        timer = undefined;
      };
      touch();
      const sameOrigin = new URL(current).origin === origin;
      let res: Response;
      try {
        res = await fetch(current, { headers: sameOrigin ? headers : withoutAuth(headers), redirect: 'manual', signal: ac.signal });
      } catch (e) {
        done();
        const cause = (e as { cause?: { message?: string } }).cause?.message;
        throw new Retryable(`${what}: ${new URL(current).host} could not be reached (${ac.signal.aborted ? String((ac.signal.reason as Error)?.message ?? 'timed out') : (cause ?? (e as Error).message)})`);
      }
      const location = res.headers.get('location');
      if ([301, 302, 303, 307, 308].includes(res.status) && location) {
        done();
        await res.body?.cancel().catch(() => undefined);
        if (hop >= MAX_REDIRECTS) throw this.fail(`${what}: more than ${MAX_REDIRECTS} redirects`);
        const next = new URL(location, current);
        if (next.protocol !== 'https:' && !(this.opts.plainHttp && next.protocol === 'http:')) throw this.fail(`${what}: registry ${this.ref.registry} redirected to ${next.protocol}//${next.host}, which is not HTTPS`);
        current = next.toString();
        continue;
      }
      return { res, url: current, touch, done };
    }
  }
}

function withoutAuth(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function verify(ref: ImageReference, digest: string, hex: string): void {
  if (`sha256:${hex}` !== digest) throw new ImagePullError(`image ${ref.original}: blob ${digest} failed verification: its content hashes to sha256:${hex} (altered in transit or by the registry); nothing of it was applied`);
}

async function readAll(a: Answer, max: number, tooLarge: () => Error): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  if (!a.res.body) return Buffer.alloc(0);
  try {
    for await (const chunk of a.res.body as unknown as AsyncIterable<Uint8Array>) {
      a.touch();
      n += chunk.length;
      if (n > max) throw tooLarge();
      parts.push(Buffer.from(chunk));
    }
  } catch (e) {
    if (e instanceof ImagePullError) throw e;
    throw new Retryable(`reading ${a.url} broke off (${(e as Error).message})`);
  }
  return Buffer.concat(parts);
}

/** The start of an error answer's body, on one line (registries answer JSON errors). */
async function snippet(a: Answer): Promise<string> {
  try {
    const text = (await readAll(a, 64 * 1024, () => new Error('large'))).toString('utf8');
    return text.replace(/\s+/g, ' ').trim().slice(0, 300);
  } catch {
    return '';
  } finally {
    a.done();
  }
}
