// The flicker store against the fake client: a relative clip is an item of the dataset and an
// absolute one a path; a second SAE gets its own pane; a feature brings its maps, trace and the
// other SAE's closest features; stepping wraps around the clip.
import { describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { createFakeStudioClient } from '../helpers/fakeStudioClient';
import { bindStoreClient } from '../../src-renderer/src/api/storeClient';
import { clipSourceOf, useFlickerStore } from '../../src-renderer/src/stores/flicker';

function setup() {
  const client = createFakeStudioClient({ index: { features: 2000, grid: [4, 4] } });
  const pinia = createPinia();
  setActivePinia(pinia);
  bindStoreClient(pinia, client);
  return client;
}

describe('flicker store', () => {
  it('tells dataset items from paths', () => {
    expect(clipSourceOf('walk/clip_01.mp4')).toEqual({ item: 'walk/clip_01.mp4' });
    expect(clipSourceOf('/videos/a.webm')).toEqual({ path: '/videos/a.webm' });
    expect(clipSourceOf('C:\\videos\\a.webm')).toEqual({ path: 'C:\\videos\\a.webm' });
  });

  it('opens a clip with two SAEs, shows features on both and steps frames', async () => {
    const client = setup();
    const f = useFlickerStore();
    const summaryId = (await client.appInfo()).recent[0]!.id;
    expect(await f.open(summaryId, { item: 'walk/a.mp4' }, 'dino-32k')).toBe(true);
    expect(client.calls.find((c) => c.method === 'openClip')!.args).toMatchObject({ indexId: summaryId, item: 'walk/a.mp4', otherIndexId: 'dino-32k' });
    expect(Object.keys(f.panes)).toEqual([summaryId, 'dino-32k']);
    await f.setFeature(summaryId, 5, null);
    const pane = f.panes[summaryId]!;
    const clipId = f.clip!.clipId;
    // What the pane shows is what the client answered to what the store asked (the numbers are the fake's).
    const asked = (method: string) => client.calls.filter((c) => c.method === method).at(-1)!;
    expect(asked('flickerFeature').args).toEqual({ clipId, indexId: summaryId, feature: 5 });
    expect(pane.data).toEqual(asked('flickerFeature').result);
    expect(pane.data?.maps).toHaveLength(f.clip!.frames);
    expect(asked('closestFeatures').args).toEqual({ clipId, indexId: summaryId, feature: 5, otherIndexId: 'dino-32k', limit: 5, maxFeature: null });
    expect(pane.closest.length).toBeGreaterThan(0);
    expect(pane.closest).toEqual(asked('closestFeatures').result);
    // Closest features restricted to a group level of the other SAE: the store asks for it.
    await f.refreshClosest(summaryId, 10);
    expect(asked('closestFeatures').args).toMatchObject({ clipId, indexId: summaryId, feature: 5, otherIndexId: 'dino-32k', maxFeature: 10 });
    expect(f.panes[summaryId]!.closest).toEqual(asked('closestFeatures').result);
    expect(f.panes[summaryId]!.closest).not.toEqual(pane.closest);
    // Opening the same clip again is a no-op; stepping wraps.
    const opens = client.calls.filter((c) => c.method === 'openClip').length;
    await f.open(summaryId, { item: 'walk/a.mp4' }, 'dino-32k');
    expect(client.calls.filter((c) => c.method === 'openClip')).toHaveLength(opens);
    f.step(-1);
    expect(f.frame).toBe(f.clip!.frames - 1);
    f.step(1);
    expect(f.frame).toBe(0);
    f.seek(99);
    expect(f.frame).toBe(f.clip!.frames - 1);
  });
  it('a second SAE that cannot be opened leaves the clip on screen with the error (issue 16)', async () => {
    const client = setup();
    const f = useFlickerStore();
    const summaryId = (await client.appInfo()).recent[0]!.id;
    expect(await f.open(summaryId, { item: 'walk/a.mp4' }, null)).toBe(true);
    const clipId = f.clip!.clipId;
    (client as unknown as { openClip: () => Promise<never> }).openClip = () =>
      Promise.reject(Object.assign(new Error('another layer'), { code: 'bad-input' }));
    expect(await f.open(summaryId, { item: 'walk/a.mp4' }, 'elsewhere')).toBe(false);
    expect(f.error?.message).toMatch(/another layer/);
    expect(f.clip?.clipId).toBe(clipId);
    expect(Object.keys(f.panes)).toEqual([summaryId]);
    // Another clip failing is a real failure: nothing stale stays on screen.
    expect(await f.open(summaryId, { item: 'walk/b.mp4' }, null)).toBe(false);
    expect(f.clip).toBeNull();
  });
});
