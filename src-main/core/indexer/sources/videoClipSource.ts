import fs from 'node:fs';
import path from 'node:path';
import type { ProviderChoice } from '../../../contract/index.js';
import { StudioError } from '../../errors.js';
import { layerOutputName, loadManifest, modelInfo, type BackboneManifest } from '../../backbone/manifest.js';
import { BackboneSession } from '../../backbone/backboneSession.js';
import { VideoBackboneSession } from '../../backbone/videoBackboneSession.js';
import { preprocessRawRgb } from '../../backbone/preprocess.js';
import { IMAGE_EXTENSIONS } from '../../dataset/scanImageFolder.js';
import { ItemList } from '../../dataset/packedItemList.js';
import { readClip, VIDEO_EXTENSIONS } from '../../video/frameSources.js';
import type { FrameSampling } from '../../video/decodeVideo.js';
import { readSsv2Labels } from '../../video/ssv2Labels.js';
import { asInputError, toInputError } from './inputErrors.js';

// Clips for per-frame image backbones: every video file, animated GIF/WebP and folder of frames
// under the data folder is one item. Frames are decoded (readClip), cropped like images
// (preprocessRawRgb) and run through the backbone in batches of frames.

/** Still-image extensions that make a folder a folder of frames (GIF/WebP alone are taken as animations). */
const FRAME_EXTENSIONS = IMAGE_EXTENSIONS.filter((e) => e !== '.gif' && e !== '.webp');
const ANIMATED = ['.gif', '.webp'];

export const DEFAULT_SEGMENTS = 16;
export const DEFAULT_MAX_FRAMES = 64;

export interface ClipFolder {
  root: string;
  items: ItemList;
  labels: string[];
  /** Items (relative paths) that are not clips: loading them gives a skip with the reason. */
  notClips: Set<string>;
}

function isFrameFolder(dir: string): boolean {
  return fs.readdirSync(dir).some((f) => !f.startsWith('.') && FRAME_EXTENSIONS.includes(path.extname(f).toLowerCase()));
}

/** Why a file under the data folder is not a clip; it is listed as a skipped item with this reason. */
export function notAClipReason(rel: string): string {
  const ext = path.extname(rel).toLowerCase();
  if (FRAME_EXTENSIONS.includes(ext)) return `a still image outside a folder of frames (put a clip's frames in a folder of their own)`;
  return `not a video, animated GIF/WebP or folder of frames (${ext || 'no extension'}; videos: ${VIDEO_EXTENSIONS.join(' ')})`;
}

/**
 * Lists the clips under `root` (sorted by relative path): video files, animated GIF/WebP files, and
 * folders that directly hold still frames (a frame folder is not descended into). Every other
 * file (hidden ones and the labels file aside) is listed too, as an item that will be skipped
 * with notAClipReason, so a folder of 8 files says "7 indexed, 1 skipped: why", never "7, 0".
 * Labels: the first-level subfolder, or the SSv2 template of the clip id (base name without
 * extension); files that are not clips carry none.
 */
export function scanClipFolder(root: string, labelsFile?: string | null): ClipFolder {
  const abs = path.resolve(root);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw new StudioError('bad-input', `Dataset folder not found: ${abs}`);
  const labelsPath = labelsFile ? path.resolve(labelsFile) : null;
  const clips: string[] = [];
  const others: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(dir, entry.name);
      const ext = path.extname(entry.name).toLowerCase();
      if (entry.isDirectory()) {
        if (isFrameFolder(full)) clips.push(relPath);
        else walk(full, relPath);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        if (VIDEO_EXTENSIONS.includes(ext) || ANIMATED.includes(ext)) clips.push(relPath);
        else if (full !== labelsPath) others.push(relPath);
      }
    }
  };
  walk(abs, '');
  if (clips.length === 0) {
    const stills = others.filter((p) => !p.includes('/') && FRAME_EXTENSIONS.includes(path.extname(p).toLowerCase())).length;
    throw new StudioError(
      'bad-input',
      `No clips found in ${abs}. Looked for videos (${VIDEO_EXTENSIONS.join(' ')}), animated GIF/WebP files and folders of frames.` +
        (stills > 0 ? ` The folder itself holds ${stills} still images: if they are the frames of one clip, choose the folder above it.` : ''),
    );
  }
  const notClips = new Set(others);
  const all = [...clips, ...others].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ssv2 = labelsFile ? readSsv2Labels(labelsFile) : null;
  const items = ItemList.from(all.map((p) => {
    if (notClips.has(p)) return { path: p, label: null };
    if (ssv2) {
      const id = path.basename(p, path.extname(p));
      return { path: p, label: ssv2.get(id)?.template ?? null };
    }
    const slash = p.indexOf('/');
    return { path: p, label: slash > 0 ? p.slice(0, slash) : null };
  }));
  return { root: abs, items, labels: items.distinctLabels(), notClips };
}

/** True when the folder (searched a few levels deep) holds video files: `--kind` is then 'videos'. */
export function holdsVideos(root: string, depth = 3): boolean {
  const walk = (dir: string, level: number): boolean => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      if (e.isFile() && VIDEO_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) return true;
    }
    if (level >= depth) return false;
    return entries.some((e) => e.isDirectory() && !e.name.startsWith('.') && walk(path.join(dir, e.name), level + 1));
  };
  return walk(path.resolve(root), 0);
}

export interface VideoSampling {
  sampling: FrameSampling;
  maxFrames: number;
}

export function videoSampling(req: { frames?: number; fps?: number; maxFrames?: number }): VideoSampling {
  const maxFrames = req.maxFrames ?? DEFAULT_MAX_FRAMES;
  if (!Number.isInteger(maxFrames) || maxFrames < 1) throw new StudioError('bad-request', `--max-frames must be a positive integer (got ${maxFrames}).`);
  if (req.fps !== undefined && req.frames !== undefined) throw new StudioError('bad-request', 'Give either --frames (segments) or --fps, not both.');
  if (req.fps !== undefined) {
    if (!(req.fps > 0)) throw new StudioError('bad-request', `--fps must be positive (got ${req.fps}).`);
    return { sampling: { mode: 'fps', fps: req.fps }, maxFrames };
  }
  const count = req.frames ?? DEFAULT_SEGMENTS;
  if (!Number.isInteger(count) || count < 1) throw new StudioError('bad-request', `--frames must be a positive integer (got ${count}).`);
  return { sampling: { mode: 'segments', count: Math.min(count, maxFrames) }, maxFrames };
}

export interface DecodedClip {
  item: number;
  /** Model input per frame, CHW float32. */
  pixels: Float32Array[];
  /** The cropped RGB the model saw, per frame (for thumbnails). */
  rgb: Buffer[];
}

/** Decodes and preprocesses one clip's sampled frames (at most maxFrames, the first ones). */
export async function decodeClip(root: string, rel: string, s: VideoSampling, manifest: BackboneManifest): Promise<{ pixels: Float32Array[]; rgb: Buffer[] }> {
  const clip = await readClip(path.join(root, rel), s.sampling);
  const frames = clip.frames.slice(0, s.maxFrames);
  if (frames.length === 0) throw new StudioError('bad-input', `no frames decoded from ${rel}`);
  // libvips runs the frames' resizes on its own threads.
  const done = await Promise.all(frames.map((f, t) => preprocessRawRgb(f, clip.width, clip.height, manifest.preprocess, `${rel} frame ${clip.frameIndexes[t]}`)));
  return { pixels: done.map((p) => p.pixels), rgb: done.map((p) => p.rgb) };
}

/** A per-frame image backbone over a folder of clips. */
export class VideoClipSource {
  private constructor(
    readonly manifest: BackboneManifest,
    readonly layer: string,
    readonly outputName: string,
    readonly dataset: ClipFolder,
    readonly backbone: BackboneSession | VideoBackboneSession,
    readonly video: VideoSampling,
    private readonly labelsFile: string | null,
  ) {}

  static async open(
    model: string,
    layer: string,
    data: string,
    provider: ProviderChoice,
    video: VideoSampling,
    labelsFile: string | null,
  ): Promise<VideoClipSource> {
    const manifest = asInputError(() => loadManifest(model));
    const outputName = asInputError(() => layerOutputName(manifest, layer));
    const dataset = scanClipFolder(data, labelsFile);
    let backbone: BackboneSession | VideoBackboneSession;
    if (VideoBackboneSession.isClipManifest(manifest)) {
      // A clip backbone takes exactly tokens.frames frames: N evenly spaced segments.
      if (video.sampling.mode === 'fps') throw new StudioError('bad-request', `not supported yet: --fps with a clip backbone (${manifest.name} takes ${manifest.tokens.frames} frames per clip; use segments).`);
      if (manifest.tokens.cls) throw new StudioError('bad-request', `not supported yet: clip backbones with a CLS token (${manifest.manifestPath}).`);
      video = { sampling: { mode: 'segments', count: manifest.tokens.frames! }, maxFrames: manifest.tokens.frames! };
    }
    try {
      backbone = VideoBackboneSession.isClipManifest(manifest)
        ? await VideoBackboneSession.open(manifest, layer, provider)
        : await BackboneSession.open(manifest, layer, provider);
    } catch (err) {
      throw toInputError(err);
    }
    return new VideoClipSource(manifest, layer, outputName, dataset, backbone, video, labelsFile ? path.resolve(labelsFile) : null);
  }

  get items() {
    return this.dataset.items;
  }
  get labels() {
    return this.dataset.labels;
  }
  get model() {
    return { ...modelInfo(this.manifest, this.layer, this.backbone.d), outputName: this.outputName };
  }
  get d() {
    return this.backbone.d;
  }
  get hasCls() {
    return this.manifest.tokens.cls && !this.isClip;
  }
  /** A clip (tubelet) backbone: one forward per clip, t steps over tubelets. */
  get isClip(): boolean {
    return this.backbone instanceof VideoBackboneSession;
  }
  get patches() {
    return this.manifest.tokens.grid[0] * this.manifest.tokens.grid[1];
  }
  get provider() {
    return this.backbone.provider;
  }
  /** Frames per clip when fixed (segments), else null. */
  get framesPerClip(): number | null {
    if (this.backbone instanceof VideoBackboneSession) return this.backbone.steps;
    return this.video.sampling.mode === 'segments' ? this.video.sampling.count : null;
  }
  get identity(): Record<string, string> {
    const s = this.video.sampling;
    return {
      model: this.manifest.manifestPath,
      layer: this.layer,
      data: this.dataset.root,
      kind: 'videos',
      sampling: s.mode === 'segments' ? `segments:${s.count}` : `fps:${s.fps}`,
      maxFrames: String(this.video.maxFrames),
      labels: this.labelsFile ?? '',
    };
  }

  /** Decodes clip `item`; null with a reason when it cannot be read. */
  async load(item: number): Promise<{ clip: DecodedClip | null; reason: string }> {
    const rel = this.dataset.items.path(item);
    if (this.dataset.notClips.has(rel)) return { clip: null, reason: notAClipReason(rel) };
    try {
      const { pixels, rgb } = await decodeClip(this.dataset.root, rel, this.video, this.manifest);
      return { clip: { item, pixels, rgb }, reason: '' };
    } catch (err) {
      return { clip: null, reason: err instanceof Error ? err.message : String(err) };
    }
  }

  /**
   * Runs the clip's frames through the backbone (`batch` frames at a time) and returns its rows:
   * per frame, the CLS row (when present) then the patch rows, registers dropped: [T·R, d].
   * Clip backbones: one forward for the clip; T = tubelet steps, patch rows only.
   */
  async activations(clip: DecodedClip, batch: number): Promise<{ rows: Float32Array; steps: number }> {
    const layout = this.manifest.tokens;
    if (this.backbone instanceof VideoBackboneSession) {
      const per = clip.pixels[0]!.length;
      const pixels = new Float32Array(clip.pixels.length * per);
      clip.pixels.forEach((p, t) => pixels.set(p, t * per));
      const { tokens, d } = await this.backbone.run(pixels, 1);
      const steps = this.backbone.steps;
      return { rows: tokens.slice(layout.registers * d, (layout.registers + steps * this.patches) * d), steps };
    }
    const P = this.patches;
    const hasCls = layout.cls;
    const R = P + (hasCls ? 1 : 0);
    const tokensPerFrame = (hasCls ? 1 : 0) + layout.registers + P;
    const d = this.backbone.d;
    const T = clip.pixels.length;
    const rows = new Float32Array(T * R * d);
    const per = clip.pixels[0]!.length;
    for (let t0 = 0; t0 < T; t0 += batch) {
      const n = Math.min(batch, T - t0);
      const pixels = new Float32Array(n * per);
      for (let j = 0; j < n; j++) pixels.set(clip.pixels[t0 + j]!, j * per);
        const { tokens, T: tok } = await (this.backbone as BackboneSession).run(pixels, n);
      if (tok !== tokensPerFrame) {
        throw new StudioError('bad-input', `${this.manifest.name} produced ${tok} tokens per frame at ${this.layer}; its manifest declares ${tokensPerFrame}.`);
      }
      for (let j = 0; j < n; j++) {
        const src = j * tokensPerFrame * d;
        const dst = (t0 + j) * R * d;
        if (hasCls) rows.set(tokens.subarray(src, src + d), dst);
        const pStart = src + ((hasCls ? 1 : 0) + layout.registers) * d;
        rows.set(tokens.subarray(pStart, pStart + P * d), dst + (hasCls ? d : 0));
      }
    }
    return { rows, steps: T };
  }

  close(): Promise<void> {
    return this.backbone.close();
  }
}
