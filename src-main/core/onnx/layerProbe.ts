// Which internal tensors of a model are transformer block outputs: probe shapes with a dummy
// batch, find residual sums, and name blocks by depth.
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { lengthDelimited, concatBytes, GRAPH } from './onnxWire.js';
import { type ValueInfo, type Tensor, type ParsedModel, loadModel, spliceGraph, entryBytes, entriesOf, toNumber, checkExternalData, externalDataFolderConfig, type GraphIndex, nodeReads, indexGraph } from './onnxModel.js';

const { onnx } = onnxProto;

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

export interface ProbedTensor {
  type: ort.Tensor.Type;
  dims: number[];
}

export interface ProbeResult {
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
export const ONNX_TYPE: Partial<Record<ort.Tensor.Type, number>> = {
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

export async function probe(parsed: ParsedModel, index: GraphIndex, names: string[], options: ProbeOptions): Promise<ProbeResult> {
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
  /** Why it was picked: a residual sum, a normalisation's output (LayerNorm, RMSNorm, or the
   *  same spelt out in ReduceMean/Sub/Div), an existing graph output, or a block-like name. */
  reason: 'residual' | 'norm' | 'output' | 'name' | 'requested';
  /** For residual sums: whether the added branch contains attention (Softmax). */
  branch: 'attention' | 'mlp' | null;
  isGraphOutput: boolean;
}

/** Names a person or exporter gave a block output (not auto-generated '/path/Op_output_0'). */
const BLOCK_NAME = /(^|[._:-])(blocks?|layers?|hidden_states?|resid(ual)?\w*)([._:-]|\d|$)/i;

const ATTENTION_OPS = new Set(['Softmax', 'Attention', 'MultiHeadAttention', 'GroupQueryAttention', 'PackedAttention']);

/** Ops of a learned linear map: every real residual branch (attention, MLP) has one. */
const LINEAR_OPS = new Set(['MatMul', 'Gemm', 'Conv', 'FusedMatMul', 'MatMulInteger', 'QLinearMatMul', 'MatMulNBits']);

export interface Residual {
  nodeIndex: number;
  attention: boolean;
  /** The skip operand x of Add(x, f(x)): what the block's branch read. */
  skip: string;
}

/**
 * Residual sums: Add(x, f(x)) where x is an ancestor of the other operand (the skip connection
 * meets its branch). Bias, epsilon and position-embedding Adds have a constant operand and are
 * never residual, and neither is an elementwise Add(x, g(x)) without a linear map in g, such as
 * x + 0.044715 x^3 inside the tanh form of GELU (SigLIP's MLP): the branch must hold a MatMul-like
 * op. The search walks back from f(x) only through nodes after x's producer (graph
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
    let linear = false;
    while (stack.length && budget-- > 0) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      const visited = index.nodes[n]!;
      if (ATTENTION_OPS.has(visited.opType)) attention = true;
      if (LINEAR_OPS.has(visited.opType ?? '')) linear = true;
      for (const input of nodeReads(visited)) {
        if (input === skip) reaches = true;
        const p = index.producer.get(input);
        if (p !== undefined && p > low && !seen.has(p)) stack.push(p);
      }
    }
    if (reaches && linear) found.set(node.output[0], { nodeIndex: i, attention, skip });
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

/** Fused normalisation ops whose first input is normalised over the last axis. */
const NORM_OPS = new Set(['LayerNormalization', 'SimplifiedLayerNormalization', 'RMSNormalization']);

/** Tensor name -> indices of the nodes that read it. */
function consumersOf(index: GraphIndex): Map<string, number[]> {
  const consumers = new Map<string, number[]>();
  index.nodes.forEach((node, i) => {
    for (const name of new Set(node.input ?? [])) {
      if (!name) continue;
      const list = consumers.get(name);
      if (list) list.push(i);
      else consumers.set(name, [i]);
    }
  });
  return consumers;
}

/**
 * The output of a normalisation applied to `x`, or null: a fused LayerNormalization-like node
 * reading x, or LayerNorm as older opsets export it, (x - mean(x)) / sqrt(var + eps) * gamma +
 * beta, i.e. ReduceMean(x) -> Sub(x, mean) -> ... -> Div(sub, .) then the optional affine
 * Mul/Add with a constant operand.
 */
function normOutputOf(index: GraphIndex, consumers: Map<string, number[]>, x: string): string | null {
  const readers = (consumers.get(x) ?? []).map((i) => index.nodes[i]!);
  const fused = readers.find((n) => NORM_OPS.has(n.opType ?? '') && n.input?.[0] === x);
  if (fused?.output?.[0]) return fused.output[0];
  const mean = readers.find((n) => n.opType === 'ReduceMean')?.output?.[0];
  const centred = mean ? readers.find((n) => n.opType === 'Sub' && n.input?.[0] === x && n.input?.[1] === mean)?.output?.[0] : undefined;
  if (!centred) return null;
  const next = (name: string, op: string, firstOnly: boolean) =>
    (consumers.get(name) ?? []).map((i) => index.nodes[i]!).find((n) => n.opType === op && (firstOnly ? n.input?.[0] === name : n.input?.includes(name)));
  const divided = next(centred, 'Div', true);
  let y = divided?.output?.[0];
  if (!y) return null;
  // The affine part: Mul by gamma, then Add beta, each with a constant (non-dynamic) operand.
  for (const op of ['Mul', 'Add']) {
    const affine = next(y, op, false);
    if (affine?.output?.[0] && affine.input!.every((n) => n === y || !index.dynamic.has(n))) y = affine.output[0];
  }
  return y;
}

/**
 * Post-norm blocks (x = norm1(x + attn(x)); x = norm2(x + mlp(x)), as in BERT and the original
 * Transformer) end at the normalisation after the last residual sum, not at the sum: the next
 * block reads the normalised tensor. A block end is moved to its norm when the next block's
 * first residual skips from that norm; the last block, which has no next one, follows the
 * others when they all were post-norm (a pre-norm model's final norm is left alone).
 */
function promotePostNorm(candidates: Candidate[], residuals: Map<string, Residual>, index: GraphIndex): void {
  const consumers = consumersOf(index);
  const sums = candidates.filter((c) => c.reason === 'residual');
  const ends = sums.filter((c) => c.layer !== null);
  const moves: [Candidate, Candidate][] = [];
  for (const [k, end] of ends.entries()) {
    const norm = normOutputOf(index, consumers, end.tensor);
    const target = norm ? candidates.find((c) => c.tensor === norm && c.tokens === end.tokens && c.dModel === end.dModel) : undefined;
    if (!target) return; // every block must have its norm, else the pattern is not post-norm
    const next = sums[sums.indexOf(end) + 1];
    const postNorm = next ? residuals.get(next.tensor)?.skip === norm : k > 0 && moves.length === k;
    if (!postNorm) return;
    moves.push([end, target]);
  }
  for (const [end, norm] of moves) {
    norm.layer = end.layer;
    end.layer = null;
  }
}

/** A probed tensor as a candidate layer, or why it cannot be one ([batch, tokens, d] floats). */
function asCandidate(
  name: string,
  probed: ProbeResult,
  index: GraphIndex,
  reason: Candidate['reason'],
  residual: Residual | undefined,
  outputs: Set<string>,
): Candidate | string {
  const t = probed.tensors.get(name);
  if (!t) return 'onnxruntime did not compute it';
  if (t.dims.length !== 3 || t.dims[0] !== probed.batch) return `it has shape [${t.dims.join(', ')}] on a batch of ${probed.batch}, not [batch, tokens, d]`;
  if (t.type !== 'float32' && t.type !== 'float16' && t.type !== 'float64') return `it holds ${t.type}, not floats`;
  const [, tokens, dModel] = t.dims as [number, number, number];
  if (tokens < 1 || dModel < 2) return `it has shape [${t.dims.join(', ')}], too small for tokens x d`;
  const nodeIndex = index.producer.get(name)!;
  const node = index.nodes[nodeIndex]!;
  return {
    layer: null,
    tensor: name,
    shape: ['batch', tokens, dModel],
    tokens,
    dModel,
    op: node.opType ?? '',
    node: node.name ?? '',
    nodeIndex,
    reason,
    branch: residual ? (residual.attention ? 'attention' : 'mlp') : null,
    isGraphOutput: outputs.has(name),
  };
}

/**
 * Any tensors of the graph, by name, as layers (reason 'requested'): what `--expose` takes
 * besides the listed candidates. Refuses, saying why, a name the graph does not compute or a
 * tensor not shaped [batch, tokens, d].
 */
export async function describeTensors(model: string | Uint8Array, names: string[], options: ProbeOptions = {}): Promise<Candidate[]> {
  const parsed = loadModel(model, options.baseDir);
  const index = indexGraph(parsed.graph);
  for (const name of names) {
    if (!index.producer.has(name)) throw new Error(`${parsed.label} has no tensor '${name}' computed by a node`);
  }
  const probed = await probe(parsed, index, names, options);
  const outputs = new Set(parsed.graph.output.map((o) => o.name));
  return names.map((name) => {
    const c = asCandidate(name, probed, index, 'requested', undefined, outputs);
    if (typeof c === 'string') throw new Error(`tensor '${name}' of ${parsed.label} cannot be a layer: ${c}`);
    return c;
  });
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
  // Normalisation outputs: what post-norm blocks end with, and layers SAEs are trained on too.
  const consumers = consumersOf(index);
  for (const name of index.dynamic) {
    const norm = normOutputOf(index, consumers, name);
    if (norm && !reasons.has(norm)) reasons.set(norm, 'norm');
  }
  for (const name of outputs) if (!reasons.has(name) && index.producer.has(name)) reasons.set(name, 'output');
  for (const name of index.producer.keys()) {
    if (!reasons.has(name) && index.dynamic.has(name) && !name.includes('/') && BLOCK_NAME.test(name)) reasons.set(name, 'name');
  }
  const names = [...reasons.keys()].sort((x, y) => index.producer.get(x)! - index.producer.get(y)!).slice(0, MAX_PROBED);
  if (names.length === 0) return [];

  const probed = await probe(parsed, index, names, options);
  const candidates: Candidate[] = [];
  for (const name of names) {
    const c = asCandidate(name, probed, index, reasons.get(name)!, residuals.get(name), outputs);
    if (typeof c !== 'string') candidates.push(c);
  }
  nameBlocks(candidates.filter((c) => c.reason === 'residual'));
  promotePostNorm(candidates, residuals, index);
  return candidates;
}
