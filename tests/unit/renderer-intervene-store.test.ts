// The intervention store against the fake client: opening needs a head and an image, all patches
// are selected by default (or the query view's), features start suppressed, and while a run is in
// flight slider moves only mark the state dirty: one more run goes out with the latest values.
import { describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { createFakeStudioClient, type FakeClientOptions } from '../helpers/fakeStudioClient';
import { bindStoreClient } from '../../src-renderer/src/api/storeClient';
import { useInterveneStore } from '../../src-renderer/src/stores/intervene';

function setup(options: FakeClientOptions = {}) {
  const client = createFakeStudioClient({ index: { features: 2000, grid: [4, 4] }, ...options });
  const pinia = createPinia();
  setActivePinia(pinia);
  bindStoreClient(pinia, client);
  return client;
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('intervene store', () => {
  it('opens once both head and image are given, selects every patch, and runs', async () => {
    const client = setup();
    const iv = useInterveneStore();
    iv.useIndex('clip-24k');
    await iv.setImage({ path: '/img/a.png' });
    expect(client.calls.some((c) => c.method === 'interveneOpen')).toBe(false);
    await iv.setHead('/heads/seg');
    expect(iv.session?.head.task).toBe('segmentation');
    expect(iv.selected.size).toBe(16);
    await settle();
    expect(iv.result?.task).toBe('segmentation');
    expect(iv.result?.changedPatches).toEqual([]);
    // All patches selected → patches null; a feature starts at ×0 (suppressed).
    expect(iv.addFeature(12)).toBe(true);
    expect(iv.addFeature(12)).toBe(false);
    await settle();
    const run = client.calls.filter((c) => c.method === 'interveneRun').at(-1)!.args as { edits: unknown[]; patches: unknown };
    expect(run).toMatchObject({ edits: [{ feature: 12, multiple: 0 }], patches: null });
    expect(iv.maxOf[12]).toBe(2 + (12 % 5));
  });

  it('takes the query view\'s patches and features', async () => {
    const client = setup();
    const iv = useInterveneStore();
    iv.useIndex('clip-24k');
    iv.preset({ features: [3, 4, 3], patches: [1, 2, 99] });
    await iv.setHead('/heads/cls');
    await iv.setImage({ data: 'AAAA', name: 'x.png' });
    await settle();
    expect([...iv.selected]).toEqual([1, 2]);
    expect(iv.features.map((f) => f.feature)).toEqual([3, 4]);
    const run = client.calls.filter((c) => c.method === 'interveneRun').at(-1)!.args as { patches: number[] };
    expect(run.patches).toEqual([1, 2]);
    expect(iv.result?.task).toBe('classification');
    expect(iv.result?.changedClasses.length).toBeGreaterThan(0);
  });

  it('while a run is in flight, slider moves coalesce into one more run with the latest value', async () => {
    const holds: (() => void)[] = [];
    const client = setup({
      beforeReply: (method) => {
        if (method === 'interveneRun') return new Promise<void>((r) => holds.push(r));
      },
    });
    const iv = useInterveneStore();
    iv.useIndex('clip-24k');
    iv.preset({ features: [7] });
    await iv.setHead('/heads/seg');
    await iv.setImage({ path: '/img/a.png' });
    expect(holds).toHaveLength(1);
    for (const m of [0.5, 1, 1.5, 2, 2.5]) iv.setMultiple(7, m);
    expect(client.calls.filter((c) => c.method === 'interveneRun')).toHaveLength(1);
    holds.shift()!();
    await settle();
    const runs = client.calls.filter((c) => c.method === 'interveneRun');
    expect(runs).toHaveLength(2);
    expect((runs[1]!.args as { edits: { multiple: number }[] }).edits[0]!.multiple).toBe(2.5);
    holds.shift()!();
    await settle();
    expect(iv.running).toBe(false);
    expect(iv.result?.edits[0]?.multiple).toBe(2.5);
    iv.setMultiple(7, 9);
    expect(iv.features[0]!.multiple).toBe(3);
  });
});
