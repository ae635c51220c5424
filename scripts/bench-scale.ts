// Benchmark (not a test): the studio at the scale of real vision SAEs (issue 19).
//
//   npm run bench:scale [-- --items 10000 --patches 16 --features 16384,100000 --d 64 --k 20]
//
// Writes synthetic saev activation shards (float32 [examples, 1 layer, CLS + patches, d]: each
// patch token is Gaussian noise plus one of a few hundred "concept" directions drawn with a
// Zipf-like popularity, so feature frequencies spread over decades), a TopK SAE (L0 = k) per
// feature count, builds each index through the real CLI (`studio index --shards`) under
// /usr/bin/time, then opens it in the core service and times what the app asks for: every sort
// (each sortable column, both directions) and every filter the table offers at offsets 0, middle
// and last page, the total after a tag change, the scatter payload, a feature page, similar
// features and a match. With two sizes (two --items or two --features values) a growth column
// shows how each figure grows.
//
// Sizes are lists: --items 10000,100000 --features 16384 gives two runs. Defaults run in a few
// minutes on two cores. Query figures are medians over --rounds (3) fresh services, so the first
// page of each order is measured cold every round. --src DIR times another source tree's service
// (e.g. `git archive` of an older commit, with node_modules linked) on the same indexes; --work
// DIR keeps shards and indexes between runs (reused when present); --match-features 0 skips the
// match; --clock cpu times queries in CPU ms instead of wall ms (for a machine busy with other work).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { scatterWire, type FeatureFilter, type FeatureSortKey } from '../src-main/contract/index.js';
import type { StudioService } from '../src-main/core/service.js';
import { folderBytes, timedStudio, writeSyntheticShards } from './lib/syntheticShards.js';
import { makeSae } from '../tests/helpers/makeSae.js';
import { arg } from './lib/benchArgs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Distinct from every test's seed, so the bench never measures data a test was tuned on. */
const SEED = 0x19b5ca1e;
const PAGE = 100;

const numbers = (s: string) => s.split(',').map((x) => Number(x.trim()));

const itemSizes = numbers(arg('items', '10000'));
const patches = Number(arg('patches', '16'));
const featureSizes = numbers(arg('features', '16384'));
const d = Number(arg('d', '64'));
const k = Number(arg('k', '20'));
const src = path.resolve(arg('src', REPO));
const work = path.resolve(arg('work', fs.mkdtempSync(path.join(os.tmpdir(), 'bench-scale-'))));
const keep = process.argv.includes('--keep') || process.argv.includes('--work');
const matchFeatures = Number(arg('match-features', '4096'));
/** Rounds of the query figures, each in a fresh service (cold caches); the table shows medians. */
const rounds = Number(arg('rounds', '3'));
const clock = arg('clock', 'wall');
if (clock !== 'wall' && clock !== 'cpu') throw new Error(`--clock is wall or cpu, got ${clock}`);

if (!Number.isInteger(Math.sqrt(patches))) throw new Error(`--patches must be a square number (16, 256), got ${patches}`);
for (const n of [...itemSizes, ...featureSizes, d, k]) if (!Number.isInteger(n) || n < 1) throw new Error(`sizes must be positive integers (got ${n})`);


interface Build {
  dir: string;
  cpuS: number;
  wallS: number;
  peakRssMiB: number;
  diskMB: number;
}


/** Builds through the CLI under /usr/bin/time (CPU of all threads, peak RSS); reuses a finished index. */
function build(shards: string, features: number, seed: number, name: string): Build {
  const sae = makeSae(path.join(work, 'saes'), { dIn: d, dSae: features, architecture: 'topk', k, seed, format: 'safetensors', name: `${name}-${features}` });
  const dir = path.join(work, `index-${path.basename(shards)}-${name}-${features}`);
  const stamp = path.join(dir, 'bench-build.json');
  if (fs.existsSync(stamp)) return JSON.parse(fs.readFileSync(stamp, 'utf8')) as Build;
  fs.rmSync(dir, { recursive: true, force: true });
  const run = timedStudio(REPO, ['index', '--shards', shards, '--layer', '0', '--sae', sae, '--out', dir]);
  const b: Build = { dir, cpuS: run.cpuS, wallS: run.wallS, peakRssMiB: run.peakRssMiB, diskMB: folderBytes(dir) / 1e6 };
  fs.writeFileSync(stamp, JSON.stringify(b));
  return b;
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
}

/**
 * Milliseconds of `f`: wall clock, or with --clock cpu this process's CPU time (all its threads),
 * which a machine shared with other work disturbs far less than the wall clock.
 */
async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const v = await f();
  if (clock === 'cpu') {
    const c = process.cpuUsage(c0);
    return [(c.user + c.system) / 1000, v];
  }
  return [Number(process.hrtime.bigint() - t0) / 1e6, v];
}

type Figures = Map<string, number>;

/** The three page offsets the bench visits: first, middle and last page of `total` rows. */
function offsets(total: number): [string, number][] {
  const last = Math.max(0, Math.floor((total - 1) / PAGE) * PAGE);
  return [
    ['0', 0],
    ['mid', Math.floor(total / 2 / PAGE) * PAGE],
    ['last', last],
  ];
}

/** One round of figures; `heavy` adds the seconds-long ones (similar features, match), run once. */
async function measure(service: StudioService, dir: string, other: string | null, heavy: boolean): Promise<Figures> {
  const out: Figures = new Map();
  const [openMs, summary] = await timed(() => service.openIndex({ path: dir }));
  out.set('open (summary) ms', openMs);
  const [reopenMs] = await timed(() => service.indexSummary({ indexId: summary.id }));
  out.set('summary again ms', reopenMs);
  const indexId = summary.id;
  out.set('features', summary.features);
  out.set('dead features', summary.dead);

  // Tags on 1% of features (every 100th: category, a free tag, reviewed), as after some curation.
  const tagged = Array.from({ length: Math.ceil(summary.features / 100) }, (_, i) => i * 100).filter((f) => f < summary.features);
  await service.editTags({ indexId, features: tagged, category: 'scene', addTags: ['bench'], reviewed: true });

  const page = async (label: string, sort: FeatureSortKey, desc: boolean, filter?: FeatureFilter) => {
    // The first page of a new order or filter pays for building it; the others are what scrolling costs.
    const [first, p] = await timed(() => service.queryFeatures({ indexId, sort, desc, offset: 0, limit: PAGE, filter }));
    out.set(`${label} @0 ms`, first);
    for (const [name, offset] of offsets(p.total).slice(1)) {
      const [t] = await timed(() => service.queryFeatures({ indexId, sort, desc, offset, limit: PAGE, filter }));
      out.set(`${label} @${name} ms`, t);
    }
    return p.total;
  };
  const sorts: FeatureSortKey[] = ['index', 'frequency', 'mean', 'max', 'category', 'reviewed', 'autocorrelation', 'switchRate'];
  for (const sort of sorts) for (const desc of [false, true]) await page(`sort ${sort} ${desc ? 'desc' : 'asc'}`, sort, desc);

  // Filters the table offers, in frequency order (the default view): those that keep most rows
  // are the expensive ones for a sort-then-skip query.
  const filters: [string, FeatureFilter][] = [
    ['dead exclude', { dead: 'exclude' }],
    ['dense exclude', { dense: 'exclude' }],
    ['log freq >= -6', { minLogFrequency: -6 }],
    ['mean 0..1e9', { minMean: 0, maxMean: 1e9 }],
    ['max >= 0.001', { minMax: 0.001 }],
    ['index half', { minIndex: 0, maxIndex: Math.floor(summary.features / 2) }],
    ['category scene', { category: 'scene' }],
    ['category none', { category: 'none' }],
    ['tag bench', { tag: 'bench' }],
    ['reviewed exclude', { reviewed: 'exclude' }],
  ];
  for (const [label, filter] of filters) {
    const total = await page(`filter ${label}`, 'frequency', true, filter);
    out.set(`filter ${label} total`, total);
  }

  // A tag change, then the pages that depend on tags again (the total must follow).
  await service.editTags({ indexId, features: [1, 2, 3], category: 'object' });
  await page('after tag edit: category none', 'frequency', true, { category: 'none' });

  const [scatterMs, scatter] = await timed(() => service.scatter({ indexId }));
  out.set('scatter ms', scatterMs);
  // What the web host sends (the float32 columns as base64, scatterWire); IPC carries the arrays as they are.
  out.set('scatter wire KB', JSON.stringify(scatterWire.toJson(scatter)).length / 1024);

  const top = (await service.queryFeatures({ indexId, sort: 'frequency', desc: true, offset: 0, limit: 1 })).rows[0]!.feature;
  const [detailMs] = await timed(() => service.featureDetail({ indexId, feature: top }));
  out.set('feature page (detail, exemplars) ms', detailMs);
  if (!heavy) return out;
  const [similarMs] = await timed(() => service.similarFeatures({ indexId, feature: top, limit: 12 }));
  out.set('similar features, first ms', similarMs);
  const [similar2Ms] = await timed(() => service.similarFeatures({ indexId, feature: top + 1, limit: 12 }));
  out.set('similar features, again ms', similar2Ms);
  if (other) {
    const otherId = (await service.openIndex({ path: other })).id;
    const [matchMs] = await timed(() => service.matchIndexes({ indexId, otherId }));
    out.set(`match vs ${matchFeatures}-feature index ms`, matchMs);
  }
  return out;
}

async function main(): Promise<void> {
  fs.mkdirSync(work, { recursive: true });
  const runs: { label: string; build: Build; figures: Figures }[] = [];
  const serviceModule = (await import(pathToFileURL(path.join(src, 'src-main/core/service.ts')).href)) as typeof import('../src-main/core/service.js');
  for (const items of itemSizes) {
    process.stderr.write(`shards: ${items} items x ${patches} patches x d ${d} ...\n`);
    const shards = writeSyntheticShards({ dir: path.join(work, `shards-${items}x${patches}x${d}`), items, patches, d, seed: SEED });
    const other = matchFeatures > 0 ? build(shards, matchFeatures, SEED + 2, 'match').dir : null;
    for (const features of featureSizes) {
      process.stderr.write(`build: ${features} features (TopK k=${k}) ...\n`);
      const b = build(shards, features, SEED + 1, 'main');
      const all: Figures[] = [];
      // One settings folder per index, synced once untimed: opening an index whose SAE's tags the
      // app-wide store does not hold yet merges them first (seconds for the bench's 1,000 tagged
      // features), which is the first open on a machine, not every open.
      const settingsDir = path.join(work, `settings-${path.basename(b.dir)}`);
      const first = await serviceModule.createStudioService({ settingsDir, host: 'web' });
      await first.openIndex({ path: b.dir });
      await first.close();
      for (let round = 0; round < rounds; round++) {
        const service = await serviceModule.createStudioService({ settingsDir, host: 'web' });
        try {
          process.stderr.write(`measure, round ${round + 1}/${rounds} ...\n`);
          all.push(await measure(service, b.dir, other, round === 0));
        } finally {
          await service.close();
        }
      }
      const figures: Figures = new Map([...all[0]!.keys()].map((key) => [key, median(all.map((f) => f.get(key)).filter((v): v is number => v !== undefined))]));
      runs.push({ label: `${features / 1000}k feat x ${items / 1000}k items x ${patches}p`, build: b, figures });
    }
  }

  const rows: [string, number[]][] = [
    ['build CPU s', runs.map((r) => r.build.cpuS)],
    ['build wall s', runs.map((r) => r.build.wallS)],
    ['build peak RSS MiB', runs.map((r) => r.build.peakRssMiB)],
    ['on disk MB', runs.map((r) => r.build.diskMB)],
  ];
  for (const key of runs[0]!.figures.keys()) rows.push([key, runs.map((r) => r.figures.get(key) ?? Number.NaN)]);
  const pageKeys = [...runs[0]!.figures.keys()].filter((key) => / @(0|mid|last) ms$/.test(key));
  rows.push(['slowest table page ms', runs.map((r) => Math.max(...pageKeys.map((key) => r.figures.get(key)!)))]);

  const growth = runs.length === 2;
  const fmt = (v: number) => (Number.isNaN(v) ? '–' : Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1));
  console.log(`\nsource: ${src === REPO ? 'this tree' : src}; seed ${SEED.toString(16)}; ${os.cpus().length} cores; load ${os.loadavg()[0]!.toFixed(1)}; node ${process.version}`);
  console.log(`query figures: ${clock === 'cpu' ? 'CPU' : 'wall-clock'} ms, median of ${rounds} rounds, each in a fresh service (@0 is the first page of a new order or filter)`);
  console.log(`| figure | ${runs.map((r) => r.label).join(' | ')} |${growth ? ' growth |' : ''}`);
  console.log(`|---|${runs.map(() => '---:').join('|')}|${growth ? '---:|' : ''}`);
  for (const [label, values] of rows) {
    const g = growth && values[0]! > 0 ? ` x${(values[1]! / values[0]!).toFixed(2)} |` : growth ? ' – |' : '';
    console.log(`| ${label} | ${values.map(fmt).join(' | ')} |${g}`);
  }
  if (!keep) fs.rmSync(work, { recursive: true, force: true });
  else console.log(`\nshards and indexes kept in ${work}`);
}

await main();
