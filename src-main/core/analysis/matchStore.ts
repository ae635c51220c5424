// Reading the inputs of a match from an index database, and saving/reading its results.
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { FeatureMatches, MatchBest, MatchEntry, MatchListPage, MatchListQuery, MatchSummary } from '../../contract/index.js';
import { openDatabase } from '../store/openDatabase.js';
import { unpackExemplars } from '../store/exemplarBlobs.js';
import { decodePatchMap } from '../store/patchMapCodec.js';
import { INDEX_DB_FILE, type IndexConfig } from '../store/indexConfig.js';
import { migrate } from '../store/schema.js';
import type { MatchList, MatchResult, SparseItemTable } from './matchFeatures.js';
import { MATCH_BEST_RANK_INDEX } from './matchTables.js';
import { decodeItemActs } from './pairedItemsDb.js';

/** Default threshold under which a feature's best match counts as "no counterpart". */
export const NO_COUNTERPART_THRESHOLD = 0.3;

export function openIndexDb(dir: string): Database.Database {
  const db = openDatabase(path.join(dir, INDEX_DB_FILE));
  migrate(db, dir);
  return db;
}

export function readConfig(db: Database.Database): IndexConfig {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'config'").get() as { value: string } | undefined;
  if (!row) throw new Error('index has no configuration');
  return JSON.parse(row.value) as IndexConfig;
}

function aligned(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/**
 * Every indexed item's top features as one CSR table (values decoded from float16). Sized by one
 * COUNT first and filled in place: no per-item arrays, so the table is all the memory it takes
 * (8 bytes per stored activation, plus the path and id of each item). Matching streams the items
 * instead (pairedItemsDb.ts); this is for callers that want them all at once.
 */
export function readItemTable(db: Database.Database, features: number, onProgress?: (done: number, total: number) => void): SparseItemTable {
  const live = 'FROM item_acts a JOIN items i ON i.id = a.item WHERE i.status = 1';
  const size = db.prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(length(a.feats)), 0) AS bytes ${live}`).get() as { n: number; bytes: number };
  const rows = db.prepare(`SELECT a.item, i.path, a.feats, a.vals ${live} ORDER BY a.item`).raw().iterate() as Iterable<[number, string, Buffer, Buffer]>;
  const paths: string[] = [];
  const itemIds = new Int32Array(size.n);
  const rowPtr = new Int32Array(size.n + 1);
  const feat = new Int32Array(size.bytes / 4);
  const val = new Float32Array(size.bytes / 4);
  let o = 0;
  let r = 0;
  for (const [item, p, f, v] of rows) {
    if (r === size.n || o + f.length / 4 > feat.length) throw new Error(`item_acts changed while it was read (item ${item})`);
    o += decodeItemActs(f, v, feat, val, o);
    paths.push(p);
    itemIds[r] = item;
    rowPtr[++r] = o;
    if (onProgress && r % 20000 === 0) onProgress(r, size.n);
  }
  if (r !== size.n) throw new Error(`item_acts changed while it was read (${r} of ${size.n} items)`);
  return { paths, itemIds, rowPtr, feat, val, features };
}

/** Exemplar item ids of every feature (top-k by max over patches), for lift. */
export function readExemplarItems(db: Database.Database): Map<number, Int32Array> {
  const out = new Map<number, Int32Array>();
  for (const [feature, items] of db.prepare('SELECT feature, items FROM exemplars').raw().iterate() as Iterable<[number, Buffer]>) {
    out.set(feature, new Int32Array(aligned(items)));
  }
  return out;
}

/** Exemplar items and decoded patch maps of one feature (either stored layout, exemplarBlobs.ts). */
export function readExemplarMaps(db: Database.Database, feature: number, patches: number): { items: Int32Array; maps: Float32Array } {
  const r = db.prepare('SELECT n, items, vals, maps FROM exemplars WHERE feature = ?').get(feature) as
    | { n: number; items: Buffer; vals: Buffer; maps: Buffer }
    | undefined;
  if (!r) return { items: new Int32Array(0), maps: new Float32Array(0) };
  const entries = unpackExemplars(r, patches);
  const maps = new Float32Array(entries.length * patches);
  entries.forEach((e, i) => maps.set(decodePatchMap(e.map, patches), i * patches));
  return { items: Int32Array.from(entries, (e) => e.item), maps };
}

const blob = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Per-feature means over the common items saved with the run against `otherPath`, or null. */
export function readRunMeans(db: Database.Database, otherPath: string): { self: Float32Array; other: Float32Array } | null {
  const r = db.prepare('SELECT means_self, means_other FROM match_runs WHERE other_path = ?').get(otherPath) as
    | { means_self: Buffer | null; means_other: Buffer | null }
    | undefined;
  if (!r?.means_self || !r.means_other) return null;
  return { self: new Float32Array(aligned(r.means_self)), other: new Float32Array(aligned(r.means_other)) };
}

/**
 * Writes one side of a match run (this index = side a of `summary`), replacing an older run with
 * the same other index.
 *
 * Bulk load: up to 2M rows per index at 100k x 100k features. Most of the cost was keeping the
 * (run, dir, rank, score) index up to date row by row (random inserts by score), so the index is
 * dropped for the writes and rebuilt by one sort at the end, inside the same transaction (readers
 * see the old or the new state, never a missing index).
 */
export function saveMatch(
  db: Database.Database,
  summary: MatchSummary,
  otherSaeHash: string,
  mine: MatchList,
  theirs: MatchList,
  m: number,
  means: { self: Float32Array; other: Float32Array },
): void {
  const put = db.prepare('INSERT INTO match_best (run, dir, feature, rank, other, score, lift, co) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    db.exec(`DROP INDEX IF EXISTS ${MATCH_BEST_RANK_INDEX.name}`);
    const old = db.prepare('SELECT id FROM match_runs WHERE other_path = ?').get(summary.b.path) as { id: number } | undefined;
    if (old) {
      db.prepare('DELETE FROM match_best WHERE run = ?').run(old.id);
      db.prepare('DELETE FROM match_runs WHERE id = ?').run(old.id);
    }
    const run = Number(
      db
        .prepare('INSERT INTO match_runs (other_path, other_name, other_sae_hash, summary, means_self, means_other) VALUES (?, ?, ?, ?, ?, ?)')
        .run(summary.b.path, summary.b.name, otherSaeHash, JSON.stringify(summary), blob(means.self), blob(means.other)).lastInsertRowid,
    );
    const write = (dir: number, list: MatchList) => {
      const features = list.other.length / m;
      for (let f = 0; f < features; f++) {
        for (let r = 0; r < m; r++) {
          const o = list.other[f * m + r]!;
          if (o < 0) break;
          put.run(run, dir, f, r, o, list.score[f * m + r]!, list.lift[f * m + r]!, list.co[f * m + r]!);
        }
      }
    };
    write(0, mine);
    write(1, theirs);
    db.exec(MATCH_BEST_RANK_INDEX.sql);
  })();
}

/** The two summaries (one per side) of a match result. */
export function summariesOf(
  result: MatchResult,
  a: { indexId: string; path: string; name: string; features: number },
  b: { indexId: string; path: string; name: string; features: number },
  seconds: number,
): { forA: MatchSummary; forB: MatchSummary } {
  const createdAt = new Date().toISOString();
  const common = { coActivePairs: result.coActivePairs, mutual: result.mutual.length, perFeature: result.perFeature, seconds, createdAt, itemsCommon: result.itemsCommon };
  const sideA = { ...a, live: result.liveA };
  const sideB = { ...b, live: result.liveB };
  return {
    forA: { ...common, a: sideA, b: sideB, itemsOnlyA: result.itemsOnlyA, itemsOnlyB: result.itemsOnlyB, examplesOnlyA: result.examplesOnlyA, examplesOnlyB: result.examplesOnlyB },
    forB: { ...common, a: sideB, b: sideA, itemsOnlyA: result.itemsOnlyB, itemsOnlyB: result.itemsOnlyA, examplesOnlyA: result.examplesOnlyB, examplesOnlyB: result.examplesOnlyA },
  };
}

interface BestRow {
  feature: number;
  other: number;
  score: number;
  lift: number;
  co: number;
}

const toEntry = (r: BestRow): MatchEntry => ({ feature: r.feature, other: r.other, score: r.score, lift: r.lift, coCount: r.co });

/** Read side of saved matches in one index database. */
export class MatchStore {
  constructor(private readonly db: Database.Database) {}

  private runId(otherPath: string): number | null {
    const r = this.db.prepare('SELECT id FROM match_runs WHERE other_path = ?').get(otherPath) as { id: number } | undefined;
    return r?.id ?? null;
  }

  private requireRun(otherPath: string): number {
    const id = this.runId(otherPath);
    if (id === null) throw Object.assign(new Error('no saved match'), { code: 'no-match' });
    return id;
  }

  summary(otherPath: string): MatchSummary | null {
    const r = this.db.prepare('SELECT summary FROM match_runs WHERE other_path = ?').get(otherPath) as { summary: string } | undefined;
    return r ? (JSON.parse(r.summary) as MatchSummary) : null;
  }

  runs(): { path: string; name: string; createdAt: string }[] {
    const rows = this.db.prepare('SELECT other_path, other_name, summary FROM match_runs ORDER BY id DESC').all() as {
      other_path: string;
      other_name: string;
      summary: string;
    }[];
    return rows.map((r) => ({ path: r.other_path, name: r.other_name, createdAt: (JSON.parse(r.summary) as MatchSummary).createdAt }));
  }

  /** dir 0: this index's feature; 1: the other index's feature. */
  featureMatches(otherPath: string, dir: 0 | 1, feature: number, limit: number): FeatureMatches {
    const run = this.requireRun(otherPath);
    const rows = this.db
      .prepare('SELECT feature, other, score, lift, co FROM match_best WHERE run = ? AND dir = ? AND feature = ? ORDER BY rank LIMIT ?')
      .all(run, dir, feature, limit) as BestRow[];
    let mutual = false;
    if (rows[0]) {
      const back = this.db
        .prepare('SELECT other FROM match_best WHERE run = ? AND dir = ? AND feature = ? AND rank = 0')
        .get(run, 1 - dir, rows[0].other) as { other: number } | undefined;
      mutual = back?.other === feature;
    }
    return { feature, matches: rows.map(toEntry), mutual };
  }

  /** Every feature's best match (rank 0) in one direction, by feature: one statement for the whole run. */
  bestMatches(otherPath: string, dir: 0 | 1): MatchBest[] {
    const run = this.requireRun(otherPath);
    return this.db
      .prepare('SELECT feature, other, score FROM match_best WHERE run = ? AND dir = ? AND rank = 0 ORDER BY feature')
      .all(run, dir) as MatchBest[];
  }

  pairScore(otherPath: string, a: number, b: number): number | null {
    const run = this.requireRun(otherPath);
    const r = (this.db.prepare('SELECT score FROM match_best WHERE run = ? AND dir = 0 AND feature = ? AND other = ?').get(run, a, b) ??
      this.db.prepare('SELECT score FROM match_best WHERE run = ? AND dir = 1 AND feature = ? AND other = ?').get(run, b, a)) as
      | { score: number }
      | undefined;
    return r?.score ?? null;
  }

  list(otherPath: string, q: MatchListQuery): MatchListPage {
    const run = this.requireRun(otherPath);
    const limit = Math.max(0, Math.min(Math.floor(q.limit), 5000));
    const offset = Math.max(0, Math.floor(q.offset));
    const dir = q.desc ? 'DESC' : 'ASC';
    const order = q.sort === 'feature' ? `x.feature ${dir}` : q.sort === 'lift' ? `x.lift ${dir}, x.feature` : `x.score ${dir}, x.feature`;
    let from: string;
    const params: Record<string, number> = { run, minCo: Math.max(1, Math.floor(q.minCoActive ?? 1)) };
    if (q.kind === 'mutual') {
      from = `FROM match_best x JOIN match_best y ON y.run = x.run AND y.dir = 1 AND y.rank = 0 AND y.feature = x.other AND y.other = x.feature
              WHERE x.run = @run AND x.dir = 0 AND x.rank = 0 AND x.co >= @minCo`;
    } else {
      params.threshold = q.threshold ?? NO_COUNTERPART_THRESHOLD;
      from = `FROM match_best x WHERE x.run = @run AND x.dir = 0 AND x.rank = 0 AND x.score < @threshold AND x.co >= @minCo`;
    }
    const total = (this.db.prepare(`SELECT COUNT(*) AS n ${from}`).get(params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT x.feature, x.other, x.score, x.lift, x.co ${from} ORDER BY ${order} LIMIT @limit OFFSET @offset`)
      .all({ ...params, limit, offset }) as BestRow[];
    return { total, offset, rows: rows.map(toEntry) };
  }
}
