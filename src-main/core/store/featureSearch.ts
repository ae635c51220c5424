// Search by meaning: one text box that finds features by what people wrote about them
// (free tags, note text, the category they set), by the suggested category, and by dataset label
// (features whose exemplars concentrate on a label). The feature table's filters apply unchanged
// (IndexReader.filteredFeatureIds runs the table's own WHERE clause).
import type { FeatureCategory, FeatureFilter, FeatureSearchHit, FeatureSearchMatch, FeatureSearchPage } from '../../contract/index.js';
import { FEATURE_CATEGORIES } from '../../contract/index.js';
import type { IndexReader } from './indexReader.js';
import { suggestedCategories } from './suggestedCategories.js';

export const MAX_SEARCH_PAGE = 500;
/** Notes can be long: a hit shows the part around the match. */
const NOTE_SNIPPET = 120;

interface Candidate {
  feature: number;
  matches: FeatureSearchMatch[];
  /** 2: the user wrote it (tag, note, category); 1: the suggested category; 0: only a label. */
  stated: number;
  labelCount: number;
  exemplars: number;
}

/** Every dataset label the text names: exact (case-insensitive) matches, else labels containing it. */
export function matchingLabels(labels: string[], text: string): string[] {
  const t = text.trim().toLowerCase();
  if (!t) return [];
  const exact = labels.filter((l) => l.toLowerCase() === t);
  // 'dog' should not also pull in 'hotdog' when the dataset has a 'dog' class; a partial word
  // ('des' for 'desert') still finds something when nothing is named exactly that.
  return (exact.length > 0 ? exact : labels.filter((l) => l.toLowerCase().includes(t))).sort();
}

function snippet(text: string, at: number): string {
  if (text.length <= NOTE_SNIPPET) return text;
  const start = Math.max(0, Math.min(at - 30, text.length - NOTE_SNIPPET));
  return `${start > 0 ? '…' : ''}${text.slice(start, start + NOTE_SNIPPET)}${start + NOTE_SNIPPET < text.length ? '…' : ''}`;
}

/** The category a search text names ("scene", "action", "object"; any case), or null. */
export function categoryNamed(text: string): FeatureCategory | null {
  const t = typeof text === 'string' ? text.trim().toLowerCase() : '';
  return (FEATURE_CATEGORIES.find((k) => k === t) as FeatureCategory | undefined) ?? null;
}

/**
 * `suggested`: every feature's suggested category, when the caller has it (the service asks the
 * analysis worker, see suggestedCategories.ts); else it is computed here when the text names a category.
 */
export function searchFeatures(
  reader: IndexReader,
  args: { text: string; filter?: FeatureFilter; limit?: number; offset?: number },
  suggested?: ReadonlyMap<number, FeatureCategory | null>,
): FeatureSearchPage {
  const limit = Math.max(1, Math.min(MAX_SEARCH_PAGE, Math.floor(args.limit ?? 50)));
  const offset = Math.max(0, Math.floor(args.offset ?? 0));
  const text = typeof args.text === 'string' ? args.text.trim() : '';
  if (!text) return { total: 0, offset, labels: [], hits: [] };
  const needle = text.toLowerCase();
  const db = reader.db;
  const hash = reader.config.sae.hash;
  const allowed = reader.filteredFeatureIds(args.filter ?? {});
  const found = new Map<number, Candidate>();
  const hit = (feature: number): Candidate | null => {
    if (!allowed.has(feature)) return null;
    let c = found.get(feature);
    if (!c) {
      c = { feature, matches: [], stated: 0, labelCount: 0, exemplars: 0 };
      found.set(feature, c);
    }
    return c;
  };

  // instr() on lower() instead of LIKE: a '%' or '_' typed in the box is just a character.
  const tags = db
    .prepare('SELECT feature, tag FROM feature_free_tags WHERE sae_hash = ? AND instr(lower(tag), ?) > 0 ORDER BY feature, tag')
    .all(hash, needle) as { feature: number; tag: string }[];
  for (const t of tags) {
    const c = hit(t.feature);
    if (!c) continue;
    c.matches.push({ kind: 'tag', text: t.tag });
    c.stated = 2;
  }
  const notes = db
    .prepare('SELECT feature, text FROM feature_notes WHERE sae_hash = ? AND instr(lower(text), ?) > 0 ORDER BY feature, id')
    .all(hash, needle) as { feature: number; text: string }[];
  for (const n of notes) {
    const c = hit(n.feature);
    if (!c) continue;
    c.matches.push({ kind: 'note', text: snippet(n.text, n.text.toLowerCase().indexOf(needle)) });
    c.stated = 2;
  }

  const category = categoryNamed(text);
  if (category) {
    const set = db.prepare('SELECT feature FROM feature_tags WHERE sae_hash = ? AND category = ? ORDER BY feature').pluck().all(hash, category) as number[];
    const userSet = new Set(set);
    for (const f of set) {
      const c = hit(f);
      if (!c) continue;
      c.matches.push({ kind: 'category', text: category });
      c.stated = 2;
    }
    // The suggestion rule reads each feature's exemplar maps: asked only when the text is a
    // category name, in one pass over the index, kept until the index changes.
    for (const [f, s] of suggested ?? suggestedCategories(reader)) {
      if (s !== category || !allowed.has(f)) continue;
      const c = hit(f)!;
      c.matches.push({ kind: 'suggested', text: category });
      if (!userSet.has(f)) c.stated = Math.max(c.stated, 1);
    }
  }

  const labels = matchingLabels(
    db.prepare('SELECT DISTINCT label FROM items WHERE status = 1 AND label IS NOT NULL').pluck().all() as string[],
    text,
  );
  if (labels.length > 0) {
    const marks = labels.map(() => '?').join(', ');
    const labelled = new Set(db.prepare(`SELECT id FROM items WHERE label IN (${marks})`).pluck().all(...labels) as number[]);
    // Only the items blob is read: the maps column after it is never touched.
    const rows = db.prepare('SELECT feature, n, items FROM exemplars WHERE n > 0').iterate() as Iterable<{ feature: number; n: number; items: Buffer }>;
    for (const r of rows) {
      if (!allowed.has(r.feature)) continue;
      const items = new Int32Array(r.items.buffer.slice(r.items.byteOffset, r.items.byteOffset + r.items.byteLength));
      let count = 0;
      for (const it of items) if (labelled.has(it)) count++;
      if (count === 0) continue;
      const c = hit(r.feature)!;
      c.labelCount = count;
      c.exemplars = r.n;
      c.matches.push({ kind: 'label', text: labels.join(', ') });
    }
  }
  // Exemplar counts for text hits too, so every hit reads the same way.
  const nOf = db.prepare('SELECT n FROM exemplars WHERE feature = ?').pluck();
  for (const c of found.values()) if (c.exemplars === 0) c.exemplars = (nOf.get(c.feature) as number | undefined) ?? 0;

  // What a person wrote about a feature is a direct statement and comes first; then the suggested
  // category; label hits rank by purity, then by how many exemplars carry the label, then by id.
  const purity = (c: Candidate) => (c.exemplars > 0 ? c.labelCount / c.exemplars : 0);
  const ranked = [...found.values()].sort(
    (a, b) => b.stated - a.stated || purity(b) - purity(a) || b.labelCount - a.labelCount || a.feature - b.feature,
  );
  const page = ranked.slice(offset, offset + limit);
  const rows = new Map(reader.featureRows(page.map((c) => c.feature)).map((r) => [r.feature, r]));
  const hits: FeatureSearchHit[] = page
    .filter((c) => rows.has(c.feature))
    .map((c) => ({ row: rows.get(c.feature)!, matches: c.matches, labelCount: c.labelCount, labelPurity: purity(c), exemplars: c.exemplars }));
  return { total: ranked.length, offset, labels, hits };
}
