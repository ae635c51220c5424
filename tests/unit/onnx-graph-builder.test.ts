import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { OnnxGraphBuilder, OPSET, attr, decodeModel, DataType } from '../../src-main/core/onnx/graphBuilder.js';

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** y = LeakyRelu(x W + b), then a Reshape/Transpose round trip and TopK along the last axis. */
function buildTestGraph(): Uint8Array {
  const b = new OnnxGraphBuilder('test');
  b.addInput('x', 'float32', ['batch', 4]);
  b.addFloat('W', Float32Array.from({ length: 12 }, (_, i) => i - 5), [4, 3]);
  b.addFloat('b', Float32Array.of(0.5, -1, 2), [3]);
  const lin = b.op('Add', [b.op('MatMul', ['x', 'W']), 'b']);
  b.node('LeakyRelu', [lin], ['y'], { alpha: attr.float(0.25) });
  b.addInt64('shape', [-1, 3, 1]);
  const col = b.op('Reshape', ['y', 'shape']);
  b.node('Transpose', [col], ['yt'], { perm: attr.ints([0, 2, 1]) });
  b.addInt64('k', [2]);
  b.node('TopK', ['y', 'k'], ['top_v', 'top_i'], { axis: attr.int(-1), largest: attr.int(1), sorted: attr.int(1) });
  b.node('Cast', ['top_i'], ['top_i32'], { to: attr.int(DataType.INT32) });
  b.addOutput('y', 'float32', ['batch', 3]);
  b.addOutput('yt', 'float32', ['batch', 1, 3]);
  b.addOutput('top_v', 'float32', ['batch', 2]);
  b.addOutput('top_i32', 'int32', ['batch', 2]);
  return b.toBytes();
}

function expected(x: number[]): number[] {
  const out: number[] = [];
  const bias = [0.5, -1, 2];
  for (let j = 0; j < 3; j++) {
    let s = bias[j]!;
    for (let i = 0; i < 4; i++) s += x[i]! * (i * 3 + j - 5);
    out.push(s > 0 ? s : 0.25 * s);
  }
  return out;
}

describe('OnnxGraphBuilder', () => {
  it('builds a graph onnxruntime runs, with a dynamic batch', async () => {
    const bytes = buildTestGraph();
    for (const batch of [1, 3]) {
      const x = Float32Array.from({ length: batch * 4 }, (_, i) => ((i * 7) % 5) - 2);
      const out = await run(bytes, { x: new ort.Tensor('float32', x, [batch, 4]) });
      expect(out.y!.dims).toEqual([batch, 3]);
      expect(out.yt!.dims).toEqual([batch, 1, 3]);
      for (let r = 0; r < batch; r++) {
        const want = expected(Array.from(x.subarray(r * 4, r * 4 + 4)));
        const got = Array.from((out.y!.data as Float32Array).subarray(r * 3, r * 3 + 3));
        got.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 5));
        expect(Array.from((out.yt!.data as Float32Array).subarray(r * 3, r * 3 + 3))).toEqual(got);
        const order = [0, 1, 2].sort((a, c) => want[c]! - want[a]!);
        expect(Array.from((out.top_i32!.data as Int32Array).subarray(r * 2, r * 2 + 2))).toEqual(order.slice(0, 2));
        expect(out.top_i32!.data).toBeInstanceOf(Int32Array);
      }
    }
  });

  it('writes opset 17, symbolic dims and raw little-endian initializers', () => {
    const model = decodeModel(buildTestGraph());
    expect(Number(model.opsetImport[0]!.version)).toBe(OPSET);
    expect(Number(model.irVersion)).toBe(8);
    expect(OPSET).toBe(17);
    const input = model.graph!.input![0]!;
    expect(input.name).toBe('x');
    expect(input.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 4]);
    const W = model.graph!.initializer!.find((t) => t.name === 'W')!;
    const values = new Float32Array(new Uint8Array(W.rawData!).buffer);
    expect(Array.from(values)).toEqual(Array.from({ length: 12 }, (_, i) => i - 5));
    const shape = model.graph!.initializer!.find((t) => t.name === 'shape')!;
    expect(Array.from(new BigInt64Array(new Uint8Array(shape.rawData!).buffer))).toEqual([-1n, 3n, 1n]);
  });

  it('rejects mistakes when building, not when onnxruntime loads', () => {
    const b = new OnnxGraphBuilder('bad');
    b.addInput('x', 'float32', [2]);
    expect(() => b.addFloat('x', new Float32Array(2), [2])).toThrow(/'x' is already used/);
    expect(() => b.addFloat('w', new Float32Array(5), [2, 3])).toThrow(/5 values do not fill dims \[2, 3\]/);
    expect(() => b.op('Relu', ['nope'])).toThrow(/Relu reads 'nope', which nothing defines yet/);
    expect(() => b.addOutput('missing', 'float32', [2])).toThrow(/produced by no node/);
    expect(() => b.op('Gather', ['x', 'x'], { axis: attr.int(0.5) })).toThrow(/int expected/);
    expect(() => new OnnxGraphBuilder('empty').toBytes()).toThrow(/has no outputs/);
  });

  it('generates unique names for intermediate values', () => {
    const b = new OnnxGraphBuilder('names');
    b.addInput('relu_0', 'float32', [1]);
    const a = b.op('Relu', ['relu_0']);
    const c = b.op('Relu', [a]);
    expect(new Set(['relu_0', a, c]).size).toBe(3);
  });
});
