import { parentPort } from 'node:worker_threads';
import { toErrorPayload, StudioError } from '../core/errors.js';
import { matchIndexFolders, withDb } from '../core/analysis/runMatch.js';
import { pairDetail } from '../core/analysis/matchPair.js';
import { PatchQueryEngine } from '../core/analysis/patchQuery.js';
import type { DecoderDirections } from '../core/analysis/similarFeatures.js';
import { loadDecoderDirections } from '../core/analysis/decoderDirectionsFile.js';
import { scanSuggestedCategories } from '../core/store/suggestedCategories.js';
import { InterveneEngine } from '../core/intervene/interveneEngine.js';
import { FlickerEngine } from '../core/analysis/flickerEngine.js';
import {
  analysisRequestSchema,
  type AnalysisMessage,
  type AnalysisReply,
  type AnalysisResults,
  type AnalysisType,
} from '../core/analysis/analysisProtocol.js';

// The analysis worker: cross-model matching over whole indexes, patch queries (backbone + SAE
// on a new image, sessions kept open), decoder similarity and interventions (a task head before
// and after editing SAE features, models kept open), all off the host's event loop.
// Requests run one at a time in arrival order; a query or image load that a newer one of the
// same kind has replaced while it waited is answered 'superseded' without running.

if (!parentPort) throw new Error('analysisWorker must run as a worker thread');
const port = parentPort;
const engine = new PatchQueryEngine();
const intervene = new InterveneEngine();
const clips = new FlickerEngine();
const directions = new Map<string, DecoderDirections>();
const latest = new Map<string, number>();
let chain: Promise<void> = Promise.resolve();

/** One handler per request type, each answering with what the protocol says that type resolves to. */
const handlers: { [T in AnalysisType]: (msg: AnalysisMessage<T>) => AnalysisResults[T] | Promise<AnalysisResults[T]> } = {
  match: (msg) =>
    matchIndexFolders(
      msg.a,
      msg.b,
      (phase, done, total) => port.postMessage({ id: msg.id, progress: { phase, done, total } } satisfies AnalysisReply),
      { memoryBudgetMiB: msg.memoryBudget },
    ),
  pair: (msg) => withDb(msg.aPath, (dbA) => withDb(msg.bPath, (dbB) => pairDetail(dbA, dbB, msg.a, msg.b, msg.score, msg.bPath))),
  similar: (msg) => {
    let d = directions.get(msg.dir);
    if (!d) {
      d = loadDecoderDirections({ dir: msg.dir, saeHash: msg.saeHash, saePath: msg.saePath });
      directions.clear(); // one SAE's directions at a time: they can be hundreds of MB
      directions.set(msg.dir, d);
    }
    if (msg.feature >= d.dSae) throw new StudioError('not-found', `Feature ${msg.feature} does not exist (features 0–${d.dSae - 1}).`);
    return d.similar(msg.feature, msg.limit);
  },
  suggested: (msg) => withDb(msg.dir, scanSuggestedCategories),
  loadImage: (msg) => {
    if (latest.get('loadImage') !== msg.id) throw new StudioError('superseded', 'A newer image replaced this one.');
    return engine.load(Buffer.from(msg.bytes), msg.name, msg.indexes);
  },
  query: (msg) => {
    if (latest.get(msg.key) !== msg.id) throw new StudioError('superseded', 'A newer query replaced this one.');
    return engine.query(msg.imageId, msg.indexId, msg.patches as [number, number][], msg.weights, msg.limit);
  },
  interveneOpen: (msg) => {
    if (latest.get('interveneOpen') !== msg.id) throw new StudioError('superseded', 'A newer image or head replaced this one.');
    return intervene.open(Buffer.from(msg.bytes), msg.name, msg.head, msg.index);
  },
  interveneRun: (msg) => {
    if (latest.get(msg.key) !== msg.id) throw new StudioError('superseded', 'A newer intervention replaced this one.');
    return intervene.run(msg.sessionId, msg.edits, msg.patches);
  },
  clipOpen: (msg) => {
    if (latest.get('clipOpen') !== msg.id) throw new StudioError('superseded', 'A newer clip replaced this one.');
    return clips.open(msg.file, msg.name, msg.sampling, msg.indexes);
  },
  flickerFeature: (msg) => {
    if (latest.get(msg.key) !== msg.id) throw new StudioError('superseded', 'A newer feature replaced this one.');
    return clips.feature(msg.clipId, msg.indexId, msg.feature);
  },
  clipClosest: (msg) => {
    if (latest.get(msg.key) !== msg.id) throw new StudioError('superseded', 'A newer feature replaced this one.');
    return clips.closest(msg.clipId, msg.indexId, msg.feature, msg.otherIndexId, msg.limit, msg.maxFeature);
  },
};

function handle<T extends AnalysisType>(msg: AnalysisMessage<T>): AnalysisResults[T] | Promise<AnalysisResults[T]> {
  return (handlers[msg.type as T] as (m: AnalysisMessage<T>) => AnalysisResults[T] | Promise<AnalysisResults[T]>)(msg);
}

port.on('message', (raw: unknown) => {
  const parsed = analysisRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : -1;
    port.postMessage({ id, ok: false, error: { code: 'bad-request', message: `Malformed analysis request: ${parsed.error.message}` } } satisfies AnalysisReply);
    return;
  }
  const msg = parsed.data;
  if (msg.type === 'loadImage') latest.set('loadImage', msg.id);
  if (msg.type === 'query' || msg.type === 'interveneRun' || msg.type === 'flickerFeature' || msg.type === 'clipClosest') latest.set(msg.key, msg.id);
  if (msg.type === 'clipOpen') latest.set('clipOpen', msg.id);
  if (msg.type === 'interveneOpen') latest.set('interveneOpen', msg.id);
  chain = chain.then(async () => {
    let reply: AnalysisReply;
    try {
      reply = { id: msg.id, ok: true, result: await handle(msg as AnalysisMessage<AnalysisType>) };
    } catch (err) {
      reply = { id: msg.id, ok: false, error: toErrorPayload(err) };
    }
    port.postMessage(reply);
  });
});
