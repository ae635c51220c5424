// Benchmark (not a test): the host-loop time of a search for a category word ("scene"), which
// asks the suggestion rule about every live feature.
//
//   npm run bench:search [-- --features 4096 --per-label 24]
//
// Builds a real index (toy ViT, a TopK SAE of --features features, 5 labelled classes) and times,
// on the same index: the scan as searchFeatures did it before (featureDetail of every live
// feature, then the rule), the one-pass scan now (suggestedCategories on a fresh reader: the first
// search after opening), and a repeated search (the result kept per reader); then a first search
// through the service, whose scan runs in the analysis worker, with the host event loop's longest
// stall during it (the first three hold the loop for their whole time).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createStudioService } from '../src-main/core/service.js';
import { runIndex } from '../src-main/core/indexer/runIndex.js';
import { IndexReader } from '../src-main/core/store/indexReader.js';
import { searchFeatures } from '../src-main/core/store/featureSearch.js';
import { suggestedCategories } from '../src-main/core/store/suggestedCategories.js';
import { suggestCategory } from '../src-main/core/tags/suggestCategory.js';
import { makeTinyVit } from '../tests/helpers/makeTinyVit.js';
import { makeSae } from '../tests/helpers/makeSae.js';
import { makeImageFolder } from '../tests/helpers/makeImageFolder.js';

const { values } = parseArgs({ options: { features: { type: 'string', default: '4096' }, 'per-label': { type: 'string', default: '24' } } });
const dSae = Number(values.features);
const perLabel = Number(values['per-label']);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-bench-search-'));
try {
  const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 96, patchSize: 16, dModel: 24, cls: true, seed: 21, family: 'clip' });
  const sae = makeSae(path.join(work, 'sae'), { dIn: 24, dSae, architecture: 'topk', k: 32, seed: 8, format: 'safetensors' });
  const data = await makeImageFolder(path.join(work, 'data'), { labels: ['beach', 'desert', 'forest', 'ocean', 'snow'], perLabel, width: 120, height: 108, seed: 4 });
  const out = path.join(work, 'index');
  let t = performance.now();
  await runIndex({ model: vit.manifestPath, layer: 'block_1', sae, data: data.dir, out, topK: 16, batch: 8, provider: 'cpu' }, { checkpointIntervalMs: 0 });
  console.log(`index: ${dSae} features, ${perLabel * 5} images, built in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const time = (fn: () => void, runs = 3): number => {
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      fn();
      ms.push(performance.now() - t0);
    }
    return Math.min(...ms);
  };

  // Before: what searchFeatures did for a category word.
  const before = IndexReader.open('bench-before', out);
  const live = before.db.prepare('SELECT feature FROM exemplars WHERE n > 0 ORDER BY feature').pluck().all() as number[];
  let beforeScene = 0;
  const beforeMs = time(() => {
    beforeScene = 0;
    for (const f of live) {
      const d = before.featureDetail(f);
      const s = suggestCategory({ feature: f, exemplars: d.exemplars, upper: d.upper, temporal: d.row.switchRate != null ? { switchRate: d.row.switchRate } : null });
      if (s.category === 'object') beforeScene++;
    }
  });
  before.close();

  // Now, first search on a reader (nothing kept yet): a fresh reader per run.
  let nowScene = 0;
  const firstMs = time(() => {
    const r = IndexReader.open('bench-first', out);
    nowScene = [...suggestedCategories(r).values()].filter((c) => c === 'object').length;
    r.close();
  });
  // Now, a whole search for the word, repeated on an open reader (the kept result).
  const reader = IndexReader.open('bench-now', out);
  searchFeatures(reader, { text: 'object', limit: 50 });
  const repeatMs = time(() => void searchFeatures(reader, { text: 'object', limit: 50 }), 5);
  reader.close();

  // Through the service (what the app does): the scan runs in the analysis worker. The host's
  // event loop is sampled meanwhile; its longest stall is how long the window would freeze.
  const service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
  const id = (await service.openIndex({ path: out })).id;
  await service.similarFeatures({ indexId: id, feature: 0, limit: 1 }); // starts the worker, so its start-up is not timed
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  t = performance.now();
  const viaWorker = await service.searchFeatures({ indexId: id, text: 'object', limit: 50 });
  const serviceMs = performance.now() - t;
  loop.disable();
  await service.close();
  if (viaWorker.total < nowScene) throw new Error(`the service found ${viaWorker.total} features, fewer than the ${nowScene} suggested`);

  if (nowScene !== beforeScene) throw new Error(`the scans disagree: ${beforeScene} vs ${nowScene} object features`);
  console.log(`live features: ${live.length}; suggested "object": ${nowScene} (both scans agree)`);
  console.log(`before (featureDetail per feature):   ${beforeMs.toFixed(0).padStart(6)} ms`);
  console.log(`now, first search on a reader:        ${firstMs.toFixed(0).padStart(6)} ms   (${(beforeMs / firstMs).toFixed(1)}x faster)`);
  console.log(`now, repeated search (kept result):   ${repeatMs.toFixed(1).padStart(6)} ms   (${(beforeMs / repeatMs).toFixed(0)}x faster)`);
  console.log(`service, first search (worker scan):  ${serviceMs.toFixed(0).padStart(6)} ms wall; host event loop's longest stall ${(loop.max / 1e6).toFixed(0)} ms (before: the whole scan, ${beforeMs.toFixed(0)} ms)`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
