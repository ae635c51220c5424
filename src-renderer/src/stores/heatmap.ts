import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import { DEFAULT_HEATMAP, HEATMAP_MODES, type HeatmapMode, type HeatmapSettings } from '../lib/patchOverlay';
import { settingsStorage } from '../lib/settingsStorage';

// How patch maps are drawn, shared by the feature, match, query and flicker views so one choice
// applies everywhere, and remembered per user (the settings storage) across reloads and restarts.

export const HEATMAP_KEY = 'feature-studio.heatmap';

/** Reads remembered settings, keeping only valid fields (a damaged entry falls back to defaults). */
export function readHeatmapSettings(raw: string | null): HeatmapSettings {
  const out: HeatmapSettings = { ...DEFAULT_HEATMAP };
  if (!raw) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return out;
  }
  if (!parsed || typeof parsed !== 'object') return out;
  const p = parsed as Record<string, unknown>;
  if (HEATMAP_MODES.includes(p.mode as HeatmapMode)) out.mode = p.mode as HeatmapMode;
  if (typeof p.threshold === 'number' && p.threshold >= 0 && p.threshold <= 1) out.threshold = p.threshold;
  if (typeof p.opacity === 'number' && p.opacity >= 0 && p.opacity <= 1) out.opacity = p.opacity;
  return out;
}

export const useHeatmapStore = defineStore('heatmap', () => {
  const initial = readHeatmapSettings(safeGet());
  const mode = ref<HeatmapMode>(initial.mode);
  const threshold = ref(initial.threshold);
  const opacity = ref(initial.opacity);

  /** One object per change, so views can pass it down and watch it by identity. */
  const settings = computed<HeatmapSettings>(() => ({ mode: mode.value, threshold: threshold.value, opacity: opacity.value }));
  function reset(): void {
    mode.value = DEFAULT_HEATMAP.mode;
    threshold.value = DEFAULT_HEATMAP.threshold;
    opacity.value = DEFAULT_HEATMAP.opacity;
  }
  watch([mode, threshold, opacity], () => {
    try {
      settingsStorage()?.setItem(HEATMAP_KEY, JSON.stringify(settings.value));
    } catch {
      // Storage full or refused: the choice still applies for this session.
    }
  }, { flush: 'sync' });

  return { mode, threshold, opacity, settings, reset };
});

function safeGet(): string | null {
  try {
    return settingsStorage()?.getItem(HEATMAP_KEY) ?? null;
  } catch {
    return null;
  }
}
