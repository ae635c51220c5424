// Values derived from a finished build that take a scan of the items or features table to compute
// (seconds at a million items, 0.1-0.5 s at 100k features): the summary's counts and the scatter's
// columns. A finished build keeps them in meta, each stamped with the progress record it was
// computed under, so a resumed or rebuilt index (another record) computes them again. The build
// computes them when it finishes (in its worker, keepDerived), so the host that opens the index
// does not scan; an index from before is scanned once by the first reader, which keeps the result.
import type Database from 'better-sqlite3';
import type { IndexProgress } from './indexConfig.js';
import { DENSE_FREQUENCY } from './featureOrder.js';

export interface SummaryCounts {
  items: number;
  dead: number;
  dense: number;
}

/** Both scatter columns in one buffer: log10 frequency of every feature, then log10(mean + 1e-10). */
export type ScatterColumns = Float32Array;

const stampKey = (key: string) => `${key}_progress`;

function progressRecord(db: Database.Database): string {
  return (db.prepare("SELECT value FROM meta WHERE key = 'progress'").pluck().get() as string | undefined) ?? '';
}

/**
 * The value kept under `key` if it was computed under the current progress record, else `compute()`'s,
 * kept when the build is complete (while one runs, its numbers are not final).
 */
function kept<T>(db: Database.Database, key: string, codec: { encode: (v: T) => string | Buffer; decode: (stored: unknown) => T | null }, compute: () => T): T {
  const progress = progressRecord(db);
  const get = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
  if (get.get(stampKey(key)) === progress) {
    const value = codec.decode(get.get(key));
    if (value !== null) return value;
  }
  const value = compute();
  if ((JSON.parse(progress || '{}') as Partial<IndexProgress>).complete) {
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    db.transaction(() => {
      put.run(key, codec.encode(value));
      put.run(stampKey(key), progress);
    })();
  }
  return value;
}

/** Indexed items, dead and dense features. */
export function summaryCounts(db: Database.Database, tokens: number): SummaryCounts {
  return kept(
    db,
    'summary_counts',
    {
      encode: (c) => JSON.stringify(c),
      decode: (s) => (typeof s === 'string' ? (JSON.parse(s) as SummaryCounts) : null),
    },
    () => {
      const count = (sql: string, ...args: number[]) => db.prepare(sql).pluck().get(...args) as number;
      return {
        items: count('SELECT COUNT(*) FROM items WHERE status = 1'),
        dead: count('SELECT COUNT(*) FROM features WHERE count = 0'),
        dense: count('SELECT COUNT(*) FROM features WHERE count > ?', DENSE_FREQUENCY * tokens),
      };
    },
  );
}

/** The scatter's two columns (see ScatterColumns). */
export function scatterColumns(db: Database.Database): ScatterColumns {
  return kept(
    db,
    'scatter_columns',
    {
      encode: (c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength),
      // A copy, aligned for Float32Array (a Buffer may sit at any offset of a shared pool).
      decode: (s) => (s instanceof Uint8Array && s.byteLength % 8 === 0 ? new Float32Array(new Uint8Array(s).buffer) : null),
    },
    () => {
      const n = db.prepare('SELECT COUNT(*) FROM features').pluck().get() as number;
      const columns = new Float32Array(2 * n);
      // Rows are features 0 … n − 1; iterating fills the columns without an array of rows.
      let i = 0;
      for (const [logFreq, mean] of db.prepare('SELECT log_freq, mean FROM features ORDER BY id').raw().iterate() as Iterable<[number, number]>) {
        columns[i] = logFreq;
        columns[n + i++] = Math.log10(mean + 1e-10);
      }
      return columns;
    },
  );
}
