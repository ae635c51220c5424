// Canned matching / patch query / similar-feature answers shared by the fake backend (host tests)
// and the fake client (renderer tests, screenshot harness). Deterministic in their arguments.
import type {
  FeatureMatches,
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
  'matchIndexes' | 'matchSummary' | 'matchRuns' | 'featureMatches' | 'matchList' | 'matchPair' | 'similarFeatures' | 'loadQueryImage' | 'queryPatches'
>;

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
  return {
    matchIndexes: (args) =>
      reply('matchIndexes', args, () => {
        matched = true;
        return summaryOf(ref(args.indexId), ref(args.otherId));
      }),
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
        return Array.from({ length: args.limit ?? 12 }, (_, r) => ({ index: (args.feature * 131 + r * 977 + 1) % a.features, cosine: 0.74 - r * 0.04 }));
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
              index: (seed * 97 + i * 389) % r.features,
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
  };
}
