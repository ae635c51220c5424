// The tables that hold what users record about features. The same layout lives in two places:
// every index.sqlite (schema migration 2, so queryFeatures can join and filter on it) and the
// app-wide tags.sqlite in the settings folder (so another index of the same SAE picks them up).
// Every row is keyed by the SAE's weights hash, never by the index.
export const TAG_TABLES_SQL = `
  CREATE TABLE IF NOT EXISTS feature_tags (
    sae_hash TEXT NOT NULL,
    feature INTEGER NOT NULL,
    category TEXT CHECK (category IN ('scene', 'action', 'object')),
    reviewed INTEGER NOT NULL DEFAULT 0,
    -- ISO time of the last change; when two stores disagree the newer record wins.
    updated_at TEXT NOT NULL,
    PRIMARY KEY (sae_hash, feature)
  );
  CREATE INDEX IF NOT EXISTS feature_tags_category ON feature_tags(sae_hash, category, feature);
  CREATE TABLE IF NOT EXISTS feature_free_tags (
    sae_hash TEXT NOT NULL,
    feature INTEGER NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (sae_hash, feature, tag)
  );
  CREATE INDEX IF NOT EXISTS feature_free_tags_tag ON feature_free_tags(sae_hash, tag, feature);
  CREATE TABLE IF NOT EXISTS feature_notes (
    id INTEGER PRIMARY KEY,
    sae_hash TEXT NOT NULL,
    feature INTEGER NOT NULL,
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    time TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS feature_notes_feature ON feature_notes(sae_hash, feature);
`;
