// One entry point for every SAE checkpoint the studio reads: users point at a folder or a file
// and the format is recognised from names alone (cheap, no parsing). Each format is one entry
// in SAE_FORMATS; supporting a new one (saev and dictionary_learning torch files are next) means
// replacing or adding an entry, nothing else.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { SaeInfo } from '../../contract/index.js';
import { readBareSafetensorsSae } from './bareSafetensors.js';
import { SAELENS_CFG, SAELENS_WEIGHTS, readSaeLensFolder } from './saelens.js';
import { saeWeightsHash } from './saeHash.js';
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

// Pointing at the optional sparsity file of a SAELens folder still means "this folder".
const SAELENS_FOLDER_FILES = [SAELENS_WEIGHTS, 'sparsity.safetensors'];
const TORCH_EXTENSIONS = ['.pt', '.pth'];
const TORCH_FOLDER_FILES = ['sae.pt', 'ae.pt'];

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
    describe: 'a saev sae.pt or dictionary_learning ae.pt (not yet supported)',
    matches: ({ path, isDirectory }) =>
      isDirectory
        ? TORCH_FOLDER_FILES.some((name) => existsSync(join(path, name)))
        : TORCH_EXTENSIONS.includes(extname(path).toLowerCase()),
    read: ({ path }) => {
      throw new Error(
        `${path} is a PyTorch checkpoint; reading saev and dictionary_learning .pt files is coming but not supported yet. ` +
          `For now convert it to a safetensors file with W_enc [d_in, d_sae], b_enc, W_dec [d_sae, d_in], b_dec ` +
          `and a sidecar JSON such as {"architecture": "topk", "k": 32}`,
      );
    },
  },
  {
    describe: 'a bare .safetensors file (W_enc, b_enc, W_dec, b_dec) with a sidecar <name>.json or sae.json',
    matches: ({ path, isDirectory }) => !isDirectory && extname(path).toLowerCase() === '.safetensors',
    read: ({ path }) => readBareSafetensorsSae(path),
  },
];

/** Read an SAE checkpoint (folder or file) in any supported format. */
export function loadSae(path: string): SaeRecord {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new Error(`SAE checkpoint not found: ${absolute}`);
  const target: SaeTarget = { path: absolute, isDirectory: statSync(absolute).isDirectory() };
  const format = SAE_FORMATS.find((candidate) => candidate.matches(target));
  if (format) return format.read(target);

  const found = target.isDirectory ? describeFolder(absolute) : `a file with extension '${extname(absolute) || '(none)'}'`;
  throw new Error(
    `Cannot tell which SAE format ${absolute} is: found ${found}. Expected ` +
      SAE_FORMATS.map((candidate) => candidate.describe).join('; or '),
  );
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
