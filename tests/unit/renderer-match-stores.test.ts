// The match and query stores against the fake client: selection loads both grids, lists page,
// the query runs on both models with the selection mapped, and stale answers are dropped.
import { describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { createFakeStudioClient, type FakeClientOptions } from '../helpers/fakeStudioClient';
import { bindStoreClient } from '../../src-renderer/src/api/storeClient';
import { useMatchStore } from '../../src-renderer/src/stores/match';
import { useQueryStore } from '../../src-renderer/src/stores/query';

function setup(options: FakeClientOptions = {}) {
  const client = createFakeStudioClient({ index: { features: 2000 }, ...options });
  const pinia = createPinia();
  setActivePinia(pinia);
  bindStoreClient(pinia, client);
  return client;
}

describe('match store', () => {
  it('opens the other index, runs the match, selects a feature with both grids and the pair', async () => {
    const client = setup();
    const match = useMatchStore();
    await match.openOther('clip-24k', '/data/indexes/dinov2-b14-imagenet-val');
    expect(match.other?.id).toBe('dino-32k');
    expect(match.summary).toBeNull();
    const last = (method: string) => client.calls.filter((c) => c.method === method).at(-1)!;
    await match.run('clip-24k');
    expect(last('matchIndexes').args).toEqual({ indexId: 'clip-24k', otherId: 'dino-32k' });
    expect(match.summary).toEqual(last('matchIndexes').result);
    await match.select('clip-24k', 'a', 74, null);
    expect(last('featureMatches').args).toEqual({ indexId: 'clip-24k', otherId: 'dino-32k', feature: 74, limit: 20 });
    expect(match.matches).toEqual(last('featureMatches').result);
    expect(match.matches?.matches.length).toBeGreaterThan(0);
    expect(match.detailA?.row.feature).toBe(74);
    expect(match.detailA?.indexId).toBe('clip-24k');
    expect(match.detailB?.row.feature).toBe(match.matches!.matches[0]!.other);
    expect(match.detailB?.indexId).toBe('dino-32k');
    // Side b: the feature is the other index's, the partner this index's.
    await match.select('clip-24k', 'b', 5, 9);
    expect(match.detailB?.row.feature).toBe(5);
    expect(match.detailA?.row.feature).toBe(9);
    await match.loadList('clip-24k', 'mutual', 'score', true, 0.3);
    expect(last('matchList').args).toMatchObject({ indexId: 'clip-24k', otherId: 'dino-32k', kind: 'mutual', sort: 'score', desc: true, threshold: 0.3, offset: 0 });
    expect(match.list).toEqual(last('matchList').result);
    expect(client.calls.some((c) => c.method === 'matchPair')).toBe(true);
  });

  it('drops the answer to an older selection', async () => {
    let hold: (() => void) | null = null;
    setup({
      beforeReply: (method, args) => {
        if (method === 'featureMatches' && (args as { feature: number }).feature === 1) return new Promise<void>((r) => (hold = r));
      },
    });
    const match = useMatchStore();
    await match.openOther('clip-24k', '/data/indexes/dinov2-b14-imagenet-val');
    await match.run('clip-24k');
    const slow = match.select('clip-24k', 'a', 1, null);
    await match.select('clip-24k', 'a', 2, null);
    hold!();
    await slow;
    expect(match.matches?.feature).toBe(2);
    expect(match.detailA?.row.feature).toBe(2);
  });
});

describe('query store', () => {
  it('loads an image for two models and queries both with the selection mapped', async () => {
    const client = setup();
    const query = useQueryStore();
    await query.load({ path: '/photos/beach.jpg' }, ['clip-24k', 'dino-32k']);
    expect(query.image?.views).toHaveLength(2);
    query.setSelection(new Set([0, 1, 14]));
    await query.runQuery();
    expect(Object.keys(query.results).sort()).toEqual(['clip-24k', 'dino-32k']);
    const calls = client.calls.filter((c) => c.method === 'queryPatches').map((c) => c.args as { indexId: string; patches: [number, number][]; weights?: number[] });
    const first = calls.find((c) => c.indexId === 'clip-24k')!;
    expect(first.patches).toEqual([[0, 0], [0, 1], [1, 0]]);
    const second = calls.find((c) => c.indexId === 'dino-32k')!;
    expect(second.weights?.length).toBe(second.patches.length);
    query.setSelection(new Set());
    await query.runQuery();
    expect(query.results).toEqual({});
  });
});
