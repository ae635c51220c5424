// A chosen pair (a of A, b of B) looked at closely: lift both ways from the saved item tables, and
// the patch-level refinement. Patch maps are stored for exemplars only, so the refinement runs on
// items that are exemplars of both features (where both maps are known). Both maps are resampled
// by area to a common grid (the coarser of the two, e.g. CLIP 14x14 and DINOv2 16x16 -> 14x14),
// which assumes both models cropped the same region of the image.
import type Database from 'better-sqlite3';
import type { MatchPairDetail } from '../../contract/index.js';
import { readConfig, readExemplarMaps, readRunMeans } from './matchStore.js';
import { halfArrayToFloat } from '../util/float16.js';

/** Area resampling of a [r0, c0] map onto [r1, c1]: each target cell averages what it covers. */
export function resampleByArea(map: ArrayLike<number>, from: [number, number], to: [number, number]): Float32Array {
  const [R0, C0] = from;
  const [R1, C1] = to;
  const out = new Float32Array(R1 * C1);
  const overlap = (i: number, n0: number, n1: number) => {
    // target cell i of n1 covers [i/n1, (i+1)/n1); source cells of n0 overlapping it, with weights
    const lo = i / n1;
    const hi = (i + 1) / n1;
    const res: [number, number][] = [];
    for (let j = Math.floor(lo * n0); j < Math.min(n0, Math.ceil(hi * n0)); j++) {
      const w = Math.min(hi, (j + 1) / n0) - Math.max(lo, j / n0);
      if (w > 0) res.push([j, w * n1]);
    }
    return res;
  };
  const rowW = Array.from({ length: R1 }, (_, i) => overlap(i, R0, R1));
  const colW = Array.from({ length: C1 }, (_, i) => overlap(i, C0, C1));
  for (let r = 0; r < R1; r++) {
    for (let c = 0; c < C1; c++) {
      let s = 0;
      for (const [sr, wr] of rowW[r]!) for (const [sc, wc] of colW[c]!) s += wr * wc * Number(map[sr * C0 + sc]);
      out[r * C1 + c] = s;
    }
  }
  return out;
}

function valueOf(db: Database.Database, item: number, feature: number): number {
  const r = db.prepare('SELECT feats, vals FROM item_acts WHERE item = ?').get(item) as { feats: Buffer; vals: Buffer } | undefined;
  if (!r) return 0;
  const feats = new Int32Array(r.feats.buffer.slice(r.feats.byteOffset, r.feats.byteOffset + r.feats.byteLength));
  const i = feats.indexOf(feature);
  if (i < 0) return 0;
  const vals = halfArrayToFloat(new Uint16Array(r.vals.buffer.slice(r.vals.byteOffset, r.vals.byteOffset + r.vals.byteLength)));
  return vals[i]!;
}

/** Item ids of `ids` (in `from`) in `to`, paired by relative path; missing ones are left out. */
function mapItems(from: Database.Database, to: Database.Database, ids: Int32Array): Map<number, number> {
  const pathOf = from.prepare('SELECT path FROM items WHERE id = ?');
  const idOf = to.prepare('SELECT id FROM items WHERE path = ? AND status = 1');
  const out = new Map<number, number>();
  for (const id of ids) {
    const p = pathOf.get(id) as { path: string } | undefined;
    const j = p && (idOf.get(p.path) as { id: number } | undefined);
    if (j) out.set(id, j.id);
  }
  return out;
}

/** Mean of feature `f` over all items of `db` that `other` has too (full scan; only without a saved run). */
function meanByScan(db: Database.Database, other: Database.Database, f: number): number {
  const has = other.prepare('SELECT 1 FROM items WHERE path = ? AND status = 1');
  let s = 0;
  let n = 0;
  for (const [item, p] of db.prepare('SELECT id, path FROM items WHERE status = 1').raw().iterate() as Iterable<[number, string]>) {
    if (!has.get(p)) continue;
    n++;
    s += valueOf(db, item, f);
  }
  return n > 0 ? s / n : 0;
}

export function pairDetail(dbA: Database.Database, dbB: Database.Database, a: number, b: number, score: number | null, bPath: string): MatchPairDetail {
  const cfgA = readConfig(dbA);
  const cfgB = readConfig(dbB);
  const gA = cfgA.model.tokens.grid;
  const gB = cfgB.model.tokens.grid;
  const exA = readExemplarMaps(dbA, a, gA[0] * gA[1]);
  const exB = readExemplarMaps(dbB, b, gB[0] * gB[1]);
  const aToB = mapItems(dbA, dbB, exA.items);
  const bToA = mapItems(dbB, dbA, exB.items);
  const means = readRunMeans(dbA, bPath);
  const meanA = means ? (means.self[a] ?? 0) : meanByScan(dbA, dbB, a);
  const meanB = means ? (means.other[b] ?? 0) : meanByScan(dbB, dbA, b);

  const lift = (dbOther: Database.Database, map: Map<number, number>, f: number, base: number) => {
    if (map.size === 0 || !(base > 0)) return 0;
    let s = 0;
    for (const it of map.values()) s += valueOf(dbOther, it, f);
    return s / map.size / base;
  };
  const liftAB = lift(dbB, aToB, b, meanB);
  const liftBA = lift(dbA, bToA, a, meanA);

  const grid: [number, number] = [Math.min(gA[0], gB[0]), Math.min(gA[1], gB[1])];
  const PA = gA[0] * gA[1];
  const PB = gB[0] * gB[1];
  const xs: number[] = [];
  const ys: number[] = [];
  let overlapSum = 0;
  let compared = 0;
  exA.items.forEach((itemA, i) => {
    const itemB = aToB.get(itemA);
    if (itemB === undefined) return;
    const k = exB.items.indexOf(itemB);
    if (k < 0) return;
    const ma = resampleByArea(exA.maps.subarray(i * PA, (i + 1) * PA), gA, grid);
    const mb = resampleByArea(exB.maps.subarray(k * PB, (k + 1) * PB), gB, grid);
    const maxA = Math.max(...ma);
    const maxB = Math.max(...mb);
    let mn = 0;
    let mx = 0;
    for (let p = 0; p < ma.length; p++) {
      xs.push(ma[p]!);
      ys.push(mb[p]!);
      const u = maxA > 0 ? ma[p]! / maxA : 0;
      const v = maxB > 0 ? mb[p]! / maxB : 0;
      mn += Math.min(u, v);
      mx += Math.max(u, v);
    }
    overlapSum += mx > 0 ? mn / mx : 0;
    compared++;
  });
  let patchCorrelation: number | null = null;
  if (xs.length > 1) {
    const n = xs.length;
    const mx = xs.reduce((s, v) => s + v, 0) / n;
    const my = ys.reduce((s, v) => s + v, 0) / n;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < n; i++) {
      sxy += (xs[i]! - mx) * (ys[i]! - my);
      sxx += (xs[i]! - mx) ** 2;
      syy += (ys[i]! - my) ** 2;
    }
    patchCorrelation = sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
  }
  return {
    a,
    b,
    score,
    liftAB,
    liftBA,
    grid,
    patchCorrelation,
    patchOverlap: compared > 0 ? overlapSum / compared : null,
    itemsCompared: compared,
    note:
      compared === 0
        ? 'No item is an exemplar of both features, so no patch maps can be compared (maps are stored for exemplars only).'
        : `Patch maps compared on the ${compared} item(s) that are exemplars of both, resampled by area to ${grid[0]}x${grid[1]}.`,
  };
}
