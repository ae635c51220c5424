import { describe, expect, it } from 'vitest';
import { formatValue } from '../../src-renderer/src/lib/format';

// One precision for activation values everywhere: three significant digits, zeros kept.
describe('formatValue', () => {
  it('keeps three significant digits, trailing zeros included', () => {
    expect(formatValue(0.5)).toBe('0.500');
    expect(formatValue(0.684)).toBe('0.684');
    expect(formatValue(2)).toBe('2.00');
    expect(formatValue(1.7712)).toBe('1.77');
    expect(formatValue(12.345)).toBe('12.3');
    expect(formatValue(-0.0421)).toBe('-0.0421');
  });
  it('whole numbers from 100, exponents at the ends, dashes for no value', () => {
    expect(formatValue(123.4)).toBe('123');
    expect(formatValue(99.96)).toBe('100');
    expect(formatValue(12345.6)).toBe('12,346');
    expect(formatValue(0.0004)).toBe('4.00e-4');
    expect(formatValue(2.5e6)).toBe('2.50e+6');
    expect(formatValue(0)).toBe('0');
    expect(formatValue(null)).toBe('–');
  });
});
