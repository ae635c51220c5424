// Turning a torch storage (raw little-endian bytes) plus a view description (offset, sizes,
// strides) into a dense, contiguous Float32Array. Views matter: torch.save keeps views as views,
// so a tensor saved as `W.T` is its own storage read with swapped strides, and two state-dict
// entries may share one storage. Everything becomes float32 because that is what the SAE code
// computes in; integer buffers (k, group_sizes) are small and exact in float32 up to 2^24.
import { PickleObject } from './pickle.js';

export type TorchDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const DTYPE_BYTES: Record<TorchDType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** Largest tensor we materialise (elements); beyond this a file is corrupt or not an SAE. */
const MAX_ELEMENTS = 2 ** 30;
/** Broadcast views (stride 0) may hold more elements than their storage, but not absurdly more. */
const MAX_BROADCAST_ELEMENTS = 2 ** 24;
/** torch's own limit on tensor rank. */
const MAX_DIMS = 64;

/** Bytes of one saved storage, typed by the dtype it was saved with. */
export class TorchStorage extends PickleObject {
  constructor(
    readonly key: string,
    readonly dtype: TorchDType,
    readonly bytes: Uint8Array,
  ) {
    super();
  }
}

/** A dense tensor read from a checkpoint: row-major data, converted to float32. */
export class TorchTensor extends PickleObject {
  readonly kind = 'tensor';
  constructor(
    /** The dtype it was saved with (data is float32 whatever this says). */
    readonly dtype: TorchDType,
    readonly shape: number[],
    readonly data: Float32Array,
  ) {
    super();
  }

  /** The one value of a 0-d (or single-element) tensor, e.g. a `k` or `threshold` buffer. */
  item(): number {
    if (this.data.length !== 1) throw new Error(`expected a single-element tensor, got shape [${this.shape.join(', ')}]`);
    return this.data[0]!;
  }
}

export interface TensorView {
  offset: number;
  size: number[];
  stride: number[];
  dtype: TorchDType;
}

/**
 * Copy the view of `storage` out into a contiguous float32 tensor, checking every bound first.
 * `reserve(numel)` runs after the checks and before allocating; it may throw to refuse.
 */
export function materialiseTensor(storage: TorchStorage, view: TensorView, reserve?: (numel: number) => void): TorchTensor {
  const { offset, size, stride, dtype } = view;
  const itemBytes = DTYPE_BYTES[dtype];
  const where = `tensor on storage '${storage.key}'`;
  if (size.length !== stride.length) throw new Error(`${where} has ${size.length} sizes but ${stride.length} strides`);
  if (size.length > MAX_DIMS) throw new Error(`${where} has ${size.length} dimensions`);
  for (const n of [offset, ...size, ...stride]) {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${where} has an invalid offset, size or stride (${n})`);
  }
  const storageElements = Math.floor(storage.bytes.length / itemBytes);
  let numel = 1;
  let lastIndex = offset;
  let broadcast = false;
  for (let d = 0; d < size.length; d++) {
    numel *= size[d]!;
    if (numel > MAX_ELEMENTS) throw new Error(`${where} of shape [${size.join(', ')}] is too large to load`);
    if (size[d]! > 0) lastIndex += (size[d]! - 1) * stride[d]!;
    if (stride[d] === 0 && size[d]! > 1) broadcast = true;
  }
  if (numel > 0 && lastIndex >= storageElements) {
    throw new Error(
      `${where} of shape [${size.join(', ')}] (offset ${offset}, strides [${stride.join(', ')}]) reaches element ${lastIndex}, ` +
        `but the storage holds only ${storageElements} ${dtype} values`,
    );
  }
  if (broadcast && numel > Math.max(storageElements, MAX_BROADCAST_ELEMENTS)) {
    throw new Error(`${where} broadcasts ${storageElements} values to ${numel}; refusing to expand it`);
  }

  reserve?.(numel);
  const out = new Float32Array(numel);
  if (numel === 0) return new TorchTensor(dtype, size, out);
  const bytes = storage.bytes;
  const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  if (isContiguous(size, stride)) {
    if (dtype === 'float32') {
      // A byte copy straight into the output: the host is little-endian, like the file, and
      // this sidesteps the storage bytes' possibly unaligned offset within the file buffer.
      new Uint8Array(out.buffer).set(bytes.subarray(offset * 4, (offset + numel) * 4));
    } else {
      const read = elementReader(dtype);
      for (let i = 0; i < numel; i++) out[i] = read(data, (offset + i) * itemBytes);
    }
    return new TorchTensor(dtype, size, out);
  }

  // Strided view: walk the output in row-major order with an odometer over the dimensions.
  const read = elementReader(dtype);
  const rank = size.length;
  const counter = new Array<number>(rank).fill(0);
  let source = offset;
  for (let i = 0; i < numel; i++) {
    out[i] = read(data, source * itemBytes);
    for (let d = rank - 1; d >= 0; d--) {
      if (++counter[d]! < size[d]!) {
        source += stride[d]!;
        break;
      }
      source -= (size[d]! - 1) * stride[d]!;
      counter[d] = 0;
    }
  }
  return new TorchTensor(dtype, size, out);
}

/** Row-major contiguity; dimensions of size 1 may carry any stride. */
function isContiguous(size: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) return false;
    expected *= size[d]!;
  }
  return true;
}

type ElementReader = (view: DataView, byteOffset: number) => number;

function elementReader(dtype: TorchDType): ElementReader {
  switch (dtype) {
    case 'float32': return (v, o) => v.getFloat32(o, true);
    case 'float64': return (v, o) => v.getFloat64(o, true);
    case 'float16': return (v, o) => halfToFloat(v.getUint16(o, true));
    case 'bfloat16': return (v, o) => bfloat16ToFloat(v.getUint16(o, true));
    case 'int64': return (v, o) => Number(v.getBigInt64(o, true));
    case 'int32': return (v, o) => v.getInt32(o, true);
    case 'int16': return (v, o) => v.getInt16(o, true);
    case 'int8': return (v, o) => v.getInt8(o);
    case 'uint8': return (v, o) => v.getUint8(o);
    case 'bool': return (v, o) => (v.getUint8(o) !== 0 ? 1 : 0);
  }
}

/** IEEE 754 binary16 → number (subnormals, infinities and NaN included). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const bfloatScratch = new DataView(new ArrayBuffer(4));

/** bfloat16 is the top half of a float32. */
export function bfloat16ToFloat(bits: number): number {
  bfloatScratch.setUint32(0, bits << 16);
  return bfloatScratch.getFloat32(0);
}
