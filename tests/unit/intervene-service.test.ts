import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStudioService, type StudioService } from '../../src-main/core/service.js';
import { Intervener } from '../../src-main/core/intervene/intervener.js';
import { compareOutputs } from '../../src-main/core/intervene/interveneEngine.js';
import { writeSafetensors } from '../../src-main/core/sae/safetensors.js';
import { runIndex } from '../../src-main/core/indexer/runIndex.js';
import { makeTinyVit } from '../helpers/makeTinyVit.js';
import { makeSae } from '../helpers/makeSae.js';
import { makeImageFolder } from '../helpers/makeImageFolder.js';
import { mulberry32 } from '../helpers/prng.js';

// The interactive intervention path: StudioService → analysis worker → Intervener, with the
// view's multiples scaled by each feature's max in the index.

function writeHead(dir: string, task: 'classification' | 'segmentation', input: string, classes: number, d: number, seed: number): string {
  fs.mkdirSync(dir, { recursive: true });
  const r = mulberry32(seed);
  writeSafetensors(path.join(dir, 'head.safetensors'), {
    weight: { shape: [classes, d], data: Float32Array.from({ length: classes * d }, () => (r() * 2 - 1) * 0.6) },
    bias: { shape: [classes], data: Float32Array.from({ length: classes }, () => r() - 0.5) },
  });
  fs.writeFileSync(path.join(dir, 'head.json'), JSON.stringify({ task, input }));
  fs.writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(Array.from({ length: classes }, (_, c) => `class-${c}`)));
  return dir;
}

/** A JPEG of seeded noise: large enough that decoding and resizing it takes a while. */
async function noiseJpeg(width: number, height: number, seed: number): Promise<Buffer> {
  const r = mulberry32(seed);
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = Math.floor(r() * 256);
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

describe('interventions through the service and the analysis worker', () => {
  let work: string;
  let service: StudioService;
  let indexId: string;
  let vitManifest: string;
  let sae: string;
  let segHead: string;
  let clsHead: string;
  let image: string;
  let features: { index: number; max: number }[];

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-intervene-svc-'));
    const vit = await makeTinyVit({ dir: path.join(work, 'vit'), imageSize: 32, patchSize: 8, dModel: 16, cls: true, seed: 12 });
    vitManifest = vit.manifestPath;
    sae = makeSae(path.join(work, 'sae'), { dIn: 16, dSae: 24, architecture: 'relu', seed: 13 });
    // The toy blocks do not mix tokens: a per-patch head shows edits; a CLS head must not move.
    segHead = writeHead(path.join(work, 'seg-head'), 'segmentation', 'last_hidden_state', 4, 16, 14);
    clsHead = writeHead(path.join(work, 'cls-head'), 'classification', 'last_hidden_state', 6, 16, 15);
    const data = await makeImageFolder(path.join(work, 'images'), { perLabel: 2, width: 70, height: 64 });
    image = path.join(data.dir, data.files[0]!);
    const out = path.join(work, 'index');
    await runIndex({ model: vit.manifestPath, layer: 'block_0', sae, data: data.dir, out, topK: 2, provider: 'cpu' });
    service = await createStudioService({ settingsDir: path.join(work, 'settings'), host: 'web' });
    indexId = (await service.openIndex({ path: out })).id;
    const page = await service.queryFeatures({ indexId, sort: 'max', desc: true, offset: 0, limit: 2 });
    features = page.rows.map((r) => ({ index: r.feature, max: r.max }));
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('scales multiples by the index max and matches the Intervener called directly', async () => {
    const session = await service.interveneOpen({ indexId, head: segHead, image: { path: image } });
    expect(session.head.task).toBe('segmentation');
    expect(session.grid).toEqual([4, 4]);
    expect(session.preview).toMatch(/^data:image\/png;base64,/);
    const [fa, fb] = features as [{ index: number; max: number }, { index: number; max: number }];
    expect(fa.max).toBeGreaterThan(0);
    const edits = [
      { feature: fa.index, multiple: -2 },
      { feature: fb.index, multiple: 0 },
    ];
    const result = await service.interveneRun({ sessionId: session.sessionId, edits, patches: [0, 5, 6] });
    // The index max, as featureDetail reports it, is what a multiple of 1 means.
    const maxA = (await service.featureDetail({ indexId, feature: fa.index })).row.max;
    expect(result.edits[0]).toEqual({ feature: fa.index, multiple: -2, max: maxA, value: -2 * maxA });
    expect(result.edits[1]!.value).toBe(0);

    const iv = await Intervener.open({ model: vitManifest, layer: 'block_0', sae, head: segHead, provider: 'cpu' });
    try {
      await iv.setImage(image);
      const direct = await iv.run(
        result.edits.map((e) => ({ feature: e.feature, value: e.value })),
        [0, 5, 6],
      );
      expect(result.before.patchClasses).toEqual(direct.before.patchClasses);
      expect(result.after.patchClasses).toEqual(direct.after.patchClasses);
      result.after.patchConfidence!.forEach((c, p) => expect(c).toBeCloseTo(direct.after.patchProbs![p]![direct.after.patchClasses![p]!]!, 6));
      expect(result.changedPatches).toEqual(compareOutputs(direct.before, direct.after).changedPatches);
      // Only the chosen patches may change class.
      for (const p of result.changedPatches) expect([0, 5, 6]).toContain(p);
    } finally {
      await iv.close();
    }

    // A strong edit on every patch changes the map somewhere; no edit changes nothing.
    const strong = await service.interveneRun({ sessionId: session.sessionId, edits: [{ feature: fa.index, multiple: 3 }, { feature: fb.index, multiple: -3 }], patches: null });
    const none = await service.interveneRun({ sessionId: session.sessionId, edits: [], patches: null });
    expect(none.after).toEqual(none.before);
    expect(none.changedPatches).toEqual([]);
    expect(strong.before).toEqual(none.before);
  });

  it('a classification head on the CLS token reads the same before and after (toy blocks do not mix tokens)', async () => {
    const bytes = fs.readFileSync(image).toString('base64');
    const session = await service.interveneOpen({ indexId, head: clsHead, image: { data: bytes, name: 'upload.png' } });
    expect(session.head.task).toBe('classification');
    expect(session.image.name).toBe('upload.png');
    const r = await service.interveneRun({ sessionId: session.sessionId, edits: [{ feature: features[0]!.index, multiple: 0 }], patches: null });
    expect(r.labels).toHaveLength(6);
    r.after.probs!.forEach((p, i) => expect(p).toBeCloseTo(r.before.probs![i]!, 6));
    expect(r.changedClasses).toEqual([]);
  });

  it('a run queued behind a held one and replaced by a newer run answers superseded; the newest runs', async () => {
    // The worker runs requests one at a time. Hold it: session A's image is a large JPEG and the
    // intervener holds one image at a time, so once B is opened, running A decodes, resizes and
    // encodes A again (~0.15 s here, against microseconds between the posts). The two runs on B are posted synchronously behind it, so
    // both are queued before the held run ends: the middle one must be skipped, not run.
    const big = await noiseJpeg(1600, 1200, 21);
    const a = await service.interveneOpen({ indexId, head: segHead, image: { data: big.toString('base64'), name: 'big.jpg' } });
    const b = await service.interveneOpen({ indexId, head: segHead, image: { path: image } });
    const f = features[0]!.index;
    const held = service.interveneRun({ sessionId: a.sessionId, edits: [{ feature: f, multiple: 1 }], patches: null });
    const middle = service.interveneRun({ sessionId: b.sessionId, edits: [{ feature: f, multiple: -3 }], patches: null });
    const last = service.interveneRun({ sessionId: b.sessionId, edits: [{ feature: f, multiple: 3 }], patches: null });
    const [h, m, l] = await Promise.allSettled([held, middle, last]);
    expect(h.status).toBe('fulfilled');
    expect(m.status).toBe('rejected');
    expect(m.status === 'rejected' && (m.reason as { code?: string }).code).toBe('superseded');
    expect(l.status).toBe('fulfilled');
    if (h.status !== 'fulfilled' || l.status !== 'fulfilled') return;
    expect(h.value.sessionId).toBe(a.sessionId);
    // The last run answers its own request (B, multiple 3), not the held one's or the middle one's.
    expect(l.value.sessionId).toBe(b.sessionId);
    expect(l.value.edits).toEqual([{ feature: f, multiple: 3, max: features[0]!.max, value: 3 * features[0]!.max }]);
    const again = await service.interveneRun({ sessionId: b.sessionId, edits: [{ feature: f, multiple: 3 }], patches: null });
    const other = await service.interveneRun({ sessionId: b.sessionId, edits: [{ feature: f, multiple: -3 }], patches: null });
    expect(l.value.after).toEqual(again.after);
    expect(l.value.after).not.toEqual(other.after);
  }, 30_000);

  it('says what to fix: unknown feature, missing head folder, no session', async () => {
    const session = await service.interveneOpen({ indexId, head: segHead, image: { path: image } });
    await expect(service.interveneRun({ sessionId: session.sessionId, edits: [{ feature: 24, multiple: 0 }], patches: null })).rejects.toThrow(/Feature 24 does not exist .*0–23/);
    await expect(service.interveneRun({ sessionId: session.sessionId, edits: [], patches: [99] })).rejects.toThrow(/outside the 4x4 grid/);
    await expect(service.interveneOpen({ indexId, head: path.join(work, 'nope'), image: { path: image } })).rejects.toThrow(/No head folder/);
    await expect(service.interveneRun({ sessionId: 'missing', edits: [], patches: null })).rejects.toThrow(/not open/);
  });
});
