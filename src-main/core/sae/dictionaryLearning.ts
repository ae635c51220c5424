// Reader for dictionary_learning (saprmarks/dictionary_learning) checkpoints: `ae.pt`, a
// torch.save of the dictionary's state_dict, with the trainer's `config.json` beside it naming
// the dictionary class (`trainer.dict_class`).
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
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { SaeArchitecture } from '../../contract/index.js';
import { isTorchTensor, readTorchFile, takeTorchTensor, type TorchValue } from './torch/readTorchFile.js';
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

/** The keys of config.json that matter; `trainer` is where dictionary_learning writes them. */
interface TrainerConfig {
  dict_class?: unknown;
  k?: unknown;
  group_sizes?: unknown;
  submodule_name?: unknown;
}

/** Read `ae.pt` (and `config.json` beside it, when present) into an SaeRecord (path = the ae.pt file). */
export function readDictionaryLearningCheckpoint(aePath: string): SaeRecord {
  const configPath = join(dirname(aePath), DICTLEARN_CONFIG);
  const trainer = existsSync(configPath) ? readTrainerConfig(configPath) : null;
  const tensors = readTorchFile(aePath);
  const dictClass = resolveDictClass(trainer, tensors, aePath, configPath);
  const { architecture, applyBDecToInput } = CLASS_INFO[dictClass];
  const where = `${aePath} (${dictClass})`;

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
  if (architecture === 'jumprelu') threshold = take('threshold', [dSae]);

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
    normalization: { mode: 'none', mean: null, scale: null },
    hookName: typeof trainer?.submodule_name === 'string' ? trainer.submodule_name : null,
    groups: dictClass === 'MatryoshkaBatchTopKSAE' ? matryoshkaGroups(tensors, trainer, dSae, where) : null,
    weights,
  };
}

function readTrainerConfig(configPath: string): TrainerConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (error) {
    throw new Error(`${configPath} is not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== 'object' || json === null) throw new Error(`${configPath} should be a JSON object with a "trainer" entry`);
  const record = json as Record<string, unknown>;
  // Current trainers write {"trainer": {...}, "buffer": {...}}; accept a flat object as well.
  const trainer = typeof record.trainer === 'object' && record.trainer !== null ? record.trainer : record;
  return trainer as TrainerConfig;
}

function resolveDictClass(trainer: TrainerConfig | null, tensors: Map<string, TorchValue>, aePath: string, configPath: string): DictClass {
  const named = trainer?.dict_class;
  if (named !== undefined) {
    if (!(DICT_CLASSES as readonly unknown[]).includes(named)) {
      throw new Error(`Unsupported dictionary_learning class ${JSON.stringify(named)} in ${configPath}; supported: ${DICT_CLASSES.join(', ')}`);
    }
    return named as DictClass;
  }
  // No config (or no dict_class): tell the class from the state dict's keys where that is unambiguous.
  const has = (name: string) => tensors.has(name);
  if (has('r_mag') && has('gate_bias')) return 'GatedAutoEncoder';
  if (has('group_sizes')) return 'MatryoshkaBatchTopKSAE';
  if (!has('k') && has('W_enc') && has('threshold')) return 'JumpReluAutoEncoder';
  if (!has('k') && has('encoder.weight') && has('decoder.bias')) return 'AutoEncoderNew';
  if (!has('k') && has('encoder.weight') && has('bias')) return 'AutoEncoder';
  const found = `tensors: ${[...tensors.keys()].join(', ')}`;
  throw new Error(
    `Cannot tell which dictionary_learning class ${basename(aePath)} holds (${found}). ` +
      `Put the trainer's ${DICTLEARN_CONFIG} beside it, or write one: {"trainer": {"dict_class": "AutoEncoderTopK"}} ` +
      `(one of ${DICT_CLASSES.join(', ')})`,
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
