// The intervene slice of the contract (contract/intervene.ts), implemented directly; arguments
// arrive checked against their schemas (edit count, multiple range, patch list shape).
// The view speaks in multiples of each feature's max activation in the index; this scales them to
// activations and hands the work to the analysis worker, which keeps the models open.
import type {
  ApiOf,
  InterveneOpenArgs,
  InterveneResult,
  InterveneRunArgs,
  InterveneSession,
  interveneMethods,
} from '../../contract/index.js';
import { StudioError } from '../errors.js';
import type { IndexReader } from '../store/indexReader.js';
import type { AnalysisClient } from '../jobs/analysisClient.js';
import { readImageSource } from '../analysis/imageSource.js';

export class InterveneService implements ApiOf<typeof interveneMethods> {
  /** Which index each session belongs to, to scale its edits by that index's maxima. */
  private readonly sessions = new Map<string, string>();

  constructor(
    private readonly reader: (indexId: string) => IndexReader,
    private readonly client: AnalysisClient,
  ) {}

  async interveneOpen({ indexId, head, image }: InterveneOpenArgs): Promise<InterveneSession> {
    const r = this.reader(indexId);
    const { bytes, name } = await readImageSource(image);
    const copy = new Uint8Array(bytes);
    const session = await this.client.call(
      { type: 'interveneOpen', bytes: copy, name, head, index: { indexId: r.id, name: r.config.name, config: r.config } },
      [copy.buffer as ArrayBuffer],
    );
    this.sessions.set(session.sessionId, r.id);
    return session;
  }

  /** A feature's max activation over the index's patch tokens (0 for a dead feature). */
  featureMax(r: IndexReader, feature: number): number {
    const dSae = r.config.sae.dSae;
    if (feature >= dSae) {
      throw new StudioError('bad-request', `Feature ${feature} does not exist in ${r.config.name} (features 0–${dSae - 1}).`);
    }
    const page = r.queryFeatures({ indexId: r.id, sort: 'index', desc: false, offset: 0, limit: 1, filter: { minIndex: feature, maxIndex: feature } });
    return page.rows[0]?.max ?? 0;
  }

  async interveneRun({ sessionId, edits, patches }: InterveneRunArgs): Promise<InterveneResult> {
    const indexId = this.sessions.get(sessionId);
    if (!indexId) throw new StudioError('not-found', 'This intervention session is not open (the studio restarted?). Open the image again.');
    const r = this.reader(indexId);
    const scaled = edits.map((e) => {
      const max = this.featureMax(r, e.feature);
      return { feature: e.feature, multiple: e.multiple, max, value: e.multiple * max };
    });
    const result = await this.client.call({
      type: 'interveneRun',
      key: 'intervene',
      sessionId,
      edits: scaled.map((e) => ({ feature: e.feature, value: e.value })),
      patches,
    });
    return { ...result, edits: scaled };
  }
}
