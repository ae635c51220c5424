import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { FeatureAccumulator } from '../indexer/featureAccumulator.js';
import { StudioError } from '../errors.js';
import { openDatabase } from './openDatabase.js';
import { migrate } from './schema.js';
import type { ItemList } from '../dataset/packedItemList.js';
import { INDEX_DB_FILE, THUMBS_DIR, type IndexConfig, type IndexProgress } from './indexConfig.js';
import { packExemplars, packRangeSamples, unpackExemplars, unpackRangeSamples } from './exemplarBlobs.js';
import { CheckpointWrite } from './checkpointWrite.js';
import { WalCheckpointer } from './walCheckpointer.js';
import { scatterColumns, summaryCounts } from './derivedInMeta.js';
import { DEFAULT_RANGES, RangeSampler, type RangeSpec } from '../indexer/rangeSamples.js';
import { logFrequency, meanActivation, type FeatureRowDb } from './featureRow.js';

/** Item status of an item another part of a split run indexes (0 pending, 1 indexed, 2 skipped). */
export const ITEM_IN_OTHER_PART = 3;

/** Meta key of the range-sample definition; absent in indexes started before schema 5. */
export const RANGE_SPEC_KEY = 'range_spec';

/** The database and the files SQLite keeps beside it. */
const CREATION_FILES = [INDEX_DB_FILE, `${INDEX_DB_FILE}-wal`, `${INDEX_DB_FILE}-shm`, `${INDEX_DB_FILE}-journal`];

/**
 * Writes an index folder. Every checkpoint is one transaction holding the item cursor together
 * with the feature state it corresponds to, so a killed run resumes exactly at its last checkpoint.
 */
export class IndexWriter {
  /**
   * Items below this id are already marked indexed by an earlier checkpoint of this writer, so
   * the next one updates only the rows since (at a million items, rescanning from 0 each time
   * cost a full table pass per checkpoint).
   */
  private markedBelow = 0;
  /** How long a writer runs before its WAL checkpoints move to a worker (lowered by tests). */
  static backgroundWalAfterMs = 60_000;
  private readonly openedAt = performance.now();
  private walCheckpointer: WalCheckpointer | null = null;
  private constructor(
    readonly dir: string,
    readonly db: Database.Database,
  ) {}

  /**
   * `inPart`, for one part of a split run (--shard): items it does not hold are recorded as
   * another part's (status 3) in the same transaction, so no checkpoint ever marks them done.
   */
  static create(dir: string, config: IndexConfig, items: ItemList, inPart?: (id: number) => boolean): IndexWriter {
    fs.mkdirSync(path.join(dir, THUMBS_DIR), { recursive: true });
    const db = openDatabase(path.join(dir, INDEX_DB_FILE), { create: true });
    migrate(db, dir);
    const writer = new IndexWriter(dir, db);
    db.transaction(() => {
      db.prepare('DELETE FROM meta').run();
      db.prepare('DELETE FROM items').run();
      db.prepare('DELETE FROM features').run();
      db.prepare('DELETE FROM exemplars').run();
      db.prepare('DELETE FROM item_acts').run();
      db.prepare('DELETE FROM clip_traces').run();
      db.prepare('DELETE FROM temporal_state').run();
      db.prepare('DELETE FROM range_samples').run();
      const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      setMeta.run('config', JSON.stringify(config));
      setMeta.run(RANGE_SPEC_KEY, JSON.stringify(DEFAULT_RANGES));
      const insert = db.prepare('INSERT INTO items (id, path, label, status) VALUES (?, ?, ?, ?)');
      for (let i = 0; i < items.length; i++) insert.run(i, items.path(i), items.label(i), inPart && !inPart(i) ? ITEM_IN_OTHER_PART : 0);
    })();
    return writer;
  }

  /** Opens an existing, unfinished index to continue it. */
  static open(dir: string): IndexWriter {
    const file = path.join(dir, INDEX_DB_FILE);
    if (!fs.existsSync(file)) throw new StudioError('not-found', `No index at ${dir} (missing ${INDEX_DB_FILE}).`);
    const db = openDatabase(file);
    migrate(db, dir);
    return new IndexWriter(dir, db);
  }

  static exists(dir: string): boolean {
    return fs.existsSync(path.join(dir, INDEX_DB_FILE));
  }

  /**
   * True when `dir` holds only what a run killed inside `create` leaves behind: at most an empty
   * thumbs/ folder and an index.sqlite (with its -wal/-shm/-journal) that has no configuration and
   * no items yet. `create` writes the configuration and the item list in one transaction, so such a
   * folder holds no work at all, and starting over in it is safe. Anything else (another file, a
   * database that is not ours, thumbnails) is not touched.
   */
  static isAbandonedCreation(dir: string): boolean {
    let entries: string[];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      return false;
    }
    for (const name of entries) {
      if (name === THUMBS_DIR) {
        const thumbs = path.join(dir, name);
        if (!fs.statSync(thumbs).isDirectory() || fs.readdirSync(thumbs).length > 0) return false;
      } else if (!CREATION_FILES.includes(name)) {
        return false;
      }
    }
    const file = path.join(dir, INDEX_DB_FILE);
    if (!fs.existsSync(file)) return true;
    let db: Database.Database | null = null;
    try {
      db = openDatabase(file);
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
      if (tables.length === 0) return true; // killed before the first migration committed
      if (!tables.includes('meta') || !tables.includes('items')) return false; // some other database
      const config = db.prepare("SELECT 1 FROM meta WHERE key = 'config'").get();
      const items = db.prepare('SELECT 1 FROM items LIMIT 1').get();
      return !config && !items;
    } catch {
      return false; // unreadable: leave it for the user to look at
    } finally {
      db?.close();
    }
  }

  /** Removes what `isAbandonedCreation` recognised, so `create` starts from an empty folder. */
  static clearAbandonedCreation(dir: string): void {
    for (const name of CREATION_FILES) fs.rmSync(path.join(dir, name), { force: true });
    fs.rmSync(path.join(dir, THUMBS_DIR), { recursive: true, force: true });
  }

  config(): IndexConfig | null {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'config'").get() as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as IndexConfig) : null;
  }

  progress(): IndexProgress | null {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'progress'").get() as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as IndexProgress) : null;
  }

  /**
   * Whether the stored items have `items`' paths, id for id; read row by row, so a resume check
   * at a million items holds no second copy of the list. `count`: how many are stored.
   */
  sameItemPaths(items: ItemList): { same: boolean; count: number } {
    const count = (this.db.prepare('SELECT COUNT(*) AS n FROM items').get() as { n: number }).n;
    if (count !== items.length) return { same: false, count };
    let i = 0;
    for (const row of this.db.prepare('SELECT id, path FROM items ORDER BY id').iterate() as IterableIterator<{ id: number; path: string }>) {
      if (row.id !== i || row.path !== items.path(i)) return { same: false, count };
      i++;
    }
    return { same: true, count };
  }

  /** The range-sample definition this index was started with, or null (started before schema 5). */
  rangeSpec(): RangeSpec | null {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(RANGE_SPEC_KEY) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as RangeSpec) : null;
  }

  /** Restore the accumulator from the last checkpoint (features, exemplars and range samples). */
  restoreInto(acc: FeatureAccumulator): void {
    const bins = acc.histogram.bins;
    // A run started before range samples existed has none of the items seen so far: sampling only
    // the rest would be wrong, so that index is finished without them (the views say so).
    const spec = this.rangeSpec();
    acc.ranges = spec ? new RangeSampler(acc.features, acc.patches, spec) : null;
    const rs = acc.ranges;
    for (const r of this.db.prepare('SELECT * FROM features').iterate() as Iterable<FeatureRowDb>) {
      const f = r.id;
      acc.count[f] = r.count;
      acc.sum[f] = r.sum;
      acc.max[f] = r.max;
      acc.clsCount[f] = r.cls_count;
      acc.clsMax[f] = r.cls_max;
      const hist = new Uint32Array(r.hist.buffer.slice(r.hist.byteOffset, r.hist.byteOffset + r.hist.byteLength));
      acc.hist.set(hist.subarray(0, bins), f * bins);
      if (rs && r.range_counts) {
        const counts = new Uint32Array(r.range_counts.buffer.slice(r.range_counts.byteOffset, r.range_counts.byteOffset + r.range_counts.byteLength));
        rs.counts.set(counts.subarray(0, rs.spec.ranges), f * rs.spec.ranges);
      }
    }
    if (rs) {
      const rows = this.db.prepare('SELECT feature, n, ranges, items, vals, maps FROM range_samples').iterate() as Iterable<{
        feature: number;
        n: number;
        ranges: Buffer;
        items: Buffer;
        vals: Buffer;
        maps: Buffer;
      }>;
      for (const r of rows) for (const e of unpackRangeSamples(r, acc.patches)) rs.restore(r.feature, e);
    }
    const rows = this.db.prepare('SELECT feature, n, items, vals, maps FROM exemplars').iterate() as Iterable<{
      feature: number;
      n: number;
      items: Buffer;
      vals: Buffer;
      maps: Buffer;
    }>;
    for (const r of rows) {
      for (const e of unpackExemplars(r, acc.patches)) acc.heaps.restore(r.feature, e.value, e.item, e.map);
    }
  }

  /** Persist the dirty features, item statuses and the cursor atomically. */
  checkpoint(
    acc: FeatureAccumulator,
    progress: IndexProgress,
    skipped: { item: number; reason: string }[],
    all = false,
    /** Video indexes: temporal accumulator sums to commit with this checkpoint. */
    temporalState: { name: string; data: Float64Array }[] = [],
  ): void {
    this.beginCheckpoint(acc, progress, skipped, all, temporalState).finish();
  }

  /**
   * The same checkpoint, to be written in slices (CheckpointWrite.step) while indexing goes on. It
   * records the accumulator as it is now: the dirty flags are taken (and cleared) and the
   * statistics copied now; a feature's exemplars and range samples are packed when written, and
   * the run hands each one whose samples a batch is about to change to
   * CheckpointWrite.freezeSamples first (the accumulator's beforeSampleChange), so later batches
   * never leak into it. Nothing else may write to this index until it is finished.
   */
  beginCheckpoint(
    acc: FeatureAccumulator,
    progress: IndexProgress,
    skipped: { item: number; reason: string }[],
    all = false,
    temporalState: { name: string; data: Float64Array }[] = [],
  ): CheckpointWrite {
    const db = this.db;
    const ops: (() => unknown)[] = [];
    const upsert = db.prepare(
      `INSERT INTO features (id, count, sum, max, log_freq, mean, cls_count, cls_max, hist, range_counts)
       VALUES (@id, @count, @sum, @max, @log_freq, @mean, @cls_count, @cls_max, @hist, @range_counts)
       ON CONFLICT(id) DO UPDATE SET count = excluded.count, sum = excluded.sum, max = excluded.max,
         log_freq = excluded.log_freq, mean = excluded.mean, cls_count = excluded.cls_count,
         cls_max = excluded.cls_max, hist = excluded.hist, range_counts = excluded.range_counts`,
    );
    const putRanges = db.prepare(
      `INSERT INTO range_samples (feature, n, ranges, items, vals, maps) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(feature) DO UPDATE SET n = excluded.n, ranges = excluded.ranges, items = excluded.items, vals = excluded.vals, maps = excluded.maps`,
    );
    const rs = acc.ranges;
    const R = rs?.spec.ranges ?? 0;
    const putEx = db.prepare(
      `INSERT INTO exemplars (feature, n, items, vals, maps) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(feature) DO UPDATE SET n = excluded.n, items = excluded.items, vals = excluded.vals, maps = excluded.maps`,
    );
    const skip = db.prepare('UPDATE items SET status = 2, reason = ? WHERE id = ?');
    const putItem = db.prepare('INSERT OR REPLACE INTO item_acts (item, feats, vals) VALUES (?, ?, ?)');
    const bins = acc.histogram.bins;
    const tokens = progress.tokens;
    const putTrace = db.prepare('INSERT OR REPLACE INTO clip_traces (item, feats, traces) VALUES (?, ?, ?)');
    const setFrames = db.prepare('UPDATE items SET frames = ? WHERE id = ?');
    const putState = db.prepare('INSERT OR REPLACE INTO temporal_state (name, data) VALUES (?, ?)');
    // Every write is prepared now from copies (slices, packed blobs, the progress as JSON), run later.
    for (const s of skipped) ops.push(() => skip.run(s.reason, s.item));
    for (const t of acc.pendingTraces) {
      ops.push(() => {
        putTrace.run(t.item, Buffer.from(t.feats.buffer, t.feats.byteOffset, t.feats.byteLength), Buffer.from(t.traces.buffer, t.traces.byteOffset, t.traces.byteLength));
        setFrames.run(t.frames, t.item);
      });
    }
    for (const st of temporalState) {
      const data = Buffer.from(st.data.slice().buffer);
      ops.push(() => putState.run(st.name, data));
    }
    for (const it of acc.pendingItems) {
      ops.push(() => putItem.run(it.item, Buffer.from(it.feats.buffer, it.feats.byteOffset, it.feats.byteLength), Buffer.from(it.vals.buffer, it.vals.byteOffset, it.vals.byteLength)));
    }
    const markDone = db.prepare('UPDATE items SET status = 1 WHERE id >= ? AND id < ? AND status = 0');
    const from = Math.min(this.markedBelow, progress.cursor);
    const cursor = progress.cursor;
    ops.push(() => {
      markDone.run(from, cursor);
      this.markedBelow = cursor;
    });
    const dirty = acc.dirty.slice();
    const exemplarsDirty = acc.exemplarsDirty.slice();
    const rangesDirty = acc.rangesDirty.slice();
    const features: number[] = [];
    for (let f = 0; f < acc.features; f++) if (all || dirty[f]) features.push(f);
    // The statistics as of this checkpoint, copied in bulk (a few memcpys: about 30 MB and some
    // milliseconds at 100k features) so the batches that run while it is written change them freely.
    const stats = {
      count: acc.count.slice(),
      sum: acc.sum.slice(),
      max: acc.max.slice(),
      clsCount: acc.clsCount.slice(),
      clsMax: acc.clsMax.slice(),
      hist: acc.hist.slice(),
      rangeCounts: rs ? rs.counts.slice() : null,
    };
    const bytes = (a: Uint32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    /** Feature f's statistics row. */
    const prepareStats = (f: number): (() => unknown) => {
      const count = stats.count[f]!;
      const row = {
        id: f,
        count,
        sum: stats.sum[f]!,
        max: stats.max[f]!,
        log_freq: logFrequency(count, tokens),
        mean: meanActivation(count, stats.sum[f]!),
        cls_count: stats.clsCount[f]!,
        cls_max: stats.clsMax[f]!,
        hist: bytes(stats.hist.subarray(f * bins, (f + 1) * bins)),
        range_counts: stats.rangeCounts ? bytes(stats.rangeCounts.subarray(f * R, (f + 1) * R)) : null,
      };
      return () => upsert.run(row);
    };
    /** Feature f's exemplars and range samples, packed from the accumulator now, when they changed. */
    const prepareSamples = (f: number): (() => unknown)[] => {
      const ops: (() => unknown)[] = [];
      if (rs && (all || rangesDirty[f])) {
        const packed = packRangeSamples(rs.entries(f), acc.patches);
        ops.push(() => putRanges.run(f, packed.n, packed.ranges, packed.items, packed.vals, packed.maps));
      }
      if (all || exemplarsDirty[f]) {
        const packed = packExemplars(acc.heaps.ranked(f), acc.patches);
        ops.push(() => putEx.run(f, packed.n, packed.items, packed.vals, packed.maps));
      }
      return ops;
    };
    const setProgress = db.prepare("INSERT INTO meta (key, value) VALUES ('progress', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    const progressJson = JSON.stringify(progress);
    const last = () => setProgress.run(progressJson);
    acc.dirty.fill(0);
    acc.exemplarsDirty.fill(0);
    acc.rangesDirty.fill(0);
    acc.pendingItems = [];
    acc.pendingTraces = [];
    return new CheckpointWrite(db, cursor, ops, { count: acc.features, list: features, prepareStats, prepareSamples }, last, () => this.afterCheckpointCommit());
  }

  /** A temporal accumulator's sums from the last checkpoint, or null. */
  temporalState(name: string): Float64Array | null {
    const r = this.db.prepare('SELECT data FROM temporal_state WHERE name = ?').get(name) as { data: Buffer } | undefined;
    return r ? new Float64Array(r.data.buffer.slice(r.data.byteOffset, r.data.byteOffset + r.data.byteLength)) : null;
  }

  /** Final temporal statistics: per-feature columns (NULL where undefined) and the meta summary. */
  writeTemporal(autocorr: Float64Array, switchRate: Float64Array, summary: { autocorrelation: number | null; raw_autocorrelation: number | null; coherence_kept: number | null; pairs: number }): void {
    const db = this.db;
    const upd = db.prepare('UPDATE features SET autocorr = ?, switch_rate = ? WHERE id = ?');
    const num = (v: number) => (Number.isFinite(v) ? v : null);
    db.transaction(() => {
      for (let f = 0; f < autocorr.length; f++) upd.run(num(autocorr[f]!), num(switchRate[f]!), f);
      db.prepare("INSERT INTO meta (key, value) VALUES ('temporal', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(JSON.stringify(summary));
    })();
  }

  /**
   * Records the progress; once it says complete, also computes and keeps what readers would
   * otherwise scan for on first open (the summary's counts, the scatter's columns), here in the
   * build's own thread rather than on the host that opens the index.
   */
  setProgress(progress: IndexProgress): void {
    this.db
      .prepare("INSERT INTO meta (key, value) VALUES ('progress', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .run(JSON.stringify(progress));
    if (progress.complete) {
      summaryCounts(this.db, progress.tokens);
      scatterColumns(this.db);
    }
  }

  /** Distinct items that are some feature's exemplar or range sample: the ones that need a thumbnail. */
  exemplarItems(): { id: number; path: string }[] {
    const ids = new Set<number>();
    for (const table of ['exemplars', 'range_samples']) {
      for (const r of this.db.prepare(`SELECT items FROM ${table}`).iterate() as Iterable<{ items: Buffer }>) {
        const items = new Int32Array(r.items.buffer.slice(r.items.byteOffset, r.items.byteOffset + r.items.byteLength));
        for (const id of items) ids.add(id);
      }
    }
    const byId = this.db.prepare('SELECT path FROM items WHERE id = ?');
    return [...ids].sort((a, b) => a - b).map((id) => ({ id, path: (byId.get(id) as { path: string }).path }));
  }

  /**
   * A build running longer than `backgroundWalAfterMs` hands its WAL checkpoints to a worker
   * (WalCheckpointer) from then on; short ones (tests, small datasets) never start it.
   */
  private afterCheckpointCommit(): void {
    if (!this.walCheckpointer && performance.now() - this.openedAt >= IndexWriter.backgroundWalAfterMs) {
      this.walCheckpointer = new WalCheckpointer(this.db, path.join(this.dir, INDEX_DB_FILE));
    }
    this.walCheckpointer?.afterCommit();
  }

  /** Whether a worker does this writer's WAL checkpoints now (tests). */
  get checkpointsInBackground(): boolean {
    return this.walCheckpointer?.active ?? false;
  }

  close(): void {
    this.walCheckpointer?.close();
    this.db.close();
  }
}

