import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobPhase } from '../../src-main/contract/index.js';
import type { PreprocessSpec } from '../../src-main/core/backbone/manifest.js';
import { mergeIndexParts } from '../../src-main/core/indexer/mergeParts.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { eagerThumbnail } from '../../src-main/core/indexer/writeThumbnails.js';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { listItems } from '../../src-main/core/store/itemList.js';
import { renderThumbnail } from '../../src-main/core/thumbnails/renderThumbnail.js';
import { ThumbnailCache } from '../../src-main/core/thumbnails/thumbnailCache.js';
import { startWebHost, type WebHost } from '../../src-main/hosts/web/webHost.js';
import { partArgs } from '../../src-main/hosts/cli/commands/multiDeviceIndex.js';
import { makeSae } from '../helpers/makeSae.js';
import { repoFixture } from '../helpers/repoFixtures.js';
import { runCliCaptured } from '../helpers/runCliCaptured.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';

// Issue 19, "thumbnails on demand": an image index's build writes no thumbnails unless asked to
// (--thumbnails eager); each is made from the dataset image the first time a host asks for it,
// with the same crop the model saw, and kept in a size-capped, least-recently-used cache.

/**
 * Smooth pictures with sharp edges (bars and a disc) at varied sizes and aspect ratios, so a crop
 * one pixel off shows in the pixels while resampler differences stay small.
 */
async function writeImages(
  dir: string,
  sizes: [number, number][] = [
    [150, 120],
    [120, 150],
    [131, 97],
    [97, 140],
    [200, 100],
    [110, 110],
    [160, 121],
    [99, 180],
  ],
): Promise<string[]> {
  const files: string[] = [];
  for (const [i, [W, H]] of sizes.entries()) {
    const label = i % 2 === 0 ? 'a' : 'b';
    fs.mkdirSync(path.join(dir, label), { recursive: true });
    const rel = `${label}/img_${i}.png`;
    await paint(path.join(dir, rel), W, H, i);
    files.push(rel);
  }
  return files.sort();
}

/** One such picture, W x H, variant i, as a PNG at `file`. */
async function paint(file: string, W: number, H: number, i: number): Promise<void> {
  const px = Buffer.alloc(W * H * 3);
  const period = 9 + i;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const bar = Math.floor((x + 2 * i) / period) % 2;
      const disc = (x - W * 0.6) ** 2 + (y - H * 0.4) ** 2 < (Math.min(W, H) * 0.2) ** 2;
      const o = (y * W + x) * 3;
      px[o] = disc ? 240 : bar ? 200 : 40;
      px[o + 1] = Math.floor((255 * y) / H);
      px[o + 2] = Math.floor(128 + 100 * Math.sin((x + y * (i + 1)) / 7));
    }
  }
  await sharp(px, { raw: { width: W, height: H, channels: 3 } }).png().toFile(file);
}

/** Decoded RGB pixels and size of a webp. */
async function decode(bytes: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * Mean absolute difference per channel value (0-255) of two square images over the interior, with
 * `b` moved by (dx, dy) pixels: how a crop one pixel off would compare.
 */
function shiftedDiff(a: Buffer, b: Buffer, side: number, dx: number, dy: number): number {
  let sum = 0;
  let n = 0;
  for (let y = 1; y < side - 1; y++) {
    for (let x = 1; x < side - 1; x++) {
      for (let c = 0; c < 3; c++) sum += Math.abs(a[(y * side + x) * 3 + c]! - b[((y + dy) * side + x + dx) * 3 + c]!);
      n += 3;
    }
  }
  return sum / n;
}

/**
 * Same size, close pixels, and closer aligned than with any one-pixel shift: the same crop. The
 * pixels differ a little because the eager path resizes as PIL does (in JS) and the on-demand one
 * with libvips.
 */
function expectSameCrop(mine: { data: Buffer; width: number; height: number }, theirs: typeof mine, what: string): void {
  expect([mine.width, mine.height], what).toEqual([theirs.width, theirs.height]);
  const aligned = shiftedDiff(mine.data, theirs.data, mine.width, 0, 0);
  const shifted = Math.min(...[[1, 0], [-1, 0], [0, 1], [0, -1]].map(([dx, dy]) => shiftedDiff(mine.data, theirs.data, mine.width, dx!, dy!)));
  expect(aligned, what).toBeLessThan(4);
  expect(aligned, `${what}: aligned ${aligned.toFixed(2)} vs shifted ${shifted.toFixed(2)}`).toBeLessThan(shifted * 0.6);
}

function get(host: WebHost, rawPath: string): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: host.port, path: rawPath, headers: { 'X-Studio-Token': host.token } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

function post(host: WebHost, method: string, body: unknown): Promise<{ status: number; json: { result?: unknown; error?: unknown } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: host.port, path: `/api/${method}`, method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Studio-Token': host.token } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const readdirRecursive = (dir: string): string[] =>
  (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.png')).sort();

const webpsIn = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.webp')).sort() : []);

let work: string;
let dataDir: string;
let files: string[];
let eagerDir: string;
let onDemandDir: string;
let onDemandPhases: Set<JobPhase>;
let baseReq: { model: string; layer: string; sae: string; data: string; topK: number; batch: number; provider: 'cpu' };

beforeAll(async () => {
  work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'thumbs-on-demand-')));
  const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 96, patchSize: 16, dModel: 16, cls: true, seed: 7, family: 'clip' });
  const sae = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 24, architecture: 'topk', k: 4, seed: 3 });
  dataDir = path.join(work, 'data');
  files = await writeImages(dataDir);
  baseReq = { model: vit.manifestPath, layer: 'block_1', sae, data: dataDir, topK: 3, batch: 4, provider: 'cpu' };
  eagerDir = path.join(work, 'eager');
  await runIndex({ ...baseReq, out: eagerDir, thumbnails: 'eager' }, { checkpointIntervalMs: 0 });
  onDemandDir = path.join(work, 'on-demand');
  onDemandPhases = new Set();
  await runIndex({ ...baseReq, out: onDemandDir }, { checkpointIntervalMs: 0, onProgress: (p) => onDemandPhases.add(p.phase) });
}, 120_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The config and exemplar thumbnails of an index folder. */
function configOf(dir: string) {
  const r = IndexReader.open('x', dir);
  try {
    return { config: r.config, progress: r.summary() };
  } finally {
    r.close();
  }
}

describe('building an image index', () => {
  it('writes no thumbnails by default, records on-demand and the crop, and never enters the thumbnails phase', () => {
    expect(webpsIn(path.join(onDemandDir, 'thumbs'))).toEqual([]);
    const { config, progress } = configOf(onDemandDir);
    expect(config.thumbnails).toBe('on-demand');
    expect(config.preprocess).toMatchObject({ resize: 'shortest-side', resizeTo: 96, crop: 96, interpolation: 'bicubic' });
    expect(progress.complete).toBe(true);
    expect(onDemandPhases.has('indexing')).toBe(true);
    expect(onDemandPhases.has('thumbnails')).toBe(false);
  });

  it('with --thumbnails eager writes every exemplar thumbnail, as before', () => {
    expect(configOf(eagerDir).config.thumbnails).toBe('eager');
    expect(webpsIn(path.join(eagerDir, 'thumbs')).length).toBeGreaterThan(0);
  });

  it('the CLI passes --thumbnails through, to a single run and to each part of a split one', async () => {
    const out = path.join(work, 'cli-eager');
    const args = ['--model', baseReq.model, '--layer', baseReq.layer, '--sae', baseReq.sae, '--data', dataDir, '--top-k', '3', '--provider', 'cpu'];
    await runCliCaptured(['index', ...args, '--out', out, '--thumbnails', 'eager'], work);
    expect(configOf(out).config.thumbnails).toBe('eager');
    expect(webpsIn(path.join(out, 'thumbs'))).toEqual(webpsIn(path.join(eagerDir, 'thumbs')));
    const part = partArgs({ ...baseReq, out, thumbnails: 'eager' }, { provider: 'cpu', ordinal: null, label: 'cpu' }, '0/2', out);
    expect(part.slice(part.indexOf('--thumbnails'), part.indexOf('--thumbnails') + 2)).toEqual(['--thumbnails', 'eager']);
  }, 60_000);

  it('refuses to resume an index with the other mode, naming it', async () => {
    await expect(runIndex({ ...baseReq, out: onDemandDir, thumbnails: 'eager' })).rejects.toThrow(/started with --thumbnails on-demand/);
  });
});

describe('through the real web host', () => {
  let service: StudioService;
  let host: WebHost;
  let indexId: string;
  let eagerId: string;

  beforeAll(async () => {
    const renderer = path.join(work, 'renderer');
    fs.mkdirSync(renderer, { recursive: true });
    fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html>');
    service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
    host = await startWebHost({ backend: service, port: 0, rendererDir: renderer });
    indexId = ((await post(host, 'openIndex', { path: onDemandDir })).json.result as { id: string }).id;
    eagerId = ((await post(host, 'openIndex', { path: eagerDir })).json.result as { id: string }).id;
  });

  afterAll(async () => {
    await host?.close();
    await service?.close();
  });

  it('makes each exemplar thumbnail on first request: same size as the eager one, same pixels within resampling noise', async () => {
    const eagerThumbs = webpsIn(path.join(eagerDir, 'thumbs'));
    for (const name of eagerThumbs) {
      const res = await get(host, `/thumb/${encodeURIComponent(indexId)}/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.type).toBe('image/webp');
      expectSameCrop(await decode(res.body), await decode(fs.readFileSync(path.join(eagerDir, 'thumbs', name))), name);
    }
    // Written into the index, and served from there the next time.
    expect(webpsIn(path.join(onDemandDir, 'thumbs'))).toEqual(eagerThumbs);
    const again = await get(host, `/thumb/${encodeURIComponent(indexId)}/${eagerThumbs[0]}`);
    expect(again.body.equals(fs.readFileSync(path.join(onDemandDir, 'thumbs', eagerThumbs[0]!)))).toBe(true);
  });

  it('makes thumbnails of any item; an eager index serves only the files it has', async () => {
    // Every item of this small set is some feature's exemplar: take one file away from the eager index.
    const missingInEager = '7.webp';
    fs.rmSync(path.join(eagerDir, 'thumbs', missingInEager));
    expect((await get(host, `/thumb/${encodeURIComponent(indexId)}/${missingInEager}`)).status).toBe(200);
    expect((await get(host, `/thumb/${encodeURIComponent(eagerId)}/${missingInEager}`)).status).toBe(404);
    expect(webpsIn(path.join(eagerDir, 'thumbs'))).not.toContain(missingInEager);
  });

  it('answers 404 for an item that does not exist and for names it never writes', async () => {
    expect((await get(host, `/thumb/${encodeURIComponent(indexId)}/999.webp`)).status).toBe(404);
    expect((await get(host, `/thumb/${encodeURIComponent(indexId)}/0-strip.webp`)).status).toBe(404);
    expect((await get(host, `/thumb/${encodeURIComponent(indexId)}/003.webp`)).status).toBe(404);
    expect(webpsIn(path.join(onDemandDir, 'thumbs'))).not.toContain('003.webp');
    expect((await get(host, `/thumb/${encodeURIComponent(indexId)}/..%2findex.sqlite`)).status).toBe(404);
  });
});

describe('the crop', () => {
  let photos: string[];
  let photoDir: string;
  beforeAll(async () => {
    photoDir = path.join(work, 'photos');
    photos = await writeImages(photoDir, [
      [640, 480],
      [400, 600],
      [517, 389],
      [333, 500],
    ]);
  });

  // Beyond the toy backbone, on photo-sized images (downscaled, as nearly all real ones are): a
  // crop larger than the thumbnail (a second resize) and a squash resize.
  it.each<[string, PreprocessSpec]>([
    ['shortest-side bicubic, crop 256 > thumbnail', { resize: 'shortest-side', resizeTo: 288, interpolation: 'bicubic', crop: 256, mean: [0, 0, 0], std: [1, 1, 1] }],
    ['squash bilinear', { resize: 'squash', resizeTo: 112, interpolation: 'bilinear', crop: 100, mean: [0, 0, 0], std: [1, 1, 1] }],
  ])('matches the eager thumbnail: %s', async (_, spec) => {
    for (const rel of photos) {
      const target = path.join(work, `crop-${spec.crop}.webp`);
      await renderThumbnail(path.join(photoDir, rel), spec, target);
      const mine = await decode(fs.readFileSync(target));
      expect([mine.width, mine.height]).toEqual([Math.min(spec.crop, 224), Math.min(spec.crop, 224)]);
      expectSameCrop(mine, await decode(await eagerThumbnail(path.join(photoDir, rel), spec)), rel);
    }
  });
});

describe('the cache', () => {
  /** A fresh on-demand index folder (a copy with no thumbnails), opened. */
  function freshCopy(name: string): IndexReader {
    const dir = path.join(work, name);
    fs.cpSync(onDemandDir, dir, { recursive: true });
    fs.rmSync(path.join(dir, 'thumbs'), { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'thumbs'));
    return IndexReader.open(name, dir);
  }

  it('renders a thumbnail asked for many times at once only once', async () => {
    const reader = freshCopy('coalesce');
    try {
      const cache = new ThumbnailCache({ parallel: 2 });
      const answers = await Promise.all(Array.from({ length: 12 }, () => cache.resolve(reader, '3.webp')));
      expect(new Set(answers)).toEqual(new Set([path.join(reader.dir, 'thumbs', '3.webp')]));
      expect(cache.rendered).toBe(1);
      // Distinct items each render once, however the parallel cap queues them.
      await Promise.all(['4.webp', '5.webp', '6.webp', '4.webp', '5.webp', '6.webp'].map((f) => cache.resolve(reader, f)));
      expect(cache.rendered).toBe(4);
      expect(webpsIn(path.join(reader.dir, 'thumbs'))).toEqual(['3.webp', '4.webp', '5.webp', '6.webp']);
      expect(fs.readdirSync(path.join(reader.dir, 'thumbs')).some((f) => f.endsWith('.tmp'))).toBe(false);
    } finally {
      reader.close();
    }
  });

  it('evicts the least recently used thumbnails beyond the byte cap, never the one just made', async () => {
    const reader = freshCopy('evict');
    try {
      let cap = Number.POSITIVE_INFINITY;
      const cache = new ThumbnailCache({ capBytes: () => cap });
      const thumbs = path.join(reader.dir, 'thumbs');
      const size = (f: string) => fs.statSync(path.join(thumbs, f)).size;
      for (const f of ['0.webp', '1.webp', '2.webp']) await cache.resolve(reader, f);
      const sizes: Record<string, number> = { '0.webp': size('0.webp'), '1.webp': size('1.webp'), '2.webp': size('2.webp') };
      await cache.resolve(reader, '0.webp'); // used again: now the most recent of the three
      cap = sizes['0.webp']! + sizes['1.webp']! + sizes['2.webp']!;
      await cache.resolve(reader, '3.webp');
      sizes['3.webp'] = size('3.webp');
      // Least recently used first: 1, 2, 0, then 3 (kept). Drop from the front until within the cap.
      const order = ['1.webp', '2.webp', '0.webp', '3.webp'];
      let total = order.reduce((s, f) => s + sizes[f]!, 0);
      const expected = [...order];
      while (total > cap && expected.length > 1) total -= sizes[expected.shift()!]!;
      expect(expected).not.toContain('1.webp');
      expect(webpsIn(thumbs)).toEqual([...expected].sort());
      expect(webpsIn(thumbs).reduce((s, f) => s + size(f), 0)).toBeLessThanOrEqual(cap);

      // A cap smaller than one thumbnail keeps only the one being served.
      cap = 1;
      expect(await cache.resolve(reader, '5.webp')).toBe(path.join(thumbs, '5.webp'));
      expect(webpsIn(thumbs)).toEqual(['5.webp']);
    } finally {
      reader.close();
    }
  });

  it('after a restart, counts what an earlier session made and evicts its oldest first', async () => {
    const reader = freshCopy('restart');
    try {
      const thumbs = path.join(reader.dir, 'thumbs');
      const earlier = new ThumbnailCache();
      for (const f of ['0.webp', '1.webp', '2.webp']) {
        await earlier.resolve(reader, f);
        await new Promise((r) => setTimeout(r, 20)); // distinct use times
      }
      const size = (f: string) => fs.statSync(path.join(thumbs, f)).size;
      // Room for the two newest of the earlier files and one more (thumbnails differ a little in size).
      const cap = size('1.webp') + size('2.webp') + Math.max(size('0.webp'), size('1.webp'), size('2.webp')) * 1.5;
      const later = new ThumbnailCache({ capBytes: () => cap });
      await later.resolve(reader, '3.webp');
      const kept = webpsIn(thumbs);
      expect(kept).toContain('3.webp');
      expect(kept.reduce((s, f) => s + size(f), 0)).toBeLessThanOrEqual(cap);
      expect(kept).not.toContain('0.webp');
      expect(kept).toContain('2.webp');
    } finally {
      reader.close();
    }
  });

  it('never evicts or makes files of an eager index', async () => {
    const reader = IndexReader.open('eager', eagerDir);
    try {
      const before = webpsIn(path.join(eagerDir, 'thumbs'));
      const cache = new ThumbnailCache({ capBytes: () => 1 });
      for (const f of before) expect(await cache.resolve(reader, f)).toBe(path.join(eagerDir, 'thumbs', f));
      const missing = files.map((_, id) => `${id}.webp`).find((n) => !before.includes(n))!;
      expect(await cache.resolve(reader, missing)).toBeNull();
      expect(webpsIn(path.join(eagerDir, 'thumbs'))).toEqual(before);
      expect(cache.rendered).toBe(0);
    } finally {
      reader.close();
    }
  });

  it('makes a missing thumbs folder, but never writes through a thumbs folder that links out of the index', async () => {
    const reader = freshCopy('no-thumbs');
    const victim = path.join(work, 'victim');
    fs.mkdirSync(victim);
    try {
      fs.rmSync(path.join(reader.dir, 'thumbs'), { recursive: true });
      const cache = new ThumbnailCache();
      expect(await cache.resolve(reader, '1.webp')).toBe(path.join(reader.dir, 'thumbs', '1.webp'));
      fs.rmSync(path.join(reader.dir, 'thumbs'), { recursive: true });
      fs.symlinkSync(victim, path.join(reader.dir, 'thumbs'));
      expect(await cache.resolve(reader, '2.webp')).toBeNull();
      expect(fs.readdirSync(victim)).toEqual([]);
    } finally {
      reader.close();
    }
  });

  it('refuses item paths that leave the dataset folder, even to a readable image, and follows links inside it', async () => {
    const dir = path.join(work, 'escape');
    fs.cpSync(onDemandDir, dir, { recursive: true });
    fs.rmSync(path.join(dir, 'thumbs'), { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'thumbs'));
    // A real image outside the dataset, reached by `..` and by an absolute path; and the same image
    // linked into the dataset, which is how many datasets are made (it is shown).
    const outside = path.join(work, 'outside.png');
    fs.copyFileSync(path.join(dataDir, files[0]!), outside);
    fs.symlinkSync(outside, path.join(dataDir, 'a', 'link.png'));
    try {
      const db = new Database(path.join(dir, 'index.sqlite'));
      const set = db.prepare('UPDATE items SET path = ? WHERE id = ?');
      set.run('../outside.png', 0);
      set.run('a/../../outside.png', 1);
      set.run(outside, 2);
      set.run('a/link.png', 3);
      set.run(files[4]!, 4); // control: an honest path
      db.close();
      const reader = IndexReader.open('escape', dir);
      try {
        const cache = new ThumbnailCache();
        for (const f of ['0.webp', '1.webp', '2.webp']) expect(await cache.resolve(reader, f), f).toBeNull();
        expect(await cache.resolve(reader, '3.webp')).toBe(path.join(dir, 'thumbs', '3.webp'));
        expect(await cache.resolve(reader, '4.webp')).toBe(path.join(dir, 'thumbs', '4.webp'));
        expect(webpsIn(path.join(dir, 'thumbs'))).toEqual(['3.webp', '4.webp']);
      } finally {
        reader.close();
      }
    } finally {
      fs.rmSync(path.join(dataDir, 'a', 'link.png'));
    }
  });

  it('answers null (a placeholder) when the image is gone or corrupt, and item lists say what can be shown', async () => {
    const reader = freshCopy('gone');
    const moved = path.join(work, 'data-moved');
    try {
      expect(listItems(reader, {}).items.every((i) => i.thumbnail)).toBe(true);
      const victim = path.join(dataDir, files[6]!);
      const saved = fs.readFileSync(victim);
      fs.writeFileSync(victim, 'not an image');
      const cache = new ThumbnailCache();
      expect(await cache.resolve(reader, '6.webp')).toBeNull();
      fs.writeFileSync(victim, saved);
      expect(await cache.resolve(reader, '6.webp')).not.toBeNull();
      // The whole dataset moved away: nothing new can be made, what was made still shows.
      fs.renameSync(dataDir, moved);
      expect(await cache.resolve(reader, '7.webp')).toBeNull();
      expect(await cache.resolve(reader, '6.webp')).not.toBeNull();
      expect(listItems(reader, {}).items.filter((i) => i.thumbnail).map((i) => i.id)).toEqual([6]);
    } finally {
      if (fs.existsSync(moved)) fs.renameSync(moved, dataDir);
      reader.close();
    }
  });
});

describe('an index from saev shards', () => {
  it('is on demand too: its thumbnails come from the images the shards were made from, cropped as the family does', async () => {
    const shards = path.join(work, 'shards');
    fs.cpSync(path.dirname(repoFixture('saev', 'shards-2.1', 'metadata.json')), shards, { recursive: true });
    const images = path.join(work, 'saev-images');
    fs.cpSync(repoFixture('saev', 'images'), images, { recursive: true });
    // Photo-sized pictures under the fixture's names (its own are 24x20, too small to tell a
    // one-pixel shift of the crop apart): the shards' activations do not depend on them.
    for (const [i, rel] of readdirRecursive(images).entries()) await paint(path.join(images, rel), 300 + 7 * i, 250 - 3 * i, i);
    const out = path.join(work, 'from-shards');
    await runIndex({ shards, images, layer: '10', sae: path.dirname(repoFixture('saev', 'sae', 'schema5-relu', 'sae.pt')), out, topK: 2 });
    expect(webpsIn(path.join(out, 'thumbs'))).toEqual([]);
    const reader = IndexReader.open('shards', out);
    try {
      expect(reader.config.thumbnails).toBe('on-demand');
      expect(reader.config.preprocess?.crop).toBe(224);
      const made = await new ThumbnailCache().resolve(reader, '0.webp');
      expect(made).toBe(path.join(out, 'thumbs', '0.webp'));
      const mine = await decode(fs.readFileSync(made!));
      const theirs = await decode(await eagerThumbnail(path.join(images, reader.itemPath(0)!), reader.config.preprocess!));
      expectSameCrop(mine, theirs, reader.itemPath(0)!);
    } finally {
      reader.close();
    }
  }, 60_000);
});

describe('split runs', () => {
  it('merge keeps an on-demand index on-demand, and refuses to mix modes', async () => {
    const p0 = path.join(work, 'part0');
    const p1 = path.join(work, 'part1');
    await runIndex({ ...baseReq, out: p0, shard: '0/2' }, { checkpointIntervalMs: 0 });
    await runIndex({ ...baseReq, out: p1, shard: '1/2' }, { checkpointIntervalMs: 0 });
    const merged = path.join(work, 'merged');
    await mergeIndexParts(merged, [p0, p1]);
    const reader = IndexReader.open('merged', merged);
    try {
      expect(reader.config.thumbnails).toBe('on-demand');
      expect(webpsIn(path.join(merged, 'thumbs'))).toEqual([]);
      expect(await new ThumbnailCache().resolve(reader, '2.webp')).toBe(path.join(merged, 'thumbs', '2.webp'));
    } finally {
      reader.close();
    }
    const e1 = path.join(work, 'part1-eager');
    await runIndex({ ...baseReq, out: e1, shard: '1/2', thumbnails: 'eager' }, { checkpointIntervalMs: 0 });
    await expect(mergeIndexParts(path.join(work, 'mixed'), [p0, e1])).rejects.toThrow(/thumbnails: on-demand vs eager/);
  }, 60_000);
});
