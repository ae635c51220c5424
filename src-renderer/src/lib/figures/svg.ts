// Small helpers for writing SVG as text. Figures are built as strings (not DOM nodes) so the same
// code runs in the renderer and in Node tests, and what is saved is exactly what was built.

/** Escapes text for XML character data and attribute values. */
export function xml(text: string | number): string {
  return String(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // Control characters other than tab/newline are not allowed in XML 1.0 at all.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/** Coordinates with at most two decimals: shorter files, and no 0.30000000000000004 in them. */
export function n(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** `name="value"` pairs for an element; undefined/null values are left out. */
function attrs(a: Record<string, string | number | null | undefined>): string {
  return Object.entries(a)
    .flatMap(([k, v]) => (v === undefined || v === null ? [] : [` ${k}="${xml(typeof v === 'number' ? n(v) : v)}"`]))
    .join('');
}

export function el(name: string, a: Record<string, string | number | null | undefined>, children?: string): string {
  return children === undefined ? `<${name}${attrs(a)}/>` : `<${name}${attrs(a)}>${children}</${name}>`;
}

/** A text element; `text` is escaped. */
export function text(x: number, y: number, content: string, a: Record<string, string | number | null | undefined> = {}): string {
  return el('text', { x, y, ...a }, xml(content));
}

/** Hex colour of 8-bit channels: the most portable form for paper tools (Inkscape, Illustrator). */
export function hex([r, g, b]: readonly [number, number, number]): string {
  return `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Shortens text to about `maxWidth` pixels at `fontSize`. SVG text cannot be measured without a
 * layout engine, so this uses an average glyph width (0.55 em for Helvetica/Arial);
 * long dataset paths keep their end, which holds the file name.
 */
export function fitText(content: string, maxWidth: number, fontSize: number, keep: 'start' | 'end' = 'start'): string {
  const max = Math.max(3, Math.floor(maxWidth / (fontSize * 0.55)));
  if (content.length <= max) return content;
  return keep === 'end' ? `…${content.slice(content.length - max + 1)}` : `${content.slice(0, max - 1)}…`;
}

/** A figure ready to save: the SVG text and its size in CSS pixels (PNG export doubles it). */
export interface FigureSvg {
  svg: string;
  width: number;
  height: number;
  /** Download name without extension, e.g. `CLIP-24K_6909-exemplars`. */
  name: string;
}

/** A file-name-safe stem: the feature id's slash becomes `_`, anything unusual `-`. */
export function fileStem(...parts: string[]): string {
  return parts
    .map((p) => p.replace(/\//g, '_').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, ''))
    .filter((p) => p !== '')
    .join('-');
}
