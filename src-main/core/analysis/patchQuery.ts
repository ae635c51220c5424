// "Ask from an image" (saev's observe step): run an image through an index's backbone layer and
// SAE once, keep every patch's sparse code, and rank features by their activation summed over
// any selection of patches. Sessions stay open between images; a few recent images are cached.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { PatchFeature, ProviderChoice, QueryImageView } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import { loadManifest, type BackboneManifest } from '../backbone/manifest.js';
import { BackboneSession } from '../backbone/backboneSession.js';
import { centreCropOffset, preprocessImage, resizedSize } from '../backbone/preprocess.js';
import { loadSae } from '../sae/loadSae.js';
import { SaeEncoderSession, type SparseCodes } from '../sae/encoderSession.js';
import type { IndexConfig } from '../store/indexConfig.js';

/** What the engine needs of an index: its id, name and configuration. */
export interface QueryIndex {
  indexId: string;
  name: string;
  config: IndexConfig;
}

interface Models {
  manifest: BackboneManifest;
  backbone: BackboneSession;
  encoder: SaeEncoderSession;
}

interface ImageCodes {
  grid: [number, number];
  codes: SparseCodes;
}

interface CachedImage {
  name: string;
  bytes: Buffer;
  sourceWidth: number;
  sourceHeight: number;
  perIndex: Map<string, ImageCodes>;
}

const MAX_IMAGES = 4;

/** Ranks features by summed (weighted) activation over the selected patch rows of `codes`. */
export function rankPatchFeatures(codes: SparseCodes, rows: number[], weights: number[] | null, limit: number): PatchFeature[] {
  const sum = new Map<number, { value: number; max: number }>();
  rows.forEach((r, i) => {
    const w = weights ? weights[i]! : 1;
    if (!(w > 0)) return;
    for (let e = codes.rowPtr[r]!; e < codes.rowPtr[r + 1]!; e++) {
      const f = codes.feature[e]!;
      const v = codes.value[e]!;
      const s = sum.get(f);
      if (s) {
        s.value += w * v;
        if (v > s.max) s.max = v;
      } else sum.set(f, { value: w * v, max: v });
    }
  });
  const top = [...sum]
    .map(([feature, s]) => ({ feature, value: s.value, max: s.max, patchMap: new Array<number>(codes.rows).fill(0) }))
    .sort((a, b) => b.value - a.value || a.feature - b.feature)
    .slice(0, limit);
  // Each returned feature's map over the whole image, so the view can show where else it fires.
  const slot = new Map(top.map((t, i) => [t.feature, i]));
  for (let r = 0; r < codes.rows; r++) {
    for (let e = codes.rowPtr[r]!; e < codes.rowPtr[r + 1]!; e++) {
      const i = slot.get(codes.feature[e]!);
      if (i !== undefined) top[i]!.patchMap[r] = codes.value[e]!;
    }
  }
  return top;
}

/** The model's crop of the source image, in source fractions [x0, y0, x1, y1]. */
export function cropFractions(width: number, height: number, manifest: BackboneManifest): [number, number, number, number] {
  const spec = manifest.preprocess;
  const t = resizedSize(width, height, spec);
  const left = centreCropOffset(t.width, spec.crop);
  const top = centreCropOffset(t.height, spec.crop);
  return [left / t.width, top / t.height, (left + spec.crop) / t.width, (top + spec.crop) / t.height];
}

export class PatchQueryEngine {
  private readonly models = new Map<string, Promise<Models>>();
  private readonly images = new Map<string, CachedImage>();

  constructor(private readonly provider: ProviderChoice = 'auto') {}

  private modelsFor(ix: QueryIndex): Promise<Models> {
    const req = ix.config.request;
    if (!req.model) {
      throw new StudioError(
        'bad-input',
        `${ix.name} was built from cached activations without a backbone manifest, so it cannot run new images. Index the images with --model to query them.`,
      );
    }
    const norm = ix.config.sae.normalization;
    const key = `${req.model}|${req.layer}|${req.sae}|${norm.mode}|${norm.scale}`;
    let m = this.models.get(key);
    if (!m) {
      m = (async () => {
        try {
          return await this.openModels(req, norm);
        } catch (err) {
          if (err instanceof StudioError) throw err;
          throw new StudioError(
            'bad-input',
            `Cannot run ${ix.name}'s backbone and SAE on a new image: ${(err as Error).message}. The index records the manifest ${req.model} and SAE ${req.sae}; they must still be at those paths on this machine.`,
          );
        }
      })();
      m.catch(() => this.models.delete(key));
      this.models.set(key, m);
    }
    return m;
  }

  private async openModels(req: Record<string, string>, norm: IndexConfig['sae']['normalization']): Promise<Models> {
    const manifest = loadManifest(req.model!);
    const sae = loadSae(req.sae!);
    // Indexes record the normalisation they ran with (a user override included).
    if (sae.normalization.mode !== norm.mode || sae.normalization.scale !== norm.scale) {
      sae.normalization = { mode: norm.mode, mean: norm.mode === 'scale' ? sae.normalization.mean : null, scale: norm.mode === 'scale' ? norm.scale : null };
    }
    const backbone = await BackboneSession.open(manifest, req.layer!, this.provider);
    const encoder = await SaeEncoderSession.create(sae, this.provider);
    return { manifest, backbone, encoder };
  }

  /** Runs the image through every index's models; returns the id to query it by and each model's view. */
  async load(bytes: Buffer, name: string, indexes: QueryIndex[]): Promise<{ imageId: string; name: string; sourceWidth: number; sourceHeight: number; views: QueryImageView[] }> {
    const imageId = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    let img = this.images.get(imageId);
    if (!img) {
      const meta = await sharp(bytes, { autoOrient: true })
        .metadata()
        .catch((err: Error) => {
          throw new StudioError('bad-input', `Cannot read ${name} as an image: ${err.message}`);
        });
      img = { name, bytes, sourceWidth: meta.autoOrient?.width ?? meta.width ?? 0, sourceHeight: meta.autoOrient?.height ?? meta.height ?? 0, perIndex: new Map() };
    }
    this.images.delete(imageId);
    this.images.set(imageId, img);
    while (this.images.size > MAX_IMAGES) this.images.delete(this.images.keys().next().value!);
    const views: QueryImageView[] = [];
    for (const ix of indexes) {
      const { manifest, backbone, encoder } = await this.modelsFor(ix);
      let pre;
      try {
        pre = await preprocessImage(img.bytes, manifest.preprocess, name);
      } catch (err) {
        throw new StudioError('bad-input', (err as Error).message);
      }
      img.sourceWidth = pre.sourceWidth;
      img.sourceHeight = pre.sourceHeight;
      if (!img.perIndex.has(ix.indexId)) {
        const { tokens, d } = await backbone.run(pre.pixels, 1);
        const layout = backbone.layout;
        const rows = tokens.subarray(layout.patchOffset * d, (layout.patchOffset + layout.patches) * d);
        const codes = await encoder.encode(rows, layout.patches);
        img.perIndex.set(ix.indexId, { grid: [layout.grid[0], layout.grid[1]], codes });
      }
      const S = manifest.preprocess.crop;
      const png = await sharp(pre.rgb, { raw: { width: S, height: S, channels: 3 } }).png().toBuffer();
      views.push({
        indexId: ix.indexId,
        name: ix.name,
        grid: img.perIndex.get(ix.indexId)!.grid,
        preview: `data:image/png;base64,${png.toString('base64')}`,
        crop: cropFractions(pre.sourceWidth, pre.sourceHeight, manifest),
      });
    }
    return { imageId, name, sourceWidth: img.sourceWidth, sourceHeight: img.sourceHeight, views };
  }

  query(imageId: string, indexId: string, patches: [number, number][], weights: number[] | null, limit: number): PatchFeature[] {
    const img = this.images.get(imageId);
    if (!img) throw new StudioError('not-found', 'That image is no longer loaded (only the last few are kept). Open it again.');
    const c = img.perIndex.get(indexId);
    if (!c) throw new StudioError('not-found', 'That image was not run through this index\'s model. Open it again with this index selected.');
    const [R, C] = c.grid;
    const rows: number[] = [];
    for (const p of patches) {
      if (!Array.isArray(p) || !Number.isInteger(p[0]) || !Number.isInteger(p[1]) || p[0] < 0 || p[1] < 0 || p[0] >= R || p[1] >= C) {
        throw new StudioError('bad-request', `Patch ${JSON.stringify(p)} is outside the ${R}x${C} grid (rows and columns from 0).`);
      }
      rows.push(p[0] * C + p[1]);
    }
    if (weights && weights.length !== rows.length) throw new StudioError('bad-request', 'Give one weight per patch.');
    return rankPatchFeatures(c.codes, rows, weights, limit);
  }

  async close(): Promise<void> {
    for (const m of this.models.values()) {
      try {
        const x = await m;
        await x.backbone.close();
        await x.encoder.close();
      } catch {
        // failed to open: nothing to close
      }
    }
    this.models.clear();
    this.images.clear();
  }
}
