// Benchmark (not a test): memory and disk of an index build at ViT-B/16 geometry (issue 19).
//
//   npx tsx scripts/bench-build-memory.ts [--items 500,1500] [--patches 256] [--features 32768]
//                                         [--d 64] [--k 20] [--budget 1024] [--src DIR]
//
// Writes synthetic saev shards (CLS + `patches` tokens per item: Gaussian noise plus one of a few
// hundred concept directions, so features fire on a few patches of an item as real TopK codes do)
// and a TopK SAE, then builds an index from them at each item count in a child process under
// /usr/bin/time, and prints: peak RSS, index size on disk (and the largest the folder got while
// building, WAL included), bytes per exemplar patch map, and the longest stall between progress
// reports and the longest time a checkpoint held indexing up outside the encoder's own time (the
// writes after the last batch are left out; see child()). RSS that stays flat as items grow is the
// point. --src DIR builds with another source tree (e.g. `git archive HEAD | tar -x -C DIR` with
// node_modules linked) to compare before/after on the same shards.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { folderBytes, writeSyntheticShards } from './lib/syntheticShards.js';
import { makeSae } from '../tests/helpers/makeSae.js';
import { arg } from './lib/benchArgs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SEED = 0x5ca1ab1e;

/** Child mode: build one index with the given tree's runIndex and report the progress stalls. */
async function child(): Promise<void> {
  const [src, shards, sae, out, budget] = process.argv.slice(3) as [string, string, string, string, string];
  const load = async (rel: string) => (fs.existsSync(path.join(src, rel)) ? await import(pathToFileURL(path.join(src, rel)).href) : null);
  const { runIndex } = (await load('src-main/core/indexer/runIndex.ts')) as typeof import('../src-main/core/indexer/runIndex.js');
  // What checkpoints cost the run's own thread, wrapped from outside so that trees before and
  // after sliced checkpoints are measured alike. Each call is recorded with the number of encoder
  // calls begun so far. Steps run while the encoder works on its own threads (overlapped, by
  // design); everything else holds indexing up: beginning a checkpoint, packing samples a batch is
  // about to change (summed per batch), and finishing one outside the encoder's time. The write
  // after the last batch (finishing the last checkpoint, then the complete final one) is left
  // out: no inference is left to hold up.
  // Kept as running maxima, not a list of calls: a million-item run makes millions of calls, and
  // the list (about 14 MiB there) counted in the RSS this bench reports.
  const longest: Record<string, number> = {};
  let encodes = 0;
  let finalWrite = false;
  /** freezeSamples summed over the current batch, and finish calls since the last encode. */
  let batchFreeze = 0;
  let finishSinceEncode = 0;
  const commitBatch = () => {
    if (batchFreeze > 0) longest['freezeSamples per batch'] = Math.max(longest['freezeSamples per batch'] ?? 0, batchFreeze);
    if (finishSinceEncode > 0) longest.finish = Math.max(longest.finish ?? 0, finishSinceEncode);
    batchFreeze = 0;
    finishSinceEncode = 0;
  };
  const record = (name: string, ms: number) => {
    if (name === 'freezeSamples') batchFreeze += ms;
    else if (name === 'finish') finishSinceEncode = Math.max(finishSinceEncode, ms);
    else longest[name] = Math.max(longest[name] ?? 0, ms);
  };
  const timeCalls = (proto: Record<string, unknown> | undefined, name: string, isFinal: (args: unknown[]) => boolean = () => false) => {
    const orig = proto?.[name] as ((...a: unknown[]) => unknown) | undefined;
    if (!proto || !orig) return;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      const final = isFinal(args);
      const t0 = performance.now();
      const r = orig.apply(this, args);
      if (!final && !finalWrite) record(name, performance.now() - t0);
      return r;
    };
  };
  const writerProto = ((await load('src-main/core/store/indexWriter.ts')) as { IndexWriter: { prototype: Record<string, unknown> } }).IndexWriter.prototype;
  const sliceProto = ((await load('src-main/core/store/checkpointWrite.ts')) as { CheckpointWrite: { prototype: Record<string, unknown> } } | null)?.CheckpointWrite.prototype;
  const encoderProto = ((await load('src-main/core/sae/encoderSession.ts')) as { SaeEncoderSession: { prototype: Record<string, unknown> } }).SaeEncoderSession.prototype;
  const encode = encoderProto.encode as (...a: unknown[]) => unknown;
  encoderProto.encode = function (this: unknown, ...args: unknown[]) {
    commitBatch();
    encodes++;
    return encode.apply(this, args);
  };
  timeCalls(writerProto, 'checkpoint', (a) => (finalWrite = a[3] === true));
  timeCalls(writerProto, 'beginCheckpoint', (a) => a[3] === true);
  timeCalls(sliceProto, 'step');
  timeCalls(sliceProto, 'finish');
  timeCalls(sliceProto, 'freeze');
  timeCalls(sliceProto, 'freezeSamples');
  /** Finishing after the last batch is left out (batchFreeze of the last batch still counts). */
  const summarise = () => {
    finishSinceEncode = 0;
    commitBatch();
    const blocking = Object.entries(longest).filter(([k]) => k !== 'step').map(([, v]) => v);
    const byCall = { ...longest };
    if (byCall.step !== undefined) {
      byCall['step (overlaps the encoder)'] = byCall.step;
      delete byCall.step;
    }
    return { longestCheckpointMs: Math.max(0, ...blocking), longestByCall: Object.fromEntries(Object.entries(byCall).map(([k, v]) => [k, Math.round(v)])) };
  };
  // Where the memory is, sampled: V8's heap, and memory outside it (ArrayBuffers, native).
  const heap = { usedMiB: 0, externalMiB: 0 };
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    heap.usedMiB = Math.max(heap.usedMiB, m.heapUsed / 2 ** 20);
    heap.externalMiB = Math.max(heap.externalMiB, m.external / 2 ** 20);
  }, 1000);
  // Gaps between consecutive 'indexing' reports (every 250 ms while batches flow): a longer one
  // is a batch or a checkpoint holding the run up.
  let last = 0;
  let longestGap = 0;
  const t0 = Date.now();
  await runIndex(
    { shards, layer: '0', sae, out, memoryBudget: Number(budget) },
    {
      onProgress: (p) => {
        const now = Date.now();
        if (p.phase !== 'indexing') return;
        if (last > 0 && p.done > 0) longestGap = Math.max(longestGap, now - last);
        last = now;
      },
    },
  );
  clearInterval(sampler);
  process.stdout.write(`CHILD ${JSON.stringify({ longestStallMs: longestGap, ...summarise(), heapUsedMiB: Math.round(heap.usedMiB), externalMiB: Math.round(heap.externalMiB), wallS: (Date.now() - t0) / 1000 })}\n`);
}



interface Result {
  items: number;
  peakRssMiB: number;
  cpuS: number;
  diskMB: number;
  peakDiskMB: number;
  mapBytes: number;
  maps: number;
  longestStallMs: number;
  longestCheckpointMs: number;
  longestByCall: Record<string, number>;
  heapUsedMiB: number;
  externalMiB: number;
}

async function build(src: string, shards: string, sae: string, out: string, budget: number, items: number): Promise<Result> {
  fs.rmSync(out, { recursive: true, force: true });
  const tsx = path.join(REPO, 'node_modules/.bin/tsx');
  const proc = spawn('/usr/bin/time', ['-f', 'BENCH %U %S %M', tsx, fileURLToPath(import.meta.url), '--child', src, shards, sae, out, String(budget)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  let peakDisk = 0;
  const poll = setInterval(() => (peakDisk = Math.max(peakDisk, folderBytes(out))), 100);
  const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
  clearInterval(poll);
  const line = stderr.split('\n').find((l) => l.startsWith('BENCH '));
  const childLine = stdout.split('\n').find((l) => l.startsWith('CHILD '));
  if (code !== 0 || !line || !childLine) throw new Error(`build failed (${code}):\n${stderr.slice(-3000)}`);
  const [user, sys, rssKb] = line.slice(6).split(' ').map(Number) as [number, number, number];
  const reported = JSON.parse(childLine.slice(6)) as Pick<Result, 'longestStallMs' | 'longestCheckpointMs' | 'longestByCall' | 'heapUsedMiB' | 'externalMiB'>;
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(path.join(out, 'index.sqlite'), { readonly: true });
  const row = db.prepare('SELECT SUM(length(maps)) AS bytes, SUM(n) AS maps FROM exemplars').get() as { bytes: number; maps: number };
  db.close();
  return { items, peakRssMiB: rssKb / 1024, cpuS: user + sys, diskMB: folderBytes(out) / 1e6, peakDiskMB: Math.max(peakDisk, folderBytes(out)) / 1e6, mapBytes: row.bytes, maps: row.maps, ...reported };
}

async function main(): Promise<void> {
  const itemSizes = arg('items', '500,1500').split(',').map(Number);
  const patches = Number(arg('patches', '256'));
  const features = Number(arg('features', '32768'));
  const d = Number(arg('d', '64'));
  const k = Number(arg('k', '20'));
  const budget = Number(arg('budget', '1024'));
  const src = path.resolve(arg('src', REPO));
  const work = path.resolve(arg('work', path.join(os.tmpdir(), 'bench-build-memory')));
  fs.mkdirSync(work, { recursive: true });
  const sae = makeSae(path.join(work, 'saes'), { dIn: d, dSae: features, architecture: 'topk', k, seed: 7, format: 'safetensors', name: `topk-${features}` });
  console.log(`${features} features (TopK k=${k}), d=${d}, ${patches} patches, budget ${budget} MiB, source tree ${src}`);
  const results: Result[] = [];
  for (const items of itemSizes) {
    const shards = path.join(work, `shards-${items}x${patches}x${d}`);
    writeSyntheticShards({ dir: shards, items, patches, d, seed: SEED, conceptShare: 0.3, popularity: 'uniform' });
    const r = await build(src, shards, sae, path.join(work, `index-${items}`), budget, items);
    results.push(r);
    console.log(
      `${String(items).padStart(7)} items: peak RSS ${r.peakRssMiB.toFixed(0)} MiB (sampled peaks: V8 heap ${r.heapUsedMiB} MiB, outside it ${r.externalMiB} MiB), CPU ${r.cpuS.toFixed(1)} s, disk ${r.diskMB.toFixed(1)} MB (peak ${r.peakDiskMB.toFixed(1)} MB), ` +
        `patch maps ${(r.mapBytes / 1e6).toFixed(1)} MB = ${(r.mapBytes / Math.max(1, r.maps)).toFixed(0)} B per map (float16 dense: ${patches * 2} B), longest progress stall ${r.longestStallMs} ms, longest checkpoint block outside the encoder ${r.longestCheckpointMs.toFixed(0)} ms ` +
        `(longest, ms: ${Object.entries(r.longestByCall).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    );
  }
  if (results.length >= 2) {
    const a = results[0]!;
    const b = results[results.length - 1]!;
    console.log(`items ×${(b.items / a.items).toFixed(1)}: peak RSS ×${(b.peakRssMiB / a.peakRssMiB).toFixed(2)}, disk ×${(b.diskMB / a.diskMB).toFixed(2)}`);
  }
}

if (process.argv[2] === '--child') await child();
else await main();
