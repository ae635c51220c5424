import { describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../src-main/contract/index.js';
import { RowPool } from '../../src-renderer/src/lib/rowPool';
import { EMPTY_ROW_VIEW, featureRowView } from '../../src-renderer/src/lib/featureRowView';
import { sparklinePath } from '../../src-renderer/src/lib/sparklinePath';

// The features table renders a fixed pool of row elements patched in place while scrolling
// (issue 19: mounting rows during flings made the long tasks). What the pool promises: the
// rendered positions always cover the window asked for, their number never changes while
// scrolling, and slow scrolls move the rendered block only in whole steps.

describe('RowPool', () => {
  it('renders the same number of rows for every window while scrolling, covering each window', () => {
    const pool = new RowPool(8);
    const total = 100_000;
    const counts = new Set<number>();
    // A window of 40 rows (the viewport plus overscan) moving by 1, 3, 30 and 5,000 rows.
    for (const first of [0, 1, 2, 5, 33, 63, 64, 90, 5_090, 77_777, 99_960, 50]) {
      const w = pool.window(first, 40, total);
      counts.add(w.count);
      expect(w.first).toBeLessThanOrEqual(first);
      expect(w.first + w.count).toBeGreaterThanOrEqual(first + 40);
      expect(w.first + w.count).toBeLessThanOrEqual(total);
    }
    expect([...counts]).toEqual([48]); // 40 rows plus one step of 8, in whole steps
    expect(pool.capacity).toBe(48);
  });

  it('moves the rendered block in whole steps, so a slow scroll leaves the rows alone in between', () => {
    const pool = new RowPool(8);
    const firsts = [];
    for (let first = 16; first < 32; first++) firsts.push(pool.window(first, 40, 10_000).first);
    expect(firsts).toEqual([16, 16, 16, 16, 16, 16, 16, 16, 24, 24, 24, 24, 24, 24, 24, 24]);
  });

  it('ends at the end of the list instead of running past it', () => {
    const pool = new RowPool(8);
    expect(pool.window(990, 10, 1_000)).toEqual({ first: 976, count: 24 }); // 10 rows and a step, in steps
    expect(pool.window(999, 1, 1_000)).toEqual({ first: 976, count: 24 });
  });

  it('grows for a taller window and never shrinks for a shorter one; renders no more rows than the list has', () => {
    const pool = new RowPool(8);
    expect(pool.window(0, 20, 1_000).count).toBe(32);
    expect(pool.window(0, 41, 1_000).count).toBe(48);
    expect(pool.window(100, 12, 1_000).count).toBe(48);
    expect(pool.window(0, 41, 5)).toEqual({ first: 0, count: 5 });
    expect(pool.window(0, 0, 0)).toEqual({ first: 0, count: 0 });
  });

  it('rejects a step that is not a positive whole number', () => {
    expect(() => new RowPool(0)).toThrow(/positive integer, got 0/);
    expect(() => new RowPool(2.5)).toThrow(/positive integer/);
  });
});

function row(over: Partial<FeatureRow>): FeatureRow {
  return {
    feature: 7,
    count: 1234,
    frequency: 0.001,
    logFrequency: -3,
    mean: 0.5,
    max: 2,
    histogram: [0, 3, 1],
    category: null,
    tags: [],
    reviewed: false,
    noteCount: 0,
    autocorrelation: null,
    switchRate: null,
    ...over,
  };
}

describe('featureRowView', () => {
  it('formats the cells a row shows', () => {
    const v = featureRowView(row({ category: 'scene', tags: ['sky', 'blue', 'wide', 'day', 'hdr'], reviewed: true, noteCount: 1, autocorrelation: -0.001, switchRate: 0.256 }));
    expect(v).toMatchObject({
      frequency: '-3.00',
      mean: '0.500',
      max: '2.00',
      count: '1,234',
      autocorrelation: '0.00',
      switchRate: '0.26',
      category: 'scene',
      categoryLabel: 'Scene',
      tags: ['sky', 'blue', 'wide'],
      moreTags: '+2',
      reviewed: true,
      notes: '✎1',
      notesTitle: '1 note',
    });
    expect(v.histogram).toBe(sparklinePath([0, 3, 1]));
    expect(v.histogram).not.toBe('');
  });

  it('says dead for a feature that never fired, and dashes for missing temporal values', () => {
    const v = featureRowView(row({ count: 0, noteCount: 3 }));
    expect(v.frequency).toBe('dead');
    expect(v.autocorrelation).toBe('—');
    expect(v.moreTags).toBe('');
    expect(v.notesTitle).toBe('3 notes');
  });

  it('builds each row object once, and a fresh row object (a page fetched again) anew', () => {
    const r = row({ tags: ['a'] });
    expect(featureRowView(r)).toBe(featureRowView(r));
    const again = row({ tags: ['a', 'b'] });
    expect(featureRowView(again).tags).toEqual(['a', 'b']);
  });

  it('gives a loading row empty cells', () => {
    expect(featureRowView(undefined)).toBe(EMPTY_ROW_VIEW);
    expect(EMPTY_ROW_VIEW.count).toBe('');
  });
});
