// Zip bombs for the torch reader's tests and the fuzzer: a few megabytes of deflate that
// inflate to gigabytes of zeros. Built without ever holding the inflated bytes: zlib compresses
// 1 MiB of zeros once with a full flush (which empties its window, so the next block cannot
// refer back), and that block is repeated; a final empty block ends the stream.
import zlib from 'node:zlib';
import { crc32 } from '../../src-main/core/sae/torch/zipContainer.js';

const MiB = 2 ** 20;

/** Raw deflate of `mib` MiB of zeros, about 1 kB per MiB. */
export function deflatedZeros(mib: number): Uint8Array {
  const block = zlib.deflateRawSync(Buffer.alloc(MiB), { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
  const end = zlib.deflateRawSync(Buffer.alloc(0)); // a final, empty block
  const out = new Uint8Array(block.length * mib + end.length);
  for (let i = 0; i < mib; i++) out.set(block, i * block.length);
  out.set(end, block.length * mib);
  return out;
}

export interface RawZipEntry {
  name: string;
  /** Bytes as they go into the archive (already deflated when method is 8). */
  data: Uint8Array;
  method: 0 | 8;
  /** The uncompressed size the archive records (the truth, or a lie). */
  recordedSize: number;
  crc32?: number;
}

/** A plain zip (no zip64: recorded sizes must stay below 4 GiB) with sizes as given. */
export function rawZip(entries: RawZipEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const crc = e.crc32 ?? (e.method === 0 ? crc32(e.data) : 0);
    const local = Buffer.alloc(30 + name.length);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.recordedSize, 22);
    local.writeUInt16LE(name.length, 26);
    local.set(name, 30);
    const cd = Buffer.alloc(46 + name.length);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(e.method, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(e.data.length, 20);
    cd.writeUInt32LE(e.recordedSize, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    cd.set(name, 46);
    parts.push(local, e.data);
    central.push(cd);
    offset += local.length + e.data.length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdSize, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, eocd]);
}

/**
 * A torch-style archive whose pickle (archive/data.pkl) is a zip bomb of `mib` MiB of zeros.
 * `recordedSize` is what the archive claims: the truth by default, or a small lie, which makes
 * the reader discover the size while inflating.
 */
export function torchZipBomb(mib: number, recordedSize = mib * MiB): Uint8Array {
  return rawZip([
    { name: 'archive/data.pkl', data: deflatedZeros(mib), method: 8, recordedSize },
    { name: 'archive/version', data: new TextEncoder().encode('3\n'), method: 0, recordedSize: 2 },
  ]);
}
