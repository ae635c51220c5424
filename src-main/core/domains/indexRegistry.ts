import path from 'node:path';
import { createHash } from 'node:crypto';
import { StudioError } from '../errors.js';
import { IndexReader } from '../store/indexReader.js';
import type { SettingsStore } from '../settingsStore.js';

/** A stable id for an index folder, usable in routes and thumbnail URLs. */
export function indexIdFor(dir: string): string {
  return createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 12);
}

/**
 * The open indexes of one studio, by id: what every domain asks for an index. Ids from the recent
 * list are reopened on demand, so routes survive a restart.
 */
export class IndexRegistry {
  private readonly readers = new Map<string, IndexReader>();

  constructor(
    private readonly settings: SettingsStore,
    /** Runs once per reader opened (tags sync). */
    private readonly onOpen: (reader: IndexReader) => void,
    /** Runs for each folder whose reader is dropped (cached connections elsewhere go too). */
    private readonly onDrop: (dir: string) => void = () => {},
  ) {}

  /** The reader of this folder, opened when needed. */
  open(dir: string): IndexReader {
    const abs = path.resolve(dir);
    const id = indexIdFor(abs);
    let reader = this.readers.get(id);
    if (!reader) {
      reader = IndexReader.open(id, abs);
      this.readers.set(id, reader);
      this.onOpen(reader);
    }
    return reader;
  }

  /** The open index with this id; not-found with what to do when there is none. */
  reader(indexId: string): IndexReader {
    const r = this.find(indexId);
    if (!r) throw new StudioError('not-found', `No open index with id ${indexId}. Open the index folder again from the welcome screen.`);
    return r;
  }

  /** The open index with this id, reopened from the recent list when needed; null when unknown. */
  find(indexId: string): IndexReader | null {
    const open = this.readers.get(indexId);
    if (open) return open;
    const recent = this.settings.recent().find((r) => r.id === indexId);
    if (!recent) return null;
    try {
      const reader = IndexReader.open(indexId, recent.path);
      this.readers.set(indexId, reader);
      this.onOpen(reader);
      return reader;
    } catch {
      return null;
    }
  }

  /** Closes the reader of this folder and of every folder inside it (before they are rewritten). */
  dropAt(dir: string): void {
    const abs = path.resolve(dir);
    const inside = abs + path.sep;
    for (const [id, r] of this.readers) {
      if (r.dir !== abs && !r.dir.startsWith(inside)) continue;
      r.close();
      this.onDrop(r.dir);
      this.readers.delete(id);
    }
  }

  close(): void {
    for (const r of this.readers.values()) r.close();
    this.readers.clear();
  }
}
