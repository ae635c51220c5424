import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipKind, readClip, sampleIndexes } from '../../src-main/core/video/frameSources.js';
import { readSsv2Labels } from '../../src-main/core/video/ssv2Labels.js';
import { frameColour, makeClip } from '../helpers/makeClip.js';

describe('clips from videos, frame folders and animations', () => {
  let work: string;
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-clips-'));
    const frames = path.join(work, 'frames');
    fs.mkdirSync(frames);
    // Names sort numerically, not as text: frame_10 comes after frame_9.
    for (let t = 0; t < 12; t++) {
      const [r, g, b] = frameColour(t);
      await sharp({ create: { width: 20, height: 16, channels: 3, background: { r, g, b } } }).png().toFile(path.join(frames, `frame_${t}.png`));
    }
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('knows what a path is', () => {
    expect(clipKind(path.join(work, 'frames'))).toBe('frames');
    expect(clipKind('a.MP4')).toBe('video');
    // Theora in Ogg and MPEG program streams were once left out of the scan without a word.
    expect(['a.ogv', 'a.OGG', 'a.mpg', 'a.mpeg'].map(clipKind)).toEqual(['video', 'video', 'video', 'video']);
    expect(clipKind('a.gif')).toBe('animated');
    expect(clipKind('a.txt')).toBeNull();
  });

  it('samples frame indexes by rate or by segments', () => {
    expect(sampleIndexes(10, { mode: 'fps', fps: 1 })).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sampleIndexes(10, { mode: 'fps', fps: 5 }, 10)).toEqual([0, 2, 4, 6, 8]);
    expect(sampleIndexes(10, { mode: 'segments', count: 4 })).toEqual([1, 3, 6, 8]);
  });

  it('reads a folder of frames in numeric order', async () => {
    const clip = await readClip(path.join(work, 'frames'), { mode: 'segments', count: 3 });
    expect(clip.frameIndexes).toEqual([2, 6, 10]);
    expect(clip.frames.map((f) => [f[0], f[1], f[2]])).toEqual([2, 6, 10].map(frameColour));
    expect([clip.width, clip.height]).toEqual([20, 16]);
  });

  it('reads an animated GIF frame by frame', async () => {
    const gif = makeClip(path.join(work, 'anim.gif'), { frames: 6, fps: 10, codec: 'gif' });
    const clip = await readClip(gif, { mode: 'fps', fps: 10 });
    expect(clip.frames).toHaveLength(6);
    clip.frames.forEach((f, t) => frameColour(t).forEach((c, ch) => expect(Math.abs(f[ch]! - c)).toBeLessThanOrEqual(40)));
    // Colours change from frame to frame as drawn (GIF palettes are coarse, so compare order).
    expect(clip.frames[5]![0]!).toBeGreaterThan(clip.frames[0]![0]!);
  });

  it('refuses what is not a clip', async () => {
    await expect(readClip(path.join(work, 'notes.txt'), { mode: 'fps', fps: 1 })).rejects.toThrow(/is not a clip/);
    fs.mkdirSync(path.join(work, 'empty'));
    await expect(readClip(path.join(work, 'empty'), { mode: 'fps', fps: 1 })).rejects.toThrow(/No frames in/);
  });

  it('reads SSv2 labels, normalising template placeholders', () => {
    const file = path.join(work, 'labels.json');
    fs.writeFileSync(
      file,
      JSON.stringify([
        { id: '78687', label: 'holding potato next to vicks vaporub bottle', template: 'Holding [something] next to [something]', placeholders: ['potato', 'vicks'] },
        { id: 42326, label: 'spinning a cup', template: 'Spinning [Something] that quickly stops spinning' },
      ]),
    );
    const labels = readSsv2Labels(file);
    expect(labels.get('78687')).toEqual({ template: 'Holding [something] next to [something]', text: 'holding potato next to vicks vaporub bottle' });
    expect(labels.get('42326')!.template).toBe('Spinning [something] that quickly stops spinning');
    fs.writeFileSync(file, '{"not": "a list"}');
    expect(() => readSsv2Labels(file)).toThrow(/not an SSv2 label list/);
  });
});
