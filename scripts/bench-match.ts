// Benchmark (not a test): cross-model matching, time and peak memory as the item count grows.
//
//   npm run bench:match [-- --sizes 20000,100000 --features 8192 --per-item 64 --budgets 16,1024
//                          --src DIR]
//
// Synthesises two indexes' per-item tables the way item_acts holds them (each item's 64
// strongest features, best first) for two "models" that share latent concepts: each item draws
// concepts from a Zipf-like popularity, and each model maps a concept to a few features of its
// own, and writes them as two index databases. Each run is a child process (so its peak RSS is
// its own) that matches the two databases:
//   - "in memory": both item tables read whole (readItemTable) and matched by matchFeatures, the
//     way `studio match` worked before matching was bounded; with --src DIR it runs that older
//     tree (e.g. `git archive HEAD src-main scripts package.json tsconfig.json | tar -x -C DIR`,
//     node_modules linked) for the before/after comparison on the same databases;
//   - "bounded, N MiB": the pairs streamed from SQLite in passes whose working memory stays
//     within an N MiB budget (what `studio match --memory-budget N` does).
// Side B numbers its items in reverse and lacks every 97th item; each feature's exemplars (for
// lift) are the first 16 items it fires on. It prints wall and CPU time (CPU is the steadier on a
// shared machine), passes and peak RSS per run, a digest of the results (equal digests: the same
// lists, scores, lift, means and counts to the bit), then how each grows with items and what the
// bounded runs cost against the in-memory one. "idle" is the child's own footprint (Node,
// modules, both databases open) for reference.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MatchResult, SparseItemTable } from '../src-main/core/analysis/matchFeatures.js';
import { openDatabase } from '../src-main/core/store/openDatabase.js';
import { migrate } from '../src-main/core/store/schema.js';
import { toHalf } from '../src-main/core/util/float16.js';
import { mulberry32 as rng } from '../src-main/core/util/prng.js';
import { arg } from './lib/benchArgs.js';

/**
 * Writes a table as an index database's items + item_acts + exemplars (what matching reads), returns
 * its path. Side B numbers its items in reverse and leaves every 97th item out, so that pairing by
 * path has work to do; each feature's exemplars are the first 16 items it fires on (for lift).
 */
function writeDb(dir: string, t: SparseItemTable, side: 'a' | 'b'): string {
  const file = path.join(dir, `items-${side}-${t.paths.length}.sqlite`);
  const db = openDatabase(file, { create: true });
  migrate(db, dir);
  const item = db.prepare('INSERT INTO items (id, path, label, status) VALUES (?, ?, NULL, 1)');
  const acts = db.prepare('INSERT INTO item_acts (item, feats, vals) VALUES (?, ?, ?)');
  const ex = db.prepare("INSERT INTO exemplars (feature, n, items, vals, maps) VALUES (?, ?, ?, x'', x'')");
  const n = t.paths.length;
  const exemplars = Array.from({ length: features }, () => [] as number[]);
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      if (side === 'b' && i % 97 === 0) continue;
      const id = side === 'b' ? n - 1 - i : i;
      item.run(id, t.paths[i]!);
      const f = t.feat.subarray(t.rowPtr[i]!, t.rowPtr[i + 1]!);
      const v = Uint16Array.from(t.val.subarray(t.rowPtr[i]!, t.rowPtr[i + 1]!), toHalf);
      acts.run(id, Buffer.from(f.buffer, f.byteOffset, f.byteLength), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      for (const x of f) if (exemplars[x]!.length < 16) exemplars[x]!.push(id);
    }
    exemplars.forEach((items, feature) => {
      const b = Int32Array.from(items);
      if (items.length > 0) ex.run(feature, items.length, Buffer.from(b.buffer));
    });
  })();
  db.close();
  return file;
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sizes = arg('sizes', '20000,100000').split(',').map(Number);
const features = Number(arg('features', '8192'));
const perItem = Number(arg('per-item', '64'));
const budgets = arg('budgets', '16,1024').split(',').filter((b) => b !== 'none').map(Number);
const before = arg('src', '');
const concepts = features;

function tables(n: number): [SparseItemTable, SparseItemTable] {
  const random = rng(12345);
  const mapA = Int32Array.from({ length: concepts * 2 }, () => Math.floor(random() * features));
  const mapB = Int32Array.from({ length: concepts * 2 }, () => Math.floor(random() * features));
  const make = (map: Int32Array, seed: number, items: { c: number[]; v: number[] }[]): SparseItemTable => {
    const r = rng(seed);
    const rowPtr = new Int32Array(n + 1);
    const feat = new Int32Array(n * perItem);
    const val = new Float32Array(n * perItem);
    let o = 0;
    items.forEach((it, i) => {
      const seen = new Map<number, number>();
      it.c.forEach((c, j) => {
        for (let s = 0; s < 2; s++) {
          const f = map[c * 2 + s]!;
          const v = it.v[j]! * (0.5 + r());
          if (v > (seen.get(f) ?? 0)) seen.set(f, v);
        }
      });
      const best = [...seen].sort((x, y) => y[1] - x[1]).slice(0, perItem);
      for (const [f, v] of best) {
        feat[o] = f;
        val[o++] = v;
      }
      rowPtr[i + 1] = o;
    });
    return { paths: items.map((_, i) => `item/${i}.jpg`), itemIds: Int32Array.from({ length: n }, (_, i) => i), rowPtr, feat: feat.slice(0, o), val: val.slice(0, o), features };
  };
  const items = Array.from({ length: n }, () => {
    const c: number[] = [];
    const v: number[] = [];
    for (let j = 0; j < perItem / 2; j++) {
      c.push(Math.min(concepts - 1, Math.floor(concepts * random() ** 3)));
      v.push(random() * 4);
    }
    return { c, v };
  });
  return [make(mapA, 1, items), make(mapB, 2, items)];
}

/** A short digest of everything a match result says (lists both ways, mutual pairs, counts). */
function digest(r: MatchResult): string {
  const h = crypto.createHash('sha1');
  for (const l of [r.aToB, r.bToA]) for (const x of [l.other, l.score, l.lift, l.co]) h.update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  h.update(JSON.stringify([r.mutual, r.itemsCommon, r.itemsOnlyA, r.itemsOnlyB, r.coActivePairs, r.liveA, r.liveB]));
  h.update(new Uint8Array(r.meansA.buffer));
  h.update(new Uint8Array(r.meansB.buffer));
  return h.digest('hex').slice(0, 10);
}

interface ChildReport {
  seconds: number;
  /** CPU seconds (user + system): steadier than wall time on a shared machine. */
  cpuSeconds: number;
  passes: number;
  peakRssMiB: number;
  pairs: number;
  digest: string;
}

/**
 * This process's peak RSS. VmHWM where Linux has it: getrusage's maxRSS of a spawned child starts
 * from the parent's RSS at the fork (Linux carries the old high-water mark over exec), which here
 * would be the parent's synthetic tables.
 */
function peakRssMiB(): number {
  const hwm = fs.existsSync('/proc/self/status') ? /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8')) : null;
  return (hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS) / 1024;
}

/** Child mode: one match of two databases with the matching code of the tree `src`. */
async function child(): Promise<void> {
  const [mode, src, fileA, fileB, budget] = process.argv.slice(3) as [string, string, string, string, string];
  const load = async <T>(rel: string) => (await import(pathToFileURL(path.join(src, rel)).href)) as T;
  const mf = await load<typeof import('../src-main/core/analysis/matchFeatures.js')>('src-main/core/analysis/matchFeatures.ts');
  const store = await load<typeof import('../src-main/core/analysis/matchStore.js')>('src-main/core/analysis/matchStore.ts');
  const dbA = openDatabase(fileA, { readonly: true });
  const dbB = openDatabase(fileB, { readonly: true });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let r: MatchResult | null = null;
  // Exemplars are read the way runMatch reads them, inside the timed part.
  const exemplars = () => {
    const exA = store.readExemplarItems(dbA);
    const exB = store.readExemplarItems(dbB);
    return { exemplarsA: (f: number) => exA.get(f) ?? null, exemplarsB: (f: number) => exB.get(f) ?? null };
  };
  if (mode === 'memory') {
    const A = store.readItemTable(dbA, features);
    const B = store.readItemTable(dbB, features);
    r = mf.matchFeatures(A, B, exemplars());
  } else if (mode === 'bounded') {
    const { withPairedItems } = await load<typeof import('../src-main/core/analysis/pairedItemsDb.js')>('src-main/core/analysis/pairedItemsDb.ts');
    const budgetBytes = Number(budget) * 1024 * 1024;
    r = withPairedItems(dbA, fileB, (items) => mf.matchPairedItems(items, features, features, { ...exemplars(), memoryBudgetBytes: budgetBytes }));
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const report: ChildReport = {
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    passes: r?.passes ?? 0,
    peakRssMiB: peakRssMiB(),
    pairs: r?.coActivePairs ?? 0,
    digest: r ? digest(r) : '-',
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function runChild(mode: string, src: string, fileA: string, fileB: string, budget: number): ChildReport {
  const res = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, src, fileA, fileB, String(budget), '--features', String(features)], {
    cwd: REPO,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (res.status !== 0) throw new Error(`${mode} run failed: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as ChildReport;
}

async function main(): Promise<void> {
  const runs: { name: string; mode: string; src: string; budget: number }[] = [
    { name: 'idle', mode: 'idle', src: REPO, budget: 0 },
    { name: before ? 'in memory (before)' : 'in memory', mode: 'memory', src: before || REPO, budget: 0 },
    ...budgets.map((b) => ({ name: `bounded, ${b} MiB`, mode: 'bounded', src: REPO, budget: b })),
  ];
  console.log(`matching two synthetic ${features}-feature indexes, ${perItem} features per item (item_acts layout), each run in its own process`);
  console.log('items     run                      passes   wall s    CPU s   peak RSS MiB   co-active pairs   digest');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-match-'));
  const results = new Map<string, ChildReport[]>();
  try {
    for (const n of sizes) {
      const [A, B] = tables(n);
      const fileA = writeDb(tmp, A, 'a');
      const fileB = writeDb(tmp, B, 'b');
      for (const run of runs) {
        const r = runChild(run.mode, run.src, fileA, fileB, run.budget);
        results.set(run.name, [...(results.get(run.name) ?? []), r]);
        console.log(
          [
            String(n).padEnd(9),
            run.name.padEnd(24),
            String(r.passes).padStart(6),
            r.seconds.toFixed(2).padStart(8),
            r.cpuSeconds.toFixed(2).padStart(8),
            r.peakRssMiB.toFixed(0).padStart(14),
            r.pairs.toLocaleString('en-US').padStart(17),
            `  ${r.digest}`,
          ].join(' '),
        );
      }
      fs.rmSync(fileA);
      fs.rmSync(fileB);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const first = sizes[0]!;
  const last = sizes[sizes.length - 1]!;
  const idle = results.get('idle')!;
  console.log(`\ngrowth from ${first} to ${last} items (x${(last / first).toFixed(1)}); "above idle" subtracts the child's own footprint:`);
  console.log('run                      CPU x   peak RSS x   RSS above idle MiB      above idle x');
  for (const [name, rs] of results) {
    if (name === 'idle') continue;
    const r0 = rs[0]!;
    const r1 = rs[rs.length - 1]!;
    const above0 = r0.peakRssMiB - idle[0]!.peakRssMiB;
    const above1 = r1.peakRssMiB - idle[idle.length - 1]!.peakRssMiB;
    console.log(
      [
        name.padEnd(24),
        (r1.cpuSeconds / r0.cpuSeconds).toFixed(2).padStart(6),
        (r1.peakRssMiB / r0.peakRssMiB).toFixed(2).padStart(12),
        `${above0.toFixed(0)} -> ${above1.toFixed(0)}`.padStart(20),
        (above1 / Math.max(1, above0)).toFixed(2).padStart(17),
      ].join(' '),
    );
  }
  const memory = results.get(runs[1]!.name)!;
  console.log(`\nbounded against ${runs[1]!.name}, per size (CPU ratio, RSS-above-idle ratio, same results):`);
  for (const b of budgets) {
    const rs = results.get(`bounded, ${b} MiB`)!;
    const cells = sizes.map((n, i) => {
      const m = memory[i]!;
      const r = rs[i]!;
      const above = (x: ChildReport) => x.peakRssMiB - idle[i]!.peakRssMiB;
      return `${n}: CPU x${(r.cpuSeconds / m.cpuSeconds).toFixed(2)}, RSS x${(above(r) / Math.max(1, above(m))).toFixed(2)}, ${r.digest === m.digest ? 'identical' : 'DIFFERENT'}`;
    });
    console.log(`  ${b} MiB  ${cells.join('   ')}`);
  }
}

if (process.argv[2] === '--child') await child();
else await main();
