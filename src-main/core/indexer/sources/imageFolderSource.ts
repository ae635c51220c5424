import path from 'node:path';
import type { ProviderChoice } from '../../../contract/index.js';
import { StudioError } from '../../errors.js';
import { layerOutputName, loadManifest, modelInfo, type BackboneManifest } from '../../backbone/manifest.js';
import { BackboneSession } from '../../backbone/backboneSession.js';
import { preprocessImage } from '../../backbone/preprocess.js';
import { scanImageFolder, type ImageFolder } from '../../dataset/scanImageFolder.js';
import type { ActivationSource, LoadedBatch } from './activationSource.js';
import { asInputError, toInputError } from './inputErrors.js';

interface DecodedBatch extends LoadedBatch {
  good: { item: number; pixels: Float32Array }[];
}

/** Images decoded with sharp and run through the manifest's ONNX backbone at one layer. */
export class ImageFolderSource implements ActivationSource<DecodedBatch> {
  readonly imageRoot: string;
  private rows = new Float32Array(0);

  private constructor(
    private readonly manifest: BackboneManifest,
    private readonly layer: string,
    private readonly outputName: string,
    private readonly dataset: ImageFolder,
    private readonly backbone: BackboneSession,
  ) {
    this.imageRoot = dataset.root;
  }

  static async open(model: string, layer: string, data: string, provider: ProviderChoice): Promise<ImageFolderSource> {
    const manifest = asInputError(() => loadManifest(model));
    const outputName = asInputError(() => layerOutputName(manifest, layer));
    const dataset = scanImageFolder(data);
    let backbone: BackboneSession;
    try {
      backbone = await BackboneSession.open(manifest, layer, provider);
    } catch (err) {
      throw toInputError(err);
    }
    return new ImageFolderSource(manifest, layer, outputName, dataset, backbone);
  }

  get items() {
    return this.dataset.items;
  }
  get labels() {
    return this.dataset.labels;
  }
  get preprocess() {
    return this.manifest.preprocess;
  }
  get model() {
    return { ...modelInfo(this.manifest, this.layer, this.backbone.d), outputName: this.outputName };
  }
  get family() {
    return this.manifest.family;
  }
  get d() {
    return this.backbone.d;
  }
  get hasCls() {
    return this.manifest.tokens.cls;
  }
  get provider() {
    return this.backbone.provider;
  }
  get identity() {
    return { model: this.manifest.manifestPath, layer: this.layer, data: this.dataset.root };
  }

  load(start: number, end: number): Promise<DecodedBatch> {
    return this.loadItems(Array.from({ length: end - start }, (_, j) => start + j));
  }

  async loadItems(ids: number[]): Promise<DecodedBatch> {
    const jobs: Promise<{ item: number; pixels: Float32Array | null; reason: string }>[] = [];
    for (const i of ids) {
      jobs.push(
        preprocessImage(path.join(this.dataset.root, this.dataset.items.path(i)), this.manifest.preprocess).then(
          (r) => ({ item: i, pixels: r.pixels, reason: '' }),
          (err: unknown) => ({ item: i, pixels: null, reason: err instanceof Error ? err.message : String(err) }),
        ),
      );
    }
    const results = await Promise.all(jobs);
    return {
      start: ids[0] ?? 0,
      end: ids.length > 0 ? ids[ids.length - 1]! + 1 : 0,
      ids,
      good: results.filter((r) => r.pixels !== null) as { item: number; pixels: Float32Array }[],
      skipped: results.filter((r) => r.pixels === null).map((r) => ({ item: r.item, reason: r.reason })),
    };
  }

  async activations(batch: DecodedBatch): Promise<{ rows: Float32Array; items: number[] }> {
    const good = batch.good;
    if (good.length === 0) return { rows: new Float32Array(0), items: [] };
    const layout = this.manifest.tokens;
    const patches = layout.grid[0] * layout.grid[1];
    const hasCls = layout.cls;
    const perPixels = good[0]!.pixels.length;
    const pixels = new Float32Array(good.length * perPixels);
    good.forEach((r, j) => pixels.set(r.pixels, j * perPixels));
    const { tokens, T, d } = await this.backbone.run(pixels, good.length);
    const tokensPerItem = (hasCls ? 1 : 0) + layout.registers + patches;
    if (T !== tokensPerItem) {
      throw new StudioError('bad-input', `${this.manifest.name} produced ${T} tokens per image at ${this.layer}; its manifest declares ${tokensPerItem}.`);
    }
    const rowsPerItem = patches + (hasCls ? 1 : 0);
    const needed = good.length * rowsPerItem * d;
    if (layout.registers === 0) return { rows: tokens.subarray(0, needed), items: good.map((g) => g.item) };
    // Drop register tokens: CLS, then the patches.
    if (this.rows.length < needed) this.rows = new Float32Array(needed);
    for (let j = 0; j < good.length; j++) {
      const src = j * tokensPerItem * d;
      const dst = j * rowsPerItem * d;
      if (hasCls) this.rows.set(tokens.subarray(src, src + d), dst);
      const pStart = src + ((hasCls ? 1 : 0) + layout.registers) * d;
      this.rows.set(tokens.subarray(pStart, pStart + patches * d), dst + (hasCls ? d : 0));
    }
    return { rows: this.rows.subarray(0, needed), items: good.map((g) => g.item) };
  }

  close(): Promise<void> {
    return this.backbone.close();
  }
}
