// Cross-model matching (permutation test with a known answer), patch queries against brute force,
// decoder similarity, and the `studio match` / `studio query` commands, all on real generated
// models and indexes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../helpers/runCliCaptured.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import { writeSafetensors } from '../../src-main/core/sae/safetensors.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { loadManifest } from '../../src-main/core/backbone/manifest.js';
import { BackboneSession } from '../../src-main/core/backbone/backboneSession.js';
import { preprocessImage } from '../../src-main/core/backbone/preprocess.js';
import { encodeReference as referenceEncode } from '../../src-main/core/sae/referenceEncoder.js';
import { matchFeatures } from '../../src-main/core/analysis/matchFeatures.js';
import { resampleByArea } from '../../src-main/core/analysis/matchPair.js';
import { DECODER_DIRECTIONS_FILE, readDecoderDirections } from '../../src-main/core/analysis/decoderDirectionsFile.js';
import { withDb } from '../../src-main/core/analysis/runMatch.js';
import { readConfig } from '../../src-main/core/analysis/matchStore.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';
import { makeSae, seededRandom } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { sparseItemTable } from '../helpers/sparseItemTable.js';

/** A JPEG of seeded noise: large enough that decoding and resizing it takes a while. */
async function noiseJpeg(width: number, height: number, seed: number): Promise<Buffer> {
  const r = seededRandom(seed);
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(r() * 256);
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

let work: string;
let service: StudioService;
let manifestPath: string;
let saeA: string;
let dataDir: string;
let perm: Int32Array;
const D_SAE = 96;

/** Copy of a SAELens folder whose feature j becomes feature perm[j], with small noise on the encoder. */
function writePermutedSae(src: string, dst: string, permutation: Int32Array, noise: number): void {
  const sae = loadSae(src);
  const { dIn, dSae } = sae;
  const random = seededRandom(99);
  const W_enc = new Float32Array(dIn * dSae);
  const b_enc = new Float32Array(dSae);
  const W_dec = new Float32Array(dSae * dIn);
  for (let j = 0; j < dSae; j++) {
    const to = permutation[j]!;
    for (let i = 0; i < dIn; i++) W_enc[i * dSae + to] = sae.weights.W_enc[i * dSae + j]! * (1 + noise * (2 * random() - 1));
    b_enc[to] = sae.weights.b_enc[j]!;
    W_dec.set(sae.weights.W_dec.subarray(j * dIn, (j + 1) * dIn), to * dIn);
  }
  fs.mkdirSync(dst, { recursive: true });
  writeSafetensors(path.join(dst, 'sae_weights.safetensors'), {
    W_enc: { shape: [dIn, dSae], data: W_enc },
    b_enc: { shape: [dSae], data: b_enc },
    W_dec: { shape: [dSae, dIn], data: W_dec },
    b_dec: { shape: [dIn], data: sae.weights.b_dec },
  });
  fs.copyFileSync(path.join(src, 'cfg.json'), path.join(dst, 'cfg.json'));
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-match-'));
  const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 64, patchSize: 16, dModel: 16, cls: true, seed: 5, family: 'clip' });
  manifestPath = vit.manifestPath;
  saeA = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: D_SAE, architecture: 'topk', k: 8, seed: 3 });
  const random = seededRandom(7);
  perm = Int32Array.from({ length: D_SAE }, (_, i) => i);
  for (let i = D_SAE - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const saeB = path.join(work, 'sae-permuted');
  writePermutedSae(saeA, saeB, perm, 1e-3);
  const data = await makeImageFolder(path.join(work, 'data'), { labels: ['a', 'b', 'c', 'd'], perLabel: 30, width: 80, height: 72, seed: 9 });
  dataDir = data.dir;
  for (const [sae, out] of [[saeA, 'index-a'], [saeB, 'index-b']] as const) {
    await runIndex({ model: manifestPath, layer: 'block_1', sae, data: dataDir, out: path.join(work, out), topK: 8, batch: 16, provider: 'cpu' });
  }
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
}, 120_000);

afterAll(async () => {
  await service?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('cross-model matching', () => {
  it('recovers a permutation of the features (>= 95% of live features) and mutual pairs equal it', async () => {
    const a = await service.openIndex({ path: path.join(work, 'index-a') });
    const b = await service.openIndex({ path: path.join(work, 'index-b') });
    const phases = new Set<string>();
    const off = service.onEvent((e) => {
      if (e.type === 'match-progress') phases.add(e.progress.phase);
    });
    const s = await service.matchIndexes({ indexId: a.id, otherId: b.id });
    off();
    expect(phases.has('matching') || phases.has('saving')).toBe(true);
    expect(s.itemsCommon).toBe(120);
    expect(s.itemsOnlyA + s.itemsOnlyB).toBe(0);
    expect(s.coActivePairs).toBeGreaterThan(0);
    let live = 0;
    let right = 0;
    for (let f = 0; f < D_SAE; f++) {
      const m = await service.featureMatches({ indexId: a.id, otherId: b.id, feature: f });
      if (m.matches.length === 0) continue;
      live++;
      if (m.matches[0]!.other === perm[f]) right++;
    }
    expect(live).toBe(s.a.live);
    expect(live).toBeGreaterThan(D_SAE * 0.5);
    expect(right / live).toBeGreaterThanOrEqual(0.95);
    const mutual = await service.matchList({ indexId: a.id, otherId: b.id, kind: 'mutual', sort: 'score', desc: true, offset: 0, limit: 1000 });
    expect(mutual.total).toBeGreaterThanOrEqual(Math.floor(live * 0.95));
    for (const r of mutual.rows) expect(r.other).toBe(perm[r.feature]);
    console.info(`permutation: best match right for ${right}/${live} live features; ${mutual.total} mutual pairs, all on the permutation`);
    // The true partner fires on the feature's exemplars far above its average.
    const top = mutual.rows[0]!;
    expect(top.lift).toBeGreaterThan(1.5);
    // Saved into both indexes: the other side reads the same pairs from its own database.
    // Pairs seen together on few images can be hidden.
    const strict = await service.matchList({ indexId: a.id, otherId: b.id, kind: 'mutual', sort: 'score', desc: true, offset: 0, limit: 1000, minCoActive: 5 });
    expect(strict.total).toBeLessThanOrEqual(mutual.total);
    for (const r of strict.rows) expect(r.coCount).toBeGreaterThanOrEqual(5);
    const back = await service.matchList({ indexId: b.id, otherId: a.id, kind: 'mutual', sort: 'score', desc: true, offset: 0, limit: 1000 });
    expect(back.total).toBe(mutual.total);
    const summary = await service.matchSummary({ indexId: b.id, otherId: a.id });
    expect(summary?.a.name).toBe(b.name);
    // The chosen pair's patch maps agree (same features, both exemplar sets nearly equal).
    const pair = await service.matchPair({ indexId: a.id, otherId: b.id, feature: top.feature, other: top.other });
    expect(pair.itemsCompared).toBeGreaterThan(0);
    expect(pair.patchCorrelation!).toBeGreaterThan(0.9);
    // Lift of the pair, recomputed from the saved means and exemplars, equals the listed one.
    expect(pair.liftAB).toBeCloseTo(top.lift, 3);
  }, 60_000);

  it('studio match --json prints best matches both ways and mutual pairs', async () => {
    const out: string[] = [];
    const deps: CliDeps = {
      createBackend: (opts) => createStudioService(opts),
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: () => undefined },
      env: { STUDIO_SETTINGS_DIR: path.join(work, 'settings-cli') },
      onInterrupt: () => () => undefined,
      now: () => 0,
      projectRoot: work,
      buildRenderer: async () => undefined,
      openUrl: async () => "disabled" as const,
    };
    expect(await runCli(['match', path.join(work, 'index-a'), path.join(work, 'index-b'), '--json'], deps)).toBe(0);
    const json = JSON.parse(out.join('')) as { a_to_b: { a: number; b: number; score: number }[]; b_to_a: { b: number; a: number }[]; mutual: { a: number; b: number }[] };
    expect(json.a_to_b.filter((r) => r.b === perm[r.a]).length / json.a_to_b.length).toBeGreaterThanOrEqual(0.95);
    for (const r of json.mutual) expect(r.b).toBe(perm[r.a]);
    // Same JSON as asking feature by feature (how --json worked before it read all rows at once).
    const a = await service.openIndex({ path: path.join(work, 'index-a') });
    const b = await service.openIndex({ path: path.join(work, 'index-b') });
    const perFeature = async (from: string, to: string, keys: [string, string]) => {
      const rows: Record<string, number>[] = [];
      for (let f = 0; f < D_SAE; f++) {
        const top = (await service.featureMatches({ indexId: from, otherId: to, feature: f, limit: 1 })).matches[0];
        if (top) rows.push({ [keys[0]]: f, [keys[1]]: top.other, score: top.score });
      }
      return rows;
    };
    expect(JSON.stringify(json.a_to_b)).toBe(JSON.stringify(await perFeature(a.id, b.id, ['a', 'b'])));
    expect(JSON.stringify(json.b_to_a)).toBe(JSON.stringify(await perFeature(b.id, a.id, ['b', 'a'])));
    expect(json.a_to_b.length).toBeGreaterThan(D_SAE * 0.5);
    const inverse = new Int32Array(D_SAE);
    perm.forEach((to, from) => (inverse[to] = from));
    expect(json.b_to_a.filter((r) => r.a === inverse[r.b]).length / json.b_to_a.length).toBeGreaterThanOrEqual(0.95);
    out.length = 0;
    // Within a 1 MiB budget per pass: the same match.
    expect(await runCli(['match', path.join(work, 'index-a'), path.join(work, 'index-b'), '--memory-budget', '1'], deps)).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/on 120 common items/);
    expect(text).toContain(` ${json.mutual.length} mutual best pairs. Saved into both indexes.`);
  }, 60_000);

  it('counts cost in co-active pairs and reports items present on one side only', () => {
    const table = (paths: string[], rows: [number, number][][]) => sparseItemTable(paths, rows, 3);
    const A = table(['x', 'y', 'z', 'only-a'], [[[0, 1], [1, 2]], [[0, 3]], [[1, 1]], [[2, 5]]]);
    const B = table(['z', 'y', 'x', 'only-b'], [[[2, 1]], [[1, 3]], [[1, 1], [2, 2]], [[0, 1]]]);
    const r = matchFeatures(A, B);
    expect(r.itemsCommon).toBe(3);
    expect([r.itemsOnlyA, r.itemsOnlyB]).toEqual([1, 1]);
    expect(r.examplesOnlyA).toEqual(['only-a']);
    // x: 2 x 2 pairs, y: 1 x 1, z: 1 x 1.
    expect(r.coActivePairs).toBe(6);
    // Feature 0 of A (x:1, y:3, z:0) vs B's 1 (x:1, y:3, z:0): identical, correlation 1.
    expect(r.aToB.other[0 * r.perFeature]).toBe(1);
    expect(r.aToB.score[0]).toBeCloseTo(1, 5);
  });

  it('resamples patch maps by area', () => {
    const m = resampleByArea([1, 2, 3, 4], [2, 2], [1, 1]);
    expect(m[0]).toBeCloseTo(2.5);
    const up = resampleByArea([1, 2, 3, 4], [2, 2], [4, 4]);
    expect(up[0]).toBeCloseTo(1);
    expect(up[15]).toBeCloseTo(4);
    const odd = resampleByArea(Array.from({ length: 9 }, () => 1), [3, 3], [2, 2]);
    for (const v of odd) expect(v).toBeCloseTo(1);
  });
});

describe('patch queries', () => {
  it('ranks features by summed activation over the selected patches, as a brute-force computation does', async () => {
    const a = await service.openIndex({ path: path.join(work, 'index-a') });
    const image = path.join(dataDir, fs.readdirSync(dataDir).sort()[0]!, fs.readdirSync(path.join(dataDir, fs.readdirSync(dataDir).sort()[0]!)).sort()[0]!);
    const loaded = await service.loadQueryImage({ image: { path: image }, indexIds: [a.id] });
    expect(loaded.views[0]!.grid).toEqual([4, 4]);
    expect(loaded.views[0]!.preview).toMatch(/^data:image\/png;base64,/);
    const patches: [number, number][] = [[0, 1], [1, 1], [2, 3]];
    const r = await service.queryPatches({ imageId: loaded.imageId, indexId: a.id, patches, limit: 1000 });

    // Brute force: backbone in this thread, dense reference encoder, plain sums.
    const manifest = loadManifest(manifestPath);
    const backbone = await BackboneSession.open(manifest, 'block_1', 'cpu');
    const pre = await preprocessImage(image, manifest.preprocess);
    const { tokens, d } = await backbone.run(pre.pixels, 1);
    await backbone.close();
    const sae = loadSae(saeA);
    const sums = new Map<number, number>();
    for (const [row, col] of patches) {
      const t = 1 + row * 4 + col; // CLS first
      const f = referenceEncode(sae, tokens.subarray(t * d, (t + 1) * d), 1);
      f.forEach((v, j) => {
        if (v > 0) sums.set(j, (sums.get(j) ?? 0) + v);
      });
    }
    const expected = [...sums].sort((x, y) => y[1] - x[1] || x[0] - y[0]);
    expect(r.features.map((f) => f.feature)).toEqual(expected.map((e) => e[0]));
    r.features.forEach((f, i) => expect(f.value).toBeCloseTo(expected[i]![1], 4));
    // Each feature's map over the image agrees with its summed value on the selection.
    for (const f of r.features) expect(patches.reduce((acc, [row, col]) => acc + f.patchMap[row * 4 + col]!, 0)).toBeCloseTo(f.value, 4);
    // Query JSON of the CLI has the same ranking.
    const out = await runCliCaptured(['query', path.join(work, 'index-a'), image, '--patches', '0,1;1,1;2,3', '--json', '--limit', '1000'], work);
    const json = JSON.parse(out) as { features: { feature: number; value: number }[] };
    expect(json.features.map((f) => f.feature)).toEqual(expected.map((e) => e[0]));
  }, 60_000);

  it('rejects patches outside the grid', async () => {
    const a = await service.openIndex({ path: path.join(work, 'index-a') });
    const first = path.join(dataDir, 'a', fs.readdirSync(path.join(dataDir, 'a')).sort()[1]!);
    const loaded = await service.loadQueryImage({ image: { data: fs.readFileSync(first).toString('base64'), name: 'dropped.png' }, indexIds: [a.id] });
    await expect(service.queryPatches({ imageId: loaded.imageId, indexId: a.id, patches: [[4, 0]] })).rejects.toThrow(/outside the 4x4 grid/);
  }, 30_000);

  it('a query queued behind a held request and replaced by a newer one answers superseded; the newest runs', async () => {
    const a = await service.openIndex({ path: path.join(work, 'index-a') });
    const first = path.join(dataDir, 'a', fs.readdirSync(path.join(dataDir, 'a')).sort()[1]!);
    const loaded = await service.loadQueryImage({ image: { path: first }, indexIds: [a.id] });
    // The worker runs requests one at a time. Hold it with the load of a large JPEG (decode,
    // resize, backbone: ~0.15 s here). Bytes need no file read, so once this turn of the event loop
    // ends the load has been posted; the two queries are then posted synchronously behind it,
    // microseconds apart, so both wait in the queue and the middle one must be skipped, not run.
    const held = service.loadQueryImage({ image: { data: (await noiseJpeg(1600, 1200, 8)).toString('base64'), name: 'big.jpg' }, indexIds: [a.id] });
    await new Promise((resolve) => setImmediate(resolve));
    const middlePatches: [number, number][] = [[0, 0]];
    const lastPatches: [number, number][] = [[1, 1], [2, 2]];
    const middle = service.queryPatches({ imageId: loaded.imageId, indexId: a.id, patches: middlePatches, limit: 1000 });
    const last = service.queryPatches({ imageId: loaded.imageId, indexId: a.id, patches: lastPatches, limit: 1000 });
    const [h, m, l] = await Promise.allSettled([held, middle, last]);
    expect(h.status).toBe('fulfilled');
    expect(m.status).toBe('rejected');
    expect(m.status === 'rejected' && (m.reason as { code?: string }).code).toBe('superseded');
    expect(l.status).toBe('fulfilled');
    if (l.status !== 'fulfilled') return;
    // The last query answers its own patches: the same features as asking again, not the middle's.
    expect(l.value.patches).toBe(2);
    const again = await service.queryPatches({ imageId: loaded.imageId, indexId: a.id, patches: lastPatches, limit: 1000 });
    const other = await service.queryPatches({ imageId: loaded.imageId, indexId: a.id, patches: middlePatches, limit: 1000 });
    expect(l.value.features.length).toBeGreaterThan(0);
    expect(l.value.features).toEqual(again.features);
    expect(l.value.features).not.toEqual(other.features);
  }, 30_000);
});

describe('patch queries with two SAEs at once', () => {
  it('runs both models on the same image; the permuted SAE ranks the permuted features', async () => {
    const a = await service.openIndex({ path: path.join(work, 'index-a') });
    const b = await service.openIndex({ path: path.join(work, 'index-b') });
    const image = path.join(dataDir, 'b', fs.readdirSync(path.join(dataDir, 'b')).sort()[2]!);
    const loaded = await service.loadQueryImage({ image: { path: image }, indexIds: [a.id, b.id] });
    expect(loaded.views.map((v) => v.indexId)).toEqual([a.id, b.id]);
    const patches: [number, number][] = [[1, 1], [1, 2], [2, 2]];
    const ra = await service.queryPatches({ imageId: loaded.imageId, indexId: a.id, patches, limit: 5 });
    const rb = await service.queryPatches({ imageId: loaded.imageId, indexId: b.id, patches, weights: [1, 1, 1], limit: 5 });
    expect(rb.features.map((f) => f.feature)).toEqual(ra.features.map((f) => perm[f.feature]));
    rb.features.forEach((f, i) => expect(f.value).toBeCloseTo(ra.features[i]!.value, 1));
  }, 30_000);
});

describe('similar features', () => {
  it('lists the features whose decoder directions are closest, by cosine', async () => {
    const a = await service.openIndex({ path: path.join(work, 'index-a') });
    const sim = await service.similarFeatures({ indexId: a.id, feature: 5, limit: 5 });
    const sae = loadSae(saeA);
    const dIn = sae.dIn;
    const unit = (f: number) => {
      const v = sae.weights.W_dec.subarray(f * dIn, (f + 1) * dIn);
      const n = Math.hypot(...v);
      return Array.from(v, (x) => x / n);
    };
    const q = unit(5);
    const all = Array.from({ length: D_SAE }, (_, f) => ({ index: f, cosine: unit(f).reduce((s, x, i) => s + x * q[i]!, 0) }))
      .filter((x) => x.index !== 5)
      .sort((x, y) => y.cosine - x.cosine)
      .slice(0, 5);
    expect(sim.map((s) => s.feature)).toEqual(all.map((s) => s.index));
    sim.forEach((s, i) => expect(s.cosine).toBeCloseTo(all[i]!.cosine, 5));

    // The directions were saved in the index folder on first use: a new session answers the
    // same without the checkpoint (moved away here), and a file for another SAE is not trusted.
    const file = path.join(work, 'index-a', DECODER_DIRECTIONS_FILE);
    expect(fs.statSync(file).size).toBe(80 + D_SAE * dIn * 4);
    const moved = `${saeA}-moved`;
    fs.renameSync(saeA, moved);
    const fresh = await createStudioService({ settingsDir: path.join(work, 'settings-similar'), host: 'web' });
    try {
      const a2 = await fresh.openIndex({ path: path.join(work, 'index-a') });
      expect(await fresh.similarFeatures({ indexId: a2.id, feature: 5, limit: 5 })).toEqual(sim);
      expect(readDecoderDirections(path.join(work, 'index-a'), 'another-sae-hash')).toBeNull();
      const hash = withDb(path.join(work, 'index-a'), (db) => readConfig(db).sae.hash);
      const saved = readDecoderDirections(path.join(work, 'index-a'), hash)!;
      expect(saved.similar(5, 5)).toEqual(sim);
    } finally {
      await fresh.close();
      fs.renameSync(moved, saeA);
    }
  }, 30_000);
});

describe('mapping a patch selection to another model\'s grid', () => {
  it('weights each target patch by the area the selection covers, through the source image', async () => {
    const { mapSelection } = await import('../../src-renderer/src/lib/gridMapping.js');
    // Same crop, 2x2 -> 4x4: one source patch covers exactly four target patches.
    const same = mapSelection([[0, 0]], { grid: [2, 2], crop: [0, 0, 1, 1] }, { grid: [4, 4], crop: [0, 0, 1, 1] });
    expect(same.patches).toEqual([[0, 0], [0, 1], [1, 0], [1, 1]]);
    expect(same.weights).toEqual([1, 1, 1, 1]);
    // 14x14 -> 16x16, all selected: every target patch fully covered.
    const all: [number, number][] = [];
    for (let r = 0; r < 14; r++) for (let c = 0; c < 14; c++) all.push([r, c]);
    const full = mapSelection(all, { grid: [14, 14], crop: [0, 0, 1, 1] }, { grid: [16, 16], crop: [0, 0, 1, 1] });
    expect(full.patches.length).toBe(256);
    for (const w of full.weights) expect(w).toBeCloseTo(1, 6);
    // Different crops: the right half of A's crop lands in B's grid shifted by B's wider view.
    const shifted = mapSelection([[0, 1]], { grid: [1, 2], crop: [0.25, 0, 0.75, 1] }, { grid: [1, 4], crop: [0, 0, 1, 1] });
    expect(shifted.patches).toEqual([[0, 2]]);
    expect(shifted.weights[0]).toBeCloseTo(1, 6);
  });
});
