import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { isReactive } from 'vue';
import type { FeaturePage, FeatureQuery, JobInfo } from '../../src-main/contract/index.js';
import { createFakeStudioClient, type FakeClientOptions, type FakeStudioClient } from '../helpers/fakeStudioClient';
import { bindStoreClient } from '../../src-renderer/src/api/storeClient';
import { useFeatureTableStore, PAGE_SIZE, MAX_CACHED_PAGES, MAX_IN_FLIGHT } from '../../src-renderer/src/stores/featureTable';
import { useFeatureDetailStore } from '../../src-renderer/src/stores/featureDetail';
import { useJobsStore } from '../../src-renderer/src/stores/jobs';
import { useIndexStore } from '../../src-renderer/src/stores/index';
import { useAppStore } from '../../src-renderer/src/stores/app';
import {
  defaultListQuery,
  listQueryToRoute,
  parseListQuery,
  type FeatureListQuery,
} from '../../src-renderer/src/lib/featureQueryParams';

const ID = 'clip-24k';

function setup(options: FakeClientOptions = {}): FakeStudioClient {
  const client = createFakeStudioClient(options);
  const pinia = createPinia();
  setActivePinia(pinia);
  bindStoreClient(pinia, client);
  return client;
}

/** A gate that holds replies of chosen calls until released, to reorder answers. */
function gate() {
  const held: { method: string; args: unknown; release: () => void }[] = [];
  let holding: ((method: string, args: unknown) => boolean) | null = null;
  return {
    held,
    holdWhen(predicate: (method: string, args: unknown) => boolean) {
      holding = predicate;
    },
    beforeReply: (method: string, args: unknown) => {
      if (!holding?.(method, args)) return;
      return new Promise<void>((release) => held.push({ method, args, release }));
    },
  };
}

const query = (patch: Partial<FeatureListQuery> = {}, filter: Partial<FeatureListQuery['filter']> = {}) => {
  const base = defaultListQuery();
  return { ...base, ...patch, filter: { ...base.filter, ...filter } };
};

// One synthetic 100,000-feature index shared by the read-only tests (synthesis takes ~100 ms).
let shared: FakeStudioClient;
beforeEach(() => {
  shared ??= createFakeStudioClient();
});

/** The queryFeatures calls made since `from`, typed. */
function pageCalls(client: FakeStudioClient, from: number): { args: FeatureQuery; result?: FeaturePage }[] {
  return client.calls.slice(from).filter((c) => c.method === 'queryFeatures') as { args: FeatureQuery; result?: FeaturePage }[];
}

function withShared(): FakeStudioClient {
  const pinia = createPinia();
  setActivePinia(pinia);
  bindStoreClient(pinia, shared);
  return shared;
}

describe('features store: paging 100,000 features', () => {
  it('loads the first page, reports the total, prefetches next to the viewport and fetches far pages only when asked', async () => {
    const client = withShared();
    const store = useFeatureTableStore();
    const before = client.calls.length;
    await store.setQuery(ID, query());
    expect(store.total).toBe(100_000);
    expect(store.rowAt(0)?.feature).toBe(0);
    await store.ensureRange(54_321, 54_360);
    expect(store.rowAt(54_321)?.feature).toBe(54_321);
    await new Promise((r) => setTimeout(r, 0)); // let the prefetches land
    const pageCalls = client.calls.slice(before).filter((c) => c.method === 'queryFeatures');
    // Page 0, the two pages after it (prefetch, once the total is known), then the far page
    // first and its neighbours, nearest first and the scroll direction first: two further on,
    // one before. Nothing in between.
    expect(pageCalls.map((c) => (c.args as { offset: number }).offset)).toEqual([0, 100, 200, 54_300, 54_400, 54_200, 54_500]);
    expect(store.rowAt(54_499)?.feature).toBe(54_499);
  });

  it('never makes rows reactive and never holds more than the page budget', async () => {
    withShared();
    const store = useFeatureTableStore();
    await store.setQuery(ID, query());
    expect(isReactive(store.rowAt(0))).toBe(false);
    // Scroll through 300 pages (30,000 rows) one screen at a time (prefetch reaches page 301).
    for (let p = 0; p < 300; p++) await store.ensureRange(p * PAGE_SIZE, p * PAGE_SIZE + 40);
    await new Promise((r) => setTimeout(r, 0));
    let cached = 0;
    for (let p = 0; p < 310; p++) if (store.rowAt(p * PAGE_SIZE)) cached++;
    expect(cached).toBe(MAX_CACHED_PAGES);
    expect(store.rowAt(299 * PAGE_SIZE)).toBeDefined(); // the pages near the viewport survive
    expect(store.rowAt(0)).toBeUndefined();
  });

  it('asks the core for the sort and filters as given, and shows the pages and total it answered, in place', async () => {
    // The fake's sorting and filtering are not what is under test (they only imitate the core's
    // SQL, and drift from it): what the store sent, and whether it shows what came back.
    const client = withShared();
    const store = useFeatureTableStore();
    const before = client.calls.length;
    const filter = { dead: 'exclude', minLogFrequency: -3, maxLogFrequency: -2 } as const;
    await store.setQuery(ID, query({ sort: 'max', desc: true }, filter));
    await store.ensureRange(0, 2 * PAGE_SIZE + 5);
    await new Promise((r) => setTimeout(r, 0)); // let the prefetches land
    const pages = pageCalls(client, before);
    expect(pages.map((c) => c.args.offset).slice(0, 3)).toEqual([0, 100, 200]);
    for (const { args } of pages) {
      expect(args).toEqual({ indexId: ID, sort: 'max', desc: true, offset: args.offset, limit: PAGE_SIZE, filter: { ...defaultListQuery().filter, ...filter } });
    }
    expect(store.total).toBe(pages[0]!.result!.total);
    for (const { args, result } of pages) {
      expect(result!.rows.length).toBeGreaterThan(0);
      result!.rows.forEach((row, j) => expect(store.rowAt(args.offset + j)).toBe(row));
    }
  });

  it('takes the total from the latest answer and clears it when the query changes', async () => {
    const client = withShared();
    const store = useFeatureTableStore();
    const before = client.calls.length;
    await store.setQuery(ID, query({}, { dead: 'only' }));
    const dead = pageCalls(client, before)[0]!;
    expect(dead.args).toMatchObject({ offset: 0, filter: { dead: 'only' } });
    expect(store.total).toBe(dead.result!.total);
    expect(store.rowAt(0)).toBe(dead.result!.rows[0]);
    const next = store.setQuery(ID, query({}, { minMean: 0.5 }));
    expect(store.total).toBeNull(); // no stale total while the new query is in flight
    await next;
    const mean = pageCalls(client, before).find((c) => c.args.filter?.minMean === 0.5 && c.args.offset === 0)!;
    expect(mean.args.filter).toMatchObject({ dead: 'any', minMean: 0.5 });
    expect(store.total).toBe(mean.result!.total);
    expect(store.rowAt(0)).toBe(mean.result!.rows[0]);
    // A temporal bound goes to the core like any other (an image index then has no rows).
    await store.setQuery(ID, query({}, { minAutocorrelation: 0.25 }));
    const temporal = pageCalls(client, before).find((c) => c.args.filter?.minAutocorrelation === 0.25)!;
    expect(temporal.args.filter).toMatchObject({ minAutocorrelation: 0.25, maxAutocorrelation: null });
    expect(store.total).toBe(temporal.result!.total);
  });

  it('keeps at most MAX_IN_FLIGHT page requests out while scrolling fast, and drops pages the viewport left', async () => {
    const g = gate();
    const client = setup({ index: { features: 100_000 }, beforeReply: g.beforeReply });
    const store = useFeatureTableStore();
    await store.setQuery(ID, query({ sort: 'frequency', desc: true }));
    await new Promise((r) => setTimeout(r, 0));
    const before = client.calls.filter((c) => c.method === 'queryFeatures').length;
    g.holdWhen((method) => method === 'queryFeatures');
    // 200 frames of a fling over a host that is slow to answer.
    for (let f = 1; f <= 200; f++) void store.ensureRange(f * 250, f * 250 + 32);
    const sent = () => client.calls.filter((c) => c.method === 'queryFeatures').slice(before);
    expect(sent()).toHaveLength(MAX_IN_FLIGHT);
    expect(g.held).toHaveLength(MAX_IN_FLIGHT);
    const early = (sent()[0]!.args as { offset: number }).offset;
    // The host answers: the early pages are not applied, and the freed slots go to where the
    // viewport is now.
    g.holdWhen(() => false);
    g.held.splice(0).forEach((h) => h.release());
    await store.ensureRange(50_000, 50_032);
    expect(store.rowAt(early)).toBeUndefined();
    expect(store.rowAt(50_000)).toBeDefined();
    expect(sent().length).toBeLessThan(MAX_IN_FLIGHT + 6);
  });

  it('drops answers to a query the user already left (stale-result filtering)', async () => {
    const g = gate();
    setup({ index: { features: 5_000 }, beforeReply: g.beforeReply });
    const store = useFeatureTableStore();
    g.holdWhen((method, args) => method === 'queryFeatures' && (args as { sort: string }).sort === 'mean');
    const slow = store.setQuery(ID, query({ sort: 'mean', desc: true }));
    g.holdWhen(() => false);
    await store.setQuery(ID, query({}, { dead: 'only' }));
    const deadTotal = store.total;
    const firstDead = store.rowAt(0)?.feature;
    g.held.forEach((h) => h.release());
    await slow;
    expect(store.query.filter.dead).toBe('only');
    expect(store.total).toBe(deadTotal);
    expect(store.rowAt(0)?.feature).toBe(firstDead);
    expect(store.rowAt(0)?.count).toBe(0);
  });

  it('keeps cache, selection and scroll when the same query comes back (returning from a feature)', async () => {
    const client = withShared();
    const store = useFeatureTableStore();
    await store.setQuery(ID, query({ sort: 'frequency', desc: true }));
    store.select(42);
    store.scrollTop = 1_176;
    const calls = client.calls.length;
    await store.setQuery(ID, query({ sort: 'frequency', desc: true }));
    expect(client.calls.length).toBe(calls);
    expect(store.selected).toBe(42);
    expect(store.scrollTop).toBe(1_176);
    await store.setQuery(ID, query({ sort: 'frequency', desc: false }));
    expect(store.selected).toBe(0);
  });

  it('steps to neighbours in table order, falling back to index order', async () => {
    withShared();
    const store = useFeatureTableStore();
    await store.setQuery(ID, query({ sort: 'max', desc: true }));
    const third = store.rowAt(2)!.feature;
    const fourth = store.rowAt(3)!.feature;
    expect(await store.neighbour(third, 1, 100_000)).toBe(fourth);
    expect(store.selected).toBe(3);
    expect(await store.neighbour(store.rowAt(0)!.feature, -1, 100_000)).toBeNull();
    // The last row of page 0 steps into page 1, which is fetched on demand.
    const last = store.rowAt(PAGE_SIZE - 1)!.feature;
    const next = await store.neighbour(last, 1, 100_000);
    expect(next).toBe(store.rowAt(PAGE_SIZE)!.feature);
    // A feature not in any loaded page: plain index order, clamped to the SAE.
    await store.setQuery(ID, query({}, { dead: 'only' }));
    const alive = shared.summary.features - 1;
    expect(await store.neighbour(99_998, 1, 100_000)).toBe(alive);
    expect(await store.neighbour(99_999, 1, 100_000)).toBeNull();
  });

  it('keeps the core’s error with its code', async () => {
    withShared();
    const store = useFeatureTableStore();
    await store.setQuery('no-such-index', query());
    expect(store.error?.code).toBe('not-found');
    expect(store.total).toBeNull();
  });
});

describe('feature list query string', () => {
  it('round-trips sort and filters and leaves defaults out of the URL', () => {
    const q = query({ sort: 'max', desc: true }, { dead: 'exclude', minMean: 0.5, maxLogFrequency: -2 });
    const route = listQueryToRoute(q);
    expect(route).toEqual({ sort: 'max', dir: 'desc', dead: 'exclude', minMean: '0.5', maxLogFrequency: '-2' });
    expect(parseListQuery(route as Record<string, string>)).toEqual(q);
    expect(listQueryToRoute(defaultListQuery())).toEqual({});
  });

  it('ignores malformed values', () => {
    const q = parseListQuery({ sort: 'bogus', dead: 'maybe', minMean: 'abc' });
    expect(q).toEqual(defaultListQuery());
  });
});

describe('feature store', () => {
  it('loads the feature asked for and shows the core’s answer as it came, not reactive', async () => {
    // The colour scale (upper), ranks and maps are the core's (the fake only imitates them).
    const client = withShared();
    const store = useFeatureDetailStore();
    const before = client.calls.length;
    await store.load(ID, 6909);
    const call = client.calls.slice(before).find((c) => c.method === 'featureDetail')!;
    expect(call.args).toEqual({ indexId: ID, feature: 6909 });
    expect(store.detail).toBe(call.result);
    expect(store.detail!.exemplars.length).toBeGreaterThan(0);
    expect(isReactive(store.detail)).toBe(false);
  });

  it('shows the feature asked for last even when an earlier answer arrives later', async () => {
    const g = gate();
    setup({ index: { features: 1_000 }, beforeReply: g.beforeReply });
    const store = useFeatureDetailStore();
    g.holdWhen((method, args) => method === 'featureDetail' && (args as { feature: number }).feature === 1);
    const first = store.load(ID, 1);
    g.holdWhen(() => false);
    await store.load(ID, 2);
    g.held.forEach((h) => h.release());
    await first;
    expect(store.detail?.row.feature).toBe(2);
    expect(store.loading).toBe(false);
  });

  it('reports a missing feature as an error with a code', async () => {
    const client = setup({ index: { features: 1_000 } });
    const store = useFeatureDetailStore();
    await store.load(ID, 5_000);
    expect(store.detail).toBeNull();
    // The store passes on the core's code and words as they came (the words are the fake's own).
    const thrown = client.calls.find((c) => c.method === 'featureDetail')?.error as { code: string; message: string };
    expect(thrown).toBeDefined();
    expect(store.error?.code).toBe('not-found');
    expect(store.error?.code).toBe(thrown.code);
    expect(store.error?.message).toBe(thrown.message);
  });
});

describe('jobs store', () => {
  const running = (done: number): JobInfo => ({
    jobId: 'job-a',
    kind: 'index',
    title: 'Index val',
    state: 'running',
    progress: { phase: 'indexing', done, total: 1_000, skipped: 2, itemsPerSec: 120, etaSec: 8 },
    provider: 'cuda',
    out: '/tmp/out',
    error: null,
    startedAt: '2025-05-01T10:00:00.000Z',
  });

  it('merges listJobs() with events without letting the older snapshot win', async () => {
    const g = gate();
    const client = setup({ index: { features: 100 }, beforeReply: g.beforeReply, jobs: [running(100)] });
    const store = useJobsStore();
    g.holdWhen((method) => method === 'listJobs');
    const started = store.start();
    await Promise.resolve();
    // An event arrives while listJobs() is in flight; the snapshot (done=100) is older.
    client.emit({ type: 'job', job: running(600) });
    g.held.forEach((h) => h.release());
    await started;
    expect(store.jobs).toHaveLength(1);
    expect(store.job('job-a')?.progress.done).toBe(600);
    expect(store.active).toHaveLength(1);
    store.stop();
    expect(client.listenerCount()).toBe(0);
  });

  it('starts indexing without covering the form with the panel, and follows cancel through events', async () => {
    const client = setup({ index: { features: 100 } });
    const store = useJobsStore();
    await store.start();
    const job = await store.startIndex({ model: '/m.json', layer: 'blocks.10', sae: '/s.pt', data: '/d', out: '/o' });
    expect(store.panelOpen).toBe(false);
    expect(store.job(job.jobId)?.state).toBe('running');
    await store.cancel(job.jobId);
    expect(store.job(job.jobId)?.state).toBe('cancelled');
    expect(store.active).toHaveLength(0);
    await store.cancel('job-missing');
    expect(store.cancelErrors.get('job-missing')?.code).toBe('not-found');
    expect(client.calls.some((c) => c.method === 'listJobs')).toBe(true);
  });
});

describe('index and app stores', () => {
  it('opens an index by path and explains a wrong path', async () => {
    const client = setup({ index: { features: 2_000 } });
    const index = useIndexStore();
    expect(await index.openPath('/nowhere')).toBeNull();
    expect(index.summaryError?.code).toBe('not-found');
    const summary = await index.openPath(client.summary.path + '/');
    expect(summary?.id).toBe(ID);
    expect(index.summaryError).toBeNull();
    await index.loadScatter(ID);
    expect(index.scatter?.logFrequency).toHaveLength(2_000);
    await index.loadSkipped(ID);
    expect(index.skipped?.length).toBe(client.summary.skipped);
  });

  it('keeps a scatter that arrives before its index summary (the view asks for both at once)', async () => {
    setup({ index: { features: 2_000 } });
    const index = useIndexStore();
    await index.loadScatter(ID);
    await index.ensure(ID);
    expect(index.scatter?.logFrequency).toBeInstanceOf(Float32Array);
    expect(index.scatter?.logFrequency).toHaveLength(2_000);
  });

  it('ensure() loads a summary for a route entered directly, once', async () => {
    const client = setup({ index: { features: 2_000 } });
    const index = useIndexStore();
    await index.ensure(ID);
    await index.ensure(ID);
    expect(client.calls.filter((c) => c.method === 'indexSummary')).toHaveLength(1);
    expect(index.summary?.name).toBe('CLIP-24K');
  });

  it('app info is fetched once and carries startIndexId', async () => {
    const client = setup({ index: { features: 10 }, startIndexId: ID });
    const app = useAppStore();
    const [a, b] = await Promise.all([app.load(), app.load()]);
    expect(a).toBe(b);
    expect(a?.startIndexId).toBe(ID);
    expect(client.calls.filter((c) => c.method === 'appInfo')).toHaveLength(1);
  });
});
