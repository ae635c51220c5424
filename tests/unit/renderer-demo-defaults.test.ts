// Issue 16 items 4 and 5, the pure parts: which head the Intervene view starts with on the demo,
// which indexes the flicker view offers as a second SAE (and why not the others), and the frame
// count its help text states.
import { describe, expect, it } from 'vitest';
import type { IndexSummary } from '../../src-main/contract/index.js';
import { demoHeadFor } from '../../src-renderer/src/stores/intervene';
import { framesSampled, incompatibility } from '../../src-renderer/src/stores/flicker';

const heads = [
  { label: 'colour · A', path: '/d/heads/toy-vit-a/colour', backbone: '/d/backbones/toy-vit-a/manifest.json' },
  { label: 'scene · A', path: '/d/heads/toy-vit-a/scene', backbone: '/d/backbones/toy-vit-a/manifest.json' },
  { label: 'colour · B', path: '/d/heads/toy-vit-b/colour', backbone: '/d/backbones/toy-vit-b/manifest.json' },
];

function summary(patch: { name?: string; manifestPath?: string; layer?: string; dModel?: number; dataset?: string; kind?: 'images' | 'videos'; framesPerClip?: number | null }): IndexSummary {
  return {
    kind: patch.kind ?? 'videos',
    framesPerClip: patch.framesPerClip ?? null,
    dataset: patch.dataset ?? 'clips',
    model: { name: patch.name ?? 'Toy ViT A', manifestPath: patch.manifestPath ?? '/d/backbones/toy-vit-a/manifest.json', layer: patch.layer ?? 'block_1', dModel: patch.dModel ?? 64 },
  } as unknown as IndexSummary;
}

describe('the Intervene view on the demo', () => {
  it("starts with the demo's first head on the index's own backbone", () => {
    expect(demoHeadFor({ built: true, heads }, '/d/backbones/toy-vit-a/manifest.json')).toBe('/d/heads/toy-vit-a/colour');
    expect(demoHeadFor({ built: true, heads }, '/d/backbones/toy-vit-b/manifest.json')).toBe('/d/heads/toy-vit-b/colour');
  });
  it('has no default for other indexes, an unbuilt demo or a studio without demo heads', () => {
    expect(demoHeadFor({ built: true, heads }, '/elsewhere/manifest.json')).toBeNull();
    expect(demoHeadFor({ built: false, heads }, '/d/backbones/toy-vit-a/manifest.json')).toBeNull();
    expect(demoHeadFor({ built: true }, '/d/backbones/toy-vit-a/manifest.json')).toBeNull();
    expect(demoHeadFor(null, '/d/backbones/toy-vit-a/manifest.json')).toBeNull();
  });
});

describe('the flicker view’s second SAE', () => {
  const a = summary({});
  it('accepts another SAE on the same backbone, layer and dataset', () => {
    expect(incompatibility(a, summary({}))).toBeNull();
  });
  it('says why the others are not offered', () => {
    expect(incompatibility(a, summary({ name: 'Toy ViT B', manifestPath: '/d/backbones/toy-vit-b/manifest.json', dModel: 48 }))).toBe('another backbone (Toy ViT B)');
    expect(incompatibility(a, summary({ layer: 'block_0' }))).toBe('another layer (block_0, not block_1)');
    expect(incompatibility(a, summary({ dataset: 'images', kind: 'images' }))).toBe('another dataset (images, not clips)');
    expect(incompatibility(a, summary({ kind: 'images' }))).toBe('built from images, not clips');
  });
  it('states the frames the index samples (16 when the index does not fix a count)', () => {
    expect(framesSampled(summary({ framesPerClip: 8 }))).toBe(8);
    expect(framesSampled(summary({ framesPerClip: null }))).toBe(16);
    expect(framesSampled(null)).toBe(16);
  });
});
