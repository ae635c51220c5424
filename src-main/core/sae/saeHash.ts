// Identity of an SAE across formats: tags, notes and indexes are keyed by this hash, so the same
// weights read from a SAELens folder, a bare safetensors file or a torch checkpoint must hash
// alike. It therefore covers only the values (float32, little-endian) and never the file bytes,
// names or config. Order: W_enc [dIn,dSae], b_enc [dSae], W_dec [dSae,dIn], b_dec [dIn].
// Thresholds and the gated magnitude parameters are deliberately not part of the identity: the
// feature directions (and so what the features mean) are fixed by these four tensors.
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import type { SaeWeights } from './types.js';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** sha256 hex of W_enc, b_enc, W_dec, b_dec as float32 little-endian, in that order. */
export function saeWeightsHash(weights: SaeWeights): string {
  const hash = createHash('sha256');
  for (const tensor of [weights.W_enc, weights.b_enc, weights.W_dec, weights.b_dec]) {
    hash.update(littleEndianBytes(tensor));
  }
  return hash.digest('hex');
}

function littleEndianBytes(tensor: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(tensor.buffer, tensor.byteOffset, tensor.byteLength);
  const out = Buffer.alloc(tensor.byteLength);
  for (let i = 0; i < tensor.length; i++) out.writeFloatLE(tensor[i]!, 4 * i);
  return out;
}
