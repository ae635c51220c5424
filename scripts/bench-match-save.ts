// Benchmark (not a test): saving a match result into an index database, and reading it back the
// way `studio match --json` does (all best matches at once) against feature by feature.
//
//   node --import tsx scripts/bench-match-save.ts [--features 20000 --per-feature 10]
//
// The lists are synthetic (every slot filled, the worst case for the row count): saveMatch writes
// features x per-feature rows per direction, both directions, as a match of F x F features does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MatchSummary } from '../src-main/contract/index.js';
import type { MatchList } from '../src-main/core/analysis/matchFeatures.js';
import { MatchStore, saveMatch } from '../src-main/core/analysis/matchStore.js';
import { openDatabase } from '../src-main/core/store/openDatabase.js';
import { migrate } from '../src-main/core/store/schema.js';
import { mulberry32 as rng } from '../src-main/core/util/prng.js';
import { numberArg as arg } from './lib/benchArgs.js';

const features = arg('features', 20_000);
const m = arg('per-feature', 10);

function list(seed: number): MatchList {
  const r = rng(seed);
  const n = features * m;
  const l: MatchList = { other: new Int32Array(n), score: new Float32Array(n), lift: new Float32Array(n), co: new Int32Array(n) };
  for (let f = 0; f < features; f++) {
    for (let k = 0; k < m; k++) {
      l.other[f * m + k] = Math.floor(r() * features);
      l.score[f * m + k] = 1 - (k + r()) / m;
      l.lift[f * m + k] = r() * 10;
      l.co[f * m + k] = 1 + Math.floor(r() * 1000);
    }
  }
  return l;
}

const side = (name: string) => ({ indexId: name, path: `/bench/${name}`, name, features, live: features });
const summary: MatchSummary = {
  a: side('a'),
  b: side('b'),
  itemsCommon: 1000,
  itemsOnlyA: 0,
  itemsOnlyB: 0,
  examplesOnlyA: [],
  examplesOnlyB: [],
  coActivePairs: 0,
  mutual: 0,
  perFeature: m,
  seconds: 0,
  createdAt: new Date().toISOString(),
};
const means = { self: new Float32Array(features), other: new Float32Array(features) };
const mine = list(1);
const theirs = list(2);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-match-save-'));
const db = openDatabase(path.join(tmp, 'index.sqlite'), { create: true });
migrate(db, tmp);
console.log(`saving a ${features} x ${features} match, ${m} per feature: ${(2 * features * m).toLocaleString('en-US')} rows`);
for (const round of ['first save', 'replacing it']) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  saveMatch(db, summary, 'hash', mine, theirs, m, means);
  const cpu = process.cpuUsage(c0);
  // CPU time next to wall time: on a shared machine the wall time mostly measures the neighbours.
  console.log(`${round.padEnd(14)} ${((performance.now() - t0) / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU`);
}
const store = new MatchStore(db);
let t0 = performance.now();
const best = store.bestMatches(summary.b.path, 0);
const bulk = performance.now() - t0;
t0 = performance.now();
let n = 0;
for (let f = 0; f < features; f++) n += store.featureMatches(summary.b.path, 0, f, 1).matches.length;
const one = performance.now() - t0;
if (n !== best.length) throw new Error(`feature by feature read ${n} best matches, all at once ${best.length}`);
console.log(`best matches, one direction: all at once ${bulk.toFixed(0)} ms, feature by feature ${one.toFixed(0)} ms (${(one / bulk).toFixed(1)}x; in-process, without the per-call round trip of the CLI)`);
db.close();
fs.rmSync(tmp, { recursive: true, force: true });
