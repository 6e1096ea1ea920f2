import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pullImage, type PullOptions } from '../../../core/images/pull';
import { FakeRegistry, gzipLayer, tarLayer, type LayerEntry } from '../../support/fake-registry';

/** Every entry under root, without following links: directories with their mode, files with mode and content, links with their target. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `-> ${readlinkSync(join(root, r))}`;
      else if (st.isDirectory()) {
        out[`${r}/`] = `dir ${mode}`;
        walk(r);
      } else if (st.isFile()) out[r] = `file ${mode} ${readFileSync(join(root, r), 'utf8')}`;
      else out[r] = 'other';
    }
  };
  walk('');
  return out;
}

let base: string;
let outside: string;
let target: string;
const fast: PullOptions = { plainHttp: true, baseDelayMs: 1, requestTimeoutMs: 5000 };

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'uplift-pull-'));
  outside = join(base, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'victim'), 'victim');
  writeFileSync(join(outside, 'secret'), 'secret');
  target = join(base, 'target');
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const dir = (path: string, mode = 0o755): LayerEntry => ({ type: 'Directory', path, mode });
const file = (path: string, content: string, mode = 0o644, uid = 0, gid = 0): LayerEntry => ({ type: 'File', path, content, mode, uid, gid });

/** Three layers: a base system, a layer that overwrites and whites out, and a hostile one. */
function layers(outsideDir: string): (Buffer | { bytes: Buffer; mediaType: string })[] {
  const one = gzipLayer([
    dir('bin/'),
    file('bin/tool', 'tool v1', 0o755),
    { type: 'Link', path: 'bin/tool-link', linkpath: 'bin/tool' },
    file('bin/su', 'su', 0o4755),
    file('bin/sg', 'sg', 0o2755),
    dir('etc/'),
    file('etc/config', 'v1', 0o644),
    { type: 'SymbolicLink', path: 'etc/localtime', linkpath: '/usr/share/zoneinfo/UTC' },
    dir('usr/'),
    dir('usr/lib/'),
    file('usr/lib/libx.so', 'libx', 0o755),
    { type: 'Link', path: 'usr/lib/libx.so.1', linkpath: 'usr/lib/libx.so' },
    { type: 'SymbolicLink', path: 'lib', linkpath: 'usr/lib' },
    dir('var/'),
    dir('var/cache/'),
    file('var/cache/a', 'a'),
    file('var/cache/b', 'b'),
    dir('opt/'),
    dir('opt/old/'),
    file('opt/old/file', 'old'),
    dir('opt/was-dir/'),
    file('opt/was-dir/child', 'child'),
    dir('dev/'),
    { type: 'CharacterDevice', path: 'dev/null', mode: 0o666 },
    dir('run/'),
    { type: 'FIFO', path: 'run/fifo' },
    dir('tmp/', 0o1777),
    // Planted for the hostile layer: a link out of the tree.
    { type: 'SymbolicLink', path: 'evil', linkpath: outsideDir },
  ]);
  // Uncompressed: a later layer's files replace, whiteouts delete, an opaque directory hides the layers below.
  const two = tarLayer([
    file('etc/config', 'v2', 0o640, 1000, 1001),
    file('bin/tool', 'tool v2', 0o755),
    file('var/cache/.wh.a', ''),
    dir('opt/old/'),
    file('opt/old/.wh..wh..opq', ''),
    file('opt/old/new', 'new'),
    // A file where the layer below had a (non-empty) directory replaces it.
    file('opt/was-dir', 'now a file'),
  ]);
  const three = gzipLayer([
    file('../escape', 'x'),
    file('evil/pwned', 'x'),
    { type: 'SymbolicLink', path: 'evil2', linkpath: outsideDir },
    file('evil2/pwned2', 'x'),
    { type: 'Link', path: 'hl', linkpath: '../outside/secret' },
    { type: 'Link', path: 'hl2', linkpath: 'evil/secret' },
    file('evil/.wh.victim', ''),
    dir('/abs/'),
    file('/abs/file', 'abs'),
  ]);
  return [one, { bytes: two, mediaType: 'application/vnd.oci.image.layer.v1.tar' }, three];
}

describe('pullImage', () => {
  let reg: FakeRegistry;
  afterEach(() => reg?.stop());

  test('behind a Bearer challenge, blobs redirected to a CDN: layers applied in order with whiteouts, links kept, setuid cleared, devices skipped, and nothing written outside', async () => {
    reg = await new FakeRegistry({ auth: 'bearer', redirectBlobs: true }).start();
    reg.image('uplift/hostile', 'v1', layers(outside));
    const image = `${reg.host}/uplift/hostile:v1`;
    const pulled = await pullImage(image, target, fast);

    expect(tree(target)).toEqual({
      'abs/': 'dir 755',
      'abs/file': 'file 644 abs',
      'bin/': 'dir 755',
      'bin/sg': 'file 755 sg',
      'bin/su': 'file 755 su',
      'bin/tool': 'file 755 tool v2',
      // The hard link keeps the file it was made to: the later layer replaced bin/tool, it did not write into it.
      'bin/tool-link': 'file 755 tool v1',
      'dev/': 'dir 755',
      'etc/': 'dir 755',
      'etc/config': 'file 640 v2',
      'etc/localtime': '-> /usr/share/zoneinfo/UTC',
      evil: `-> ${outside}`,
      evil2: `-> ${outside}`,
      lib: '-> usr/lib',
      'opt/': 'dir 755',
      'opt/old/': 'dir 755',
      'opt/old/new': 'file 644 new',
      'opt/was-dir': 'file 644 now a file',
      'run/': 'dir 755',
      'tmp/': 'dir 1777',
      'usr/': 'dir 755',
      'usr/lib/': 'dir 755',
      'usr/lib/libx.so': 'file 755 libx',
      'usr/lib/libx.so.1': 'file 755 libx',
      'var/': 'dir 755',
      'var/cache/': 'dir 755',
      'var/cache/b': 'file 644 b',
    });
    // Hard links stay links.
    expect(lstatSync(join(target, 'usr/lib/libx.so.1')).ino).toBe(lstatSync(join(target, 'usr/lib/libx.so')).ino);
    // Owners of the image are kept when running as root, else everything is ours.
    const uid = process.getuid!();
    expect(lstatSync(join(target, 'etc/config')).uid).toBe(uid === 0 ? 1000 : uid);
    expect(lstatSync(join(target, 'etc/config')).gid).toBe(uid === 0 ? 1001 : process.getgid!());
    // Nothing outside the target changed, and the downloaded blobs are gone.
    expect(readdirSync(base).sort()).toEqual(['outside', 'target']);
    expect(tree(outside)).toEqual({ secret: 'file 644 secret', victim: 'file 644 victim' });
    expect(Object.fromEntries(pulled.skipped.map((s) => [s.path, s.reason]))).toEqual({
      'dev/null': expect.stringContaining('device nodes and fifos'),
      'run/fifo': expect.stringContaining('device nodes and fifos'),
      '../escape': expect.stringContaining("contains '..'"),
      'evil/pwned': expect.stringContaining('symbolic link'),
      'evil2/pwned2': expect.stringContaining('symbolic link'),
      hl: expect.stringContaining("contains '..'"),
      hl2: expect.stringContaining('symbolic link'),
    });
    expect(pulled).toMatchObject({ image, layers: 3, entries: 28 + 7 + 9, config: { WorkingDir: '/testbed' } });

    // The token was asked for this repository's pull scope; the CDN never saw a credential.
    const tokens = reg.requests.filter((r) => r.server === 'token');
    expect(tokens).toHaveLength(1);
    expect(new URL(`http://x${tokens[0].path}`).searchParams.get('scope')).toBe('repository:uplift/hostile:pull');
    expect(new URL(`http://x${tokens[0].path}`).searchParams.get('service')).toBe('fake-registry');
    const cdn = reg.requests.filter((r) => r.server === 'cdn');
    expect(cdn).toHaveLength(4);
    expect(cdn.filter((r) => r.authorization)).toEqual([]);
    expect(reg.requests.filter((r) => r.server === 'registry').slice(1).every((r) => r.authorization?.startsWith('Bearer tok-'))).toBe(true);
  });

  test('behind Basic auth (as ECR): pulls with the credentials given for the registry, and fails naming the image and the answer without them', async () => {
    reg = await new FakeRegistry({ auth: 'basic', credentials: { username: 'AWS', password: 'ecr-token' } }).start();
    reg.image('mirror/swebench', 'latest', [gzipLayer([dir('testbed/'), file('testbed/setup.py', 'setup')])], { manifestType: 'application/vnd.docker.distribution.manifest.v2+json', layerType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' });
    const image = `${reg.host}/mirror/swebench`;
    const asked: string[] = [];
    await pullImage(image, target, { ...fast, auth: async (r) => (asked.push(r), r === reg.host ? { username: 'AWS', password: 'ecr-token' } : undefined) });
    expect(tree(target)).toEqual({ 'testbed/': 'dir 755', 'testbed/setup.py': 'file 644 setup' });
    expect(asked).toEqual([reg.host]);

    await expect(pullImage(image, join(base, 'anon'), fast)).rejects.toThrow(`image ${image}: manifest latest: registry ${reg.host} asks for credentials (Basic) and none were given (it answered 401: {"errors":[{"code":"DENIED","message":"Not Authorized"}]})`);
    await expect(pullImage(image, join(base, 'wrong'), { ...fast, auth: async () => ({ username: 'AWS', password: 'expired' }) })).rejects.toThrow(/^image .*mirror\/swebench: manifest latest: registry .* answered 401 \(access refused: check the credentials\): .*Not Authorized/);
  });

  test('a blob whose content does not hash to its digest fails the pull, naming the digest, before anything of it is applied', async () => {
    reg = await new FakeRegistry({ auth: 'none' }).start();
    const first = gzipLayer([file('ok', 'ok')]);
    const second = gzipLayer([file('payload', 'real')]);
    reg.image('t/tampered', 'v1', [first, second]);
    const { createHash } = await import('node:crypto');
    const digest = `sha256:${createHash('sha256').update(second).digest('hex')}`;
    // Same size, one byte changed (the archive may still read: only the digest tells).
    const altered = Buffer.from(second);
    altered[altered.length - 12] ^= 0xff;
    reg.tamper.set(digest, altered);
    const image = `${reg.host}/t/tampered:v1`;
    await expect(pullImage(image, target, fast)).rejects.toThrow(new RegExp(`^image ${image.replace(/[.]/g, '\\.')}: blob ${digest} failed verification: its content hashes to sha256:[0-9a-f]{64}`));
    expect(readdirSync(target)).toEqual(['ok']);
    expect(readdirSync(base).sort()).toEqual(['outside', 'target']);
    // Longer than its descriptor says: cut off while downloading.
    reg.tamper.set(digest, Buffer.concat([second, Buffer.alloc(10)]));
    await expect(pullImage(image, join(base, 'longer'), fast)).rejects.toThrow(`image ${image}: blob ${digest} is larger than the ${second.length} bytes its manifest says`);
  });

  test('an index (tag or digest) resolves to linux/amd64; one without it fails listing what it has', async () => {
    reg = await new FakeRegistry({ auth: 'none' }).start();
    const arm = reg.image('t/multi', undefined, [gzipLayer([file('arch', 'arm64')])], { marker: 'arm64' });
    const amd = reg.image('t/multi', undefined, [gzipLayer([file('arch', 'amd64')])], { marker: 'amd64' });
    const attestation = reg.image('t/multi', undefined, [gzipLayer([file('arch', 'attestation')])]);
    const index = reg.manifest(
      't/multi',
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { ...arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
          { ...attestation, platform: { os: 'unknown', architecture: 'unknown' } },
          { ...amd, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      },
      'application/vnd.oci.image.index.v1+json',
      'multi',
    );
    const pulled = await pullImage(`${reg.host}/t/multi:multi`, target, fast);
    expect(readFileSync(join(target, 'arch'), 'utf8')).toBe('amd64');
    expect(pulled.manifestDigest).toBe(amd.digest);
    await pullImage(`${reg.host}/t/multi@${index.digest}`, join(base, 'by-digest'), fast);
    expect(readFileSync(join(base, 'by-digest', 'arch'), 'utf8')).toBe('amd64');

    reg.manifest('t/multi', { schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [{ ...arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }] }, 'application/vnd.docker.distribution.manifest.list.v2+json', 'armonly');
    await expect(pullImage(`${reg.host}/t/multi:armonly`, join(base, 'arm'), fast)).rejects.toThrow(`image ${reg.host}/t/multi:armonly: no linux/amd64 image in its index (it has linux/arm64/v8)`);
  });

  test('429 with Retry-After is waited out and retried; a registry that keeps refusing or never answers fails naming the image and the answer', async () => {
    reg = await new FakeRegistry({ auth: 'none' }).start();
    reg.image('t/busy', 'v1', [gzipLayer([file('f', 'f')])]);
    reg.throttle.set('/manifests/v1', { times: 1, retryAfter: '1' });
    const started = Date.now();
    await pullImage(`${reg.host}/t/busy:v1`, target, fast);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(reg.requests.filter((r) => r.path.endsWith('/manifests/v1'))).toHaveLength(2);
    expect(readFileSync(join(target, 'f'), 'utf8')).toBe('f');

    reg.throttle.set('/manifests/v1', { times: 10, retryAfter: '0' });
    await expect(pullImage(`${reg.host}/t/busy:v1`, join(base, 'x'), { ...fast, attempts: 3 })).rejects.toThrow(
      `image ${reg.host}/t/busy:v1: manifest v1: gave up after 3 attempts; last: manifest v1: registry ${reg.host} answered 429: {"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`,
    );
    reg.throttle.clear();
    reg.hang.add('/manifests/v1');
    await expect(pullImage(`${reg.host}/t/busy:v1`, join(base, 'y'), { ...fast, attempts: 2, requestTimeoutMs: 200 })).rejects.toThrow(
      `image ${reg.host}/t/busy:v1: manifest v1: gave up after 2 attempts; last: manifest v1: ${reg.host} could not be reached (no answer for 200 ms)`,
    );
  });

  test('limits: too many entries, or more bytes than allowed (compressed or as written, a gzip bomb), fail naming the limit before the layer is written', async () => {
    reg = await new FakeRegistry({ auth: 'none' }).start();
    reg.image('t/big', 'v1', [gzipLayer([dir('d/'), file('d/1', '1'), file('d/2', '2'), file('d/3', '3')])]);
    const image = `${reg.host}/t/big:v1`;
    await expect(pullImage(image, target, { ...fast, limits: { maxEntries: 3 } })).rejects.toThrow(`image ${image}: its layers hold more than 3 entries (limit maxEntries)`);
    expect(readdirSync(target)).toEqual([]);
    await pullImage(image, join(base, 'fits'), { ...fast, limits: { maxEntries: 4 } });

    await expect(pullImage(image, join(base, 'small'), { ...fast, limits: { maxBytes: 20 } })).rejects.toThrow(/^image .*: its layers weigh \d+ bytes compressed, more than the 20 allowed \(limit maxBytes\); nothing was downloaded/);
    const bomb = gzipSync(tarLayer([file('zeros', '\0'.repeat(200_000))]));
    expect(bomb.length).toBeLessThan(5_000);
    reg.image('t/bomb', 'v1', [bomb]);
    await expect(pullImage(`${reg.host}/t/bomb:v1`, join(base, 'bomb'), { ...fast, limits: { maxBytes: 100_000 } })).rejects.toThrow(`image ${reg.host}/t/bomb:v1: its layers hold more than 100000 bytes of files (limit maxBytes)`);
    expect(readdirSync(join(base, 'bomb'))).toEqual([]);
  });
});
