// Benchmark (not a test): what splitting an indexing run costs (issue 20).
//
//   npm run bench:merge [-- --items 20000 --parts 4 --features 16384,100000 --patches 16 --d 64 --k 20]
//
// On the same synthetic saev shards (scripts/lib/syntheticShards.ts) and TopK SAE, per feature
// count: one whole `studio index` run; the same run as n `studio index --shard i/n` parts one
// after another (on a cluster they run at once, so their sum is the CPU a split run spends and
// their maximum its wall time); and `studio merge` of the parts. Prints CPU, wall time and peak
// RSS of each, the ratio parts ÷ whole (what splitting costs), merge time and memory against
// features and items, and checks that the merged index equals the whole run (exemplar blobs,
// counts, histograms identical; float64 sums within 1e-12).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { makeSae } from '../tests/helpers/makeSae.js';
import { folderBytes, timedStudio, writeSyntheticShards, type TimedRun } from './lib/syntheticShards.js';
import { arg } from './lib/benchArgs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Distinct from every test's seed and from bench:scale's. */
const SEED = 0x20e4a9c3;

const numbers = (s: string) => s.split(',').map((x) => Number(x.trim()));
const itemSizes = numbers(arg('items', '20000'));
const parts = Number(arg('parts', '4'));
const featureSizes = numbers(arg('features', '16384'));
const patches = Number(arg('patches', '16'));
const d = Number(arg('d', '64'));
const k = Number(arg('k', '20'));
const work = path.resolve(arg('work', fs.mkdtempSync(path.join(os.tmpdir(), 'bench-merge-'))));
const keep = process.argv.includes('--work');
const env = { ...process.env, STUDIO_SETTINGS_DIR: path.join(work, 'settings') };

interface Row {
  items: number;
  features: number;
  whole: TimedRun;
  partRuns: TimedRun[];
  merge: TimedRun;
  diskMB: number;
  same: string;
}

/** Merged vs whole: identical integer statistics and blobs, float64 sums within 1e-12 relative. */
function compare(whole: string, merged: string): string {
  const a = new Database(path.join(whole, 'index.sqlite'), { readonly: true });
  const b = new Database(path.join(merged, 'index.sqlite'), { readonly: true });
  try {
    const fa = a.prepare('SELECT id, count, sum, max, hist FROM features ORDER BY id').all() as { id: number; count: number; sum: number; max: number; hist: Buffer }[];
    const fb = b.prepare('SELECT id, count, sum, max, hist FROM features ORDER BY id').all() as typeof fa;
    let worst = 0;
    for (let i = 0; i < fa.length; i++) {
      const x = fa[i]!;
      const y = fb[i]!;
      if (x.count !== y.count || x.max !== y.max || !x.hist.equals(y.hist)) return `NO: feature ${x.id} statistics differ`;
      worst = Math.max(worst, Math.abs(x.sum - y.sum) / Math.max(1e-300, Math.abs(x.sum)));
    }
    const exemplars = (db: Database.Database) =>
      db.prepare('SELECT feature, items, vals, maps FROM exemplars ORDER BY feature').all() as { feature: number; items: Buffer; vals: Buffer; maps: Buffer }[];
    const ea = exemplars(a);
    const eb = exemplars(b);
    for (let i = 0; i < ea.length; i++) {
      const x = ea[i]!;
      const y = eb[i];
      if (!y || !x.items.equals(y.items) || !x.vals.equals(y.vals) || !x.maps.equals(y.maps)) return `NO: feature ${x.feature} exemplars differ`;
    }
    return worst <= 1e-12 ? `yes (sums within ${worst.toExponential(1)})` : `NO: sums differ by ${worst.toExponential(1)}`;
  } finally {
    a.close();
    b.close();
  }
}

function run(items: number, features: number): Row {
  const shards = writeSyntheticShards({ dir: path.join(work, `shards-${items}x${patches}x${d}`), items, patches, d, seed: SEED });
  const sae = makeSae(path.join(work, 'saes'), { dIn: d, dSae: features, architecture: 'topk', k, seed: SEED % 1000, format: 'safetensors', name: `sae-${features}` });
  const base = ['index', '--shards', shards, '--layer', '0', '--sae', sae];
  const tag = `${items}-${features}`;
  const wholeDir = path.join(work, `whole-${tag}`);
  fs.rmSync(wholeDir, { recursive: true, force: true });
  const whole = timedStudio(REPO, [...base, '--out', wholeDir], env);
  const partDirs: string[] = [];
  const partRuns: TimedRun[] = [];
  for (let i = 0; i < parts; i++) {
    const dir = path.join(work, `parts-${tag}`, `part-${i}`);
    fs.rmSync(dir, { recursive: true, force: true });
    partRuns.push(timedStudio(REPO, [...base, '--shard', `${i}/${parts}`, '--out', dir], env));
    partDirs.push(dir);
  }
  const mergedDir = path.join(work, `merged-${tag}`);
  fs.rmSync(mergedDir, { recursive: true, force: true });
  const merge = timedStudio(REPO, ['merge', mergedDir, ...partDirs], env);
  return { items, features, whole, partRuns, merge, diskMB: folderBytes(mergedDir) / 1e6, same: compare(wholeDir, mergedDir) };
}

function main(): void {
  console.log(`bench:merge: ${parts} parts, ${patches} patches/item, d=${d}, TopK k=${k}, synthetic saev shards (seed ${SEED.toString(16)}), ${os.cpus().length} cores`);
  console.log(`work folder: ${work}\n`);
  const rows: Row[] = [];
  for (const items of itemSizes) for (const features of featureSizes) rows.push(run(items, features));
  const f1 = (x: number) => x.toFixed(1);
  const header = ['items', 'features', 'whole CPU s', 'whole wall s', `${parts} parts CPU s`, 'parts ÷ whole CPU', 'slowest part wall s', 'merge wall s', 'merge CPU s', 'merge peak RSS MiB', 'whole peak RSS MiB', 'index MB', 'merged = whole'];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const r of rows) {
    const partsCpu = r.partRuns.reduce((s, p) => s + p.cpuS, 0);
    const slowest = Math.max(...r.partRuns.map((p) => p.wallS));
    console.log(
      `| ${r.items} | ${r.features} | ${f1(r.whole.cpuS)} | ${f1(r.whole.wallS)} | ${f1(partsCpu)} | ${(partsCpu / r.whole.cpuS).toFixed(2)} | ${f1(slowest)} | ` +
        `${f1(r.merge.wallS)} | ${f1(r.merge.cpuS)} | ${r.merge.peakRssMiB.toFixed(0)} | ${r.whole.peakRssMiB.toFixed(0)} | ${r.diskMB.toFixed(0)} | ${r.same} |`,
    );
  }
  if (rows.length > 1) {
    const a = rows[0]!;
    const b = rows[rows.length - 1]!;
    console.log(
      `\ngrowth from ${a.items}x${a.features} to ${b.items}x${b.features}: merge wall x${(b.merge.wallS / a.merge.wallS).toFixed(2)}, ` +
        `merge RSS x${(b.merge.peakRssMiB / a.merge.peakRssMiB).toFixed(2)} (items x${(b.items / a.items).toFixed(1)}, features x${(b.features / a.features).toFixed(1)})`,
    );
  }
  if (!keep) fs.rmSync(work, { recursive: true, force: true });
}

main();
