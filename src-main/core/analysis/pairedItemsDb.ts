// The items two index databases share, paired by relative path and read from SQLite on every pass
// of a match (PairedItems), instead of both item tables held in memory.
//
// B's database is attached to A's connection so that one statement walks A's indexed items in
// item order and finds each one's partner through B's unique index on path. CROSS JOIN fixes that
// join order (SQLite never reorders it), so the rows come out in item order without a sort: nothing
// per item is held, and every pass sees the items in the order readItemTable reads them.
import type Database from 'better-sqlite3';
import { fromHalf } from '../util/float16.js';
import { pairedRow, type PairedItems, type Unpaired } from './matchFeatures.js';

const OTHER = 'match_other';

/** Indexed items with activations, of `main` (A) or the attached B. */
const liveItems = (schema: string, acts: string, item: string) =>
  `${schema}.item_acts ${acts} CROSS JOIN ${schema}.items ${item} ON ${item}.id = ${acts}.item AND ${item}.status = 1`;

const PAIRED = `FROM ${liveItems('main', 'ia', 'a')} CROSS JOIN ${OTHER}.items b ON b.path = a.path AND b.status = 1 CROSS JOIN ${OTHER}.item_acts ib ON ib.item = b.id`;

const aligned = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);

/** Decodes one item_acts row (Int32 features, float16 values) into `feat`/`val` from `at`; returns its length. */
export function decodeItemActs(feats: Buffer, vals: Buffer, feat: Int32Array, val: Float32Array, at = 0): number {
  const k = feats.length / 4;
  if (!Number.isInteger(k) || vals.length !== 2 * k) throw new Error(`item_acts row is damaged (${feats.length} bytes of features, ${vals.length} of values)`);
  feat.set(feats.byteOffset % 4 === 0 ? new Int32Array(feats.buffer, feats.byteOffset, k) : new Int32Array(aligned(feats)), at);
  const half = vals.byteOffset % 2 === 0 ? new Uint16Array(vals.buffer, vals.byteOffset, k) : new Uint16Array(aligned(vals));
  for (let j = 0; j < k; j++) val[at + j] = fromHalf(half[j]!);
  return k;
}

/** Items of `self` with activations, and up to five (in item order) that `other` lacks. */
function liveAndUnpaired(db: Database.Database, self: string, other: string): { live: number; examples: string[] } {
  const live = (db.prepare(`SELECT COUNT(*) AS n FROM ${liveItems(self, 's', 'i')}`).get() as { n: number }).n;
  const examples = db
    .prepare(
      `SELECT i.path FROM ${liveItems(self, 's', 'i')}
       WHERE NOT EXISTS (SELECT 1 FROM ${other}.items o CROSS JOIN ${other}.item_acts os ON os.item = o.id WHERE o.path = i.path AND o.status = 1)
       ORDER BY s.item LIMIT 5`,
    )
    .pluck()
    .all() as string[];
  return { live, examples };
}

/**
 * Runs `fn` with the items that A's database (`dbA`) shares with the index database file `fileB`,
 * attached for the time of the call.
 */
export function withPairedItems<T>(dbA: Database.Database, fileB: string, fn: (items: PairedItems) => T): T {
  dbA.prepare(`ATTACH DATABASE ? AS ${OTHER}`).run(fileB);
  // Both are walked in order and looked up by key: a small page cache does (the default is 16 MB
  // each, which would grow with the databases up to that).
  const cacheA = dbA.pragma('main.cache_size', { simple: true }) as number;
  try {
    dbA.pragma('main.cache_size = -2048');
    dbA.pragma(`${OTHER}.cache_size = -2048`);
    const common = (dbA.prepare(`SELECT COUNT(*) AS n ${PAIRED}`).get() as { n: number }).n;
    const a = liveAndUnpaired(dbA, 'main', OTHER);
    const b = liveAndUnpaired(dbA, OTHER, 'main');
    const onlyA: Unpaired = { count: a.live - common, examples: a.examples };
    const onlyB: Unpaired = { count: b.live - common, examples: b.examples };
    const rows = dbA.prepare(`SELECT ia.item, ia.feats, ia.vals, ib.item, ib.feats, ib.vals ${PAIRED} ORDER BY ia.item`).raw();
    const row = pairedRow();
    const grow = (k: number) => {
      if (row.aFeat.length >= k) return;
      const n = Math.max(k, 2 * row.aFeat.length, 64);
      row.aFeat = new Int32Array(n);
      row.aVal = new Float32Array(n);
      row.bFeat = new Int32Array(n);
      row.bVal = new Float32Array(n);
    };
    return fn({
      common,
      onlyA,
      onlyB,
      forEach(visit) {
        for (const [idA, fa, va, idB, fb, vb] of rows.iterate() as Iterable<[number, Buffer, Buffer, number, Buffer, Buffer]>) {
          grow(Math.max(fa.length, fb.length) / 4);
          row.idA = idA;
          row.idB = idB;
          row.a1 = decodeItemActs(fa, va, row.aFeat, row.aVal);
          row.b1 = decodeItemActs(fb, vb, row.bFeat, row.bVal);
          visit(row);
        }
      },
    });
  } finally {
    dbA.exec(`DETACH DATABASE ${OTHER}`);
    dbA.pragma(`main.cache_size = ${cacheA}`);
  }
}
