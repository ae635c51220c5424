import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import type { FeaturePage, FeatureQuery, FeatureTags, TagEdit } from '../../src-main/contract/index.js';
import { createFakeStudioClient, type FakeStudioClient } from '../helpers/fakeStudioClient';
import { bindStoreClient } from '../../src-renderer/src/api/storeClient';
import { useTagsStore } from '../../src-renderer/src/stores/tags';
import { useFeatureTableStore } from '../../src-renderer/src/stores/featureTable';
import { defaultListQuery, listQueryToRoute, parseListQuery } from '../../src-renderer/src/lib/featureQueryParams';

// The renderer's tags store: edits go to the client, undo/redo restore "before" snapshots (one
// entry per key press, bulk edit or import), the table rows follow.

const ID = 'clip-24k';
let client: FakeStudioClient;

beforeEach(() => {
  client = createFakeStudioClient({ index: { features: 500, items: 1000 } });
  const pinia = createPinia();
  setActivePinia(pinia);
  bindStoreClient(pinia, client);
});

describe('tags store', () => {
  it('undoes and redoes single and bulk edits, in order, by putting back the records each answer said were there before', async () => {
    // What the store must do is send the right records back; how the tags merge is the core's
    // business (tags-storage.test.ts), which the fake only imitates.
    const tags = useTagsStore();
    const calls = (method: string) => client.calls.filter((c) => c.method === method);
    await tags.edit({ indexId: ID, features: [4], category: 'scene' }, 'scene on #4');
    await tags.edit({ indexId: ID, features: [4], addTags: ['sky'] }, 'tag sky on #4');
    const bulk: TagEdit = { indexId: ID, features: [1, 2, 3], category: 'object', reviewed: true };
    await tags.edit(bulk, 'object on 3 features');
    const edits = calls('editTags') as { args: unknown; result?: { records: FeatureTags[]; before: FeatureTags[] } }[];
    expect(edits.map((c) => c.args)).toEqual([
      { indexId: ID, features: [4], category: 'scene' },
      { indexId: ID, features: [4], addTags: ['sky'] },
      bulk,
    ]);
    // The store shows the records the answer returned.
    for (const r of edits[2]!.result!.records) expect(tags.recordOf(ID, r.feature)).toEqual(r);
    expect(tags.undoStack.map((e) => e.label)).toEqual(['scene on #4', 'tag sky on #4', 'object on 3 features']);

    // Undo: the records from before the last edit go back, then those from before the one before.
    await tags.undo();
    const restores = () => calls('restoreTags') as { args: { indexId: string; records: FeatureTags[] }; result?: { records: FeatureTags[]; before: FeatureTags[] } }[];
    expect(restores()[0]!.args).toEqual({ indexId: ID, records: edits[2]!.result!.before });
    expect(tags.lastAction).toBe('Undone: object on 3 features');
    await tags.undo();
    expect(restores()[1]!.args).toEqual({ indexId: ID, records: edits[1]!.result!.before });
    for (const r of restores()[1]!.result!.records) expect(tags.recordOf(ID, r.feature)).toEqual(r);
    // Redo puts back what the undo replaced (its answer's before).
    await tags.redo();
    expect(restores()[2]!.args).toEqual({ indexId: ID, records: restores()[1]!.result!.before });
    expect(tags.lastAction).toBe('Redone: tag sky on #4');
    // A new edit clears redo.
    await tags.edit({ indexId: ID, features: [5], category: 'action' }, 'action on #5');
    expect(tags.redoStack).toHaveLength(0);
    expect(await tags.redo()).toBe(false);
    expect(restores()).toHaveLength(3);
  });

  it('deletes a note by replacing the record, and undo brings it back', async () => {
    const tags = useTagsStore();
    await tags.edit({ indexId: ID, features: [9], note: 'first' }, 'note');
    await tags.edit({ indexId: ID, features: [9], note: 'second' }, 'note');
    const r = tags.recordOf(ID, 9)!;
    await tags.put(ID, [{ ...r, notes: r.notes.filter((n) => n.text !== 'first') }], 'note deleted');
    expect((await client.featureTags({ indexId: ID, feature: 9 })).notes.map((n) => n.text)).toEqual(['second']);
    await tags.undo();
    expect((await client.featureTags({ indexId: ID, feature: 9 })).notes.map((n) => n.text)).toEqual(['first', 'second']);
  });

  it('refreshes the table rows after a change, keeping the query', async () => {
    const features = useFeatureTableStore();
    const tags = useTagsStore();
    const q = { ...defaultListQuery(), filter: { ...defaultListQuery().filter, category: 'object' as const } };
    await features.setQuery(ID, q);
    const pages = () => client.calls.filter((c) => c.method === 'queryFeatures') as { args: FeatureQuery; result?: FeaturePage }[];
    const before = pages().length;
    await tags.edit({ indexId: ID, features: [7], category: 'object' }, 'object on #7');
    // The store asks again for the page on screen, same query, and shows that answer.
    await expect.poll(() => pages().length).toBeGreaterThan(before);
    const again = pages()[before]!;
    expect(again.args).toEqual({ ...pages()[before - 1]!.args, offset: 0 });
    expect(again.args.filter).toMatchObject({ category: 'object' });
    await expect.poll(() => again.result).toBeDefined();
    await expect.poll(() => features.total).toBe(again.result!.total);
    expect(features.rowAt(0)).toBe(again.result!.rows[0]);
    const beforeUndo = pages().length;
    await tags.undo();
    await expect.poll(() => pages().length).toBeGreaterThan(beforeUndo);
    const afterUndo = pages()[beforeUndo]!;
    expect(afterUndo.args).toEqual(again.args);
    await expect.poll(() => afterUndo.result).toBeDefined();
    await expect.poll(() => features.total).toBe(afterUndo.result!.total);
  });

  it('keeps category, tag and reviewed filters in the URL', () => {
    const q = parseListQuery({ category: 'scene', tag: 'sky', reviewed: 'exclude', sort: 'category' });
    expect(q.filter).toMatchObject({ category: 'scene', tag: 'sky', reviewed: 'exclude' });
    expect(q.sort).toBe('category');
    expect(listQueryToRoute(q)).toMatchObject({ category: 'scene', tag: 'sky', reviewed: 'exclude', sort: 'category' });
    expect(parseListQuery({ category: 'animal' }).filter.category).toBeNull();
  });

  it('ticks ranges of rows for bulk tagging', async () => {
    const features = useFeatureTableStore();
    await features.setQuery(ID, defaultListQuery());
    features.toggleChecked(3, 3);
    features.checkRange(6);
    expect([...features.checked].sort((a, b) => a - b)).toEqual([3, 4, 5, 6]);
    features.toggleChecked(5, 5);
    expect(features.checked.has(5)).toBe(false);
    features.clearChecked();
    expect(features.checked.size).toBe(0);
  });
});

describe('splitTagFile', () => {
  it('splits large CSV between records only, repeating the header', async () => {
    const { splitTagFile } = await import('../../src-renderer/src/stores/tags');
    const rows = Array.from({ length: 50 }, (_, i) => `${i},scene,a;b,"note with, comma and\nnewline ""quoted"""`);
    const text = `feature,category,tags,note\n${rows.join('\n')}\n`;
    const parts = splitTagFile('csv', text, 400);
    expect(parts.length).toBeGreaterThan(3);
    for (const p of parts) expect(p.startsWith('feature,category,tags,note\n')).toBe(true);
    expect(parts.map((p) => p.slice('feature,category,tags,note\n'.length)).join('')).toBe(text.slice('feature,category,tags,note\n'.length));
  });

  it('splits large JSON keeping the SAE identity', async () => {
    const { splitTagFile } = await import('../../src-renderer/src/stores/tags');
    const features = Array.from({ length: 40 }, (_, i) => ({ feature: i, category: 'object', tags: ['x'], notes: [], reviewed: false }));
    const parts = splitTagFile('json', JSON.stringify({ sae: { hash: 'h' }, features }), 500);
    expect(parts.length).toBeGreaterThan(3);
    const back = parts.map((p) => JSON.parse(p));
    expect(back.every((b) => b.sae.hash === 'h')).toBe(true);
    expect(back.flatMap((b) => b.features)).toEqual(features);
  });
});
