// A deterministic, in-memory StudioClient for renderer tests and the screenshot harness.
// It synthesises an index of any size (100,000 features by default) and sorts, filters and pages
// it the way the core's SQL does, so stores and views can be exercised without a host.

import type {
  ManifestPresetKey,
  AppInfo,
  Exemplar,
  FeatureDetail,
  FeatureFilter,
  FeaturePage,
  FeatureQuery,
  FeatureRow,
  IndexRequest,
  IndexSummary,
  JobInfo,
  ModelInspection,
  ScatterData,
  SkippedItem,
  StudioClient,
  StudioEvent,
} from '../../src-main/contract/index.js';
import { createMemoryTags } from './memoryTags.js';
import { fakeAnalysisMethods } from './fakeAnalysis.js';
import { mulberry32 } from './prng.js';

export interface FakeIndexOptions {
  id?: string;
  name?: string;
  path?: string;
  features?: number;
  items?: number;
  topK?: number;
  grid?: [number, number];
}

export interface FakeClientOptions {
  index?: FakeIndexOptions;
  /** Called before every reply; return a promise to hold the reply back (ordering tests, latency). */
  beforeReply?: (method: string, args: unknown) => Promise<void> | void;
  thumbnailUrl?: (indexId: string, itemId: number) => string;
  /** Value of AppInfo.startIndexId. */
  startIndexId?: string | null;
  /** What pickPath resolves to (null: no native picker, like the web host). */
  pickedPath?: string | null;
  /** Milliseconds between progress events of a started job; 0 leaves jobs for the test to drive. */
  jobTickMs?: number;
  /** Jobs that already exist when the client is created. */
  jobs?: JobInfo[];
}

export interface FakeCall {
  method: string;
  args: unknown;
  result?: unknown;
  error?: unknown;
}

export interface FakeStudioClient extends StudioClient {
  readonly summary: IndexSummary;
  /**
   * Calls made so far, by method, for assertions, with what the client answered (result, or the
   * error it threw; neither while a reply is held). Store tests assert on these, not on numbers
   * the fake made up: what the store asked for, and that it shows what it was given.
   */
  readonly calls: FakeCall[];
  /** Pushes an event to every onEvent listener. */
  emit(event: StudioEvent): void;
  listenerCount(): number;
}

const HIST_BINS = 24;
const HIST_LOG_MIN = -3;
const HIST_LOG_MAX = 2;
const LABELS = [
  'tench', 'goldfinch', 'great grey owl', 'fire salamander', 'loggerhead', 'tabby cat', 'golden retriever',
  'monarch butterfly', 'daisy', 'volcano', 'lakeside', 'sandbar', 'steam locomotive', 'espresso', 'pizza',
  'bookshop', 'barn', 'suspension bridge', 'sailboat', 'umbrella',
];


function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

interface FeatureColumns {
  count: Float64Array;
  frequency: Float64Array;
  logFrequency: Float64Array;
  mean: Float64Array;
  max: Float64Array;
}

function synthesiseColumns(features: number, tokens: number): FeatureColumns {
  const c: FeatureColumns = {
    count: new Float64Array(features),
    frequency: new Float64Array(features),
    logFrequency: new Float64Array(features),
    mean: new Float64Array(features),
    max: new Float64Array(features),
  };
  for (let i = 0; i < features; i++) {
    const random = mulberry32(i * 7919 + 17);
    const kind = random();
    let frequency = 0;
    if (kind >= 0.04) {
      // Log-frequency roughly normal around 1e-3.9; about one per cent dense (> 1e-2).
      const lf = kind > 0.99 ? -1.9 + random() * 1.2 : -3.9 + gaussian(random) * 0.8;
      frequency = Math.min(0.9, Math.max(1 / tokens, 10 ** lf));
    }
    const count = Math.round(frequency * tokens);
    const freq = count / tokens;
    const mean = count > 0 ? 10 ** (0.2 + gaussian(random) * 0.35 - 0.15 * Math.log10(freq)) / 10 : 0;
    c.count[i] = count;
    c.frequency[i] = freq;
    c.logFrequency[i] = Math.log10(freq + 1e-10);
    c.mean[i] = mean;
    c.max[i] = count > 0 ? mean * (2 + random() * 6) : 0;
  }
  return c;
}

function histogramFor(count: number, mean: number, max: number): number[] {
  const bins = new Array<number>(HIST_BINS).fill(0);
  if (count === 0) return bins;
  const centre = Math.log10(mean);
  const spread = Math.max(0.15, (Math.log10(max) - centre) / 2);
  const width = (HIST_LOG_MAX - HIST_LOG_MIN) / HIST_BINS;
  let sum = 0;
  const weights = bins.map((_, b) => {
    const x = HIST_LOG_MIN + (b + 0.5) * width;
    const upperEdge = HIST_LOG_MIN + b * width;
    const w = upperEdge > Math.log10(max) ? 0 : Math.exp(-0.5 * ((x - centre) / spread) ** 2);
    sum += w;
    return w;
  });
  return weights.map((w) => (sum > 0 ? Math.round((w / sum) * count) : 0));
}

function passes(c: FeatureColumns, i: number, f: FeatureFilter | undefined, tagsOf: (i: number) => FeatureRowTags): boolean {
  if (!f) return true;
  if (f.category || f.tag || (f.reviewed && f.reviewed !== 'any')) {
    const t = tagsOf(i);
    if (f.category === 'none' ? t.category !== null : f.category && t.category !== f.category) return false;
    if (f.tag && !t.tags.includes(f.tag)) return false;
    if (f.reviewed === 'only' && !t.reviewed) return false;
    if (f.reviewed === 'exclude' && t.reviewed) return false;
  }
  const dead = c.count[i] === 0;
  const dense = c.frequency[i]! > 1e-2;
  if (f.dead === 'only' && !dead) return false;
  if (f.dead === 'exclude' && dead) return false;
  if (f.dense === 'only' && !dense) return false;
  if (f.dense === 'exclude' && dense) return false;
  const inRange = (v: number, lo: number | null | undefined, hi: number | null | undefined) =>
    (lo == null || v >= lo) && (hi == null || v <= hi);
  // The fake is an image index: no feature has a temporal value, and a temporal bound drops
  // features without one (the core's SQL: NULL fails the comparison).
  const temporalBound = [f.minAutocorrelation, f.maxAutocorrelation, f.minSwitchRate, f.maxSwitchRate].some((b) => b != null);
  return (
    !temporalBound &&
    inRange(c.logFrequency[i]!, f.minLogFrequency, f.maxLogFrequency) &&
    inRange(c.mean[i]!, f.minMean, f.maxMean) &&
    inRange(c.max[i]!, f.minMax, f.maxMax) &&
    inRange(i, f.minIndex, f.maxIndex)
  );
}

type FeatureRowTags = Pick<FeatureRow, 'category' | 'tags' | 'reviewed'>;
const CATEGORY_ORDER = { scene: 0, action: 1, object: 2 } as const;

function notFound(message: string): Error {
  return Object.assign(new Error(message), { code: 'not-found' });
}

export function createFakeStudioClient(options: FakeClientOptions = {}): FakeStudioClient {
  const o = options.index ?? {};
  const features = o.features ?? 100_000;
  const items = o.items ?? 50_000;
  const grid = o.grid ?? [14, 14];
  const tokens = items * grid[0] * grid[1];
  const topK = o.topK ?? 32;
  const columns = synthesiseColumns(features, tokens);

  let dead = 0;
  let dense = 0;
  let activeSum = 0;
  for (let i = 0; i < features; i++) {
    if (columns.count[i] === 0) dead++;
    if (columns.frequency[i]! > 1e-2) dense++;
    activeSum += columns.count[i]!;
  }

  const summary: IndexSummary = {
    id: o.id ?? 'clip-24k',
    path: o.path ?? '/data/indexes/clip-vit-b16-imagenet-val',
    name: o.name ?? 'CLIP-24K',
    defaultName: o.name ?? 'CLIP-24K',
    dataset: 'imagenet-val',
    member: null,
    detail: 'topk k=32 · clip-vit-b16-imagenet-val',
    schemaVersion: 1,
    complete: true,
    features,
    items,
    tokens,
    skipped: 3,
    provider: 'cuda',
    topK,
    createdAt: '2025-05-02T10:14:00.000Z',
    model: {
      name: 'CLIP ViT-B/16 (OpenAI)',
      family: 'clip',
      manifestPath: '/models/clip-vit-b16/manifest.json',
      modelPath: '/models/clip-vit-b16/model.onnx',
      layer: 'blocks.10',
      outputName: 'hidden_11',
      dModel: 768,
      inputSize: 224,
      tokens: { cls: true, registers: 0, patchSize: 16, grid },
    },
    sae: {
      format: 'saev',
      path: '/models/saes/clip-24k/sae.pt',
      architecture: 'topk',
      dIn: 768,
      dSae: features,
      k: 32,
      applyBDecToInput: true,
      threshold: 'none',
      normalization: { mode: 'scale', scale: 0.0412, hasMean: true },
      hookName: null,
      groups: null,
      hash: '9f2c4e01d7aa43b0b6c3a1d2e5f60718293a4b5c6d7e8f9011223344556677889',
    },
    labels: LABELS,
    histogram: { log10Min: HIST_LOG_MIN, log10Max: HIST_LOG_MAX, bins: HIST_BINS },
    l0Mean: activeSum / tokens,
    dead,
    dense,
    kind: 'images',
    framesPerClip: null,
    temporal: null,
    group: null,
  };

  // A second index of the same dataset (another model's SAE), for the match and query views.
  const other: IndexSummary = {
    ...summary,
    id: 'dino-32k',
    path: '/data/indexes/dinov2-b14-imagenet-val',
    name: 'DINO-32K',
    model: { ...summary.model, name: 'DINOv2 ViT-B/14', family: 'dinov2', tokens: { ...summary.model.tokens, registers: 4, patchSize: 14 } },
  };

  const skipped: SkippedItem[] = [
    { item: 'n01440764/ILSVRC2012_val_00002138.JPEG', reason: 'Unsupported colour space (CMYK JPEG)' },
    { item: 'n02009912/truncated.jpg', reason: 'Premature end of JPEG data' },
    { item: 'n04536866/notes.txt', reason: 'Not an image' },
  ];

  // A deterministic "suggestion" per feature, so the agreement table has something to show.
  const tagStore = createMemoryTags(summary.sae.hash, (f) => (columns.count[f] === 0 ? null : (['scene', 'object', null] as const)[f % 3]!));
  let tagVersion = 0;

  function row(i: number): FeatureRow {
    const t = tagStore.get(i);
    return {
      category: t.category,
      tags: t.tags,
      reviewed: t.reviewed,
      noteCount: t.notes.length,
      autocorrelation: null,
      switchRate: null,
      feature: i,
      count: columns.count[i]!,
      frequency: columns.frequency[i]!,
      logFrequency: columns.logFrequency[i]!,
      mean: columns.mean[i]!,
      max: columns.max[i]!,
      histogram: histogramFor(columns.count[i]!, columns.mean[i]!, columns.max[i]!),
    };
  }

  // The last sorted order is kept, like a database would keep its index: paging must be cheap.
  let orderKey = '';
  let order: Int32Array = new Int32Array(0);

  function sortedIndices(q: FeatureQuery): Int32Array {
    const key = JSON.stringify([q.sort, q.desc, q.filter ?? null, tagVersion]);
    if (key === orderKey) return order;
    const kept: number[] = [];
    for (let i = 0; i < features; i++) if (passes(columns, i, q.filter, tagStore.get)) kept.push(i);
    const tagKey = (i: number): number => {
      const t = tagStore.get(i);
      return q.sort === 'reviewed' ? Number(t.reviewed) : t.category ? CATEGORY_ORDER[t.category] : 3;
    };
    // The fake is an image index: no temporal statistics, so those sorts keep feature order.
    const temporal = q.sort === 'autocorrelation' || q.sort === 'switchRate';
    const column =
      q.sort === 'index' || q.sort === 'category' || q.sort === 'reviewed' || q.sort === 'autocorrelation' || q.sort === 'switchRate'
        ? null
        : columns[q.sort === 'frequency' ? 'frequency' : q.sort];
    const sign = q.desc ? -1 : 1;
    // Descending is the exact reverse of ascending (value, then feature number), as in the core.
    kept.sort((a, b) => {
      const d = column ? column[a]! - column[b]! : q.sort === 'index' || temporal ? a - b : tagKey(a) - tagKey(b);
      return sign * (d !== 0 ? d : a - b);
    });
    orderKey = key;
    order = Int32Array.from(kept);
    return order;
  }

  /**
   * Synthetic activation ranges (issue 17): the half-decade ranges from the top exemplar's down
   * three decades, more items the weaker the range, each sampled item a top exemplar's map scaled
   * into its range.
   */
  function fakeRangeSamples(exemplars: Exemplar[], random: () => number): NonNullable<FeatureDetail['rangeSamples']> {
    if (exemplars.length === 0) return [];
    const top = Math.min(15, Math.max(0, Math.floor(2 * Math.log10(exemplars[0]!.value) + 8)));
    const rows: NonNullable<FeatureDetail['rangeSamples']> = [];
    for (let r = top; r >= Math.max(0, top - 6); r--) {
      const lo = r === 0 ? 0 : 10 ** (-4 + r / 2);
      const hi = r === 15 ? null : 10 ** (-4 + (r + 1) / 2);
      const count = Math.round(3 * 2.2 ** (top - r) * (1 + random()));
      const n = Math.min(4, count);
      const sampled = Array.from({ length: n }, (_, rank) => {
        const src = exemplars[Math.floor(random() * exemplars.length)]!;
        const value = Math.max(lo, 10 ** (-4 + (r + 1 - (rank + random()) / (n + 1)) / 2));
        const scale = value / Math.max(src.value, 1e-9);
        return { ...src, rank, itemId: (src.itemId * 7 + r * 131 + rank) % items, value, patchMap: src.patchMap.map((v) => v * scale) };
      }).sort((a, b) => b.value - a.value).map((e, rank) => ({ ...e, rank }));
      rows.push({ lo, hi, count, items: sampled });
    }
    return rows;
  }

  function detail(indexId: string, feature: number): FeatureDetail {
    const r = row(feature);
    const random = mulberry32(feature * 104729 + 3);
    const [rows, cols] = grid;
    const exemplarCount = r.count === 0 ? 0 : Math.min(topK, Math.max(1, Math.round(r.count / 4)));
    const exemplars: Exemplar[] = [];
    let value = r.max;
    for (let rank = 0; rank < exemplarCount; rank++) {
      const itemId = Math.floor(random() * items);
      const label = LABELS[(feature + Math.floor(random() * 4) * 3) % LABELS.length]!;
      // One or two blobs per exemplar, the strongest patch at exactly `value`.
      const cr = random() * rows;
      const cc = random() * cols;
      const radius = 1 + random() * 2.5;
      const patchMap = new Array<number>(rows * cols);
      let peak = 0;
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < cols; x++) {
          const d2 = ((y + 0.5 - cr) ** 2 + (x + 0.5 - cc) ** 2) / (radius * radius);
          const v = Math.exp(-d2) - 0.12;
          patchMap[y * cols + x] = v > 0 ? v : 0;
          peak = Math.max(peak, v);
        }
      }
      for (let p = 0; p < patchMap.length; p++) patchMap[p] = peak > 0 ? (patchMap[p]! / peak) * value : 0;
      exemplars.push({
        rank,
        itemId,
        item: `n0${1440764 + ((itemId * 37) % 900000)}/ILSVRC2012_val_${String(itemId).padStart(8, '0')}.JPEG`,
        label,
        value,
        patchMap,
      });
      value *= 0.9 + random() * 0.08;
    }
    const counts = new Map<string, number>();
    for (const e of exemplars) if (e.label) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
    return {
      indexId,
      row: r,
      grid,
      upper: exemplars.length ? Math.max(...exemplars.map((e) => e.value)) : 0,
      exemplars,
      labelCounts: [...counts].map(([label, count]) => ({ label, count })).sort((a, b) => b.count - a.count),
      clsCount: Math.round(r.count / 196),
      clsMax: r.max * 0.6,
      tags: tagStore.get(feature),
      rangeSamples: fakeRangeSamples(exemplars, random),
    };
  }

  const listeners = new Set<(event: StudioEvent) => void>();
  const jobs = new Map<string, JobInfo>((options.jobs ?? []).map((j) => [j.jobId, j]));
  const calls: FakeCall[] = [];

  function emit(event: StudioEvent): void {
    if (event.type === 'job') jobs.set(event.job.jobId, event.job);
    for (const l of listeners) l(event);
  }

  async function reply<T>(method: string, args: unknown, produce: () => T): Promise<T> {
    const call: FakeCall = { method, args };
    calls.push(call);
    await options.beforeReply?.(method, args);
    try {
      call.result = produce();
    } catch (err) {
      call.error = err;
      throw err;
    }
    return call.result as T;
  }

  function checkIndex(indexId: string): void {
    if (indexId !== summary.id && indexId !== other.id) throw notFound(`No open index with id "${indexId}". Open it again from the start page.`);
  }

  function runJob(job: JobInfo): void {
    const tick = options.jobTickMs ?? 0;
    if (tick <= 0) return;
    const timer = setInterval(() => {
      const current = jobs.get(job.jobId);
      if (!current || current.state !== 'running') return clearInterval(timer);
      const done = Math.min(current.progress.total, current.progress.done + 250);
      const finished = done >= current.progress.total;
      emit({
        type: 'job',
        job: {
          ...current,
          state: finished ? 'done' : 'running',
          progress: {
            ...current.progress,
            phase: finished ? 'finalizing' : 'indexing',
            done,
            itemsPerSec: 250 / (tick / 1000),
            etaSec: ((current.progress.total - done) / 250) * (tick / 1000),
          },
        },
      });
      if (finished) clearInterval(timer);
    }, tick);
  }

  const client: FakeStudioClient = {
    summary,
    calls,
    emit,
    listenerCount: () => listeners.size,

    appInfo: () =>
      reply('appInfo', null, (): AppInfo => ({
        version: '0.1.0',
        host: 'web',
        providers: ['cuda', 'cpu'],
        recent: [
          { id: summary.id, path: summary.path, name: summary.name, openedAt: '2025-05-02T10:20:00.000Z' },
          { id: 'dino-32k', path: '/data/indexes/dinov2-b14-imagenet-val', name: 'DINO-32K', openedAt: '2025-04-28T16:02:00.000Z' },
        ],
        startIndexId: options.startIndexId ?? null,
      })),
    openIndex: (args) =>
      reply('openIndex', args, () => {
        if (args.path.replace(/\/+$/, '') === other.path) return other;
        if (args.path.replace(/\/+$/, '') !== summary.path) {
          throw notFound(`No index at ${args.path}: the folder has no index.sqlite. Pick the folder an indexing run wrote.`);
        }
        return summary;
      }),
    indexSummary: (args) =>
      reply('indexSummary', args, () => {
        checkIndex(args.indexId);
        if (args.indexId === other.id) return other;
        return summary;
      }),
    queryFeatures: (args) =>
      reply('queryFeatures', args, (): FeaturePage => {
        checkIndex(args.indexId);
        const ids = sortedIndices(args);
        const rows: FeatureRow[] = [];
        for (let p = args.offset; p < Math.min(ids.length, args.offset + args.limit); p++) rows.push(row(ids[p]!));
        return { total: ids.length, offset: args.offset, rows };
      }),
    featureDetail: (args) =>
      reply('featureDetail', args, () => {
        checkIndex(args.indexId);
        if (!Number.isInteger(args.feature) || args.feature < 0 || args.feature >= features) {
          throw notFound(`Feature ${args.feature} does not exist: this SAE has features 0 to ${features - 1}.`);
        }
        return detail(args.indexId, args.feature);
      }),
    scatter: (args) =>
      reply('scatter', args, (): ScatterData => {
        checkIndex(args.indexId);
        return {
          logFrequency: Float32Array.from(columns.logFrequency),
          logMean: Float32Array.from(columns.mean, (m) => Math.log10(m + 1e-10)),
        };
      }),
    skippedItems: (args) =>
      reply('skippedItems', args, () => {
        checkIndex(args.indexId);
        return skipped;
      }),
    // Item page: a dozen features spread over the index, each with its first exemplar's map.
    itemDetail: (args) =>
      reply('itemDetail', args, () => {
        checkIndex(args.indexId);
        const n = summary.features;
        const features = Array.from({ length: 12 }, (_, i) => {
          const d = detail(args.indexId, (args.item * 31 + i * 977) % n);
          const map = d.exemplars[0]?.patchMap ?? null;
          return { feature: d.row.feature, value: d.row.max, category: d.tags.category, tags: d.tags.tags, noteCount: d.tags.notes.length, patchMap: map, sum: map ? map.reduce((a, b) => a + b, 0) : null };
        }).sort((a, b) => b.value - a.value || a.feature - b.feature);
        return {
          indexId: args.indexId,
          item: { id: args.item, path: `item_${args.item}.jpg`, file: `/data/item_${args.item}.jpg`, label: LABELS[args.item % LABELS.length]!, thumbnail: true, width: 224, height: 224, frames: null },
          grid,
          features,
          upper: Math.max(0, ...features.flatMap((f) => f.patchMap ?? [])),
          preview: null,
          mapsProblem: null,
        };
      }),
    // Search: label purity over the first 500 features' (synthetic) exemplars.
    searchFeatures: (args) =>
      reply('searchFeatures', args, () => {
        checkIndex(args.indexId);
        const t = args.text.trim().toLowerCase();
        const labels = t ? LABELS.filter((l) => l.toLowerCase().includes(t)) : [];
        const hits = [];
        for (let f = 0; f < Math.min(500, summary.features) && labels.length; f++) {
          const d = detail(args.indexId, f);
          const count = d.exemplars.filter((e) => e.label !== null && labels.includes(e.label)).length;
          if (count > 0) hits.push({ row: d.row, matches: [{ kind: 'label' as const, text: labels.join(', ') }], labelCount: count, labelPurity: count / d.exemplars.length, exemplars: d.exemplars.length });
        }
        hits.sort((a, b) => b.labelPurity - a.labelPurity || b.labelCount - a.labelCount || a.row.feature - b.row.feature);
        const offset = args.offset ?? 0;
        return { total: hits.length, offset, labels, hits: hits.slice(offset, offset + (args.limit ?? 50)) };
      }),
    // Canned: a store test asserts what was asked for, not what the fake made up.
    listItems: (args) =>
      reply('listItems', args, () => {
        checkIndex(args.indexId);
        return { total: 0, items: [] };
      }),
    inspectSae: (args) =>
      reply('inspectSae', args, () => {
        if (!args.path.trim()) throw Object.assign(new Error('Give the path of an SAE checkpoint file or folder.'), { code: 'bad-request' });
        return summary.sae;
      }),
    inspectOnnx: (args) =>
      reply('inspectOnnx', args, () => ({
        path: args.path,
        layers: [
          { name: 'block_10', tensor: 'block_10', tokens: 197, dModel: 768, isGraphOutput: true },
          { name: 'block_11', tensor: 'block_11', tokens: 197, dModel: 768, isGraphOutput: true },
        ],
        inputSize: 224,
        presets: ['clip', 'dinov2-saev', 'dinov2-hf'] as ManifestPresetKey[],
        manifestPath: args.path.replace(/\.onnx$/i, '.json'),
        manifestExists: false,
      })),
    createManifest: (args) =>
      reply('createManifest', args, () => ({
        manifestPath: args.onnx.replace(/\.onnx$/i, '.json'),
        modelPath: args.onnx,
        inspection: {
          name: 'model',
          family: 'clip',
          layers: args.layers.map((name) => ({ name, outputName: name })),
          inputSize: 224,
          tokens: { cls: true, registers: 0, patchSize: 16, grid: [14, 14] as [number, number] },
        },
        warnings: [],
      })),
    renameIndex: (args) =>
      reply('renameIndex', args, () => {
        checkIndex(args.indexId);
        summary.name = args.name;
        return { ...summary };
      }),
    inspectModel: (args) =>
      reply('inspectModel', args, (): ModelInspection => {
        if (!args.manifest.endsWith('.json')) {
          throw Object.assign(new Error(`${args.manifest} is not a backbone manifest (expected a .json file next to the .onnx).`), {
            code: 'bad-input',
          });
        }
        return {
          name: 'CLIP ViT-B/16 (OpenAI)',
          family: 'clip',
          layers: Array.from({ length: 12 }, (_, b) => ({ name: `blocks.${b}`, outputName: `hidden_${b + 1}` })),
          inputSize: 224,
          tokens: { cls: true, registers: 0, patchSize: 16, grid: [14, 14] },
        };
      }),
    startIndex: (args: IndexRequest) =>
      reply('startIndex', args, () => {
        const job: JobInfo = {
          jobId: `job-${jobs.size + 1}`,
          kind: 'index',
          title: `Index ${(args.data ?? args.shards ?? '').split('/').filter(Boolean).pop() ?? args.data}`,
          state: 'running',
          progress: { phase: 'preparing', done: 0, total: 5000, skipped: 0, itemsPerSec: 0, etaSec: null },
          provider: args.provider && args.provider !== 'auto' ? args.provider : 'cuda',
          out: args.out,
          error: null,
          startedAt: new Date().toISOString(),
        };
        emit({ type: 'job', job });
        runJob(job);
        return job;
      }),
    cancelJob: (args) =>
      reply('cancelJob', args, () => {
        const job = jobs.get(args.jobId);
        if (!job) throw notFound(`No job ${args.jobId}.`);
        if (job.state === 'running' || job.state === 'queued') emit({ type: 'job', job: { ...job, state: 'cancelled' } });
      }),
    listJobs: () => reply('listJobs', null, () => [...jobs.values()]),
    buildDemo: (args) =>
      reply('buildDemo', args, () => {
        const job: JobInfo = {
          jobId: `demo-${jobs.size + 1}`, kind: 'demo', title: 'Build the demo', state: 'running',
          progress: { phase: 'preparing', done: 0, total: 1, skipped: 0, itemsPerSec: 0, etaSec: null, step: { n: 1, of: 10, label: 'Drawing the shapes-in-motion dataset', detail: null } },
          provider: 'cpu', out: '/settings/demo/indexes/a-clips', error: null, startedAt: new Date().toISOString(),
        };
        jobs.set(job.jobId, job);
        emit({ type: 'job', job });
        return job;
      }),
    demoStatus: () =>
      reply('demoStatus', null, () => ({ folder: '/settings/demo', built: false, open: null, indexes: [], seconds: null, jobId: null, steps: ['Drawing the shapes-in-motion dataset', 'Training the TopK SAE on backbone A'] })),
    pickPath: (args) => reply('pickPath', args, () => options.pickedPath ?? null),
    featureTags: (args) =>
      reply('featureTags', args, () => {
        checkIndex(args.indexId);
        return tagStore.get(args.feature);
      }),
    editTags: (args) =>
      reply('editTags', args, () => {
        checkIndex(args.indexId);
        tagVersion++;
        return tagStore.edit(args);
      }),
    restoreTags: (args) =>
      reply('restoreTags', args, () => {
        checkIndex(args.indexId);
        tagVersion++;
        return tagStore.restore(args.records);
      }),
    tagOverview: (args) => reply('tagOverview', args, () => tagStore.overview()),
    exportTags: (args) => reply('exportTags', args, () => tagStore.exportTags(args.format, summary.name)),
    importTags: (args) =>
      reply('importTags', args, () => {
        tagVersion++;
        return tagStore.importTags(args.text);
      }),
    suggestCategory: (args) => reply('suggestCategory', args, () => tagStore.suggest(args.feature)),
    tagAgreement: (args) => reply('tagAgreement', args, () => tagStore.agreement()),
    noteAuthor: () => reply('noteAuthor', null, () => tagStore.author),
    setNoteAuthor: (args) =>
      reply('setNoteAuthor', args, () => {
        tagStore.author = args.author;
        return args.author;
      }),
    ...fakeAnalysisMethods(
      [summary, other].map((x) => ({ id: x.id, path: x.path, name: x.name, features: x.features, grid: x.model.tokens.grid })),
      reply,
      options.thumbnailUrl?.(summary.id, 4242),
    ),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    thumbnailUrl: (indexId, itemId) =>
      options.thumbnailUrl ? options.thumbnailUrl(indexId, itemId) : `fake-thumb://${indexId}/${itemId}`,
  };
  return client;
}
