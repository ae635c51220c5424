import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { readSaevShards } from '../../src-main/core/dataset/saevShards.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { writeSaevShards } from '../helpers/writeSaevShards.js';

function snapshot(dir: string) {
  const r = IndexReader.open('x', dir);
  try {
    const rows = r.queryFeatures({ indexId: 'x', sort: 'index', desc: false, offset: 0, limit: 1000 }).rows;
    return rows.map((row) => {
      const d = r.featureDetail(row.feature);
      return { index: row.feature, count: row.count, mean: row.mean, max: row.max, exemplars: d.exemplars.map((e) => [e.item, e.label, e.value]) };
    });
  } finally {
    r.close();
  }
}

describe('saev activation shards as a data source', () => {
  let work: string;
  let vit: TinyVit;
  let saePath: string;
  let images: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-shards-'));
    vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 4 });
    saePath = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 32, architecture: 'topk', k: 4, seed: 9 });
    images = (await makeImageFolder(path.join(work, 'images'), { perLabel: 5 })).dir;
    await writeSaevShards({ manifestPath: vit.manifestPath, layers: ['block_0', 'block_1'], images, out: path.join(work, 'shards'), examplesPerShard: 4 });
    await writeSaevShards({ manifestPath: vit.manifestPath, layers: ['block_0', 'block_1'], images, out: path.join(work, 'legacy'), examplesPerShard: 6, legacy: true });
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('reads current and legacy metadata, with shards.json or the computed shard size', () => {
    const cur = readSaevShards(path.join(work, 'shards'));
    expect(cur.nEx).toBe(15);
    expect(cur.shards.map((s) => s.nEx)).toEqual([4, 4, 4, 3]);
    expect(cur.grid).toEqual([4, 4]);
    expect(cur.layers).toEqual(['0', '1']);
    const legacy = readSaevShards(path.join(work, 'legacy'));
    expect(legacy.shards.map((s) => s.nEx)).toEqual([6, 6, 3]);
    expect(legacy.d).toBe(16);
    expect(legacy.cls).toBe(true);
  });

  it('an index from shards equals the index from running the backbone on the images', async () => {
    const fromImages = path.join(work, 'idx-images');
    await runIndex({ model: vit.manifestPath, layer: 'block_1', sae: saePath, data: images, out: fromImages, topK: 4, batch: 3, provider: 'cpu' });
    for (const shardDir of ['shards', 'legacy']) {
      const fromShards = path.join(work, `idx-${shardDir}`);
      // The tiny ViT's 4x4 grid is not the shipped CLIP manifest's 14x14: its manifest must be given.
      const result = await runIndex({ shards: path.join(work, shardDir), images, model: vit.manifestPath, layer: '1', sae: saePath, out: fromShards, topK: 4, batch: 5, thumbnails: 'eager' });
      expect(result.items).toBe(15);
      const a = snapshot(fromImages);
      const b = snapshot(fromShards);
      expect(b.map((f) => [f.index, f.count, f.exemplars.map((e) => e[0])])).toEqual(a.map((f) => [f.index, f.count, f.exemplars.map((e) => e[0])]));
      b.forEach((f, i) => {
        expect(f.mean).toBeCloseTo(a[i]!.mean, 5);
        expect(f.max).toBeCloseTo(a[i]!.max, 5);
      });
      expect(fs.readdirSync(path.join(fromShards, 'thumbs')).length).toBeGreaterThan(0);
    }
  });

  it('without --images, items are named by example index', async () => {
    const out = path.join(work, 'idx-noimages');
    await runIndex({ shards: path.join(work, 'shards'), layer: '0', sae: saePath, out, topK: 2 });
    const r = IndexReader.open('y', out);
    const ex = r.featureDetail(r.queryFeatures({ indexId: 'y', sort: 'frequency', desc: true, offset: 0, limit: 1 }).rows[0]!.feature).exemplars;
    expect(ex[0]!.item).toMatch(/^\d\d$/);
    expect(r.summary().provider).toMatch(/SAE only/);
    r.close();
  });

  it('refuses the shipped manifest when its grid does not hold the shards\' patches', async () => {
    await expect(runIndex({ shards: path.join(work, 'shards'), images, layer: '1', sae: saePath, out: path.join(work, 'o0') })).rejects.toThrow(
      /shipped clip manifest .* has a 14x14 patch grid \(196 patches\) but the shards hold 16 patch tokens per example; pass --model/,
    );
  });

  it('refuses a layer the shards do not hold, and an image folder of another size', async () => {
    await expect(runIndex({ shards: path.join(work, 'shards'), layer: '7', sae: saePath, out: path.join(work, 'o1') })).rejects.toThrow(/Layer 7 is not in the shards.*0, 1/);
    const fewer = (await makeImageFolder(path.join(work, 'fewer'), { perLabel: 2 })).dir;
    await expect(runIndex({ shards: path.join(work, 'shards'), images: fewer, layer: '1', sae: saePath, out: path.join(work, 'o2') })).rejects.toThrow(/holds 6 images but the shards hold 15 examples; give --images/);
    fs.writeFileSync(path.join(work, 'legacy', 'acts000002.bin'), Buffer.alloc(10));
    expect(() => readSaevShards(path.join(work, 'legacy'))).toThrow(/acts000002\.bin has 10 bytes/);
  });
});
