import { spawn } from 'node:child_process';
import { StudioError } from '../errors.js';
import { ffmpegPath } from './ffmpegPath.js';

// Video frames through ffmpeg, as raw RGB: every frame at a chosen rate, or N evenly spaced
// frames (VideoMAE/TSN-style segments: the middle frame of each of N equal parts).

export type FrameSampling = { mode: 'fps'; fps: number } | { mode: 'segments'; count: number };

export interface VideoInfo {
  width: number;
  height: number;
  fps: number;
  durationSec: number;
  /** Estimated from duration × fps (containers do not always store it). */
  frames: number;
}

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

/** Reads size, rate and duration from ffmpeg's description of the input (no ffprobe is bundled). */
export async function probeVideo(file: string): Promise<VideoInfo> {
  const { stderr } = await run(['-hide_banner', '-i', file]);
  const stream = /Stream #\d+:\d+.*?: Video: .*?, (\d{2,5})x(\d{2,5})[, ].*?(?:([\d.]+) fps|([\d.]+) tbr)/.exec(stderr);
  const duration = /Duration: (\d+):(\d+):([\d.]+)/.exec(stderr);
  if (!stream) {
    const why = stderr.split('\n').filter((l) => /error|invalid|no such/i.test(l)).slice(-1)[0]?.trim() || 'no video stream found';
    throw new StudioError('bad-input', `cannot decode video ${file}: ${why}`);
  }
  const fps = Number(stream[3] ?? stream[4]);
  const durationSec = duration ? Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]) : 0;
  return { width: Number(stream[1]), height: Number(stream[2]), fps, durationSec, frames: Math.max(1, Math.round(durationSec * fps)) };
}

/** Frame indexes for N segments: the middle frame of each of N equal parts of the clip. */
export function segmentFrameIndexes(frames: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.min(frames - 1, Math.floor(((i + 0.5) * frames) / count)));
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
  const { code, stdout, stderr } = await run(['-hide_banner', '-loglevel', 'error', '-i', file, '-vf', filter, '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  if (code !== 0) throw new StudioError('bad-input', `cannot decode video ${file}: ${stderr.trim().split('\n').slice(-1)[0] || `ffmpeg exited with ${code}`}`);
  const frameBytes = info.width * info.height * 3;
  const n = Math.floor(stdout.length / frameBytes);
  if (n === 0) throw new StudioError('bad-input', `cannot decode video ${file}: no frames decoded`);
  const frames = Array.from({ length: n }, (_, i) => stdout.subarray(i * frameBytes, (i + 1) * frameBytes));
  if (frameIndexes) {
    // A stored frame count below the estimate yields fewer frames: repeat the last, keeping N.
    const unique = [...new Set(frameIndexes)];
    const byIndex = new Map(unique.map((idx, i) => [idx, frames[Math.min(i, n - 1)]!]));
    return { info, width: info.width, height: info.height, frames: frameIndexes.map((i) => byIndex.get(i)!), frameIndexes };
  }
  return { info, width: info.width, height: info.height, frames, frameIndexes: frames.map((_, i) => Math.round((i * info.fps) / (sampling as { fps: number }).fps)) };
}
