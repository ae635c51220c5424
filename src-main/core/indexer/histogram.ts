import type { HistogramSpec } from '../../contract/index.js';

/** One fixed log10 binning for every feature, so histograms merge across batches and resumes. */
export const DEFAULT_HISTOGRAM: HistogramSpec = { log10Min: -4, log10Max: 4, bins: 64 };

export function histogramBin(spec: HistogramSpec, value: number): number {
  const t = (Math.log10(value) - spec.log10Min) / (spec.log10Max - spec.log10Min);
  const bin = Math.floor(t * spec.bins);
  return bin < 0 ? 0 : bin >= spec.bins ? spec.bins - 1 : bin;
}

/** Lower edge of a bin, in activation units. */
export function histogramEdge(spec: HistogramSpec, bin: number): number {
  return 10 ** (spec.log10Min + ((spec.log10Max - spec.log10Min) * bin) / spec.bins);
}
