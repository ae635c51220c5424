import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { loadManifest } from '../../src-main/core/backbone/manifest.js';
import { BackboneSession } from '../../src-main/core/backbone/backboneSession.js';
import { preprocessImage } from '../../src-main/core/backbone/preprocess.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { SaeEncoderSession } from '../../src-main/core/sae/encoderSession.js';
import { fromHalf, toHalf } from '../../src-main/core/util/float16.js';
import { sampleKey } from '../../src-main/core/indexer/rangeSamples.js';
import Database from 'better-sqlite3';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { expectPatchMap } from '../helpers/expectPatchMap.js';

/**
 * The indexer against a brute force: every image through backbone and encoder one at a time,
 * statistics and top-k computed with plain loops and a sort.
 */
interface Brute {
  count: number[];
  sum: number[];
  max: number[];
  /** Per feature: items sorted by (max over patches desc, item asc) with their patch maps. */
  ranking: { item: number; value: number; map: number[] }[][];
  tokens: number;
}

async function bruteForce(vit: TinyVit, layer: string, saePath: string, dataDir: string, items: string[], skip: Set<string>): Promise<Brute> {
  const manifest = loadManifest(vit.manifestPath);
  const backbone = await BackboneSession.open(manifest, layer, 'cpu');
  const sae = loadSae(saePath);
  const encoder = await SaeEncoderSession.create(sae, 'cpu');
  const F = sae.dSae;
  const offset = (manifest.tokens.cls ? 1 : 0) + manifest.tokens.registers;
  const P = manifest.tokens.grid[0] * manifest.tokens.grid[1];
  const count = new Array(F).fill(0);
  const sum = new Array(F).fill(0);
  const max = new Array(F).fill(0);
  const perItem: { item: number; maps: number[][] }[] = [];
  let tokens = 0;
  for (const [id, rel] of items.entries()) {
    if (skip.has(rel)) continue;
    const { pixels } = await preprocessImage(path.join(dataDir, rel), manifest.preprocess);
    const out = await backbone.run(pixels, 1);
    const patchRows = out.tokens.slice(offset * out.d, (offset + P) * out.d);
    const codes = await encoder.encode(patchRows, P);
    const maps = Array.from({ length: F }, () => new Array(P).fill(0));
    for (let p = 0; p < P; p++) {
      for (let e = codes.rowPtr[p]!; e < codes.rowPtr[p + 1]!; e++) {
        const f = codes.feature[e]!;
        const v = codes.value[e]!;
        maps[f]![p] = v;
        count[f]++;
        sum[f] += v;
        max[f] = Math.max(max[f], v);
      }
    }
    tokens += P;
    perItem.push({ item: id, maps });
  }
  await backbone.close();
  await encoder.close();
  const ranking = Array.from({ length: F }, (_, f) =>
    perItem
      .map(({ item, maps }) => ({ item, value: Math.max(...maps[f]!), map: maps[f]! }))
      .filter((x) => x.value > 0)
      .sort((a, b) => b.value - a.value || a.item - b.item),
  );
  return { count, sum, max, ranking, tokens };
}

describe('indexer on a generated image folder', () => {
  let work: string;
  let vit: TinyVit;
  let saePath: string;
  let data: { dir: string; files: string[]; corrupt: string[] };
  let out: string;
  let reader: IndexReader;
  let brute: Brute;
  let allItems: string[];
  const topK = 5;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-indexer-'));
    vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 3 });
    saePath = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 40, architecture: 'topk', k: 4, seed: 5 });
    data = await makeImageFolder(path.join(work, 'data'), { perLabel: 7, corrupt: 1 });
    out = path.join(work, 'index');
    const result = await runIndex(
      { model: vit.manifestPath, layer: 'block_1', sae: saePath, data: data.dir, out, topK, batch: 4, provider: 'cpu', thumbnails: 'eager' },
      { checkpointIntervalMs: 0 },
    );
    expect(result.skipped).toBe(1);
    reader = IndexReader.open('test', out);
    allItems = [...data.files, ...data.corrupt].sort();
    brute = await bruteForce(vit, 'block_1', saePath, data.dir, allItems, new Set(data.corrupt));
  });

  afterAll(() => {
    reader?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('summarises items, tokens, skipped files and the model/SAE it was built from', () => {
    const s = reader.summary();
    expect(s.items).toBe(data.files.length);
    expect(s.skipped).toBe(1);
    expect(s.tokens).toBe(data.files.length * 16);
    expect(s.features).toBe(40);
    expect(s.complete).toBe(true);
    expect(s.provider).toBe('cpu');
    expect(s.model.tokens.grid).toEqual([4, 4]);
    expect(s.sae.architecture).toBe('topk');
    expect(s.labels).toEqual(['desert', 'forest', 'ocean']);
    expect(s.name).toBe('CLIP-40');
    const skipped = reader.skipped();
    expect(skipped.map((x) => x.item)).toEqual(data.corrupt);
    expect(skipped[0]!.reason).toMatch(/broken_0\.jpg/);
  });

  it('matches brute-force frequency, mean and max for every feature', () => {
    expect(reader.summary().tokens).toBe(brute.tokens);
    const page = reader.queryFeatures({ indexId: 'test', sort: 'index', desc: false, offset: 0, limit: 1000 });
    expect(page.total).toBe(40);
    for (const row of page.rows) {
      const f = row.feature;
      expect(row.count).toBe(brute.count[f]);
      expect(row.frequency).toBeCloseTo(brute.count[f]! / brute.tokens, 12);
      expect(row.logFrequency).toBeCloseTo(Math.log10(brute.count[f]! / brute.tokens + 1e-10), 12);
      const mean = brute.count[f]! > 0 ? brute.sum[f]! / brute.count[f]! : 0;
      expect(row.mean).toBeCloseTo(mean, 5);
      expect(row.max).toBeCloseTo(brute.max[f]!, 6);
      expect(row.histogram.reduce((a, b) => a + b, 0)).toBe(brute.count[f]);
    }
  });

  it('keeps the brute-force top-k exemplars in rank order with their patch maps', () => {
    let checked = 0;
    for (let f = 0; f < 40; f++) {
      const detail = reader.featureDetail(f);
      const expected = brute.ranking[f]!.slice(0, topK);
      expect(detail.exemplars.map((e) => e.item)).toEqual(expected.map((e) => allItems[e.item]));
      detail.exemplars.forEach((ex, i) => {
        expect(ex.rank).toBe(i);
        expect(ex.value).toBeCloseTo(expected[i]!.value, 6);
        expect(ex.label).toBe(ex.item.split('/')[0]);
        // Patch maps are stored compactly, quantised to 1/255 of each map's maximum.
        expectPatchMap(ex.patchMap, expected[i]!.map, `feature ${f} exemplar ${i}`);
      });
      if (expected.length > 0) {
        expect(detail.upper).toBeCloseTo(Math.max(...detail.exemplars.flatMap((e) => e.patchMap)), 6);
        const labels = new Map<string, number>();
        for (const e of detail.exemplars) labels.set(e.label!, (labels.get(e.label!) ?? 0) + 1);
        expect(Object.fromEntries(detail.labelCounts.map((l) => [l.label, l.count]))).toEqual(Object.fromEntries(labels));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('keeps each item\'s strongest features (max over patches) for matching', () => {
    const F = 40;
    for (const [id, rel] of allItems.entries()) {
      if (data.corrupt.includes(rel)) {
        expect(reader.itemActivations(id)).toEqual([]);
        continue;
      }
      const expected = Array.from({ length: F }, (_, f) => ({ feature: f, value: brute.ranking[f]!.find((r) => r.item === id)?.value ?? 0 }))
        .filter((x) => x.value > 0)
        .sort((a, b) => b.value - a.value || a.feature - b.feature)
        .slice(0, 64);
      const got = reader.itemActivations(id);
      expect(got.map((g) => g.feature)).toEqual(expected.map((e) => e.feature));
      got.forEach((g, i) => expect(g.value).toBe(fromHalf(toHalf(expected[i]!.value))));
    }
    expect([...reader.allItemActivations()].map((x) => x.path)).toEqual(data.files);
  });

  it('sorts and filters in the store', () => {
    const all = reader.queryFeatures({ indexId: 'test', sort: 'frequency', desc: true, offset: 0, limit: 100 }).rows;
    const counts = all.map((r) => r.count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    const byMean = reader.queryFeatures({ indexId: 'test', sort: 'mean', desc: false, offset: 0, limit: 100 }).rows.map((r) => r.mean);
    expect(byMean).toEqual([...byMean].sort((a, b) => a - b));
    const dead = brute.count.filter((c) => c === 0).length;
    expect(reader.queryFeatures({ indexId: 'test', sort: 'index', desc: false, offset: 0, limit: 100, filter: { dead: 'only' } }).total).toBe(dead);
    expect(reader.summary().dead).toBe(dead);
    const paged = reader.queryFeatures({ indexId: 'test', sort: 'max', desc: true, offset: 10, limit: 5 });
    const full = reader.queryFeatures({ indexId: 'test', sort: 'max', desc: true, offset: 0, limit: 100 });
    expect(paged.rows.map((r) => r.feature)).toEqual(full.rows.slice(10, 15).map((r) => r.feature));
    const ranged = reader.queryFeatures({ indexId: 'test', sort: 'index', desc: false, offset: 0, limit: 100, filter: { minMax: 1, maxLogFrequency: -0.5 } });
    expect(ranged.rows.length).toBeGreaterThan(0);
    expect(ranged.rows.every((r) => r.max >= 1 && r.logFrequency <= -0.5)).toBe(true);
    // An index range (how the UI shows one Matryoshka group).
    const group = reader.queryFeatures({ indexId: 'test', sort: 'max', desc: true, offset: 0, limit: 100, filter: { minIndex: 8, maxIndex: 15 } });
    expect(group.total).toBe(8);
    expect(group.rows.map((r) => r.feature).sort((a, b) => a - b)).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('samples a few items from each activation range of every feature, as the brute force does (issue 17)', () => {
    // Brute force: range = the last half-decade edge 10^(-4 + j/2) not above the item's max over
    // patches; per range every item counted, the 4 with the smallest sampleKey kept.
    const rangeOf = (v: number) => {
      let r = 0;
      for (let j = 1; j < 16; j++) if (v >= 10 ** (-4 + j / 2)) r = j;
      return r;
    };
    let rows = 0;
    let sampled = 0;
    let overflowing = 0;
    for (let f = 0; f < 40; f++) {
      const groups = new Map<number, Brute['ranking'][number]>();
      for (const x of brute.ranking[f]!) groups.set(rangeOf(x.value), [...(groups.get(rangeOf(x.value)) ?? []), x]);
      const expected = [...groups.entries()]
        .sort((a, b) => b[0] - a[0])
        .map(([r, list]) => ({
          lo: r === 0 ? 0 : 10 ** (-4 + r / 2),
          hi: r === 15 ? null : 10 ** (-4 + (r + 1) / 2),
          count: list.length,
          items: list
            .slice()
            .sort((a, b) => sampleKey(f, a.item) - sampleKey(f, b.item) || a.item - b.item)
            .slice(0, 4)
            .sort((a, b) => b.value - a.value || a.item - b.item),
        }));
      const got = reader.featureDetail(f).rangeSamples!;
      expect(got.map((r) => r.count)).toEqual(expected.map((r) => r.count));
      got.forEach((row, i) => {
        const want = expected[i]!;
        expect(row.lo).toBeCloseTo(want.lo, 12);
        if (want.hi === null) expect(row.hi).toBeNull();
        else expect(row.hi).toBeCloseTo(want.hi, 12);
        expect(row.items.map((e) => e.item)).toEqual(want.items.map((e) => allItems[e.item]));
        row.items.forEach((e, j) => {
          expect(e.rank).toBe(j);
          expect(e.value).toBe(want.items[j]!.value);
          expect(e.label).toBe(e.item.split('/')[0]);
          expectPatchMap(e.patchMap, want.items[j]!.map, `range sample ${j}`);
          expect(e.value >= row.lo && (row.hi === null || e.value < row.hi)).toBe(true);
        });
        sampled += row.items.length;
        if (row.count > 4) overflowing++;
      });
      rows += got.length;
      expect(got.reduce((a, r) => a + r.count, 0)).toBe(brute.ranking[f]!.length);
    }
    expect(rows).toBeGreaterThan(40);
    expect(sampled).toBeGreaterThan(80);
    expect(overflowing).toBeGreaterThan(5);
  });

  it('an index from before range samples opens and says it has none', () => {
    const old = path.join(work, 'old-index');
    fs.cpSync(out, old, { recursive: true });
    // The schema 4 layout: no range_samples table, no range_counts column, no range_spec.
    const db = new Database(path.join(old, 'index.sqlite'));
    db.exec("DROP TABLE range_samples; ALTER TABLE features DROP COLUMN range_counts; DELETE FROM meta WHERE key = 'range_spec'");
    db.pragma('user_version = 4');
    db.close();
    const r = IndexReader.open('old', old);
    try {
      expect(r.summary().schemaVersion).toBe(5);
      const d = r.featureDetail(brute.ranking.findIndex((x) => x.length > 0));
      expect(d.rangeSamples).toBeNull();
      expect(d.exemplars.length).toBeGreaterThan(0);
    } finally {
      r.close();
    }
  });

  it('writes one thumbnail per exemplar or range-sample image, the crop the model saw', async () => {
    const thumbs = fs.readdirSync(path.join(out, 'thumbs'));
    const exemplarItems = new Set<number>();
    for (let f = 0; f < 40; f++) {
      const d = reader.featureDetail(f);
      for (const e of [...d.exemplars, ...d.rangeSamples!.flatMap((r) => r.items)]) exemplarItems.add(e.itemId);
    }
    expect(thumbs.sort()).toEqual([...exemplarItems].map((id) => `${id}.webp`).sort());
  });
});
