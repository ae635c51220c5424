// Issue 17's "How it will be checked", as a test: on a held-out index (a backbone, an SAE and a
// labelled image folder made from seeds, labels and sizes no other test uses), everything the
// index says about exemplars agrees with an independent computation. The independent side runs
// every image through the patch query engine (the on-demand encoder, not the indexer's single
// pass), takes each feature's max over patches per image, and from those alone derives:
//   - the top-k exemplars (items by value),
//   - the activation-range rows: ranges by comparing with the written-out edges 10^(-4 + r/2),
//     exact counts, and the 4 items of smallest sampleKey(feature, item) per range,
//   - label search: purity of a label among those exemplars, ranked,
//   - the item page: features of an image by max over patches,
// and compares them with the service (featureDetail, searchFeatures, itemDetail) and with
// `studio features --json` (the range samples in the CLI's JSON).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../helpers/runCliCaptured.js';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { sampleKey } from '../../src-main/core/indexer/rangeSamples.js';
import { PATCH_MAP_MAX_ERROR } from '../../src-main/core/store/patchMapCodec.js';
import type { IndexSummary } from '../../src-main/contract/index.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';

const LABELS = ['alpine', 'canyon', 'harbor', 'meadow', 'reef', 'tundra'];
const PER_LABEL = 7;
const TOP_K = 12;
const D_SAE = 144;
const PER_RANGE = 4;

let work: string;
let dataDir: string;
let indexDir: string;
let service: StudioService;
let s: IndexSummary;

interface ItemCodes {
  id: number;
  path: string;
  label: string | null;
  /** Per feature active on the image: max over patches and the per-patch map. */
  features: Map<number, { max: number; map: number[] }>;
}
let items: ItemCodes[] = [];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-heldout-'));
  const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 80, patchSize: 16, dModel: 20, cls: true, seed: 173, family: 'clip' });
  const sae = makeSae(path.join(work, 'sae'), { dIn: 20, dSae: D_SAE, architecture: 'topk', k: 7, seed: 4242, format: 'safetensors' });
  const data = await makeImageFolder(path.join(work, 'data'), { labels: LABELS, perLabel: PER_LABEL, width: 97, height: 83, seed: 9001 });
  dataDir = data.dir;
  indexDir = path.join(work, 'index');
  await runIndex({ model: vit.manifestPath, layer: 'block_1', sae, data: dataDir, out: indexDir, topK: TOP_K, batch: 5, provider: 'cpu' }, { checkpointIntervalMs: 0 });
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
  s = await service.openIndex({ path: indexDir });

  // The independent side: every image through the query engine, all patches, every feature.
  const listed = await service.listItems({ indexId: s.id, limit: 1000 });
  expect(listed.total).toBe(LABELS.length * PER_LABEL);
  items = [];
  for (const it of listed.items) {
    const loaded = await service.loadQueryImage({ image: { path: path.join(dataDir, it.path) }, indexIds: [s.id] });
    const [R, C] = loaded.views[0]!.grid;
    const all = Array.from({ length: R * C }, (_, p) => [Math.floor(p / C), p % C] as [number, number]);
    const q = await service.queryPatches({ imageId: loaded.imageId, indexId: s.id, patches: all, limit: D_SAE });
    items.push({ id: it.id, path: it.path, label: it.label, features: new Map(q.features.map((f) => [f.feature, { max: f.max, map: f.patchMap }])) });
  }
}, 300_000);

afterAll(async () => {
  await service?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** The items a feature fires on, by value desc (ties: lower id), with their values and maps. */
function firing(f: number): { id: number; path: string; label: string | null; value: number; map: number[] }[] {
  return items
    .flatMap((it) => {
      const c = it.features.get(f);
      return c && c.max > 0 ? [{ id: it.id, path: it.path, label: it.label, value: c.max, map: c.map }] : [];
    })
    .sort((a, b) => b.value - a.value || a.id - b.id);
}

/** Range of a value by plain comparisons with the written-out half-decade edges (the ends open). */
function bruteRange(v: number): number {
  let r = 0;
  for (let j = 1; j < 16; j++) if (v >= 10 ** (-4 + j / 2)) r = j;
  return r;
}

function bruteRows(f: number) {
  const byRange = new Map<number, ReturnType<typeof firing>>();
  for (const e of firing(f)) {
    const r = bruteRange(e.value);
    byRange.set(r, [...(byRange.get(r) ?? []), e]);
  }
  return [...byRange.entries()]
    .sort((a, b) => b[0] - a[0])
    .map(([r, list]) => ({
      lo: r === 0 ? 0 : 10 ** (-4 + r / 2),
      hi: r === 15 ? null : 10 ** (-4 + (r + 1) / 2),
      count: list.length,
      items: [...list]
        .sort((a, b) => sampleKey(f, a.id) - sampleKey(f, b.id) || a.id - b.id)
        .slice(0, PER_RANGE)
        .sort((a, b) => b.value - a.value || a.id - b.id),
    }));
}

/** Stored values are float16 (2^-11 relative): compare with that slack. */
const close = (got: number, want: number) => Math.abs(got - want) <= Math.abs(want) * 2e-3 + 1e-6;

/** Stored maps are quantised to 255 levels of their maximum (PATCH_MAP_MAX_ERROR of it per patch). */
function expectMap(got: readonly number[], want: readonly number[], where: string): void {
  const max = Math.max(0, ...want);
  const bad = got.flatMap((g, p) => (Math.abs(g - want[p]!) <= max * (PATCH_MAP_MAX_ERROR + 1e-5) ? [] : [`patch ${p}: ${g} vs ${want[p]}`]));
  expect(bad, where).toEqual([]);
  expect(got.length, where).toBe(want.length);
}

async function cliFeatureJson(f: number): Promise<{ rangeSamples: { lo: number; hi: number | null; count: number; items: { item: string; value: number }[] }[] | null }> {
  return JSON.parse(await runCliCaptured(['features', indexDir, '--json', '--feature', String(f)], work));
}

describe('held-out index: the index agrees with the query engine over every image', () => {
  it('top-k exemplars are the items of largest max over patches, with their maps', async () => {
    let checked = 0;
    for (let f = 0; f < D_SAE; f++) {
      const d = await service.featureDetail({ indexId: s.id, feature: f });
      const want = firing(f).slice(0, TOP_K);
      expect(d.exemplars.length, `feature ${f}`).toBe(want.length);
      d.exemplars.forEach((e, i) => {
        // Ranks follow the values: the item at rank i has the i-th largest value.
        expect(close(e.value, want[i]!.value), `feature ${f} rank ${i}: ${e.value} vs ${want[i]!.value}`).toBe(true);
        const mine = want.find((w) => w.id === e.itemId);
        expect(mine, `feature ${f}: exemplar ${e.item} is not among the brute-force top ${TOP_K}`).toBeDefined();
        expect(e.item).toBe(mine!.path);
        expectMap(e.patchMap, mine!.map, `feature ${f} ${e.item}`);
      });
      if (want.length) checked++;
    }
    expect(checked).toBeGreaterThan(D_SAE / 2);
  }, 120_000);

  it('activation-range rows: bounds, exact counts and sampled items equal the brute force; the CLI prints the same', async () => {
    let rows = 0;
    let sampledFewer = 0;
    const cliFeatures: number[] = [];
    for (let f = 0; f < D_SAE; f++) {
      const d = await service.featureDetail({ indexId: s.id, feature: f });
      const want = bruteRows(f);
      const got = d.rangeSamples!;
      expect(got, `feature ${f}`).not.toBeNull();
      expect(got.map((r) => [r.lo, r.hi, r.count]), `feature ${f}`).toEqual(
        want.map((r) => [expect.closeTo(r.lo, 12), r.hi === null ? null : expect.closeTo(r.hi, 12), r.count]),
      );
      got.forEach((row, i) => {
        const w = want[i]!;
        expect(row.items.map((e) => e.itemId), `feature ${f} range ${row.lo}`).toEqual(w.items.map((e) => e.id));
        row.items.forEach((e, j) => {
          expect(close(e.value, w.items[j]!.value)).toBe(true);
          expectMap(e.patchMap, w.items[j]!.map, `feature ${f} range ${row.lo} ${e.item}`);
        });
        if (w.count > PER_RANGE) sampledFewer++;
      });
      rows += got.length;
      if (got.length > 1 && cliFeatures.length < 3) cliFeatures.push(f);
    }
    // The check means something: many rows, several ranges that had to be sampled.
    expect(rows).toBeGreaterThan(D_SAE);
    expect(sampledFewer).toBeGreaterThan(5);
    expect(cliFeatures.length).toBe(3);
    for (const f of cliFeatures) {
      const cli = await cliFeatureJson(f);
      const want = bruteRows(f);
      expect(cli.rangeSamples!.map((r) => [r.lo, r.hi, r.count, r.items.map((e) => e.item)])).toEqual(
        want.map((r) => [expect.closeTo(r.lo, 12), r.hi === null ? null : expect.closeTo(r.hi, 12), r.count, r.items.map((e) => e.path)]),
      );
      cli.rangeSamples!.forEach((r, i) => r.items.forEach((e, j) => expect(close(e.value, want[i]!.items[j]!.value)).toBe(true)));
    }
  }, 180_000);

  it('label search ranks features by label purity among the brute-force exemplars', async () => {
    for (const label of ['harbor', 'tundra']) {
      const expected: { feature: number; count: number; n: number }[] = [];
      for (let f = 0; f < D_SAE; f++) {
        const top = firing(f).slice(0, TOP_K);
        const count = top.filter((e) => e.label === label).length;
        if (count > 0) expected.push({ feature: f, count, n: top.length });
      }
      expected.sort((a, b) => b.count / b.n - a.count / a.n || b.count - a.count || a.feature - b.feature);
      expect(expected.length).toBeGreaterThan(3);
      const r = await service.searchFeatures({ indexId: s.id, text: label, limit: 1000 });
      expect(r.labels).toEqual([label]);
      expect(r.hits.map((h) => [h.row.feature, h.labelCount, h.exemplars])).toEqual(expected.map((e) => [e.feature, e.count, e.n]));
    }
  }, 120_000);

  it('the item page lists an image\'s features by max over patches, as the query engine finds them', async () => {
    for (const it of [items[0]!, items[19]!, items[items.length - 1]!]) {
      const d = await service.itemDetail({ indexId: s.id, item: it.id });
      const want = [...it.features.entries()].filter(([, c]) => c.max > 0).sort((a, b) => b[1].max - a[1].max || a[0] - b[0]).slice(0, 64);
      expect(d.features.length).toBe(want.length);
      d.features.forEach((f, i) => {
        expect(close(f.value, want[i]![1].max), `${it.path} rank ${i}`).toBe(true);
        expect(it.features.has(f.feature)).toBe(true);
        expect(close(f.value, it.features.get(f.feature)!.max)).toBe(true);
      });
    }
  }, 60_000);
});
