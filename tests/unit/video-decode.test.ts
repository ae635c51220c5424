import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeVideo, probeVideo, segmentFrameIndexes } from '../../src-main/core/video/decodeVideo.js';
import { ffmpegPath } from '../../src-main/core/video/ffmpegPath.js';
import { frameColour, makeClip } from '../helpers/makeClip.js';

describe('video decoding through the bundled ffmpeg', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-video-'));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('reads every frame of a lossless clip with exact pixels', async () => {
    const file = makeClip(path.join(work, 'clip.mkv'), { frames: 10, fps: 10 });
    const info = await probeVideo(file);
    expect(info).toMatchObject({ width: 48, height: 32, fps: 10 });
    const decoded = await decodeVideo(file, { mode: 'fps', fps: 10 });
    expect(decoded.frames).toHaveLength(10);
    decoded.frames.forEach((f, t) => {
      expect([f[0], f[1], f[2]]).toEqual(frameColour(t));
      expect([f[f.length - 3], f[f.length - 2], f[f.length - 1]]).toEqual(frameColour(t));
    });
  });

  it('samples N evenly spaced segments (the middle frame of each)', async () => {
    expect(segmentFrameIndexes(10, 4)).toEqual([1, 3, 6, 8]);
    expect(segmentFrameIndexes(3, 5)).toEqual([0, 0, 1, 2, 2]);
    const file = makeClip(path.join(work, 'seg.mkv'), { frames: 10, fps: 10 });
    const decoded = await decodeVideo(file, { mode: 'segments', count: 4 });
    expect(decoded.frameIndexes).toEqual([1, 3, 6, 8]);
    expect(decoded.frames.map((f) => [f[0], f[1], f[2]])).toEqual([1, 3, 6, 8].map(frameColour));
  });

  it('halves the rate when asked for half the fps', async () => {
    const file = makeClip(path.join(work, 'half.mkv'), { frames: 10, fps: 10 });
    const decoded = await decodeVideo(file, { mode: 'fps', fps: 5 });
    expect(decoded.frames).toHaveLength(5);
  });

  it('decodes lossy mp4 and webm to about the right colours', async () => {
    for (const [name, codec] of [['clip.mp4', 'libx264'], ['clip.webm', 'libvpx']] as const) {
      const file = makeClip(path.join(work, name), { frames: 6, fps: 10, codec, width: 64, height: 48 });
      const decoded = await decodeVideo(file, { mode: 'fps', fps: 10 });
      expect(decoded.frames).toHaveLength(6);
      decoded.frames.forEach((f, t) => {
        const mid = (24 * 64 + 32) * 3;
        frameColour(t).forEach((c, ch) => expect(Math.abs(f[mid + ch]! - c)).toBeLessThanOrEqual(12));
      });
    }
  });

  it('a file that is not a video gives a clear error', async () => {
    const bad = path.join(work, 'bad.mp4');
    fs.writeFileSync(bad, 'not a video');
    await expect(decodeVideo(bad, { mode: 'fps', fps: 5 })).rejects.toThrow(/cannot decode video .*bad\.mp4/);
  });

  it('STUDIO_FFMPEG overrides the bundled binary, and must exist', () => {
    expect(ffmpegPath({ STUDIO_FFMPEG: ffmpegPath() })).toBe(ffmpegPath());
    expect(() => ffmpegPath({ STUDIO_FFMPEG: '/nope/ffmpeg' })).toThrow(/STUDIO_FFMPEG points at \/nope\/ffmpeg/);
  });
});
