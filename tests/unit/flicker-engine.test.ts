// The flicker view's worker path (issue 4): a clip decoded, run through a tiny backbone and two
// SAEs on the same layer; maps, traces and per-clip statistics checked against the sessions run
// by hand on the same decoded frames and against TemporalAccumulator.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlickerEngine, closestByCorrelation, featureMaps } from '../../src-main/core/analysis/flickerEngine.js';
import { loadManifest } from '../../src-main/core/backbone/manifest.js';
import { BackboneSession } from '../../src-main/core/backbone/backboneSession.js';
import { preprocessRawRgb } from '../../src-main/core/backbone/preprocess.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { SaeEncoderSession, type SparseCodes } from '../../src-main/core/sae/encoderSession.js';
import { readClip } from '../../src-main/core/video/frameSources.js';
import { TemporalAccumulator } from '../../src-main/core/temporal/temporalStats.js';
import type { IndexConfig } from '../../src-main/core/store/indexConfig.js';
import type { QueryIndex } from '../../src-main/core/analysis/patchQuery.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeClip } from '../helpers/makeClip.js';

let work: string;
let manifestPath: string;
let saes: string[];
let clipDir: string;
let videoFile: string;
const engine = new FlickerEngine('cpu');

function indexOf(id: string, saePath: string): QueryIndex {
  const sae = loadSae(saePath);
  const config = {
    name: id,
    request: { model: manifestPath, layer: 'block_1', sae: saePath },
    sae: { dSae: sae.dSae, normalization: { mode: sae.normalization.mode, scale: sae.normalization.scale } },
  } as unknown as IndexConfig;
  return { indexId: id, name: id, config };
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-flicker-engine-'));
  const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 64, patchSize: 16, dModel: 16, cls: true, seed: 5, family: 'clip' });
  manifestPath = vit.manifestPath;
  saes = [
    makeSae(path.join(work, 'sae-a'), { dIn: 16, dSae: 64, architecture: 'topk', k: 6, seed: 3 }),
    makeSae(path.join(work, 'sae-b'), { dIn: 16, dSae: 96, architecture: 'topk', k: 4, seed: 11 }),
  ];
  // A bright square moving across a dark frame, one step per frame: maps differ frame to frame.
  clipDir = path.join(work, 'moving');
  fs.mkdirSync(clipDir);
  for (let t = 0; t < 6; t++) {
    const square = await sharp({ create: { width: 24, height: 24, channels: 3, background: { r: 250, g: 240, b: 40 } } }).png().toBuffer();
    await sharp({ create: { width: 80, height: 72, channels: 3, background: { r: 20, g: 30, b: 90 } } })
      .composite([{ input: square, left: 4 + t * 9, top: 20 }])
      .png()
      .toFile(path.join(clipDir, `f${t}.png`));
  }
  videoFile = makeClip(path.join(work, 'solid.mkv'), { frames: 10, width: 80, height: 64 });
}, 120_000);

afterAll(async () => {
  await engine.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('flicker view engine', () => {
  it('gives the maps, traces and clip statistics that running the sessions by hand gives', async () => {
    const a = indexOf('a', saes[0]!);
    const b = indexOf('b', saes[1]!);
    const sampling = { mode: 'segments', count: 6 } as const;
    const clip = await engine.open(clipDir, 'moving', sampling, [a, b]);
    expect(clip.frames).toBe(6);
    expect(clip.grid).toEqual([4, 4]);
    expect(clip.frameImages).toHaveLength(6);
    expect(clip.frameImages[0]).toMatch(/^data:image\/jpeg;base64,/);
    expect(clip.saes.map((s) => s.indexId)).toEqual(['a', 'b']);

    // By hand: decode, preprocess, backbone, SAE per frame.
    const manifest = loadManifest(manifestPath);
    const backbone = await BackboneSession.open(manifest, 'block_1', 'cpu');
    const decoded = await readClip(clipDir, sampling);
    const P = backbone.layout.patches;
    const byHand: SparseCodes[][] = [[], []];
    for (const [i, saePath] of saes.entries()) {
      const encoder = await SaeEncoderSession.create(loadSae(saePath), 'cpu');
      for (const frame of decoded.frames) {
        const pre = await preprocessRawRgb(frame, decoded.width, decoded.height, manifest.preprocess, 'f');
        const { tokens, d } = await backbone.run(pre.pixels, 1);
        const o = backbone.layout.patchOffset * d;
        byHand[i]!.push(await encoder.encode(tokens.slice(o, o + P * d), P));
      }
      await encoder.close();
    }
    await backbone.close();

    const acc = new TemporalAccumulator(64);
    acc.addClip(byHand[0]!, P);
    const stats = acc.result();
    // Every feature that fires in the clip, plus one that does not.
    const fired = [...new Set(byHand[0]!.flatMap((c) => [...c.feature]))].sort((x, y) => x - y);
    expect(fired.length).toBeGreaterThan(3);
    let differing = 0;
    for (const f of [...fired, ...Array.from({ length: 64 }, (_, i) => i).filter((i) => !fired.includes(i)).slice(0, 1)]) {
      const got = engine.feature(clip.clipId, 'a', f);
      const want = featureMaps(byHand[0]!, f, P);
      expect(got.maps.length).toBe(6);
      for (let t = 0; t < 6; t++) {
        for (let p = 0; p < P; p++) expect(got.maps[t]![p]!).toBeCloseTo(want[t]![p]!, 4);
        expect(got.trace[t]!).toBeCloseTo(Math.max(...want[t]!), 4);
      }
      expect(got.upper).toBeCloseTo(Math.max(0, ...want.flat()), 4);
      const ac = stats.autocorrelation[f]!;
      const sr = stats.switchRate[f]!;
      if (Number.isNaN(ac)) expect(got.clipAutocorrelation).toBeNull();
      else expect(got.clipAutocorrelation!).toBeCloseTo(ac, 4);
      if (Number.isNaN(sr)) expect(got.clipSwitchRate).toBeNull();
      else expect(got.clipSwitchRate!).toBeCloseTo(sr, 4);
      if (JSON.stringify(got.maps[0]) !== JSON.stringify(got.maps[5])) differing++;
    }
    // The square moves, so some feature's map changes between the first and last frame.
    expect(differing).toBeGreaterThan(0);

    // Closest features of the other SAE: Pearson over every (t, p), checked for the best one.
    const f0 = fired[0]!;
    const closest = engine.closest(clip.clipId, 'a', f0, 'b', 5, null);
    expect(closest.length).toBeGreaterThan(0);
    expect(closest).toEqual(closestByCorrelation(featureMaps(byHand[0]!, f0, P), byHand[1]!, P, 5, null));
    const x = featureMaps(byHand[0]!, f0, P).flat();
    const y = featureMaps(byHand[1]!, closest[0]!.feature, P).flat();
    const mean = (v: number[]) => v.reduce((s, q) => s + q, 0) / v.length;
    const mx = mean(x);
    const my = mean(y);
    const cov = x.reduce((s, xi, i) => s + (xi - mx) * (y[i]! - my), 0);
    const r = cov / Math.sqrt(x.reduce((s, xi) => s + (xi - mx) ** 2, 0) * y.reduce((s, yi) => s + (yi - my) ** 2, 0));
    expect(closest[0]!.correlation).toBeCloseTo(r, 4);
    for (let i = 1; i < closest.length; i++) expect(closest[i]!.correlation).toBeLessThanOrEqual(closest[i - 1]!.correlation);
    // Restricted to the first g features (a Matryoshka group level).
    const inGroup = engine.closest(clip.clipId, 'a', f0, 'b', 50, 10);
    expect(inGroup.length).toBeGreaterThan(0);
    expect(inGroup.every((c) => c.feature < 10)).toBe(true);
  }, 120_000);

  it('decodes video files, and refuses SAEs on different layers and unknown features', async () => {
    const a = indexOf('a', saes[0]!);
    const clip = await engine.open(videoFile, 'solid.mkv', { mode: 'segments', count: 5 }, [a]);
    expect(clip.frames).toBe(5);
    expect(clip.frameIndexes).toEqual([1, 3, 5, 7, 9]);
    expect(() => engine.feature(clip.clipId, 'a', 64)).toThrow(/does not exist/);
    expect(() => engine.feature(clip.clipId, 'b', 1)).toThrow(/not run through/);
    const other = indexOf('c', saes[1]!);
    other.config.request.layer = 'block_0';
    await expect(engine.open(videoFile, 'solid.mkv', { mode: 'segments', count: 5 }, [a, other])).rejects.toThrow(/same backbone and layer/);
  }, 60_000);
});
