import { z } from 'zod';
import { featureNumber, indexId, optionalLimit } from './common.js';
import { returns, type MethodTable } from './method.js';

// Cross-model matching of two indexes of the same dataset (run in the analysis worker, saved in
// both), and the features of one SAE whose decoder directions are closest.

/** One side of a match run, as the UI names it. */
export interface MatchSide {
  indexId: string;
  path: string;
  name: string;
  features: number;
  /** Features that fired on at least one common item. */
  live: number;
}

/** A saved match between two indexes of the same dataset, from `a`'s point of view. */
export interface MatchSummary {
  a: MatchSide;
  b: MatchSide;
  /** Items present in both (paired by relative path), and in one only. */
  itemsCommon: number;
  itemsOnlyA: number;
  itemsOnlyB: number;
  /** Example paths present in one index only (at most a few), to explain a mismatch. */
  examplesOnlyA: string[];
  examplesOnlyB: string[];
  /** (item, feature of A, feature of B) triples that were accumulated: the cost of matching. */
  coActivePairs: number;
  mutual: number;
  /** Matches kept per feature and direction. */
  perFeature: number;
  seconds: number;
  createdAt: string;
}

/** A feature's match on the other side: correlation across items and lift on exemplars. */
export interface MatchEntry {
  feature: number;
  other: number;
  /** Pearson correlation across common items of max-over-patches activations (sparse approximation). */
  score: number;
  /** Mean of `other` on `feature`'s exemplars over its mean on all common items. */
  lift: number;
  /** Items where both are among their item's strongest features. */
  coCount: number;
}

export interface FeatureMatches {
  feature: number;
  /** Best first. Empty when the feature never fired on a common item. */
  matches: MatchEntry[];
  /** True when the best match also picks this feature as its best. */
  mutual: boolean;
}

/** A feature's best match only (the `studio match --json` export). */
export interface MatchBest {
  feature: number;
  other: number;
  score: number;
}

const matchListKind = z.enum(['mutual', 'no-counterpart']);
export type MatchListKind = z.infer<typeof matchListKind>;

const matchListQuery = z.strictObject({
  indexId,
  otherId: indexId,
  kind: matchListKind,
  /** For 'no-counterpart': best score below this (default 0.3). */
  threshold: z.number().optional(),
  /** Only pairs co-active on at least this many images (default 1): hides matches of very rare features. */
  minCoActive: z.number().optional(),
  sort: z.enum(['score', 'feature', 'lift']),
  desc: z.boolean(),
  offset: z.number().int().nonnegative(),
  limit: z.number().int().nonnegative(),
});
export type MatchListQuery = z.infer<typeof matchListQuery>;


export interface MatchListPage {
  total: number;
  offset: number;
  /** For 'no-counterpart', `other` is the best (too weak) match, or -1 when there is none. */
  rows: MatchEntry[];
}

/** A chosen pair looked at closely: lift both ways and the patch-level refinement. */
export interface MatchPairDetail {
  a: number;
  b: number;
  score: number | null;
  liftAB: number;
  liftBA: number;
  /** The common grid both patch maps were resampled to (by area), e.g. [14, 14]. */
  grid: [number, number];
  /** Pearson correlation of the two features over (item, cell) of the common grid, on the items compared. */
  patchCorrelation: number | null;
  /** Mean over those items of the overlap (sum of min / sum of max) of the two normalised maps. */
  patchOverlap: number | null;
  /** Items whose patch maps of both features were available (exemplars of both). */
  itemsCompared: number;
  /** Why the refinement is missing or partial. */
  note: string | null;
}

export interface SimilarFeature {
  feature: number;
  /** Cosine similarity of the decoder directions. */
  cosine: number;
}


/** Progress of a running match (matchIndexes), for the match view. */
export interface MatchProgress {
  indexId: string;
  otherId: string;
  phase: 'reading' | 'matching' | 'saving';
  done: number;
  total: number;
}


const pair = z.strictObject({ indexId, otherId: indexId });

export const matchMethods = {
  /** Matches two indexes of the same dataset (in the worker) and saves the result into both. */
  matchIndexes: {
    args: pair.extend({
      /** MiB one pass of the match may hold (default 1024): more passes when smaller, the same result. */
      memoryBudget: z.number().int().positive().max(1024 * 1024).optional(),
    }),
    result: returns<MatchSummary>(),
    errors: ['not-found', 'bad-request', 'bad-input', 'cancelled'],
  },
  /** Stops the running match (nothing is saved); false when none was running. */
  cancelMatch: {
    args: null,
    result: returns<boolean>(),
    errors: [],
  },
  /** The saved match with another index, or null when none was run. */
  matchSummary: {
    args: pair,
    result: returns<MatchSummary | null>(),
    errors: ['not-found', 'bad-request'],
  },
  /** Saved matches of this index: the other index paths, to reopen them. */
  matchRuns: {
    args: z.strictObject({ indexId }),
    result: returns<{ path: string; name: string; createdAt: string }[]>(),
    errors: ['not-found'],
  },
  featureMatches: {
    args: z.strictObject({ indexId, otherId: indexId, feature: featureNumber, limit: optionalLimit }),
    result: returns<FeatureMatches>(),
    errors: ['not-found', 'bad-request'],
  },
  /** Every feature's best match in the other index, by feature (all at once, for exports). */
  matchBest: {
    args: pair,
    result: returns<MatchBest[]>(),
    errors: ['not-found', 'bad-request'],
  },
  matchList: {
    args: matchListQuery,
    result: returns<MatchListPage>(),
    errors: ['not-found', 'bad-request'],
  },
  matchPair: {
    args: z.strictObject({ indexId, otherId: indexId, feature: featureNumber, other: featureNumber }),
    result: returns<MatchPairDetail>(),
    errors: ['not-found', 'bad-request'],
  },
  /** Features of the same SAE whose decoder directions are closest to this one's. */
  similarFeatures: {
    args: z.strictObject({ indexId, feature: featureNumber, limit: optionalLimit }),
    result: returns<SimilarFeature[]>(),
    errors: ['not-found'],
  },
} satisfies MethodTable;
