// Benchmark (not a test): a full-size ViT-B/16 CLIP vision tower, exported by
// scripts/export_backbone.py with random weights (--config: no download), indexed by the studio;
// indexer throughput against the bare ONNX forward pass on the same images, as bench-index.ts
// measures it for the small ViT-Ti fixture.
//
//   npm run bench:vitb [-- --images 64 --batch 8 --provider cpu --rounds 3 --keep DIR]
//
// Needs python3 with torch and transformers. The SAE is a random SAELens TopK SAE, 8x wide
// (6,144 features, k=32) on block_10 (saev's layers=[-2]). Prints images/s for
//   1. bare forward: backbone + SAE encoder on pre-decoded pixel batches,
//   2. the full indexer on the same JPEGs (decode, forward, statistics, top-k, SQLite writes),
// and their ratio; rounds alternate the two and medians are reported.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { ProviderChoice } from '../src-main/contract/index.js';
import { BackboneSession } from '../src-main/core/backbone/backboneSession.js';
import { loadManifest } from '../src-main/core/backbone/manifest.js';
import { preprocessImage } from '../src-main/core/backbone/preprocess.js';
import { runIndex } from '../src-main/core/indexer/runIndex.js';
import { SaeEncoderSession } from '../src-main/core/sae/encoderSession.js';
import { loadSae } from '../src-main/core/sae/loadSae.js';
import { makeSae } from '../tests/helpers/makeSae.js';
import { arg } from './lib/benchArgs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// openai/clip-vit-base-patch16's vision config (transformers' CLIPVisionConfig fields).
const VIT_B16 = {
  model_type: 'clip_vision_model',
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  image_size: 224,
  patch_size: 16,
  projection_dim: 512,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
};

function exportVitB(out: string): number {
  fs.mkdirSync(out, { recursive: true });
  const config = path.join(out, 'config.json');
  fs.writeFileSync(config, JSON.stringify(VIT_B16));
  const t0 = performance.now();
  const r = spawnSync(process.env.PYTHON ?? 'python3', ['scripts/export_backbone.py', 'clip-vit-b16', '--config', config, '--blocks=-2', '--out', out, '--no-check'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`export_backbone.py failed (${r.error?.message ?? `exit ${r.status}`}); it needs python3 with torch and transformers`);
  return (performance.now() - t0) / 1000;
}

async function main() {
  const nImages = Number(arg('images', '64'));
  const batch = Number(arg('batch', '8'));
  const provider = arg('provider', 'cpu') as ProviderChoice;
  const rounds = Number(arg('rounds', '3'));
  const keep = process.argv.includes('--keep') ? path.resolve(arg('keep', '')) : null;
  const work = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'studio-bench-vitb-'));

  const exportDir = path.join(work, 'clip-vit-b16');
  const manifestPath = path.join(exportDir, 'manifest.json');
  if (!fs.existsSync(manifestPath)) console.log(`export: ${exportVitB(exportDir).toFixed(1)} s`);
  const manifest = loadManifest(manifestPath);
  const layer = 'block_10';
  const mb = fs.statSync(manifest.modelPath).size / 1e6;
  console.log(`model.onnx ${mb.toFixed(0)} MB, layers ${Object.keys(manifest.layers).join(', ')}`);

  const saeDir = makeSae(path.join(work, 'sae'), { dIn: 768, dSae: 6144, architecture: 'topk', k: 32, seed: 7 });

  // JPEGs of 256x256 with smooth random content, as in bench-index.ts.
  const data = path.join(work, 'images');
  fs.rmSync(data, { recursive: true, force: true });
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

  // 1. Bare forward on pre-decoded batches.
  const sae = loadSae(saeDir);
  const backbone = await BackboneSession.open(manifest, layer, provider);
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
      const { tokens, T } = await backbone.run(b.pixels, b.n);
      await encoder.encode(tokens, b.n * T);
    }
    return (performance.now() - t0) / 1000;
  };

  // 2. The full indexer on the same files, timed from its first batch to the start of thumbnails.
  const indexer = async (round: number) => {
    let passStart = 0;
    let passEnd = 0;
    const t1 = performance.now();
    await runIndex(
      { model: manifestPath, layer, sae: saeDir, data, out: path.join(work, `index-${round}`), batch, provider },
      {
        onProgress: (p) => {
          if (p.phase === 'indexing' && passStart === 0) passStart = performance.now();
          if (p.phase === 'thumbnails' && passEnd === 0) passEnd = performance.now();
        },
      },
    );
    const t2 = performance.now();
    fs.rmSync(path.join(work, `index-${round}`), { recursive: true, force: true });
    return { pass: ((passEnd || t2) - (passStart || t1)) / 1000, total: (t2 - t1) / 1000 };
  };

  await forward(); // warm-up
  const rows: { bare: number; pass: number; total: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const bareSec = await forward();
    const { pass, total } = await indexer(round);
    rows.push({ bare: nImages / bareSec, pass: nImages / pass, total: nImages / total });
    console.log(`round ${round + 1}: bare ${(nImages / bareSec).toFixed(2)} images/s, indexer ${(nImages / pass).toFixed(2)} images/s, ratio ${(bareSec / pass).toFixed(3)}`);
  }
  await backbone.close();
  await encoder.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`CLIP ViT-B/16 (random weights, export_backbone.py) block_10 + SAELens TopK 6144 (k=32), ${nImages} images, batch ${batch}, provider ${backbone.provider}, ${os.availableParallelism()} cores, median of ${rounds} rounds`);
  console.log(`bare forward (backbone + SAE encoder): ${median(rows.map((r) => r.bare)).toFixed(2)} images/s`);
  console.log(`indexer pass (decode + forward + stats + top-k + SQLite): ${median(rows.map((r) => r.pass)).toFixed(2)} images/s`);
  console.log(`ratio indexer / bare forward: ${median(rows.map((r) => r.pass / r.bare)).toFixed(3)}`);
  console.log(`indexer including thumbnails: ${median(rows.map((r) => r.total)).toFixed(2)} images/s`);
  if (!keep) fs.rmSync(work, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
