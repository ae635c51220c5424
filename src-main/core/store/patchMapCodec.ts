// Compact patch maps: how strongly one feature fired on each patch of one item, as kept in memory
// by the indexer and on disk in the exemplar and range-sample blobs.
//
// SAE codes are sparse (TopK, ReLU, JumpReLU: values are > 0 or absent), so a feature fires on few
// of an item's patches. A map keeps only those patches, each quantised to one of 255 levels of the
// map's own maximum:
//
//   [count: u16][scale: f32 = the map's max][patch: count × u8 (u16 when patches > 256)][level: count × u8]
//
// all little-endian. Decoded value = level × scale / 255, so every patch is off by at most
// scale / 510 = 0.196% of the map's maximum (PATCH_MAP_MAX_ERROR); patches below scale / 510
// round to level 0 and are dropped, which is within the same bound. The maximum itself is exact.
// A ViT-B/16 map (256 patches) takes 6 + 2 bytes per firing patch instead of 512 bytes as float16.

/** Largest |decoded − true| over a map, as a fraction of the map's maximum. */
export const PATCH_MAP_MAX_ERROR = 1 / 510;
const LEVELS = 255;
const HEADER = 6;

const f32 = new Float32Array(1);
const f32Bytes = new Uint8Array(f32.buffer);

function indexBytes(patches: number): number {
  return patches > 256 ? 2 : 1;
}

/** Bytes the encoding of `src[off … off + patches)` takes (what encodePatchMapInto will write). */
export function encodedPatchMapLength(src: ArrayLike<number>, off: number, patches: number): number {
  let max = 0;
  for (let p = 0; p < patches; p++) if (src[off + p]! > max) max = src[off + p]!;
  if (!(max > 0)) return HEADER;
  const k = LEVELS / max;
  let count = 0;
  for (let p = 0; p < patches; p++) if (Math.round(src[off + p]! * k) > 0) count++;
  return HEADER + count * (indexBytes(patches) + 1);
}

/** Encodes `src[off … off + patches)` into `dst` at `pos`; returns the bytes written. */
export function encodePatchMapInto(src: ArrayLike<number>, off: number, patches: number, dst: Uint8Array, pos: number): number {
  let max = 0;
  for (let p = 0; p < patches; p++) if (src[off + p]! > max) max = src[off + p]!;
  f32[0] = max > 0 ? max : 0;
  const scale = f32[0]; // the value decoding will use
  let count = 0;
  if (scale > 0) {
    const k = LEVELS / scale;
    for (let p = 0; p < patches; p++) if (Math.round(src[off + p]! * k) > 0) count++;
  }
  dst[pos] = count & 0xff;
  dst[pos + 1] = count >>> 8;
  dst.set(f32Bytes, pos + 2);
  if (count === 0) return HEADER;
  const ib = indexBytes(patches);
  let at = pos + HEADER;
  let lv = at + count * ib;
  const k = LEVELS / scale;
  for (let p = 0; p < patches; p++) {
    const level = Math.round(src[off + p]! * k);
    if (level <= 0) continue;
    if (ib === 1) dst[at++] = p;
    else {
      dst[at++] = p & 0xff;
      dst[at++] = p >>> 8;
    }
    dst[lv++] = Math.min(level, LEVELS);
  }
  return lv - pos;
}

/** A fresh compact map of `src[off … off + patches)`. */
export function encodePatchMap(src: ArrayLike<number>, off: number, patches: number): Uint8Array {
  const out = new Uint8Array(encodedPatchMapLength(src, off, patches));
  encodePatchMapInto(src, off, patches, out, 0);
  return out;
}

/** Length of the compact map starting at `bytes[pos]` (to walk a concatenation of maps). */
export function patchMapLengthAt(bytes: Uint8Array, pos: number, patches: number): number {
  if (pos + HEADER > bytes.length) throw new Error(`patch map at byte ${pos} is cut short (${bytes.length} bytes in all)`);
  const count = bytes[pos]! | (bytes[pos + 1]! << 8);
  if (count > patches) throw new Error(`patch map at byte ${pos} claims ${count} firing patches of ${patches}`);
  return HEADER + count * (indexBytes(patches) + 1);
}

/** The dense map (`patches` values) of a compact one. */
export function decodePatchMap(map: Uint8Array, patches: number): Float32Array {
  const out = new Float32Array(patches);
  const len = patchMapLengthAt(map, 0, patches);
  if (len > map.length) throw new Error(`patch map holds ${map.length} bytes; its header needs ${len}`);
  const count = map[0]! | (map[1]! << 8);
  f32Bytes.set(map.subarray(2, 6));
  const scale = f32[0]!;
  const ib = indexBytes(patches);
  let lv = HEADER + count * ib;
  for (let i = 0; i < count; i++) {
    const p = ib === 1 ? map[HEADER + i]! : map[HEADER + 2 * i]! | (map[HEADER + 2 * i + 1]! << 8);
    if (p >= patches) throw new Error(`patch map names patch ${p} of ${patches}`);
    out[p] = (map[lv++]! * scale) / LEVELS; // level 255 gives back the maximum exactly
  }
  return out;
}
