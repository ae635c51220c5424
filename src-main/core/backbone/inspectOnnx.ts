// What a user's ONNX file offers (inputs, outputs, tensors that look like block outputs), and
// turning a file that only outputs an embedding into one the studio can index: a copy that
// also outputs the chosen blocks, plus a manifest whose `layers` name them.
import { existsSync } from 'node:fs';
import { readCheckedFileSync, readCheckedTextSync } from '../util/checkedRead.js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { decodeModel } from '../onnx/graphBuilder.js';
import { describeTensors, exposeOutputs, listCandidateLayers, type Candidate, type ExposedOutput, type ProbeOptions } from '../onnx/graphSurgery.js';
import { parseManifest } from './manifest.js';

export interface TensorInfo {
  name: string;
  /** Declared dims: numbers, symbolic names, or null where the file leaves a dim unnamed. */
  shape: (number | string | null)[] | null;
  type: string;
}

export interface OnnxInspection {
  path: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Tensors shaped [batch, tokens, d] that look like block outputs, in graph order. */
  candidates: Candidate[];
}

const TYPE_NAMES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

function tensorInfo(v: OnnxTypes.IValueInfoProto): TensorInfo {
  const tensor = v.type?.tensorType;
  const dims = tensor?.shape?.dim;
  return {
    name: v.name ?? '',
    shape: dims ? dims.map((d) => (toNumber(d.dimValue ?? 0) > 0 ? toNumber(d.dimValue) : d.dimParam || null)) : null,
    type: tensor ? (TYPE_NAMES[tensor.elemType ?? 0] ?? `type ${tensor.elemType}`) : 'non-tensor',
  };
}

function graphOf(modelPath: string): OnnxTypes.IGraphProto {
  // listCandidateLayers has already validated the file, so decoding cannot fail here.
  return decodeModel(readCheckedFileSync(modelPath, 'onnx')).graph!;
}

function feedsOf(graph: OnnxTypes.IGraphProto): OnnxTypes.IValueInfoProto[] {
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  return (graph.input ?? []).filter((i) => !initializers.has(i.name));
}

/** Inputs, outputs and candidate layers of an ONNX file (runs it once on a dummy input). */
export async function inspectOnnx(modelPath: string, options: ProbeOptions = {}): Promise<OnnxInspection> {
  const resolved = path.resolve(modelPath);
  const candidates = await listCandidateLayers(resolved, options);
  const graph = graphOf(resolved);
  return { path: resolved, inputs: feedsOf(graph).map(tensorInfo), outputs: (graph.output ?? []).map(tensorInfo), candidates };
}

export interface ExposeLayersOptions extends ProbeOptions {
  /** Where to write the copy; default `<model>.with-<layers>.onnx` next to the model. */
  out?: string;
  /** Manifest to update (its `layers` and `model`), or to create when it does not exist.
   *  Default: a new manifest next to the copy, `<copy>.json`. */
  manifest?: string;
  /** Candidates from an earlier inspectOnnx of the same file (saves a second probe run). */
  candidates?: Candidate[];
}

export interface ExposeLayersResult {
  modelPath: string;
  manifestPath: string;
  manifestCreated: boolean;
  /** Layers added to the manifest: layer name -> graph output name. */
  layers: Record<string, string>;
  /** Manifest layers removed because the model has no such output. */
  dropped: string[];
  outputs: ExposedOutput[];
  /** Things the user must check (e.g. guessed preprocessing in a new manifest). */
  warnings: string[];
}

/** A layer key for a tensor without a block name: safe in file names and manifests. */
function layerKey(c: Candidate): string {
  return c.layer ?? (c.tensor.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[_.]+|_+$/g, '') || 'tensor');
}

/**
 * Picks are block names (block_10), candidate tensors, or any other tensor of the graph by its
 * name (as --expose's help says): those are probed for a [batch, tokens, d] shape.
 */
async function resolvePicks(picks: string[], candidates: Candidate[], modelPath: string, options: ProbeOptions): Promise<Candidate[]> {
  if (picks.length === 0) throw new Error('name at least one layer to expose (e.g. block_10)');
  const found = picks.map((pick) => candidates.find((c) => c.layer === pick) ?? candidates.find((c) => c.tensor === pick));
  const graph = graphOf(modelPath);
  const computed = new Set((graph.node ?? []).flatMap((n) => n.output ?? []));
  const others = picks.filter((pick, i) => !found[i]);
  for (const pick of others) {
    if (computed.has(pick)) continue;
    const names = candidates.map((c) => c.layer ?? c.tensor);
    throw new Error(
      `'${pick}' is neither a candidate layer nor a tensor of ${modelPath}` +
        (names.length ? `; candidates: ${names.join(', ')}` : '; it has no tensor shaped [batch, tokens, d]'),
    );
  }
  const described = others.length ? await describeTensors(modelPath, others, options) : [];
  return picks.map((pick, i) => found[i] ?? described[others.indexOf(pick)]!);
}

const posix = (p: string) => p.split(path.sep).join('/');

/**
 * Writes `<model>.with-<layer>.onnx` exposing the picked candidates (block names such as
 * 'block_10' or raw tensor names) and a manifest naming them: the given manifest is updated in
 * place (its `model` then points at the copy), otherwise a new one is inferred from the graph.
 */
export async function exposeLayers(modelPath: string, picks: string[], options: ExposeLayersOptions = {}): Promise<ExposeLayersResult> {
  const source = path.resolve(modelPath);
  const candidates = options.candidates ?? (await listCandidateLayers(source, options));
  const chosen = await resolvePicks(picks, candidates, source, options);
  const keys = [...new Set(chosen.map(layerKey))];
  const base = path.basename(source).replace(/\.onnx$/i, '');
  const out = path.resolve(options.out ?? path.join(path.dirname(source), `${base}.with-${keys.join('+')}.onnx`));
  const dModel = chosen[0]!.dModel;
  if (chosen.some((c) => c.dModel !== dModel || c.tokens !== chosen[0]!.tokens)) {
    throw new Error(`the picked layers have different shapes (${chosen.map((c) => `${layerKey(c)} ${c.tokens}x${c.dModel}`).join(', ')}); expose them one at a time`);
  }

  // The manifest is prepared and validated before anything is written, so a bad manifest
  // leaves no half-done result behind.
  const layers: Record<string, string> = {};
  for (const c of chosen) layers[layerKey(c)] = c.tensor;
  const graph = graphOf(source);
  const outputsAfter = new Set([...(graph.output ?? []).map((o) => o.name ?? ''), ...chosen.map((c) => c.tensor)]);
  const manifestPath = path.resolve(options.manifest ?? out.replace(/\.onnx$/i, '') + '.json');
  let data: Record<string, unknown>;
  let dropped: string[] = [];
  const warnings: string[] = [];
  const created = !existsSync(manifestPath);
  if (!created) {
    data = readManifestJson(manifestPath);
    const old = (data.layers ?? {}) as Record<string, string>;
    // Layers whose outputs the copy lacks would fail at index time: drop them and say so.
    dropped = Object.keys(old).filter((k) => !outputsAfter.has(old[k]!) && !(k in layers));
    data.layers = { ...Object.fromEntries(Object.entries(old).filter(([k]) => !dropped.includes(k))), ...layers };
    if (typeof data.d_model === 'number' && data.d_model !== dModel) {
      throw new Error(`manifest ${manifestPath} says d_model ${data.d_model}, but the exposed layers have width ${dModel}`);
    }
  } else {
    // Existing [batch, tokens, d] outputs (e.g. last_hidden_state) stay usable layers too.
    const all: Record<string, string> = {};
    for (const c of candidates) if (c.isGraphOutput && c.tokens === chosen[0]!.tokens) all[layerKey(c)] = c.tensor;
    data = inferManifest(graph, base, chosen[0]!, { ...all, ...layers }, options);
    warnings.push(
      `${manifestPath}: preprocessing is a guess (shortest side bicubic, ImageNet mean/std) and CLS/register tokens are inferred from the token count; ` +
        `check them against how the model was trained (resources/manifests/ has CLIP, SigLIP, DINOv2 and VideoMAE values)`,
    );
  }
  data.model = posix(path.relative(path.dirname(manifestPath), out));
  parseManifest(data, manifestPath); // refuse to write a manifest the indexer would reject

  const exposed = await exposeOutputs(source, chosen.map((c) => c.tensor), out, options);
  await writeFile(manifestPath, `${JSON.stringify(data, null, 2)}\n`);
  return { modelPath: out, manifestPath, manifestCreated: created, layers, dropped, outputs: exposed.added, warnings };
}

function readManifestJson(file: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(readCheckedTextSync(file, 'manifest'));
  } catch (err) {
    throw new Error(`cannot read backbone manifest ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error(`backbone manifest ${file} is not a JSON object`);
  return data as Record<string, unknown>;
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** Patch size from the convolution that reads the image (the ViT patch embedding). */
function patchSize(graph: OnnxTypes.IGraphProto, inputName: string): number | null {
  const conv = (graph.node ?? []).find((n) => n.opType === 'Conv' && n.input?.[0] === inputName);
  const kernel = conv?.attribute?.find((a) => a.name === 'kernel_shape')?.ints?.map(toNumber);
  const strides = conv?.attribute?.find((a) => a.name === 'strides')?.ints?.map(toNumber);
  if (!kernel || kernel.length !== 2 || kernel[0] !== kernel[1]) return null;
  if (strides && strides.some((s) => s !== kernel[0])) return null;
  return kernel[0]!;
}

/** A new manifest from what the graph tells: input name and size, patch size, token count. */
function inferManifest(
  graph: OnnxTypes.IGraphProto,
  name: string,
  layer: Candidate,
  layers: Record<string, string>,
  options: ProbeOptions,
): Record<string, unknown> {
  const byHand = 'write the manifest by hand (copy one from resources/manifests/) and pass it with --manifest';
  const input = tensorInfo(feedsOf(graph)[0]!);
  const shape = options.inputShape ?? input.shape;
  if (!shape || shape.length !== 4) {
    throw new Error(`cannot infer a manifest for input '${input.name}' of shape [${(shape ?? []).join(', ')}] (not [batch, 3, H, W]); ${byHand}`);
  }
  const side = (d: number | string | null) => (typeof d === 'number' ? d : (options.size ?? null));
  const size = side(shape[2]!);
  if (size === null || size !== side(shape[3]!)) throw new Error(`cannot infer a square input size for '${input.name}'; pass --size, or ${byHand}`);
  const patch = patchSize(graph, input.name);
  if (patch === null || size % patch !== 0) throw new Error(`cannot find the patch-embedding convolution reading '${input.name}'; ${byHand}`);
  const grid = size / patch;
  const extra = layer.tokens - grid * grid;
  if (extra < 0) throw new Error(`${layer.tokens} tokens is fewer than the ${grid}x${grid} patch grid; ${byHand}`);
  return {
    name,
    family: 'onnx',
    model: '',
    input: {
      name: input.name,
      size,
      resize: 'shortest-side',
      resize_to: size,
      interpolation: 'bicubic',
      crop: size,
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
    },
    // One extra token is a CLS token; more are CLS + registers (DINOv2 with registers has 4).
    tokens: { cls: extra >= 1, registers: Math.max(0, extra - 1), patch_size: patch, grid: [grid, grid] },
    layers,
    d_model: layer.dModel,
    notes:
      'Written by `studio inspect-model --expose`. Preprocessing (resize, interpolation, mean/std) is a guess: set it to what the ' +
      'model was trained with. Token layout inferred from the token count (CLS first, then registers, then the patch grid).',
  };
}
