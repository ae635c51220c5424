// Resize + crop of 8-bit RGB pixels computed the way Pillow's Image.resize computes BICUBIC and
// BILINEAR, so the studio feeds a backbone the pixels its PyTorch pipeline (torchvision / open_clip /
// HF on PIL images) would. sharp/libvips' kernels are close but not the same convolution (see
// tests/unit/preprocess-pil-parity.test.ts for the measured gap), and the SAEs were trained on PIL's.
//
// What Pillow documents and does, written here from that description:
// - Separable convolution, horizontal pass first, each pass rounding to uint8.
// - Output pixel i of n samples the source around centre (i + 0.5) * in / n. When downscaling, the
//   filter is stretched by the scale (support * scale, weights at (x - centre + 0.5) / scale): this
//   is the antialiasing. Upscaling keeps the filter's own support.
// - Taps are the source pixels in [trunc(centre - support + 0.5), trunc(centre + support + 0.5)),
//   clipped to the image; their weights are normalised to sum to 1.
// - 8-bit images use fixed-point weights: round-half-away(w * 2^22), accumulated from 2^21 (so the
//   final >> 22 rounds), then clamped to 0..255.
// - BICUBIC is Keys' cubic convolution with a = -0.5 (support 2); BILINEAR the triangle (support 1).
//
// Only the pixels inside the crop are computed: each output pixel depends on its own taps alone,
// so this gives the same bytes as resizing everything and cropping after, for less work.

export interface ResampleFilter {
  /** Half-width of the kernel at scale 1, in source pixels. */
  support: number;
  weight(x: number): number;
}

/** Keys' cubic convolution kernel with parameter a (Pillow: a = -0.5; PyTorch's bicubic: -0.75). */
export function keysCubic(a: number): ResampleFilter {
  return {
    support: 2,
    weight(x) {
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  };
}

export const PIL_FILTERS: Record<'bicubic' | 'bilinear', ResampleFilter> = {
  bicubic: keysCubic(-0.5),
  bilinear: {
    support: 1,
    weight(x) {
      x = Math.abs(x);
      return x < 1 ? 1 - x : 0;
    },
  },
};

const PRECISION_BITS = 22; // Pillow: 32 - 8 - 2, so 255 * sum|w| cannot overflow an int32.
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

interface Taps {
  /** First source index of each output position. */
  first: Int32Array;
  /** Number of taps of each output position. */
  count: Int32Array;
  /** Fixed-point weights, `stride` per output position. */
  weights: Int32Array;
  stride: number;
}

/** Taps for output positions from..from+n-1 of a resize inSize -> outSize. */
function taps(inSize: number, outSize: number, from: number, n: number, filter: ResampleFilter): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const invScale = 1 / filterScale; // multiplied, not divided, as Pillow does: same last bits
  const first = new Int32Array(n);
  const count = new Int32Array(n);
  const weights = new Int32Array(n * stride);
  const w = new Float64Array(stride);
  for (let i = 0; i < n; i++) {
    const centre = (from + i + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0);
    const hi = Math.min(Math.trunc(centre + support + 0.5), inSize);
    let sum = 0;
    for (let x = lo; x < hi; x++) {
      const v = filter.weight((x - centre + 0.5) * invScale);
      w[x - lo] = v;
      sum += v;
    }
    first[i] = lo;
    count[i] = hi - lo;
    for (let x = 0; x < hi - lo; x++) {
      const v = sum !== 0 ? w[x]! / sum : w[x]!;
      // Round half away from zero, as Pillow converts its weights.
      weights[i * stride + x] = Math.trunc(v < 0 ? v * ONE - 0.5 : v * ONE + 0.5);
    }
  }
  return { first, count, weights, stride };
}

function clamp8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

export interface ResizeCropGeometry {
  /** Size the whole image is resized to. */
  width: number;
  height: number;
  /** Crop window in resized coordinates. */
  left: number;
  top: number;
  cropWidth: number;
  cropHeight: number;
}

/**
 * Packed RGB (3 bytes per pixel) `srcW x srcH` -> the crop window of its resize to g.width x g.height,
 * packed RGB. A dimension whose size does not change is copied, not filtered (as Pillow skips it).
 */
export function resizeCropRgb(src: Uint8Array, srcW: number, srcH: number, g: ResizeCropGeometry, filter: ResampleFilter): Buffer {
  const { cropWidth: cw, cropHeight: ch } = g;
  // Out-of-range reads on typed arrays give undefined (silently 0), so check the window up front.
  if (g.left < 0 || g.top < 0 || cw < 1 || ch < 1 || g.left + cw > g.width || g.top + ch > g.height) {
    throw new Error(`crop ${cw}x${ch} at (${g.left}, ${g.top}) is outside the ${g.width}x${g.height} resize`);
  }
  if (src.length < srcW * srcH * 3) throw new Error(`${src.length} bytes cannot hold ${srcW}x${srcH} RGB`);
  const needH = g.width !== srcW;
  const needV = g.height !== srcH;
  const vt = needV ? taps(srcH, g.height, g.top, ch, filter) : null;
  // Source rows the vertical pass reads (or the cropped rows themselves when there is none).
  let rowFirst = g.top;
  let rowEnd = g.top + ch;
  if (vt) {
    rowFirst = vt.first[0]!;
    rowEnd = 0;
    for (let i = 0; i < ch; i++) rowEnd = Math.max(rowEnd, vt.first[i]! + vt.count[i]!);
  }
  const rows = rowEnd - rowFirst;

  // Horizontal pass: rows x cw, packed RGB.
  const mid = Buffer.allocUnsafe(rows * cw * 3);
  if (needH) {
    const ht = taps(srcW, g.width, g.left, cw, filter);
    for (let y = 0; y < rows; y++) {
      const rowBase = (rowFirst + y) * srcW * 3;
      let o = y * cw * 3;
      for (let i = 0; i < cw; i++) {
        let r = HALF;
        let gr = HALF;
        let b = HALF;
        let p = rowBase + ht.first[i]! * 3;
        const k0 = i * ht.stride;
        const n = ht.count[i]!;
        for (let t = 0; t < n; t++, p += 3) {
          const k = ht.weights[k0 + t]!;
          r += src[p]! * k;
          gr += src[p + 1]! * k;
          b += src[p + 2]! * k;
        }
        mid[o++] = clamp8(r);
        mid[o++] = clamp8(gr);
        mid[o++] = clamp8(b);
      }
    }
  } else {
    for (let y = 0; y < rows; y++) {
      const s = ((rowFirst + y) * srcW + g.left) * 3;
      mid.set(src.subarray(s, s + cw * 3), y * cw * 3);
    }
  }
  if (!vt) return mid;

  // Vertical pass over the intermediate rows.
  const out = Buffer.allocUnsafe(cw * ch * 3);
  const line = cw * 3;
  for (let j = 0; j < ch; j++) {
    const k0 = j * vt.stride;
    const n = vt.count[j]!;
    const base = (vt.first[j]! - rowFirst) * line;
    const o = j * line;
    for (let x = 0; x < line; x++) {
      let acc = HALF;
      for (let t = 0, p = base + x; t < n; t++, p += line) acc += mid[p]! * vt.weights[k0 + t]!;
      out[o + x] = clamp8(acc);
    }
  }
  return out;
}
