// One on-demand thumbnail: the dataset image cropped exactly as the indexer's preprocessing crops it
// (backbone/preprocess.ts: shortest-side or squash resize, torchvision's centre crop), so the patch
// grid drawn over it lines up with the heatmaps, then scaled to the thumbnail side. Unlike
// preprocessImage this runs entirely in sharp's own pipeline (libvips threads, off the main
// thread): the PIL-exact JS resampling is needed for model inputs, not for a picture on screen.
import fs from 'node:fs';
import sharp from 'sharp';
import { centreCropOffset, resizedSize } from '../backbone/preprocess.js';
import type { PreprocessSpec } from '../backbone/manifest.js';
import { THUMBNAIL_MAX_SIDE } from '../indexer/writeThumbnails.js';
import { readCheckedFile } from '../util/checkedRead.js';

const KERNELS = { bicubic: 'cubic', bilinear: 'linear' } as const;

/** Same quality as the indexer's eager thumbnails (writeThumbnails.ts). */
const WEBP_QUALITY = 85;
/**
 * Encoder effort 2 instead of sharp's default 4: on a 224px thumbnail measured 3.5 ms instead of
 * 15 ms (most of a render), for files about 3% larger at the same error. A page waits for these.
 */
const WEBP_EFFORT = 2;

/**
 * Renders `source` (an image file) as the thumbnail the eager indexer would have written, into
 * `target` by way of a temporary file and a rename, so a reader never sees half a file. Returns the
 * bytes written. Throws when the image cannot be read or decoded, or is smaller than the crop.
 */
export async function renderThumbnail(source: string, spec: PreprocessSpec, target: string): Promise<number> {
  const bytes = await readCheckedFile(source, 'image');
  // Decoded size after EXIF orientation, as preprocessImage sees it.
  const meta = await sharp(bytes, { autoOrient: true }).metadata();
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) throw new Error(`cannot decode image ${source}`);
  const resized = resizedSize(width, height, spec);
  if (resized.width < spec.crop || resized.height < spec.crop) {
    throw new Error(`${source}: resized to ${resized.width}x${resized.height}, smaller than the ${spec.crop}px crop`);
  }
  const crop = {
    left: centreCropOffset(resized.width, spec.crop),
    top: centreCropOffset(resized.height, spec.crop),
    width: spec.crop,
    height: spec.crop,
  };
  const side = Math.min(spec.crop, THUMBNAIL_MAX_SIDE);
  // fastShrinkOnLoad off: JPEG shrink-on-load may round the scale and shift the crop by a pixel.
  let pipeline = sharp(bytes, { autoOrient: true })
    .removeAlpha()
    .toColourspace('srgb')
    .resize(resized.width, resized.height, { fit: 'fill', kernel: KERNELS[spec.interpolation], fastShrinkOnLoad: false })
    .extract(crop);
  if (side !== spec.crop) {
    // sharp resizes once per pipeline: the crop goes through raw pixels to the second resize.
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    pipeline = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).resize(side, side, { kernel: 'lanczos3' });
  }
  const webp = await pipeline.webp({ quality: WEBP_QUALITY, effort: WEBP_EFFORT }).toBuffer();
  const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await fs.promises.writeFile(tmp, webp);
    await fs.promises.rename(tmp, target);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  return webp.length;
}
