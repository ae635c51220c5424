// Image -> model input, following the torchvision pipelines the SAEs were trained behind
// (open_clip's Resize(shortest side) + CenterCrop, saev's squash + CenterCrop): sharp decodes,
// pilResample.ts resizes and crops.
//
// Choices, and why:
// - Interpolation: 'bicubic' and 'bilinear' are computed as Pillow's Image.resize computes BICUBIC
//   and BILINEAR (antialiased, a = -0.5 cubic, fixed-point rounding), in JS on the decoded pixels.
//   No sharp/libvips kernel reproduces that convolution: on real photos its 'cubic' was 0.1-0.2
//   grey levels off PIL on average (max 6) when downscaling and 3.5 (max 39) when upscaling, its
//   'lanczos3' and 'mitchell' 0.3-1 (max 25); see tests/unit/preprocess-pil-parity.test.ts. The
//   port gives PIL's bytes exactly, and sharp's JPEG decode matched Pillow's on the fixtures.
//   Cost: a few ms per typical photo, ~200 ms for a 12-megapixel one (JS, single-threaded).
// - Alpha is dropped, not composited: this is what PIL's `convert('RGB')` in those pipelines does,
//   so the model sees the same colours it was trained on (and nothing is premultiplied).
// - Greyscale (and CMYK, 16-bit, palette) images are converted to 8-bit sRGB, as PIL's convert('RGB').
// - EXIF orientation is applied (the image as a person sees it). PIL does not do this, so a
//   rotated JPEG differs from what a PyTorch pipeline would feed; we prefer what users see in
//   the thumbnails.
// - Shortest-side resize: the short side becomes resizeTo and the long side
//   floor(resizeTo * long / short), as torchvision's Resize(int) computes it.
// - Centre crop offset: round((W - crop) / 2) with Python's round-half-to-even, exactly as
//   torchvision's center_crop, so e.g. a 5-pixel margin starts the crop at 2, a 3-pixel one at 2.
//   (HF image processors floor instead: a 115-pixel margin starts at 57 there, 58 here.)
import { readCheckedFile, UnsafeFileError } from '../util/checkedRead.js';
import sharp, { type OutputInfo } from 'sharp';
import type { PreprocessSpec } from './manifest.js';
import { PIL_FILTERS, resizeCropRgb } from './pilResample.js';

export interface PreprocessedImage {
  /** Normalised CHW float32, crop x crop: (v / 255 - mean[c]) / std[c]. */
  pixels: Float32Array;
  /** crop x crop x 3 uint8 RGB: exactly the pixels the model saw (for thumbnails and overlays). */
  rgb: Buffer;
  /** Decoded size (after EXIF orientation) before resizing. */
  sourceWidth: number;
  sourceHeight: number;
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Top-left offset of a centred crop, as torchvision computes it. */
export function centreCropOffset(size: number, crop: number): number {
  return roundHalfEven((size - crop) / 2);
}

/** Size after resizing, before the crop. */
export function resizedSize(width: number, height: number, spec: Pick<PreprocessSpec, 'resize' | 'resizeTo'>): { width: number; height: number } {
  if (spec.resize === 'squash') return { width: spec.resizeTo, height: spec.resizeTo };
  if (width <= height) return { width: spec.resizeTo, height: Math.floor((spec.resizeTo * height) / width) };
  return { width: Math.floor((spec.resizeTo * width) / height), height: spec.resizeTo };
}

/** Per-channel lookup tables uint8 -> normalised float, so the hot loop is a table read. */
const lutCache = new Map<string, Float32Array[]>();
function normalisationTables(mean: readonly number[], std: readonly number[]): Float32Array[] {
  const key = `${mean.join(',')}|${std.join(',')}`;
  let tables = lutCache.get(key);
  if (!tables) {
    tables = [0, 1, 2].map((c) => {
      const t = new Float32Array(256);
      // Same order of float32 operations as ToTensor() then Normalize(): v/255, then (x-m)/s.
      for (let v = 0; v < 256; v++) t[v] = (Math.fround(v / 255) - Math.fround(mean[c]!)) / Math.fround(std[c]!);
      return t;
    });
    lutCache.set(key, tables);
  }
  return tables;
}

function describe(input: string | Buffer, label: string | undefined): string {
  if (label) return label;
  return typeof input === 'string' ? input : `image buffer (${input.byteLength} bytes)`;
}

/**
 * Decodes, orients, resizes and centre-crops an image as `spec` says, returning the model input
 * and the RGB pixels it came from. Throws an error naming the file when it cannot be decoded.
 */
export async function preprocessImage(input: string | Buffer, spec: PreprocessSpec, label?: string): Promise<PreprocessedImage> {
  const name = describe(input, label);
  let bytes: Buffer;
  try {
    bytes = typeof input === 'string' ? await readCheckedFile(input, 'image') : input;
  } catch (err) {
    if (err instanceof UnsafeFileError) throw err; // already one line naming the image
    throw new Error(`cannot read image ${name}: ${(err as Error).message}`, { cause: err });
  }
  // One decode to plain 8-bit sRGB, then the PIL-equivalent resize in JS (see the top of this file).
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(bytes, { autoOrient: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new Error(`cannot decode image ${name}: ${(err as Error).message}`, { cause: err });
  }
  const { width, height, channels } = decoded.info;
  if (channels !== 3) throw new Error(`cannot decode image ${name}: expected 3 colour channels after conversion, got ${channels}`);
  return preprocessRawRgb(decoded.data, width, height, spec, name);
}

/** The same resize, crop and normalisation for pixels already decoded (e.g. video frames). */
export async function preprocessRawRgb(data: Buffer, width: number, height: number, spec: PreprocessSpec, name: string): Promise<PreprocessedImage> {
  const { target, left, top } = cropGeometry(width, height, spec, name);
  if (data.length < width * height * 3) throw new Error(`cannot resize image ${name}: ${data.length} bytes for ${width}x${height} RGB`);
  const rgb = resizeCropRgb(
    data,
    width,
    height,
    { width: target.width, height: target.height, left, top, cropWidth: spec.crop, cropHeight: spec.crop },
    PIL_FILTERS[spec.interpolation],
  );
  return { pixels: normalise(rgb, spec), rgb, sourceWidth: width, sourceHeight: height };
}

function cropGeometry(width: number, height: number, spec: PreprocessSpec, name: string) {
  const target = resizedSize(width, height, spec);
  if (target.width < spec.crop || target.height < spec.crop) {
    throw new Error(`preprocessing of ${name}: resized to ${target.width}x${target.height}, smaller than the ${spec.crop}px crop`);
  }
  return { target, left: centreCropOffset(target.width, spec.crop), top: centreCropOffset(target.height, spec.crop) };
}

/** crop x crop x 3 uint8 -> normalised CHW float32. */
function normalise(rgb: Buffer, spec: PreprocessSpec): Float32Array {
  const plane = spec.crop * spec.crop;
  const pixels = new Float32Array(3 * plane);
  const [r, g, b] = normalisationTables(spec.mean, spec.std) as [Float32Array, Float32Array, Float32Array];
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    pixels[i] = r[rgb[p]!]!;
    pixels[plane + i] = g[rgb[p + 1]!]!;
    pixels[2 * plane + i] = b[rgb[p + 2]!]!;
  }
  return pixels;
}
