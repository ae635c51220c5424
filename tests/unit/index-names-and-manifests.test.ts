import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import { buildFixtureIndex, type FixtureIndex } from '../helpers/buildFixtureIndex.js';
import { makeTinyVit, type TinyVit } from '../helpers/makeTinyVit.js';
import { openDatabase } from '../../src-main/core/store/openDatabase.js';
import { MANIFEST_PRESETS, fitGeometry } from '../../src-main/core/backbone/manifestPresets.js';
import { OnnxGraphBuilder } from '../../src-main/core/onnx/graphBuilder.js';
import { errorHint } from '../../src-renderer/src/lib/errorHints.js';
import { StudioError } from '../../src-main/core/errors.js';

// Issue 16 items 3, 6, 7, 11 and "creating a manifest in the app", through the real service on
// a real (generated) index and ONNX model.

let work: string;
let fx: FixtureIndex;
let vit: TinyVit;
let service: StudioService;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-names-'));
  fx = await buildFixtureIndex(path.join(work, 'fx'), { perLabel: 3, dSae: 64 });
  vit = await makeTinyVit({ dir: path.join(work, 'vit-only'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 2 });
  service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
}, 120_000);

afterAll(async () => {
  await service?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/** A copy of the fixture index laid out as a member of a group folder, with the name older builds stored. */
function legacyGroup(): string {
  const group = path.join(work, 'group');
  const member = path.join(group, 'a-topk');
  fs.mkdirSync(group, { recursive: true });
  fs.cpSync(fx.indexDir, member, { recursive: true });
  fs.writeFileSync(path.join(group, 'group.json'), JSON.stringify({ kind: 'sae-group', members: [{ name: 'a-topk', dir: 'a-topk' }] }));
  const db = openDatabase(path.join(member, 'index.sqlite'));
  const row = db.prepare("SELECT value FROM meta WHERE key = 'config'").get() as { value: string };
  const config = JSON.parse(row.value) as { name: string };
  db.prepare("UPDATE meta SET value = ? WHERE key = 'config'").run(JSON.stringify({ ...config, name: `${config.name} a-topk` }));
  db.close();
  return group;
}

describe('index names', () => {
  it('shows MODEL-WIDTH plus the dataset, and what tells two indexes apart', async () => {
    const s = await service.openIndex({ path: fx.indexDir });
    expect(s.name).toBe('CLIP-64');
    expect(s.dataset).toBe('data');
    expect(s.member).toBeNull();
    expect(s.detail).toBe('topk k=6 · index');
    const recent = (await service.appInfo()).recent.find((r) => r.id === s.id)!;
    expect(recent).toMatchObject({ name: 'CLIP-64', dataset: 'data', detail: 'topk k=6 · index' });
  });

  it('keeps the paper form for a group member: its own MODEL-WIDTH name, the member label apart', async () => {
    const s = await service.openIndex({ path: legacyGroup() });
    expect(s.name).toBe('CLIP-64');
    expect(s.member).toBe('a-topk');
    expect(s.detail).toBe('topk k=6 · a-topk · group');
    // Messages that name features use the same form.
    await expect(service.featureDetail({ indexId: s.id, feature: 9999 })).rejects.toThrow(/does not exist in CLIP-64 \(/);
  });

  it('renames an index: validated, stored in the index, used in feature ids and the recent list', async () => {
    const s = await service.openIndex({ path: fx.indexDir });
    await expect(service.renameIndex({ indexId: s.id, name: '  ' })).rejects.toMatchObject({ code: 'bad-request' });
    await expect(service.renameIndex({ indexId: s.id, name: 'my/toys' })).rejects.toThrow(/cannot contain "\/"/);
    const renamed = await service.renameIndex({ indexId: s.id, name: ' beach-toys ' });
    expect(renamed.name).toBe('beach-toys');
    expect(renamed.defaultName).toBe('CLIP-64');
    expect((await service.appInfo()).recent.find((r) => r.id === s.id)!.name).toBe('beach-toys');
    await expect(service.featureDetail({ indexId: s.id, feature: 9999 })).rejects.toThrow(/in beach-toys/);

    // Stored in the index: a fresh service (another session) sees it.
    const other = await createStudioService({ settingsDir: path.join(work, 'settings-2'), host: 'web' });
    try {
      expect((await other.openIndex({ path: fx.indexDir })).name).toBe('beach-toys');
    } finally {
      await other.close();
    }
    // Back to the indexer's name clears it.
    expect((await service.renameIndex({ indexId: s.id, name: 'CLIP-64' })).name).toBe('CLIP-64');
  });
});

describe('manifest hints (item 6)', () => {
  it('says a missing manifest is missing, not "found but cannot be used"', async () => {
    const missing = path.join(work, 'nope.json');
    const err = await service.inspectModel({ manifest: missing }).catch((e: StudioError) => e);
    expect(err).toMatchObject({ code: 'not-found' });
    expect((err as Error).message).toContain(missing);
    expect(errorHint((err as StudioError).code, (err as Error).message)).not.toMatch(/was found/);
  });

  it('points at the manifest and inspect-model when the .onnx is chosen, without binary junk', async () => {
    const err = (await service.inspectModel({ manifest: vit.modelPath }).catch((e: StudioError) => e)) as StudioError;
    expect(err.code).toBe('bad-input');
    expect(err.message).toContain('is a model, not its manifest');
    expect(err.message).toContain('studio inspect-model');
    // eslint-disable-next-line no-control-regex
    expect(err.message).not.toMatch(/[\u0000-\u0008\u000e-\u001f\ufffd]/);
    expect(errorHint(err.code, err.message)).toMatch(/manifest/);
  });

  it('does not attach a file hint to unrelated bad-input failures', () => {
    expect(errorHint('bad-input', 'SAE d_in 768 does not match the layer width 1024')).not.toMatch(/file was found/);
  });
});

describe('creating a manifest from an ONNX file', () => {
  it('offers the layers inspect-model finds and the presets whose token layout fits', async () => {
    const found = await service.inspectOnnx({ path: vit.modelPath });
    expect(found.layers.map((l) => l.name)).toEqual(expect.arrayContaining(['block_0', 'block_1']));
    expect(found.inputSize).toBe(32);
    // 17 tokens = CLS + 4x4: CLIP/DINOv2 fit; SigLIP and VideoMAE (no CLS) do not.
    expect(found.presets).toContain('clip');
    expect(found.presets).not.toContain('siglip');
    expect(found.manifestPath).toBe(vit.modelPath.replace(/\.onnx$/, '.json'));
  });

  it('writes a manifest next to the model with the preset preprocessing and the file geometry', async () => {
    const created = await service.createManifest({ onnx: vit.modelPath, layers: ['block_1'], preset: 'dinov2-saev', overwrite: true });
    const json = JSON.parse(fs.readFileSync(created.manifestPath, 'utf8'));
    expect(path.dirname(created.manifestPath)).toBe(path.dirname(vit.modelPath));
    expect(json.family).toBe('dinov2');
    expect(json.input).toMatchObject({ size: 32, crop: 32, resize: 'squash', resize_to: 37, interpolation: 'bilinear', mean: [0.485, 0.456, 0.406] });
    expect(json.tokens).toEqual({ cls: true, registers: 0, patch_size: 8, grid: [4, 4] });
    expect(created.inspection.layers.map((l) => l.name)).toEqual(['block_1']);
    // The written manifest is one the indexer accepts.
    expect((await service.inspectModel({ manifest: created.manifestPath })).tokens.grid).toEqual([4, 4]);
    // An existing manifest is not replaced without asking.
    await expect(service.createManifest({ onnx: vit.modelPath, layers: ['block_1'], preset: 'clip' })).rejects.toThrow(/already exists/);
  });

  it('refuses a preset whose token layout does not fit, saying which ones do', async () => {
    await expect(service.createManifest({ onnx: vit.modelPath, layers: ['block_1'], preset: 'siglip', overwrite: true })).rejects.toThrow(/presets that fit: CLIP/);
  });

  it('presets carry the numbers of resources/manifests', () => {
    const files: [string, keyof typeof MANIFEST_PRESETS][] = [
      ['clip-vit-b16.json', 'clip'],
      ['dinov2-vit-b14.json', 'dinov2-saev'],
      ['siglip-vit-b16.json', 'siglip'],
      ['videomae-vit-b.json', 'videomae'],
    ];
    for (const [file, key] of files) {
      const m = JSON.parse(fs.readFileSync(path.join('resources/manifests', file), 'utf8'));
      const p = MANIFEST_PRESETS[key];
      expect({ resize: p.resize, interpolation: p.interpolation, mean: p.mean, std: p.std, cls: p.cls }).toEqual({
        resize: m.input.resize,
        interpolation: m.input.interpolation,
        mean: m.input.mean,
        std: m.input.std,
        cls: m.tokens.cls,
      });
      expect(Math.round(m.input.size * p.resizeRatio)).toBe(m.input.resize_to);
      const tokens = (m.tokens.cls ? 1 : 0) + m.tokens.registers + m.tokens.grid[0] * m.tokens.grid[1] * (m.tokens.frames ? m.tokens.frames / m.tokens.tubelet : 1);
      expect(fitGeometry(m.input.size, tokens, p)).toEqual({ patch: m.tokens.patch_size, grid: m.tokens.grid[0], registers: m.tokens.registers });
    }
  });
});

describe('tags: action on an image index (item 11)', () => {
  it('refuses "action" on still images with a reason, and takes scene', async () => {
    const s = await service.openIndex({ path: fx.indexDir });
    await expect(service.editTags({ indexId: s.id, features: [1], category: 'action' })).rejects.toThrow(/"action" needs time.*scene or object/);
    const ok = await service.editTags({ indexId: s.id, features: [1], category: 'scene' });
    expect(ok.records[0]!.category).toBe('scene');
  });
});

describe('providers (item 11)', () => {
  it('offers only providers that can start a session here', async () => {
    const b = new OnnxGraphBuilder('identity');
    b.addInput('x', 'float32', [1]);
    b.node('Identity', ['x'], ['y']);
    b.addOutput('y', 'float32', [1]);
    const bytes = b.toBytes();
    for (const p of (await service.appInfo()).providers) {
      const session = await ort.InferenceSession.create(bytes, { executionProviders: [p] });
      await session.release();
    }
  });
});
