import { describe, expect, it } from 'vitest';
import type { Exemplar, FeatureDetail } from '@contract';
import { displayRows, formatBound, rangeLabel } from '../../src-renderer/src/lib/rangeRows';

const ex = (rank: number, value: number): Exemplar => ({ rank, itemId: rank, item: `a/${rank}.jpg`, label: 'a', value, patchMap: [value] });

describe('range rows (issue 17)', () => {
  it('labels the half-decade ranges as the issue shows them', () => {
    expect(rangeLabel(1, 10 ** 0.5)).toBe('1.0–3.2');
    expect(rangeLabel(10 ** 0.5, 10)).toBe('3.2–10');
    expect(rangeLabel(10 ** -0.5, 1)).toBe('0.32–1.0');
    expect(rangeLabel(10 ** 3.5, null)).toBe('≥ 3,162');
    expect(rangeLabel(0, 10 ** -3.5)).toBe('< 0.00032');
    expect(formatBound(100)).toBe('100');
  });

  it('puts "top" first, then every range strongest first; null when the index has none', () => {
    const base = { exemplars: [ex(0, 9), ex(1, 8), ex(2, 7), ex(3, 6), ex(4, 5)] } as FeatureDetail;
    const rows = displayRows({
      ...base,
      rangeSamples: [
        { lo: 10 ** 0.5, hi: 10, count: 12, items: [ex(0, 9)] },
        { lo: 1, hi: 10 ** 0.5, count: 40, items: [ex(0, 2), ex(1, 1.5)] },
      ],
    })!;
    expect(rows.map((r) => [r.label, r.count, r.items.length])).toEqual([
      ['top', null, 4],
      ['3.2–10', 12, 1],
      ['1.0–3.2', 40, 2],
    ]);
    expect(displayRows({ ...base, rangeSamples: null })).toBeNull();
    expect(displayRows(base)).toBeNull();
  });
});
