// Tag files for sharing between people and labs.
//
// CSV: header `feature,category,tags,note,author,time,reviewed` (the first four are what a
// spreadsheet needs; only `feature` is required on import). Tags are `;`-separated. A feature with
// several notes takes one row per note, repeating its category and tags. `feature` may be the
// index (6909) or the full name (CLIP-24K/6909).
//
// JSON: {"format": "feature-studio-tags", "version": 1, "sae": {hash, ...}, "features": [{"feature",
// "category", "tags", "notes": [{"text", "author", "time"}], "reviewed"}]}.
import type { FeatureCategory, FeatureNote, FeatureTags, SaeInfo, TagFileFormat } from '../../contract/index.js';
import { FEATURE_CATEGORIES } from '../../contract/index.js';
import { normaliseTag } from './tagStore.js';

const CSV_COLUMNS = ['feature', 'category', 'tags', 'note', 'author', 'time', 'reviewed'] as const;

export interface TagFileSae {
  hash: string;
  name?: string;
  format?: string;
  architecture?: string;
  dIn?: number;
  dSae?: number;
}

export interface ParsedTagFile {
  /** The SAE the file says it belongs to (JSON only; CSV carries no identity). */
  sae: TagFileSae | null;
  records: FeatureTags[];
  skipped: { where: string; reason: string }[];
}

export function tagFileFormatOf(fileName: string): TagFileFormat | null {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.json')) return 'json';
  return null;
}

export function saeIdentity(name: string, sae: SaeInfo): TagFileSae {
  return { hash: sae.hash, name, format: sae.format, architecture: sae.architecture, dIn: sae.dIn, dSae: sae.dSae };
}

// ---------------------------------------------------------------- writing

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function writeTagsCsv(records: FeatureTags[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of records) {
    const base = [String(r.feature), r.category ?? '', r.tags.join(';')];
    const reviewed = r.reviewed ? 'yes' : '';
    if (r.notes.length === 0) lines.push([...base, '', '', '', reviewed].map(csvField).join(','));
    for (const n of r.notes) lines.push([...base, n.text, n.author, n.time, reviewed].map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

export function writeTagsJson(sae: TagFileSae, records: FeatureTags[], exportedAt: string): string {
  return `${JSON.stringify(
    {
      format: 'feature-studio-tags',
      version: 1,
      exportedAt,
      sae,
      features: records.map((r) => ({ feature: r.feature, category: r.category, tags: r.tags, notes: r.notes, reviewed: r.reviewed })),
    },
    null,
    2,
  )}\n`;
}

// ---------------------------------------------------------------- reading

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF; returns rows with their line numbers. */
function parseCsv(text: string): { line: number; fields: string[] }[] {
  const rows: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const src = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      fields.push(field);
      if (fields.length > 1 || fields[0] !== '') rows.push({ line: rowLine, fields });
      fields = [];
      field = '';
      line++;
      rowLine = line;
    } else field += c;
  }
  if (field !== '' || fields.length) {
    fields.push(field);
    if (fields.length > 1 || fields[0] !== '') rows.push({ line: rowLine, fields });
  }
  return rows;
}

function parseFeature(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const m = /^(?:.*\/)?\s*(\d+)\s*$/.exec(value.trim());
  return m ? Number(m[1]) : null;
}

function parseCategory(value: unknown): FeatureCategory | null | 'bad' {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') return 'bad';
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'none' || v === 'null') return null;
  return (FEATURE_CATEGORIES as readonly string[]).includes(v) ? (v as FeatureCategory) : 'bad';
}

function parseReviewed(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return false;
  return ['yes', 'true', '1', 'y', 'x', 'reviewed'].includes(value.trim().toLowerCase());
}

function splitTags(value: string): string[] {
  return value.split(/[;|]/).map(normaliseTag).filter(Boolean);
}

/** Collects records per feature (a feature may appear on several CSV rows). */
class RecordBuilder {
  private readonly byFeature = new Map<number, FeatureTags>();
  readonly skipped: { where: string; reason: string }[] = [];

  add(where: string, feature: number, category: FeatureCategory | null, tags: string[], notes: FeatureNote[], reviewed: boolean): void {
    let r = this.byFeature.get(feature);
    if (!r) {
      r = { feature, category: null, tags: [], notes: [], reviewed: false };
      this.byFeature.set(feature, r);
    }
    if (category) {
      if (r.category && r.category !== category) {
        this.skipped.push({ where, reason: `feature ${feature} is '${r.category}' on an earlier row and '${category}' here; kept '${r.category}'` });
      } else r.category = category;
    }
    for (const t of tags) if (!r.tags.includes(t)) r.tags.push(t);
    r.notes.push(...notes);
    r.reviewed = r.reviewed || reviewed;
  }

  records(): FeatureTags[] {
    return [...this.byFeature.values()].sort((a, b) => a.feature - b.feature).map((r) => ({ ...r, tags: [...r.tags].sort() }));
  }
}

export function parseTagsCsv(text: string, defaults: { author: string; time: string }): ParsedTagFile {
  const rows = parseCsv(text);
  if (rows.length === 0) throw new Error('The CSV file is empty: expected a header line `feature,category,tags,note`.');
  const header = rows[0]!.fields.map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  if (col('feature') < 0) {
    throw new Error(`The CSV header has no 'feature' column (found: ${header.join(', ') || 'nothing'}). Expected \`feature,category,tags,note\`.`);
  }
  const b = new RecordBuilder();
  for (const { line, fields } of rows.slice(1)) {
    const get = (name: string) => (col(name) >= 0 ? (fields[col(name)] ?? '') : '');
    const where = `line ${line}`;
    const feature = parseFeature(get('feature'));
    if (feature === null) {
      b.skipped.push({ where, reason: `'${get('feature')}' is not a feature index` });
      continue;
    }
    const category = parseCategory(get('category'));
    if (category === 'bad') {
      b.skipped.push({ where, reason: `category '${get('category')}' is not scene, action or object` });
      continue;
    }
    const noteText = get('note').trim();
    const notes = noteText ? [{ text: noteText, author: get('author').trim() || defaults.author, time: get('time').trim() || defaults.time }] : [];
    b.add(where, feature, category, splitTags(get('tags')), notes, parseReviewed(get('reviewed')));
  }
  return { sae: null, records: b.records(), skipped: b.skipped };
}

export function parseTagsJson(text: string, defaults: { author: string; time: string }): ParsedTagFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`The JSON file could not be parsed (${(err as Error).message}).`);
  }
  if (!data || typeof data !== 'object' || !Array.isArray((data as { features?: unknown }).features)) {
    throw new Error('The JSON file has no "features" array: expected {"sae": {...}, "features": [{"feature": 0, "category": "scene", ...}]}.');
  }
  const d = data as { sae?: unknown; features: unknown[] };
  const sae = d.sae && typeof d.sae === 'object' && typeof (d.sae as TagFileSae).hash === 'string' ? (d.sae as TagFileSae) : null;
  const b = new RecordBuilder();
  d.features.forEach((entry, i) => {
    const where = `features[${i}]`;
    if (!entry || typeof entry !== 'object') {
      b.skipped.push({ where, reason: 'not an object' });
      return;
    }
    const e = entry as Record<string, unknown>;
    const feature = parseFeature(e.feature);
    if (feature === null) {
      b.skipped.push({ where, reason: `'${String(e.feature)}' is not a feature index` });
      return;
    }
    const category = parseCategory(e.category);
    if (category === 'bad') {
      b.skipped.push({ where, reason: `category '${String(e.category)}' is not scene, action or object` });
      return;
    }
    const tags = Array.isArray(e.tags) ? e.tags.filter((t): t is string => typeof t === 'string').map(normaliseTag).filter(Boolean) : [];
    const notes: FeatureNote[] = [];
    const rawNotes = Array.isArray(e.notes) ? e.notes : typeof e.note === 'string' ? [{ text: e.note }] : [];
    for (const n of rawNotes) {
      const note = typeof n === 'string' ? { text: n } : (n as Record<string, unknown>);
      if (!note || typeof note.text !== 'string' || !note.text.trim()) continue;
      notes.push({
        text: note.text.trim(),
        author: typeof note.author === 'string' && note.author.trim() ? note.author.trim() : defaults.author,
        time: typeof note.time === 'string' && note.time.trim() ? note.time.trim() : defaults.time,
      });
    }
    b.add(where, feature, category, tags, notes, parseReviewed(e.reviewed));
  });
  return { sae, records: b.records(), skipped: b.skipped };
}
