// One entry point for every SAE checkpoint the studio reads: users point at a folder or a file
// and the format is recognised from names alone (cheap, no parsing). Each format is one entry
// in SAE_FORMATS; supporting a new one means adding an entry, nothing else. The one exception
// to "names alone": a .pt file not named sae.pt or ae.pt is told apart by its first byte
// (saev files start with a JSON header line, plain torch.save zips with 'PK').
import { closeSync, existsSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { checkFile } from '../util/checkedRead.js';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { SaeInfo } from '../../contract/index.js';
import { readBareSafetensorsSae } from './bareSafetensors.js';
import { DICTLEARN_CONFIG, DICTLEARN_WEIGHTS, readDictionaryLearningCheckpoint } from './dictionaryLearning.js';
import { SAELENS_CFG, SAELENS_CHECKPOINT_FILES, SAELENS_WEIGHTS, readSaeLensFolder } from './saelens.js';
import { saeWeightsHash } from './saeHash.js';
import { SAEV_FILE, readSaevCheckpoint } from './saev.js';
import type { SaeRecord } from './types.js';

interface SaeTarget {
  path: string;
  isDirectory: boolean;
}

interface SaeFormat {
  /** Shown to users when nothing matched, so they know what they can point at. */
  describe: string;
  matches(target: SaeTarget): boolean;
  read(target: SaeTarget): SaeRecord;
}

// Pointing at the sparsity file or a training checkpoint's trainer state, scaler or runner cfg
// beside a SAELens cfg.json still means "this folder".
const SAELENS_FOLDER_FILES = [SAELENS_WEIGHTS, ...SAELENS_CHECKPOINT_FILES];
const TORCH_EXTENSIONS = ['.pt', '.pth'];

const SAE_FORMATS: SaeFormat[] = [
  {
    describe: `a SAELens folder (${SAELENS_CFG} + ${SAELENS_WEIGHTS}), or its ${SAELENS_CFG} or ${SAELENS_WEIGHTS}`,
    matches: ({ path, isDirectory }) =>
      isDirectory
        ? existsSync(join(path, SAELENS_CFG))
        : basename(path) === SAELENS_CFG ||
          (SAELENS_FOLDER_FILES.includes(basename(path)) && existsSync(join(dirname(path), SAELENS_CFG))),
    read: ({ path, isDirectory }) => readSaeLensFolder(isDirectory ? path : dirname(path)),
  },
  {
    describe: `a saev ${SAEV_FILE} (JSON header line + torch.save zip), or a folder holding one`,
    matches: ({ path, isDirectory }) =>
      isDirectory
        ? existsSync(join(path, SAEV_FILE))
        : isTorchFile(path) && (basename(path) === SAEV_FILE || (basename(path) !== DICTLEARN_WEIGHTS && startsWithJsonHeader(path))),
    read: ({ path, isDirectory }) => readSaevCheckpoint(isDirectory ? join(path, SAEV_FILE) : path),
  },
  {
    describe: `a dictionary_learning ${DICTLEARN_WEIGHTS} (with its ${DICTLEARN_CONFIG} beside it), or their folder`,
    matches: ({ path, isDirectory }) =>
      isDirectory
        ? existsSync(join(path, DICTLEARN_WEIGHTS))
        : isTorchFile(path) || (basename(path) === DICTLEARN_CONFIG && existsSync(join(dirname(path), DICTLEARN_WEIGHTS))),
    read: ({ path, isDirectory }) =>
      readDictionaryLearningCheckpoint(isDirectory ? join(path, DICTLEARN_WEIGHTS) : isTorchFile(path) ? path : join(dirname(path), DICTLEARN_WEIGHTS)),
  },
  {
    describe: 'a bare .safetensors file (W_enc, b_enc, W_dec, b_dec) with a sidecar <name>.json or sae.json',
    matches: ({ path, isDirectory }) => !isDirectory && extname(path).toLowerCase() === '.safetensors',
    read: ({ path }) => readBareSafetensorsSae(path),
  },
];

function isTorchFile(path: string): boolean {
  return TORCH_EXTENSIONS.includes(extname(path).toLowerCase());
}

/** saev's sae.pt begins with '{' (its JSON header); torch.save zips begin with 'PK'. */
function startsWithJsonHeader(path: string): boolean {
  // Refuse FIFOs and devices before opening: opening a FIFO would block here for ever.
  checkFile(path, 'checkpoint');
  const fd = openSync(path, 'r');
  try {
    const first = Buffer.alloc(1);
    return readSync(fd, first, 0, 1, 0) === 1 && first[0] === 0x7b;
  } finally {
    closeSync(fd);
  }
}

/** Read an SAE checkpoint (folder or file) in any supported format. */
export function loadSae(path: string): SaeRecord {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new Error(`SAE checkpoint not found: ${absolute}`);
  const target: SaeTarget = { path: absolute, isDirectory: statSync(absolute).isDirectory() };
  const format = SAE_FORMATS.find((candidate) => candidate.matches(target));
  if (format) return checkFinite(format.read(target));

  const found = target.isDirectory ? describeFolder(absolute) : `a file with extension '${extname(absolute) || '(none)'}'`;
  throw new Error(
    `Cannot tell which SAE format ${absolute} is: found ${found}. Expected ` +
      SAE_FORMATS.map((candidate) => candidate.describe).join('; or '),
  );
}

/**
 * Refuses weights holding NaN or ±Inf, naming the tensor. Checked here, after whichever reader ran,
 * because a NaN anywhere in W_enc/b_enc/threshold makes every comparison false: every feature reads
 * as dead and the index "succeeds" with nothing in it. A reader that decodes the wrong dtype (e.g.
 * bf16 bytes as float32) produces such values too, so this also catches misread files.
 */
function checkFinite(record: SaeRecord): SaeRecord {
  const tensors: [string, Float32Array | null | undefined][] = [
    ['W_enc', record.weights.W_enc],
    ['b_enc', record.weights.b_enc],
    ['W_dec', record.weights.W_dec],
    ['b_dec', record.weights.b_dec],
    ['threshold', record.threshold],
    ['r_mag', record.weights.gated?.r_mag],
    ['b_mag', record.weights.gated?.b_mag],
    ['normalisation mean', record.normalization.mean],
  ];
  for (const [name, values] of tensors) {
    if (!values) continue;
    let bad = 0;
    let first = -1;
    let example = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (Number.isFinite(v)) continue;
      if (bad === 0) {
        first = i;
        example = v;
      }
      bad++;
    }
    if (bad > 0) {
      throw new Error(
        `SAE checkpoint ${record.path}: ${name} holds ${bad} non-finite value${bad === 1 ? '' : 's'} of ${values.length} ` +
          `(first at element ${first}: ${example}). The weights are corrupt or were read as the wrong type ` +
          `(e.g. bfloat16/float16 read as float32); indexing with them would make every feature dead.`,
      );
    }
  }
  const scale = record.normalization.scale;
  if (scale !== null && !Number.isFinite(scale)) {
    throw new Error(`SAE checkpoint ${record.path}: the normalisation scale is ${scale}, not a finite number.`);
  }
  return record;
}

function describeFolder(dir: string): string {
  const names = readdirSync(dir);
  if (names.length === 0) return 'an empty folder';
  const shown = names.slice(0, 8).join(', ');
  return `a folder holding ${shown}${names.length > 8 ? `, ... (${names.length} entries)` : ''}`;
}

/** The contract's summary of an SAE (what the UI and index metadata show). */
export function saeInfo(record: SaeRecord): SaeInfo {
  const threshold = record.threshold;
  return {
    format: record.format,
    path: record.path,
    architecture: record.architecture,
    dIn: record.dIn,
    dSae: record.dSae,
    k: record.k,
    applyBDecToInput: record.applyBDecToInput,
    threshold: threshold === null ? 'none' : threshold.length === 1 ? 'scalar' : 'per-feature',
    normalization: {
      mode: record.normalization.mode,
      scale: record.normalization.scale,
      hasMean: record.normalization.mean !== null,
    },
    hookName: record.hookName,
    groups: record.groups,
    hash: saeWeightsHash(record.weights),
  };
}

/** Refuse an SAE whose input width differs from the chosen layer's width, naming both. */
export function checkSaeFitsLayer(record: SaeRecord, layerName: string, modelName: string, dModel: number): void {
  if (record.dIn !== dModel) {
    throw new Error(`SAE expects d_in = ${record.dIn} but layer '${layerName}' of ${modelName} has width ${dModel}`);
  }
}
