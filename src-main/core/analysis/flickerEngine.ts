// The flicker view's engine, run in the analysis worker: decode a clip, run every frame
// through an index's backbone layer once, encode it with one or more SAEs that read that layer,
// and keep each SAE's per-frame sparse codes so feature maps, traces, per-clip temporal statistics
// and cross-SAE correlations are answered without running the models again. Sessions stay open
// between clips (like the patch query engine); the last few clips are cached.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import sharp from 'sharp';
import type { FlickerFeature, ClipSampling, ClosestFeature, OpenClip, ProviderChoice } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import { loadManifest, type BackboneManifest } from '../backbone/manifest.js';
import { BackboneSession } from '../backbone/backboneSession.js';
import { VideoBackboneSession } from '../backbone/videoBackboneSession.js';
import { preprocessRawRgb } from '../backbone/preprocess.js';
import { loadSae } from '../sae/loadSae.js';
import { SaeEncoderSession, type SparseCodes } from '../sae/encoderSession.js';
import { readClip } from '../video/frameSources.js';
import { TemporalAccumulator, pearson } from '../temporal/temporalStats.js';
import type { QueryIndex } from './patchQuery.js';
import type { IndexConfig } from '../store/indexConfig.js';

/** A per-frame image backbone, or a clip (tubelet) backbone that sees the whole clip at once. */
type Backbone = { manifest: BackboneManifest; session: BackboneSession; clip: null } | { manifest: BackboneManifest; session: null; clip: VideoBackboneSession };

interface ClipSae {
  indexId: string;
  name: string;
  features: number;
  /** codes[t]: the frame's patch rows (P rows). */
  codes: SparseCodes[];
  /** Per-clip statistics over every feature (computed on first use). */
  stats: { autocorrelation: Float64Array; switchRate: Float64Array } | null;
}

interface CachedClip {
  clip: OpenClip;
  patches: number;
  /** Patch activations of every frame at the backbone layer, [T × P, d]. */
  rows: Float32Array;
  d: number;
  saes: Map<string, ClipSae>;
}

const MAX_CLIPS = 3;
/** Frames per backbone batch. */
const BATCH = 8;
/** Features per SAE listed with an open clip (the pickers filter them by group level). */
const TOP = 200;

function backboneKey(config: IndexConfig): string {
  return `${config.request.model}|${config.request.layer}`;
}

/** Dense [T][P] map of one feature from per-frame sparse codes. */
export function featureMaps(codes: SparseCodes[], feature: number, patches: number): number[][] {
  return codes.map((c) => {
    const map = new Array<number>(patches).fill(0);
    for (let r = 0; r < patches; r++) {
      // Features ascend within a row: binary search.
      let lo = c.rowPtr[r]!;
      let hi = c.rowPtr[r + 1]! - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const f = c.feature[mid]!;
        if (f === feature) {
          map[r] = c.value[mid]!;
          break;
        }
        if (f < feature) lo = mid + 1;
        else hi = mid - 1;
      }
    }
    return map;
  });
}

/** Features of `codes` ranked by Pearson correlation with `x` (flattened [T][P]) over every (t, p). */
export function closestByCorrelation(x: number[][], codes: SparseCodes[], patches: number, limit: number, maxFeature: number | null): ClosestFeature[] {
  const T = x.length;
  const n = T * patches;
  let sx = 0;
  let sxx = 0;
  for (const row of x) for (const v of row) {
    sx += v;
    sxx += v * v;
  }
  const acc = new Map<number, { sy: number; syy: number; sxy: number; max: number }>();
  for (let t = 0; t < T; t++) {
    const c = codes[t]!;
    const xr = x[t]!;
    for (let p = 0; p < patches; p++) {
      for (let e = c.rowPtr[p]!; e < c.rowPtr[p + 1]!; e++) {
        const f = c.feature[e]!;
        if (maxFeature !== null && f >= maxFeature) continue;
        const y = c.value[e]!;
        let a = acc.get(f);
        if (!a) acc.set(f, (a = { sy: 0, syy: 0, sxy: 0, max: 0 }));
        a.sy += y;
        a.syy += y * y;
        a.sxy += xr[p]! * y;
        if (y > a.max) a.max = y;
      }
    }
  }
  const out: ClosestFeature[] = [];
  for (const [index, a] of acc) {
    const r = pearson(n, sx, a.sy, sxx, a.syy, a.sxy);
    if (!Number.isNaN(r)) out.push({ feature: index, correlation: r, max: a.max });
  }
  return out.sort((a, b) => b.correlation - a.correlation || a.feature - b.feature).slice(0, limit);
}

/** Strongest features over a clip (max over frames and patches), all of them when limit is Infinity. */
export function topFeatures(codes: SparseCodes[], limit: number): { feature: number; max: number }[] {
  const max = new Map<number, number>();
  for (const c of codes) {
    for (let e = 0; e < c.rowPtr[c.rows]!; e++) {
      const f = c.feature[e]!;
      const v = c.value[e]!;
      if (v > (max.get(f) ?? 0)) max.set(f, v);
    }
  }
  return [...max]
    .map(([feature, m]) => ({ feature, max: m }))
    .sort((a, b) => b.max - a.max || a.feature - b.feature)
    .slice(0, limit);
}

export class FlickerEngine {
  private readonly backbones = new Map<string, Promise<Backbone>>();
  private readonly encoders = new Map<string, Promise<SaeEncoderSession>>();
  private readonly clips = new Map<string, CachedClip>();

  constructor(private readonly provider: ProviderChoice = 'auto') {}

  private opened<T>(map: Map<string, Promise<T>>, key: string, open: () => Promise<T>, ix: QueryIndex): Promise<T> {
    let m = map.get(key);
    if (!m) {
      m = open().catch((err: unknown) => {
        map.delete(key);
        if (err instanceof StudioError) throw err;
        throw new StudioError(
          'bad-input',
          `Cannot run ${ix.name}'s backbone and SAE on a clip: ${(err as Error).message}. The index records the manifest ${ix.config.request.model} and SAE ${ix.config.request.sae}; they must still be at those paths on this machine.`,
        );
      });
      map.set(key, m);
    }
    return m;
  }

  private backbone(ix: QueryIndex): Promise<Backbone> {
    const req = ix.config.request;
    if (!req.model) {
      throw new StudioError('bad-input', `${ix.name} was built from cached activations without a backbone manifest, so it cannot run a clip. Index with --model to use the flicker view.`);
    }
    return this.opened(this.backbones, backboneKey(ix.config), async () => {
      const manifest = loadManifest(req.model!);
      if (VideoBackboneSession.isClipManifest(manifest)) {
        return { manifest, session: null, clip: await VideoBackboneSession.open(manifest, req.layer!, this.provider) };
      }
      return { manifest, session: await BackboneSession.open(manifest, req.layer!, this.provider), clip: null };
    }, ix);
  }

  private encoder(ix: QueryIndex): Promise<SaeEncoderSession> {
    const req = ix.config.request;
    const norm = ix.config.sae.normalization;
    const key = `${req.sae}|${norm.mode}|${norm.scale}`;
    return this.opened(this.encoders, key, async () => {
      const sae = loadSae(req.sae!);
      // Indexes record the normalisation they ran with (a user override included).
      if (sae.normalization.mode !== norm.mode || sae.normalization.scale !== norm.scale) {
        sae.normalization = { mode: norm.mode, mean: norm.mode === 'scale' ? sae.normalization.mean : null, scale: norm.mode === 'scale' ? norm.scale : null };
      }
      return SaeEncoderSession.create(sae, this.provider);
    }, ix);
  }

  /** Decodes `file`, runs it through the first index's backbone and every index's SAE. */
  async open(file: string, name: string, sampling: ClipSampling, indexes: QueryIndex[]): Promise<OpenClip> {
    if (indexes.length === 0) throw new StudioError('bad-request', 'Give at least one index.');
    const first = indexes[0]!;
    for (const ix of indexes.slice(1)) {
      if (backboneKey(ix.config) !== backboneKey(first.config)) {
        throw new StudioError(
          'bad-input',
          `${first.name} and ${ix.name} read different backbone layers (${first.config.request.layer ?? '?'} of ${first.config.request.model ?? '?'} vs ${ix.config.request.layer ?? '?'} of ${ix.config.request.model ?? '?'}); side by side needs two SAEs on the same backbone and layer.`,
        );
      }
    }
    const stat = fs.statSync(file);
    const clipId = createHash('sha256')
      .update(JSON.stringify([file, stat.mtimeMs, stat.size, sampling, backboneKey(first.config)]))
      .digest('hex')
      .slice(0, 16);
    let cached = this.clips.get(clipId);
    if (!cached) {
      const backbone = await this.backbone(first);
      const { manifest } = backbone;
      // A clip backbone sees exactly its own frame count (VideoMAE: 16), as the indexer fed it.
      const decoded = await readClip(file, backbone.clip ? { mode: 'segments', count: backbone.clip.frames } : sampling);
      if (decoded.frames.length === 0) throw new StudioError('bad-input', `${name} has no frames to show.`);
      const S = manifest.preprocess.crop;
      const pixels: Float32Array[] = [];
      const frameImages: string[] = [];
      for (let t = 0; t < decoded.frames.length; t++) {
        let pre;
        try {
          pre = await preprocessRawRgb(decoded.frames[t]!, decoded.width, decoded.height, manifest.preprocess, `${name} frame ${decoded.frameIndexes[t]}`);
        } catch (err) {
          throw new StudioError('bad-input', (err as Error).message);
        }
        pixels.push(pre.pixels);
        const jpg = await sharp(pre.rgb, { raw: { width: S, height: S, channels: 3 } }).jpeg({ quality: 88 }).toBuffer();
        frameImages.push(`data:image/jpeg;base64,${jpg.toString('base64')}`);
      }
      const { rows, d, P, grid, steps } = backbone.clip
        ? await clipRows(backbone.clip, pixels)
        : await frameRows(backbone.session, pixels);
      // A tubelet step shows its first frame.
      const shown = backbone.clip ? frameImages.filter((_, t) => t % backbone.clip!.manifest.tokens.tubelet! === 0) : frameImages;
      const shownIndexes = backbone.clip ? decoded.frameIndexes.filter((_, t) => t % backbone.clip!.manifest.tokens.tubelet! === 0) : decoded.frameIndexes;
      const T = steps;
      cached = {
        clip: {
          clipId,
          name,
          path: file,
          frames: T,
          frameIndexes: shownIndexes,
          grid,
          frameImages: shown,
          saes: [],
        },
        patches: P,
        rows,
        d,
        saes: new Map(),
      };
    }
    const raw = cached;
    for (const ix of indexes) {
      if (cached.saes.has(ix.indexId)) continue;
      const encoder = await this.encoder(ix);
      const P = cached.patches;
      const codes: SparseCodes[] = [];
      for (let t = 0; t < cached.clip.frames; t++) {
        codes.push(await encoder.encode(raw.rows.slice(t * P * raw.d, (t + 1) * P * raw.d), P));
      }
      cached.saes.set(ix.indexId, { indexId: ix.indexId, name: ix.name, features: ix.config.sae.dSae, codes, stats: null });
    }
    this.clips.delete(clipId);
    this.clips.set(clipId, cached);
    while (this.clips.size > MAX_CLIPS) this.clips.delete(this.clips.keys().next().value!);
    return {
      ...cached.clip,
      saes: indexes.map((ix) => ({ indexId: ix.indexId, name: ix.name, features: ix.config.sae.dSae, top: topFeatures(cached.saes.get(ix.indexId)!.codes, TOP) })),
    };
  }

  private sae(clipId: string, indexId: string): { clip: CachedClip; sae: ClipSae } {
    const clip = this.clips.get(clipId);
    if (!clip) throw new StudioError('not-found', 'That clip is no longer loaded (only the last few are kept). Open it again.');
    const sae = clip.saes.get(indexId);
    if (!sae) throw new StudioError('not-found', 'That clip was not run through this index\'s SAE. Open it again with this index selected.');
    return { clip, sae };
  }

  private checkFeature(sae: ClipSae, feature: number): void {
    if (!Number.isInteger(feature) || feature < 0 || feature >= sae.features) {
      throw new StudioError('bad-request', `Feature ${feature} does not exist in ${sae.name} (features 0–${sae.features - 1}).`);
    }
  }

  feature(clipId: string, indexId: string, feature: number): FlickerFeature {
    const { clip, sae } = this.sae(clipId, indexId);
    this.checkFeature(sae, feature);
    const maps = featureMaps(sae.codes, feature, clip.patches);
    const trace = maps.map((m) => m.reduce((a, b) => Math.max(a, b), 0));
    if (!sae.stats) {
      const acc = new TemporalAccumulator(sae.features);
      acc.addClip(sae.codes, clip.patches);
      const r = acc.result();
      sae.stats = { autocorrelation: r.autocorrelation, switchRate: r.switchRate };
    }
    const finite = (v: number) => (Number.isFinite(v) ? v : null);
    return {
      clipId,
      indexId,
      feature,
      maps,
      trace,
      upper: trace.reduce((a, b) => Math.max(a, b), 0),
      clipAutocorrelation: finite(sae.stats.autocorrelation[feature]!),
      clipSwitchRate: finite(sae.stats.switchRate[feature]!),
    };
  }

  closest(clipId: string, indexId: string, feature: number, otherIndexId: string, limit: number, maxFeature: number | null): ClosestFeature[] {
    const { clip, sae } = this.sae(clipId, indexId);
    this.checkFeature(sae, feature);
    const other = this.sae(clipId, otherIndexId).sae;
    const x = featureMaps(sae.codes, feature, clip.patches);
    return closestByCorrelation(x, other.codes, clip.patches, limit, maxFeature);
  }

  async close(): Promise<void> {
    for (const b of this.backbones.values()) await b.then((x) => (x.clip ?? x.session).close()).catch(() => {});
    for (const e of this.encoders.values()) await e.then((x) => x.close()).catch(() => {});
    this.backbones.clear();
    this.encoders.clear();
    this.clips.clear();
  }
}

/** Patch rows of every frame through a per-frame image backbone: [frames × P, d]. */
async function frameRows(session: BackboneSession, pixels: Float32Array[]) {
  const layout = session.layout;
  const P = layout.patches;
  const T = pixels.length;
  const plane = pixels[0]!.length;
  let rows: Float32Array | null = null;
  let d = 0;
  for (let t0 = 0; t0 < T; t0 += BATCH) {
    const b = Math.min(BATCH, T - t0);
    const input = new Float32Array(b * plane);
    for (let i = 0; i < b; i++) input.set(pixels[t0 + i]!, i * plane);
    const out = await session.run(input, b);
    d = out.d;
    rows ??= new Float32Array(T * P * d);
    for (let i = 0; i < b; i++) {
      const start = (i * layout.tokens + layout.patchOffset) * d;
      rows.set(out.tokens.subarray(start, start + P * d), (t0 + i) * P * d);
    }
  }
  return { rows: rows!, d, P, grid: [layout.grid[0], layout.grid[1]] as [number, number], steps: T };
}

/** Patch rows of every tubelet step through a clip backbone (one forward for the clip). */
async function clipRows(session: VideoBackboneSession, pixels: Float32Array[]) {
  const t = session.manifest.tokens;
  const P = t.grid[0] * t.grid[1];
  const plane = pixels[0]!.length;
  const input = new Float32Array(session.frames * plane);
  // Clips shorter than the backbone's frame count repeat their last frame.
  for (let f = 0; f < session.frames; f++) input.set(pixels[Math.min(f, pixels.length - 1)]!, f * plane);
  const out = await session.run(input, 1);
  const prefix = (t.cls ? 1 : 0) + t.registers;
  const rows = out.tokens.slice(prefix * out.d, (prefix + session.steps * P) * out.d);
  return { rows, d: out.d, P, grid: [t.grid[0], t.grid[1]] as [number, number], steps: session.steps };
}
