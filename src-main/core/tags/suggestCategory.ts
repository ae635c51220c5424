// The suggested category rule (documented in README.md, "Suggested categories"). It reads only
// what the index holds about a feature's exemplars, and it is a hint: the UI shows it with its
// reasons and never applies it.
//
//   spread = mean over exemplars of the fraction of patches whose activation exceeds 10% of the
//            feature's colour scale (its largest exemplar patch value).
//   1. fewer than 3 exemplars                      → no suggestion
//   2. temporal statistics exist, spread < 0.5 and the switch rate is ≥ 0.5
//      (active patches move between consecutive frames)             → action
//   3. spread ≥ 0.5 (fires over most of the frame)                   → scene
//   4. spread ≤ 0.2 (compact blobs)                                  → object
//   5. otherwise                                                     → no suggestion
// Label coverage (distinct classes among exemplars, share of the most common one) is reported as
// a reason: a frame-wide feature from one class reads as that class's scene; a compact feature
// spread over many classes reads as an object that occurs in many scenes.
import type { CategorySuggestion, Exemplar, FeatureCategory } from '../../contract/index.js';

const SCENE_SPREAD = 0.5;
const OBJECT_SPREAD = 0.2;
const ACTIVE_FRACTION_OF_UPPER = 0.1;
const MIN_EXEMPLARS = 3;
const ACTION_SWITCH_RATE = 0.5;

type MapValues = ArrayLike<number> & Iterable<number>;

export interface SuggestionInput {
  feature: number;
  /** Each exemplar's patch map (any array of numbers: a decoded Float32Array serves) and label. */
  exemplars: { patchMap: MapValues; label: Exemplar['label'] }[];
  /** The feature's colour scale (max over its exemplars' patch values). */
  upper: number;
  /** Video statistics, when the index has them. */
  temporal?: { switchRate: number } | null;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

export function patchSpread(exemplars: { patchMap: MapValues }[], upper: number): number | null {
  if (exemplars.length === 0 || upper <= 0) return null;
  const cut = ACTIVE_FRACTION_OF_UPPER * upper;
  let sum = 0;
  for (const e of exemplars) {
    const n = e.patchMap.length;
    let active = 0;
    for (const v of e.patchMap) if (v > cut) active++;
    sum += n > 0 ? active / n : 0;
  }
  return sum / exemplars.length;
}

export function suggestCategory(input: SuggestionInput): CategorySuggestion {
  const { feature, exemplars, upper } = input;
  const spread = patchSpread(exemplars, upper);
  const counts = new Map<string, number>();
  let labelled = 0;
  for (const e of exemplars) {
    if (e.label === null) continue;
    labelled++;
    counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
  }
  const top = [...counts].sort((a, b) => b[1] - a[1])[0];
  const labelClasses = counts.size;
  const topLabelShare = labelled > 0 && top ? top[1] / labelled : null;
  const reasons: string[] = [];
  const result = (category: FeatureCategory | null, confidence: number): CategorySuggestion => ({
    feature,
    category,
    confidence: Math.max(0, Math.min(1, confidence)),
    reasons,
    spread,
    labelClasses,
    topLabelShare,
  });

  if (exemplars.length < MIN_EXEMPLARS || spread === null) {
    reasons.push(`Only ${exemplars.length} exemplar${exemplars.length === 1 ? '' : 's'}: too few to judge (needs ${MIN_EXEMPLARS}).`);
    return result(null, 0);
  }
  reasons.push(`Active on ${pct(spread)} of patches per exemplar on average (above 10% of its scale).`);
  if (top && topLabelShare !== null) {
    reasons.push(
      labelClasses === 1
        ? `All labelled exemplars come from one class (${top[0]}).`
        : `Exemplars span ${labelClasses} classes; the most common (${top[0]}) holds ${pct(topLabelShare)}.`,
    );
  }

  if (input.temporal && spread < SCENE_SPREAD && input.temporal.switchRate >= ACTION_SWITCH_RATE) {
    reasons.push(`Its active patches change between consecutive frames (switch rate ${pct(input.temporal.switchRate)}): something moving.`);
    return result('action', (input.temporal.switchRate - ACTION_SWITCH_RATE) / 0.3 + 0.3);
  }
  if (!input.temporal) reasons.push('No temporal statistics in this index, so action is never suggested.');

  if (spread >= SCENE_SPREAD) {
    reasons.push(`Spread ≥ ${pct(SCENE_SPREAD)}: it fires across the frame, like a scene or background.`);
    if (labelClasses === 1) reasons.push('One class only: a scene type of this dataset.');
    return result('scene', (spread - SCENE_SPREAD) / 0.3 + 0.4);
  }
  if (spread <= OBJECT_SPREAD) {
    reasons.push(`Spread ≤ ${pct(OBJECT_SPREAD)}: compact blobs, like a thing in the frame.`);
    if (labelClasses >= 3) reasons.push('Many classes: an object that turns up in many scenes.');
    return result('object', (OBJECT_SPREAD - spread) / 0.15 + 0.4);
  }
  reasons.push(`Spread between ${pct(OBJECT_SPREAD)} and ${pct(SCENE_SPREAD)}: neither frame-wide nor compact, so no suggestion.`);
  return result(null, 0);
}
