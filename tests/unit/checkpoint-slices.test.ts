import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { FeatureAccumulator } from '../../src-main/core/indexer/featureAccumulator.js';
import { DEFAULT_HISTOGRAM } from '../../src-main/core/indexer/histogram.js';
import { IndexReader } from '../../src-main/core/store/indexReader.js';
import { IndexWriter } from '../../src-main/core/store/indexWriter.js';
import { WalCheckpointer } from '../../src-main/core/store/walCheckpointer.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';

/** Everything a user sees of an index: the feature table, every feature page, the summary. */
function snapshot(dir: string) {
  const r = IndexReader.open('x', dir);
  try {
    const rows = r.queryFeatures({ indexId: 'x', sort: 'index', desc: false, offset: 0, limit: 1000 }).rows;
    const details = rows.map((row) => r.featureDetail(row.feature)).map((d) => ({
      exemplars: d.exemplars.map((e) => [e.item, e.value, e.patchMap]),
      ranges: d.rangeSamples!.map((x) => [x.lo, x.hi, x.count, x.items.map((e) => [e.item, e.value, e.patchMap])]),
    }));
    const s = r.summary();
    return { rows, details, tokens: s.tokens, items: s.items, skipped: s.skipped };
  } finally {
    r.close();
  }
}

function storedProgress(dir: string): { cursor: number; tokens: number } {
  const db = new Database(path.join(dir, 'index.sqlite'), { readonly: true });
  try {
    return JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'progress'").get() as { value: string }).value);
  } finally {
    db.close();
  }
}

describe('checkpoints written in slices while indexing goes on', () => {
  let work: string;
  let vit: TinyVit;
  let saePath: string;
  let dataDir: string;
  let base: Parameters<typeof runIndex>[0];
  let clean: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-slices-'));
    vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, registers: 0, seed: 5 });
    saePath = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 300, architecture: 'relu', seed: 4 });
    dataDir = (await makeImageFolder(path.join(work, 'data'), { perLabel: 6, corrupt: 1 })).dir;
    base = { model: vit.manifestPath, layer: 'block_0', sae: saePath, data: dataDir, topK: 4, batch: 2, provider: 'cpu', out: '' };
    clean = path.join(work, 'clean');
    await runIndex({ ...base, out: clean }, { checkpointIntervalMs: 0 });
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('a run whose checkpoints land a batch later, killed after the second, resumes to the same index', async () => {
    const out = path.join(work, 'sliced');
    const landed: number[] = [];
    await expect(
      runIndex({ ...base, out }, {
        checkpointIntervalMs: 1, // due after every batch, and written in slices (0 writes at once)
        afterCheckpoint: (cursor) => {
          landed.push(cursor);
          if (landed.length === 2) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    expect(landed[0]).toBeLessThan(landed[1]!);
    expect(storedProgress(out).cursor).toBe(landed[1]);
    await runIndex({ ...base, out }, { checkpointIntervalMs: 1 });
    expect(snapshot(out)).toEqual(snapshot(clean));
  });

  it('a checkpoint cut off between slices leaves the previous one; finished, it is all there', () => {
    const dir = path.join(work, 'cut');
    fs.cpSync(clean, dir, { recursive: true });
    const before = storedProgress(dir);
    const features = 300;
    const acc = new FeatureAccumulator(features, 16, 4, DEFAULT_HISTOGRAM);
    acc.count.fill(123457); // a state unlike the index's, so a partial write would show
    const map = new Float32Array(16).fill(0.5);
    acc.heaps.offer(features - 1, 1, 3, map, 0); // feature 299's exemplars at the checkpoint: item 3
    const progress = { cursor: 5, tokens: 999, activeEntries: 1, skipped: 0, provider: 'cpu', complete: false, thumbnailsDone: false };

    let writer = IndexWriter.open(dir);
    const cut = writer.beginCheckpoint(acc, progress, [], true);
    cut.step(0); // one slice (64 writes) of the 600 or so this checkpoint holds
    expect(cut.written).toBe(false);
    writer.close(); // a kill: the open transaction is rolled back
    expect(storedProgress(dir)).toEqual(before);
    let db = new Database(path.join(dir, 'index.sqlite'), { readonly: true });
    expect((db.prepare('SELECT COUNT(*) AS n FROM features WHERE count = 123457').get() as { n: number }).n).toBe(0);
    db.close();

    writer = IndexWriter.open(dir);
    const whole = writer.beginCheckpoint(acc, progress, [], true);
    whole.step(0);
    // A batch changes features 0 and 299 (not written yet): the checkpoint keeps the counts it
    // began with, and item 4 entering feature 299's top-k is packed away first (copy on write).
    acc.count[0] = 5;
    acc.count[features - 1] = 5;
    whole.freezeSamples(features - 1);
    acc.heaps.offer(features - 1, 9, 4, map, 0);
    let slices = 1;
    while (!whole.written) {
      whole.step(0);
      slices++;
    }
    expect(slices).toBeGreaterThan(5);
    whole.finish();
    writer.close();
    expect(storedProgress(dir).cursor).toBe(5);
    db = new Database(path.join(dir, 'index.sqlite'), { readonly: true });
    expect((db.prepare('SELECT COUNT(*) AS n FROM features WHERE count = 123457').get() as { n: number }).n).toBe(features);
    const ex = db.prepare('SELECT n, items FROM exemplars WHERE feature = ?').get(features - 1) as { n: number; items: Buffer };
    expect([ex.n, [...new Int32Array(ex.items.buffer.slice(ex.items.byteOffset, ex.items.byteOffset + ex.items.byteLength))]]).toEqual([1, [3]]);
    db.close();
  });

  it('a run whose WAL checkpoints a worker does ends with the same index and no log left', async () => {
    const out = path.join(work, 'wal-worker');
    const saved = IndexWriter.backgroundWalAfterMs;
    IndexWriter.backgroundWalAfterMs = 0; // from the first commit on, as a long build does after a minute
    const close = IndexWriter.prototype.close;
    const afterCommit = WalCheckpointer.prototype.afterCommit;
    let handedOver = false;
    IndexWriter.prototype.close = function (this: IndexWriter) {
      handedOver ||= this.checkpointsInBackground;
      close.call(this);
    };
    // The worker takes a moment to load (tsx here); the first commit waits for it, so the next
    // batches' commits run with the worker checkpointing beside them.
    WalCheckpointer.prototype.afterCommit = function (this: WalCheckpointer) {
      this.waitUntilReady(30_000);
      afterCommit.call(this);
    };
    try {
      // A checkpoint due after every batch: the worker starts at the first commit.
      await runIndex({ ...base, out }, { checkpointIntervalMs: 1 });
    } finally {
      IndexWriter.backgroundWalAfterMs = saved;
      IndexWriter.prototype.close = close;
      WalCheckpointer.prototype.afterCommit = afterCommit;
    }
    expect(handedOver).toBe(true);
    expect(snapshot(out)).toEqual(snapshot(clean));
    expect(fs.existsSync(path.join(out, 'index.sqlite-wal'))).toBe(false);
  });
});
