// Benchmark (not a test): indexer throughput against the bare ONNX forward pass on the same images.
//
//   npm run bench:index [-- --images 256 --batch 16 --provider cpu --rounds 3]
//
// Uses ../shared/fixtures/vit-tiny-224 (ViT-Ti shape, 224x224, 14x14 patches, d=192) and its
// 16x-wide SAELens TopK SAE (3072 features, k=32). Prints images/s for
//   1. bare forward: backbone + SAE encoder on pre-decoded pixel batches (no decoding, no bookkeeping),
//   2. the full indexer on the same image files (decode, forward, statistics, top-k, SQLite writes),
// and their ratio. Thumbnails are written after the pass and timed separately.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadManifest } from '../src-main/core/backbone/manifest.js';
import { BackboneSession } from '../src-main/core/backbone/backboneSession.js';
import { preprocessImage } from '../src-main/core/backbone/preprocess.js';
import { loadSae } from '../src-main/core/sae/loadSae.js';
import { SaeEncoderSession } from '../src-main/core/sae/encoderSession.js';
import { runIndex } from '../src-main/core/indexer/runIndex.js';
import type { ProviderChoice } from '../src-main/contract/index.js';
import { requireSharedVitTiny, SHARED_VIT_TINY, writeVitTinyManifest } from './lib/sharedVitTiny.js';
import { arg } from './lib/benchArgs.js';

const fixture = SHARED_VIT_TINY;

async function main() {
  requireSharedVitTiny('bench:index');
  const nImages = Number(arg('images', '256'));
  const batch = Number(arg('batch', '16'));
  const provider = arg('provider', 'cpu') as ProviderChoice;
  const rounds = Number(arg('rounds', '3'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-bench-'));

  const manifestPath = writeVitTinyManifest(work);

  // JPEGs of 256x256 with smooth random content (typical decode cost for a photo dataset).
  const data = path.join(work, 'images');
  fs.mkdirSync(data);
  for (let i = 0; i < nImages; i++) {
    const small = Buffer.alloc(8 * 8 * 3);
    for (let j = 0; j < small.length; j++) small[j] = (i * 131 + j * 71 + ((i * j) % 97)) % 256;
    await sharp(small, { raw: { width: 8, height: 8, channels: 3 } })
      .resize(256, 256, { kernel: 'cubic' })
      .jpeg({ quality: 90 })
      .toFile(path.join(data, `img_${String(i).padStart(5, '0')}.jpg`));
  }
  const files = fs.readdirSync(data).sort();

  const manifest = loadManifest(manifestPath);
  const sae = loadSae(path.join(fixture, 'sae-topk-3072'));

  // 1. Bare forward on pre-decoded batches.
  const backbone = await BackboneSession.open(manifest, 'block_10', provider);
  const encoder = await SaeEncoderSession.create(sae, provider);
  const pixelsPerImage = 3 * 224 * 224;
  const batches: { pixels: Float32Array; n: number }[] = [];
  for (let s = 0; s < files.length; s += batch) {
    const chunk = files.slice(s, s + batch);
    const pixels = new Float32Array(chunk.length * pixelsPerImage);
    for (let j = 0; j < chunk.length; j++) pixels.set((await preprocessImage(path.join(data, chunk[j]!), manifest.preprocess)).pixels, j * pixelsPerImage);
    batches.push({ pixels, n: chunk.length });
  }
  const forward = async () => {
    const t0 = performance.now();
    for (const b of batches) {
      const { tokens } = await backbone.run(b.pixels, b.n);
      await encoder.encode(tokens, b.n * 197);
    }
    return (performance.now() - t0) / 1000;
  };

  // 2. The full indexer on the same files. The pass is timed from its first batch (after the
  // sessions are open, as for the bare forward) to the start of thumbnails.
  const indexer = async (round: number) => {
    let passStart = 0;
    let passEnd = 0;
    const t1 = performance.now();
    await runIndex(
      // Eager thumbnails: the pass and the thumbnail phase are timed apart (bench:thumbnails compares the modes).
      { model: manifestPath, layer: 'block_10', sae: path.join(fixture, 'sae-topk-3072'), data, out: path.join(work, `index-${round}`), batch, provider, thumbnails: 'eager' },
      {
        onProgress: (p) => {
          if (p.phase === 'indexing' && passStart === 0) passStart = performance.now();
          if (p.phase === 'thumbnails' && passEnd === 0) passEnd = performance.now();
        },
      },
    );
    const t2 = performance.now();
    return { pass: ((passEnd || t2) - (passStart || t1)) / 1000, total: (t2 - t1) / 1000 };
  };

  // Rounds alternate the two measurements so background load hits both alike; medians are reported.
  await forward(); // warm-up
  const rows: { bare: number; pass: number; total: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const bareSec = await forward();
    const { pass, total } = await indexer(round);
    rows.push({ bare: nImages / bareSec, pass: nImages / pass, total: nImages / total });
    console.log(`round ${round + 1}: bare ${(nImages / bareSec).toFixed(1)} images/s, indexer ${(nImages / pass).toFixed(1)} images/s, ratio ${(bareSec / pass).toFixed(3)}`);
  }
  await backbone.close();
  await encoder.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`vit-tiny-224 + SAELens TopK 3072 (k=32), ${nImages} images, batch ${batch}, provider ${backbone.provider}, ${os.availableParallelism()} cores, median of ${rounds} rounds`);
  console.log(`bare forward (backbone + SAE encoder): ${median(rows.map((r) => r.bare)).toFixed(1)} images/s`);
  console.log(`indexer pass (decode + forward + stats + top-k + SQLite): ${median(rows.map((r) => r.pass)).toFixed(1)} images/s`);
  console.log(`ratio indexer / bare forward: ${median(rows.map((r) => r.pass / r.bare)).toFixed(3)}`);
  console.log(`indexer including thumbnails: ${median(rows.map((r) => r.total)).toFixed(1)} images/s`);
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
