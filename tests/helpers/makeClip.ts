// Short clips with known frames, written by the bundled ffmpeg from frames drawn in code.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ffmpegPath } from '../../src-main/core/video/ffmpegPath.js';

/** Frame t is a solid colour: red = 20·t, green = 255 − 20·t, blue = 100 (t < 12). */
export function frameColour(t: number): [number, number, number] {
  return [20 * t, 255 - 20 * t, 100];
}

export function makeClip(file: string, opts: { frames: number; width?: number; height?: number; fps?: number; codec?: 'ffv1' | 'libx264' | 'libvpx' | 'gif' }): string {
  const W = opts.width ?? 48;
  const H = opts.height ?? 32;
  const raw = Buffer.alloc(W * H * 3 * opts.frames);
  for (let t = 0; t < opts.frames; t++) {
    const [r, g, b] = frameColour(t);
    for (let i = 0; i < W * H; i++) raw.set([r, g, b], (t * W * H + i) * 3);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const codec = opts.codec ?? 'ffv1';
  const pixFmt = codec === 'ffv1' ? 'bgr0' : codec === 'gif' ? 'rgb8' : 'yuv420p';
  const res = spawnSync(
    ffmpegPath(),
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(opts.fps ?? 10), '-i', 'pipe:0', '-c:v', codec, '-pix_fmt', pixFmt, file],
    { input: raw },
  );
  if (res.status !== 0) throw new Error(`ffmpeg could not write ${file}: ${res.stderr.toString()}`);
  return file;
}
