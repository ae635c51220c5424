/** Size of the table's distribution sparkline, in CSS pixels. */
export const SPARKLINE_WIDTH = 96;
export const SPARKLINE_HEIGHT = 18;

// Rows are frozen and their histogram arrays never change, so each histogram's path is built
// once however often the row scrolls back into view (the table re-mounted a sparkline
// component and rebuilt its path for every row entering the screen).
const cache = new WeakMap<readonly number[], string>();

/**
 * One SVG path for all bars of a histogram. Heights use sqrt so the tails of a heavy-headed
 * distribution stay visible at this size. Empty or all-zero histograms give an empty path.
 */
export function sparklinePath(counts: readonly number[]): string {
  let d = cache.get(counts);
  if (d !== undefined) return d;
  const width = SPARKLINE_WIDTH;
  const height = SPARKLINE_HEIGHT;
  d = '';
  let max = 0;
  for (const c of counts) if (c > max) max = c;
  if (max > 0) {
    const w = width / counts.length;
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i]!;
      if (c <= 0) continue;
      const h = Math.max(1, Math.sqrt(c / max) * height);
      d += `M${(i * w).toFixed(2)} ${height}v${(-h).toFixed(2)}h${Math.max(0.6, w - 0.6).toFixed(2)}v${h.toFixed(2)}z`;
    }
  }
  cache.set(counts, d);
  return d;
}
