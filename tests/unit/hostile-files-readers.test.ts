// The rest of the readers that take a user's path: a FIFO (or device) where a video, a frame, a
// label file, saev shard metadata, a task head's JSON or a tag file to import should be is a
// one-line refusal naming the file, at once, never a wait for a writer that never comes.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSaevShards } from '../../src-main/core/dataset/saevShards.js';
import { loadTaskHead } from '../../src-main/core/intervene/taskHead.js';
import { probeVideo } from '../../src-main/core/video/decodeVideo.js';
import { readClip } from '../../src-main/core/video/frameSources.js';
import { readSsv2Labels } from '../../src-main/core/video/ssv2Labels.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-readers-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function fifoAt(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  execFileSync('mkfifo', [file]);
  return file;
}

/** Settles within `ms` or fails naming what hung. */
async function settles(run: () => Promise<unknown> | unknown, ms: number): Promise<unknown> {
  return Promise.race([
    Promise.resolve().then(run).then(
      () => new Error('expected a refusal'),
      (err: unknown) => err,
    ),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`hung for ${ms} ms`)), ms).unref()),
  ]);
}

const posix = process.platform !== 'win32';

describe.runIf(posix)('readers refuse FIFOs by name', () => {
  it('a video handed to ffmpeg', async () => {
    const file = fifoAt(path.join(work, 'clips', 'a.mp4'));
    const err = (await settles(() => probeVideo(file), 5000)) as Error;
    expect(err.message).toBe(`video ${file} is a FIFO (named pipe), not a regular file`);
  });

  it('a still frame of a frame folder, and an animated image', async () => {
    const dir = path.join(work, 'frames');
    fs.mkdirSync(dir);
    const frame = fifoAt(path.join(dir, '0001.png'));
    expect(((await settles(() => readClip(dir, { mode: 'segments', count: 1 }), 5000)) as Error).message).toContain(`${frame} is a FIFO`);
    const gif = fifoAt(path.join(work, 'anim.gif'));
    expect(((await settles(() => readClip(gif, { mode: 'segments', count: 1 }), 5000)) as Error).message).toContain(`${gif} is a FIFO`);
  });

  it('SSv2 labels, saev shard metadata and a task head', async () => {
    const labels = fifoAt(path.join(work, 'ssv2.json'));
    expect(((await settles(() => readSsv2Labels(labels), 5000)) as Error).message).toContain(`label file ${labels} is a FIFO`);

    const shards = path.join(work, 'shards');
    fs.mkdirSync(shards);
    const meta = fifoAt(path.join(shards, 'metadata.json'));
    expect(((await settles(() => readSaevShards(shards), 5000)) as Error).message).toContain(`${meta} is a FIFO`);

    const head = path.join(work, 'head');
    const spec = fifoAt(path.join(head, 'head.json'));
    expect(((await settles(() => loadTaskHead(head), 5000)) as Error).message).toContain(`${spec} is a FIFO`);
  });
});
