import type { FeatureCategory } from '../../contract/index.js';

/**
 * Why a category cannot be given on this kind of index, or null. "action" (the video-SAE paper's
 * category for features that follow motion) needs time: a single image cannot show it, so on an
 * image index it is refused with the categories that can be judged there. Kept apart from the tag
 * service so the rule is one small function every writer (edit, import) can ask.
 */
export function categoryProblem(kind: 'images' | 'videos', category: FeatureCategory | null | undefined): string | null {
  if (category === 'action' && kind === 'images') {
    return '"action" needs time: it is judged on clips, and this index holds still images. Choose scene or object here, or tag the feature on a video index of the same SAE.';
  }
  return null;
}
