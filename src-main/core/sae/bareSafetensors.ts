// Reader for a bare `*.safetensors` SAE (W_enc, b_enc, W_dec, b_dec, optional threshold) from a
// trainer that is not SAELens. The tensors alone cannot say how to encode (ReLU or TopK? which
// k?), so a small JSON sidecar is required: `<same basename>.json`, or `sae.json` beside it.
import { existsSync } from 'node:fs';
import { readCheckedTextSync } from '../util/checkedRead.js';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { groupWidthsError, type SaeArchitecture } from '../../contract/index.js';
import { readSafetensors, takeTensor, type SafetensorsTensor } from './safetensors.js';
import type { SaeRecord, SaeWeights } from './types.js';

const ARCHITECTURES: readonly SaeArchitecture[] = ['relu', 'topk', 'batchtopk', 'jumprelu', 'gated'];

const SIDECAR_EXAMPLE = '{"architecture": "topk", "k": 32}';

const SidecarSchema = z.looseObject({
  architecture: z.string(),
  k: z.number().int().positive().nullish(),
  apply_b_dec_to_input: z.boolean().nullish(),
  /** TopK only: ReLU the kept values (SAELens, dictionary_learning) or keep them as they are (saev). */
  topk_relu: z.boolean().nullish(),
  /** Scalar threshold for batchtopk/jumprelu when the file has no `threshold` tensor. */
  threshold: z.number().nullish(),
  hook_name: z.string().nullish(),
  /** Cumulative widths of Matryoshka groups, ending at d_sae. */
  groups: z.array(z.number().int().positive()).nullish(),
});

export type BareSaeSidecar = z.infer<typeof SidecarSchema>;

/** Where the sidecar of a bare safetensors file is, or null when there is none. */
function findSidecar(weightsPath: string): string | null {
  const own = join(dirname(weightsPath), `${basename(weightsPath).replace(/\.safetensors$/i, '')}.json`);
  if (existsSync(own)) return own;
  const shared = join(dirname(weightsPath), 'sae.json');
  return existsSync(shared) ? shared : null;
}

/** Read a bare safetensors SAE plus its sidecar into an SaeRecord (path = the .safetensors file). */
export function readBareSafetensorsSae(weightsPath: string): SaeRecord {
  const sidecarPath = findSidecar(weightsPath);
  if (!sidecarPath) {
    const own = `${basename(weightsPath).replace(/\.safetensors$/i, '')}.json`;
    throw new Error(
      `${weightsPath} has no sidecar saying how to encode with it. Write ${own} (or sae.json) beside it, ` +
        `e.g. ${SIDECAR_EXAMPLE}; "architecture" is one of ${ARCHITECTURES.join(', ')}, ` +
        `optional keys: k, apply_b_dec_to_input, topk_relu, threshold, hook_name, groups`,
    );
  }
  const sidecar = parseSidecar(readCheckedTextSync(sidecarPath, 'json'), sidecarPath);
  const architecture = sidecar.architecture as SaeArchitecture;

  const tensors = readSafetensors(weightsPath);
  const W_enc = tensors.get('W_enc');
  if (!W_enc || W_enc.shape.length !== 2) {
    throw new Error(
      `${weightsPath} needs a 2-D tensor 'W_enc' [d_in, d_sae]; found ${W_enc ? `shape [${W_enc.shape.join(', ')}]` : 'none'} ` +
        `among: ${[...tensors.keys()].join(', ') || 'nothing'}`,
    );
  }
  const [dIn, dSae] = W_enc.shape as [number, number]; // 2-D, checked just above
  const take = (name: string, shape: number[]) => takeTensor(tensors, name, shape, weightsPath);
  const weights: SaeWeights = {
    W_enc: W_enc.data,
    // Gated SAEs: the gate bias is b_enc's role; accept either name.
    b_enc: architecture === 'gated' && tensors.has('b_gate') ? take('b_gate', [dSae]) : take('b_enc', [dSae]),
    W_dec: take('W_dec', [dSae, dIn]),
    b_dec: take('b_dec', [dIn]),
  };
  if (architecture === 'gated') weights.gated = { r_mag: take('r_mag', [dSae]), b_mag: take('b_mag', [dSae]) };

  if (architecture === 'topk' && (sidecar.k == null || sidecar.k > dSae)) {
    throw new Error(`${sidecarPath} says architecture "topk" but gives no usable "k" (found ${sidecar.k ?? 'none'}); set an integer k between 1 and d_sae = ${dSae}`);
  }

  return {
    format: 'safetensors',
    path: weightsPath,
    dIn,
    dSae,
    architecture,
    k: sidecar.k ?? null,
    topkRelu: architecture === 'topk' ? (sidecar.topk_relu ?? true) : false,
    applyBDecToInput: sidecar.apply_b_dec_to_input ?? true,
    threshold: architecture === 'jumprelu' || architecture === 'batchtopk'
      ? resolveThreshold(tensors, sidecar, dSae, weightsPath, sidecarPath)
      : null,
    normalization: { mode: 'none', mean: null, scale: null },
    hookName: sidecar.hook_name ?? null,
    groups: sidecar.groups ? checkGroups(sidecar.groups, dSae, sidecarPath) : null,
    weights,
  };
}

function parseSidecar(text: string, sidecarPath: string): BareSaeSidecar {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${sidecarPath} is not valid JSON (${(error as Error).message}); expected e.g. ${SIDECAR_EXAMPLE}`);
  }
  const parsed = SidecarSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`${sidecarPath} is not a usable SAE sidecar (expected e.g. ${SIDECAR_EXAMPLE}):\n${z.prettifyError(parsed.error)}`);
  }
  if (!(ARCHITECTURES as readonly string[]).includes(parsed.data.architecture)) {
    throw new Error(`Unsupported architecture '${parsed.data.architecture}' in ${sidecarPath}; supported: ${ARCHITECTURES.join(', ')}`);
  }
  return parsed.data;
}

/** A threshold tensor (scalar or per feature) in the file, or a scalar in the sidecar: exactly one. */
function resolveThreshold(
  tensors: Map<string, SafetensorsTensor>,
  sidecar: BareSaeSidecar,
  dSae: number,
  weightsPath: string,
  sidecarPath: string,
): Float32Array {
  const tensor = tensors.get('threshold');
  if (tensor && sidecar.threshold != null) {
    throw new Error(`${weightsPath} has a 'threshold' tensor and ${sidecarPath} a "threshold" value; keep only one`);
  }
  if (sidecar.threshold != null) return Float32Array.of(sidecar.threshold);
  if (!tensor) {
    throw new Error(
      `A ${sidecar.architecture} SAE needs a threshold: add a 'threshold' tensor ([${dSae}] or scalar) to ${weightsPath} ` +
        `or a "threshold": <number> to ${sidecarPath}`,
    );
  }
  if (tensor.data.length !== 1 && !(tensor.shape.length === 1 && tensor.shape[0] === dSae)) {
    throw new Error(`tensor 'threshold' in ${weightsPath} has shape [${tensor.shape.join(', ')}] but [${dSae}] or a scalar was expected`);
  }
  return tensor.data;
}

function checkGroups(groups: number[], dSae: number, sidecarPath: string): number[] {
  const error = groupWidthsError(`"groups" in ${sidecarPath}`, groups, dSae);
  if (error) throw new Error(error);
  return groups;
}
