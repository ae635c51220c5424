// The derived columns of a features row, from its running sums. One definition, used by the
// indexer's checkpoints and by the merge of index parts, so a merged index equals a single run.

/** log10 of the fraction of patch tokens on which the feature fires (1e-10 keeps dead features finite). */
export function logFrequency(count: number, tokens: number): number {
  return Math.log10(count / Math.max(tokens, 1) + 1e-10);
}

/** Mean activation over the tokens where the feature fires (0 for a dead feature). */
export function meanActivation(count: number, sum: number): number {
  return count > 0 ? sum / count : 0;
}

/** A features row as SQLite returns it (the running sums the indexer checkpoints). */
export interface FeatureRowDb {
  id: number;
  count: number;
  sum: number;
  max: number;
  cls_count: number;
  cls_max: number;
  hist: Buffer;
  range_counts: Buffer | null;
}
