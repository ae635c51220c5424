import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { loadManifest } from '../../src-main/core/backbone/manifest.js';
import { BackboneSession } from '../../src-main/core/backbone/backboneSession.js';
import { preprocessRawRgb } from '../../src-main/core/backbone/preprocess.js';
import { readClip } from '../../src-main/core/video/frameSources.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { SaeEncoderSession } from '../../src-main/core/sae/encoderSession.js';
import { createStudioService } from '../../src-main/core/service.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeClip } from '../helpers/makeClip.js';
import { mulberry32 } from '../helpers/prng.js';
import { expectPatchMap } from '../helpers/expectPatchMap.js';

// A video index against a brute force: every sampled frame of every clip run through the backbone
// and the SAE one at a time, then statistics, exemplars, traces and temporal statistics computed
// with plain loops over dense arrays.

const SAMPLING = { mode: 'segments', count: 4 } as const;

interface BruteClip {
  item: number;
  /** [T][P][F] SAE activations (dense). */
  f: number[][][];
  /** [T][P][d] raw patch activations. */
  raw: number[][][];
}

async function bruteForce(vit: TinyVit, layer: string, saePath: string, root: string, items: { path: string; ok: boolean }[]): Promise<BruteClip[]> {
  const manifest = loadManifest(vit.manifestPath);
  const backbone = await BackboneSession.open(manifest, layer, 'cpu');
  const sae = loadSae(saePath);
  const encoder = await SaeEncoderSession.create(sae, 'cpu');
  const off = (manifest.tokens.cls ? 1 : 0) + manifest.tokens.registers;
  const P = manifest.tokens.grid[0] * manifest.tokens.grid[1];
  const out: BruteClip[] = [];
  for (const [item, it] of items.entries()) {
    if (!it.ok) continue;
    const clip = await readClip(path.join(root, it.path), SAMPLING);
    const f: number[][][] = [];
    const raw: number[][][] = [];
    for (const frame of clip.frames) {
      const { pixels } = await preprocessRawRgb(frame, clip.width, clip.height, manifest.preprocess, it.path);
      const o = await backbone.run(pixels, 1);
      const rows = o.tokens.slice(off * o.d, (off + P) * o.d);
      const codes = await encoder.encode(rows, P);
      f.push(
        Array.from({ length: P }, (_, p) => {
          const dense = new Array(sae.dSae).fill(0);
          for (let e = codes.rowPtr[p]!; e < codes.rowPtr[p + 1]!; e++) dense[codes.feature[e]!] = codes.value[e]!;
          return dense;
        }),
      );
      raw.push(Array.from({ length: P }, (_, p) => Array.from(rows.subarray(p * o.d, (p + 1) * o.d))));
    }
    out.push({ item, f, raw });
  }
  await backbone.close();
  await encoder.close();
  return out;
}

function pearson(xs: number[], ys: number[]): number | null {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return sxx < 1e-12 || syy < 1e-12 ? null : sxy / Math.sqrt(sxx * syy);
}

function pairsOf(clips: BruteClip[], get: (c: BruteClip, t: number, p: number) => number): { xs: number[]; ys: number[] } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const c of clips) {
    const T = c.f.length;
    const P = c.f[0]!.length;
    for (let p = 0; p < P; p++) {
      for (let t = 0; t + 1 < T; t++) {
        xs.push(get(c, t, p));
        ys.push(get(c, t + 1, p));
      }
    }
  }
  return { xs, ys };
}

describe('video index: clips through a per-frame backbone', () => {
  let work: string;
  let data: string;
  let vit: TinyVit;
  let saeA: string;
  let saeB: string;
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-vindex-'));
    data = path.join(work, 'clips');
    vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 16, patchSize: 8, dModel: 16, cls: true, seed: 3 });
    saeA = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 24, architecture: 'topk', k: 3, seed: 1, name: 'standard' });
    saeB = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 32, architecture: 'relu', seed: 2, name: 'matryoshka' });
    makeClip(path.join(data, 'moving', 'a.mkv'), { frames: 8, codec: 'ffv1' });
    makeClip(path.join(data, 'moving', 'b.gif'), { frames: 6, codec: 'gif', width: 24, height: 24 });
    fs.writeFileSync(path.join(data, 'moving', 'broken.mp4'), 'not a video');
    // A folder of noisy frames (random pixels: patches differ within and across frames).
    const rand = mulberry32(7);
    const frames = path.join(data, 'noise', 'clip1');
    fs.mkdirSync(frames, { recursive: true });
    for (let t = 0; t < 5; t++) {
      const px = Buffer.alloc(20 * 20 * 3);
      for (let i = 0; i < px.length; i++) px[i] = Math.floor(rand() * 256);
      await sharp(px, { raw: { width: 20, height: 20, channels: 3 } }).png().toFile(path.join(frames, `${t}.png`));
    }
  }, 60_000);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('matches a brute force: statistics, exemplars, traces, temporal statistics; skips a broken clip', async () => {
    const out = path.join(work, 'idx-a');
    const res = await runIndex({ model: vit.manifestPath, layer: 'block_1', sae: saeA, data, out, frames: 4, topK: 3, batch: 3, provider: 'cpu' });
    expect(res).toMatchObject({ items: 3, skipped: 1 });
    const r = IndexReader.open('a', out);
    try {
      const s = r.summary();
      expect(s).toMatchObject({ kind: 'videos', framesPerClip: 4, items: 3, skipped: 1, labels: ['moving', 'noise'] });
      expect(r.skipped().map((x) => x.item)).toEqual(['moving/broken.mp4']);
      const items = ['moving/a.mkv', 'moving/b.gif', 'moving/broken.mp4', 'noise/clip1'];
      expect([0, 1, 2, 3].map((i) => r.itemPath(i))).toEqual(items);
      const brute = await bruteForce(vit, 'block_1', saeA, data, items.map((p) => ({ path: p, ok: !p.includes('broken') })));
      const F = 24;
      const P = 4;
      expect(s.tokens).toBe(brute.reduce((a, c) => a + c.f.length * P, 0));
      const rows = r.queryFeatures({ indexId: 'a', sort: 'index', desc: false, offset: 0, limit: 100 }).rows;
      let compared = 0;
      for (let j = 0; j < F; j++) {
        const vals = brute.flatMap((c) => c.f.flatMap((fr) => fr.map((pp) => pp[j]!)));
        const active = vals.filter((v) => v > 0);
        expect(rows[j]!.count).toBe(active.length);
        expect(rows[j]!.max).toBeCloseTo(Math.max(0, ...active), 5);
        // Exemplars: clips by max over frames × patches; map = per-patch max over frames.
        const ranked = brute
          .map((c) => ({ item: c.item, value: Math.max(...c.f.flatMap((fr) => fr.map((pp) => pp[j]!))), map: Array.from({ length: P }, (_, p) => Math.max(...c.f.map((fr) => fr[p]![j]!))) }))
          .filter((x) => x.value > 0)
          .sort((a, b) => b.value - a.value || a.item - b.item)
          .slice(0, 3);
        const d = r.featureDetail(j);
        expect(d.exemplars.map((e) => e.itemId)).toEqual(ranked.map((x) => x.item));
        d.exemplars.forEach((e, i) => {
          expect(e.value).toBeCloseTo(ranked[i]!.value, 5);
          expectPatchMap(e.patchMap, ranked[i]!.map, `feature ${j} clip ${i}`);
        });
        // Temporal statistics over every (clip, patch, t) pair.
        const { xs, ys } = pairsOf(brute, (c, t, p) => c.f[t]![p]![j]!);
        const expected = pearson(xs, ys);
        if (expected !== null && rows[j]!.autocorrelation !== null) {
          expect(rows[j]!.autocorrelation!).toBeCloseTo(expected, 6);
          compared++;
        } else expect(rows[j]!.autocorrelation === null || expected === null).toBe(true);
        const act = xs.map((x, i) => [x, ys[i]!]).filter(([x, y]) => x! > 0 || y! > 0);
        const sw = act.length ? act.filter(([x, y]) => x! > 0 !== y! > 0).length / act.length : null;
        if (sw === null) expect(rows[j]!.switchRate).toBeNull();
        else expect(rows[j]!.switchRate!).toBeCloseTo(sw, 12);
      }
      expect(compared).toBeGreaterThan(5);
      // Raw autocorrelation: mean over the d dimensions.
      const rawAc = Array.from({ length: 16 }, (_, i) => {
        const { xs, ys } = pairsOf(brute, (c, t, p) => c.raw[t]![p]![i]!);
        return pearson(xs, ys);
      }).filter((v): v is number => v !== null);
      expect(s.temporal!.rawAutocorrelation!).toBeCloseTo(rawAc.reduce((a, b) => a + b, 0) / rawAc.length, 5);
      expect(s.temporal!.pairs).toBe(brute.reduce((a, c) => a + (c.f.length - 1) * P, 0));
      // Traces: max over patches per frame, for the clip's strongest features.
      for (const c of brute) {
        const tr = r.clipTraces(c.item)!;
        expect(tr.frames).toBe(c.f.length);
        expect(tr.features.length).toBeGreaterThan(0);
        for (const { feature, trace } of tr.features) {
          trace.forEach((v, t) => expect(v).toBeCloseTo(Math.max(...c.f[t]!.map((pp) => pp[feature]!)), 2));
        }
      }
      // Thumbnails of exemplar clips: middle frame and strip.
      const ex = r.featureDetail(rows.find((x) => x.count > 0)!.feature).exemplars[0]!;
      expect((await sharp(path.join(out, 'thumbs', `${ex.itemId}-strip.webp`)).metadata()).width).toBe(4 * 16);
    } finally {
      r.close();
    }
  }, 120_000);

  it('several SAEs in one pass equal separate runs; resume after a kill; CLI temporal --sae', async () => {
    const group = path.join(work, 'idx-group');
    // Killed after the first checkpoint, then resumed.
    await expect(
      runIndex(
        { model: vit.manifestPath, layer: 'block_1', sae: saeA, saes: [saeB], data, out: group, frames: 4, topK: 3, provider: 'cpu' },
        {
          checkpointIntervalMs: 0,
          afterCheckpoint: () => {
            throw new Error('killed');
          },
        },
      ),
    ).rejects.toThrow('killed');
    const again = await runIndex({ model: vit.manifestPath, layer: 'block_1', sae: saeA, saes: [saeB], data, out: group, frames: 4, topK: 3, provider: 'cpu' });
    expect(again.resumed).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(group, 'group.json'), 'utf8'))).toEqual({
      kind: 'sae-group',
      members: [
        { name: 'standard', dir: 'standard' },
        { name: 'matryoshka', dir: 'matryoshka' },
      ],
    });
    for (const [name, sae] of [
      ['standard', saeA],
      ['matryoshka', saeB],
    ] as const) {
      const single = path.join(work, `idx-single-${name}`);
      await runIndex({ model: vit.manifestPath, layer: 'block_1', sae, data, out: single, frames: 4, topK: 3, provider: 'cpu' });
      const a = IndexReader.open('g', path.join(group, name));
      const b = IndexReader.open('s', single);
      try {
        const q = { indexId: 'x', sort: 'index', desc: false, offset: 0, limit: 100 } as const;
        expect(a.queryFeatures(q)).toEqual(b.queryFeatures(q));
        const sa = a.summary();
        const sb = b.summary();
        expect(sa.temporal).toEqual(sb.temporal);
        expect([sa.tokens, sa.items, sa.skipped, sa.l0Mean]).toEqual([sb.tokens, sb.items, sb.skipped, sb.l0Mean]);
        for (let j = 0; j < sa.features; j++) expect(a.featureDetail(j).exemplars).toEqual(b.featureDetail(j).exemplars);
        for (let i = 0; i < 4; i++) expect(a.clipTraces(i)).toEqual(b.clipTraces(i));
        expect(sa.group).toEqual({
          path: group,
          members: [
            { name: 'standard', path: path.join(group, 'standard') },
            { name: 'matryoshka', path: path.join(group, 'matryoshka') },
          ],
        });
      } finally {
        a.close();
        b.close();
      }
    }
    // The group folder opens its first member.
    const g = IndexReader.open('g', group);
    expect(g.dir).toBe(path.join(group, 'standard'));
    g.close();

    // CLI on the real service.
    const out: string[] = [];
    const deps: CliDeps = {
      createBackend: (o) => createStudioService({ ...o, settingsDir: path.join(work, 'settings') }),
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: () => true },
      env: {},
      onInterrupt: () => () => {},
      now: () => Date.now(),
      projectRoot: process.cwd(),
      buildRenderer: async () => {},
      openUrl: async () => "disabled" as const,
    };
    expect(await runCli(['temporal', group, '--sae', 'matryoshka', '--json'], deps)).toBe(0);
    const json = JSON.parse(out.join(''));
    const m = IndexReader.open('m', path.join(group, 'matryoshka'));
    try {
      const t = m.summary().temporal!;
      expect(json.autocorrelation).toBe(t.autocorrelation);
      expect(json.raw_autocorrelation).toBe(t.rawAutocorrelation);
      expect(json.coherence_kept).toBe(t.coherenceKept);
      expect(json.features).toEqual(m.temporalFeatures().map((f) => ({ feature: f.feature, autocorrelation: f.autocorrelation, switch_rate: f.switchRate })));
      expect(Object.keys(json)).toEqual(['autocorrelation', 'switch_rate', 'raw_autocorrelation', 'coherence_kept', 'features']);
    } finally {
      m.close();
    }
    out.length = 0;
    expect(await runCli(['info', group, '--sae', 'standard', '--json'], deps)).toBe(0);
    expect(JSON.parse(out.join('')).path).toBe(path.join(group, 'standard'));

    // `features` as text: the temporal columns, values as the index holds them (3 decimals, "-" when undefined).
    out.length = 0;
    expect(await runCli(['features', group, '--sae', 'matryoshka', '--sort', 'autocorrelation', '--limit', '5'], deps)).toBe(0);
    const lines = out.join('').trimEnd().split('\n');
    expect(lines[0]).toMatch(/autocorr\s+switch$/);
    const m2 = IndexReader.open('m2', path.join(group, 'matryoshka'));
    try {
      const rows = m2.queryFeatures({ indexId: 'm2', sort: 'autocorrelation', desc: true, offset: 0, limit: 5 }).rows;
      const fmt = (v: number | null) => (v == null ? '-' : Math.abs(v) < 0.0005 ? '0.000' : v.toFixed(3));
      expect(lines.slice(1).map((l) => l.trim().split(/\s+/).slice(-2))).toEqual(rows.map((r) => [fmt(r.autocorrelation), fmt(r.switchRate)]));
    } finally {
      m2.close();
    }
    out.length = 0;
    expect(await runCli(['features', group, '--sae', 'matryoshka', '--feature', '0'], deps)).toBe(0);
    expect(out.join('')).toMatch(/autocorr (-|-?\d\.\d{3})  switch (-|\d\.\d{3})/);
  }, 180_000);
});
