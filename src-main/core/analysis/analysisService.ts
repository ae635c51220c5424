// The service methods for matching, patch queries and similar features (StudioService delegates
// here). Heavy work goes to the analysis worker; saved matches are read here from SQLite.
import fs from 'node:fs';
import path from 'node:path';
import type {
  FeatureMatches,
  MatchListPage,
  MatchListQuery,
  MatchPairDetail,
  MatchSummary,
  PatchQuery,
  PatchQueryResult,
  QueryImage,
  QueryImageSource,
  SimilarFeature,
  StudioEvent,
} from '../../contract/index.js';
import { StudioError } from '../errors.js';
import type { IndexReader } from '../store/indexReader.js';
import { AnalysisClient } from '../jobs/analysisClient.js';
import { MatchStore, openIndexDb } from './matchStore.js';
import { InterveneService } from '../intervene/interveneService.js';
import { readImageSource } from './imageSource.js';
import type Database from 'better-sqlite3';

export class AnalysisService {
  private readonly client = new AnalysisClient();
  private readonly dbs = new Map<string, Database.Database>();
  /** Interventions (issue 9): same worker, so its sessions sit beside the patch query models. */
  readonly intervene: InterveneService;

  constructor(
    private readonly reader: (indexId: string) => IndexReader,
    private readonly emit: (event: StudioEvent) => void = () => {},
  ) {
    this.intervene = new InterveneService(reader, this.client);
  }

  private store(r: IndexReader): MatchStore {
    let db = this.dbs.get(r.dir);
    if (!db) {
      db = openIndexDb(r.dir);
      this.dbs.set(r.dir, db);
    }
    return new MatchStore(db);
  }

  private side(r: IndexReader) {
    return { indexId: r.id, path: r.dir, name: r.config.name, features: r.config.sae.dSae };
  }

  private pairOf(indexId: string, otherId: string): [IndexReader, IndexReader] {
    if (indexId === otherId) throw new StudioError('bad-request', 'Choose two different indexes to match.');
    return [this.reader(indexId), this.reader(otherId)];
  }

  private noMatch(a: IndexReader, b: IndexReader): StudioError {
    return new StudioError('not-found', `${a.config.name} has not been matched with ${b.config.name} (${b.dir}) yet. Run the match first.`);
  }

  async matchIndexes({ indexId, otherId }: { indexId: string; otherId: string }): Promise<MatchSummary> {
    const [a, b] = this.pairOf(indexId, otherId);
    let last = 0;
    return this.client.call<MatchSummary>({ type: 'match', a: this.side(a), b: this.side(b) }, [], (p) => {
      const now = Date.now();
      if (now - last < 200 && p.phase !== 'saving') return;
      last = now;
      this.emit({ type: 'match-progress', progress: { indexId, otherId, ...p } });
    });
  }

  /** Stops a running match (nothing is saved); false when none was running. */
  async cancelMatch(): Promise<boolean> {
    return this.client.cancel('match');
  }

  async matchSummary({ indexId, otherId }: { indexId: string; otherId: string }): Promise<MatchSummary | null> {
    const [a, b] = this.pairOf(indexId, otherId);
    const s = this.store(a).summary(b.dir);
    // Ids are per host session: refresh them from the readers.
    return s ? { ...s, a: { ...s.a, indexId: a.id }, b: { ...s.b, indexId: b.id } } : null;
  }

  async matchRuns({ indexId }: { indexId: string }) {
    return this.store(this.reader(indexId)).runs().filter((r) => fs.existsSync(r.path));
  }

  async featureMatches({ indexId, otherId, feature, limit }: { indexId: string; otherId: string; feature: number; limit?: number }): Promise<FeatureMatches> {
    const [a, b] = this.pairOf(indexId, otherId);
    if (!Number.isInteger(feature) || feature < 0 || feature >= a.config.sae.dSae) {
      throw new StudioError('bad-request', `Feature ${feature} does not exist in ${a.config.name} (features 0–${a.config.sae.dSae - 1}).`);
    }
    try {
      return this.store(a).featureMatches(b.dir, 0, feature, Math.max(1, Math.min(limit ?? 10, 100)));
    } catch (err) {
      if ((err as { code?: string }).code === 'no-match') throw this.noMatch(a, b);
      throw err;
    }
  }

  async matchList(q: MatchListQuery): Promise<MatchListPage> {
    const [a, b] = this.pairOf(q.indexId, q.otherId);
    if (q.kind !== 'mutual' && q.kind !== 'no-counterpart') throw new StudioError('bad-request', `Unknown match list '${String(q.kind)}'.`);
    try {
      return this.store(a).list(b.dir, q);
    } catch (err) {
      if ((err as { code?: string }).code === 'no-match') throw this.noMatch(a, b);
      throw err;
    }
  }

  async matchPair({ indexId, otherId, feature, other }: { indexId: string; otherId: string; feature: number; other: number }): Promise<MatchPairDetail> {
    const [a, b] = this.pairOf(indexId, otherId);
    for (const [f, r] of [[feature, a], [other, b]] as const) {
      if (!Number.isInteger(f) || f < 0 || f >= r.config.sae.dSae) throw new StudioError('bad-request', `Feature ${f} does not exist in ${r.config.name}.`);
    }
    let score: number | null = null;
    try {
      score = this.store(a).pairScore(b.dir, feature, other);
    } catch {
      score = null;
    }
    return this.client.call<MatchPairDetail>({ type: 'pair', aPath: a.dir, bPath: b.dir, a: feature, b: other, score });
  }

  async similarFeatures({ indexId, feature, limit }: { indexId: string; feature: number; limit?: number }): Promise<SimilarFeature[]> {
    const r = this.reader(indexId);
    const saePath = r.config.request.sae;
    if (!saePath || !fs.existsSync(saePath)) {
      throw new StudioError('not-found', `The SAE checkpoint this index was built from is not at ${saePath ?? '(unknown)'} any more; similar features need its decoder.`);
    }
    if (!Number.isInteger(feature) || feature < 0) throw new StudioError('bad-request', `Feature must be a non-negative integer (got ${feature}).`);
    return this.client.call<SimilarFeature[]>({ type: 'similar', saePath, feature, limit: Math.max(1, Math.min(limit ?? 12, 200)) });
  }

  async loadQueryImage({ image, indexIds }: { image: QueryImageSource; indexIds: string[] }): Promise<QueryImage> {
    if (!Array.isArray(indexIds) || indexIds.length === 0 || indexIds.length > 4) throw new StudioError('bad-request', 'Give one to four index ids.');
    const indexes = indexIds.map((id) => {
      const r = this.reader(id);
      return { indexId: r.id, name: r.config.name, config: r.config };
    });
    const { bytes, name } = await readImageSource(image);
    const copy = new Uint8Array(bytes);
    return this.client.call<QueryImage>({ type: 'loadImage', bytes: copy, name, indexes }, [copy.buffer as ArrayBuffer]);
  }

  async queryPatches(q: PatchQuery): Promise<PatchQueryResult> {
    this.reader(q.indexId);
    if (!Array.isArray(q.patches)) throw new StudioError('bad-request', 'patches must be a list of [row, column].');
    const limit = Math.max(1, Math.min(q.limit ?? 50, 1000));
    const features = await this.client.call<PatchQueryResult['features']>({
      type: 'query',
      key: `query:${q.indexId}`,
      imageId: String(q.imageId),
      indexId: q.indexId,
      patches: q.patches,
      weights: q.weights ?? null,
      limit,
    });
    return { imageId: q.imageId, indexId: q.indexId, patches: q.patches.length, features };
  }

  /** Drops cached connections to an index folder (before it is rebuilt). */
  forget(dir: string): void {
    this.dbs.get(dir)?.close();
    this.dbs.delete(dir);
  }

  async close(): Promise<void> {
    await this.client.close();
    for (const db of this.dbs.values()) db.close();
    this.dbs.clear();
  }
}
