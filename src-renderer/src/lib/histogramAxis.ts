import type { HistogramSpec } from '@contract';
import { formatDecade } from './format';

// The activation histogram's axes, shared by the feature page and the exported figure: the x
// range shown, and tick labels spaced by their measured-ahead widths so no two overlap at any
// plot width (a label sat on a tick in the narrow side panel).

/** Tick labels are set in the monospace UI font; its advance is 0.602 em (DejaVu/Menlo), with slack. */
const MONO_ADVANCE_EM = 0.62;
/** Cap height plus descender of a digit label, in em, for vertical spacing. */
const LINE_EM = 1.0;

export interface LabelBox {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export type Anchor = 'start' | 'middle' | 'end';

/** The box a single-line monospace label occupies, drawn at (x, baseline) with this anchor. */
export function monoLabelBox(text: string, x: number, baseline: number, fontPx: number, anchor: Anchor): LabelBox {
  const w = text.length * fontPx * MONO_ADVANCE_EM;
  const x0 = anchor === 'start' ? x : anchor === 'end' ? x - w : x - w / 2;
  return { x0, x1: x0 + w, y0: baseline - 0.8 * fontPx, y1: baseline + 0.2 * fontPx };
}

export function boxesOverlap(a: LabelBox, b: LabelBox): boolean {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

/**
 * The log10 range shown: the decades that hold values, plus one on each side (at least two
 * decades). The index bins a fixed 1e-4..1e4, but a feature's values sit in two or three decades,
 * so zooming keeps bars readable.
 */
export function histogramView(counts: readonly number[], spec: HistogramSpec): { lo: number; hi: number } {
  const n = counts.length;
  const binW = (spec.log10Max - spec.log10Min) / Math.max(1, n);
  const first = counts.findIndex((c) => c > 0);
  if (first < 0) return { lo: spec.log10Min, hi: spec.log10Max };
  let last = n - 1;
  while (last > first && counts[last] === 0) last--;
  const lo = Math.max(spec.log10Min, Math.floor(spec.log10Min + first * binW) - 1);
  const hi = Math.min(spec.log10Max, Math.ceil(spec.log10Min + (last + 1) * binW) + 1);
  return { lo, hi: Math.max(hi, lo + 2) };
}

/**
 * Decade ticks on the x axis: every decade when the labels fit side by side with `gap` pixels
 * between them, else every second, third, … decade (the smallest step that fits).
 */
export function decadeTicks(
  view: { lo: number; hi: number },
  xOf: (log10: number) => number,
  fontPx: number,
  gap = 6,
): { x: number; label: string; exponent: number }[] {
  const first = Math.ceil(view.lo);
  const last = Math.floor(view.hi);
  for (let step = 1; ; step++) {
    const ticks: { x: number; label: string; exponent: number }[] = [];
    for (let e = first; e <= last; e += step) ticks.push({ x: xOf(e), label: formatDecade(e), exponent: e });
    const fits = ticks.every((t, i) => {
      if (i === 0) return true;
      const prev = ticks[i - 1]!;
      return monoLabelBox(t.label, t.x, 0, fontPx, 'middle').x0 - monoLabelBox(prev.label, prev.x, 0, fontPx, 'middle').x1 >= gap;
    });
    if (fits || ticks.length <= 1) return ticks;
  }
}

/** A power of ten as a short count label (1, 10, 100, 1k … 100M): at most four characters, so the
 * y axis's labels fit its margin however many patches a feature fired on. */
export function countDecadeLabel(exponent: number): string {
  const units: [number, string][] = [[9, 'G'], [6, 'M'], [3, 'k']];
  for (const [at, unit] of units) if (exponent >= at) return `${10 ** (exponent - at)}${unit}`;
  return String(10 ** exponent);
}

/**
 * Count ticks on the log(1 + count) y axis at 1, 10, 100, …, leaving out any that would sit
 * closer than one label height to the one below it.
 */
export function countTicks(maxCount: number, yOf: (count: number) => number, fontPx: number): { y: number; label: string }[] {
  const ticks: { y: number; label: string }[] = [];
  for (let e = 0; 10 ** e <= maxCount; e++) {
    const y = yOf(10 ** e);
    const below = ticks[ticks.length - 1];
    if (below && below.y - y < LINE_EM * fontPx + 2) continue;
    ticks.push({ y, label: countDecadeLabel(e) });
  }
  return ticks;
}

export interface HistogramFrame {
  width: number;
  height: number;
  margin: { left: number; right: number; top: number; bottom: number };
  /** Font sizes of the tick labels (monospace) and of the axis titles. */
  tickPx: number;
  titlePx: number;
}

/** The feature page's histogram: its height and margins (the width follows the panel). */
export const SCREEN_HISTOGRAM: Omit<HistogramFrame, 'width'> = {
  height: 160,
  // top leaves a line above the plot for the y axis's "n", clear of the top count label.
  margin: { left: 40, right: 16, top: 20, bottom: 34 },
  tickPx: 10,
  titlePx: 11,
};

export interface PlacedText {
  text: string;
  x: number;
  y: number;
  anchor: Anchor;
  box: LabelBox;
  /** For a tick label: the tick's position along its axis (x for the x axis, y for the y axis). */
  at: number;
}

export interface HistogramLayout {
  view: { lo: number; hi: number };
  plotW: number;
  plotH: number;
  xOf: (log10: number) => number;
  yOf: (count: number) => number;
  xTicks: PlacedText[];
  yTicks: PlacedText[];
  /** The axis titles: "activation (log scale)" under the x ticks, "n" above the y ticks. */
  titles: PlacedText[];
}

/** Where every part of the histogram goes for this frame and these counts; labels never overlap. */
export function histogramLayout(frame: HistogramFrame, counts: readonly number[], spec: HistogramSpec): HistogramLayout {
  const M = frame.margin;
  const plotW = frame.width - M.left - M.right;
  const plotH = frame.height - M.top - M.bottom;
  const view = histogramView(counts, spec);
  const xOf = (log10: number) => M.left + ((log10 - view.lo) / (view.hi - view.lo)) * plotW;
  const maxCount = Math.max(0, ...counts);
  // Counts span orders of magnitude, so the y axis is log(1 + count): single values stay visible.
  const yMaxLog = Math.log10(1 + Math.max(1, maxCount));
  const yOf = (count: number) => M.top + plotH - (Math.log10(1 + count) / yMaxLog) * plotH;
  const place = (text: string, x: number, y: number, px: number, anchor: Anchor, at = NaN): PlacedText => ({ text, x, y, anchor, at, box: monoLabelBox(text, x, y, px, anchor) });
  const xBaseline = M.top + plotH + 14;
  return {
    view,
    plotW,
    plotH,
    xOf,
    yOf,
    xTicks: decadeTicks(view, xOf, frame.tickPx).map((t) => place(t.label, t.x, xBaseline, frame.tickPx, 'middle', t.x)),
    yTicks: countTicks(maxCount, yOf, frame.tickPx).map((t) => place(t.label, M.left - 5, t.y + 3, frame.tickPx, 'end', t.y)),
    titles: [
      place('activation (log scale)', M.left + plotW / 2, frame.height - 3, frame.titlePx, 'middle'),
      place('n', M.left - 5, M.top - 9, frame.titlePx, 'end'),
    ],
  };
}
