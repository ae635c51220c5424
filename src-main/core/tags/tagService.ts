import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import type {
  CategorySuggestion,
  FeatureCategory,
  FeatureTags,
  TagAgreement,
  TagChange,
  TagEdit,
  TagExport,
  TagFileFormat,
  TagImportReport,
  TagOverview,
} from '../../contract/index.js';
import { FEATURE_CATEGORIES } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import type { IndexReader } from '../store/indexReader.js';
import { openDatabase } from '../store/openDatabase.js';
import { TagStore, normaliseTag, sameRecord, unionNotes } from './tagStore.js';
import { parseTagsCsv, parseTagsJson, saeIdentity, writeTagsCsv, writeTagsJson } from './tagFiles.js';
import { suggestCategory } from './suggestCategory.js';

const APP_TAGS_FILE = 'tags.sqlite';
const MAX_NOTE_CHARS = 20_000;
const MAX_TAG_CHARS = 64;

function defaultAuthor(): string {
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return process.env.USER || process.env.USERNAME || 'unknown';
  }
}

/**
 * Tags, notes and reviewed marks. Each index holds them (so SQL can filter and sort on them) and
 * every change is mirrored to the app-wide tags.sqlite in the settings folder; opening an index
 * merges the two both ways, newest record winning, notes never lost. So tags follow the SAE
 * (its weights hash) to any index of it, on any dataset.
 */
export class TagService {
  private appDb: Database.Database | null = null;

  constructor(
    private readonly settingsDir: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private app(): Database.Database {
    if (!this.appDb) {
      fs.mkdirSync(this.settingsDir, { recursive: true });
      const db = openDatabase(path.join(this.settingsDir, APP_TAGS_FILE), { create: true });
      TagStore.ensureTables(db);
      db.exec('CREATE TABLE IF NOT EXISTS app_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      this.appDb = db;
    }
    return this.appDb;
  }

  appStore(saeHash: string): TagStore {
    return new TagStore(this.app(), saeHash);
  }

  author(): string {
    const r = this.app().prepare("SELECT value FROM app_meta WHERE key = 'note_author'").get() as { value: string } | undefined;
    return r?.value || defaultAuthor();
  }

  setAuthor(author: string): string {
    const a = typeof author === 'string' ? author.trim() : '';
    if (!a) throw new StudioError('bad-request', 'Give a name to sign notes with (it cannot be empty).');
    if (a.length > 100) throw new StudioError('bad-request', 'The note author name is longer than 100 characters.');
    this.app().prepare("INSERT INTO app_meta (key, value) VALUES ('note_author', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(a);
    return a;
  }

  /** Merges the app-wide store into the index and the index into the app-wide store. */
  syncOnOpen(reader: IndexReader): void {
    const index = reader.tags();
    const app = this.appStore(reader.config.sae.hash);
    try {
      index.mergeFrom(app.all());
      app.mergeFrom(index.all());
    } catch (err) {
      // A read-only index folder still opens; its tags just cannot be updated from the app store.
      process.emitWarning(`Could not sync tags of ${reader.dir}: ${(err as Error).message}`);
    }
  }

  get(reader: IndexReader, feature: number): FeatureTags {
    this.checkFeatures(reader, [feature]);
    return reader.tags().get(feature);
  }

  edit(reader: IndexReader, e: TagEdit): TagChange {
    // At least one feature, each a non-negative integer: checked at dispatch (contract/tags.ts).
    const features = [...new Set(e.features)];
    this.checkFeatures(reader, features);
    const add = this.cleanTags(e.addTags);
    const remove = new Set(this.cleanTags(e.removeTags));
    const noteText = typeof e.note === 'string' ? e.note.trim() : '';
    if (e.note !== undefined && !noteText) throw new StudioError('bad-request', 'The note is empty: write something first.');
    if (noteText.length > MAX_NOTE_CHARS) throw new StudioError('bad-request', `Notes are limited to ${MAX_NOTE_CHARS} characters.`);
    const author = noteText ? this.author() : '';
    // The edit applies to the records as they are under the write lock, not as read earlier.
    const { before, records } = this.transact(reader, features, (current, time) => ({
      records: current.map((b) => {
        const tags = new Set(b.tags);
        for (const t of add) tags.add(t);
        for (const t of remove) tags.delete(t);
        return {
          feature: b.feature,
          category: e.category !== undefined ? e.category : b.category,
          reviewed: e.reviewed !== undefined ? Boolean(e.reviewed) : b.reviewed,
          tags: [...tags].sort(),
          notes: noteText ? [...b.notes, { text: noteText, author, time }] : b.notes,
        };
      }),
      result: null,
    }));
    return { records, before };
  }

  restore(reader: IndexReader, records: FeatureTags[]): TagChange {
    if (!Array.isArray(records) || records.length === 0) return { records: [], before: [] };
    const clean = records.map((r) => ({
      feature: r.feature,
      category: r.category && FEATURE_CATEGORIES.includes(r.category) ? r.category : null,
      reviewed: Boolean(r.reviewed),
      tags: this.cleanTags(r.tags).sort(),
      notes: unionNotes([], Array.isArray(r.notes) ? r.notes.filter((n) => n && typeof n.text === 'string') : []),
    }));
    this.checkFeatures(reader, clean.map((r) => r.feature));
    const { before } = this.transact(reader, clean.map((r) => r.feature), () => ({ records: clean, result: null }));
    return { records: clean, before };
  }

  overview(reader: IndexReader): TagOverview {
    return reader.tags().overview();
  }

  export(reader: IndexReader, format: TagFileFormat): TagExport {
    const records = reader
      .tags()
      .all()
      .filter((r) => r.category !== null || r.tags.length > 0 || r.notes.length > 0 || r.reviewed)
      .map(({ updatedAt: _u, ...r }) => r);
    const name = reader.config.name;
    const text =
      format === 'csv' ? writeTagsCsv(records) : writeTagsJson(saeIdentity(name, reader.config.sae), records, this.clock().toISOString());
    return { format, fileName: `${name.replace(/[^\w.-]+/g, '-')}-tags.${format}`, text, features: records.length };
  }

  import(reader: IndexReader, args: { format: TagFileFormat; text: string; force?: boolean }): TagImportReport {
    const defaults = { author: this.author(), time: this.clock().toISOString() };
    let parsed;
    try {
      if (args.format === 'csv') parsed = parseTagsCsv(args.text, defaults);
      else if (args.format === 'json') parsed = parseTagsJson(args.text, defaults);
      else throw new Error(`Import format must be csv or json (got '${String(args.format)}').`);
    } catch (err) {
      throw new StudioError('bad-input', (err as Error).message);
    }
    const sae = reader.config.sae;
    if (parsed.sae && parsed.sae.hash !== sae.hash && !args.force) {
      throw new StudioError(
        'bad-input',
        `This file holds tags for another SAE (${parsed.sae.name ?? 'unnamed'}, weights hash ${parsed.sae.hash.slice(0, 12)}…), ` +
          `but this index's SAE has hash ${sae.hash.slice(0, 12)}…. Feature numbers would not mean the same thing. ` +
          `Import anyway with --force (CLI) or "Import anyway" if the SAEs really match.`,
      );
    }
    const skipped = [...parsed.skipped];
    const incoming = parsed.records.filter((r) => {
      if (r.feature < sae.dSae) return true;
      skipped.push({ where: `feature ${r.feature}`, reason: `out of range: this SAE has features 0–${sae.dSae - 1}` });
      return false;
    });
    // Merged against the records as they are under the write lock (see transact), so an edit made
    // by another process while the file was parsed is kept, and the report counts what changed.
    const { result } = this.transact(reader, incoming.map((r) => r.feature), (ours) => {
      const report = this.mergeImport(incoming, ours, skipped);
      return { records: report.changed, result: report.report };
    });
    return result;
  }

  private mergeImport(
    incoming: FeatureTags[],
    ours: FeatureTags[],
    skipped: TagImportReport['skipped'],
  ): { report: TagImportReport; changed: FeatureTags[] } {
    const report: TagImportReport = {
      features: incoming.length,
      categoriesSet: 0,
      tagsAdded: 0,
      notesAdded: 0,
      reviewedSet: 0,
      conflicts: [],
      skipped,
      before: [],
    };
    const changed: FeatureTags[] = [];
    incoming.forEach((theirs, i) => {
      const mine = ours[i]!;
      let category: FeatureCategory | null = mine.category;
      if (theirs.category && !mine.category) {
        category = theirs.category;
        report.categoriesSet++;
      } else if (theirs.category && mine.category && theirs.category !== mine.category) {
        report.conflicts.push({ feature: theirs.feature, ours: mine.category, theirs: theirs.category });
      }
      const tags = [...new Set([...mine.tags, ...theirs.tags])].sort();
      report.tagsAdded += tags.length - mine.tags.length;
      const notes = unionNotes(mine.notes, theirs.notes);
      report.notesAdded += notes.length - mine.notes.length;
      const reviewed = mine.reviewed || theirs.reviewed;
      if (reviewed && !mine.reviewed) report.reviewedSet++;
      const next = { feature: mine.feature, category, tags, notes, reviewed };
      if (!sameRecord(next, mine)) {
        changed.push(next);
        report.before.push(mine);
      }
    });
    return { report, changed };
  }

  suggest(reader: IndexReader, feature: number): CategorySuggestion {
    this.checkFeatures(reader, [feature]);
    const d = reader.featureDetail(feature);
    // Video indexes carry the feature's switch rate: the "action" rule can apply.
    const switchRate = d.row.switchRate;
    return suggestCategory({ feature, exemplars: d.exemplars, upper: d.upper, temporal: switchRate != null ? { switchRate } : null });
  }

  agreement(reader: IndexReader): TagAgreement {
    const zero = (): Record<FeatureCategory, number> => ({ scene: 0, action: 0, object: 0 });
    const counts: TagAgreement['counts'] = { scene: zero(), action: zero(), object: zero(), none: zero() };
    let tagged = 0;
    let agree = 0;
    for (const { feature, category } of reader.tags().categorised()) {
      if (feature >= reader.config.sae.dSae) continue;
      const s = this.suggest(reader, feature).category;
      counts[s ?? 'none'][category]++;
      tagged++;
      if (s === category) agree++;
    }
    return { counts, tagged, agree };
  }

  close(): void {
    this.appDb?.close();
    this.appDb = null;
  }

  /**
   * One tag change: read the features' current records, compute, write the index and mirror to
   * the app-wide store, as one IMMEDIATE transaction on the index (TagStore.modify) with the mirror
   * inside it. Lock order is always index, then app store, so two processes cannot deadlock.
   * A writer that holds a lock past the busy timeout makes this throw, with nothing written, so
   * the caller reports a failure instead of an edit that silently did not happen.
   */
  private transact<T>(
    reader: IndexReader,
    features: number[],
    change: (before: FeatureTags[], time: string) => { records: FeatureTags[]; result: T },
  ): { before: FeatureTags[]; records: FeatureTags[]; result: T } {
    const hash = reader.config.sae.hash;
    try {
      return reader.tags().modify(features, this.clock().toISOString(), change, (records, time) => this.mirror(hash, records, time));
    } catch (err) {
      if (isBusy(err)) {
        throw new StudioError(
          'internal',
          `The tags were not saved: another process kept ${reader.config.name}'s database or the app-wide tags store locked for too long ` +
            `(${(err as Error).message}). Try again when the other writer (an import, another studio) has finished.`,
        );
      }
      throw err;
    }
  }

  /** Newest record wins, notes are united: the mirror never replaces a newer change with an older one. */
  private mirror(saeHash: string, records: FeatureTags[], time: string): void {
    try {
      this.appStore(saeHash).mergeFrom(records.map((r) => ({ ...r, updatedAt: time })));
    } catch (err) {
      // A lock timeout fails the whole change (see transact). Any other failure (a read-only or
      // missing settings folder) leaves the index changed: syncOnOpen copies it over later.
      if (isBusy(err)) throw err;
      process.emitWarning(`Could not mirror tags to ${path.join(this.settingsDir, APP_TAGS_FILE)}: ${(err as Error).message}`);
    }
  }

  private cleanTags(tags: unknown): string[] {
    if (tags === undefined || tags === null) return [];
    if (!Array.isArray(tags)) throw new StudioError('bad-request', 'Tags must be a list of strings.');
    const out = new Set<string>();
    for (const t of tags) {
      if (typeof t !== 'string') continue;
      const n = normaliseTag(t);
      if (!n) continue;
      if (n.length > MAX_TAG_CHARS) throw new StudioError('bad-request', `Tag '${n.slice(0, 20)}…' is longer than ${MAX_TAG_CHARS} characters.`);
      out.add(n);
    }
    return [...out];
  }

  private checkFeatures(reader: IndexReader, features: number[]): void {
    const n = reader.config.sae.dSae;
    for (const f of features) {
      if (!Number.isInteger(f) || f < 0 || f >= n) {
        throw new StudioError('bad-request', `Feature ${String(f)} does not exist in ${reader.config.name} (features 0–${n - 1}).`);
      }
    }
  }
}

/** SQLite's "database is locked" / "database is busy" (SQLITE_BUSY and its extended codes). */
function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
