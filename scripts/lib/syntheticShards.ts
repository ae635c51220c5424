// Synthetic saev activation shards for benchmarks (not tests): float32 [examples, 1 layer,
// CLS + patches, d], protocol 2.0 metadata. Each patch token is Gaussian noise plus one of a few
// hundred "concept" directions drawn with a Zipf-like popularity, so a TopK SAE's feature
// frequencies spread over decades, as real ones do. Deterministic in (items, patches, d, seed).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { mulberry32 } from '../../src-main/core/util/prng.js';

export interface ShardSpecOptions {
  dir: string;
  items: number;
  patches: number;
  d: number;
  seed: number;
  /** Fraction of an item's patches that carry one of its two concepts (default 0.7). */
  conceptShare?: number;
  /** How items pick concepts: Zipf-like 1/(c+1) weights (default) or uniformly. */
  popularity?: 'zipf' | 'uniform';
}

/** Writes the shards into `dir` unless they are already there; returns `dir`. */
export function writeSyntheticShards({ dir, items, patches, d, seed, conceptShare = 0.7, popularity = 'zipf' }: ShardSpecOptions): string {
  if (fs.existsSync(path.join(dir, 'shards.json'))) return dir;
  fs.mkdirSync(dir, { recursive: true });
  const random = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const concepts = 512;
  const directions = Float32Array.from({ length: concepts * d }, () => gauss() * 2.5);
  // Zipf-like popularity: concept c drawn with weight 1 / (c + 1).
  const cumulative = new Float64Array(concepts);
  for (let c = 0, s = 0; c < concepts; c++) cumulative[c] = s += 1 / (c + 1);
  const pick = () => {
    if (popularity === 'uniform') return Math.floor(random() * concepts);
    const u = random() * cumulative[concepts - 1]!;
    let lo = 0;
    let hi = concepts - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const tokens = patches + 1;
  const perShard = Math.max(1, Math.floor((64 << 20) / (tokens * d * 4)));
  const shards: { name: string; n_ex: number }[] = [];
  for (let first = 0, s = 0; first < items; first += perShard, s++) {
    const count = Math.min(perShard, items - first);
    const data = new Float32Array(count * tokens * d);
    for (let e = 0; e < count; e++) {
      // Each item shows two concepts; its patches carry one of them or background noise.
      const own = [pick(), pick()];
      for (let t = 0; t < tokens; t++) {
        const o = (e * tokens + t) * d;
        const c = random() < conceptShare ? own[t % 2]! : -1;
        for (let j = 0; j < d; j++) data[o + j] = gauss() + (c >= 0 ? directions[c * d + j]! : 0);
      }
    }
    const name = `acts${String(s).padStart(6, '0')}.bin`;
    fs.writeFileSync(path.join(dir, name), Buffer.from(data.buffer));
    shards.push({ name, n_ex: count });
  }
  const metadata = {
    family: 'clip',
    ckpt: 'synthetic',
    layers: [0],
    patches_per_ex: patches,
    cls_token: true,
    d_model: d,
    n_ex: items,
    patches_per_shard: perShard * tokens,
    data: {},
    dtype: 'float32',
    protocol: '2.0',
  };
  fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify(metadata));
  fs.writeFileSync(path.join(dir, 'shards.json'), JSON.stringify(shards));
  return dir;
}

export interface TimedRun {
  cpuS: number;
  wallS: number;
  peakRssMiB: number;
  stdout: string;
}

/** Runs the studio CLI under /usr/bin/time: CPU of all threads, wall time and peak RSS. */
export function timedStudio(repo: string, args: string[], env: NodeJS.ProcessEnv = process.env): TimedRun {
  const run = spawnSync('/usr/bin/time', ['-f', 'BENCH %U %S %e %M', process.execPath, path.join(repo, 'bin/studio.mjs'), ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env,
  });
  const line = run.stderr.split('\n').find((l) => l.startsWith('BENCH '));
  if (run.status !== 0 || !line) throw new Error(`studio ${args[0]} failed (${run.status}):\n${run.stderr.slice(-3000)}`);
  const [user, sys, wall, rssKb] = line.slice(6).split(' ').map(Number) as [number, number, number, number];
  return { cpuS: user + sys, wallS: wall, peakRssMiB: rssKb / 1024, stdout: run.stdout };
}

/** Bytes under `dir`; tolerates files that vanish while it walks (SQLite's WAL during a build). */
export function folderBytes(dir: string): number {
  let total = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    try {
      total += e.isDirectory() ? folderBytes(p) : fs.statSync(p).size;
    } catch {
      // gone since the listing
    }
  }
  return total;
}
