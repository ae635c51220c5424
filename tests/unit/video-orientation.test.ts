import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeVideo, parseProbe, probeVideo } from '../../src-main/core/video/decodeVideo.js';
import { encodeFrames, ffmpegAutorotated, withRotationTag } from '../helpers/makeClip.js';

// Videos come out as they are meant to be seen: rotation metadata applied (frames equal the
// source turned, pixel for pixel) and non-square pixels resampled (a round disc stays round).

const W = 48;
const H = 32;

/** An asymmetric RGB pattern, different per frame: any flip or wrong turn changes it. */
function pattern(t: number, w = W, h = H): Buffer {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b.set([(x * 5 + t * 3) % 256, (y * 7) % 256, (x * y + t * 11) % 256], (y * w + x) * 3);
  return b;
}

/** Turns an RGB frame clockwise by 0/90/180/270 degrees. */
function turn(src: Buffer, w: number, h: number, cw: number): { buf: Buffer; w: number; h: number } {
  const swap = cw === 90 || cw === 270;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = Buffer.alloc(src.length);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const [sx, sy] = cw === 90 ? [y, h - 1 - x] : cw === 180 ? [w - 1 - x, h - 1 - y] : cw === 270 ? [w - 1 - y, x] : [x, y];
      src.copy(out, (y * ow + x) * 3, (sy * w + sx) * 3, (sy * w + sx) * 3 + 3);
    }
  }
  return { buf: out, w: ow, h: oh };
}

/** Clockwise degrees of the first track's display matrix (ISO 14496-12 tkhd), read from the bytes. */
function tkhdRotation(file: string): number {
  const b = fs.readFileSync(file);
  const i = b.indexOf('tkhd');
  const v1 = b[i + 4] === 1;
  const m = i + 8 + (v1 ? 32 : 20) + 16;
  // (a, b) is where the x unit vector goes; screen y points down, so atan2 gives clockwise degrees.
  const a = b.readInt32BE(m) / 65536;
  const bb = b.readInt32BE(m + 4) / 65536;
  return (((Math.round((Math.atan2(bb, a) * 180) / Math.PI) % 360) + 360) % 360);
}

function maxDiff(a: Buffer, b: Buffer): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * A white disc of radius r (display pixels) centred in a w_d × h_d display, drawn into storage
 * pixels sar times as wide as tall (4×4 supersampled edges).
 */
function disc(sw: number, sh: number, sar: number, r: number): Buffer {
  const b = Buffer.alloc(sw * sh * 3);
  const cx = (sw * sar) / 2;
  const cy = sh / 2;
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      let hits = 0;
      for (let j = 0; j < 4; j++) for (let i = 0; i < 4; i++) if (((x + (i + 0.5) / 4) * sar - cx) ** 2 + (y + (j + 0.5) / 4 - cy) ** 2 <= r * r) hits++;
      b.fill(Math.round((255 * hits) / 16), (y * sw + x) * 3, (y * sw + x) * 3 + 3);
    }
  }
  return b;
}

/** Spread of brightness along x over spread along y (second moments): 1 for a round disc. */
function roundness(f: Buffer, w: number, h: number): { ratio: number; cx: number; cy: number } {
  let s = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = f[(y * w + x) * 3]!;
      s += v; sx += v * x; sy += v * y; sxx += v * x * x; syy += v * y * y;
    }
  }
  const cx = sx / s;
  const cy = sy / s;
  return { ratio: Math.sqrt(sxx / s - cx * cx) / Math.sqrt(syy / s - cy * cy), cx, cy };
}

describe('video orientation and pixel aspect', () => {
  let work: string;
  let source: string;
  const frames = [0, 1, 2, 3, 4].map((t) => pattern(t));
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-orient-'));
    // Lossless RGB H.264, so a turned frame can be compared exactly.
    source = encodeFrames(path.join(work, 'upright.mp4'), frames, W, H, { codec: 'libx264rgb', args: ['-qp', '0'] });
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('an unrotated lossless clip decodes to its exact pixels', async () => {
    const d = await decodeVideo(source, { mode: 'fps', fps: 10 });
    expect([d.width, d.height, d.frames.length, d.info.rotation]).toEqual([W, H, 5, 0]);
    d.frames.forEach((f, t) => expect(maxDiff(f, frames[t]!)).toBe(0));
  });

  it('applies 90/180/270 rotation metadata: frames equal the source turned, pixel for pixel', async () => {
    const seen: number[] = [];
    for (const tag of [90, 180, 270]) {
      const file = withRotationTag(source, path.join(work, `rot${tag}.mp4`), tag);
      const cw = tkhdRotation(file);
      seen.push(cw);
      const info = await probeVideo(file);
      expect(info.rotation).toBe(cw);
      const d = await decodeVideo(file, { mode: 'fps', fps: 10 });
      const swap = cw === 90 || cw === 270;
      expect([d.width, d.height]).toEqual(swap ? [H, W] : [W, H]);
      expect(d.frames).toHaveLength(5);
      const oracle = ffmpegAutorotated(file, d.width, d.height);
      d.frames.forEach((f, t) => {
        const want = turn(frames[t]!, W, H, cw);
        expect([want.w, want.h]).toEqual([d.width, d.height]);
        expect(maxDiff(f, want.buf)).toBe(0);
        // ffmpeg's own autorotation agrees (our filters run with it switched off).
        expect(maxDiff(f, oracle[t]!)).toBe(0);
      });
      // Segment sampling picks frames before turning them.
      const seg = await decodeVideo(file, { mode: 'segments', count: 2 });
      expect(seg.frameIndexes).toEqual([1, 3]);
      expect(maxDiff(seg.frames[1]!, turn(frames[3]!, W, H, cw).buf)).toBe(0);
    }
    expect(seen.sort((a, b) => a - b)).toEqual([90, 180, 270]);
  });

  it('a lossy 4:2:0 rotated mov matches the turned source up to codec noise', async () => {
    // Smooth ramps: 4:2:0 chroma and DCT noise stay small on them.
    const big = [0, 1, 2].map((t) => {
      const b = Buffer.alloc(64 * 48 * 3);
      for (let y = 0; y < 48; y++) for (let x = 0; x < 64; x++) b.set([x * 4, y * 5, 60 + t * 40], (y * 64 + x) * 3);
      return b;
    });
    const file = withRotationTag(encodeFrames(path.join(work, 'lossy.mov'), big, 64, 48, { codec: 'libx264', args: ['-crf', '12'] }), path.join(work, 'lossy-rot.mov'), 90);
    const cw = tkhdRotation(file);
    expect([90, 270]).toContain(cw);
    const d = await decodeVideo(file, { mode: 'fps', fps: 10 });
    expect([d.width, d.height]).toEqual([48, 64]);
    d.frames.forEach((f, t) => {
      const want = turn(big[t]!, 64, 48, cw).buf;
      let sum = 0;
      for (let i = 0; i < f.length; i++) sum += Math.abs(f[i]! - want[i]!);
      expect(sum / f.length).toBeLessThan(6);
      // The other turn is far off: the direction is right, not just the size.
      const wrong = turn(big[t]!, 64, 48, 360 - cw).buf;
      let off = 0;
      for (let i = 0; i < f.length; i++) off += Math.abs(f[i]! - wrong[i]!);
      expect(off / f.length).toBeGreaterThan(30);
    });
  });

  it('resamples 4:3 pixels to square ones: 48x48 stored gives 64x48 with a round disc', async () => {
    const file = encodeFrames(path.join(work, 'anamorphic.mp4'), [disc(48, 48, 4 / 3, 18)], 48, 48, { codec: 'libx264rgb', sar: '4/3', args: ['-qp', '0'] });
    const info = await probeVideo(file);
    expect([info.storedWidth, info.storedHeight, ...info.sar]).toEqual([48, 48, 4, 3]);
    const d = await decodeVideo(file, { mode: 'fps', fps: 10 });
    expect([d.width, d.height]).toEqual([64, 48]);
    const r = roundness(d.frames[0]!, d.width, d.height);
    // Stored, the disc is 0.75 as wide as tall.
    expect(Math.abs(r.ratio - 1)).toBeLessThan(0.02);
    expect(Math.abs(r.cx - 31.5)).toBeLessThan(0.5);
  });

  it('resamples 16:15 pixels in a Theora .ogv (the 6% squash) and 3:4 pixels by heightening', async () => {
    const ogv = encodeFrames(path.join(work, 'pal.ogv'), [disc(120, 96, 16 / 15, 40)], 120, 96, { codec: 'libtheora', sar: '16/15', args: ['-q:v', '10'] });
    const d = await decodeVideo(ogv, { mode: 'fps', fps: 10 });
    expect([d.info.sar, d.width, d.height]).toEqual([[16, 15], 128, 96]);
    expect(Math.abs(roundness(d.frames[0]!, 128, 96).ratio - 1)).toBeLessThan(0.015);
    const tall = encodeFrames(path.join(work, 'tall.mkv'), [disc(64, 48, 3 / 4, 20)], 64, 48, { codec: 'ffv1', sar: '3/4' });
    const t = await decodeVideo(tall, { mode: 'fps', fps: 10 });
    expect([t.width, t.height]).toEqual([64, 64]);
    expect(Math.abs(roundness(t.frames[0]!, 64, 64).ratio - 1)).toBeLessThan(0.02);
  });

  it('squares pixels before turning: a rotated anamorphic clip keeps its disc round', async () => {
    const flat = encodeFrames(path.join(work, 'flat.mp4'), [disc(48, 48, 4 / 3, 18)], 48, 48, { codec: 'libx264rgb', sar: '4/3', args: ['-qp', '0'] });
    const file = withRotationTag(flat, path.join(work, 'flat-rot.mp4'), 90);
    const d = await decodeVideo(file, { mode: 'fps', fps: 10 });
    expect([d.width, d.height]).toEqual([48, 64]);
    expect(Math.abs(roundness(d.frames[0]!, 48, 64).ratio - 1)).toBeLessThan(0.02);
  });
});

describe("reading ffmpeg's description of an input", () => {
  const v41 = [
    "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':",
    '  Duration: 00:00:02.00, start: 0.000000, bitrate: 61 kb/s',
    '    Stream #0:0(und): Video: mjpeg, yuvj420p, 300x300 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)',
    '    Stream #0:1(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 720x576 [SAR 16:15 DAR 4:3], 48 kb/s, 25 fps, 25 tbr, 12800 tbn, 50 tbc (default)',
    '    Metadata:',
    '      rotate          : 270',
    '      handler_name    : VideoHandler',
    '    Side data:',
    '      displaymatrix: rotation of 90.00 degrees',
    '    Stream #0:2(und): Audio: aac (LC), 44100 Hz, stereo, fltp, 128 kb/s (default)',
    'At least one output file must be specified',
  ].join('\n');

  it('takes the first stream that is not cover art, with its SAR and display matrix', () => {
    // The container's SAR (unbracketed, as Matroska gives it) wins over the codec's.
    expect(parseProbe('    Stream #0:0: Video: ffv1 (FFV1 / 0x31564646), bgr0, 64x48 [SAR 1:1 DAR 4:3], SAR 3:4 DAR 1:1, 10 fps, 10 tbr').sar).toEqual([3, 4]);
    const i = parseProbe(v41);
    expect(i).toMatchObject({ stream: 1, storedWidth: 720, storedHeight: 576, sar: [16, 15], squareSize: [768, 576], rotation: 270, width: 576, height: 768, fps: 25, frames: 50 });
  });

  it('reads a display matrix without a rotate tag (newer ffmpeg), a tbr-only rate and SAR 0:1', () => {
    const v6 = [
      '  Duration: 00:00:01.00, start: 0.000000, bitrate: 98 kb/s',
      '  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 64x48 [SAR 0:1 DAR 0:1], 10 tbr, 10240 tbn',
      '      Side data:',
      '        displaymatrix: rotation of -90.00 degrees',
    ].join('\n');
    expect(parseProbe(v6)).toMatchObject({ stream: 0, sar: [1, 1], rotation: 90, width: 48, height: 64, fps: 10, frames: 10 });
  });

  it('refuses a rotation that is not a multiple of 90 and a file with no video', () => {
    const odd = '    Stream #0:0: Video: h264, yuv420p, 64x48, 10 fps\n    Side data:\n      displaymatrix: rotation of -45.00 degrees\n';
    expect(() => parseProbe(odd)).toThrow(/rotation of 45 degrees is not supported/);
    expect(() => parseProbe('    Stream #0:0: Audio: vorbis, 44100 Hz, mono\n')).toThrow(/no video stream found/);
  });
});
