import { spawn } from 'node:child_process';
import { StudioError } from '../errors.js';
import { ffmpegPath } from './ffmpegPath.js';
import { parseProbe, type VideoInfo } from './probeText.js';
import { checkFile } from '../util/checkedRead.js';

// Video frames through ffmpeg, as raw RGB: every frame at a chosen rate, or N evenly spaced
// frames (VideoMAE/TSN-style segments: the middle frame of each of N equal parts).
// Frames come out as the video is meant to be seen: non-square pixels are resampled to square
// ones and rotation metadata is applied, both by filters we choose (ffmpeg's own autorotation is
// off), so the frame size we expect is the size ffmpeg writes, whatever its version.

export type { VideoInfo } from './probeText.js';
export { parseProbe } from './probeText.js';

export type FrameSampling = { mode: 'fps'; fps: number } | { mode: 'segments'; count: number };

export interface DecodedFrames {
  info: VideoInfo;
  width: number;
  height: number;
  /** RGB24, width × height × 3 each. */
  frames: Buffer[];
  /** Source frame index (at the stream's rate) of each returned frame. */
  frameIndexes: number[];
}

function run(args: string[], binary = ffmpegPath()): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new StudioError('bad-input', `cannot run ffmpeg (${binary}): ${e.message}`)));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** Reads size, rate, duration, pixel aspect and rotation from ffmpeg's description of the input (no ffprobe is bundled). */
export async function probeVideo(file: string): Promise<VideoInfo> {
  checkFile(file, 'video');
  const { stderr } = await run(['-hide_banner', '-i', file]);
  try {
    return parseProbe(stderr);
  } catch (err) {
    throw new StudioError('bad-input', `cannot decode video ${file}: ${(err as Error).message}`);
  }
}

/** Frame indexes for N segments: the middle frame of each of N equal parts of the clip. */
export function segmentFrameIndexes(frames: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.min(frames - 1, Math.floor(((i + 0.5) * frames) / count)));
}

/**
 * Filters that turn stored frames into displayed ones. The scale always names the square-pixel
 * size, so even a stream whose size changes midway gives frames of one size; rotation comes
 * last (it acts on the displayed picture, after the pixels are square).
 */
function displayFilters(info: VideoInfo): string[] {
  const [w, h] = info.squareSize;
  const out = [`scale=${w}:${h}:flags=bicubic`, 'setsar=1'];
  if (info.rotation === 90) out.push('transpose=clock');
  else if (info.rotation === 180) out.push('hflip', 'vflip');
  else if (info.rotation === 270) out.push('transpose=cclock');
  return out;
}

export async function decodeVideo(file: string, sampling: FrameSampling): Promise<DecodedFrames> {
  const info = await probeVideo(file);
  let filter: string;
  let frameIndexes: number[] | null = null;
  if (sampling.mode === 'fps') {
    if (!(sampling.fps > 0)) throw new StudioError('bad-request', `Frame rate must be positive (got ${sampling.fps}).`);
    filter = `fps=${sampling.fps}`;
  } else {
    if (!Number.isInteger(sampling.count) || sampling.count < 1) throw new StudioError('bad-request', `Segments must be a positive integer (got ${sampling.count}).`);
    frameIndexes = segmentFrameIndexes(info.frames, sampling.count);
    filter = `select='${[...new Set(frameIndexes)].map((n) => `eq(n\\,${n})`).join('+')}'`;
  }
  const vf = [filter, ...displayFilters(info)].join(',');
  const args = ['-hide_banner', '-loglevel', 'error', '-noautorotate', '-i', file, '-map', `0:${info.stream}`, '-vf', vf, '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
  const { code, stdout, stderr } = await run(args);
  if (code !== 0) throw new StudioError('bad-input', `cannot decode video ${file}: ${stderr.trim().split('\n').slice(-1)[0] || `ffmpeg exited with ${code}`}`);
  const [width, height] = info.displaySize;
  const frameBytes = width * height * 3;
  // A remainder means ffmpeg wrote frames of another size than we asked for: cutting the bytes
  // into frames would give garbage, so refuse instead.
  if (stdout.length % frameBytes !== 0) {
    throw new StudioError('bad-input', `cannot decode video ${file}: ffmpeg wrote ${stdout.length} bytes, not a whole number of ${width}x${height} RGB frames`);
  }
  const n = stdout.length / frameBytes;
  if (n === 0) throw new StudioError('bad-input', `cannot decode video ${file}: no frames decoded`);
  const frames = Array.from({ length: n }, (_, i) => stdout.subarray(i * frameBytes, (i + 1) * frameBytes));
  if (frameIndexes) {
    // A stored frame count below the estimate yields fewer frames: repeat the last, keeping N.
    const unique = [...new Set(frameIndexes)];
    const byIndex = new Map(unique.map((idx, i) => [idx, frames[Math.min(i, n - 1)]!]));
    return { info, width, height, frames: frameIndexes.map((i) => byIndex.get(i)!), frameIndexes };
  }
  return { info, width, height, frames, frameIndexes: frames.map((_, i) => Math.round((i * info.fps) / (sampling as { fps: number }).fps)) };
}
