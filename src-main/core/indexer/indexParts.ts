import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { StudioError } from '../errors.js';
import { openDatabase } from '../store/openDatabase.js';
import { assertReadable, schemaVersionOf } from '../store/schema.js';
import { INDEX_DB_FILE, thumbnailMode, type IndexConfig, type IndexProgress } from '../store/indexConfig.js';
import { RANGE_SPEC_KEY } from '../store/indexWriter.js';
import type { RangeSpec } from './rangeSamples.js';
import { formatShardSpec, parseShardSpec, type ShardSpec } from './shardSpec.js';

/** Where a part records which part it is: its configuration's request, so a resume with another --shard is refused. */
export const SHARD_REQUEST_KEY = 'shard';

/** One part of a split run, opened read-only for merging. */
export interface IndexPart {
  dir: string;
  db: Database.Database;
  config: IndexConfig;
  progress: IndexProgress;
  shard: ShardSpec;
  rangeSpec: RangeSpec | null;
  /** Number of items and a digest of their paths and labels in id order: the dataset's identity. */
  items: number;
  itemsDigest: string;
}

function meta<T>(db: Database.Database, key: string): T | null {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row ? (JSON.parse(row.value) as T) : null;
}

function digestItems(db: Database.Database): { items: number; itemsDigest: string } {
  const h = crypto.createHash('sha256');
  let items = 0;
  for (const r of db.prepare('SELECT path, label FROM items ORDER BY id').iterate() as Iterable<{ path: string; label: string | null }>) {
    h.update(r.path).update('\0').update(r.label ?? '\u0001').update('\n');
    items++;
  }
  return { items, itemsDigest: h.digest('hex') };
}

/** Opens one part and checks it is a finished part of a split run; the error names the folder. */
export function openIndexPart(dir: string): IndexPart {
  const abs = path.resolve(dir);
  const file = path.join(abs, INDEX_DB_FILE);
  if (!fs.existsSync(file)) {
    throw new StudioError('not-found', `Part ${abs} holds no index (${INDEX_DB_FILE} missing): did its studio index task run? Run it, then merge again.`);
  }
  // SQLite would block forever opening a FIFO and read a device as a database: refuse anything
  // that is not a regular file (a link to one is fine) before opening.
  if (!fs.statSync(file).isFile()) throw new StudioError('bad-input', `Part ${abs}: ${INDEX_DB_FILE} is not a regular file, so it is not an index part.`);
  const db = openDatabase(file, { readonly: true });
  try {
    assertReadable(schemaVersionOf(db), abs);
    const config = meta<IndexConfig>(db, 'config');
    const progress = meta<IndexProgress>(db, 'progress');
    if (!config) throw new StudioError('bad-input', `${abs} holds a database without an index configuration: it is not a Feature Studio index part.`);
    const shardText = config.request[SHARD_REQUEST_KEY];
    if (!shardText) {
      throw new StudioError('bad-input', `${abs} is a whole index, not a part of a split run (it was indexed without --shard i/n).`);
    }
    const { items, itemsDigest } = digestItems(db);
    if (!progress || !progress.complete) {
      const done = progress ? `${progress.cursor} of ${items} items` : 'no checkpoint yet';
      throw new StudioError(
        'bad-input',
        `Part ${shardText} in ${abs} is unfinished (${done}): run its studio index command again (it resumes), then merge.`,
      );
    }
    return { dir: abs, db, config, progress, shard: parseShardSpec(shardText), rangeSpec: meta<RangeSpec>(db, RANGE_SPEC_KEY), items, itemsDigest };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** What must be the same in every part of one run, as (what, value) pairs for naming a difference. */
function identity(p: IndexPart): [string, string][] {
  const c = p.config;
  const request = Object.entries(c.request)
    .filter(([k]) => k !== SHARD_REQUEST_KEY && k !== 'sae')
    .sort(([a], [b]) => a.localeCompare(b));
  return [
    ['SAE weights (hash)', c.sae.hash],
    ['SAE width', String(c.sae.dSae)],
    ['backbone', `${c.model.name} ${JSON.stringify(c.model.tokens)}`],
    ...request.map(([k, v]): [string, string] => [k, v]),
    ['top-k', String(c.topK)],
    ['histogram', JSON.stringify(c.histogram)],
    ['range samples', JSON.stringify(p.rangeSpec)],
    ['kind', c.kind ?? 'images'],
    // A merge keeps the parts' mode (mergeParts copies the first config): they must agree.
    ['thumbnails', thumbnailMode(c)],
    ['frames per clip', String(c.framesPerClip ?? '')],
    ['number of parts', String(p.shard.count)],
    ['dataset', `${p.items} items (digest ${p.itemsDigest.slice(0, 12)})`],
  ];
}

/**
 * Refuses a set of parts that would not merge into one run's index: different inputs or settings
 * (naming what differs and both values), the same part twice, or a missing part.
 */
export function checkPartsAgree(parts: IndexPart[]): void {
  if (parts.length === 0) throw new StudioError('bad-request', 'Give the part folders to merge (studio merge OUT PART...).');
  const first = parts[0]!;
  const ref = identity(first);
  for (const p of parts.slice(1)) {
    const mine = identity(p);
    const diffs = ref.flatMap(([what, v], i) => (mine[i]?.[1] === v && mine[i]?.[0] === what ? [] : [`${what}: ${v} vs ${mine.find(([w]) => w === what)?.[1] ?? '(none)'}`]));
    const extra = mine.filter(([w]) => !ref.some(([r]) => r === w)).map(([w, v]) => `${w}: (none) vs ${v}`);
    if (diffs.length + extra.length > 0) {
      throw new StudioError(
        'bad-input',
        `${p.dir} is not a part of the same run as ${first.dir}: ${[...diffs, ...extra].join('; ')}. Merge only parts indexed with the same arguments apart from --shard.`,
      );
    }
  }
  const count = first.shard.count;
  const byIndex = new Map<number, IndexPart>();
  for (const p of parts) {
    const seen = byIndex.get(p.shard.index);
    if (seen) {
      throw new StudioError('bad-input', `${seen.dir} and ${p.dir} are both part ${formatShardSpec(p.shard)}: give each part once.`);
    }
    byIndex.set(p.shard.index, p);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    const list = missing.slice(0, 10).map((i) => `${i}/${count}`).join(', ');
    throw new StudioError(
      'bad-input',
      `Part${missing.length > 1 ? 's' : ''} ${list}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''} of ${count} missing: the merged index would lack their items. Give every part (0 to ${count - 1}).`,
    );
  }
}
