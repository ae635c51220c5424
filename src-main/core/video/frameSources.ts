import fs from 'node:fs';
import path from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { StudioError } from '../errors.js';
import { IMAGE_EXTENSIONS } from '../dataset/scanImageFolder.js';
import { decodeVideo, segmentFrameIndexes, type FrameSampling } from './decodeVideo.js';
import { checkFile } from '../util/checkedRead.js';

// A clip is a video file, a folder of frames, or an animated GIF/WebP. Whatever it is, the indexer
// gets the same thing: RGB frames of one size, sampled as asked.

/**
 * Containers the bundled ffmpeg reads (its build has Theora, VP8/9, AV1, H.264/5, MPEG-1/2/4,
 * MJPEG...). `.ogg` may hold only audio: such a file fails to decode and is skipped with that
 * reason, not left out. `.ts` is not listed (TypeScript sources share it); `.mts`/`.m2ts` are.
 */
export const VIDEO_EXTENSIONS = ['.mp4', '.m4v', '.mov', '.qt', '.mkv', '.webm', '.avi', '.mpg', '.mpeg', '.m2v', '.ogv', '.ogg', '.wmv', '.asf', '.flv', '.3gp', '.3g2', '.mts', '.m2ts', '.vob', '.mxf', '.dv'];
const ANIMATED_EXTENSIONS = ['.gif', '.webp'];

export interface ClipFrames {
  width: number;
  height: number;
  /** RGB24 buffers, width × height × 3. */
  frames: Buffer[];
  frameIndexes: number[];
}

export type ClipKind = 'video' | 'frames' | 'animated';

export function clipKind(file: string): ClipKind | null {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) return 'frames';
  const ext = path.extname(file).toLowerCase();
  if (VIDEO_EXTENSIONS.includes(ext)) return 'video';
  if (ANIMATED_EXTENSIONS.includes(ext)) return 'animated';
  return null;
}

export async function readClip(file: string, sampling: FrameSampling): Promise<ClipFrames> {
  switch (clipKind(file)) {
    case 'video':
      return decodeVideo(file, sampling);
    case 'frames':
      return readFrameFolder(file, sampling);
    case 'animated':
      return readAnimated(file, sampling);
    default:
      throw new StudioError('bad-input', `${file} is not a clip: give a video (${VIDEO_EXTENSIONS.join(' ')}), a folder of frames, or an animated GIF/WebP.`);
  }
}

/**
 * Which of `total` frames (at `nativeFps`) a sampling keeps. Frame folders and animations have no
 * reliable rate: they are taken as `nativeFps` frames per second (default 1 frame = 1 step).
 */
export function sampleIndexes(total: number, sampling: FrameSampling, nativeFps = 1): number[] {
  if (sampling.mode === 'segments') return segmentFrameIndexes(total, sampling.count);
  const step = nativeFps / sampling.fps;
  const out: number[] = [];
  for (let t = 0; Math.round(t) < total; t += step) out.push(Math.round(t));
  return [...new Set(out)];
}

async function readFrameFolder(dir: string, sampling: FrameSampling): Promise<ClipFrames> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase()))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (files.length === 0) throw new StudioError('bad-input', `No frames in ${dir} (looked for ${IMAGE_EXTENSIONS.join(' ')}).`);
  const indexes = sampleIndexes(files.length, sampling);
  let size: { width: number; height: number } | null = null;
  const frames: Buffer[] = [];
  for (const i of indexes) {
    // sharp reads a path to its end: devices, FIFOs and oversized files are refused first.
    checkFile(path.join(dir, files[i]!), 'image');
    const { data, info } = await sharp(path.join(dir, files[i]!)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    size ??= { width: info.width, height: info.height };
    if (info.width !== size.width || info.height !== size.height) {
      throw new StudioError('bad-input', `${path.join(dir, files[i]!)} is ${info.width}x${info.height}; the clip's first frame is ${size.width}x${size.height}.`);
    }
    frames.push(data);
  }
  return { ...size!, frames, frameIndexes: indexes };
}

async function readAnimated(file: string, sampling: FrameSampling): Promise<ClipFrames> {
  let meta: Metadata;
  checkFile(file, 'image');
  try {
    meta = await sharp(file, { animated: true }).metadata();
  } catch (err) {
    throw new StudioError('bad-input', `cannot decode animation ${file}: ${(err as Error).message}`);
  }
  const pages = meta.pages ?? 1;
  const width = meta.width!;
  const height = meta.pageHeight ?? meta.height!;
  // Frame delays give the native rate when present.
  const delays: number[] = meta.delay?.filter((d: number) => d > 0) ?? [];
  const fps = delays.length ? 1000 / (delays.reduce((a, b) => a + b, 0) / delays.length) : 1;
  const indexes = sampleIndexes(pages, sampling, fps);
  const frames: Buffer[] = [];
  for (const i of indexes) {
    frames.push(await sharp(file, { page: i, pages: 1 }).removeAlpha().toColourspace('srgb').raw().toBuffer());
  }
  return { width, height, frames, frameIndexes: indexes };
}
