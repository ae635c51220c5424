// Benchmark (not a test): cross-model matching time as the item count doubles.
//
//   npm run bench:match [-- --items 10000 --steps 4 --features 8192 --per-item 64]
//
// Synthesises two indexes' per-item tables the way item_acts holds them (each item's 64
// strongest features, best first) for two "models" that share latent concepts: each item draws
// concepts from a Zipf-like popularity, and each model maps a concept to a few features of its
// own. Then it times matchFeatures (the whole computation: pairing by path, moments, postings,
// co-occurrence, top matches both ways, lift) at N, 2N, 4N, ... items, and prints the time
// growth factor per doubling next to the growth of co-active pairs. Near-linear means the time
// factor tracks the pair factor (about 2 per doubling), not 4 or features^2.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { matchFeatures, type SparseItemTable } from '../src-main/core/analysis/matchFeatures.js';
import { readItemTable } from '../src-main/core/analysis/matchStore.js';
import { openDatabase } from '../src-main/core/store/openDatabase.js';
import { migrate } from '../src-main/core/store/schema.js';
import { toHalf } from '../src-main/core/util/float16.js';
import { mulberry32 as rng } from '../src-main/core/util/prng.js';

/** Writes a table as an index database's items + item_acts (what matching reads), returns its path. */
function writeDb(dir: string, t: SparseItemTable): string {
  const file = path.join(dir, `items-${t.paths.length}-${Math.random().toString(36).slice(2)}.sqlite`);
  const db = openDatabase(file, { create: true });
  migrate(db, dir);
  const item = db.prepare('INSERT INTO items (id, path, label, status) VALUES (?, ?, NULL, 1)');
  const acts = db.prepare('INSERT INTO item_acts (item, feats, vals) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < t.paths.length; i++) {
      item.run(i, t.paths[i]!);
      const f = t.feat.subarray(t.rowPtr[i]!, t.rowPtr[i + 1]!);
      const v = Uint16Array.from(t.val.subarray(t.rowPtr[i]!, t.rowPtr[i + 1]!), toHalf);
      acts.run(i, Buffer.from(f.buffer, f.byteOffset, f.byteLength), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    }
  })();
  db.close();
  return file;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? Number(process.argv[i + 1]) : fallback;
}

const baseItems = arg('items', 10_000);
const steps = arg('steps', 4);
const features = arg('features', 8192);
const perItem = arg('per-item', 64);
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

console.log(`matching two synthetic ${features}-feature indexes, ${perItem} features per item (item_acts layout)`);
console.log('"read s": both tables from SQLite (item_acts, float16); "match s": the sparse correlation; growth factors are per doubling of items');
console.log('items      co-active pairs   read s  match s   ns/pair   time x   pairs x');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-match-'));
let prev: { t: number; pairs: number } | null = null;
for (let s = 0; s < steps; s++) {
  const n = baseItems * 2 ** s;
  const [A0, B0] = tables(n);
  const fileA = writeDb(tmp, A0);
  const fileB = writeDb(tmp, B0);
  const tr = performance.now();
  const dbA = openDatabase(fileA, { readonly: true });
  const dbB = openDatabase(fileB, { readonly: true });
  const A = readItemTable(dbA, features);
  const B = readItemTable(dbB, features);
  dbA.close();
  dbB.close();
  const read = (performance.now() - tr) / 1000;
  const t0 = performance.now();
  const r = matchFeatures(A, B, {});
  const t = (performance.now() - t0) / 1000;
  const row = [
    String(n).padEnd(10),
    r.coActivePairs.toLocaleString('en-US').padStart(15),
    read.toFixed(2).padStart(8),
    t.toFixed(2).padStart(8),
    ((t * 1e9) / r.coActivePairs).toFixed(1).padStart(9),
    prev ? (t / prev.t).toFixed(2).padStart(8) : '       -',
    prev ? (r.coActivePairs / prev.pairs).toFixed(2).padStart(9) : '        -',
  ];
  console.log(row.join(' '));
  prev = { t, pairs: r.coActivePairs };
}
fs.rmSync(tmp, { recursive: true, force: true });
