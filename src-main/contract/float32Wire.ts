// Float32 columns on a JSON wire. IPC (structured clone) carries a Float32Array as it is; JSON
// cannot, and 100,000 numbers written out as decimal text are about 1.8 MB per column. Here a
// column travels as base64 of its little-endian IEEE-754 bytes (4 bytes a value, 5.33 characters
// in base64): exact to the bit, NaN and ±Infinity included, and decoded without a number parser.
// Written out by hand (no Buffer, no atob) so the same code runs in Node and in the browser.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = 61; // '='
/** Character code → 6-bit value, 255 for characters outside the alphabet (undefined past 255). */
const DECODE = new Uint8Array(256).fill(255);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;
const ENCODE = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));

const ASCII = new TextDecoder();
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Characters of base64 text (with padding) for `values` float32 values. */
export function float32Base64Length(values: number): number {
  return 4 * Math.ceil((values * 4) / 3);
}

/** The little-endian bytes of `values` (a view on them on little-endian machines, a copy otherwise). */
function littleEndianBytes(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

/** Base64 (standard alphabet, padded) of the values' little-endian float32 bytes. */
export function float32ToBase64(values: Float32Array): string {
  const bytes = littleEndianBytes(values);
  const out = new Uint8Array(float32Base64Length(values.length));
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE[n >> 18]!;
    out[o++] = ENCODE[(n >> 12) & 63]!;
    out[o++] = ENCODE[(n >> 6) & 63]!;
    out[o++] = ENCODE[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out[o++] = ENCODE[n >> 18]!;
    out[o++] = ENCODE[(n >> 12) & 63]!;
    out[o++] = rest === 2 ? ENCODE[(n >> 6) & 63]! : PAD;
    out[o++] = PAD;
  }
  // The characters are ASCII: decoding them as UTF-8 is one native call (String.fromCharCode over
  // spread chunks took 10x longer at 100,000 values).
  return ASCII.decode(out);
}

/**
 * `length` float32 values back from float32ToBase64's text. `what` names the field in errors. Throws
 * when the text is not a string, does not hold exactly `length` values, or is not base64.
 */
export function float32FromBase64(text: unknown, length: number, what: string): Float32Array {
  if (typeof text !== 'string') throw new TypeError(`${what} must be base64 text of float32 values, got ${text === null ? 'null' : typeof text}.`);
  const expected = float32Base64Length(length);
  if (text.length !== expected) {
    throw new RangeError(`${what} must hold ${length} float32 values (${expected} base64 characters), got ${text.length} characters.`);
  }
  // The last group of four carries 1 or 2 '=' when the byte count is not a multiple of 3.
  const pads = (3 - ((length * 4) % 3)) % 3;
  const bytes = new Uint8Array(length * 4);
  // Whole groups of four characters: table lookups only; a character outside the alphabet maps to
  // 255, so one OR over the group tells (and the slow path below names it).
  const whole = pads ? text.length - 4 : text.length;
  let b = 0;
  for (let i = 0; i < whole; i += 4) {
    const c0 = DECODE[text.charCodeAt(i)] ?? 255;
    const c1 = DECODE[text.charCodeAt(i + 1)] ?? 255;
    const c2 = DECODE[text.charCodeAt(i + 2)] ?? 255;
    const c3 = DECODE[text.charCodeAt(i + 3)] ?? 255;
    if ((c0 | c1 | c2 | c3) > 63) for (let k = i; k < i + 4; k++) sextet(text, k, what);
    bytes[b++] = (c0 << 2) | (c1 >> 4);
    bytes[b++] = ((c1 & 15) << 4) | (c2 >> 2);
    bytes[b++] = ((c2 & 3) << 6) | c3;
  }
  if (pads) {
    const i = whole;
    const c0 = sextet(text, i, what);
    const c1 = sextet(text, i + 1, what);
    const c2 = pads === 2 ? padding(text, i + 2, what) : sextet(text, i + 2, what);
    padding(text, i + 3, what);
    bytes[b++] = (c0 << 2) | (c1 >> 4);
    if (pads === 1) bytes[b++] = ((c1 & 15) << 4) | (c2 >> 2);
  }
  if (LITTLE_ENDIAN) return new Float32Array(bytes.buffer);
  const view = new DataView(bytes.buffer);
  return Float32Array.from({ length }, (_, i) => view.getFloat32(i * 4, true));
}

function padding(text: string, at: number, what: string): number {
  if (text.charCodeAt(at) !== PAD) throw new RangeError(`${what} is not base64 of float32 values: expected '=' at ${at}, got ${JSON.stringify(text[at])}.`);
  return 0;
}

function sextet(text: string, at: number, what: string): number {
  const code = text.charCodeAt(at);
  const v = DECODE[code] ?? 255;
  if (v === 255) throw new RangeError(`${what} is not base64: character ${JSON.stringify(text[at])} at ${at}.`);
  return v;
}
