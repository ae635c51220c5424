import { StudioError } from '../errors.js';
import type { ActivationSource } from '../indexer/sources/activationSource.js';
import { makeRng, type BatchSource } from './saeTrainer.js';

// Streams patch-token activation rows into the SAE trainer, from anything that can read a range
// of items as patch rows (PatchRowSource): an indexer source (image folder through a backbone, or
// saev shards; see patchRowsOf), or clips through a per-frame backbone (clipRows.ts). Items are
// read in order, cycling through the dataset as often as training needs; each batch draws rows at
// random (seeded) from a pool four batches deep, so consecutive rows of one image rarely share a
// batch. CLS tokens are left out: SAEs here are trained on patches.

/** Items decoded and run per refill of the row pool, unless the source says otherwise. */
const ITEMS_PER_LOAD = 8;

/** What the row stream needs from a dataset. */
export interface PatchRowSource {
  /** Width of a row. */
  readonly d: number;
  /** Items in the dataset (images, examples, clips). */
  readonly count: number;
  /** Items per read (default 8): fewer for items that hold many rows, like clips. */
  readonly itemsPerRead?: number;
  /**
   * Patch rows ([n, d], CLS dropped) of the readable items in [start, end), how many of them were
   * readable, and why the others were not.
   */
  read(start: number, end: number): Promise<{ rows: Float32Array; items: number; skipped: { item: number; reason: string }[] }>;
}

/** The patch rows of an indexer source: per item, its rows minus the CLS row. */
export function patchRowsOf(source: ActivationSource): PatchRowSource {
  const d = source.d;
  const skipCls = source.hasCls ? 1 : 0;
  return {
    d,
    count: source.items.length,
    async read(start, end) {
      const batch = await source.load(start, end);
      const { rows, items } = await source.activations(batch);
      if (items.length === 0 || skipCls === 0) return { rows, items: items.length, skipped: batch.skipped };
      const perItem = rows.length / items.length / d;
      const out = new Float32Array(items.length * (perItem - 1) * d);
      for (let it = 0; it < items.length; it++) {
        out.set(rows.subarray((it * perItem + 1) * d, (it + 1) * perItem * d), it * (perItem - 1) * d);
      }
      return { rows: out, items: items.length, skipped: batch.skipped };
    },
  };
}

export interface RowStreamOptions {
  seed: number;
  /** Names the dataset in errors. */
  dataName: string;
  /** Called the first time each unreadable item is met. */
  onSkip?: (item: number, reason: string) => void;
}

export function patchRowStream(source: PatchRowSource, opts: RowStreamOptions): BatchSource {
  const { d, count: n } = source;
  if (n === 0) throw new StudioError('bad-input', `No items in ${opts.dataName}`);
  const perLoad = Math.max(1, source.itemsPerRead ?? ITEMS_PER_LOAD);
  const rng = makeRng((opts.seed ^ 0x5eed) >>> 0);
  // Rows are views into the chunks they were read in (no copy per row).
  const pool: Float32Array[] = [];
  const reported = new Set<number>();
  let next = 0;
  let loadsWithoutRows = 0;

  const refill = async () => {
    const end = Math.min(next + perLoad, n);
    const { rows, items, skipped } = await source.read(next, end);
    next = end === n ? 0 : end;
    for (const s of skipped) {
      if (reported.has(s.item)) continue;
      reported.add(s.item);
      opts.onSkip?.(s.item, s.reason);
    }
    if (items === 0 || rows.length === 0) {
      if (++loadsWithoutRows > Math.ceil(n / perLoad) + 1) throw new StudioError('bad-input', `No item in ${opts.dataName} could be read`);
      return;
    }
    loadsWithoutRows = 0;
    for (let o = 0; o < rows.length; o += d) pool.push(rows.subarray(o, o + d));
  };

  return async (rows: number) => {
    while (pool.length < rows * 4) await refill();
    const x = new Float32Array(rows * d);
    for (let r = 0; r < rows; r++) {
      const i = Math.floor(rng() * pool.length);
      x.set(pool[i]!, r * d);
      pool[i] = pool[pool.length - 1]!;
      pool.pop();
    }
    return x;
  };
}

/** Row stream over an indexer source (image folder through a backbone, or saev shards). */
export function activationRowStream(source: ActivationSource, opts: RowStreamOptions): BatchSource {
  return patchRowStream(patchRowsOf(source), opts);
}
