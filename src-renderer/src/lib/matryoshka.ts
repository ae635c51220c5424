/**
 * Matryoshka SAEs train nested prefixes of the dictionary: `groups` are cumulative widths, so
 * group g holds features [groups[g-1], groups[g]). Earlier groups carry coarser, more general
 * features; the UI names a feature's group so that nesting stays visible.
 */
export interface FeatureGroup {
  /** 0-based group number. */
  group: number;
  count: number;
  start: number;
  /** Exclusive. */
  end: number;
}

export function matryoshkaGroups(groups: readonly number[] | null | undefined): FeatureGroup[] {
  if (!groups || groups.length === 0) return [];
  return groups.map((end, g) => ({ group: g, count: groups.length, start: g === 0 ? 0 : groups[g - 1]!, end }));
}

export function groupOf(feature: number, groups: readonly number[] | null | undefined): FeatureGroup | null {
  return matryoshkaGroups(groups).find((g) => feature >= g.start && feature < g.end) ?? null;
}
