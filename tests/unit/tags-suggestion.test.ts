import { describe, expect, it } from 'vitest';
import { patchSpread, suggestCategory } from '../../src-main/core/tags/suggestCategory.js';
import { mulberry32 as seeded } from '../../src-main/core/util/prng.js';

// The suggested-category rule on generated exemplars whose answer is known by construction.

const GRID = 14;
const LABELS = ['beach', 'desert', 'forest', 'ocean', 'snow'];

/** A patch map active (with noise) wherever `on(row, col)` holds. */
function map(on: (r: number, c: number) => boolean, random: () => number, peak = 5): number[] {
  const out: number[] = [];
  for (let r = 0; r < GRID; r++) for (let c = 0; c < GRID; c++) out.push(on(r, c) ? peak * (0.5 + 0.5 * random()) : random() * 0.05 * peak);
  return out;
}

function exemplars(n: number, on: (i: number) => (r: number, c: number) => boolean, label: (i: number) => string, seed = 1) {
  const random = seeded(seed);
  return Array.from({ length: n }, (_, i) => ({ patchMap: map(on(i), random), label: label(i) }));
}

describe('suggested category', () => {
  it('a feature firing all over the frame is a scene', () => {
    const ex = exemplars(16, () => () => true, (i) => LABELS[i % 5]!);
    const s = suggestCategory({ feature: 1, exemplars: ex, upper: 5 });
    expect(s.category).toBe('scene');
    expect(s.spread).toBeGreaterThan(0.9);
    expect(s.reasons.join(' ')).toMatch(/fires across the frame/);
    expect(s.confidence).toBeGreaterThan(0.5);
  });

  it('a feature on one small object that moves around the frame is an object', () => {
    const random = seeded(3);
    const positions = Array.from({ length: 16 }, () => [Math.floor(random() * (GRID - 2)), Math.floor(random() * (GRID - 2))] as const);
    const ex = exemplars(16, (i) => (r, c) => r >= positions[i]![0] && r < positions[i]![0] + 2 && c >= positions[i]![1] && c < positions[i]![1] + 2, (i) => LABELS[i % 5]!);
    const s = suggestCategory({ feature: 2, exemplars: ex, upper: 5 });
    expect(s.category).toBe('object');
    expect(s.spread).toBeCloseTo(4 / 196, 2);
    expect(s.labelClasses).toBe(5);
    expect(s.reasons.join(' ')).toMatch(/Many classes/);
  });

  it('a frame-wide feature from a single label class is that class\'s scene; a compact one is an object', () => {
    const wide = suggestCategory({ feature: 3, exemplars: exemplars(12, () => (r) => r >= 4, () => 'beach'), upper: 5 });
    expect(wide.category).toBe('scene');
    expect(wide.labelClasses).toBe(1);
    expect(wide.topLabelShare).toBe(1);
    expect(wide.reasons.join(' ')).toMatch(/one class \(beach\)/);
    const compact = suggestCategory({ feature: 4, exemplars: exemplars(12, () => (r, c) => r === 7 && c < 3, () => 'beach'), upper: 5 });
    expect(compact.category).toBe('object');
  });

  it('makes no suggestion in the ambiguous band or on too few exemplars, and action needs temporal statistics', () => {
    const half = exemplars(12, () => (r) => r < 5, (i) => LABELS[i % 2]!); // 5/14 rows ≈ 36%
    expect(suggestCategory({ feature: 5, exemplars: half, upper: 5 }).category).toBeNull();
    expect(suggestCategory({ feature: 6, exemplars: half.slice(0, 2), upper: 5 })).toMatchObject({ category: null, confidence: 0 });
    const small = exemplars(12, () => (r, c) => r < 2 && c < 2, () => 'ocean');
    expect(suggestCategory({ feature: 7, exemplars: small, upper: 5 }).reasons.join(' ')).toMatch(/action is never suggested/);
    expect(suggestCategory({ feature: 7, exemplars: small, upper: 5, temporal: { switchRate: 0.8 } }).category).toBe('action');
    expect(suggestCategory({ feature: 7, exemplars: small, upper: 5, temporal: { switchRate: 0.1 } }).category).toBe('object');
  });

  it('spread counts patches above 10% of the feature scale', () => {
    expect(patchSpread([{ patchMap: [0, 0.05, 0.2, 1] }], 1)).toBe(0.5);
    expect(patchSpread([], 1)).toBeNull();
  });
});
