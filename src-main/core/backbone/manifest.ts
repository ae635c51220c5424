// Backbone manifests: the small JSON file next to a user's model.onnx that says how to feed it
// (resize, crop, mean/std), how its tokens are laid out and which graph output is which layer.
import { checkFile, readCheckedTextSync, UnsafeFileError } from '../util/checkedRead.js';
import path from 'node:path';
import { z } from 'zod';
import type { ModelInfo, ModelInspection, TokenLayout } from '../../contract/index.js';

const positiveInt = z.number().int().positive();
/**
 * Largest input.size / crop / resize_to a manifest may ask for. Real backbones take 224-1024
 * pixels; a resize target of, say, 10^6 would make every image a terapixel allocation that
 * fails one by one, so it is refused here once, with the numbers.
 */
const MAX_INPUT_SIDE = 4096;
const side = positiveInt.max(MAX_INPUT_SIDE, { message: `must be at most ${MAX_INPUT_SIDE} pixels` });
const rgb = z.tuple([z.number(), z.number(), z.number()]);

const manifestFileSchema = z
  .object({
    name: z.string().min(1),
    family: z.string().min(1),
    /** Relative to the manifest's folder (or absolute). */
    model: z.string().min(1),
    input: z.object({
      name: z.string().min(1).default('pixel_values'),
      size: side,
      resize: z.enum(['shortest-side', 'squash']),
      resize_to: side,
      interpolation: z.enum(['bicubic', 'bilinear']),
      crop: side,
      mean: rgb,
      std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
    }),
    tokens: z.object({
      cls: z.boolean(),
      registers: z.number().int().nonnegative(),
      patch_size: positiveInt,
      grid: z.tuple([positiveInt, positiveInt]),
      /** Clip backbones: input [batch, frames, 3, H, W], tokens (frames / tubelet) x grid, time-major. */
      frames: positiveInt.optional(),
      tubelet: positiveInt.optional(),
    }),
    layers: z.record(z.string().min(1), z.string().min(1)).refine((l) => Object.keys(l).length > 0, 'needs at least one layer'),
    d_model: positiveInt.optional(),
    notes: z.string().optional(),
  })
  .superRefine((m, ctx) => {
    // The model sees crop x crop pixels, so the input size, crop and patch grid must agree;
    // catching this here beats an onnxruntime shape error at the first image.
    if (m.input.crop !== m.input.size) {
      ctx.addIssue({ code: 'custom', path: ['input', 'crop'], message: `must equal input.size (${m.input.size}), the model's input` });
    }
    if (m.input.resize_to < m.input.crop) {
      ctx.addIssue({ code: 'custom', path: ['input', 'resize_to'], message: `must be at least input.crop (${m.input.crop})` });
    }
    if ((m.tokens.frames === undefined) !== (m.tokens.tubelet === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tokens', 'tubelet'], message: 'clip backbones need both tokens.frames and tokens.tubelet' });
    } else if (m.tokens.frames !== undefined && m.tokens.frames % m.tokens.tubelet! !== 0) {
      ctx.addIssue({ code: 'custom', path: ['tokens', 'frames'], message: `must be a multiple of tokens.tubelet (${m.tokens.tubelet})` });
    }
    const side = Math.floor(m.input.size / m.tokens.patch_size);
    if (m.tokens.grid[0] !== side || m.tokens.grid[1] !== side) {
      ctx.addIssue({
        code: 'custom',
        path: ['tokens', 'grid'],
        message: `[${m.tokens.grid.join(', ')}] does not match input.size ${m.input.size} / patch_size ${m.tokens.patch_size} = ${side}`,
      });
    }
  });

export type ManifestFile = z.infer<typeof manifestFileSchema>;

/** How to turn an image file into the model's input tensor. */
export interface PreprocessSpec {
  resize: 'shortest-side' | 'squash';
  /** Shortest side after resizing ('shortest-side'), or both sides ('squash'). */
  resizeTo: number;
  interpolation: 'bicubic' | 'bilinear';
  /** Centre crop side; equals the model's input size. */
  crop: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export interface BackboneManifest {
  /** Absolute path of the manifest file. */
  manifestPath: string;
  /** Absolute path of the ONNX model. */
  modelPath: string;
  name: string;
  family: string;
  inputName: string;
  inputSize: number;
  preprocess: PreprocessSpec;
  tokens: TokenLayout;
  /** Layer name (e.g. 'block_10') to ONNX graph output name. */
  layers: Record<string, string>;
  dModel: number | null;
  notes: string | null;
}

function describeIssues(file: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    return `  ${field}: ${issue.message}`;
  });
  return `invalid backbone manifest ${file}:\n${lines.join('\n')}`;
}

/** Validates an already-parsed manifest object; `file` is used for paths and error messages. */
export function parseManifest(data: unknown, file: string): BackboneManifest {
  const manifestPath = path.resolve(file);
  const result = manifestFileSchema.safeParse(data);
  if (!result.success) throw new Error(describeIssues(manifestPath, result.error));
  const m = result.data;
  return {
    manifestPath,
    modelPath: path.resolve(path.dirname(manifestPath), m.model),
    name: m.name,
    family: m.family,
    inputName: m.input.name,
    inputSize: m.input.size,
    preprocess: {
      resize: m.input.resize,
      resizeTo: m.input.resize_to,
      interpolation: m.input.interpolation,
      crop: m.input.crop,
      mean: m.input.mean,
      std: m.input.std,
    },
    tokens: {
      cls: m.tokens.cls,
      registers: m.tokens.registers,
      patchSize: m.tokens.patch_size,
      grid: m.tokens.grid,
      ...(m.tokens.frames !== undefined ? { frames: m.tokens.frames, tubelet: m.tokens.tubelet! } : {}),
    },
    layers: { ...m.layers },
    dModel: m.d_model ?? null,
    notes: m.notes ?? null,
  };
}

/** Reads and validates a manifest. Errors name the file and every bad field. */
export function loadManifest(file: string): BackboneManifest {
  const manifestPath = path.resolve(file);
  let text: string;
  try {
    text = readCheckedTextSync(manifestPath, 'manifest');
  } catch (err) {
    if (err instanceof UnsafeFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read backbone manifest ${manifestPath}${code ? ` (${code})` : ''}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`backbone manifest ${manifestPath} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const manifest = parseManifest(data, manifestPath);
  // A model path naming a device or FIFO (or a file too large to be an ONNX model) is refused
  // now, once, rather than by whichever reader opens it first; a missing model is left to the
  // session code, which explains what to export.
  try {
    checkFile(manifest.modelPath, 'onnx');
  } catch (err) {
    if (err instanceof UnsafeFileError) throw new UnsafeFileError(err.file, `${err.message} (named by manifest ${manifestPath})`);
  }
  return manifest;
}

/** The ONNX output name for a layer, or an error listing the layers the manifest has. */
export function layerOutputName(manifest: BackboneManifest, layer: string): string {
  const output = manifest.layers[layer];
  if (output === undefined) {
    throw new Error(
      `layer '${layer}' is not in backbone manifest ${manifest.manifestPath}; it has: ${Object.keys(manifest.layers).join(', ')}`,
    );
  }
  return output;
}

/** Tokens per image: CLS + registers + patch grid. */
export function tokenCount(tokens: TokenLayout): number {
  return (tokens.cls ? 1 : 0) + tokens.registers + tokens.grid[0] * tokens.grid[1];
}

/** Index of the first patch token (patches come after CLS and registers). */
export function patchOffset(tokens: TokenLayout): number {
  return (tokens.cls ? 1 : 0) + tokens.registers;
}

/** What the index records about the backbone and layer it was built from. */
export function modelInfo(manifest: BackboneManifest, layer: string, dModel: number): ModelInfo {
  return {
    name: manifest.name,
    family: manifest.family,
    manifestPath: manifest.manifestPath,
    modelPath: manifest.modelPath,
    layer,
    outputName: layerOutputName(manifest, layer),
    dModel,
    inputSize: manifest.inputSize,
    tokens: { ...manifest.tokens, grid: [...manifest.tokens.grid] },
  };
}

/** What the UI shows when a user picks a manifest: its layers and token layout. */
export function inspectModel(file: string): ModelInspection {
  const manifest = loadManifest(file);
  return {
    name: manifest.name,
    family: manifest.family,
    layers: Object.entries(manifest.layers).map(([name, outputName]) => ({ name, outputName })),
    inputSize: manifest.inputSize,
    tokens: { ...manifest.tokens, grid: [...manifest.tokens.grid] },
  };
}
