// Interventions for the interactive view, run inside the analysis worker: one Intervener per
// (backbone, layer, SAE, head) kept open between requests, and a few recent images per session so
// that dragging a slider only re-runs the edit, the tail of the backbone and the head.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { InterveneOutput, InterveneResult, InterveneSession, ProviderChoice } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import type { IndexConfig } from '../store/indexConfig.js';
import { Intervener, type FeatureEdit, type HeadOutput } from './intervener.js';

/** What the engine needs of an index: its id, name and configuration. */
export interface InterveneIndex {
  indexId: string;
  name: string;
  config: IndexConfig;
}

interface Session {
  key: string;
  imageId: string;
  bytes: Buffer;
  name: string;
  head: string;
  index: InterveneIndex;
}

/** A probability that moves by at least this much marks its class as changed. */
const CHANGED_PROB = 0.005;
const TOP_CLASSES = 5;
const MAX_SESSIONS = 4;
const MAX_INTERVENERS = 2;

function outputOf(o: HeadOutput): InterveneOutput {
  return {
    probs: o.probs,
    patchClasses: o.patchClasses,
    patchConfidence: o.patchProbs && o.patchClasses ? o.patchProbs.map((p, i) => p[o.patchClasses![i]!]!) : null,
  };
}

function topClasses(probs: number[], n: number): Set<number> {
  return new Set(
    probs
      .map((p, i) => [p, i] as const)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, n)
      .map(([, i]) => i),
  );
}

/** Which classes (classification) or patches (segmentation) an edit changed. */
export function compareOutputs(before: HeadOutput, after: HeadOutput): { changedClasses: number[]; changedPatches: number[] } {
  if (before.task === 'segmentation') {
    const changedPatches: number[] = [];
    before.patchClasses!.forEach((c, p) => {
      if (after.patchClasses![p] !== c) changedPatches.push(p);
    });
    return { changedClasses: [], changedPatches };
  }
  const b = before.probs!;
  const a = after.probs!;
  const topB = topClasses(b, TOP_CLASSES);
  const topA = topClasses(a, TOP_CLASSES);
  const changedClasses: number[] = [];
  b.forEach((p, i) => {
    if (Math.abs(a[i]! - p) >= CHANGED_PROB || topB.has(i) !== topA.has(i)) changedClasses.push(i);
  });
  return { changedClasses, changedPatches: [] };
}

function fileStamp(dir: string): string {
  const stamps = ['head.json', 'head.safetensors', 'weights.safetensors', 'labels.json'].map((f) => {
    try {
      return String(fs.statSync(path.join(dir, f)).mtimeMs);
    } catch {
      return '-';
    }
  });
  return stamps.join(',');
}

export class InterveneEngine {
  private readonly interveners = new Map<string, Promise<Intervener>>();
  /** Which image each open Intervener currently holds. */
  private readonly loaded = new Map<string, string>();
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly provider: ProviderChoice = 'auto') {}

  private keyOf(head: string, ix: InterveneIndex): string {
    const req = ix.config.request;
    const norm = ix.config.sae.normalization;
    return [req.model, req.layer, req.sae, norm.mode, norm.scale, head, fileStamp(head)].join('|');
  }

  private intervener(key: string, head: string, ix: InterveneIndex): Promise<Intervener> {
    let iv = this.interveners.get(key);
    if (iv) {
      // Most recently used last, so eviction drops the oldest.
      this.interveners.delete(key);
      this.interveners.set(key, iv);
      return iv;
    }
    const req = ix.config.request;
    if (!req.model) {
      throw new StudioError(
        'bad-input',
        `${ix.name} was built from cached activations without a backbone manifest, so it cannot run new images. Index the images with --model to intervene on them.`,
      );
    }
    const norm = ix.config.sae.normalization;
    iv = Intervener.open({ model: req.model, layer: req.layer!, sae: req.sae!, head, provider: this.provider, normalization: { mode: norm.mode, scale: norm.scale } }).catch((err: unknown) => {
      this.interveners.delete(key);
      if (err instanceof StudioError) throw err;
      throw new StudioError(
        'bad-input',
        `Cannot open the head ${head} on ${ix.name}'s backbone and SAE: ${(err as Error).message}. The index records the manifest ${req.model} and SAE ${req.sae}; they must still be at those paths, and head.json's "input" must name an output of the backbone.`,
      );
    });
    this.interveners.set(key, iv);
    while (this.interveners.size > MAX_INTERVENERS) {
      const [oldKey, old] = this.interveners.entries().next().value!;
      this.interveners.delete(oldKey);
      this.loaded.delete(oldKey);
      void old.then((x) => x.close()).catch(() => {});
    }
    return iv;
  }

  /** Opens (or reuses) the models and head, runs the image up to the layer, and returns a session to run edits in. */
  async open(bytes: Buffer, name: string, headPath: string, ix: InterveneIndex): Promise<InterveneSession> {
    const head = path.resolve(headPath);
    if (!fs.existsSync(head)) throw new StudioError('not-found', `No head folder at ${head}. Choose a folder holding head.json, head.safetensors and labels.json.`);
    const key = this.keyOf(head, ix);
    const iv = await this.intervener(key, head, ix);
    const imageId = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    let pre;
    try {
      pre = await iv.setImage(bytes, name);
    } catch (err) {
      this.loaded.delete(key);
      throw new StudioError('bad-input', `Cannot read ${name} as an image: ${(err as Error).message}`);
    }
    this.loaded.set(key, imageId);
    const sessionId = createHash('sha256').update(`${key}#${imageId}`).digest('hex').slice(0, 16);
    this.sessions.delete(sessionId);
    this.sessions.set(sessionId, { key, imageId, bytes, name, head, index: ix });
    while (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const S = iv.manifest.preprocess.crop;
    const png = await sharp(pre.rgb, { raw: { width: S, height: S, channels: 3 } }).png().toBuffer();
    return {
      sessionId,
      indexId: ix.indexId,
      head: { path: head, task: iv.head.task, input: iv.head.input, labels: iv.head.labels },
      image: { name, sourceWidth: pre.sourceWidth, sourceHeight: pre.sourceHeight },
      grid: [iv.grid[0], iv.grid[1]],
      preview: `data:image/png;base64,${png.toString('base64')}`,
    };
  }

  /** Before and after for absolute edits (activations, already scaled by the service). */
  async run(sessionId: string, edits: FeatureEdit[], patches: number[] | null): Promise<Omit<InterveneResult, 'edits'>> {
    const t0 = performance.now();
    const s = this.sessions.get(sessionId);
    if (!s) throw new StudioError('not-found', 'This intervention session has closed (only the last few images are kept). Open the image again.');
    const iv = await this.intervener(s.key, s.head, s.index);
    const [R, C] = iv.grid;
    for (const p of patches ?? []) {
      if (!Number.isInteger(p) || p < 0 || p >= R * C) throw new StudioError('bad-request', `Patch ${p} is outside the ${R}x${C} grid (patches 0–${R * C - 1}, row-major).`);
    }
    if (this.loaded.get(s.key) !== s.imageId) {
      await iv.setImage(s.bytes, s.name);
      this.loaded.set(s.key, s.imageId);
    }
    const { before, after } = await iv.run(edits, patches);
    return {
      sessionId,
      task: before.task,
      labels: before.labels,
      before: outputOf(before),
      after: outputOf(after),
      ...compareOutputs(before, after),
      ms: performance.now() - t0,
    };
  }

  async close(): Promise<void> {
    for (const iv of this.interveners.values()) {
      try {
        await (await iv).close();
      } catch {
        // failed to open: nothing to close
      }
    }
    this.interveners.clear();
    this.loaded.clear();
    this.sessions.clear();
  }
}
