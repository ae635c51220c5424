import { describe, expect, it } from 'vitest';
import type { HistogramSpec } from '../../src-main/contract/index.js';
import { boxesOverlap, histogramLayout, monoLabelBox, SCREEN_HISTOGRAM, type PlacedText } from '../../src-renderer/src/lib/histogramAxis.js';

// Issue 16: the feature page's histogram had its "n" title on the top count label, and tick labels
// were spaced by a fixed 40 px guess. Every label's box is laid out ahead (lib/histogramAxis.ts);
// these check that none overlap, at the side panel's narrowest width and on a wide screen.

const SPEC: HistogramSpec = { log10Min: -4, log10Max: 4, bins: 80 } as HistogramSpec;
const BINS = 80;

/** Counts with `peak` in the bin of 10^at (log10) and a few in each bin between from..to. */
function counts(from: number, to: number, peak: number): number[] {
  const out = new Array<number>(BINS).fill(0);
  const bin = (l: number) => Math.min(BINS - 1, Math.max(0, Math.floor(((l - SPEC.log10Min) / (SPEC.log10Max - SPEC.log10Min)) * BINS)));
  for (let b = bin(from); b <= bin(to); b++) out[b] = 3;
  out[bin((from + to) / 2)] = peak;
  return out;
}

const CASES: { name: string; counts: number[] }[] = [
  { name: 'every decade, a million at the peak', counts: counts(-4, 3.99, 1_000_000) },
  { name: 'three decades, 1000 at the peak (top tick on the plot top)', counts: counts(-2, 0.9, 1000) },
  { name: 'one value', counts: counts(0.1, 0.1, 1) },
  { name: 'nine at the peak', counts: counts(-1, 1, 9) },
  { name: '12,345 over five decades', counts: counts(-3, 1.5, 12_345) },
];

function allLabels(width: number, c: number[]): PlacedText[] {
  const l = histogramLayout({ ...SCREEN_HISTOGRAM, width }, c, SPEC);
  return [...l.xTicks, ...l.yTicks, ...l.titles];
}

describe('histogram axis labels', () => {
  it('measures a label from its anchor', () => {
    const mid = monoLabelBox('0.001', 100, 50, 10, 'middle');
    expect(mid.x1 - mid.x0).toBeCloseTo(31, 5);
    expect((mid.x0 + mid.x1) / 2).toBeCloseTo(100, 9);
    expect(monoLabelBox('10', 40, 50, 10, 'end').x1).toBe(40);
    expect(monoLabelBox('10', 40, 50, 10, 'start').x0).toBe(40);
    expect(boxesOverlap({ x0: 0, x1: 10, y0: 0, y1: 10 }, { x0: 10, x1: 20, y0: 0, y1: 10 })).toBe(false);
    expect(boxesOverlap({ x0: 0, x1: 10, y0: 0, y1: 10 }, { x0: 9, x1: 20, y0: 9, y1: 20 })).toBe(true);
  });

  for (const c of CASES) {
    it(`no two labels overlap and all stay inside the plot's box at 200–1400 px: ${c.name}`, () => {
      for (let width = 200; width <= 1400; width += 7) {
        const labels = allLabels(width, c.counts);
        for (let i = 0; i < labels.length; i++) {
          const a = labels[i]!;
          expect(a.box.x0, `${a.text} at width ${width}`).toBeGreaterThanOrEqual(0);
          expect(a.box.x1, `${a.text} at width ${width}`).toBeLessThanOrEqual(width);
          expect(a.box.y0, `${a.text} at width ${width}`).toBeGreaterThanOrEqual(0);
          expect(a.box.y1, `${a.text} at width ${width}`).toBeLessThanOrEqual(SCREEN_HISTOGRAM.height);
          for (let j = i + 1; j < labels.length; j++) {
            const b = labels[j]!;
            expect(boxesOverlap(a.box, b.box), `"${a.text}" and "${b.text}" overlap at width ${width}`).toBe(false);
          }
        }
      }
    });
  }

  it('labels every decade when there is room and thins them, keeping the ends in view, when there is not', () => {
    const c = CASES[0]!.counts; // view 1e-4..1e4: nine decades
    const wide = histogramLayout({ ...SCREEN_HISTOGRAM, width: 1200 }, c, SPEC);
    expect(wide.xTicks.map((t) => t.text)).toEqual(['1e-4', '0.001', '0.01', '0.1', '1', '10', '100', '1000', '10000']);
    const narrow = histogramLayout({ ...SCREEN_HISTOGRAM, width: 200 }, c, SPEC);
    expect(narrow.xTicks.length).toBeGreaterThanOrEqual(2);
    expect(narrow.xTicks.length).toBeLessThan(9);
    expect(narrow.xTicks[0]!.text).toBe('1e-4');
    // Ticks sit on their decades.
    for (const t of narrow.xTicks) expect(t.at).toBeCloseTo(narrow.xOf(Math.log10(Number(t.text))), 6);
  });

  it('leaves out count ticks that would crowd the one below, keeping 1 and the top decades readable', () => {
    const l = histogramLayout({ ...SCREEN_HISTOGRAM, width: 300 }, CASES[0]!.counts, SPEC);
    const ys = l.yTicks.map((t) => t.at);
    expect(l.yTicks[0]!.text).toBe('1');
    for (let i = 1; i < ys.length; i++) expect(ys[i - 1]! - ys[i]!).toBeGreaterThanOrEqual(12);
    expect(l.yTicks.at(-1)!.text).toMatch(/^1(0|00)?[kM]?$/);
    expect(l.yTicks.map((t) => t.text)).toContain('1M');
  });
});
