/**
 * Applies an image's layers (tar, optionally gzip-compressed) in order into a directory, as a
 * container runtime's snapshotter would, without running anything of the image:
 *
 * - whiteouts: `.wh.<name>` deletes `<name>` of the layers below, `.wh..wh..opq` empties its
 *   directory of what the layers below put there; neither is written;
 * - a later layer's entry replaces what a lower one had at its path (a hard link of the old file
 *   keeps the old content, as in overlayfs);
 * - hard links and symbolic links stay links, a symbolic link's target verbatim (absolute
 *   targets mean the image's own root);
 * - never writing outside the directory: node-tar refuses `..` in paths and hard-link targets,
 *   strips a leading `/`, and refuses to write, link or make a directory through a symbolic link
 *   already in the tree (including one an earlier layer made); whiteouts and modes are applied
 *   here with the same rule. Each refused entry is reported, the rest applied;
 * - device nodes and fifos skipped; setuid / setgid bits cleared; owners kept only when this
 *   process runs as root (otherwise everything is the caller's); modes exactly the layer's.
 *
 * Each layer is read twice: first listed (limits checked before anything of it is written,
 * whiteouts collected), then extracted.
 */
import { createReadStream, lstatSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, posix } from 'node:path';
import * as tar from 'tar';
import { ImagePullError } from './registry';

export interface LayerLimits {
  /** Most bytes of file contents all layers together may write. */
  readonly maxBytes: number;
  /** Most tar entries all layers together may have. */
  readonly maxEntries: number;
}

/** An entry of a layer that was not applied, and why. */
export interface SkippedEntry {
  readonly layer: string;
  readonly path: string;
  readonly reason: string;
}

/** What applying an image's layers one by one carries from one layer to the next. */
export class LayerApplier {
  entries = 0;
  bytes = 0;
  readonly skipped: SkippedEntry[] = [];
  skippedCount = 0;
  /** Final mode of each regular file and directory written (applied once every layer is). */
  private readonly modes = new Map<string, number>();

  constructor(
    readonly root: string,
    readonly image: string,
    readonly limits: LayerLimits,
  ) {}

  private skip(layer: string, path: string, reason: string): void {
    this.skippedCount++;
    if (this.skipped.length < 200) this.skipped.push({ layer, path, reason });
  }

  /** Applies one layer (a verified blob on disk) over what the layers before it left. */
  async apply(file: string, layer: string): Promise<void> {
    const plan = await this.list(file, layer);
    for (const p of plan.whiteouts) this.remove(p);
    for (const dir of plan.opaque) this.empty(dir);
    // A non-directory entry replaces a directory of the layers below (node-tar would only rmdir an empty one).
    for (const p of plan.nonDirs) {
      const abs = this.resolve(p);
      if (abs && isDir(abs)) this.remove(p);
    }
    await this.extract(file, layer);
  }

  /** Pass 1: counts (limits), whiteouts, opaque directories and paths of non-directories. */
  private async list(file: string, layer: string): Promise<{ whiteouts: string[]; opaque: string[]; nonDirs: string[] }> {
    const whiteouts: string[] = [];
    const opaque: string[] = [];
    const nonDirs: string[] = [];
    let over: ImagePullError | undefined;
    const parser: tar.Parser = new tar.Parser({
      onReadEntry: (e): void => {
        e.resume();
        if (over) return;
        this.entries++;
        this.bytes += e.size ?? 0;
        if (this.entries > this.limits.maxEntries) over = this.tooLarge(`more than ${this.limits.maxEntries} entries (limit maxEntries)`);
        else if (this.bytes > this.limits.maxBytes) over = this.tooLarge(`more than ${this.limits.maxBytes} bytes of files (limit maxBytes)`);
        if (over) {
          parser.abort(over);
          return;
        }
        const p = normalise(e.path);
        if (p === undefined) return;
        const base = posix.basename(p);
        if (base === OPAQUE) opaque.push(posix.dirname(p) === '.' ? '' : posix.dirname(p));
        else if (base.startsWith(WHITEOUT)) whiteouts.push(posix.join(posix.dirname(p), base.slice(WHITEOUT.length)));
        else if (e.type !== 'Directory' && e.type !== 'GNUDumpDir') nonDirs.push(p);
      },
    });
    await new Promise<void>((resolve, reject) => {
      const input = createReadStream(file);
      parser.on('error', (er: Error) => {
        input.destroy();
        reject(er);
      });
      parser.on('end', () => resolve());
      input.on('error', reject);
      input.pipe(parser as unknown as NodeJS.WritableStream);
    }).catch((e: Error) => {
      if (over) throw over;
      throw new ImagePullError(`image ${this.image}: layer ${layer} is not a readable tar archive (${e.message})`);
    });
    if (over) throw over;
    return { whiteouts, opaque, nonDirs };
  }

  private tooLarge(what: string): ImagePullError {
    return new ImagePullError(`image ${this.image}: its layers hold ${what}; nothing more is applied. Raise the limit if the image is trusted to be that large`);
  }

  /** Pass 2: node-tar writes every entry but whiteouts, devices and fifos, with its path protections on. */
  private async extract(file: string, layer: string): Promise<void> {
    const links = new Map<string, string>();
    let fatal: Error | undefined;
    await tar
      .x({
        file,
        cwd: this.root,
        strict: false,
        preservePaths: false,
        // Owners of the image only when this process may give them; otherwise the caller's.
        preserveOwner: process.getuid?.() === 0,
        filter: (path, entry) => {
          const e = entry as tar.ReadEntry;
          const p = normalise(path);
          const base = p === undefined ? '' : posix.basename(p);
          if (base === OPAQUE || base.startsWith(WHITEOUT)) return false;
          if (e.type === 'CharacterDevice' || e.type === 'BlockDevice' || e.type === 'FIFO') {
            this.skip(layer, path, `${e.type}: device nodes and fifos are not made`);
            return false;
          }
          if (typeof e.mode === 'number') e.mode &= ~0o6000;
          if (p === undefined) return true; // node-tar refuses it (and reports why)
          if (e.type === 'SymbolicLink') {
            // The target is set verbatim once the layer is applied: node-tar would strip a leading
            // `/` (breaking /etc/alternatives-style links); until then the link points nowhere.
            links.set(p, String(e.linkpath));
            e.linkpath = PLACEHOLDER;
            this.modes.delete(p);
          } else if (e.type === 'Link') this.modes.delete(p);
          else if (typeof e.mode === 'number') this.modes.set(p, e.mode & 0o1777);
          return true;
        },
        onwarn: (code, message, data) => {
          if (code === 'TAR_ENTRY_INFO') return;
          const d = data as { entry?: { path?: string; type?: string }; path?: string; code?: string };
          const path = String(d.entry?.path ?? d.path ?? '?');
          const refused =
            d.code === 'TAR_SYMLINK_ERROR' ||
            code === 'TAR_ENTRY_UNSUPPORTED' ||
            /contains '\.\.'|escapes extraction directory|escaped extraction target|excessively deep/.test(String(message)) ||
            // A hard link to a file that is not there (e.g. one refused above).
            (d.entry?.type === 'Link' && d.code === 'ENOENT');
          if (refused) {
            const p = normalise(path);
            if (p !== undefined) {
              this.modes.delete(p);
              links.delete(p);
            }
            this.skip(layer, path, String(message));
          } else fatal ??= new ImagePullError(`image ${this.image}: layer ${layer}: ${path} could not be written: ${String(message)}`);
        },
      })
      .catch((e: Error) => {
        throw e instanceof ImagePullError ? e : new ImagePullError(`image ${this.image}: layer ${layer} could not be applied: ${e.message}`);
      });
    if (fatal) throw fatal;
    for (const [p, target] of links) {
      const abs = this.resolve(p);
      if (!abs) continue;
      let placeholder = false;
      try {
        placeholder = lstatSync(abs).isSymbolicLink() && readlinkSync(abs) === PLACEHOLDER;
      } catch {
        /* replaced or removed later in the layer */
      }
      if (!placeholder) continue;
      const tmp = join(dirname(abs), `.uplift-link-${randomBytes(6).toString('hex')}`);
      symlinkSync(target, tmp);
      renameSync(tmp, abs);
    }
  }

  /** Once every layer is applied: each file and directory gets its layer's mode (deepest first); the root stays traversable. */
  finish(): void {
    const byDepth = [...this.modes].sort((a, b) => b[0].split('/').length - a[0].split('/').length);
    for (const [p, mode] of byDepth) {
      if (p === '') continue;
      const abs = this.resolve(p);
      if (!abs) continue;
      try {
        if (lstatSync(abs).isSymbolicLink()) continue;
        chmodSync(abs, mode);
      } catch {
        /* removed by a later layer */
      }
    }
    chmodSync(this.root, 0o755);
  }

  /**
   * The path of `p` in the tree when every directory on the way is a real directory (no symbolic
   * link, nothing missing); undefined otherwise. The last component may be anything.
   */
  private resolve(p: string): string | undefined {
    if (p === '') return this.root;
    const parts = p.split('/');
    let at = this.root;
    for (const part of parts.slice(0, -1)) {
      at = join(at, part);
      if (!isDir(at)) return undefined;
    }
    return join(at, parts[parts.length - 1]);
  }

  /** Deletes `p` of the layers below (a whiteout): never through a symbolic link, the link itself when it is one. */
  private remove(p: string): void {
    const abs = this.resolve(p);
    if (!abs || abs === this.root) return;
    rmSync(abs, { recursive: true, force: true });
  }

  /** Empties a directory of what the layers below put there (an opaque whiteout). */
  private empty(dir: string): void {
    const abs = this.resolve(dir);
    if (!abs || !isDir(abs)) return;
    for (const name of readdirSync(abs)) rmSync(join(abs, name), { recursive: true, force: true });
  }
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
const PLACEHOLDER = '.uplift-symlink-pending';

function isDir(abs: string): boolean {
  try {
    return lstatSync(abs).isDirectory();
  } catch {
    return false;
  }
}

/** A tar path relative to the root (`./a/b/` → `a/b`, the root itself ''), or undefined when it climbs out (`..`). */
export function normalise(path: string): string | undefined {
  const p = posix.normalize(`/${path.replace(/\\/g, '/')}`).replace(/^\/+/, '').replace(/\/+$/, '');
  if (path.split(/[\\/]/).includes('..')) return undefined;
  return p;
}
