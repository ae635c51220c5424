import fs from 'node:fs';
import path from 'node:path';
import { groupWidthsError, type IndexRequest, type JobProgress } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import { checkSaeFitsLayer, loadSae, saeInfo } from '../sae/loadSae.js';
import { SaeEncoderSession } from '../sae/encoderSession.js';
import type { SaeRecord } from '../sae/types.js';
import { IndexWriter } from '../store/indexWriter.js';
import { INDEX_DB_FILE, type IndexConfig, type IndexProgress } from '../store/indexConfig.js';
import { FeatureAccumulator } from './featureAccumulator.js';
import { DEFAULT_HISTOGRAM } from './histogram.js';
import { indexName } from './indexName.js';
import { RateMeter } from './rateMeter.js';
import { writeThumbnails } from './writeThumbnails.js';
import type { ActivationSource, LoadedBatch } from './sources/activationSource.js';
import { ImageFolderSource } from './sources/imageFolderSource.js';
import { SaevShardSource } from './sources/saevShardSource.js';
import { asInputError } from './sources/inputErrors.js';
import { holdsVideos } from './sources/videoClipSource.js';
import { loadManifest } from '../backbone/manifest.js';
import { runVideoIndex } from './runVideoIndex.js';

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
  if (!Number.isInteger(topK) || topK < 1 || topK > 1024) throw new StudioError('bad-request', `--top-k must be an integer in 1–1024 (got ${topK}).`);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 4096) throw new StudioError('bad-request', `--batch must be an integer in 1–4096 (got ${batchSize}).`);
  if (isVideoRequest(req)) return runVideoIndex(req, opts);
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
    request: { ...source.identity, sae: path.resolve(req.sae) },
  };

  const { writer, resumedFrom } = openOrCreate(out, config, source.items);
  const acc = new FeatureAccumulator(sae.dSae, patches, topK, DEFAULT_HISTOGRAM);
  const n = source.items.length;
  let state: IndexProgress = { cursor: 0, tokens: 0, activeEntries: 0, skipped: 0, provider, complete: false, thumbnailsDone: false };
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

    const hasCls = source.hasCls;
    const rowsPerItem = patches + (hasCls ? 1 : 0);
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
        { phase: 'indexing', done: state.cursor, total: n, skipped: state.skipped, itemsPerSec: rate, etaSec: rate > 0 ? (n - state.cursor) / rate : null },
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

    const load = (start: number) => source.load(start, Math.min(start + batchSize, n));
    let pending: Promise<LoadedBatch> | null = state.cursor < n ? load(state.cursor) : null;
    emit(true);
    while (pending) {
      const batch = await pending;
      // Load batch i+1 (libvips threads, file reads) while batch i is in onnxruntime. On a 2-core
      // CPU box this was measured to make no difference either way (the cores are busy); on a GPU
      // it hides decoding entirely.
      pending = batch.end < n && !signal?.aborted ? load(batch.end) : null;
      for (const s of batch.skipped) {
        pendingSkips.push(s);
        state.skipped++;
      }
      const { rows, items } = await source.activations(batch);
      if (items.length > 0) {
        const codes = await encoder.encode(rows, items.length * rowsPerItem);
        items.forEach((item, j) => acc.addItem(item, codes, j * rowsPerItem, hasCls));
      }
      state.cursor = batch.end;
      if (signal?.aborted) {
        commit();
        if (pending) await pending; // let in-flight loads settle
        throw new StudioError('cancelled', `Indexing cancelled at item ${state.cursor} of ${n}. Start it again with the same inputs and output folder to resume.`);
      }
      // The last batch is committed by the final, complete write below.
      if (state.cursor < n && (interval === 0 || Date.now() - lastCheckpoint >= checkpointGap)) commit();
      emit();
    }
    emit(true);

    if (state.skipped === n) {
      throw new StudioError('bad-input', `None of the ${n} items could be read; e.g. ${firstSkip(writer, pendingSkips, source)}.`);
    }

    // Final state of every feature (dead ones too, so the table lists all of them).
    state.tokens = acc.tokens;
    state.activeEntries = acc.activeEntries;
    writer.checkpoint(acc, state, pendingSkips, true);

    if (source.imageRoot && source.preprocess) {
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
    return { out, items: n - state.skipped, skipped: state.skipped, provider, resumed: resumedFrom !== null };
  } finally {
    writer.close();
  }
}

/** The user's normalisation replaces the checkpoint's; a saev-style mean vector is kept for 'scale'. */
export function applyNormalizationOverride(sae: SaeRecord, o: NonNullable<IndexRequest['normalization']>): void {
  if (o.mode === 'scale' && !(typeof o.scale === 'number' && Number.isFinite(o.scale) && o.scale > 0)) {
    throw new StudioError('bad-request', `Normalisation 'scale' needs a positive scale (got ${o.scale}).`);
  }
  sae.normalization = {
    mode: o.mode,
    mean: o.mode === 'scale' ? sae.normalization.mean : null,
    scale: o.mode === 'scale' ? o.scale! : null,
  };
}

/**
 * Matryoshka group widths the checkpoint did not carry. A checkpoint that has its own keeps them
 * unless they are the same; widths that do not fit the SAE are refused (groupWidthsProblem).
 */
export function applyGroupsOverride(sae: SaeRecord, groups: number[], where: string): void {
  const error = groupWidthsError(`Matryoshka groups for ${where}`, groups, sae.dSae);
  if (error) throw new StudioError('bad-request', error);
  if (sae.groups && sae.groups.join(',') !== groups.join(',')) {
    throw new StudioError('bad-request', `${where} already records Matryoshka groups ${sae.groups.join(',')}; drop --groups or give the same widths.`);
  }
  sae.groups = groups.slice();
}

function firstSkip(writer: IndexWriter, pending: { item: number; reason: string }[], source: ActivationSource): string {
  if (pending[0]) return `${source.items[pending[0].item]!.path}: ${pending[0].reason}`;
  const row = writer.db.prepare('SELECT path, reason FROM items WHERE status = 2 LIMIT 1').get() as { path: string; reason: string } | undefined;
  return row ? `${row.path}: ${row.reason}` : 'none recorded';
}

export function openOrCreate(
  out: string,
  config: IndexConfig,
  items: { path: string; label: string | null }[],
): { writer: IndexWriter; resumedFrom: IndexProgress | null } {
  // A run killed while creating the index (before its configuration was committed) left no work
  // behind; starting over is the resume. Without this, every later run refused the folder.
  if (IndexWriter.isAbandonedCreation(out)) IndexWriter.clearAbandonedCreation(out);
  if (IndexWriter.exists(out)) {
    const writer = IndexWriter.open(out);
    const prev = writer.config();
    const progress = writer.progress();
    if (!prev) {
      writer.close();
      throw new StudioError(
        'bad-input',
        `${out} holds an ${INDEX_DB_FILE} without an index configuration but with other contents, so it is not an index this studio started. ` +
          `Choose another output folder, or delete that one to rebuild it.`,
      );
    }
    const diff = differences(prev, config);
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
  for (const key of new Set([...Object.keys(a.request), ...Object.keys(b.request)])) {
    if (key === 'sae') continue;
    const x = (a.request as Record<string, string>)[key] ?? '';
    const y = (b.request as Record<string, string>)[key] ?? '';
    if (x !== y) diff.push(`${key} ${x || '(none)'} vs ${y || '(none)'}`);
  }
  if (a.topK !== b.topK) diff.push(`top-k ${a.topK} vs ${b.topK}`);
  return diff;
}
