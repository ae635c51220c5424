import fs from 'node:fs';
import path from 'node:path';
import { THUMBS_DIR, thumbnailMode, type IndexConfig } from '../store/indexConfig.js';
import { thumbnailFile } from '../indexer/writeThumbnails.js';

/**
 * Whether an item's thumbnail can be shown: for an eager index, whether its file exists (exemplar
 * items only); for an on-demand index, whether it exists or can be made, i.e. the dataset folder
 * is there (thumbnailCache.ts makes it when asked). Checked once per call, not per item.
 */
export function thumbnailShown(index: { dir: string; config: IndexConfig }): (itemId: number) => boolean {
  const thumbs = path.join(index.dir, THUMBS_DIR);
  const c = index.config;
  const makeable = thumbnailMode(c) === 'on-demand' && !!c.preprocess && !!c.dataRoot && isFolder(c.dataRoot);
  return (itemId) => makeable || fs.existsSync(path.join(thumbs, thumbnailFile(itemId)));
}

function isFolder(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
