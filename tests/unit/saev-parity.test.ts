// saev files as saev writes them (tests/fixtures/saev, from scripts/fixtures/gen_saev.py) against
// NumPy: every checkpoint variant's encoding, and an index built from the held-out shards with
// each variant, compared per feature with NumPy's count / max / sum. The generator keeps all
// values on binary grids so float32 and float64 agree exactly: counts and maxima must be equal.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSaevShards } from '../../src-main/core/dataset/saevShards.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { SaeEncoderSession } from '../../src-main/core/sae/encoderSession.js';
import { loadSae } from '../../src-main/core/sae/loadSae.js';
import { encodeReference } from '../../src-main/core/sae/referenceEncoder.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { repoFixture } from '../helpers/repoFixtures.js';

/** Where the fixture shards say their images are (gen_saev.IMAGE_ROOT). */
const RECORDED_ROOT = '/tmp/feature-studio-saev-fixture/images';
const VARIANTS = ['legacy-relu', 'schema1-bdec-relu', 'schema1-bdec-topk', 'schema1-nobdec-relu', 'schema5-relu', 'schema5-topk', 'schema5-batchtopk'] as const;
const SHARD_SETS = ['shards-2.1', 'shards-1.1'] as const;

interface Expected {
  layer: number;
  tokens: number;
  items: number;
  saes: Record<string, { count: number[]; max: number[]; sum: number[]; item_max: number[][] }>;
}
interface Reference {
  subtract_b_dec: boolean;
  x: number[][];
  f: number[][];
}

const readJson = <T>(...parts: string[]): T => JSON.parse(fs.readFileSync(repoFixture(...parts), 'utf8')) as T;
const expected = readJson<Expected>('saev', 'expected.json');
const saeDir = (v: string) => path.dirname(repoFixture('saev', 'sae', v, 'sae.pt'));

function copyDir(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  fs.cpSync(from, to, { recursive: true });
}

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'saev-parity-'));
  // The shards record an absolute image root; put the images there, as on the machine that wrote them.
  copyDir(repoFixture('saev', 'images'), RECORDED_ROOT);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('saev sae.pt of every variant encodes like saev (NumPy reference)', () => {
  it.each(VARIANTS)('%s', async (variant) => {
    const sae = loadSae(saeDir(variant));
    const ref = readJson<Reference>('saev', 'sae', variant, 'reference.json');
    expect(sae.applyBDecToInput).toBe(ref.subtract_b_dec);
    const rows = ref.x.length;
    const x = Float32Array.from(ref.x.flat());
    expect(Array.from(encodeReference(sae, x, rows))).toEqual(ref.f.flat());

    const session = await SaeEncoderSession.create(sae, 'cpu');
    try {
      const codes = await session.encode(x, rows);
      const dense = new Array<number>(rows * sae.dSae).fill(0);
      for (let r = 0; r < rows; r++) {
        for (let e = codes.rowPtr[r]!; e < codes.rowPtr[r + 1]!; e++) dense[r * sae.dSae + codes.feature[e]!] = codes.value[e]!;
      }
      // The fast encoder keeps f > 0 only.
      expect(dense).toEqual(ref.f.flat().map((v) => (v > 0 ? v : 0)));
    } finally {
      await session.close();
    }
  });

  it('tells the schema-1 variants apart by the header commit, and the difference is real', () => {
    expect(loadSae(saeDir('schema1-bdec-relu'))).toMatchObject({ architecture: 'relu', applyBDecToInput: true });
    expect(loadSae(saeDir('schema1-nobdec-relu'))).toMatchObject({ architecture: 'relu', applyBDecToInput: false });
    expect(loadSae(saeDir('schema1-bdec-topk'))).toMatchObject({ architecture: 'topk', k: 4, topkRelu: false, applyBDecToInput: true });
    expect(loadSae(saeDir('schema5-batchtopk'))).toMatchObject({ architecture: 'batchtopk', k: 4, applyBDecToInput: false });
    // Read the b_dec-subtracting file the way the studio used to: the encoding no longer matches.
    const sae = { ...loadSae(saeDir('schema1-bdec-relu')), applyBDecToInput: false };
    const ref = readJson<Reference>('saev', 'sae', 'schema1-bdec-relu', 'reference.json');
    const wrong = encodeReference(sae, Float32Array.from(ref.x.flat()), ref.x.length);
    const diff = Math.max(...Array.from(wrong, (v, i) => Math.abs(v - ref.f.flat()[i]!)));
    expect(diff).toBeGreaterThan(0.1);
  });
});

describe('saev shards as saev writes them', () => {
  it.each(SHARD_SETS)('%s: metadata, shards.json and the recorded dataset', (set) => {
    const sh = readSaevShards(path.dirname(repoFixture('saev', set, 'metadata.json')));
    expect({ nEx: sh.nEx, d: sh.d, cls: sh.cls, patches: sh.patchesPerEx, grid: sh.grid, layers: sh.layers, family: sh.family }).toEqual({
      nEx: 12,
      d: 8,
      cls: true,
      patches: 196,
      grid: [14, 14],
      layers: ['6', '10'],
      family: 'clip',
    });
    // saev memmaps the last shard at full size; shards.json says it holds 2 examples.
    expect(sh.shards.map((s) => [path.basename(s.file), s.nEx, s.firstEx])).toEqual([
      ['acts000000.bin', 5, 0],
      ['acts000001.bin', 5, 5],
      ['acts000002.bin', 2, 10],
    ]);
    expect(sh.dataset).toEqual({ cls: 'ImgFolder', root: RECORDED_ROOT, problem: null });
    expect(sh.protocol).toBe(set === 'shards-2.1' ? '2.1' : '1.1');
  });

  it('decodes the pickled dataset config when metadata has no `dataset` field', () => {
    const dir = path.join(work, 'no-dataset-field');
    copyDir(path.dirname(repoFixture('saev', 'shards-2.1', 'metadata.json')), dir);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
    delete meta.dataset;
    fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify(meta));
    expect(readSaevShards(dir).dataset).toEqual({ cls: 'ImgFolder', root: RECORDED_ROOT, problem: null });
    meta.data = Buffer.from('not a pickle').toString('base64');
    fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify(meta));
    expect(readSaevShards(dir).dataset.problem).toMatch(/"data" could not be decoded/);
  });
});

function readIndex(dir: string) {
  const r = IndexReader.open('p', dir);
  try {
    const rows = r.queryFeatures({ indexId: 'p', sort: 'index', desc: false, offset: 0, limit: 10_000 }).rows;
    const top = rows.map((row) => r.featureDetail(row.feature).exemplars.map((e) => ({ item: e.item, label: e.label, value: e.value })));
    return { summary: r.summary(), rows, top };
  } finally {
    r.close();
  }
}

describe('studio index --shards equals NumPy on the held-out shards, for every checkpoint variant', () => {
  const items = (() => {
    const names: string[] = [];
    for (const cls of ['cat', 'dog']) for (const f of fs.readdirSync(repoFixture('saev', 'images', cls)).sort()) names.push(`${cls}/${f}`);
    return names;
  })();

  for (const set of SHARD_SETS) {
    it.each(VARIANTS)(`${set} with %s`, async (variant) => {
      const out = path.join(work, `idx-${set}-${variant}`);
      // No --images: the root the shards recorded is used.
      await runIndex({ shards: path.dirname(repoFixture('saev', set, 'metadata.json')), layer: String(expected.layer), sae: saeDir(variant), out, topK: 3, batch: 5 });
      const want = expected.saes[variant]!;
      const { summary, rows, top } = readIndex(out);
      expect(summary.tokens).toBe(expected.tokens);
      expect(summary.items).toBe(expected.items);
      expect(rows.map((r) => r.count)).toEqual(want.count);
      expect(rows.map((r) => (r.count > 0 ? r.max : 0))).toEqual(want.max);
      rows.forEach((r, i) => expect(r.count > 0 ? r.mean * r.count : 0).toBeCloseTo(want.sum[i]!, 6));
      // Exemplars: the items with the largest max-over-patches, ties to the earlier item.
      top.forEach((ex, f) => {
        const ranked = want.item_max
          .map((m, item) => ({ item, v: m[f]! }))
          .filter((e) => e.v > 0)
          .sort((a, b) => b.v - a.v || a.item - b.item)
          .slice(0, 3);
        expect(ex.map((e) => e.item)).toEqual(ranked.map((e) => items[e.item]));
        ex.forEach((e, j) => expect(e.value).toBeCloseTo(ranked[j]!.v, 2));
        expect(ex.map((e) => e.label)).toEqual(ranked.map((e) => items[e.item]!.split('/')[0]));
      });
    });
  }
});

describe('images, families and grids', () => {
  const shardCopy = (name: string, edit: (meta: Record<string, unknown>) => void): string => {
    const dir = path.join(work, name);
    copyDir(path.dirname(repoFixture('saev', 'shards-2.1', 'metadata.json')), dir);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
    edit(meta);
    fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify(meta));
    return dir;
  };
  const sae = () => saeDir('schema5-relu');

  it('uses the `dataset` root the metadata records, and names items by example index when that root is not here', async () => {
    const moved = path.join(work, 'moved-images');
    copyDir(repoFixture('saev', 'images'), moved);
    const dir = shardCopy('moved', (m) => (m.dataset = moved));
    await runIndex({ shards: dir, layer: '10', sae: sae(), out: path.join(work, 'o-moved'), topK: 2, thumbnails: 'eager' });
    expect(readIndex(path.join(work, 'o-moved')).top.flat()[0]!.item).toMatch(/^(cat|dog)\/img\d\d\.png$/);
    expect(fs.readdirSync(path.join(work, 'o-moved', 'thumbs')).length).toBeGreaterThan(0);
    const elsewhere = shardCopy('gone', (m) => (m.dataset = path.join(work, 'does-not-exist')));
    await runIndex({ shards: elsewhere, layer: '10', sae: sae(), out: path.join(work, 'o-gone'), topK: 2 });
    const g = readIndex(path.join(work, 'o-gone'));
    expect(g.top.flat()[0]!.item).toMatch(/^\d\d$/); // named by example index
  });

  it('refuses a family without shipped preprocessing, naming those it has, and accepts it with --model', async () => {
    const dir = shardCopy('dinov3', (m) => (m.family = 'dinov3'));
    await expect(runIndex({ shards: dir, layer: '10', sae: sae(), out: path.join(work, 'o-d3') })).rejects.toThrow(
      /dinov3 backbone; the studio has thumbnail preprocessing for clip, dinov2 only\. Pass --model MANIFEST/,
    );
    const manifest = path.resolve('resources/manifests/clip-vit-b16.json');
    const res = await runIndex({ shards: dir, layer: '10', sae: sae(), model: manifest, out: path.join(work, 'o-d3m'), topK: 2 });
    expect(res.items).toBe(12);
  });

  it('checks the manifest grid against the shards, and refuses non-square token counts naming them', async () => {
    const dir = shardCopy('dinov2', (m) => (m.family = 'dinov2'));
    await expect(runIndex({ shards: dir, layer: '10', sae: sae(), out: path.join(work, 'o-d2') })).rejects.toThrow(
      /has a 16x16 patch grid \(256 patches\) but the shards hold 196 patch tokens per example/,
    );
    // 12 examples of 195 content tokens + CLS do not fit the acts files' 197 tokens; write a fitting set.
    const odd = path.join(work, 'odd');
    fs.mkdirSync(odd);
    fs.writeFileSync(path.join(odd, 'acts000000.bin'), Buffer.alloc(2 * 1 * 13 * 8 * 4));
    fs.writeFileSync(path.join(odd, 'shards.json'), JSON.stringify([{ name: 'acts000000.bin', n_examples: 2 }]));
    fs.writeFileSync(
      path.join(odd, 'metadata.json'),
      JSON.stringify({ family: 'dinov3', ckpt: 'x', layers: [3], content_tokens_per_example: 12, cls_token: true, d_model: 8, n_examples: 2, max_tokens_per_shard: 26, data: '', dataset: '', pixel_agg: 'majority', dtype: 'float32', protocol: '2.1' }),
    );
    await expect(runIndex({ shards: odd, layer: '3', sae: sae(), out: path.join(work, 'o-odd') })).rejects.toThrow(/12 patch tokens per example \(dinov3\), which is not a square grid/);
  });
});
