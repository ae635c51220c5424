// Reader for saev's `sae.pt`: one line of JSON describing the SAE, then a torch.save zip of its
// state dict (W_enc [d_in, d_sae], b_enc, W_dec [d_sae, d_in], b_dec, and for BatchTopK a
// scalar `activation.threshold`).
//
// The header went through several shapes, and the encoder changed with them:
// - legacy (no "schema"): {d_vit, exp_factor, ...}; ReLU; the SAE was trained with
//   h = (x - b_dec) W_enc + b_enc, so b_dec is subtracted before encoding.
// - schema 1: {"cls": "Relu"|"TopK"|"BatchTopK", "cfg": {..., top_k}} or {"cfg": {..., activation}};
// - schemas 2-5: {"cfg": {d_model (d_vit before), d_sae (or exp_factor), activation: {cls, params}}}.
//   These encode h = x W_enc + b_enc: no b_dec subtraction (checked against the saev-top-k and
//   saev-batch-top-k fixtures, whose reference outputs only match without it).
// saev's TopK keeps the k largest pre-activations as they are (no ReLU). Its BatchTopK, at
// inference, keeps h where h > θ with θ the running `activation.threshold`, and applies plain
// ReLU while θ <= 0; both are h·[h > max(θ, 0)], which is how the threshold is stored here.
import { readFileSync } from 'node:fs';
import type { SaeArchitecture } from '../../contract/index.js';
import { readTorchFile, takeTorchTensor, type TorchValue } from './torch/readTorchFile.js';
import type { SaeRecord } from './types.js';

export const SAEV_FILE = 'sae.pt';
/** Highest header schema this reader understands. */
export const SAEV_MAX_SCHEMA = 5;
/** The header is one short JSON line; searching further means this is not a saev file. */
const MAX_HEADER_BYTES = 1 << 20;
/** saev's default top_k when a TopK header omits it. */
const SAEV_DEFAULT_TOP_K = 32;
const SAEV_ACTIVATIONS = ['Relu', 'TopK', 'BatchTopK'] as const;
type SaevActivation = (typeof SAEV_ACTIVATIONS)[number];

export interface SaevHeader {
  /** null for the legacy, pre-schema header. */
  schema: number | null;
  dIn: number;
  dSae: number;
  activation: SaevActivation;
  topK: number | null;
  applyBDecToInput: boolean;
}

/** Read a saev `sae.pt` into an SaeRecord (path = the file). */
export function readSaevCheckpoint(path: string): SaeRecord {
  const buffer = readFileSync(path);
  const { headerText, body } = splitHeader(buffer, path);
  let json: unknown;
  try {
    json = JSON.parse(headerText);
  } catch (error) {
    throw new Error(`The first line of ${path} should be saev's JSON header but is not valid JSON (${(error as Error).message})`);
  }
  const header = parseSaevHeader(json, path);
  const tensors = readTorchFile(body, { label: path });
  return saevRecord(header, tensors, path);
}

function splitHeader(buffer: Uint8Array, path: string): { headerText: string; body: Uint8Array } {
  if (buffer[0] === 0x50 && buffer[1] === 0x4b) {
    throw new Error(
      `${path} is a bare torch.save file without saev's JSON header line. If it is a dictionary_learning checkpoint, ` +
        `name it ae.pt and put its config.json beside it`,
    );
  }
  const newline = buffer.subarray(0, MAX_HEADER_BYTES).indexOf(0x0a);
  if (buffer[0] !== 0x7b /* '{' */ || newline < 0) {
    throw new Error(`${path} does not start with saev's JSON header line ({...} then a newline), so it is not a saev sae.pt`);
  }
  return { headerText: new TextDecoder().decode(buffer.subarray(0, newline)), body: buffer.subarray(newline + 1) };
}

/** Interpret a saev header (any schema up to SAEV_MAX_SCHEMA); errors name the file and the key. */
export function parseSaevHeader(json: unknown, path: string): SaevHeader {
  const bad = (what: string): never => {
    throw new Error(`saev header of ${path}: ${what}`);
  };
  if (!isObject(json)) return bad('expected a JSON object');

  if (!('schema' in json)) {
    const dIn = positiveInt(json.d_vit ?? json.d_model, 'd_vit', bad);
    const dSae = json.d_sae !== undefined ? positiveInt(json.d_sae, 'd_sae', bad) : dIn * positiveInt(json.exp_factor, 'exp_factor', bad);
    return { schema: null, dIn, dSae, activation: 'Relu', topK: null, applyBDecToInput: true };
  }

  const schema = json.schema;
  if (typeof schema !== 'number' || !Number.isInteger(schema) || schema < 1) return bad(`"schema" is ${JSON.stringify(schema)}, expected a positive integer`);
  if (schema > SAEV_MAX_SCHEMA) {
    return bad(
      `schema ${schema} is newer than this reader supports (1-${SAEV_MAX_SCHEMA}); ` +
        `update Feature Studio, or convert the SAE to a bare safetensors file with a sidecar JSON`,
    );
  }
  const cfg = json.cfg;
  if (!isObject(cfg)) return bad('"cfg" is missing or not an object');
  const dIn = positiveInt(cfg.d_model ?? cfg.d_vit, 'cfg.d_model', bad);
  const dSae = cfg.d_sae !== undefined ? positiveInt(cfg.d_sae, 'cfg.d_sae', bad) : dIn * positiveInt(cfg.exp_factor, 'cfg.exp_factor', bad);

  let cls: unknown;
  let params: Record<string, unknown> = {};
  if (schema === 1 && typeof json.cls === 'string' && json.cls !== 'SparseAutoencoderConfig') {
    // Schema 1, first form: the activation's class is the header's "cls", top_k sits in cfg.
    cls = json.cls;
    params = cfg;
  } else if (cfg.activation === undefined && schema === 1) {
    cls = 'Relu'; // schema 1 configs from before activations were configurable
  } else {
    if (!isObject(cfg.activation)) return bad('"cfg.activation" is missing or not an object');
    cls = cfg.activation.cls;
    params = isObject(cfg.activation.params) ? cfg.activation.params : {};
  }
  if (!(SAEV_ACTIVATIONS as readonly unknown[]).includes(cls)) {
    return bad(`activation ${JSON.stringify(cls)} is not supported; supported: ${SAEV_ACTIVATIONS.join(', ')}`);
  }
  const activation = cls as SaevActivation;
  const topK = activation === 'Relu' ? null : params.top_k === undefined ? SAEV_DEFAULT_TOP_K : positiveInt(params.top_k, 'top_k', bad);
  return { schema, dIn, dSae, activation, topK, applyBDecToInput: false };
}

function saevRecord(header: SaevHeader, tensors: Map<string, TorchValue>, path: string): SaeRecord {
  const { dIn, dSae } = header;
  const take = (name: string, shape: number[]) => takeTorchTensor(tensors, name, shape, path);
  const weights = {
    W_enc: take('W_enc', [dIn, dSae]),
    b_enc: take('b_enc', [dSae]),
    W_dec: take('W_dec', [dSae, dIn]),
    b_dec: take('b_dec', [dIn]),
  };

  let architecture: SaeArchitecture = 'relu';
  let threshold: Float32Array | null = null;
  if (header.activation === 'TopK') {
    architecture = 'topk';
  } else if (header.activation === 'BatchTopK') {
    if (tensors.has('activation.threshold')) {
      architecture = 'batchtopk';
      threshold = Float32Array.of(Math.max(take('activation.threshold', [])[0]!, 0));
    } else {
      // Before saev stored an inference threshold, BatchTopK evaluated as a per-sample TopK.
      architecture = 'topk';
    }
  }
  if (header.topK !== null && header.topK > dSae) {
    throw new Error(`saev header of ${path}: top_k = ${header.topK} exceeds d_sae = ${dSae}`);
  }

  return {
    format: 'saev',
    path,
    dIn,
    dSae,
    architecture,
    k: header.topK,
    topkRelu: false,
    applyBDecToInput: header.applyBDecToInput,
    threshold,
    // saev normalises activations when it writes its shards, not inside the SAE, and the
    // header does not record the factors: the user supplies them if their inputs need it.
    normalization: { mode: 'none', mean: null, scale: null },
    hookName: null,
    groups: null,
    weights,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveInt(value: unknown, key: string, bad: (what: string) => never): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    return bad(`"${key}" is ${value === undefined ? 'missing' : JSON.stringify(value)}, expected a positive integer`);
  }
  return value;
}
