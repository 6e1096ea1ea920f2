/**
 * Pulls a container image's root filesystem into a directory without running anything of the
 * image (README, "Tasks in container images"): the manifest from the registry (an index or
 * manifest list resolved to linux/amd64), every blob verified against its sha256 digest before
 * it is used, and the layers applied in order (./layers.ts). The image's own code never runs: a
 * hostile image can only be files, and its files never land outside the directory.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LayerApplier, type SkippedEntry } from './layers';
import { DIGEST, parseImageReference, type ImageReference } from './reference';
import { ImagePullError, RegistryClient, type RegistryClientOptions } from './registry';

export { ImagePullError } from './registry';
export type { RegistryAuth, RegistryCredentials } from './registry';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;
const ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest];
/** Layer media types this puller applies: tar, gzip-compressed or not (zstd needs a newer Node's zlib). */
const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
]);

export interface PullLimits {
  /** Most bytes the layers may weigh, compressed as downloaded and again as files written. @default 20 GiB */
  readonly maxBytes: number;
  /** Most tar entries all layers together may have. @default 2,000,000 */
  readonly maxEntries: number;
}
export const DEFAULT_PULL_LIMITS: PullLimits = { maxBytes: 20 * 1024 ** 3, maxEntries: 2_000_000 };

export interface PullOptions extends RegistryClientOptions {
  /** The platform picked from an index. @default linux/amd64 */
  readonly platform?: { readonly os: string; readonly architecture: string };
  readonly limits?: Partial<PullLimits>;
  /** Progress lines (one per layer). */
  readonly log?: (line: string) => void;
}

export interface PulledImage {
  readonly image: string;
  /** Digest of the platform manifest applied. */
  readonly manifestDigest: string;
  /** The image's config (`config` of its config blob: Env, WorkingDir, User, …), verified. */
  readonly config: Record<string, unknown>;
  readonly layers: number;
  readonly entries: number;
  readonly bytes: number;
  /** Entries not applied (refused paths, device nodes), at most 200 of `skippedCount`. */
  readonly skipped: readonly SkippedEntry[];
  readonly skippedCount: number;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

/**
 * Pulls `image` (`[registry/]repository[:tag|@sha256:…]`) into `target`, which must be absent or
 * an empty directory. Blobs are downloaded next to it (in a temporary directory removed after).
 * Rejects with {@link ImagePullError} naming the image and what went wrong; `target` then holds a
 * partial tree the caller removes.
 */
export async function pullImage(image: string, target: string, opts: PullOptions = {}): Promise<PulledImage> {
  const ref = parseImageReference(image);
  const limits = { ...DEFAULT_PULL_LIMITS, ...opts.limits };
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const client = new RegistryClient(ref, opts);
  const fail = (what: string) => new ImagePullError(`image ${image}: ${what}`);

  const { manifest, digest } = await resolveManifest(client, ref, platform, fail);
  const layers = manifest.layers;
  for (const l of layers) {
    if (!l.mediaType || !LAYER_TYPES.has(l.mediaType)) throw fail(`layer ${l.digest} has media type ${l.mediaType ?? '(none)'}, which this puller cannot apply (it applies tar and tar+gzip layers)`);
  }
  const declared = layers.reduce((n, l) => n + l.size, 0);
  if (declared > limits.maxBytes) throw fail(`its layers weigh ${declared} bytes compressed, more than the ${limits.maxBytes} allowed (limit maxBytes); nothing was downloaded`);
  if (layers.length > limits.maxEntries) throw fail(`it has ${layers.length} layers, more than the ${limits.maxEntries} entries allowed (limit maxEntries)`);
  const config = JSON.parse((await client.smallBlob(manifest.config.digest, manifest.config.size)).toString('utf8')) as { config?: Record<string, unknown> };

  if (existsSync(target) && readdirSync(target).length > 0) throw fail(`target ${target} is not empty`);
  mkdirSync(target, { recursive: true, mode: 0o755 });
  const blobs = mkdtempSync(join(dirname(target), '.uplift-blobs-'));
  const applier = new LayerApplier(target, image, limits);
  try {
    for (const [i, l] of layers.entries()) {
      const file = join(blobs, l.digest.slice('sha256:'.length));
      await client.blobToFile(l.digest, l.size, file);
      opts.log?.(`image ${image}: layer ${i + 1}/${layers.length} ${l.digest} (${l.size} bytes) verified, applying`);
      await applier.apply(file, l.digest);
      rmSync(file, { force: true });
    }
    applier.finish();
  } finally {
    rmSync(blobs, { recursive: true, force: true });
  }
  return {
    image,
    manifestDigest: digest,
    config: config.config ?? {},
    layers: layers.length,
    entries: applier.entries,
    bytes: applier.bytes,
    skipped: applier.skipped,
    skippedCount: applier.skippedCount,
  };
}

/** The platform manifest of the reference: fetched (by tag or digest), verified, an index resolved to `platform`. */
async function resolveManifest(
  client: RegistryClient,
  ref: ImageReference,
  platform: { os: string; architecture: string },
  fail: (what: string) => ImagePullError,
): Promise<{ manifest: { config: Descriptor; layers: Descriptor[] }; digest: string }> {
  let reference = ref.reference;
  let expected = ref.digest;
  for (let depth = 0; depth < 2; depth++) {
    const m = await client.manifest(reference, ACCEPT);
    const digest = `sha256:${createHash('sha256').update(m.bytes).digest('hex')}`;
    // By digest: what came must hash to it. By tag: to the digest the registry says it is, when it says.
    const pinned = expected ?? m.digestHeader;
    if (pinned && DIGEST.test(pinned) && pinned !== digest) throw fail(`manifest ${reference} failed verification: expected ${pinned}, its content hashes to ${digest}`);
    let json: { schemaVersion?: number; mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    try {
      json = JSON.parse(m.bytes.toString('utf8')) as typeof json;
    } catch {
      throw fail(`manifest ${reference} is not JSON (content type ${m.mediaType || 'none'})`);
    }
    const type = json.mediaType ?? m.mediaType;
    if (json.schemaVersion !== 2) throw fail(`manifest ${reference} has schema version ${json.schemaVersion ?? '(none)'} (${type}); only schema 2 (OCI, Docker v2) is supported. Push the image again with a current Docker`);
    if (Array.isArray(json.manifests)) {
      const pick = json.manifests.find((d) => d.platform?.os === platform.os && d.platform?.architecture === platform.architecture && DIGEST.test(d.digest));
      if (!pick) {
        const have = json.manifests.map((d) => `${d.platform?.os ?? '?'}/${d.platform?.architecture ?? '?'}${d.platform?.variant ? `/${d.platform.variant}` : ''}`).join(', ');
        throw fail(`no ${platform.os}/${platform.architecture} image in its index (it has ${have || 'none'})`);
      }
      reference = pick.digest;
      expected = pick.digest;
      continue;
    }
    if (!json.config || !Array.isArray(json.layers)) throw fail(`manifest ${reference} (${type}) has no config or layers`);
    for (const d of [json.config, ...json.layers])
      if (!d || typeof d.digest !== 'string' || !DIGEST.test(d.digest) || typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0)
        throw fail(`manifest ${reference} has a descriptor without a sha256 digest and size (${JSON.stringify(d).slice(0, 200)})`);
    return { manifest: { config: json.config, layers: json.layers }, digest };
  }
  throw fail(`its index points to another index`);
}
