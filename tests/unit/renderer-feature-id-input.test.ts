import { describe, expect, it } from 'vitest';
import { parseFeatureInput, rememberIndexNames } from '../../src-renderer/src/lib/featureIdInput';
import { featureName } from '../../src-main/contract/index';

// "Go to" accepts every form the studio prints, and nothing opens feature 0 by accident.

describe('parseFeatureInput', () => {
  it('accepts a number, #number and the names the studio prints', () => {
    expect(parseFeatureInput('88', 256, 'TOY-A-256')).toEqual({ ok: true, feature: 88 });
    expect(parseFeatureInput(' #88 ', 256, 'TOY-A-256')).toEqual({ ok: true, feature: 88 });
    expect(parseFeatureInput(featureName('TOY-A-256', 88), 256, 'TOY-A-256')).toEqual({ ok: true, feature: 88 });
    expect(parseFeatureInput('TOY-A-256 / 88', 256, 'TOY-A-256')).toEqual({ ok: true, feature: 88 });
    expect(parseFeatureInput(0, 256)).toEqual({ ok: true, feature: 0 });
  });

  it('accepts a group member by its paper name and the legacy "NAME member" form, not another member', () => {
    rememberIndexNames({ name: 'TOY-A-256', defaultName: 'TOY-A-256', member: 'a-topk' });
    expect(parseFeatureInput('TOY-A-256/88', 256, 'TOY-A-256')).toEqual({ ok: true, feature: 88 });
    expect(parseFeatureInput('TOY-A-256 a-topk/88', 256, 'TOY-A-256')).toEqual({ ok: true, feature: 88 });
    expect(parseFeatureInput('TOY-A-256 b-matryoshka/88', 256, 'TOY-A-256').ok).toBe(false);
  });

  it('accepts the user name and, after a rename, the indexer name', () => {
    rememberIndexNames({ name: 'beach toys', defaultName: 'CLIP-24K', member: null });
    expect(parseFeatureInput('beach toys/12', 24576, 'beach toys')).toEqual({ ok: true, feature: 12 });
    expect(parseFeatureInput('CLIP-24K/12', 24576, 'beach toys')).toEqual({ ok: true, feature: 12 });
    expect(parseFeatureInput('DINOv2-3K/12', 24576, 'beach toys').ok).toBe(false);
  });

  it('refuses empty input, other indexes, out-of-range numbers and junk with a sentence', () => {
    const empty = parseFeatureInput('', 256, 'TOY-A-256');
    expect(empty.ok).toBe(false);
    expect(!empty.ok && empty.message).toContain('from 0 to 255');
    expect(parseFeatureInput('CLIP-24K/6909', 24576, 'TOY-A-256')).toEqual({
      ok: false,
      message: 'CLIP-24K/6909 names a feature of CLIP-24K; this index is TOY-A-256',
    });
    expect(parseFeatureInput('256', 256, 'TOY-A-256').ok).toBe(false);
    expect(parseFeatureInput('-3', 256).ok).toBe(false);
    expect(parseFeatureInput('--25688', 256).ok).toBe(false);
    expect(parseFeatureInput('1e2', 256).ok).toBe(false);
  });
});
