import type { FeatureCategory } from '@contract';
import { FEATURE_CATEGORIES } from '@contract';

export { FEATURE_CATEGORIES };

export const CATEGORY_LABELS: Record<FeatureCategory, string> = { scene: 'Scene', action: 'Action', object: 'Object' };

/** Keys 1, 2, 3 toggle scene, action, object (the order the video-SAE paper lists them). */
export const CATEGORY_KEYS: Record<string, FeatureCategory> = { '1': 'scene', '2': 'action', '3': 'object' };

export function categoryKey(c: FeatureCategory): string {
  return String(FEATURE_CATEGORIES.indexOf(c) + 1);
}
