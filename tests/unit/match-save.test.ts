// Saving a match result (bulk write with the rank index rebuilt) and reading it back in one query.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MatchSummary } from '../../src-main/contract/index.js';
import type { MatchList } from '../../src-main/core/analysis/matchFeatures.js';
import { MatchStore, saveMatch } from '../../src-main/core/analysis/matchStore.js';
import { openDatabase } from '../../src-main/core/store/openDatabase.js';
import { migrate } from '../../src-main/core/store/schema.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'match-save-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const M = 3;
/** Feature f's matches: f+1, f+2, ... with falling scores; feature 2 has one match, feature 3 none. */
function list(features: number, shift: number): MatchList {
  const l: MatchList = { other: new Int32Array(features * M).fill(-1), score: new Float32Array(features * M), lift: new Float32Array(features * M), co: new Int32Array(features * M) };
  for (let f = 0; f < features; f++) {
    const n = f === 2 ? 1 : f === 3 ? 0 : M;
    for (let r = 0; r < n; r++) {
      l.other[f * M + r] = (f + r + shift) % features;
      l.score[f * M + r] = 0.9 - 0.1 * r - 0.01 * f;
      l.lift[f * M + r] = 5 - r;
      l.co[f * M + r] = 10 * (f + 1) + r;
    }
  }
  return l;
}

const side = (name: string, features: number) => ({ indexId: name, path: `/x/${name}`, name, features, live: features });
function summaryOf(features: number): MatchSummary {
  return { a: side('a', features), b: side('b', features), itemsCommon: 9, itemsOnlyA: 0, itemsOnlyB: 0, examplesOnlyA: [], examplesOnlyB: [], coActivePairs: 1, mutual: 0, perFeature: M, seconds: 0, createdAt: '2026-01-01T00:00:00.000Z' };
}

describe('saving a match', () => {
  it('writes every filled slot both ways, replaces an older run, and keeps the rank index', () => {
    const db = openDatabase(path.join(tmp, 'index.sqlite'), { create: true });
    migrate(db, tmp);
    const means = { self: new Float32Array(6), other: new Float32Array(6) };
    saveMatch(db, summaryOf(6), 'h', list(6, 1), list(6, 2), M, means);
    const features = 700; // more rows than one statement batch would hold
    const mine = list(features, 1);
    const theirs = list(features, 5);
    saveMatch(db, summaryOf(features), 'h', mine, theirs, M, means);
    const rows = db.prepare('SELECT run, dir, feature, rank, other, score, lift, co FROM match_best ORDER BY dir, feature, rank').all() as {
      run: number; dir: number; feature: number; rank: number; other: number; score: number; lift: number; co: number;
    }[];
    expect(new Set(rows.map((r) => r.run)).size).toBe(1);
    const expected = [mine, theirs].flatMap((l, dir) =>
      Array.from({ length: features * M }, (_, i) => i)
        .filter((i) => l.other[i]! >= 0)
        .map((i) => ({ dir, feature: Math.floor(i / M), rank: i % M, other: l.other[i]!, score: l.score[i]!, lift: l.lift[i]!, co: l.co[i]! })),
    );
    expect(rows.map(({ run: _run, ...r }) => r)).toEqual(expected);
    const index = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'match_best_rank'").get() as { sql: string } | undefined;
    expect(index?.sql).toBe('CREATE INDEX match_best_rank ON match_best(run, dir, rank, score)');

    // All best matches in one statement equal asking feature by feature.
    const store = new MatchStore(db);
    const best = store.bestMatches('/x/b', 0);
    const perFeature = Array.from({ length: features }, (_, f) => store.featureMatches('/x/b', 0, f, 1).matches[0])
      .filter((m) => m !== undefined)
      .map((m) => ({ feature: m.feature, other: m.other, score: m.score }));
    expect(best).toEqual(perFeature);
    expect(best.length).toBe(features - 1);
    db.close();
  });
});
