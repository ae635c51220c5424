import fs from 'node:fs';
import path from 'node:path';
import type { IndexRequest, JobProgress } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import { loadManifest, layerOutputName, modelInfo } from '../backbone/manifest.js';
import { BackboneSession } from '../backbone/backboneSession.js';
import { preprocessImage } from '../backbone/preprocess.js';
import { checkSaeFitsLayer, loadSae, saeInfo } from '../sae/loadSae.js';
import { SaeEncoderSession } from '../sae/encoderSession.js';
import { scanImageFolder } from '../dataset/scanImageFolder.js';
import { IndexWriter } from '../store/indexWriter.js';
import type { IndexConfig, IndexProgress } from '../store/indexConfig.js';
import { FeatureAccumulator } from './featureAccumulator.js';
import { DEFAULT_HISTOGRAM } from './histogram.js';
import { indexName } from './indexName.js';
import { RateMeter } from './rateMeter.js';
import { writeThumbnails } from './writeThumbnails.js';

export interface IndexRunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: JobProgress, provider: string | null) => void;
  /** How often the streaming state is committed; 0 commits after every batch. */
  checkpointIntervalMs?: number;
  /** Test hook, called after each committed checkpoint with the item cursor. */
  afterCheckpoint?: (cursor: number) => void;
}

export interface IndexRunResult {
  out: string;
  items: number;
  skipped: number;
  provider: string;
  resumed: boolean;
}

export const DEFAULT_TOP_K = 32;
export const DEFAULT_BATCH = 16;

/**
 * One pass over an image folder through backbone and SAE, writing an index folder. Decoding of
 * batch i+1 runs (in libvips threads) while batch i is in onnxruntime, so bookkeeping and I/O hide
 * behind inference. A killed run resumes from its last checkpoint when started again with the
 * same inputs and --out.
 */
export async function runIndex(req: IndexRequest, opts: IndexRunOptions = {}): Promise<IndexRunResult> {
  const signal = opts.signal;
  const report = opts.onProgress ?? (() => {});
  const topK = req.topK ?? DEFAULT_TOP_K;
  const batchSize = req.batch ?? DEFAULT_BATCH;
  if (!Number.isInteger(topK) || topK < 1 || topK > 1024) throw new StudioError('bad-request', `--top-k must be an integer in 1–1024 (got ${topK}).`);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 4096) throw new StudioError('bad-request', `--batch must be an integer in 1–4096 (got ${batchSize}).`);
  const out = path.resolve(req.out);
  const progressBase = { done: 0, total: 0, skipped: 0, itemsPerSec: 0, etaSec: null };
  report({ phase: 'preparing', ...progressBase }, null);

  const manifest = wrapInput(() => loadManifest(req.model));
  const outputName = wrapInput(() => layerOutputName(manifest, req.layer));
  const sae = wrapInput(() => loadSae(req.sae));
  const dataset = scanImageFolder(req.data);
  const backbone = await wrapInputAsync(() => BackboneSession.open(manifest, req.layer, req.provider ?? 'auto'));
  wrapInput(() => checkSaeFitsLayer(sae, req.layer, manifest.name, backbone.d));
  const encoder = await SaeEncoderSession.create(sae, req.provider ?? 'auto');
  const provider = backbone.provider;
  const layout = manifest.tokens;
  const patches = layout.grid[0] * layout.grid[1];

  const config: IndexConfig = {
    name: indexName(manifest.family, sae.dSae),
    createdAt: new Date().toISOString(),
    model: { ...modelInfo(manifest, req.layer, backbone.d), outputName },
    sae: saeInfo(sae),
    dataRoot: dataset.root,
    topK,
    histogram: DEFAULT_HISTOGRAM,
    labels: dataset.labels,
    request: {
      model: manifest.manifestPath,
      layer: req.layer,
      sae: path.resolve(req.sae),
      data: dataset.root,
    },
  };

  const { writer, resumedFrom } = openOrCreate(out, config, dataset.items);
  const acc = new FeatureAccumulator(sae.dSae, patches, topK, DEFAULT_HISTOGRAM);
  const n = dataset.items.length;
  let state: IndexProgress = {
    cursor: 0,
    tokens: 0,
    activeEntries: 0,
    skipped: 0,
    provider,
    complete: false,
    thumbnailsDone: false,
  };
  try {
    if (resumedFrom) {
      if (resumedFrom.complete) {
        return { out, items: n - resumedFrom.skipped, skipped: resumedFrom.skipped, provider: resumedFrom.provider, resumed: true };
      }
      writer.restoreInto(acc);
      acc.tokens = resumedFrom.tokens;
      acc.activeEntries = resumedFrom.activeEntries;
      state = { ...resumedFrom, provider };
    }

    const hasCls = layout.cls;
    const rowsPerItem = patches + (hasCls ? 1 : 0);
    const tokensPerItem = (hasCls ? 1 : 0) + layout.registers + patches;
    const d = backbone.d;
    const meter = new RateMeter();
    const startCursor = state.cursor;
    meter.add(0);
    let lastCheckpoint = Date.now();
    let lastReport = 0;
    const interval = opts.checkpointIntervalMs ?? 5000;
    let checkpointGap = interval;
    let pendingSkips: { item: number; reason: string }[] = [];

    const emit = (force = false) => {
      const now = Date.now();
      if (!force && now - lastReport < 250) return;
      lastReport = now;
      meter.add(state.cursor - startCursor, now);
      const rate = meter.rate();
      report(
        {
          phase: 'indexing',
          done: state.cursor,
          total: n,
          skipped: state.skipped,
          itemsPerSec: rate,
          etaSec: rate > 0 ? (n - state.cursor) / rate : null,
        },
        provider,
      );
    };
    const commit = () => {
      state.tokens = acc.tokens;
      state.activeEntries = acc.activeEntries;
      const t0 = Date.now();
      writer.checkpoint(acc, state, pendingSkips);
      pendingSkips = [];
      lastCheckpoint = Date.now();
      // Keep checkpoints under ~5% of the run: wide SAEs with churning exemplars write a lot.
      checkpointGap = Math.max(interval, 20 * (lastCheckpoint - t0));
      opts.afterCheckpoint?.(state.cursor);
    };

    const decode = (start: number) => decodeBatch(dataset.root, dataset.items, start, Math.min(start + batchSize, n), manifest.preprocess);
    let rows = new Float32Array(0);
    // On a GPU, decoding batch i+1 (libvips threads) overlaps batch i's inference. On CPU the
    // cores are onnxruntime's: a concurrent decode makes its parallel kernels wait on a preempted
    // thread, so decoding starts after inference and overlaps the single-threaded bookkeeping.
    const overlapInference = provider !== 'cpu';
    let pending = state.cursor < n ? decode(state.cursor) : null;
    emit(true);
    while (pending) {
      const batch = await pending;
      const startNext = () => (batch.end < n && !signal?.aborted ? decode(batch.end) : null);
      pending = overlapInference ? startNext() : null;

      const good = batch.results.filter((r) => r.pixels !== null);
      for (const r of batch.results) {
        if (r.pixels === null) {
          pendingSkips.push({ item: r.item, reason: r.reason });
          state.skipped++;
        }
      }
      if (good.length > 0) {
        const pixelsPerItem = good[0]!.pixels!.length;
        const pixels = new Float32Array(good.length * pixelsPerItem);
        good.forEach((r, j) => pixels.set(r.pixels!, j * pixelsPerItem));
        const { tokens, T } = await backbone.run(pixels, good.length);
        if (T !== tokensPerItem) {
          throw new StudioError('bad-input', `${manifest.name} produced ${T} tokens per image at ${req.layer}; its manifest declares ${tokensPerItem}.`);
        }
        // Rows fed to the SAE: CLS (if any) then the patches; register tokens are left out.
        const needed = good.length * rowsPerItem * d;
        if (rows.length < needed) rows = new Float32Array(needed);
        let input: Float32Array;
        if (layout.registers === 0) {
          input = tokens.subarray(0, needed);
        } else {
          for (let j = 0; j < good.length; j++) {
            const src = j * tokensPerItem * d;
            const dst = j * rowsPerItem * d;
            if (hasCls) rows.set(tokens.subarray(src, src + d), dst);
            const pStart = src + ((hasCls ? 1 : 0) + layout.registers) * d;
            rows.set(tokens.subarray(pStart, pStart + patches * d), dst + (hasCls ? d : 0));
          }
          input = rows.subarray(0, needed);
        }
        const codes = await encoder.encode(input, good.length * rowsPerItem);
        if (!overlapInference) pending = startNext();
        good.forEach((r, j) => acc.addItem(r.item, codes, j * rowsPerItem, hasCls));
      }
      if (!overlapInference && !pending) pending = startNext();
      state.cursor = batch.end;
      if (signal?.aborted) {
        commit();
        if (pending) await pending; // let in-flight decodes settle
        throw new StudioError('cancelled', `Indexing cancelled at item ${state.cursor} of ${n}. Start it again with the same inputs and output folder to resume.`);
      }
      // The last batch is committed by the final, complete write below.
      if (state.cursor < n && (interval === 0 || Date.now() - lastCheckpoint >= checkpointGap)) commit();
      emit();
    }
    emit(true);

    if (state.cursor === n && state.skipped === n) {
      throw new StudioError('bad-input', `None of the ${n} images in ${dataset.root} could be read; see the skipped list (e.g. ${pendingSkipsHint(writer)}).`);
    }

    // Final state of every feature (dead ones too, so the table lists all of them).
    state.tokens = acc.tokens;
    state.activeEntries = acc.activeEntries;
    writer.checkpoint(acc, state, pendingSkips, true);

    await writeThumbnails(writer, dataset.root, manifest.preprocess, {
      signal,
      onProgress: (done, total) =>
        report({ phase: 'thumbnails', done, total, skipped: state.skipped, itemsPerSec: 0, etaSec: null }, provider),
    });
    if (signal?.aborted) {
      throw new StudioError('cancelled', 'Indexing cancelled while writing thumbnails. Start it again with the same inputs and output folder to resume.');
    }
    state.complete = true;
    state.thumbnailsDone = true;
    writer.setProgress(state);
    report({ phase: 'finalizing', done: n, total: n, skipped: state.skipped, itemsPerSec: 0, etaSec: 0 }, provider);
    return { out, items: n - state.skipped, skipped: state.skipped, provider, resumed: resumedFrom !== null };
  } finally {
    writer.close();
    await backbone.close?.();
    await encoder.close?.();
  }
}

interface DecodedItem {
  item: number;
  pixels: Float32Array | null;
  reason: string;
}

async function decodeBatch(
  root: string,
  items: { path: string }[],
  start: number,
  end: number,
  spec: Parameters<typeof preprocessImage>[1],
): Promise<{ start: number; end: number; results: DecodedItem[] }> {
  const jobs: Promise<DecodedItem>[] = [];
  for (let i = start; i < end; i++) {
    const file = path.join(root, items[i]!.path);
    jobs.push(
      preprocessImage(file, spec).then(
        (r) => ({ item: i, pixels: r.pixels, reason: '' }),
        (err: unknown) => ({ item: i, pixels: null, reason: err instanceof Error ? err.message : String(err) }),
      ),
    );
  }
  return { start, end, results: await Promise.all(jobs) };
}

function openOrCreate(
  out: string,
  config: IndexConfig,
  items: { path: string; label: string | null }[],
): { writer: IndexWriter; resumedFrom: IndexProgress | null } {
  if (IndexWriter.exists(out)) {
    const writer = IndexWriter.open(out);
    const prev = writer.config();
    const progress = writer.progress();
    const diff = prev ? differences(prev, config) : ['no configuration'];
    if (diff.length > 0) {
      writer.close();
      throw new StudioError(
        'bad-input',
        `${out} already holds an index built from different inputs (${diff.join('; ')}). Choose another output folder, or delete that one to rebuild it.`,
      );
    }
    const stored = writer.items();
    const same = stored.length === items.length && stored.every((s, i) => s.path === items[i]!.path);
    if (!same) {
      writer.close();
      throw new StudioError(
        'bad-input',
        `The dataset changed since the index in ${out} was started (${stored.length} items then, ${items.length} now). Restore the folder or index into a new output folder.`,
      );
    }
    return { writer, resumedFrom: progress };
  }
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) {
    throw new StudioError('bad-input', `Output folder ${out} is not empty and holds no index. Choose an empty or new folder.`);
  }
  return { writer: IndexWriter.create(out, config, items), resumedFrom: null };
}

function differences(a: IndexConfig, b: IndexConfig): string[] {
  const diff: string[] = [];
  if (a.sae.hash !== b.sae.hash) diff.push('SAE weights differ');
  if (a.request.model !== b.request.model) diff.push(`model ${a.request.model} vs ${b.request.model}`);
  if (a.request.layer !== b.request.layer) diff.push(`layer ${a.request.layer} vs ${b.request.layer}`);
  if (a.dataRoot !== b.dataRoot) diff.push(`data ${a.dataRoot} vs ${b.dataRoot}`);
  if (a.topK !== b.topK) diff.push(`top-k ${a.topK} vs ${b.topK}`);
  return diff;
}

function pendingSkipsHint(writer: IndexWriter): string {
  const row = writer.db.prepare('SELECT path, reason FROM items WHERE status = 2 LIMIT 1').get() as { path: string; reason: string } | undefined;
  return row ? `${row.path}: ${row.reason}` : 'none recorded';
}

function wrapInput<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asInputError(err);
  }
}

async function wrapInputAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asInputError(err);
  }
}

/** Problems with the user's files are input errors (actionable), not crashes. */
function asInputError(err: unknown): unknown {
  if (err instanceof StudioError) return err;
  if (err instanceof Error) return new StudioError('bad-input', err.message);
  return err;
}
