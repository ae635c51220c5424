// What image runs (runIndex.ts) and clip runs (runVideoIndex.ts) share: options and result, the
// SAE overrides, opening or resuming the output folder, and the progress/checkpoint pacing.
import fs from 'node:fs';
import { groupWidthsError, type IndexRequest, type JobProgress } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import type { SaeRecord } from '../sae/types.js';
import type { ItemList } from '../dataset/packedItemList.js';
import { IndexWriter } from '../store/indexWriter.js';
import { INDEX_DB_FILE, type IndexConfig, type IndexProgress } from '../store/indexConfig.js';
import { RateMeter } from './rateMeter.js';
import { SHARD_REQUEST_KEY } from './indexParts.js';
import { formatShardSpec, parseShardSpec } from './shardSpec.js';

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
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5000;
/** Progress lines at most this often: more would only cost the UI and the log. */
const REPORT_EVERY_MS = 250;

/**
 * Paces one run's progress reports and checkpoints. Progress is reported at most every 250 ms with
 * the rate over a sliding window; checkpoints come every `intervalMs`, stretched so that they take
 * no more than ~5% of the run (wide SAEs with churning exemplars write a lot per checkpoint).
 */
export class RunPacer {
  private readonly meter = new RateMeter();
  private lastReport = 0;
  private lastCheckpoint = Date.now();
  private readonly intervalMs: number;
  private gapMs: number;

  constructor(
    private readonly total: number,
    private readonly startCursor: number,
    private readonly report: (progress: JobProgress) => void,
    intervalMs = DEFAULT_CHECKPOINT_INTERVAL_MS,
  ) {
    this.intervalMs = intervalMs;
    this.gapMs = intervalMs;
    this.meter.add(0);
  }

  /** Reports 'indexing' progress, unless one went out less than 250 ms ago (`force` overrides). */
  progress(cursor: number, skipped: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastReport < REPORT_EVERY_MS) return;
    this.lastReport = now;
    this.meter.add(cursor - this.startCursor, now);
    const rate = this.meter.rate();
    const n = this.total;
    this.report({ phase: 'indexing', done: cursor, total: n, skipped, itemsPerSec: rate, etaSec: rate > 0 ? (n - cursor) / rate : null });
  }

  /** A checkpoint is due; never after the last item (the run's final, complete write covers it). */
  checkpointDue(cursor: number): boolean {
    return cursor < this.total && (this.intervalMs === 0 || Date.now() - this.lastCheckpoint >= this.gapMs);
  }

  /** Runs `write` (one checkpoint) and stretches the next gap to 20× the time it took. */
  checkpoint(write: () => void): void {
    const t0 = Date.now();
    write();
    this.lastCheckpoint = Date.now();
    this.gapMs = Math.max(this.intervalMs, 20 * (this.lastCheckpoint - t0));
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

/**
 * A new index in `out`, or the unfinished one there when it was started from the same inputs
 * (then `resumedFrom` is its last checkpoint). Anything else in the folder is refused.
 */
export function openOrCreate(
  out: string,
  config: IndexConfig,
  items: ItemList,
  /** For one part of a split run (--shard): the ids it indexes, ascending. */
  partIds: number[] | null = null,
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
    const stored = writer.sameItemPaths(items);
    if (!stored.same) {
      writer.close();
      throw new StudioError(
        'bad-input',
        `The dataset changed since the index in ${out} was started (${stored.count} items then, ${items.length} now). Restore the folder or index into a new output folder.`,
      );
    }
    return { writer, resumedFrom: progress };
  }
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) {
    throw new StudioError('bad-input', `Output folder ${out} is not empty and holds no index. Choose an empty or new folder.`);
  }
  const mine = partIds ? new Set(partIds) : null;
  return { writer: IndexWriter.create(out, config, items, mine ? (id) => mine.has(id) : undefined), resumedFrom: null };
}

/** The request key recording which part of a split run an index is (compared on resume, dropped by the merge). */
export function shardRequest(req: IndexRequest): Record<string, string> {
  return req.shard ? { [SHARD_REQUEST_KEY]: formatShardSpec(parseShardSpec(req.shard)) } : {};
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
