import type { IndexWriter } from '../store/indexWriter.js';
import type { RawTemporalAccumulator, TemporalAccumulator } from './temporalStats.js';

/**
 * The final temporal statistics of a video index from its accumulated sums: per-feature
 * autocorrelation and switch rate, and the summary comparing the SAE's coherence with the raw
 * activations'. Shared by a finished indexing run and the merge of index parts.
 */
export function writeTemporalResults(writer: IndexWriter, temporal: TemporalAccumulator, raw: RawTemporalAccumulator): void {
  const t = temporal.result();
  const rawResult = raw.result();
  const num = (v: number) => (Number.isFinite(v) ? v : null);
  const sae = num(t.meanAutocorrelation);
  const rawMean = num(rawResult.meanAutocorrelation);
  writer.writeTemporal(t.autocorrelation, t.switchRate, {
    autocorrelation: sae,
    raw_autocorrelation: rawMean,
    coherence_kept: sae !== null && rawMean !== null && rawMean !== 0 ? sae / rawMean : null,
    pairs: t.pairs,
  });
}
