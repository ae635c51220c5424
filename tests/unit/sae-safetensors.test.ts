import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeSafetensors,
  float16ToNumber,
  readSafetensors,
  writeSafetensors,
} from '../../src-main/core/sae/safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'sae-safetensors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** Build a safetensors buffer by hand (independent of the writer); `pad` spaces after the JSON. */
function rawSafetensors(tensors: Record<string, RawTensor>, pad = 0): Buffer {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.byteLength] };
    offset += t.bytes.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header) + ' '.repeat(pad), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.byteLength));
  return Buffer.concat([length, json, ...Object.values(tensors).map((t) => Buffer.from(t.bytes))]);
}

function uint16LE(values: number[]): Uint8Array {
  const out = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => out.writeUInt16LE(v, 2 * i));
  return out;
}

describe('writeSafetensors / readSafetensors', () => {
  it('round-trips F32 tensors exactly, with shapes and an 8-byte-aligned data section', () => {
    const W = Float32Array.from({ length: 12 }, (_, i) => (i - 5.5) / 3);
    const b = Float32Array.of(Math.PI, -0, 1e-30, 3.4e38);
    const scalar = Float32Array.of(0.25);
    const path = join(dir, 'roundtrip.safetensors');
    writeSafetensors(path, { W: { shape: [3, 4], data: W }, b: { shape: [4], data: b }, s: { shape: [], data: scalar } }, { format: 'pt' });

    const bytes = readFileSync(path);
    expect((8 + Number(bytes.readBigUInt64LE(0))) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
    expect(header.__metadata__).toEqual({ format: 'pt' });

    const tensors = readSafetensors(path);
    expect([...tensors.keys()]).toEqual(['W', 'b', 's']);
    expect(tensors.get('W')).toMatchObject({ dtype: 'F32', shape: [3, 4] });
    expect(Array.from(tensors.get('W')!.data)).toEqual(Array.from(W));
    expect(Array.from(tensors.get('b')!.data)).toEqual(Array.from(b));
    expect(tensors.get('s')).toMatchObject({ shape: [], data: Float32Array.of(0.25) });
  });

  it('reads the same tensors from a Buffer as from the file', () => {
    const buffer = encodeSafetensors({ a: { shape: [2], data: Float32Array.of(1, 2) } });
    expect(Array.from(readSafetensors(buffer).get('a')!.data)).toEqual([1, 2]);
  });

  it('writes F32 the way a hand-built file stores it (little-endian IEEE 754)', () => {
    const values = Float32Array.of(1, -2.5, 0.1);
    const written = encodeSafetensors({ x: { shape: [3], data: values } });
    const dataStart = 8 + Number(written.readBigUInt64LE(0));
    expect([0, 1, 2].map((i) => written.readFloatLE(dataStart + 4 * i))).toEqual(Array.from(values));
  });

  it('reads F32 data that is not 4-byte aligned (header length not a multiple of 8)', () => {
    const bytes = Buffer.alloc(8);
    bytes.writeFloatLE(1.5, 0);
    bytes.writeFloatLE(-3, 4);
    const tensors = { x: { dtype: 'F32', shape: [2], bytes } };
    const pad = [0, 1, 2, 3].find((p) => (8 + Number(rawSafetensors(tensors, p).readBigUInt64LE(0))) % 4 !== 0)!;
    const file = rawSafetensors(tensors, pad);
    expect((8 + Number(file.readBigUInt64LE(0))) % 4).not.toBe(0);
    expect(Array.from(readSafetensors(file).get('x')!.data)).toEqual([1.5, -3]);
  });

  it('decodes F16 against hand-computed values (normals, subnormals, zero signs, inf, NaN)', () => {
    // bits -> value: 0x3c00 = 1, 0xc000 = -2, 0x3555 = 1 + 341/1024 times 2^-2, 0x7bff = 65504
    // (largest half), 0x0001 = 2^-24 (smallest subnormal), 0x03ff = 1023 * 2^-24, 0x8000 = -0.
    const bits = [0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x03ff, 0x8000, 0x3800, 0x7c00, 0xfc00, 0x7e00];
    const expected = [1, -2, (1 + 341 / 1024) / 4, 65504, 2 ** -24, 1023 * 2 ** -24, -0, 0.5, Infinity, -Infinity, NaN];
    const file = rawSafetensors({ h: { dtype: 'F16', shape: [bits.length], bytes: uint16LE(bits) } });
    const tensor = readSafetensors(file).get('h')!;
    expect(tensor.dtype).toBe('F16');
    expect(Array.from(tensor.data)).toEqual(expected);
    expect(Object.is(tensor.data[6], -0)).toBe(true);
    expect(float16ToNumber(0x3555)).toBeCloseTo(0.333251953125, 12);
  });

  it('decodes BF16 as the upper half of a float32', () => {
    // 0x3f80 = 1, 0xc040 = -3, 0x3eab -> float32 0x3eab0000 = 0.333984375, 0x7f80 = inf,
    // 0x0001 -> 0x00010000 = 2^16 * 2^-149 = 2^-133 (subnormal), 0x4049 -> 3.140625.
    const bits = [0x3f80, 0xc040, 0x3eab, 0x7f80, 0x0001, 0x4049];
    const file = rawSafetensors({ b: { dtype: 'BF16', shape: [2, 3], bytes: uint16LE(bits) } });
    const tensor = readSafetensors(file).get('b')!;
    expect(tensor).toMatchObject({ dtype: 'BF16', shape: [2, 3] });
    expect(Array.from(tensor.data)).toEqual([1, -3, 0.333984375, Infinity, 2 ** -133, 3.140625]);
  });

  it('converts F64 and integer tensors to float32 values', () => {
    const f64 = Buffer.alloc(16);
    f64.writeDoubleLE(0.1, 0);
    f64.writeDoubleLE(-1e300, 8);
    const i32 = Buffer.alloc(8);
    i32.writeInt32LE(-7, 0);
    i32.writeInt32LE(2 ** 24, 4);
    const i64 = Buffer.alloc(16);
    i64.writeBigInt64LE(-5n, 0);
    i64.writeBigInt64LE(4096n, 8);
    const file = rawSafetensors({
      d: { dtype: 'F64', shape: [2], bytes: f64 },
      i: { dtype: 'I32', shape: [2], bytes: i32 },
      l: { dtype: 'I64', shape: [2], bytes: i64 },
      u: { dtype: 'U8', shape: [2], bytes: Uint8Array.of(0, 255) },
      t: { dtype: 'BOOL', shape: [2], bytes: Uint8Array.of(1, 0) },
    });
    const tensors = readSafetensors(file);
    expect(Array.from(tensors.get('d')!.data)).toEqual([Math.fround(0.1), -Infinity]);
    expect(Array.from(tensors.get('i')!.data)).toEqual([-7, 2 ** 24]);
    expect(Array.from(tensors.get('l')!.data)).toEqual([-5, 4096]);
    expect(Array.from(tensors.get('u')!.data)).toEqual([0, 255]);
    expect(Array.from(tensors.get('t')!.data)).toEqual([1, 0]);
  });
});

describe('readSafetensors errors', () => {
  const good = encodeSafetensors({ W: { shape: [4, 4], data: new Float32Array(16).fill(1) } });

  it('says a truncated file is truncated, naming the tensor', () => {
    const path = join(dir, 'truncated.safetensors');
    writeFileSync(path, good.subarray(0, good.byteLength - 10));
    expect(() => readSafetensors(path)).toThrow(/truncated\.safetensors.*tensor 'W' ends at byte 64.*54 data bytes.*truncated/);
  });

  it('rejects a file cut inside the header or before the length', () => {
    expect(() => readSafetensors(good.subarray(0, 20))).toThrow(/header says it is \d+ bytes but only 12 bytes follow/);
    expect(() => readSafetensors(good.subarray(0, 5))).toThrow(/5 bytes long, too short/);
  });

  it('rejects an implausible header length and a header that is not JSON', () => {
    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(2n ** 40n, 0);
    expect(() => readSafetensors(huge)).toThrow(/implausibly large/);
    const garbage = Buffer.from(good);
    garbage.write('#', 8);
    expect(() => readSafetensors(garbage)).toThrow(/header is not valid JSON/);
  });

  it('rejects offsets that disagree with dtype and shape, unknown dtypes and overlaps', () => {
    const bytes = new Uint8Array(16);
    expect(() => readSafetensors(rawSafetensors({ x: { dtype: 'F32', shape: [5], bytes } }))).toThrow(
      /tensor 'x' \(F32 \[5\]\) needs 20 bytes but data_offsets \[0, 16\] give 16/,
    );
    expect(() => readSafetensors(rawSafetensors({ x: { dtype: 'C64', shape: [2], bytes } }))).toThrow(/dtype "C64"; supported: F64, F32/);

    const overlap = Buffer.from(JSON.stringify({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    }));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(overlap.byteLength));
    expect(() => readSafetensors(Buffer.concat([length, overlap, Buffer.alloc(12)]))).toThrow(/'a' and 'b' overlap/);
  });

  it('refuses to write data that does not match its shape', () => {
    expect(() => encodeSafetensors({ x: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(/shape \[2, 2\] holds 4 values but data has 3/);
  });
});
