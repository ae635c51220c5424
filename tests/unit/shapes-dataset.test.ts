import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { COLOURS, SCENES, generateShapes, renderFrame, writeShapesDataset } from '../../src-main/core/demo/shapesDataset.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'shapes-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('shapes in motion', () => {
  it('is deterministic from a seed and differs across seeds', () => {
    const a = generateShapes({ seed: 5, images: 20, clips: 10 });
    const b = generateShapes({ seed: 5, images: 20, clips: 10 });
    const c = generateShapes({ seed: 6, images: 20, clips: 10 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(Buffer.from(renderFrame(a[25]!, 3, 32)).equals(Buffer.from(renderFrame(b[25]!, 3, 32)))).toBe(true);
  });

  it('covers every scene and colour, with factors and SSv2-like labels', () => {
    const items = generateShapes({ seed: 1, images: 40, clips: 20 });
    expect(new Set(items.filter((i) => i.kind === 'image').map((i) => i.factors.scene))).toEqual(new Set(SCENES));
    expect(new Set(items.filter((i) => i.kind === 'image').map((i) => i.factors.colour))).toEqual(new Set(COLOURS));
    for (const i of items) {
      expect(i.label.toLowerCase()).toContain(`${i.factors.colour} ${i.factors.shape}`);
      expect(i.template.replace(/\[something\]/i, i.placeholders[0]!).toLowerCase()).toBe(i.label.toLowerCase());
    }
  });

  it('draws the object in its colour, and clips change over time', () => {
    const items = generateShapes({ seed: 2, images: 0, clips: 12, frames: 6 });
    for (const item of items) {
      const f0 = renderFrame(item, 0, 48);
      const f5 = renderFrame(item, 5, 48);
      expect(Buffer.from(f0).equals(Buffer.from(f5))).toBe(item.factors.action === 'rotating' && item.factors.shape === 'circle');
    }
  });

  it('writes images in scene folders, frame folders for clips, labels and factors', async () => {
    const dir = path.join(work, 'ds');
    const { items, imagesDir, clipsDir } = await writeShapesDataset(dir, { seed: 3, images: 8, clips: 2, frames: 4, size: 32 });
    expect(readdirSync(imagesDir).sort()).toEqual([...SCENES].sort());
    const clip = items.find((i) => i.kind === 'clip')!;
    expect(readdirSync(path.join(clipsDir, clip.id))).toHaveLength(4);
    const meta = await sharp(path.join(clipsDir, clip.id, 'frame_000.png')).metadata();
    expect([meta.width, meta.height]).toEqual([32, 32]);
    const labels = JSON.parse(readFileSync(path.join(dir, 'labels.json'), 'utf8'));
    expect(labels).toHaveLength(2);
    expect(labels[0]).toMatchObject({ id: clip.id, label: clip.label });
    expect(JSON.parse(readFileSync(path.join(dir, 'factors.json'), 'utf8'))).toHaveLength(10);
    expect(existsSync(path.join(imagesDir, items[0]!.factors.scene, `${items[0]!.id}.png`))).toBe(true);
  });
});
