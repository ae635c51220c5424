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
    const lastRun = () => client.calls.filter((c) => c.method === 'interveneRun').at(-1)!;
    expect(lastRun().args).toEqual({ sessionId: iv.session!.sessionId, edits: [], patches: null });
    expect(iv.result).toBe(lastRun().result);
    // All patches selected → patches null; a feature starts at ×0 (suppressed).
    expect(iv.addFeature(12)).toBe(true);
    expect(iv.addFeature(12)).toBe(false);
    await settle();
    expect(lastRun().args).toEqual({ sessionId: iv.session!.sessionId, edits: [{ feature: 12, multiple: 0 }], patches: null });
    // The max it labels activations with is the one the answer reported (the fake's number).
    const answered = lastRun().result as { edits: { feature: number; max: number }[] };
    expect(iv.result).toBe(answered);
    expect(iv.maxOf[12]).toBe(answered.edits[0]!.max);
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
    const run = client.calls.filter((c) => c.method === 'interveneRun').at(-1)!;
    expect(run.args).toEqual({ sessionId: iv.session!.sessionId, edits: [{ feature: 3, multiple: 0 }, { feature: 4, multiple: 0 }], patches: [1, 2] });
    expect(iv.result).toBe(run.result);
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
