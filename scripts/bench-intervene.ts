// Benchmark (not a test): interventions per second on one image against one bare forward pass.
//
//   node --import tsx scripts/bench-intervene.ts [--runs 50 --provider cpu]
//
// ViT-Ti-shaped fixture (../shared/fixtures/vit-tiny-224), its 3072-wide TopK SAE at block_10,
// a random 1000-class linear head on last_hidden_state's CLS token. An intervention re-runs only
// the tail of the network after the SAE's layer (the image's activations are kept), so it should
// beat a whole forward pass by about the share of blocks before the layer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { Intervener } from '../src-main/core/intervene/intervener.js';
import { loadManifest } from '../src-main/core/backbone/manifest.js';
import { preprocessImage } from '../src-main/core/backbone/preprocess.js';
import { writeSafetensors } from '../src-main/core/sae/safetensors.js';
import { arg } from './lib/benchArgs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.resolve(here, '../../shared/fixtures/vit-tiny-224');
async function main() {
  if (!fs.existsSync(path.join(fixture, 'model.onnx'))) {
    console.error(`bench:intervene needs ${fixture} (the shared fixtures folder beside the repository).`);
    process.exit(2);
  }
  const runs = Number(arg('runs', '50'));
  const provider = arg('provider', 'cpu') as 'cpu';
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-bench-iv-'));
  const facts = JSON.parse(fs.readFileSync(path.join(fixture, 'facts.json'), 'utf8'));
  const manifestPath = path.join(work, 'vit.json');
  fs.writeFileSync(
    manifestPath,
    JSON.stringify({
      name: 'ViT-Ti/16 (random weights)',
      family: 'clip',
      model: path.join(fixture, 'model.onnx'),
      input: { name: 'pixel_values', size: 224, resize: 'shortest-side', resize_to: 224, interpolation: 'bicubic', crop: 224, mean: facts.mean, std: facts.std },
      tokens: { cls: true, registers: 0, patch_size: 16, grid: [14, 14] },
      layers: { block_10: 'block_10', last_hidden_state: 'last_hidden_state' },
    }),
  );
  const headDir = path.join(work, 'head');
  fs.mkdirSync(headDir);
  const C = 1000;
  writeSafetensors(path.join(headDir, 'head.safetensors'), {
    weight: { shape: [C, 192], data: Float32Array.from({ length: C * 192 }, (_, i) => Math.sin(i) * 0.05) },
    bias: { shape: [C], data: new Float32Array(C) },
  });
  fs.writeFileSync(path.join(headDir, 'head.json'), JSON.stringify({ task: 'classification', input: 'last_hidden_state' }));
  const image = path.join(work, 'image.jpg');
  const small = Buffer.from(Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 37) % 256));
  await sharp(small, { raw: { width: 8, height: 8, channels: 3 } }).resize(256, 256).jpeg().toFile(image);

  const iv = await Intervener.open({ model: manifestPath, layer: 'block_10', sae: path.join(fixture, 'sae-topk-3072'), head: headDir, provider });
  await iv.setImage(image);
  await iv.run([{ feature: 1, value: 0 }], null); // warm-up
  let t0 = performance.now();
  for (let i = 0; i < runs; i++) await iv.run([{ feature: i % 3072, value: (i % 5) - 2 }, { feature: (i * 7) % 3072, value: 0 }], null);
  const ivPerSec = runs / ((performance.now() - t0) / 1000);
  await iv.close();

  const m = loadManifest(manifestPath);
  const { pixels } = await preprocessImage(image, m.preprocess);
  const full = await ort.InferenceSession.create(m.modelPath, { executionProviders: [provider], intraOpNumThreads: os.availableParallelism() });
  const feed = { pixel_values: new ort.Tensor('float32', pixels, [1, 3, 224, 224]) };
  await full.run(feed, ['last_hidden_state']);
  t0 = performance.now();
  for (let i = 0; i < runs; i++) await full.run(feed, ['last_hidden_state']);
  const fwdPerSec = runs / ((performance.now() - t0) / 1000);
  console.log(`vit-tiny-224, SAE TopK 3072 at block_10, 1000-class head, ${runs} runs, provider ${provider}, ${os.availableParallelism()} cores`);
  console.log(`interventions (edit 2 features on all 196 patches, tail + head): ${ivPerSec.toFixed(1)} /s`);
  console.log(`bare forward of one image (whole network): ${fwdPerSec.toFixed(1)} /s`);
  console.log(`ratio: ${(ivPerSec / fwdPerSec).toFixed(2)}`);
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
