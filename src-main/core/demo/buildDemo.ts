// The embedded demo: everything a new user needs to see the studio at work, made by the studio
// itself with no download and no Python. A generated dataset with known factors ("shapes in
// motion"), two toy backbones with different token layouts, three SAEs trained here (TopK and
// Matryoshka on backbone A, TopK on backbone B), their image and clip indexes, and the A-vs-B
// matches. Every step is deterministic from the seed; a step whose output is already complete is
// skipped, so an interrupted build picks up where it stopped.
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../errors.js';
import { runIndex } from '../indexer/runIndex.js';
import { ImageFolderSource } from '../indexer/sources/imageFolderSource.js';
import { matchIndexFolders } from '../analysis/runMatch.js';
import { resolveIndexFolder } from '../store/indexGroup.js';
import { readConfig, openIndexDb } from '../analysis/matchStore.js';
import { activationRowStream } from '../train/rowStream.js';
import { trainSae, writeTrainedSae, type TrainArch } from '../train/saeTrainer.js';
import { generateShapes, writeShapesDataset, type ShapesSpec } from './shapesDataset.js';
import { DEMO_HEAD_KEYS, writeDemoHeads, type DemoHeadKey } from './demoHeads.js';
import { writeToyBackbone, type ToyBackboneOptions } from './toyBackbone.js';

export type { DemoSize } from '../../contract/index.js';
import type { DemoSize, JobPhase } from '../../contract/index.js';

const DEMO_FILE = 'demo.json';
/** Bumped whenever the recipe changes, so an old demo folder is rebuilt rather than reused. */
const DEMO_VERSION = 1;

interface DemoRecipe {
  dataset: ShapesSpec;
  trainSteps: number;
}

const RECIPES: Record<DemoSize, DemoRecipe> = {
  full: { dataset: { seed: 7, images: 240, clips: 60, frames: 8, size: 128 }, trainSteps: 1500 },
  small: { dataset: { seed: 7, images: 60, clips: 10, frames: 6, size: 128 }, trainSteps: 200 },
};

/** Backbone A: CLS and a 16-pixel patch grid (a CLIP-like layout). */
const BACKBONE_A: ToyBackboneOptions = {
  name: 'Toy ViT A (CLIP-like layout, random weights)', family: 'clip', manifestFamily: 'toy-a', imageSize: 128, patchSize: 16, dModel: 64, cls: true, registers: 0,
  seed: 101, blocks: 2, positionScale: 0.1,
  notes: 'Feature Studio demo backbone: fixed random weights, patch embedding and MLP blocks, no attention. Not CLIP.',
};
/** Backbone B: CLS plus 4 registers and a 14-pixel patch grid (a DINOv2-like layout). */
const BACKBONE_B: ToyBackboneOptions = {
  name: 'Toy ViT B (DINOv2-like layout with registers, random weights)', family: 'dinov2', manifestFamily: 'toy-b', imageSize: 112, patchSize: 14, dModel: 48, cls: true, registers: 4,
  seed: 202, blocks: 2, positionScale: 0.1,
  notes: 'Feature Studio demo backbone: fixed random weights, patch embedding and MLP blocks, no attention. Not DINOv2.',
};
const LAYER = 'block_1';

interface SaeRecipe {
  key: 'a-topk' | 'a-matryoshka' | 'b-topk';
  backbone: 'a' | 'b';
  arch: TrainArch;
  width: number;
  k: number;
  groups?: number[];
  seed: number;
}

const SAES: SaeRecipe[] = [
  { key: 'a-topk', backbone: 'a', arch: 'topk', width: 256, k: 8, seed: 1 },
  { key: 'a-matryoshka', backbone: 'a', arch: 'matryoshka', width: 256, k: 8, groups: [32, 96, 256], seed: 1 },
  { key: 'b-topk', backbone: 'b', arch: 'topk', width: 192, k: 8, seed: 2 },
];

/** What the build does, step by step, and the job phase each step counts as. */
const STEPS: { label: string; phase: DemoPhase }[] = [
  { label: 'Drawing the shapes-in-motion dataset', phase: 'preparing' },
  { label: 'Writing the two toy backbones', phase: 'preparing' },
  ...SAES.map((s) => ({ label: `Training the ${s.arch === 'matryoshka' ? 'Matryoshka' : 'TopK'} SAE on backbone ${s.backbone.toUpperCase()}`, phase: 'training' as const })),
  { label: 'Indexing images through backbone A', phase: 'indexing' },
  { label: 'Indexing images through backbone B', phase: 'indexing' },
  { label: 'Indexing clips through backbone A (TopK and Matryoshka in one pass)', phase: 'indexing' },
  { label: 'Indexing clips through backbone B', phase: 'indexing' },
  { label: 'Matching A with B', phase: 'matching' },
  // Last, so a demo built before the heads existed gains them without redoing anything else.
  { label: 'Fitting task heads (colour, scene, segmentation) for the Intervene view', phase: 'training' },
];

/** The step labels (the welcome screen shows them as a checklist). */
export const DEMO_STEPS: readonly string[] = STEPS.map((s) => s.label);

type DemoPhase = Extract<JobPhase, 'preparing' | 'training' | 'indexing' | 'matching'>;

export interface DemoIndexes {
  /** Images through backbone A and its TopK SAE. */
  aImages: string;
  /** Images through backbone B and its TopK SAE. */
  bImages: string;
  /** Clips through backbone A: a group of the TopK and the Matryoshka SAE. */
  aClips: string;
  /** Clips through backbone B and its TopK SAE. */
  bClips: string;
}

export interface DemoManifest {
  version: number;
  size: DemoSize;
  builtAt: string;
  seconds: number;
  indexes: DemoIndexes;
  backbones: { a: string; b: string };
  saes: Record<SaeRecipe['key'], string>;
  dataset: string;
  /** Head folders per backbone (linear probes on the demo's ground truth, for the Intervene view). */
  heads: { a: Record<DemoHeadKey, string>; b: Record<DemoHeadKey, string> };
}

export interface DemoProgress {
  /** 1-based step number and the step count. */
  step: number;
  steps: number;
  /** What the step does, for people. */
  label: string;
  phase: DemoPhase;
  /** Progress inside the step. */
  done: number;
  total: number;
  /** Extra detail (training loss, items/s). */
  detail: string | null;
}

export interface BuildDemoOptions {
  out: string;
  size?: DemoSize;
  signal?: AbortSignal;
  onProgress?: (p: DemoProgress) => void;
  provider?: 'auto' | 'cpu';
}

/** The index the app opens first: the clip group of backbone A (flicker view with two SAEs). */
export function demoOpenPath(m: DemoManifest): string {
  return m.indexes.aClips;
}

/** The demo's indexes as the welcome screen lists them. */
export function demoIndexList(m: DemoManifest): { label: string; path: string }[] {
  return [
    { label: 'Clips · toy ViT A · TopK and Matryoshka side by side', path: m.indexes.aClips },
    { label: 'Images · toy ViT A · TopK', path: m.indexes.aImages },
    { label: 'Images · toy ViT B (registers) · TopK', path: m.indexes.bImages },
    { label: 'Clips · toy ViT B (registers) · TopK', path: m.indexes.bClips },
  ];
}

const HEAD_LABELS: Record<DemoHeadKey, string> = {
  colour: "Object colour (classification)",
  scene: 'Background scene (classification)',
  segmentation: 'Object colour per patch (segmentation)',
};

/** The demo's heads as the Intervene view offers them: the colour classifier first (its default). */
export function demoHeadList(m: DemoManifest): { label: string; path: string; backbone: string }[] {
  const out: { label: string; path: string; backbone: string }[] = [];
  for (const b of ['a', 'b'] as const) {
    for (const k of DEMO_HEAD_KEYS) out.push({ label: `${HEAD_LABELS[k]} · toy ViT ${b.toUpperCase()}`, path: m.heads[b][k], backbone: m.backbones[b] });
  }
  return out;
}

/** The finished demo in `dir`, or null when none was built (or it is from an older recipe). */
export function readDemo(dir: string): DemoManifest | null {
  const file = path.join(dir, DEMO_FILE);
  if (!fs.existsSync(file)) return null;
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as DemoManifest;
    if (m.version !== DEMO_VERSION) return null;
    const all = [m.indexes.aImages, m.indexes.bImages, m.indexes.aClips, m.indexes.bClips];
    // A demo from before the heads existed counts as unfinished: building it again only adds them.
    const heads = m.heads ? [...Object.values(m.heads.a), ...Object.values(m.heads.b)].map((h) => path.join(h, 'head.json')) : [null];
    return all.every((p) => fs.existsSync(p)) && heads.every((h) => h !== null && fs.existsSync(h)) ? m : null;
  } catch {
    return null;
  }
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new StudioError('cancelled', 'Demo build cancelled; start it again to continue where it stopped.');
}

/** Builds (or finishes building) the demo in `out`; returns its manifest. */
export async function buildDemo(o: BuildDemoOptions): Promise<DemoManifest> {
  const out = path.resolve(o.out);
  const size = o.size ?? 'full';
  const existing = readDemo(out);
  if (existing && existing.size === size) return existing;
  const recipe = RECIPES[size];
  const t0 = performance.now();
  const provider = o.provider ?? 'cpu';
  let stepNo = 0;
  const begin = () => {
    checkAborted(o.signal);
    stepNo++;
    report(0, 1, null);
  };
  const report = (done: number, total: number, detail: string | null) =>
    o.onProgress?.({ step: stepNo, steps: STEPS.length, ...STEPS[stepNo - 1]!, done, total, detail });
  const marker = (name: string) => path.join(out, '.done', name);
  // A step counts as done when it said so and what it wrote is still there.
  const isDone = (name: string, output: string) => fs.existsSync(marker(name)) && fs.existsSync(output);
  const markDone = (name: string) => {
    fs.mkdirSync(path.dirname(marker(name)), { recursive: true });
    fs.writeFileSync(marker(name), `${JSON.stringify({ size, version: DEMO_VERSION })}\n`);
  };
  // A demo folder from another size or recipe starts over.
  const stamp = path.join(out, '.done', 'recipe.json');
  const wanted = JSON.stringify({ size, version: DEMO_VERSION });
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() !== wanted) fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, '.done'), { recursive: true });
  fs.writeFileSync(stamp, `${wanted}\n`);

  const datasetDir = path.join(out, 'dataset');
  const imagesDir = path.join(datasetDir, 'images');
  const clipsDir = path.join(datasetDir, 'clips');
  begin();
  if (!isDone('dataset', path.join(datasetDir, 'factors.json'))) {
    fs.rmSync(datasetDir, { recursive: true, force: true });
    await writeShapesDataset(datasetDir, recipe.dataset);
    markDone('dataset');
  }

  begin();
  const backboneDirs = { a: path.join(out, 'backbones', 'toy-vit-a'), b: path.join(out, 'backbones', 'toy-vit-b') };
  const manifests = {
    a: (await writeToyBackbone(backboneDirs.a, BACKBONE_A)).manifestPath,
    b: (await writeToyBackbone(backboneDirs.b, BACKBONE_B)).manifestPath,
  };

  const saePaths = {} as Record<SaeRecipe['key'], string>;
  for (const s of SAES) {
    begin();
    const dir = path.join(out, 'saes', s.key);
    if (!isDone(`sae-${s.key}`, path.join(dir, 'cfg.json'))) {
      fs.rmSync(dir, { recursive: true, force: true });
      const source = await ImageFolderSource.open(manifests[s.backbone], LAYER, imagesDir, provider);
      try {
        const sae = await trainSae(activationRowStream(source, { seed: s.seed, dataName: imagesDir }), {
          dIn: source.d, width: s.width, k: s.k, arch: s.arch, groups: s.groups, steps: recipe.trainSteps, seed: s.seed,
          batchSize: 256, signal: o.signal, progressEvery: 10, denseProduct: 'onnx', provider,
          onProgress: (p) => report(p.step, p.steps, `loss ${p.loss.toFixed(3)} · FVU ${p.fvu.toFixed(3)} · L0 ${p.l0.toFixed(1)} · dead ${p.dead}`),
        });
        checkAborted(o.signal);
        writeTrainedSae(sae, dir, { hookName: LAYER, model: source.model.name });
      } finally {
        await source.close();
      }
      markDone(`sae-${s.key}`);
    }
    saePaths[s.key] = dir; // a SAELens folder
  }

  const indexes: DemoIndexes = {
    aImages: path.join(out, 'indexes', 'a-images'),
    bImages: path.join(out, 'indexes', 'b-images'),
    aClips: path.join(out, 'indexes', 'a-clips'),
    bClips: path.join(out, 'indexes', 'b-clips'),
  };
  const labels = path.join(datasetDir, 'labels.json');
  const runs: { key: keyof DemoIndexes; req: Parameters<typeof runIndex>[0] }[] = [
    { key: 'aImages', req: { model: manifests.a, layer: LAYER, sae: saePaths['a-topk'], data: imagesDir, out: indexes.aImages, kind: 'images', provider } },
    { key: 'bImages', req: { model: manifests.b, layer: LAYER, sae: saePaths['b-topk'], data: imagesDir, out: indexes.bImages, kind: 'images', provider } },
    {
      key: 'aClips',
      req: { model: manifests.a, layer: LAYER, sae: saePaths['a-topk'], saes: [saePaths['a-matryoshka']], data: clipsDir, out: indexes.aClips, kind: 'videos', frames: recipe.dataset.frames, labels, provider },
    },
    { key: 'bClips', req: { model: manifests.b, layer: LAYER, sae: saePaths['b-topk'], data: clipsDir, out: indexes.bClips, kind: 'videos', frames: recipe.dataset.frames, labels, provider } },
  ];
  for (const r of runs) {
    begin();
    if (isDone(`index-${r.key}`, r.req.out)) continue;
    await runIndex(r.req, {
      signal: o.signal,
      onProgress: (p) => report(p.done, Math.max(p.total, 1), p.itemsPerSec > 0 ? `${p.itemsPerSec.toFixed(0)} items/s` : null),
    });
    checkAborted(o.signal);
    markDone(`index-${r.key}`);
  }

  begin();
  const pairs: [string, string][] = [[indexes.aImages, indexes.bImages], [resolveIndexFolder(indexes.aClips).dir, indexes.bClips]];
  for (let i = 0; i < pairs.length; i++) {
    const [a, b] = pairs[i]!;
    if (isDone(`match-${i}`, a) && isDone(`match-${i}`, b)) continue;
    matchIndexFolders(sideOf(a), sideOf(b), (phase, done, total) => report(i * 2 + (phase === 'saving' ? 1 : done / Math.max(total, 1)), pairs.length * 2, phase));
    markDone(`match-${i}`);
  }

  begin();
  const items = generateShapes(recipe.dataset);
  const heads = {} as DemoManifest['heads'];
  for (const b of ['a', 'b'] as const) {
    const dir = path.join(out, 'heads', `toy-vit-${b}`);
    const ready = DEMO_HEAD_KEYS.every((k) => fs.existsSync(path.join(dir, k, 'head.json')));
    if (!isDone(`heads-${b}`, dir) || !ready) {
      fs.rmSync(dir, { recursive: true, force: true });
      const written = await writeDemoHeads({
        manifest: manifests[b], items, imagesDir, outDir: dir, backboneLabel: `toy ViT ${b.toUpperCase()}`, provider, signal: o.signal,
        onProgress: (done, total, detail) => report((b === 'a' ? 0 : total) + done, 2 * total, detail ? `backbone ${b.toUpperCase()}: ${detail} right on the training images` : null),
      });
      checkAborted(o.signal);
      markDone(`heads-${b}`);
      heads[b] = written.dirs;
    } else {
      heads[b] = Object.fromEntries(DEMO_HEAD_KEYS.map((k) => [k, path.join(dir, k)])) as Record<DemoHeadKey, string>;
    }
  }

  const manifest: DemoManifest = {
    version: DEMO_VERSION, size, builtAt: new Date().toISOString(), seconds: (performance.now() - t0) / 1000,
    indexes, backbones: manifests, saes: saePaths, dataset: datasetDir, heads,
  };
  fs.writeFileSync(path.join(out, DEMO_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function sideOf(dir: string) {
  const db = openIndexDb(dir);
  try {
    const cfg = readConfig(db);
    return { indexId: dir, path: dir, name: cfg.name, features: cfg.sae.dSae };
  } finally {
    db.close();
  }
}
