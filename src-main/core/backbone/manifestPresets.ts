// Writing a backbone manifest from the app: the user picks an ONNX file and a known family; the
// preprocessing comes from that family's preset (the same numbers as resources/manifests/*.json,
// checked by tests/unit/manifest-presets.test.ts), the geometry (input size, patch grid, extra
// tokens) from the file itself, so a small or re-exported model gets a manifest that fits it.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CreatedManifest, CreateManifestArgs, ManifestPresetKey, OnnxLayers } from '../../contract/index.js';
import { StudioError } from '../errors.js';
import { exposeLayers, inspectOnnx } from './inspectOnnx.js';
import { inspectModel, parseManifest } from './manifest.js';

export interface ManifestPreset {
  key: ManifestPresetKey;
  label: string;
  family: string;
  resize: 'shortest-side' | 'squash';
  /** resize_to / crop (DINOv2 under saev: 256 / 224). */
  resizeRatio: number;
  interpolation: 'bicubic' | 'bilinear';
  mean: [number, number, number];
  std: [number, number, number];
  cls: boolean;
  /** Clip backbones: frames per input clip and frames per tubelet. */
  frames?: number;
  tubelet?: number;
  /** Input side when the ONNX file leaves it symbolic. */
  defaultSize: number;
}

const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

export const MANIFEST_PRESETS: Record<ManifestPresetKey, ManifestPreset> = {
  clip: { key: 'clip', label: 'CLIP (OpenAI / open_clip)', family: 'clip', resize: 'shortest-side', resizeRatio: 1, interpolation: 'bicubic', mean: CLIP_MEAN, std: CLIP_STD, cls: true, defaultSize: 224 },
  'dinov2-saev': { key: 'dinov2-saev', label: 'DINOv2 (saev preprocessing)', family: 'dinov2', resize: 'squash', resizeRatio: 256 / 224, interpolation: 'bilinear', mean: IMAGENET_MEAN, std: IMAGENET_STD, cls: true, defaultSize: 224 },
  'dinov2-hf': { key: 'dinov2-hf', label: 'DINOv2 (Hugging Face processor)', family: 'dinov2', resize: 'shortest-side', resizeRatio: 256 / 224, interpolation: 'bicubic', mean: IMAGENET_MEAN, std: IMAGENET_STD, cls: true, defaultSize: 224 },
  siglip: { key: 'siglip', label: 'SigLIP', family: 'siglip', resize: 'squash', resizeRatio: 1, interpolation: 'bicubic', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], cls: false, defaultSize: 224 },
  videomae: { key: 'videomae', label: 'VideoMAE (16-frame clips)', family: 'videomae', resize: 'shortest-side', resizeRatio: 1, interpolation: 'bilinear', mean: IMAGENET_MEAN, std: IMAGENET_STD, cls: false, frames: 16, tubelet: 2, defaultSize: 224 },
};

/** Where the manifest for an ONNX file goes: next to it, same base name. */
function manifestPathFor(onnx: string): string {
  const abs = path.resolve(onnx);
  return path.join(path.dirname(abs), `${path.basename(abs).replace(/\.onnx$/i, '')}.json`);
}

/** Patch size, grid and registers that explain `tokens` for this input side and preset, or null. */
export function fitGeometry(size: number, tokens: number, preset: ManifestPreset): { patch: number; grid: number; registers: number } | null {
  const steps = preset.frames && preset.tubelet ? preset.frames / preset.tubelet : 1;
  let best: { patch: number; grid: number; registers: number } | null = null;
  for (let patch = 2; patch <= size; patch++) {
    if (size % patch !== 0) continue;
    const grid = size / patch;
    const extra = tokens - grid * grid * steps;
    // Extra tokens are CLS then registers (DINOv2 with registers: 4); patch-only families have none.
    const ok = preset.cls ? extra >= 1 && extra <= 17 : extra === 0;
    if (!ok) continue;
    const registers = preset.cls ? extra - 1 : 0;
    if (!best || registers < best.registers) best = { patch, grid, registers };
  }
  return best;
}

function fixedSide(shape: (number | string | null)[] | null): number | null {
  if (!shape || shape.length < 4) return null;
  const h = shape[shape.length - 2];
  const w = shape[shape.length - 1];
  return typeof h === 'number' && h === w ? h : null;
}

/** The layers an ONNX file offers, and the presets whose token layout fits them. */
export async function onnxLayers(file: string): Promise<OnnxLayers> {
  return (await readOnnx(file)).layers;
}

async function readOnnx(file: string): Promise<{ layers: OnnxLayers; inputName: string }> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new StudioError('not-found', `No file at ${abs}.`);
  let info;
  try {
    info = await inspectOnnx(abs);
  } catch (err) {
    throw new StudioError('bad-input', `${abs} could not be read as an ONNX model: ${(err as Error).message}`);
  }
  const layers = info.candidates.map((c) => ({ name: c.layer ?? c.tensor, tensor: c.tensor, tokens: c.tokens, dModel: c.dModel, isGraphOutput: c.isGraphOutput }));
  const inputSize = fixedSide(info.inputs[0]?.shape ?? null);
  const tokens = layers[0]?.tokens ?? 0;
  const name = path.basename(abs).toLowerCase();
  const fits = (Object.values(MANIFEST_PRESETS) as ManifestPreset[]).filter((p) => fitGeometry(inputSize ?? p.defaultSize, tokens, p) !== null);
  // A family named in the file name goes first (clip-vit-b16.onnx, dinov2_small.onnx, ...).
  fits.sort((a, b) => Number(name.includes(b.family)) - Number(name.includes(a.family)));
  const manifestPath = manifestPathFor(abs);
  return {
    layers: { path: abs, layers, inputSize, presets: fits.map((p) => p.key), manifestPath, manifestExists: existsSync(manifestPath) },
    inputName: info.inputs[0]?.name ?? 'pixel_values',
  };
}

/** Writes `<model>.json` next to the ONNX file: the preset's preprocessing, the file's geometry, the chosen layers. */
export async function createManifest(args: CreateManifestArgs): Promise<CreatedManifest> {
  const preset = MANIFEST_PRESETS[args.preset];
  if (!preset) throw new StudioError('bad-request', `Unknown preset '${String(args.preset)}' (one of ${Object.keys(MANIFEST_PRESETS).join(', ')}).`);
  if (!Array.isArray(args.layers) || args.layers.length === 0) throw new StudioError('bad-request', 'Choose at least one layer for the manifest.');
  const { layers: found, inputName } = await readOnnx(args.onnx);
  const chosen = args.layers.map((n) => {
    const l = found.layers.find((x) => x.name === n);
    if (!l) throw new StudioError('bad-request', `${n} is not a layer of ${found.path} (it offers ${found.layers.map((x) => x.name).join(', ') || 'none'}).`);
    return l;
  });
  const first = chosen[0]!;
  if (chosen.some((c) => c.tokens !== first.tokens || c.dModel !== first.dModel)) {
    throw new StudioError('bad-request', 'The chosen layers have different shapes: write one manifest per shape.');
  }
  const size = found.inputSize ?? preset.defaultSize;
  const geometry = fitGeometry(size, first.tokens, preset);
  if (!geometry) {
    throw new StudioError(
      'bad-input',
      `${first.tokens} tokens at ${first.name} do not fit the ${preset.label} layout for a ${size} px input` +
        `${preset.cls ? ' (CLS, optional registers, a square patch grid)' : ' (a square patch grid, no CLS)'}; ` +
        (found.presets.length ? `presets that fit: ${found.presets.map((k) => MANIFEST_PRESETS[k].label).join(', ')}.` : 'write the manifest by hand (see resources/manifests/).'),
    );
  }
  const manifestPath = found.manifestPath;
  if (found.manifestExists && !args.overwrite) {
    throw new StudioError('bad-request', `${manifestPath} already exists: choose it as the manifest, or replace it.`);
  }
  const data = {
    name: path.basename(found.path).replace(/\.onnx$/i, ''),
    family: preset.family,
    model: path.basename(found.path),
    input: {
      name: inputName,
      size,
      resize: preset.resize,
      resize_to: Math.round(size * preset.resizeRatio),
      interpolation: preset.interpolation,
      crop: size,
      mean: preset.mean,
      std: preset.std,
    },
    tokens: {
      cls: preset.cls,
      registers: geometry.registers,
      patch_size: geometry.patch,
      grid: [geometry.grid, geometry.grid],
      ...(preset.frames ? { frames: preset.frames, tubelet: preset.tubelet } : {}),
    },
    layers: Object.fromEntries(chosen.map((c) => [c.name, c.tensor])),
    d_model: first.dModel,
    notes: `Written by Feature Studio from the ${preset.label} preset: preprocessing as that family is usually trained; geometry read from ${path.basename(found.path)}.`,
  };
  try {
    parseManifest(data, manifestPath);
  } catch (err) {
    throw new StudioError('bad-input', (err as Error).message);
  }
  writeFileSync(manifestPath, `${JSON.stringify(data, null, 2)}\n`);
  const warnings: string[] = [];
  let modelPath = found.path;
  const hidden = chosen.filter((c) => !c.isGraphOutput);
  if (hidden.length) {
    // Layers inside the graph need a copy that outputs them (what `studio inspect-model --expose` does).
    try {
      const exposed = await exposeLayers(found.path, hidden.map((c) => c.tensor), { manifest: manifestPath });
      modelPath = exposed.modelPath;
      // exposeLayers names raw tensors by a sanitised key; keep the names the user chose.
      warnings.push(...exposed.warnings, `${path.basename(modelPath)} was written next to the model: it also outputs ${hidden.map((c) => c.name).join(', ')}.`);
    } catch (err) {
      rmSync(manifestPath, { force: true });
      throw new StudioError('bad-input', `Could not expose ${hidden.map((c) => c.name).join(', ')}: ${(err as Error).message}`);
    }
  }
  return { manifestPath, modelPath, inspection: inspectModel(manifestPath), warnings };
}
