// Canned matching / patch query / similar-feature answers shared by the fake backend (host tests)
// and the fake client (renderer tests, screenshot harness). Deterministic in their arguments.
import type {
  FlickerFeature,
  ClosestFeature,
  OpenClip,
  OpenClipArgs,
  InterveneOpenArgs,
  InterveneResult,
  InterveneRunArgs,
  InterveneSession,
  FeatureMatches,
  MatchBest,
  MatchEntry,
  MatchListPage,
  MatchListQuery,
  MatchPairDetail,
  MatchSummary,
  PatchQuery,
  PatchQueryResult,
  QueryImage,
  QueryImageSource,
  SimilarFeature,
  StudioApi,
} from '../../src-main/contract/index.js';

type AnalysisMethods = Pick<
  StudioApi,
  | 'matchIndexes'
  | 'cancelMatch'
  | 'matchSummary'
  | 'matchRuns'
  | 'featureMatches'
  | 'matchBest'
  | 'matchList'
  | 'matchPair'
  | 'similarFeatures'
  | 'loadQueryImage'
  | 'queryPatches'
  | 'interveneOpen'
  | 'interveneRun'
  | 'openClip'
  | 'flickerFeature'
  | 'closestFeatures'
>;

const FAKE_CLASSES = ['beach', 'desert', 'forest', 'ocean', 'snow', 'sky', 'road', 'building'];

function softmaxOf(logits: number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

type Reply = <T>(method: string, args: unknown, produce: () => T) => Promise<T>;

export interface FakeIndexRef {
  id: string;
  path: string;
  name: string;
  features: number;
  grid: [number, number];
}

/** A 1x1 grey PNG: the fake "model crop" of a query image. */
const GREY_PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNoaGgAAAMEAYFL09IQAAAAAElFTkSuQmCC';

export function fakeAnalysisMethods(indexes: FakeIndexRef[], reply: Reply, previewUrl?: string): AnalysisMethods {
  let matched = false;
  const sessions = new Map<string, { index: FakeIndexRef; segmentation: boolean }>();
  // Arguments a generic caller leaves out (host routing tests) fall back to the first index.
  const ref = (id: string | undefined) => {
    const r = id === undefined ? indexes[0] : indexes.find((x) => x.id === id);
    if (!r) throw Object.assign(new Error(`No open index with id "${id}".`), { code: 'not-found' });
    return r;
  };
  const summaryOf = (a: FakeIndexRef, b: FakeIndexRef): MatchSummary => ({
    a: { indexId: a.id, path: a.path, name: a.name, features: a.features, live: Math.round(a.features * 0.96) },
    b: { indexId: b.id, path: b.path, name: b.name, features: b.features, live: Math.round(b.features * 0.94) },
    itemsCommon: 50000,
    itemsOnlyA: 0,
    itemsOnlyB: 0,
    examplesOnlyA: [],
    examplesOnlyB: [],
    coActivePairs: 204_800_000,
    mutual: Math.round(Math.min(a.features, b.features) * 0.31),
    perFeature: 10,
    seconds: 41.2,
    createdAt: '2025-05-02T10:31:00.000Z',
  });
  const matchesOf = (a: FakeIndexRef, b: FakeIndexRef, feature: number, n: number): MatchEntry[] =>
    Array.from({ length: n }, (_, r) => ({
      feature,
      other: (feature * 7919 + r * 104729) % b.features,
      score: Math.max(-0.05, 0.82 - 0.11 * r - ((feature * 13) % 17) / 60),
      lift: Math.max(0.5, 38 - 5 * r - (feature % 9)),
      coCount: Math.max(1, 900 - 120 * r),
    }));
  // Fake clips: 8 frames; feature f's blob travels across the grid, one patch column per frame.
  const CLIP_FRAMES = 8;
  const clipMaps = (r: FakeIndexRef, feature: number): number[][] =>
    Array.from({ length: CLIP_FRAMES }, (_, t) =>
      Array.from({ length: r.grid[0] * r.grid[1] }, (_, p) => {
        const [pr, pc] = [Math.floor(p / r.grid[1]), p % r.grid[1]];
        const cc = (t + feature) % r.grid[1];
        const on = feature % 2 === 1 && t % 2 === 1 ? 0 : 1; // odd features flicker
        return on * Math.max(0, (2 + (feature % 5)) * (1 - Math.hypot(pr - r.grid[0] / 2, pc - cc) / 3));
      }),
    );
  return {
    openClip: (args: OpenClipArgs) =>
      reply('openClip', args, (): OpenClip => {
        const r = ref(args.indexId);
        const name = (args.path ?? args.item ?? 'clip.mp4').split('/').pop()!;
        const saes = [r, ...(args.otherIndexId ? [ref(args.otherIndexId)] : [])];
        return {
          clipId: `clip-${name}`,
          name,
          path: args.path ?? `${r.path}/data/${args.item ?? name}`,
          frames: CLIP_FRAMES,
          frameIndexes: Array.from({ length: CLIP_FRAMES }, (_, t) => t * 3),
          grid: r.grid,
          frameImages: Array.from({ length: CLIP_FRAMES }, () => previewUrl ?? GREY_PNG),
          saes: saes.map((x) => ({ indexId: x.id, name: x.name, features: x.features, top: Array.from({ length: Math.min(12, x.features) }, (_, i) => ({ feature: (i * 7 + 3) % x.features, max: 4 - i * 0.25 })) })),
        };
      }),
    flickerFeature: (args) =>
      reply('flickerFeature', args, (): FlickerFeature => {
        const r = ref(args.indexId);
        const maps = clipMaps(r, args.feature);
        const trace = maps.map((m) => Math.max(0, ...m));
        const flicker = args.feature % 2 === 1;
        return {
          clipId: args.clipId,
          indexId: r.id,
          feature: args.feature,
          maps,
          trace,
          upper: Math.max(0, ...trace),
          clipAutocorrelation: flicker ? -0.62 : 0.71,
          clipSwitchRate: flicker ? 0.83 : 0.12,
        };
      }),
    closestFeatures: (args) =>
      reply('closestFeatures', args, (): ClosestFeature[] => {
        const b = ref(args.otherIndexId);
        const cap = args.maxFeature ?? b.features;
        return Array.from({ length: args.limit ?? 5 }, (_, i) => ({ feature: (args.feature * 17 + i * 5) % cap, correlation: 0.81 - i * 0.13, max: 3 - i * 0.3 }));
      }),
    matchIndexes: (args) =>
      reply('matchIndexes', args, () => {
        matched = true;
        return summaryOf(ref(args.indexId), ref(args.otherId));
      }),
    cancelMatch: () => reply('cancelMatch', undefined, () => false),
    matchSummary: (args) => reply('matchSummary', args, () => (matched ? summaryOf(ref(args.indexId), ref(args.otherId)) : null)),
    matchRuns: (args) =>
      reply('matchRuns', args, () => {
        ref(args.indexId);
        return matched ? indexes.filter((x) => x.id !== args.indexId).map((x) => ({ path: x.path, name: x.name, createdAt: '2025-05-02T10:31:00.000Z' })) : [];
      }),
    featureMatches: (args) =>
      reply('featureMatches', args, (): FeatureMatches => {
        const a = ref(args.indexId);
        const b = ref(args.otherId);
        return { feature: args.feature, matches: matchesOf(a, b, args.feature, args.limit ?? 10), mutual: args.feature % 3 === 0 };
      }),
    matchBest: (args) =>
      reply('matchBest', args, (): MatchBest[] => {
        const a = ref(args.indexId);
        const b = ref(args.otherId);
        return Array.from({ length: a.features }, (_, feature) => {
          const top = matchesOf(a, b, feature, 1)[0]!;
          return { feature, other: top.other, score: top.score };
        });
      }),
    matchList: (q: MatchListQuery) =>
      reply('matchList', q, (): MatchListPage => {
        const a = ref(q.indexId);
        const b = ref(q.otherId);
        const total = q.kind === 'mutual' ? 400 : 120;
        const rows: MatchEntry[] = [];
        for (let i = q.offset; i < Math.min(total, q.offset + q.limit); i++) {
          const feature = (i * 37) % a.features;
          const score = q.kind === 'mutual' ? 0.95 - i * 0.002 : 0.28 - i * 0.002;
          rows.push({ feature, other: q.kind === 'mutual' ? (feature * 7919) % b.features : i % 5 === 4 ? -1 : (feature * 31) % b.features, score, lift: 40 - i * 0.07, coCount: 800 - i });
        }
        if (q.sort === 'feature') rows.sort((x, y) => (q.desc ? y.feature - x.feature : x.feature - y.feature));
        else if (!q.desc) rows.reverse();
        return { total, offset: q.offset, rows };
      }),
    matchPair: (args) =>
      reply('matchPair', args, (): MatchPairDetail => {
        ref(args.indexId);
        ref(args.otherId);
        return {
          a: args.feature,
          b: args.other,
          score: 0.71,
          liftAB: 31.5,
          liftBA: 27.2,
          grid: [14, 14],
          patchCorrelation: 0.64,
          patchOverlap: 0.52,
          itemsCompared: 9,
          note: 'Patch maps compared on the 9 item(s) that are exemplars of both, resampled by area to 14x14.',
        };
      }),
    similarFeatures: (args) =>
      reply('similarFeatures', args, (): SimilarFeature[] => {
        const a = ref(args.indexId);
        return Array.from({ length: args.limit ?? 12 }, (_, r) => ({ feature: (args.feature * 131 + r * 977 + 1) % a.features, cosine: 0.74 - r * 0.04 }));
      }),
    loadQueryImage: (args: { image: QueryImageSource; indexIds: string[] }) =>
      reply('loadQueryImage', args, (): QueryImage => ({
        imageId: 'img-1',
        name: args.image?.name ?? args.image?.path?.split('/').pop() ?? 'image',
        sourceWidth: 640,
        sourceHeight: 480,
        views: (args.indexIds ?? [indexes[0]!.id]).map((id) => {
          const r = ref(id);
          return { indexId: id, name: r.name, grid: r.grid, preview: previewUrl ?? GREY_PNG, crop: [0.125, 0, 0.875, 1] as [number, number, number, number] };
        }),
      })),
    queryPatches: (q: PatchQuery) =>
      reply('queryPatches', q, (): PatchQueryResult => {
        const r = ref(q.indexId);
        const patches = q.patches ?? [];
        const seed = patches.reduce((s, [a, b]) => s + a * 31 + b, 7);
        const features = patches.length === 0
          ? []
          : Array.from({ length: Math.min(q.limit ?? 50, 24) }, (_, i) => ({
              feature: (seed * 97 + i * 389) % r.features,
              value: (patches.length * 3.1) / (1 + i * 0.35),
              max: 3.1 / (1 + i * 0.3),
              patchMap: Array.from({ length: r.grid[0] * r.grid[1] }, (_, p) => {
                const [pr, pc] = [Math.floor(p / r.grid[1]), p % r.grid[1]];
                const [cr, cc] = patches[i % patches.length]!;
                return Math.max(0, (3.1 / (1 + i * 0.3)) * (1 - Math.hypot(pr - cr, pc - cc) / 4));
              }),
            }));
        return { imageId: q.imageId, indexId: q.indexId, patches: patches.length, features };
      }),
    // A head path containing "seg" is a segmentation head; anything else classifies. Each edit
    // pushes the logits along a direction fixed by its feature, by its multiple minus one.
    interveneOpen: (args: InterveneOpenArgs) =>
      reply('interveneOpen', args, (): InterveneSession => {
        const r = ref(args.indexId);
        const segmentation = /seg/i.test(args.head ?? '');
        const sessionId = `s-${r.id}-${segmentation ? 'seg' : 'cls'}`;
        sessions.set(sessionId, { index: r, segmentation });
        return {
          sessionId,
          indexId: r.id,
          head: { path: args.head, task: segmentation ? 'segmentation' : 'classification', input: 'last_hidden_state', labels: FAKE_CLASSES },
          image: { name: args.image?.name ?? args.image?.path?.split('/').pop() ?? 'image', sourceWidth: 640, sourceHeight: 480 },
          grid: r.grid,
          preview: previewUrl ?? GREY_PNG,
        };
      }),
    interveneRun: (args: InterveneRunArgs) =>
      reply('interveneRun', args, (): InterveneResult => {
        // A generic caller (host routing tests) gives no session: a classifier on the first index.
        const s = args.sessionId === undefined ? { index: ref(undefined), segmentation: false } : sessions.get(args.sessionId);
        if (!s) throw Object.assign(new Error('This intervention session is not open.'), { code: 'not-found' });
        const C = FAKE_CLASSES.length;
        const P = s.index.grid[0] * s.index.grid[1];
        const edits = (args.edits ?? []).map((e) => ({ ...e, max: 2 + (e.feature % 5), value: e.multiple * (2 + (e.feature % 5)) }));
        const push = (c: number) => edits.reduce((acc, e) => acc + (1 - e.multiple) * Math.cos(e.feature * 1.7 + c), 0);
        const logitsAt = (p: number, c: number, edited: boolean) => Math.sin(p * 0.9 + c * 1.3) * 2 + (edited ? push(c) : 0);
        const chosen = new Set(args.patches ?? Array.from({ length: P }, (_, p) => p));
        if (!s.segmentation) {
          const before = softmaxOf(Array.from({ length: C }, (_, c) => logitsAt(0, c, false)));
          const after = softmaxOf(Array.from({ length: C }, (_, c) => logitsAt(0, c, edits.length > 0)));
          const changedClasses = before.map((p, c) => (Math.abs(after[c]! - p) >= 0.005 ? c : -1)).filter((c) => c >= 0);
          return { sessionId: args.sessionId, task: 'classification', labels: FAKE_CLASSES, before: { probs: before, patchClasses: null, patchConfidence: null }, after: { probs: after, patchClasses: null, patchConfidence: null }, edits, changedClasses, changedPatches: [], ms: 3 };
        }
        const map = (edited: boolean) => {
          const classes: number[] = [];
          const conf: number[] = [];
          for (let p = 0; p < P; p++) {
            const probs = softmaxOf(Array.from({ length: C }, (_, c) => logitsAt(p, c, edited && chosen.has(p))));
            const best = probs.indexOf(Math.max(...probs));
            classes.push(best);
            conf.push(probs[best]!);
          }
          return { probs: null, patchClasses: classes, patchConfidence: conf };
        };
        const before = map(false);
        const after = map(edits.length > 0);
        const changedPatches = before.patchClasses.map((c, p) => (after.patchClasses[p] !== c ? p : -1)).filter((p) => p >= 0);
        return { sessionId: args.sessionId, task: 'segmentation', labels: FAKE_CLASSES, before, after, edits, changedClasses: [], changedPatches, ms: 3 };
      }),
  };
}
