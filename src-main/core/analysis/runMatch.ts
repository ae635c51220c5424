import path from 'node:path';
import type Database from 'better-sqlite3';
import type { MatchSummary } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import { DEFAULT_MEMORY_BUDGET_MIB } from '../indexer/memoryBudget.js';
import { INDEX_DB_FILE } from '../store/indexConfig.js';
import { matchPairedItems } from './matchFeatures.js';
import { openIndexDb, readConfig, readExemplarItems, saveMatch, summariesOf } from './matchStore.js';
import { withPairedItems } from './pairedItemsDb.js';

export interface MatchSide {
  indexId: string;
  path: string;
  name: string;
  features: number;
}

export type MatchPhase = 'reading' | 'matching' | 'saving';

/** Opens an index database for one synchronous piece of work and always closes it. */
export function withDb<T>(dir: string, fn: (db: Database.Database) => T): T {
  const db = openIndexDb(dir);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/**
 * Matches the features of two index folders of the same dataset and saves the result into both.
 * Synchronous and CPU-bound: callers run it in a worker (the analysis worker, or the demo builder
 * inside the index worker). The items are streamed from both databases in passes that each hold
 * at most `memoryBudgetMiB` (default: the indexer's budget) besides the per-feature lists, so
 * memory does not grow with the item count; a smaller budget means more passes, not less accuracy.
 */
export function matchIndexFolders(
  a: MatchSide,
  b: MatchSide,
  onProgress: (phase: MatchPhase, done: number, total: number) => void = () => {},
  options: { memoryBudgetMiB?: number } = {},
): MatchSummary {
  const t0 = performance.now();
  return withDb(a.path, (dbA) =>
    withDb(b.path, (dbB) => {
      const cfgA = readConfig(dbA);
      const cfgB = readConfig(dbB);
      const exA = readExemplarItems(dbA);
      const exB = readExemplarItems(dbB);
      const result = withPairedItems(dbA, path.join(b.path, INDEX_DB_FILE), (items) =>
        matchPairedItems(items, cfgA.sae.dSae, cfgB.sae.dSae, {
          exemplarsA: (f) => exA.get(f) ?? null,
          exemplarsB: (f) => exB.get(f) ?? null,
          memoryBudgetBytes: (options.memoryBudgetMiB ?? DEFAULT_MEMORY_BUDGET_MIB) * 1024 * 1024,
          onProgress,
        }),
      );
      onProgress('saving', 0, 1);
      if (result.itemsCommon < 2) {
        throw new StudioError(
          'bad-input',
          `${a.name} and ${b.name} share ${result.itemsCommon} item(s) (paired by relative path; ${result.itemsOnlyA} only in the first, e.g. ${result.examplesOnlyA[0] ?? '-'}; ${result.itemsOnlyB} only in the second, e.g. ${result.examplesOnlyB[0] ?? '-'}). Matching needs two indexes of the same dataset.`,
        );
      }
      const seconds = (performance.now() - t0) / 1000;
      const { forA, forB } = summariesOf(result, a, b, seconds);
      saveMatch(dbA, forA, cfgB.sae.hash, result.aToB, result.bToA, result.perFeature, { self: result.meansA, other: result.meansB });
      saveMatch(dbB, forB, cfgA.sae.hash, result.bToA, result.aToB, result.perFeature, { self: result.meansB, other: result.meansA });
      return forA;
    }),
  );
}
