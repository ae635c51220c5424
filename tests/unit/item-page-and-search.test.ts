// Issue 17: the item page (stored top features + maps re-encoded through the patch query engine)
// against `studio query --patches all` on the same image, and search by meaning against a
// brute-force label purity count over the exemplars, on a real generated index.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../helpers/runCliCaptured.js';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import { validatedApi } from '../../src-main/hosts/dispatch.js';
import type { FeatureFilter, IndexSummary } from '../../src-main/contract/index.js';
import { buildFixtureIndex, type FixtureIndex } from '../helpers/buildFixtureIndex.js';

let work: string;
let fx: FixtureIndex;
let service: StudioService;
let s: IndexSummary;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-item-'));
  fx = await buildFixtureIndex(work, { perLabel: 6 });
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
  s = await service.openIndex({ path: fx.indexDir });
}, 180_000);

afterAll(async () => {
  await service?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

async function cliQueryAll(image: string): Promise<{ feature: number; value: number }[]> {
  const out = await runCliCaptured(['query', fx.indexDir, image, '--patches', 'all', '--json', '--limit', '1000'], work);
  return (JSON.parse(out) as { features: { feature: number; value: number }[] }).features;
}

/** Brute force: every feature's exemplars (featureDetail), purity of the given labels. */
async function bruteLabelSearch(labels: string[], keep: (f: number) => boolean) {
  const out: { feature: number; count: number; n: number }[] = [];
  for (let f = 0; f < s.features; f++) {
    if (!keep(f)) continue;
    const d = await service.featureDetail({ indexId: s.id, feature: f });
    const count = d.exemplars.filter((e) => e.label !== null && labels.includes(e.label)).length;
    if (count > 0) out.push({ feature: f, count, n: d.exemplars.length });
  }
  return out.sort((a, b) => b.count / b.n - a.count / a.n || b.count - a.count || a.feature - b.feature);
}

describe('item page', () => {
  it('lists the stored top features of an item, equal to `studio query --patches all` on the same image', async () => {
    const items = await service.listItems({ indexId: s.id, limit: 500 });
    expect(items.total).toBeGreaterThan(20);
    for (const pick of [items.items[0]!, items.items[17]!]) {
      const d = await service.itemDetail({ indexId: s.id, item: pick.id });
      expect(d.mapsProblem).toBeNull();
      expect(d.item.path).toBe(pick.path);
      expect(d.item.label).toBe(pick.label);
      expect(d.item.file).toBe(path.join(fx.dataDir, pick.path));
      expect(d.item.width).toBe(120);
      expect(d.item.height).toBe(108);
      expect(d.grid).toEqual([6, 6]);
      expect(d.preview).toMatch(/^data:image\/png;base64,/);

      // The same image through the CLI (sums) and the service's query (max and maps).
      const cli = await cliQueryAll(d.item.file);
      const loaded = await service.loadQueryImage({ image: { path: d.item.file }, indexIds: [s.id] });
      const [R, C] = loaded.views[0]!.grid;
      const all = Array.from({ length: R * C }, (_, p) => [Math.floor(p / C), p % C] as [number, number]);
      const q = await service.queryPatches({ imageId: loaded.imageId, indexId: s.id, patches: all, limit: 1000 });
      expect(q.features.map((f) => f.feature)).toEqual(cli.map((f) => f.feature));

      // The item's features are the query's features ranked by max over patches, top 64.
      const byMax = [...q.features].sort((a, b) => b.max - a.max || a.feature - b.feature).slice(0, 64);
      expect(d.features.length).toBe(Math.min(64, q.features.length));
      expect(d.features.length).toBeGreaterThan(5);
      expect(d.features.map((f) => f.feature)).toEqual(byMax.map((f) => f.feature));
      const cliSum = new Map(cli.map((f) => [f.feature, f.value]));
      d.features.forEach((f, i) => {
        // Stored as float16: relative error under 2^-10.
        expect(Math.abs(f.value - byMax[i]!.max)).toBeLessThanOrEqual(byMax[i]!.max * 1e-3 + 1e-6);
        expect(f.sum).toBeCloseTo(cliSum.get(f.feature)!, 5);
        expect(f.patchMap).toEqual(byMax[i]!.patchMap);
        expect(f.patchMap!.reduce((a, b) => a + b, 0)).toBeCloseTo(f.sum!, 4);
      });
      expect(d.upper).toBeCloseTo(Math.max(...byMax.map((f) => f.max)), 6);
    }
  }, 120_000);

  it('carries tags, and refuses an unknown item', async () => {
    const first = (await service.listItems({ indexId: s.id, limit: 1 })).items[0]!;
    const d0 = await service.itemDetail({ indexId: s.id, item: first.id, maps: false });
    expect(d0.mapsProblem).toMatch(/not asked/);
    expect(d0.features.length).toBeGreaterThan(0);
    expect(d0.features.every((f) => f.patchMap === null && f.sum === null)).toBe(true);
    const f = d0.features[0]!.feature;
    await service.editTags({ indexId: s.id, features: [f], addTags: ['item-page-tag'], category: 'object', note: 'seen on the item page' });
    const d = await service.itemDetail({ indexId: s.id, item: first.id, maps: false });
    expect(d.features[0]).toMatchObject({ feature: f, tags: ['item-page-tag'], category: 'object', noteCount: 1 });
    await expect(service.itemDetail({ indexId: s.id, item: 999_999 })).rejects.toThrow(/no indexed item/);
    await expect(validatedApi(service).itemDetail({ indexId: s.id, item: -1 })).rejects.toThrow(/item must be at least 0/);
    await service.editTags({ indexId: s.id, features: [f], removeTags: ['item-page-tag'], category: null });
  }, 60_000);
});

describe('search by meaning', () => {
  it('ranks features by label purity exactly as a brute-force count over the exemplars', async () => {
    for (const label of ['forest', 'ocean']) {
      const expected = await bruteLabelSearch([label], () => true);
      expect(expected.length).toBeGreaterThan(3);
      const r = await service.searchFeatures({ indexId: s.id, text: label.toUpperCase(), limit: 500 });
      expect(r.labels).toEqual([label]);
      expect(r.total).toBe(expected.length);
      expect(r.hits.map((h) => h.row.feature)).toEqual(expected.map((e) => e.feature));
      r.hits.forEach((h, i) => {
        expect(h.labelCount).toBe(expected[i]!.count);
        expect(h.exemplars).toBe(expected[i]!.n);
        expect(h.labelPurity).toBeCloseTo(expected[i]!.count / expected[i]!.n, 12);
      });
      // Paging walks the same ranking.
      const page = await service.searchFeatures({ indexId: s.id, text: label, limit: 3, offset: 2 });
      expect(page.hits.map((h) => h.row.feature)).toEqual(expected.slice(2, 5).map((e) => e.feature));
    }
  }, 60_000);

  it('applies the feature table\'s filters', async () => {
    const filter: FeatureFilter = { minIndex: 40, maxIndex: 140, dead: 'exclude' };
    const table = await service.queryFeatures({ indexId: s.id, sort: 'index', desc: false, offset: 0, limit: 5000, filter });
    const inTable = new Set(table.rows.map((r) => r.feature));
    const expected = await bruteLabelSearch(['desert'], (f) => inTable.has(f));
    const r = await service.searchFeatures({ indexId: s.id, text: 'desert', filter, limit: 500 });
    expect(r.hits.map((h) => h.row.feature)).toEqual(expected.map((e) => e.feature));
    expect(r.hits.length).toBeGreaterThan(0);
    expect(r.hits.every((h) => h.row.feature >= 40 && h.row.feature <= 140)).toBe(true);
    // A partial word finds the label it is part of.
    expect((await service.searchFeatures({ indexId: s.id, text: 'sno', limit: 1 })).labels).toEqual(['snow']);
  }, 60_000);

  it('finds a tagged feature and a note, ahead of label hits', async () => {
    await service.editTags({ indexId: s.id, features: [7], addTags: ['Zebra stripes'] });
    await service.editTags({ indexId: s.id, features: [150], note: 'Fires on wave crests near the shore' });
    const tag = await service.searchFeatures({ indexId: s.id, text: 'zebra', limit: 10 });
    expect(tag.hits.map((h) => h.row.feature)).toEqual([7]);
    expect(tag.hits[0]!.matches).toEqual([{ kind: 'tag', text: 'zebra stripes' }]);
    expect(tag.hits[0]!.row.tags).toEqual(['zebra stripes']);
    const note = await service.searchFeatures({ indexId: s.id, text: 'wave crest', limit: 10 });
    expect(note.hits.map((h) => h.row.feature)).toEqual([150]);
    expect(note.hits[0]!.matches[0]).toEqual({ kind: 'note', text: 'Fires on wave crests near the shore' });
    // A filter that excludes the tagged feature hides it.
    expect((await service.searchFeatures({ indexId: s.id, text: 'zebra', filter: { minIndex: 8 } })).total).toBe(0);
    // A note mentioning a label puts that feature first, then the label hits by purity.
    await service.editTags({ indexId: s.id, features: [3], note: 'a beach feature?' });
    const beach = await service.searchFeatures({ indexId: s.id, text: 'beach', limit: 500 });
    expect(beach.hits[0]!.row.feature).toBe(3);
    const rest = beach.hits.slice(1).filter((h) => !h.matches.some((m) => m.kind === 'note'));
    const expected = await bruteLabelSearch(['beach'], (f) => f !== 3);
    expect(rest.map((h) => h.row.feature)).toEqual(expected.map((e) => e.feature));
    // Category: the user's category, and features whose suggested category it is.
    await service.editTags({ indexId: s.id, features: [9], category: 'scene' });
    const scene = await service.searchFeatures({ indexId: s.id, text: 'scene', limit: 500 });
    expect(scene.hits[0]!.row.feature).toBe(9);
    expect(scene.hits[0]!.matches.some((m) => m.kind === 'category')).toBe(true);
    for (const h of scene.hits.filter((x) => x.matches.some((m) => m.kind === 'suggested')).slice(0, 5)) {
      expect((await service.suggestCategory({ indexId: s.id, feature: h.row.feature })).category).toBe('scene');
    }
    expect((await service.searchFeatures({ indexId: s.id, text: '   ' })).total).toBe(0);
  }, 60_000);
});
