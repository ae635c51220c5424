// The match, query and video slices of the contract (contract/match.ts, query.ts, video.ts),
// implemented directly: arguments arrive checked against their schemas (hosts/dispatch.ts), so
// only what needs the index is checked here. Heavy work goes to the analysis worker; saved
// matches are read here from SQLite.
import fs from 'node:fs';
import path from 'node:path';
import type {
  ApiOf,
  FlickerFeature,
  ClosestFeature,
  FeatureCategory,
  OpenClip,
  OpenClipArgs,
  FeatureMatches,
  MatchBest,
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
  matchMethods,
  queryMethods,
  videoMethods,
} from '../../contract/index.js';
import { StudioError } from '../errors.js';
import type { IndexReader } from '../store/indexReader.js';
import { suggestedCategoriesVia } from '../store/suggestedCategories.js';
import { AnalysisClient } from '../jobs/analysisClient.js';
import { MatchStore, openIndexDb } from './matchStore.js';
import { InterveneService } from '../intervene/interveneService.js';
import { readImageSource } from './imageSource.js';
import { clipKind, VIDEO_EXTENSIONS } from '../video/frameSources.js';
import type Database from 'better-sqlite3';

type AnalysisApi = ApiOf<typeof matchMethods> & ApiOf<typeof queryMethods> & ApiOf<typeof videoMethods>;

export class AnalysisService implements AnalysisApi {
  private readonly client = new AnalysisClient();
  private readonly dbs = new Map<string, Database.Database>();
  /** Interventions: same worker, so its sessions sit beside the patch query models. */
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

  async matchIndexes({ indexId, otherId, memoryBudget }: { indexId: string; otherId: string; memoryBudget?: number }): Promise<MatchSummary> {
    const [a, b] = this.pairOf(indexId, otherId);
    let last = 0;
    return this.client.call({ type: 'match', a: this.side(a), b: this.side(b), memoryBudget }, [], (p) => {
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
    if (feature >= a.config.sae.dSae) {
      throw new StudioError('bad-request', `Feature ${feature} does not exist in ${a.config.name} (features 0–${a.config.sae.dSae - 1}).`);
    }
    try {
      return this.store(a).featureMatches(b.dir, 0, feature, Math.max(1, Math.min(limit ?? 10, 100)));
    } catch (err) {
      if ((err as { code?: string }).code === 'no-match') throw this.noMatch(a, b);
      throw err;
    }
  }

  async matchBest({ indexId, otherId }: { indexId: string; otherId: string }): Promise<MatchBest[]> {
    const [a, b] = this.pairOf(indexId, otherId);
    try {
      return this.store(a).bestMatches(b.dir, 0);
    } catch (err) {
      if ((err as { code?: string }).code === 'no-match') throw this.noMatch(a, b);
      throw err;
    }
  }

  async matchList(q: MatchListQuery): Promise<MatchListPage> {
    const [a, b] = this.pairOf(q.indexId, q.otherId);
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
      if (f >= r.config.sae.dSae) throw new StudioError('bad-request', `Feature ${f} does not exist in ${r.config.name}.`);
    }
    let score: number | null = null;
    try {
      score = this.store(a).pairScore(b.dir, feature, other);
    } catch {
      score = null;
    }
    return this.client.call({ type: 'pair', aPath: a.dir, bPath: b.dir, a: feature, b: other, score });
  }

  /** Every feature's suggested category, scanned in the worker and kept per index until it changes. */
  suggestedCategories(indexId: string): Promise<ReadonlyMap<number, FeatureCategory | null>> {
    return suggestedCategoriesVia(this.reader(indexId), (dir) => this.client.call({ type: 'suggested', dir }));
  }

  async similarFeatures({ indexId, feature, limit }: { indexId: string; feature: number; limit?: number }): Promise<SimilarFeature[]> {
    const r = this.reader(indexId);
    // The worker reads the directions saved in the index folder, or builds them once from the checkpoint.
    return this.client.call({
      type: 'similar',
      dir: r.dir,
      saeHash: r.config.sae.hash,
      saePath: r.config.request.sae ?? null,
      feature,
      limit: Math.max(1, Math.min(limit ?? 12, 200)),
    });
  }

  async loadQueryImage({ image, indexIds }: { image: QueryImageSource; indexIds: string[] }): Promise<QueryImage> {
    const indexes = indexIds.map((id) => {
      const r = this.reader(id);
      return { indexId: r.id, name: r.config.name, config: r.config };
    });
    const { bytes, name } = await readImageSource(image);
    const copy = new Uint8Array(bytes);
    return this.client.call({ type: 'loadImage', bytes: copy, name, indexes }, [copy.buffer as ArrayBuffer]);
  }

  async queryPatches(q: PatchQuery): Promise<PatchQueryResult> {
    this.reader(q.indexId);
    const limit = Math.max(1, Math.min(q.limit ?? 50, 1000));
    const features = await this.client.call({
      type: 'query',
      key: `query:${q.indexId}`,
      imageId: q.imageId,
      indexId: q.indexId,
      patches: q.patches,
      weights: q.weights ?? null,
      limit,
    });
    return { imageId: q.imageId, indexId: q.indexId, patches: q.patches.length, features };
  }

  async openClip(args: OpenClipArgs): Promise<OpenClip> {
    const r = this.reader(args.indexId);
    const others = args.otherIndexId ? [this.reader(args.otherIndexId)] : [];
    if (others[0]?.id === r.id) throw new StudioError('bad-request', 'Choose a different index for the second SAE.');
    let file: string;
    if (args.path) file = path.resolve(args.path);
    else {
      const root = path.resolve(r.config.dataRoot ?? r.config.request.data ?? '');
      file = path.resolve(root, args.item ?? '');
      if (file !== root && !file.startsWith(root + path.sep)) throw new StudioError('bad-request', `${args.item ?? ''} is outside the index's dataset folder ${root}.`);
    }
    if (!fs.existsSync(file)) throw new StudioError('not-found', `No clip at ${file}.`);
    if (!clipKind(file)) {
      throw new StudioError('bad-input', `${file} is not a clip: give a video file (${VIDEO_EXTENSIONS.join(' ')}), a folder of frames, or an animated GIF/WebP.`);
    }
    // Default: the index's own segment sampling (a video index), else 16 evenly spaced frames.
    const indexSegments = /^segments:(\d+)$/.exec(r.config.request.sampling ?? '');
    const sampling = args.sampling ?? { mode: 'segments', count: indexSegments ? Number(indexSegments[1]) : 16 };
    const indexes = [r, ...others].map((x) => ({ indexId: x.id, name: x.config.name, config: x.config }));
    return this.client.call({ type: 'clipOpen', file, name: path.basename(file), sampling, indexes });
  }

  async flickerFeature({ clipId, indexId, feature }: { clipId: string; indexId: string; feature: number }): Promise<FlickerFeature> {
    this.reader(indexId);
    return this.client.call({ type: 'flickerFeature', key: `flickerFeature:${indexId}`, clipId, indexId, feature });
  }

  async closestFeatures(args: { clipId: string; indexId: string; feature: number; otherIndexId: string; limit?: number; maxFeature?: number | null }): Promise<ClosestFeature[]> {
    this.reader(args.indexId);
    this.reader(args.otherIndexId);
    return this.client.call({
      type: 'clipClosest',
      key: `clipClosest:${args.indexId}`,
      clipId: args.clipId,
      indexId: args.indexId,
      feature: args.feature,
      otherIndexId: args.otherIndexId,
      limit: Math.max(1, Math.min(args.limit ?? 5, 100)),
      maxFeature: args.maxFeature && args.maxFeature > 0 ? args.maxFeature : null,
    });
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
