// Reader for dictionary_learning (saprmarks/dictionary_learning) checkpoints: `ae.pt`, a
// torch.save of the dictionary's state_dict, with the trainer's `config.json` beside it naming
// the dictionary class (`trainer.dict_class`); `checkpoints/ae_<step>.pt` finds the config one
// folder up. Also read: trainSAE's resume backup (an `ae.pt` holding {step, ae, optimizer,
// config, norm_factor}, weights still in normalised space: see scaleBiases) and state dicts
// wrapped by other scripts as {state_dict, cfg, act_mean} (see unwrap).
//
// The classes store the same four tensors under two naming schemes: nn.Linear modules
// (`encoder.weight [F, D]`, `encoder.bias`, `decoder.weight [D, F]`, plus `bias`, `b_dec`,
// `decoder_bias` or `decoder.bias`) or bare parameters (`W_enc [D, F]`, `b_enc`, `W_dec [F, D]`,
// `b_dec`). Linear weights are transposed into the SaeRecord layout. Encoders, per class:
//   AutoEncoder             f = relu((x - bias) W_enc + b_enc)
//   AutoEncoderNew          f = relu(x W_enc + b_enc)                 (decoder.bias is b_dec)
//   AutoEncoderTopK         top-k of relu((x - b_dec) W_enc + b_enc)
//   BatchTopKSAE            a = relu((x - b_dec) W_enc + b_enc); f = a·[a > θ]
//   MatryoshkaBatchTopKSAE  as BatchTopKSAE; latents in nested groups (`group_sizes`)
//   JumpReluAutoEncoder     f = relu(h·[h > θ_j]), h = x W_enc + b_enc (b_dec not subtracted)
//   GatedAutoEncoder        gate [x_c W + gate_bias > 0] · relu(exp(r_mag) x_c W + mag_bias), x_c = x - decoder_bias
// For BatchTopK, relu(h)·[relu(h) > θ] equals h·[h > max(θ, 0)] (θ is -1 until training sets
// it), so the record's 'batchtopk' threshold is stored as max(θ, 0).
import { existsSync } from 'node:fs';
import { readCheckedTextSync } from '../util/checkedRead.js';
import { basename, dirname, join } from 'node:path';
import type { SaeArchitecture } from '../../contract/index.js';
import { isTorchTensor, readTorchTree, takeTorchTensor, type TorchDict, type TorchValue } from './torch/readTorchFile.js';
import type { SaeRecord, SaeWeights } from './types.js';

export const DICTLEARN_WEIGHTS = 'ae.pt';
export const DICTLEARN_CONFIG = 'config.json';

const DICT_CLASSES = [
  'AutoEncoder',
  'AutoEncoderNew',
  'AutoEncoderTopK',
  'BatchTopKSAE',
  'MatryoshkaBatchTopKSAE',
  'JumpReluAutoEncoder',
  'GatedAutoEncoder',
] as const;
type DictClass = (typeof DICT_CLASSES)[number];

interface ClassInfo {
  architecture: SaeArchitecture;
  applyBDecToInput: boolean;
}

const CLASS_INFO: Record<DictClass, ClassInfo> = {
  AutoEncoder: { architecture: 'relu', applyBDecToInput: true },
  AutoEncoderNew: { architecture: 'relu', applyBDecToInput: false },
  AutoEncoderTopK: { architecture: 'topk', applyBDecToInput: true },
  BatchTopKSAE: { architecture: 'batchtopk', applyBDecToInput: true },
  MatryoshkaBatchTopKSAE: { architecture: 'batchtopk', applyBDecToInput: true },
  JumpReluAutoEncoder: { architecture: 'jumprelu', applyBDecToInput: false },
  GatedAutoEncoder: { architecture: 'gated', applyBDecToInput: true },
};

/** The keys of a trainer config that matter; `trainer` is where config.json keeps them. */
interface TrainerConfig {
  dict_class?: unknown;
  k?: unknown;
  group_sizes?: unknown;
  submodule_name?: unknown;
}

/**
 * What a dictionary_learning `.pt` holds once unwrapped:
 * - 'state_dict': the dictionary's state dict (trainSAE's final `ae.pt`, `checkpoints/ae_<step>.pt`);
 * - 'backup': trainSAE's resume backup `{step, ae, optimizer, config, norm_factor}`, which it
 *   writes to `ae.pt` every `backup_steps` until the final save overwrites it. Its weights live
 *   in the normalised space the trainer feeds them (inputs divided by norm_factor);
 * - 'wrapped': a state dict saved inside a dict by other training scripts, e.g.
 *   `{state_dict, cfg, act_mean}`, where act_mean is subtracted from inputs before encoding.
 */
interface SavedDictionary {
  kind: 'state_dict' | 'backup' | 'wrapped';
  /** The state dict, nested dicts flattened to dotted names. */
  tensors: Map<string, TorchValue>;
  /** The trainer config saved inside the file, if any. */
  embedded: TrainerConfig | null;
  /** Backups: the trainer's input scale (activations were divided by it); null when absent. */
  normFactor: number | null;
  /** Wrapped dicts: the mean subtracted from inputs before encoding. */
  actMean: TorchValue | null;
  /** Where the state dict sat in the file, for messages ('' for a bare state dict). */
  at: string;
}

const WRAPPED_STATE_KEYS = ['state_dict', 'model_state_dict', 'sae_state_dict', 'model', 'sae'];
const WRAPPED_CONFIG_KEYS = ['cfg', 'config'];

/** Read `ae.pt` (and `config.json` beside it, when present) into an SaeRecord (path = the ae.pt file). */
export function readDictionaryLearningCheckpoint(aePath: string): SaeRecord {
  const saved = unwrap(readTorchTree(aePath), aePath);
  const configPath = findConfig(aePath);
  const fromFile = configPath ? readTrainerConfig(configPath) : null;
  // The file's own config wins over config.json, key by key (they normally agree).
  const trainer: TrainerConfig | null = fromFile || saved.embedded ? { ...fromFile, ...saved.embedded } : null;
  const { tensors } = saved;
  const label = saved.at ? `${aePath} ('${saved.at}')` : aePath;
  const dictClass = resolveDictClass(trainer, saved, label, configPath ?? join(dirname(aePath), DICTLEARN_CONFIG));
  const { architecture, applyBDecToInput } = CLASS_INFO[dictClass];
  const where = `${label} (${dictClass})`;

  const { weights, dIn, dSae } = readWeights(tensors, dictClass, where);
  const take = (name: string, shape: number[]) => takeTorchTensor(tensors, name, shape, where);

  let k: number | null = null;
  if (architecture === 'topk' || architecture === 'batchtopk') {
    // The `k` buffer is what the dictionary encodes with (it may have been annealed); the
    // config's k is the trainer's target and only a fallback.
    k = tensors.has('k') ? take('k', [])[0]! : typeof trainer?.k === 'number' ? trainer.k : null;
    if (k === null || !Number.isInteger(k) || k < 1 || k > dSae) {
      throw new Error(`${where} needs an integer k between 1 and d_sae = ${dSae} (a 'k' buffer or trainer.k in ${DICTLEARN_CONFIG}); found ${k ?? 'none'}`);
    }
  }

  let threshold: Float32Array | null = null;
  if (architecture === 'batchtopk') threshold = Float32Array.of(Math.max(take('threshold', [])[0]!, 0));
  if (architecture === 'jumprelu') threshold = take('threshold', [dSae]).slice();

  if (saved.kind === 'backup' && saved.normFactor !== null) scaleBiases(weights, threshold, saved.normFactor);

  return {
    format: 'dictionary_learning',
    path: aePath,
    dIn,
    dSae,
    architecture,
    k,
    topkRelu: architecture === 'topk', // AutoEncoderTopK takes the top k of relu(h)
    applyBDecToInput,
    threshold,
    normalization: saved.actMean === null ? { mode: 'none', mean: null, scale: null } : { mode: 'scale', mean: actMean(saved.actMean, dIn, label), scale: 1 },
    hookName: typeof trainer?.submodule_name === 'string' ? trainer.submodule_name : null,
    groups: dictClass === 'MatryoshkaBatchTopKSAE' ? matryoshkaGroups(tensors, trainer, dSae, where) : null,
    weights,
  };
}

/** Tell a bare state dict from a backup or a wrapper, and take out the parts. */
function unwrap(tree: TorchValue, aePath: string): SavedDictionary {
  if (!(tree instanceof Map)) {
    throw new Error(`${aePath} holds a ${describe(tree)}, not a dict: save the dictionary's state dict with torch.save(ae.state_dict(), path)`);
  }
  const isEncoder = (key: string) => ENCODER_NAMES.includes(key);
  if ([...tree.keys()].some(isEncoder)) return { kind: 'state_dict', tensors: flattenDict(tree), embedded: null, normFactor: null, actMean: null, at: '' };

  // trainSAE's backup: the dictionary under 'ae', beside the optimizer state and step.
  const ae = tree.get('ae');
  if (ae instanceof Map && (tree.has('optimizer') || tree.has('step') || tree.has('norm_factor'))) {
    const normFactor = tree.get('norm_factor');
    if (normFactor !== undefined && normFactor !== null && !(typeof normFactor === 'number' && normFactor > 0 && Number.isFinite(normFactor))) {
      throw new Error(`${aePath} is a dictionary_learning backup whose norm_factor is ${describe(normFactor)}; expected a positive number`);
    }
    return {
      kind: 'backup',
      tensors: flattenDict(ae),
      embedded: configFrom(tree.get('config')),
      normFactor: typeof normFactor === 'number' ? normFactor : null,
      actMean: null,
      at: 'ae',
    };
  }

  // Other scripts' wrappers: a named state dict, else the one nested dict that holds an encoder.
  const named = WRAPPED_STATE_KEYS.find((key) => tree.get(key) instanceof Map);
  const holders = [...tree].filter(([, value]) => value instanceof Map && [...value.keys()].some(isEncoder)).map(([key]) => key);
  const at = named ?? (holders.length === 1 ? holders[0]! : null);
  if (at !== null) {
    const configKey = WRAPPED_CONFIG_KEYS.find((key) => tree.get(key) instanceof Map);
    return {
      kind: 'wrapped',
      tensors: flattenDict(tree.get(at) as TorchDict),
      embedded: configKey ? configFrom(tree.get(configKey)) : null,
      normFactor: null,
      actMean: tree.get('act_mean') ?? null,
      at,
    };
  }
  // Anything else is read as a state dict; readWeights names what it holds if that fails.
  return { kind: 'state_dict', tensors: flattenDict(tree), embedded: null, normFactor: null, actMean: null, at: '' };
}

const ENCODER_NAMES = ['W_enc', 'encoder.weight', 'encoder'];

/** A config saved in the file: trainer.config itself, or {"trainer": {...}} as in config.json. */
function configFrom(value: TorchValue | undefined): TrainerConfig | null {
  if (!(value instanceof Map)) return null;
  const trainer = value.get('trainer');
  const source = trainer instanceof Map ? trainer : value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of source) out[key] = item;
  return out as TrainerConfig;
}

/** `config.json` beside the file, or one level up for trainSAE's `checkpoints/ae_<step>.pt`. */
function findConfig(aePath: string): string | null {
  const dir = dirname(aePath);
  const beside = join(dir, DICTLEARN_CONFIG);
  if (existsSync(beside)) return beside;
  const above = join(dirname(dir), DICTLEARN_CONFIG);
  return basename(dir) === 'checkpoints' && existsSync(above) ? above : null;
}

/**
 * trainSAE's final save calls `ae.scale_biases(norm_factor)` so the dictionary takes raw
 * activations; a backup has not had that yet. Doing it here makes a backup encode exactly as the
 * checkpoint trainSAE would have written at that step: f(x) = s·f_backup(x / s) for every class.
 * Each bias is rounded to float32 as torch's in-place multiply does. TopK-family thresholds are
 * scaled only when set (>= 0); the record's batchtopk threshold is already max(θ, 0).
 */
function scaleBiases(weights: SaeWeights, threshold: Float32Array | null, normFactor: number): void {
  const s = Math.fround(normFactor);
  const scale = (values: Float32Array) => {
    for (let i = 0; i < values.length; i++) values[i] = values[i]! * s;
  };
  scale(weights.b_enc);
  scale(weights.b_dec);
  if (weights.gated) scale(weights.gated.b_mag);
  if (threshold) scale(threshold);
}

function actMean(value: TorchValue, dIn: number, label: string): Float32Array {
  if (!isTorchTensor(value) || value.data.length !== dIn) {
    const found = isTorchTensor(value) ? `a tensor of shape [${value.shape.join(', ')}]` : describe(value);
    throw new Error(`${label}: 'act_mean' is ${found}, but a tensor of d_in = ${dIn} values (the mean subtracted from inputs) was expected`);
  }
  return value.data.slice();
}

function flattenDict(dict: TorchDict, prefix = '', out = new Map<string, TorchValue>()): Map<string, TorchValue> {
  for (const [key, value] of dict) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value instanceof Map) flattenDict(value, name, out);
    else out.set(name, value);
  }
  return out;
}

function describe(value: TorchValue | undefined): string {
  if (isTorchTensor(value)) return `a tensor of shape [${value.shape.join(', ')}]`;
  if (value instanceof Map) return 'a dict';
  if (Array.isArray(value)) return 'a list';
  return value === null || value === undefined ? 'None' : JSON.stringify(typeof value === 'bigint' ? String(value) : value);
}

function readTrainerConfig(configPath: string): TrainerConfig {
  let json: unknown;
  try {
    json = JSON.parse(readCheckedTextSync(configPath, 'json'));
  } catch (error) {
    throw new Error(`${configPath} is not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'object' || json === null) throw new Error(`${configPath} should be a JSON object with a "trainer" entry`);
  const record = json as Record<string, unknown>;
  // Current trainers write {"trainer": {...}, "buffer": {...}}; accept a flat object as well.
  const trainer = typeof record.trainer === 'object' && record.trainer !== null ? record.trainer : record;
  return trainer as TrainerConfig;
}

function resolveDictClass(trainer: TrainerConfig | null, saved: SavedDictionary, label: string, configPath: string): DictClass {
  const named = trainer?.dict_class;
  if (named !== undefined) {
    if (!(DICT_CLASSES as readonly unknown[]).includes(named)) {
      const source = saved.embedded?.dict_class !== undefined ? `the config saved in ${label}` : configPath;
      throw new Error(
        `Unsupported dictionary_learning class ${JSON.stringify(named)} in ${source}; supported: ${DICT_CLASSES.join(', ')}. ` +
          `If the weights follow one of these, set "dict_class" to it`,
      );
    }
    return named as DictClass;
  }
  // No config (or no dict_class): tell the class from the state dict's keys where that is unambiguous.
  const has = (name: string) => saved.tensors.has(name);
  if (has('r_mag') && has('gate_bias')) return 'GatedAutoEncoder';
  if (has('group_sizes')) return 'MatryoshkaBatchTopKSAE';
  if (!has('k') && has('W_enc') && has('threshold')) return 'JumpReluAutoEncoder';
  if (!has('k') && has('encoder.weight') && has('decoder.bias')) return 'AutoEncoderNew';
  if (!has('k') && has('encoder.weight') && has('bias')) return 'AutoEncoder';
  const found = `tensors: ${[...saved.tensors].filter(([, v]) => isTorchTensor(v)).map(([key]) => key).join(', ') || 'none'}`;
  const wrapped = saved.kind === 'wrapped' ? `, or add "dict_class" (and "k" for TopK classes) to the dict saved under '${WRAPPED_CONFIG_KEYS[0]}'` : '';
  throw new Error(
    `Cannot tell which dictionary_learning class ${basename(label)} holds (${found}). ` +
      `Put the trainer's ${DICTLEARN_CONFIG} beside it, or write one: {"trainer": {"dict_class": "AutoEncoderTopK"}} ` +
      `(one of ${DICT_CLASSES.join(', ')})${wrapped}`,
  );
}

function readWeights(tensors: Map<string, TorchValue>, dictClass: DictClass, where: string): { weights: SaeWeights; dIn: number; dSae: number } {
  const first = (names: string[], role: string): string => {
    const name = names.find((candidate) => tensors.has(candidate));
    if (!name) {
      const all = [...tensors].filter(([, value]) => isTorchTensor(value)).map(([key]) => key);
      throw new Error(`${where} has no ${role} (looked for ${names.join(', ')}); tensors found: ${all.join(', ') || 'none'}`);
    }
    return name;
  };

  // Dimensions come from the encoder matrix, in whichever layout it was saved.
  const encoderName = first(['W_enc', 'encoder.weight'], 'encoder matrix');
  const encoder = tensors.get(encoderName);
  if (!isTorchTensor(encoder) || encoder.shape.length !== 2) throw new Error(`${where}: '${encoderName}' is not a 2-D tensor`);
  const linear = encoderName === 'encoder.weight';
  const [dIn, dSae] = linear ? [encoder.shape[1]!, encoder.shape[0]!] : [encoder.shape[0]!, encoder.shape[1]!];
  const take = (name: string, shape: number[]) => takeTorchTensor(tensors, name, shape, where);

  const W_enc = linear ? transpose(encoder.data, dSae, dIn) : encoder.data;
  const decoderName = first(['W_dec', 'decoder.weight'], 'decoder matrix');
  const W_dec = decoderName === 'W_dec' ? take('W_dec', [dSae, dIn]) : transpose(take('decoder.weight', [dIn, dSae]), dIn, dSae);
  // AutoEncoderNew's decoder.bias is its b_dec; for the others it would be a stray key.
  const bDecNames = dictClass === 'AutoEncoderNew' ? ['decoder.bias', 'b_dec'] : ['b_dec', 'bias', 'decoder_bias'];
  const b_dec = take(first(bDecNames, 'decoder bias'), [dIn]);

  if (dictClass === 'GatedAutoEncoder') {
    // Gated SAEs have no encoder bias: the gate bias plays b_enc's role (see types.ts).
    return {
      dIn,
      dSae,
      weights: {
        W_enc,
        b_enc: take('gate_bias', [dSae]),
        W_dec,
        b_dec,
        gated: { r_mag: take('r_mag', [dSae]), b_mag: take('mag_bias', [dSae]) },
      },
    };
  }
  const b_enc = take(first(['b_enc', 'encoder.bias'], 'encoder bias'), [dSae]);
  return { dIn, dSae, weights: { W_enc, b_enc, W_dec, b_dec } };
}

/** Cumulative widths from `group_sizes` (the buffer, else the config), which must sum to d_sae. */
function matryoshkaGroups(tensors: Map<string, TorchValue>, trainer: TrainerConfig | null, dSae: number, where: string): number[] {
  const tensor = tensors.get('group_sizes');
  const sizes: unknown[] = isTorchTensor(tensor) ? Array.from(tensor.data) : Array.isArray(trainer?.group_sizes) ? trainer.group_sizes : [];
  if (sizes.length === 0 || !sizes.every((n) => typeof n === 'number' && Number.isInteger(n) && n > 0)) {
    throw new Error(`${where} needs group_sizes (positive integers summing to d_sae = ${dSae}); found [${sizes.join(', ')}]`);
  }
  const groups: number[] = [];
  let total = 0;
  for (const size of sizes as number[]) groups.push((total += size));
  if (total !== dSae) throw new Error(`${where}: group_sizes [${sizes.join(', ')}] sum to ${total}, not d_sae = ${dSae}`);
  return groups;
}

/** [rows, cols] row-major → [cols, rows] row-major. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[base + c]!;
  }
  return out;
}
