// Reader for saev's `sae.pt`: one line of JSON describing the SAE, then a torch.save zip of its
// state dict (W_enc [d_in, d_sae], b_enc, W_dec [d_sae, d_in], b_dec, and for BatchTopK a
// scalar `activation.threshold`).
//
// The header went through several shapes, and the encoder changed with them:
// - legacy (no "schema"): {d_vit, exp_factor, ...}; ReLU; the SAE was trained with
//   h = (x - b_dec) W_enc + b_enc, so b_dec is subtracted before encoding.
// - schema 1 (saev 2025-04-28 to 2025-07-31): {"schema": 1, "cls": "Relu"|"TopK"|"BatchTopK",
//   "cfg": {d_vit, exp_factor, ..., top_k}, "commit", "lib"}. The header did not change when saev
//   stopped subtracting b_dec (its commit e7ca004, 2025-07-31), so two encoders share it: the
//   header's "commit" tells them apart. Files written at e7ca004 or the eleven commits after it
//   (before schema 2) encode h = x W_enc + b_enc; every other schema-1 file, including "unknown"
//   commits (three months against a few hours), encodes h = (x - b_dec) W_enc + b_enc.
//   A later, never-dumped form {"cls": "SparseAutoencoderConfig", "cfg": {activation}} does not subtract.
// - schemas 2-5: {"cfg": {d_model (d_vit before), d_sae (or exp_factor), activation: {cls, params}}}.
//   These encode h = x W_enc + b_enc: no b_dec subtraction.
// saev's TopK keeps the k largest pre-activations as they are (no ReLU). Its BatchTopK, at
// inference, keeps h where h > θ with θ the running `activation.threshold`, and applies plain
// ReLU while θ <= 0; both are h·[h > max(θ, 0)], which is how the threshold is stored here.
import { readCheckedFileSync } from '../util/checkedRead.js';
import type { SaeArchitecture } from '../../contract/index.js';
import { readTorchFile, takeTorchTensor, type TorchValue } from './torch/readTorchFile.js';
import type { SaeRecord } from './types.js';

export const SAEV_FILE = 'sae.pt';
/** Highest header schema this reader understands. */
const SAEV_MAX_SCHEMA = 5;
/** The header is one short JSON line; searching further means this is not a saev file. */
const MAX_HEADER_BYTES = 1 << 20;
/** saev's default top_k when a TopK header omits it. */
const SAEV_DEFAULT_TOP_K = 32;
const SAEV_ACTIVATIONS = ['Relu', 'TopK', 'BatchTopK'] as const;
type SaevActivation = (typeof SAEV_ACTIVATIONS)[number];

/**
 * saev commits that wrote schema-1 headers but no longer subtracted b_dec: e7ca004 and its
 * descendants up to (not including) 8d38c23, which introduced schema 2. From `git log
 * --ancestry-path e7ca004^..8d38c23^` in OSU-NLP-Group/saev.
 */
const SAEV_SCHEMA1_NO_BDEC_COMMITS: readonly string[] = [
  'e7ca004660a3ab414da7002fcecfc157d5b786aa',
  'ab690dc03fe95926b0f9215476db0fca46a06a2b',
  'fad99298d1458e372361f3f16693cbd672f9d71a',
  '795479bf1f82bb1c16f7e3bbb06ff71e35730e24',
  '5056de48451e471a2978972abcf2196b291da32c',
  '9f39cf867fc2bcf75bdbb04dfb6f2ffa1531e932',
  '6845bc22bdfe38d2a3e1b401b067ba8fa1a555be',
  '5fee417720e4c3cacca1ad2d8177c1455877838a',
  'ea2c9f59a17924f1a66b60a03fecbad66fbe9848',
  '8aecac1833f6412b9f6262b28b90248da6d49d26',
  'f5d892c65a1b2cec1603651f820b884c13656a93',
  '65c5a2b55e11c380d1b0ae537524977b240b346d',
];

/** Whether a schema-1 header's "commit" names one of the commits above (full or abbreviated, >= 7). */
function isNoBDecCommit(commit: unknown): boolean {
  if (typeof commit !== 'string') return false;
  const c = commit.trim().toLowerCase();
  return c.length >= 7 && /^[0-9a-f]+$/.test(c) && SAEV_SCHEMA1_NO_BDEC_COMMITS.some((full) => full.startsWith(c));
}

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
  const buffer = readCheckedFileSync(path, 'checkpoint');
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
  let applyBDecToInput = false;
  if (schema === 1 && typeof json.cls === 'string' && json.cls !== 'SparseAutoencoderConfig') {
    // Schema 1, first form: the activation's class is the header's "cls", top_k sits in cfg.
    cls = json.cls;
    params = cfg;
    applyBDecToInput = !isNoBDecCommit(json.commit);
  } else if (cfg.activation === undefined && schema === 1) {
    cls = 'Relu'; // schema 1 configs from before activations were configurable
    applyBDecToInput = !isNoBDecCommit(json.commit);
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
  return { schema, dIn, dSae, activation, topK, applyBDecToInput };
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
