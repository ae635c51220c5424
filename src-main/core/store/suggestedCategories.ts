// The suggested category (core/tags/suggestCategory.ts) of every live feature of an index, for
// search by meaning ("scene" also finds the features the rule calls scene).
//
// Why not featureDetail per feature: that prepares five statements and reads the feature's row,
// tags, item paths and every range sample's map, of which the rule needs none; at 24K features it
// held the host's event loop for seconds on every search for a category word. Here one statement
// walks the exemplars table once, reading only what the rule reads (each exemplar's map and label,
// the feature's switch rate), with the same decoding as featureDetail, so the answer is the same.
// The rule depends on the index alone (not on tags), so the result is kept per reader until the
// index changes (an index still being built grows: its progress marks the version). The service
// runs the scan in the analysis worker (suggestedCategoriesVia), off the host's event loop; the
// synchronous suggestedCategories is for callers without one (tests, scripts).
import type Database from 'better-sqlite3';
import type { FeatureCategory } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import type { IndexConfig } from './indexConfig.js';
import { suggestCategory } from '../tags/suggestCategory.js';
import { unpackExemplars } from './exemplarBlobs.js';
import { decodePatchMap } from './patchMapCodec.js';
import type { IndexReader } from './indexReader.js';

interface Cached {
  version: string;
  categories: ReadonlyMap<number, FeatureCategory | null>;
}

const cache = new WeakMap<IndexReader, Cached>();

/** What the kept result is valid for: an index still being built moves on as it grows. */
function versionOf(reader: IndexReader): string {
  const p = reader.progress();
  return `${p.cursor}:${p.tokens}:${p.complete}`;
}

/** The kept result for this reader, or null when there is none for the index as it is now. */
export function keptSuggestions(reader: IndexReader): ReadonlyMap<number, FeatureCategory | null> | null {
  const hit = cache.get(reader);
  return hit && hit.version === versionOf(reader) ? hit.categories : null;
}

/** Keeps a result computed elsewhere (the analysis worker) for the index as it was at `version`. */
export function keepSuggestions(reader: IndexReader, version: string, categories: ReadonlyMap<number, FeatureCategory | null>): void {
  if (version === versionOf(reader)) cache.set(reader, { version, categories });
}

/** Runs `scan` for the reader's index unless a result is kept; the host-side (synchronous) path. */
export function suggestedCategories(reader: IndexReader): ReadonlyMap<number, FeatureCategory | null> {
  const kept = keptSuggestions(reader);
  if (kept) return kept;
  const version = versionOf(reader);
  const categories = new Map(scanSuggestedCategories(reader.db));
  keepSuggestions(reader, version, categories);
  return categories;
}

/** The asynchronous path: the scan runs wherever `scan` sends it (the analysis worker), the result is kept here. */
export async function suggestedCategoriesVia(
  reader: IndexReader,
  scan: (dir: string) => Promise<[number, FeatureCategory | null][]>,
): Promise<ReadonlyMap<number, FeatureCategory | null>> {
  const kept = keptSuggestions(reader);
  if (kept) return kept;
  const version = versionOf(reader);
  const categories = new Map(await scan(reader.dir));
  keepSuggestions(reader, version, categories);
  return categories;
}

/**
 * Feature → suggested category (null: no suggestion) for every feature with exemplars, read from an
 * index database alone (so the analysis worker can run it on its own connection).
 */
export function scanSuggestedCategories(db: Database.Database): [number, FeatureCategory | null][] {
  const config = JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'config'").pluck().get() as string | undefined) ?? 'null') as IndexConfig | null;
  if (!config) throw new StudioError('bad-input', 'This index was never initialised (no config). Re-run the indexer.');
  const [rows, cols] = config.model.tokens.grid;
  const patches = rows * cols;
  const dSae = config.sae.dSae;
  const labelOf = db.prepare('SELECT label FROM items WHERE id = ?').pluck();
  // Exemplar items repeat across features: look each label up once.
  const labels = new Map<number, string | null>();
  const label = (item: number): string | null => {
    let l = labels.get(item);
    if (l === undefined) {
      l = (labelOf.get(item) as string | null | undefined) ?? null;
      labels.set(item, l);
    }
    return l;
  };
  const out: [number, FeatureCategory | null][] = [];
  const scan = db
    .prepare('SELECT e.feature, e.n, e.items, e.vals, e.maps, f.switch_rate FROM exemplars e JOIN features f ON f.id = e.feature WHERE e.n > 0 ORDER BY e.feature')
    .iterate() as Iterable<{ feature: number; n: number; items: Buffer; vals: Buffer; maps: Buffer; switch_rate: number | null }>;
  for (const r of scan) {
    if (r.feature >= dSae) continue;
    let upper = 0;
    const exemplars = unpackExemplars(r, patches).map((e) => {
      const patchMap = decodePatchMap(e.map, patches);
      for (const v of patchMap) if (v > upper) upper = v;
      return { patchMap, label: label(e.item) };
    });
    const s = suggestCategory({ feature: r.feature, exemplars, upper, temporal: r.switch_rate != null ? { switchRate: r.switch_rate } : null });
    out.push([r.feature, s.category]);
  }
  return out;
}
