import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PreprocessSpec } from '../../src-main/core/backbone/manifest.js';
import { PIL_FILTERS, resizeCropRgb } from '../../src-main/core/backbone/pilResample.js';
import { centreCropOffset, preprocessImage, resizedSize } from '../../src-main/core/backbone/preprocess.js';

const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
const IDENTITY = { mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number] };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'preprocess-'));
});

/** Lossless PNG from a pixel function. */
async function png(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), (y * width + x) * 3);
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

function at(rgb: Buffer, side: number, x: number, y: number, c: number): number {
  return rgb[(y * side + x) * 3 + c]!;
}

describe('crop geometry (torchvision rules)', () => {
  it('rounds the centre-crop offset half to even, like Python round()', () => {
    expect(centreCropOffset(40, 30)).toBe(5);
    expect(centreCropOffset(35, 30)).toBe(2); // 2.5 -> 2
    expect(centreCropOffset(33, 30)).toBe(2); // 1.5 -> 2
    expect(centreCropOffset(37, 30)).toBe(4); // 3.5 -> 4
    expect(centreCropOffset(224, 224)).toBe(0);
  });

  it('truncates the long side of a shortest-side resize, squashes to a square', () => {
    expect(resizedSize(500, 375, { resize: 'shortest-side', resizeTo: 224 })).toEqual({ width: 298, height: 224 }); // 298.67
    expect(resizedSize(375, 500, { resize: 'shortest-side', resizeTo: 224 })).toEqual({ width: 224, height: 298 });
    expect(resizedSize(500, 375, { resize: 'squash', resizeTo: 256 })).toEqual({ width: 256, height: 256 });
  });
});

describe('PIL-equivalent resampling (weights worked by hand)', () => {
  // One row [0, 100, 200, 255] (grey) halved to 2 pixels. Output 0 is centred on source x = 1.0;
  // downscaling by 2 doubles the support and halves the weight arguments (x - 1 + 0.5) / 2.
  const row = Buffer.from([0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
  const half = { width: 2, height: 1, left: 0, top: 0, cropWidth: 2, cropHeight: 1 };

  it('bilinear: taps 0..2 with triangle weights 0.75, 0.75, 0.25 (normalised by 1.75)', () => {
    const out = resizeCropRgb(row, 4, 1, half, PIL_FILTERS.bilinear);
    // (0 * 0.75 + 100 * 0.75 + 200 * 0.25) / 1.75 = 71.43
    expect(out[0]).toBe(71);
    // Output 1 is centred on 3.0: taps 1..3, weights 0.25, 0.75, 0.75 -> (25 + 150 + 191.25) / 1.75 = 209.29
    expect(out[3]).toBe(209);
  });

  it('bicubic (a = -0.5): taps 0..3 with weights 0.8671875, 0.8671875, 0.2265625, -0.0703125', () => {
    const out = resizeCropRgb(row, 4, 1, half, PIL_FILTERS.bicubic);
    // (86.71875 + 45.3125 - 17.9296875) / 1.890625 = 60.35; a = -0.75 or lanczos would move it.
    expect(out[0]).toBe(60);
    expect([out[1], out[2]]).toEqual([60, 60]);
  });

  it('a cropped window holds the same bytes as resizing everything and cropping after', () => {
    const src = Buffer.alloc(37 * 23 * 3);
    for (let i = 0; i < src.length; i++) src[i] = (i * 7919) % 251;
    const whole = resizeCropRgb(src, 37, 23, { width: 16, height: 11, left: 0, top: 0, cropWidth: 16, cropHeight: 11 }, PIL_FILTERS.bicubic);
    const part = resizeCropRgb(src, 37, 23, { width: 16, height: 11, left: 3, top: 2, cropWidth: 9, cropHeight: 7 }, PIL_FILTERS.bicubic);
    for (let y = 0; y < 7; y++) expect(part.subarray(y * 27, y * 27 + 27)).toEqual(whole.subarray(((y + 2) * 16 + 3) * 3, ((y + 2) * 16 + 12) * 3));
  });
});

describe('preprocessImage', () => {
  it('centre-crops without resampling when the size already fits, at torchvision offsets', async () => {
    // R = column, G = row: each output pixel says where it came from.
    const source = await png(35, 33, (x, y) => [x, y, 200]);
    const spec: PreprocessSpec = { resize: 'shortest-side', resizeTo: 33, interpolation: 'bicubic', crop: 30, ...IDENTITY };
    const { rgb, sourceWidth, sourceHeight } = await preprocessImage(source, spec);
    expect([sourceWidth, sourceHeight]).toEqual([35, 33]);
    expect(rgb.length).toBe(30 * 30 * 3);
    // left = round(2.5) = 2, top = round(1.5) = 2.
    for (const [x, y] of [[0, 0], [29, 0], [0, 29], [17, 11], [29, 29]] as const) {
      expect([at(rgb, 30, x, y, 0), at(rgb, 30, x, y, 1), at(rgb, 30, x, y, 2)]).toEqual([x + 2, y + 2, 200]);
    }
  });

  it('normalises CHW as (v / 255 - mean) / std', async () => {
    const source = await png(8, 8, (x, y) => [x * 30, y * 31, (x * y * 7) % 256]);
    const spec: PreprocessSpec = { resize: 'squash', resizeTo: 8, interpolation: 'bilinear', crop: 8, mean: CLIP_MEAN, std: CLIP_STD };
    const { pixels, rgb } = await preprocessImage(source, spec);
    expect(pixels.length).toBe(3 * 64);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const expectedRgb = [x * 30, y * 31, (x * y * 7) % 256];
        for (let c = 0; c < 3; c++) {
          expect(at(rgb, 8, x, y, c)).toBe(expectedRgb[c]);
          const want = (expectedRgb[c]! / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!;
          expect(pixels[c * 64 + y * 8 + x]).toBeCloseTo(want, 5);
        }
      }
    }
  });

  // A 64x32 image whose red channel grows 4 per column and green 8 per row. Any symmetric
  // resampling kernel reproduces a linear ramp away from the borders, so the expected values
  // follow from the geometry alone: output pixel u samples source x = (u + 0.5) * scale - 0.5.
  const ramp = () => png(64, 32, (x, y) => [4 * x, 8 * y, 128]);

  for (const interpolation of ['bicubic', 'bilinear'] as const) {
    it(`shortest-side keeps the aspect ratio, then crops the centre (${interpolation})`, async () => {
      const spec: PreprocessSpec = { resize: 'shortest-side', resizeTo: 16, interpolation, crop: 16, ...IDENTITY };
      const { rgb } = await preprocessImage(await ramp(), spec);
      // 64x32 -> 32x16 (scale 2), crop left = 8: source x = 2(u + 8) + 0.5, R = 4x.
      for (let u = 0; u < 16; u++) expect(Math.abs(at(rgb, 16, u, 8, 0) - (8 * u + 66))).toBeLessThanOrEqual(1);
      // rows: source y = 2v + 0.5, G = 8y; the top and bottom rows feel the border.
      for (let v = 2; v < 14; v++) expect(Math.abs(at(rgb, 16, 8, v, 1) - (16 * v + 4))).toBeLessThanOrEqual(1);
      expect(at(rgb, 16, 5, 5, 2)).toBe(128);
    });

    it(`squash ignores the aspect ratio (${interpolation})`, async () => {
      const spec: PreprocessSpec = { resize: 'squash', resizeTo: 16, interpolation, crop: 16, ...IDENTITY };
      const { rgb } = await preprocessImage(await ramp(), spec);
      // 64x32 -> 16x16: x scale 4 (source x = 4u + 1.5), y scale 2.
      for (let u = 2; u < 14; u++) expect(Math.abs(at(rgb, 16, u, 8, 0) - (16 * u + 6))).toBeLessThanOrEqual(1);
      for (let v = 2; v < 14; v++) expect(Math.abs(at(rgb, 16, 8, v, 1) - (16 * v + 4))).toBeLessThanOrEqual(1);
    });
  }

  it('squash then crop takes the centre of the squashed square', async () => {
    const spec: PreprocessSpec = { resize: 'squash', resizeTo: 20, interpolation: 'bilinear', crop: 16, ...IDENTITY };
    const { rgb } = await preprocessImage(await png(40, 40, (x, y) => [4 * x, 4 * y, 0]), spec);
    // 40 -> 20 (scale 2), crop offset 2: source x = 2(u + 2) + 0.5, R = 4x = 8u + 18.
    for (let u = 1; u < 15; u++) expect(Math.abs(at(rgb, 16, u, 8, 0) - (8 * u + 18))).toBeLessThanOrEqual(1);
  });

  it('expands greyscale to three equal channels', async () => {
    const grey = await sharp(Buffer.from(Array.from({ length: 16 }, (_, i) => i * 16)), { raw: { width: 4, height: 4, channels: 1 } })
      .png()
      .toBuffer();
    const { rgb } = await preprocessImage(grey, { resize: 'squash', resizeTo: 4, interpolation: 'bicubic', crop: 4, ...IDENTITY });
    for (let i = 0; i < 16; i++) expect([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]]).toEqual([i * 16, i * 16, i * 16]);
  });

  it('drops alpha without compositing, as PIL convert("RGB") does', async () => {
    const rgba = Buffer.from([10, 20, 30, 0, 200, 100, 50, 255, 1, 2, 3, 128, 90, 80, 70, 255]);
    const source = await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } }).png().toBuffer();
    const { rgb } = await preprocessImage(source, { resize: 'squash', resizeTo: 2, interpolation: 'bicubic', crop: 2, ...IDENTITY });
    expect(Array.from(rgb)).toEqual([10, 20, 30, 200, 100, 50, 1, 2, 3, 90, 80, 70]);
  });

  it('applies EXIF orientation', async () => {
    // Stored 40 wide x 20 high, left half red, right half blue; orientation 6 = rotate 90° clockwise to display.
    const stored = await png(40, 20, (x) => (x < 20 ? [255, 0, 0] : [0, 0, 255]));
    const jpeg = await sharp(stored).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    const { rgb, sourceWidth, sourceHeight } = await preprocessImage(jpeg, {
      resize: 'shortest-side',
      resizeTo: 20,
      interpolation: 'bicubic',
      crop: 20,
      ...IDENTITY,
    });
    expect([sourceWidth, sourceHeight]).toEqual([20, 40]);
    // Displayed 20x40: the stored left (red) half is now on top. The crop is rows 10..29.
    expect(at(rgb, 20, 10, 2, 0)).toBeGreaterThan(200);
    expect(at(rgb, 20, 10, 2, 2)).toBeLessThan(50);
    expect(at(rgb, 20, 10, 17, 2)).toBeGreaterThan(200);
    expect(at(rgb, 20, 10, 17, 0)).toBeLessThan(50);
  });

  it('reads files by path and names a corrupt file in the error', async () => {
    const good = path.join(dir, 'good.png');
    await writeFile(good, await png(10, 10, () => [1, 2, 3]));
    const spec: PreprocessSpec = { resize: 'shortest-side', resizeTo: 10, interpolation: 'bicubic', crop: 10, ...IDENTITY };
    expect((await preprocessImage(good, spec)).rgb.subarray(0, 3)).toEqual(Buffer.from([1, 2, 3]));

    const garbage = path.join(dir, 'garbage.jpg');
    await writeFile(garbage, Buffer.from('definitely not an image'));
    await expect(preprocessImage(garbage, spec)).rejects.toThrow(`cannot decode image ${garbage}`);

    const whole = await png(64, 64, (x, y) => [x, y, x ^ y]);
    const truncated = path.join(dir, 'truncated.png');
    await writeFile(truncated, whole.subarray(0, whole.length >> 1));
    await expect(preprocessImage(truncated, spec)).rejects.toThrow(truncated);

    await expect(preprocessImage(path.join(dir, 'missing.png'), spec)).rejects.toThrow(path.join(dir, 'missing.png'));
    await expect(preprocessImage(Buffer.from('nope'), spec, 'cats/0001.jpg')).rejects.toThrow('cannot decode image cats/0001.jpg');
  });
});
