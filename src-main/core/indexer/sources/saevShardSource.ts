import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelInfo } from '../../../contract/index.js';
import { StudioError } from '../../errors.js';
import { loadManifest, type PreprocessSpec } from '../../backbone/manifest.js';
import { readSaevShards, readShardExamples, type SaevShards } from '../../dataset/saevShards.js';
import { torchvisionImageFolder } from '../../dataset/torchvisionOrder.js';
import type { DatasetItem } from '../../store/indexWriter.js';
import type { ActivationSource, LoadedBatch } from './activationSource.js';

interface ShardBatch extends LoadedBatch {
  rows: Float32Array;
}

/**
 * saev's cached activations as the indexer's input: no backbone runs. Thumbnails come from the
 * image folder the shards were made from, matched by example order (torchvision ImageFolder), and
 * are preprocessed like the family's manifest (or the one given) so the patch grid lines up.
 */
export class SaevShardSource implements ActivationSource<ShardBatch> {
  readonly provider = 'none (cached activations)';

  private constructor(
    private readonly shards: SaevShards,
    private readonly layer: string,
    private readonly layerIdx: number,
    readonly items: DatasetItem[],
    readonly labels: string[],
    readonly imageRoot: string | null,
    readonly preprocess: PreprocessSpec | null,
  ) {}

  static open(dir: string, layer: string, images: string | null, manifestPath: string | null): SaevShardSource {
    const shards = readSaevShards(dir);
    const layerIdx = shards.layers.indexOf(String(layer));
    if (layerIdx < 0) {
      throw new StudioError('bad-input', `Layer ${layer} is not in the shards of ${shards.dir}; they hold layers ${shards.layers.join(', ')}.`);
    }
    let items: DatasetItem[];
    let labels: string[];
    let imageRoot: string | null = null;
    let preprocess: PreprocessSpec | null = null;
    if (images) {
      const folder = torchvisionImageFolder(images);
      if (folder.items.length !== shards.nEx) {
        throw new StudioError(
          'bad-input',
          `${folder.root} holds ${folder.items.length} images but the shards hold ${shards.nEx} examples; give the image folder the shards were made from.`,
        );
      }
      items = folder.items;
      labels = folder.labels;
      imageRoot = folder.root;
      preprocess = loadManifest(manifestPath ?? defaultManifestFor(shards.family)).preprocess;
    } else {
      // Items are named by example index; labels.bin (if any) labels them.
      const width = String(shards.nEx - 1).length;
      items = Array.from({ length: shards.nEx }, (_, i) => ({ path: String(i).padStart(width, '0'), label: shards.labels?.[i] ?? null }));
      labels = [...new Set(items.map((i) => i.label).filter((l): l is string => l !== null))].sort();
    }
    return new SaevShardSource(shards, String(layer), layerIdx, items, labels, imageRoot, preprocess);
  }

  get model(): ModelInfo {
    const s = this.shards;
    return {
      name: s.ckpt,
      family: s.family,
      manifestPath: '',
      modelPath: '',
      layer: this.layer,
      outputName: `saev shards layer ${this.layer}`,
      dModel: s.d,
      inputSize: 224,
      tokens: { cls: s.cls, registers: 0, patchSize: Math.round(224 / s.grid[0]), grid: s.grid },
    };
  }
  get family() {
    return this.shards.family;
  }
  get d() {
    return this.shards.d;
  }
  get hasCls() {
    return this.shards.cls;
  }
  get identity() {
    return { shards: this.shards.dir, layer: this.layer, data: this.imageRoot ?? '' };
  }

  async load(start: number, end: number): Promise<ShardBatch> {
    return { start, end, skipped: [], rows: readShardExamples(this.shards, this.layerIdx, start, end) };
  }

  async activations(batch: ShardBatch): Promise<{ rows: Float32Array; items: number[] }> {
    return { rows: batch.rows, items: Array.from({ length: batch.end - batch.start }, (_, j) => batch.start + j) };
  }

  async close(): Promise<void> {}
}

/** The shipped manifest whose preprocessing matches saev's for a model family. */
function defaultManifestFor(family: string): string {
  const dir = resourcesManifestDir();
  const file = family.toLowerCase().startsWith('dinov2') ? 'dinov2-vit-b14.json' : 'clip-vit-b16.json';
  return path.join(dir, file);
}

function resourcesManifestDir(): string {
  // src-main/core/indexer/sources → repository root; in a packaged app resources/ sits beside out/.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'resources', 'manifests');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new StudioError('internal', 'resources/manifests not found; pass --model MANIFEST to say how thumbnails are cropped.');
}
