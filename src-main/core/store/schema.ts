import type Database from 'better-sqlite3';
import { StudioError } from '../errors.js';
import { TAG_TABLES_SQL } from '../tags/tagTables.js';
import { MATCH_TABLES_SQL } from '../analysis/matchTables.js';

/** Bump when the layout changes, and add a migration from the previous version. */
export const SCHEMA_VERSION = 5;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    -- Every item of the dataset in scan order; status 0 pending, 1 indexed, 2 skipped.
    CREATE TABLE items (
      id INTEGER PRIMARY KEY,
      path TEXT NOT NULL UNIQUE,
      label TEXT,
      status INTEGER NOT NULL DEFAULT 0,
      reason TEXT
    );
    CREATE TABLE features (
      id INTEGER PRIMARY KEY,
      count REAL NOT NULL,
      sum REAL NOT NULL,
      max REAL NOT NULL,
      log_freq REAL NOT NULL,
      mean REAL NOT NULL,
      cls_count REAL NOT NULL,
      cls_max REAL NOT NULL,
      hist BLOB NOT NULL            -- Uint32 counts per log bin
    );
    CREATE INDEX features_log_freq ON features(log_freq, id);
    CREATE INDEX features_mean ON features(mean, id);
    CREATE INDEX features_max ON features(max, id);
    -- One row per feature: its top-k packed best first (items Int32, values Float32, patch maps
    -- float16 [k, patches] row-major over the grid). Packed rows keep checkpoints cheap.
    -- Per item, its strongest features by max over patches (for cross-model matching and
    -- per-image queries): up to ITEM_TOP_FEATURES feature ids (Int32) and float16 values, best first.
    CREATE TABLE item_acts (
      item INTEGER PRIMARY KEY,
      feats BLOB NOT NULL,
      vals BLOB NOT NULL
    );
    CREATE TABLE exemplars (
      feature INTEGER PRIMARY KEY,
      n INTEGER NOT NULL,
      items BLOB NOT NULL,
      vals BLOB NOT NULL,
      maps BLOB NOT NULL
    );
  `,
  // Tags, notes and reviewed marks per (SAE hash, feature); see tags/tagTables.ts.
  2: TAG_TABLES_SQL,
  3: MATCH_TABLES_SQL,
  // Video indexes, additive: frames per clip, per-clip traces of its strongest features
  // (feats Int32 [n], traces float16 [n x T] row-major: max over patches per frame / tubelet step),
  // and per-feature temporal statistics (NULL when undefined, and for image indexes).
  4: `
    ALTER TABLE items ADD COLUMN frames INTEGER;
    CREATE TABLE clip_traces (
      item INTEGER PRIMARY KEY,
      feats BLOB NOT NULL,
      traces BLOB NOT NULL
    );
    ALTER TABLE features ADD COLUMN autocorr REAL;
    ALTER TABLE features ADD COLUMN switch_rate REAL;
    CREATE INDEX features_autocorr ON features(autocorr, id);
    CREATE INDEX features_switch_rate ON features(switch_rate, id);
    -- Running sums of the temporal accumulators (Float64), committed with each checkpoint.
    CREATE TABLE temporal_state (name TEXT PRIMARY KEY, data BLOB NOT NULL);
  `,
  // Exemplars across activation ranges (see indexer/rangeSamples.ts), additive: per
  // feature, items per range (Uint32 [ranges]) beside the histogram, and one row of kept samples
  // packed like the exemplars (items Int32, values Float32, patch maps float16 [n, patches]) plus
  // each sample's range (Int32 [n]). Indexes built before this have no meta 'range_spec' and
  // their features NULL range_counts: the views say the samples are not in the index.
  5: `
    ALTER TABLE features ADD COLUMN range_counts BLOB;
    CREATE TABLE range_samples (
      feature INTEGER PRIMARY KEY,
      n INTEGER NOT NULL,
      ranges BLOB NOT NULL,
      items BLOB NOT NULL,
      vals BLOB NOT NULL,
      maps BLOB NOT NULL
    );
  `,
};

/**
 * Indexes that only make reads faster (the feature table's orders, see featureOrder.ts): created
 * when missing, on every open and build, without a schema version, so indexes written before them
 * gain them on first open (once, a fraction of a second at 100k features) and older studios still
 * read the file. Every sortable column has a (column, id) index; the others came with migrations.
 */
const READ_INDEXES_SQL = `
  CREATE INDEX IF NOT EXISTS features_count ON features(count, id);
`;

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings a writable database up to SCHEMA_VERSION; refuses one written by a newer studio. */
export function migrate(db: Database.Database, where: string): void {
  const current = userVersion(db);
  assertReadable(current, where);
  for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v}`);
    })();
  }
  db.exec(READ_INDEXES_SQL);
}

export function assertReadable(version: number, where: string): void {
  if (version > SCHEMA_VERSION) {
    throw new StudioError(
      'schema-too-new',
      `${where} was written by a newer Feature Studio (index schema ${version}; this version reads up to ${SCHEMA_VERSION}). Update Feature Studio to open it.`,
    );
  }
}

export function schemaVersionOf(db: Database.Database): number {
  return userVersion(db);
}
