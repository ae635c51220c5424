import type Database from 'better-sqlite3';
import type { FeatureCategory, FeatureNote, FeatureTags, TagCount, TagOverview } from '../../contract/index.js';
import { TAG_TABLES_SQL } from './tagTables.js';

/** A record plus when it last changed (for merging two stores: the newer one wins). */
export interface StoredTags extends FeatureTags {
  updatedAt: string;
}

/** Free tags are trimmed, inner whitespace collapsed, lower-cased; ';' and ',' are separators in files. */
export function normaliseTag(tag: string): string {
  return tag.trim().replace(/\s+/g, ' ').replace(/[;,]/g, ' ').trim().toLowerCase();
}

function noteKey(n: FeatureNote): string {
  return `${n.time}\u0000${n.author}\u0000${n.text}`;
}

/**
 * Tags, notes and reviewed marks of one SAE in one SQLite database (an index.sqlite, or the
 * app-wide tags.sqlite). Writes go through `put`, which replaces a feature's whole record; edits
 * that depend on the current record go through `modify`, which reads and writes under one lock.
 */
export class TagStore {
  constructor(
    private readonly db: Database.Database,
    readonly saeHash: string,
  ) {}

  /** Creates the tables when missing (the app-wide store; indexes get them from migration 2). */
  static ensureTables(db: Database.Database): void {
    db.exec(TAG_TABLES_SQL);
  }

  get(feature: number): FeatureTags {
    return this.getMany([feature])[0]!;
  }

  getMany(features: number[]): FeatureTags[] {
    const head = this.db.prepare('SELECT category, reviewed FROM feature_tags WHERE sae_hash = ? AND feature = ?');
    const tags = this.db.prepare('SELECT tag FROM feature_free_tags WHERE sae_hash = ? AND feature = ? ORDER BY tag');
    const notes = this.db.prepare('SELECT text, author, time FROM feature_notes WHERE sae_hash = ? AND feature = ? ORDER BY time, id');
    return features.map((feature) => {
      const h = head.get(this.saeHash, feature) as { category: FeatureCategory | null; reviewed: number } | undefined;
      return {
        feature,
        category: h?.category ?? null,
        reviewed: Boolean(h?.reviewed),
        tags: (tags.all(this.saeHash, feature) as { tag: string }[]).map((r) => r.tag),
        notes: notes.all(this.saeHash, feature) as FeatureNote[],
      };
    });
  }

  /** Every feature with a stored record (including cleared ones, whose time matters for merging). */
  all(): StoredTags[] {
    const heads = this.db
      .prepare('SELECT feature, updated_at FROM feature_tags WHERE sae_hash = ? ORDER BY feature')
      .all(this.saeHash) as { feature: number; updated_at: string }[];
    const records = this.getMany(heads.map((h) => h.feature));
    return records.map((r, i) => ({ ...r, updatedAt: heads[i]!.updated_at }));
  }

  updatedAt(feature: number): string | null {
    const r = this.db.prepare('SELECT updated_at FROM feature_tags WHERE sae_hash = ? AND feature = ?').get(this.saeHash, feature) as
      | { updated_at: string }
      | undefined;
    return r?.updated_at ?? null;
  }

  /**
   * Reads these features' records, lets `change` compute their new records, and writes them, all in
   * one IMMEDIATE transaction: the write lock is taken before the read, so another process (a CLI
   * import, a second `serve`) cannot write between our read and our write and have its change
   * overwritten. A concurrent writer makes this wait (the connection's busy timeout) rather than
   * fail; past the timeout SQLite's "database is locked" is thrown to the caller, nothing written.
   * The time stamped on the records is later than any they had, so the order of stamps is the
   * order of commits even when two processes edit within the same millisecond; the app-wide
   * mirror's newest-wins merge relies on that. `afterWrite` runs inside the transaction: when it
   * throws, this write is rolled back too.
   */
  modify<T>(
    features: number[],
    now: string,
    change: (before: FeatureTags[], time: string) => { records: FeatureTags[]; result: T },
    afterWrite?: (records: FeatureTags[], time: string) => void,
  ): { before: FeatureTags[]; records: FeatureTags[]; time: string; result: T } {
    return this.db
      .transaction(() => {
        const before = this.getMany(features);
        const time = this.laterThanStored(features, now);
        const { records, result } = change(before, time);
        if (records.length > 0) {
          this.put(records, time);
          afterWrite?.(records, time);
        }
        return { before, records, time, result };
      })
      .immediate();
  }

  /** `now`, or 1 ms past the newest stamp these features already carry when that is not earlier. */
  private laterThanStored(features: number[], now: string): string {
    if (features.length === 0) return now;
    const stamp = this.db.prepare('SELECT updated_at FROM feature_tags WHERE sae_hash = ? AND feature = ?');
    let newest = '';
    for (const f of features) {
      const r = stamp.get(this.saeHash, f) as { updated_at: string } | undefined;
      if (r && r.updated_at > newest) newest = r.updated_at;
    }
    if (newest < now) return now;
    const ms = Date.parse(newest);
    return Number.isFinite(ms) ? new Date(ms + 1).toISOString() : now;
  }

  /** Replaces the records of these features, in one transaction. */
  put(records: FeatureTags[], updatedAt: string): void {
    const head = this.db.prepare(
      `INSERT INTO feature_tags (sae_hash, feature, category, reviewed, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (sae_hash, feature) DO UPDATE SET category = excluded.category, reviewed = excluded.reviewed, updated_at = excluded.updated_at`,
    );
    const dropTags = this.db.prepare('DELETE FROM feature_free_tags WHERE sae_hash = ? AND feature = ?');
    const addTag = this.db.prepare('INSERT OR IGNORE INTO feature_free_tags (sae_hash, feature, tag) VALUES (?, ?, ?)');
    const dropNotes = this.db.prepare('DELETE FROM feature_notes WHERE sae_hash = ? AND feature = ?');
    const addNote = this.db.prepare('INSERT INTO feature_notes (sae_hash, feature, text, author, time) VALUES (?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const r of records) {
        head.run(this.saeHash, r.feature, r.category, r.reviewed ? 1 : 0, updatedAt);
        dropTags.run(this.saeHash, r.feature);
        for (const t of r.tags) addTag.run(this.saeHash, r.feature, t);
        dropNotes.run(this.saeHash, r.feature);
        for (const n of r.notes) addNote.run(this.saeHash, r.feature, n.text, n.author, n.time);
      }
    })();
  }

  /**
   * Brings this store up to date with another one: a feature whose record there is newer replaces
   * ours; notes are the union either way (a note is never lost by a merge). Returns how many changed.
   */
  mergeFrom(other: StoredTags[]): number {
    let changed = 0;
    // IMMEDIATE: the read-compare-write below must not interleave with another process's write
    // (a deferred transaction would fail with "database is locked" on upgrade instead of waiting).
    this.db.transaction(() => {
      for (const theirs of other) {
        const mine = this.updatedAt(theirs.feature);
        const ours = this.get(theirs.feature);
        const notes = unionNotes(ours.notes, theirs.notes);
        if (mine === null || mine < theirs.updatedAt) {
          if (mine !== null && sameRecord({ ...theirs, notes }, ours)) continue;
          this.put([{ ...theirs, notes }], theirs.updatedAt);
          changed++;
        } else if (notes.length !== ours.notes.length) {
          this.put([{ ...ours, notes }], mine);
          changed++;
        }
      }
    }).immediate();
    return changed;
  }

  overview(): TagOverview {
    const categories: Record<FeatureCategory, number> = { scene: 0, action: 0, object: 0 };
    for (const r of this.db
      .prepare('SELECT category, COUNT(*) AS n FROM feature_tags WHERE sae_hash = ? AND category IS NOT NULL GROUP BY category')
      .all(this.saeHash) as { category: FeatureCategory; n: number }[]) {
      categories[r.category] = r.n;
    }
    const reviewed = (
      this.db.prepare('SELECT COUNT(*) AS n FROM feature_tags WHERE sae_hash = ? AND reviewed = 1').get(this.saeHash) as { n: number }
    ).n;
    const withNotes = (
      this.db.prepare('SELECT COUNT(DISTINCT feature) AS n FROM feature_notes WHERE sae_hash = ?').get(this.saeHash) as { n: number }
    ).n;
    const tags = this.db
      .prepare('SELECT tag, COUNT(*) AS count FROM feature_free_tags WHERE sae_hash = ? GROUP BY tag ORDER BY count DESC, tag')
      .all(this.saeHash) as TagCount[];
    return { saeHash: this.saeHash, categories, reviewed, withNotes, tags };
  }

  /** Features that have a category (for the agreement table). */
  categorised(): { feature: number; category: FeatureCategory }[] {
    return this.db
      .prepare('SELECT feature, category FROM feature_tags WHERE sae_hash = ? AND category IS NOT NULL ORDER BY feature')
      .all(this.saeHash) as { feature: number; category: FeatureCategory }[];
  }
}

export function unionNotes(a: FeatureNote[], b: FeatureNote[]): FeatureNote[] {
  const seen = new Map<string, FeatureNote>();
  for (const n of [...a, ...b]) if (!seen.has(noteKey(n))) seen.set(noteKey(n), { text: n.text, author: n.author, time: n.time });
  return [...seen.values()].sort((x, y) => (x.time < y.time ? -1 : x.time > y.time ? 1 : 0));
}

export function sameRecord(a: FeatureTags, b: FeatureTags): boolean {
  return (
    a.category === b.category &&
    a.reviewed === b.reviewed &&
    a.tags.join('\u0000') === [...b.tags].join('\u0000') &&
    a.notes.map(noteKey).join('\u0001') === b.notes.map(noteKey).join('\u0001')
  );
}
