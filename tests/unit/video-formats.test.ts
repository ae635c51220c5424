import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeVideo } from '../../src-main/core/video/decodeVideo.js';
import { clipKind, VIDEO_EXTENSIONS } from '../../src-main/core/video/frameSources.js';
import { scanClipFolder } from '../../src-main/core/indexer/sources/videoClipSource.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { frameColour, makeClip } from '../helpers/makeClip.js';

// Every common container the bundled ffmpeg decodes is a clip, and every other file in a clip
// folder is counted and named as skipped (the issue: 8 files, 7 items, "0 skipped").

/** [file name, encoder, frame rate]: one real file per extension, written by the bundled ffmpeg. */
const CONTAINERS: [string, string, number][] = [
  ['a.mp4', 'libx264', 10],
  ['b.m4v', 'libx264', 10],
  ['c.mov', 'mpeg4', 10],
  ['d.mkv', 'ffv1', 10],
  ['e.webm', 'libvpx', 10],
  ['f.avi', 'mpeg4', 10],
  ['g.mpg', 'mpeg1video', 25],
  ['h.mpeg', 'mpeg2video', 25],
  ['i.ogv', 'libtheora', 10],
  ['j.ogg', 'libtheora', 10],
  ['k.wmv', 'wmv2', 10],
  ['l.flv', 'flv', 10],
  ['m.3gp', 'h263', 10],
];

describe('video containers and the clip folder scan', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-formats-'));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('decodes one real file of every listed common container, frame by frame', async () => {
    for (const [name, codec, fps] of CONTAINERS) {
      expect(VIDEO_EXTENSIONS).toContain(path.extname(name));
      expect(clipKind(name)).toBe('video');
      // H.263 (3gp) only takes a few sizes, 128x96 among them, and given no pixel aspect it
      // writes its default 12:11 (which we would honour: 140x96); square pixels are stated here.
      const file = makeClip(path.join(work, 'all', name), { frames: 6, fps, codec, width: 128, height: 96, sar: '1/1' });
      const d = await decodeVideo(file, { mode: 'fps', fps });
      expect([name, d.frames.length, d.width, d.height]).toEqual([name, 6, 128, 96]);
      d.frames.forEach((f, t) => {
        const mid = (48 * 128 + 64) * 3;
        frameColour(t).forEach((c, ch) => expect([name, t, Math.abs(f[mid + ch]! - c) <= 16]).toEqual([name, t, true]));
      });
    }
  }, 60_000);

  it('lists files that are not clips as items to skip, with a reason; hidden files and the labels file stay out', () => {
    const root = path.join(work, 'scan');
    makeClip(path.join(root, 'cats', 'a.ogv'), { frames: 3, codec: 'libtheora' });
    makeClip(path.join(root, 'cats', 'b.mp4'), { frames: 3, codec: 'libx264' });
    fs.writeFileSync(path.join(root, 'cats', 'notes.txt'), 'hello');
    fs.writeFileSync(path.join(root, 'still.png'), 'x');
    fs.writeFileSync(path.join(root, '.DS_Store'), 'x');
    fs.writeFileSync(path.join(root, 'labels.json'), '[]');
    const s = scanClipFolder(root, path.join(root, 'labels.json'));
    expect(s.items.toArray().map((i) => i.path)).toEqual(['cats/a.ogv', 'cats/b.mp4', 'cats/notes.txt', 'still.png']);
    expect([...s.notClips].sort()).toEqual(['cats/notes.txt', 'still.png']);
    // Without the labels file named, it is just another file that is not a clip.
    expect(scanClipFolder(root).notClips.size).toBe(3);
    // A folder of only still frames is a clip, not a dataset: say so rather than skipping every frame.
    const frames = path.join(work, 'frames-only');
    fs.mkdirSync(frames);
    for (const n of ['0.png', '1.png']) fs.writeFileSync(path.join(frames, n), 'x');
    expect(() => scanClipFolder(frames)).toThrow(/holds 2 still images: if they are the frames of one clip, choose the folder above it/);
  });

  it('indexes 8 clips in 8 containers, .ogv included, and names the one other file as skipped', async () => {
    const data = path.join(work, 'eight');
    for (const [name, codec, fps] of CONTAINERS.slice(0, 9).filter(([n]) => n !== 'h.mpeg')) {
      makeClip(path.join(data, name), { frames: 4, fps, codec, width: 32, height: 32 });
    }
    fs.writeFileSync(path.join(data, 'README.txt'), 'what these clips are');
    const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 16, patchSize: 8, dModel: 16, cls: true, seed: 3 });
    const sae = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 24, architecture: 'topk', k: 3, seed: 1, name: 'standard' });
    const out = path.join(work, 'idx');
    const res = await runIndex({ model: vit.manifestPath, layer: 'block_1', sae, data, out, frames: 2, topK: 3, provider: 'cpu' });
    expect(res).toMatchObject({ items: 8, skipped: 1 });
    const r = IndexReader.open('formats', out);
    try {
      expect(r.summary()).toMatchObject({ kind: 'videos', items: 8, skipped: 1 });
      const skipped = r.skipped();
      expect(skipped.map((s) => s.item)).toEqual(['README.txt']);
      expect(skipped[0]!.reason).toMatch(/^not a video, animated GIF\/WebP or folder of frames \(\.txt;/);
      // Code-unit order: 'README.txt' sorts before the lower-case names.
      expect(r.itemPath(8)).toBe('i.ogv');
    } finally {
      r.close();
    }
  }, 120_000);
});
