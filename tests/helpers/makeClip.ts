// Short clips with known frames, written by the bundled ffmpeg from frames drawn in code.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ffmpegPath } from '../../src-main/core/video/ffmpegPath.js';

/** Frame t is a solid colour: red = 20·t, green = 255 − 20·t, blue = 100 (t < 12). */
export function frameColour(t: number): [number, number, number] {
  return [20 * t, 255 - 20 * t, 100];
}

/** Pixel formats each encoder takes; lossless ones keep RGB so pixels can be compared exactly. */
function pixFmtFor(codec: string): string {
  if (codec === 'ffv1') return 'bgr0';
  if (codec === 'gif') return 'rgb8';
  if (codec === 'libx264rgb') return 'rgb24';
  return 'yuv420p';
}

/**
 * Encodes RGB24 frames (W × H × 3 each) with `codec` into `file` (container from its extension).
 * `sar` stores a pixel aspect ratio ("16/15"); `args` go before the output name.
 */
export function encodeFrames(
  file: string,
  frames: Buffer[],
  W: number,
  H: number,
  opts: { fps?: number; codec?: string; sar?: string; args?: string[] } = {},
): string {
  const codec = opts.codec ?? 'ffv1';
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const vf = opts.sar ? ['-vf', `setsar=${opts.sar}`] : [];
  const res = spawnSync(
    ffmpegPath(),
    [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(opts.fps ?? 10), '-i', 'pipe:0',
      ...vf, '-c:v', codec, '-pix_fmt', pixFmtFor(codec), ...(opts.args ?? []), file,
    ],
    { input: Buffer.concat(frames) },
  );
  if (res.status !== 0) throw new Error(`ffmpeg could not write ${file}: ${res.stderr.toString()}`);
  return file;
}

export function makeClip(file: string, opts: { frames: number; width?: number; height?: number; fps?: number; codec?: string; sar?: string; args?: string[] }): string {
  const W = opts.width ?? 48;
  const H = opts.height ?? 32;
  const frames = Array.from({ length: opts.frames }, (_, t) => {
    const f = Buffer.alloc(W * H * 3);
    const [r, g, b] = frameColour(t);
    for (let i = 0; i < W * H; i++) f.set([r, g, b], i * 3);
    return f;
  });
  return encodeFrames(file, frames, W, H, { fps: opts.fps, codec: opts.codec, sar: opts.sar, args: opts.args });
}

/**
 * Copies `src` to `dst` (mp4/mov) with a rotation tag, as phones write portrait video. The muxer
 * turns the tag into the track's display matrix; what a reader sees is that matrix.
 */
export function withRotationTag(src: string, dst: string, degrees: number): string {
  const res = spawnSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-i', src, '-c', 'copy', '-metadata:s:v:0', `rotate=${degrees}`, dst]);
  if (res.status !== 0) throw new Error(`ffmpeg could not write ${dst}: ${res.stderr.toString()}`);
  return dst;
}

/**
 * Every frame of `file` as ffmpeg's own player-side logic shows it (autorotation on, no SAR
 * correction): an independent reading of the display matrix to check ours against.
 */
export function ffmpegAutorotated(file: string, width: number, height: number): Buffer[] {
  const res = spawnSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 28 });
  if (res.status !== 0) throw new Error(res.stderr.toString());
  const n = width * height * 3;
  if (res.stdout.length % n !== 0) throw new Error(`autorotated output is not ${width}x${height}`);
  return Array.from({ length: res.stdout.length / n }, (_, i) => res.stdout.subarray(i * n, (i + 1) * n));
}
