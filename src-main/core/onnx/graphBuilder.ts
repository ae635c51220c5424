// A small typed builder for ONNX graphs on top of onnx-proto's generated protobuf classes.
// We build graphs ourselves (SAE encoders, test backbones) instead of shipping .onnx files so a
// checkpoint read from disk becomes a runnable graph without Python.
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

// onnx-proto is CommonJS whose module.exports *is* the root namespace holder; Node's ESM loader
// only gives it to us as the default export.
const { onnx } = onnxProto;

/** ONNX opset the builder declares (the default domain). 17 is what our exporters target. */
export const OPSET = 17;
/** IR version 8 goes with opsets up to 17 and is the newest onnx-proto 8 knows. */
const IR_VERSION = 8;

export type ElementType = 'float32' | 'int64' | 'int32' | 'bool';

const DATA_TYPE: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** ONNX TensorProto.DataType codes, for attributes such as Cast's `to`. */
export const DataType = {
  FLOAT: onnx.TensorProto.DataType.FLOAT,
  INT32: onnx.TensorProto.DataType.INT32,
  INT64: onnx.TensorProto.DataType.INT64,
  BOOL: onnx.TensorProto.DataType.BOOL,
} as const;

/** A dimension: a fixed size, or a symbolic name such as 'batch' for dynamic axes. */
export type Dim = number | string;

/** Attribute values are tagged so that 1 (int) and 1.0 (float) cannot be confused. */
export type AttributeValue =
  | { int: number }
  | { float: number }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { string: string };

export const attr = {
  int: (value: number): AttributeValue => ({ int: value }),
  float: (value: number): AttributeValue => ({ float: value }),
  ints: (value: readonly number[]): AttributeValue => ({ ints: value }),
  floats: (value: readonly number[]): AttributeValue => ({ floats: value }),
  string: (value: string): AttributeValue => ({ string: value }),
};

/** Little-endian byte view of a typed array without copying (every platform we ship is LE). */
function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function checkSize(name: string, length: number, dims: readonly number[]): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== length) {
    throw new Error(`initializer '${name}': ${length} values do not fill dims [${dims.join(', ')}] (${expected} needed)`);
  }
}

function toAttributeProto(name: string, value: AttributeValue): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in value) {
    if (!Number.isInteger(value.int)) throw new Error(`attribute '${name}': int expected, got ${value.int}`);
    return { name, type: T.INT, i: value.int };
  }
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('ints' in value) return { name, type: T.INTS, ints: [...value.ints] };
  if ('floats' in value) return { name, type: T.FLOATS, floats: [...value.floats] };
  return { name, type: T.STRING, s: new TextEncoder().encode(value.string) };
}

function valueInfo(name: string, type: ElementType, shape: readonly Dim[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[type],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export class OnnxGraphBuilder {
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(
    private readonly graphName: string,
    private readonly producer = 'feature-studio',
  ) {}

  /** A name not used yet in this graph, for intermediate values. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph '${this.graphName}': name '${name}' is already used`);
    this.names.add(name);
    return name;
  }

  /** A float32 constant tensor (weights). The data is referenced, not copied, until toBytes(). */
  addFloat(name: string, data: Float32Array, dims: readonly number[]): string {
    checkSize(name, data.length, dims);
    this.initializers.push({ name: this.claim(name), dataType: DATA_TYPE.float32, dims: [...dims], rawData: bytesOf(data) });
    return name;
  }

  /** An int64 constant (shapes, axes, K for TopK). dims defaults to a 1-D tensor of the values. */
  addInt64(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    checkSize(name, values.length, dims);
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({ name: this.claim(name), dataType: DATA_TYPE.int64, dims: [...dims], rawData: bytesOf(data) });
    return name;
  }

  /** A graph input; use a string dim (e.g. 'batch') for dynamic axes. */
  addInput(name: string, type: ElementType, shape: readonly Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), type, shape));
    return name;
  }

  /** Marks an existing value (a node output) as a graph output. */
  addOutput(name: string, type: ElementType, shape: readonly Dim[]): string {
    if (!this.names.has(name)) throw new Error(`ONNX graph '${this.graphName}': output '${name}' is produced by no node`);
    this.outputs.push(valueInfo(name, type, shape));
    return name;
  }

  /**
   * Adds a node. Output names are claimed here, so a typo that reuses a name fails at build
   * time instead of as an obscure onnxruntime load error. Pass '' to skip an optional input.
   * Returns the output names (convenient for single-output nodes: `const [y] = b.node(...)`).
   */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: Record<string, AttributeValue> = {}): string[] {
    for (const input of inputs) {
      if (input !== '' && !this.names.has(input)) {
        throw new Error(`ONNX graph '${this.graphName}': ${opType} reads '${input}', which nothing defines yet`);
      }
    }
    for (const output of outputs) this.claim(output);
    this.nodes.push({
      opType,
      name: `${opType}_${this.nodes.length}`,
      input: [...inputs],
      output: [...outputs],
      attribute: Object.entries(attributes).map(([n, v]) => toAttributeProto(n, v)),
    });
    return [...outputs];
  }

  /** Single-output node with a generated output name. */
  op(opType: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}): string {
    const out = this.fresh(opType.toLowerCase());
    this.names.delete(out); // node() claims it
    return this.node(opType, inputs, [out], attributes)[0]!;
  }

  /** The model as a ModelProto-shaped plain object (for inspection or tests). */
  toModel(): OnnxTypes.IModelProto {
    if (this.outputs.length === 0) throw new Error(`ONNX graph '${this.graphName}' has no outputs`);
    return {
      irVersion: IR_VERSION,
      producerName: this.producer,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
  }

  /** Serialised model, ready for InferenceSession.create(bytes) or writing to a .onnx file. */
  toBytes(): Uint8Array {
    return onnx.ModelProto.encode(this.toModel()).finish();
  }
}

/** Decodes a serialised model, e.g. to check what a builder wrote or to list a file's graph outputs. */
export function decodeModel(bytes: Uint8Array): OnnxTypes.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
