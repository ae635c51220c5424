import type { HistogramSpec, ModelInfo, SaeInfo } from '../../contract/index.js';

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
  thumbnailsDone: boolean;
}

export const INDEX_DB_FILE = 'index.sqlite';
export const THUMBS_DIR = 'thumbs';
