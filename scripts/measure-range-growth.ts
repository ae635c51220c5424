// Measures what exemplars across activation ranges (issue 17) add to an index: builds the fixture
// index, then a copy with the range data removed (table, column, thumbnails only they need), both
// VACUUMed, and prints the bytes of each. Run: npx tsx scripts/measure-range-growth.ts DIR [perLabel] [dSae]
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { buildFixtureIndex } from '../tests/helpers/buildFixtureIndex.js';

const work = path.resolve(process.argv[2] ?? 'range-growth');
const perLabel = Number(process.argv[3] ?? 12);
const dSae = Number(process.argv[4] ?? 192);
fs.rmSync(work, { recursive: true, force: true });
const { indexDir } = await buildFixtureIndex(work, { perLabel, dSae });
const bare = path.join(work, 'index-without-ranges');
fs.cpSync(indexDir, bare, { recursive: true });

const ids = (db: Database.Database, table: string) => {
  const out = new Set<number>();
  for (const r of db.prepare(`SELECT items FROM ${table}`).all() as { items: Buffer }[]) {
    for (const id of new Int32Array(r.items.buffer.slice(r.items.byteOffset, r.items.byteOffset + r.items.byteLength))) out.add(id);
  }
  return out;
};
const db = new Database(path.join(bare, 'index.sqlite'));
const exemplarIds = ids(db, 'exemplars');
const rangeOnly = [...ids(db, 'range_samples')].filter((id) => !exemplarIds.has(id));
db.exec("DROP TABLE range_samples; ALTER TABLE features DROP COLUMN range_counts; DELETE FROM meta WHERE key = 'range_spec'; VACUUM");
db.close();
for (const id of rangeOnly) fs.rmSync(path.join(bare, 'thumbs', `${id}.webp`), { force: true });
const full = new Database(path.join(indexDir, 'index.sqlite'));
full.exec('VACUUM');
full.pragma('wal_checkpoint(TRUNCATE)');
full.close();

const bytes = (dir: string) => {
  let db = 0;
  let thumbs = 0;
  for (const f of fs.readdirSync(dir)) if (f.startsWith('index.sqlite')) db += fs.statSync(path.join(dir, f)).size;
  for (const f of fs.readdirSync(path.join(dir, 'thumbs'))) thumbs += fs.statSync(path.join(dir, 'thumbs', f)).size;
  return { db, thumbs, thumbFiles: fs.readdirSync(path.join(dir, 'thumbs')).length };
};
console.log(JSON.stringify({ perLabel, dSae, with: bytes(indexDir), without: bytes(bare), rangeOnlyThumbnails: rangeOnly.length }));
