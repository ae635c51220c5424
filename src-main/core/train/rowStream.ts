import { StudioError } from '../errors.js';
import type { ActivationSource } from '../indexer/sources/activationSource.js';
import { makeRng, type BatchSource } from './saeTrainer.js';

// Streams patch-token activation rows from an indexer source (image folder through a backbone, or
// saev shards) into the SAE trainer. Items are read in order, cycling through the dataset as often
// as training needs; each batch draws rows at random (seeded) from a pool four batches deep, so
// consecutive rows of one image rarely share a batch. The CLS token is left out: SAEs here are
// trained on patches.

/** Items decoded and run per refill of the row pool. */
const ITEMS_PER_LOAD = 8;

export function activationRowStream(source: ActivationSource, opts: { seed: number; dataName: string }): BatchSource {
  const d = source.d;
  const n = source.items.length;
  if (n === 0) throw new StudioError('bad-input', `No items in ${opts.dataName}`);
  const skipCls = source.hasCls ? 1 : 0;
  const rng = makeRng((opts.seed ^ 0x5eed) >>> 0);
  const pool: Float32Array[] = [];
  let next = 0;
  let loadsWithoutRows = 0;

  const refill = async () => {
    const end = Math.min(next + ITEMS_PER_LOAD, n);
    const batch = await source.load(next, end);
    next = end === n ? 0 : end;
    const { rows, items } = await source.activations(batch);
    if (items.length === 0) {
      if (++loadsWithoutRows > Math.ceil(n / ITEMS_PER_LOAD) + 1) throw new StudioError('bad-input', `No item in ${opts.dataName} could be read`);
      return;
    }
    loadsWithoutRows = 0;
    const perItem = rows.length / items.length / d;
    for (let it = 0; it < items.length; it++) {
      for (let t = skipCls; t < perItem; t++) {
        const o = (it * perItem + t) * d;
        pool.push(rows.slice(o, o + d));
      }
    }
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
