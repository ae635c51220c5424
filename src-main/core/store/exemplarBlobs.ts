// Packing of one feature's exemplars into three blobs (see the exemplars table in schema.ts).
// Blobs are little-endian typed-array bytes; every platform Electron and Node ship on is LE.
//
// The maps blob comes in two layouts, told apart by its length:
// - compact (written now): a format byte, the entries' compact patch maps one after another
//   (patchMapCodec.ts), and a zero byte when needed to make the length odd;
// - dense float16 (indexes built before compact maps): n × patches × 2 bytes, always even.
// Old indexes stay readable (and resumable) without a rebuild; their maps are made compact as read.
import { halfArrayToFloat } from '../util/float16.js';
import { encodePatchMap, patchMapLengthAt } from './patchMapCodec.js';

const COMPACT_MAPS = 0xc1;

export interface PackedExemplars {
  n: number;
  items: Buffer;
  vals: Buffer;
  maps: Buffer;
}

export interface ExemplarEntry {
  item: number;
  value: number;
  /** Compact patch map (patchMapCodec.ts). */
  map: Uint8Array;
}

export function packExemplars(entries: ExemplarEntry[], patches: number): PackedExemplars {
  const items = new Int32Array(entries.length);
  const vals = new Float32Array(entries.length);
  let size = 1;
  for (const e of entries) size += e.map.length;
  const maps = Buffer.alloc(size % 2 === 1 ? size : size + 1);
  maps[0] = COMPACT_MAPS;
  let at = 1;
  entries.forEach((e, i) => {
    items[i] = e.item;
    vals[i] = e.value;
    if (patchMapLengthAt(e.map, 0, patches) !== e.map.length) throw new Error(`exemplar ${i} has a malformed patch map`);
    maps.set(e.map, at);
    at += e.map.length;
  });
  return { n: entries.length, items: bytes(items), vals: bytes(vals), maps };
}

export function unpackExemplars(row: { n: number; items: Buffer; vals: Buffer; maps: Buffer }, patches: number): ExemplarEntry[] {
  const items = new Int32Array(aligned(row.items));
  const vals = new Float32Array(aligned(row.vals));
  if (items.length !== row.n || vals.length !== row.n) {
    throw new Error(`exemplar blobs hold ${items.length} items and ${vals.length} values; expected ${row.n}`);
  }
  const maps = unpackMaps(row.maps, row.n, patches);
  return Array.from({ length: row.n }, (_, i) => ({ item: items[i]!, value: vals[i]!, map: maps[i]! }));
}

/** The n compact maps of a maps blob in either layout. */
function unpackMaps(blob: Buffer, n: number, patches: number): Uint8Array[] {
  if (blob.length % 2 === 0) {
    const dense = new Uint16Array(aligned(blob));
    if (dense.length !== n * patches) throw new Error(`exemplar maps blob holds ${dense.length} float16 values; expected ${n * patches}`);
    return Array.from({ length: n }, (_, i) => encodePatchMap(halfArrayToFloat(dense.subarray(i * patches, (i + 1) * patches)), 0, patches));
  }
  if (blob[0] !== COMPACT_MAPS) throw new Error(`exemplar maps blob starts with format byte ${blob[0]}; this studio reads ${COMPACT_MAPS}`);
  const out: Uint8Array[] = [];
  let at = 1;
  for (let i = 0; i < n; i++) {
    const len = patchMapLengthAt(blob, at, patches);
    if (at + len > blob.length) throw new Error(`exemplar maps blob is cut short in map ${i} of ${n}`);
    out.push(new Uint8Array(blob.subarray(at, at + len))); // a copy: the row's buffer is SQLite's
    at += len;
  }
  if (blob.length - at > 1) throw new Error(`exemplar maps blob holds ${blob.length - at} bytes after its ${n} maps`);
  return out;
}

function bytes(a: Int32Array | Float32Array | Uint16Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** A fresh ArrayBuffer copy: SQLite's buffers may not be aligned for typed-array views. */
function aligned(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** A range-sample row (schema 5): the exemplar packing plus each entry's range (Int32). */
export function packRangeSamples(entries: (ExemplarEntry & { range: number })[], patches: number): PackedExemplars & { ranges: Buffer } {
  return { ...packExemplars(entries, patches), ranges: bytes(Int32Array.from(entries, (e) => e.range)) };
}

export function unpackRangeSamples(
  row: { n: number; ranges: Buffer; items: Buffer; vals: Buffer; maps: Buffer },
  patches: number,
): (ExemplarEntry & { range: number })[] {
  const ranges = new Int32Array(aligned(row.ranges));
  if (ranges.length !== row.n) throw new Error(`range-sample blob holds ${ranges.length} ranges; expected ${row.n}`);
  return unpackExemplars(row, patches).map((e, i) => ({ ...e, range: ranges[i]! }));
}
