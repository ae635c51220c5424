// The unit decoder directions of an index's SAE, kept in the index folder so that similar
// features need the SAE checkpoint only once (loading a whole checkpoint took 3-4 s per
// session at 51 MB; a 100k x 768 SAE is ~614 MB, of which only W_dec matters here).
//
// Built lazily on first use from the checkpoint, then read back by later sessions. Layout:
// 80-byte header (magic "FSDECDIR", dSae and dIn as uint32 LE, the SAE hash as 64 ASCII bytes),
// then dSae x dIn float32 unit rows, row-major. Float32 rather than float16: the cosines, and so
// the ranking, stay exactly those computed from the checkpoint (2x the disk of float16).
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../errors.js';
import { loadSae } from '../sae/loadSae.js';
import { DecoderDirections } from './similarFeatures.js';

export const DECODER_DIRECTIONS_FILE = 'decoder-directions.f32';
const MAGIC = 'FSDECDIR';
const HEADER_BYTES = 80;
const HASH_BYTES = 64;

interface DecoderSource {
  /** Index folder the file lives in. */
  dir: string;
  /** Hash of the index's SAE: a file written for another SAE is rebuilt. */
  saeHash: string;
  /** The checkpoint, needed only when the file is missing or stale. */
  saePath: string | null;
}

/** The directions from the index folder's file, or null when it is missing, stale or malformed. */
export function readDecoderDirections(dir: string, saeHash: string): DecoderDirections | null {
  const file = path.join(dir, DECODER_DIRECTIONS_FILE);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return null;
  }
  if (bytes.length < HEADER_BYTES || bytes.toString('ascii', 0, 8) !== MAGIC) return null;
  const dSae = bytes.readUInt32LE(8);
  const dIn = bytes.readUInt32LE(12);
  const hash = bytes.toString('ascii', 16, 16 + HASH_BYTES).replace(/\0+$/, '');
  if (hash !== saeHash.slice(0, HASH_BYTES) || bytes.length !== HEADER_BYTES + dSae * dIn * 4) return null;
  // A Float32Array view needs a 4-byte aligned offset; copy only when the Buffer is not.
  const offset = bytes.byteOffset + HEADER_BYTES;
  const unit =
    offset % 4 === 0
      ? new Float32Array(bytes.buffer, offset, dSae * dIn)
      : new Float32Array(bytes.buffer.slice(offset, offset + dSae * dIn * 4));
  return new DecoderDirections(unit, dSae, dIn);
}

/** Writes the file atomically (temporary name, then rename); false when the folder is not writable. */
function writeDecoderDirections(dir: string, saeHash: string, d: DecoderDirections): boolean {
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(MAGIC, 0, 'ascii');
  header.writeUInt32LE(d.dSae, 8);
  header.writeUInt32LE(d.dIn, 12);
  header.write(saeHash.slice(0, HASH_BYTES), 16, 'ascii');
  const file = path.join(dir, DECODER_DIRECTIONS_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, header);
      fs.writeSync(fd, new Uint8Array(d.unit.buffer, d.unit.byteOffset, d.unit.byteLength));
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    return true;
  } catch {
    fs.rmSync(tmp, { force: true });
    return false; // a read-only index still answers, from the checkpoint each session
  }
}

/** The index's decoder directions: from its file, else from the checkpoint (then saved beside the index). */
export function loadDecoderDirections(src: DecoderSource): DecoderDirections {
  const saved = readDecoderDirections(src.dir, src.saeHash);
  if (saved) return saved;
  if (!src.saePath || !fs.existsSync(src.saePath)) {
    throw new StudioError(
      'not-found',
      `The SAE checkpoint this index was built from is not at ${src.saePath ?? '(unknown)'} any more; similar features need its decoder once (then it is kept in the index folder).`,
    );
  }
  const sae = loadSae(src.saePath);
  const d = DecoderDirections.fromDecoder(sae.weights.W_dec, sae.dSae, sae.dIn);
  writeDecoderDirections(src.dir, src.saeHash, d);
  return d;
}
