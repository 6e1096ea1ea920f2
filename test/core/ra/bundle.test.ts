import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SpecError } from '../../../core/errors';
import { BUNDLE_HASH_FORMAT, bundleHash, diffBundles, fetchBundle, listBundleFiles, packBundle, readManifest, stageBundle, unpackBundle, UnsafeBundleError } from '../../../core/ra/bundle';
import { MemoryArtifactStore } from '../../support/memory-store';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** A directory holding `files` (path → content); missing parent folders are created. */
function tree(files: Record<string, string | Buffer>): string {
  const dir = tmp('bundle-test-');
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), content);
  }
  return dir;
}

const MANIFEST = 'name: t\nentrypoint: [python3, agent.py]\ncbm: classification\n';

/** A valid RA bundle, plus `extra` files; `manifest` replaces agent.yaml's text. */
function bundle(extra: Record<string, string> = {}, manifest = MANIFEST): string {
  return tree({ 'agent.yaml': manifest, 'agent.py': 'print("hi")\n', 'prompt.txt': 'Classify.\n', ...extra });
}

/** A secret outside every bundle, where an escaping path would reach. */
function hostSecret(): { dir: string; file: string } {
  const dir = tmp('host-secret-');
  const file = join(dir, 'secret.txt');
  writeFileSync(file, 'AWS_SECRET_ACCESS_KEY=leaked\n');
  return { dir, file };
}

/** Runs `fn`; returns the SpecError it throws (fails the test when it throws nothing). */
function specErrorOf(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error('expected a SpecError');
}

describe('readManifest: every path agent.yaml names stays inside the bundle', () => {
  test('a plain bundle is accepted, with prompt.txt by default and a prompt in a subfolder', () => {
    // GIVEN a bundle with the default prompt, and one naming prompts/main.txt
    expect(readManifest(bundle()).prompt).toBe('prompt.txt');
    const dir = bundle({ 'prompts/main.txt': 'x' }, `${MANIFEST}prompt: ./prompts/main.txt\n`);
    // THEN both are valid, and absolute interpreters in the entrypoint are fine
    expect(readManifest(dir).prompt).toBe('./prompts/main.txt');
    expect(readManifest(bundle({}, 'name: t\nentrypoint: [/usr/bin/python3, agent.py]\ncbm: classification\n')).entrypoint[0]).toBe('/usr/bin/python3');
  });

  test('prompt: "../" that reaches a host file is refused, naming the field, the value and the fix', () => {
    // GIVEN a secret next to the bundle, and a prompt that climbs out to it
    const secret = hostSecret();
    const dir = bundle();
    writeFileSync(join(dir, 'agent.yaml'), `${MANIFEST}prompt: ${relative(dir, secret.file)}\n`);
    const e = specErrorOf(() => readManifest(dir));
    // THEN the error is an UnsafeBundleError on prompt, quoting the value, with a fix
    expect(e).toBeInstanceOf(UnsafeBundleError);
    expect(e.problems).toHaveLength(1);
    expect(e.problems[0]).toContain(`${join(dir, 'agent.yaml')}: prompt: "${relative(dir, secret.file)}" contains ".."`);
    expect(e.problems[0]).toContain('Fix: name a file inside the bundle');
  });

  test('prompt: ".." even when it would land back inside ("sub/../prompt.txt" could follow a linked sub)', () => {
    const e = specErrorOf(() => readManifest(bundle({ 'sub/x': '' }, `${MANIFEST}prompt: sub/../prompt.txt\n`)));
    expect(e).toBeInstanceOf(UnsafeBundleError);
    expect(e.message).toContain('prompt: "sub/../prompt.txt" contains ".."');
  });

  test('prompt: an absolute path is refused', () => {
    const secret = hostSecret();
    const e = specErrorOf(() => readManifest(bundle({}, `${MANIFEST}prompt: ${secret.file}\n`)));
    expect(e).toBeInstanceOf(UnsafeBundleError);
    expect(e.message).toContain(`prompt: "${secret.file}" is an absolute path`);
  });

  test('prompt: a symbolic link to a host file is refused', () => {
    // GIVEN prompt.txt replaced by a link to a host secret (the harness would read and rewrite it)
    const secret = hostSecret();
    const dir = bundle();
    execFileSync('rm', [join(dir, 'prompt.txt')]);
    symlinkSync(secret.file, join(dir, 'prompt.txt'));
    const e = specErrorOf(() => readManifest(dir));
    expect(e).toBeInstanceOf(UnsafeBundleError);
    expect(e.message).toContain('prompt: "prompt.txt" goes through the symbolic link "prompt.txt"');
    expect(e.message).toContain('Fix: replace the link with the file it points to');
  });

  test('prompt: a path through a linked folder is refused', () => {
    const secret = hostSecret();
    const dir = bundle();
    symlinkSync(secret.dir, join(dir, 'prompts'));
    writeFileSync(join(dir, 'agent.yaml'), `${MANIFEST}prompt: prompts/secret.txt\n`);
    const e = specErrorOf(() => readManifest(dir));
    expect(e).toBeInstanceOf(UnsafeBundleError);
    expect(e.message).toContain('prompt: "prompts/secret.txt" goes through the symbolic link "prompts"');
  });

  test('prompt: a folder or a FIFO is not a prompt file (a FIFO would hang the harness)', () => {
    const dir = bundle({ 'p/x': '' }, `${MANIFEST}prompt: p\n`);
    expect(specErrorOf(() => readManifest(dir)).message).toContain('prompt: "p" is a folder, not a regular file');
    const fifo = bundle({}, `${MANIFEST}prompt: fifo\n`);
    execFileSync('mkfifo', [join(fifo, 'fifo')]);
    expect(specErrorOf(() => readManifest(fifo)).message).toContain('prompt: "fifo" is a special file');
  });

  test('prompt: a missing file says so (a plain SpecError with the fix)', () => {
    const e = specErrorOf(() => readManifest(bundle({}, `${MANIFEST}prompt: prompts/missing.txt\n`)));
    expect(e.message).toContain('prompt: "prompts/missing.txt" not found in the bundle. Fix:');
  });

  test('prompt: a file that staging leaves out (.git, __pycache__) is refused', () => {
    const e = specErrorOf(() => readManifest(bundle({ '.git/prompt.txt': 'x' }, `${MANIFEST}prompt: .git/prompt.txt\n`)));
    expect(e.message).toContain('prompt: ".git/prompt.txt" is left out when a bundle is staged');
  });

  test('agent.yaml itself may not be a link to a host file', () => {
    // GIVEN agent.yaml linked to a host file (its content would show up in error messages)
    const outside = tmp('host-yaml-');
    writeFileSync(join(outside, 'agent.yaml'), MANIFEST);
    const dir = bundle();
    execFileSync('rm', [join(dir, 'agent.yaml')]);
    symlinkSync(join(outside, 'agent.yaml'), join(dir, 'agent.yaml'));
    const e = specErrorOf(() => readManifest(dir));
    expect(e).toBeInstanceOf(UnsafeBundleError);
    expect(e.message).toContain('agent.yaml: is a symbolic link');
  });

  test('entrypoint: a relative path that climbs out of the bundle is refused', () => {
    const e = specErrorOf(() => readManifest(bundle({}, 'name: t\nentrypoint: [python3, ../other/agent.py]\ncbm: classification\n')));
    expect(e).toBeInstanceOf(UnsafeBundleError);
    expect(e.message).toContain('entrypoint[1]: "../other/agent.py" points outside the bundle');
  });

  test('values with control characters are quoted escaped in the error', () => {
    const e = specErrorOf(() => readManifest(bundle({}, `${MANIFEST}prompt: "../\\e[2Jx"\n`)));
    expect(e.message).toContain('prompt: "../\\u001b[2Jx"');
    expect(e.message).not.toContain('\x1b');
  });
});

describe('bundle files: symbolic links are refused, not followed', () => {
  test('a link to a host file fails listing, hashing and staging with the fix (it used to be read and hashed)', async () => {
    // GIVEN a bundle with a link to a host secret
    const secret = hostSecret();
    const dir = bundle();
    symlinkSync(secret.file, join(dir, 'notes.txt'));
    // THEN every reader of the bundle refuses it, naming the link
    for (const fn of [() => listBundleFiles(dir), () => bundleHash(dir), () => packBundle(dir)]) {
      const e = specErrorOf(fn);
      expect(e).toBeInstanceOf(UnsafeBundleError);
      expect(e.message).toContain('"notes.txt" is a symbolic link');
      expect(e.message).toContain('Fix: replace it with a copy');
    }
    await expect(stageBundle(new MemoryArtifactStore(), dir)).rejects.toBeInstanceOf(UnsafeBundleError);
  });

  test('a file named "@x" is packed as a file, not read as an archive to copy entries from', () => {
    // GIVEN "@evil" next to "evil", a tarball holding a link (tar's "@archive" syntax would inline it)
    const evil = tree({ 'inner.txt': 'from the inner archive' });
    const dir = bundle({ '@evil': 'just a file' });
    writeFileSync(join(dir, 'evil'), Buffer.from(execFileSync('tar', ['czf', '-', '-C', evil, 'inner.txt'])));
    const out = join(tmp('unpacked-'), 'b');
    unpackBundle(packBundle(dir), out);
    expect(readFileSync(join(out, '@evil'), 'utf8')).toBe('just a file');
    expect(existsSync(join(out, 'inner.txt'))).toBe(false);
  });
});

/** The bundleHash of this file before v2: path NUL content NUL, in walk order, no version. */
function oldBundleHash(dir: string): string {
  const h = createHash('sha256');
  for (const f of listBundleFiles(dir)) {
    h.update(f + '\0');
    h.update(readFileSync(join(dir, f)));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

describe('bundleHash: unambiguous framing', () => {
  test('content holding "\\0<path>\\0" no longer collides with a second file (it did before)', () => {
    // GIVEN { a: "x\0b\0y" } and { a: "x", b: "y" }: the same bytes under the old framing
    const one = tree({ a: 'x\0b\0y' });
    const two = tree({ a: 'x', b: 'y' });
    expect(oldBundleHash(one)).toBe(oldBundleHash(two));
    // THEN the hashes differ now
    expect(bundleHash(one)).not.toBe(bundleHash(two));
  });

  test('the boundary between path and content is part of the hash', () => {
    expect(bundleHash(tree({ a: 'bc' }))).not.toBe(bundleHash(tree({ ab: 'c' })));
    expect(bundleHash(tree({ 'a/b': '' }))).not.toBe(bundleHash(tree({ a: 'b' })));
  });

  test('the executable bit counts (the entrypoint may run the file); it collided before', () => {
    const plain = tree({ 'run.sh': 'echo hi\n' });
    const exec = tree({ 'run.sh': 'echo hi\n' });
    chmodSync(join(exec, 'run.sh'), 0o755);
    expect(oldBundleHash(plain)).toBe(oldBundleHash(exec));
    expect(bundleHash(plain)).not.toBe(bundleHash(exec));
    // other mode bits are not part of a bundle
    chmodSync(join(plain, 'run.sh'), 0o600);
    const other = tree({ 'run.sh': 'echo hi\n' });
    chmodSync(join(other, 'run.sh'), 0o664);
    expect(bundleHash(plain)).toBe(bundleHash(other));
  });

  test('an empty file is not an empty folder; an empty folder is not part of the bundle (it is not packed either)', () => {
    const file = bundle({ a: '' });
    const folder = bundle();
    mkdirSync(join(folder, 'a'));
    expect(bundleHash(file)).not.toBe(bundleHash(folder));
    expect(bundleHash(folder)).toBe(bundleHash(bundle()));
    const out = join(tmp('unpacked-'), 'b');
    unpackBundle(packBundle(folder), out);
    expect(readdirSync(out).sort()).toEqual(['agent.py', 'agent.yaml', 'prompt.txt']);
  });

  test('the order files were written in does not matter; the format is versioned and pinned', () => {
    const ab = tree({ 'a.txt': '1', 'a/b': '2', 'a-b': '3' });
    const ba = tree({ 'a-b': '3', 'a/b': '2', 'a.txt': '1' });
    expect(bundleHash(ab)).toBe(bundleHash(ba));
    // The documented framing, byte by byte: version, then per file (paths in byte order)
    // u32 path length, path, executable flag, u64 content length, content.
    const u32 = (n: number) => Buffer.from([0, 0, 0, n]);
    const u64 = (n: number) => Buffer.from([0, 0, 0, 0, 0, 0, 0, n]);
    const frame = (path: string, exec: number, content: string) => [u32(path.length), Buffer.from(path), Buffer.from([exec]), u64(content.length), Buffer.from(content)];
    const expected = createHash('sha256')
      .update(Buffer.concat([u32(BUNDLE_HASH_FORMAT.length), Buffer.from(BUNDLE_HASH_FORMAT), ...frame('a-b', 0, '3'), ...frame('a.txt', 0, '1'), ...frame('a/b', 0, '2')]))
      .digest('hex');
    expect(bundleHash(ab)).toBe(expected);
    // A change of these values changes every staged key and baseline cache key: bump the version.
    expect(BUNDLE_HASH_FORMAT).toBe('uplift-bundle-hash/v2');
    expect(bundleHash(ab)).toBe('666a56874b483267765e2d5f17a3676c3a88f74a7643ab17d20eab461c464862');
  });
});

type RawEntry = { path: string; type: string; body?: string; linkpath?: string; mode?: number; uid?: number };

/** A gzipped tarball written byte by byte (ustar), so hostile entries get in as they are. */
function rawTarGz(entries: RawEntry[]): Buffer {
  const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, '0') + '\0';
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const h = Buffer.alloc(512);
    h.write(e.path, 0, 100, 'utf8');
    h.write(octal(e.mode ?? 0o644, 8), 100);
    h.write(octal(e.uid ?? 0, 8), 108);
    h.write(octal(e.uid ?? 0, 8), 116);
    h.write(octal(body.length, 12), 124);
    h.write(octal(0, 12), 136);
    h.write(' '.repeat(8), 148);
    h.write(e.type, 156);
    h.write(e.linkpath ?? '', 157, 100, 'utf8');
    h.write('ustar\0', 257);
    h.write('00', 263);
    h.write(octal(1, 8), 329);
    h.write(octal(3, 8), 337);
    h.write(octal(h.reduce((a, b) => a + b, 0), 7), 148);
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const OK: RawEntry = { path: 'ok.txt', type: '0', body: 'fine' };

describe('unpackBundle: an untrusted archive cannot write outside the target, nor links or devices', () => {
  test('a packed bundle round-trips: nested and long paths, executable bit, contents', () => {
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(60)}.txt`;
    const dir = bundle({ 'lib/util.py': 'x = 1\n', [long]: 'deep', 'run.sh': '#!/bin/sh\n' });
    chmodSync(join(dir, 'run.sh'), 0o755);
    const out = join(tmp('unpacked-'), 'b');
    unpackBundle(packBundle(dir), out);
    expect(listBundleFiles(out)).toEqual(listBundleFiles(dir));
    expect(readFileSync(join(out, long), 'utf8')).toBe('deep');
    expect(statSync(join(out, 'run.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(join(out, 'agent.py')).mode & 0o777).toBe(0o644);
    expect(bundleHash(out)).toBe(bundleHash(dir));
  });

  const outside = tmp('unpack-outside-');
  const hostile: [string, RawEntry][] = [
    ['a symbolic link to a host file', { path: 'prompt.txt', type: '2', linkpath: '/etc/passwd' }],
    ['a symbolic link inside the bundle', { path: 'alias.txt', type: '2', linkpath: 'ok.txt' }],
    ['a hard link to a file of the bundle', { path: 'hard.txt', type: '1', linkpath: 'ok.txt' }],
    ['a hard link to a host file', { path: 'hard.txt', type: '1', linkpath: '/etc/passwd' }],
    ['an absolute path', { path: join(outside, 'pwned-abs'), type: '0', body: 'x' }],
    ['a ".." path', { path: '../pwned-up', type: '0', body: 'x' }],
    ['a ".." path deeper down', { path: 'a/../../pwned-deep', type: '0', body: 'x' }],
    ['a character device', { path: 'null', type: '3' }],
    ['a block device', { path: 'disk', type: '4' }],
    ['a FIFO', { path: 'fifo', type: '6' }],
  ];
  test.each(hostile)('%s is refused before anything is written', (_what, entry) => {
    // GIVEN an archive with a good file first, then the hostile entry
    const parent = tmp('unpack-');
    const dest = join(parent, 'bundle');
    const e = specErrorOf(() => unpackBundle(rawTarGz([OK, entry]), dest));
    // THEN it is refused, naming the entry, and nothing is written anywhere
    expect(e).toBeInstanceOf(UnsafeBundleError);
    expect(e.message).toContain(`bundle archive: ${JSON.stringify(entry.path)}`);
    expect(existsSync(dest) ? readdirSync(dest) : []).toEqual([]);
    expect(readdirSync(parent).filter((f) => f !== 'bundle')).toEqual([]);
    expect(readdirSync(outside)).toEqual([]);
  });

  test('setuid/setgid bits and archive owners are dropped: files are 644 or 755, owned by this process', () => {
    const out = join(tmp('unpacked-'), 'b');
    unpackBundle(rawTarGz([{ path: 'suid', type: '0', body: 'x', mode: 0o6755, uid: 4242 }, { path: 'plain', type: '0', body: 'y', mode: 0o666, uid: 4242 }]), out);
    expect(lstatSync(join(out, 'suid')).mode & 0o7777).toBe(0o755);
    expect(lstatSync(join(out, 'plain')).mode & 0o7777).toBe(0o644);
    expect(lstatSync(join(out, 'suid')).uid).toBe(process.getuid?.());
  });

  test('more files or bytes than the limits are refused', () => {
    const files = (n: number, size: number) => Array.from({ length: n }, (_, i): RawEntry => ({ path: `f${i}`, type: '0', body: 'z'.repeat(size) }));
    const limits = { maxBytes: 10_000, maxEntries: 5 };
    const dest = () => join(tmp('unpack-'), 'b');
    unpackBundle(rawTarGz(files(5, 2000)), dest(), limits);
    expect(specErrorOf(() => unpackBundle(rawTarGz(files(6, 10)), dest(), limits)).message).toContain('bundle archive: 6 entries, more than the 5 a bundle may hold');
    expect(specErrorOf(() => unpackBundle(rawTarGz(files(2, 6000)), dest(), limits)).message).toContain('bundle archive: 12,000 bytes of files, more than the 10,000 bytes a bundle may hold');
  });

  test('a gzip bomb is stopped while decompressing', () => {
    // GIVEN 64 MiB of zeros compressed to ~64 KiB, against a 1 MiB limit
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const e = specErrorOf(() => unpackBundle(bomb, join(tmp('unpack-'), 'b'), { maxBytes: 1024 * 1024, maxEntries: 100 }));
    expect(e).toBeInstanceOf(UnsafeBundleError);
    expect(e.message).toMatch(/bundle archive: decompresses to more than [\d.]+ MiB/);
  });

  test('not a gzip tarball, or a corrupt one, is an UnsafeBundleError', () => {
    expect(specErrorOf(() => unpackBundle(Buffer.from('hello'), join(tmp('unpack-'), 'b'))).message).toContain('bundle archive: not a gzip-compressed tarball');
    expect(specErrorOf(() => unpackBundle(gzipSync(Buffer.alloc(2048, 7)), join(tmp('unpack-'), 'b'))).message).toContain('bundle archive: not a valid tarball');
  });

  test('the target must be missing or an empty folder (a link already there could redirect entries)', () => {
    const bytes = packBundle(bundle());
    const full = bundle();
    expect(() => unpackBundle(bytes, full)).toThrow(/must be missing or an empty folder/);
    const linkParent = tmp('unpack-');
    symlinkSync(tmp('elsewhere-'), join(linkParent, 'b'));
    expect(() => unpackBundle(bytes, join(linkParent, 'b'))).toThrow(/must be missing or an empty folder/);
    const empty = tmp('unpack-empty-');
    unpackBundle(bytes, empty);
    expect(readdirSync(empty).sort()).toEqual(['agent.py', 'agent.yaml', 'prompt.txt']);
  });

  test('fetchBundle goes through the same checks', async () => {
    const store = new MemoryArtifactStore();
    await store.putBytes('agents/0123456789abcdef.tar.gz', rawTarGz([OK, { path: '../pwned', type: '0', body: 'x' }]));
    const parent = tmp('fetch-');
    await expect(fetchBundle(store, '0123456789abcdef', join(parent, 'b'))).rejects.toBeInstanceOf(UnsafeBundleError);
    expect(readdirSync(parent)).toEqual([]);
  });
});

describe('stageBundle', () => {
  test('stages a bundle under its hash, and refuses one beyond the size limits', async () => {
    const store = new MemoryArtifactStore();
    const dir = bundle();
    const { hash, key } = await stageBundle(store, dir);
    expect(hash).toBe(bundleHash(dir));
    expect(key).toBe(`agents/${hash}.tar.gz`);
    expect(store.objects.has(key)).toBe(true);
    await expect(stageBundle(store, bundle({ 'big.txt': 'x'.repeat(5000) }), { maxBytes: 4000, maxEntries: 100 })).rejects.toThrow(/of files, more than the .* a bundle may hold\. Fix: leave data/);
    await expect(stageBundle(store, bundle(), { maxBytes: 1e9, maxEntries: 2 })).rejects.toThrow(/3 files, more than the 2 a bundle may hold/);
  });
});

describe('diffBundles: every change is shown as text', () => {
  test('a file with a NUL byte is diffed line by line, not summed up as "Binary files differ" (a change hidden from the reader)', () => {
    const root = mkdtempSync(join(tmpdir(), 'uplift-diff-nul-'));
    for (const [dir, body] of [['ra', '// orig\n'], ['mra', '// \0\nconsole.log("hidden change ran")\n']] as const) {
      mkdirSync(join(root, dir));
      writeFileSync(join(root, dir, 'x.js'), body);
    }
    const diff = diffBundles(join(root, 'ra'), join(root, 'mra'));
    expect(diff).not.toMatch(/Binary files/);
    expect(diff).toContain('+console.log("hidden change ran")');
    expect(diff).toContain('-// orig');
  });
});
