// The ViT-Ti/16 (random weights) of ../shared/fixtures/vit-tiny-224 as a backbone manifest: the
// real-model benchmarks (bench:index, bench:video, bench:thumbnails) run it. Benchmarks only:
// tests never depend on ../shared.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED_VIT_TINY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/vit-tiny-224');

/** Exits with a message when the shared fixtures are not beside the repository. */
export function requireSharedVitTiny(bench: string): void {
  if (!fs.existsSync(path.join(SHARED_VIT_TINY, 'model.onnx'))) {
    console.error(`${bench} needs ${SHARED_VIT_TINY} (the shared fixtures folder beside the repository).`);
    process.exit(2);
  }
}

/** Writes the manifest (224 px, shortest-side bicubic resize, 14 x 14 patches, layer block_10) into `dir`; returns its path. */
export function writeVitTinyManifest(dir: string): string {
  const facts = JSON.parse(fs.readFileSync(path.join(SHARED_VIT_TINY, 'facts.json'), 'utf8')) as { family: string; mean: number[]; std: number[] };
  const manifestPath = path.join(dir, 'vit-tiny.json');
  fs.writeFileSync(
    manifestPath,
    JSON.stringify({
      name: 'ViT-Ti/16 (random weights)',
      family: facts.family,
      model: path.join(SHARED_VIT_TINY, 'model.onnx'),
      input: { name: 'pixel_values', size: 224, resize: 'shortest-side', resize_to: 224, interpolation: 'bicubic', crop: 224, mean: facts.mean, std: facts.std },
      tokens: { cls: true, registers: 0, patch_size: 16, grid: [14, 14] },
      layers: { block_10: 'block_10' },
    }),
  );
  return manifestPath;
}
