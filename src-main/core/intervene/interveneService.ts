// The service methods for interventions (StudioService delegates here through AnalysisService).
// The view speaks in multiples of each feature's max activation in the index; this scales them to
// activations and hands the work to the analysis worker, which keeps the models open.
import type { InterveneOpenArgs, InterveneResult, InterveneRunArgs, InterveneSession } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import type { IndexReader } from '../store/indexReader.js';
import type { AnalysisClient } from '../jobs/analysisClient.js';
import { readImageSource } from '../analysis/imageSource.js';

/** More features than this at once stops being a readable experiment (and a slider column). */
export const MAX_EDITS = 8;
/** Multiples beyond this are almost surely a typo (the view's sliders go from −3 to 3). */
const MAX_MULTIPLE = 100;

export class InterveneService {
  /** Which index each session belongs to, to scale its edits by that index's maxima. */
  private readonly sessions = new Map<string, string>();

  constructor(
    private readonly reader: (indexId: string) => IndexReader,
    private readonly client: AnalysisClient,
  ) {}

  async open({ indexId, head, image }: InterveneOpenArgs): Promise<InterveneSession> {
    const r = this.reader(indexId);
    if (typeof head !== 'string' || head.trim() === '') {
      throw new StudioError('bad-request', 'Choose a head folder (head.json, head.safetensors and labels.json).');
    }
    const { bytes, name } = await readImageSource(image);
    const copy = new Uint8Array(bytes);
    const session = await this.client.call<InterveneSession>(
      { type: 'interveneOpen', bytes: copy, name, head: head.trim(), index: { indexId: r.id, name: r.config.name, config: r.config } },
      [copy.buffer as ArrayBuffer],
    );
    this.sessions.set(session.sessionId, r.id);
    return session;
  }

  /** A feature's max activation over the index's patch tokens (0 for a dead feature). */
  featureMax(r: IndexReader, feature: number): number {
    const dSae = r.config.sae.dSae;
    if (!Number.isInteger(feature) || feature < 0 || feature >= dSae) {
      throw new StudioError('bad-request', `Feature ${feature} does not exist in ${r.config.name} (features 0–${dSae - 1}).`);
    }
    const page = r.queryFeatures({ indexId: r.id, sort: 'index', desc: false, offset: 0, limit: 1, filter: { minIndex: feature, maxIndex: feature } });
    return page.rows[0]?.max ?? 0;
  }

  async run({ sessionId, edits, patches }: InterveneRunArgs): Promise<InterveneResult> {
    const indexId = this.sessions.get(sessionId);
    if (!indexId) throw new StudioError('not-found', 'This intervention session is not open (the studio restarted?). Open the image again.');
    if (!Array.isArray(edits) || edits.length > MAX_EDITS) throw new StudioError('bad-request', `Give a list of at most ${MAX_EDITS} edits.`);
    if (patches !== null && (!Array.isArray(patches) || patches.length === 0)) {
      throw new StudioError('bad-request', 'Select at least one patch (or give null for every patch).');
    }
    const r = this.reader(indexId);
    const scaled = edits.map((e) => {
      if (typeof e.multiple !== 'number' || !Number.isFinite(e.multiple) || Math.abs(e.multiple) > MAX_MULTIPLE) {
        throw new StudioError('bad-request', `The multiple for feature ${e.feature} must be a number between −${MAX_MULTIPLE} and ${MAX_MULTIPLE}.`);
      }
      const max = this.featureMax(r, e.feature);
      return { feature: e.feature, multiple: e.multiple, max, value: e.multiple * max };
    });
    const result = await this.client.call<Omit<InterveneResult, 'edits'>>({
      type: 'interveneRun',
      key: 'intervene',
      sessionId,
      edits: scaled.map((e) => ({ feature: e.feature, value: e.value })),
      patches,
    });
    return { ...result, edits: scaled };
  }
}
