// The item page: one item of an index with every feature the index stored as active on
// it (item_acts: its strongest features by max over patches), each feature's tags, and each one's
// map over the image. Maps are not stored per item, so the image is re-encoded through the same
// engine `studio query` uses (loadQueryImage + queryPatches over every patch): the page's maps and
// sums are by construction what `studio query --patches all` reports for the same image.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { ItemDetail, ItemFeature, PatchQuery, PatchQueryResult, QueryImage, QueryImageSource } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import type { IndexReader } from '../store/indexReader.js';
import { thumbnailShown } from '../thumbnails/thumbnailAvailability.js';

/** The patch query calls of the service (run in the analysis worker). */
export interface ItemQueryEngine {
  loadQueryImage(args: { image: QueryImageSource; indexIds: string[] }): Promise<QueryImage>;
  queryPatches(args: PatchQuery): Promise<PatchQueryResult>;
}

/** queryPatches answers at most this many features; stored features outside them get no map. */
const QUERY_LIMIT = 1000;

/** Absolute path of an item on this machine ('' when the index was built from cached activations). */
export function itemFile(reader: IndexReader, relative: string): string {
  const root = reader.config.dataRoot ?? reader.config.request.data ?? '';
  if (!root) return '';
  const abs = path.resolve(root);
  const file = path.resolve(abs, relative);
  // Item paths come from the index's own scan, but a tampered index must not point outside its dataset.
  return file === abs || file.startsWith(abs + path.sep) ? file : '';
}

export async function itemDetail(reader: IndexReader, args: { item: number; maps?: boolean }, engine: ItemQueryEngine): Promise<ItemDetail> {
  const id = args.item;
  const row = reader.itemRow(id);
  if (!row || row.status !== 1) {
    throw new StudioError('not-found', `${reader.config.name} has no indexed item ${id}${row ? ` (${row.path} was skipped)` : ''}.`);
  }
  const file = itemFile(reader, row.path);
  const video = (reader.config.kind ?? 'images') === 'videos';
  const acts = reader.itemActivations(id);
  const rows = new Map(reader.featureRows(acts.map((a) => a.feature)).map((r) => [r.feature, r]));
  let grid = reader.config.model.tokens.grid;

  let mapsProblem: string | null = null;
  let preview: string | null = null;
  let width: number | null = null;
  let height: number | null = null;
  let answered: Map<number, { value: number; patchMap: number[] }> | null = null;
  if (video) mapsProblem = 'This item is a clip: open it in the flicker view for its maps frame by frame.';
  else if (!reader.config.request.model) mapsProblem = `${reader.config.name} was built from cached activations without a backbone manifest, so its items cannot be re-encoded for maps.`;
  else if (!file || !fs.existsSync(file)) mapsProblem = `The image is not at ${file || '(no dataset folder recorded)'} any more, so its maps cannot be computed.`;
  else if (args.maps === false) mapsProblem = 'Maps were not asked for.';
  else {
    try {
      const loaded = await engine.loadQueryImage({ image: { path: file }, indexIds: [reader.id] });
      const view = loaded.views[0]!;
      grid = view.grid;
      preview = view.preview;
      width = loaded.sourceWidth;
      height = loaded.sourceHeight;
      const [R, C] = view.grid;
      const patches = Array.from({ length: R * C }, (_, p) => [Math.floor(p / C), p % C] as [number, number]);
      const r = await engine.queryPatches({ imageId: loaded.imageId, indexId: reader.id, patches, limit: QUERY_LIMIT });
      answered = new Map(r.features.map((f) => [f.feature, { value: f.value, patchMap: f.patchMap }]));
    } catch (err) {
      if (!(err instanceof StudioError) && !(err as { code?: string })?.code) throw err;
      mapsProblem = (err as Error).message;
    }
  }
  if (width === null && file && fs.existsSync(file) && !video) {
    try {
      const meta = await sharp(file, { autoOrient: true }).metadata();
      width = meta.autoOrient?.width ?? meta.width ?? null;
      height = meta.autoOrient?.height ?? meta.height ?? null;
    } catch {
      // An unreadable file: the page says so through mapsProblem; size stays unknown.
    }
  }

  let upper = 0;
  const features: ItemFeature[] = acts.map((a) => {
    const fr = rows.get(a.feature);
    const q = answered?.get(a.feature);
    if (q) for (const v of q.patchMap) if (v > upper) upper = v;
    return {
      feature: a.feature,
      value: a.value,
      category: fr?.category ?? null,
      tags: fr?.tags ?? [],
      noteCount: fr?.noteCount ?? 0,
      // A stored feature the re-encoding did not rank within QUERY_LIMIT (or did not find at all:
      // a model changed since indexing) has no map rather than a made-up one.
      patchMap: answered ? (q?.patchMap ?? null) : null,
      sum: answered ? (q?.value ?? null) : null,
    };
  });
  return {
    indexId: reader.id,
    item: {
      id,
      path: row.path,
      file,
      label: row.label,
      thumbnail: thumbnailShown(reader)(id),
      width,
      height,
      frames: row.frames,
    },
    grid,
    features,
    upper,
    preview,
    mapsProblem,
  };
}
