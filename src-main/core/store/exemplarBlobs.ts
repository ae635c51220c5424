// Packing of one feature's exemplars into three blobs (see the exemplars table in schema.ts).
// Blobs are little-endian typed-array bytes; every platform Electron and Node ship on is LE.

export interface PackedExemplars {
  n: number;
  items: Buffer;
  vals: Buffer;
  maps: Buffer;
}

export interface ExemplarEntry {
  item: number;
  value: number;
  /** float16 bits, `patches` long. */
  map: Uint16Array;
}

export function packExemplars(entries: ExemplarEntry[], patches: number): PackedExemplars {
  const items = new Int32Array(entries.length);
  const vals = new Float32Array(entries.length);
  const maps = new Uint16Array(entries.length * patches);
  entries.forEach((e, i) => {
    items[i] = e.item;
    vals[i] = e.value;
    maps.set(e.map, i * patches);
  });
  return { n: entries.length, items: bytes(items), vals: bytes(vals), maps: bytes(maps) };
}

export function unpackExemplars(row: { n: number; items: Buffer; vals: Buffer; maps: Buffer }, patches: number): ExemplarEntry[] {
  const items = new Int32Array(aligned(row.items));
  const vals = new Float32Array(aligned(row.vals));
  const maps = new Uint16Array(aligned(row.maps));
  if (items.length !== row.n || vals.length !== row.n || maps.length !== row.n * patches) {
    throw new Error(`exemplar blobs hold ${items.length} items, ${vals.length} values and ${maps.length} patch values; expected ${row.n}, ${row.n} and ${row.n * patches}`);
  }
  return Array.from({ length: row.n }, (_, i) => ({
    item: items[i]!,
    value: vals[i]!,
    map: maps.subarray(i * patches, (i + 1) * patches),
  }));
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
