import { afterEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { HEATMAP_KEY, readHeatmapSettings, useHeatmapStore } from '../../src-renderer/src/stores/heatmap';
import { memorySettingsStorage, setSettingsStorage } from '../../src-renderer/src/lib/settingsStorage';

// One heatmap setting for every view, remembered per user through the injected settings storage.

afterEach(() => setSettingsStorage(undefined));

describe('heatmap settings store', () => {
  it('starts image-first, and a choice survives a new app (a reload) with the same storage', () => {
    const storage = memorySettingsStorage();
    setSettingsStorage(storage);
    setActivePinia(createPinia());
    const first = useHeatmapStore();
    expect(first.settings).toEqual({ mode: 'image-first', threshold: 0, opacity: 1 });
    first.mode = 'outline';
    first.threshold = 0.4;
    expect(JSON.parse(storage.entries.get(HEATMAP_KEY)!)).toEqual({ mode: 'outline', threshold: 0.4, opacity: 1 });

    setActivePinia(createPinia());
    const again = useHeatmapStore();
    expect(again.mode).toBe('outline');
    expect(again.threshold).toBe(0.4);
    again.reset();
    expect(readHeatmapSettings(storage.getItem(HEATMAP_KEY))).toEqual({ mode: 'image-first', threshold: 0, opacity: 1 });
  });

  it('ignores damaged entries field by field and works without storage', () => {
    expect(readHeatmapSettings('{not json')).toEqual({ mode: 'image-first', threshold: 0, opacity: 1 });
    expect(readHeatmapSettings(JSON.stringify({ mode: 'purple', threshold: 3, opacity: 0.5 }))).toEqual({ mode: 'image-first', threshold: 0, opacity: 0.5 });
    setSettingsStorage(null);
    setActivePinia(createPinia());
    const s = useHeatmapStore();
    s.mode = 'solid';
    expect(s.settings.mode).toBe('solid');
  });
});
