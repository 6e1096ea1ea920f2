/**
 * Container image references as Docker reads them: `[registry/]repository[:tag][@digest]`.
 * Docker Hub is the default registry (served by registry-1.docker.io) and a single-name
 * repository there is an official image under `library/`.
 */

export interface ImageReference {
  /** Host (and port) of the registry's Distribution API, e.g. `registry-1.docker.io`, `123456789012.dkr.ecr.eu-west-1.amazonaws.com`. */
  readonly registry: string;
  /** Repository path in the registry, e.g. `library/ubuntu`, `swebench/sweb.eval.x86_64.django_1776_django-11099`. */
  readonly repository: string;
  /** The tag, when the reference names one (`latest` when it names neither tag nor digest). */
  readonly tag?: string;
  /** `sha256:<hex>`, when the reference pins one: what the registry serves must hash to it. */
  readonly digest?: string;
  /** What the manifest is asked for by: the digest when pinned, else the tag. */
  readonly reference: string;
  /** The reference as written, for messages. */
  readonly original: string;
}

export const DOCKER_HUB = 'registry-1.docker.io';
const DOCKER_HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
/** Distribution spec: path components of lower-case alphanumerics joined by `.`, `_`, `__` or `-`s. */
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Only sha256 digests: the only algorithm registries use, and the one every blob is verified with. */
export const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?$/;

export class ImageReferenceError extends Error {}

/** Parses an image reference; a malformed one throws {@link ImageReferenceError} naming it and the part at fault. */
export function parseImageReference(ref: string): ImageReference {
  const bad = (why: string) => new ImageReferenceError(`image "${ref.slice(0, 200)}" is not an image reference: ${why} (expected [registry/]repository[:tag][@sha256:<digest>], e.g. "swebench/sweb.eval.x86_64.django_1776_django-11099:latest")`);
  if (ref.length === 0 || ref.length > 512 || /\s/.test(ref)) throw bad('empty, too long or with whitespace');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`digest "${digest}" is not sha256:<64 hex digits>`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`tag "${tag}" is not a valid tag`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  // The first part names a registry when it looks like a host: a dot, a port, or localhost.
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    const host = parts.shift() as string;
    if (!HOST.test(host)) throw bad(`registry "${host}" is not a host name`);
    registry = DOCKER_HUB_NAMES.has(host.toLowerCase()) ? DOCKER_HUB : host.toLowerCase();
  }
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) throw bad(`repository "${parts.join('/')}" must be lower-case path components (a-z, 0-9, separators . _ -)`);
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  if (!tag && !digest) tag = 'latest';
  return { registry, repository: parts.join('/'), ...(tag ? { tag } : {}), ...(digest ? { digest } : {}), reference: digest ?? (tag as string), original: ref };
}

/** `<acct>.dkr.ecr.<region>.amazonaws.com[.cn]`: an ECR registry, with its account and region. */
export function ecrRegistry(registry: string): { account: string; region: string } | undefined {
  const m = /^([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(registry);
  return m ? { account: m[1], region: m[2] } : undefined;
}
