import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { preprocessImage } from '../backbone/preprocess.js';
import type { PreprocessSpec } from '../backbone/manifest.js';
import type { IndexWriter } from '../store/indexWriter.js';
import { THUMBS_DIR } from '../store/indexConfig.js';

export const THUMBNAIL_MAX_SIDE = 224;

export function thumbnailFile(itemId: number): string {
  return `${itemId}.webp`;
}

/** A clip's frame strip: every sampled frame side by side (video indexes). */
export function stripFile(itemId: number): string {
  return `${itemId}-strip.webp`;
}

/** One item's thumbnail as the build writes it: the model's exact input pixels, scaled to the thumbnail side. */
export async function eagerThumbnail(file: string, spec: PreprocessSpec): Promise<Buffer> {
  const { rgb } = await preprocessImage(file, spec);
  const side = Math.min(spec.crop, THUMBNAIL_MAX_SIDE);
  return sharp(rgb, { raw: { width: spec.crop, height: spec.crop, channels: 3 } })
    .resize(side, side, { kernel: 'lanczos3' })
    .webp({ quality: 85 })
    .toBuffer();
}

/**
 * Thumbnails for exemplar items only, written after the pass when the exemplar set is final: each
 * is exactly the crop the model saw (so the patch grid lines up with the heatmap), shared by every
 * feature that item is an exemplar of. Existing files are kept, so a resumed run skips them.
 * Only eager indexes (IndexConfig.thumbnails); on-demand ones make them when shown (thumbnailCache.ts).
 */
export async function writeThumbnails(
  writer: IndexWriter,
  dataRoot: string,
  spec: PreprocessSpec,
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void; concurrency?: number } = {},
): Promise<void> {
  const dir = path.join(writer.dir, THUMBS_DIR);
  fs.mkdirSync(dir, { recursive: true });
  const items = writer.exemplarItems();
  const todo = items.filter((it) => !fs.existsSync(path.join(dir, thumbnailFile(it.id))));
  let done = items.length - todo.length;
  opts.onProgress?.(done, items.length);
  let next = 0;
  const worker = async () => {
    while (next < todo.length && !opts.signal?.aborted) {
      const it = todo[next++]!;
      const target = path.join(dir, thumbnailFile(it.id));
      try {
        const tmp = `${target}.tmp`;
        fs.writeFileSync(tmp, await eagerThumbnail(path.join(dataRoot, it.path), spec));
        fs.renameSync(tmp, target);
      } catch {
        // The image decoded during the pass; if it vanished since, the tile shows a placeholder.
      }
      done++;
      opts.onProgress?.(done, items.length);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
}
