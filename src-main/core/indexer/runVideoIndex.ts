import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { IndexRequest } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import { checkSaeFitsLayer, loadSae, saeInfo } from '../sae/loadSae.js';
import { SaeEncoderSession } from '../sae/encoderSession.js';
import type { SaeRecord } from '../sae/types.js';
import type { IndexWriter } from '../store/indexWriter.js';
import { THUMBS_DIR, type IndexConfig, type IndexProgress } from '../store/indexConfig.js';
import { GROUP_FILE, type GroupFile } from '../store/indexGroup.js';
import { RawTemporalAccumulator, TemporalAccumulator } from '../temporal/temporalStats.js';
import { FeatureAccumulator, type SparseRows } from './featureAccumulator.js';
import { DEFAULT_HISTOGRAM } from './histogram.js';
import { indexName } from './indexName.js';
import { stripFile, thumbnailFile, THUMBNAIL_MAX_SIDE } from './writeThumbnails.js';
import { asInputError } from './sources/inputErrors.js';
import { DEFAULT_MEMORY_BUDGET_MIB, encoderRowsWithin, encodeWithin } from './memoryBudget.js';
import { decodeClip, VideoClipSource, videoSampling, type DecodedClip } from './sources/videoClipSource.js';
import {
  applyNormalizationOverride,
  applyGroupsOverride,
  DEFAULT_BATCH,
  DEFAULT_TOP_K,
  openOrCreate,
  RunPacer,
  shardRequest,
  type IndexRunOptions,
  type IndexRunResult,
} from './indexRun.js';
import { firstAtOrAfter, parseShardSpec, partItemIds } from './shardSpec.js';
import { writeTemporalResults } from '../temporal/writeTemporalResults.js';

/** Member names: the checkpoint's folder or file name without extension, sanitised, de-duplicated. */
export function memberNames(saePaths: string[]): string[] {
  const used = new Set<string>();
  return saePaths.map((p) => {
    const abs = path.resolve(p);
    let base = path.basename(abs);
    if (!(fs.existsSync(abs) && fs.statSync(abs).isDirectory())) base = base.replace(/\.[^.]+$/, '');
    base = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '') || 'sae';
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
    used.add(name);
    return name;
  });
}

/** The frame's patch rows of a clip's codes, as their own CSR view (entries stay in place). */
function frameView(codes: SparseRows, firstPatchRow: number, patches: number): SparseRows {
  return { rows: patches, rowPtr: codes.rowPtr.subarray(firstPatchRow, firstPatchRow + patches + 1), feature: codes.feature, value: codes.value };
}

interface Member {
  name: string;
  out: string;
  sae: SaeRecord;
  encoder: SaeEncoderSession | null;
  writer: IndexWriter;
  acc: FeatureAccumulator;
  temporal: TemporalAccumulator;
  state: IndexProgress;
  resumed: boolean;
  done: boolean;
  pendingSkips: { item: number; reason: string }[];
}

/**
 * Indexes a folder of clips with a per-frame image backbone, for one SAE or several in one pass
 * (the backbone runs once per frame; each SAE gets its own complete index). One item = one clip.
 * Besides the image statistics it records per-clip traces and the temporal statistics of every
 * feature and of the raw activation dimensions (see temporal/temporalStats.ts).
 */
export async function runVideoIndex(req: IndexRequest, opts: IndexRunOptions = {}): Promise<IndexRunResult> {
  const signal = opts.signal;
  const report = opts.onProgress ?? (() => {});
  const topK = req.topK ?? DEFAULT_TOP_K;
  const batchSize = req.batch ?? DEFAULT_BATCH;
  if (req.shards) throw new StudioError('bad-request', 'not supported yet: video indexing from saev shards (give --model and --data).');
  if (!req.model || !req.data) throw new StudioError('bad-request', 'Give a backbone manifest and a folder of clips (--model and --data).');
  const video = videoSampling(req);
  const out = path.resolve(req.out);
  report({ phase: 'preparing', done: 0, total: 0, skipped: 0, itemsPerSec: 0, etaSec: null }, null);

  const saePaths = [req.sae, ...(req.saes ?? [])];
  const saes = saePaths.map((p, i) => {
    const sae = asInputError(() => loadSae(p));
    if (req.normalization) applyNormalizationOverride(sae, req.normalization);
    if (req.groups && i === 0) applyGroupsOverride(sae, req.groups, p);
    return sae;
  });
  const names = memberNames(saePaths);
  const grouped = saes.length > 1;
  const source = await VideoClipSource.open(req.model, req.layer, req.data, req.provider ?? 'auto', video, req.labels ?? null);
  const members: Member[] = [];
  try {
    for (const sae of saes) asInputError(() => checkSaeFitsLayer(sae, req.layer, source.model.name, source.d));
    if (grouped) prepareGroupFolder(out, names);
    const patches = source.patches;
    const n = source.items.length;
    // One part of a split run indexes only its clips; ids stay the whole dataset's, so the parts merge.
    const partIds = req.shard ? partItemIds(source.items, parseShardSpec(req.shard)) : null;
    const total = partIds ? partIds.length : n;
    const doneOf = (cursor: number) => (partIds ? firstAtOrAfter(partIds, cursor) : cursor);
    /** The next clip to index from id `from` on, or -1. */
    const nextItem = (from: number): number => {
      if (!partIds) return from < n ? from : -1;
      const p = firstAtOrAfter(partIds, from);
      return p < partIds.length ? partIds[p]! : -1;
    };
    for (let m = 0; m < saes.length; m++) {
      const sae = saes[m]!;
      const dir = grouped ? path.join(out, names[m]!) : out;
      const config: IndexConfig = {
        // Members of a group are told apart by their SAE's name (often the same width).
        name: grouped ? `${indexName(source.manifest.family, sae.dSae)} ${names[m]!}` : indexName(source.manifest.family, sae.dSae),
        createdAt: new Date().toISOString(),
        model: source.model,
        sae: saeInfo(sae),
        dataRoot: source.dataset.root,
        topK,
        histogram: DEFAULT_HISTOGRAM,
        labels: source.labels,
        request: { ...source.identity, sae: path.resolve(saePaths[m]!), ...shardRequest(req) },
        kind: 'videos',
        framesPerClip: source.framesPerClip,
      };
      const { writer, resumedFrom } = openOrCreate(dir, config, source.items, partIds);
      const acc = new FeatureAccumulator(sae.dSae, patches, topK, DEFAULT_HISTOGRAM);
      const temporal = new TemporalAccumulator(sae.dSae);
      const member: Member = {
        name: names[m]!,
        out: dir,
        sae,
        encoder: null,
        writer,
        acc,
        temporal,
        state: { cursor: 0, tokens: 0, activeEntries: 0, skipped: 0, provider: source.provider, complete: false, thumbnailsDone: false },
        resumed: resumedFrom !== null,
        done: false,
        pendingSkips: [],
      };
      members.push(member);
      if (resumedFrom) {
        member.state = { ...resumedFrom, provider: source.provider };
        member.done = resumedFrom.complete;
        if (!member.done) {
          writer.restoreInto(acc);
          acc.tokens = resumedFrom.tokens;
          acc.activeEntries = resumedFrom.activeEntries;
          const st = writer.temporalState('sae');
          if (st) temporal.importState(st);
        }
      }
    }
    const active = members.filter((m) => !m.done);
    const resumed = members.some((m) => m.resumed);
    if (active.length === 0) {
      const s = members[0]!.state;
      return { out, items: total - s.skipped, skipped: s.skipped, provider: s.provider, resumed: true };
    }
    for (const m of active) m.encoder = await SaeEncoderSession.create(m.sae, req.provider ?? 'auto');

    // The raw accumulator is shared; it resumes from the member that is furthest behind.
    const raw = new RawTemporalAccumulator(source.d);
    const behind = active.reduce((a, b) => (b.state.cursor < a.state.cursor ? b : a));
    const rawState = behind.writer.temporalState('raw');
    if (rawState && behind.state.cursor > 0) raw.importState(rawState);
    const startCursor = behind.state.cursor;
    let cursor = startCursor;

    const hasCls = source.hasCls;
    const R = patches + (hasCls ? 1 : 0);
    const d = source.d;
    const provider = source.provider;
    const budget = req.memoryBudget ?? DEFAULT_MEMORY_BUDGET_MIB;
    const pacer = new RunPacer(total, doneOf(startCursor), (p) => report(p, provider), opts.checkpointIntervalMs);
    let skipped = behind.state.skipped;
    const emit = (force = false) => pacer.progress(doneOf(cursor), skipped, force);
    const commit = (all = false) => {
      const rawData = raw.exportState();
      pacer.checkpoint(() => {
        for (const m of active) {
          if (m.state.cursor < cursor) m.state.cursor = cursor;
          m.state.tokens = m.acc.tokens;
          m.state.activeEntries = m.acc.activeEntries;
          m.writer.checkpoint(m.acc, m.state, m.pendingSkips, all, [
            { name: 'sae', data: m.temporal.exportState() },
            { name: 'raw', data: rawData },
          ]);
          m.pendingSkips = [];
        }
      });
      if (!all) opts.afterCheckpoint?.(cursor);
    };

    let next = nextItem(cursor);
    let pending = next >= 0 ? source.load(next) : null;
    emit(true);
    while (pending) {
      const { clip, reason } = await pending;
      const i = next;
      next = nextItem(i + 1);
      pending = next >= 0 && !signal?.aborted ? source.load(next) : null;
      const takers = active.filter((m) => m.state.cursor <= i);
      if (!clip) {
        skipped++;
        for (const m of takers) {
          m.pendingSkips.push({ item: i, reason });
          m.state.skipped++;
        }
      } else {
        await addClip(clip, takers);
      }
      cursor = i + 1;
      if (signal?.aborted) {
        commit();
        if (pending) await pending;
        throw new StudioError('cancelled', `Indexing cancelled at clip ${doneOf(cursor)} of ${total}. Start it again with the same inputs and output folder to resume.`);
      }
      if (pacer.checkpointDue(doneOf(cursor))) commit();
      emit();
    }
    emit(true);

    async function addClip(c: DecodedClip, takers: Member[]): Promise<void> {
      const { rows, steps: T } = await source.activations(c, batchSize);
      const off = hasCls ? 1 : 0;
      raw.addClip(
        Array.from({ length: T }, (_, t) => rows.subarray((t * R + off) * d, (t * R + off + patches) * d)),
        patches,
      );
      for (const m of takers) {
        // A long clip is encoded in slices that fit the memory budget (memoryBudget.ts).
        const codes = await encodeWithin(m.encoder!, rows, T * R, encoderRowsWithin(budget, m.sae.dSae, d));
        m.acc.addClip(c.item, codes, 0, T, hasCls);
        m.temporal.addClip(
          Array.from({ length: T }, (_, t) => frameView(codes, t * R + off, patches)),
          patches,
        );
      }
    }

    if (skipped === n && !partIds) {
      const first = members[0]!.pendingSkips[0];
      throw new StudioError('bad-input', `None of the ${n} clips could be read; e.g. ${first ? `${source.items.path(first.item)}: ${first.reason}` : 'see the index'}.`);
    }
    cursor = n; // a part's last clip may come before the end of the dataset
    commit(true);
    for (const m of active) writeTemporalResults(m.writer, m.temporal, raw);

    await writeClipThumbnails(active, source, {
      signal,
      onProgress: (done, total) => report({ phase: 'thumbnails', done, total, skipped, itemsPerSec: 0, etaSec: null }, provider),
    });
    if (signal?.aborted) throw new StudioError('cancelled', 'Indexing cancelled while writing thumbnails. Start it again with the same inputs and output folder to resume.');
    for (const m of active) {
      m.state.complete = true;
      m.state.thumbnailsDone = true;
      m.writer.setProgress(m.state);
    }
    report({ phase: 'finalizing', done: n, total: n, skipped, itemsPerSec: 0, etaSec: 0 }, provider);
    return { out, items: total - skipped, skipped, provider, resumed };
  } finally {
    for (const m of members) {
      await m.encoder?.close();
      m.writer.close();
    }
    await source.close();
  }
}

function prepareGroupFolder(out: string, names: string[]): void {
  const file = path.join(out, GROUP_FILE);
  const group: GroupFile = { kind: 'sae-group', members: names.map((name) => ({ name, dir: name })) };
  if (fs.existsSync(file)) {
    const prev = JSON.parse(fs.readFileSync(file, 'utf8')) as GroupFile;
    if (JSON.stringify(prev.members) !== JSON.stringify(group.members)) {
      throw new StudioError(
        'bad-input',
        `${out} already holds a group of other SAEs (${prev.members.map((m) => m.name).join(', ')}). Choose another output folder, or delete that one to rebuild it.`,
      );
    }
    return;
  }
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) {
    throw new StudioError('bad-input', `Output folder ${out} is not empty and holds no index. Choose an empty or new folder.`);
  }
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(group, null, 2)}\n`);
}


/**
 * Exemplar clips' thumbnails: `<item>.webp` = the middle sampled frame as the model saw it, and
 * `<item>-strip.webp` = every sampled frame side by side (same crop, height = thumbnail size).
 * Each clip is decoded once for all members that need it; existing files are kept.
 */
async function writeClipThumbnails(
  members: Member[],
  source: VideoClipSource,
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
): Promise<void> {
  const need = new Map<number, { path: string; dirs: string[] }>();
  for (const m of members) {
    const dir = path.join(m.out, THUMBS_DIR);
    fs.mkdirSync(dir, { recursive: true });
    for (const it of m.writer.exemplarItems()) {
      if (fs.existsSync(path.join(dir, thumbnailFile(it.id))) && fs.existsSync(path.join(dir, stripFile(it.id)))) continue;
      const e = need.get(it.id) ?? { path: it.path, dirs: [] };
      e.dirs.push(dir);
      need.set(it.id, e);
    }
  }
  const spec = source.manifest.preprocess;
  const side = Math.min(spec.crop, THUMBNAIL_MAX_SIDE);
  let done = 0;
  opts.onProgress?.(0, need.size);
  for (const [id, e] of need) {
    if (opts.signal?.aborted) return;
    try {
      const { rgb } = await decodeClip(source.dataset.root, e.path, source.video, source.manifest);
      const frames = await Promise.all(
        rgb.map((f) =>
          side === spec.crop
            ? Promise.resolve(f)
            : sharp(f, { raw: { width: spec.crop, height: spec.crop, channels: 3 } }).resize(side, side, { kernel: 'lanczos3' }).raw().toBuffer(),
        ),
      );
      const T = frames.length;
      const strip = Buffer.alloc(side * T * side * 3);
      for (let y = 0; y < side; y++) {
        for (let t = 0; t < T; t++) frames[t]!.copy(strip, (y * side * T + t * side) * 3, y * side * 3, (y + 1) * side * 3);
      }
      const middle = frames[Math.floor(T / 2)]!;
      for (const dir of e.dirs) {
        await writeWebp(middle, side, side, path.join(dir, thumbnailFile(id)));
        await writeWebp(strip, side * T, side, path.join(dir, stripFile(id)));
      }
    } catch {
      // The clip decoded during the pass; if it vanished since, the tile shows a placeholder.
    }
    opts.onProgress?.(++done, need.size);
  }
}

async function writeWebp(rgb: Buffer, width: number, height: number, target: string): Promise<void> {
  const tmp = `${target}.tmp`;
  await sharp(rgb, { raw: { width, height, channels: 3 } }).webp({ quality: 85 }).toFile(tmp);
  fs.renameSync(tmp, target);
}
