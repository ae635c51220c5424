// "Shapes in motion": a procedurally generated dataset with known ground truth for the embedded
// demo. Each item is a still image or a short clip of one object (shape, colour) doing one action
// (moving, rotating, growing, bouncing, falling) over a procedurally drawn background (scene).
// Every item carries its factors and an SSv2-like label. Everything is deterministic from a seed:
// item parameters come from a mulberry32 stream, and rendering is pure arithmetic on RGB bytes.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { makeRng } from '../train/saeTrainer.js';

export const SCENES = ['sky', 'grass', 'checker', 'stripes'] as const;
const SHAPES = ['circle', 'square', 'triangle'] as const;
export const COLOURS = ['red', 'green', 'blue', 'yellow', 'purple'] as const;
const ACTIONS = ['moving left', 'moving right', 'rotating', 'growing', 'bouncing', 'falling'] as const;

export type Scene = (typeof SCENES)[number];
export type Shape = (typeof SHAPES)[number];
export type Colour = (typeof COLOURS)[number];
export type Action = (typeof ACTIONS)[number];

const RGB: Record<Colour, [number, number, number]> = {
  red: [220, 40, 40], green: [40, 190, 60], blue: [40, 80, 230], yellow: [235, 210, 40], purple: [150, 60, 190],
};

export interface ShapeFactors {
  scene: Scene;
  shape: Shape;
  colour: Colour;
  action: Action;
}

export interface ShapeItem {
  id: string;
  kind: 'image' | 'clip';
  factors: ShapeFactors;
  /** SSv2-like text, e.g. "Moving red circle from left to right". */
  label: string;
  /** SSv2-like template and placeholders. */
  template: string;
  placeholders: string[];
  frames: number;
  /** Start position (fraction of the image), radius (fraction), phase: drawn from the seed. */
  params: { x: number; y: number; r: number; angle: number; speed: number; bgPhase: number };
}

export interface ShapesSpec {
  seed?: number;
  images?: number;
  clips?: number;
  /** Frames per clip (default 8). */
  frames?: number;
  /** Square image side in pixels (default 64). */
  size?: number;
}

function labelOf(f: ShapeFactors): { label: string; template: string; placeholders: string[] } {
  const thing = `${f.colour} ${f.shape}`;
  switch (f.action) {
    case 'moving left': return { label: `Moving ${thing} from right to left`, template: 'Moving [something] from right to left', placeholders: [thing] };
    case 'moving right': return { label: `Moving ${thing} from left to right`, template: 'Moving [something] from left to right', placeholders: [thing] };
    case 'rotating': return { label: `Turning ${thing} around`, template: 'Turning [something] around', placeholders: [thing] };
    case 'growing': return { label: `Zooming in on ${thing}`, template: 'Zooming in on [something]', placeholders: [thing] };
    case 'bouncing': return { label: `${thing.charAt(0).toUpperCase()}${thing.slice(1)} bouncing`, template: '[Something] bouncing', placeholders: [thing] };
    case 'falling': return { label: `Letting ${thing} fall down`, template: 'Letting [something] fall down', placeholders: [thing] };
  }
}

/** The item list (no pixels): factors cycle so every value appears, order shuffled by the seed. */
export function generateShapes(spec: ShapesSpec = {}): ShapeItem[] {
  const rng = makeRng(spec.seed ?? 0);
  const nImages = spec.images ?? 48;
  const nClips = spec.clips ?? 24;
  const frames = spec.frames ?? 8;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng() * xs.length)]!;
  const items: ShapeItem[] = [];
  const total = nImages + nClips;
  for (let i = 0; i < total; i++) {
    const kind = i < nImages ? 'image' : 'clip';
    const n = kind === 'image' ? i : i - nImages;
    // Scenes and colours cycle (balanced); shapes and actions are drawn.
    const factors: ShapeFactors = {
      scene: SCENES[n % SCENES.length]!,
      colour: COLOURS[Math.floor(n / SCENES.length) % COLOURS.length]!,
      shape: pick(SHAPES),
      action: pick(ACTIONS),
    };
    const text = labelOf(factors);
    items.push({
      id: `${kind}_${String(n).padStart(4, '0')}`,
      kind,
      factors,
      ...text,
      frames: kind === 'image' ? 1 : frames,
      params: { x: 0.25 + 0.5 * rng(), y: 0.25 + 0.5 * rng(), r: 0.12 + 0.08 * rng(), angle: rng() * Math.PI * 2, speed: 0.5 + 0.5 * rng(), bgPhase: rng() },
    });
  }
  return items;
}

function background(scene: Scene, px: number, py: number, phase: number): [number, number, number] {
  switch (scene) {
    case 'sky': { const t = py; return [110 + 60 * t, 160 + 50 * t, 235]; }
    case 'grass': { const n = Math.sin((px * 40 + phase * 7) * (1 + py)) * 12; return [60 + n, 140 + 30 * py + n, 50]; }
    case 'checker': { const c = (Math.floor(px * 8 + phase * 8) + Math.floor(py * 8)) % 2 === 0 ? 200 : 120; return [c, c, c]; }
    case 'stripes': { const s = Math.sin((px + py + phase) * 30) > 0 ? 1 : 0; return s ? [230, 150, 80] : [250, 230, 190]; }
  }
}

/** Object state at time t in [0, 1] (0 for stills). */
function stateAt(item: ShapeItem, t: number): { x: number; y: number; r: number; angle: number } {
  const { x, y, r, angle, speed } = item.params;
  switch (item.factors.action) {
    case 'moving left': return { x: x + 0.25 * speed * (1 - 2 * t), y, r, angle };
    case 'moving right': return { x: x - 0.25 * speed * (1 - 2 * t), y, r, angle };
    case 'rotating': return { x, y, r, angle: angle + t * Math.PI * speed };
    case 'growing': return { x, y, r: r * (0.6 + 0.8 * t), angle };
    case 'bouncing': return { x, y: y + 0.2 * Math.abs(Math.cos(t * Math.PI * 2 * speed)) - 0.1, r, angle };
    case 'falling': return { x, y: Math.min(0.9, y - 0.2 + 0.45 * t * t), r, angle };
  }
}

function inside(shape: Shape, dx: number, dy: number, r: number, angle: number): boolean {
  const c = Math.cos(-angle), s = Math.sin(-angle);
  const u = dx * c - dy * s, v = dx * s + dy * c;
  switch (shape) {
    case 'circle': return dx * dx + dy * dy <= r * r;
    case 'square': return Math.abs(u) <= r * 0.85 && Math.abs(v) <= r * 0.85;
    case 'triangle': return v <= r * 0.7 && v >= -r && Math.abs(u) <= (r * 0.7 - v) * 0.6;
  }
}

/** Frame `f` of an item as RGB bytes [size, size, 3]. */
export function renderFrame(item: ShapeItem, f: number, size = 64): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  const t = item.frames > 1 ? f / (item.frames - 1) : 0.5;
  const st = stateAt(item, t);
  const col = RGB[item.factors.colour];
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const fx = (px + 0.5) / size, fy = (py + 0.5) / size;
      const rgb = inside(item.factors.shape, fx - st.x, fy - st.y, st.r, st.angle) ? col : background(item.factors.scene, fx, fy, item.params.bgPhase);
      const o = (py * size + px) * 3;
      out[o] = Math.max(0, Math.min(255, Math.round(rgb[0])));
      out[o + 1] = Math.max(0, Math.min(255, Math.round(rgb[1])));
      out[o + 2] = Math.max(0, Math.min(255, Math.round(rgb[2])));
    }
  }
  return out;
}

/**
 * The fraction of each patch of a rows x cols grid over frame `f` that the object covers (row-major),
 * sampled at `sub` x `sub` points per patch with the same inside test the renderer uses: the
 * ground truth for the demo's segmentation head.
 */
export function objectCoverage(item: ShapeItem, f: number, rows: number, cols: number, sub = 16): Float32Array {
  const t = item.frames > 1 ? f / (item.frames - 1) : 0.5;
  const st = stateAt(item, t);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let hit = 0;
      for (let sy = 0; sy < sub; sy++) {
        for (let sx = 0; sx < sub; sx++) {
          const fx = (c + (sx + 0.5) / sub) / cols, fy = (r + (sy + 0.5) / sub) / rows;
          if (inside(item.factors.shape, fx - st.x, fy - st.y, st.r, st.angle)) hit++;
        }
      }
      out[r * cols + c] = hit / (sub * sub);
    }
  }
  return out;
}

/**
 * Write the dataset: images/<scene>/<id>.png (label subfolders = scene), clips/<id>/frame_NNN.png
 * (folders of frames), labels.json (SSv2-style, for clips) and factors.json (every item).
 */
export async function writeShapesDataset(dir: string, spec: ShapesSpec = {}): Promise<{ items: ShapeItem[]; imagesDir: string; clipsDir: string }> {
  const size = spec.size ?? 64;
  const items = generateShapes(spec);
  const imagesDir = path.join(dir, 'images');
  const clipsDir = path.join(dir, 'clips');
  // Drawing runs here while sharp encodes earlier frames on its own threads: a few encodes in
  // flight overlap the two (the bytes written do not depend on the order).
  const inFlight = new Set<Promise<unknown>>();
  const write = async (rgb: Uint8Array, file: string) => {
    while (inFlight.size >= 8) await Promise.race(inFlight);
    const p = sharp(Buffer.from(rgb), { raw: { width: size, height: size, channels: 3 } }).png().toFile(file).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  for (const item of items) {
    if (item.kind === 'image') {
      const sub = path.join(imagesDir, item.factors.scene);
      mkdirSync(sub, { recursive: true });
      await write(renderFrame(item, 0, size), path.join(sub, `${item.id}.png`));
    } else {
      const sub = path.join(clipsDir, item.id);
      mkdirSync(sub, { recursive: true });
      for (let f = 0; f < item.frames; f++) await write(renderFrame(item, f, size), path.join(sub, `frame_${String(f).padStart(3, '0')}.png`));
    }
  }
  await Promise.all(inFlight);
  mkdirSync(dir, { recursive: true });
  const clips = items.filter((i) => i.kind === 'clip');
  writeFileSync(path.join(dir, 'labels.json'), `${JSON.stringify(clips.map((c) => ({ id: c.id, label: c.label, template: c.template, placeholders: c.placeholders })), null, 1)}\n`);
  writeFileSync(path.join(dir, 'factors.json'), `${JSON.stringify(items.map((i) => ({ id: i.id, kind: i.kind, ...i.factors, label: i.label })), null, 1)}\n`);
  return { items, imagesDir, clipsDir };
}
