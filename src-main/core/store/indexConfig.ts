import type { HistogramSpec, ModelInfo, SaeInfo, ThumbnailMode } from '../../contract/index.js';
import type { PreprocessSpec } from '../backbone/manifest.js';

/** What an index was built from; written once, compared on resume. */
export interface IndexConfig {
  name: string;
  createdAt: string;
  model: ModelInfo;
  sae: SaeInfo;
  /** Absolute dataset folder, so thumbnails can be regenerated and a resume can check it. */
  dataRoot: string;
  topK: number;
  histogram: HistogramSpec;
  labels: string[];
  /** What the activations came from (model/layer/data, or shards/layer/images) and the SAE path. */
  request: Record<string, string>;
  /** Absent for image indexes (older ones included). */
  kind?: 'images' | 'videos';
  /** Videos with segment sampling: frames (or tubelet steps) per clip. */
  framesPerClip?: number | null;
  /**
   * Image indexes: whether every exemplar's thumbnail was written by the build ('eager') or each is
   * made from the dataset when first shown ('on-demand', core/thumbnails/thumbnailCache.ts).
   * Absent (older indexes, video indexes): eager, their files exist.
   */
  thumbnails?: ThumbnailMode;
  /** The crop the model saw, so a thumbnail made later lines up with the patch grid. */
  preprocess?: PreprocessSpec;
}

/** How thumbnails of this index come about; indexes from before the choice wrote them all. */
export function thumbnailMode(config: Pick<IndexConfig, 'thumbnails'>): ThumbnailMode {
  return config.thumbnails ?? 'eager';
}

/** Streaming state saved with every checkpoint. */
export interface IndexProgress {
  /** Items [0, cursor) are done (indexed or skipped). */
  cursor: number;
  tokens: number;
  activeEntries: number;
  skipped: number;
  provider: string;
  complete: boolean;
  /** The build's thumbnail phase is over: eager, every exemplar's written; on-demand, none to write. */
  thumbnailsDone: boolean;
}

export const INDEX_DB_FILE = 'index.sqlite';
export const THUMBS_DIR = 'thumbs';
