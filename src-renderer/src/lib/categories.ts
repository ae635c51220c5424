import type { FeatureCategory } from '@contract';
import { FEATURE_CATEGORIES } from '@contract';

export { FEATURE_CATEGORIES };

export const CATEGORY_LABELS: Record<FeatureCategory, string> = { scene: 'Scene', action: 'Action', object: 'Object' };

/** Keys 1, 2, 3 toggle scene, action, object (the order the video-SAE paper lists them). */
export const CATEGORY_KEYS: Record<string, FeatureCategory> = { '1': 'scene', '2': 'action', '3': 'object' };

export function categoryKey(c: FeatureCategory): string {
  return String(FEATURE_CATEGORIES.indexOf(c) + 1);
}

/**
 * Why `category` cannot be given to a feature of an index of this kind, or null. Mirrors the
 * core's rule (core/tags/categoryRules.ts) so chips, the bulk bar and the 1/2/3 keys all say why
 * up front instead of sending an edit the core refuses. A feature that already carries "action"
 * (tagged before the rule) may still have it cleared: pass its current category.
 */
export function categoryUnavailable(
  category: FeatureCategory,
  indexKind: 'images' | 'videos' | undefined,
  current: FeatureCategory | null = null,
): string | null {
  if (category === 'action' && indexKind === 'images' && current !== 'action') {
    return 'Action needs time: it is judged on clips, and this index holds still images. Choose scene or object, or tag the feature on a video index of the same SAE.';
  }
  return null;
}
