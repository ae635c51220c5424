// Saved cross-model matches (schema migration 3). One run per pair of indexes, stored in BOTH
// index databases with both directions, so each index reopens its matches without the other.
// `dir` 0: this index's features -> the other's; 1: the other's features -> this index's.
export const MATCH_TABLES_SQL = `
  CREATE TABLE match_runs (
    id INTEGER PRIMARY KEY,
    other_path TEXT NOT NULL UNIQUE,
    other_name TEXT NOT NULL,
    other_sae_hash TEXT NOT NULL,
    summary TEXT NOT NULL,          -- MatchSummary JSON, with this index as side a
    means_self BLOB,                -- Float32 per feature of this index: mean over common items
    means_other BLOB                -- the same for the other index's features (lift of any pair)
  );
  CREATE TABLE match_best (
    run INTEGER NOT NULL,
    dir INTEGER NOT NULL,
    feature INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    other INTEGER NOT NULL,
    score REAL NOT NULL,
    lift REAL NOT NULL,
    co INTEGER NOT NULL,
    PRIMARY KEY (run, dir, feature, rank)
  ) WITHOUT ROWID;
  CREATE INDEX match_best_rank ON match_best(run, dir, rank, score);
`;

/** The secondary index above, which saveMatch drops and rebuilds around a bulk write (same definition). */
export const MATCH_BEST_RANK_INDEX = {
  name: 'match_best_rank',
  sql: 'CREATE INDEX match_best_rank ON match_best(run, dir, rank, score)',
} as const;
