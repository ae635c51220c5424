// Thumbnails of on-demand indexes (IndexConfig.thumbnails): made from the dataset image the first
// time a host asks for one, kept in the index's thumbs folder, and evicted least recently used
// first once that folder holds more than the cap. An eager index (and any index from before the
// choice) is only ever read: its files are never made or deleted here.
//
// Requests for the same thumbnail while it is being made share one render; at most `parallel`
// renders run at once (each is a libvips pipeline on the thread pool, so the main thread stays free).
import fs from 'node:fs';
import path from 'node:path';
import { isInside, realFolderInPlace, resolveContained } from '../paths/containedPath.js';
import { DEFAULT_THUMBNAIL_CACHE_BYTES } from '../settingsStore.js';
import { THUMBS_DIR, thumbnailMode, type IndexConfig } from '../store/indexConfig.js';
import { renderThumbnail } from './renderThumbnail.js';

/** What the cache needs of an open index (an IndexReader). */
interface ThumbnailIndex {
  readonly dir: string;
  readonly config: IndexConfig;
  itemPath(itemId: number): string | null;
}

/** The names made on demand: `<item>.webp` (clip strips belong to video indexes, always eager). */
const ON_DEMAND_NAME = /^(\d{1,16})\.webp$/;

/** A use is written to the file's atime (so the order survives a restart) at most this often. */
const PERSIST_TOUCH_MS = 10 * 60 * 1000;

interface Entry {
  size: number;
  /** When the file's atime was last set (ms), or read from disk. */
  persistedAt: number;
}

/** One thumbs folder's files, least recently used first (Map keeps insertion order). */
interface Folder {
  entries: Map<string, Entry>;
  total: number;
  ready: Promise<void>;
}

interface ThumbnailCacheOptions {
  /** Byte cap per index, asked on every eviction so a changed setting applies at once. */
  capBytes?: () => number;
  /** Renders at once, over all indexes. */
  parallel?: number;
}

export class ThumbnailCache {
  /** Thumbnails rendered so far (tests and benchmarks). */
  rendered = 0;
  private readonly capBytes: () => number;
  private readonly parallel: number;
  private readonly inFlight = new Map<string, Promise<string | null>>();
  private readonly folders = new Map<string, Folder>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(opts: ThumbnailCacheOptions = {}) {
    this.capBytes = opts.capBytes ?? (() => DEFAULT_THUMBNAIL_CACHE_BYTES);
    this.parallel = Math.max(1, opts.parallel ?? 4);
  }

  /**
   * Absolute path of thumbnail `file` (as it appeared in the URL) of `index`, making it first when
   * the index is on-demand and it does not exist yet; null when there is none and none can be made
   * (eager index, dataset gone, unreadable image, an item path that leaves the dataset folder).
   */
  async resolve(index: ThumbnailIndex, file: string): Promise<string | null> {
    const thumbs = path.join(index.dir, THUMBS_DIR);
    const existing = resolveContained(thumbs, file);
    if (thumbnailMode(index.config) !== 'on-demand') return existing;
    const realThumbs = realFolderInPlace(thumbs) ?? createThumbs(thumbs);
    if (existing) {
      if (realThumbs) void this.touch(realThumbs, path.basename(existing), existing);
      return existing;
    }
    const id = ON_DEMAND_NAME.exec(file)?.[1];
    // Only the name the indexer would write (`7.webp`, not `007.webp`): one file per item.
    if (!id || String(Number(id)) !== id || !realThumbs || !index.config.preprocess) return null;
    const name = `${id}.webp`;
    const key = path.join(realThumbs, name);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    // Read now: the index may be closed while this request waits for a render slot.
    const source = datasetFile(index.config.dataRoot, index.itemPath(Number(id)));
    if (!source) return null;
    const started = this.render(realThumbs, name, source, index.config.preprocess).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  private async render(realThumbs: string, name: string, source: string, spec: NonNullable<IndexConfig['preprocess']>): Promise<string | null> {
    await this.slot();
    let size: number;
    try {
      size = await renderThumbnail(source, spec, path.join(realThumbs, name));
      this.rendered++;
    } catch {
      return null; // missing or corrupt image: the host answers 404 and the tile shows a placeholder
    } finally {
      this.release();
    }
    await this.add(realThumbs, name, size);
    return resolveContained(realThumbs, name);
  }

  private async slot(): Promise<void> {
    if (this.running < this.parallel) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes straight on
    else this.running--;
  }

  private folder(realThumbs: string): Folder {
    let f = this.folders.get(realThumbs);
    if (!f) {
      // What an earlier session left, oldest use first; every change waits for this scan.
      const created: Folder = { entries: new Map(), total: 0, ready: Promise.resolve() };
      created.ready = scanFolder(realThumbs).then((found) => {
        created.entries = found;
        for (const entry of found.values()) created.total += entry.size;
      });
      f = created;
      this.folders.set(realThumbs, f);
    }
    return f;
  }

  private async touch(realThumbs: string, name: string, file: string): Promise<void> {
    const f = this.folder(realThumbs);
    await f.ready;
    const entry = f.entries.get(name);
    if (!entry) return;
    f.entries.delete(name);
    f.entries.set(name, entry);
    const now = Date.now();
    if (now - entry.persistedAt < PERSIST_TOUCH_MS) return;
    entry.persistedAt = now;
    try {
      // atime only: the mtime is the file's ETag, which should not change when it is merely shown.
      const { mtime } = await fs.promises.lstat(file);
      await fs.promises.utimes(file, new Date(now), mtime);
    } catch {
      // evicted or removed meanwhile
    }
  }

  private async add(realThumbs: string, name: string, size: number): Promise<void> {
    const f = this.folder(realThumbs);
    await f.ready;
    const old = f.entries.get(name);
    if (old) f.total -= old.size;
    f.entries.delete(name);
    f.entries.set(name, { size, persistedAt: Date.now() });
    f.total += size;
    const cap = this.capBytes();
    // The newest file stays even when it alone is over the cap: it is being served.
    for (const [victim, entry] of f.entries) {
      if (f.total <= cap || victim === name) break;
      f.entries.delete(victim);
      f.total -= entry.size;
      await fs.promises.rm(path.join(realThumbs, victim), { force: true });
    }
  }
}

/**
 * The dataset image behind an item, or null when it cannot be made: no dataset recorded or
 * present, or an item path that is not a plain relative path inside the dataset folder (the
 * database is as untrusted as any file someone hands over: `../../etc/x` and `/etc/x` are
 * refused). The check is on the path as named, not on where links lead: datasets made of links
 * (an ImageNet subset linked from a shared copy) are common, the indexer read the same files
 * through them, and what goes out is a re-encoded 224-pixel picture, never the file's bytes.
 */
function datasetFile(dataRoot: string, itemPath: string | null): string | null {
  if (!dataRoot || !itemPath) return null;
  let realRoot: string;
  try {
    realRoot = fs.realpathSync.native(dataRoot);
  } catch {
    return null;
  }
  if (itemPath.includes('\0') || itemPath.startsWith('/') || path.isAbsolute(itemPath)) return null;
  const segments = itemPath.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return null;
  const file = path.join(realRoot, ...segments);
  if (!isInside(realRoot, file)) return null;
  try {
    return fs.statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

/**
 * An on-demand index copied without its empty `thumbs/` (git, some archivers) gets a new one. Only
 * when nothing is there: a file or a link of that name is left alone, and refused.
 */
function createThumbs(thumbs: string): string | null {
  try {
    fs.mkdirSync(thumbs);
  } catch {
    return null;
  }
  return realFolderInPlace(thumbs);
}

/** Regular `<item>.webp` files in a thumbs folder, least recently used (atime) first. */
async function scanFolder(dir: string): Promise<Map<string, Entry>> {
  const names = (await fs.promises.readdir(dir).catch(() => [] as string[])).filter((n) => ON_DEMAND_NAME.test(n));
  const found: { name: string; size: number; atimeMs: number }[] = [];
  const CHUNK = 256;
  for (let i = 0; i < names.length; i += CHUNK) {
    const stats = await Promise.all(names.slice(i, i + CHUNK).map((n) => fs.promises.lstat(path.join(dir, n)).catch(() => null)));
    stats.forEach((s, j) => {
      if (s?.isFile()) found.push({ name: names[i + j]!, size: s.size, atimeMs: s.atimeMs });
    });
  }
  found.sort((a, b) => a.atimeMs - b.atimeMs);
  return new Map(found.map((f) => [f.name, { size: f.size, persistedAt: f.atimeMs }]));
}
