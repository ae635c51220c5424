import fs from 'node:fs';
import path from 'node:path';
import type { RecentIndex } from '../contract/index.js';

const MAX_RECENT = 20;

/** Default byte cap of one index's on-demand thumbnails (thumbnailCache.ts): about 300,000 at 7 KB. */
export const DEFAULT_THUMBNAIL_CACHE_BYTES = 2 * 1024 ** 3;

/** App-wide settings file: recently opened indexes, most recent first (also "last opened"). */
export class SettingsStore {
  private readonly file: string;

  constructor(dir: string) {
    this.file = path.join(dir, 'settings.json');
  }

  recent(): RecentIndex[] {
    return this.read().recent;
  }

  last(): RecentIndex | null {
    return this.read().recent[0] ?? null;
  }

  touch(entry: Omit<RecentIndex, 'openedAt'>): void {
    const data = this.read();
    data.recent = [{ ...entry, openedAt: new Date().toISOString() }, ...data.recent.filter((r) => r.id !== entry.id)].slice(
      0,
      MAX_RECENT,
    );
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(data, null, 2));
    fs.renameSync(tmp, this.file);
  }

  /**
   * Byte cap of each on-demand index's thumbnails (thumbnailCache.ts): `thumbnailCacheMiB` in
   * settings.json, a positive number; else 2 GiB.
   */
  thumbnailCacheBytes(): number {
    try {
      const mib = (JSON.parse(fs.readFileSync(this.file, 'utf8')) as { thumbnailCacheMiB?: unknown }).thumbnailCacheMiB;
      if (typeof mib === 'number' && Number.isFinite(mib) && mib > 0) return Math.round(mib * 1024 * 1024);
    } catch {
      // no settings yet, or unreadable: the default
    }
    return DEFAULT_THUMBNAIL_CACHE_BYTES;
  }

  /** Changes a recorded entry in place (a rename), keeping its position and time. */
  update(id: string, patch: Partial<Omit<RecentIndex, 'id' | 'openedAt'>>): void {
    const data = this.read();
    if (!data.recent.some((r) => r.id === id)) return;
    data.recent = data.recent.map((r) => (r.id === id ? { ...r, ...patch } : r));
    this.write(data);
  }

  private write(data: { recent: RecentIndex[] }): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(data, null, 2));
    fs.renameSync(tmp, this.file);
  }

  private read(): { recent: RecentIndex[] } {
    try {
      const data = JSON.parse(fs.readFileSync(this.file, 'utf8')) as { recent?: RecentIndex[] };
      // Other settings (thumbnailCacheMiB) are kept when the recent list is rewritten.
      return { ...data, recent: Array.isArray(data.recent) ? data.recent : [] };
    } catch {
      return { recent: [] };
    }
  }
}
