// Compares two index folders table by table, the way a merged index must equal a single pass:
// every integer statistic, maximum, histogram, exemplar and range-sample blob, per-item row and
// item status exactly; float64 sums (and what is derived from them) to a relative 1e-12, since
// a merge adds the parts' sums in another order than one pass adds the items.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';

type Row = Record<string, unknown>;

function rows(db: Database.Database, sql: string): Row[] {
  return db.prepare(sql).all() as Row[];
}

function closeTo(a: unknown, b: unknown, what: string): void {
  if (a === null || b === null) {
    expect(a, what).toBe(b);
    return;
  }
  const x = a as number;
  const y = b as number;
  expect(Math.abs(x - y), `${what}: ${x} vs ${y}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(x), Math.abs(y)));
}

/** Fails with the first difference; returns how many features and items were compared (> 0). */
export function expectSameIndex(singleDir: string, mergedDir: string): { features: number; items: number; exemplarEntries: number } {
  const a = new Database(path.join(singleDir, 'index.sqlite'), { readonly: true });
  const b = new Database(path.join(mergedDir, 'index.sqlite'), { readonly: true });
  try {
    const items = rows(a, 'SELECT id, path, label, status, reason, frames FROM items ORDER BY id');
    expect(rows(b, 'SELECT id, path, label, status, reason, frames FROM items ORDER BY id')).toEqual(items);

    const fa = rows(a, 'SELECT * FROM features ORDER BY id');
    const fb = rows(b, 'SELECT * FROM features ORDER BY id');
    expect(fb.length).toBe(fa.length);
    for (let i = 0; i < fa.length; i++) {
      const x = fa[i]!;
      const y = fb[i]!;
      const f = `feature ${x.id as number}`;
      for (const col of ['id', 'count', 'max', 'log_freq', 'cls_count', 'cls_max', 'hist', 'range_counts']) expect(y[col], `${f} ${col}`).toEqual(x[col]);
      for (const col of ['sum', 'mean', 'autocorr', 'switch_rate']) closeTo(x[col], y[col], `${f} ${col}`);
    }
    let exemplarEntries = 0;
    const ea = rows(a, 'SELECT * FROM exemplars ORDER BY feature');
    expect(rows(b, 'SELECT * FROM exemplars ORDER BY feature')).toEqual(ea);
    for (const r of ea) exemplarEntries += r.n as number;
    expect(rows(b, 'SELECT * FROM range_samples ORDER BY feature')).toEqual(rows(a, 'SELECT * FROM range_samples ORDER BY feature'));
    expect(rows(b, 'SELECT * FROM item_acts ORDER BY item')).toEqual(rows(a, 'SELECT * FROM item_acts ORDER BY item'));
    expect(rows(b, 'SELECT * FROM clip_traces ORDER BY item')).toEqual(rows(a, 'SELECT * FROM clip_traces ORDER BY item'));

    const meta = (db: Database.Database, key: string) => {
      const r = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
      return r ? JSON.parse(r.value) : null;
    };
    const pa = meta(a, 'progress');
    const pb = meta(b, 'progress');
    for (const k of ['cursor', 'tokens', 'activeEntries', 'skipped', 'complete']) expect(pb[k], `progress.${k}`).toEqual(pa[k]);
    const ta = meta(a, 'temporal');
    const tb = meta(b, 'temporal');
    if (ta === null) expect(tb).toBeNull();
    else for (const k of Object.keys(ta)) closeTo(ta[k], tb[k], `temporal.${k}`);
    const ca = meta(a, 'config');
    const cb = meta(b, 'config');
    for (const k of ['model', 'sae', 'topK', 'histogram', 'labels', 'request', 'kind', 'framesPerClip', 'dataRoot']) expect(cb[k], `config.${k}`).toEqual(ca[k]);
    expect(meta(b, 'range_spec')).toEqual(meta(a, 'range_spec'));

    const thumbs = (dir: string) => (fs.existsSync(path.join(dir, 'thumbs')) ? fs.readdirSync(path.join(dir, 'thumbs')).sort() : []);
    expect(thumbs(mergedDir)).toEqual(thumbs(singleDir));
    for (const t of thumbs(singleDir)) {
      expect(fs.readFileSync(path.join(mergedDir, 'thumbs', t)).equals(fs.readFileSync(path.join(singleDir, 'thumbs', t))), `thumbnail ${t}`).toBe(true);
    }
    expect(fa.length).toBeGreaterThan(0);
    expect(items.length).toBeGreaterThan(0);
    return { features: fa.length, items: items.length, exemplarEntries };
  } finally {
    a.close();
    b.close();
  }
}
