import type { ScatterData } from '@contract';

/** log10(0 + 1e-10): what the core reports for a feature that never fired. */
const DEAD_LOG = -9.999;

export interface ScatterLayout {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  x: { min: number; max: number };
  y: { min: number; max: number };
  /** Pixel position per feature (NaN for dead features, which have no mean to place). */
  px: Float32Array;
  py: Float32Array;
  dead: number;
}

const MARGIN = { left: 58, right: 12, top: 10, bottom: 34 };

/** Axis range of the live features, widened to whole decades so ticks land on powers of ten. */
function range(values: ArrayLike<number>, keep: (i: number) => boolean): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (!keep(i)) continue;
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min)) return { min: -6, max: 0 };
  const lo = Math.floor(min);
  const hi = Math.ceil(max);
  return { min: lo, max: hi > lo ? hi : lo + 1 };
}

export function layoutScatter(data: ScatterData, width: number, height: number): ScatterLayout {
  const n = data.logFrequency.length;
  const live = (i: number) => data.logFrequency[i] > DEAD_LOG;
  const x = range(data.logFrequency, live);
  const y = range(data.logMean, live);
  const plot = { left: MARGIN.left, top: MARGIN.top, right: width - MARGIN.right, bottom: height - MARGIN.bottom };
  const sx = (plot.right - plot.left) / (x.max - x.min);
  const sy = (plot.bottom - plot.top) / (y.max - y.min);
  const px = new Float32Array(n);
  const py = new Float32Array(n);
  let dead = 0;
  for (let i = 0; i < n; i++) {
    if (!live(i)) {
      px[i] = NaN;
      py[i] = NaN;
      dead++;
      continue;
    }
    px[i] = plot.left + (data.logFrequency[i] - x.min) * sx;
    py[i] = plot.bottom - (data.logMean[i] - y.min) * sy;
  }
  return { width, height, plot, x, y, px, py, dead };
}

/** Bucketed point lookup so hover stays O(1)-ish with 100,000 points. */
export class PointGrid {
  private readonly cell: number;
  private readonly cols: number;
  private readonly buckets = new Map<number, number[]>();

  constructor(private readonly layout: ScatterLayout, cell = 8) {
    this.cell = cell;
    this.cols = Math.ceil(layout.width / cell) + 1;
    for (let i = 0; i < layout.px.length; i++) {
      const x = layout.px[i];
      if (Number.isNaN(x)) continue;
      const key = this.key(x, layout.py[i]);
      const bucket = this.buckets.get(key);
      if (bucket) bucket.push(i);
      else this.buckets.set(key, [i]);
    }
  }

  private key(x: number, y: number): number {
    return Math.floor(y / this.cell) * this.cols + Math.floor(x / this.cell);
  }

  /** Nearest point within `radius` pixels of (x, y), or null. */
  nearest(x: number, y: number, radius = 6): number | null {
    let best: number | null = null;
    let bestD = radius * radius;
    const cx = Math.floor(x / this.cell);
    const cy = Math.floor(y / this.cell);
    const reach = Math.ceil(radius / this.cell);
    for (let gy = cy - reach; gy <= cy + reach; gy++) {
      for (let gx = cx - reach; gx <= cx + reach; gx++) {
        const bucket = this.buckets.get(gy * this.cols + gx);
        if (!bucket) continue;
        for (const i of bucket) {
          const d = (this.layout.px[i] - x) ** 2 + (this.layout.py[i] - y) ** 2;
          if (d <= bestD) {
            bestD = d;
            best = i;
          }
        }
      }
    }
    return best;
  }
}

export type StepDirection = 'left' | 'right' | 'up' | 'down';

/**
 * Keyboard travel through the scatter (issue 16): the live point nearest to `from` in screen
 * space that lies in `direction` (within a 45° cone either side), scoring distance along the
 * direction plus twice the sideways offset so a key keeps to its line instead of jumping across
 * the cloud. Null when nothing lies that way. Points on the same pixel count as ahead for
 * right/down only, so stacked points are still reachable.
 */
export function stepPoint(l: Pick<ScatterLayout, 'px' | 'py'>, from: number, direction: StepDirection): number | null {
  const x0 = l.px[from];
  const y0 = l.py[from];
  if (x0 === undefined || Number.isNaN(x0)) return null;
  let best: number | null = null;
  let bestScore = Infinity;
  for (let i = 0; i < l.px.length; i++) {
    if (i === from || Number.isNaN(l.px[i])) continue;
    const dx = l.px[i] - x0;
    const dy = l.py[i] - y0;
    const along = direction === 'right' ? dx : direction === 'left' ? -dx : direction === 'down' ? dy : -dy;
    const side = Math.abs(direction === 'left' || direction === 'right' ? dy : dx);
    const same = dx === 0 && dy === 0;
    if (same ? !(direction === 'right' || direction === 'down') || i < from : along <= 0 || side > along) continue;
    const score = along + 2 * side;
    if (score < bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}

/** Where keyboard travel starts: the live point nearest the middle of the plot. */
export function centralPoint(l: Pick<ScatterLayout, 'px' | 'py' | 'plot'>): number | null {
  const cx = (l.plot.left + l.plot.right) / 2;
  const cy = (l.plot.top + l.plot.bottom) / 2;
  let best: number | null = null;
  let bestD = Infinity;
  for (let i = 0; i < l.px.length; i++) {
    if (Number.isNaN(l.px[i])) continue;
    const d = (l.px[i] - cx) ** 2 + (l.py[i] - cy) ** 2;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}
