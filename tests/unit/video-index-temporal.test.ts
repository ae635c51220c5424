import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { FlickerEngine } from '../../src-main/core/analysis/flickerEngine.js';
import { scanClipFolder } from '../../src-main/core/indexer/sources/videoClipSource.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { makeChannelBackbone, makeChannelSae } from '../helpers/makeChannelBackbone.js';
import { createStudioService } from '../../src-main/core/service.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';

// Hand-checkable clips: the backbone's patch tokens are the channel means, the SAE's feature 0
// reads red and feature 1 blue (relu(channel − 0.5)), so every activation is known exactly.

async function frameFolder(dir: string, colours: [number, number, number][]): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  for (const [t, [r, g, b]] of colours.entries()) {
    await sharp({ create: { width: 16, height: 16, channels: 3, background: { r, g, b } } }).png().toFile(path.join(dir, `f${t}.png`));
  }
}

/** Pearson over explicit pairs, two-pass (null when a side is constant). */
function pearson(pairs: [number, number][]): number | null {
  const n = pairs.length;
  const mx = pairs.reduce((a, p) => a + p[0], 0) / n;
  const my = pairs.reduce((a, p) => a + p[1], 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of pairs) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  return sxx < 1e-12 || syy < 1e-12 ? null : sxy / Math.sqrt(sxx * syy);
}

describe('temporal statistics of a video index (hand computation)', () => {
  let work: string;
  let manifest: string;
  let sae: string;
  const RED_BLUE: [number, number, number] = [255, 0, 255];
  const BLUE: [number, number, number] = [0, 0, 255];
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-vtemp-'));
    manifest = makeChannelBackbone(path.join(work, 'model'));
    sae = makeChannelSae(path.join(work, 'sae'), 'red-blue', [0, 2]);
    // Red on in alternate frames; blue always on.
    await frameFolder(path.join(work, 'alt', 'flicker', 'clip'), Array.from({ length: 6 }, (_, t) => (t % 2 === 0 ? RED_BLUE : BLUE)));
    // Red on for three frames, then off.
    await frameFolder(path.join(work, 'two', 'flicker', 'clip'), Array.from({ length: 6 }, (_, t) => (t % 2 === 0 ? RED_BLUE : BLUE)));
    await frameFolder(path.join(work, 'two', 'steady', 'clip'), Array.from({ length: 6 }, (_, t) => (t < 3 ? RED_BLUE : BLUE)));
    // Red on in alternate pairs of frames: with tubelet 2, on in alternate tubelet steps.
    await frameFolder(path.join(work, 'pairs', 'clip'), Array.from({ length: 8 }, (_, t) => (Math.floor(t / 2) % 2 === 0 ? RED_BLUE : BLUE)));
  }, 60_000);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('a feature on in alternate frames has switch rate 1 and autocorrelation −1', async () => {
    const out = path.join(work, 'idx-alt');
    await runIndex({ model: manifest, layer: 'means', sae, data: path.join(work, 'alt'), out, kind: 'videos', fps: 1, provider: 'cpu' });
    const r = IndexReader.open('alt', out);
    try {
      const s = r.summary();
      expect(s.kind).toBe('videos');
      expect(s.items).toBe(1);
      expect(s.tokens).toBe(6 * 4);
      const rows = r.queryFeatures({ indexId: 'alt', sort: 'index', desc: false, offset: 0, limit: 10 }).rows;
      expect(rows[0]!.switchRate).toBe(1);
      expect(rows[0]!.autocorrelation).toBeCloseTo(-1, 9);
      // Blue: always on (switch rate 0), constant (autocorrelation undefined).
      expect(rows[1]!.switchRate).toBe(0);
      expect(rows[1]!.autocorrelation).toBeNull();
      // Raw: red alternates (−1), green and blue are constant (undefined): mean −1, all of it kept.
      expect(s.temporal).toEqual({ autocorrelation: expect.closeTo(-1, 9), rawAutocorrelation: expect.closeTo(-1, 9), coherenceKept: expect.closeTo(1, 9), pairs: 5 * 4 });
      // Traces: max over patches per frame.
      const traces = r.clipTraces(0)!;
      expect(traces.frames).toBe(6);
      const byFeature = new Map(traces.features.map((f) => [f.feature, f.trace]));
      expect(byFeature.get(0)).toEqual([0.5, 0, 0.5, 0, 0.5, 0]);
      expect(byFeature.get(1)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
      // Thumbnails: the middle frame and the strip of all six.
      const meta = await sharp(path.join(out, 'thumbs', '0-strip.webp')).metadata();
      expect([meta.width, meta.height]).toEqual([6 * 16, 16]);
      expect(fs.existsSync(path.join(out, 'thumbs', '0.webp'))).toBe(true);
    } finally {
      r.close();
    }
  }, 60_000);

  it('clip (tubelet) backbone: t steps over tubelets', async () => {
    const clipModel = makeChannelBackbone(path.join(work, 'clip-model'), { clip: { frames: 8, tubelet: 2 } });
    const out = path.join(work, 'idx-tubelet');
    await runIndex({ model: clipModel, layer: 'means', sae, data: path.join(work, 'pairs'), out, kind: 'videos', provider: 'cpu' });
    const r = IndexReader.open('tub', out);
    try {
      const s = r.summary();
      expect(s).toMatchObject({ kind: 'videos', framesPerClip: 4, tokens: 4 * 4 });
      expect(s.model.tokens).toMatchObject({ frames: 8, tubelet: 2 });
      const rows = r.queryFeatures({ indexId: 'tub', sort: 'index', desc: false, offset: 0, limit: 10 }).rows;
      expect(rows[0]!.switchRate).toBe(1);
      expect(rows[0]!.autocorrelation).toBeCloseTo(-1, 9);
      const traces = new Map(r.clipTraces(0)!.features.map((f) => [f.feature, f.trace]));
      expect(traces.get(0)).toEqual([0.5, 0, 0.5, 0]);
      expect(s.temporal!.pairs).toBe(3 * 4);

      // The flicker view's live path runs the same clip backbone: one step per tubelet, same trace.
      const engine = new FlickerEngine('cpu');
      try {
        const item = r.featureDetail(0).exemplars[0]!.item;
        const clip = await engine.open(path.join(work, 'pairs', item), item, { mode: 'segments', count: 16 }, [{ indexId: 'tub', name: s.name, config: r.config }]);
        expect(clip.frames).toBe(4);
        expect(clip.frameImages).toHaveLength(4);
        const f0 = engine.feature(clip.clipId, 'tub', 0);
        expect(f0.trace.map((v) => Math.round(v * 1e4) / 1e4)).toEqual([0.5, 0, 0.5, 0]);
        expect(f0.clipSwitchRate).toBe(1);
      } finally {
        await engine.close();
      }
    } finally {
      r.close();
    }
  }, 60_000);

  it('pools pairs over clips and patches as the definitions say', async () => {
    const out = path.join(work, 'idx-two');
    await runIndex({ model: manifest, layer: 'means', sae, data: path.join(work, 'two'), out, fps: 1, provider: 'cpu' });
    const r = IndexReader.open('two', out);
    try {
      const red = (t: number, clip: number) => (clip === 0 ? (t % 2 === 0 ? 0.5 : 0) : t < 3 ? 0.5 : 0);
      const pairs: [number, number][] = [];
      for (const clip of [0, 1]) for (let p = 0; p < 4; p++) for (let t = 0; t < 5; t++) pairs.push([red(t, clip), red(t + 1, clip)]);
      const active = pairs.filter(([x, y]) => x > 0 || y > 0);
      const switches = active.filter(([x, y]) => (x > 0) !== (y > 0)).length / active.length;
      const rows = r.queryFeatures({ indexId: 'two', sort: 'index', desc: false, offset: 0, limit: 10 }).rows;
      expect(rows[0]!.autocorrelation).toBeCloseTo(pearson(pairs)!, 9);
      expect(rows[0]!.switchRate).toBeCloseTo(switches, 12);
      expect(r.summary().temporal!.pairs).toBe(pairs.length);
      // Sorting: most flickery first; features without a value last either way.
      const bySwitch = r.queryFeatures({ indexId: 'two', sort: 'switchRate', desc: true, offset: 0, limit: 10 }).rows.map((x) => x.feature);
      expect(bySwitch).toEqual([0, 1]);
      const byAuto = r.queryFeatures({ indexId: 'two', sort: 'autocorrelation', desc: false, offset: 0, limit: 10 }).rows.map((x) => x.feature);
      expect(byAuto).toEqual([0, 1]);
      const filtered = r.queryFeatures({ indexId: 'two', sort: 'index', desc: false, offset: 0, limit: 10, filter: { minSwitchRate: 0.1 } });
      expect(filtered.rows.map((x) => x.feature)).toEqual([0]);
      // Labels from the first-level folder; exemplar map = per-patch max over frames.
      const d = r.featureDetail(0);
      expect(d.exemplars.map((e) => [e.item, e.label, e.value])).toEqual([
        ['flicker/clip', 'flicker', 0.5],
        ['steady/clip', 'steady', 0.5],
      ]);
      expect(d.exemplars[0]!.patchMap).toEqual([0.5, 0.5, 0.5, 0.5]);
    } finally {
      r.close();
    }
  }, 60_000);

  it('CLI: several --sae in one index run, then info / features / temporal --sae NAME', async () => {
    const blue = makeChannelSae(path.join(work, 'sae'), 'blue-only', [2], [2]);
    const out: string[] = [];
    const err: string[] = [];
    const deps: CliDeps = {
      createBackend: (o) => createStudioService({ ...o, settingsDir: path.join(work, 'settings') }),
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      env: {},
      onInterrupt: () => () => {},
      now: () => Date.now(),
      projectRoot: process.cwd(),
      buildRenderer: async () => {},
      openUrl: async () => "disabled" as const,
    };
    const dir = path.join(work, 'idx-cli');
    const args = ['index', '--model', manifest, '--layer', 'means', '--sae', sae, '--sae', blue, '--data', path.join(work, 'alt'), '--out', dir];
    expect(await runCli([...args, '--kind', 'videos', '--fps', '1', '--provider', 'cpu'], deps)).toBe(0);
    expect(err.join('')).not.toContain('error');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'group.json'), 'utf8')).members.map((m: { name: string }) => m.name)).toEqual(['red-blue', 'blue-only']);
    out.length = 0;
    expect(await runCli(['temporal', dir, '--sae', 'blue-only', '--json'], deps)).toBe(0);
    // Blue is constant: never switches, no autocorrelation; the raw red channel still alternates.
    expect(JSON.parse(out.join(''))).toEqual({
      autocorrelation: null,
      switch_rate: 0,
      raw_autocorrelation: expect.closeTo(-1, 9),
      coherence_kept: null,
      features: [{ feature: 0, autocorrelation: null, switch_rate: 0 }],
    });
    out.length = 0;
    expect(await runCli(['features', dir, '--json', '--sort', 'switchRate'], deps)).toBe(0);
    const features = JSON.parse(out.join(''));
    expect(features.map((f: { feature: number }) => f.feature)).toEqual([0, 1]);
    expect(features[0]).toMatchObject({ feature: 0, autocorrelation: expect.closeTo(-1, 9), switch_rate: 1 });
    out.length = 0;
    expect(await runCli(['info', dir], deps)).toBe(0);
    expect(out.join('')).toMatch(/^SAEs\s+red-blue \(this\), blue-only/m);
    expect(out.join('')).toMatch(/^Temporal\s+autocorrelation -1\.000, raw -1\.000, coherence kept 100\.0%/m);
    expect(await runCli(['info', dir, '--sae', 'nope'], deps)).toBe(1);
  }, 60_000);

  it('resumes a video index after a kill and ends where a clean run does', async () => {
    const req = { model: manifest, layer: 'means', sae, data: path.join(work, 'two'), fps: 1, provider: 'cpu' as const };
    const killed = path.join(work, 'idx-killed');
    await expect(
      runIndex({ ...req, out: killed }, { checkpointIntervalMs: 0, afterCheckpoint: () => { throw new Error('killed'); } }),
    ).rejects.toThrow('killed');
    const half = IndexReader.open('h', killed);
    expect(half.summary().complete).toBe(false);
    expect(half.summary().temporal).toBeNull();
    half.close();
    expect((await runIndex({ ...req, out: killed })).resumed).toBe(true);
    const clean = path.join(work, 'idx-clean');
    await runIndex({ ...req, out: clean });
    const a = IndexReader.open('a', killed);
    const b = IndexReader.open('b', clean);
    try {
      const q = { indexId: 'x', sort: 'index', desc: false, offset: 0, limit: 10 } as const;
      expect(a.queryFeatures(q)).toEqual(b.queryFeatures(q));
      expect(a.summary().temporal).toEqual(b.summary().temporal);
      expect([0, 1].map((i) => a.clipTraces(i))).toEqual([0, 1].map((i) => b.clipTraces(i)));
    } finally {
      a.close();
      b.close();
    }
  }, 60_000);

  it('image indexes report no temporal data; several --sae need videos', async () => {
    const { dir } = await makeImageFolder(path.join(work, 'images'), { perLabel: 2 });
    const out = path.join(work, 'idx-images');
    await runIndex({ model: manifest, layer: 'means', sae, data: dir, out, provider: 'cpu' });
    const r = IndexReader.open('i', out);
    try {
      expect(r.summary()).toMatchObject({ kind: 'images', framesPerClip: null, temporal: null, group: null });
      const row = r.queryFeatures({ indexId: 'i', sort: 'autocorrelation', desc: true, offset: 0, limit: 1 }).rows[0]!;
      expect([row.autocorrelation, row.switchRate]).toEqual([null, null]);
      expect(r.clipTraces(0)).toBeNull();
    } finally {
      r.close();
    }
    await expect(runIndex({ model: manifest, layer: 'means', sae, saes: [sae], data: dir, out: path.join(work, 'idx-images-2'), provider: 'cpu' })).rejects.toThrow(
      /not supported yet: several --sae/,
    );
  }, 60_000);

  it('labels clips from an SSv2 JSON by clip id', () => {
    const labels = path.join(work, 'labels.json');
    fs.writeFileSync(labels, JSON.stringify([{ id: 'clip', template: 'Moving [Something] up', label: 'Moving a cup up' }]));
    const scanned = scanClipFolder(path.join(work, 'two'), labels);
    expect(scanned.items.toArray()).toEqual([
      { path: 'flicker/clip', label: 'Moving [something] up' },
      { path: 'steady/clip', label: 'Moving [something] up' },
    ]);
    expect(scanned.labels).toEqual(['Moving [something] up']);
    expect(scanClipFolder(path.join(work, 'two')).labels).toEqual(['flicker', 'steady']);
  });
});
