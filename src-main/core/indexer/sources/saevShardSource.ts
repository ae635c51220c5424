import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelInfo } from '../../../contract/index.js';
import { StudioError } from '../../errors.js';
import { loadManifest, type BackboneManifest, type PreprocessSpec } from '../../backbone/manifest.js';
import { readSaevShards, readShardExamples, type SaevShards } from '../../dataset/saevShards.js';
import { torchvisionImageFolder } from '../../dataset/torchvisionOrder.js';
import { ItemListBuilder, type ItemList } from '../../dataset/packedItemList.js';
import type { ActivationSource, LoadedBatch } from './activationSource.js';

interface ShardBatch extends LoadedBatch {
  rows: Float32Array;
}

/** Families whose saev preprocessing a shipped manifest reproduces, and that manifest. */
const SHIPPED_MANIFESTS: Record<string, string> = { clip: 'clip-vit-b16.json', dinov2: 'dinov2-vit-b14.json' };

/**
 * saev's cached activations as the indexer's input: no backbone runs. Thumbnails come from the
 * image folder the shards were made from (--images, or the root saev recorded when it exists
 * here), matched by example order (torchvision ImageFolder), and are cropped like the family's
 * shipped manifest or the one given, whose grid must hold exactly the shards' patch tokens.
 */
export class SaevShardSource implements ActivationSource<ShardBatch> {
  readonly provider = 'none (cached activations)';

  private constructor(
    private readonly shards: SaevShards,
    private readonly layer: string,
    private readonly layerIdx: number,
    readonly items: ItemList,
    readonly labels: string[],
    readonly imageRoot: string | null,
    readonly preprocess: PreprocessSpec | null,
    private readonly grid: [number, number],
    private readonly manifest: BackboneManifest | null,
    /** Why the recorded image root was not used, when it was not (no --images given). */
    readonly imagesNote: string | null,
  ) {}

  /**
   * `images`: a folder, null for none, or undefined to use the root the shards recorded when it
   * exists on this machine. `manifestPath` says how thumbnails are cropped and the patch grid.
   */
  static open(dir: string, layer: string, images: string | null | undefined, manifestPath: string | null): SaevShardSource {
    const shards = readSaevShards(dir);
    const layerIdx = shards.layers.indexOf(String(layer));
    if (layerIdx < 0) {
      throw new StudioError('bad-input', `Layer ${layer} is not in the shards of ${shards.dir}; they hold layers ${shards.layers.join(', ')}.`);
    }
    const given = manifestPath ? loadManifest(manifestPath) : null;
    let imagesNote: string | null = null;
    let folderPath: string | null = images ?? null;
    if (images === undefined) {
      const found = recordedImageRoot(shards);
      folderPath = found.root;
      imagesNote = found.note;
    }
    let items: ItemList;
    let labels: string[];
    let imageRoot: string | null = null;
    let manifest = given;
    if (folderPath) {
      const folder = torchvisionImageFolder(folderPath);
      if (folder.items.length !== shards.nEx) {
        const whence = images === undefined ? ' (the root recorded in the shards\' metadata)' : '';
        throw new StudioError(
          'bad-input',
          `${folder.root}${whence} holds ${folder.items.length} images but the shards hold ${shards.nEx} examples; give --images with the image folder the shards were made from.`,
        );
      }
      manifest = given ?? loadManifest(shippedManifestFor(shards.family));
      items = folder.items;
      labels = folder.labels;
      imageRoot = folder.root;
    } else {
      // Items are named by example index; labels.bin (if any) labels them.
      const width = String(shards.nEx - 1).length;
      const numbered = new ItemListBuilder(shards.nEx, shards.nEx * width);
      for (let i = 0; i < shards.nEx; i++) numbered.push(String(i).padStart(width, '0'), shards.labels?.at(i) ?? null);
      items = numbered.finish();
      labels = items.distinctLabels();
    }
    const grid = patchGrid(shards, manifest, manifestPath);
    return new SaevShardSource(shards, String(layer), layerIdx, items, labels, imageRoot, manifest?.preprocess ?? null, grid, manifest, imagesNote);
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
      inputSize: this.manifest?.inputSize ?? 224,
      tokens: {
        cls: s.cls,
        registers: 0,
        patchSize: this.manifest?.tokens.patchSize ?? Math.round(224 / this.grid[0]),
        grid: this.grid,
      },
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
    const ids = Array.from({ length: end - start }, (_, j) => start + j);
    return { start, end, ids, skipped: [], rows: readShardExamples(this.shards, this.layerIdx, start, end) };
  }

  /** Reads each run of consecutive ids in one go (a part of a split run skips the other parts' examples). */
  async loadItems(ids: number[]): Promise<ShardBatch> {
    const runs: Float32Array[] = [];
    for (let i = 0; i < ids.length; ) {
      let j = i + 1;
      while (j < ids.length && ids[j] === ids[j - 1]! + 1) j++;
      runs.push(readShardExamples(this.shards, this.layerIdx, ids[i]!, ids[j - 1]! + 1));
      i = j;
    }
    const rows = runs.length === 1 ? runs[0]! : new Float32Array(runs.reduce((s, r) => s + r.length, 0));
    if (runs.length > 1) runs.reduce((off, r) => (rows.set(r, off), off + r.length), 0);
    return { start: ids[0] ?? 0, end: ids.length > 0 ? ids[ids.length - 1]! + 1 : 0, ids, skipped: [], rows };
  }

  async activations(batch: ShardBatch): Promise<{ rows: Float32Array; items: number[] }> {
    return { rows: batch.rows, items: batch.ids };
  }

  async close(): Promise<void> {}
}

/** The shipped manifest whose preprocessing matches saev's for a family, or a refusal naming them. */
function shippedManifestFor(family: string): string {
  const file = SHIPPED_MANIFESTS[family.toLowerCase()];
  if (!file) {
    throw new StudioError(
      'bad-input',
      `The shards come from a ${family} backbone; the studio has thumbnail preprocessing for ${Object.keys(SHIPPED_MANIFESTS).join(', ')} only. ` +
        'Pass --model MANIFEST stating how the images were resized and cropped and the patch grid (see resources/manifests/ for the format).',
    );
  }
  return path.join(resourcesManifestDir(), file);
}

/** The grid heatmaps are drawn on: the manifest's when one is in use, else the square of the count. */
function patchGrid(shards: SaevShards, manifest: BackboneManifest | null, manifestPath: string | null): [number, number] {
  const n = shards.patchesPerEx;
  if (manifest) {
    const [h, w] = manifest.tokens.grid;
    if (h * w !== n) {
      const which = manifestPath ? `The manifest ${manifestPath}` : `The shipped ${shards.family} manifest (${manifest.name})`;
      throw new StudioError(
        'bad-input',
        `${which} has a ${h}x${w} patch grid (${h * w} patches) but the shards hold ${n} patch tokens per example; pass --model with the manifest of the backbone the shards were made with (${shards.ckpt}).`,
      );
    }
    return [h, w];
  }
  if (!shards.grid) {
    throw new StudioError(
      'bad-input',
      `The shards hold ${n} patch tokens per example (${shards.family}), which is not a square grid, and saev's metadata does not record the grid's rows and columns ` +
        `(its dinov3 shards pick each image's grid from its aspect ratio and do not keep it), so the studio cannot place the patches for heatmaps. ` +
        `Write shards with a square patch count (e.g. ${Math.round(Math.sqrt(n)) ** 2}), or give --model with a manifest whose grid holds ${n} patches if the grid is square after all.`,
    );
  }
  return shards.grid;
}

/**
 * The image folder saev recorded (metadata `dataset`, or the root inside `data`), when it is an
 * ImgFolder dataset that exists on this machine; otherwise null and why.
 */
function recordedImageRoot(shards: SaevShards): { root: string | null; note: string | null } {
  const { cls, root, problem } = shards.dataset;
  if (problem) return { root: null, note: problem };
  if (cls && cls !== 'ImgFolder') return { root: null, note: `saev's ${cls} dataset is not an image folder the studio maps to examples; give --images to name items by file` };
  if (!root) return { root: null, note: 'the shards record no image root' };
  if (!path.isAbsolute(root) || !fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    return { root: null, note: `the recorded image root ${root} is not a folder on this machine; give --images` };
  }
  return { root, note: null };
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
