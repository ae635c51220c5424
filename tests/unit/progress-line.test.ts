import { describe, expect, it } from 'vitest';
import type { JobProgress } from '../../src-main/contract/index.js';
import {
  fitToWidth,
  formatCount,
  formatDuration,
  formatPercent,
  formatProgressLine,
  formatRate,
} from '../../src-main/hosts/cli/progressLine.js';

const progress = (p: Partial<JobProgress>): JobProgress => ({
  phase: 'indexing',
  done: 0,
  total: 0,
  skipped: 0,
  itemsPerSec: 0,
  etaSec: null,
  ...p,
});

describe('progress line formatting', () => {
  it('formats durations', () => {
    expect(formatDuration(null)).toBe('--');
    expect(formatDuration(Number.NaN)).toBe('--');
    expect(formatDuration(-1)).toBe('--');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(44.6)).toBe('45s');
    expect(formatDuration(125)).toBe('2m 05s');
    expect(formatDuration(3720)).toBe('1h 02m');
    expect(formatDuration(3 * 86400 + 4 * 3600 + 59)).toBe('3d 04h');
  });

  it('formats rates and counts', () => {
    expect(formatRate(0)).toBe('0');
    expect(formatRate(Number.POSITIVE_INFINITY)).toBe('0');
    expect(formatRate(3.14159)).toBe('3.1');
    expect(formatRate(99.96)).toBe('100.0');
    expect(formatRate(1234.4)).toBe('1,234');
    expect(formatCount(1281167)).toBe('1,281,167');
  });

  it('formats percentages', () => {
    expect(formatPercent(0, 0)).toBe('');
    expect(formatPercent(1234, 50000)).toBe('2.5%');
    expect(formatPercent(49999, 50000)).toBe('99%');
    expect(formatPercent(60, 50)).toBe('100%');
  });

  it('builds the indexing line', () => {
    expect(
      formatProgressLine(progress({ done: 1234, total: 50000, itemsPerSec: 312.4, etaSec: 156, skipped: 3 })),
    ).toBe('indexing 1,234/50,000 (2.5%) · 312 items/s · ETA 2m 36s · 3 skipped');
    expect(formatProgressLine(progress({ done: 10, total: 0, itemsPerSec: 2.5 }))).toBe(
      'indexing 10 · 2.5 items/s · ETA --',
    );
  });

  it('builds lines for the other phases', () => {
    expect(formatProgressLine(progress({ phase: 'preparing' }))).toMatch(/^preparing/);
    expect(formatProgressLine(progress({ phase: 'thumbnails', done: 5, total: 10 }))).toBe('thumbnails 5/10 (50%)');
  });

  it('fits a line to the terminal width', () => {
    expect(fitToWidth('abcdef', undefined)).toBe('abcdef');
    expect(fitToWidth('a'.repeat(30), 20)).toHaveLength(19);
    expect(fitToWidth('short', 80)).toBe('short');
  });
});
