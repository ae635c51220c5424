import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDemo, demoHeadList, readDemo, type DemoManifest } from '../../src-main/core/demo/buildDemo.js';
import { fitLogistic } from '../../src-main/core/demo/demoHeads.js';
import { factorPurity, readFactors } from '../../src-main/core/demo/factorPurity.js';
import { COLOURS, generateShapes, objectCoverage } from '../../src-main/core/demo/shapesDataset.js';
import { loadTaskHead } from '../../src-main/core/intervene/taskHead.js';
import { Intervener } from '../../src-main/core/intervene/intervener.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { listItems } from '../../src-main/core/store/itemList.js';
import { resolveIndexFolder } from '../../src-main/core/store/indexGroup.js';

// Issue 16 item 4: the demo fits its own task heads (linear probes on its ground truth), so the
// Intervene view works on it without hand-written head folders; and the clip list (item 5).

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-demo-heads-'));
const out = path.join(work, 'demo');
let demo: DemoManifest;

beforeAll(async () => {
  demo = await buildDemo({ out, size: 'small' });
}, 300_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('the logistic fit', () => {
  it('separates separable classes exactly, and the same data gives the same bytes', () => {
    // Three clusters in 2-d, far apart, with a constant third dimension (zero variance).
    const n = 30;
    const x = new Float32Array(n * 3);
    const y = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const c = r % 3;
      y[r] = c;
      x[r * 3] = [0, 5, -5][c]! + ((r * 7) % 5) * 0.1;
      x[r * 3 + 1] = [5, -3, -3][c]! - ((r * 3) % 4) * 0.1;
      x[r * 3 + 2] = 2;
    }
    const a = fitLogistic(x, y, n, 3, 3);
    const b = fitLogistic(x, y, n, 3, 3);
    expect(a.accuracy).toBe(1);
    expect(Buffer.from(a.weight.buffer).equals(Buffer.from(b.weight.buffer))).toBe(true);
    expect(Array.from(a.bias)).toEqual(Array.from(b.bias));
    expect(a.weight.length).toBe(3 * 3);
    expect(a.weight.every(Number.isFinite)).toBe(true);
  });

  it("the segmentation ground truth covers the drawn object: a circle's coverage sums to its area", () => {
    const item = generateShapes({ seed: 7, images: 60, clips: 0 }).find((i) => i.factors.shape === 'circle')!;
    const cover = objectCoverage(item, 0, 8, 8, 32);
    const area = cover.reduce((s, v) => s + v, 0) / 64;
    expect(area).toBeCloseTo(Math.PI * item.params.r ** 2, 2);
  });
});

describe('the demo heads', () => {
  it('are written per backbone in the head folder format, and fit their training images', () => {
    const list = demoHeadList(demo);
    expect(list).toHaveLength(6);
    for (const b of ['a', 'b'] as const) {
      const colour = loadTaskHead(demo.heads[b].colour);
      expect(colour.task).toBe('classification');
      expect(colour.pool).toBe('mean');
      expect(colour.input).toBe('last_hidden_state');
      expect(colour.labels).toEqual([...COLOURS]);
      expect(colour.d).toBe(b === 'a' ? 64 : 48);
      const seg = loadTaskHead(demo.heads[b].segmentation);
      expect(seg.task).toBe('segmentation');
      expect(seg.labels).toEqual(['background', ...COLOURS]);
      for (const k of ['colour', 'scene', 'segmentation'] as const) {
        const spec = JSON.parse(fs.readFileSync(path.join(demo.heads[b][k], 'head.json'), 'utf8')) as { train_accuracy: number };
        expect(spec.train_accuracy, `${b} ${k}`).toBeGreaterThan(0.8);
      }
    }
    // The first head per backbone (the Intervene view's default) is the colour classifier on that backbone.
    expect(list.find((h) => h.backbone === demo.backbones.a)!.path).toBe(demo.heads.a.colour);
    expect(list.find((h) => h.backbone === demo.backbones.b)!.path).toBe(demo.heads.b.colour);
  });

  it('suppressing the feature whose exemplars are all blue lowers the colour head’s "blue" on a blue image', async () => {
    const blue = factorPurity(demo.indexes.aImages, demo.dataset, ['colour']).find((p) => p.value === 'blue')!;
    expect(blue.feature).not.toBeNull();
    // The small demo has 12 blue images, so at most 12 of the top 16 can be blue.
    expect(blue.purity).toBeGreaterThanOrEqual(0.5);
    const reader = IndexReader.open('a', demo.indexes.aImages);
    const ex = reader.featureDetail(blue.feature!).exemplars[0]!;
    reader.close();
    const factors = readFactors(demo.dataset);
    const id = path.basename(ex.item).replace(/\.[^.]+$/, '');
    expect(factors.get(id)!.colour).toBe('blue');
    const iv = await Intervener.open({ model: demo.backbones.a, layer: 'block_1', sae: demo.saes['a-topk'], head: demo.heads.a.colour, provider: 'cpu' });
    try {
      await iv.setImage(path.join(demo.dataset, 'images', ex.item.includes('/') ? ex.item : path.join(factors.get(id)!.scene, ex.item)));
      const { before, after } = await iv.run([{ feature: blue.feature!, value: 0 }], null);
      const b = COLOURS.indexOf('blue');
      expect(before.probs![b]).toBeGreaterThan(0.3);
      expect(after.probs![b]).toBeLessThan(before.probs![b]! - 0.01);
    } finally {
      await iv.close();
    }
  }, 60_000);

  it('a demo built before the heads existed counts as unfinished, and building again only adds them', async () => {
    const sae = path.join(demo.saes['a-topk'], 'cfg.json');
    const saeTime = fs.statSync(sae).mtimeMs;
    const index = path.join(demo.indexes.aImages, 'index.sqlite');
    const indexTime = fs.statSync(index).mtimeMs;
    fs.rmSync(path.join(out, 'heads'), { recursive: true, force: true });
    expect(readDemo(out)).toBeNull();
    const steps = new Set<number>();
    const again = await buildDemo({ out, size: 'small', onProgress: (p) => { if (p.detail !== null) steps.add(p.step); } });
    expect([...steps]).toEqual([11]);
    expect(readDemo(out)).not.toBeNull();
    expect(fs.existsSync(path.join(again.heads.a.colour, 'head.safetensors'))).toBe(true);
    expect(fs.statSync(sae).mtimeMs).toBe(saeTime);
    expect(fs.statSync(index).mtimeMs).toBe(indexTime);
  }, 120_000);
});

describe('listItems (the flicker view’s clip list)', () => {
  it('lists the clip index’s clips by path with labels, searches by word, and says which have thumbnails', () => {
    const dir = resolveIndexFolder(demo.indexes.aClips).dir;
    const reader = IndexReader.open('clips', dir);
    try {
      const all = listItems(reader, {});
      expect(all.total).toBe(10);
      expect(all.items.map((i) => i.path)).toEqual([...all.items.map((i) => i.path)].sort());
      expect(all.items[0]!.path).toMatch(/^clip_0000/);
      expect(all.items.some((i) => i.thumbnail)).toBe(true);
      const falling = listItems(reader, { search: 'FALL down' });
      expect(falling.total).toBeGreaterThan(0);
      expect(falling.total).toBeLessThan(10);
      for (const it of falling.items) expect(it.label!.toLowerCase()).toMatch(/fall down/);
      expect(listItems(reader, { search: '%' }).total).toBe(0);
      expect(listItems(reader, { limit: 3, offset: 8 }).items).toHaveLength(2);
    } finally {
      reader.close();
    }
  });
});
