import path from 'node:path';
import type { IndexRequest } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import { checkSaeFitsLayer, loadSae, saeInfo } from '../sae/loadSae.js';
import { SaeEncoderSession } from '../sae/encoderSession.js';
import type { SaeRecord } from '../sae/types.js';
import type { IndexWriter } from '../store/indexWriter.js';
import { thumbnailMode, type IndexConfig, type IndexProgress } from '../store/indexConfig.js';
import type { ThumbnailMode } from '../../contract/index.js';
import { FeatureAccumulator } from './featureAccumulator.js';
import { DEFAULT_HISTOGRAM } from './histogram.js';
import { indexName } from './indexName.js';
import {
  applyGroupsOverride,
  applyNormalizationOverride,
  DEFAULT_BATCH,
  DEFAULT_TOP_K,
  openOrCreate,
  RunPacer,
  shardRequest,
  type IndexRunOptions,
  type IndexRunResult,
} from './indexRun.js';
import { writeThumbnails } from './writeThumbnails.js';
import type { CheckpointWrite } from '../store/checkpointWrite.js';
import { DEFAULT_MEMORY_BUDGET_MIB, encoderRowsWithin, encodeWithin, itemsPerBatch } from './memoryBudget.js';
import type { ActivationSource, LoadedBatch } from './sources/activationSource.js';
import { ImageFolderSource } from './sources/imageFolderSource.js';
import { SaevShardSource } from './sources/saevShardSource.js';
import { asInputError } from './sources/inputErrors.js';
import { holdsVideos } from './sources/videoClipSource.js';
import { loadManifest } from '../backbone/manifest.js';
import { runVideoIndex } from './runVideoIndex.js';
import { firstAtOrAfter, parseShardSpec, partItemIds } from './shardSpec.js';

/**
 * One pass over a dataset (images through a backbone, or cached saev activations) and the SAE,
 * writing an index folder. Loading the next batch overlaps inference where that does not compete
 * for the same cores. A killed run resumes from its last checkpoint when started again with the
 * same inputs and output folder.
 */
export async function runIndex(req: IndexRequest, opts: IndexRunOptions = {}): Promise<IndexRunResult> {
  const signal = opts.signal;
  const report = opts.onProgress ?? (() => {});
  const topK = req.topK ?? DEFAULT_TOP_K;
  const batchSize = req.batch ?? DEFAULT_BATCH;
  if (isVideoRequest(req)) {
    if (req.thumbnails === 'on-demand') {
      throw new StudioError('bad-request', 'Video indexes always write their thumbnails (frame strips need the clips decoded); drop --thumbnails on-demand.');
    }
    return runVideoIndex(req, opts);
  }
  if (req.saes && req.saes.length > 0) {
    throw new StudioError('bad-request', 'not supported yet: several --sae for an image folder or shards (supported for --kind videos).');
  }
  const out = path.resolve(req.out);
  report({ phase: 'preparing', done: 0, total: 0, skipped: 0, itemsPerSec: 0, etaSec: null }, null);

  const sae = asInputError(() => loadSae(req.sae));
  if (req.normalization) applyNormalizationOverride(sae, req.normalization);
  if (req.groups) applyGroupsOverride(sae, req.groups, req.sae);
  const source = await openSource(req);
  try {
    asInputError(() => checkSaeFitsLayer(sae, req.layer, source.model.name, source.d));
    const encoder = await SaeEncoderSession.create(sae, req.provider ?? 'auto');
    try {
      return await indexFromSource(source, encoder, sae, { req, out, topK, batchSize, signal, report, opts });
    } finally {
      await encoder.close();
    }
  } finally {
    await source.close();
  }
}

/**
 * Videos when asked, or (kind not given) when frame sampling is given or the data folder holds
 * video files.
 */
export function isVideoRequest(req: IndexRequest): boolean {
  if (req.kind) return req.kind === 'videos';
  if (req.shards || !req.data) return false;
  if (req.frames !== undefined || req.fps !== undefined || req.maxFrames !== undefined) return true;
  return holdsVideos(req.data);
}

async function openSource(req: IndexRequest): Promise<ActivationSource> {
  if (req.shards) return SaevShardSource.open(req.shards, req.layer, req.images, req.model ?? null); // no --images: the recorded root, when present
  if (!req.model || !req.data) {
    throw new StudioError('bad-request', 'Give a backbone manifest and an image folder (--model and --data), or saev activation shards (--shards).');
  }
  const manifest = asInputError(() => loadManifest(req.model!));
  if (manifest.tokens.frames !== undefined) {
    throw new StudioError('bad-request', `${manifest.name} is a clip backbone (tokens.frames ${manifest.tokens.frames}); it indexes clips: use --kind videos.`);
  }
  return ImageFolderSource.open(req.model, req.layer, req.data, req.provider ?? 'auto');
}

interface RunContext {
  req: IndexRequest;
  out: string;
  topK: number;
  batchSize: number;
  signal: AbortSignal | undefined;
  report: NonNullable<IndexRunOptions['onProgress']>;
  opts: IndexRunOptions;
}

async function indexFromSource(
  source: ActivationSource,
  encoder: SaeEncoderSession,
  sae: SaeRecord,
  { req, out, topK, batchSize, signal, report, opts }: RunContext,
): Promise<IndexRunResult> {
  const model = source.model;
  const patches = model.tokens.grid[0] * model.tokens.grid[1];
  const provider = source.provider === 'none (cached activations)' ? `${encoder.provider} (SAE only)` : source.provider;
  const config: IndexConfig = {
    name: indexName(source.family, sae.dSae),
    createdAt: new Date().toISOString(),
    model,
    sae: saeInfo(sae),
    dataRoot: source.imageRoot ?? '',
    topK,
    histogram: DEFAULT_HISTOGRAM,
    labels: source.labels,
    request: { ...source.identity, sae: path.resolve(req.sae), ...shardRequest(req) },
    thumbnails: req.thumbnails ?? 'on-demand',
    ...(source.preprocess ? { preprocess: source.preprocess } : {}),
  };

  // One part of a split run indexes only its items; ids stay the whole dataset's, so the parts merge.
  const partIds = req.shard ? partItemIds(source.items, parseShardSpec(req.shard)) : null;
  const { writer, resumedFrom } = openOrCreate(out, config, source.items, partIds);
  const acc = new FeatureAccumulator(sae.dSae, patches, topK, DEFAULT_HISTOGRAM);
  const n = source.items.length;
  const total = partIds ? partIds.length : n;
  const doneOf = (cursor: number) => (partIds ? firstAtOrAfter(partIds, cursor) : cursor);
  let state: IndexProgress = { cursor: 0, tokens: 0, activeEntries: 0, skipped: 0, provider, complete: false, thumbnailsDone: false };
  try {
    const thumbnails = thumbnailsOf(writer, req);
    if (resumedFrom) {
      if (resumedFrom.complete) {
        return { out, items: total - resumedFrom.skipped, skipped: resumedFrom.skipped, provider: resumedFrom.provider, resumed: true };
      }
      writer.restoreInto(acc);
      acc.tokens = resumedFrom.tokens;
      acc.activeEntries = resumedFrom.activeEntries;
      state = { ...resumedFrom, provider };
    }

    const hasCls = source.hasCls;
    const rowsPerItem = patches + (hasCls ? 1 : 0);
    // Items per batch and rows per encoder call follow the memory budget (memoryBudget.ts): at
    // 256 patches and 100k features one image's encoder output alone is ~100 MB.
    const budget = req.memoryBudget ?? DEFAULT_MEMORY_BUDGET_MIB;
    const encoderRows = encoderRowsWithin(budget, sae.dSae, source.d);
    const perBatch = itemsPerBatch(budget, rowsPerItem, sae.dSae, source.d, batchSize);
    // Progress and pacing count the items this run indexes (a part's own, for a split run).
    const pacer = new RunPacer(total, doneOf(state.cursor), (p) => report(p, provider), opts.checkpointIntervalMs);
    let pendingSkips: { item: number; reason: string }[] = [];

    const emit = (force = false) => pacer.progress(doneOf(state.cursor), state.skipped, force);
    // A checkpoint being written in slices while the next batches are encoded (checkpointWrite.ts).
    let inFlight: CheckpointWrite | null = null;
    let lastEncodeMs = 0;
    const land = () => {
      if (!inFlight) return;
      const cursor = inFlight.cursor;
      inFlight.finish();
      inFlight = null;
      acc.beforeSampleChange = null;
      opts.afterCheckpoint?.(cursor);
    };
    // With an interval of 0 (every batch) a checkpoint is written at once; otherwise in slices.
    const commit = (inSlices = false) => {
      land();
      state.tokens = acc.tokens;
      state.activeEntries = acc.activeEntries;
      pacer.checkpoint(() => {
        const flight = writer.beginCheckpoint(acc, state, pendingSkips);
        inFlight = flight;
        acc.beforeSampleChange = (f) => flight.freezeSamples(f);
      });
      pendingSkips = [];
      if (!inSlices) land();
    };

    // The next batch from item `start` on, or null when none is left (a part may end before n).
    const load = (start: number): Promise<LoadedBatch> | null => {
      if (!partIds) return start < n ? source.load(start, Math.min(start + perBatch, n)) : null;
      const p = firstAtOrAfter(partIds, start);
      return p < partIds.length ? source.loadItems(partIds.slice(p, p + perBatch)) : null;
    };
    let pending: Promise<LoadedBatch> | null = load(state.cursor);
    emit(true);
    while (pending) {
      const batch = await pending;
      // Load batch i+1 (libvips threads, file reads) while batch i is in onnxruntime. On a 2-core
      // CPU box this was measured to make no difference either way (the cores are busy); on a GPU
      // it hides decoding entirely.
      pending = !signal?.aborted ? load(batch.end) : null;
      for (const s of batch.skipped) {
        pendingSkips.push(s);
        state.skipped++;
      }
      const { rows, items } = await source.activations(batch);
      if (items.length > 0) {
        const t0 = performance.now();
        // onnxruntime encodes on its own threads: write a slice of the checkpoint meanwhile.
        const codes = await whilePending(encodeWithin(encoder, rows, items.length * rowsPerItem, encoderRows), () => {
          const flight = inFlight as CheckpointWrite | null; // assigned in commit()
          if (!flight) return;
          // Most of what the last encode took (onnxruntime is busy that long on its own threads),
          // at least 50 ms and at most a second, so progress still goes out between slices.
          flight.step(Math.min(1000, Math.max(50, 0.8 * lastEncodeMs)));
          if (flight.written) land();
        });
        lastEncodeMs = performance.now() - t0;
        items.forEach((item, j) => acc.addItem(item, codes, j * rowsPerItem, hasCls));
      }
      state.cursor = batch.end;
      if (signal?.aborted) {
        commit();
        if (pending) await pending; // let in-flight loads settle
        throw new StudioError('cancelled', `Indexing cancelled at item ${doneOf(state.cursor)} of ${total}. Start it again with the same inputs and output folder to resume.`);
      }
      // The last batch is committed by the final, complete write below.
      // The next checkpoint waits until the one in flight is written: finishing it early would stop
      // indexing for what is left of it (seconds at 100k features).
      if (!inFlight && pacer.checkpointDue(doneOf(state.cursor))) commit(opts.checkpointIntervalMs !== 0);
      emit();
    }
    emit(true);
    land();

    // A whole dataset nobody can read is an input error; one part of a split run may hold only a
    // few items, all unreadable, and still be a correct part.
    if (state.skipped === n && !partIds) {
      throw new StudioError('bad-input', `None of the ${n} items could be read; e.g. ${firstSkip(writer, pendingSkips, source)}.`);
    }

    // Final state of every feature (dead ones too, so the table lists all of them).
    state.cursor = n;
    state.tokens = acc.tokens;
    state.activeEntries = acc.activeEntries;
    writer.checkpoint(acc, state, pendingSkips, true);

    // On-demand indexes skip this phase: each thumbnail is made when first shown (thumbnailCache.ts).
    if (source.imageRoot && source.preprocess && thumbnails === 'eager') {
      await writeThumbnails(writer, source.imageRoot, source.preprocess, {
        signal,
        onProgress: (done, total) => report({ phase: 'thumbnails', done, total, skipped: state.skipped, itemsPerSec: 0, etaSec: null }, provider),
      });
      if (signal?.aborted) {
        throw new StudioError('cancelled', 'Indexing cancelled while writing thumbnails. Start it again with the same inputs and output folder to resume.');
      }
    }
    state.complete = true;
    state.thumbnailsDone = true;
    writer.setProgress(state);
    report({ phase: 'finalizing', done: n, total: n, skipped: state.skipped, itemsPerSec: 0, etaSec: 0 }, provider);
    return { out, items: total - state.skipped, skipped: state.skipped, provider, resumed: resumedFrom !== null };
  } finally {
    writer.close();
  }
}

/**
 * The thumbnail mode of the index being written: a resumed run keeps the one it was started with
 * (older indexes, with none recorded, were eager); asking for the other one explicitly is refused.
 */
function thumbnailsOf(writer: IndexWriter, req: IndexRequest): ThumbnailMode {
  const recorded = thumbnailMode(writer.config() ?? {});
  if (req.thumbnails && req.thumbnails !== recorded) {
    throw new StudioError(
      'bad-input',
      `${writer.dir} was started with --thumbnails ${recorded}; resume it with the same (or no) --thumbnails, or index into a new output folder.`,
    );
  }
  return recorded;
}

/** Runs `work` while `promise` is pending; if `work` throws, the promise settles before the error goes on. */
async function whilePending<T>(promise: Promise<T>, work: () => void): Promise<T> {
  try {
    work();
  } catch (err) {
    await promise.catch(() => undefined);
    throw err;
  }
  return promise;
}

function firstSkip(writer: IndexWriter, pending: { item: number; reason: string }[], source: ActivationSource): string {
  if (pending[0]) return `${source.items.path(pending[0].item)}: ${pending[0].reason}`;
  const row = writer.db.prepare('SELECT path, reason FROM items WHERE status = 2 LIMIT 1').get() as { path: string; reason: string } | undefined;
  return row ? `${row.path}: ${row.reason}` : 'none recorded';
}
