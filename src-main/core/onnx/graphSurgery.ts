// Graph surgery on users' ONNX backbones: expose chosen internal tensors as extra graph outputs,
// prune a graph down to what given outputs need, and cut off the part after a layer (block
// outputs are found by layerProbe.ts).
//
// Edits are made on the protobuf wire format, not by decoding and re-encoding the whole model:
// onnx-proto knows the ONNX 1.10 schema only, and protobufjs silently drops fields it does not
// know (newer FunctionProto fields, metadata on nodes), so a decode/encode round trip could change
// a model from a newer exporter. Splicing the graph's repeated fields keeps every other byte as
// it was ("no other change") and avoids re-encoding hundreds of MB of weights. The decoded model
// is used only to read names; its i-th node/initializer/input/output is the i-th wire entry.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { type WireField, lengthDelimited, concatBytes, GRAPH } from './onnxWire.js';
import { type Tensor, type ParsedModel, parseModel, readModelFile, spliceGraph, entryBytes, entriesOf, externalLocation, allExternalLocations, nodeReads, indexGraph, unknownTensor } from './onnxModel.js';
import { type ProbeOptions, type ProbedTensor, type ProbeResult, ONNX_TYPE, probe } from './layerProbe.js';

const { onnx } = onnxProto;

export { listCandidateLayers, describeTensors, type Candidate, type ProbeOptions } from './layerProbe.js';
export { externalDataFolderConfig } from './onnxModel.js';

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
