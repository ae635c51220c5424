import { z } from 'zod';
import type {
  ApiErrorPayload,
  FlickerFeature,
  ClosestFeature,
  FeatureCategory,
  InterveneResult,
  InterveneSession,
  MatchPairDetail,
  MatchSummary,
  OpenClip,
  PatchFeature,
  QueryImage,
  SimilarFeature,
} from '../../contract/index.js';

// Messages between the analysis services and the analysis worker (matching, patch queries,
// decoder similarity, clips, interventions). Validated on arrival in the worker since they cross a
// thread boundary. Lives in core so that both sides import it without core reaching into worker/.

const side = z.object({ indexId: z.string(), path: z.string(), name: z.string(), features: z.number().int().nonnegative() });
const queryIndex = z.object({ indexId: z.string(), name: z.string(), config: z.any() });

export const analysisRequestSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('match'), id: z.number(), a: side, b: side, memoryBudget: z.number().int().positive().optional() }),
  z.object({ type: z.literal('pair'), id: z.number(), aPath: z.string(), bPath: z.string(), a: z.number().int(), b: z.number().int(), score: z.number().nullable() }),
  /** Decoder similarity in the index folder `dir` (its saved directions, else the checkpoint at saePath). */
  z.object({ type: z.literal('similar'), id: z.number(), dir: z.string(), saeHash: z.string(), saePath: z.string().nullable(), feature: z.number().int().nonnegative(), limit: z.number().int().positive() }),
  /** Every feature's suggested category (search by meaning for a category word), from the index folder `dir`. */
  z.object({ type: z.literal('suggested'), id: z.number(), dir: z.string() }),
  z.object({ type: z.literal('loadImage'), id: z.number(), bytes: z.instanceof(Uint8Array), name: z.string(), indexes: z.array(queryIndex) }),
  z.object({
    type: z.literal('query'),
    id: z.number(),
    key: z.string(),
    imageId: z.string(),
    indexId: z.string(),
    patches: z.array(z.tuple([z.number(), z.number()])),
    weights: z.array(z.number()).nullable(),
    limit: z.number().int().positive(),
  }),
  z.object({ type: z.literal('interveneOpen'), id: z.number(), bytes: z.instanceof(Uint8Array), name: z.string(), head: z.string(), index: queryIndex }),
  z.object({
    type: z.literal('interveneRun'),
    id: z.number(),
    key: z.string(),
    sessionId: z.string(),
    /** Absolute activations (the service scales the view's multiples by each feature's max). */
    edits: z.array(z.object({ feature: z.number().int().nonnegative(), value: z.number().finite() })),
    patches: z.array(z.number().int().nonnegative()).nullable(),
  }),
  z.object({
    type: z.literal('clipOpen'),
    id: z.number(),
    file: z.string(),
    name: z.string(),
    sampling: z.union([z.object({ mode: z.literal('segments'), count: z.number().int().positive() }), z.object({ mode: z.literal('fps'), fps: z.number().positive() })]),
    indexes: z.array(queryIndex).min(1).max(2),
  }),
  z.object({ type: z.literal('flickerFeature'), id: z.number(), key: z.string(), clipId: z.string(), indexId: z.string(), feature: z.number().int() }),
  z.object({
    type: z.literal('clipClosest'),
    id: z.number(),
    key: z.string(),
    clipId: z.string(),
    indexId: z.string(),
    feature: z.number().int(),
    otherIndexId: z.string(),
    limit: z.number().int().positive(),
    maxFeature: z.number().int().positive().nullable(),
  }),
]);

export type AnalysisRequest = z.infer<typeof analysisRequestSchema>;
export type AnalysisType = AnalysisRequest['type'];
export type AnalysisMessage<T extends AnalysisType> = Extract<AnalysisRequest, { type: T }>;
/** What a caller sends: the message without the id the client assigns. */
export type AnalysisPayload<T extends AnalysisType> = Omit<AnalysisMessage<T>, 'id'>;

/** What each request resolves with: the worker's handlers and the client's callers agree on it here. */
export interface AnalysisResults {
  match: MatchSummary;
  pair: MatchPairDetail;
  similar: SimilarFeature[];
  suggested: [number, FeatureCategory | null][];
  loadImage: QueryImage;
  query: PatchFeature[];
  interveneOpen: InterveneSession;
  /** The service adds the edits as applied (multiples scaled by the index's maxima). */
  interveneRun: Omit<InterveneResult, 'edits'>;
  clipOpen: OpenClip;
  flickerFeature: FlickerFeature;
  clipClosest: ClosestFeature[];
}

export type AnalysisProgress = { phase: 'reading' | 'matching' | 'saving'; done: number; total: number };

export type AnalysisReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: ApiErrorPayload }
  | { id: number; progress: AnalysisProgress };
