// Graph surgery on users' ONNX backbones: find the tensors that are transformer block outputs,
// expose chosen ones as extra graph outputs, and prune a graph down to what given outputs need.
//
// Edits are made on the protobuf wire format, not by decoding and re-encoding the whole model:
// onnx-proto knows the ONNX 1.10 schema only, and protobufjs silently drops fields it does not
// know (newer FunctionProto fields, metadata on nodes), so a decode/encode round trip could change
// a model from a newer exporter. Splicing the graph's repeated fields keeps every other byte as
// it was ("no other change") and avoids re-encoding hundreds of MB of weights. The decoded model
// is used only to read names; its i-th node/initializer/input/output is the i-th wire entry.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { decodeModel } from './graphBuilder.js';

const { onnx } = onnxProto;

// ---------------------------------------------------------------------------------------------
// Protobuf wire format: just enough to list one message level's fields and write new ones.

interface WireField {
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

function readFields(buf: Uint8Array, start: number, end: number): WireField[] {
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
function lengthDelimited(field: number, payload: Uint8Array): Uint8Array[] {
  return [varint(field * 8 + 2), varint(payload.byteLength), payload];
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

// ModelProto / GraphProto field numbers (onnx.proto).
const MODEL_GRAPH = 7;
const GRAPH = { node: 1, initializer: 5, input: 11, output: 12, valueInfo: 13, sparseInitializer: 15 } as const;

// ---------------------------------------------------------------------------------------------
// Reading a model.

// Decoded messages: protobufjs fills in defaults ('' and []), so these fields are never null,
// although onnx-proto's typings say they may be.
type ValueInfo = Omit<OnnxTypes.ValueInfoProto, 'name'> & { name: string };
type Node = Omit<OnnxTypes.NodeProto, 'input' | 'output' | 'opType' | 'name' | 'domain'> & {
  input: string[];
  output: string[];
  opType: string;
  name: string;
  domain: string;
};
type Tensor = Omit<OnnxTypes.TensorProto, 'name' | 'externalData'> & { name: string; externalData: OnnxTypes.StringStringEntryProto[] };
type Graph = Omit<OnnxTypes.GraphProto, 'node' | 'initializer' | 'sparseInitializer' | 'input' | 'output' | 'valueInfo'> & {
  node: Node[];
  initializer: Tensor[];
  sparseInitializer: OnnxTypes.SparseTensorProto[];
  input: ValueInfo[];
  output: ValueInfo[];
  valueInfo: ValueInfo[];
};

/** A model read for surgery: its bytes, the decoded view (names only) and wire offsets. */
interface ParsedModel {
  label: string;
  bytes: Uint8Array;
  model: OnnxTypes.ModelProto;
  graph: Graph;
  /** Folder that external-data locations are relative to (null for bytes of unknown origin). */
  baseDir: string | null;
  graphEntry: WireField;
  graphFields: WireField[];
}

function parseModel(bytes: Uint8Array, label: string, baseDir: string | null): ParsedModel {
  const notOnnx = (why: string, cause?: unknown) =>
    new Error(`${label} is not an ONNX model (${why}); expected a .onnx file exported with torch.onnx.export or similar`, { cause });
  let model: OnnxTypes.ModelProto;
  let topFields: WireField[];
  try {
    model = decodeModel(bytes);
    topFields = readFields(bytes, 0, bytes.byteLength);
  } catch (err) {
    throw notOnnx(`protobuf decoding failed: ${(err as Error).message}`, err);
  }
  const graphEntries = topFields.filter((f) => f.field === MODEL_GRAPH && f.wire === 2);
  const graph = model.graph as Graph | null | undefined;
  if (!graph || graphEntries.length === 0) throw notOnnx('no graph');
  if (graphEntries.length > 1) throw notOnnx('the graph field appears more than once');
  if (graph.node.length === 0 || graph.output.length === 0) throw notOnnx('the graph has no nodes or no outputs');
  if (!model.opsetImport.length) throw notOnnx('no opset import');
  const graphEntry = graphEntries[0]!;
  return { label, bytes, model, graph, baseDir, graphEntry, graphFields: readFields(bytes, graphEntry.dataStart, graphEntry.end) };
}

function readModelFile(modelPath: string): ParsedModel {
  const resolved = path.resolve(modelPath);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(resolved);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ONNX model ${resolved}${code ? ` (${code})` : ''}`, { cause: err });
  }
  return parseModel(bytes, resolved, path.dirname(resolved));
}

function loadModel(model: string | Uint8Array, baseDir?: string): ParsedModel {
  if (typeof model === 'string') return readModelFile(model);
  return parseModel(model, `in-memory ONNX model (${model.byteLength} bytes)`, baseDir ? path.resolve(baseDir) : null);
}

/** The model with its graph field replaced by `graphParts` (graph entries, concatenated). */
function spliceGraph(parsed: ParsedModel, graphParts: Uint8Array[]): Uint8Array {
  const { bytes, graphEntry } = parsed;
  const graph = concatBytes(graphParts);
  return concatBytes([bytes.subarray(0, graphEntry.start), ...lengthDelimited(MODEL_GRAPH, graph), bytes.subarray(graphEntry.end)]);
}

function entryBytes(parsed: ParsedModel, f: WireField): Uint8Array {
  return parsed.bytes.subarray(f.start, f.end);
}

/** Graph entries of one field number, in order (pairs with the decoded repeated field). */
function entriesOf(parsed: ParsedModel, field: number): WireField[] {
  return parsed.graphFields.filter((f) => f.field === field && f.wire === 2);
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

// ---------------------------------------------------------------------------------------------
// External data: weights stored in side files, addressed relative to the model's folder.

const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

function externalLocation(t: OnnxTypes.ITensorProto): string | null {
  if (t.dataLocation !== EXTERNAL) return null;
  return t.externalData?.find((e) => e.key === 'location')?.value ?? '';
}

/** Every external-data location in the model, including Constant attributes and subgraphs. */
function allExternalLocations(graph: OnnxTypes.IGraphProto, into = new Set<string>()): Set<string> {
  const visitTensor = (t: OnnxTypes.ITensorProto | null | undefined) => {
    const loc = t ? externalLocation(t) : null;
    if (loc !== null) into.add(loc);
  };
  graph.initializer?.forEach(visitTensor);
  graph.sparseInitializer?.forEach((s) => visitTensor(s.values));
  for (const node of graph.node ?? []) {
    for (const a of node.attribute ?? []) {
      visitTensor(a.t);
      a.tensors?.forEach(visitTensor);
      if (a.g) allExternalLocations(a.g, into);
      a.graphs?.forEach((g) => allExternalLocations(g, into));
    }
  }
  return into;
}

/** Checks that external data can be found (onnxruntime's own error names only the tensor). */
function checkExternalData(parsed: ParsedModel): Set<string> {
  const locations = allExternalLocations(parsed.graph);
  if (locations.size === 0) return locations;
  if (!parsed.baseDir) {
    throw new Error(
      `${parsed.label} keeps weights in external files (${[...locations].join(', ')}); pass the model's path (or its folder) so they can be found`,
    );
  }
  const missing: string[] = [];
  for (const loc of locations) {
    // onnxruntime refuses absolute locations and ones that leave the model's folder; say so here.
    if (loc === '' || path.isAbsolute(loc) || path.normalize(loc).startsWith('..')) {
      throw new Error(`${parsed.label} names external data '${loc}', which is not a path inside the model's folder; onnxruntime will not read it`);
    }
    if (!existsSync(path.join(parsed.baseDir, loc))) missing.push(loc);
  }
  if (missing.length) {
    throw new Error(
      `${parsed.label} keeps weights in external files that are missing from ${parsed.baseDir}: ${missing.join(', ')}; ` +
        `copy them next to the model (they must keep these names)`,
    );
  }
  return locations;
}

/**
 * The part of a model after an internal tensor: a copy whose only input is `cut` (e.g. a block's
 * output, [batch, tokens, d]) and whose outputs are `outputs`. Used to run the rest of the network
 * on edited activations. When `cut` is an Identity of another tensor (how exporters often name
 * outputs), later nodes read that other tensor: it is fed from the new input too.
 */
export function tailGraph(bytes: Uint8Array, cut: string, outputs: string[], cutDims: (number | string)[]): Uint8Array {
  const parsed = parseModel(bytes, `ONNX model (${bytes.byteLength} bytes)`, null);
  const { graph } = parsed;
  const index = indexGraph(graph);
  if (!index.producer.has(cut)) throw unknownTensor(parsed, cut);
  for (const name of outputs) if (!index.producer.has(name)) throw unknownTensor(parsed, name);
  // Names that carry the cut value: the cut and the tensors it is an Identity of.
  const aliases = new Set([cut]);
  for (let name = cut; ; ) {
    const node = graph.node[index.producer.get(name)!]!;
    if (node.opType !== 'Identity' || !node.input[0] || !index.producer.has(node.input[0])) break;
    name = node.input[0];
    aliases.add(name);
  }
  const needed = new Set(outputs);
  const keepNode = new Array<boolean>(graph.node.length).fill(false);
  for (let i = graph.node.length - 1; i >= 0; i--) {
    const node = graph.node[i]!;
    if (!node.output.some((o) => needed.has(o))) continue;
    if (node.output.some((o) => aliases.has(o))) continue; // produced upstream of the cut: fed instead
    keepNode[i] = true;
    for (const name of nodeReads(node)) needed.add(name);
  }
  for (let i = 0; i < graph.node.length; i++) {
    if (!keepNode[i]) continue;
    for (const name of nodeReads(graph.node[i]!)) {
      if (graph.input.some((g) => g.name === name) && !index.initializers.has(name)) {
        throw new Error(`${parsed.label}: ${outputs.join(', ')} also depends on input '${name}' directly, not only through '${cut}'; the model cannot be split there`);
      }
    }
  }
  const kept = (field: number, names: string[]) => {
    const entries = entriesOf(parsed, field);
    return new Set(entries.filter((_, i) => needed.has(names[i]!) && !aliases.has(names[i]!)));
  };
  const nodes = entriesOf(parsed, GRAPH.node);
  const keepEntries = new Set<WireField>([
    ...nodes.filter((_, i) => keepNode[i]),
    ...kept(GRAPH.initializer, graph.initializer.map((t) => t.name)),
    ...kept(GRAPH.sparseInitializer, graph.sparseInitializer.map((v) => v.values?.name ?? '')),
    ...kept(GRAPH.valueInfo, graph.valueInfo.map((v) => v.name)),
  ]);
  const filtered = new Set<number>([GRAPH.node, GRAPH.initializer, GRAPH.sparseInitializer, GRAPH.input, GRAPH.valueInfo, GRAPH.output]);
  // Identity nodes from the new input to every other alias come first (nodes stay topologically sorted).
  const parts: Uint8Array[] = [];
  for (const alias of aliases) {
    if (alias === cut || !needed.has(alias)) continue;
    parts.push(concatBytes(lengthDelimited(GRAPH.node, onnx.NodeProto.encode({ opType: 'Identity', input: [cut], output: [alias], name: `feed_${alias}` }).finish())));
  }
  for (const f of parsed.graphFields) {
    if (!filtered.has(f.field) || keepEntries.has(f)) parts.push(entryBytes(parsed, f));
  }
  const cutInput = onnx.ValueInfoProto.encode({
    name: cut,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: cutDims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  }).finish();
  parts.push(concatBytes(lengthDelimited(GRAPH.input, cutInput)));
  const declared = new Map<string, Uint8Array>();
  entriesOf(parsed, GRAPH.valueInfo).forEach((f, i) => declared.set(graph.valueInfo[i]!.name, parsed.bytes.subarray(f.dataStart, f.end)));
  entriesOf(parsed, GRAPH.output).forEach((f, i) => declared.set(graph.output[i]!.name, parsed.bytes.subarray(f.dataStart, f.end)));
  for (const name of outputs) {
    parts.push(concatBytes(lengthDelimited(GRAPH.output, declared.get(name) ?? onnx.ValueInfoProto.encode({ name }).finish())));
  }
  return spliceGraph(parsed, parts);
}

/**
 * Session option that lets onnxruntime find external data when a model is loaded from bytes
 * (e.g. a pruned copy): it otherwise resolves locations against the working directory.
 */
export function externalDataFolderConfig(folder: string): Record<string, unknown> {
  return { session: { model_external_initializers_file_folder_path: path.resolve(folder) } };
}

// ---------------------------------------------------------------------------------------------
// Graph indexing.

interface GraphIndex {
  nodes: Node[];
  /** Tensor name -> index of the node that produces it. */
  producer: Map<string, number>;
  initializers: Set<string>;
  /** Graph inputs that are fed at run time (old IR versions also list initializers as inputs). */
  feeds: ValueInfo[];
  /** Tensors that depend on a fed input (everything else is constant-foldable). */
  dynamic: Set<string>;
}

/** Names a node reads, including outer-scope names used inside its subgraphs (If/Loop/Scan). */
function nodeReads(node: OnnxTypes.INodeProto): string[] {
  const reads = (node.input ?? []).filter((n) => n !== '');
  const visit = (g: OnnxTypes.IGraphProto) => {
    // Over-approximates (also lists names defined inside the subgraph): harmless for reachability.
    for (const n of g.node ?? []) reads.push(...nodeReads(n));
  };
  for (const a of node.attribute ?? []) {
    if (a.g) visit(a.g);
    a.graphs?.forEach(visit);
  }
  return reads;
}

function indexGraph(graph: Graph): GraphIndex {
  const initializers = new Set<string>(graph.initializer.map((t) => t.name));
  for (const s of graph.sparseInitializer) if (s.values?.name) initializers.add(s.values.name);
  const feeds = graph.input.filter((i) => !initializers.has(i.name));
  const producer = new Map<string, number>();
  const dynamic = new Set<string>(feeds.map((i) => i.name));
  graph.node.forEach((node, i) => {
    const isDynamic = nodeReads(node).some((n) => dynamic.has(n));
    for (const out of node.output) {
      if (out === '') continue;
      producer.set(out, i);
      if (isDynamic) dynamic.add(out);
    }
  });
  return { nodes: graph.node, producer, initializers, feeds, dynamic };
}

// ---------------------------------------------------------------------------------------------
// Running a copy of the graph to learn tensor shapes.

export interface ProbeOptions {
  /** Side of the (square) image input, for graphs whose spatial dims are symbolic. */
  size?: number;
  /** The full input shape to probe with (batch first), e.g. [1, 16, 3, 224, 224] for video. */
  inputShape?: number[];
  /** Folder external-data locations are relative to, when the model is given as bytes. */
  baseDir?: string;
}

interface ProbedTensor {
  type: ort.Tensor.Type;
  dims: number[];
}

interface ProbeResult {
  tensors: Map<string, ProbedTensor>;
  /** The batch size the probe ran with (2 where the batch axis is dynamic, else the fixed one). */
  batch: number;
  inputShape: number[];
  /** Whether the input's batch dim is symbolic, and its name. */
  batchParam: string | null;
  /** Whether any non-batch input dim is symbolic (tokens then vary with the input). */
  symbolicSpatial: boolean;
}

const INPUT_TYPES: Record<number, ort.Tensor.Type> = {
  [onnx.TensorProto.DataType.FLOAT]: 'float32',
  [onnx.TensorProto.DataType.FLOAT16]: 'float16',
  [onnx.TensorProto.DataType.DOUBLE]: 'float64',
};

/** ONNX TensorProto.DataType codes of onnxruntime's tensor types, for output type info. */
const ONNX_TYPE: Partial<Record<ort.Tensor.Type, number>> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9,
  float16: 10, float64: 11, uint32: 12, uint64: 13,
};

/** Most outputs one probe run exposes: bounds memory on huge graphs (ViT-B needs ~30). */
const MAX_PROBED = 1024;

function singleFeed(parsed: ParsedModel, index: GraphIndex): ValueInfo {
  if (index.feeds.length !== 1) {
    throw new Error(
      `${parsed.label} has ${index.feeds.length} inputs (${index.feeds.map((i) => i.name).join(', ')}); ` +
        `only single-input vision backbones (pixel_values) can be inspected`,
    );
  }
  return index.feeds[0]!;
}

/** The input shape to probe with: fixed dims as they are, symbolic ones from options. */
function probeShape(parsed: ParsedModel, input: OnnxTypes.IValueInfoProto, options: ProbeOptions, batch: number): number[] {
  const dims = input.type?.tensorType?.shape?.dim;
  if (options.inputShape) {
    if (dims && dims.length !== options.inputShape.length) {
      throw new Error(`input shape [${options.inputShape.join(', ')}] has rank ${options.inputShape.length}, but ${parsed.label} input '${input.name}' has rank ${dims.length}`);
    }
    return [...options.inputShape];
  }
  if (!dims || dims.length === 0) {
    throw new Error(`${parsed.label} input '${input.name}' declares no shape; pass the input shape (--input-shape 1,3,224,224)`);
  }
  const rank = dims.length;
  return dims.map((d, k) => {
    const fixed = toNumber(d.dimValue ?? 0);
    if (fixed > 0) return fixed;
    if (k === 0) return batch;
    if (rank >= 4 && k === rank - 3) return 3; // channels of [.., C, H, W]
    if (k >= rank - 2 && options.size) return options.size;
    const name = d.dimParam ? `'${d.dimParam}'` : 'unnamed';
    throw new Error(
      `${parsed.label} input '${input.name}' has a symbolic dim ${name} at position ${k}; ` +
        (k >= rank - 2 ? 'pass the image size (--size 224, or a manifest with input.size)' : 'pass the full input shape (--input-shape)'),
    );
  });
}

function dummyInput(type: ort.Tensor.Type, shape: number[]): ort.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  // Smooth non-constant values: an all-zero image can hide shape-dependent branches behind NaNs
  // of degenerate normalisations, and a fixed pattern keeps the probe deterministic.
  if (type === 'float16') return new ort.Tensor('float16', new Uint16Array(n).fill(0x3400 /* 0.25 */), shape);
  const data = type === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = 0.5 * Math.sin(i * 0.37);
  return new ort.Tensor(type, data, shape);
}

/** A copy of the graph whose outputs are exactly `names` (onnxruntime then skips the rest). */
function withOutputsOnly(parsed: ParsedModel, names: string[]): Uint8Array {
  const existing = new Map<string, Uint8Array>();
  entriesOf(parsed, GRAPH.output).forEach((f, i) => existing.set(parsed.graph.output[i]!.name, entryBytes(parsed, f)));
  const parts: Uint8Array[] = parsed.graphFields.filter((f) => f.field !== GRAPH.output).map((f) => entryBytes(parsed, f));
  for (const name of names) {
    // Name-only outputs are valid: onnxruntime infers their type and shape.
    parts.push(existing.get(name) ?? concatBytes(lengthDelimited(GRAPH.output, onnx.ValueInfoProto.encode({ name }).finish())));
  }
  return spliceGraph(parsed, parts);
}

async function probe(parsed: ParsedModel, index: GraphIndex, names: string[], options: ProbeOptions): Promise<ProbeResult> {
  checkExternalData(parsed);
  const input = singleFeed(parsed, index);
  const elemType = input.type?.tensorType?.elemType ?? onnx.TensorProto.DataType.FLOAT;
  const inputType = INPUT_TYPES[elemType];
  if (!inputType) throw new Error(`${parsed.label} input '${input.name}' has element type ${elemType}; only float inputs (images) can be probed`);
  const dims = input.type?.tensorType?.shape?.dim ?? [];
  const batchDim = dims[0];
  const batchParam = batchDim && !(toNumber(batchDim.dimValue ?? 0) > 0) ? batchDim.dimParam || 'batch' : null;
  const symbolicSpatial = dims.slice(1).some((d) => !(toNumber(d.dimValue ?? 0) > 0));

  const session = await ort.InferenceSession.create(withOutputsOnly(parsed, names), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'basic',
    logSeverityLevel: 4, // failures are reported below, with the input shape; no raw log lines
    ...(parsed.baseDir ? { extra: externalDataFolderConfig(parsed.baseDir) } : {}),
  }).catch((err: unknown) => {
    throw new Error(`onnxruntime could not load ${parsed.label}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  });
  try {
    // Batch 2 where the batch is dynamic tells a batch axis from a constant leading 1. Some
    // exports bake batch 1 into a Reshape despite a dynamic input: then fall back to 1.
    const batches = batchParam ? [2, 1] : [0];
    let failure: { shape: number[]; error: unknown } | null = null;
    for (const batch of batches) {
      const shape = probeShape(parsed, input, options, batch);
      let result: ort.InferenceSession.OnnxValueMapType;
      try {
        result = await session.run({ [input.name]: dummyInput(inputType, shape) }, { logSeverityLevel: 4 });
      } catch (error) {
        failure = { shape, error };
        continue;
      }
      const tensors = new Map<string, ProbedTensor>();
      for (const name of names) {
        const t = result[name];
        if (t) tensors.set(name, { type: t.type, dims: [...t.dims] });
        t?.dispose();
      }
      return { tensors, batch: shape[0]!, inputShape: shape, batchParam, symbolicSpatial };
    }
    throw new Error(
      `${parsed.label} failed on a test input of shape [${failure!.shape.join(', ')}]: ${(failure!.error as Error).message.split('\n')[0]}` +
        (symbolicSpatial ? ' (are --size / --input-shape right?)' : ''),
      { cause: failure!.error },
    );
  } finally {
    await session.release();
  }
}

// ---------------------------------------------------------------------------------------------
// Finding block outputs.

export interface Candidate {
  /** 'block_i' (i = depth) where the residual pattern is regular; null otherwise. */
  layer: string | null;
  /** The tensor's name in the graph (what a manifest's `layers` maps to). */
  tensor: string;
  /** ['batch', tokens, d] */
  shape: [string, number, number];
  tokens: number;
  dModel: number;
  /** Op type of the node that produces it ('Add' for a residual sum). */
  op: string;
  node: string;
  /** Position of the producing node in the graph (graph order = topological order). */
  nodeIndex: number;
  /** Why it was picked: a residual sum, a block-like name, or an existing graph output. */
  reason: 'residual' | 'name' | 'output';
  /** For residual sums: whether the added branch contains attention (Softmax). */
  branch: 'attention' | 'mlp' | null;
  isGraphOutput: boolean;
}

/** Names a person or exporter gave a block output (not auto-generated '/path/Op_output_0'). */
const BLOCK_NAME = /(^|[._:-])(blocks?|layers?|hidden_states?|resid(ual)?\w*)([._:-]|\d|$)/i;

const ATTENTION_OPS = new Set(['Softmax', 'Attention', 'MultiHeadAttention', 'GroupQueryAttention', 'PackedAttention']);

interface Residual {
  nodeIndex: number;
  attention: boolean;
}

/**
 * Residual sums: Add(x, f(x)) where x is an ancestor of the other operand (the skip connection
 * meets its branch). Bias, epsilon and position-embedding Adds have a constant operand and are
 * never residual. The search walks back from f(x) only through nodes after x's producer (graph
 * order is topological), so each test costs at most one block's nodes, not the whole graph.
 */
function findResiduals(index: GraphIndex): Map<string, Residual> {
  const found = new Map<string, Residual>();
  let budget = 20_000_000; // node visits over all Adds; far above what a ViT-H needs
  index.nodes.forEach((node, i) => {
    if (node.opType !== 'Add' || (node.domain && node.domain !== 'ai.onnx') || node.input.length !== 2) return;
    const [a, b] = node.input as [string, string];
    if (!index.dynamic.has(a) || !index.dynamic.has(b) || !node.output[0]) return;
    const ia = index.producer.get(a) ?? -1;
    const ib = index.producer.get(b) ?? -1;
    if (ia === ib) return;
    const [skip, branch, low] = ia < ib ? [a, b, ia] : [b, a, ib];
    const seen = new Set<number>();
    const stack = [index.producer.get(branch)!];
    let reaches = false;
    let attention = false;
    while (stack.length && budget-- > 0) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      const visited = index.nodes[n]!;
      if (ATTENTION_OPS.has(visited.opType)) attention = true;
      for (const input of nodeReads(visited)) {
        if (input === skip) reaches = true;
        const p = index.producer.get(input);
        if (p !== undefined && p > low && !seen.has(p)) stack.push(p);
      }
    }
    if (reaches) found.set(node.output[0], { nodeIndex: i, attention });
  });
  return found;
}

/**
 * Names residual sums block_0..block_{n-1}. Pre-norm ViTs add two residuals per block
 * (attention, then MLP): the block ends at the MLP one. Blocks with one residual each (parallel
 * attention+MLP, MLP-only toys) end at every one. Anything else is left unnamed rather than
 * guessed: the user still sees every candidate's tensor name and shape.
 */
function nameBlocks(residuals: Candidate[]): void {
  if (residuals.length === 0) return;
  const sameShape = residuals.every((c) => c.tokens === residuals[0]!.tokens && c.dModel === residuals[0]!.dModel);
  if (!sameShape) return;
  const kinds = residuals.map((c) => c.branch);
  const alternating = kinds.length % 2 === 0 && kinds.every((k, i) => k === (i % 2 === 0 ? 'attention' : 'mlp'));
  const uniform = kinds.every((k) => k === kinds[0]);
  const ends = alternating ? residuals.filter((_, i) => i % 2 === 1) : uniform ? residuals : [];
  ends.forEach((c, depth) => (c.layer = `block_${depth}`));
}

/**
 * Internal tensors that look like transformer block outputs ([batch, tokens, d]), in graph
 * order, with block names where the residual pattern is regular. Runs the graph once on a
 * dummy input (batch 2 where the batch axis is dynamic) to learn shapes.
 */
export async function listCandidateLayers(model: string | Uint8Array, options: ProbeOptions = {}): Promise<Candidate[]> {
  const parsed = loadModel(model, options.baseDir);
  const index = indexGraph(parsed.graph);
  const residuals = findResiduals(index);
  const outputs = new Set(parsed.graph.output.map((o) => o.name));

  const reasons = new Map<string, Candidate['reason']>();
  for (const name of residuals.keys()) reasons.set(name, 'residual');
  for (const name of outputs) if (!reasons.has(name) && index.producer.has(name)) reasons.set(name, 'output');
  for (const name of index.producer.keys()) {
    if (!reasons.has(name) && index.dynamic.has(name) && !name.includes('/') && BLOCK_NAME.test(name)) reasons.set(name, 'name');
  }
  const names = [...reasons.keys()].sort((x, y) => index.producer.get(x)! - index.producer.get(y)!).slice(0, MAX_PROBED);
  if (names.length === 0) return [];

  const probed = await probe(parsed, index, names, options);
  const candidates: Candidate[] = [];
  for (const name of names) {
    const t = probed.tensors.get(name);
    if (!t || t.dims.length !== 3 || t.dims[0] !== probed.batch) continue;
    if (t.type !== 'float32' && t.type !== 'float16' && t.type !== 'float64') continue;
    const [, tokens, dModel] = t.dims as [number, number, number];
    if (tokens < 1 || dModel < 2) continue;
    const nodeIndex = index.producer.get(name)!;
    const node = index.nodes[nodeIndex]!;
    const residual = residuals.get(name);
    candidates.push({
      layer: null,
      tensor: name,
      shape: ['batch', tokens, dModel],
      tokens,
      dModel,
      op: node.opType ?? '',
      node: node.name ?? '',
      nodeIndex,
      reason: reasons.get(name)!,
      branch: residual ? (residual.attention ? 'attention' : 'mlp') : null,
      isGraphOutput: outputs.has(name),
    });
  }
  nameBlocks(candidates.filter((c) => c.reason === 'residual'));
  return candidates;
}

// ---------------------------------------------------------------------------------------------
// Exposing tensors as outputs.

export interface ExposedOutput {
  name: string;
  type: ort.Tensor.Type;
  /** Declared shape: symbolic batch (and tokens when the input size is symbolic). */
  dims: (number | string)[];
}

export interface ExposeResult {
  outPath: string;
  /** Outputs added (names that were already graph outputs are not repeated). */
  added: ExposedOutput[];
}

function unknownTensor(parsed: ParsedModel, name: string): Error {
  const file = path.basename(parsed.label);
  return new Error(`${parsed.label} has no tensor '${name}' computed by a node; run \`studio inspect-model ${file}\` to list candidate layers`);
}

function declaredDims(t: ProbedTensor, probed: ProbeResult): (number | string)[] {
  return t.dims.map((d, k) => {
    if (k === 0 && probed.batchParam && d === probed.batch) return probed.batchParam;
    if (probed.symbolicSpatial && k > 0 && k < t.dims.length - 1) return t.dims.length === 3 ? 'tokens' : `dim_${k}`;
    return d;
  });
}

/** External-data initializers rewritten so their locations resolve from `outDir`, or a refusal. */
function relocatedInitializers(parsed: ParsedModel, outDir: string): Map<number, Uint8Array> {
  const rewritten = new Map<number, Uint8Array>();
  if (!parsed.baseDir || path.resolve(outDir) === parsed.baseDir) return rewritten;
  const locations = allExternalLocations(parsed.graph);
  if (locations.size === 0) return rewritten;
  const topLevel = new Set(parsed.graph.initializer.map(externalLocation).filter((l): l is string => l !== null));
  if ([...locations].some((l) => !topLevel.has(l)) || parsed.graph.sparseInitializer.some((s) => s.values && externalLocation(s.values) !== null)) {
    throw new Error(`${parsed.label} keeps Constant or subgraph weights in external files; write the copy into ${parsed.baseDir} instead`);
  }
  parsed.graph.initializer.forEach((t, i) => {
    const loc = externalLocation(t);
    if (loc === null) return;
    const relative = path.relative(outDir, path.join(parsed.baseDir!, loc));
    // onnxruntime only reads external data inside the model's folder (no '..', no absolute path).
    if (relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new Error(
        `${parsed.label} keeps weights in ${loc} (external data) and onnxruntime only reads external data inside the model's folder; ` +
          `write the copy into ${parsed.baseDir} (the default) or a folder that contains it`,
      );
    }
    const copy = onnx.TensorProto.fromObject(onnx.TensorProto.toObject(t as OnnxTypes.TensorProto));
    copy.externalData = t.externalData.map((e) => (e.key === 'location' ? { key: 'location', value: relative.split(path.sep).join('/') } : e));
    rewritten.set(i, onnx.TensorProto.encode(copy).finish());
  });
  return rewritten;
}

/**
 * Writes a copy of the model with `tensorNames` added as graph outputs (existing outputs kept,
 * nothing else changed). One probe run supplies each output's element type and shape. External
 * data keeps working: locations are rewritten relative to the new file, or refused where
 * onnxruntime could not read them from there.
 */
export async function exposeOutputs(modelPath: string, tensorNames: string[], outPath: string, options: ProbeOptions = {}): Promise<ExposeResult> {
  const parsed = readModelFile(modelPath);
  const target = path.resolve(outPath);
  if (target === parsed.label) throw new Error(`refusing to overwrite ${target}; write the copy to another file`);
  if (tensorNames.length === 0) throw new Error('no tensors to expose');
  const index = indexGraph(parsed.graph);
  for (const name of tensorNames) if (!index.producer.has(name)) throw unknownTensor(parsed, name);
  const outputs = new Set(parsed.graph.output.map((o) => o.name));
  const toAdd = [...new Set(tensorNames)].filter((n) => !outputs.has(n));

  const relocated = relocatedInitializers(parsed, path.dirname(target));
  const added: ExposedOutput[] = [];
  const extra: Uint8Array[] = [];
  if (toAdd.length) {
    const probed = await probe(parsed, index, toAdd, options);
    for (const name of toAdd) {
      const t = probed.tensors.get(name)!;
      const elemType = ONNX_TYPE[t.type];
      if (elemType === undefined) throw new Error(`${parsed.label} tensor '${name}' has type ${t.type}, which cannot be a graph output here`);
      const dims = declaredDims(t, probed);
      added.push({ name, type: t.type, dims });
      const info: OnnxTypes.IValueInfoProto = {
        name,
        type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
      };
      extra.push(concatBytes(lengthDelimited(GRAPH.output, onnx.ValueInfoProto.encode(info).finish())));
    }
  }
  const initializerIndex = new Map(entriesOf(parsed, GRAPH.initializer).map((f, i) => [f, i]));
  const parts = parsed.graphFields.map((f) => {
    const replacement = relocated.get(initializerIndex.get(f) ?? -1);
    return replacement ? concatBytes(lengthDelimited(GRAPH.initializer, replacement)) : entryBytes(parsed, f);
  });
  await writeFile(target, spliceGraph(parsed, [...parts, ...extra]));
  return { outPath: target, added };
}

// ---------------------------------------------------------------------------------------------
// Pruning.

/**
 * A copy with only the nodes needed to compute `outputs` (reverse reachability), the
 * initializers and inputs they read, and `outputs` as the graph's outputs. onnxruntime computes
 * every node that feeds a graph output, so running an early block of a model that also outputs
 * last_hidden_state would otherwise compute the whole network.
 */
export function pruneToOutputs(bytes: Uint8Array, wanted: string[]): Uint8Array {
  const outputs = [...new Set(wanted)];
  const parsed = parseModel(bytes, `ONNX model (${bytes.byteLength} bytes)`, null);
  const { graph } = parsed;
  if (outputs.length === 0) throw new Error('pruneToOutputs needs at least one output');
  const index = indexGraph(graph);
  const inputs = new Set(graph.input.map((i) => i.name));
  for (const name of outputs) {
    if (!index.producer.has(name) && !inputs.has(name) && !index.initializers.has(name)) throw unknownTensor(parsed, name);
  }
  const needed = new Set(outputs);
  const keepNode = new Array<boolean>(graph.node.length).fill(false);
  for (let i = graph.node.length - 1; i >= 0; i--) {
    const node = graph.node[i]!;
    if (!node.output.some((o) => needed.has(o))) continue;
    keepNode[i] = true;
    for (const name of nodeReads(node)) needed.add(name);
  }

  const kept = (field: number, names: string[]) => {
    const entries = entriesOf(parsed, field);
    return new Set(entries.filter((_, i) => needed.has(names[i]!)));
  };
  const nodes = entriesOf(parsed, GRAPH.node);
  const keepEntries = new Set<WireField>([
    ...nodes.filter((_, i) => keepNode[i]),
    ...kept(GRAPH.initializer, graph.initializer.map((t) => t.name)),
    ...kept(GRAPH.sparseInitializer, graph.sparseInitializer.map((s) => s.values?.name ?? '')),
    ...kept(GRAPH.input, graph.input.map((i) => i.name)),
    ...kept(GRAPH.valueInfo, graph.valueInfo.map((v) => v.name)),
  ]);
  const filtered = new Set<number>([GRAPH.node, GRAPH.initializer, GRAPH.sparseInitializer, GRAPH.input, GRAPH.valueInfo, GRAPH.output]);
  const parts = parsed.graphFields.filter((f) => !filtered.has(f.field) || keepEntries.has(f)).map((f) => entryBytes(parsed, f));

  // Output entries: the existing declaration where there is one (keeps its type and shape),
  // else value_info's, else name only (onnxruntime infers the rest).
  const declared = new Map<string, Uint8Array>();
  entriesOf(parsed, GRAPH.valueInfo).forEach((f, i) => declared.set(graph.valueInfo[i]!.name, parsed.bytes.subarray(f.dataStart, f.end)));
  entriesOf(parsed, GRAPH.output).forEach((f, i) => declared.set(graph.output[i]!.name, parsed.bytes.subarray(f.dataStart, f.end)));
  for (const name of outputs) {
    parts.push(concatBytes(lengthDelimited(GRAPH.output, declared.get(name) ?? onnx.ValueInfoProto.encode({ name }).finish())));
  }
  return spliceGraph(parsed, parts);
}
