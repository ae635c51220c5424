import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IndexRequest } from '../../src-main/contract/index.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { mergeIndexParts } from '../../src-main/core/indexer/mergeParts.js';
import { runCli } from '../../src-main/hosts/cli/program.js';
import type { CliDeps } from '../../src-main/hosts/cli/context.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { makeClip } from '../helpers/makeClip.js';
import { writeSaevShards } from '../helpers/writeSaevShards.js';
import { expectSameIndex } from '../helpers/compareIndexes.js';

// A run split with --shard i/n and merged must equal one pass over all items: statistics,
// exemplars (ties broken alike), range samples, per-item rows, item statuses, temporal statistics
// and thumbnails; for images, videos (a group of two SAEs) and saev shards.

let work: string;
let vit: TinyVit;
let sae: string;
let otherSae: string;
let images: string;

async function indexParts(base: IndexRequest, n: number, dir: string): Promise<string[]> {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const out = path.join(dir, `part-${i}`);
    await runIndex({ ...base, shard: `${i}/${n}`, out }, { checkpointIntervalMs: 0 });
    parts.push(out);
  }
  return parts;
}

function itemsIndexedBy(dir: string): number[] {
  const db = new Database(path.join(dir, 'index.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT id FROM items WHERE status IN (1, 2) ORDER BY id').all() as { id: number }[]).map((r) => r.id);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-merge-'));
  vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 48, patchSize: 16, dModel: 16, cls: true, seed: 31, family: 'clip' });
  sae = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 48, architecture: 'topk', k: 4, seed: 5, format: 'safetensors' });
  otherSae = makeSae(path.join(work, 'sae2'), { dIn: 16, dSae: 48, architecture: 'topk', k: 4, seed: 6, format: 'safetensors' });
  images = (await makeImageFolder(path.join(work, 'images'), { labels: ['a', 'b', 'c'], perLabel: 7, corrupt: 1, seed: 12 })).dir;
}, 120_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('split image runs merge into the single run', () => {
  let base: IndexRequest;
  let single: string;
  beforeAll(async () => {
    base = { model: vit.manifestPath, layer: 'block_1', sae, data: images, out: '', topK: 3, batch: 4, provider: 'cpu' };
    single = path.join(work, 'single');
    await runIndex({ ...base, out: single }, { checkpointIntervalMs: 0 });
  }, 120_000);

  for (const n of [1, 2, 3, 7]) {
    it(`n = ${n} parts`, async () => {
      const parts = await indexParts(base, n, path.join(work, `img-parts-${n}`));
      // Each part indexed exactly its own items, and together every item once.
      const owned = parts.map(itemsIndexedBy);
      expect(owned.flat().sort((x, y) => x - y)).toEqual(itemsIndexedBy(single));
      if (n > 1) expect(owned.every((o) => o.length < itemsIndexedBy(single).length)).toBe(true);
      const merged = path.join(work, `img-merged-${n}`);
      const res = await mergeIndexParts(merged, [...parts].reverse());
      expect(res.parts).toBe(n);
      expect(res.skipped).toBe(1);
      const cmp = expectSameIndex(single, merged);
      expect(cmp.features).toBe(48);
      expect(cmp.exemplarEntries).toBeGreaterThan(48);
    }, 180_000);
  }

  it('a part killed after a checkpoint and resumed merges to the same index', async () => {
    const dir = path.join(work, 'killed');
    const killedOut = path.join(dir, 'part-1');
    let checkpoints = 0;
    await expect(
      runIndex({ ...base, batch: 2, shard: '1/3', out: killedOut }, {
        checkpointIntervalMs: 0,
        afterCheckpoint: () => {
          if (++checkpoints === 2) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    await runIndex({ ...base, shard: '1/3', out: killedOut }, { checkpointIntervalMs: 0 });
    const others = [0, 2].map(async (i) => {
      const out = path.join(dir, `part-${i}`);
      await runIndex({ ...base, shard: `${i}/3`, out }, { checkpointIntervalMs: 0 });
      return out;
    });
    const parts = [killedOut, ...(await Promise.all(others))];
    await mergeIndexParts(path.join(dir, 'merged'), parts);
    expectSameIndex(single, path.join(dir, 'merged'));
  }, 180_000);

  it('a resumed part refuses another --shard', async () => {
    const out = path.join(work, 'img-parts-2', 'part-0');
    await expect(runIndex({ ...base, shard: '1/2', out })).rejects.toThrow(/shard 0\/2 vs 1\/2/);
  });

  describe('refusals name the difference', () => {
    it('a different SAE, top-k or part count', async () => {
      const parts2 = [0, 1].map((i) => path.join(work, 'img-parts-2', `part-${i}`));
      const otherSaePart = path.join(work, 'other-sae-part-1');
      await runIndex({ ...base, sae: otherSae, shard: '1/2', out: otherSaePart });
      await expect(mergeIndexParts(path.join(work, 'm1'), [parts2[0]!, otherSaePart])).rejects.toThrow(/not a part of the same run.*SAE weights \(hash\): \w+ vs \w+/);
      const topKPart = path.join(work, 'topk-part-1');
      await runIndex({ ...base, topK: 5, shard: '1/2', out: topKPart });
      await expect(mergeIndexParts(path.join(work, 'm2'), [parts2[0]!, topKPart])).rejects.toThrow(/top-k: 3 vs 5/);
      const parts3 = [0, 1, 2].map((i) => path.join(work, 'img-parts-3', `part-${i}`));
      await expect(mergeIndexParts(path.join(work, 'm3'), [parts2[0]!, parts3[1]!])).rejects.toThrow(/number of parts: 2 vs 3/);
    }, 120_000);

    it('the same part twice, a missing part, an unfinished part, a whole index', async () => {
      const parts3 = [0, 1, 2].map((i) => path.join(work, 'img-parts-3', `part-${i}`));
      await expect(mergeIndexParts(path.join(work, 'm4'), [parts3[0]!, parts3[1]!, parts3[1]!])).rejects.toThrow(/both part 1\/3: give each part once/);
      await expect(mergeIndexParts(path.join(work, 'm5'), [parts3[0]!, parts3[2]!])).rejects.toThrow(/Part 1\/3 of 3 missing/);
      const unfinished = path.join(work, 'unfinished-part');
      await expect(
        runIndex({ ...base, batch: 2, shard: '1/3', out: unfinished }, {
          checkpointIntervalMs: 0,
          afterCheckpoint: () => {
            throw new Error('stopped');
          },
        }),
      ).rejects.toThrow('stopped');
      await expect(mergeIndexParts(path.join(work, 'm6'), [parts3[0]!, unfinished, parts3[2]!])).rejects.toThrow(/Part 1\/3 in .* is unfinished \(\d+ of 22 items\): run its studio index command again/);
      await expect(mergeIndexParts(path.join(work, 'm7'), [single])).rejects.toThrow(/is a whole index, not a part of a split run/);
      await expect(mergeIndexParts(path.join(work, 'm8'), [path.join(work, 'nowhere')])).rejects.toThrow(/holds no index \(index.sqlite missing\)/);
      // A FIFO where the database should be is refused before SQLite would block opening it.
      const fifoPart = path.join(work, 'fifo-part');
      fs.mkdirSync(fifoPart);
      expect(spawnSync('mkfifo', [path.join(fifoPart, 'index.sqlite')]).status).toBe(0);
      await expect(mergeIndexParts(path.join(work, 'm9'), [fifoPart])).rejects.toThrow(/index.sqlite is not a regular file/);
    }, 120_000);

    it('a finished merge run again is a no-op; an occupied folder is refused', async () => {
      const parts2 = [0, 1].map((i) => path.join(work, 'img-parts-2', `part-${i}`));
      const again = await mergeIndexParts(path.join(work, 'img-merged-2'), parts2);
      expect(again.alreadyMerged).toBe(true);
      await expect(mergeIndexParts(single, parts2)).rejects.toThrow(/already holds an index that is not a merge/);
    });
  });

  it('studio merge on the command line', async () => {
    const parts = [0, 1].map((i) => path.join(work, 'img-parts-2', `part-${i}`));
    let stdout = '';
    let stderr = '';
    const deps = {
      createBackend: () => Promise.reject(new Error('merge needs no backend')),
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env: {},
      onInterrupt: () => () => {},
      now: () => Date.now(),
      projectRoot: process.cwd(),
      buildRenderer: () => Promise.resolve(),
      openUrl: () => Promise.resolve({ opened: false, reason: 'test' }),
    } as unknown as CliDeps;
    const out = path.join(work, 'cli-merged');
    expect(await runCli(['merge', out, ...parts, '--json'], deps)).toBe(0);
    const res = JSON.parse(stdout) as { parts: number; items: number; skipped: number; features: number };
    expect(res).toMatchObject({ parts: 2, items: 21, skipped: 1, features: 48 });
    expectSameIndex(single, out);
    stdout = '';
    expect(await runCli(['merge', path.join(work, 'cli-bad'), parts[0]!], deps)).toBe(1);
    expect(stderr).toMatch(/error: Part 1\/2 of 2 missing/);

    // --devices: one `studio index --shard` process per device, one progress display, merged at the end.
    stdout = '';
    stderr = '';
    const multi = path.join(work, 'devices');
    const args = ['index', '--model', vit.manifestPath, '--layer', 'block_1', '--sae', sae, '--data', images, '--top-k', '3', '--batch', '4', '--devices', 'cpu,cpu,cpu', '--out', multi];
    expect(await runCli(args, { ...deps, env: { STUDIO_SETTINGS_DIR: path.join(work, 'settings') } }), stderr).toBe(0);
    expect(stderr).toMatch(/Indexing in 3 parts on cpu, cpu, cpu/);
    expect(stderr).not.toMatch(/@studio-progress/);
    expect(stdout).toMatch(/Indexed 21 items \(1 skipped\) in .* on 3 devices, merged into one index/);
    expectSameIndex(single, multi);
    expect(await runCli(['index', '--layer', 'x', '--sae', sae, '--data', images, '--model', 'm', '--devices', 'cpu,tpu:0', '--out', multi], deps)).toBe(2);
    expect(stderr).toMatch(/--devices takes a comma-separated list of cpu and cuda:N .* got "tpu:0"/);
  }, 120_000);
});

describe('split video runs (a group of two SAEs) merge into the single run', () => {
  it('n = 3 parts: statistics, traces and temporal statistics of both members', async () => {
    const clips = path.join(work, 'clips');
    for (const [i, codec] of ['ffv1', 'ffv1', 'gif', 'ffv1', 'gif'].entries()) {
      makeClip(path.join(clips, i % 2 ? 'moving' : 'still', `c${i}.${codec === 'gif' ? 'gif' : 'mkv'}`), { frames: 5 + i, codec, width: 24, height: 24 });
    }
    fs.writeFileSync(path.join(clips, 'still', 'broken.mkv'), 'not a video');
    const base: IndexRequest = { model: vit.manifestPath, layer: 'block_1', sae, saes: [otherSae], data: clips, out: '', frames: 4, topK: 2, provider: 'cpu' };
    const single = path.join(work, 'video-single');
    await runIndex({ ...base, out: single }, { checkpointIntervalMs: 0 });
    const parts = await indexParts(base, 3, path.join(work, 'video-parts'));
    const merged = path.join(work, 'video-merged');
    const res = await mergeIndexParts(merged, parts);
    expect(res.members.length).toBe(2);
    const members = fs.readdirSync(single).filter((d) => fs.existsSync(path.join(single, d, 'index.sqlite')));
    expect(members.length).toBe(2);
    for (const m of members) {
      const cmp = expectSameIndex(path.join(single, m), path.join(merged, m));
      expect(cmp.items).toBe(6);
    }
    expect(JSON.parse(fs.readFileSync(path.join(merged, 'group.json'), 'utf8'))).toEqual(JSON.parse(fs.readFileSync(path.join(single, 'group.json'), 'utf8')));
  }, 300_000);
});

describe('split runs over saev shards merge into the single run', () => {
  it('n = 3 parts', async () => {
    const shards = path.join(work, 'shards');
    const clean = (await makeImageFolder(path.join(work, 'clean-images'), { labels: ['a', 'b'], perLabel: 9, seed: 14 })).dir;
    await writeSaevShards({ manifestPath: vit.manifestPath, layers: ['block_1'], images: clean, out: shards, examplesPerShard: 5 });
    const base: IndexRequest = { shards, images: clean, model: vit.manifestPath, layer: '1', sae, out: '', topK: 3, batch: 4 };
    const single = path.join(work, 'shards-single');
    await runIndex({ ...base, out: single }, { checkpointIntervalMs: 0 });
    const parts = await indexParts(base, 3, path.join(work, 'shards-parts'));
    await mergeIndexParts(path.join(work, 'shards-merged'), parts);
    const cmp = expectSameIndex(single, path.join(work, 'shards-merged'));
    expect(cmp.items).toBe(18);
  }, 180_000);
});
