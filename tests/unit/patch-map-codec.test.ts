import { describe, expect, it } from 'vitest';
import { decodePatchMap, encodePatchMap, PATCH_MAP_MAX_ERROR } from '../../src-main/core/store/patchMapCodec.js';
import { packExemplars, unpackExemplars } from '../../src-main/core/store/exemplarBlobs.js';
import { PatchMapSlots } from '../../src-main/core/indexer/patchMapSlots.js';
import { fromHalf, toHalf } from '../../src-main/core/util/float16.js';
import { mulberry32 } from '../helpers/prng.js';
import { expectPatchMap } from '../helpers/expectPatchMap.js';

/** A sparse map like a TopK feature's: most patches 0, a few firing at spread-out strengths. */
function sparseMap(rand: () => number, patches: number, firing: number): Float32Array {
  const m = new Float32Array(patches);
  for (let p = 0; p < patches; p++) if (rand() < firing) m[p] = rand() ** 3 * 40;
  return m;
}

describe('compact patch maps', () => {
  it('decode within 1/510 of the map maximum, the maximum exact, silent patches exactly 0', () => {
    const rand = mulberry32(5);
    for (const patches of [16, 256, 576]) {
      for (let i = 0; i < 200; i++) {
        const m = sparseMap(rand, patches, 0.1);
        expectPatchMap(decodePatchMap(encodePatchMap(m, 0, patches), patches), m, `${patches} patches, map ${i}`);
      }
    }
    expect(PATCH_MAP_MAX_ERROR).toBeCloseTo(1 / 510, 12);
  });

  it('the error bound is met with equality, not by luck: a value halfway between levels', () => {
    const m = new Float32Array([255, 0.5, 0, 1.5]); // levels of 1: 0.5 and 1.5 are off by exactly 0.5 = 255/510
    const got = decodePatchMap(encodePatchMap(m, 0, 4), 4);
    expect(Array.from(got)).toEqual([255, 1, 0, 2]);
    const tiny = new Float32Array([255, 0.49, 0, 0]); // under half a level: dropped
    expect(Array.from(decodePatchMap(encodePatchMap(tiny, 0, 4), 4))).toEqual([255, 0, 0, 0]);
  });

  it('take 6 bytes plus 2 per firing patch (3 beyond 256 patches), whatever the grid', () => {
    const m = new Float32Array(256);
    m[3] = 1;
    m[200] = 2;
    m[255] = 0.5;
    expect(encodePatchMap(m, 0, 256).length).toBe(6 + 3 * 2);
    expect(encodePatchMap(new Float32Array(256), 0, 256).length).toBe(6);
    const wide = new Float32Array(576);
    wide[575] = 3;
    expect(encodePatchMap(wide, 0, 576).length).toBe(6 + 3);
    expect(decodePatchMap(encodePatchMap(wide, 0, 576), 576)[575]).toBe(3);
  });
});

describe('exemplar blobs', () => {
  const patches = 256;
  const rand = mulberry32(9);
  const dense = Array.from({ length: 7 }, () => sparseMap(rand, patches, 0.08));
  const entries = dense.map((m, i) => ({ item: 100 + i, value: Math.max(...m), map: encodePatchMap(m, 0, patches) }));

  it('round-trip the compact maps byte for byte, in an odd-length blob far smaller than float16', () => {
    const packed = packExemplars(entries, patches);
    expect(packed.maps.length % 2).toBe(1);
    expect(packed.maps.length).toBeLessThan((entries.length * patches * 2) / 4);
    const back = unpackExemplars(packed, patches);
    expect(back.map((e) => e.item)).toEqual(entries.map((e) => e.item));
    back.forEach((e, i) => expect(Array.from(e.map)).toEqual(Array.from(entries[i]!.map)));
    expect(unpackExemplars(packExemplars([], patches), patches)).toEqual([]);
  });

  it('read the dense float16 maps of indexes built before compact maps, within the same bound', () => {
    const half = new Uint16Array(dense.length * patches);
    dense.forEach((m, i) => m.forEach((v, p) => (half[i * patches + p] = toHalf(v))));
    const old = { ...packExemplars(entries, patches), maps: Buffer.from(half.buffer) };
    const back = unpackExemplars(old, patches);
    back.forEach((e, i) => expectPatchMap(decodePatchMap(e.map, patches), Array.from(dense[i]!, (v) => fromHalf(toHalf(v))), `old map ${i}`));
  });

  it('refuse a cut-short or unknown maps blob with a message', () => {
    const packed = packExemplars(entries, patches);
    const cut = packed.maps.subarray(0, packed.maps.length - 2); // still odd: read as compact
    expect(() => unpackExemplars({ ...packed, maps: cut }, patches)).toThrow(/cut short/);
    const unknown = Buffer.from(packed.maps);
    unknown[0] = 0x07;
    expect(() => unpackExemplars({ ...packed, maps: unknown }, patches)).toThrow(/format byte 7/);
  });
});

describe('patch map slots', () => {
  it('give back what was last written to each slot through many rewrites and compactions', () => {
    const patches = 64;
    const slots = new PatchMapSlots(5, 8, patches);
    const rand = mulberry32(3);
    const last = new Map<string, Float32Array>();
    for (let i = 0; i < 4000; i++) {
      const g = Math.floor(rand() * 5);
      const s = Math.floor(rand() * 8);
      const m = sparseMap(rand, patches, rand() * 0.6);
      if (i % 7 === 0) slots.set(g, s, encodePatchMap(m, 0, patches));
      else slots.write(g, s, m, 0);
      last.set(`${g},${s}`, m);
    }
    for (const [key, m] of last) {
      const [g, s] = key.split(',').map(Number) as [number, number];
      expectPatchMap(decodePatchMap(slots.get(g, s), patches), m, `slot ${key}`);
    }
    expect(() => new PatchMapSlots(1, 1, patches).get(0, 0)).toThrow(/no patch map/);
  });
});
