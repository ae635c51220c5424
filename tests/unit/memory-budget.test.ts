import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesPerRow, encoderRowsWithin, encodeWithin, itemsPerBatch } from '../../src-main/core/indexer/memoryBudget.js';
import { SaeEncoderSession } from '../../src-main/core/sae/encoderSession.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { makeSae, makeSaeInputs } from '../helpers/makeSae.js';

const MIB = 1024 * 1024;

describe('memory budget', () => {
  it('sizes batches in tokens × features: ViT-B/16 rows at 100k features take 5 images per GiB, 16 at 16 patches × 16k', () => {
    expect(bytesPerRow(100_000, 768)).toBe(4 * (200_000 + 2304));
    // 257 rows × 809,216 B = 208 MB per image; 1 GiB / 208 MB = 5.16.
    expect(itemsPerBatch(1024, 257, 100_000, 768, 16)).toBe(5);
    expect(itemsPerBatch(1024, 17, 16_384, 768, 16)).toBe(16); // small geometry: the item cap rules
    expect(itemsPerBatch(100, 257, 100_000, 768, 16)).toBe(1); // one image over budget is still indexed
    expect(encoderRowsWithin(100, 100_000, 768)).toBe(Math.floor((100 * MIB) / 809_216));
    expect(encoderRowsWithin(1, 10_000_000, 768)).toBe(1);
  });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'budget-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const architecture of ['topk', 'relu'] as const) {
    it(`${architecture}: encoding in slices equals one call over all rows`, async () => {
      const sae = loadSae(makeSae(dir, { dIn: 16, dSae: 64, architecture, k: architecture === 'topk' ? 5 : undefined, seed: 3 }));
      const encoder = await SaeEncoderSession.create(sae, 'cpu');
      try {
        const rows = 101;
        const x = makeSaeInputs(rows, 16, 7);
        const whole = await encoder.encode(x, rows);
        expect(whole.feature.length).toBeGreaterThan(rows); // a real test: several entries per row
        for (const slice of [1, 7, 50, 100, 101, 500]) {
          const sliced = await encodeWithin(encoder, x, rows, slice);
          expect(sliced.rows).toBe(rows);
          expect(Array.from(sliced.rowPtr)).toEqual(Array.from(whole.rowPtr));
          expect(Array.from(sliced.feature)).toEqual(Array.from(whole.feature));
          expect(Array.from(sliced.value)).toEqual(Array.from(whole.value));
        }
      } finally {
        await encoder.close();
      }
    });
  }
});
