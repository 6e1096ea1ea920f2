/**
 * A local OCI / Docker registry (Distribution API v2) for tests: serves manifests and blobs it is
 * given, behind no auth, a Bearer token challenge (as Docker Hub) or Basic (as ECR), and can
 * misbehave on request: serve altered bytes for a blob, answer 429 with Retry-After, redirect
 * blob downloads to a "CDN" on another origin that refuses any Authorization header (as S3
 * does). Also builds tar layers entry by entry with node-tar's Header, hostile ones included.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';

export type LayerEntry =
  | { type: 'File'; path: string; content?: string; mode?: number; uid?: number; gid?: number }
  | { type: 'Directory'; path: string; mode?: number; uid?: number; gid?: number }
  | { type: 'SymbolicLink' | 'Link'; path: string; linkpath: string }
  | { type: 'CharacterDevice' | 'BlockDevice' | 'FIFO'; path: string; mode?: number };

/** A tar archive of exactly these entries, in this order (nothing normalised: `..` and `/` kept as given). */
export function tarLayer(entries: readonly LayerEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = e.type === 'File' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    const h = new Header({
      path: e.path,
      type: e.type,
      mode: 'mode' in e && e.mode !== undefined ? e.mode : e.type === 'Directory' ? 0o755 : 0o644,
      uid: 'uid' in e && e.uid !== undefined ? e.uid : 0,
      gid: 'gid' in e && e.gid !== undefined ? e.gid : 0,
      size: body.length,
      mtime: new Date('2024-01-02T03:04:05Z'),
      linkpath: 'linkpath' in e ? e.linkpath : '',
      ...(e.type === 'CharacterDevice' || e.type === 'BlockDevice' ? { devmaj: 1, devmin: 3 } : {}),
    });
    const block = Buffer.alloc(512);
    if (h.encode(block, 0)) throw new Error(`tarLayer: ${e.path} needs a pax header; keep test paths short`);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export const gzipLayer = (entries: readonly LayerEntry[]): Buffer => gzipSync(tarLayer(entries));

export const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
}

export interface RegistryRequest {
  path: string;
  authorization?: string;
  /** Which server answered: the registry, its token realm or the CDN. */
  server: 'registry' | 'token' | 'cdn';
}

export interface FakeRegistryOptions {
  auth: 'none' | 'bearer' | 'basic';
  /** What Basic auth accepts (and what the token realm accepts when given). */
  credentials?: { username: string; password: string };
  /** Blob downloads answer 307 to the CDN (another origin), which refuses requests with an Authorization header. */
  redirectBlobs?: boolean;
}

export class FakeRegistry {
  readonly requests: RegistryRequest[] = [];
  /** Blob digest → the bytes served instead (a tampered blob). */
  readonly tamper = new Map<string, Buffer>();
  /** Path suffix → how many more times to answer 429, and the Retry-After (seconds) to send. */
  readonly throttle = new Map<string, { times: number; retryAfter: string }>();
  /** Path suffixes answered with nothing at all (the connection stays open): a registry that hangs. */
  readonly hang = new Set<string>();
  private readonly blobs = new Map<string, Buffer>();
  private readonly manifests = new Map<string, { body: Buffer; mediaType: string }>();
  private readonly tokens = new Set<string>();
  private server?: Server;
  private cdn?: Server;
  host = '';
  private cdnOrigin = '';

  constructor(private readonly opts: FakeRegistryOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.cdn = createServer((req, res) => this.handleCdn(req, res));
    await Promise.all([new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r)), new Promise<void>((r) => this.cdn!.listen(0, '127.0.0.1', r))]);
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.cdnOrigin = `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of [this.server, this.cdn]) if (s) await new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())));
  }

  blob(bytes: Buffer, mediaType: string): Descriptor {
    const digest = sha256(bytes);
    this.blobs.set(digest, bytes);
    return { mediaType, digest, size: bytes.length };
  }

  /** Stores a manifest (any JSON) under `repo` by its digest and, when given, a tag; returns its descriptor. */
  manifest(repo: string, json: object, mediaType: string, tag?: string): Descriptor {
    const body = Buffer.from(JSON.stringify(json));
    const digest = sha256(body);
    this.manifests.set(`${repo}@${digest}`, { body, mediaType });
    if (tag) this.manifests.set(`${repo}:${tag}`, { body, mediaType });
    return { mediaType, digest, size: body.length };
  }

  /** An image of these layer blobs (gzip tar unless said, per layer or for all) under repo:tag; returns its manifest's descriptor. */
  image(repo: string, tag: string | undefined, layers: readonly (Buffer | { bytes: Buffer; mediaType: string })[], o: { layerType?: string; manifestType?: string; marker?: string } = {}): Descriptor {
    const layerType = o.layerType ?? 'application/vnd.oci.image.layer.v1.tar+gzip';
    const ls = layers.map((l) => (Buffer.isBuffer(l) ? this.blob(l, layerType) : this.blob(l.bytes, l.mediaType)));
    const config = this.blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { WorkingDir: '/testbed', Env: ['PATH=/usr/bin'], Labels: { marker: o.marker ?? 'amd64' } }, rootfs: { type: 'layers', diff_ids: [] } })), 'application/vnd.oci.image.config.v1+json');
    const manifestType = o.manifestType ?? 'application/vnd.oci.image.manifest.v1+json';
    return this.manifest(repo, { schemaVersion: 2, mediaType: manifestType, config, layers: ls }, manifestType, tag);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    if (url.pathname === '/token') {
      this.requests.push({ path: `${url.pathname}${url.search}`, authorization: req.headers.authorization, server: 'token' });
      if (this.opts.credentials && req.headers.authorization !== basic(this.opts.credentials)) return void res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      const token = `tok-${this.tokens.size + 1}-${url.searchParams.get('scope')}`;
      this.tokens.add(token);
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
    }
    this.requests.push({ path: url.pathname, authorization: req.headers.authorization, server: 'registry' });
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m) return void res.writeHead(404).end('{"errors":[{"code":"NOT_FOUND"}]}');
    const [, repo, kind, ref] = m;
    // Auth first, as registries do.
    if (this.opts.auth === 'bearer') {
      const tok = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
      if (!this.tokens.has(tok) || !tok.endsWith(`repository:${repo}:pull`))
        return void res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${this.host}/token",service="fake-registry",scope="repository:${repo}:pull"` }).end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    } else if (this.opts.auth === 'basic' && req.headers.authorization !== basic(this.opts.credentials!)) {
      return void res.writeHead(401, { 'www-authenticate': `Basic realm="http://${this.host}/",service="fake-registry"` }).end('{"errors":[{"code":"DENIED","message":"Not Authorized"}]}');
    }
    for (const suffix of this.hang) if (url.pathname.endsWith(suffix)) return;
    for (const [suffix, t] of this.throttle)
      if (url.pathname.endsWith(suffix) && t.times > 0) {
        t.times--;
        return void res.writeHead(429, { 'retry-after': t.retryAfter }).end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      }
    if (kind === 'manifests') {
      const found = this.manifests.get(ref.startsWith('sha256:') ? `${repo}@${ref}` : `${repo}:${ref}`);
      if (!found) return void res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
      return void res.writeHead(200, { 'content-type': found.mediaType, 'docker-content-digest': sha256(found.body) }).end(found.body);
    }
    if (!this.blobs.has(ref)) return void res.writeHead(404).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
    if (this.opts.redirectBlobs) return void res.writeHead(307, { location: `${this.cdnOrigin}/cdn/${ref}?signature=abc` }).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(this.tamper.get(ref) ?? this.blobs.get(ref));
  }

  private handleCdn(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({ path: req.url ?? '', authorization: req.headers.authorization, server: 'cdn' });
    // As S3 with a presigned URL: a second kind of auth is refused.
    if (req.headers.authorization) return void res.writeHead(400).end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
    const digest = /^\/cdn\/([^?]+)/.exec(req.url ?? '')?.[1] ?? '';
    const bytes = this.tamper.get(digest) ?? this.blobs.get(digest);
    if (!bytes) return void res.writeHead(404).end();
    res.writeHead(200).end(bytes);
  }
}

function basic(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
