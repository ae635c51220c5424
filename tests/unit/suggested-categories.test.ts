// Search by meaning asks the suggestion rule about every live feature when the text is a category
// word. suggestedCategories does that in one pass over the exemplars table (instead of a
// featureDetail per feature) and keeps the answer per reader: here it must give, for every
// feature of a real index, exactly what the rule gives on the feature's detail (what the feature
// page's "Suggested category" shows), and the search must list exactly those features.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { suggestedCategories } from '../../src-main/core/store/suggestedCategories.js';
import { searchFeatures } from '../../src-main/core/store/featureSearch.js';
import { suggestCategory } from '../../src-main/core/tags/suggestCategory.js';
import { createStudioService } from '../../src-main/core/service.js';
import { buildFixtureIndex, type FixtureIndex } from '../helpers/buildFixtureIndex.js';

let work: string;
let fx: FixtureIndex;
let reader: IndexReader;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-suggested-'));
  fx = await buildFixtureIndex(work, { perLabel: 5 });
  reader = IndexReader.open('suggested-test', fx.indexDir);
}, 180_000);

afterAll(() => {
  reader?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('suggestedCategories', () => {
  it('equals the rule on each feature\'s detail, for every feature', () => {
    const all = suggestedCategories(reader);
    const dSae = reader.config.sae.dSae;
    const seen = new Map<string, number>();
    for (let f = 0; f < dSae; f++) {
      const d = reader.featureDetail(f);
      const want = d.exemplars.length
        ? suggestCategory({ feature: f, exemplars: d.exemplars, upper: d.upper, temporal: d.row.switchRate != null ? { switchRate: d.row.switchRate } : null }).category
        : undefined;
      expect(all.get(f), `feature ${f}`).toBe(want);
      seen.set(String(want), (seen.get(String(want)) ?? 0) + 1);
    }
    // The comparison covers more than one answer: object, no suggestion, and dead features (no
    // exemplars, so absent from the map); this fixture has no scene-like feature.
    expect(seen.get('object') ?? 0).toBeGreaterThan(10);
    expect(seen.get('null') ?? 0).toBeGreaterThan(10);
    expect(seen.get('undefined') ?? 0).toBeGreaterThan(0);
  });

  it('is kept per reader: a second search does not scan again', () => {
    expect(suggestedCategories(reader)).toBe(suggestedCategories(reader));
  });

  it('search lists exactly the features the rule suggests for a category word, within the filters', () => {
    const all = suggestedCategories(reader);
    for (const category of ['scene', 'object'] as const) {
      const want = [...all].filter(([, c]) => c === category).map(([f]) => f).sort((a, b) => a - b);
      const r = searchFeatures(reader, { text: category, limit: 500 });
      const got = r.hits.filter((h) => h.matches.some((m) => m.kind === 'suggested')).map((h) => h.row.feature).sort((a, b) => a - b);
      expect(got).toEqual(want);
      const filtered = searchFeatures(reader, { text: category, limit: 500, filter: { minIndex: 50, maxIndex: 120 } });
      expect(filtered.hits.map((h) => h.row.feature).sort((a, b) => a - b)).toEqual(want.filter((f) => f >= 50 && f <= 120));
    }
  });

  it('the service scans in the analysis worker and finds the same features as the scan here', async () => {
    const service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
    try {
      const id = (await service.openIndex({ path: fx.indexDir })).id;
      for (const text of ['object', 'Scene']) {
        const viaWorker = await service.searchFeatures({ indexId: id, text, limit: 500 });
        const here = searchFeatures(reader, { text, limit: 500 });
        expect(viaWorker.total, text).toBe(here.total);
        expect(viaWorker.hits.map((h) => [h.row.feature, h.matches])).toEqual(here.hits.map((h) => [h.row.feature, h.matches]));
      }
      expect((await service.searchFeatures({ indexId: id, text: 'object', limit: 500 })).total).toBeGreaterThan(10);
    } finally {
      await service.close();
    }
  }, 60_000);
});
