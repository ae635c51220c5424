import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type {
  IndexGroup,
  TemporalSummary,
  Exemplar,
  FeatureDetail,
  FeatureFilter,
  FeaturePage,
  FeatureQuery,
  FeatureRow,
  IndexSummary,
  RangeSampleRow,
  ScatterData,
  SkippedItem,
} from '../../contract/index.js';
import { StudioError } from '../errors.js';
import { fromHalf, halfArrayToFloat } from '../util/float16.js';
import { openDatabase } from './openDatabase.js';
import { FeatureOrder } from './featureOrder.js';
import { scatterColumns, summaryCounts, type SummaryCounts } from './derivedInMeta.js';
import { allDeadWarning } from '../indexer/allDeadWarning.js';
import { assertReadable, migrate, schemaVersionOf } from './schema.js';
import { INDEX_DB_FILE, type IndexConfig, type IndexProgress } from './indexConfig.js';
import { unpackExemplars, unpackRangeSamples } from './exemplarBlobs.js';
import { decodePatchMap } from './patchMapCodec.js';
import { rangeEdges, type RangeSpec } from '../indexer/rangeSamples.js';
import { TagStore } from '../tags/tagStore.js';
import { resolveIndexFolder } from './indexGroup.js';
import { indexNameProblem, splitMemberName } from '../indexer/indexName.js';

/** Meta key of the user's name for an index (renameIndex); the config keeps the indexer's name. */
const USER_NAME_KEY = 'user_name';

const SORT_KEYS = new Set<FeatureQuery['sort']>(['index', 'frequency', 'mean', 'max', 'category', 'reviewed', 'autocorrelation', 'switchRate']);

// Each feature row joined with its tag record (tags keyed by the SAE hash, see tags/tagTables.ts).
const FEATURES_WITH_TAGS = `features f LEFT JOIN feature_tags t ON t.sae_hash = @saeHash AND t.feature = f.id`;
const TAG_COLUMNS = `t.category AS category, COALESCE(t.reviewed, 0) AS reviewed,
  (SELECT group_concat(tag, char(31)) FROM (SELECT tag FROM feature_free_tags g WHERE g.sae_hash = @saeHash AND g.feature = f.id ORDER BY tag)) AS tag_list,
  (SELECT COUNT(*) FROM feature_notes n WHERE n.sae_hash = @saeHash AND n.feature = f.id) AS note_count`;

interface FeatureDbRow {
  id: number;
  count: number;
  max: number;
  log_freq: number;
  mean: number;
  cls_count: number;
  cls_max: number;
  hist: Buffer;
  range_counts?: Buffer | null;
  category?: FeatureRow['category'];
  reviewed?: number;
  tag_list?: string | null;
  note_count?: number;
  autocorr?: number | null;
  switch_rate?: number | null;
}

/** Read side of an index folder: summary, sorted and filtered feature pages, one feature's detail. */
export class IndexReader {
  /** Set by the service when this index was opened through a group folder (several SAEs, one pass). */
  group: IndexGroup | null = null;
  /** The indexer's MODEL-WIDTH name (a legacy group member's `NAME member` split off). */
  defaultName = '';
  /** This index's label within its group (the SAE's folder name), or null. */
  member: string | null = null;

  /** The table's sorted, filtered orders, kept between pages (see featureOrder.ts). */
  private readonly order: FeatureOrder;

  private constructor(
    readonly id: string,
    readonly dir: string,
    /** Open connection (tag storage writes through it: see tags/tagService.ts). */
    readonly db: Database.Database,
    readonly config: IndexConfig,
  ) {
    this.order = new FeatureOrder(db, config.sae.hash);
  }

  /** This index's tags of its SAE. */
  tags(): TagStore {
    return new TagStore(this.db, this.config.sae.hash);
  }

  /** Opens an index folder, or the first member of a group folder (several SAEs, one pass). */
  static open(id: string, folder: string): IndexReader {
    const { dir, group, name: member } = resolveIndexFolder(folder);
    const reader = IndexReader.openFolder(id, dir);
    reader.group = group;
    // Every user of config.name (feature ids, match sides, error messages) sees the effective name.
    const split = splitMemberName(reader.config.name, member);
    reader.defaultName = split.name;
    reader.member = split.member;
    reader.config.name = reader.userName() ?? split.name;
    return reader;
  }

  private userName(): string | null {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(USER_NAME_KEY) as { value: string } | undefined;
    return row && !indexNameProblem(row.value) ? row.value : null;
  }

  /** Stores the user's name for this index; the indexer's name (or empty input) is refused/reset by the caller's rules. */
  rename(name: string): void {
    const problem = indexNameProblem(name);
    if (problem) throw new StudioError('bad-request', problem);
    const clean = name.trim();
    if (clean === this.defaultName) this.db.prepare('DELETE FROM meta WHERE key = ?').run(USER_NAME_KEY);
    else this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(USER_NAME_KEY, clean);
    this.config.name = clean;
  }

  /** What tells this index apart from another of the same name and dataset. */
  private detail(): string {
    const s = this.config.sae;
    const arch = s.k !== null ? `${s.architecture} k=${s.k}` : s.architecture;
    // A member's own folder is its label: the group folder is what tells two groups apart.
    const folder = path.basename(this.member && this.group ? this.group.path : this.dir);
    return [arch, this.member, folder].filter((x): x is string => !!x).join(' · ');
  }

  private static openFolder(id: string, dir: string): IndexReader {
    const file = path.join(dir, INDEX_DB_FILE);
    if (!fs.existsSync(dir)) throw new StudioError('not-found', `Folder not found: ${dir}`);
    if (!fs.existsSync(file)) {
      throw new StudioError(
        'not-found',
        `${dir} is not a Feature Studio index (no ${INDEX_DB_FILE} inside). Choose the folder given as --out when indexing, or create a new index.`,
      );
    }
    const db = openDatabase(file);
    try {
      assertReadable(schemaVersionOf(db), dir);
      migrate(db, dir);
      const row = db.prepare("SELECT value FROM meta WHERE key = 'config'").get() as { value: string } | undefined;
      if (!row) throw new StudioError('bad-input', `${dir} holds an index that was never initialised (no config). Re-run the indexer.`);
      return new IndexReader(id, dir, db, JSON.parse(row.value) as IndexConfig);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  progress(): IndexProgress {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'progress'").get() as { value: string } | undefined;
    return row
      ? (JSON.parse(row.value) as IndexProgress)
      : { cursor: 0, tokens: 0, activeEntries: 0, skipped: 0, provider: '', complete: false, thumbnailsDone: false };
  }

  summary(): IndexSummary {
    const c = this.config;
    const p = this.progress();
    const { items, dead, dense } = this.summaryCounts();
    return {
      id: this.id,
      path: this.dir,
      name: c.name,
      defaultName: this.defaultName || c.name,
      dataset: path.basename(c.dataRoot || c.request.shards || '') || '?',
      member: this.member,
      detail: this.detail(),
      schemaVersion: schemaVersionOf(this.db),
      complete: p.complete,
      features: c.sae.dSae,
      items,
      tokens: p.tokens,
      skipped: p.skipped,
      provider: p.provider,
      topK: c.topK,
      createdAt: c.createdAt,
      model: c.model,
      sae: c.sae,
      labels: c.labels,
      histogram: c.histogram,
      l0Mean: p.tokens > 0 ? p.activeEntries / p.tokens : 0,
      dead,
      dense,
      kind: c.kind ?? 'images',
      framesPerClip: c.framesPerClip ?? null,
      temporal: this.temporal(),
      group: this.group,
      ...warningsField(p.complete ? allDeadWarning(c.sae.dSae, dead, p.tokens) : null),
    };
  }

  /** Indexed items, dead and dense features, kept in meta once a build is finished (derivedInMeta.ts). */
  private summaryCounts(): SummaryCounts {
    return summaryCounts(this.db, this.progress().tokens);
  }

  /** Whole-SAE temporal statistics (meta 'temporal'), null for image indexes. */
  temporal(): TemporalSummary | null {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'temporal'").get() as { value: string } | undefined;
    if (!row) return null;
    const t = JSON.parse(row.value) as { autocorrelation: number | null; raw_autocorrelation: number | null; coherence_kept: number | null; pairs: number };
    return { autocorrelation: t.autocorrelation, rawAutocorrelation: t.raw_autocorrelation, coherenceKept: t.coherence_kept, pairs: t.pairs };
  }

  /** Per feature (id order): autocorrelation and switch rate, null where undefined. */
  temporalFeatures(): { feature: number; autocorrelation: number | null; switchRate: number | null }[] {
    return (this.db.prepare('SELECT id, autocorr, switch_rate FROM features ORDER BY id').all() as { id: number; autocorr: number | null; switch_rate: number | null }[]).map(
      (r) => ({ feature: r.id, autocorrelation: r.autocorr, switchRate: r.switch_rate }),
    );
  }

  /** A clip's traces (max over patches per frame) of its strongest features, best first; null for images. */
  clipTraces(itemId: number): { frames: number; features: { feature: number; trace: number[] }[] } | null {
    const r = this.db.prepare('SELECT t.feats, t.traces, i.frames FROM clip_traces t JOIN items i ON i.id = t.item WHERE t.item = ?').get(itemId) as
      | { feats: Buffer; traces: Buffer; frames: number | null }
      | undefined;
    if (!r) return null;
    const feats = new Int32Array(r.feats.buffer.slice(r.feats.byteOffset, r.feats.byteOffset + r.feats.byteLength));
    const vals = new Uint16Array(r.traces.buffer.slice(r.traces.byteOffset, r.traces.byteOffset + r.traces.byteLength));
    const T = feats.length > 0 ? vals.length / feats.length : (r.frames ?? 0);
    return {
      frames: T,
      features: Array.from(feats, (feature, i) => ({ feature, trace: Array.from(halfArrayToFloat(vals.subarray(i * T, (i + 1) * T))) })),
    };
  }

  queryFeatures(q: FeatureQuery): FeaturePage {
    if (!SORT_KEYS.has(q.sort)) throw new StudioError('bad-request', `Unknown sort key '${q.sort}'.`);
    const limit = Math.max(0, Math.min(Math.floor(q.limit), 5000));
    const offset = Math.max(0, Math.floor(q.offset));
    const tokens = this.progress().tokens;
    // Page ids first (from the kept order); histograms and tags are read for those rows only.
    const ids = this.order.ids(q.sort, q.desc, q.filter ?? {}, tokens);
    return { total: ids.length, offset, rows: this.featureRowsWith(Array.from(ids.subarray(offset, offset + limit)), tokens) };
  }

  featureDetail(feature: number): FeatureDetail {
    const r = this.db
      .prepare(`SELECT f.*, ${TAG_COLUMNS} FROM ${FEATURES_WITH_TAGS} WHERE f.id = @feature`)
      .get({ feature, saeHash: this.config.sae.hash }) as FeatureDbRow | undefined;
    if (!r) {
      throw new StudioError('not-found', `Feature ${feature} does not exist in ${this.config.name} (features 0–${this.config.sae.dSae - 1}).`);
    }
    const packed = this.db.prepare('SELECT n, items, vals, maps FROM exemplars WHERE feature = ?').get(feature) as
      | { n: number; items: Buffer; vals: Buffer; maps: Buffer }
      | undefined;
    const [rows, cols] = this.config.model.tokens.grid;
    const entries = packed ? unpackExemplars(packed, rows * cols) : [];
    const itemRow = this.db.prepare('SELECT path, label FROM items WHERE id = ?');
    let upper = 0;
    const exemplars: Exemplar[] = entries.map((e, rank) => {
      const it = itemRow.get(e.item) as { path: string; label: string | null };
      const patchMap = Array.from(decodePatchMap(e.map, rows * cols));
      for (const v of patchMap) if (v > upper) upper = v;
      return { rank, itemId: e.item, item: it.path, label: it.label, value: e.value, patchMap };
    });
    const counts = new Map<string, number>();
    for (const ex of exemplars) if (ex.label !== null) counts.set(ex.label, (counts.get(ex.label) ?? 0) + 1);
    const labelCounts = [...counts].map(([label, count]) => ({ label, count })).sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
    return {
      indexId: this.id,
      row: this.toRow(r, this.progress().tokens),
      grid: this.config.model.tokens.grid,
      upper,
      exemplars,
      labelCounts,
      clsCount: r.cls_count,
      clsMax: r.cls_max,
      tags: this.tags().get(feature),
      rangeSamples: this.rangeSamples(feature, r.range_counts ?? null),
    };
  }

  /**
   * The feature's non-empty activation ranges, strongest first, with their sampled items; null when
   * the index holds none (built before schema 5, or resumed from a run started before it).
   */
  rangeSamples(feature: number, countsBlob: Buffer | null): RangeSampleRow[] | null {
    const specRow = this.db.prepare("SELECT value FROM meta WHERE key = 'range_spec'").get() as { value: string } | undefined;
    if (!specRow || !countsBlob) return null;
    const spec = JSON.parse(specRow.value) as RangeSpec;
    const edges = rangeEdges(spec);
    const counts = new Uint32Array(countsBlob.buffer.slice(countsBlob.byteOffset, countsBlob.byteOffset + countsBlob.byteLength));
    const packed = this.db.prepare('SELECT n, ranges, items, vals, maps FROM range_samples WHERE feature = ?').get(feature) as
      | { n: number; ranges: Buffer; items: Buffer; vals: Buffer; maps: Buffer }
      | undefined;
    const [rows, cols] = this.config.model.tokens.grid;
    const entries = packed ? unpackRangeSamples(packed, rows * cols) : [];
    const itemRow = this.db.prepare('SELECT path, label FROM items WHERE id = ?');
    const out: RangeSampleRow[] = [];
    for (let r = spec.ranges - 1; r >= 0; r--) {
      if (!counts[r]) continue;
      const items: Exemplar[] = entries
        .filter((e) => e.range === r)
        .map((e, rank) => {
          const it = itemRow.get(e.item) as { path: string; label: string | null };
          return { rank, itemId: e.item, item: it.path, label: it.label, value: e.value, patchMap: Array.from(decodePatchMap(e.map, rows * cols)) };
        });
      out.push({ lo: r === 0 ? 0 : edges[r]!, hi: r === spec.ranges - 1 ? null : edges[r + 1]!, count: counts[r]!, items });
    }
    return out;
  }

  /** Both scatter columns, kept in meta once a build is finished (derivedInMeta.ts). */
  scatter(): ScatterData {
    const columns = scatterColumns(this.db);
    const n = columns.length / 2;
    return { logFrequency: columns.subarray(0, n), logMean: columns.subarray(n) };
  }

  skipped(): SkippedItem[] {
    return this.db.prepare('SELECT path AS item, reason FROM items WHERE status = 2 ORDER BY id').all() as SkippedItem[];
  }

  /** An item's strongest features by max over patches, best first (see ITEM_TOP_FEATURES). */
  itemActivations(itemId: number): { feature: number; value: number }[] {
    const r = this.db.prepare('SELECT feats, vals FROM item_acts WHERE item = ?').get(itemId) as { feats: Buffer; vals: Buffer } | undefined;
    return r ? decodeItemActs(r) : [];
  }

  /** Every indexed item's strongest features, in item order (for matching across indexes). */
  *allItemActivations(): Generator<{ item: number; path: string; acts: { feature: number; value: number }[] }> {
    const rows = this.db
      .prepare('SELECT a.item, i.path, a.feats, a.vals FROM item_acts a JOIN items i ON i.id = a.item ORDER BY a.item')
      .iterate() as Iterable<{ item: number; path: string; feats: Buffer; vals: Buffer }>;
    for (const r of rows) yield { item: r.item, path: r.path, acts: decodeItemActs(r) };
  }

  /** Ids of the features passing the feature table's filter (search by meaning applies the same filters). */
  filteredFeatureIds(filter: FeatureFilter): Set<number> {
    return new Set(this.order.ids('index', false, filter ?? {}, this.progress().tokens));
  }

  /** Table rows (with tags) of these features, in the order given; unknown ids are left out. */
  featureRows(ids: number[]): FeatureRow[] {
    return ids.length === 0 ? [] : this.featureRowsWith(ids, this.progress().tokens);
  }

  private featureRowsWith(ids: number[], tokens: number): FeatureRow[] {
    const stmt = this.db.prepare(`SELECT f.*, ${TAG_COLUMNS} FROM ${FEATURES_WITH_TAGS} WHERE f.id = @feature`);
    const out: FeatureRow[] = [];
    for (const id of ids) {
      const r = stmt.get({ feature: id, saeHash: this.config.sae.hash }) as FeatureDbRow | undefined;
      if (r) out.push(this.toRow(r, tokens));
    }
    return out;
  }

  /** One item's row (any status), or null. */
  itemRow(itemId: number): { id: number; path: string; label: string | null; status: number; frames: number | null } | null {
    const r = this.db.prepare('SELECT id, path, label, status, frames FROM items WHERE id = ?').get(itemId) as
      | { id: number; path: string; label: string | null; status: number; frames: number | null }
      | undefined;
    return r ?? null;
  }

  /** Item path (relative to the dataset root) for an item id, for thumbnails and the CLI. */
  itemPath(itemId: number): string | null {
    const r = this.db.prepare('SELECT path FROM items WHERE id = ?').get(itemId) as { path: string } | undefined;
    return r?.path ?? null;
  }

  close(): void {
    this.db.close();
  }

  private toRow(r: FeatureDbRow, tokens: number): FeatureRow {
    const frequency = tokens > 0 ? r.count / tokens : 0;
    const hist = new Uint32Array(r.hist.buffer.slice(r.hist.byteOffset, r.hist.byteOffset + r.hist.byteLength));
    return {
      feature: r.id,
      count: r.count,
      frequency,
      logFrequency: Math.log10(frequency + 1e-10),
      mean: r.mean,
      max: r.max,
      histogram: Array.from(hist),
      category: r.category ?? null,
      tags: r.tag_list ? r.tag_list.split('\u001f') : [],
      reviewed: Boolean(r.reviewed),
      noteCount: r.note_count ?? 0,
      autocorrelation: r.autocorr ?? null,
      switchRate: r.switch_rate ?? null,
    };
  }
}

function decodeItemActs(r: { feats: Buffer; vals: Buffer }): { feature: number; value: number }[] {
  const feats = new Int32Array(r.feats.buffer.slice(r.feats.byteOffset, r.feats.byteOffset + r.feats.byteLength));
  const vals = new Uint16Array(r.vals.buffer.slice(r.vals.byteOffset, r.vals.byteOffset + r.vals.byteLength));
  return Array.from(feats, (feature, i) => ({ feature, value: fromHalf(vals[i]!) }));
}

/** The summary carries `warnings` only when there is one, so summaries of healthy indexes are unchanged. */
function warningsField(...warnings: (string | null)[]): { warnings?: string[] } {
  const present = warnings.filter((w): w is string => w !== null);
  return present.length > 0 ? { warnings: present } : {};
}
