import { describe, expect, it } from 'vitest';
import { inShard, parseShardSpec, shardOfKey } from '../../src-main/core/indexer/shardSpec.js';

describe('--shard i/n', () => {
  it('parses a 0-based part and a count', () => {
    expect(parseShardSpec('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShardSpec(' 6 / 7 ')).toEqual({ index: 6, count: 7 });
  });

  it('refuses malformed specs, naming the rule', () => {
    expect(() => parseShardSpec('7/7')).toThrow(/part must be 0–6 \(parts count from 0\), got 7/);
    expect(() => parseShardSpec('1/0')).toThrow(/number of parts must be 1–100000, got 0/);
    expect(() => parseShardSpec('1-4')).toThrow(/takes i\/n/);
    expect(() => parseShardSpec('-1/4')).toThrow(/takes i\/n/);
  });

  it('puts every key in exactly one part, the same part on every call, whatever the order', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `class_${i % 10}/img_${String(i).padStart(5, '0')}.jpg`);
    for (const n of [1, 2, 3, 7]) {
      const owners = keys.map((k) => [0, 1, 2, 3, 4, 5, 6].filter((i) => i < n && inShard(k, { index: i, count: n })));
      expect(owners.every((o) => o.length === 1)).toBe(true);
      const shuffled = [...keys].reverse();
      expect(shuffled.map((k) => shardOfKey(k, n)).reverse()).toEqual(keys.map((k) => shardOfKey(k, n)));
    }
    expect(keys.length).toBeGreaterThan(0);
  });

  it('balances parts: each of 7 parts gets 1/7 of 7,000 keys within 10%, every class in every part', () => {
    const n = 7;
    const keys = Array.from({ length: 7000 }, (_, i) => `c${i % 10}/${i}.png`);
    const sizes = new Array<number>(n).fill(0);
    const classes = Array.from({ length: n }, () => new Set<string>());
    for (const k of keys) {
      const s = shardOfKey(k, n);
      sizes[s]! += 1;
      classes[s]!.add(k.split('/')[0]!);
    }
    for (const size of sizes) expect(Math.abs(size - 1000)).toBeLessThan(100);
    for (const c of classes) expect(c.size).toBe(10);
  });

  it('spreads keys that differ only in the last character', () => {
    const parts = new Set(Array.from({ length: 16 }, (_, i) => shardOfKey(`item${String.fromCharCode(97 + i)}`, 4)));
    expect(parts.size).toBe(4);
  });
});
