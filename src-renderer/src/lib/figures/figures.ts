// Publication figures: exemplar grids, activation histograms, flicker frame strips and
// match pairs as standalone SVG documents. Everything a reader needs to cite the figure is drawn
// into it: the feature id (NAME/INDEX), the index name and dataset, and the colour scale (a plasma
// bar from 0 to the feature's shared upper value). Builders are pure: images come in as data: URIs
// so the SVG has no outside references and opens the same in a browser, Inkscape or LaTeX tools.

import type { HistogramSpec } from '@contract';
import { plasmaRgb } from '../plasma';
import { overlayAlpha } from '../patchOverlay';
import { formatCount, formatValue } from '../format';
import { countTicks, decadeTicks, histogramView } from '../histogramAxis';
import { el, fileStem, fitText, hex, n, text, xml, type FigureSvg } from './svg';

const FONT = 'Helvetica, Arial, sans-serif';
const INK = '#1a1a1a';
const MUTED = '#555555';
const FAINT = '#8a8a8a';
const RULE = '#d0d0d0';
const PAD = 20;

/** Who the figure is about: drawn as its title block. */
export interface FigureSubject {
  /** `MODEL-WIDTH/INDEX`, e.g. `CLIP-24K/6909`. */
  featureId: string;
  /** The index's name (as the studio shows it). */
  indexName: string;
  /** The dataset folder's name. */
  dataset: string;
}

/** One exemplar tile: its thumbnail (data: URI, or null when it could not be read) and patch map. */
export interface FigureItem {
  rank: number;
  value: number;
  label: string | null;
  /** Path relative to the dataset root. */
  item: string;
  thumbnail: string | null;
  patchMap: readonly number[];
}

export interface HeatmapStyle {
  /** Draw the patch maps (the view's heatmap toggle). Default true. */
  overlay?: boolean;
  /** The view's overlay opacity, so the figure looks like the screen. Default 0.75. */
  opacity?: number;
}

export interface GridFigureInput extends FigureSubject, HeatmapStyle {
  grid: readonly [number, number];
  /** The feature's shared colour-scale top (max over its exemplars' patch values). */
  upper: number;
  items: readonly FigureItem[];
  columns?: number;
  tileSize?: number;
}

// ---- shared pieces ----

function svgDocument(width: number, height: number, title: string, body: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1"` +
    ` width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}"` +
    ` font-family="${FONT}" fill="${INK}">` +
    `<title>${xml(title)}</title>` +
    // A white page: figures are pasted into papers, and a transparent PNG turns grey in some viewers.
    `<rect class="background" x="0" y="0" width="${n(width)}" height="${n(height)}" fill="#ffffff"/>` +
    body +
    `</svg>\n`
  );
}

/** The title block: feature id, then index name and dataset; returns the height used. */
function titleBlock(x: number, y: number, width: number, title: string, subtitle: string): { svg: string; height: number } {
  const svg =
    el(
      'g',
      { class: 'figure-title' },
      text(x, y + 16, fitText(title, width, 17), { class: 'feature-id', 'font-size': 17, 'font-weight': 'bold' }) +
        text(x, y + 34, fitText(subtitle, width, 12), { class: 'subtitle', 'font-size': 12, fill: MUTED }),
    );
  return { svg, height: 44 };
}

let gradientCounter = 0;

/**
 * A horizontal plasma colour bar with its scale: 0 at the left end, `upper` at the right. The
 * gradient has 17 stops, enough that linear interpolation between them stays within a step or two
 * of the 256-entry map.
 */
export function colourBar(x: number, y: number, width: number, upper: number, caption = 'activation'): { svg: string; height: number } {
  const id = `plasma-${++gradientCounter}`;
  const stops = Array.from({ length: 17 }, (_, i) =>
    el('stop', { offset: `${n((i / 16) * 100)}%`, 'stop-color': hex(plasmaRgb(i / 16)) }),
  ).join('');
  const barH = 10;
  const svg = el(
    'g',
    { class: 'colour-bar', 'data-lower': 0, 'data-upper': upper },
    el('defs', {}, el('linearGradient', { id, x1: 0, y1: 0, x2: 1, y2: 0 }, stops)) +
      el('rect', { x, y, width, height: barH, fill: `url(#${id})`, stroke: RULE, 'stroke-width': 0.5 }) +
      text(x, y + barH + 12, '0', { class: 'scale-min', 'font-size': 10, fill: MUTED }) +
      text(x + width / 2, y + barH + 12, caption, { 'font-size': 10, fill: FAINT, 'text-anchor': 'middle' }) +
      text(x + width, y + barH + 12, formatValue(upper), { class: 'scale-max', 'font-size': 10, fill: MUTED, 'text-anchor': 'end' }),
  );
  return { svg, height: barH + 16 };
}

/**
 * Patch map squares over a tile, in the same rule as the on-screen overlay: colour plasma(v / upper),
 * alpha 0.9 · v / upper · opacity, zero patches left out so the image shows through, edges rounded
 * to whole pixels so squares neither overlap nor leave seams.
 */
function patchRects(x: number, y: number, w: number, h: number, patchMap: readonly number[], grid: readonly [number, number], upper: number, opacity: number): string {
  const [rows, cols] = grid;
  if (!(upper > 0) || !(opacity > 0) || rows <= 0 || cols <= 0) return '';
  let out = '';
  for (let row = 0; row < rows; row++) {
    const y0 = Math.round((row * h) / rows);
    const y1 = Math.round(((row + 1) * h) / rows);
    for (let col = 0; col < cols; col++) {
      const v = patchMap[row * cols + col] ?? 0; // a short map leaves the rest of the tile bare
      if (!(v > 0)) continue;
      const t = Math.min(v / upper, 1);
      const x0 = Math.round((col * w) / cols);
      const x1 = Math.round(((col + 1) * w) / cols);
      out += el('rect', {
        class: 'patch',
        x: x + x0,
        y: y + y0,
        width: x1 - x0,
        height: y1 - y0,
        fill: hex(plasmaRgb(t)),
        'fill-opacity': overlayAlpha(t, opacity).toFixed(3),
        'data-value': v,
      });
    }
  }
  return el('g', { class: 'patches' }, out);
}

/** An image (or a grey "no image" square when the thumbnail could not be read). */
function imageOrPlaceholder(x: number, y: number, w: number, h: number, href: string | null): string {
  if (href) {
    // preserveAspectRatio none: thumbnails are the model's square crop, so the patch grid lines up.
    return el('image', { x, y, width: w, height: h, preserveAspectRatio: 'none', 'xlink:href': href });
  }
  return (
    el('rect', { class: 'missing', x, y, width: w, height: h, fill: '#eeeeee' }) +
    text(x + w / 2, y + h / 2 + 4, 'no image', { 'font-size': 10, fill: FAINT, 'text-anchor': 'middle' })
  );
}

/** One exemplar: image, patch map, caption (rank, value, label) and the item's path. */
function tile(x: number, y: number, size: number, it: FigureItem, grid: readonly [number, number], upper: number, style: HeatmapStyle): string {
  const overlay = style.overlay ?? true;
  const opacity = style.opacity ?? 0.75;
  // The label gets what the rank and value leave of the tile's width.
  const used = (`#${it.rank + 1}`.length + formatValue(it.value).length + 2) * 11 * 0.58;
  const caption =
    el('tspan', { class: 'rank', fill: FAINT }, xml(`#${it.rank + 1}`)) +
    ' ' +
    el('tspan', { class: 'value', 'font-weight': 'bold' }, xml(formatValue(it.value))) +
    (it.label ? ' ' + el('tspan', { class: 'label', fill: MUTED }, xml(fitText(it.label, size - used, 11))) : '');
  return el(
    'g',
    { class: 'item', 'data-item': it.item, 'data-rank': it.rank, 'data-value': it.value },
    el('title', {}, xml(`${it.item} — #${it.rank + 1}, ${formatValue(it.value)}${it.label ? `, ${it.label}` : ''}`)) +
      imageOrPlaceholder(x, y, size, size, it.thumbnail) +
      (overlay ? patchRects(x, y, size, size, it.patchMap, grid, upper, opacity) : '') +
      el('rect', { x, y, width: size, height: size, fill: 'none', stroke: RULE, 'stroke-width': 0.5 }) +
      el('text', { class: 'caption', x, y: size + y + 14, 'font-size': 11 }, caption) +
      text(x, y + size + 27, fitText(it.item, size, 9, 'end'), { class: 'item-name', 'font-size': 9, fill: FAINT }),
  );
}

const CAPTION_H = 34;

/** A block of tiles; returns its svg and size. */
function tileBlock(x0: number, y0: number, input: GridFigureInput, columns: number, size: number): { svg: string; width: number; height: number } {
  const gap = 12;
  const items = input.items;
  const cols = Math.max(1, Math.min(columns, items.length || 1));
  const rows = Math.ceil(items.length / cols);
  let svg = '';
  items.forEach((it, i) => {
    const x = x0 + (i % cols) * (size + gap);
    const y = y0 + Math.floor(i / cols) * (size + CAPTION_H + gap);
    svg += tile(x, y, size, it, input.grid, input.upper, input);
  });
  if (!items.length) svg += text(x0, y0 + 14, 'No exemplars: this feature never fired on the dataset.', { 'font-size': 12, fill: MUTED });
  return {
    svg: el('g', { class: 'grid', 'data-items': items.length }, svg),
    width: cols * size + (cols - 1) * gap,
    height: items.length ? rows * (size + CAPTION_H) + (rows - 1) * gap : 20,
  };
}

function subtitleOf(s: FigureSubject, extra?: string): string {
  return [s.indexName, s.dataset, extra].filter((p) => p).join(' · ');
}

// ---- exemplar grid ----

/**
 * Columns for n tiles: about 1.5 × as wide as tall (a page's text block), preferring a count that
 * leaves the last row full, so 16 exemplars make 4 × 4 rather than 5 + 5 + 5 + 1.
 */
export function gridColumns(count: number): number {
  if (count <= 3) return Math.max(1, count);
  const target = Math.sqrt(count * 1.5);
  let best = 3;
  let bestCost = Infinity;
  for (let c = 3; c <= Math.min(8, count); c++) {
    const empty = (c - (count % c)) % c;
    const cost = empty * 2 + Math.abs(c - target);
    if (cost < bestCost) (best = c), (bestCost = cost);
  }
  return best;
}

/** The top exemplars of one feature with their heatmaps on the feature's shared scale. */
export function exemplarGridFigure(input: GridFigureInput): FigureSvg {
  const size = input.tileSize ?? 128;
  const columns = input.columns ?? gridColumns(input.items.length);
  const block = tileBlock(PAD, 0, input, columns, size);
  const width = Math.max(block.width, 360) + 2 * PAD;
  const head = titleBlock(PAD, PAD, width - 2 * PAD, input.featureId, subtitleOf(input, `top ${input.items.length} exemplars`));
  const gridY = PAD + head.height + 6;
  const bar = colourBar(PAD, gridY + block.height + 16, Math.min(220, width - 2 * PAD), input.upper);
  const height = gridY + block.height + 16 + bar.height + PAD;
  const body = head.svg + el('g', { transform: `translate(0 ${n(gridY)})` }, block.svg) + bar.svg;
  return {
    svg: svgDocument(width, height, `${input.featureId} — exemplars`, body),
    width,
    height,
    name: fileStem(input.featureId, 'exemplars'),
  };
}

// ---- histogram ----

export interface HistogramFigureInput extends FigureSubject {
  counts: readonly number[];
  spec: HistogramSpec;
  upper: number;
  mean: number;
  max: number;
  /** Patch tokens the counts are over, for the caption. */
  tokens?: number;
}

/**
 * The activation histogram: bars on the index's log10 bins coloured on the heatmap scale, a log
 * y axis (log(1 + count), so single values stay visible), decade ticks, mean and max marked. The x
 * range is the decades that hold values plus one on each side, as on screen.
 */
export function histogramFigure(input: HistogramFigureInput): FigureSvg {
  const width = 560;
  const M = { left: PAD + 44, right: PAD + 8, top: PAD + 56, bottom: 44 };
  const plotH = 200;
  const plotW = width - M.left - M.right;
  const { counts, spec } = input;
  const nBins = counts.length;
  const binW = (spec.log10Max - spec.log10Min) / Math.max(1, nBins);
  const { lo, hi } = histogramView(counts, spec);
  const xOf = (l: number) => M.left + ((l - lo) / (hi - lo)) * plotW;
  const maxCount = Math.max(0, ...counts);
  const yMaxLog = Math.log10(1 + Math.max(1, maxCount));
  const base = M.top + plotH;
  const yOf = (c: number) => base - (Math.log10(1 + c) / yMaxLog) * plotH;

  let grid = '';
  let yTicks = '';
  for (const { y, label } of countTicks(maxCount, yOf, 10)) {
    grid += el('line', { x1: M.left, x2: M.left + plotW, y1: y, y2: y, stroke: '#ececec' });
    yTicks +=
      el('line', { x1: M.left - 4, x2: M.left, y1: y, y2: y, stroke: MUTED }) +
      text(M.left - 7, y + 3.5, label, { class: 'tick', 'font-size': 10, fill: MUTED, 'text-anchor': 'end' });
  }
  let bars = '';
  counts.forEach((count, i) => {
    const l = spec.log10Min + i * binW;
    if (l < lo - 1e-9 || l + binW > hi + 1e-9 || count <= 0) return;
    const centre = 10 ** (l + binW / 2);
    const x0 = xOf(l);
    const x1 = xOf(l + binW);
    const y = yOf(count);
    bars += el(
      'rect',
      { class: 'bar', x: x0 + 0.5, y, width: Math.max(0.5, x1 - x0 - 1), height: base - y, fill: hex(plasmaRgb(input.upper > 0 ? centre / input.upper : 0)), 'data-count': count },
      el('title', {}, xml(`${formatValue(10 ** l)} – ${formatValue(10 ** (l + binW))}: ${formatCount(count)}`)),
    );
  });
  let xTicks = '';
  for (const { x, label } of decadeTicks({ lo, hi }, xOf, 10)) {
    xTicks +=
      el('line', { x1: x, x2: x, y1: base, y2: base + 4, stroke: MUTED }) +
      text(x, base + 16, label, { class: 'tick', 'font-size': 10, fill: MUTED, 'text-anchor': 'middle' });
  }
  const marker = (v: number, cls: string, dash: string | null) => {
    if (!(v > 0)) return '';
    const l = Math.log10(v);
    if (l < lo || l > hi) return '';
    const x = xOf(l);
    return el('line', { class: cls, x1: x, x2: x, y1: M.top, y2: base, stroke: INK, 'stroke-opacity': 0.7, 'stroke-dasharray': dash });
  };
  const axes =
    el('line', { class: 'x-axis', x1: M.left, x2: M.left + plotW, y1: base + 0.5, y2: base + 0.5, stroke: INK }) +
    el('line', { class: 'y-axis', x1: M.left - 0.5, x2: M.left - 0.5, y1: M.top, y2: base, stroke: INK }) +
    text(M.left + plotW / 2, base + 34, 'activation (log scale)', { class: 'axis-label', 'font-size': 11, fill: MUTED, 'text-anchor': 'middle' }) +
    text(0, 0, 'patch tokens (log scale)', {
      class: 'axis-label',
      'font-size': 11,
      fill: MUTED,
      'text-anchor': 'middle',
      transform: `translate(${n(PAD + 4)} ${n(M.top + plotH / 2)}) rotate(-90)`,
    });
  const legendY = base + 56;
  const legend =
    el('line', { x1: M.left, x2: M.left + 18, y1: legendY - 4, y2: legendY - 4, stroke: INK, 'stroke-opacity': 0.7, 'stroke-dasharray': '3 3' }) +
    text(M.left + 22, legendY, `mean ${formatValue(input.mean)}`, { class: 'mean', 'font-size': 11, fill: MUTED }) +
    el('line', { x1: M.left + 110, x2: M.left + 128, y1: legendY - 4, y2: legendY - 4, stroke: INK, 'stroke-opacity': 0.7 }) +
    text(M.left + 132, legendY, `max ${formatValue(input.max)}`, { class: 'max', 'font-size': 11, fill: MUTED });
  const bar = colourBar(width - M.right - 200, legendY - 10, 200, input.upper, 'heatmap scale');
  const tokens = input.tokens != null ? `positive activations over ${formatCount(input.tokens)} patch tokens` : 'positive activations';
  const head = titleBlock(PAD, PAD, width - 2 * PAD, input.featureId, subtitleOf(input, tokens));
  const height = legendY + bar.height + PAD - 6;
  const empty = maxCount === 0 ? text(M.left + plotW / 2, M.top + plotH / 2, 'This feature never fired on the dataset.', { 'font-size': 12, fill: MUTED, 'text-anchor': 'middle' }) : '';
  const body =
    head.svg +
    el('g', { class: 'histogram', 'data-bins': nBins }, el('g', { class: 'gridlines' }, grid) + el('g', { class: 'bars' }, bars) + marker(input.mean, 'mean-marker', '3 3') + marker(input.max, 'max-marker', null) + axes + el('g', { class: 'ticks' }, xTicks + yTicks) + empty) +
    legend +
    bar.svg;
  return { svg: svgDocument(width, height, `${input.featureId} — activation histogram`, body), width, height, name: fileStem(input.featureId, 'histogram') };
}

// ---- flicker frame strip ----

/** One SAE's feature over the clip: a heatmap per frame and its trace (max over patches per frame). */
export interface FlickerRow extends FigureSubject {
  /** [T][P] activations, row-major over the grid. */
  maps: readonly (readonly number[])[];
  trace: readonly number[];
  upper: number;
}

export interface FlickerFigureInput extends HeatmapStyle {
  clipName: string;
  grid: readonly [number, number];
  /** One image (data: URI) per sampled frame. */
  frameImages: readonly (string | null)[];
  /** Source frame numbers, for the frame labels. */
  frameIndexes: readonly number[];
  rows: readonly FlickerRow[];
  frameSize?: number;
}

/**
 * A clip's sampled frames in a row, each with one feature's heatmap, and that feature's trace
 * drawn under the frames on the same x positions; one such band per SAE (the flicker view's two
 * panes), each with its own colour bar since each feature has its own scale.
 */
export function flickerStripFigure(input: FlickerFigureInput): FigureSvg {
  const T = input.frameImages.length;
  const size = input.frameSize ?? (T > 12 ? 72 : 96);
  const gap = 4;
  const stripW = Math.max(1, T) * size + Math.max(0, T - 1) * gap;
  // A gutter on the left for the trace's 0 / upper labels.
  const X0 = PAD + 30;
  const width = Math.max(stripW, 420) + X0 + PAD;
  const first = input.rows[0];
  const title = input.rows.map((r) => r.featureId).join('  vs  ') || input.clipName;
  const head = titleBlock(PAD, PAD, width - 2 * PAD, title, [first ? subtitleOf(first) : '', `clip ${input.clipName}`, `${T} frames`].filter((p) => p).join(' · '));
  let y = PAD + head.height + 4;
  let body = head.svg;
  const traceH = 56;
  const style = { overlay: input.overlay ?? true, opacity: input.opacity ?? 0.75 };
  for (const row of input.rows) {
    let band = '';
    const bar = colourBar(X0 + stripW - 180, y + 2, 180, row.upper);
    band += text(X0, y + 12, row.featureId, { class: 'row-feature-id', 'font-size': 13, 'font-weight': 'bold' });
    band += bar.svg;
    y += Math.max(20, bar.height + 6);
    let frames = '';
    for (let t = 0; t < T; t++) {
      const x = X0 + t * (size + gap);
      frames += el(
        'g',
        { class: 'frame', 'data-frame': t },
        imageOrPlaceholder(x, y, size, size, input.frameImages[t] ?? null) +
          (style.overlay ? patchRects(x, y, size, size, row.maps[t] ?? [], input.grid, row.upper, style.opacity) : '') +
          el('rect', { x, y, width: size, height: size, fill: 'none', stroke: RULE, 'stroke-width': 0.5 }) +
          text(x + size / 2, y + size + 11, `${t + 1}`, { class: 'frame-label', 'font-size': 9, fill: FAINT, 'text-anchor': 'middle' }),
      );
    }
    band += el('g', { class: 'frames' }, frames);
    y += size + 24;
    // The trace: one point per frame at the frame's centre, 0 at the bottom and the feature's
    // upper at the top, so a flickering feature reads as a saw-tooth under the strip.
    const yOfV = (v: number) => y + traceH - (row.upper > 0 ? Math.min(1, Math.max(0, v / row.upper)) : 0) * traceH;
    const pts = row.trace.slice(0, T).map((v, t) => `${n(X0 + t * (size + gap) + size / 2)},${n(yOfV(v))}`);
    let trace =
      el('line', { x1: X0, x2: X0 + stripW, y1: y + traceH + 0.5, y2: y + traceH + 0.5, stroke: INK }) +
      el('line', { x1: X0, x2: X0 + stripW, y1: y, y2: y, stroke: '#ececec' }) +
      text(X0 - 5, y + 4, formatValue(row.upper), { 'font-size': 9, fill: MUTED, 'text-anchor': 'end' }) +
      text(X0 - 5, y + traceH + 3, '0', { 'font-size': 9, fill: MUTED, 'text-anchor': 'end' });
    if (pts.length) trace += el('polyline', { class: 'trace-line', points: pts.join(' '), fill: 'none', stroke: INK, 'stroke-width': 1.5 });
    row.trace.slice(0, T).forEach((v, t) => {
      trace += el('circle', { class: 'trace-point', cx: X0 + t * (size + gap) + size / 2, cy: yOfV(v), r: 3, fill: hex(plasmaRgb(row.upper > 0 ? v / row.upper : 0)), stroke: INK, 'stroke-width': 0.5, 'data-value': v });
    });
    trace += text(X0, y + traceH + 14, 'max over patches per frame', { 'font-size': 10, fill: FAINT });
    band += el('g', { class: 'trace', 'data-frames': T }, trace);
    y += traceH + 26;
    body += el('g', { class: 'flicker-row', 'data-feature-id': row.featureId }, band);
  }
  const height = y + PAD - 10;
  return {
    svg: svgDocument(width, height, `${title} — flicker strip of ${input.clipName}`, body),
    width,
    height,
    name: fileStem(first?.featureId ?? 'flicker', 'flicker', input.clipName.replace(/\.[^.]+$/, '')),
  };
}

// ---- match pair ----

export interface MatchFigureInput {
  a: GridFigureInput;
  b: GridFigureInput;
  /** The pair's score (correlation across images), or null when not known. */
  score: number | null;
  /** Further numbers to print under the title, e.g. lift and patch overlap. */
  note?: string;
}

/** Two features' exemplar grids side by side, both ids and the score in the title. */
export function matchPairFigure(input: MatchFigureInput): FigureSvg {
  const size = 104;
  const columns = 4;
  const colGap = 36;
  const blockA = tileBlock(0, 0, input.a, columns, size);
  const blockB = tileBlock(0, 0, input.b, columns, size);
  const colW = Math.max(blockA.width, blockB.width, 300);
  const width = 2 * colW + colGap + 2 * PAD;
  const title = `${input.a.featureId}  ↔  ${input.b.featureId}`;
  const score = input.score != null && Number.isFinite(input.score) ? `score ${input.score.toFixed(3)}` : 'score –';
  const head = titleBlock(PAD, PAD, width - 2 * PAD - 120, title, input.note ?? 'matched features: exemplars of each on its own colour scale');
  const top = PAD + head.height + 8;
  let body = head.svg + el('text', { class: 'score', x: width - PAD, y: PAD + 16, 'font-size': 13, 'text-anchor': 'end', 'font-weight': 'bold', 'data-score': input.score ?? '' }, xml(score));
  let height = 0;
  [input.a, input.b].forEach((side, i) => {
    const x = PAD + i * (colW + colGap);
    const block = i === 0 ? blockA : blockB;
    const heading =
      text(x, top + 12, side.featureId, { class: 'feature-id', 'font-size': 13, 'font-weight': 'bold' }) +
      text(x, top + 27, fitText(subtitleOf(side), colW, 11), { class: 'subtitle', 'font-size': 11, fill: MUTED });
    const gy = top + 38;
    const bar = colourBar(x, gy + block.height + 14, Math.min(200, colW), side.upper);
    body += el('g', { class: 'match-side', 'data-side': i === 0 ? 'a' : 'b', 'data-feature-id': side.featureId }, heading + el('g', { transform: `translate(${n(x)} ${n(gy)})` }, block.svg) + bar.svg);
    height = Math.max(height, gy + block.height + 14 + bar.height + PAD);
  });
  return {
    svg: svgDocument(width, height, `${title} — match pair`, body),
    width,
    height,
    name: fileStem(input.a.featureId, input.b.featureId, 'match'),
  };
}
