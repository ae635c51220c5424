import { describe, expect, it } from 'vitest';
// @xmldom/xmldom (a devDependency: a real XML parser, so a
// figure that is not well-formed XML fails here as it would in Inkscape or a LaTeX toolchain.
import { DOMParser } from '@xmldom/xmldom';
import type { HistogramSpec } from '@contract';
import { plasmaRgb } from '../../src-renderer/src/lib/plasma';
import {
  exemplarGridFigure,
  flickerStripFigure,
  histogramFigure,
  matchPairFigure,
  type FigureItem,
  type GridFigureInput,
} from '../../src-renderer/src/lib/figures/figures';
import { fileStem, fitText, hex, xml } from '../../src-renderer/src/lib/figures/svg';

type XmlElement = ReturnType<DOMParser['parseFromString']>['documentElement'];

/** Parses an SVG strictly: any parser warning or error fails the test. */
function parseSvg(svg: string): XmlElement {
  const problems: string[] = [];
  const doc = new DOMParser({
    errorHandler: { warning: (m) => problems.push(m), error: (m) => problems.push(m), fatalError: (m) => problems.push(m) },
  }).parseFromString(svg, 'image/svg+xml');
  expect(problems).toEqual([]);
  const root = doc.documentElement;
  expect(root.tagName).toBe('svg');
  expect(root.getAttribute('xmlns')).toBe('http://www.w3.org/2000/svg');
  return root;
}

function all(root: XmlElement, tag: string): XmlElement[] {
  return Array.from(root.getElementsByTagName(tag) as unknown as ArrayLike<XmlElement>);
}
function byClass(root: XmlElement, cls: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if ((e.getAttribute('class') ?? '').split(/\s+/).includes(cls)) out.push(e);
    for (let c = e.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) walk(c as XmlElement);
  };
  walk(root);
  return out;
}
const textOf = (e: XmlElement) => (e.textContent ?? '').replace(/\s+/g, ' ').trim();

// A 1×1 PNG (distinct per item so we can tell which image went where).
const pngUri = (i: number) => `data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk${i}AAAAAElFTkSuQmCC`;

function gridInput(): GridFigureInput {
  // 2×3 patch grids; upper 4 is the largest patch value of the feature.
  const items: FigureItem[] = [
    { rank: 0, value: 4, label: 'beach', item: 'beach/b01.jpg', thumbnail: pngUri(0), patchMap: [0, 1, 2, 0, 4, 0] },
    { rank: 1, value: 3, label: 'ocean & sky', item: 'ocean/o<7>.jpg', thumbnail: pngUri(1), patchMap: [3, 0, 0, 0, 0, 0.5] },
    { rank: 2, value: 2.5, label: null, item: 'forest/f12.jpg', thumbnail: pngUri(2), patchMap: [0, 0, 0, 0, 0, 2.5] },
  ];
  return { featureId: 'CLIP-24K/6909', indexName: 'CLIP-24K', dataset: 'imagenet-val', grid: [2, 3], upper: 4, items, opacity: 1 };
}

describe('exemplar grid figure', () => {
  const fig = exemplarGridFigure(gridInput());
  const root = parseSvg(fig.svg);

  it('parses and holds one embedded image per item, in rank order', () => {
    const images = all(root, 'image');
    expect(images).toHaveLength(3);
    expect(images.map((i) => i.getAttribute('xlink:href'))).toEqual([pngUri(0), pngUri(1), pngUri(2)]);
    const items = byClass(root, 'item');
    expect(items.map((g) => g.getAttribute('data-item'))).toEqual(['beach/b01.jpg', 'ocean/o<7>.jpg', 'forest/f12.jpg']);
    // Every image sits inside its own item group, so tools keep image, heatmap and caption together.
    items.forEach((g) => expect(all(g, 'image')).toHaveLength(1));
  });

  it('captions each tile with rank, value and label, and names the item', () => {
    expect(byClass(root, 'caption').map(textOf)).toEqual(['#1 4.00 beach', '#2 3.00 ocean & sky', '#3 2.50']);
    expect(byClass(root, 'item-name').map(textOf)).toEqual(['beach/b01.jpg', 'ocean/o<7>.jpg', 'forest/f12.jpg']);
  });

  it('titles the figure with the feature id, index name and dataset', () => {
    expect(textOf(byClass(root, 'feature-id')[0]!)).toBe('CLIP-24K/6909');
    const sub = textOf(byClass(root, 'subtitle')[0]!);
    expect(sub).toContain('CLIP-24K');
    expect(sub).toContain('imagenet-val');
    expect(textOf(all(root, 'title')[0]!)).toContain('CLIP-24K/6909');
  });

  it('draws the positive patches as rects coloured plasma(v / upper) on the shared scale', () => {
    const [first, second, third] = byClass(root, 'item');
    const fills = (g: XmlElement) => byClass(g, 'patch').map((r) => [Number(r.getAttribute('data-value')), r.getAttribute('fill')]);
    expect(fills(first!)).toEqual([
      [1, hex(plasmaRgb(1 / 4))],
      [2, hex(plasmaRgb(2 / 4))],
      [4, hex(plasmaRgb(1))],
    ]);
    expect(fills(second!)).toEqual([
      [3, hex(plasmaRgb(3 / 4))],
      [0.5, hex(plasmaRgb(0.5 / 4))],
    ]);
    // Same value, same colour in every tile: the scale is the feature's, not the tile's.
    expect(fills(third!)).toEqual([[2.5, hex(plasmaRgb(2.5 / 4))]]);
    expect(hex(plasmaRgb(1))).toBe('#f0f921');
    // Patch squares tile the image: the max patch of item 1 (row 1, col 1) sits at its cell.
    const img = all(first!, 'image')[0]!;
    const [x, y, w] = [Number(img.getAttribute('x')), Number(img.getAttribute('y')), Number(img.getAttribute('width'))];
    const top = byClass(first!, 'patch').find((r) => r.getAttribute('data-value') === '4')!;
    expect(Number(top.getAttribute('x'))).toBe(x + Math.round(w / 3));
    expect(Number(top.getAttribute('y'))).toBe(y + Math.round(w / 2));
  });

  it('carries a plasma colour bar from 0 to the upper value', () => {
    const bars = byClass(root, 'colour-bar');
    expect(bars).toHaveLength(1);
    const bar = bars[0]!;
    expect(textOf(byClass(bar, 'scale-min')[0]!)).toBe('0');
    expect(textOf(byClass(bar, 'scale-max')[0]!)).toBe('4.00');
    const stops = all(bar, 'stop').map((s) => s.getAttribute('stop-color'));
    expect(stops[0]).toBe(hex(plasmaRgb(0)));
    expect(stops.at(-1)).toBe(hex(plasmaRgb(1)));
    const id = all(bar, 'linearGradient')[0]!.getAttribute('id');
    expect(all(bar, 'rect').some((r) => r.getAttribute('fill') === `url(#${id})`)).toBe(true);
  });

  it('is named after the feature id and sized to what it holds', () => {
    expect(fig.name).toBe('CLIP-24K_6909-exemplars');
    expect(root.getAttribute('width')).toBe(String(fig.width));
    expect(root.getAttribute('viewBox')).toBe(`0 0 ${fig.width} ${fig.height}`);
    // Every drawn thing lies inside the page.
    for (const r of all(root, 'rect')) {
      const x = Number(r.getAttribute('x'));
      const w = Number(r.getAttribute('width'));
      expect(x + w).toBeLessThanOrEqual(fig.width);
    }
  });

  it('leaves the heatmap out when the view hides it, and marks unreadable thumbnails', () => {
    const input = gridInput();
    const hidden = parseSvg(exemplarGridFigure({ ...input, overlay: false, items: input.items.map((it, i) => (i === 1 ? { ...it, thumbnail: null } : it)) }).svg);
    expect(byClass(hidden, 'patch')).toHaveLength(0);
    expect(all(hidden, 'image')).toHaveLength(2);
    expect(byClass(hidden, 'missing')).toHaveLength(1);
  });
});

describe('histogram figure', () => {
  const spec: HistogramSpec = { log10Min: -4, log10Max: 4, bins: 32 };
  const counts = new Array(32).fill(0);
  counts[16] = 1000; // [1, 1.78)
  counts[17] = 40;
  counts[19] = 1;
  const fig = histogramFigure({ featureId: 'DINO-8K/12', indexName: 'DINO-8K', dataset: 'shapes', counts, spec, upper: 10, mean: 1.5, max: 9, tokens: 123456 });
  const root = parseSvg(fig.svg);

  it('draws one bar per non-empty log bin, coloured on the heatmap scale, with the feature id', () => {
    const bars = byClass(root, 'bar');
    expect(bars.map((b) => Number(b.getAttribute('data-count')))).toEqual([1000, 40, 1]);
    const centre = 10 ** (-4 + 16.5 * 0.25);
    expect(bars[0]!.getAttribute('fill')).toBe(hex(plasmaRgb(centre / 10)));
    // log(1 + count) heights: the tallest bar is the highest (smallest y).
    const ys = bars.map((b) => Number(b.getAttribute('y')));
    expect(ys[0]).toBeLessThan(ys[1]!);
    expect(ys[1]).toBeLessThan(ys[2]!);
    expect(textOf(byClass(root, 'feature-id')[0]!)).toBe('DINO-8K/12');
    expect(textOf(byClass(root, 'subtitle')[0]!)).toContain('123,456 patch tokens');
    expect(fig.name).toBe('DINO-8K_12-histogram');
  });

  it('has axes with decade ticks on x and count ticks on y, mean and max marked, and the colour bar', () => {
    const ticks = byClass(root, 'tick').map(textOf);
    expect(ticks).toEqual(expect.arrayContaining(['0.1', '1', '10', '100', '1', '10', '100', '1k']));
    expect(byClass(root, 'x-axis')).toHaveLength(1);
    expect(byClass(root, 'y-axis')).toHaveLength(1);
    expect(byClass(root, 'mean-marker')).toHaveLength(1);
    expect(byClass(root, 'max-marker')).toHaveLength(1);
    expect(textOf(byClass(root, 'mean')[0]!)).toBe('mean 1.50');
    const bar = byClass(root, 'colour-bar')[0]!;
    expect(textOf(byClass(bar, 'scale-max')[0]!)).toBe('10.0');
  });
});

describe('flicker strip figure', () => {
  const T = 4;
  const maps = [
    [0, 0, 0, 2],
    [0, 0, 0, 0],
    [2, 0, 0, 0],
    [0, 1, 0, 0],
  ];
  const fig = flickerStripFigure({
    clipName: 'clip-07.mp4',
    grid: [2, 2],
    frameImages: Array.from({ length: T }, (_, i) => pngUri(i)),
    frameIndexes: [0, 10, 20, 30],
    rows: [{ featureId: 'VJEPA-16K/3', indexName: 'VJEPA-16K', dataset: 'ssv2', maps, trace: [2, 0, 2, 1], upper: 2 }],
    opacity: 1,
  });
  const root = parseSvg(fig.svg);

  it('holds the frames in a row with their heatmaps, the trace under them and the colour bar', () => {
    const frames = byClass(root, 'frame');
    expect(frames).toHaveLength(T);
    expect(all(root, 'image')).toHaveLength(T);
    const xs = frames.map((f) => Number(all(f, 'image')[0]!.getAttribute('x')));
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    expect(new Set(frames.map((f) => all(f, 'image')[0]!.getAttribute('y'))).size).toBe(1);
    expect(frames.map((f) => byClass(f, 'patch').map((r) => r.getAttribute('fill')))).toEqual([
      [hex(plasmaRgb(1))],
      [],
      [hex(plasmaRgb(1))],
      [hex(plasmaRgb(0.5))],
    ]);
    const points = byClass(root, 'trace-point');
    expect(points.map((p) => Number(p.getAttribute('data-value')))).toEqual([2, 0, 2, 1]);
    // Each trace point sits under its frame's centre, below the frames.
    points.forEach((p, t) => {
      const img = all(frames[t]!, 'image')[0]!;
      expect(Number(p.getAttribute('cx'))).toBeCloseTo(Number(img.getAttribute('x')) + Number(img.getAttribute('width')) / 2, 1);
      expect(Number(p.getAttribute('cy'))).toBeGreaterThan(Number(img.getAttribute('y')) + Number(img.getAttribute('height')));
    });
    expect(byClass(root, 'colour-bar')).toHaveLength(1);
    expect(textOf(byClass(root, 'feature-id')[0]!)).toBe('VJEPA-16K/3');
    expect(textOf(byClass(root, 'subtitle')[0]!)).toContain('clip-07.mp4');
    expect(fig.name).toBe('VJEPA-16K_3-flicker-clip-07');
  });
});

describe('match pair figure', () => {
  const a = gridInput();
  const b: GridFigureInput = { ...gridInput(), featureId: 'DINO-8K/88', indexName: 'DINO-8K', upper: 8, items: gridInput().items.slice(0, 2) };
  const fig = matchPairFigure({ a, b, score: 0.8123 });
  const root = parseSvg(fig.svg);

  it('puts both grids side by side with both feature ids and the score', () => {
    const sides = byClass(root, 'match-side');
    expect(sides.map((s) => s.getAttribute('data-feature-id'))).toEqual(['CLIP-24K/6909', 'DINO-8K/88']);
    expect(sides.map((s) => all(s, 'image').length)).toEqual([3, 2]);
    expect(sides.map((s) => byClass(s, 'colour-bar').length)).toEqual([1, 1]);
    expect(textOf(byClass(sides[1]!, 'scale-max')[0]!)).toBe('8.00');
    // Same patch value, other feature's scale: 4 is the top of A's scale but half of B's.
    const topB = byClass(sides[1]!, 'patch').find((r) => r.getAttribute('data-value') === '4')!;
    expect(topB.getAttribute('fill')).toBe(hex(plasmaRgb(0.5)));
    const textsOf = (s: XmlElement) => all(s, 'text').map(textOf).join(' ');
    expect(textsOf(root)).toContain('CLIP-24K/6909 ↔ DINO-8K/88');
    expect(textOf(byClass(root, 'score')[0]!)).toBe('score 0.812');
    // Side by side: B's first image is to the right of every image of A.
    const rightA = Math.max(...all(sides[0]!, 'image').map((i) => Number(i.getAttribute('x')) + Number(i.getAttribute('width'))));
    const gB = all(sides[1]!, 'g').find((g) => g.getAttribute('transform'))!;
    const shiftB = Number(/translate\(([\d.]+)/.exec(gB.getAttribute('transform')!)![1]);
    const gA = all(sides[0]!, 'g').find((g) => g.getAttribute('transform'))!;
    const shiftA = Number(/translate\(([\d.]+)/.exec(gA.getAttribute('transform')!)![1]);
    expect(shiftB + Number(all(sides[1]!, 'image')[0]!.getAttribute('x'))).toBeGreaterThan(shiftA + rightA);
    expect(fig.name).toBe('CLIP-24K_6909-DINO-8K_88-match');
  });
});

describe('svg helpers', () => {
  it('escapes markup and drops characters XML forbids', () => {
    expect(xml('a<b>&"c"\u0001')).toBe('a&lt;b&gt;&amp;&quot;c&quot;');
  });
  it('shortens long text keeping the end of paths', () => {
    expect(fitText('short', 200, 10)).toBe('short');
    const long = 'a/very/long/path/to/some/deep/folder/image_000123.jpg';
    const cut = fitText(long, 100, 10, 'end');
    expect(cut.startsWith('…')).toBe(true);
    expect(long.endsWith(cut.slice(1))).toBe(true);
    expect(cut.length).toBeLessThan(long.length);
  });
  it('makes file-safe stems from feature ids', () => {
    expect(fileStem('CLIP-24K/6909', 'exemplars')).toBe('CLIP-24K_6909-exemplars');
    expect(fileStem('my index/3', 'flicker', 'a b?c')).toBe('my-index_3-flicker-a-b-c');
  });
});
