import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../errors.js';
import { ItemListBuilder } from '../dataset/packedItemList.js';
import { IndexWriter, RANGE_SPEC_KEY } from '../store/indexWriter.js';
import { INDEX_DB_FILE, THUMBS_DIR, type IndexConfig, type IndexProgress } from '../store/indexConfig.js';
import { GROUP_FILE, type GroupFile } from '../store/indexGroup.js';
import { packExemplars, packRangeSamples, unpackExemplars, unpackRangeSamples, type ExemplarEntry } from '../store/exemplarBlobs.js';
import { logFrequency, meanActivation, type FeatureRowDb } from '../store/featureRow.js';
import { RawTemporalAccumulator, TemporalAccumulator } from '../temporal/temporalStats.js';
import { writeTemporalResults } from '../temporal/writeTemporalResults.js';
import { stripFile, thumbnailFile } from './writeThumbnails.js';
import { sampleKey, type RangeSpec } from './rangeSamples.js';
import { SHARD_REQUEST_KEY, checkPartsAgree, openIndexPart, type IndexPart } from './indexParts.js';

/**
 * `studio merge OUT PART...`: the parts of a run split with `--shard i/n` combined into the index
 * one pass over all items would have written. Every statistic the indexer keeps is a sum, a max
 * or a top-k under a total order, so merging is exact:
 *   counts, token totals, histograms and range counts add; maxima take the max; float64 sums add
 *   (equal to a single pass up to the order of float64 additions);
 *   exemplars: the union of the parts' top-k, ordered by (value desc, item asc) — the single
 *   run's tie rule — cut to k; range samples: per range the perRange smallest hash keys;
 *   per-item top features and clip traces are disjoint per part and copied;
 *   the temporal Pearson sums add, and the statistics are computed from the totals.
 * Streaming: features are read from every part in id order in lockstep, so memory is one
 * feature's rows per part, whatever the number of items.
 */
export interface MergeOptions {
  signal?: AbortSignal;
  /** Features merged so far, per index (a group reports each member in turn). */
  onProgress?: (done: number, total: number, member: string | null) => void;
}

export interface MergeResult {
  out: string;
  parts: number;
  items: number;
  skipped: number;
  features: number;
  /** Group members merged, or empty for a single SAE's index. */
  members: string[];
  /** True when OUT already held this merge, finished (nothing was redone). */
  alreadyMerged: boolean;
}

/** Meta key marking an index written by a merge, with the parts it came from. */
export const MERGED_FROM_KEY = 'merged_from';

export async function mergeIndexParts(out: string, partDirs: string[], opts: MergeOptions = {}): Promise<MergeResult> {
  if (partDirs.length === 0) throw new StudioError('bad-request', 'Give the part folders to merge: studio merge OUT PART...');
  const outAbs = path.resolve(out);
  const dirs = partDirs.map((d) => path.resolve(d));
  if (dirs.includes(outAbs)) throw new StudioError('bad-request', `The output folder ${outAbs} is also given as a part; write the merged index to a new folder.`);
  const group = readGroupFile(dirs[0]!);
  if (!group) {
    const r = await mergeOne(outAbs, dirs, null, opts);
    return { ...r, members: [] };
  }
  for (const d of dirs.slice(1)) {
    const g = readGroupFile(d);
    if (!g || JSON.stringify(g.members) !== JSON.stringify(group.members)) {
      throw new StudioError(
        'bad-input',
        `${d} is not a part of the same group of SAEs as ${dirs[0]} (${group.members.map((m) => m.name).join(', ')}).`,
      );
    }
  }
  fs.mkdirSync(outAbs, { recursive: true });
  let last: Omit<MergeResult, 'members'> | null = null;
  let allDone = true;
  for (const m of group.members) {
    last = await mergeOne(path.join(outAbs, m.dir), dirs.map((d) => path.join(d, m.dir)), m.name, opts);
    allDone &&= last.alreadyMerged;
  }
  fs.writeFileSync(path.join(outAbs, GROUP_FILE), `${JSON.stringify(group, null, 2)}\n`);
  return { ...last!, out: outAbs, members: group.members.map((m) => m.name), alreadyMerged: allDone };
}

function readGroupFile(dir: string): GroupFile | null {
  const file = path.join(dir, GROUP_FILE);
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as GroupFile;
  } catch (err) {
    throw new StudioError('bad-input', `${file} is not readable JSON: ${(err as Error).message}`);
  }
}

async function mergeOne(out: string, dirs: string[], member: string | null, opts: MergeOptions): Promise<Omit<MergeResult, 'members'>> {
  const parts: IndexPart[] = [];
  try {
    for (const d of dirs) parts.push(openIndexPart(d));
    checkPartsAgree(parts);
    parts.sort((a, b) => a.shard.index - b.shard.index);
    const partList = parts.map((p) => p.dir);
    const previous = previousMerge(out, partList);
    if (previous) return previous;

    const first = parts[0]!;
    const request = { ...first.config.request };
    delete request[SHARD_REQUEST_KEY];
    const config: IndexConfig = { ...first.config, createdAt: new Date().toISOString(), request };
    const items = new ItemListBuilder();
    for (const r of first.db.prepare('SELECT path, label FROM items ORDER BY id').iterate() as IterableIterator<{ path: string; label: string | null }>) items.push(r.path, r.label);
    const writer = IndexWriter.create(out, config, items.finish());
    try {
      const db = writer.db;
      db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`).run(MERGED_FROM_KEY, JSON.stringify({ parts: partList }));
      db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`).run(RANGE_SPEC_KEY, JSON.stringify(first.rangeSpec));
      copyPerItemRows(writer, parts);
      const features = mergeFeatures(writer, parts, config, first.rangeSpec, member, opts);
      const progress = mergedProgress(parts, items.length);
      if (config.kind === 'videos') mergeTemporal(writer, parts, config.sae.dSae);
      copyThumbnails(writer, parts);
      writer.setProgress(progress);
      return { out, parts: parts.length, items: items.length - progress.skipped, skipped: progress.skipped, features, alreadyMerged: false };
    } finally {
      writer.close();
    }
  } finally {
    for (const p of parts) p.db.close();
  }
}

/**
 * OUT may be new or empty, hold a finished merge of these same parts (a requeued merge job: done),
 * or hold an unfinished merge (a killed one: started over). Anything else is refused untouched.
 */
function previousMerge(out: string, partList: string[]): Omit<MergeResult, 'members'> | null {
  if (!fs.existsSync(out) || fs.readdirSync(out).length === 0) return null;
  if (!IndexWriter.exists(out)) {
    throw new StudioError('bad-input', `Output folder ${out} is not empty and holds no index. Choose an empty or new folder for the merged index.`);
  }
  const w = IndexWriter.open(out);
  let mergedFrom: { parts: string[] } | null = null;
  let progress: IndexProgress | null = null;
  try {
    const row = w.db.prepare('SELECT value FROM meta WHERE key = ?').get(MERGED_FROM_KEY) as { value: string } | undefined;
    mergedFrom = row ? (JSON.parse(row.value) as { parts: string[] }) : null;
    progress = w.progress();
  } finally {
    w.close();
  }
  if (!mergedFrom) {
    throw new StudioError('bad-input', `${out} already holds an index that is not a merge. Choose a new folder for the merged index.`);
  }
  if (progress?.complete) {
    if (JSON.stringify(mergedFrom.parts) !== JSON.stringify(partList)) {
      throw new StudioError('bad-input', `${out} already holds a merge of other parts (${mergedFrom.parts.join(', ')}). Choose a new folder, or delete that one to merge again.`);
    }
    const skipped = progress.skipped;
    const total = progress.cursor;
    return { out, parts: partList.length, items: total - skipped, skipped, features: 0, alreadyMerged: true };
  }
  for (const f of [INDEX_DB_FILE, `${INDEX_DB_FILE}-wal`, `${INDEX_DB_FILE}-shm`, `${INDEX_DB_FILE}-journal`]) fs.rmSync(path.join(out, f), { force: true });
  fs.rmSync(path.join(out, THUMBS_DIR), { recursive: true, force: true });
  return null;
}

/** Item statuses, per-item top features, clip traces and tags: each part's own rows, copied by SQL. */
function copyPerItemRows(writer: IndexWriter, parts: IndexPart[]): void {
  const db = writer.db;
  for (const p of parts) {
    db.prepare('ATTACH DATABASE ? AS part').run(path.join(p.dir, INDEX_DB_FILE));
    try {
      db.transaction(() => {
        db.prepare(
          `UPDATE items SET status = p.status, reason = p.reason, frames = p.frames
           FROM part.items AS p WHERE p.id = items.id AND p.status IN (1, 2)`,
        ).run();
        db.prepare('INSERT INTO item_acts (item, feats, vals) SELECT item, feats, vals FROM part.item_acts').run();
        db.prepare('INSERT INTO clip_traces (item, feats, traces) SELECT item, feats, traces FROM part.clip_traces').run();
        // Tags recorded in a part (rare: parts are usually not opened) are kept; the newer record wins.
        db.prepare(
          `INSERT INTO feature_tags (sae_hash, feature, category, reviewed, updated_at)
           SELECT sae_hash, feature, category, reviewed, updated_at FROM part.feature_tags WHERE true
           ON CONFLICT(sae_hash, feature) DO UPDATE SET category = excluded.category, reviewed = excluded.reviewed,
             updated_at = excluded.updated_at WHERE excluded.updated_at > feature_tags.updated_at`,
        ).run();
        db.prepare('INSERT OR IGNORE INTO feature_free_tags (sae_hash, feature, tag) SELECT sae_hash, feature, tag FROM part.feature_free_tags').run();
        db.prepare(
          `INSERT INTO feature_notes (sae_hash, feature, text, author, time)
           SELECT sae_hash, feature, text, author, time FROM part.feature_notes AS n WHERE NOT EXISTS (
             SELECT 1 FROM feature_notes AS m WHERE m.sae_hash = n.sae_hash AND m.feature = n.feature AND m.text = n.text AND m.author = n.author AND m.time = n.time)`,
        ).run();
      })();
    } finally {
      db.prepare('DETACH DATABASE part').run();
    }
  }
  const orphan = db.prepare('SELECT path, status FROM items WHERE status NOT IN (1, 2) ORDER BY id LIMIT 1').get() as { path: string; status: number } | undefined;
  if (orphan) {
    const n = (db.prepare('SELECT COUNT(*) AS n FROM items WHERE status NOT IN (1, 2)').get() as { n: number }).n;
    throw new StudioError(
      'bad-input',
      `${n} items were indexed by no part (e.g. ${orphan.path}): the parts disagree on which part holds which item (made by different Feature Studio versions?). Re-index the parts with one version.`,
    );
  }
}

interface BlobRowDb {
  feature: number;
  n: number;
  items: Buffer;
  vals: Buffer;
  maps: Buffer;
  ranges?: Buffer;
}

function u32(b: Buffer): Uint32Array {
  return new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Rows of one table from every part, advanced together by feature id. */
class LockstepRows<T extends { id?: number; feature?: number }> {
  private readonly its: Iterator<T>[];
  private readonly heads: (T | undefined)[];
  constructor(
    iterables: Iterable<T>[],
    private readonly idOf: (row: T) => number,
  ) {
    this.its = iterables.map((it) => it[Symbol.iterator]());
    this.heads = this.its.map((it) => it.next().value as T | undefined);
  }
  /** Every part's row for feature f (parts without one give nothing). */
  take(f: number): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.its.length; i++) {
      const h = this.heads[i];
      if (h !== undefined && this.idOf(h) === f) {
        out.push(h);
        this.heads[i] = this.its[i]!.next().value as T | undefined;
      }
    }
    return out;
  }
  close(): void {
    for (const it of this.its) it.return?.();
  }
}

function mergeFeatures(
  writer: IndexWriter,
  parts: IndexPart[],
  config: IndexConfig,
  rangeSpec: RangeSpec | null,
  member: string | null,
  opts: MergeOptions,
): number {
  const db = writer.db;
  const F = config.sae.dSae;
  const P = config.model.tokens.grid[0] * config.model.tokens.grid[1];
  const k = config.topK;
  const bins = config.histogram.bins;
  const tokens = parts.reduce((s, p) => s + p.progress.tokens, 0);
  const featureRows = new LockstepRows<FeatureRowDb>(
    parts.map((p) => p.db.prepare('SELECT id, count, sum, max, cls_count, cls_max, hist, range_counts FROM features ORDER BY id').iterate() as Iterable<FeatureRowDb>),
    (r) => r.id,
  );
  const exemplarRows = new LockstepRows<BlobRowDb>(
    parts.map((p) => p.db.prepare('SELECT feature, n, items, vals, maps FROM exemplars ORDER BY feature').iterate() as Iterable<BlobRowDb>),
    (r) => r.feature,
  );
  const rangeRows = new LockstepRows<BlobRowDb>(
    parts.map((p) => p.db.prepare('SELECT feature, n, ranges, items, vals, maps FROM range_samples ORDER BY feature').iterate() as Iterable<BlobRowDb>),
    (r) => r.feature,
  );
  const putFeature = db.prepare(
    `INSERT INTO features (id, count, sum, max, log_freq, mean, cls_count, cls_max, hist, range_counts)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const putEx = db.prepare('INSERT INTO exemplars (feature, n, items, vals, maps) VALUES (?, ?, ?, ?, ?)');
  const putRanges = db.prepare('INSERT INTO range_samples (feature, n, ranges, items, vals, maps) VALUES (?, ?, ?, ?, ?, ?)');
  const R = rangeSpec?.ranges ?? 0;
  // Commit every few thousand features so the WAL stays small on 100k-feature SAEs.
  const CHUNK = 4096;
  try {
    for (let f0 = 0; f0 < F; f0 += CHUNK) {
      if (opts.signal?.aborted) throw new StudioError('cancelled', `Merge cancelled at feature ${f0} of ${F}. Run it again to start over.`);
      db.transaction(() => {
        for (let f = f0; f < Math.min(F, f0 + CHUNK); f++) {
          let count = 0;
          let sum = 0;
          let max = 0;
          let clsCount = 0;
          let clsMax = 0;
          const hist = new Uint32Array(bins);
          const rangeCounts = R > 0 ? new Uint32Array(R) : null;
          for (const r of featureRows.take(f)) {
            count += r.count;
            sum += r.sum;
            if (r.max > max) max = r.max;
            clsCount += r.cls_count;
            if (r.cls_max > clsMax) clsMax = r.cls_max;
            const h = u32(r.hist);
            for (let b = 0; b < bins; b++) hist[b]! += h[b]!;
            if (rangeCounts && r.range_counts) {
              const c = u32(r.range_counts);
              for (let i = 0; i < R; i++) rangeCounts[i]! += c[i]!;
            }
          }
          putFeature.run(f, count, sum, max, logFrequency(count, tokens), meanActivation(count, sum), clsCount, clsMax,
            Buffer.from(hist.buffer), rangeCounts ? Buffer.from(rangeCounts.buffer) : null);

          const ex = exemplarRows.take(f).flatMap((r) => unpackExemplars(r, P));
          ex.sort(byValueThenItem);
          const packed = packExemplars(ex.slice(0, k), P);
          putEx.run(f, packed.n, packed.items, packed.vals, packed.maps);

          if (rangeSpec) {
            const samples = rangeRows.take(f).flatMap((r) => unpackRangeSamples(r as Required<BlobRowDb>, P));
            const kept = keepRangeSamples(f, samples, rangeSpec);
            const pr = packRangeSamples(kept, P);
            putRanges.run(f, pr.n, pr.ranges, pr.items, pr.vals, pr.maps);
          }
        }
      })();
      opts.onProgress?.(Math.min(F, f0 + CHUNK), F, member);
    }
  } finally {
    featureRows.close();
    exemplarRows.close();
    rangeRows.close();
  }
  return F;
}

/** The single run's order of exemplars: value descending, then the lower item id. */
function byValueThenItem(a: ExemplarEntry, b: ExemplarEntry): number {
  return b.value - a.value || a.item - b.item;
}

/**
 * Per range, the perRange samples of smallest (sampleKey, item) over the union (what a single
 * pass keeps, see rangeSamples.ts), in the order the index stores them: strongest range first,
 * within a range by value desc, item asc.
 */
function keepRangeSamples(f: number, samples: (ExemplarEntry & { range: number })[], spec: RangeSpec): (ExemplarEntry & { range: number })[] {
  const byRange = new Map<number, { e: ExemplarEntry & { range: number }; key: number }[]>();
  for (const e of samples) {
    const list = byRange.get(e.range) ?? [];
    list.push({ e, key: sampleKey(f, e.item) });
    byRange.set(e.range, list);
  }
  const out: (ExemplarEntry & { range: number })[] = [];
  for (let r = spec.ranges - 1; r >= 0; r--) {
    const list = byRange.get(r);
    if (!list) continue;
    list.sort((a, b) => a.key - b.key || a.e.item - b.e.item);
    const kept = list.slice(0, spec.perRange).map((x) => x.e);
    kept.sort(byValueThenItem);
    out.push(...kept);
  }
  return out;
}

function mergedProgress(parts: IndexPart[], items: number): IndexProgress {
  const providers = [...new Set(parts.map((p) => p.progress.provider))];
  return {
    cursor: items,
    tokens: parts.reduce((s, p) => s + p.progress.tokens, 0),
    activeEntries: parts.reduce((s, p) => s + p.progress.activeEntries, 0),
    skipped: parts.reduce((s, p) => s + p.progress.skipped, 0),
    provider: providers.join(', '),
    complete: true,
    thumbnailsDone: true,
  };
}

/** The temporal sums of every part added, then the statistics computed from the totals. */
function mergeTemporal(writer: IndexWriter, parts: IndexPart[], dSae: number): void {
  const total = (name: string): Float64Array | null => {
    let acc: Float64Array | null = null;
    for (const p of parts) {
      const r = p.db.prepare('SELECT data FROM temporal_state WHERE name = ?').get(name) as { data: Buffer } | undefined;
      if (!r) continue;
      const s = new Float64Array(r.data.buffer.slice(r.data.byteOffset, r.data.byteOffset + r.data.byteLength));
      if (!acc) acc = new Float64Array(s.length);
      if (s.length !== acc.length) throw new StudioError('bad-input', `${p.dir}: temporal state '${name}' has ${s.length} values, other parts ${acc.length}.`);
      for (let i = 0; i < s.length; i++) acc[i]! += s[i]!;
    }
    return acc;
  };
  const saeState = total('sae');
  const rawState = total('raw');
  if (!saeState || !rawState) return;
  const temporal = new TemporalAccumulator(dSae);
  temporal.importState(saeState);
  const raw = new RawTemporalAccumulator((rawState.length - 1) / 5);
  raw.importState(rawState);
  const put = writer.db.prepare('INSERT OR REPLACE INTO temporal_state (name, data) VALUES (?, ?)');
  put.run('sae', Buffer.from(saeState.buffer));
  put.run('raw', Buffer.from(rawState.buffer));
  writeTemporalResults(writer, temporal, raw);
}

/** Thumbnails (and clip strips) of the merged exemplars, from the part that made each (item ids are global). */
function copyThumbnails(writer: IndexWriter, parts: IndexPart[]): void {
  const dir = path.join(writer.dir, THUMBS_DIR);
  fs.mkdirSync(dir, { recursive: true });
  for (const { id } of writer.exemplarItems()) {
    for (const name of [thumbnailFile(id), stripFile(id)]) {
      // Regular files only: a link or FIFO in a part's thumbs/ is not copied (the hosts refuse to serve those too).
      const from = parts.map((p) => path.join(p.dir, THUMBS_DIR, name)).find((f) => fs.lstatSync(f, { throwIfNoEntry: false })?.isFile());
      if (from) fs.copyFileSync(from, path.join(dir, name));
    }
  }
}
