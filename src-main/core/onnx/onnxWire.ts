// The protobuf wire format of ONNX models, read and written field by field: graph edits splice
// repeated fields instead of decoding and re-encoding the model (see graphSurgery.ts for why).
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
// Protobuf wire format: just enough to list one message level's fields and write new ones.

export interface WireField {
  field: number;
  wire: number;
  /** Offset of the tag (the whole entry is bytes[start, end)). */
  start: number;
  /** Offset of the payload (after the length prefix for length-delimited fields). */
  dataStart: number;
  end: number;
}

function readVarint(buf: Uint8Array, pos: number, end: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new Error('truncated varint');
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * scale; // lengths and tags fit in 2^53; larger values are never used as offsets
    if ((byte & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new Error('varint longer than 10 bytes');
}

export function readFields(buf: Uint8Array, start: number, end: number): WireField[] {
  const fields: WireField[] = [];
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = readVarint(buf, pos, end);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new Error(`field number 0 at byte ${pos}`);
    let dataStart = afterTag;
    let next: number;
    if (wire === 0) next = readVarint(buf, afterTag, end)[1];
    else if (wire === 1) next = afterTag + 8;
    else if (wire === 5) next = afterTag + 4;
    else if (wire === 2) {
      const [length, afterLength] = readVarint(buf, afterTag, end);
      dataStart = afterLength;
      next = afterLength + length;
    } else throw new Error(`unsupported wire type ${wire} at byte ${pos}`);
    if (next > end) throw new Error(`field ${field} runs past the end of its message`);
    fields.push({ field, wire, start: pos, dataStart, end: next });
    pos = next;
  }
  return fields;
}

function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** A length-delimited field entry (tag, length, payload) as parts to concatenate. */
export function lengthDelimited(field: number, payload: Uint8Array): Uint8Array[] {
  return [varint(field * 8 + 2), varint(payload.byteLength), payload];
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

// ModelProto / GraphProto field numbers (onnx.proto).
export const MODEL_GRAPH = 7;
export const GRAPH = { node: 1, initializer: 5, input: 11, output: 12, valueInfo: 13, sparseInitializer: 15 } as const;
