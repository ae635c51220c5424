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

// Loops below run i over 0..n-1 of arrays that all hold n values (logFrequency, logMean, px, py
// come in pairs of one length), so their reads carry `!` (noUncheckedIndexedAccess).

/** Axis range of the live features, widened to whole decades so ticks land on powers of ten. */
function range(values: ArrayLike<number>, keep: (i: number) => boolean): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (!keep(i)) continue;
    const v = values[i]!;
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
  const live = (i: number) => data.logFrequency[i]! > DEAD_LOG;
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
    px[i] = plot.left + (data.logFrequency[i]! - x.min) * sx;
    py[i] = plot.bottom - (data.logMean[i]! - y.min) * sy;
  }
  return { width, height, plot, x, y, px, py, dead };
}

/**
 * Bucketed point lookup so hover stays O(1)-ish with 100,000 points. The buckets are one
 * counting sort into typed arrays (cell c holds order[start[c]] .. order[start[c + 1] - 1], in
 * feature order), built in a few milliseconds without an array per cell.
 */
export class PointGrid {
  private readonly cell: number;
  private readonly cols: number;
  private readonly rows: number;
  private readonly start: Int32Array;
  private readonly order: Int32Array;

  constructor(private readonly layout: ScatterLayout, cell = 8) {
    this.cell = cell;
    this.cols = Math.ceil(layout.width / cell) + 1;
    this.rows = Math.ceil(layout.height / cell) + 1;
    const n = layout.px.length;
    const cellOf = new Int32Array(n);
    const start = new Int32Array(this.cols * this.rows + 1);
    for (let i = 0; i < n; i++) {
      const x = layout.px[i]!;
      if (Number.isNaN(x)) {
        cellOf[i] = -1;
        continue;
      }
      const c = this.key(x, layout.py[i]!);
      cellOf[i] = c;
      start[c + 1]!++;
    }
    for (let c = 1; c < start.length; c++) start[c]! += start[c - 1]!;
    const next = start.slice(0, -1);
    const order = new Int32Array(start[start.length - 1]!);
    for (let i = 0; i < n; i++) {
      const c = cellOf[i]!;
      if (c >= 0) order[next[c]!++] = i;
    }
    this.start = start;
    this.order = order;
  }

  private column(x: number): number {
    return Math.min(this.cols - 1, Math.max(0, Math.floor(x / this.cell)));
  }

  private row(y: number): number {
    return Math.min(this.rows - 1, Math.max(0, Math.floor(y / this.cell)));
  }

  private key(x: number, y: number): number {
    return this.row(y) * this.cols + this.column(x);
  }

  /** Nearest point within `radius` pixels of (x, y), or null (ties: the higher feature index). */
  nearest(x: number, y: number, radius = 6): number | null {
    let best: number | null = null;
    let bestD = radius * radius;
    const { px, py } = this.layout;
    const reach = Math.ceil(radius / this.cell);
    const cx = Math.floor(x / this.cell);
    const cy = Math.floor(y / this.cell);
    for (let gy = Math.max(0, cy - reach); gy <= Math.min(this.rows - 1, cy + reach); gy++) {
      for (let gx = Math.max(0, cx - reach); gx <= Math.min(this.cols - 1, cx + reach); gx++) {
        const c = gy * this.cols + gx;
        for (let k = this.start[c]!; k < this.start[c + 1]!; k++) {
          const i = this.order[k]!;
          const d = (px[i]! - x) ** 2 + (py[i]! - y) ** 2;
          if (d < bestD || (d === bestD && (best === null || i > best))) {
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
 * Keyboard travel through the scatter: the live point nearest to `from` in screen
 * space that lies in `direction` (within a 45° cone either side), scoring distance along the
 * direction plus twice the sideways offset so a key keeps to its line instead of jumping across
 * the cloud. Null when nothing lies that way. Points on the same pixel count as ahead for
 * right/down only, so stacked points are still reachable.
 */
export function stepPoint(l: Pick<ScatterLayout, 'px' | 'py'>, from: number, direction: StepDirection): number | null {
  const x0 = l.px[from];
  const y0 = l.py[from];
  if (x0 === undefined || y0 === undefined || Number.isNaN(x0)) return null;
  let best: number | null = null;
  let bestScore = Infinity;
  for (let i = 0; i < l.px.length; i++) {
    if (i === from || Number.isNaN(l.px[i])) continue;
    const dx = l.px[i]! - x0;
    const dy = l.py[i]! - y0;
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
    const d = (l.px[i]! - cx) ** 2 + (l.py[i]! - cy) ** 2;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}
