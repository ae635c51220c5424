import type { ModelInfo } from '../../../contract/index.js';
import type { PreprocessSpec } from '../../backbone/manifest.js';
import type { ItemList } from '../../dataset/packedItemList.js';

/** A batch as loaded from disk (decoded images, or shard bytes), before any inference. */
export interface LoadedBatch {
  /** The first item id and one past the last (ids ascend; a part of a split run skips some between). */
  start: number;
  end: number;
  /** The item ids loaded, ascending. */
  ids: number[];
  skipped: { item: number; reason: string }[];
}

/**
 * Where the indexer's activations come from: images through an ONNX backbone, or saev's cached
 * activation shards. Either way the indexer receives, per good item, the CLS row (when the layout
 * has one) followed by the patch rows in grid order, registers already dropped.
 */
export interface ActivationSource<B extends LoadedBatch = LoadedBatch> {
  readonly items: ItemList;
  readonly labels: string[];
  /** Folder the item paths are relative to, when thumbnails can be made; else null. */
  readonly imageRoot: string | null;
  readonly preprocess: PreprocessSpec | null;
  readonly model: ModelInfo;
  readonly family: string;
  readonly d: number;
  readonly hasCls: boolean;
  readonly provider: string;
  /** What identifies the source in the index config, for resume checks. */
  readonly identity: Record<string, string>;
  /** Items [start, end). */
  load(start: number, end: number): Promise<B>;
  /** The given item ids (ascending), e.g. one part's items of a split run (--shard). */
  loadItems(ids: number[]): Promise<B>;
  activations(batch: B): Promise<{ rows: Float32Array; items: number[] }>;
  close(): Promise<void>;
}
