// One conformance suite for the feature table, run against the real service on a small real index
// and against the renderer's fake client. The fake imitates the core's filtering and sorting so
// the views and the screenshot harness have something to page; where it drifts from the core,
// store tests and screenshots show what the studio never would. The rules are checked on each
// implementation's own rows (the numbers differ: the fake makes up its data), so this pins the
// rules, not the data.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureFilter, FeaturePage, FeatureQuery, FeatureRow, FeatureSortKey, TagChange, TagEdit } from '../../src-main/contract/index.js';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import { buildFixtureIndex } from '../helpers/buildFixtureIndex.js';
import { createFakeStudioClient } from '../helpers/fakeStudioClient.js';

interface Table {
  indexId: string;
  queryFeatures(q: FeatureQuery): Promise<FeaturePage>;
  editTags(e: TagEdit): Promise<TagChange>;
}

const FEATURES = 192;
let work: string;
let service: StudioService;
const tables: Record<string, () => Table> = {};

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-conformance-'));
  const fixture = await buildFixtureIndex(path.join(work, 'fixture'), { perLabel: 3, dSae: FEATURES });
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
  const real = (await service.openIndex({ path: fixture.indexDir })).id;
  const fake = createFakeStudioClient({ index: { features: FEATURES } });
  tables['the real service'] = () => ({ indexId: real, queryFeatures: (q) => service.queryFeatures(q), editTags: (e) => service.editTags(e) });
  tables['the fake client'] = () => ({ indexId: fake.summary.id, queryFeatures: (q) => fake.queryFeatures(q), editTags: (e) => fake.editTags(e) });
}, 180_000);

afterAll(async () => {
  await service?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const DENSE = 1e-2; // frequency above which a feature counts as dense (core: DENSE_FREQUENCY)

/** The filter's meaning, from the contract's comments, for one row. */
function passes(r: FeatureRow, f: FeatureFilter): boolean {
  const within = (v: number | null, lo?: number | null, hi?: number | null) =>
    (lo == null && hi == null) || (v !== null && (lo == null || v >= lo) && (hi == null || v <= hi));
  const tri = (mode: string | undefined, value: boolean) => mode === undefined || mode === 'any' || (mode === 'only') === value;
  return (
    tri(f.dead, r.count === 0) &&
    tri(f.dense, r.frequency > DENSE) &&
    tri(f.reviewed, r.reviewed) &&
    within(r.logFrequency, f.minLogFrequency, f.maxLogFrequency) &&
    within(r.mean, f.minMean, f.maxMean) &&
    within(r.max, f.minMax, f.maxMax) &&
    within(r.feature, f.minIndex, f.maxIndex) &&
    // Features without a temporal value (every feature of an image index) fail a temporal bound.
    within(r.autocorrelation, f.minAutocorrelation, f.maxAutocorrelation) &&
    within(r.switchRate, f.minSwitchRate, f.maxSwitchRate) &&
    (f.category == null || (f.category === 'none' ? r.category === null : r.category === f.category)) &&
    (f.tag == null || r.tags.includes(f.tag))
  );
}

async function all(t: Table, sort: FeatureSortKey = 'index', desc = false, filter?: FeatureFilter): Promise<FeaturePage> {
  return t.queryFeatures({ indexId: t.indexId, sort, desc, offset: 0, limit: 1000, filter });
}

/** Filters whose bounds sit inside the implementation's own data, so each keeps some rows and drops some. */
function filtersFor(rows: FeatureRow[]): [string, FeatureFilter][] {
  const live = rows.filter((r) => r.count > 0);
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const lf = median(live.map((r) => r.logFrequency));
  const mean = median(live.map((r) => r.mean));
  const max = median(live.map((r) => r.max));
  return [
    ['dead only', { dead: 'only' }],
    ['dead excluded', { dead: 'exclude' }],
    ['dense excluded', { dense: 'exclude' }],
    ['log frequency range', { minLogFrequency: lf - 0.3, maxLogFrequency: lf + 0.3 }],
    ['mean at least', { minMean: mean }],
    ['max at most', { maxMax: max }],
    ['index range (a group)', { minIndex: 48, maxIndex: 95 }],
    ['two clauses', { dead: 'exclude', minIndex: 10, maxIndex: 150, minMean: mean }],
    ['autocorrelation bound', { minAutocorrelation: -1 }],
    ['switch-rate bound', { maxSwitchRate: 1 }],
    ['category', { category: 'object' }],
    ['no category', { category: 'none', maxIndex: 20 }],
    ['free tag', { tag: 'striped' }],
    ['reviewed only', { reviewed: 'only' }],
  ];
}

describe.each(['the real service', 'the fake client'])('feature table rules: %s', (name) => {
  it('tags: edits made through the same call show in the rows', async () => {
    const t = tables[name]!();
    await t.editTags({ indexId: t.indexId, features: [3, 7, 11], category: 'object', addTags: ['striped'], reviewed: true });
    const rows = (await all(t)).rows;
    expect(rows.filter((r) => r.category === 'object').map((r) => r.feature)).toEqual([3, 7, 11]);
    expect(rows.filter((r) => r.tags.includes('striped')).map((r) => r.feature)).toEqual([3, 7, 11]);
  });

  it('every filter keeps exactly the rows that satisfy it, in index order, with the right total', async () => {
    const t = tables[name]!();
    const full = await all(t);
    expect(full.total).toBe(FEATURES);
    expect(full.rows).toHaveLength(FEATURES);
    for (const [label, filter] of filtersFor(full.rows)) {
      const got = await all(t, 'index', false, filter);
      const want = full.rows.filter((r) => passes(r, filter)).map((r) => r.feature);
      expect.soft(got.rows.map((r) => r.feature), label).toEqual(want);
      expect.soft(got.total, label).toBe(want.length);
    }
  });

  it('sorts by each key, ties by feature number in the sort\'s direction, and pages are slices of the order', async () => {
    const t = tables[name]!();
    const categoryRank = (r: FeatureRow) => (r.category ? ['scene', 'action', 'object'].indexOf(r.category) : 3);
    const keys: [FeatureSortKey, (r: FeatureRow) => number][] = [
      ['frequency', (r) => r.frequency],
      ['mean', (r) => r.mean],
      ['max', (r) => r.max],
      ['category', categoryRank],
      ['reviewed', (r) => Number(r.reviewed)],
      // An image index has no temporal values: those sorts leave feature-number order (in the
      // sort's direction), as features without a value come last by number.
      ['autocorrelation', (r) => r.autocorrelation ?? 0],
      ['switchRate', (r) => r.switchRate ?? 0],
    ];
    const full = (await all(t)).rows;
    for (const [key, value] of keys) {
      for (const desc of [false, true]) {
        const got = (await all(t, key, desc)).rows.map((r) => r.feature);
        // Descending is the exact reverse of ascending (value, feature number).
        const asc = [...full].sort((a, b) => value(a) - value(b) || a.feature - b.feature).map((r) => r.feature);
        const want = desc ? asc.reverse() : asc;
        expect.soft(got, `${key} ${desc ? 'desc' : 'asc'}`).toEqual(want);
        const page = await t.queryFeatures({ indexId: t.indexId, sort: key, desc, offset: 50, limit: 25 });
        expect.soft(page.rows.map((r) => r.feature), `${key} page`).toEqual(got.slice(50, 75));
      }
    }
  });
});
