// The items of an index, searchable by path or label: what the flicker view lists as clips to
// pick instead of asking for a typed path. Only indexed items (status 1). An eager index has
// thumbnails for exemplar items only, an on-demand one for any item while its dataset is present,
// so each row says whether it can show one.
import type { ItemPage } from '../../contract/index.js';
import { thumbnailShown } from '../thumbnails/thumbnailAvailability.js';
import type { IndexReader } from './indexReader.js';

/** More rows than this in one answer is more than a picker list can show. */
export const MAX_ITEM_PAGE = 500;

export function listItems(reader: IndexReader, args: { search?: string; offset?: number; limit?: number }): ItemPage {
  const limit = Math.max(1, Math.min(MAX_ITEM_PAGE, Math.floor(args.limit ?? 100)));
  const offset = Math.max(0, Math.floor(args.offset ?? 0));
  const words = (args.search ?? '').trim().toLowerCase().split(/\s+/).filter(Boolean);
  // Every word must appear in the path or the label (case-insensitive; LIKE wildcards escaped).
  const where = ['status = 1', ...words.map(() => "(LOWER(path) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(label, '')) LIKE ? ESCAPE '\\')")].join(' AND ');
  const params = words.flatMap((w) => {
    const like = `%${w.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return [like, like];
  });
  const total = (reader.db.prepare(`SELECT COUNT(*) AS n FROM items WHERE ${where}`).get(...params) as { n: number }).n;
  const rows = reader.db.prepare(`SELECT id, path, label FROM items WHERE ${where} ORDER BY path LIMIT ? OFFSET ?`).all(...params, limit, offset) as {
    id: number;
    path: string;
    label: string | null;
  }[];
  const shown = thumbnailShown(reader);
  return {
    total,
    items: rows.map((r) => ({ id: r.id, path: r.path, label: r.label, thumbnail: shown(r.id) })),
  };
}
