import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureFilter, FeatureSortKey } from '../../src-main/contract/index.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { openDatabase } from '../../src-main/core/store/openDatabase.js';
import { INDEX_DB_FILE } from '../../src-main/core/store/indexConfig.js';
import { buildFixtureIndex } from '../helpers/buildFixtureIndex.js';

// The feature table's pages come from kept orders (core/store/featureOrder.ts). Every sort, both
// directions, every filter, every page down to the last must equal one plain SQL statement that
// filters and sorts all rows (ties by id in the sort's direction, features without a temporal
// value last), and the kept totals must follow tag edits made here or by another process.

const D_SAE = 48;
let work: string;
let indexDir: string;
let reader: IndexReader;

const SORTS: FeatureSortKey[] = ['index', 'frequency', 'mean', 'max', 'category', 'reviewed', 'autocorrelation', 'switchRate'];

/** The table's statement before issue 19: the reference the kept orders must reproduce. */
function bruteForce(db: Database.Database, hash: string, tokens: number, sort: FeatureSortKey, desc: boolean, f: FeatureFilter): number[] {
  const column: Record<FeatureSortKey, string> = {
    index: 'f.id',
    frequency: 'f.count',
    mean: 'f.mean',
    max: 'f.max',
    category: "CASE t.category WHEN 'scene' THEN 0 WHEN 'action' THEN 1 WHEN 'object' THEN 2 ELSE 3 END",
    reviewed: 'COALESCE(t.reviewed, 0)',
    autocorrelation: 'f.autocorr',
    switchRate: 'f.switch_rate',
  };
  const where: string[] = [];
  const p: Record<string, unknown> = { hash };
  if (f.dead) where.push(f.dead === 'only' ? 'f.count = 0' : 'f.count > 0');
  if (f.dense) {
    p.dense = 0.01 * tokens;
    where.push(f.dense === 'only' ? 'f.count > @dense' : 'f.count <= @dense');
  }
  const range = (col: string, name: string, lo?: number | null, hi?: number | null) => {
    if (lo != null) (p[`${name}Lo`] = lo), where.push(`${col} >= @${name}Lo`);
    if (hi != null) (p[`${name}Hi`] = hi), where.push(`${col} <= @${name}Hi`);
  };
  range('f.log_freq', 'lf', f.minLogFrequency, f.maxLogFrequency);
  range('f.mean', 'mean', f.minMean, f.maxMean);
  range('f.max', 'max', f.minMax, f.maxMax);
  range('f.id', 'id', f.minIndex, f.maxIndex);
  range('f.autocorr', 'ac', f.minAutocorrelation, f.maxAutocorrelation);
  range('f.switch_rate', 'sr', f.minSwitchRate, f.maxSwitchRate);
  if (f.category === 'none') where.push('t.category IS NULL');
  else if (f.category) (p.category = f.category), where.push('t.category = @category');
  if (f.tag) (p.tag = f.tag), where.push('EXISTS (SELECT 1 FROM feature_free_tags g WHERE g.sae_hash = @hash AND g.feature = f.id AND g.tag = @tag)');
  if (f.reviewed && f.reviewed !== 'any') where.push(`COALESCE(t.reviewed, 0) = ${f.reviewed === 'only' ? 1 : 0}`);
  const dir = desc ? 'DESC' : 'ASC';
  const nulls = sort === 'autocorrelation' || sort === 'switchRate' ? ' NULLS LAST' : '';
  const sql = `SELECT f.id FROM features f LEFT JOIN feature_tags t ON t.sae_hash = @hash AND t.feature = f.id
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${column[sort]} ${dir}${nulls}, f.id ${dir}`;
  return db.prepare(sql).pluck().all(p) as number[];
}

/** Every row of a query, page by page (the last page short), as the table scrolls. */
function pagedIds(sort: FeatureSortKey, desc: boolean, filter: FeatureFilter, limit: number): { ids: number[]; totals: number[] } {
  const ids: number[] = [];
  const totals: number[] = [];
  for (let offset = 0; ; offset += limit) {
    const page = reader.queryFeatures({ indexId: 'order', sort, desc, offset, limit, filter });
    totals.push(page.total);
    ids.push(...page.rows.map((r) => r.feature));
    if (offset + limit >= page.total) break;
  }
  return { ids, totals };
}

function expectMatchesBruteForce(sort: FeatureSortKey, desc: boolean, filter: FeatureFilter): void {
  const expected = bruteForce(reader.db, reader.config.sae.hash, reader.progress().tokens, sort, desc, filter);
  const { ids, totals } = pagedIds(sort, desc, filter, 7);
  expect(ids, `${sort} ${desc ? 'desc' : 'asc'} ${JSON.stringify(filter)}`).toEqual(expected);
  expect(new Set(totals)).toEqual(new Set([expected.length]));
  // Offsets that are not page multiples, and past the end.
  const at = Math.max(0, expected.length - 3);
  expect(reader.queryFeatures({ indexId: 'order', sort, desc, offset: at, limit: 10, filter }).rows.map((r) => r.feature)).toEqual(expected.slice(at));
  expect(reader.queryFeatures({ indexId: 'order', sort, desc, offset: expected.length + 5, limit: 10, filter }).rows).toEqual([]);
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-order-'));
  indexDir = (await buildFixtureIndex(path.join(work, 'fixture'), { perLabel: 2, dSae: D_SAE })).indexDir;
  // Values with many ties (counts, means and maxima repeat across ids), dead features, and
  // temporal columns that are NULL for some features, written as the indexer writes them.
  const db = openDatabase(path.join(indexDir, INDEX_DB_FILE));
  const tokens = (JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'progress'").get() as { value: string }).value) as { tokens: number }).tokens;
  const set = db.prepare('UPDATE features SET count = ?, log_freq = ?, mean = ?, max = ?, autocorr = ?, switch_rate = ? WHERE id = ?');
  db.transaction(() => {
    for (let id = 0; id < D_SAE; id++) {
      const count = id % 5 === 0 ? 0 : (id % 4) * Math.ceil(tokens / 150) + (id % 7 === 0 ? tokens : 0);
      set.run(count, Math.log10(count / tokens + 1e-10), (id % 3) * 0.5, ((id * 7) % 4) * 1.25, id % 3 === 0 ? null : (id % 4) / 4, id % 4 === 0 ? null : (id % 2) / 2, id);
    }
  })();
  db.close();
  reader = IndexReader.open('order', indexDir);
  const store = reader.tags();
  const tags = (feature: number, category: 'scene' | 'action' | 'object' | null, reviewed: boolean, free: string[]) => ({ feature, category, reviewed, tags: free, notes: [] });
  store.put(
    [
      tags(3, 'scene', true, ['sky']),
      tags(9, 'object', false, ['sky', 'ball']),
      tags(10, 'action', true, []),
      tags(17, 'scene', false, ['ball']),
      tags(30, null, true, ['sky']),
      tags(44, 'object', true, []),
    ],
    new Date().toISOString(),
  );
}, 180_000);

afterAll(() => {
  reader?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const FILTERS: FeatureFilter[] = [
  {},
  { dead: 'only' },
  { dead: 'exclude' },
  { dense: 'only' },
  { dense: 'exclude' },
  { minLogFrequency: -2, maxLogFrequency: -0.5 },
  { minMean: 0.5 },
  { maxMax: 2.5 },
  { minIndex: 8, maxIndex: 31 },
  { minAutocorrelation: 0.25 },
  { maxSwitchRate: 0 },
  { category: 'scene' },
  { category: 'none' },
  { tag: 'sky' },
  { tag: 'nothing-has-this' },
  { reviewed: 'only' },
  { reviewed: 'exclude' },
  { dead: 'exclude', category: 'none', minMean: 0.5, reviewed: 'exclude' },
];

describe('feature table order and filters', () => {
  it('has the ties and gaps this test is about', () => {
    const counts = bruteForce(reader.db, reader.config.sae.hash, 1, 'frequency', false, {});
    expect(counts).toHaveLength(D_SAE);
    const tied = reader.db.prepare('SELECT COUNT(*) FROM (SELECT count FROM features GROUP BY count HAVING COUNT(*) > 1)').pluck().get() as number;
    expect(tied).toBeGreaterThan(2);
    expect(reader.db.prepare('SELECT COUNT(*) FROM features WHERE autocorr IS NULL').pluck().get()).toBe(16);
  });

  for (const sort of SORTS) {
    it(`sort ${sort}: every filter, both directions, every page equals the brute force`, () => {
      for (const desc of [false, true]) for (const filter of FILTERS) expectMatchesBruteForce(sort, desc, filter);
    });
  }

  it('breaks ties by id in the sort direction, and puts features without a value last either way', () => {
    const asc = pagedIds('mean', false, {}, 100).ids;
    const zeros = asc.filter((id) => id % 3 === 0);
    expect(asc.slice(0, zeros.length)).toEqual(zeros); // mean 0 first, by id ascending
    const desc = pagedIds('mean', true, {}, 100).ids;
    expect(desc.slice(-zeros.length)).toEqual([...zeros].reverse());
    for (const d of [false, true]) {
      const ids = pagedIds('autocorrelation', d, {}, 100).ids;
      const nulls = ids.slice(-16);
      expect(nulls).toHaveLength(16);
      expect(nulls.every((id) => id % 3 === 0)).toBe(true);
      expect(nulls).toEqual([...nulls].sort((a, b) => (d ? b - a : a - b)));
    }
  });

  it('a tag edit through this connection updates the kept totals and orders', () => {
    const before = reader.queryFeatures({ indexId: 'order', sort: 'frequency', desc: true, offset: 0, limit: 5, filter: { category: 'scene' } }).total;
    expect(before).toBe(2);
    reader.tags().put([{ feature: 21, category: 'scene', reviewed: false, tags: ['sky'], notes: [] }], new Date().toISOString());
    expect(reader.queryFeatures({ indexId: 'order', sort: 'frequency', desc: true, offset: 0, limit: 5, filter: { category: 'scene' } }).total).toBe(3);
    expectMatchesBruteForce('category', false, {});
    expectMatchesBruteForce('frequency', true, { tag: 'sky' });
    expectMatchesBruteForce('index', false, { category: 'none' });
  });

  it('a commit by another process (tags or the indexer) updates them too', () => {
    const other = openDatabase(path.join(indexDir, INDEX_DB_FILE));
    try {
      const before = reader.queryFeatures({ indexId: 'order', sort: 'index', desc: false, offset: 0, limit: 5, filter: { reviewed: 'only' } }).total;
      other
        .prepare("INSERT INTO feature_tags (sae_hash, feature, category, reviewed, updated_at) VALUES (?, 40, NULL, 1, '2030-01-01T00:00:00.000Z')")
        .run(reader.config.sae.hash);
      expect(reader.queryFeatures({ indexId: 'order', sort: 'index', desc: false, offset: 0, limit: 5, filter: { reviewed: 'only' } }).total).toBe(before + 1);
      expectMatchesBruteForce('reviewed', true, {});
      // A checkpoint rewrites feature statistics: the next page follows the new values.
      other.prepare('UPDATE features SET count = 1e9, max = 1e9 WHERE id = 1').run();
      expect(reader.queryFeatures({ indexId: 'order', sort: 'frequency', desc: true, offset: 0, limit: 1 }).rows[0]!.feature).toBe(1);
      expectMatchesBruteForce('max', true, { dead: 'exclude' });
    } finally {
      other.close();
    }
  });

  it('keeps a finished build\'s summary counts, and counts again for another progress record', () => {
    const fresh = () => ({
      items: reader.db.prepare('SELECT COUNT(*) FROM items WHERE status = 1').pluck().get(),
      dead: reader.db.prepare('SELECT COUNT(*) FROM features WHERE count = 0').pluck().get(),
    });
    const kept = () => reader.db.prepare("SELECT COUNT(*) FROM meta WHERE key IN ('summary_counts', 'summary_counts_progress')").pluck().get();
    reader.db.prepare("DELETE FROM meta WHERE key IN ('summary_counts', 'summary_counts_progress')").run(); // as an index from before
    const first = reader.summary();
    expect({ items: first.items, dead: first.dead }).toEqual(fresh());
    expect(kept()).toBe(2);
    // Kept: a change the progress record does not announce is not seen...
    reader.db.prepare('UPDATE features SET count = 0 WHERE id = 2').run();
    expect(reader.summary().dead).toBe(first.dead);
    // ...and a resumed build (another progress record) is counted again.
    const progress = { ...reader.progress(), tokens: reader.progress().tokens + 1 };
    reader.db.prepare("UPDATE meta SET value = ? WHERE key = 'progress'").run(JSON.stringify(progress));
    expect(reader.summary().dead).toBe(first.dead + 1);
    expect(reader.summary().dead).toBe(fresh().dead);
  });

  it('search by meaning applies the same filters', () => {
    expect([...reader.filteredFeatureIds({ tag: 'sky' })].sort((a, b) => a - b)).toEqual(bruteForce(reader.db, reader.config.sae.hash, 1, 'index', false, { tag: 'sky' }));
  });
});
