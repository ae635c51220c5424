// The reliability fuzzer (scripts/fuzz/fuzz.ts, `npm run fuzz`) in a short run: 200 damaged inputs
// of every format the studio reads, each in a reader process with a time limit and an RSS watch.
// Any crash, hang, out-of-memory or escaped engine error fails the test, listing the cases.
import { describe, expect, it } from 'vitest';
import { BAD_OUTCOMES, FORMATS, fuzz } from '../../scripts/fuzz/fuzz.js';

describe('reliability fuzzer (short run)', () => {
  it('200 mutants per format load or end in an error: no crash, hang or out-of-memory', async () => {
    const report = await fuzz({ count: 200, seed: 2026, formats: FORMATS, timeoutMs: 15_000, maxRssMB: 1024 });
    expect(report.failures).toEqual([]);
    for (const format of FORMATS) {
      const c = report.counts[format];
      expect(Object.values(c).reduce((a, b) => a + b, 0)).toBe(200);
      for (const bad of BAD_OUTCOMES) expect(c[bad], `${format} ${bad}`).toBe(0);
      // Every format's damage is caught somewhere: refusals happen.
      expect(c['one-line-error'] + c['multi-line-error'], format).toBeGreaterThan(0);
    }
  }, 240_000);
});
