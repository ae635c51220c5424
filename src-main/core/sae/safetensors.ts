// Reader and writer for the safetensors format (https://github.com/huggingface/safetensors):
// 8-byte little-endian header length N, N bytes of JSON header, then one byte buffer that the
// header's `data_offsets` (relative to the end of the header) slice into tensors.
//
// Every tensor comes back as a Float32Array whatever its stored dtype, because everything the
// studio does with SAE weights happens in float32. Integer tensors (I8..I64, U8, BOOL) are
// converted too; integers above 2^24 in magnitude lose precision in float32, which is fine for
// what SAE checkpoints keep in integers (k, group sizes, counters) but is documented here so
// nobody reads token ids through this function.
import { writeFileSync } from 'node:fs';
import { readCheckedFileSync } from '../util/checkedRead.js';
import { endianness } from 'node:os';

export type SafetensorsDtype =
  | 'F64' | 'F32' | 'F16' | 'BF16'
  | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface SafetensorsTensor {
  /** The dtype the tensor was stored as; `data` is always float32. */
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

/** Input to the writer: always stored as F32. */
export interface Float32Tensor {
  shape: number[];
  data: Float32Array;
}

const ITEM_SIZE: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Same cap as the reference Rust implementation: a larger header means a corrupt file. */
const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/**
 * Read every tensor of a safetensors file (path) or buffer. Throws an Error naming the source
 * and what is wrong when the file is truncated, the header is not valid JSON, or a tensor's
 * offsets do not match its dtype and shape.
 */
export function readSafetensors(source: string | Buffer | Uint8Array): Map<string, SafetensorsTensor> {
  const label = typeof source === 'string' ? source : 'safetensors buffer';
  const bytes = typeof source === 'string' ? readCheckedFileSync(source, 'checkpoint') : source;
  function fail(why: string): never {
    throw new Error(`${label} is not a valid safetensors file: ${why}`);
  }

  if (bytes.byteLength < 8) fail(`it is ${bytes.byteLength} bytes long, too short for the 8-byte header length (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} is implausibly large (corrupt file?)`);
  if (8 + headerLength > bytes.byteLength) {
    fail(`header says it is ${headerLength} bytes but only ${bytes.byteLength - 8} bytes follow (truncated file?)`);
  }

  const headerText = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(8, 8 + headerLength));
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    fail(`header is not valid JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const tensors = new Map<string, SafetensorsTensor>();
  const spans: Array<[number, number, string]> = [];

  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(ITEM_SIZE, dtype)) {
      fail(`tensor '${name}' has dtype ${JSON.stringify(dtype)}; supported: ${Object.keys(ITEM_SIZE).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${name}' has shape ${JSON.stringify(shape)}, expected an array of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}, expected [begin, end]`);
    }
    const dims = shape as number[];
    const [begin, end] = offsets as [number, number];
    const numel = dims.reduce((a, b) => a * b, 1);
    const itemSize = ITEM_SIZE[dtype as SafetensorsDtype];
    if (end < begin || end - begin !== numel * itemSize) {
      fail(`tensor '${name}' (${dtype} [${dims.join(', ')}]) needs ${numel * itemSize} bytes but data_offsets [${begin}, ${end}] give ${end - begin}`);
    }
    if (end > dataLength) {
      fail(`tensor '${name}' ends at byte ${end} of the data section but the file holds only ${dataLength} data bytes (truncated file?)`);
    }
    spans.push([begin, end, name]);
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    tensors.set(name, { dtype: dtype as SafetensorsDtype, shape: [...dims], data: decode(dtype as SafetensorsDtype, raw, numel) });
  }

  // Overlapping tensors would alias each other's bytes: only a corrupt or hostile file does that.
  spans.sort((a, b) => a[0] - b[0]);
  spans.forEach(([begin, , name], i) => {
    const previous = spans[i - 1];
    if (previous && begin < previous[1]) fail(`tensors '${previous[2]}' and '${name}' overlap`);
  });
  return tensors;
}

/**
 * Write tensors as F32 safetensors. The header is padded with spaces to a multiple of 8 bytes
 * (as the Python library does) so readers can map the data section with aligned typed arrays.
 */
export function writeSafetensors(
  path: string,
  tensors: Record<string, Float32Tensor>,
  metadata?: Record<string, string>,
): void {
  writeFileSync(path, encodeSafetensors(tensors, metadata));
}

/** The bytes `writeSafetensors` writes; tensors are laid out in the order given. */
export function encodeSafetensors(tensors: Record<string, Float32Tensor>, metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    const numel = shape.reduce((a, b) => a * b, 1);
    if (numel !== data.length) {
      throw new Error(`cannot write tensor '${name}': shape [${shape.join(', ')}] holds ${numel} values but data has ${data.length}`);
    }
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let headerText = JSON.stringify(header);
  const headerBytes = Buffer.byteLength(headerText, 'utf8');
  headerText += ' '.repeat((8 - ((8 + headerBytes) % 8)) % 8);
  const headerBuffer = Buffer.from(headerText, 'utf8');

  const out = Buffer.alloc(8 + headerBuffer.byteLength + offset);
  out.writeBigUInt64LE(BigInt(headerBuffer.byteLength), 0);
  headerBuffer.copy(out, 8);
  let position = 8 + headerBuffer.byteLength;
  for (const { data } of Object.values(tensors)) {
    writeFloat32LE(out, position, data);
    position += data.byteLength;
  }
  return out;
}

function writeFloat32LE(out: Buffer, position: number, data: Float32Array): void {
  if (LITTLE_ENDIAN_HOST) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    return;
  }
  for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i]!, position + 4 * i);
}

function decode(dtype: SafetensorsDtype, raw: Uint8Array, numel: number): Float32Array {
  const out = new Float32Array(numel);
  // The data section need not be 4-byte aligned (header length is not always a multiple of 8),
  // so F32 is copied bytewise rather than viewed in place; the copy also detaches the result
  // from the (possibly large) file buffer.
  if (dtype === 'F32' && LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(raw);
    return out;
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (dtype) {
    case 'F32': for (let i = 0; i < numel; i++) out[i] = view.getFloat32(4 * i, true); break;
    case 'F64': for (let i = 0; i < numel; i++) out[i] = view.getFloat64(8 * i, true); break;
    case 'F16': for (let i = 0; i < numel; i++) out[i] = float16ToNumber(view.getUint16(2 * i, true)); break;
    case 'BF16': {
      // bfloat16 is the top half of a float32: shifting the bits back up is exact.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < numel; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      break;
    }
    case 'I64': for (let i = 0; i < numel; i++) out[i] = Number(view.getBigInt64(8 * i, true)); break;
    case 'I32': for (let i = 0; i < numel; i++) out[i] = view.getInt32(4 * i, true); break;
    case 'I16': for (let i = 0; i < numel; i++) out[i] = view.getInt16(2 * i, true); break;
    case 'I8': for (let i = 0; i < numel; i++) out[i] = view.getInt8(i); break;
    case 'U8':
    case 'BOOL': for (let i = 0; i < numel; i++) out[i] = view.getUint8(i); break;
  }
  return out;
}

/** IEEE 754 binary16 bits to a number (exact: every half value is representable in float32). */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * Take a tensor that must exist with the given shape; the error names the tensor, the file and
 * both shapes so a user can tell a wrong checkpoint from a wrong config.
 */
export function takeTensor(
  tensors: Map<string, SafetensorsTensor>,
  name: string,
  expectedShape: number[],
  source: string,
): Float32Array {
  const tensor = tensors.get(name);
  if (!tensor) {
    throw new Error(`${source} has no tensor '${name}' (expected shape [${expectedShape.join(', ')}]); it holds: ${[...tensors.keys()].join(', ') || 'nothing'}`);
  }
  if (!sameShape(tensor.shape, expectedShape)) {
    throw new Error(`tensor '${name}' in ${source} has shape [${tensor.shape.join(', ')}] but [${expectedShape.join(', ')}] was expected`);
  }
  return tensor.data;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
