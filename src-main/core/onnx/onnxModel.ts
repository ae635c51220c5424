// An ONNX model as bytes plus its decoded graph (names only), with the helpers every graph edit
// needs: entries by field, splicing a new graph in, external-data checks, and a graph index.
import { existsSync } from 'node:fs';
import { readCheckedFileSync, UnsafeFileError } from '../util/checkedRead.js';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { decodeModel } from './graphBuilder.js';
import { type WireField, readFields, lengthDelimited, concatBytes, MODEL_GRAPH } from './onnxWire.js';

const { onnx } = onnxProto;

// ---------------------------------------------------------------------------------------------
// Reading a model.

// Decoded messages: protobufjs fills in defaults ('' and []), so these fields are never null,
// although onnx-proto's typings say they may be.
export type ValueInfo = Omit<OnnxTypes.ValueInfoProto, 'name'> & { name: string };
export type Node = Omit<OnnxTypes.NodeProto, 'input' | 'output' | 'opType' | 'name' | 'domain'> & {
  input: string[];
  output: string[];
  opType: string;
  name: string;
  domain: string;
};
export type Tensor = Omit<OnnxTypes.TensorProto, 'name' | 'externalData'> & { name: string; externalData: OnnxTypes.StringStringEntryProto[] };
export type Graph = Omit<OnnxTypes.GraphProto, 'node' | 'initializer' | 'sparseInitializer' | 'input' | 'output' | 'valueInfo'> & {
  node: Node[];
  initializer: Tensor[];
  sparseInitializer: OnnxTypes.SparseTensorProto[];
  input: ValueInfo[];
  output: ValueInfo[];
  valueInfo: ValueInfo[];
};

/** A model read for surgery: its bytes, the decoded view (names only) and wire offsets. */
export interface ParsedModel {
  label: string;
  bytes: Uint8Array;
  model: OnnxTypes.ModelProto;
  graph: Graph;
  /** Folder that external-data locations are relative to (null for bytes of unknown origin). */
  baseDir: string | null;
  graphEntry: WireField;
  graphFields: WireField[];
}

/**
 * Bytes that are not an ONNX model. A class of its own so that code which parsed a buffer (and
 * so only knew it as "N bytes") can re-throw the error naming the file the bytes came from.
 */
export class NotOnnxModelError extends Error {
  constructor(
    readonly label: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${label} is not an ONNX model (${reason}); expected a .onnx file exported with torch.onnx.export or similar`, options);
    this.name = 'NotOnnxModelError';
  }
}

export function parseModel(bytes: Uint8Array, label: string, baseDir: string | null): ParsedModel {
  const notOnnx = (why: string, cause?: unknown) => new NotOnnxModelError(label, why.split('\n')[0]!.trim(), { cause });
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

export function readModelFile(modelPath: string): ParsedModel {
  const resolved = path.resolve(modelPath);
  let bytes: Uint8Array;
  try {
    bytes = readCheckedFileSync(resolved, 'onnx');
  } catch (err) {
    if (err instanceof UnsafeFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ONNX model ${resolved}${code ? ` (${code})` : ''}`, { cause: err });
  }
  return parseModel(bytes, resolved, path.dirname(resolved));
}

export function loadModel(model: string | Uint8Array, baseDir?: string): ParsedModel {
  if (typeof model === 'string') return readModelFile(model);
  return parseModel(model, `in-memory ONNX model (${model.byteLength} bytes)`, baseDir ? path.resolve(baseDir) : null);
}

/** The model with its graph field replaced by `graphParts` (graph entries, concatenated). */
export function spliceGraph(parsed: ParsedModel, graphParts: Uint8Array[]): Uint8Array {
  const { bytes, graphEntry } = parsed;
  const graph = concatBytes(graphParts);
  return concatBytes([bytes.subarray(0, graphEntry.start), ...lengthDelimited(MODEL_GRAPH, graph), bytes.subarray(graphEntry.end)]);
}

export function entryBytes(parsed: ParsedModel, f: WireField): Uint8Array {
  return parsed.bytes.subarray(f.start, f.end);
}

/** Graph entries of one field number, in order (pairs with the decoded repeated field). */
export function entriesOf(parsed: ParsedModel, field: number): WireField[] {
  return parsed.graphFields.filter((f) => f.field === field && f.wire === 2);
}

export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

// ---------------------------------------------------------------------------------------------
// External data: weights stored in side files, addressed relative to the model's folder.

export const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

export function externalLocation(t: OnnxTypes.ITensorProto): string | null {
  if (t.dataLocation !== EXTERNAL) return null;
  return t.externalData?.find((e) => e.key === 'location')?.value ?? '';
}

/** Every external-data location in the model, including Constant attributes and subgraphs. */
export function allExternalLocations(graph: OnnxTypes.IGraphProto, into = new Set<string>()): Set<string> {
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
export function checkExternalData(parsed: ParsedModel): Set<string> {
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
 * Session option that lets onnxruntime find external data when a model is loaded from bytes
 * (e.g. a pruned copy): it otherwise resolves locations against the working directory.
 */
export function externalDataFolderConfig(folder: string): Record<string, unknown> {
  return { session: { model_external_initializers_file_folder_path: path.resolve(folder) } };
}

// ---------------------------------------------------------------------------------------------
// Graph indexing.

export interface GraphIndex {
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
export function nodeReads(node: OnnxTypes.INodeProto): string[] {
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

export function indexGraph(graph: Graph): GraphIndex {
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

export function unknownTensor(parsed: ParsedModel, name: string): Error {
  const file = path.basename(parsed.label);
  return new Error(`${parsed.label} has no tensor '${name}' computed by a node; run \`studio inspect-model ${file}\` to list candidate layers`);
}
